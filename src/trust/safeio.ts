/**
 * Safe file primitives over a {@link HostFs}: bounded reads that refuse anything but a regular
 * file at once, the one atomic-write routine (temp file in the same directory, exact mode, then
 * rename), removal of temp files an interrupted run left behind, directories kept inside their
 * configured root (symlinks resolved), and errors that say which path needs which permission.
 *
 * One write routine over the abstraction, rather than `write-file-atomic`, because the same
 * routine must run over SFTP: a library bound to Node's `fs` would give the remote host weaker
 * guarantees than the local one.
 *
 * Only Node built-ins and sibling modules are imported: this module is serialized into the
 * dynamic provider (see provider.ts).
 */
import * as crypto from "crypto";
import * as path from "path";
import { codeOf, fsError, HostFs } from "./hostfs";

/** No trust file is bigger: anything larger is refused rather than read. */
export const MAX_FILE_BYTES = 4 * 1024 * 1024;

const TEMP_SUFFIX = ".trust-tmp";

/** The fix for a permission problem, naming the option that chose the path. */
function permissionFix(fs: HostFs, field: string): string {
  const who = fs.where === "this host" ? "pulumi" : `the SSH user (${fs.where.split("@")[0]})`;
  return (
    `Run ${who} as root (e.g. sudo), give that user the permission, or point ${field} ` +
    "(certsDirs, clientConfigPath, daemonConfigPath, containerd.hostsDir, buildkit.configPath, " +
    "buildkit.certsDir) at paths that user may write."
  );
}

/**
 * Rewrites a low-level error as: where, what was attempted on which path, which permission is
 * missing, and the fix. Errors that are not about permissions keep their message.
 */
export function explain(
  fs: HostFs,
  field: string,
  action: "read" | "create" | "replace" | "remove" | "create directory",
  target: string,
  error: unknown,
): Error {
  const code = codeOf(error);
  const dir = path.dirname(target);
  const on = fs.where === "this host" ? "" : ` on ${fs.where}`;
  if (code === "EACCES" || code === "EPERM") {
    const needs =
      action === "read"
        ? `read permission on ${target}`
        : `write and search permission (w+x) on the directory ${dir}`;
    return fsError(
      code,
      `cannot ${action} ${target}${on} (${field}): permission denied; this needs ${needs}. ` +
        permissionFix(fs, field),
    );
  }
  if (code === "EROFS" || code === "EFAILURE") {
    const why =
      code === "EROFS"
        ? "the file system is read-only"
        : "the SFTP server refused (permission denied or a read-only file system)";
    return fsError(
      code,
      `cannot ${action} ${target}${on} (${field}): ${why}; this needs write permission on ${dir}. ` +
        permissionFix(fs, field),
    );
  }
  if (code === "ENOTDIR") {
    return fsError(
      code,
      `cannot ${action} ${target}${on} (${field}): a part of that path is a file, not a ` +
        `directory. Move that file away or point ${field} elsewhere.`,
    );
  }
  if (error instanceof Error) return error;
  return new Error(String(error));
}

function describeKind(kind: string): string {
  return kind === "directory"
    ? "a directory"
    : kind === "other"
      ? "not a regular file (a FIFO, socket or device)"
      : `a ${kind}`;
}

/**
 * The text of `file`, or undefined when it does not exist. A final symlink is followed only to a
 * regular file. Anything else where a file is expected (a directory, FIFO, device, a link to
 * /dev/zero) is a clear error at once; nothing is opened that could block.
 */
export async function readText(
  fs: HostFs,
  file: string,
  field: string,
): Promise<string | undefined> {
  let entry;
  try {
    entry = await fs.lstat(file);
    if (entry?.kind === "symlink") entry = await fs.stat(file);
  } catch (e) {
    throw explain(fs, field, "read", file, e);
  }
  if (entry === undefined) return undefined;
  if (entry.kind !== "file") {
    const on = fs.where === "this host" ? "" : ` on ${fs.where}`;
    throw fsError(
      "ENOTREG",
      `${file}${on} (${field}) is ${describeKind(entry.kind)}, where a regular file is ` +
        "expected; nothing was read or written. Move it away and run again.",
    );
  }
  if (entry.size > MAX_FILE_BYTES) {
    throw fsError(
      "EFBIG",
      `${file} (${field}) is larger than ${MAX_FILE_BYTES} bytes; refusing to read it.`,
    );
  }
  try {
    return (await fs.readFile(file, MAX_FILE_BYTES)).toString("utf8");
  } catch (e) {
    if (codeOf(e) === "ENOENT") return undefined;
    if (codeOf(e) === "ENOTREG") {
      throw fsError(
        "ENOTREG",
        `${file} (${field}) is not a regular file; nothing was read or written.`,
      );
    }
    throw explain(fs, field, "read", file, e);
  }
}

/**
 * Writes `content` to `file` through a temp file in the same directory and a rename: readers see
 * the old or the new file, never half of one. `mode` applies exactly; `owner` is applied when the
 * operations run as root. A failed write removes its temp file.
 */
