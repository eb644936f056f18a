/**
 * The registry past one host, on real engines and a real object store: a SecureRegistryService
 * with 2 replicas on a 2-node swarm of simulated hosts (host-mode ports: this kernel has no IPVS
 * for the routing mesh), its data in Ceph radosgw, run from exactly what the component declares
 * (test/support/swarm-deploy.ts). Then SecureRegistry (one container) on the same object store.
 *
 * - push through one node, pull through the other: same digest; a chunked upload started on one
 *   replica and continued on the other completes (the shared http secret);
 * - a certificate renewal (a second `pulumi up` with the server certificate replaced) rolls the
 *   replicas one at a time: a client pulling from both nodes in a loop never finds both down, and
 *   afterwards every node serves the new certificate; the images pushed before are still there;
 * - one node's engine stopped: pulls through the other keep working, the data is intact, and the
 *   node's replica comes back when its engine does;
 * - SecureRegistry with storage.s3: push, replace the container, pull the same digest.
 *
 * One swarm and one object store serve the whole file (about 20 s to start).
 */
import * as crypto from "crypto";
import * as tls from "tls";
import { engineAvailable, testImagesPresent } from "../support/engine";
import { describeWhen } from "../support/gate";
import {
  buildTestImage,
  cleanupAll,
  deployRegistry,
  installCaCert,
  machineAddress,
  makeDockerConfigDir,
  mustRunDocker,
  registerCleanup,
  removeImage,
  uniqueName,
} from "../support/harness";
import {
  startTestHosts,
  TestHost,
  testHostsUnavailableReason,
  TestHostsRun,
} from "../support/hosts";
import {
  dockerBridgeGateway,
  ObjectStore,
  objectStoreUnavailableReason,
  startObjectStore,
} from "../support/object-store";
import { registryRequest, reportFigure } from "../support/probes";
import { declareService, DeclaredService, withoutServerCert } from "../support/service-harness";
import { createSwarm, Swarm, waitForServiceTasks } from "../support/swarm";
import { runDeclaredService, ServiceDeployment } from "../support/swarm-deploy";

jest.setTimeout(300_000);

function unavailableReason(): string | undefined {
  if (!engineAvailable())
    return "no Docker engine answers `docker info`: run `npm run setup:docker`";
  if (!testImagesPresent()) return "the test images are missing: run `npm run setup:docker`";
  return testHostsUnavailableReason() ?? objectStoreUnavailableReason();
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** The SHA-256 fingerprint of the certificate a TLS server at address:port presents. */
function servedCertFingerprint(address: string, port: number): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = tls.connect({ host: address, port, rejectUnauthorized: false });
    socket.setTimeout(10_000, () =>
      socket.destroy(new Error(`TLS to ${address}:${port} timed out`)),
    );
    socket.once("secureConnect", () => {
      const fingerprint = socket.getPeerCertificate().fingerprint256;
      socket.destroy();
      resolve(fingerprint);
    });
    socket.once("error", reject);
  });
}

/** The digest `docker push` / `docker pull` printed. */
function printedDigest(output: string): string {
  const digest = /digest: (sha256:[0-9a-f]{64})/i.exec(output)?.[1];
  if (!digest) throw new Error(`no digest in:\n${output}`);
  return digest;
}

/** One round of the availability prober: was each node serving the manifest? */
interface ProbeRound {
  at: number;
  up: Record<string, boolean>;
}

