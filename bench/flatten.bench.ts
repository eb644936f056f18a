/**
 * `npm run bench`: FlattenedImage's flattening against the notes' CLI pipeline
 * (`docker export $(docker create src) | docker import - tag`) on the same >= 500 MB image.
 *
 *  - The source image (FROM the busybox test image, 6 RUN layers of 100 MB from /dev/urandom) is
 *    built once and kept under SOURCE_TAG; it is rebuilt only if missing or its recipe changed.
 *  - Ours runs the FlattenedImage provider's `create` exactly as Pulumi runs it: the provider is
 *    serialized with Pulumi's closure serializer and evaluated in a child `node` process (no
 *    ts-node), so the child's peak RSS (`process.resourceUsage().maxRSS`) is the flattening
 *    process's own.
 *  - ROUNDS rounds, alternating which side goes first; medians are reported. Every image a round
 *    creates is removed (the cached source is kept).
 *
 * Goal (issue 5): median time ratio ours/CLI <= 1.05 and peak RSS < 150 MB.
 */
import { execFileSync, spawnSync } from "child_process";
import * as crypto from "crypto";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import * as pulumi from "@pulumi/pulumi";
import { flattenProvider } from "../src/images/engine";
import { TEST_IMAGES } from "../test/support/engine";

const SOURCE_REPO = "secure-registry-bench/flatten-source";
const LAYERS = Number(process.env.BENCH_LAYERS ?? 6);
const LAYER_MB = Number(process.env.BENCH_LAYER_MB ?? 100);
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 3);
const RECIPE_LABEL = "org.secure-registry.bench-recipe";
const TIME_GOAL = 1.05;
const MEMORY_GOAL_MB = 150;

function docker(args: string[], input?: string): string {
  return execFileSync("docker", args, {
    input,
    encoding: "utf8",
    env: { ...process.env, DOCKER_BUILDKIT: "0" },
    maxBuffer: 64 * 1024 * 1024,
    stdio: ["pipe", "pipe", "pipe"],
  }).trim();
}

function imageExists(ref: string): boolean {
  return spawnSync("docker", ["image", "inspect", ref], { stdio: "ignore" }).status === 0;
}

function removeImage(ref: string): void {
  spawnSync("docker", ["image", "rm", "-f", ref], { stdio: "ignore" });
}

function sourceDockerfile(): string {
  const runs = Array.from(
    { length: LAYERS },
    (_, index) =>
      `RUN dd if=/dev/urandom of=/data/part${index} bs=1M count=${LAYER_MB} 2>/dev/null`,
  );
  return [
    `FROM ${TEST_IMAGES.busybox}`,
    "RUN mkdir -p /data",
    ...runs,
    'ENV BENCH="flatten source"',
    "WORKDIR /data",
    'CMD ["ls", "-l", "/data"]',
    "",
  ].join("\n");
}

/** Builds the source image unless an image with the same recipe is cached. */
function ensureSource(): string {
  const recipe = crypto.createHash("sha256").update(sourceDockerfile()).digest("hex").slice(0, 16);
  const tag = `${SOURCE_REPO}:${LAYERS}x${LAYER_MB}mb`;
  if (imageExists(tag)) {
    const label = docker([
      "image",
      "inspect",
      "-f",
      `{{index .Config.Labels "${RECIPE_LABEL}"}}`,
      tag,
    ]);
    if (label === recipe) return tag;
  }
  if (!imageExists(TEST_IMAGES.busybox)) {
    throw new Error(`${TEST_IMAGES.busybox} is missing: run \`npm run setup:docker\` first.`);
  }
  console.log(`building ${tag} (${LAYERS} x ${LAYER_MB} MB layers; cached for later runs)...`);
  const dockerfile = sourceDockerfile().replace(/\n$/, `\nLABEL ${RECIPE_LABEL}=${recipe}\n`);
  docker(["build", "-q", "-t", tag, "-"], dockerfile);
  return tag;
}

interface Sample {
  seconds: number;
  maxRssMb?: number;
  childSeconds?: number;
}

/** The notes' pipeline, with the temporary container removed as ours does. */
function runCli(source: string, tag: string): Sample {
  const script = `set -e; cid=$(docker create "$1" true); trap 'docker rm -f -v "$cid" >/dev/null' EXIT; docker export "$cid" | docker import - "$2" >/dev/null`;
  const start = process.hrtime.bigint();
  const result = spawnSync("sh", ["-c", script, "sh", source, tag], {
    stdio: ["ignore", "ignore", "pipe"],
  });
  const seconds = Number(process.hrtime.bigint() - start) / 1e9;
  if (result.status !== 0) throw new Error(`CLI pipeline failed: ${result.stderr}`);
  return { seconds };
}

