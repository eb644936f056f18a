/**
 * Helpers for trust tests on real directories: a snapshot of a directory tree (modes, contents,
 * JSON compared as data) for before/after comparisons.
 */
import * as fs from "fs";
import * as path from "path";

/**
 * Every entry under `dir` with its mode and content. JSON files are compared as data (a merge
 * re-renders them) unless `raw`. Symlinks show their target; FIFOs and devices their kind.
 */
export function snapshot(dir: string, options: { raw?: boolean } = {}): Record<string, string> {
  const out: Record<string, string> = {};
  const walk = (d: string) => {
    for (const name of fs.readdirSync(d).sort()) {
      const p = path.join(d, name);
      const st = fs.lstatSync(p);
      const rel = path.relative(dir, p);
      const mode = (st.mode & 0o777).toString(8);
      if (st.isSymbolicLink()) {
        out[rel] = `-> ${fs.readlinkSync(p)}`;
      } else if (st.isDirectory()) {
        out[rel + "/"] = mode;
        walk(p);
      } else if (!st.isFile()) {
        out[rel] = `${mode} special`;
      } else if (name.endsWith(".json") && !options.raw) {
        out[rel] = `${mode} ${JSON.stringify(JSON.parse(fs.readFileSync(p, "utf8")))}`;
      } else {
        out[rel] = `${mode} ${fs.readFileSync(p, "utf8")}`;
      }
    }
  };
  walk(dir);
  return out;
}
