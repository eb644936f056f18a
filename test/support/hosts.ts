/**
 * Simulated remote Docker hosts for integration tests, started and stopped by the test itself.
 *
 *   const run = await startTestHosts(["h1", "h2"], { label: "trust" });
 *   const h1 = run.host("h1");
 *   h1.address;           // 198.51.100.x, reachable from this process and from the other hosts
 *   h1.ssh;               // { host, port, user, privateKey }: @pulumi/command's remote connection
 *   h1.dockerHost;        // "ssh://root@198.51.100.x"; run it with h1.dockerEnv (ssh wrapper on PATH)
 *   await h1.docker(["info"]);                       // through its socket (fast)
 *   await h1.docker(["info"], { via: "ssh" });       // through ssh, as users would
 *   await h1.exec(["cat", "/etc/docker/daemon.json"]);           // inside the host
 *   await h1.ctr(["images", "pull", "--hosts-dir", "/etc/containerd/certs.d", ref]);
 *   await run.stop();     // or cleanupAll() (harness.ts) in afterAll: registered already
 *
 * Each host is a network namespace with its own address, a mount namespace with its own
 * /etc/docker, /etc/containerd, /root (so /root/.docker), /var/lib/docker and /run, its own dockerd
 * (which runs its own containerd) and an sshd accepting only this run's key for root. The work is
 * done by scripts/test-hosts/up.sh and down.sh (read their headers for the layout; docs/testing.md
 * for costs, debugging and cleaning up by hand). Each call is a "run" with its own id
 * (`srh<slot><4 hex>`, e.g. srh07a3f9), its own /28 of 198.51.100.0/24 (one of 16 slots) and
 * names carrying the id, so parallel jest workers and parallel test runs do not collide.
 *
 * Teardown: `stop()` (idempotent) is registered with the harness's cleanup (cleanupAll), and runs
 * at process exit for runs still up; a run whose process was killed is removed by the next
 * start's sweep (its owner pid is dead).
 */
import Docker from "dockerode";
import { execFileSync } from "child_process";
import * as fs from "fs";
import * as path from "path";
import { CommandResult, mustRun, runCommand, RunOptions } from "./command";
import { engineAvailable, testImagesPresent, TEST_IMAGES } from "./engine";
import { describeWhen, missingCommands, notRootReason } from "./gate";
import { registerCleanup } from "./harness";

export const TEST_HOSTS_SCRIPTS = path.resolve(__dirname, "../../scripts/test-hosts");
/** The containerd namespace `ctr()` uses by default (dockerd's own is "moby"). */
export const CONTAINERD_NAMESPACE = "srt-test";
/** dockerd's managed containerd socket, as the host sees it. */
export const HOST_CONTAINERD_SOCKET = "/run/docker/containerd/containerd.sock";

/** @pulumi/command's `remote.ConnectionArgs` shape (plain values). */
export interface SshConnection {
  host: string;
  port: number;
  user: string;
  privateKey: string;
}

export interface DockerOptions extends RunOptions {
  /** "socket" (default): the host's dockerd socket, from this namespace. "ssh": DOCKER_HOST=ssh://. */
  via?: "socket" | "ssh";
}

