/**
 * Entries in dockerd's daemon.json (`insecure-registries`) and the docker CLI's config.json
 * (`auths[endpoint].auth`). Both files are merged, never overwritten: other keys, their order
 * and the indentation stay; a malformed file is an error and stays byte for byte as it was.
 * No message quotes a value from config.json (it holds credentials).
 *
 * Only Node built-ins and sibling modules are imported: this module is serialized into the
 * dynamic provider (see provider.ts).
 */
import * as path from "path";
import { EntrySpec } from "./entries";
import { Login } from "./inputs";
import { parseJsonObject, renderJson } from "./json";

/** The `auth` value docker stores for a login: base64 of `username:password`. */
export function dockerAuth(login: Login): string {
  return Buffer.from(`${login.username}:${login.password}`, "utf8").toString("base64");
}

function load(text: string | undefined, label: string, indent: string) {
  return parseJsonObject(text ?? "", label, indent);
}

/** `endpoint` listed under `insecure-registries` in daemon.json. */
export function insecureRegistrySpec(file: string, endpoint: string): EntrySpec {
  const label = `daemonConfigPath ${file}`;
  const list = (data: Record<string, unknown>): string[] => {
    const value = data["insecure-registries"];
    if (value === undefined) return [];
    if (!Array.isArray(value) || !value.every((x) => typeof x === "string")) {
      throw new Error(
        `${label}: "insecure-registries" must be a list of strings. The file was left ` +
          "unchanged; fix it and run again.",
      );
    }
    return value;
  };
  return {
    file,
    root: path.dirname(file),
    key: `${path.basename(file)}#insecure-registries/${endpoint}`,
    field: "daemonConfigPath",
    label: `insecure-registries entry ${endpoint} in ${file}`,
    desired: "listed",
    newMode: 0o644,
    foreign: "error",
    get: (text) => (list(load(text, label, "  ").data).includes(endpoint) ? "listed" : undefined),
    set: (text) => {
      const doc = load(text, label, "  ");
      doc.data["insecure-registries"] = [...list(doc.data), endpoint];
      return renderJson(doc.data, doc.indent, doc.trailingNewline);
    },
    // The key stays even when the list ends empty: dockerd's reload (SIGHUP) only applies keys
    // present in daemon.json, so dropping it would leave the endpoint insecure until a restart.
    unset: (text) => {
      const doc = load(text, label, "  ");
      doc.data["insecure-registries"] = list(doc.data).filter((x) => x !== endpoint);
      return renderJson(doc.data, doc.indent, doc.trailingNewline);
    },
  };
}

/**
 * `auths[endpoint].auth` in the docker client config. Refuses (file unchanged) when the config
 * sends this registry's credentials to a credential helper (`credsStore`, or
 * `credHelpers[endpoint]`): docker would ignore the entry, and a plain-text password next to a
 * store the user chose would undo that choice.
 */
export function authSpec(file: string, endpoint: string, login: Login): EntrySpec {
  const label = `clientConfigPath ${file}`;
  const auths = (data: Record<string, unknown>): Record<string, unknown> => {
    const value = data.auths;
    if (value === undefined) return {};
    if (typeof value !== "object" || value === null || Array.isArray(value)) {
      throw new Error(
        `${label}: "auths" must be an object. The file was left unchanged; fix it and run again.`,
      );
    }
    return value as Record<string, unknown>;
  };
  const entryOf = (all: Record<string, unknown>): Record<string, unknown> | undefined => {
    const entry = all[endpoint];
    if (entry === undefined) return undefined;
    if (typeof entry !== "object" || entry === null || Array.isArray(entry)) {
      throw new Error(
        `${label}: auths["${endpoint}"] must be an object. The file was left unchanged; fix it and run again.`,
      );
    }
    return entry as Record<string, unknown>;
  };
  const checkHelpers = (data: Record<string, unknown>) => {
    const helpers = data.credHelpers as Record<string, unknown> | undefined;
    const helper =
      helpers && typeof helpers === "object" && typeof helpers[endpoint] === "string"
        ? { key: `credHelpers["${endpoint}"]`, name: helpers[endpoint] as string }
        : typeof data.credsStore === "string" && data.credsStore !== ""
          ? { key: "credsStore", name: data.credsStore }
          : undefined;
    if (helper !== undefined) {
      throw new Error(
        `${label} sends credentials for ${endpoint} to the credential helper ` +
          `docker-credential-${helper.name} (${helper.key}), so docker would ignore an auths ` +
          "entry. The file was left unchanged. Either drop `login` and run the loginCommand " +
          "output once (docker then stores the password in the helper), or set clientConfigPath " +
          "to a config without a credential store (e.g. $DOCKER_CONFIG/config.json).",
      );
    }
  };
  return {
    file,
    root: path.dirname(file),
    key: `${path.basename(file)}#auths/${endpoint}`,
    field: "clientConfigPath",
    label: `auths["${endpoint}"] in ${file}`,
    desired: dockerAuth(login),
    newMode: 0o600,
    foreign: "error",
    get: (text) => {
      const data = load(text, label, "\t").data;
      checkHelpers(data);
      const auth = entryOf(auths(data))?.auth;
      return typeof auth === "string" ? auth : undefined;
    },
    set: (text, value) => {
      const doc = load(text, label, "\t");
      const all = auths(doc.data);
      all[endpoint] = { ...(entryOf(all) ?? {}), auth: value };
      doc.data.auths = all;
      return renderJson(doc.data, doc.indent, doc.trailingNewline);
    },
    unset: (text, createdFile) => {
      const doc = load(text, label, "\t");
      const all = auths(doc.data);
      const entry = entryOf(all);
      if (entry !== undefined) {
        delete entry.auth;
        if (Object.keys(entry).length === 0) delete all[endpoint];
      }
      // An empty "auths" goes too (docker treats it as absent): a file that had none is as it was.
      if (doc.data.auths !== undefined && Object.keys(all).length === 0) delete doc.data.auths;
      if (createdFile && Object.keys(doc.data).length === 0) return undefined;
      return renderJson(doc.data, doc.indent, doc.trailingNewline);
    },
  };
}
