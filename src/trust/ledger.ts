/**
 * The ownership ledger: `<dir>/.pulumi-trust.json` lists, for each entry this package wrote in
 * that directory (a whole file such as `ca.crt`, or one entry inside a shared file such as
 * `daemon.json#insecure-registries/host:5000`), the RegistryClientTrusts that need it.
 *
 * It is written (under the directory's lock) before the entry itself, so it survives a crash: a
 * retry finds its own leftovers listed under its name and never takes them for the user's, and an
 * entry two stacks need stays until the last of them is deleted. An entry present in a file but
 * listed for nobody is the user's. The ledger is removed with its last entry.
 *
 * Only Node built-ins and sibling modules are imported: this module is serialized into the
 * dynamic provider (see provider.ts).
 */
import * as path from "path";
import { HostFs } from "./hostfs";
import { readText, writeAtomic } from "./safeio";

export const LEDGER_NAME = ".pulumi-trust.json";

/** Entry key -> owners (sorted). */
export type Ledger = Record<string, string[]>;

const NOTE =
  "Entries in this directory written by pulumi-secure-registry's RegistryClientTrust, and the " +
  "stacks that need them; each is removed with its last owner. Do not edit.";

export async function readLedger(fs: HostFs, dir: string): Promise<Ledger> {
  const file = path.join(dir, LEDGER_NAME);
  const text = await readText(fs, file, "ownership ledger");
  if (text === undefined) return {};
  try {
    const parsed = JSON.parse(text) as { entries?: unknown };
    const entries = parsed.entries;
    if (typeof entries !== "object" || entries === null || Array.isArray(entries)) return {};
    const ledger: Ledger = {};
    for (const [key, owners] of Object.entries(entries)) {
      if (Array.isArray(owners)) ledger[key] = owners.filter((o) => typeof o === "string");
    }
    return ledger;
  } catch {
    throw new Error(
      `${file}${fs.where === "this host" ? "" : ` on ${fs.where}`} is not valid JSON; it lists ` +
        "which entries pulumi-secure-registry wrote there. Restore it or remove it (entries it " +
        "listed are then treated as the user's) and run again.",
    );
  }
}

/** `ledger` with `owner` added to or removed from `key`. */
export function withOwner(ledger: Ledger, key: string, owner: string, present: boolean): Ledger {
  const owners = new Set(ledger[key] ?? []);
  if (present) owners.add(owner);
  else owners.delete(owner);
  const next: Ledger = { ...ledger };
  if (owners.size === 0) delete next[key];
  else next[key] = [...owners].sort();
  return next;
}

/** Writes the ledger atomically; removes it when it lists nothing. */
export async function writeLedger(fs: HostFs, dir: string, ledger: Ledger): Promise<void> {
  const file = path.join(dir, LEDGER_NAME);
  const keys = Object.keys(ledger).sort();
  if (keys.length === 0) {
    if ((await fs.lstat(file)) !== undefined) await fs.unlink(file);
    return;
  }
  const entries = Object.fromEntries(keys.map((k) => [k, ledger[k]]));
  await writeAtomic(
    fs,
    file,
    JSON.stringify({ note: NOTE, entries }, null, 2) + "\n",
    0o644,
    "ownership ledger",
  );
}
