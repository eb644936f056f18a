/**
 * `npm run up` (scripts/pulumi-stack.js) on a machine without the Pulumi CLI or a Docker engine
 * must stop at once with what to install, not a stack trace. The launcher is a stub that fails the
 * way npm's `pulumi` launcher fails offline: tests never reach the internet.
 */
import { spawnSync } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";

const script = path.join(__dirname, "../../scripts/pulumi-stack.js");

let binDir: string;
let workDir: string;

beforeAll(() => {
  workDir = fs.mkdtempSync(path.join(os.tmpdir(), "pulumi-stack-script-"));
  binDir = path.join(workDir, "bin");
  fs.mkdirSync(binDir);
  // A PATH holding node alone: no `pulumi`, no `docker`.
  fs.symlinkSync(process.execPath, path.join(binDir, "node"));
});

afterAll(() => fs.rmSync(workDir, { recursive: true, force: true }));

function writeExecutable(name: string, body: string): string {
  const file = path.join(workDir, name);
  fs.writeFileSync(file, body, { mode: 0o755 });
  return file;
}

function runUp(env: Record<string, string>) {
  return spawnSync(process.execPath, [script, "up"], {
    encoding: "utf8",
    timeout: 30_000,
    env: { PATH: binDir, HOME: workDir, ...env },
  });
}

describe("npm run up without the tools it needs", () => {
  it("explains that the Pulumi CLI is missing when the launcher cannot download it", () => {
    // Stands in for npm's `pulumi` launcher on a machine without internet: it prints what the
    // real launcher prints there and exits 1.
    const launcher = writeExecutable(
      "launcher.js",
      'process.stderr.write("Downloading pulumi v3.265.0...\\npulumi: fetch failed\\n");\nprocess.exit(1);\n',
    );
    const result = runUp({ SECURE_REGISTRY_PULUMI_LAUNCHER: launcher });
    expect(result.status).toBe(1);
    expect(result.stderr).toContain(
      "The Pulumi CLI is not installed, and npm's launcher could not download it (pulumi: fetch failed).",
    );
    expect(result.stderr).toContain("https://www.pulumi.com/docs/install/");
    expect(result.stderr).not.toMatch(/^\s+at /m);
  });

  it("explains that the Pulumi CLI is missing when there is no launcher either", () => {
    const result = runUp({ SECURE_REGISTRY_PULUMI_LAUNCHER: path.join(workDir, "absent.js") });
    expect(result.status).toBe(1);
    expect(result.stderr).toContain("The Pulumi CLI is not installed");
    expect(result.stderr).not.toMatch(/^\s+at /m);
  });

  it("names Docker as missing in the same message", () => {
    const result = runUp({ SECURE_REGISTRY_PULUMI_LAUNCHER: path.join(workDir, "absent.js") });
    expect(result.stderr).toContain("Docker is not installed (no `docker` on PATH).");
    expect(result.stderr).toContain("The Pulumi CLI is not installed");
  });

  it("says the engine does not answer when `docker info` fails", () => {
    writeExecutable(
      "bin/docker",
      '#!/bin/sh\necho "Cannot connect to the Docker daemon at unix:///var/run/docker.sock." >&2\nexit 1\n',
    );
    try {
      const result = runUp({ SECURE_REGISTRY_PULUMI_LAUNCHER: path.join(workDir, "absent.js") });
      expect(result.status).toBe(1);
      expect(result.stderr).toContain(
        "The Docker engine does not answer `docker info`: Cannot connect to the Docker daemon",
      );
    } finally {
      fs.rmSync(path.join(binDir, "docker"));
    }
  });

  it("rejects an unknown command with its usage", () => {
    const result = spawnSync(process.execPath, [script, "deploy"], { encoding: "utf8" });
    expect(result.status).toBe(1);
    expect(result.stderr).toContain("usage: node scripts/pulumi-stack.js <up|preview|down>");
  });
});
