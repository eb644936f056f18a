#!/usr/bin/env node
/**
 * `npm run up | preview | down` for the root stack.
 *
 * - Checks first, all at once, that a Docker engine answers and that a Pulumi CLI can run; when
 *   either is missing it prints what to install and exits 1 (no stack trace).
 * - Uses a local state backend (`.pulumi-state/` in this repository) unless PULUMI_BACKEND_URL is
 *   set, so no Pulumi account is needed.
 * - Uses the documented local passphrase unless PULUMI_CONFIG_PASSPHRASE(_FILE) is set.
 * - Selects the stack (PULUMI_STACK, default `dev`), creating it if missing, then runs the command.
 *
 * The CLI is `pulumi` on PATH, else the npm launcher (devDependency `pulumi`), which downloads the
 * CLI on first use. SECURE_REGISTRY_PULUMI_LAUNCHER overrides the launcher's path (tests use it).
 */
"use strict";

const { spawnSync } = require("child_process");
const fs = require("fs");
const path = require("path");

const repoRoot = path.resolve(__dirname, "..");
const LOCAL_PASSPHRASE = "secure-registry-local";
const COMMANDS = {
  up: ["up"],
  preview: ["preview", "--diff"],
  down: ["destroy"],
};

function fail(lines) {
  process.stderr.write(`\n${lines.join("\n")}\n\n`);
  process.exit(1);
}

/** Resolves an executable on PATH without running it. */
function onPath(command) {
  for (const dir of (process.env.PATH || "").split(path.delimiter)) {
    if (!dir) continue;
    const candidate = path.join(dir, command);
    try {
      fs.accessSync(candidate, fs.constants.X_OK);
      return candidate;
    } catch {
      // not in this directory
    }
  }
  return undefined;
}

function checkDocker() {
  if (!onPath("docker")) {
    return [
      "Docker is not installed (no `docker` on PATH).",
      "  Install Docker Engine: https://docs.docker.com/engine/install/",
      "  (Debian/Ubuntu: `sudo apt-get install docker.io`, then `sudo systemctl start docker`).",
    ];
  }
  const info = spawnSync("docker", ["info", "--format", "{{.ServerVersion}}"], {
    encoding: "utf8",
    timeout: 20_000,
  });
  if (info.status !== 0) {
    const reason = (info.stderr || "").trim().split("\n")[0] || "no answer within 20 s";
    return [
      `The Docker engine does not answer \`docker info\`: ${reason}`,
      "  Start it (`sudo systemctl start docker`, or Docker Desktop), and make sure this user may",
      "  use it (member of the `docker` group, or run as root). On this repository's Debian CI",
      "  image, `sudo npm run setup:docker` installs and starts it.",
    ];
  }
  return [];
}

/** Returns the command that runs the Pulumi CLI, or the lines explaining why none can run. */
function findPulumi() {
  const installed = onPath("pulumi");
  if (installed) return { command: [installed] };

  let launcher = process.env.SECURE_REGISTRY_PULUMI_LAUNCHER;
  if (!launcher) {
    try {
      launcher = require.resolve("pulumi/run.js", { paths: [repoRoot] });
    } catch {
      launcher = undefined;
    }
  }
  const installHelp = [
    "  Install the Pulumi CLI: https://www.pulumi.com/docs/install/",
    "  (`curl -fsSL https://get.pulumi.com | sh`, or `brew install pulumi/tap/pulumi`),",
    "  open a new shell so `pulumi` is on PATH, and run this command again.",
  ];
  if (!launcher || !fs.existsSync(launcher)) {
    return {
      problems: [
        "The Pulumi CLI is not installed (no `pulumi` on PATH; run `npm ci` first).",
      ].concat(installHelp),
    };
  }
  // The launcher downloads the CLI on first use; `version` tells whether it can run at all.
  const probe = spawnSync(process.execPath, [launcher, "version"], {
    encoding: "utf8",
    timeout: 300_000,
  });
  if (probe.status !== 0) {
    const reason =
      (probe.stderr || "")
        .split("\n")
        .map((line) => line.trim())
        .filter((line) => line && !line.startsWith("Downloading"))
        .pop() || "no answer";
    return {
      problems: [
        `The Pulumi CLI is not installed, and npm's launcher could not download it (${reason}).`,
      ].concat(installHelp),
    };
  }
  return { command: [process.execPath, launcher] };
}

function run(command, args, env) {
  const result = spawnSync(command[0], command.slice(1).concat(args), {
    stdio: "inherit",
    cwd: repoRoot,
    env,
  });
  return result.status === null ? 1 : result.status;
}

function main() {
  const [action, ...extra] = process.argv.slice(2);
  if (!COMMANDS[action]) {
    fail([
      `usage: node scripts/pulumi-stack.js <${Object.keys(COMMANDS).join("|")}> [pulumi args]`,
    ]);
  }

  const problems = checkDocker();
  const pulumi = findPulumi();
  if (pulumi.problems) problems.push(...pulumi.problems);
  if (problems.length > 0) fail(["Cannot run the stack yet:", ""].concat(problems));

  const env = { ...process.env };
  if (!env.PULUMI_BACKEND_URL) {
    const stateDir = path.join(repoRoot, ".pulumi-state");
    fs.mkdirSync(stateDir, { recursive: true });
    env.PULUMI_BACKEND_URL = `file://${stateDir}`;
    process.stdout.write(`Using local state in ${stateDir} (set PULUMI_BACKEND_URL to change).\n`);
  }
  if (!env.PULUMI_CONFIG_PASSPHRASE && !env.PULUMI_CONFIG_PASSPHRASE_FILE) {
    env.PULUMI_CONFIG_PASSPHRASE = LOCAL_PASSPHRASE;
    process.stdout.write(
      `Using the local default passphrase "${LOCAL_PASSPHRASE}" for stack secrets ` +
        "(set PULUMI_CONFIG_PASSPHRASE for anything shared).\n",
    );
  }
  const stack = env.PULUMI_STACK || "dev";

  const selected = run(pulumi.command, ["stack", "select", "--create", stack], env);
  if (selected !== 0) fail([`Could not select or create the stack "${stack}".`]);

  const args = COMMANDS[action].concat(extra);
  if (action === "up" && !process.stdin.isTTY && !args.includes("--yes")) {
    // No terminal to confirm on (CI, scripts): `up` proceeds. `down` never destroys unasked.
    args.push("--yes");
  }
  process.exit(run(pulumi.command, args, env));
}

main();
