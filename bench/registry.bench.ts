/**
 * `npm run bench -- registry`: the registry exactly as SecureRegistry declares it (the harness runs
 * the declared container on the local engine), measured on this machine's engine:
 *
 * 1. Request rates, side by side with one client and one concurrency: authenticated `GET /v2/`,
 *    authenticated blob `HEAD`s of a pushed image, and unauthenticated `GET /v2/` (the 401 path,
 *    which checks no password). Rounds alternate the order; medians are reported with the ratios.
 *    Goal (issue 10): authenticated >= 0.8 x unauthenticated with the defaults, on the same route
 *    (GET /v2/ with and without the password check; a blob HEAD adds a storage lookup).
 * 2. Full pulls per second of a multi-layer image (manifest + config + every layer, authenticated,
 *    as a puller fetches them) from the default registry (generated user, bcrypt cost 4) and from
 *    one whose user's line is at cost 10 (what random.RandomPassword's bcryptHash gives).
 * 3. Start to healthy, as `pulumi up` sees it: the container is created and started the way the
 *    docker provider does, then waited for by SecureRegistry's HealthyContainer code (the engine's
 *    events) and, on the same starts, by a replay of the docker provider's own wait loop (inspect
 *    right after the start request, then once a second), which the component used before. Also the
 *    engine's own moment of the first passing probe, and the cold start of Pulumi's Node.js dynamic
 *    provider host, which HealthyContainer needs. Goal: healthy seen within 1.5 s of the start
 *    request.
 * 4. CPU cost of the health-check schedule: dockerd + containerd + the container's shim (their own
 *    and reaped children's CPU time) over a minute, for the declared check, for no check, and for a
 *    plain probe every 250 ms (what a short fixed interval would cost).
 *
 * The client is node's https with a keep-alive agent (one TLS session per connection; the same for
 * every scenario). Knobs: BENCH_SECONDS (per scenario round, default 5), BENCH_ROUNDS (3),
 * BENCH_CONCURRENCY (8), BENCH_LAYERS (8), BENCH_STARTS (5), BENCH_CPU_SECONDS (60).
 * Other work on the machine skews absolute rates; ratios of interleaved rounds much less.
 */
import { spawn } from "child_process";
import Docker from "dockerode";
import * as fs from "fs";
import * as https from "https";
import * as os from "os";
import * as path from "path";
import {
  cleanupAll,
  deployRegistry,
  engine,
  installCaCert,
  machineAddress,
  makeDockerConfigDir,
  makeUploadArchive,
  mustRunDocker,
  RegistryDeployment,
  removeImage,
  RUN_PREFIX,
} from "../test/support/harness";
import { TEST_IMAGES } from "../test/support/engine";
import { connectEngine } from "../src/engine/connection";
import { waitUntilHealthy } from "../src/engine/health";

const SECONDS = Number(process.env.BENCH_SECONDS ?? 5);
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 3);
const CONCURRENCY = Number(process.env.BENCH_CONCURRENCY ?? 8);
const LAYERS = Number(process.env.BENCH_LAYERS ?? 8);
const STARTS = Number(process.env.BENCH_STARTS ?? 5);
const CPU_SECONDS = Number(process.env.BENCH_CPU_SECONDS ?? 60);
const RATIO_GOAL = 0.8;
const HEALTHY_GOAL_MS = 1500;
const REPOSITORY = "bench/multilayer";

const median = (values: number[]) => {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)];
};
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

interface Target {
  reg: RegistryDeployment;
  address: string;
  agent: https.Agent;
  auth: string;
}

function target(reg: RegistryDeployment, address: string): Target {
  const [credential] = reg.credentials;
  return {
    reg,
    address,
    agent: new https.Agent({
      keepAlive: true,
      maxSockets: CONCURRENCY,
      ca: reg.caCertPem,
    }),
    auth:
      "Basic " + Buffer.from(`${credential.username}:${credential.password}`).toString("base64"),
  };
}

