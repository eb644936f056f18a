/**
 * The merge: an image's layer tars in, one tar of the final file system out, streamed.
 *
 * Design: layers are read NEWEST FIRST, once each. The first time a path is seen it is final
 * (nothing newer exists), so it is written out at once; an older entry is dropped when
 *  - the same path was already written (a newer layer overrides it),
 *  - a newer layer deleted the path or one of its parents (`.wh.<name>`),
 *  - a parent is an opaque directory in a newer layer (`.wh..wh..opq`),
 *  - a parent was written by a newer layer as something other than a directory (a directory
 *    replaced by a file or a symlink).
 * Whiteouts found in a layer apply to OLDER layers only (OCI image spec), so they are collected
 * while the layer streams and take effect when it ends. Whiteout entries never reach the output:
 * a flattened image has no lower layer to hide.
 *
 * Memory: the set of paths written (about 100-150 bytes each; 100k files ~ 15 MB), never file
 * contents. Cost: every layer is downloaded and decompressed once. A two-pass design (headers of
 * every layer newest-first, then stream oldest-first) decompresses everything twice; the bench
 * measures that pass (`bench/registry-flatten.bench.ts`).
 *
 * Output order: newest layer's entries first, each layer in its own order. A child can come before
 * its parent directory's entry (from an older layer); extractors (Docker, containerd, GNU tar)
 * create missing parents and apply the directory's entry when it comes.
 *
 * Hard links: a link whose target is written by the same layer stays a link. A link whose target
 * this layer hid (the target file was overwritten or deleted by a newer layer, which breaks the link
 * in a union file system) becomes a regular file with the target's content as this layer had it:
 * the layer is read again from its start up to that entry (`reread`). A link to a file of an older
 * layer (not produced by Docker or BuildKit) is resolved the same way from the older layers.
 *
 * Entry headers are normalised (see `normalizeHeader`) so the same layers give the same bytes.
 *
 * Serialization: carried by value by the flatten provider; modules are required inside functions.
 */
import type { Readable } from "stream";
import type * as TarStream from "tar-stream";

/** A tar header as tar-stream reads and writes it (fields optional but the name). */
export type TarHeader = Partial<TarStream.Header> & { name: string };

/** Opens the uncompressed tar stream of layer `index` (0 = oldest); may be called more than once. */
export type LayerOpener = (index: number) => Promise<Readable>;

export interface MergeStats {
  /** Entries written. */
  entries: number;
  /** Entries of the source layers dropped (overridden, deleted, hidden by an opaque directory). */
  dropped: number;
  /** Whiteout and opaque markers consumed. */
  whiteouts: number;
  /** Hard links turned into regular files because their target was hidden. */
  promotedLinks: number;
  /** Layers read again to resolve such links. */
  rereads: number;
}

/** Largest value a ustar octal field of 8 bytes holds (7 digits). */
const USTAR_ID_MAX = 0o7777777;
/** mtime field: 11 octal digits. */
const USTAR_TIME_MAX = 0o77777777777;

/**
 * `a/b/c` for `./a/b/c`, `/a/b/c/`, `a//b/c`; "" for the root. Throws for `..` components, which
 * would write outside the root when extracted.
 */
export function normalizePath(name: string): string {
  const parts = name.split("/").filter((part) => part !== "" && part !== ".");
  if (parts.includes("..")) {
    throw new Error(
      `layer entry "${name}" has a ".." component; refusing a path that leaves the root`,
    );
  }
  return parts.join("/");
}

function parentOf(path: string): string {
  const slash = path.lastIndexOf("/");
  return slash < 0 ? "" : path.slice(0, slash);
}

/** What a tar entry name means for the merge. */
export type WhiteoutKind =
  | { kind: "entry" }
  | { kind: "delete"; path: string }
  | { kind: "opaque"; dir: string }
  | { kind: "ignore" };

