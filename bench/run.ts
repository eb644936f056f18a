/**
 * `npm run bench [-- name ...]`: runs every `bench/*.bench.ts` (or those named, e.g. `registry`),
 * one after another, each in its own process (so one bench's engine state and memory never skew
 * another's), and exits non-zero when any bench failed or missed its goal. Add a bench by adding a
 * `<name>.bench.ts` file here.
 */
import { spawnSync } from "child_process";
import * as fs from "fs";
import * as path from "path";

const benchDir = __dirname;
const available = fs
  .readdirSync(benchDir)
  .filter((f) => f.endsWith(".bench.ts"))
  .map((f) => f.slice(0, -".bench.ts".length))
  .sort();
const wanted = process.argv.slice(2);
const unknown = wanted.filter((name) => !available.includes(name));
if (unknown.length > 0) {
  console.error(`unknown bench ${unknown.join(", ")}; available: ${available.join(", ")}`);
  process.exit(2);
}
const selected = wanted.length > 0 ? wanted : available;
const failed: string[] = [];
for (const name of selected) {
  console.log(`\n=== bench ${name}`);
  const result = spawnSync(
    process.execPath,
    [
      require.resolve("ts-node/dist/bin.js"),
      "--transpile-only",
      path.join(benchDir, `${name}.bench.ts`),
    ],
    { stdio: "inherit" },
  );
  if (result.status !== 0) failed.push(name);
}
console.log(
  failed.length === 0
    ? `\nall benches met their goals: ${selected.join(", ")}`
    : `\nbenches that failed or missed a goal: ${failed.join(", ")}`,
);
process.exitCode = failed.length === 0 ? 0 : 1;
