/**
 * Input validation for RegistryCertificates, HtpasswdUsers and SecureRegistry.
 *
 * Every check is a pure function that throws `InvalidInputError` with a message naming the
 * component, the field, the problem and the fix. Values known at construction (plain values) are
 * checked synchronously, before any resource is declared. Values passed as Outputs or Promises
 * can only be checked once known: `whenKnown` runs the same check inside an apply, so a bad value
 * then fails the deployment of the resource that consumes it (resources that do not depend on it
 * may already exist by then).
 *
 * Messages never contain a password, key or other secret value.
 *
 * This module imports nothing from the package, so tls and auth can use it without a cycle.
 */
import * as pulumi from "@pulumi/pulumi";
import * as crypto from "crypto";
import * as net from "net";

/** A bad argument, reported before any resource exists when the value is known. */
export class InvalidInputError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "InvalidInputError";
  }
}

/** `SecureRegistry "reg"`: how messages name the component instance. */
export function componentLabel(kind: string, name: string): string {
  return `${kind} "${name}"`;
}

function fail(label: string, message: string): never {
  throw new InvalidInputError(`${label}: ${message}`);
}

/** True for an Output or a Promise: a value that is not known at construction. */
export function isDeferred(value: unknown): boolean {
  return pulumi.Output.isInstance(value) || value instanceof Promise;
}

/**
 * Runs `check` now when `value` is plain; otherwise inside an apply once the value is known,
 * returning the checked Output so the failure reaches the resource that consumes it.
 */
export function whenKnown<T>(
  value: pulumi.Input<T>,
  check: (v: T) => void,
): pulumi.Input<T> | pulumi.Output<T> {
  if (isDeferred(value)) {
    return pulumi.output(value).apply((v) => {
      check(v as T);
      return v;
    }) as pulumi.Output<T>;
  }
  check(value as T);
  return value;
}

// ---------------------------------------------------------------------------------------------
// Network names

export function validatePort(label: string, field: string, port: unknown): void {
  if (typeof port !== "number" || !Number.isInteger(port) || port < 1 || port > 65535) {
    fail(
      label,
      `${field} ${JSON.stringify(port)} is outside 1-65535; choose a free TCP port such as 5000 or 443.`,
    );
  }
}

const DNS_LABEL = /^[a-zA-Z0-9](?:[a-zA-Z0-9-]{0,61}[a-zA-Z0-9])?$/;

/** RFC 1123 host name (letters, digits, hyphens; labels of 1-63; 253 in all; TLD not numeric). */
export function isDnsName(value: string): boolean {
  if (value.length === 0 || value.length > 253) return false;
  const labels = value.split(".");
  if (!labels.every((l) => DNS_LABEL.test(l))) return false;
  return !/^[0-9]+$/.test(labels[labels.length - 1]);
}

export function validateHostname(label: string, field: string, value: unknown): void {
  if (typeof value !== "string" || !isDnsName(value)) {
    const hint =
      typeof value === "string" && net.isIP(value) !== 0
        ? " It is an IP address: put it in ipAddresses instead."
        : " Use letters, digits, hyphens and dots only, e.g. registry.example.com or localhost.";
    fail(label, `${field} ${JSON.stringify(value)} is not a valid DNS name.${hint}`);
  }
}

/** The registry's own name: a DNS name or an IP address. */
export function validateHostOrIp(label: string, field: string, value: unknown): void {
  if (typeof value === "string" && net.isIP(value) !== 0) return;
  if (typeof value !== "string" || !isDnsName(value)) {
    fail(
      label,
      `${field} ${JSON.stringify(value)} is neither a valid DNS name nor an IP address; ` +
        `use a name such as registry.example.com or localhost, or an address such as 10.0.0.5.`,
    );
  }
}

export function validateIp(label: string, field: string, value: unknown): void {
  if (typeof value !== "string" || net.isIP(value) === 0) {
    fail(
      label,
      `${field} ${JSON.stringify(value)} is not an IP address; use a literal IPv4 or IPv6 ` +
        `address such as 10.0.0.5 or fd00::5 (host names go in hostname/additionalHostnames).`,
    );
  }
}

