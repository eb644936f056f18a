/**
 * The whole lifecycle of one RegistryClientTrust's files on one host (this one, or a remote one
 * over SSH): create/update (`applyTrust`), delete (`removeTrust`) and refresh (`detectDrift`).
 * The dynamic provider (provider.ts) only calls these; tests call them on temp directories and
 * on simulated remote hosts.
 *
 * An attempt journals every write as it happens; when create or update fails, every write of the
 * attempt is undone (in reverse) before the error is reported, with what could not be undone.
 * No error carries a password, an `auth` value, a key or an SSH secret.
 *
 * Only Node built-ins and sibling modules are imported: this module is serialized into the
 * dynamic provider (see provider.ts).
 */
import * as path from "path";
import { dockerAuth } from "./dockerfiles";
import { parseEndpoint } from "./endpoint";
import { Attempt, EntryRecord, EntrySpec, ensureEntry, entryDrift, removeEntry } from "./entries";
import { HostFs, localFs } from "./hostfs";
import { TrustInputs } from "./inputs";
import { planEntries, resolveClientConfigPath } from "./plan";
import { reloadDockerd } from "./reload";
import { connectSsh, redact, sshWhere } from "./ssh";

/** What the provider wrote, kept in state so update and delete touch exactly that. */
export interface TrustRecord {
  readonly entries: EntryRecord[];
}

/** The provider's outputs: its inputs plus what it wrote and what refresh found. */
export interface TrustOutputs extends TrustInputs {
  /** Files written on the target host (sorted). */
  readonly files: string[];
  readonly record: TrustRecord;
  /** Differences refresh found between the files and `record`; empty after create/update. */
  readonly drift: string[];
}

/** The resource id: the endpoint, and the host when it is not this one. */
export function trustId(inputs: Pick<TrustInputs, "endpoint" | "connection">): string {
  return inputs.connection === undefined
    ? `trust-${inputs.endpoint}`
    : `trust-${inputs.endpoint}@${sshWhere(inputs.connection)}`;
}

/** The files' host: this one, or the `connection`'s over SSH. */
export async function openHost(inputs: TrustInputs): Promise<HostFs> {
  if (inputs.connection === undefined) return localFs();
  return connectSsh(inputs.connection, inputs.connectionSecrets ?? {});
}

/** Every secret value an error might otherwise echo. */
function secretsOf(inputs: Partial<TrustInputs>): string[] {
  const s: (string | undefined)[] = [
    inputs.login?.password,
    inputs.login ? dockerAuth(inputs.login) : undefined,
    inputs.clientKeyPem,
    inputs.connectionSecrets?.password,
    inputs.connectionSecrets?.privateKey,
    inputs.connectionSecrets?.privateKeyPassword,
  ];
  return s.filter((x): x is string => typeof x === "string");
}

function safeError(error: unknown, inputs: Partial<TrustInputs>[], suffix = ""): Error {
  const secrets = inputs.flatMap(secretsOf);
  const message = redact(`${(error as Error)?.message ?? String(error)}${suffix}`, secrets);
  return Object.assign(new Error(message), { code: (error as { code?: unknown })?.code });
}

/** Records written by earlier versions (caFiles / insecureEntry / authEntry), as entries. */
function recordEntries(record: unknown): EntryRecord[] {
  const r = (record ?? {}) as Record<string, unknown>;
  if (Array.isArray(r.entries)) return r.entries as EntryRecord[];
  const legacy: EntryRecord[] = [];
  for (const ca of (r.caFiles ?? []) as { path: string; root: string; preexisted: boolean }[]) {
    legacy.push({
      key: "ca.crt",
      path: ca.path,
      file: ca.path,
      dir: path.dirname(ca.path),
      root: ca.root,
      field: "certsDirs",
      preexisted: ca.preexisted,
      createdFile: !ca.preexisted,
      createdDir: true,
    });
  }
  for (const [kind, entry] of [
    ["insecure-registries", r.insecureEntry],
    ["auths", r.authEntry],
  ] as const) {
    const e = entry as {
      path: string;
      endpoint: string;
      preexisted: boolean;
      createdFile: boolean;
    };
    if (!e) continue;
    legacy.push({
      key: `${path.basename(e.path)}#${kind}/${e.endpoint}`,
      path: e.path,
      file: e.path,
      dir: path.dirname(e.path),
      root: path.dirname(e.path),
      field: kind === "auths" ? "clientConfigPath" : "daemonConfigPath",
      preexisted: e.preexisted,
      createdFile: e.createdFile,
      createdDir: false,
    });
  }
  return legacy;
}

function sameEntry(record: EntryRecord, spec: EntrySpec): boolean {
  return record.key === spec.key && (record.path === spec.file || record.file === spec.file);
}

/** The config.json in use: the one already written while the input stays unset. */
async function clientConfigFor(
  fs: HostFs,
  inputs: TrustInputs,
  previous: TrustOutputs | undefined,
): Promise<string | undefined> {
  if (inputs.login === undefined) return undefined;
  if (inputs.clientConfigPath === undefined && previous?.clientConfigPath === undefined) {
    const used = recordEntries(previous?.record).find((r) => r.key.includes("#auths/"));
    if (used) return used.path;
  }
  return resolveClientConfigPath(fs, inputs.clientConfigPath);
}

