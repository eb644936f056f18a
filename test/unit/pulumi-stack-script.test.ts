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
    expect(result.stderr).toContain("usage: node scripts/pulumi-stack.js <up|preview|down|pulumi>");
  });
});

describe("as users run it: `npm run up` in a project with the npm `pulumi` launcher installed", () => {
  let project: string;
  let npmBin: string;

  beforeAll(() => {
    // A project like this one: the scripts, and node_modules/.bin/pulumi pointing at npm's
    // launcher package. The launcher here is a stub that fails the way the real one fails
    // offline (the real one would try to download the CLI from the internet).
    project = fs.mkdtempSync(path.join(os.tmpdir(), "pulumi-stack-npm-"));
    fs.writeFileSync(
      path.join(project, "package.json"),
      JSON.stringify({
        name: "npm-run-probe",
        private: true,
        scripts: {
          up: `node ${JSON.stringify(script)} up`,
          pulumi: `node ${JSON.stringify(script)} pulumi`,
        },
      }),
    );
    const launcherDir = path.join(project, "node_modules", "pulumi");
    fs.mkdirSync(launcherDir, { recursive: true });
    fs.writeFileSync(
      path.join(launcherDir, "run.js"),
      '#!/usr/bin/env node\nprocess.stderr.write("Downloading pulumi v3.265.0...\\npulumi: fetch failed\\n");\nprocess.exit(1);\n',
      { mode: 0o755 },
    );
    fs.mkdirSync(path.join(project, "node_modules", ".bin"));
    fs.symlinkSync("../pulumi/run.js", path.join(project, "node_modules", ".bin", "pulumi"));
    // PATH: node, npm and the sh npm runs scripts with (no `pulumi`, no `docker`); npm adds
    // node_modules/.bin itself.
    npmBin = path.join(project, "bin");
    fs.mkdirSync(npmBin);
    fs.symlinkSync(process.execPath, path.join(npmBin, "node"));
    fs.symlinkSync("/bin/sh", path.join(npmBin, "sh"));
    const npmCli = fs.realpathSync(
      spawnSync("sh", ["-c", "command -v npm"], { encoding: "utf8" }).stdout.trim(),
    );
    fs.symlinkSync(npmCli, path.join(npmBin, "npm"));
  });

  afterAll(() => fs.rmSync(project, { recursive: true, force: true }));

  function npmRun(args: string[]) {
    return spawnSync(path.join(npmBin, "npm"), ["run", "--silent", ...args], {
      cwd: project,
      encoding: "utf8",
      timeout: 60_000,
      env: { PATH: npmBin, HOME: project, npm_config_update_notifier: "false" },
    });
  }

  it("does not take the launcher on PATH for an installed CLI: it says what to install", () => {
    const result = npmRun(["up"]);
    expect(result.status).toBe(1);
    expect(result.stderr).toContain(
      "The Pulumi CLI is not installed, and npm's launcher could not download it (pulumi: fetch failed).",
    );
    expect(result.stderr).toContain("Docker is not installed");
    expect(result.stderr).not.toContain("Could not select or create the stack");
    expect(result.stderr).not.toMatch(/^\s+at /m);
  });

  it("`npm run pulumi -- stack output` explains the same, and needs no Docker", () => {
    const result = npmRun(["pulumi", "--", "stack", "output", "credentials", "--show-secrets"]);
    expect(result.status).toBe(1);
    expect(result.stderr).toContain("The Pulumi CLI is not installed");
    expect(result.stderr).not.toContain("Docker is not installed");
  });
});