export function validateBindAddress(label: string, field: string, value: unknown): void {
  if (typeof value !== "string" || net.isIP(value) === 0) {
    fail(
      label,
      `${field} ${JSON.stringify(value)} is not an IP address of this host; use 0.0.0.0 for ` +
        `all interfaces or an address such as 127.0.0.1.`,
    );
  }
}

// ---------------------------------------------------------------------------------------------
// Docker names and image

const DOCKER_NAME = /^[a-zA-Z0-9][a-zA-Z0-9_.-]+$/;

export function validateDockerName(label: string, field: string, value: unknown): void {
  if (typeof value !== "string" || !DOCKER_NAME.test(value)) {
    fail(
      label,
      `${field} ${JSON.stringify(value)} is not a valid Docker name; use at least two letters, ` +
        `digits, '_', '.' or '-', starting with a letter or digit.`,
    );
  }
}

export function validateImage(label: string, field: string, value: unknown): void {
  if (typeof value !== "string" || value === "" || /\s/.test(value)) {
    fail(
      label,
      `${field} ${JSON.stringify(value)} is not an image reference; use a name such as ` +
        `registry:2 or registry@sha256:<digest>.`,
    );
  }
}

// ---------------------------------------------------------------------------------------------
// Users and passwords

/** bcrypt reads only the first 72 bytes of a password. */
export const BCRYPT_MAX_PASSWORD_BYTES = 72;

export interface UserLike {
  readonly username: unknown;
  readonly password?: unknown;
}

export function validateUsername(label: string, field: string, username: unknown): void {
  if (typeof username !== "string" || username === "") {
    fail(label, `${field} is empty; give each user a name such as "ci" or "registry".`);
  }
  if (username.includes(":")) {
    fail(
      label,
      `${field} ${JSON.stringify(username)} contains ':', which separates name and hash in ` +
        `htpasswd and user and password in Basic auth; remove it.`,
    );
  }
  if (/[\s\p{Cc}]/u.test(username)) {
    fail(
      label,
      `${field} ${JSON.stringify(username)} contains whitespace or a control character; ` +
        `use a name without spaces, e.g. ${JSON.stringify(username.replace(/[\s\p{Cc}]+/gu, "-"))}.`,
    );
  }
}

/** A supplied password (its value never appears in messages). */
export function validatePassword(label: string, field: string, password: unknown): void {
  if (typeof password !== "string" || password === "") {
    fail(label, `${field} is empty; supply a password or omit it to have one generated.`);
  }
  const bytes = Buffer.byteLength(password, "utf8");
  if (bytes > BCRYPT_MAX_PASSWORD_BYTES) {
    fail(
      label,
      `${field} is ${bytes} bytes (UTF-8) but bcrypt only uses the first ` +
        `${BCRYPT_MAX_PASSWORD_BYTES}; use a password of at most ${BCRYPT_MAX_PASSWORD_BYTES} bytes.`,
    );
  }
}

/**
 * The user list: not empty, names valid and unique. Passwords that are plain strings are checked
 * here; Output passwords must be checked with `whenKnown` where they are consumed.
 */
export function validateUsers(label: string, field: string, users: unknown): void {
  if (!Array.isArray(users) || users.length === 0) {
    fail(
      label,
      `${field} is empty; list at least one user, e.g. [{ username: "ci" }] (its password is ` +
        `generated), or omit ${field} for one generated user.`,
    );
  }
  const seen = new Map<string, number>();
  users.forEach((user: UserLike, i) => {
    if (typeof user !== "object" || user === null) {
      fail(label, `${field}[${i}] is not an object; use { username, password? }.`);
    }
    validateUsername(label, `${field}[${i}].username`, user.username);
    const username = user.username as string;
    const first = seen.get(username);
    if (first !== undefined) {
      fail(
        label,
        `${field}[${i}].username ${JSON.stringify(username)} duplicates ${field}[${first}]; ` +
          `each user needs a unique name.`,
      );
    }
    seen.set(username, i);
    if (user.password !== undefined && !isDeferred(user.password)) {
      validatePassword(label, `${field}[${i}].password`, user.password);
    }
  });
}

