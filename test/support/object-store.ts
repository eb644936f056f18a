/**
 * An S3-compatible object store for integration tests: Debian's Ceph radosgw on one monitor and
 * one in-memory OSD (scripts/test-hosts/objstore-up.sh), with an S3 user and a bucket.
 *
 *   const store = await startObjectStore({ listen: [dockerBridgeGateway()] });
 *   // store.endpoint (http://127.0.0.1:<port>), store.endpoints (one per listen address),
 *   // store.region, store.bucket, store.accessKey, store.secretKey
 *   await store.listObjects("some/prefix/");   // what is in the bucket (radosgw-admin)
 *   await store.stop();                        // or cleanupAll() (harness.ts): registered
 *
 * distribution 2.8's s3 driver works against it (every npm S3 emulator tried failed on the first
 * blob upload). For a registry using it:
 * - `regionendpoint` = an endpoint the REGISTRY can reach: a container on the default bridge
 *   reaches the docker0 gateway (`listen: [dockerBridgeGateway()]`), a container with host
 *   networking reaches 127.0.0.1, a service on simulated hosts reaches the run's `mainAddress`
 *   (`listen: [run.mainAddress]`). Setting `regionendpoint` makes the driver use path-style URLs.
 * - `secure: false` (plain HTTP), `v4auth: true`, `region: store.region`.
 * - With redirects on (the default), blob downloads are redirected to presigned URLs on that
 *   endpoint, so the PULLING client must reach it too; `storage.redirect.disable: true` otherwise.
 * - AWS_CA_BUNDLE: this machine exports it, and distribution's s3 driver panics at start when it
 *   inherits it ("LoadCustomCABundleError"). A container does not inherit the test's environment;
 *   a registry binary started directly from a test must get an environment without it.
 * Cost: about 16 s to start, about 120 MB resident (mon ~30, osd ~40 + the stored data, rgw ~40).
 */
import { execFileSync } from "child_process";
import * as fs from "fs";
import * as path from "path";
import { mustRun, runCommand } from "./command";
import { describeWhen, missingCommands, notRootReason } from "./gate";
import { registerCleanup } from "./harness";
import { TEST_HOSTS_SCRIPTS } from "./hosts";

export interface ObjectStore {
  /** http://127.0.0.1:<port> */
  readonly endpoint: string;
  /** One URL per listen address (127.0.0.1 first), same port. */
  readonly endpoints: readonly string[];
  readonly port: number;
  readonly region: string;
  readonly bucket: string;
  readonly accessKey: string;
  readonly secretKey: string;
  /** The store's directory (ceph.conf, logs in log/, pid files in run/). */
  readonly dir: string;
  readonly pids: { mon: number; osd: number; rgw: number };
  /** Start-up phases measured by objstore-up.sh (ms): cluster, gateway, userAndBucket, total. */
  readonly timingsMs: Record<string, number>;
  /** Keys of the objects in the bucket that start with `prefix` (all when omitted). */
  listObjects(prefix?: string): Promise<string[]>;
  /** Stops the daemons (by pid) and removes the directory; idempotent. */
  stop(): Promise<void>;
}

export interface StartObjectStoreOptions {
  /** Shown in the store's `owner` file; [A-Za-z0-9._-]. Default "test". */
  label?: string;
  /** Addresses of this machine radosgw also listens on (127.0.0.1 always). */
  listen?: readonly string[];
  /** Bucket to create; default "registry". */
  bucket?: string;
  /** Bound for the whole start; default 240 s. */
  timeoutMs?: number;
}

/** Why the object store cannot run here, or undefined when it can. */
export function objectStoreUnavailableReason(): string | undefined {
  const notRoot = notRootReason();
  if (notRoot) return notRoot;
  const missing = missingCommands([
    "ceph",
    "ceph-mon",
    "ceph-osd",
    "radosgw",
    "radosgw-admin",
    "ceph-authtool",
    "monmaptool",
    "curl",
    "openssl",
  ]);
  return missing.length > 0
    ? `missing ${missing.join(", ")}: run \`npm run setup:docker\` (scripts/test-hosts/setup.sh)`
    : undefined;
}

/** `describe` for suites that need the object store: skips loudly, fails under CI (gate.ts). */
export function describeWithObjectStore(name: string, body: () => void): void {
  describeWhen(name, objectStoreUnavailableReason(), body);
}