const CHILD = `
const provider = require(process.env.BENCH_PROVIDER).handler();
const inputs = JSON.parse(process.env.BENCH_INPUTS);
const start = process.hrtime.bigint();
provider.create(inputs).then((result) => {
  const seconds = Number(process.hrtime.bigint() - start) / 1e9;
  const maxRssMb = process.resourceUsage().maxRSS / 1024;
  process.stdout.write(JSON.stringify({ seconds, maxRssMb, layerCount: result.outs.layerCount }));
}, (error) => { console.error(error.message); process.exit(1); });
`;

function runOurs(providerFile: string, source: string, tag: string): Sample {
  const inputs = { source, imageName: tag, push: false, keepImage: false };
  const start = process.hrtime.bigint();
  const result = spawnSync(process.execPath, ["-e", CHILD], {
    env: {
      ...process.env,
      BENCH_PROVIDER: providerFile,
      BENCH_INPUTS: JSON.stringify(inputs),
      NODE_PATH: path.join(__dirname, "..", "node_modules"),
    },
    encoding: "utf8",
  });
  const childSeconds = Number(process.hrtime.bigint() - start) / 1e9;
  if (result.status !== 0) throw new Error(`flatten child failed: ${result.stderr}`);
  const report = JSON.parse(result.stdout) as {
    seconds: number;
    maxRssMb: number;
    layerCount: number;
  };
  if (report.layerCount !== 1) throw new Error(`flattened image has ${report.layerCount} layers`);
  return { seconds: report.seconds, maxRssMb: report.maxRssMb, childSeconds };
}

const median = (values: number[]) => {
  const sorted = [...values].sort((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[middle] : (sorted[middle - 1] + sorted[middle]) / 2;
};

async function main(): Promise<void> {
  const source = ensureSource();
  const sizeMb = Number(docker(["image", "inspect", "-f", "{{.Size}}", source])) / 1e6;
  const layers = docker(["image", "inspect", "-f", "{{len .RootFS.Layers}}", source]);
  console.log(`source ${source}: ${sizeMb.toFixed(0)} MB, ${layers} layers`);

  const workdir = fs.mkdtempSync(path.join(os.tmpdir(), "flatten-bench-"));
  const providerFile = path.join(workdir, "provider.js");
  const serialized = await pulumi.runtime.serializeFunction(() => flattenProvider, {
    allowSecrets: false,
  });
  fs.writeFileSync(providerFile, serialized.text);

  const cli: Sample[] = [];
  const ours: Sample[] = [];
  const created: string[] = [];
  try {
    for (let round = 0; round < ROUNDS; round++) {
      const cliTag = `secure-registry-bench/flat-cli:${process.pid}-${round}`;
      const ourTag = `secure-registry-bench/flat-ours:${process.pid}-${round}`;
      created.push(cliTag, ourTag);
      const order = round % 2 === 0 ? ["cli", "ours"] : ["ours", "cli"];
      for (const side of order) {
        if (side === "cli") cli.push(runCli(source, cliTag));
        else ours.push(runOurs(providerFile, source, ourTag));
      }
      const last = (samples: Sample[]) => samples[samples.length - 1];
      console.log(
        `round ${round + 1} (${order.join(" then ")}): cli ${last(cli).seconds.toFixed(2)} s, ours ${last(ours).seconds.toFixed(2)} s (child process ${last(ours).childSeconds?.toFixed(2)} s), peak RSS ${last(ours).maxRssMb?.toFixed(1)} MB`,
      );
      removeImage(cliTag);
      removeImage(ourTag);
    }
  } finally {
    for (const tag of created) removeImage(tag);
    fs.rmSync(workdir, { recursive: true, force: true });
  }

  const ratio =
    median(ours.map((sample) => sample.seconds)) / median(cli.map((sample) => sample.seconds));
  const ratioWithStartup =
    median(ours.map((sample) => sample.childSeconds ?? sample.seconds)) /
    median(cli.map((sample) => sample.seconds));
  const peak = Math.max(...ours.map((sample) => sample.maxRssMb ?? 0));
  console.log("");
  console.log(
    `median wall time: cli ${median(cli.map((s) => s.seconds)).toFixed(2)} s, ours ${median(ours.map((s) => s.seconds)).toFixed(2)} s`,
  );
  console.log(
    `time ratio ours/cli (median): ${ratio.toFixed(3)} (goal <= ${TIME_GOAL}); with node start-up: ${ratioWithStartup.toFixed(3)}`,
  );
  console.log(
    `peak RSS of the flattening process: ${peak.toFixed(1)} MB (goal < ${MEMORY_GOAL_MB} MB)`,
  );
  const met = ratio <= TIME_GOAL && peak < MEMORY_GOAL_MB;
  console.log(met ? "goals met" : "GOALS NOT MET");
  process.exitCode = met ? 0 : 1;
}

main().catch((error: unknown) => {
  console.error(error instanceof Error ? error.message : error);
  process.exitCode = 1;
});
