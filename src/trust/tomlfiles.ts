/**
 * Entries in containerd's `hosts.toml` and BuildKit's `buildkitd.toml`, merged with smol-toml:
 * other hosts' and registries' entries and every other key stay. TOML comments other than the
 * file's leading comment block are not kept (the parser does not carry them); the docs say so.
 * Parse errors name the line and column only, never the text.
 *
 * Only Node built-ins and sibling modules are imported: this module is serialized into the
 * dynamic provider (see provider.ts). smol-toml is required where it is used: its CommonJS exports
 * carry a `default` copy of themselves, which Pulumi's closure serializer takes for TypeScript's
 * import-star wrapper and would copy by value (and fail on); a `require` in the function body is
 * resolved by the provider host from the project's node_modules instead.
 */
import * as path from "path";
import { EntrySpec } from "./entries";
import { stableJson } from "./inputs";

type Table = Record<string, unknown>;

function tomlLibrary(): typeof import("smol-toml") {
  return require("smol-toml") as typeof import("smol-toml");
}

interface TomlDoc {
  readonly data: Table;
  readonly header: string;
}

function parse(text: string | undefined, label: string): TomlDoc {
  if (text === undefined || text.trim() === "") return { data: {}, header: "" };
  const header = /^(?:[ \t]*(?:#[^\n]*)?\n)*/.exec(text)?.[0] ?? "";
  try {
    return { data: tomlLibrary().parse(text) as Table, header: header.trimStart() };
  } catch (e) {
    const where = e as { line?: number; column?: number };
    throw new Error(
      `${label} is not valid TOML: line ${where.line ?? "?"}, column ${where.column ?? "?"}. ` +
        "The file was left unchanged; fix it (or move it away) and run again.",
    );
  }
}

function render(doc: TomlDoc): string {
  const body = tomlLibrary().stringify(doc.data);
  return doc.header + (body.endsWith("\n") ? body : body + "\n");
}

function tableAt(data: Table, key: string, label: string): Table | undefined {
  const value = data[key];
  if (value === undefined) return undefined;
  if (typeof value !== "object" || value === null || Array.isArray(value)) {
    throw new Error(
      `${label}: "${key}" must be a table. The file was left unchanged; fix it and run again.`,
    );
  }
  return value as Table;
}

function isEmpty(data: Table): boolean {
  return Object.keys(data).length === 0;
}

/** containerd: `server = "https://<endpoint>"` in `<hostsDir>/<name>/hosts.toml`, only if unset. */
export function containerdServerSpec(root: string, dir: string, endpoint: string): EntrySpec {
  const file = path.join(dir, "hosts.toml");
  const label = `containerd.hostsDir ${file}`;
  return {
    file,
    root,
    key: "hosts.toml#server",
    field: "containerd.hostsDir",
    label: `server in ${file}`,
    desired: `https://${endpoint}`,
    newMode: 0o644,
    // A server the user chose (e.g. an upstream behind this registry) is left alone.
    foreign: "skip",
    get: (text) => {
      const server = parse(text, label).data.server;
      return typeof server === "string" ? server : undefined;
    },
    set: (text, value) => {
      const doc = parse(text, label);
      const rest = { ...doc.data };
      delete rest.server;
      // `server` first: it names the registry the file is about.
      return render({ ...doc, data: { server: value, ...rest } });
    },
    unset: (text, createdFile) => {
      const doc = parse(text, label);
      delete doc.data.server;
      return createdFile && isEmpty(doc.data) ? undefined : render(doc);
    },
  };
}

/** containerd: `[host."https://<endpoint>"]` with capabilities, ca and the client pair. */
export function containerdHostSpec(
  root: string,
  dir: string,
  endpoint: string,
  table: { capabilities: string[]; ca: string; client?: [string, string] },
): EntrySpec {
  const file = path.join(dir, "hosts.toml");
  const label = `containerd.hostsDir ${file}`;
  const url = `https://${endpoint}`;
  const wanted: Table = { capabilities: table.capabilities, ca: table.ca };
  if (table.client) wanted.client = [table.client];
  return {
    file,
    root,
    key: `hosts.toml#host/${url}`,
    field: "containerd.hostsDir",
    label: `[host."${url}"] in ${file}`,
    desired: stableJson(wanted),
    newMode: 0o644,
    foreign: "error",
    get: (text) => {
      const hosts = tableAt(parse(text, label).data, "host", label);
      const entry = hosts?.[url];
      return entry === undefined ? undefined : stableJson(entry);
    },
    set: (text, value) => {
      const doc = parse(text, label);
      const hosts = tableAt(doc.data, "host", label) ?? {};
      hosts[url] = JSON.parse(value);
      doc.data.host = hosts;
      return render(doc);
    },
    unset: (text, createdFile) => {
      const doc = parse(text, label);
      const hosts = tableAt(doc.data, "host", label);
      if (hosts !== undefined) {
        delete hosts[url];
        if (isEmpty(hosts)) delete doc.data.host;
      }
      return createdFile && isEmpty(doc.data) ? undefined : render(doc);
    },
  };
}

/** BuildKit: `ca` (and `keypair`) of `[registry."<name>"]` in buildkitd.toml; other keys stay. */
export function buildkitRegistrySpec(
  file: string,
  name: string,
  wanted: { ca: string; keypair?: { key: string; cert: string } },
): EntrySpec {
  const label = `buildkit.configPath ${file}`;
  const ours = (entry: Table | undefined): string | undefined => {
    if (entry === undefined || (entry.ca === undefined && entry.keypair === undefined)) {
      return undefined;
    }
    return stableJson({ ca: entry.ca, keypair: entry.keypair });
  };
  const desired: Table = { ca: [wanted.ca] };
  if (wanted.keypair) desired.keypair = [wanted.keypair];
  return {
    file,
    root: path.dirname(file),
    key: `${path.basename(file)}#registry/${name}`,
    field: "buildkit.configPath",
    label: `ca of [registry."${name}"] in ${file}`,
    desired: stableJson(desired),
    newMode: 0o644,
    foreign: "error",
    get: (text) => {
      const registries = tableAt(parse(text, label).data, "registry", label);
      return ours(registries ? tableAt(registries, name, label) : undefined);
    },
    set: (text, value) => {
      const doc = parse(text, label);
      const registries = tableAt(doc.data, "registry", label) ?? {};
      const entry = tableAt(registries, name, label) ?? {};
      const next = JSON.parse(value) as Table;
      entry.ca = next.ca;
      if (next.keypair !== undefined) entry.keypair = next.keypair;
      else delete entry.keypair;
      registries[name] = entry;
      doc.data.registry = registries;
      return render(doc);
    },
    unset: (text, createdFile) => {
      const doc = parse(text, label);
      const registries = tableAt(doc.data, "registry", label);
      const entry = registries ? tableAt(registries, name, label) : undefined;
      if (registries && entry) {
        delete entry.ca;
        delete entry.keypair;
        if (isEmpty(entry)) delete registries[name];
        if (isEmpty(registries)) delete doc.data.registry;
      }
      return createdFile && isEmpty(doc.data) ? undefined : render(doc);
    },
  };
}
