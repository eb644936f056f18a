/**
 * The one algorithm behind every file trust writes: a managed *entry* (a whole file such as
 * `ca.crt`, or one entry inside a shared file such as `auths["host:5000"]` in config.json) is set,
 * removed and checked under its directory's lock, re-reading the file under the lock, recording
 * ownership in the ledger before the write, and journaling an undo step as each write happens.
 * The file formats (PEM, JSON, TOML) only say how to get, set and unset their entry.
 *
 * Only Node built-ins and sibling modules are imported: this module is serialized into the
 * dynamic provider (see provider.ts).
 */
import * as path from "path";
import { HostFs } from "./hostfs";
import { Ledger, readLedger, withOwner, writeLedger } from "./ledger";
import { withDirLock } from "./lock";
import {
  confinedDir,
  ensureDirInside,
  explain,
  isWithin,
  readText,
  removeStaleTemps,
  writeAtomic,
} from "./safeio";

/** Ledger key of the owners that created the directory itself. */
const DIR_CREATED = "#directory-created";

/** How one entry lives in its file. Values are compared as canonical strings. */
export interface EntrySpec {
  /** Absolute path of the file (its directory is the lock and ledger scope). */
  readonly file: string;
  /** The configured root the file must stay inside (a certs dir, or the file's own directory). */
  readonly root: string;
  /** Ledger key: `ca.crt`, `daemon.json#insecure-registries/host:5000`, ... */
  readonly key: string;
  /** The option the path comes from, for messages. */
  readonly field: string;
  /** How messages name the entry: `auths["host:5000"] in /root/.docker/config.json`. */
  readonly label: string;
  /** The wanted value. */
  readonly desired: string;
  /** Mode of a file this creates (an existing file keeps its mode and owner). */
  readonly newMode: number;
  /** An entry someone else owns with another value: "error" (unless adopt) or "skip" (leave it). */
  readonly foreign: "error" | "skip";
  /** The entry's value in `text` (undefined: absent). Throws for a file it cannot merge into. */
  get(text: string | undefined): string | undefined;
  /** `text` with the entry set to `value`. */
  set(text: string | undefined, value: string): string;
  /** `text` without the entry; undefined removes the file. */
  unset(text: string, createdFile: boolean): string | undefined;
}

/** What trust wrote, kept in state so update and delete touch exactly that. */
export interface EntryRecord {
  readonly key: string;
  /** The planned path (as configured): how the entry is matched across runs. */
  readonly path: string;
  /** The file written (its directory's symlinks resolved). */
  readonly file: string;
  /** Real path of the file's directory when it was written. */
  readonly dir: string;
  readonly root: string;
  readonly field: string;
  /** The exact entry was the user's before (listed for no owner): delete keeps it. */
  readonly preexisted: boolean;
  /** This entry's write created the file. */
  readonly createdFile: boolean;
  /** The file's directory was created for it (removed on delete when left empty). */
  readonly createdDir: boolean;
}

/** One attempt (create, update or delete) on one host: its writes, each with its undo. */
export interface Attempt {
  readonly fs: HostFs;
  /** Who the ledger lists: `project/stack/resource`. */
  readonly owner: string;
  /** The owner name of the previous run when it differs (a renamed resource): taken as this one. */
  readonly formerOwner?: string;
  readonly adopt: boolean;
  readonly journal: { readonly what: string; readonly undo: () => Promise<void> }[];
}

function on(fs: HostFs): string {
  return fs.where === "this host" ? "" : ` on ${fs.where}`;
}

async function writeOrRemove(
  a: Attempt,
  spec: EntrySpec,
  text: string | undefined,
  next: string | undefined,
): Promise<void> {
  if (next === undefined) {
    if (text !== undefined) {
      await a.fs.unlink(spec.file).catch((e) => {
        throw explain(a.fs, spec.field, "remove", spec.file, e);
      });
    }
    return;
  }
  const existing = text === undefined ? undefined : await a.fs.stat(spec.file);
  await writeAtomic(
    a.fs,
    spec.file,
    next,
    existing?.mode ?? spec.newMode,
    spec.field,
    existing ? { uid: existing.uid, gid: existing.gid } : undefined,
  );
}

async function setOwners(a: Attempt, dir: string, key: string, owners: string[]): Promise<void> {
  const ledger: Ledger = { ...(await readLedger(a.fs, dir)) };
  if (owners.length === 0) delete ledger[key];
  else ledger[key] = [...owners].sort();
  await writeLedger(a.fs, dir, ledger);
}