/** One request; resolves with the status once the body is consumed. */
function request(
  t: Target,
  method: string,
  requestPath: string,
  options: { auth?: boolean; accept?: string } = {},
): Promise<{ status: number; body: Buffer }> {
  return new Promise((resolve, reject) => {
    const headers: Record<string, string> = {};
    if (options.auth) headers.Authorization = t.auth;
    if (options.accept) headers.Accept = options.accept;
    const req = https.request(
      {
        host: t.address,
        port: t.reg.hostPort,
        method,
        path: requestPath,
        headers,
        agent: t.agent,
        timeout: 30_000,
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on("data", (c: Buffer) => chunks.push(c));
        res.on("end", () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks) }));
        res.on("error", reject);
      },
    );
    req.on("timeout", () => req.destroy(new Error(`${method} ${requestPath} timed out`)));
    req.on("error", reject);
    req.end();
  });
}

/** `CONCURRENCY` workers repeat `once` for `seconds`; returns completed operations per second. */
async function load(seconds: number, once: (worker: number, i: number) => Promise<void>) {
  const deadline = Date.now() + seconds * 1000;
  let done = 0;
  const started = Date.now();
  await Promise.all(
    Array.from({ length: CONCURRENCY }, async (_, worker) => {
      for (let i = 0; Date.now() < deadline; i++) {
        await once(worker, i);
        done += 1;
      }
    }),
  );
  return done / ((Date.now() - started) / 1000);
}

function expectStatus(actual: number, wanted: number, what: string): void {
  if (actual !== wanted) throw new Error(`${what}: status ${actual}, expected ${wanted}`);
}

const MANIFEST_TYPES = [
  "application/vnd.docker.distribution.manifest.v2+json",
  "application/vnd.oci.image.manifest.v1+json",
].join(", ");

/** Builds an image of `LAYERS` layers (256 KiB of random bytes each), pushes it to each registry. */
async function pushMultiLayerImage(targets: Target[], configDir: string): Promise<string[]> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), `${RUN_PREFIX}-bench-`));
  const local = `${RUN_PREFIX}-bench-multilayer:1`;
  try {
    const runs = Array.from(
      { length: LAYERS },
      (_, i) => `RUN head -c 262144 /dev/urandom > /layer-${i}`,
    );
    fs.writeFileSync(
      path.join(dir, "Dockerfile"),
      [`FROM ${TEST_IMAGES.busybox}`, ...runs].join("\n") + "\n",
    );
    await mustRunDocker(["build", "-q", "-t", local, dir], { configDir });
    for (const t of targets) {
      const endpoint = `${t.address}:${t.reg.hostPort}`;
      installCaCert(endpoint, t.reg.caCertPem);
      const [credential] = t.reg.credentials;
      await mustRunDocker(["login", "-u", credential.username, "--password-stdin", endpoint], {
        configDir,
        input: credential.password,
      });
      const remote = `${endpoint}/${REPOSITORY}:1`;
      await mustRunDocker(["tag", local, remote], { configDir });
      await mustRunDocker(["push", remote], { configDir });
      await removeImage(remote);
    }
  } finally {
    await removeImage(local);
    fs.rmSync(dir, { recursive: true, force: true });
  }
  const manifest = await request(targets[0], "GET", `/v2/${REPOSITORY}/manifests/1`, {
    auth: true,
    accept: MANIFEST_TYPES,
  });
  expectStatus(manifest.status, 200, "manifest");
  const parsed = JSON.parse(manifest.body.toString()) as {
    config: { digest: string };
    layers: { digest: string }[];
  };
  return [parsed.config.digest, ...parsed.layers.map((l) => l.digest)];
}

/** CPU nanoseconds the container's cgroup has used (cgroup v1 cpuacct, else v2 cpu.stat). */
function containerCpuNs(containerId: string): number {
  const v1 = `/sys/fs/cgroup/cpuacct/docker/${containerId}/cpuacct.usage`;
  if (fs.existsSync(v1)) return Number(fs.readFileSync(v1, "utf8").trim());
  const v2 = `/sys/fs/cgroup/system.slice/docker-${containerId}.scope/cpu.stat`;
  const usec = /usage_usec (\d+)/.exec(fs.readFileSync(v2, "utf8"))?.[1];
  return Number(usec) * 1000;
}

interface ScenarioResult {
  rate: number;
  /** Registry process CPU per request, microseconds (the container's cgroup). */
  registryUs: number;
  /** dockerd + containerd + shim CPU per request (the request's log lines), microseconds. */
  engineUs: number;
}

