/**
 * The object store of the test infrastructure (test/support/object-store.ts), proven with the
 * client that matters: distribution's s3 driver, in the local registry image, run as a container
 * on the main engine's default bridge and reaching radosgw at the docker0 gateway. An image is
 * pushed, its blobs and manifest links appear in the bucket under the registry's root directory,
 * and it is pulled back (blob downloads redirected to radosgw) with the same digest, also through a
 * second container on the same bucket. Containers on a simulated host reach it at the run's main
 * address (what a Swarm service of the registry will use). It listens nowhere else; stop() leaves
 * no daemon and no directory.
 */
import { execFileSync } from "child_process";
import * as crypto from "crypto";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { TEST_IMAGES } from "../support/engine";
import { describeWhen } from "../support/gate";
import {
  buildTestImage,
  cleanupAll,
  engine,
  freePort,
  makeDockerConfigDir,
  mustRunDocker,
  OWNER_LABEL,
  PID_LABEL,
  registerCleanup,
  removeImage,
  RUN_PREFIX,
  uniqueName,
} from "../support/harness";
import {
  dockerBridgeGateway,
  ObjectStore,
  objectStoreUnavailableReason,
  startObjectStore,
} from "../support/object-store";
import { startTestHosts, testHostsUnavailableReason, TestHostsRun } from "../support/hosts";
import { reportFigure } from "../support/probes";

jest.setTimeout(300_000);

/** Needs root, the engine and test images, the hosts' packages and Ceph's. */
function unavailableReason(): string | undefined {
  return testHostsUnavailableReason() ?? objectStoreUnavailableReason();
}

/** distribution's configuration for an s3 backend on `store`, reached at `endpoint`. */
function registryConfig(store: ObjectStore, endpoint: string, rootDirectory: string): string {
  return [
    "version: 0.1",
    "log:",
    "  level: info",
    "storage:",
    "  s3:",
    `    accesskey: ${store.accessKey}`,
    `    secretkey: ${store.secretKey}`,
    `    region: ${store.region}`,
    `    regionendpoint: ${endpoint}`,
    `    bucket: ${store.bucket}`,
    "    secure: false",
    "    v4auth: true",
    `    rootdirectory: ${rootDirectory}`,
    "  delete:",
    "    enabled: true",
    "http:",
    "  addr: :5000",
    `  secret: ${crypto.randomBytes(16).toString("hex")}`,
    "",
  ].join("\n");
}

function rssMiB(pid: number): number {
  const status = fs.readFileSync(`/proc/${pid}/status`, "utf8");
  return Number(/VmRSS:\s+(\d+)/.exec(status)?.[1] ?? 0) / 1024;
}

