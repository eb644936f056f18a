/**
 * Load: 16 parallel pulls and 4 parallel pushes of distinct images, all at once, against one
 * declared registry over verified TLS with htpasswd auth. Every operation must succeed and the
 * registry must stay healthy without a restart. Timings are reported, never asserted.
 *
 * Pulls use skopeo (one independent client each, 16 real downloads; the Docker daemon would merge
 * concurrent pulls of one reference into a single download). Pushes use the Docker daemon.
 */
import { execFile } from "child_process";
import * as crypto from "crypto";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { describeWithEngine } from "../support/engine";
import {
  buildTestImage,
  cleanupAll,
  deployRegistry,
  engine,
  installCaCert,
  machineAddress,
  makeDockerConfigDir,
  mustRunDocker,
  RegistryDeployment,
  registerCleanup,
  removeImage,
  runDocker,
  RUN_PREFIX,
} from "../support/harness";
import { registryRequest, reportFigure } from "../support/probes";

jest.setTimeout(480_000);

const PULLS = 16;
const PUSHES = 4;

interface Timed {
  ok: boolean;
  ms: number;
  detail: string;
}

function skopeoPull(args: string[]): Promise<Timed> {
  const started = Date.now();
  return new Promise((resolve) => {
    execFile("skopeo", args, { timeout: 240_000 }, (error, _stdout, stderr) => {
      resolve({ ok: !error, ms: Date.now() - started, detail: String(stderr).trim() });
    });
  });
}

function stats(values: number[]): { min: number; median: number; max: number } {
  const sorted = [...values].sort((a, b) => a - b);
  return { min: sorted[0], median: sorted[Math.floor(sorted.length / 2)], max: sorted.at(-1)! };
}

describeWithEngine("SecureRegistry under load: 16 parallel pulls + 4 parallel pushes", () => {
  const address = machineAddress();
  let reg: RegistryDeployment;
  let endpoint: string;
  let configDir: string;
  let certDir: string;
  let workDir: string;
  const repo = (name: string) => `${endpoint}/srtest/${name}-${process.pid}`;

  beforeAll(async () => {
    reg = await deployRegistry(
      { ipAddresses: [address], users: [{ username: "load" }] },
      { label: "load" },
    );
    endpoint = `${address}:${reg.hostPort}`;
    configDir = makeDockerConfigDir().dir;
    certDir = path.dirname(installCaCert(endpoint, reg.caCertPem).path);
    workDir = fs.mkdtempSync(path.join(os.tmpdir(), `${RUN_PREFIX}-load-`));
    registerCleanup(async () => fs.rmSync(workDir, { recursive: true, force: true }));
    const user = reg.credentials[0];
    const login = await runDocker(
      ["login", endpoint, "--username", user.username, "--password-stdin"],
      { configDir, input: user.password },
    );
    expect(login.code).toBe(0);
  });

  afterAll(cleanupAll);

  it("serves every pull and accepts every push, and stays healthy", async () => {
    const source = `${repo("load-src")}:1`;
    const pushTags = Array.from({ length: PUSHES }, (_, i) => `${repo(`load-push-${i}`)}:1`);
    await buildTestImage(source, `load source ${RUN_PREFIX}`, configDir);
    for (const [i, tag] of pushTags.entries()) {
      await buildTestImage(tag, `load push ${i} ${RUN_PREFIX}`, configDir);
    }
    const sourcePush = await mustRunDocker(["push", source], { configDir });
    const sourceDigest = /digest: (sha256:[0-9a-f]{64})/.exec(sourcePush)?.[1];
    expect(sourceDigest).toBeDefined();

    const started = Date.now();
    const pulls = Array.from({ length: PULLS }, (_, i) =>
      skopeoPull([
        "copy",
        "--quiet",
        "--src-authfile",
        path.join(configDir, "config.json"),
        "--src-cert-dir",
        certDir,
        `docker://${source}`,
        `dir:${path.join(workDir, `pull-${i}`)}`,
      ]),
    );
    const pushes = pushTags.map(async (tag): Promise<Timed & { digest?: string }> => {
      const t0 = Date.now();
      const r = await runDocker(["push", tag], { configDir, timeoutMs: 240_000 });
      return {
        ok: r.code === 0,
        ms: Date.now() - t0,
        detail: r.stderr.trim(),
        digest: /digest: (sha256:[0-9a-f]{64})/.exec(r.stdout)?.[1],
      };
    });
    const [pullResults, pushResults] = await Promise.all([Promise.all(pulls), Promise.all(pushes)]);
    const wallMs = Date.now() - started;

    expect(pullResults.filter((r) => !r.ok).map((r) => r.detail)).toEqual([]);
    expect(pushResults.filter((r) => !r.ok).map((r) => r.detail)).toEqual([]);

    // Each pull fetched the pushed manifest (its digest is the sha256 of the manifest bytes).
    for (let i = 0; i < PULLS; i++) {
      const manifest = fs.readFileSync(path.join(workDir, `pull-${i}`, "manifest.json"));
      expect(`sha256:${crypto.createHash("sha256").update(manifest).digest("hex")}`).toBe(
        sourceDigest,
      );
    }
    // Each push is served back under its tag with the digest the push reported.
    for (const [i, tag] of pushTags.entries()) {
      const name = tag.slice(endpoint.length + 1, tag.lastIndexOf(":"));
      const res = await registryRequest({
        address,
        port: reg.hostPort,
        servername: address,
        ca: reg.caCertPem,
        path: `/v2/${name}/manifests/1`,
        method: "HEAD",
        auth: reg.credentials[0],
        headers: { Accept: "application/vnd.docker.distribution.manifest.v2+json" },
      });
      expect(res.status).toBe(200);
      expect(res.headers["docker-content-digest"]).toBe(pushResults[i].digest);
    }

    const info = await engine().getContainer(reg.containerId).inspect();
    expect(info.State.Health?.Status).toBe("healthy");
    expect(info.RestartCount).toBe(0);

    reportFigure("load", {
      pulls: PULLS,
      pushes: PUSHES,
      wallMs,
      pullMs: stats(pullResults.map((r) => r.ms)),
      pushMs: stats(pushResults.map((r) => r.ms)),
    });

    for (const tag of [source, ...pushTags]) await removeImage(tag);
  });
});