/** Classifies a normalized path: plain entry, whiteout of a sibling, opaque marker, other AUFS metadata. */
export function classifyEntry(path: string): WhiteoutKind {
  const slash = path.lastIndexOf("/");
  const base = slash < 0 ? path : path.slice(slash + 1);
  if (!base.startsWith(".wh.")) return { kind: "entry" };
  const dir = slash < 0 ? "" : path.slice(0, slash);
  if (base === ".wh..wh..opq") return { kind: "opaque", dir };
  if (base.startsWith(".wh..wh.")) return { kind: "ignore" };
  const name = base.slice(".wh.".length);
  return { kind: "delete", path: dir === "" ? name : `${dir}/${name}` };
}

/**
 * The output header for a source entry: name normalised (directories end in `/`), permission bits
 * (with setuid/setgid/sticky) kept, uid/gid kept (numeric ids are what extractors apply; PAX
 * records carry ids beyond 7 octal digits), uname/gname emptied (they describe the building
 * host's user database), mtime kept in whole seconds (PAX atime/ctime/sub-second times dropped),
 * link targets normalised, device numbers kept for devices only, extended attributes
 * (`SCHILY.xattr.*`, e.g. file capabilities) kept in sorted order; every other PAX record dropped.
 */
export function normalizeHeader(
  header: TarHeader,
  path: string,
  overrides: Partial<TarHeader> = {},
): TarHeader {
  const type = header.type === "contiguous-file" ? "file" : (header.type ?? "file");
  const pax = (header.pax ?? {}) as Record<string, string>;
  const uid = pax.uid !== undefined ? Number(pax.uid) : (header.uid ?? 0);
  const gid = pax.gid !== undefined ? Number(pax.gid) : (header.gid ?? 0);
  const seconds = Math.floor((header.mtime?.getTime() ?? 0) / 1000);
  const records: Record<string, string> = {};
  for (const key of Object.keys(pax).sort()) {
    if (key.startsWith("SCHILY.xattr.")) records[key] = pax[key];
  }
  if (uid > USTAR_ID_MAX) records.uid = String(uid);
  if (gid > USTAR_ID_MAX) records.gid = String(gid);
  const device = type === "character-device" || type === "block-device";
  const out: TarHeader = {
    name: type === "directory" ? `${path}/` : path,
    type,
    mode: (header.mode ?? 0) & 0o7777,
    uid: Math.min(uid, USTAR_ID_MAX),
    gid: Math.min(gid, USTAR_ID_MAX),
    size: type === "file" ? (header.size ?? 0) : 0,
    mtime: new Date(Math.min(Math.max(seconds, 0), USTAR_TIME_MAX) * 1000),
    uname: "",
    gname: "",
    devmajor: device ? (header.devmajor ?? 0) : 0,
    devminor: device ? (header.devminor ?? 0) : 0,
  };
  if (type === "symlink") out.linkname = header.linkname ?? "";
  if (type === "link") out.linkname = normalizePath(header.linkname ?? "");
  if (Object.keys(records).length > 0) out.pax = records;
  Object.assign(out, overrides);
  return out;
}

/**
 * What the merge has decided so far: paths written (with the layer that wrote them and whether
 * they are directories) and deletions / opaque directories of the layers already read.
 */
export interface MergeState {
  /** path -> layer * 2 + (directory ? 1 : 0). */
  readonly written: Map<string, number>;
  readonly deleted: Set<string>;
  readonly opaque: Set<string>;
}

export function newMergeState(): MergeState {
  return { written: new Map(), deleted: new Set(), opaque: new Set() };
}

/** Whether an entry at `path` of layer `layer` is hidden by what newer layers (or this one, earlier) wrote. */
export function isHidden(state: MergeState, path: string, layer: number): boolean {
  if (state.written.has(path) || state.deleted.has(path)) return true;
  for (let dir = parentOf(path); dir !== ""; dir = parentOf(dir)) {
    if (state.deleted.has(dir) || state.opaque.has(dir)) return true;
    const written = state.written.get(dir);
    if (written !== undefined && written % 2 === 0 && written >> 1 > layer) return true;
  }
  // An opaque root (`.wh..wh..opq` at the top) hides every older entry.
  return path !== "" && state.opaque.has("");
}