export async function writeAtomic(
  fs: HostFs,
  file: string,
  content: string,
  mode: number,
  field: string,
  owner?: { uid: number; gid: number },
): Promise<void> {
  const temp = path.join(
    path.dirname(file),
    `.${path.basename(file)}.${crypto.randomBytes(6).toString("hex")}${TEMP_SUFFIX}`,
  );
  const existed = (await fs.lstat(file).catch(() => undefined)) !== undefined;
  try {
    await fs.createFile(temp, Buffer.from(content, "utf8"), mode);
    if (owner !== undefined && (await fs.uid()) === 0) {
      await fs.chown(temp, owner.uid, owner.gid);
    }
    await fs.rename(temp, file);
  } catch (e) {
    await fs.unlink(temp).catch(() => undefined);
    throw explain(fs, field, existed ? "replace" : "create", file, e);
  }
}

/**
 * Removes temp files that an interrupted write of `file` left behind: this module's
 * (`.<name>.<hex>.trust-tmp`) and earlier versions' (`.<name>.<pid>.<hex>.tmp`). Called with the
 * directory's lock held, so no live writer owns them.
 */
export async function removeStaleTemps(fs: HostFs, file: string): Promise<string[]> {
  const dir = path.dirname(file);
  const name = path.basename(file).replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
  const pattern = new RegExp(
    `^\\.${name}\\.(?:[0-9a-f]{12}\\.trust-tmp|[0-9]+\\.[0-9a-f]{12}\\.tmp)$`,
  );
  const names = await fs.readdir(dir).catch(() => [] as string[]);
  const removed: string[] = [];
  for (const candidate of names.filter((n) => pattern.test(n))) {
    const stale = path.join(dir, candidate);
    const entry = await fs.lstat(stale).catch(() => undefined);
    if (entry?.kind !== "file") continue;
    await fs.unlink(stale).catch(() => undefined);
    removed.push(stale);
  }
  return removed;
}

/** Throws unless `target` is strictly inside `root` (lexically). */
export function assertInside(root: string, target: string, what: string): void {
  const relative = path.relative(path.resolve(root), path.resolve(target));
  if (relative === "" || relative.startsWith("..") || path.isAbsolute(relative)) {
    throw new Error(`refusing to touch ${what} ${target}: it is not inside ${root}`);
  }
}

/** True when `target` is `root` or inside it (lexically). */
export function isWithin(root: string, target: string): boolean {
  const relative = path.relative(path.resolve(root), path.resolve(target));
  return relative === "" || (!relative.startsWith("..") && !path.isAbsolute(relative));
}

/**
 * Creates `dir` and its missing parents with mode 0755, calling `created` for each directory made
 * (so an attempt can undo it), then checks that `dir`, symlinks resolved, is inside `root`
 * resolved. Returns the real path of `dir`.
 */
export async function ensureDirInside(
  fs: HostFs,
  root: string,
  dir: string,
  field: string,
  created: (dir: string) => void,
): Promise<string> {
  const missing: string[] = [];
  for (let d = path.resolve(dir); ; d = path.dirname(d)) {
    const entry = await fs.lstat(d).catch((e) => {
      throw explain(fs, field, "read", d, e);
    });
    if (entry !== undefined) {
      if (entry.kind === "file" || entry.kind === "other") {
        throw fsError(
          "ENOTDIR",
          `cannot create ${dir}${fs.where === "this host" ? "" : ` on ${fs.where}`} (${field}): ` +
            `${d} is a file, not a directory. Move it away or point ${field} elsewhere.`,
        );
      }
      break;
    }
    missing.unshift(d);
    if (d === path.dirname(d)) break;
  }
  for (const d of missing) {
    try {
      await fs.mkdir(d, 0o755);
      created(d);
    } catch (e) {
      if (codeOf(e) !== "EEXIST") throw explain(fs, field, "create directory", d, e);
    }
  }
  return confinedDir(fs, root, dir, field);
}

/**
 * The real path of `dir`, after checking that it is (inside) the real path of `root`: a directory
 * swapped for a symlink that leads out of the root is refused, before anything there is read.
 */
export async function confinedDir(
  fs: HostFs,
  root: string,
  dir: string,
  field: string,
): Promise<string> {
  const realRoot = await fs.realpath(root).catch((e) => {
    throw explain(fs, field, "read", root, e);
  });
  const realDir = await fs.realpath(dir).catch((e) => {
    throw explain(fs, field, "read", dir, e);
  });
  if (!isWithin(realRoot, realDir)) {
    throw fsError(
      "EOUTSIDE",
      `${dir}${fs.where === "this host" ? "" : ` on ${fs.where}`} leads to ${realDir} (through a ` +
        `symlink), outside ${root} (${field}); refusing to read, write or remove anything there. ` +
        "Replace the symlink with the directory it should be, and run again.",
    );
  }
  const entry = await fs.stat(realDir);
  if (entry?.kind !== "directory") {
    throw fsError("ENOTDIR", `${dir} (${field}) is not a directory; move it away and run again.`);
  }
  return realDir;
}