// ---------------------------------------------------------------------------------------------
// Settings with a fixed set of values

export const LOG_LEVELS = ["error", "warn", "info", "debug"] as const;
export type LogLevel = (typeof LOG_LEVELS)[number];

export const TLS_VERSIONS = ["tls1.2", "tls1.3"] as const;
export type TlsVersion = (typeof TLS_VERSIONS)[number];

export const KEY_ALGORITHMS = ["RSA", "ECDSA"] as const;
export type KeyAlgorithm = (typeof KEY_ALGORITHMS)[number];

export const RSA_KEY_SIZES = [2048, 3072, 4096] as const;

function validateOneOf(
  label: string,
  field: string,
  value: unknown,
  allowed: readonly (string | number)[],
): void {
  if (!allowed.includes(value as string | number)) {
    fail(
      label,
      `${field} ${JSON.stringify(value)} is not supported; use one of ` +
        `${allowed.map((a) => JSON.stringify(a)).join(", ")}.`,
    );
  }
}

export function validateLogLevel(label: string, field: string, value: unknown): void {
  validateOneOf(label, field, value, LOG_LEVELS);
}

export function validateTlsVersion(label: string, field: string, value: unknown): void {
  validateOneOf(label, field, value, TLS_VERSIONS);
}

export function validateKeyAlgorithm(label: string, field: string, value: unknown): void {
  validateOneOf(label, field, value, KEY_ALGORITHMS);
}

export function validateRsaBits(label: string, field: string, value: unknown): void {
  validateOneOf(label, field, value, RSA_KEY_SIZES);
}

export function validateDays(
  label: string,
  field: string,
  value: unknown,
  options: { min: number },
): void {
  if (typeof value !== "number" || !Number.isInteger(value) || value < options.min) {
    fail(
      label,
      `${field} ${JSON.stringify(value)} is not a whole number of days >= ${options.min}; ` +
        `use e.g. ${Math.max(options.min, 30)}.`,
    );
  }
}

/** Validity and renewal windows: renewal must start before expiry, the CA must outlive the cert. */
export function validateValidity(
  label: string,
  prefix: string,
  v: { validityDays: number; caValidityDays: number; earlyRenewalDays: number },
): void {
  validateDays(label, `${prefix}validityDays`, v.validityDays, { min: 1 });
  validateDays(label, `${prefix}caValidityDays`, v.caValidityDays, { min: 1 });
  validateDays(label, `${prefix}earlyRenewalDays`, v.earlyRenewalDays, { min: 0 });
  if (v.earlyRenewalDays >= v.validityDays) {
    fail(
      label,
      `${prefix}earlyRenewalDays ${v.earlyRenewalDays} is not less than ${prefix}validityDays ` +
        `${v.validityDays}, so the certificate would be renewed on every run; make it smaller.`,
    );
  }
  if (v.caValidityDays < v.validityDays) {
    fail(
      label,
      `${prefix}caValidityDays ${v.caValidityDays} is shorter than ${prefix}validityDays ` +
        `${v.validityDays}: the server certificate would outlive its CA; make the CA's longer.`,
    );
  }
}

// ---------------------------------------------------------------------------------------------
// Bring-your-own certificate

export interface OwnCertificateLike {
  readonly certPem?: unknown;
  readonly privateKeyPem?: unknown;
  readonly caCertPem?: unknown;
}

const OWN_CERT_FIELDS = ["certPem", "privateKeyPem", "caCertPem"] as const;

/** All three PEMs or none. Returns true when the user brings their own. */
export function validateOwnCertificate(
  label: string,
  prefix: string,
  own: OwnCertificateLike,
): boolean {
  const given = OWN_CERT_FIELDS.filter((f) => own[f] !== undefined);
  if (given.length === 0) return false;
  if (given.length < OWN_CERT_FIELDS.length) {
    const missing = OWN_CERT_FIELDS.filter((f) => own[f] === undefined);
    fail(
      label,
      `${given.map((f) => prefix + f).join(" and ")} given without ` +
        `${missing.map((f) => prefix + f).join(" and ")}; bring your own certificate with all ` +
        `three of ${prefix}certPem, ${prefix}privateKeyPem and ${prefix}caCertPem, or none to ` +
        `have them generated.`,
    );
  }
  return true;
}

