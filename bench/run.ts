/**
 * `npm run bench [-- <name>...]`: runs every `bench/*.bench.ts` (or the named ones, e.g.
 * `registry-flatten`) one after another, each in its own process so one's memory and engine state
 * do not weigh on the next. Exits non-zero when any bench fails or misses its goals.
 */
import { spawnSync } from "child_process";
import * as fs from "fs";
import * as path from "path";

const wanted = process.argv.slice(2);
const benches = fs
  .readdirSync(__dirname)
  .filter((file) => file.endsWith(".bench.ts"))
  .filter((file) => wanted.length === 0 || wanted.includes(file.replace(/\.bench\.ts$/, "")))
  .sort();
if (benches.length === 0) {
  console.error(`no bench matches ${wanted.join(", ")}`);
  process.exit(1);
}
const failed: string[] = [];
for (const bench of benches) {
  console.log(`\n=== ${bench}`);
  const result = spawnSync(
    process.execPath,
    [require.resolve("ts-node/dist/bin"), "--transpile-only", path.join(__dirname, bench)],
    { stdio: "inherit" },
  );
  if (result.status !== 0) failed.push(bench);
}
console.log(
  failed.length === 0
    ? "\nall benches met their goals"
    : `\nmissed goals or failed: ${failed.join(", ")}`,
);
process.exitCode = failed.length === 0 ? 0 : 1;
