/**
 * Real-engine harness: runs what a component DECLARES under pulumi mocks on the local Docker
 * engine (or another one: `runDeclared(declared, { docker })`, e.g. a simulated remote host's),
 * and gives tests the tools to use it the way users will.
 *
 *   const reg = await deployRegistry({ users: [{ username: "ci" }] });
 *   // reg.endpoint, reg.hostPort, reg.caCertPem, reg.credentials, reg.timeToHealthyMs ...
 *   await reg.recreate();   // remove + create the container again from the same declared inputs
 *   await reg.destroy();    // or cleanupAll() in afterAll
 *
 * The registry runs from the exact `docker.Container` / `docker.Volume` inputs the component
 * declared (real keys and certificates from the tls mocks, real bcrypt hashes from the random
 * mocks), translated as the docker provider sends them (container-spec.ts). Nothing about the
 * registry's configuration is written here: a wrong env name, path or health check in the
 * component fails on the engine.
 *
 * Everything the harness creates carries the labels `org.secure-registry-test.owner=harness` and
 * `org.secure-registry-test.pid=<pid>`; `cleanupAll()` removes what this process created, and
 * `sweepLeftovers()` (run once before the first deployment) what killed earlier runs left behind.
 * Names are unique per test file (`srtest-<pid>-<random>-<n>-<label>`) and host ports are picked
 * free, so a second run on the same machine does not collide with the first.
 *
 * Other helpers: `runDocker` (docker CLI with an isolated DOCKER_CONFIG, never ~/.docker),
 * `installCaCert` (certs.d/<endpoint>/ca.crt, removing only what it wrote), `machineAddress`,
 * `buildTestImage`, `startPlainRegistry` (an upstream for pull-through tests), `freePort`.
 */
import Docker from "dockerode";
import { execFile, execFileSync } from "child_process";
import * as crypto from "crypto";
import * as fs from "fs";
import * as http from "http";
import * as net from "net";
import * as os from "os";
import * as path from "path";
import * as tar from "tar-stream";
import * as pulumi from "@pulumi/pulumi";
import type { Engine } from "../../src/engine/connection";
import { waitUntilHealthy } from "../../src/engine/health";
import type { SecureRegistryArgs } from "../../src/registry";
import { TEST_IMAGES } from "./engine";
import { containerSpec, ContainerSpec, volumeSpec } from "./container-spec";
import { DeclaredResource, outputOf, setupMocks, unwrapSecrets } from "./mocks";

/** Label keys on everything the harness creates. */
export const OWNER_LABEL = "org.secure-registry-test.owner";
export const PID_LABEL = "org.secure-registry-test.pid";
const OWNER_VALUE = "harness";

/**
 * Prefix of every name this test file creates: `srtest-<pid>-<random>`. The random part keeps
 * names unique when jest runs several files in one worker process (the module, and so the name
 * counter, is reloaded per file while the pid stays).
 */
export const RUN_PREFIX = `srtest-${process.pid}-${crypto.randomBytes(3).toString("hex")}`;

const ownerLabels = (): Record<string, string> => ({
  [OWNER_LABEL]: OWNER_VALUE,
  [PID_LABEL]: String(process.pid),
});

const CONTAINER_TYPE = "docker:index/container:Container";
const VOLUME_TYPE = "docker:index/volume:Volume";
const REMOTE_IMAGE_TYPE = "docker:index/remoteImage:RemoteImage";
const HEALTHY_CONTAINER_TYPE = "pulumi-nodejs:dynamic/secure-registry:HealthyContainer";

/** Poll interval while waiting for a container state. */
const POLL_MS = 100;
/** Upper bound for waiting on health when the declaration does not set `wait`. */
const DEFAULT_HEALTH_TIMEOUT_S = 60;

let client: Docker | undefined;

/** The dockerode client for the local engine (DOCKER_HOST or /var/run/docker.sock). */
export function engine(): Docker {
  client ??= new Docker();
  return client;
}

let nameCounter = 0;

/** A name unique to this test file and call: `srtest-<pid>-<random>-<n>-<label>`. */
export function uniqueName(label: string): string {
  nameCounter += 1;
  return `${RUN_PREFIX}-${nameCounter}-${label}`;
}

// ---------------------------------------------------------------------------------------------
// Cleanup

type Cleanup = () => Promise<void>;
const cleanups: Cleanup[] = [];

/** Register work for `cleanupAll()`; returns a function that runs it now (once) instead. */
export function registerCleanup(fn: Cleanup): () => Promise<void> {
  let done = false;
  const once: Cleanup = async () => {
    if (done) return;
    done = true;
    const i = cleanups.indexOf(once);
    if (i >= 0) cleanups.splice(i, 1);
    await fn();
  };
  cleanups.push(once);
  return once;
}