export interface TestHost {
  readonly name: string;
  /** The host's address on the run's LAN (198.51.100.0/24). */
  readonly address: string;
  /** Key-only root login to the host's sshd. */
  readonly ssh: SshConnection;
  /** The host's public key, `ssh-ed25519 AAAA...` (known_hosts / ssh2 `hostVerifier`). */
  readonly hostKey: string;
  /** `ssh://root@<address>`. The docker CLI needs `dockerEnv` (the ssh wrapper on PATH). */
  readonly dockerHost: string;
  /** The host's dockerd socket, reachable from the main namespace. */
  readonly dockerSocket: string;
  /** The host's containerd socket (dockerd's managed one), reachable from the main namespace. */
  readonly containerdSocket: string;
  /**
   * This process's environment plus PATH with the run's ssh wrapper first, DOCKER_HOST =
   * `dockerHost` and DOCKER_CONFIG = the run's own (empty) client configuration.
   */
  readonly dockerEnv: NodeJS.ProcessEnv;
  /** Network namespace name (`ip netns exec <netns> ...`). */
  readonly netns: string;
  /**
   * The cgroup parent of the host's containers (dockerd's `cgroup-parent`). Containers started
   * with `ctr run` must pass `--cgroup <cgroupParent>/<id>`: ctr's default, /<namespace>/<id>, is
   * outside what the teardown removes.
   */
  readonly cgroupParent: string;
  /** The host's files on this machine (etc-docker/, root/, lib-docker/, run/, log/...). */
  readonly dir: string;
  /** Runs argv inside the host (its network, mount and UTS namespaces). Never throws on exit codes. */
  exec(argv: readonly string[], options?: RunOptions): Promise<CommandResult>;
  /** Like `exec`, but throws with stderr on a non-zero exit; returns stdout. */
  mustExec(argv: readonly string[], options?: RunOptions): Promise<string>;
  /** The docker CLI against this host (see `DockerOptions.via`). */
  docker(args: readonly string[], options?: DockerOptions): Promise<CommandResult>;
  mustDocker(args: readonly string[], options?: DockerOptions): Promise<string>;
  /** A dockerode client for this host: its socket (default) or over ssh with the run's key. */
  dockerode(via?: "socket" | "ssh"): Docker;
  /** `ctr` inside the host against its containerd, in `namespace` (default CONTAINERD_NAMESPACE). */
  ctr(
    args: readonly string[],
    options?: RunOptions & { namespace?: string },
  ): Promise<CommandResult>;
  /** A file's content as the host sees it; throws if it cannot be read. */
  readFile(file: string): Promise<string>;
  /** Writes a file as the host sees it (parent directories created), mode default 0644. */
  writeFile(file: string, content: string | Buffer, options?: { mode?: number }): Promise<void>;
  fileExists(file: string): Promise<boolean>;
  /** Stop / start / SIGHUP the host's dockerd (scripts/test-hosts/engine.sh); data is kept. */
  stopEngine(): Promise<void>;
  startEngine(): Promise<void>;
  reloadEngine(): Promise<void>;
}

export interface TestHostsRun {
  /** e.g. srh07a3f9: prefix of every namespace, link, cgroup and directory of this run. */
  readonly runId: string;
  readonly label: string;
  readonly runDir: string;
  /** The run's /28, e.g. 198.51.100.16/28. */
  readonly subnet: string;
  /** This (main) namespace's address on the run's LAN: services bound here are reachable from the hosts. */
  readonly mainAddress: string;
  /** A documentation range for `docker swarm init --default-addr-pool` (see swarm.ts). */
  readonly swarmAddressPool: string;
  readonly hosts: readonly TestHost[];
  readonly client: {
    privateKeyPath: string;
    knownHostsPath: string;
    sshConfigPath: string;
    /** Holds `ssh`, a wrapper adding `-F sshConfigPath`: put it first on PATH for the docker CLI. */
    binDir: string;
    dockerConfigDir: string;
  };
  /** Start-up phases as measured by up.sh (ms): namespaces, dockerd, images, sshd, total. */
  readonly timingsMs: Record<string, number>;
  host(name: string): TestHost;
  /** What identifies this run's kernel objects now; `findLeftovers(inventory)` after `stop()`. */
  inventory(): RunInventory;
  /** Removes everything of the run (idempotent; concurrent calls share one teardown). */
  stop(): Promise<void>;
}

export interface StartTestHostsOptions {
  /** Shown by scripts/test-hosts/status.sh; [A-Za-z0-9._-]. Default "test". */
  label?: string;
  /** Images loaded into every host's engine (nothing can be pulled). Default: both test images. */
  images?: readonly string[];
  /** Bound for the whole start; default 240 s. */
  timeoutMs?: number;
}

const UP_DEFAULT_TIMEOUT_MS = 240_000;
const DOWN_TIMEOUT_MS = 180_000;

/** Why simulated hosts cannot run here, or undefined when they can. */
export function testHostsUnavailableReason(): string | undefined {
  const notRoot = notRootReason();
  if (notRoot) return notRoot;
  if (!engineAvailable())
    return "no Docker engine answers `docker info`: run `npm run setup:docker`";
  if (!testImagesPresent()) return "the test images are missing: run `npm run setup:docker`";
  const missing = missingCommands([
    "ip",
    "nsenter",
    "unshare",
    "flock",
    "dockerd",
    "ctr",
    "ssh",
    "ssh-keygen",
    "/usr/sbin/sshd",
  ]);
  return missing.length > 0
    ? `missing ${missing.join(", ")}: run \`npm run setup:docker\` (scripts/test-hosts/setup.sh)`
    : undefined;
}