/**
 * The main engine's default bridge gateway (docker0's address), which its containers reach.
 * (Engine 20.10 does not report a Gateway in the bridge network's IPAM config: read the
 * interface itself.)
 */
export async function dockerBridgeGateway(): Promise<string> {
  const name =
    (
      await mustRun("docker", [
        "network",
        "inspect",
        "bridge",
        "--format",
        '{{index .Options "com.docker.network.bridge.name"}}',
      ])
    ).trim() || "docker0";
  const out = await mustRun("ip", ["-o", "-4", "addr", "show", "dev", name]);
  const address = /\binet (\d+\.\d+\.\d+\.\d+)\//.exec(out)?.[1];
  if (!address)
    throw new Error(`the default bridge (${name}) has no IPv4 address: "${out.trim()}"`);
  return address;
}

interface StoreJson {
  dir: string;
  endpoint: string;
  endpoints: string[];
  port: number;
  region: string;
  bucket: string;
  accessKey: string;
  secretKey: string;
  conf: string;
  pids: { mon: number; osd: number; rgw: number };
  timingsMs: Record<string, number>;
}

const DOWN_SCRIPT = path.join(TEST_HOSTS_SCRIPTS, "objstore-down.sh");

const liveStores = new Set<string>();
let exitHookInstalled = false;

/** At process exit, stop stores that are still up (synchronously: nothing async runs then). */
function installExitHook(): void {
  if (exitHookInstalled) return;
  exitHookInstalled = true;
  process.on("exit", () => {
    for (const dir of liveStores) {
      try {
        execFileSync("bash", [DOWN_SCRIPT, dir], { stdio: "ignore", timeout: 60_000 });
      } catch {
        // Best effort: the next start removes stores whose owner is dead.
      }
    }
  });
}

/** Starts an object store; resolves when the bucket exists. On failure nothing is left behind. */
export async function startObjectStore(
  options: StartObjectStoreOptions = {},
): Promise<ObjectStore> {
  installExitHook();
  const args = [path.join(TEST_HOSTS_SCRIPTS, "objstore-up.sh"), "--owner", String(process.pid)];
  args.push("--label", options.label ?? "test");
  for (const address of options.listen ?? []) args.push("--listen", address);
  if (options.bucket) args.push("--bucket", options.bucket);
  const r = await runCommand("bash", args, { timeoutMs: options.timeoutMs ?? 240_000 });
  const dir = /^STORE_DIR=(\S+)$/m.exec(r.stdout)?.[1];
  const json = /^STORE_JSON=(\S+)$/m.exec(r.stdout)?.[1];
  if (r.code !== 0 || !json) {
    if (dir) await runCommand("bash", [DOWN_SCRIPT, dir], { timeoutMs: 120_000 });
    throw new Error(
      `starting the object store failed (exit ${r.code}):\n${r.stderr.trim().slice(-4000)}`,
    );
  }
  const store = JSON.parse(fs.readFileSync(json, "utf8")) as StoreJson;
  liveStores.add(store.dir);
  let stopping: Promise<void> | undefined;
  const stop = (): Promise<void> => {
    stopping ??= mustRun("bash", [DOWN_SCRIPT, store.dir], { timeoutMs: 120_000 }).then(() => {
      liveStores.delete(store.dir);
    });
    return stopping;
  };
  registerCleanup(stop);
  return {
    endpoint: store.endpoint,
    endpoints: store.endpoints,
    port: store.port,
    region: store.region,
    bucket: store.bucket,
    accessKey: store.accessKey,
    secretKey: store.secretKey,
    dir: store.dir,
    pids: store.pids,
    timingsMs: store.timingsMs,
    async listObjects(prefix = ""): Promise<string[]> {
      const out = await mustRun(
        "radosgw-admin",
        [
          "--conf",
          store.conf,
          "bucket",
          "list",
          "--bucket",
          store.bucket,
          "--max-entries",
          "100000",
        ],
        { timeoutMs: 60_000 },
      );
      const entries = JSON.parse(out) as { name: string }[];
      return entries.map((e) => e.name).filter((n) => n.startsWith(prefix));
    },
    stop,
  };
}