/** Shape check of a PEM (the value itself is never echoed). */
export function validatePem(
  label: string,
  field: string,
  value: unknown,
  kind: "CERTIFICATE" | "PRIVATE KEY",
): void {
  const pattern =
    kind === "CERTIFICATE"
      ? /-----BEGIN CERTIFICATE-----[\s\S]+-----END CERTIFICATE-----/
      : /-----BEGIN (?:RSA |EC )?PRIVATE KEY-----[\s\S]+-----END (?:RSA |EC )?PRIVATE KEY-----/;
  if (typeof value !== "string" || !pattern.test(value)) {
    fail(
      label,
      `${field} is not a PEM ${kind.toLowerCase()} (expected a "-----BEGIN ${kind}-----" ` +
        `block); pass the file's contents, not its path.`,
    );
  }
}

/**
 * A certificate the user brings must belong to its key and name the registry, or no client could
 * use it. Checked when the PEMs and names are plain values.
 */
export function validateOwnCertificateFits(
  label: string,
  prefix: string,
  pems: { certPem: string; privateKeyPem: string },
  names: { dnsNames: string[]; ipAddresses: string[] },
): void {
  let cert: crypto.X509Certificate;
  try {
    cert = new crypto.X509Certificate(pems.certPem);
  } catch {
    fail(label, `${prefix}certPem cannot be read as an X.509 certificate; pass the PEM text.`);
  }
  let key: crypto.KeyObject;
  try {
    key = crypto.createPrivateKey(pems.privateKeyPem);
  } catch {
    fail(
      label,
      `${prefix}privateKeyPem cannot be read as a private key (encrypted keys are not ` +
        `supported); pass the unencrypted PEM text.`,
    );
  }
  if (!cert.checkPrivateKey(key)) {
    fail(
      label,
      `${prefix}privateKeyPem is not the key of ${prefix}certPem; pass the key the certificate ` +
        `was issued for.`,
    );
  }
  const sans = cert.subjectAltName ?? "none";
  for (const dns of names.dnsNames) {
    if (cert.checkHost(dns, { subject: "never" }) === undefined) {
      fail(
        label,
        `${prefix}certPem does not cover the name ${JSON.stringify(dns)} (its SANs: ${sans}); ` +
          `use a certificate with that name as a SAN, or leave it out of the names.`,
      );
    }
  }
  for (const ip of names.ipAddresses) {
    if (cert.checkIP(ip) === undefined) {
      fail(
        label,
        `${prefix}certPem does not cover the address ${ip} (its SANs: ${sans}); use a ` +
          `certificate with that IP SAN, or leave it out of ipAddresses.`,
      );
    }
  }
}

// ---------------------------------------------------------------------------------------------
// Environment overrides and proxy

const ENV_KEY = /^REGISTRY_[A-Z0-9_]+$/;

/**
 * Settings the component owns, as key patterns with the option that controls each. Keys a user
 * sets through `env` must not change them, or the component's files, health check and outputs
 * would no longer describe the running registry.
 */
