/**
 * A fresh user project that installed the packed package, for package-tarball.test.ts.
 *
 * - `packPackage` runs `npm pack` (and so `prepare`, the build) in a copy of the checkout, so the
 *   build never rewrites the checkout's bin/ under tests running beside it.
 * - `createProject` extracts the tarball into `<project>/node_modules/pulumi-secure-registry`, as
 *   `npm install <tarball>` would, and installs its dependencies offline: a symlink per package
 *   of the repository's production tree (`npm ls --omit=dev --all`), plus `typescript` and
 *   `@types/node`, the devDependencies of Pulumi's TypeScript template. Nothing else: a public
 *   type or a runtime `require` that needs one of our devDependencies fails there, as it would
 *   for a user.
 *
 * Node and tsc resolve a symlinked package at its real path, so the project and the package
 * share one @pulumi/pulumi (the runner checks it), as after a real install.
 */
import * as fs from "fs";
import * as path from "path";
import { mustRun } from "./command";

/** Top-level entries of the checkout that are neither sources nor needed to build them. */
const NOT_COPIED = new Set([".git", "node_modules", "bin", "coverage", ".pulumi-state", ".bench"]);

/** The environment for npm and tsc: without the variables of an enclosing `npm run/test`. */
export function cleanEnv(extra: NodeJS.ProcessEnv = {}): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [key, value] of Object.entries(process.env)) {
    // npm_config_local_prefix and friends would point the inner npm at the checkout.
    if (/^npm_/i.test(key) || key === "INIT_CWD") continue;
    env[key] = value;
  }
  return { ...env, npm_config_update_notifier: "false", ...extra };
}

/**
 * Copies the checkout (without .git, node_modules and build output) to `copyDir`, links its
 * node_modules, and packs it into `destination`. Returns the tarball's path.
 */
export async function packPackage(
  repoRoot: string,
  copyDir: string,
  destination: string,
): Promise<string> {
  fs.cpSync(repoRoot, copyDir, {
    recursive: true,
    filter: (source) => {
      const relative = path.relative(repoRoot, source);
      const parts = relative.split(path.sep);
      if (NOT_COPIED.has(parts[0])) return false;
      // Nested build output and installs (policy/bin, examples/*/node_modules).
      return !parts.slice(1).some((part) => part === "node_modules" || part === "bin");
    },
  });
  fs.symlinkSync(
    fs.realpathSync(path.join(repoRoot, "node_modules")),
    path.join(copyDir, "node_modules"),
  );
  fs.mkdirSync(destination, { recursive: true });
  await mustRun("npm", ["pack", "--pack-destination", destination, "--no-audit", "--no-fund"], {
    cwd: copyDir,
    env: cleanEnv(),
    timeoutMs: 300_000,
  });
  const tarballs = fs.readdirSync(destination).filter((f) => f.endsWith(".tgz"));
  if (tarballs.length !== 1) {
    throw new Error(`npm pack left ${tarballs.length} tarballs in ${destination}: ${tarballs}`);
  }
  return path.join(destination, tarballs[0]);
}

/** Paths inside the tarball, without npm's `package/` prefix. */
export async function tarballEntries(tarball: string): Promise<string[]> {
  const listing = await mustRun("tar", ["-tzf", tarball], { timeoutMs: 60_000 });
  return listing
    .split("\n")
    .filter((line) => line !== "")
    .map((line) => line.replace(/^package\//, ""));
}

/** Top-level package names (`name` or `@scope/name`) of the repository's production tree. */
export async function productionPackages(repoRoot: string): Promise<string[]> {
  const parseable = await mustRun("npm", ["ls", "--omit=dev", "--all", "--parseable"], {
    cwd: repoRoot,
    env: cleanEnv(),
    timeoutMs: 120_000,
  });
  const modules = path.join(repoRoot, "node_modules") + path.sep;
  const names = new Set<string>();
  for (const line of parseable.split("\n")) {
    if (!line.startsWith(modules)) continue; // the root itself
    // node_modules/a/node_modules/b is inside a's link.
    names.add(line.slice(modules.length).split(`${path.sep}node_modules${path.sep}`)[0]);
  }
  return [...names].sort();
}

/** Packages Pulumi's TypeScript template adds as devDependencies. */
export const TEMPLATE_DEV_PACKAGES = ["typescript", "@types/node"];

/**
 * Creates `projectDir` with the tarball extracted as node_modules/pulumi-secure-registry and a
 * symlink to the checkout's copy of each of `packages`.
 */
export async function createProject(
  projectDir: string,
  tarball: string,
  repoRoot: string,
  packages: readonly string[],
): Promise<void> {
  const installed = path.join(projectDir, "node_modules", "pulumi-secure-registry");
  fs.mkdirSync(installed, { recursive: true });
  await mustRun("tar", ["-xzf", tarball, "-C", installed, "--strip-components=1"], {
    timeoutMs: 60_000,
  });
  const source = fs.realpathSync(path.join(repoRoot, "node_modules"));
  for (const name of packages) {
    const link = path.join(projectDir, "node_modules", name);
    fs.mkdirSync(path.dirname(link), { recursive: true });
    fs.symlinkSync(path.join(source, name), link);
  }
}
