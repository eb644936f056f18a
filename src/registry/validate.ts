/**
 * Checks of the options only SecureRegistry has: its env overrides, proxy, realm, log level and
 * TLS version. Shared checks live in src/common, certificate checks in src/tls, user checks in
 * src/auth. Every check throws an InvalidInputError naming the field, the problem and the fix;
 * messages never contain a password.
 */
import { checkOneOf, describeValue, fail } from "../common/checks";

export const LOG_LEVELS = ["error", "warn", "info", "debug"] as const;
export type LogLevel = (typeof LOG_LEVELS)[number];

export const TLS_VERSIONS = ["tls1.2", "tls1.3"] as const;
export type TlsVersion = (typeof TLS_VERSIONS)[number];

export function validateLogLevel(label: string, field: string, value: unknown): void {
  checkOneOf(label, field, value, LOG_LEVELS);
}

export function validateTlsVersion(label: string, field: string, value: unknown): void {
  checkOneOf(label, field, value, TLS_VERSIONS);
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
    // The config file names exactly one driver; naming a second one through env panics the registry.
    pattern: /^REGISTRY_STORAGE$|^REGISTRY_STORAGE_(?!CACHE_|MAINTENANCE_|REDIRECT_|TAG_)/,
    useInstead:
      "storage (the component's config names the storage driver; naming a second " +
      "driver panics the registry)",
  },
  {
    pattern: /^REGISTRY_HTTP_SECRET$/,
    useInstead: "httpSecret (generated and kept in state by default)",
  },
  {
    pattern: /^REGISTRY_HTTP_TLS_CLIENTCAS/,
    useInstead: "tls.clientCertificates or tls.clientCaCertPem",
  },
  { pattern: /^REGISTRY_VERSION$/, useInstead: "nothing: the component writes the config version" },
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
      `${field}.${key}`,
      `${field} key ${JSON.stringify(key)} is not a registry setting; env only takes ` +
        `REGISTRY_<SECTION>_<KEY> names in upper case, e.g. REGISTRY_HTTP_SECRET.`,
    );
  }
  const owned = OWNED_ENV.find((o) => o.pattern.test(key));
  if (owned) {
    fail(
      label,
      `${field}.${key}`,
      `${field} key ${key} would override a setting this component owns; use ` +
        `${owned.useInstead} instead.`,
    );
  }
}

/** No line breaks or NUL in a value passed as an environment variable. */
export function validateSingleLine(label: string, field: string, value: unknown): void {
  if (typeof value !== "string") {
    fail(
      label,
      field,
      `${field} is ${describeValue(value)}, not a string; environment values are strings.`,
    );
  }
  if (/[\r\n\0]/.test(value)) {
    fail(
      label,
      field,
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
      field,
      `${field} ${describeValue(value)} is not an http(s) URL; use the upstream registry's ` +
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
      `${prefix}${missing}`,
      `${prefix}${given} is set without ${prefix}${missing}; give both to authenticate to the ` +
        `upstream registry, or neither for anonymous pulls.`,
    );
  }
}

export function validateRealm(label: string, field: string, value: unknown): void {
  if (typeof value !== "string" || value.trim() === "") {
    fail(label, field, `${field} is empty; use a short text such as "Registry realm".`);
  }
  validateSingleLine(label, field, value);
}