/** Runs every registered cleanup, newest first; throws one error listing all failures. */
export async function cleanupAll(): Promise<void> {
  const failures: string[] = [];
  while (cleanups.length > 0) {
    const fn = cleanups[cleanups.length - 1];
    try {
      await fn();
    } catch (err) {
      failures.push(String((err as Error).message ?? err));
    } finally {
      // A failing cleanup must not be retried forever.
      const i = cleanups.indexOf(fn);
      if (i >= 0) cleanups.splice(i, 1);
    }
  }
  if (failures.length > 0) throw new Error(`cleanup failed:\n  ${failures.join("\n  ")}`);
}

function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === "EPERM";
  }
}

const CERTS_D = "/etc/docker/certs.d";
const CA_MARKER = ".secure-registry-test-owner";

/** Engines already swept by this test file (the local one, and any target of `runDeclared`). */
const swept = new WeakSet<Docker>();

/**
 * Removes containers, volumes, images and certs.d entries that the harness created in processes
 * that no longer exist (a run killed before its afterAll). Never touches anything else.
 */
export async function sweepLeftovers(): Promise<void> {
  await sweepEngine(engine());
  sweepCertsD();
}

/** `sweepLeftovers` for one engine: containers, volumes and images of dead harness processes. */
async function sweepEngine(docker: Docker): Promise<void> {
  const filters = JSON.stringify({ label: [`${OWNER_LABEL}=${OWNER_VALUE}`] });
  const dead = (labels: Record<string, string> | undefined): boolean => {
    const pid = Number(labels?.[PID_LABEL]);
    return Number.isInteger(pid) && pid > 0 && pid !== process.pid && !processAlive(pid);
  };
  for (const c of await docker.listContainers({ all: true, filters })) {
    if (dead(c.Labels)) await docker.getContainer(c.Id).remove({ force: true, v: true });
  }
  const { Volumes } = await docker.listVolumes({ filters });
  for (const v of Volumes ?? []) {
    if (dead(v.Labels ?? undefined)) await docker.getVolume(v.Name).remove();
  }
  for (const img of await docker.listImages({ filters })) {
    if (dead(img.Labels ?? undefined)) {
      await docker
        .getImage(img.Id)
        .remove({ force: true })
        .catch(() => undefined);
    }
  }
}

/** `sweepLeftovers` for this machine's certs.d entries written by `installCaCert`. */
function sweepCertsD(): void {
  if (fs.existsSync(CERTS_D)) {
    for (const entry of fs.readdirSync(CERTS_D)) {
      const marker = path.join(CERTS_D, entry, CA_MARKER);
      if (!fs.existsSync(marker)) continue;
      const pid = Number(fs.readFileSync(marker, "utf8").trim());
      if (Number.isInteger(pid) && pid !== process.pid && !processAlive(pid)) {
        fs.rmSync(path.join(CERTS_D, entry), { recursive: true, force: true });
      }
    }
  }
}

/** Sweeps `docker` once; the local engine's sweep includes certs.d. */
async function sweepOnce(docker: Docker = engine()): Promise<void> {
  if (swept.has(docker)) return;
  swept.add(docker);
  await (docker === engine() ? sweepLeftovers() : sweepEngine(docker));
}

// ---------------------------------------------------------------------------------------------
// Machine facts

/** A TCP port that is free on all interfaces right now. */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.unref();
    server.on("error", reject);
    server.listen({ port: 0, host: "0.0.0.0", exclusive: true }, () => {
      const { port } = server.address() as net.AddressInfo;
      server.close(() => resolve(port));
    });
  });
}

/**
 * A non-loopback IPv4 address of this machine: the Docker daemon treats 127.0.0.0/8 registries
 * as insecure (no certificate check), so trust tests must use this. Prefers a physical
 * interface; docker0's address qualifies when nothing else exists.
 */
export function machineAddress(): string {
  const candidates: { name: string; address: string }[] = [];
  for (const [name, addrs] of Object.entries(os.networkInterfaces())) {
    for (const a of addrs ?? []) {
      if (a.family === "IPv4" && !a.internal && !a.address.startsWith("127.")) {
        candidates.push({ name, address: a.address });
      }
    }
  }
  const virtual = (n: string) => /^(docker|br-|veth|virbr|cni|flannel|lxc)/.test(n);
  const best =
    candidates.find((c) => !virtual(c.name)) ?? candidates.find((c) => c.name === "docker0");
  if (!best) throw new Error("no non-loopback IPv4 address on this machine (not even docker0)");
  return best.address;
}

/**
 * The local image ID of `name`. Nothing can be pulled here, so a declared image must exist
 * locally: the error names the fix.
 */