function touchesDaemonJson(journal: Attempt["journal"], from: number): boolean {
  return journal.slice(from).some((step) => /insecure-registries entry/.test(step.what));
}

async function rollBack(a: Attempt): Promise<string> {
  if (a.journal.length === 0) return " Nothing was written.";
  const failed: string[] = [];
  for (const step of [...a.journal].reverse()) {
    try {
      await step.undo();
    } catch (e) {
      failed.push(`${step.what} (${(e as Error).message})`);
    }
  }
  return failed.length === 0
    ? ` Everything this attempt wrote${a.fs.where === "this host" ? "" : ` on ${a.fs.where}`} was undone.`
    : ` Could not undo: ${failed.join("; ")}.`;
}

/**
 * Makes the host match `inputs` (create when `previous` is undefined, else update): writes what
 * is configured, removes what `previous` wrote that is no longer configured, and reloads dockerd
 * if daemon.json changed and `reloadDaemon` is set. A failure undoes every write of the attempt.
 */
export async function applyTrust(
  inputs: TrustInputs,
  previous?: TrustOutputs,
): Promise<TrustOutputs> {
  parseEndpoint(inputs.endpoint);
  let fs: HostFs;
  try {
    fs = await openHost(inputs);
  } catch (e) {
    throw safeError(e, [inputs]);
  }
  const a: Attempt = {
    fs,
    owner: inputs.owner,
    formerOwner: previous?.owner !== inputs.owner ? previous?.owner : undefined,
    adopt: inputs.adopt,
    journal: [],
  };
  try {
    const priorRecords = recordEntries(previous?.record);
    const specs = await planEntries(fs, inputs, await clientConfigFor(fs, inputs, previous));
    const entries: EntryRecord[] = [];
    for (const spec of specs) {
      const prior = priorRecords.find((r) => sameEntry(r, spec));
      const record = await ensureEntry(a, spec, prior);
      if (record !== undefined) entries.push(record);
    }
    if (previous !== undefined) {
      const keep = (r: EntryRecord) => entries.some((e) => e.key === r.key && e.path === r.path);
      const stale = priorRecords.filter((r) => !keep(r));
      if (stale.length > 0) {
        const priorSpecs = await planEntries(
          fs,
          previous,
          await clientConfigFor(fs, previous, previous),
        );
        for (const record of stale) {
          const spec = priorSpecs.find((s) => sameEntry(record, s));
          if (spec !== undefined) await removeEntry(a, spec, record);
        }
      }
    }
    if (touchesDaemonJson(a.journal, 0) && (inputs.reloadDaemon || previous?.reloadDaemon)) {
      await reloadDockerd(fs, inputs.pidFile);
    }
    const files = [...new Set(entries.map((e) => e.file))].sort();
    return { ...inputs, files, record: { entries }, drift: [] };
  } catch (e) {
    const undone = await rollBack(a);
    throw safeError(e, [inputs, previous ?? {}], undone);
  } finally {
    await fs.close();
  }
}

/**
 * Removes exactly what `outputs.record` says this resource wrote (entries other stacks still need
 * stay; entries the user had stay), and reloads dockerd if asked. Every entry is tried; the
 * errors are reported together.
 */
export async function removeTrust(outputs: TrustOutputs): Promise<void> {
  let fs: HostFs;
  try {
    fs = await openHost(outputs);
  } catch (e) {
    throw safeError(e, [outputs]);
  }
  const a: Attempt = {
    fs,
    owner: outputs.owner ?? `legacy/${outputs.endpoint}`,
    adopt: false,
    journal: [],
  };
  const errors: string[] = [];
  try {
    const records = recordEntries(outputs.record);
    const specs = await planEntries(fs, outputs, await clientConfigFor(fs, outputs, outputs));
    for (const record of records) {
      const spec = specs.find((s) => sameEntry(record, s));
      if (spec === undefined) continue;
      try {
        await removeEntry(a, spec, record);
      } catch (e) {
        errors.push((e as Error).message);
      }
    }
    if (touchesDaemonJson(a.journal, 0) && outputs.reloadDaemon) {
      await reloadDockerd(fs, outputs.pidFile).catch((e) => errors.push((e as Error).message));
    }
  } finally {
    await fs.close();
  }
  if (errors.length > 0) {
    throw safeError(new Error(errors.join("; ")), [outputs]);
  }
}

/**
 * Compares the host with what `outputs.record` says was written; one line per difference. Refresh
 * stores these in `drift`, and a non-empty `drift` makes the next diff plan an update that puts
 * everything back.
 */
export async function detectDrift(outputs: TrustOutputs): Promise<string[]> {
  let fs: HostFs;
  try {
    fs = await openHost(outputs);
  } catch (e) {
    return [safeError(e, [outputs]).message];
  }
  try {
    const specs = await planEntries(fs, outputs, await clientConfigFor(fs, outputs, outputs));
    const drift: string[] = [];
    for (const record of recordEntries(outputs.record)) {
      const spec = specs.find((s) => sameEntry(record, s));
      if (spec !== undefined) drift.push(...(await entryDrift(fs, spec, record)));
    }
    return drift.map((d) => safeError(new Error(d), [outputs]).message);
  } finally {
    await fs.close();
  }
}
