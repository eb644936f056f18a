/**
 * Registry-to-registry flatten (issue 13) against the pipelines users run today, side by side on
 * one ~600 MB, 8-layer image in a local SecureRegistry (TLS + htpasswd, run by the test harness):
 *
 *  (a) seed pipeline: docker pull, docker create, docker export | docker import, docker tag,
 *      docker push;
 *  (b) today's engine FlattenedImage: docker pull, then its provider's create with push: true;
 *  (c) RegistryFlattenedImage's provider, serialized as Pulumi stores it and run in a child
 *      `node` process, whose RSS growth over its start is the flattening's memory.
 *
 * ROUNDS rounds rotate the order (a b c, b c a, c a b); medians are reported. Before every pull
 * the daemon holds none of the source's layers (the source image is built, pushed, then removed
 * locally), so each pull downloads and extracts. Afterwards: the file trees of (c) and (a) pulled
 * back (listings with types, modes, owners, sizes, link targets), the digests of every (c) run,
 * and what a header-only pass over all layers costs (the first pass of a two-pass merge design,
 * which the newest-first single pass avoids). Load averages are printed: other engineers share
 * the machine.
 *
 * Goals (issue 13): median (c) <= half of (a); RSS growth < 64 MB; equal trees; one digest.
 */
import { execFileSync, spawnSync } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import * as pulumi from "@pulumi/pulumi";
import * as tar from "tar-stream";
import { TEST_IMAGES } from "../test/support/engine";
import {
  cleanupAll,
  deployRegistry,
  installCaCert,
  machineAddress,
  makeDockerConfigDir,
} from "../test/support/harness";

const LAYER_MB = Number(process.env.BENCH_LAYER_MB ?? 100);
const DATA_LAYERS = 6; // + busybox + mkdir = 8 layers
const ROUNDS = Math.max(3, Number(process.env.BENCH_ROUNDS ?? 3));
const SOURCE_TAG = "secure-registry-bench/registry-flatten-source:8-layers";
const SPEED_GOAL = 2;
const MEMORY_GOAL_MB = 64;

let configDir = "";

function docker(args: string[], input?: string): string {
  return execFileSync("docker", args, {
    input,
    encoding: "utf8",
    env: { ...process.env, DOCKER_BUILDKIT: "0", DOCKER_CONFIG: configDir },
    maxBuffer: 64 * 1024 * 1024,
    stdio: ["pipe", "pipe", "pipe"],
  }).trim();
}

function removeImages(...refs: string[]): void {
  for (const ref of refs) {
    spawnSync("docker", ["image", "rm", "-f", ref], {
      stdio: "ignore",
      env: { ...process.env, DOCKER_CONFIG: configDir },
    });
  }
}

function seconds(start: bigint): number {
  return Number(process.hrtime.bigint() - start) / 1e9;
}

