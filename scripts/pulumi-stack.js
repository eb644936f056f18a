#!/usr/bin/env node
/**
 * `npm run up | preview | down` for the root stack, and `npm run pulumi -- <args>` for any other
 * Pulumi command against the same stack (`stack output`, `config set`, `refresh`...).
 *
 * - Checks first, all at once, that a Docker engine answers (up, preview, down) and that a Pulumi
 *   CLI can run; when either is missing it prints what to install and exits 1 (no stack trace).
 * - Uses a local state backend (`.pulumi-state/` in this repository) unless PULUMI_BACKEND_URL is
 *   set, so no Pulumi account is needed.
 * - Uses the documented local passphrase unless PULUMI_CONFIG_PASSPHRASE(_FILE) is set.
 * - Selects the stack (PULUMI_STACK, default `dev`), creating it if missing, then runs the command.
 *
 * The CLI is a `pulumi` on PATH that is not inside a node_modules directory, else the npm launcher
 * (devDependency `pulumi`), which downloads the CLI on first use. Under `npm run`, npm puts
 * node_modules/.bin on PATH, so the launcher's `pulumi` is found there too: it is recognised as
 * the launcher and probed, never taken for an installed CLI. SECURE_REGISTRY_PULUMI_LAUNCHER
 * overrides the launcher's path.
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
  // Any other command, given after `--`: `npm run pulumi -- stack output credentials --show-secrets`.
  pulumi: [],
};
/** Commands that read the Docker engine's state. */
const NEEDS_DOCKER = new Set(["up", "preview", "down"]);

function fail(lines) {
  process.stderr.write(`\n${lines.join("\n")}\n\n`);
  process.exit(1);
}

/** Every executable named `command` on PATH, in PATH order, without running any. */
function allOnPath(command) {
  const found = [];
  for (const dir of (process.env.PATH || "").split(path.delimiter)) {
    if (!dir) continue;
    const candidate = path.join(dir, command);
    try {
      fs.accessSync(candidate, fs.constants.X_OK);
      found.push(candidate);
    } catch {
      // not in this directory
    }
  }
  return found;
}

function onPath(command) {
  return allOnPath(command)[0];
}

/** True for a file that lives in (or links into) a node_modules directory: an npm launcher. */
function insideNodeModules(file) {
  let real = file;
  try {
    real = fs.realpathSync(file);
  } catch {
    // a dangling link: judge by its own path
  }
  return [file, real].some((p) => p.split(path.sep).includes("node_modules"));
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
  const onPathAll = allOnPath("pulumi");
  const installed = onPathAll.find((file) => !insideNodeModules(file));
  if (installed) return { command: [installed] };

  let launcher =
    process.env.SECURE_REGISTRY_PULUMI_LAUNCHER ||
    onPathAll.map((file) => fs.realpathSync(file)).find((file) => fs.existsSync(file));
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
      "  e.g. npm run up; npm run pulumi -- stack output credentials --show-secrets",
    ]);
  }

  const problems = NEEDS_DOCKER.has(action) ? checkDocker() : [];
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

  if (action === "pulumi") {
    if (extra.length === 0) fail(["usage: npm run pulumi -- <pulumi command and arguments>"]);
    // The stack exists once `npm run up` (or preview) ran. Commands that manage stacks or report
    // on the CLI itself need none.
    const selected = spawnSync(
      pulumi.command[0],
      pulumi.command.slice(1).concat(["stack", "select", stack]),
      {
        cwd: repoRoot,
        env,
        encoding: "utf8",
      },
    );
    if (
      selected.status !== 0 &&
      !["stack", "login", "logout", "whoami", "version", "about", "plugin"].includes(extra[0])
    ) {
      fail([
        `There is no stack "${stack}" in ${env.PULUMI_BACKEND_URL} yet: run \`npm run up\` (or \`npm run preview\`) first.`,
      ]);
    }
    process.exit(run(pulumi.command, extra, env));
  }
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