/** Runs `once` under load and measures its rate and the CPU it costs per request. */
async function measured(t: Target, once: (worker: number, i: number) => Promise<void>) {
  const id = t.reg.containerId;
  const pids = engineProcesses(id);
  const engineCpu = () => Object.values(pids).reduce((sum, pid) => sum + cpuSeconds(pid), 0);
  const [cpu0, engine0] = [containerCpuNs(id), engineCpu()];
  let count = 0;
  const rate = await load(SECONDS, async (worker, i) => {
    await once(worker, i);
    count += 1;
  });
  return {
    rate,
    registryUs: (containerCpuNs(id) - cpu0) / 1000 / count,
    engineUs: ((engineCpu() - engine0) * 1e6) / count,
  };
}

/** Section 1: rates of the three request kinds, interleaved, and their CPU per request. */
async function requestRates(t: Target, blobs: string[]) {
  const scenarios: Record<string, () => Promise<ScenarioResult>> = {
    "unauthenticated GET /v2/ (401)": () =>
      measured(t, async () => expectStatus((await request(t, "GET", "/v2/")).status, 401, "401")),
    "authenticated GET /v2/": () =>
      measured(t, async () =>
        expectStatus((await request(t, "GET", "/v2/", { auth: true })).status, 200, "GET /v2/"),
      ),
    "authenticated blob HEAD": () =>
      measured(t, async (worker, i) => {
        const digest = blobs[(worker + i) % blobs.length];
        const res = await request(t, "HEAD", `/v2/${REPOSITORY}/blobs/${digest}`, { auth: true });
        expectStatus(res.status, 200, "blob HEAD");
      }),
  };
  const names = Object.keys(scenarios);
  const results: Record<string, ScenarioResult[]> = Object.fromEntries(names.map((n) => [n, []]));
  for (let round = 0; round < ROUNDS; round++) {
    const order = round % 2 === 0 ? names : [...names].reverse();
    for (const name of order) results[name].push(await scenarios[name]());
  }
  return Object.fromEntries(
    names.map((n) => [
      n,
      {
        rate: median(results[n].map((r) => r.rate)),
        registryUs: median(results[n].map((r) => r.registryUs)),
        engineUs: median(results[n].map((r) => r.engineUs)),
      },
    ]),
  ) as Record<string, ScenarioResult>;
}

/** Section 2: full pulls per second (manifest, then config and every layer). */
function pulls(t: Target, blobs: string[]): Promise<number> {
  return load(SECONDS, async () => {
    const manifest = await request(t, "GET", `/v2/${REPOSITORY}/manifests/1`, {
      auth: true,
      accept: MANIFEST_TYPES,
    });
    expectStatus(manifest.status, 200, "manifest");
    for (const digest of blobs) {
      const blob = await request(t, "GET", `/v2/${REPOSITORY}/blobs/${digest}`, { auth: true });
      expectStatus(blob.status, 200, "blob GET");
    }
  });
}

/**
 * Section 3: start to healthy as `pulumi up` sees it. Each start is watched two ways at once:
 * the component's wait (HealthyContainer's code, src/engine/health.ts: the engine's events) and a
 * replay of the docker provider's own `wait` (inspect right after the start request, then once a
 * second), which the component used before.
 */
async function startToHealthy(reg: RegistryDeployment) {
  const rc = reg.deployment.containers[0];
  const docker = engine();
  const local = await connectEngine(undefined);
  const samples: {
    componentMs: number;
    providerMs: number;
    healthyMs: number;
    startRequestMs: number;
  }[] = [];
  for (let i = 0; i < STARTS; i++) {
    await docker.getContainer(rc.id).remove({ force: true });
    const created = await docker.createContainer(rc.spec.create);
    rc.id = created.id;
    await created.putArchive(await makeUploadArchive(rc.spec), { path: "/" });
    const t0 = Date.now();
    await created.start();
    const startRequestMs = Date.now() - t0;
    // Settled either way, so a failure is reported below rather than as an unhandled rejection.
    const component = waitUntilHealthy(local, created.id, { timeoutSeconds: 60 }).then(
      () => ({ ms: Date.now() - t0 }),
      (error: unknown) => ({ error }),
    );
    // The provider: inspect at once, then every second, until healthy (bounded).
    let providerMs = NaN;
    for (let poll = 0; poll < 60; poll++) {
      const info = await created.inspect();
      if (info.State.Health?.Status === "healthy") {
        providerMs = Date.now() - t0;
        break;
      }
      await sleep(1000);
    }
    if (Number.isNaN(providerMs)) throw new Error("the registry did not turn healthy in 60 s");
    const info = await created.inspect();
    const firstPass = info.State.Health?.Log?.find((entry) => entry.ExitCode === 0);
    const waited = await component;
    if ("error" in waited) throw waited.error;
    samples.push({
      componentMs: waited.ms,
      providerMs,
      healthyMs: firstPass ? Date.parse(firstPass.End) - t0 : NaN,
      startRequestMs,
    });
  }
  return samples;
}