const median = (values: number[]) => {
  const sorted = [...values].sort((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[middle] : (sorted[middle - 1] + sorted[middle]) / 2;
};

const load = () =>
  os
    .loadavg()
    .map((value) => value.toFixed(2))
    .join(" ");

/** 8 layers: busybox, mkdir, 6 x LAYER_MB of random data; the last also deletes part0 (a whiteout). */
function buildSource(): void {
  const runs = Array.from(
    { length: DATA_LAYERS },
    (_, index) =>
      `RUN ${index === DATA_LAYERS - 1 ? "rm /data/part0 && " : ""}dd if=/dev/urandom of=/data/part${index} bs=1M count=${LAYER_MB} 2>/dev/null`,
  );
  const dockerfile = [
    `FROM ${TEST_IMAGES.busybox}`,
    "RUN mkdir -p /data && ln -s /data /srv-data",
    ...runs,
    'ENV BENCH="registry flatten"',
    "WORKDIR /data",
    'CMD ["ls", "-l", "/data"]',
    "",
  ].join("\n");
  docker(["build", "-q", "-t", SOURCE_TAG, "-"], dockerfile);
}

interface Listing {
  rows: string[];
}

/** Listing of an image's file tree through `docker create` + `docker export`. */
async function listImage(image: string): Promise<Listing> {
  const id = docker(["create", image, "true"]);
  try {
    const child = require("child_process").spawn("docker", ["export", id], {
      stdio: ["ignore", "pipe", "inherit"],
    });
    const extract = tar.extract();
    child.stdout.pipe(extract);
    const rows: string[] = [];
    for await (const entry of extract) {
      const h = entry.header;
      rows.push(
        `${h.name} ${h.type} ${(h.mode & 0o7777).toString(8)} ${h.uid}:${h.gid} ${h.size} ${h.linkname ?? ""}`,
      );
      entry.resume();
    }
    return { rows: rows.sort() };
  } finally {
    docker(["rm", "-f", "-v", id]);
  }
}

const CHILD = `
const provider = require(process.env.BENCH_PROVIDER).handler();
const inputs = JSON.parse(process.env.BENCH_INPUTS);
if (global.gc) global.gc();
const baseline = process.memoryUsage().rss;
const start = process.hrtime.bigint();
provider.create(inputs).then((result) => {
  const seconds = Number(process.hrtime.bigint() - start) / 1e9;
  const maxRss = process.resourceUsage().maxRSS * 1024;
  process.stdout.write(JSON.stringify({
    seconds,
    baselineMb: baseline / 1048576,
    maxRssMb: maxRss / 1048576,
    growthMb: (maxRss - baseline) / 1048576,
    digest: result.outs.digest,
    repoDigest: result.outs.repoDigest,
    size: result.outs.size,
  }));
}, (error) => { console.error(error.message); process.exit(1); });
`;

interface Ours {
  seconds: number;
  baselineMb: number;
  maxRssMb: number;
  growthMb: number;
  digest: string;
  repoDigest: string;
  size: number;
}

async function main(): Promise<void> {
  console.log(`load average at start: ${load()}`);
  const address = machineAddress();
  const registry = await deployRegistry(
    { ipAddresses: [address], users: [{ username: "bench" }] },
    { label: "bench-registry" },
  );
  const endpoint = `${address}:${registry.hostPort}`;
  const { username, password } = registry.credentials[0];
  installCaCert(endpoint, registry.caCertPem);
  configDir = makeDockerConfigDir().dir;
  docker(["login", endpoint, "--username", username, "--password-stdin"], password);

  const sourceRef = `${endpoint}/bench/source:1`;
  const workdir = fs.mkdtempSync(path.join(os.tmpdir(), "registry-flatten-bench-"));
  const created: string[] = [sourceRef];
  try {
    console.log(
      `building the source (${DATA_LAYERS} x ${LAYER_MB} MB of random data, 8 layers)...`,
    );
    buildSource();
    const sizeMb = Number(docker(["image", "inspect", "-f", "{{.Size}}", SOURCE_TAG])) / 1e6;
    const layers = docker(["image", "inspect", "-f", "{{len .RootFS.Layers}}", SOURCE_TAG]);
    docker(["tag", SOURCE_TAG, sourceRef]);
    docker(["push", sourceRef]);
    // No local copy of the source's layers: every pull below downloads and extracts them.
    removeImages(sourceRef, SOURCE_TAG);
    console.log(`source ${sourceRef}: ${sizeMb.toFixed(0)} MB, ${layers} layers`);

    const { registryFlattenProvider } = await import("../src/images/oci/provider");
    const { flattenProvider } = await import("../src/images/engine");
    const serialized = await pulumi.runtime.serializeFunction(() => registryFlattenProvider, {
      allowSecrets: false,
    });
    const providerFile = path.join(workdir, "provider.js");
    fs.writeFileSync(providerFile, serialized.text);
    const login = { username, password, caCertPem: registry.caCertPem };

    const runSeed = (round: number) => {
      const target = `${endpoint}/bench/seed:${round}`;
      const local = `secure-registry-bench/seed-import:${process.pid}-${round}`;
      created.push(target, local);
      const start = process.hrtime.bigint();
      docker(["pull", "-q", sourceRef]);
      const pulled = seconds(start);
      const id = docker(["create", sourceRef, "true"]);
      try {
        const piped = spawnSync(
          "sh",
          ["-c", 'docker export "$1" | docker import - "$2" >/dev/null', "sh", id, local],
          { env: { ...process.env, DOCKER_CONFIG: configDir }, encoding: "utf8" },
        );
        if (piped.status !== 0) throw new Error(`export | import failed: ${piped.stderr}`);
      } finally {
        docker(["rm", "-f", "-v", id]);
      }
      docker(["tag", local, target]);
      docker(["push", "-q", target]);
      const total = seconds(start);
      removeImages(target, local, sourceRef);
      return { seconds: total, pullSeconds: pulled };
    };

    const runEngine = async (round: number) => {
      const target = `${endpoint}/bench/engine:${round}`;
      created.push(target);
      const start = process.hrtime.bigint();
      docker(["pull", "-q", sourceRef]);
      const pulled = seconds(start);
      const { id, outs } = await flattenProvider.create({
        source: sourceRef,
        imageName: target,
        push: true,
        keepImage: false,
        registry: { server: endpoint, username, password },
      });
      const total = seconds(start);
      await flattenProvider.delete(id, outs);
      removeImages(target, sourceRef);
      return { seconds: total, pullSeconds: pulled };
    };

    const runOurs = (): Ours => {
      const inputs = {
        source: sourceRef,
        sourceRegistry: login,
        imageName: `${endpoint}/bench/ours:1`,
        registry: login,
        keepAttestations: false,
        compressionLevel: 6,
      };
      const result = spawnSync(process.execPath, ["--expose-gc", "-e", CHILD], {
        env: {
          ...process.env,
          BENCH_PROVIDER: providerFile,
          BENCH_INPUTS: JSON.stringify(inputs),
          NODE_PATH: path.join(__dirname, "..", "node_modules"),
        },
        encoding: "utf8",
        maxBuffer: 16 * 1024 * 1024,
      });
      if (result.status !== 0) throw new Error(`flatten child failed: ${result.stderr}`);
      return JSON.parse(result.stdout) as Ours;
    };

    const seed: { seconds: number; pullSeconds: number }[] = [];
    const engine: { seconds: number; pullSeconds: number }[] = [];
    const ours: Ours[] = [];
    const orders = [
      ["a", "b", "c"],
      ["b", "c", "a"],
      ["c", "a", "b"],
    ];
    for (let round = 0; round < ROUNDS; round++) {
      const order = orders[round % orders.length];
      for (const side of order) {
        if (side === "a") seed.push(runSeed(round));
        else if (side === "b") engine.push(await runEngine(round));
        else ours.push(runOurs());
      }
      const last = <T>(list: T[]) => list[list.length - 1];
      console.log(
        `round ${round + 1} (${order.join(" ")}): (a) ${last(seed).seconds.toFixed(1)} s [pull ${last(seed).pullSeconds.toFixed(1)}], ` +
          `(b) ${last(engine).seconds.toFixed(1)} s [pull ${last(engine).pullSeconds.toFixed(1)}], ` +
          `(c) ${last(ours).seconds.toFixed(1)} s, RSS ${last(ours).baselineMb.toFixed(0)} -> ${last(ours).maxRssMb.toFixed(0)} MB; load ${load()}`,
      );
    }

    // File trees of (a) and (c), pulled back.
    const seedRef = `${endpoint}/bench/seed:${ROUNDS - 1}`;
    const oursRef = ours[ours.length - 1].repoDigest;
    docker(["pull", "-q", seedRef]);
    docker(["pull", "-q", oursRef]);
    created.push(seedRef, oursRef);
    const [seedTree, ourTree] = [await listImage(seedRef), await listImage(oursRef)];
    const sameTree = JSON.stringify(seedTree.rows) === JSON.stringify(ourTree.rows);
    if (!sameTree) {
      const a = new Set(seedTree.rows);
      const c = new Set(ourTree.rows);
      console.log("only in (a):", seedTree.rows.filter((row) => !c.has(row)).slice(0, 10));
      console.log("only in (c):", ourTree.rows.filter((row) => !a.has(row)).slice(0, 10));
    }
    removeImages(seedRef, oursRef);

    // What the first pass of a two-pass design would add: every layer decompressed for headers.
    const headerPass = await (async () => {
      const { createRegistryClient } = await import("../src/images/oci/client");
      const { decompressedLayer } = await import("../src/images/oci/compression");
      const client = createRegistryClient({ server: endpoint, ...login });
      const start = process.hrtime.bigint();
      try {
        const manifest = await client.getManifest("bench/source", "1");
        for (const layer of manifest.json.layers as { digest: string }[]) {
          const extract = tar.extract();
          (
            await decompressedLayer(
              await client.getBlob("bench/source", layer.digest),
              layer.digest,
              "layer",
            )
          ).pipe(extract as unknown as NodeJS.WritableStream);
          for await (const entry of extract) entry.resume();
        }
      } finally {
        await client.close();
      }
      return seconds(start);
    })();

    const a = median(seed.map((s) => s.seconds));
    const b = median(engine.map((s) => s.seconds));
    const c = median(ours.map((s) => s.seconds));
    const growth = Math.max(...ours.map((s) => s.growthMb));
    const digests = [...new Set(ours.map((s) => s.digest))];
    console.log("");
    console.log(
      `median wall time: (a) seed pipeline ${a.toFixed(1)} s, (b) engine FlattenedImage ${b.toFixed(1)} s, (c) registry flatten ${c.toFixed(1)} s`,
    );
    console.log(
      `median pull inside (a) ${median(seed.map((s) => s.pullSeconds)).toFixed(1)} s, inside (b) ${median(engine.map((s) => s.pullSeconds)).toFixed(1)} s`,
    );
    console.log(
      `speed-up (a)/(c): ${(a / c).toFixed(2)}x (goal >= ${SPEED_GOAL}x); (b)/(c): ${(b / c).toFixed(2)}x; ratio (c)/(a): ${(c / a).toFixed(3)}`,
    );
    console.log(
      `flattening process RSS growth (peak): ${growth.toFixed(1)} MB (goal < ${MEMORY_GOAL_MB} MB); peak RSS ${Math.max(...ours.map((s) => s.maxRssMb)).toFixed(1)} MB`,
    );
    console.log(`file tree of (c) equals (a): ${sameTree} (${ourTree.rows.length} entries)`);
    console.log(
      `digests of ${ours.length} runs of (c): ${digests.join(", ")} (${digests.length === 1 ? "same every run" : "DIFFERENT"})`,
    );
    console.log(`flattened layer ${(ours[0].size / 1e6).toFixed(0)} MB compressed`);
    console.log(
      `header-only pass over all layers (the extra pass of a two-pass merge): ${headerPass.toFixed(1)} s`,
    );
    console.log(`load average at end: ${load()}`);
    const met = a / c >= SPEED_GOAL && growth < MEMORY_GOAL_MB && sameTree && digests.length === 1;
    console.log(met ? "goals met" : "GOALS NOT MET");
    process.exitCode = met ? 0 : 1;
  } finally {
    removeImages(...created);
    fs.rmSync(workdir, { recursive: true, force: true });
    await cleanupAll();
  }
}

main().catch(async (error: unknown) => {
  console.error(error instanceof Error ? error.message : error);
  await cleanupAll().catch(() => undefined);
  process.exitCode = 1;
});