interface Entry extends AsyncIterable<Buffer> {
  header: TarHeader;
}

async function writeEntry(
  pack: TarStream.Pack,
  header: TarHeader,
  content?: AsyncIterable<Buffer>,
): Promise<void> {
  const { once } = require("events") as typeof import("events");
  await new Promise<void>((resolve, reject) => {
    // tar-stream replaces a mode of 0 (e.g. /etc/shadow on some distributions) with 0644; a file
    // type bit above the permission bits keeps it non-zero and is masked off when encoded.
    const entryHeader = { ...header, mode: (header.mode ?? 0) | 0o100000 };
    const sink = pack.entry(entryHeader, (error?: Error | null) =>
      error ? reject(error) : resolve(),
    );
    if (header.type !== "file") return;
    (async () => {
      for await (const chunk of content ?? []) {
        if (!sink.write(chunk))
          await once(sink as unknown as import("events").EventEmitter, "drain");
      }
      (sink as unknown as { end(): void }).end();
    })().catch((error: Error) => {
      sink.destroy(error);
      reject(error);
    });
  });
}

async function drain(entry: AsyncIterable<Buffer>): Promise<void> {
  const iterator = entry[Symbol.asyncIterator]();
  while (!(await iterator.next()).done) {
    // discard the content
  }
}

/** Streams the content of entry number `ordinal` of layer `index` (a fresh read) into `pack`. */
async function copyFromReread(
  open: LayerOpener,
  index: number,
  ordinal: number,
  pack: TarStream.Pack,
  header: TarHeader,
): Promise<void> {
  const tar = require("tar-stream") as typeof TarStream;
  const extract = tar.extract();
  const source = await open(index);
  source.on("error", (error) => extract.destroy(error));
  source.pipe(extract as unknown as NodeJS.WritableStream);
  let seen = 0;
  try {
    for await (const raw of extract as unknown as AsyncIterable<Entry>) {
      if (seen === ordinal) {
        await writeEntry(pack, header, raw);
        return;
      }
      seen += 1;
      await drain(raw);
    }
  } finally {
    extract.destroy();
    source.destroy();
  }
  throw new Error(`layer ${index} ended before entry ${ordinal} when read again`);
}

/**
 * Finds a regular file `path` in layers `from` down to 0 (for a link to an older layer); returns
 * the layer, the entry's ordinal and header.
 */
async function findOlderFile(
  open: LayerOpener,
  from: number,
  path: string,
): Promise<{ layer: number; ordinal: number; header: TarHeader } | undefined> {
  const tar = require("tar-stream") as typeof TarStream;
  for (let layer = from; layer >= 0; layer--) {
    const extract = tar.extract();
    const source = await open(layer);
    source.on("error", (error) => extract.destroy(error));
    source.pipe(extract as unknown as NodeJS.WritableStream);
    let ordinal = 0;
    let found: { layer: number; ordinal: number; header: TarHeader } | undefined;
    let deleted = false;
    try {
      for await (const raw of extract as unknown as AsyncIterable<Entry>) {
        const name = normalizePath(raw.header.name);
        const kind = classifyEntry(name);
        if (kind.kind === "delete" && (kind.path === path || path.startsWith(`${kind.path}/`)))
          deleted = true;
        if (kind.kind === "opaque" && path.startsWith(`${kind.dir}/`)) deleted = true;
        if (
          name === path &&
          (raw.header.type === "file" || raw.header.type === "contiguous-file")
        ) {
          found = { layer, ordinal, header: raw.header };
        }
        ordinal += 1;
        await drain(raw);
      }
    } finally {
      extract.destroy();
      source.destroy();
    }
    if (found) return found;
    if (deleted) return undefined;
  }
  return undefined;
}