/** `describe` for suites that need simulated hosts: skips loudly, fails under CI (gate.ts). */
export function describeWithTestHosts(name: string, body: () => void): void {
  describeWhen(name, testHostsUnavailableReason(), body);
}

interface RunJson {
  runId: string;
  slotDir: string;
  label: string;
  runDir: string;
  mainAddress: string;
  subnet: string;
  swarmAddressPool: string;
  client: TestHostsRun["client"];
  timingsMs: Record<string, number>;
  hosts: {
    name: string;
    address: string;
    netns: string;
    dir: string;
    cgroupParent: string;
    mountNamespace: string;
    utsNamespace: string;
    dockerSocket: string;
    containerdSocket: string;
    hostKey: string;
  }[];
}

const liveRuns = new Set<string>();
let exitHookInstalled = false;

/** At process exit, remove runs that are still up (synchronously: nothing async runs then). */
function installExitHook(): void {
  if (exitHookInstalled) return;
  exitHookInstalled = true;
  process.on("exit", () => {
    for (const runId of liveRuns) {
      try {
        execFileSync("bash", [path.join(TEST_HOSTS_SCRIPTS, "down.sh"), runId], {
          stdio: "ignore",
          timeout: 60_000,
        });
      } catch {
        // Best effort: the next start sweeps what is left (this process will be dead by then).
      }
    }
  });
}

async function down(runId: string): Promise<void> {
  await mustRun("bash", [path.join(TEST_HOSTS_SCRIPTS, "down.sh"), runId], {
    timeoutMs: DOWN_TIMEOUT_MS,
  });
}

/**
 * Starts simulated hosts named `names` ([a-z][a-z0-9]{0,7}, at most 13). Resolves when every
 * host's dockerd and sshd answer and the images are loaded. On failure nothing is left behind.
 */
export async function startTestHosts(
  names: readonly string[],
  options: StartTestHostsOptions = {},
): Promise<TestHostsRun> {
  installExitHook();
  const label = options.label ?? "test";
  const images = options.images ?? [TEST_IMAGES.registry, TEST_IMAGES.busybox];
  const args = [path.join(TEST_HOSTS_SCRIPTS, "up.sh"), "--owner", String(process.pid)];
  args.push("--label", label);
  for (const image of images) args.push("--image", image);
  args.push(...names);
  const timeoutMs = options.timeoutMs ?? UP_DEFAULT_TIMEOUT_MS;
  const r = await runCommand("bash", args, { timeoutMs });
  const runId = /^RUN_ID=(\S+)$/m.exec(r.stdout)?.[1];
  const runJson = /^RUN_JSON=(\S+)$/m.exec(r.stdout)?.[1];
  if (r.code !== 0 || !runJson) {
    // up.sh removes what it created when it fails; not when it was killed by the timeout.
    if (runId) await down(runId).catch(() => undefined);
    throw new Error(
      `starting test hosts ${names.join(", ")} failed (exit ${r.code}):\n${r.stderr.trim().slice(-4000)}`,
    );
  }
  const run = JSON.parse(fs.readFileSync(runJson, "utf8")) as RunJson;
  liveRuns.add(run.runId);
  let stopping: Promise<void> | undefined;
  const stop = (): Promise<void> => {
    stopping ??= down(run.runId).then(() => {
      liveRuns.delete(run.runId);
    });
    return stopping;
  };
  registerCleanup(stop);
  const privateKey = fs.readFileSync(run.client.privateKeyPath, "utf8");
  const hosts = run.hosts.map((h) => makeHost(run, h, privateKey));
  return {
    runId: run.runId,
    label: run.label,
    runDir: run.runDir,
    subnet: run.subnet,
    mainAddress: run.mainAddress,
    swarmAddressPool: run.swarmAddressPool,
    hosts,
    client: run.client,
    timingsMs: run.timingsMs,
    host(name: string): TestHost {
      const found = hosts.find((h) => h.name === name);
      if (!found)
        throw new Error(
          `no host "${name}" in run ${run.runId} (${hosts.map((h) => h.name).join(", ")})`,
        );
      return found;
    },
    inventory: () => takeInventory(run),
    stop,
  };
}

