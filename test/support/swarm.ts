/**
 * A Docker Swarm across simulated hosts (hosts.ts), for tests of Swarm services.
 *
 *   const run = await startTestHosts(["m1", "w1"]);
 *   const swarm = await createSwarm(run, "m1", ["w1"]);
 *   await swarm.manager.mustDocker(["service", "create", "--name", "web", "--no-resolve-image",
 *     "--mode", "global", "--publish", "mode=host,published=8080,target=80", ...]);
 *   await waitForServiceTasks(swarm.manager, "web", 2);
 *   await swarm.leave();   // or cleanupAll(): registered, and runs before the hosts stop
 *
 * What works here and what does not (this kernel has no IPVS):
 * - The routing mesh (ingress network, `--publish published=X,target=Y` in the default "ingress"
 *   mode) and virtual-IP service endpoints do NOT work. Publish with `mode=host` (each task's port
 *   on the node it runs on) and, for services reached over an overlay network, use
 *   `--endpoint-mode dnsrr`. Users get the routing mesh on normal kernels; tests cannot show it.
 * - Overlay networks (VXLAN between the hosts) and Docker secrets / configs work across nodes.
 * - Nothing can be pulled: every node has the images up.sh loaded; create services with
 *   `--no-resolve-image` (the Engine API's equivalent: do not query the registry for the digest).
 * - `--stop-grace-period 1s` keeps updates and removals quick (busybox `httpd` ignores SIGTERM).
 * Addresses: `--advertise-addr`, `--listen-addr` and `--data-path-addr` are the host's LAN address
 * (a host also has docker0 and others, so Swarm would refuse to guess), and overlay networks come
 * from `--default-addr-pool` (203.0.113.128/25, a documentation range, /28 each).
 */
import * as fs from "fs";
import { registerCleanup } from "./harness";
import type { TestHost, TestHostsRun } from "./hosts";

export interface Swarm {
  readonly manager: TestHost;
  readonly workers: readonly TestHost[];
  /** Manager first. */
  readonly nodes: readonly TestHost[];
  /** Swarm node ID per host name. */
  readonly nodeIds: Readonly<Record<string, string>>;
  readonly workerJoinToken: string;
  /** `docker swarm leave --force` on every node, workers first (idempotent). */
  leave(): Promise<void>;
}

export interface CreateSwarmOptions {
  /** Bound for joining and for all nodes to be Ready; default 60 s. */
  timeoutMs?: number;
}

const POLL_MS = 250;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** `swarm init` on `managerName`, `swarm join` of every worker; resolves when all nodes are Ready. */
export async function createSwarm(
  run: TestHostsRun,
  managerName: string,
  workerNames: readonly string[],
  options: CreateSwarmOptions = {},
): Promise<Swarm> {
  const timeoutMs = options.timeoutMs ?? 60_000;
  const manager = run.host(managerName);
  const workers = workerNames.map((n) => run.host(n));
  const nodes = [manager, ...workers];
  const nodeArgs = (h: TestHost) => [
    "--advertise-addr",
    h.address,
    "--listen-addr",
    `${h.address}:2377`,
    "--data-path-addr",
    h.address,
  ];

  let left: Promise<void> | undefined;
  const leave = (): Promise<void> => {
    left ??= (async () => {
      const failures: string[] = [];
      for (const h of [...workers, manager]) {
        if (!fs.existsSync(h.dockerSocket)) continue; // the host is gone already: so is its swarm
        const r = await h.docker(["swarm", "leave", "--force"], { timeoutMs: 60_000 });
        if (r.code !== 0 && !/not part of a swarm/i.test(r.stderr)) {
          failures.push(`${h.name}: ${r.stderr.trim()}`);
        }
      }
      if (failures.length > 0) throw new Error(`swarm leave failed: ${failures.join("; ")}`);
    })();
    return left;
  };
  // Registered before init: a failure half-way still leaves the swarm.
  registerCleanup(leave);

  await manager.mustDocker(
    [
      "swarm",
      "init",
      ...nodeArgs(manager),
      "--default-addr-pool",
      run.swarmAddressPool,
      "--default-addr-pool-mask-length",
      "28",
    ],
    { timeoutMs },
  );
  const workerJoinToken = (
    await manager.mustDocker(["swarm", "join-token", "-q", "worker"])
  ).trim();
  for (const w of workers) {
    await w.mustDocker(
      ["swarm", "join", ...nodeArgs(w), "--token", workerJoinToken, `${manager.address}:2377`],
      { timeoutMs },
    );
  }

  const deadline = Date.now() + timeoutMs;
  let listing = "";
  for (;;) {
    listing = await manager.mustDocker([
      "node",
      "ls",
      "--format",
      "{{.Hostname}} {{.ID}} {{.Status}}",
    ]);
    const ready = listing.split("\n").filter((l) => l.endsWith(" Ready"));
    if (ready.length === nodes.length) {
      const nodeIds: Record<string, string> = {};
      for (const line of ready) {
        const [hostname, id] = line.split(" ");
        nodeIds[hostname] = id;
      }
      return { manager, workers, nodes, nodeIds, workerJoinToken, leave };
    }
    if (Date.now() > deadline) {
      throw new Error(`swarm nodes not all Ready after ${timeoutMs} ms:\n${listing}`);
    }
    await sleep(POLL_MS);
  }
}

/**
 * Waits (bounded) until `service` has `count` tasks in state Running, as the manager sees them.
 * Throws with `docker service ps` output on timeout (it shows why tasks do not start).
 */
export async function waitForServiceTasks(
  manager: TestHost,
  service: string,
  count: number,
  timeoutMs = 90_000,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const r = await manager.docker([
      "service",
      "ps",
      service,
      "--filter",
      "desired-state=running",
      "--format",
      "{{.CurrentState}}",
    ]);
    const running = r.stdout.split("\n").filter((s) => s.startsWith("Running")).length;
    if (r.code === 0 && running >= count) return;
    if (Date.now() > deadline) {
      const ps = await manager.docker(["service", "ps", "--no-trunc", service]);
      throw new Error(
        `service ${service}: ${running}/${count} tasks running after ${timeoutMs} ms:\n${ps.stdout}${ps.stderr}`,
      );
    }
    await sleep(POLL_MS);
  }
}

/** The swarm state of an engine's `docker info` (inactive, active, pending, error, locked). */
export async function swarmState(host: TestHost): Promise<string> {
  return (await host.mustDocker(["info", "--format", "{{.Swarm.LocalNodeState}}"])).trim();
}