export function localImageId(name: string): string {
  try {
    return execFileSync("docker", ["image", "inspect", "--format", "{{.Id}}", name], {
      encoding: "utf8",
      stdio: ["ignore", "pipe", "pipe"],
      timeout: 15_000,
    }).trim();
  } catch {
    throw new Error(
      `image "${name}" is not present on the local engine and cannot be pulled here; ` +
        `deploy with image: TEST_IMAGES.registry (built by npm run setup:docker)`,
    );
  }
}

/**
 * `localImageId` for another engine (e.g. a simulated host's, which has its own image store),
 * through its API rather than the docker CLI.
 */
async function targetImageId(docker: Docker, name: string): Promise<string> {
  try {
    return (await docker.getImage(name).inspect()).Id;
  } catch (err) {
    throw new Error(
      `image "${name}" is not present on the target engine and cannot be pulled here ` +
        `(${(err as Error).message}); load it there first (startTestHosts' images option)`,
    );
  }
}

// ---------------------------------------------------------------------------------------------
// Running declared resources

/** What `runDeclared` created for one `docker.Container`. */
export interface RunningContainer {
  /** Declared (logical) name of the resource. */
  resourceName: string;
  /** Engine container name. */
  name: string;
  /** Current engine container ID (changes on `recreate`). */
  id: string;
  /** The translated declaration (what is sent to the engine). */
  spec: ContainerSpec;
  /** A declared HealthyContainer waits for this container: its inputs, run by its own code. */
  healthWait?: { timeoutSeconds: number };
  /** ms from the start request to the first `healthy` observation; undefined without a healthcheck. */
  timeToHealthyMs?: number;
  /**
   * ms from the engine's `State.StartedAt` to the end of the first passing health check (engine
   * clock; excludes the start request's own latency and polling).
   */
  engineTimeToHealthyMs?: number;
}

export interface Deployment {
  containers: RunningContainer[];
  /** Names of the volumes created. */
  volumes: string[];
  /** Remove every container and create it again from the same declared inputs (volumes stay). */
  recreate(): Promise<void>;
  /** Remove containers, then volumes. Idempotent; also registered with cleanupAll(). */
  destroy(): Promise<void>;
  /** Last `tail` log lines of a container (stdout and stderr). */
  logs(containerIndex?: number, tail?: number): Promise<string>;
}

/** The tar archive of a container's uploads, as the provider puts it into the container before start. */
export function makeUploadArchive(spec: ContainerSpec): Promise<Buffer> {
  const pack = tar.pack();
  for (const file of spec.uploads) {
    pack.entry(
      {
        name: file.path,
        mode: file.mode,
        size: file.content.length,
        uid: file.uid ?? 0,
        gid: file.gid ?? 0,
      },
      file.content,
    );
  }
  pack.finalize();
  return streamToBuffer(pack);
}

function streamToBuffer(stream: tar.Pack): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    stream.on("data", (c: unknown) => {
      chunks.push(c as Buffer);
    });
    stream.on("end", () => resolve(Buffer.concat(chunks)));
    stream.on("error", reject);
  });
}

/**
 * The payload of a non-TTY container stream (logs, exec): 8-byte frame headers, byte 0 the stream
 * (1 stdout, 2 stderr), bytes 4-7 the frame's length. Only the frames of `streams` are kept.
 */
function demultiplex(raw: Buffer, streams: readonly number[] = [1, 2]): string {
  const out: Buffer[] = [];
  for (let i = 0; i + 8 <= raw.length;) {
    const size = raw.readUInt32BE(i + 4);
    if (streams.includes(raw[i])) out.push(raw.subarray(i + 8, i + 8 + size));
    i += 8 + size;
  }
  return Buffer.concat(out).toString("utf8");
}

async function containerLogs(docker: Docker, id: string, tail = 40): Promise<string> {
  try {
    const buf = (await docker
      .getContainer(id)
      .logs({ stdout: true, stderr: true, tail, follow: false })) as unknown as Buffer;
    return demultiplex(buf);
  } catch (err) {
    return `(logs unavailable: ${(err as Error).message})`;
  }
}

/** stdout of `cmd` run in a container of the local engine. */
export async function execInContainer(containerId: string, cmd: string[]): Promise<string> {
  const exec = await engine()
    .getContainer(containerId)
    .exec({ Cmd: cmd, AttachStdout: true, AttachStderr: true });
  const stream = await exec.start({ hijack: true, stdin: false });
  const chunks: Buffer[] = [];
  await new Promise<void>((resolve, reject) => {
    stream.on("data", (c: Buffer) => chunks.push(c));
    stream.on("end", resolve);
    stream.on("error", reject);
  });
  return demultiplex(Buffer.concat(chunks), [1]);
}