/**
 * ms until Pulumi's Node.js dynamic provider host (what runs HealthyContainer's code) answers on
 * its port, started cold: paid once per `pulumi up` by the stack's first dynamic resource, on the
 * path to healthy when HealthyContainer is that resource (no trust, no images in the stack).
 */
async function dynamicProviderHostStartMs(): Promise<number[]> {
  const host = require.resolve("@pulumi/pulumi/cmd/dynamic-provider/index.js");
  const samples: number[] = [];
  for (let i = 0; i < STARTS; i++) {
    const t0 = Date.now();
    const child = spawn(process.execPath, [host, "127.0.0.1:1"], {
      cwd: path.resolve(__dirname, ".."),
      stdio: ["ignore", "pipe", "ignore"],
    });
    try {
      await new Promise<void>((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error("no port within 30 s")), 30_000);
        child.stdout.once("data", () => {
          clearTimeout(timer);
          resolve();
        });
        child.once("exit", (code) => reject(new Error(`the host exited (${code})`)));
      });
      samples.push(Date.now() - t0);
    } finally {
      child.kill();
    }
  }
  return samples;
}

/** The engine's own start latency: start requests of a plain busybox container, for comparison. */
async function plainStartMs(): Promise<number[]> {
  const docker = engine();
  const samples: number[] = [];
  for (let i = 0; i < STARTS; i++) {
    const created = await docker.createContainer({
      name: `${RUN_PREFIX}-bench-plain-${i}`,
      Image: TEST_IMAGES.busybox,
      Cmd: ["sleep", "30"],
      Labels: {
        "org.secure-registry-test.owner": "harness",
        "org.secure-registry-test.pid": String(process.pid),
      },
    });
    try {
      const t0 = Date.now();
      await created.start();
      samples.push(Date.now() - t0);
    } finally {
      await created.remove({ force: true });
    }
  }
  return samples;
}

/** CPU seconds (own + reaped children) of a process, from /proc/<pid>/stat. */
function cpuSeconds(pid: number): number {
  const stat = fs.readFileSync(`/proc/${pid}/stat`, "utf8");
  const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  // Fields 14-17 (utime, stime, cutime, cstime), counted from field 3 at index 0.
  const ticks = [11, 12, 13, 14].reduce((sum, i) => sum + Number(fields[i]), 0);
  return ticks / 100;
}

function processes(): { pid: number; comm: string; args: string; ppid: number }[] {
  return fs
    .readdirSync("/proc")
    .filter((p) => /^\d+$/.test(p))
    .flatMap((p) => {
      try {
        const stat = fs.readFileSync(`/proc/${p}/stat`, "utf8");
        const comm = stat.slice(stat.indexOf("(") + 1, stat.lastIndexOf(")"));
        const ppid = Number(stat.slice(stat.lastIndexOf(")") + 2).split(" ")[1]);
        const args = fs.readFileSync(`/proc/${p}/cmdline`, "utf8").replace(/\0/g, " ");
        return [{ pid: Number(p), comm, args, ppid }];
      } catch {
        return [];
      }
    });
}

/** dockerd, its containerd and the container's shim. */
function engineProcesses(containerId: string): Record<string, number> {
  const dockerd = Number(fs.readFileSync("/var/run/docker.pid", "utf8").trim());
  const all = processes();
  const containerd = all.find((p) => p.comm === "containerd" && p.ppid === dockerd);
  const shim = all.find(
    (p) => p.comm.startsWith("containerd-shim") && p.args.includes(containerId),
  );
  if (!containerd || !shim) throw new Error("cannot find containerd or the container's shim");
  return { dockerd, containerd: containerd.pid, shim: shim.pid };
}