const OWNED_ENV: { pattern: RegExp; useInstead: string }[] = [
  { pattern: /^REGISTRY_HTTP_ADDR$/, useInstead: "port and bindAddress" },
  { pattern: /^REGISTRY_HTTP_NET$/, useInstead: "port and bindAddress" },
  {
    pattern: /^REGISTRY_HTTP_TLS_(CERTIFICATE|KEY)$/,
    useInstead: "tls.certPem, tls.privateKeyPem and tls.caCertPem",
  },
  { pattern: /^REGISTRY_HTTP_TLS_MINIMUMTLS$/, useInstead: "tls.minimumVersion" },
  { pattern: /^REGISTRY_HTTP_TLS_LETSENCRYPT(_|$)/, useInstead: "tls (own certificate PEMs)" },
  { pattern: /^REGISTRY_AUTH($|_)/, useInstead: "users and realm" },
  { pattern: /^REGISTRY_LOG_LEVEL$|^REGISTRY_LOGLEVEL$/, useInstead: "logLevel" },
  { pattern: /^REGISTRY_STORAGE_DELETE_ENABLED$/, useInstead: "storage.deleteEnabled" },
  {
    pattern: /^REGISTRY_STORAGE_FILESYSTEM_ROOTDIRECTORY$/,
    useInstead: "storage.volumeName (data lives in that volume at /var/lib/registry)",
  },
  {
    // The image's config file names the filesystem driver; naming a second one panics the registry.
    pattern:
      /^REGISTRY_STORAGE$|^REGISTRY_STORAGE_(?!DELETE_|CACHE_|MAINTENANCE_|REDIRECT_|TAG_|FILESYSTEM_)/,
    useInstead:
      "storage (the image's config already names the filesystem driver, and naming a second " +
      "driver panics the registry)",
  },
  { pattern: /^REGISTRY_PROXY($|_)/, useInstead: "proxy" },
  { pattern: /^REGISTRY_HTTP_DEBUG_ADDR$/, useInstead: "nothing: the health check needs it" },
  {
    pattern: /^REGISTRY_HEALTH_STORAGEDRIVER_/,
    useInstead: "nothing: the health check needs it",
  },
];

/** `env` keys must be REGISTRY_... and not owned; values must be single-line. */
export function validateEnvKey(label: string, field: string, key: string): void {
  if (!ENV_KEY.test(key)) {
    fail(
      label,
      `${field} key ${JSON.stringify(key)} is not a registry setting; env only takes ` +
        `REGISTRY_<SECTION>_<KEY> names in upper case, e.g. REGISTRY_HTTP_SECRET.`,
    );
  }
  const owned = OWNED_ENV.find((o) => o.pattern.test(key));
  if (owned) {
    fail(
      label,
      `${field} key ${key} would override a setting this component owns; use ` +
        `${owned.useInstead} instead.`,
    );
  }
}

/** No line breaks or NUL in a value passed as an environment variable. */
export function validateSingleLine(label: string, field: string, value: unknown): void {
  if (typeof value !== "string") {
    fail(label, `${field} is not a string; environment values are strings.`);
  }
  if (/[\r\n\0]/.test(value)) {
    fail(
      label,
      `${field} contains a line break or NUL, which an environment variable cannot carry ` +
        `safely; remove it.`,
    );
  }
}

export function validateProxyUrl(label: string, field: string, value: unknown): void {
  let ok = false;
  if (typeof value === "string" && !/[\s]/.test(value)) {
    try {
      const url = new URL(value);
      ok = (url.protocol === "http:" || url.protocol === "https:") && url.hostname !== "";
    } catch {
      ok = false;
    }
  }
  if (!ok) {
    fail(
      label,
      `${field} ${JSON.stringify(value)} is not an http(s) URL; use the upstream registry's ` +
        `address, e.g. https://registry-1.docker.io.`,
    );
  }
}

/** Proxy credentials come as a pair. */
export function validateProxyCredentials(
  label: string,
  prefix: string,
  proxy: { username?: unknown; password?: unknown },
): void {
  const hasUser = proxy.username !== undefined;
  const hasPassword = proxy.password !== undefined;
  if (hasUser !== hasPassword) {
    const [given, missing] = hasUser ? ["username", "password"] : ["password", "username"];
    fail(
      label,
      `${prefix}${given} is set without ${prefix}${missing}; give both to authenticate to the ` +
        `upstream registry, or neither for anonymous pulls.`,
    );
  }
}

export function validateRealm(label: string, field: string, value: unknown): void {
  if (typeof value !== "string" || value.trim() === "") {
    fail(label, `${field} is empty; use a short text such as "Registry realm".`);
  }
  validateSingleLine(label, field, value);
}