/** `ledger` with a renamed resource's former name replaced by its current one. */
function renamed(a: Attempt, ledger: Ledger): Ledger {
  const former = a.formerOwner;
  if (former === undefined || former === a.owner) return ledger;
  const next: Ledger = {};
  for (const [key, owners] of Object.entries(ledger)) {
    next[key] = [...new Set(owners.map((o) => (o === former ? a.owner : o)))].sort();
  }
  return next;
}

/**
 * Makes the entry hold `spec.desired`. `previous` is this resource's record of the entry from the
 * last run (undefined on create). Returns the new record, or undefined when a foreign entry is
 * skipped (`foreign: "skip"`).
 */
export async function ensureEntry(
  a: Attempt,
  spec: EntrySpec,
  previous: EntryRecord | undefined,
): Promise<EntryRecord | undefined> {
  const parent = path.dirname(spec.file);
  let createdDir = previous?.createdDir ?? false;
  const dir = await ensureDirInside(a.fs, spec.root, parent, spec.field, (made) => {
    if (made === path.resolve(parent)) createdDir = true;
    a.journal.push({
      what: `created directory ${made}`,
      undo: () => a.fs.rmdir(made).catch(() => undefined),
    });
  });
  const file = path.join(dir, path.basename(spec.file));
  const real = { ...spec, file };
  return withDirLock(a.fs, dir, spec.field, async () => {
    await removeStaleTemps(a.fs, file);
    const text = await readText(a.fs, file, spec.field);
    const current = real.get(text);
    const raw = await readLedger(a.fs, dir);
    const ledger = renamed(a, raw);
    if (ledger !== raw) await writeLedger(a.fs, dir, ledger);
    const owners = ledger[spec.key] ?? [];
    const others = owners.filter((o) => o !== a.owner);
    const ours = owners.includes(a.owner) || previous !== undefined;
    // Who created the file / the directory: the last of them to leave removes it when empty.
    const createdKey = `${path.basename(file)}#created`;
    const createdBy = ledger[createdKey] ?? [];
    const dirCreatedBy = ledger[DIR_CREATED] ?? [];
    const joinCreated = (l: Ledger): Ledger => {
      let next = l;
      if (text === undefined || (createdBy.length > 0 && !createdBy.includes(a.owner))) {
        next = withOwner(next, createdKey, a.owner, true);
      }
      if (createdDir || (dirCreatedBy.length > 0 && !dirCreatedBy.includes(a.owner))) {
        next = withOwner(next, DIR_CREATED, a.owner, true);
      }
      return next;
    };
    const base = {
      key: spec.key,
      path: spec.file,
      file,
      dir,
      root: spec.root,
      field: spec.field,
      createdDir,
    };

    if (current === spec.desired) {
      const preexisted = previous?.preexisted ?? (!ours && owners.length === 0);
      if (!preexisted && !owners.includes(a.owner)) {
        a.journal.push({
          what: `listed ${spec.label} as owned`,
          undo: () =>
            withDirLock(a.fs, dir, spec.field, async () => {
              await setOwners(a, dir, spec.key, owners);
              await setOwners(a, dir, createdKey, createdBy);
              await setOwners(a, dir, DIR_CREATED, dirCreatedBy);
            }),
        });
        await writeLedger(a.fs, dir, joinCreated(withOwner(ledger, spec.key, a.owner, true)));
      }
      return {
        ...base,
        preexisted,
        createdFile: previous?.createdFile ?? (!preexisted && createdBy.length > 0),
      };
    }
    if (current !== undefined && !ours && !a.adopt) {
      if (spec.foreign === "skip") return undefined;
      throw new Error(
        `${spec.label}${on(a.fs)} already holds a different value, ` +
          (others.length > 0
            ? `written by another RegistryClientTrust (${others.join(", ")}). `
            : "not written by this RegistryClientTrust. ") +
          "Nothing was changed. To take it over, set adopt: true (it is then replaced now and " +
          "removed on delete); or remove it if it is stale.",
      );
    }
    const createdFile = previous?.createdFile ?? (text === undefined || createdBy.length > 0);
    // Undo: put back what was there (under the lock, re-read), if the entry still holds ours.
    a.journal.push({
      what: `wrote ${spec.label}`,
      undo: () =>
        withDirLock(a.fs, dir, spec.field, async () => {
          const now = await readText(a.fs, file, spec.field);
          if (now !== undefined && real.get(now) === spec.desired) {
            const restored =
              current === undefined ? real.unset(now, text === undefined) : real.set(now, current);
            await writeOrRemove(a, real, now, restored);
          }
          await setOwners(a, dir, spec.key, owners);
          await setOwners(a, dir, createdKey, createdBy);
          await setOwners(a, dir, DIR_CREATED, dirCreatedBy);
        }),
    });
    // Ownership first: a crash between the two leaves a ledger that names us, never an
    // unlisted entry a retry would take for the user's.
    await writeLedger(a.fs, dir, joinCreated(withOwner(ledger, spec.key, a.owner, true)));
    await writeOrRemove(a, real, text, real.set(text, spec.desired));
    return { ...base, preexisted: false, createdFile };
  });
}