/** ms from the engine's `State.StartedAt` to the end of the first passing check (engine clock). */
function engineTimeToHealthy(info: Docker.ContainerInspectInfo): number | undefined {
  const firstPass = info.State.Health?.Log?.find((entry) => entry.ExitCode === 0);
  return firstPass ? Date.parse(firstPass.End) - Date.parse(info.State.StartedAt) : undefined;
}

/** `docker` as the engine module's `Engine`, with an address for its messages. */
function engineOf(docker: Docker): Engine {
  const modem = docker.modem as { socketPath?: string; host?: string; port?: number };
  const address = modem.socketPath
    ? `unix://${modem.socketPath}`
    : `tcp://${modem.host ?? "?"}:${modem.port ?? "?"}`;
  return {
    docker,
    resolved: {
      address,
      transport: modem.socketPath
        ? { kind: "unix", socketPath: modem.socketPath }
        : { kind: "tcp", hostname: modem.host ?? "", port: modem.port ?? 0 },
    },
  };
}

/**
 * Waits (bounded) until the container's health is `healthy`. Fails fast when it turns
 * `unhealthy` or stops, with the last health-check output and log lines.
 */
async function waitHealthy(
  docker: Docker,
  id: string,
  timeoutSeconds: number,
  startedAt: number,
): Promise<{ observedMs: number; engineMs?: number }> {
  const deadline = Date.now() + timeoutSeconds * 1000;
  for (;;) {
    const info = await docker.getContainer(id).inspect();
    const health = info.State.Health;
    if (health?.Status === "healthy") {
      return { observedMs: Date.now() - startedAt, engineMs: engineTimeToHealthy(info) };
    }
    const lastCheck = health?.Log?.[health.Log.length - 1];
    const why = async (state: string) =>
      `container ${info.Name} ${state}; last health check: ` +
      `${lastCheck ? `exit ${lastCheck.ExitCode}: ${lastCheck.Output.trim()}` : "none"}\n` +
      `--- last log lines ---\n${await containerLogs(docker, id)}`;
    if (!info.State.Running) throw new Error(await why(`stopped (exit ${info.State.ExitCode})`));
    if (info.State.Restarting || info.RestartCount > 0) {
      // A restart policy hides a crash loop behind "running": report the crash.
      throw new Error(await why(`crashed and was restarted ${info.RestartCount} time(s)`));
    }
    if (health?.Status === "unhealthy") throw new Error(await why("is unhealthy"));
    if (Date.now() > deadline) throw new Error(await why(`not healthy within ${timeoutSeconds}s`));
    await new Promise((r) => setTimeout(r, POLL_MS));
  }
}

async function createAndStart(docker: Docker, rc: RunningContainer): Promise<void> {
  const created = await docker.createContainer(rc.spec.create);
  rc.id = created.id;
  if (rc.spec.networks.length > 0) {
    // As the provider: leave the default bridge, join each declared network.
    await docker
      .getNetwork("bridge")
      .disconnect({ Container: created.id })
      .catch(() => undefined);
    for (const n of rc.spec.networks) {
      await docker.getNetwork(n.name).connect({
        Container: created.id,
        EndpointConfig: {
          Aliases: n.aliases,
          IPAMConfig: { IPv4Address: n.ipv4Address, IPv6Address: n.ipv6Address },
        },
      });
    }
  }
  if (rc.spec.uploads.length > 0) {
    await created.putArchive(await makeUploadArchive(rc.spec), { path: "/" });
  }
  if (!rc.spec.start) return;
  const startedAt = Date.now();
  await created.start();
  const hasHealthcheck =
    rc.spec.create.Healthcheck !== undefined && rc.spec.create.Healthcheck.Test?.[0] !== "NONE";
  if (hasHealthcheck && rc.healthWait) {
    // The component's own wait (src/engine/health.ts), as its dynamic provider runs it.
    try {
      await waitUntilHealthy(engineOf(docker), created.id, rc.healthWait);
    } catch (err) {
      throw new Error(
        `${(err as Error).message}\n--- last log lines ---\n${await containerLogs(docker, created.id)}`,
      );
    }
    rc.timeToHealthyMs = Date.now() - startedAt;
    rc.engineTimeToHealthyMs = engineTimeToHealthy(await created.inspect());
  } else if (hasHealthcheck) {
    const timeout = rc.spec.wait ? rc.spec.waitTimeoutSeconds : DEFAULT_HEALTH_TIMEOUT_S;
    const healthy = await waitHealthy(docker, created.id, timeout, startedAt);
    rc.timeToHealthyMs = healthy.observedMs;
    rc.engineTimeToHealthyMs = healthy.engineMs;
  } else {
    // Like the provider's read: the container must still be running shortly after start.
    await new Promise((r) => setTimeout(r, 500));
    const info = await created.inspect();
    if (!info.State.Running) {
      throw new Error(
        `container ${rc.name} exited (code ${info.State.ExitCode}) right after start:\n` +
          (await containerLogs(docker, created.id)),
      );
    }
  }
}

