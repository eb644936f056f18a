/**
 * Runs trust code in separate node processes (the real inter-process situation: two stacks on one
 * host, or a provider as another user), from the TypeScript sources via ts-node.
 */
import { spawn } from "child_process";
import * as path from "path";

const REPO = path.resolve(__dirname, "..", "..");

/** A node script preamble that makes `trust` (src/trust/apply.ts) available. */
export const TRUST_PREAMBLE = `
require(${JSON.stringify(path.join(REPO, "node_modules", "ts-node"))}).register({
  transpileOnly: true,
  project: ${JSON.stringify(path.join(REPO, "tsconfig.json"))},
});
const trust = require(${JSON.stringify(path.join(REPO, "src", "trust", "apply.ts"))});
`;

export interface ProcessResult {
  readonly code: number | null;
  readonly stdout: string;
  readonly stderr: string;
}

/** Runs `body` (after the preamble) in a new node process, optionally as another user. */
export function runTrustProcess(
  body: string,
  options: { uid?: number; gid?: number; env?: Record<string, string>; timeoutMs?: number } = {},
): Promise<ProcessResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ["-e", TRUST_PREAMBLE + body], {
      uid: options.uid,
      gid: options.gid,
      cwd: "/",
      env: { ...process.env, NODE_PATH: path.join(REPO, "node_modules"), ...options.env },
      stdio: ["ignore", "pipe", "pipe"],
    });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (d: Buffer) => (stdout += d.toString()));
    child.stderr.on("data", (d: Buffer) => (stderr += d.toString()));
    const timer = setTimeout(() => child.kill("SIGKILL"), options.timeoutMs ?? 240_000);
    child.on("error", reject);
    child.on("close", (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
  });
}