function makeHost(run: RunJson, h: RunJson["hosts"][number], privateKey: string): TestHost {
  const nsenter = [
    `--net=/run/netns/${h.netns}`,
    `--mount=${h.mountNamespace}`,
    `--uts=${h.utsNamespace}`,
    "--",
  ];
  const dockerEnv: NodeJS.ProcessEnv = {
    ...process.env,
    PATH: `${run.client.binDir}:${process.env.PATH ?? "/usr/bin:/bin"}`,
    DOCKER_HOST: `ssh://root@${h.address}`,
    DOCKER_CONFIG: run.client.dockerConfigDir,
  };
  const socketEnv: NodeJS.ProcessEnv = {
    ...process.env,
    DOCKER_CONFIG: run.client.dockerConfigDir,
  };
  delete socketEnv.DOCKER_HOST;
  const engineScript = (action: string) =>
    mustRun("bash", [path.join(TEST_HOSTS_SCRIPTS, "engine.sh"), run.runId, h.name, action], {
      timeoutMs: 150_000,
    }).then(() => undefined);

  const host: TestHost = {
    name: h.name,
    address: h.address,
    ssh: { host: h.address, port: 22, user: "root", privateKey },
    hostKey: h.hostKey,
    dockerHost: `ssh://root@${h.address}`,
    dockerSocket: h.dockerSocket,
    containerdSocket: h.containerdSocket,
    dockerEnv,
    netns: h.netns,
    cgroupParent: h.cgroupParent,
    dir: h.dir,
    exec: (argv, options) => runCommand("nsenter", [...nsenter, ...argv], options),
    mustExec: (argv, options) => mustRun("nsenter", [...nsenter, ...argv], options),
    docker: (args, options = {}) =>
      options.via === "ssh"
        ? runCommand("docker", args, { ...options, env: { ...dockerEnv, ...options.env } })
        : runCommand("docker", ["-H", `unix://${h.dockerSocket}`, ...args], {
            ...options,
            env: { ...socketEnv, ...options.env },
          }),
    mustDocker: async (args, options = {}) => {
      const r = await host.docker(args, options);
      if (r.code !== 0) {
        throw new Error(
          `docker ${args.join(" ")} on ${h.name} exited ${r.code}: ${r.stderr.trim()}`,
        );
      }
      return r.stdout;
    },
    dockerode: (via = "socket") =>
      via === "ssh"
        ? new Docker({
            protocol: "ssh",
            host: h.address,
            port: 22,
            username: "root",
            sshOptions: { privateKey },
          })
        : new Docker({ socketPath: h.dockerSocket }),
    ctr: (args, options = {}) =>
      host.exec(
        [
          "ctr",
          "--address",
          HOST_CONTAINERD_SOCKET,
          "--namespace",
          options.namespace ?? CONTAINERD_NAMESPACE,
          ...args,
        ],
        options,
      ),
    readFile: (file) => host.mustExec(["cat", "--", file]),
    writeFile: async (file, content, options = {}) => {
      const mode = (options.mode ?? 0o644).toString(8);
      await host.mustExec(
        [
          "sh",
          "-c",
          'mkdir -p -- "$(dirname -- "$1")" && cat > "$1" && chmod "$2" -- "$1"',
          "sh",
          file,
          mode,
        ],
        { input: content },
      );
    },
    fileExists: async (file) => (await host.exec(["test", "-e", file])).code === 0,
    stopEngine: () => engineScript("stop"),
    startEngine: () => engineScript("start"),
    reloadEngine: () => engineScript("reload"),
  };
  return host;
}

// ---------------------------------------------------------------------------------------------
// Leftover checks (for tests of the infrastructure itself)

export interface RunInventory {
  runId: string;
  runDir: string;
  /** The directory that claims the run's slot (holds the run id while the run is up). */
  slotDir: string;
  /** Inodes of the hosts' and the switch's network namespaces, and of the hosts' mount namespaces. */
  namespaceInodes: number[];
  /** dockerd, containerd and sshd of every host: pid and start time (so a reused pid does not count). */
  daemons: { pid: number; start: number }[];
  /** Clock ticks since boot when the inventory was taken. */
  takenAtTicks: number;
}

/** Start time of a process in clock ticks since boot (field 22 of /proc/PID/stat), if it runs. */
function processStart(pid: number): { start: number; zombie: boolean } | undefined {
  try {
    // The command name (field 2) may contain spaces and parentheses: split after its end.
    const rest = fs.readFileSync(`/proc/${pid}/stat`, "utf8").split(") ").pop() ?? "";
    const fields = rest.split(" ");
    return { start: Number(fields[19]), zombie: fields[0] === "Z" };
  } catch {
    return undefined;
  }
}

function readText(file: string): string {
  try {
    return fs.readFileSync(file, "utf8");
  } catch {
    return "";
  }
}