async function removeContainer(docker: Docker, rc: RunningContainer): Promise<void> {
  const c = docker.getContainer(rc.id);
  try {
    if (rc.spec.destroyGraceSeconds > 0) {
      await c.stop({ t: rc.spec.destroyGraceSeconds }).catch(() => undefined);
    }
    await c.remove({ force: true, v: rc.spec.removeVolumes });
  } catch (err) {
    if ((err as { statusCode?: number }).statusCode !== 404) throw err;
  }
}

export interface RunDeclaredOptions {
  /**
   * The engine to run on, e.g. a simulated remote host's (`TestHost.dockerode()`), as a docker
   * provider with that host would. Default: the local engine (`engine()`).
   */
  docker?: Docker;
}

/**
 * Creates the declared docker resources on the real engine (the local one, or `options.docker`):
 * volumes first, then each container (create, upload files, start, wait for health: with the
 * code of a declared HealthyContainer for it, else the harness's own polling). Images are
 * never pulled: a declared `RemoteImage` must exist in that engine. Any other custom resource
 * except tls and random ones (which the mocks answer completely) and HealthyContainer throws, e.g.
 * another docker type or another dynamic provider, so a new kind of resource is never silently
 * left out. On failure
 * everything created so far is removed.
 */
export async function runDeclared(
  resources: DeclaredResource[],
  options: RunDeclaredOptions = {},
): Promise<Deployment> {
  const docker = options.docker ?? engine();
  await sweepOnce(docker);
  const containers: RunningContainer[] = [];
  const volumes: string[] = [];

  const destroy = registerCleanup(async () => {
    const errors: string[] = [];
    for (const rc of containers) {
      await removeContainer(docker, rc).catch((e) =>
        errors.push(`container ${rc.name}: ${e.message}`),
      );
    }
    for (const v of volumes) {
      await docker
        .getVolume(v)
        .remove()
        .catch((e: { statusCode?: number; message: string }) => {
          if (e.statusCode !== 404) errors.push(`volume ${v}: ${e.message}`);
        });
    }
    if (errors.length > 0) throw new Error(errors.join("; "));
  });

  try {
    for (const r of resources) {
      // Components have no effect of their own; tls and random resources are fully answered by
      // the mocks (their outputs are already in the docker inputs). Anything else would have an
      // effect the harness does not reproduce, so it must not be silently left out.
      if (!r.custom || /^(tls|random):/.test(r.type)) continue;
      if (
        ![CONTAINER_TYPE, VOLUME_TYPE, REMOTE_IMAGE_TYPE, HEALTHY_CONTAINER_TYPE].includes(r.type)
      ) {
        throw new Error(
          `declared ${r.type} "${r.name}" is not run by the harness (not supported yet)`,
        );
      }
    }
    for (const w of resources.filter((x) => x.type === HEALTHY_CONTAINER_TYPE)) {
      const target = unwrapSecrets(w.inputs).container;
      if (!resources.some((r) => r.type === CONTAINER_TYPE && r.id === target)) {
        throw new Error(`declared HealthyContainer "${w.name}" waits for no declared container`);
      }
    }
    for (const r of resources.filter((x) => x.type === REMOTE_IMAGE_TYPE)) {
      // Throws with the fix when the image is not in the engine.
      const image = String(unwrapSecrets(r.inputs).name);
      if (options.docker) await targetImageId(options.docker, image);
      else localImageId(image);
    }
    for (const r of resources.filter((x) => x.type === VOLUME_TYPE)) {
      const spec = volumeSpec({ name: r.name, ...unwrapSecrets(r.inputs) }, ownerLabels());
      await docker.createVolume(spec);
      volumes.push(spec.Name!);
    }
    for (const r of resources.filter((x) => x.type === CONTAINER_TYPE)) {
      const spec = containerSpec(unwrapSecrets(r.inputs), ownerLabels());
      spec.create.name ??= r.name;
      const waits = resources.filter(
        (w) => w.type === HEALTHY_CONTAINER_TYPE && unwrapSecrets(w.inputs).container === r.id,
      );
      const rc: RunningContainer = {
        resourceName: r.name,
        name: spec.create.name,
        id: "",
        spec,
        ...(waits.length > 0
          ? {
              healthWait: { timeoutSeconds: Number(unwrapSecrets(waits[0].inputs).timeoutSeconds) },
            }
          : {}),
      };
      containers.push(rc);
      await createAndStart(docker, rc);
    }
  } catch (err) {
    await destroy().catch(() => undefined);
    throw err;
  }

  return {
    containers,
    volumes,
    destroy,
    async recreate() {
      for (const rc of containers) {
        await removeContainer(docker, rc);
        rc.timeToHealthyMs = undefined;
        rc.engineTimeToHealthyMs = undefined;
        await createAndStart(docker, rc);
      }
    },
    logs: (index = 0, tail = 40) => containerLogs(docker, containers[index].id, tail),
  };
}