describeWhen(
  "object store: radosgw behind distribution's s3 driver (test infrastructure)",
  unavailableReason(),
  () => {
    let store: ObjectStore;
    let run: TestHostsRun;
    let configFile: string;
    let configDir: string;
    const rootDirectory = `/${RUN_PREFIX}`;

    /** A registry container on the default bridge with the s3 config; resolves when /v2/ answers. */
    async function startRegistry(
      label: string,
    ): Promise<{ port: number; logs: () => Promise<string> }> {
      const port = await freePort();
      const container = await engine().createContainer({
        name: uniqueName(label),
        Image: TEST_IMAGES.registry,
        Labels: { [OWNER_LABEL]: "harness", [PID_LABEL]: String(process.pid) },
        ExposedPorts: { "5000/tcp": {} },
        HostConfig: {
          Binds: [`${configFile}:/etc/docker/registry/config.yml:ro`],
          PortBindings: { "5000/tcp": [{ HostIp: "127.0.0.1", HostPort: String(port) }] },
        },
      });
      registerCleanup(() => container.remove({ force: true, v: true }));
      await container.start();
      const logs = async () =>
        (await container.logs({ stdout: true, stderr: true, tail: 50 })).toString("utf8");
      const deadline = Date.now() + 30_000;
      for (;;) {
        const ok = await fetch(`http://127.0.0.1:${port}/v2/`, {
          signal: AbortSignal.timeout(3_000),
        })
          .then((r) => r.status === 200)
          .catch(() => false);
        if (ok) return { port, logs };
        if (Date.now() > deadline)
          throw new Error(`registry on :${port} did not answer /v2/ in 30 s:\n${await logs()}`);
        await new Promise((r) => setTimeout(r, 250));
      }
    }

    beforeAll(async () => {
      // One simulated host, to show that containers there (e.g. Swarm tasks) reach the store
      // through the run's main address. Started first: the store binds that address.
      run = await startTestHosts(["s1"], { label: "objstore", images: [TEST_IMAGES.busybox] });
      const t0 = Date.now();
      store = await startObjectStore({
        label: "registry-s3",
        listen: [await dockerBridgeGateway(), run.mainAddress],
      });
      reportFigure("object-store: start, ms (objstore-up.sh phases)", store.timingsMs);
      reportFigure("object-store: start, ms (startObjectStore)", Date.now() - t0);
      const dir = fs.mkdtempSync(path.join(os.tmpdir(), `${RUN_PREFIX}-s3-registry-`));
      registerCleanup(async () => fs.rmSync(dir, { recursive: true, force: true }));
      configFile = path.join(dir, "config.yml");
      // endpoints[1]: the docker0 gateway, which a container on the default bridge reaches.
      fs.writeFileSync(configFile, registryConfig(store, store.endpoints[1], rootDirectory), {
        mode: 0o600,
      });
      configDir = makeDockerConfigDir().dir;
    });

    afterAll(async () => {
      await cleanupAll();
    });

    it("listens only on loopback and the addresses asked for, with a bucket and generated keys", async () => {
      const gateway = await dockerBridgeGateway();
      const listening = execFileSync("ss", ["-Htlnp"], { encoding: "utf8" })
        .split("\n")
        .filter((l) =>
          [store.pids.mon, store.pids.osd, store.pids.rgw].some((p) => l.includes(`pid=${p},`)),
        )
        .map((l) => l.trim().split(/\s+/)[3]);
      expect(listening.length).toBeGreaterThanOrEqual(5); // mon, osd (several), rgw x3
      const allowed = ["127.0.0.1", gateway, run.mainAddress].map((a) => `${a}:`);
      for (const local of listening) {
        expect(
          allowed.some((a) => local.startsWith(a) && /^\d+$/.test(local.slice(a.length))),
        ).toBe(true);
      }
      expect(store.endpoint).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
      expect(store.endpoints).toHaveLength(3);
      expect(store.endpoints[0]).toBe(store.endpoint);
      expect(store.bucket).toBe("registry");
      expect(store.accessKey).toMatch(/^[0-9A-F]{20}$/);
      expect(store.secretKey).toMatch(/^[0-9a-f]{40}$/);
    });

    it("containers on a simulated host reach it at the run's main address, with S3 credentials", async () => {
      const endpoint = store.endpoints[2];
      expect(endpoint).toBe(`http://${run.mainAddress}:${store.port}`);
      const host = run.host("s1");
      const status = await host.mustDocker([
        "run",
        "--rm",
        TEST_IMAGES.busybox,
        "sh",
        "-c",
        `printf 'GET / HTTP/1.0\\r\\n\\r\\n' | nc -w 5 ${run.mainAddress} ${store.port} | head -n 1`,
      ]);
      expect(status.trim()).toBe("HTTP/1.1 200 OK");
      // A signed ListObjects from inside the host (curl's SigV4 needs the payload hash header).
      const listing = await host.mustExec([
        "curl",
        "-sS",
        "--fail",
        "--aws-sigv4",
        `aws:amz:${store.region}:s3`,
        "-u",
        `${store.accessKey}:${store.secretKey}`,
        "-H",
        "x-amz-content-sha256: e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
        `${endpoint}/${store.bucket}?list-type=2`,
      ]);
      expect(listing).toContain(`<Name>${store.bucket}</Name>`);
    });

    it("a registry container stores a pushed image in the bucket and serves it back", async () => {
      const reg = await startRegistry("s3-registry");
      const repository = `127.0.0.1:${reg.port}/srtest/s3-${process.pid}`;
      registerCleanup(() => removeImage(`${repository}:1`));
      const imageId = await buildTestImage(
        `${repository}:1`,
        crypto.randomBytes(16).toString("hex"),
        configDir,
      );
      const pushed = await mustRunDocker(["push", `${repository}:1`], {
        configDir,
        timeoutMs: 180_000,
      });
      const digest = /digest: (sha256:[0-9a-f]{64})/.exec(pushed)?.[1];
      expect(digest).toBeDefined();

      const keys = await store.listObjects(rootDirectory.slice(1) + "/");
      const revision = `${rootDirectory.slice(1)}/docker/registry/v2/repositories/srtest/s3-${process.pid}/_manifests/revisions/sha256/${digest!.slice(7)}/link`;
      expect(keys).toContain(revision);
      expect(
        keys.filter((k) => /\/blobs\/sha256\/[0-9a-f]{2}\/[0-9a-f]{64}\/data$/.test(k)).length,
      ).toBeGreaterThanOrEqual(3);

      await removeImage(`${repository}:1`);
      await removeImage(imageId);
      const pulled = await mustRunDocker(["pull", `${repository}:1`], {
        configDir,
        timeoutMs: 180_000,
      });
      expect(pulled).toContain(digest);
      expect(
        (
          await mustRunDocker(["image", "inspect", "--format", "{{.Id}}", `${repository}:1`], {
            configDir,
          })
        ).trim(),
      ).toBe(imageId);
      expect(await reg.logs()).not.toMatch(/panic/);

      // A second registry on the same bucket and root directory serves the same image: the data
      // lives in the object store, not in the container.
      const second = await startRegistry("s3-registry-2");
      const manifest = await fetch(
        `http://127.0.0.1:${second.port}/v2/srtest/s3-${process.pid}/manifests/1`,
        {
          headers: { Accept: "application/vnd.docker.distribution.manifest.v2+json" },
        },
      );
      expect(manifest.status).toBe(200);
      expect(manifest.headers.get("docker-content-digest")).toBe(digest);

      reportFigure(
        "object-store: resident memory after a push, MiB (mon, osd, rgw)",
        [store.pids.mon, store.pids.osd, store.pids.rgw].map((p) => Math.round(rssMiB(p))),
      );
    });

    it("stop() stops the daemons and removes the store's directory", async () => {
      const pids = [store.pids.mon, store.pids.osd, store.pids.rgw];
      await store.stop();
      const running = pids.filter((pid) => {
        try {
          return fs.readFileSync(`/proc/${pid}/stat`, "utf8").split(") ")[1]?.[0] !== "Z";
        } catch {
          return false;
        }
      });
      expect(running).toEqual([]);
      expect(fs.existsSync(store.dir)).toBe(false);
      await store.stop(); // idempotent
    });
  },
);
