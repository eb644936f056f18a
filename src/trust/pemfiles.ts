/**
 * Whole-file PEM entries: `ca.crt` (0644), `client.cert` (0644) and `client.key` (0600) in a
 * per-registry directory (certs.d, containerd's hosts dir, BuildKit's certs dir).
 *
 * Only Node built-ins and sibling modules are imported: this module is serialized into the
 * dynamic provider (see provider.ts).
 */
import * as crypto from "crypto";
import * as path from "path";
import { EntrySpec } from "./entries";

/** The PEM as written to disk: LF line endings, one trailing newline. */
export function normalizePem(pem: string): string {
  return pem.replace(/\r\n/g, "\n").trim() + "\n";
}

export function sha256(text: string): string {
  return crypto.createHash("sha256").update(text).digest("hex");
}

/** A PEM file owned whole: `<dir>/<name>` holding `pem`. */
export function pemFileSpec(options: {
  readonly root: string;
  readonly dir: string;
  readonly name: "ca.crt" | "client.cert" | "client.key";
  readonly pem: string;
  readonly field: string;
}): EntrySpec {
  const file = path.join(options.dir, options.name);
  const secret = options.name === "client.key";
  return {
    file,
    root: options.root,
    key: options.name,
    field: options.field,
    label: file,
    desired: normalizePem(options.pem),
    newMode: secret ? 0o600 : 0o644,
    foreign: "error",
    get: (text) => (text === undefined ? undefined : normalizePem(text)),
    set: (_text, value) => value,
    unset: () => undefined,
  };
}