// ---------------------------------------------------------------------------------------------
// SecureRegistry

/** A credential as the component outputs it (passwords in plain text here, for tests). */
export interface Credential {
  username: string;
  password: string;
}

export interface DeployOptions {
  /** Component name; default `uniqueName(label)`. Child names derive from it. */
  name?: string;
  /** Label in the generated name (default "registry"). */
  label?: string;
}

export interface RegistryDeployment {
  /** The component's name. */
  name: string;
  /** All resources declared under mocks (secrets still wrapped in `inputs`). */
  declared: DeclaredResource[];
  /** Resolved component outputs (secrets unwrapped), keyed by property name. */
  outputs: Record<string, unknown>;
  /** `endpoint` output, e.g. `registry.local:5443`. */
  endpoint: string;
  /** Host (name or address) part of `endpoint`. */
  host: string;
  /** Published host port. */
  hostPort: number;
  /** `caCertPem` output: the CA that signed the server certificate. */
  caCertPem: string;
  /** `credentials` output, unwrapped. */
  credentials: Credential[];
  /** Current engine container ID (changes on `recreate`). */
  containerId: string;
  /** Engine container name. */
  containerName: string;
  /** Name of the data volume; undefined when the registry stores in S3 (no volume). */
  volumeName: string | undefined;
  /** ms from the start request to the first healthy observation (latest start). */
  timeToHealthyMs: number;
  /** ms from the engine's StartedAt to the end of the first passing health check (latest start). */
  engineTimeToHealthyMs: number;
  /** The underlying engine deployment. */
  deployment: Deployment;
  /** Remove the container and create it again from the same declared inputs. */
  recreate(): Promise<void>;
  /** Remove everything this deployment created (idempotent). */
  destroy(): Promise<void>;
  /** Last log lines of the registry container. */
  logs(tail?: number): Promise<string>;
}

/** Resolves every Output-valued public property of a component (secrets unwrapped). */
export async function resolveOutputs(component: object): Promise<Record<string, unknown>> {
  const out: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(component)) {
    if (key.startsWith("__")) continue;
    if (pulumi.Output.isInstance(value)) {
      out[key] = unwrapSecrets(await outputOf(value as pulumi.Output<unknown>));
    } else if (pulumi.CustomResource.isInstance(value)) {
      // Child resources exposed as outputs (container, volume): wait for their registration.
      await outputOf(value.id);
      out[key] = value;
    }
  }
  await outputOf(pulumi.output((component as pulumi.Resource).urn));
  return out;
}

export function declaredChildren(all: DeclaredResource[], name: string): DeclaredResource[] {
  return all.filter((r) => r.name === name || r.name.startsWith(`${name}-`));
}

const PORT_IN_USE = /port is already allocated|address already in use/i;

/**
 * Declares a `SecureRegistry` under mocks with `args` and runs its docker resources on the real
 * engine. Defaults supplied here, and only these: `image` = the local registry:2 stand-in and
 * `port` = a free host port (retried up to 3 times if another process takes it first). Everything
 * else is what the component declares.
 */
export async function deployRegistry(
  args: SecureRegistryArgs = {},
  options: DeployOptions = {},
): Promise<RegistryDeployment> {
  const name = options.name ?? uniqueName(options.label ?? "registry");
  const maxAttempts = args.port === undefined ? 3 : 1;
  for (let attempt = 1; ; attempt++) {
    const port = (args.port as number | undefined) ?? (await freePort());
    try {
      return await deployRegistryOnce(name, { image: TEST_IMAGES.registry, ...args, port });
    } catch (err) {
      if (attempt >= maxAttempts || !PORT_IN_USE.test(String((err as Error).message))) throw err;
    }
  }
}