/**
 * Merges layers `count - 1` (newest) down to 0 into `pack` (which the caller finalizes and
 * consumes). Rejects on a malformed layer, a `..` path or a link to nothing.
 */
export async function mergeLayers(
  open: LayerOpener,
  count: number,
  pack: TarStream.Pack,
  onLayer?: (index: number) => Promise<void> | void,
): Promise<MergeStats> {
  const tar = require("tar-stream") as typeof TarStream;
  const state = newMergeState();
  const stats: MergeStats = { entries: 0, dropped: 0, whiteouts: 0, promotedLinks: 0, rereads: 0 };
  for (let layer = count - 1; layer >= 0; layer--) {
    const pendingDeletes: string[] = [];
    const pendingOpaque: string[] = [];
    /** Regular files of this layer hidden by newer layers: link targets may need them. */
    const hiddenFiles = new Map<string, { ordinal: number; header: TarHeader }>();
    /** Hidden link target -> the path that now holds its content in the output. */
    const promoted = new Map<string, string>();
    const extract = tar.extract();
    const source = await open(layer);
    source.on("error", (error) => extract.destroy(error));
    source.pipe(extract as unknown as NodeJS.WritableStream);
    let ordinal = -1;
    try {
      for await (const raw of extract as unknown as AsyncIterable<Entry>) {
        ordinal += 1;
        const header = raw.header;
        const path = normalizePath(header.name);
        const kind = classifyEntry(path);
        if (kind.kind !== "entry") {
          if (kind.kind === "delete") pendingDeletes.push(kind.path);
          if (kind.kind === "opaque") pendingOpaque.push(kind.dir);
          stats.whiteouts += 1;
          await drain(raw);
          continue;
        }
        if (path === "") {
          // The root directory's own entry: extractors keep the root they extract into.
          await drain(raw);
          continue;
        }
        if (isHidden(state, path, layer)) {
          if (header.type === "file" || header.type === "contiguous-file") {
            hiddenFiles.set(path, { ordinal, header });
          }
          stats.dropped += 1;
          await drain(raw);
          continue;
        }
        if (header.type === "link") {
          const target = normalizePath(header.linkname ?? "");
          const written = state.written.get(target);
          const promotedName = promoted.get(target);
          if (written !== undefined && written >> 1 === layer) {
            await writeEntry(pack, normalizeHeader(header, path));
          } else if (promotedName !== undefined) {
            await writeEntry(pack, normalizeHeader(header, path, { linkname: promotedName }));
          } else {
            const hidden = hiddenFiles.get(target);
            const origin = hidden
              ? { layer, ...hidden }
              : await findOlderFile(open, layer - 1, target);
            if (!origin) {
              throw new Error(
                `layer ${layer}: hard link "${path}" points to "${target}", which no layer has`,
              );
            }
            stats.rereads += 1;
            stats.promotedLinks += 1;
            await copyFromReread(
              open,
              origin.layer,
              origin.ordinal,
              pack,
              normalizeHeader(origin.header, path),
            );
            promoted.set(target, path);
          }
          await drain(raw);
        } else if (header.type === "file" || header.type === "contiguous-file") {
          await writeEntry(pack, normalizeHeader(header, path), raw);
        } else if (
          header.type === "directory" ||
          header.type === "symlink" ||
          header.type === "character-device" ||
          header.type === "block-device" ||
          header.type === "fifo"
        ) {
          await writeEntry(pack, normalizeHeader(header, path));
          await drain(raw);
        } else {
          throw new Error(`layer ${layer}: entry "${path}" has unsupported type ${header.type}`);
        }
        state.written.set(path, layer * 2 + (header.type === "directory" ? 1 : 0));
        stats.entries += 1;
      }
    } finally {
      extract.destroy();
      source.destroy();
    }
    for (const path of pendingDeletes) state.deleted.add(path);
    for (const dir of pendingOpaque) state.opaque.add(dir);
    await onLayer?.(layer);
  }
  return stats;
}
