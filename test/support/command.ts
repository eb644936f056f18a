/**
 * Running a command for the test infrastructure: bounded in time, output captured, never a shell
 * unless the caller asks for one. `runCommand` reports the exit code; `mustRun` throws with
 * stderr. Shared by hosts.ts, swarm.ts and object-store.ts.
 */
import { execFile } from "child_process";
import type { CommandResult } from "./harness";

export type { CommandResult } from "./harness";

export interface RunOptions {
  /** Written to stdin, then stdin is closed. */
  input?: string | Buffer;
  /** Killed (SIGKILL) after this many ms; default 60 s. The result then has code 124. */
  timeoutMs?: number;
  /** The whole environment of the command; default: this process's. */
  env?: NodeJS.ProcessEnv;
  /** Working directory; default: this process's. */
  cwd?: string;
}

export function runCommand(
  file: string,
  args: readonly string[],
  options: RunOptions = {},
): Promise<CommandResult> {
  return new Promise((resolve) => {
    const child = execFile(
      file,
      args,
      {
        env: options.env ?? process.env,
        cwd: options.cwd,
        timeout: options.timeoutMs ?? 60_000,
        killSignal: "SIGKILL",
        maxBuffer: 64 * 1024 * 1024,
        encoding: "utf8",
      },
      (error, stdout, stderr) => {
        let code = 0;
        if (error) {
          const e = error as NodeJS.ErrnoException & { killed?: boolean; code?: unknown };
          code = e.killed ? 124 : typeof e.code === "number" ? e.code : 127;
          if (e.killed) stderr += `\n(killed after ${options.timeoutMs ?? 60_000} ms)`;
          else if (typeof e.code === "string") stderr += `\n(${e.code}: ${e.message})`;
        }
        resolve({ code, stdout, stderr });
      },
    );
    child.stdin?.on("error", () => undefined); // a command that exits without reading stdin
    if (options.input !== undefined) child.stdin?.end(options.input);
    else child.stdin?.end();
  });
}

/** Like `runCommand`, but throws (naming the command, exit code and stderr) on a non-zero exit. */
export async function mustRun(
  file: string,
  args: readonly string[],
  options: RunOptions = {},
): Promise<string> {
  const r = await runCommand(file, args, options);
  if (r.code !== 0) {
    const shown = [file, ...args].join(" ");
    throw new Error(
      `${shown.length > 200 ? shown.slice(0, 200) + "..." : shown} exited ${r.code}: ${r.stderr.trim().slice(-2000)}`,
    );
  }
  return r.stdout;
}