async function deployRegistryOnce(
  name: string,
  args: SecureRegistryArgs,
): Promise<RegistryDeployment> {
  const mocks = setupMocks({ resolveImageId: localImageId });
  // Loaded after setMocks, as the mocks documentation requires.
  const { SecureRegistry } = require("../../src/registry");
  const component = new SecureRegistry(name, args);
  const outputs = await resolveOutputs(component);
  const declared = declaredChildren(mocks.resources, name);
  const deployment = await runDeclared(declared);

  const registry = deployment.containers[0];
  if (deployment.containers.length !== 1) {
    await deployment.destroy();
    throw new Error(
      `expected SecureRegistry to declare one container, got ${deployment.containers.length}`,
    );
  }
  const endpoint = String(outputs.endpoint);
  const hostPort = Number(endpoint.slice(endpoint.lastIndexOf(":") + 1));
  const result: RegistryDeployment = {
    name,
    declared,
    outputs,
    endpoint,
    host: endpoint.slice(0, endpoint.lastIndexOf(":")).replace(/^\[|\]$/g, ""),
    hostPort: Number.isInteger(hostPort) && hostPort > 0 ? hostPort : Number(args.port),
    caCertPem: String(outputs.caCertPem),
    credentials: (outputs.credentials as Credential[]) ?? [],
    get containerId() {
      return registry.id;
    },
    containerName: registry.name,
    volumeName: deployment.volumes[0],
    get timeToHealthyMs() {
      return registry.timeToHealthyMs ?? NaN;
    },
    get engineTimeToHealthyMs() {
      return registry.engineTimeToHealthyMs ?? NaN;
    },
    deployment,
    recreate: () => deployment.recreate(),
    destroy: () => deployment.destroy(),
    logs: (tail?: number) => deployment.logs(0, tail),
  };
  return result;
}

// ---------------------------------------------------------------------------------------------
// docker CLI with an isolated client configuration

export interface CommandResult {
  code: number;
  stdout: string;
  stderr: string;
}

export interface RunDockerOptions {
  /** DOCKER_CONFIG directory (see `makeDockerConfigDir`); never the user's ~/.docker. */
  configDir: string;
  /** Kill after this many ms (default 120 s). */
  timeoutMs?: number;
  /** Written to stdin (e.g. `--password-stdin`). */
  input?: string;
}

/**
 * Runs the docker CLI with `DOCKER_CONFIG=<configDir>`. Never throws on a non-zero exit: returns
 * the code and output for the test to assert on.
 */
export function runDocker(args: string[], options: RunDockerOptions): Promise<CommandResult> {
  return new Promise((resolve) => {
    const child = execFile(
      "docker",
      args,
      {
        env: { ...process.env, DOCKER_CONFIG: options.configDir, DOCKER_BUILDKIT: "0" },
        timeout: options.timeoutMs ?? 120_000,
        maxBuffer: 16 * 1024 * 1024,
      },
      (error, stdout, stderr) => {
        const code = error ? (typeof error.code === "number" ? error.code : 1) : 0;
        resolve({ code, stdout: String(stdout), stderr: String(stderr) });
      },
    );
    if (options.input !== undefined) child.stdin?.end(options.input);
    else child.stdin?.end();
  });
}

/** Like `runDocker`, but throws (with stderr) on a non-zero exit. */
export async function mustRunDocker(args: string[], options: RunDockerOptions): Promise<string> {
  const r = await runDocker(args, options);
  if (r.code !== 0) throw new Error(`docker ${args[0]} failed (${r.code}): ${r.stderr.trim()}`);
  return r.stdout;
}

/** A fresh, empty DOCKER_CONFIG directory, removed by cleanupAll() or `remove()`. */
export function makeDockerConfigDir(): { dir: string; remove: () => Promise<void> } {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), `${RUN_PREFIX}-docker-config-`));
  const remove = registerCleanup(async () => fs.rmSync(dir, { recursive: true, force: true }));
  return { dir, remove };
}

/**
 * Writes `/etc/docker/certs.d/<endpoint>/ca.crt` so the daemon trusts `caCertPem` for that
 * registry. Refuses to overwrite an existing ca.crt. `remove()` deletes only the file it wrote and
 * the directories it created (also run by cleanupAll()).
 */
export function installCaCert(
  endpoint: string,
  caCertPem: string,
): { path: string; remove: () => Promise<void> } {
  if (!/^[A-Za-z0-9.\-:[\]]+$/.test(endpoint)) {
    throw new Error(`installCaCert: "${endpoint}" is not a host[:port]`);
  }
  const createdDirs: string[] = [];
  for (const dir of [path.dirname(CERTS_D), CERTS_D, path.join(CERTS_D, endpoint)]) {
    try {
      fs.mkdirSync(dir, { mode: 0o755 });
      createdDirs.push(dir);
    } catch (err) {
      // Already there (possibly made by a parallel test process): not ours to remove.
      if ((err as NodeJS.ErrnoException).code !== "EEXIST") throw err;
    }
  }
  const file = path.join(CERTS_D, endpoint, "ca.crt");
  fs.writeFileSync(file, caCertPem, { flag: "wx", mode: 0o644 });
  const marker = path.join(CERTS_D, endpoint, CA_MARKER);
  if (createdDirs.includes(path.join(CERTS_D, endpoint))) {
    // Lets sweepLeftovers() remove the directory if this process dies before cleanup.
    fs.writeFileSync(marker, String(process.pid));
  }
  const remove = registerCleanup(async () => {
    fs.rmSync(file, { force: true });
    fs.rmSync(marker, { force: true });
    for (const dir of createdDirs.reverse()) {
      try {
        fs.rmdirSync(dir);
      } catch {
        // Not empty: someone else put files there meanwhile; leave it.
      }
    }
  });
  return { path: file, remove };
}