/** Section 4: CPU of the engine processes over CPU_SECONDS for a health-check variant. */
async function probeCpu(
  reg: RegistryDeployment,
  healthcheck: Docker.HealthConfig | undefined,
): Promise<Record<string, number>> {
  const rc = reg.deployment.containers[0];
  const docker = engine();
  await docker.getContainer(rc.id).remove({ force: true });
  const created = await docker.createContainer({ ...rc.spec.create, Healthcheck: healthcheck });
  rc.id = created.id;
  await created.putArchive(await makeUploadArchive(rc.spec), { path: "/" });
  await created.start();
  // Past the start phase (3 s) and the first steady probe's scheduling.
  await sleep(5000);
  const pids = engineProcesses(created.id);
  const before = Object.fromEntries(Object.entries(pids).map(([k, pid]) => [k, cpuSeconds(pid)]));
  await sleep(CPU_SECONDS * 1000);
  const used = Object.fromEntries(
    Object.entries(pids).map(([k, pid]) => [k, cpuSeconds(pid) - before[k]]),
  );
  return { ...used, total: Object.values(used).reduce((a, b) => a + b, 0) };
}

async function main(): Promise<void> {
  const address = machineAddress();
  const { dir: configDir } = makeDockerConfigDir();
  console.log(
    `engine ${(await engine().version()).Version}, ${os.cpus().length} cores, load ${os
      .loadavg()
      .map((l) => l.toFixed(1))
      .join(" ")}`,
  );
  const defaults = target(
    await deployRegistry({ ipAddresses: [address] }, { label: "bench-default" }),
    address,
  );
  const cost10 = target(
    await deployRegistry(
      { ipAddresses: [address], users: [{ username: "registry", bcryptCost: 10 }] },
      { label: "bench-cost10" },
    ),
    address,
  );
  const blobs = await pushMultiLayerImage([defaults, cost10], configDir);
  console.log(
    `image: ${REPOSITORY}:1, ${blobs.length - 1} layers + config; ${CONCURRENCY} concurrent clients, ${ROUNDS} rounds of ${SECONDS} s`,
  );

  const results = await requestRates(defaults, blobs);
  const rates = Object.fromEntries(Object.entries(results).map(([n, r]) => [n, r.rate]));
  const unauth = rates["unauthenticated GET /v2/ (401)"];
  console.log("\n1. requests per second, default registry (generated user, bcrypt cost 4):");
  for (const [name, r] of Object.entries(results)) {
    console.log(
      `   ${name.padEnd(34)} ${r.rate.toFixed(0).padStart(6)} /s  (x${(r.rate / unauth).toFixed(2)} of unauthenticated);` +
        ` CPU per request: registry ${r.registryUs.toFixed(0)} us, dockerd+containerd+shim ${r.engineUs.toFixed(0)} us`,
    );
  }
  const cost10Rate = await load(SECONDS, async () => {
    expectStatus((await request(cost10, "GET", "/v2/", { auth: true })).status, 200, "cost 10");
  });
  console.log(
    `   authenticated GET /v2/ at cost 10   ${cost10Rate.toFixed(0).padStart(6)} /s  (x${(cost10Rate / unauth).toFixed(2)})`,
  );
  // The goal compares the same route with and without the password check. A blob HEAD also
  // looks the blob up in storage, so its CPU above an authenticated GET /v2/ is storage work.
  const authRatio = rates["authenticated GET /v2/"] / unauth;
  const headStorageUs =
    results["authenticated blob HEAD"].registryUs - results["authenticated GET /v2/"].registryUs;

  const pullRates: Record<string, number[]> = { default: [], cost10: [] };
  for (let round = 0; round < ROUNDS; round++) {
    const order: [string, Target][] =
      round % 2 === 0
        ? [
            ["default", defaults],
            ["cost10", cost10],
          ]
        : [
            ["cost10", cost10],
            ["default", defaults],
          ];
    for (const [name, t] of order) pullRates[name].push(await pulls(t, blobs));
  }
  const pullDefault = median(pullRates.default);
  const pullCost10 = median(pullRates.cost10);
  console.log(
    `\n2. full pulls per second (${blobs.length + 1} requests each): defaults ${pullDefault.toFixed(1)}/s, cost 10 ${pullCost10.toFixed(1)}/s (x${(pullDefault / pullCost10).toFixed(1)})`,
  );

  const starts = await startToHealthy(defaults.reg);
  const plainStarts = await plainStartMs();
  const hostStarts = await dynamicProviderHostStartMs();
  const componentMedian = median(starts.map((s) => s.componentMs));
  const providerMedian = median(starts.map((s) => s.providerMs));
  const hostMedian = median(hostStarts);
  console.log(
    `\n3. start to healthy (${STARTS} starts), as pulumi up sees it (median): the component's wait ${componentMedian} ms; each: ${starts.map((s) => s.componentMs).join(", ")} ms`,
  );
  console.log(
    `   the same starts through the docker provider's wait (inspect, then every second), as before: ${providerMedian} ms; each: ${starts.map((s) => s.providerMs).join(", ")} ms`,
  );
  console.log(
    `   cold start of the Node.js dynamic provider host (when HealthyContainer is the stack's first dynamic resource, add it): ${hostMedian} ms; each: ${hostStarts.join(", ")} ms`,
  );
  console.log(
    `   first passing probe after the start request: ${starts.map((s) => s.healthyMs).join(", ")} ms; start request itself: ${starts.map((s) => s.startRequestMs).join(", ")} ms`,
  );
  console.log(
    `   for comparison, the start request of a plain busybox container: ${plainStarts.join(", ")} ms`,
  );

  const declared = defaults.reg.deployment.containers[0].spec.create.Healthcheck!;
  const readyOnly = declared.Test![1].split("\n").find((line) => line.startsWith("ready()"))!;
  const variants: [string, Docker.HealthConfig | undefined][] = [
    ["no health check", { Test: ["NONE"] }],
    ["declared (paced by the registry's age)", declared],
    [
      "plain probe every 250 ms",
      { ...declared, Test: ["CMD-SHELL", `${readyOnly}\nready`], Timeout: 10e9 },
    ],
  ];
  console.log(`\n4. CPU seconds of dockerd + containerd + shim over ${CPU_SECONDS} s:`);
  const cpu: Record<string, Record<string, number>> = {};
  for (const [name, hc] of variants) {
    cpu[name] = await probeCpu(defaults.reg, hc);
    const c = cpu[name];
    console.log(
      `   ${name.padEnd(40)} shim (this container's only) ${c.shim.toFixed(2)} s; total ${c.total.toFixed(2)} s (dockerd ${c.dockerd.toFixed(2)}, containerd ${c.containerd.toFixed(2)}, shim ${c.shim.toFixed(2)}) = ${((c.total / CPU_SECONDS) * 100).toFixed(2)}% of a core`,
    );
  }
  const probeCost = cpu[variants[1][0]].total - cpu[variants[0][0]].total;
  const shimCost = cpu[variants[1][0]].shim - cpu[variants[0][0]].shim;
  console.log(
    `   declared check minus none: shim ${shimCost.toFixed(2)} CPU s, all three ${probeCost.toFixed(2)} CPU s per ${CPU_SECONDS} s ` +
      `(${((probeCost / CPU_SECONDS) * 100).toFixed(2)}% of a core; dockerd and containerd also serve other work on this machine)`,
  );

  console.log("");
  console.log(
    `auth/unauth ratio, GET /v2/ with vs without the password check: ${authRatio.toFixed(2)} (goal >= ${RATIO_GOAL}); ` +
      `blob HEAD: ${(rates["authenticated blob HEAD"] / unauth).toFixed(2)} (its storage lookup costs ~${headStorageUs.toFixed(0)} us of registry CPU more than GET /v2/)`,
  );
  console.log(
    `start to healthy as pulumi up sees it: ${componentMedian} ms median (goal <= ${HEALTHY_GOAL_MS} ms; ` +
      `${providerMedian} ms through the docker provider's wait; ${componentMedian + hostMedian} ms when the dynamic provider host starts cold)`,
  );
  const met = authRatio >= RATIO_GOAL && componentMedian <= HEALTHY_GOAL_MS;
  console.log(met ? "goals met" : "GOALS NOT MET");
  process.exitCode = met ? 0 : 1;
}

main()
  .catch((error: unknown) => {
    console.error(error instanceof Error ? error.stack : error);
    process.exitCode = 1;
  })
  .finally(() => cleanupAll().catch((e: unknown) => console.error(`cleanup: ${String(e)}`)));