let clockTicks: number | undefined;
function ticksNow(): number {
  clockTicks ??= Number(execFileSync("getconf", ["CLK_TCK"], { encoding: "utf8" }).trim());
  return Math.floor(Number(fs.readFileSync("/proc/uptime", "utf8").split(" ")[0]) * clockTicks);
}

function takeInventory(run: RunJson): RunInventory {
  const inodes: number[] = [];
  const nsFiles = [`/run/netns/${run.runId}_sw`];
  for (const h of run.hosts)
    nsFiles.push(`/run/netns/${h.netns}`, h.mountNamespace, h.utsNamespace);
  for (const f of nsFiles) inodes.push(fs.statSync(f).ino);
  const daemons: RunInventory["daemons"] = [];
  for (const h of run.hosts) {
    for (const file of ["run/docker.pid", "run/sshd.pid", "run/docker/containerd/containerd.pid"]) {
      try {
        const pid = Number(fs.readFileSync(path.join(h.dir, file), "utf8").trim());
        const started = processStart(pid);
        if (started && !started.zombie) daemons.push({ pid, start: started.start });
      } catch {
        // not running (no pid file)
      }
    }
  }
  return {
    runId: run.runId,
    runDir: run.runDir,
    slotDir: run.slotDir,
    namespaceInodes: inodes,
    daemons,
    takenAtTicks: ticksNow(),
  };
}

export interface Leftovers {
  netns: string[];
  links: string[];
  cgroups: string[];
  /** Mount lines, in any process's mount table, naming the run (its directory, its namespaces). */
  mounts: string[];
  /** Processes still running that were the run's, or are inside one of its namespaces. */
  processes: string[];
  runDirExists: boolean;
  /** The slot directory still names this run (the slot is not released). */
  slotHeld: boolean;
}

/** Everything of a stopped run that is still on the machine (all lists empty when clean). */
export function findLeftovers(inv: RunInventory): Leftovers {
  const named = (name: string) =>
    name.startsWith(`${inv.runId}-`) || name.startsWith(`${inv.runId}_`);
  const netns = execFileSync("ip", ["netns", "list"], { encoding: "utf8" })
    .split("\n")
    .map((l) => l.split(" ")[0])
    .filter((n) => n && named(n));
  const links = execFileSync("ip", ["-o", "link", "show"], { encoding: "utf8" })
    .split("\n")
    .map((l) => l.split(": ")[1]?.split("@")[0] ?? "")
    .filter(named);
  const cgroups: string[] = [];
  for (const controller of fs.readdirSync("/sys/fs/cgroup")) {
    const dir = path.join("/sys/fs/cgroup", controller);
    try {
      for (const entry of fs.readdirSync(dir))
        if (named(entry)) cgroups.push(path.join(dir, entry));
    } catch {
      // not a directory (or vanished)
    }
  }
  const mounts = new Set<string>();
  const processes: string[] = [];
  for (const entry of fs.readdirSync("/proc")) {
    if (!/^\d+$/.test(entry)) continue;
    const pid = Number(entry);
    try {
      const started = processStart(pid);
      if (!started || started.zombie) continue; // gone, or only waiting for its parent to reap it
      // Run ids are unique over time: any mount naming it (run directory, /run/netns/<id>-...).
      for (const line of fs.readFileSync(`/proc/${pid}/mountinfo`, "utf8").split("\n")) {
        if (line.includes(inv.runId)) mounts.add(line);
      }
      // Namespace inodes are reused once freed: only a process older than the inventory that is
      // in one of them can be the run's.
      const inNamespace =
        started.start <= inv.takenAtTicks &&
        ["net", "mnt", "uts"].some((t) =>
          inv.namespaceInodes.includes(fs.statSync(`/proc/${pid}/ns/${t}`).ino),
        );
      const daemon = inv.daemons.some((d) => d.pid === pid && d.start === started.start);
      if (inNamespace || daemon) {
        processes.push(
          `${pid} ${fs.readFileSync(`/proc/${pid}/cmdline`, "utf8").replace(/\0/g, " ")}`,
        );
      }
    } catch {
      // the process exited while being read
    }
  }
  return {
    netns,
    links,
    cgroups,
    mounts: [...mounts],
    processes,
    runDirExists: fs.existsSync(inv.runDir),
    slotHeld: readText(path.join(inv.slotDir, "run")).trim() === inv.runId,
  };
}