/**
 * Removes what `record` says this resource wrote: drops this owner from the ledger and, when no
 * other owner is left and the entry still holds `spec.desired`, the entry itself (a file left
 * empty goes when this created it; the directory when this created it and it is left empty).
 * Nothing is read or removed when the directory now leads outside its root.
 */
export async function removeEntry(
  a: Attempt,
  spec: EntrySpec,
  record: EntryRecord,
): Promise<boolean> {
  const exists = await a.fs.lstat(record.dir);
  if (exists === undefined) return false;
  const dir = await confinedDir(a.fs, record.root, record.dir, record.field);
  if (dir !== record.dir) {
    throw new Error(
      `${record.dir}${on(a.fs)} now resolves to ${dir}; refusing to remove ${spec.label} ` +
        "through a changed path. Restore the directory and run again.",
    );
  }
  const file = path.join(dir, path.basename(record.file));
  const real = { ...spec, file };
  let dirMayGo = false;
  const removed = await withDirLock(a.fs, dir, record.field, async () => {
    await removeStaleTemps(a.fs, file);
    const ledger = await readLedger(a.fs, dir);
    const owners = ledger[spec.key] ?? [];
    const remaining = owners.filter((o) => o !== a.owner);
    const createdKey = `${path.basename(file)}#created`;
    const othersCreated = (ledger[createdKey] ?? []).filter((o) => o !== a.owner);
    const fileMayGo = record.createdFile && othersCreated.length === 0;
    let changed = false;
    // A file replaced by a symlink is not ours any more: never followed for a removal.
    const leaf = await a.fs.lstat(file);
    const text = leaf?.kind === "symlink" ? undefined : await readText(a.fs, file, record.field);
    if (remaining.length === 0 && !record.preexisted && text !== undefined) {
      if (real.get(text) === spec.desired) {
        const next = real.unset(text, fileMayGo);
        a.journal.push({
          what: `removed ${spec.label}`,
          undo: () =>
            withDirLock(a.fs, dir, record.field, async () => {
              const now = await readText(a.fs, file, record.field);
              if (real.get(now) === undefined) {
                await writeOrRemove(a, real, now, real.set(now, spec.desired));
              }
              await setOwners(a, dir, spec.key, owners);
            }),
        });
        await writeOrRemove(a, real, text, next);
        changed = true;
      }
    }
    // This owner leaves the file's creators only with its last entry in that file.
    const othersOfMine = Object.entries(ledger).some(
      ([key, list]) =>
        key !== spec.key &&
        !key.includes("#created") &&
        key !== DIR_CREATED &&
        key.split("#")[0] === path.basename(file) &&
        list.includes(a.owner),
    );
    let next = withOwner(ledger, spec.key, a.owner, false);
    if (!othersOfMine) next = withOwner(next, createdKey, a.owner, false);
    const stillUsed = Object.entries(next).some(
      ([key, list]) => key !== DIR_CREATED && list.includes(a.owner),
    );
    if (!stillUsed) next = withOwner(next, DIR_CREATED, a.owner, false);
    dirMayGo =
      record.createdDir ||
      ((ledger[DIR_CREATED] ?? []).length > 0 && (next[DIR_CREATED] ?? []).length === 0);
    if (JSON.stringify(next) !== JSON.stringify(ledger)) await writeLedger(a.fs, dir, next);
    return changed;
  });
  if (
    dirMayGo ||
    (dir !== record.root && isWithin(record.root, dir) && path.dirname(dir) !== dir)
  ) {
    // After the lock is released (its directory lives inside): fails harmlessly when not empty.
    await a.fs.rmdir(dir).catch(() => undefined);
  }
  return removed;
}

/** One line when the entry no longer holds `spec.desired`; none when it does. */
export async function entryDrift(
  fs: HostFs,
  spec: EntrySpec,
  record: EntryRecord,
): Promise<string[]> {
  try {
    const text = await readText(fs, record.file, record.field);
    const current = spec.get(text);
    if (current === undefined) return [`${spec.label}${on(fs)} is missing`];
    if (current !== spec.desired) return [`${spec.label}${on(fs)} holds a different value`];
    return [];
  } catch (e) {
    return [(e as Error).message];
  }
}