describeWhen(
  "SecureRegistryService on a 2-node swarm, data in radosgw",
  unavailableReason(),
  () => {
    const PORT = 5443;
    let run: TestHostsRun;
    let store: ObjectStore;
    let swarm: Swarm;
    let h1: TestHost;
    let h2: TestHost;
    let configDir: string;
    let name: string;
    let args: Parameters<typeof declareService>[1];
    let first: DeclaredService;
    let deployment: ServiceDeployment;
    let repository: string;
    let pushedDigest: string;
    let chunkedBlob: { digest: string; content: Buffer };
    /** docker0's address: what containers on the local engine's default bridge reach. */
    let gateway: string;

    /** `https://<node>:PORT` request as the first user, verified against the CA. */
    const request = (
      node: TestHost,
      path: string,
      extra: Partial<Parameters<typeof registryRequest>[0]> = {},
    ) =>
      registryRequest({
        address: node.address,
        port: PORT,
        servername: node.address,
        ca: first.caCertPem,
        auth: first.credentials[0],
        path,
        timeoutMs: 10_000,
        ...extra,
      });

    const endpointOf = (node: TestHost) => `${node.address}:${PORT}`;

    const pullDigestThrough = async (node: TestHost): Promise<string> => {
      const ref = `${endpointOf(node)}/${repository}:1`;
      await removeImage(ref);
      const out = await mustRunDocker(["pull", ref], { configDir, timeoutMs: 180_000 });
      await removeImage(ref);
      return printedDigest(out);
    };

    beforeAll(async () => {
      const t0 = Date.now();
      run = await startTestHosts(["h1", "h2"], { label: "swarm-registry" });
      h1 = run.host("h1");
      h2 = run.host("h2");
      gateway = await dockerBridgeGateway();
      // The store listens where the swarm's tasks (the LAN) and the local engine's containers
      // (docker0) reach it.
      [store, swarm] = await Promise.all([
        startObjectStore({ label: "swarm-registry", listen: [gateway, run.mainAddress] }),
        createSwarm(run, "h1", ["h2"]),
      ]);
      reportFigure("swarm registry: hosts + swarm + object store up, ms", Date.now() - t0);
      reportFigure("swarm registry: hosts start phases, ms", run.timingsMs);
      reportFigure("swarm registry: object store start phases, ms", store.timingsMs);
      configDir = makeDockerConfigDir().dir;

      name = uniqueName("svc");
      repository = `srtest/swarm-${process.pid}`;
      args = {
        hostname: h1.address,
        ipAddresses: [h2.address],
        port: PORT,
        users: [{ username: "ci" }],
        tls: { keyAlgorithm: "ECDSA" },
        storage: {
          s3: {
            bucket: store.bucket,
            region: store.region,
            // The LAN address of this machine: what the tasks (and the pulling daemon) reach.
            regionEndpoint: store.endpoints.find((e) => e.includes(run.mainAddress)),
            accessKey: store.accessKey,
            secretKey: store.secretKey,
            rootDirectory: `/${name}`,
          },
        },
        replicas: 2,
        publishMode: "host",
        placement: { maxReplicasPerNode: 1 },
        // Shorter than the default 10s watch per replica, to keep CI time down.
        update: { monitor: "5s" },
      };
      first = await declareService(name, args);
      const t1 = Date.now();
      deployment = await runDeclaredService(swarm.manager, first.declared);
      registerCleanup(() => deployment.destroy());
      reportFigure("swarm registry: service created and converged, ms", Date.now() - t1);
      for (const node of [h1, h2]) {
        installCaCert(endpointOf(node), first.caCertPem);
        const user = first.credentials[0];
        await mustRunDocker(
          ["login", endpointOf(node), "--username", user.username, "--password-stdin"],
          { configDir, input: user.password, timeoutMs: 60_000 },
        );
      }
    });

    afterAll(async () => {
      const t0 = Date.now();
      await cleanupAll();
      reportFigure(
        "swarm registry: teardown (service, swarm, object store, hosts), ms",
        Date.now() - t0,
      );
    });

    it("runs one replica per node, each answering with the declared certificate", async () => {
      const nodes = await swarm.manager.mustDocker([
        "service",
        "ps",
        deployment.serviceName,
        "--filter",
        "desired-state=running",
        "--format",
        "{{.Node}} {{.CurrentState}}",
      ]);
      const lines = nodes.trim().split("\n");
      expect(lines.map((l) => l.split(" ")[0]).sort()).toEqual(["h1", "h2"]);
      for (const line of lines) expect(line).toMatch(/ Running /);
      const expected = new crypto.X509Certificate(first.certPem).fingerprint256;
      for (const node of [h1, h2]) {
        expect(await servedCertFingerprint(node.address, PORT)).toBe(expected);
        expect((await request(node, "/v2/")).status).toBe(200);
        expect((await request(node, "/v2/", { auth: undefined })).status).toBe(401);
      }
    });

    it("push through one node, pull through the other: the same digest, data in the bucket", async () => {
      const ref1 = `${endpointOf(h1)}/${repository}:1`;
      await buildTestImage(ref1, crypto.randomBytes(16).toString("hex"), configDir);
      pushedDigest = printedDigest(
        await mustRunDocker(["push", ref1], { configDir, timeoutMs: 180_000 }),
      );
      await removeImage(ref1);
      expect(await pullDigestThrough(h2)).toBe(pushedDigest);
      const keys = await store.listObjects(
        `${name}/docker/registry/v2/repositories/${repository}/`,
      );
      expect(keys).toContain(
        `${name}/docker/registry/v2/repositories/${repository}/_manifests/revisions/sha256/${pushedDigest.slice(7)}/link`,
      );
    });

    it("a chunked upload started on one replica and continued on the other completes", async () => {
      const parts = [
        crypto.randomBytes(700_000),
        crypto.randomBytes(900_000),
        crypto.randomBytes(300_000),
      ];
      const content = Buffer.concat(parts);
      const digest = `sha256:${crypto.createHash("sha256").update(content).digest("hex")}`;
      const start = await request(h1, `/v2/${repository}/blobs/uploads/`, { method: "POST" });
      expect(start.status).toBe(202);
      let location = String(start.headers.location);
      // Each step on the other node than the last: h2, h1, h2, then the final PUT on h1.
      let offset = 0;
      const order = [h2, h1, h2];
      for (const [i, part] of parts.entries()) {
        const url = new URL(location, `https://${h1.address}:${PORT}`);
        const res = await request(order[i], url.pathname + url.search, {
          method: "PATCH",
          body: part,
          headers: {
            "Content-Type": "application/octet-stream",
            "Content-Length": String(part.length),
            "Content-Range": `${offset}-${offset + part.length - 1}`,
          },
        });
        expect([res.status, res.body]).toEqual([202, ""]);
        offset += part.length;
        expect(res.headers.range).toBe(`0-${offset - 1}`);
        location = String(res.headers.location);
      }
      const url = new URL(location, `https://${h1.address}:${PORT}`);
      url.searchParams.set("digest", digest);
      const done = await request(h1, url.pathname + url.search, {
        method: "PUT",
        headers: { "Content-Length": "0" },
      });
      expect(done.status).toBe(201);
      expect(done.headers["docker-content-digest"]).toBe(digest);
      chunkedBlob = { digest, content };
      await expectBlobServed(h2, chunkedBlob);
    });

    /** The blob is served by `node` (through its redirect to the store), byte for byte. */
    async function expectBlobServed(node: TestHost, blob: { digest: string; content: Buffer }) {
      const res = await request(node, `/v2/${repository}/blobs/${blob.digest}`);
      // Redirected to a presigned URL of the store (storage.s3.redirect defaults to true).
      expect(res.status).toBe(307);
      const fetched = await fetch(String(res.headers.location), {
        signal: AbortSignal.timeout(30_000),
      });
      expect(fetched.status).toBe(200);
      const body = Buffer.from(await fetched.arrayBuffer());
      expect(body.length).toBe(blob.content.length);
      expect(crypto.createHash("sha256").update(body).digest("hex")).toBe(blob.digest.slice(7));
    }

    it("a certificate renewal rolls the replicas one at a time; both never down; new certificate everywhere; images kept", async () => {
      const renewed = await declareService(name, args, {
        priorState: withoutServerCert(first.all, name),
      });
      expect(renewed.certPem).not.toBe(first.certPem);
      expect(renewed.caCertPem).toBe(first.caCertPem);

      const rounds: ProbeRound[] = [];
      let probing = true;
      const prober = (async () => {
        // Bounded: stops when asked, or after 10 minutes whatever happens.
        const deadline = Date.now() + 600_000;
        while (probing && Date.now() < deadline) {
          const at = Date.now();
          const results = await Promise.all(
            [h1, h2].map((node) =>
              request(node, `/v2/${repository}/manifests/1`, {
                method: "HEAD",
                timeoutMs: 3_000,
                headers: { Accept: "application/vnd.docker.distribution.manifest.v2+json" },
              })
                .then((r) => r.status === 200)
                .catch(() => false),
            ),
          );
          rounds.push({ at, up: { h1: results[0], h2: results[1] } });
          await sleep(200);
        }
      })();

      const t0 = Date.now();
      let report;
      try {
        // Let the prober see the steady state first.
        await sleep(1_000);
        report = await deployment.apply(renewed.declared);
        await sleep(1_000);
      } finally {
        probing = false;
        await prober;
      }
      const rollMs = Date.now() - t0;

      // Only the certificate changed: one new config, the old one deleted after the roll.
      expect(report.serviceUpdated).toBe(true);
      expect(report.created).toHaveLength(1);
      expect(report.created[0]).toMatch(new RegExp(`^${name}-certificate-[0-9a-f]{12}$`));
      expect(report.deleted).toHaveLength(1);
      expect(report.deleted[0]).toMatch(new RegExp(`^${name}-certificate-`));

      const bothDown = rounds.filter((r) => !r.up.h1 && !r.up.h2);
      expect(rounds.length).toBeGreaterThan(10);
      expect(bothDown).toEqual([]);
      const downRounds = {
        h1: rounds.filter((r) => !r.up.h1).length,
        h2: rounds.filter((r) => !r.up.h2).length,
      };
      reportFigure("swarm registry: certificate roll of 2 replicas, ms", rollMs);
      reportFigure("swarm registry: probe rounds during the roll (total, down per node)", {
        total: rounds.length,
        ...downRounds,
      });

      // One at a time, as Swarm recorded it: the second new replica was created only after the
      // first new one was running (its last state change).
      const tasks = (await swarm.manager.dockerode().listTasks({
        filters: JSON.stringify({
          service: [deployment.serviceName],
          "desired-state": ["running"],
        }),
      })) as { CreatedAt: string; NodeID: string; Status: { State: string; Timestamp: string } }[];
      const fresh = tasks
        .filter((t) => Date.parse(t.CreatedAt) >= t0)
        .sort((a, b) => Date.parse(a.CreatedAt) - Date.parse(b.CreatedAt));
      expect(fresh.map((t) => t.Status.State)).toEqual(["running", "running"]);
      expect(new Set(fresh.map((t) => t.NodeID)).size).toBe(2);
      expect(Date.parse(fresh[0].Status.Timestamp)).toBeLessThanOrEqual(
        Date.parse(fresh[1].CreatedAt),
      );

      const expected = new crypto.X509Certificate(renewed.certPem).fingerprint256;
      for (const node of [h1, h2]) {
        expect(await servedCertFingerprint(node.address, PORT)).toBe(expected);
      }
      expect(await pullDigestThrough(h1)).toBe(pushedDigest);
      expect(await pullDigestThrough(h2)).toBe(pushedDigest);
      first = renewed;
    });

    it("a second run with the same program changes nothing on the swarm", async () => {
      const again = await declareService(name, args, { priorState: first.all });
      const report = await deployment.apply(again.declared);
      expect(report).toEqual({ created: [], deleted: [], serviceUpdated: false });
    });

    it("one node's engine stopped: pulls through the other keep working, data intact; the replica comes back", async () => {
      await h2.stopEngine();
      try {
        expect((await h2.docker(["info"], { timeoutMs: 15_000 })).code).not.toBe(0);
        expect(await pullDigestThrough(h1)).toBe(pushedDigest);
        await expectBlobServed(h1, chunkedBlob);
      } finally {
        const t0 = Date.now();
        await h2.startEngine();
        await waitForServiceTasks(swarm.manager, deployment.serviceName, 2, 120_000);
        reportFigure("swarm registry: engine restart to 2 running replicas, ms", Date.now() - t0);
      }
      // Back in service: a replica on h2 answers again (bounded wait while it turns healthy).
      const deadline = Date.now() + 60_000;
      let status = 0;
      while (Date.now() < deadline) {
        status = await request(h2, "/v2/")
          .then((r) => r.status)
          .catch(() => 0);
        if (status === 200) break;
        await sleep(500);
      }
      expect(status).toBe(200);
    });

    it("SecureRegistry with storage.s3: push, replace the container, pull the same digest", async () => {
      const address = machineAddress();
      const root = uniqueName("single");
      const reg = await deployRegistry(
        {
          hostname: address,
          users: [{ username: "ci" }],
          tls: { keyAlgorithm: "ECDSA" },
          storage: {
            s3: {
              bucket: store.bucket,
              region: store.region,
              // docker0's gateway: what a container on the local engine's default bridge reaches.
              regionEndpoint: store.endpoints.find((e) => e.includes(`//${gateway}:`)),
              accessKey: store.accessKey,
              secretKey: store.secretKey,
              rootDirectory: `/${root}`,
            },
          },
        },
        { label: "s3" },
      );
      expect(reg.volumeName).toBeUndefined();
      expect(reg.declared.filter((r) => r.type === "docker:index/volume:Volume")).toEqual([]);
      installCaCert(reg.endpoint, reg.caCertPem);
      const user = reg.credentials[0];
      await mustRunDocker(
        ["login", reg.endpoint, "--username", user.username, "--password-stdin"],
        {
          configDir,
          input: user.password,
          timeoutMs: 60_000,
        },
      );
      const ref = `${reg.endpoint}/srtest/single-${process.pid}:1`;
      await buildTestImage(ref, crypto.randomBytes(16).toString("hex"), configDir);
      const digest = printedDigest(
        await mustRunDocker(["push", ref], { configDir, timeoutMs: 180_000 }),
      );
      await removeImage(ref);

      const before = reg.containerId;
      await reg.recreate();
      expect(reg.containerId).not.toBe(before);
      const pulled = await mustRunDocker(["pull", ref], { configDir, timeoutMs: 180_000 });
      await removeImage(ref);
      expect(printedDigest(pulled)).toBe(digest);
      expect(
        await store.listObjects(
          `${root}/docker/registry/v2/repositories/srtest/single-${process.pid}/`,
        ),
      ).toContain(
        `${root}/docker/registry/v2/repositories/srtest/single-${process.pid}/_manifests/revisions/sha256/${digest.slice(7)}/link`,
      );
      expect(await reg.logs(200)).not.toMatch(/panic/);
    });
  },
);