// ---------------------------------------------------------------------------------------------
// Images and auxiliary containers

/**
 * Builds a tiny image `FROM` the busybox test image with one distinct file (`/id` = `content`),
 * tagged `tag`, labelled for cleanup. Returns the image ID. `removeImage` / cleanupAll() delete it.
 */
export async function buildTestImage(
  tag: string,
  content: string,
  configDir: string,
): Promise<string> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), `${RUN_PREFIX}-build-`));
  try {
    fs.writeFileSync(path.join(dir, "id"), content);
    fs.writeFileSync(
      path.join(dir, "Dockerfile"),
      `FROM ${TEST_IMAGES.busybox}\nLABEL ${OWNER_LABEL}=${OWNER_VALUE} ${PID_LABEL}=${process.pid}\nCOPY id /id\n`,
    );
    registerCleanup(() => removeImage(tag));
    await mustRunDocker(["build", "-q", "-t", tag, dir], { configDir });
    return (
      await mustRunDocker(["image", "inspect", "--format", "{{.Id}}", tag], { configDir })
    ).trim();
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

/** Removes an image reference (tag or ID); missing is fine. */
export async function removeImage(ref: string): Promise<void> {
  try {
    await engine().getImage(ref).remove({ force: true });
  } catch (err) {
    if ((err as { statusCode?: number }).statusCode !== 404) throw err;
  }
}

/**
 * A plain-HTTP registry (the registry:2 stand-in with its default config) on a free loopback port:
 * TEST INFRASTRUCTURE, e.g. an upstream for pull-through tests, not a subject under test. Returns
 * its bridge-network URL too, which other containers use to reach it.
 *
 * No auth option on purpose: distribution's proxy mode sends `proxy.username/password` only to
 * upstreams that answer with a Bearer (token) challenge, never to Basic (htpasswd) ones
 * (registry/proxy/proxyauth.go, getAuthURLs), so an htpasswd upstream cannot be proxied with
 * credentials.
 */
export async function startPlainRegistry(label = "upstream"): Promise<{
  containerId: string;
  hostPort: number;
  bridgeUrl: string;
  destroy: () => Promise<void>;
}> {
  await sweepOnce();
  const docker = engine();
  const hostPort = await freePort();
  const created = await docker.createContainer({
    name: uniqueName(label),
    Image: TEST_IMAGES.registry,
    Labels: ownerLabels(),
    ExposedPorts: { "5000/tcp": {} },
    HostConfig: {
      PortBindings: { "5000/tcp": [{ HostIp: "127.0.0.1", HostPort: String(hostPort) }] },
    },
  });
  const destroy = registerCleanup(async () => {
    await created.remove({ force: true, v: true }).catch((e: { statusCode?: number }) => {
      if (e.statusCode !== 404) throw e;
    });
  });
  await created.start();
  const info = await created.inspect();
  const ip = info.NetworkSettings.Networks?.bridge?.IPAddress;
  if (!ip) throw new Error("upstream registry has no bridge address");
  // Bounded wait until the registry answers (docker-proxy accepts TCP before it listens).
  const deadline = Date.now() + 30_000;
  while ((await httpStatus(`http://127.0.0.1:${hostPort}/v2/`)) !== 200) {
    if (Date.now() > deadline) {
      throw new Error(
        `upstream registry did not answer within 30s:\n${await containerLogs(docker, created.id)}`,
      );
    }
    await new Promise((r) => setTimeout(r, POLL_MS));
  }
  return { containerId: created.id, hostPort, bridgeUrl: `http://${ip}:5000`, destroy };
}

/** Status code of a plain HTTP GET, or 0 when the connection fails. */
function httpStatus(url: string): Promise<number> {
  return new Promise((resolve) => {
    const req = http.get(url, { timeout: 5_000 }, (res) => {
      res.resume();
      resolve(res.statusCode ?? 0);
    });
    req.on("timeout", () => req.destroy());
    req.on("error", () => resolve(0));
  });
}
