/**
 * The registry's configuration, decided without Pulumi: a small config file, `REGISTRY_*`
 * environment variables, and secret env files.
 *
 * Why three parts:
 * - The container's `uploads` input is one value to Pulumi: one secret file in it (the key, the
 *   htpasswd) makes the whole list secret in state and in previews. Settings users change must be
 *   readable in a PR preview, so they are not uploaded but set in `envs`, one `REGISTRY_*` entry
 *   each; and every secret setting is an upload (a `KEY=value` file the launcher exports), never an
 *   entry of `envs`.
 * - distribution parses every `REGISTRY_*` value as YAML: a realm `a: b` or a value `x #y` would be
 *   misread. `renderEnvValue` writes each value so that YAML reads back exactly the text given.
 * - The config file names exactly one storage driver (naming a second one through env panics the
 *   registry) and holds the few structural settings env cannot express. It does not depend on the
 *   image's own config file (registry:3 moved it).
 *
 * The container starts through `LAUNCHER_SCRIPT`: a few lines of POSIX sh that export each env
 * file's `KEY=value` lines and exec `registry serve <config.yml>`.
 */
import * as YAML from "yaml";

/** Where the component's files live inside the container. */
export const CONFIG_PATHS = {
  /** The config file the launcher serves (see `renderBaseConfig`). */
  config: "/etc/secure-registry/config.yml",
  /** Directory of `KEY=value` files the launcher exports before starting the registry. */
  envDir: "/etc/secure-registry/env",
  /** The registry binary (in registry:2, registry:3 and the test stand-in alike). */
  registryBinary: "/bin/registry",
} as const;

/**
 * The container's entrypoint script: exports every `KEY=value` line of the files in the env
 * directory (a missing directory is fine), then replaces itself with the registry so it is PID 1
 * and receives SIGTERM. `read -r` with an empty IFS keeps every character of the value.
 */
export const LAUNCHER_SCRIPT = [
  "set -e",
  `for f in ${CONFIG_PATHS.envDir}/*.env; do`,
  '  [ -f "$f" ] || continue',
  '  while IFS= read -r line || [ -n "$line" ]; do',
  '    case "$line" in REGISTRY_*=*) export "$line" ;; esac',
  '  done < "$f"',
  "done",
  `exec ${CONFIG_PATHS.registryBinary} serve ${CONFIG_PATHS.config}`,
].join("\n");

/** The container's `entrypoints` input: `sh -c <launcher>` (the image's entrypoint is replaced). */
export function launcherEntrypoint(): string[] {
  return ["/bin/sh", "-c", LAUNCHER_SCRIPT, "secure-registry-launcher"];
}

/**
 * A value for a `REGISTRY_*` variable such that distribution's YAML parsing yields exactly
 * `text`. A plain scalar that YAML reads back as the same text is kept as is; anything YAML would
 * read differently (`a: b`, `- a`, `*ref`, `x #y`, `null`, `~`, quotes, leading or trailing
 * blanks...) becomes a double-quoted scalar.
 *
 * `kind` says what the setting is: for a `"string"` setting, text YAML 1.1 would read as a
 * boolean, number or null (`yes`, `on`, `10`) is quoted too; for a setting of `"unknown"` type (a
 * user's `env` entry), such text stays plain, so `true` and `5000` still reach typed settings.
 */
export function renderEnvValue(text: string, kind: "string" | "unknown" = "unknown"): string {
  if (text !== "" && text === text.trim()) {
    const doc = YAML.parseDocument(text, { version: "1.1" });
    const node = doc.contents;
    if (
      doc.errors.length === 0 &&
      doc.warnings.length === 0 &&
      !doc.commentBefore &&
      !doc.comment &&
      YAML.isScalar(node) &&
      node.type === YAML.Scalar.PLAIN &&
      !node.comment &&
      !node.tag &&
      !node.anchor &&
      node.value !== null &&
      node.source === text &&
      (kind === "unknown" || node.value === text)
    ) {
      return text;
    }
  }
  return JSON.stringify(text);
}

/** One secret env file: `KEY=value` lines, values rendered for YAML, sorted by key. */
export function renderEnvFile(entries: Record<string, string>): string {
  return Object.keys(entries)
    .sort()
    .map((key) => `${key}=${renderEnvValue(entries[key], "string")}\n`)
    .join("");
}

/**
 * Keys whose values are secret whatever the caller passed: they end up in a file whose content is
 * marked secret even when given as a plain string.
 */
const SECRET_KEY =
  /(SECRET|PASSWORD|PASSWD|TOKEN|ACCESSKEY|SECRETKEY|CREDENTIAL|PRIVATEKEY|APIKEY)/;

export function isSecretEnvKey(key: string): boolean {
  return SECRET_KEY.test(key.replace(/_/g, ""));
}

/** The registry settings the component owns (everything but secrets and user env). */
export interface RegistryConfigSettings {
  /** `host:port` the registry listens on inside the container. */
  readonly listenAddress: string;
  readonly tls: {
    readonly certificate: string;
    readonly key: string;
    readonly minimumVersion: string;
    /** CA certificate files of accepted client certificates (mTLS); none: no client certificates. */
    readonly clientCas?: readonly string[];
  };
  /** htpasswd auth; none: every request is allowed (an anonymous pull-through cache). */
  readonly auth?: { readonly realm: string; readonly htpasswdPath: string };
  readonly logLevel: string;
  readonly storage: {
    readonly deleteEnabled: boolean;
    /** The one storage driver, e.g. `filesystem` or `s3`. */
    readonly driver: string;
    /** Its non-secret parameters, e.g. `{ rootdirectory: "/var/lib/registry" }`. */
    readonly parameters: Record<string, string | number | boolean>;
    /** Serve blobs through the registry instead of redirecting clients to the store. */
    readonly redirectDisabled?: boolean;
  };
  readonly proxy?: { readonly remoteUrl: string; readonly username?: string };
  /** Loopback address of the debug server the health check probes. */
  readonly debugAddress: string;
  /** Redis for the blob descriptor cache (its password is a secret setting, not here). */
  readonly redis?: { readonly address: string; readonly db?: number };
  /**
   * How long the registry keeps serving open connections after SIGTERM (a Go duration); none:
   * it stops at once.
   */
  readonly drainTimeout?: string;
}

/**
 * `config.yml`: what env cannot express (the storage driver's name, response headers) and
 * nothing users change day to day, so it never needs to be readable in a preview.
 */
export function renderBaseConfig(storageDriver: string): string {
  return YAML.stringify(
    {
      version: 0.1,
      log: { fields: { service: "registry" } },
      // A user's env may switch the cache off or to redis: REGISTRY_STORAGE_CACHE_BLOBDESCRIPTOR.
      storage: { [storageDriver]: {}, cache: { blobdescriptor: "inmemory" } },
      http: { headers: { "X-Content-Type-Options": ["nosniff"] } },
    },
    { version: "1.1", lineWidth: 0 },
  );
}

/** A setting's raw value; a list is a YAML sequence (e.g. `http.tls.clientcas`). */
export type RegistryEnvValue = string | number | boolean | readonly string[];

/** The component's settings as `REGISTRY_*` variables (raw values; see `renderContainerEnv`). */
export function registryEnv(settings: RegistryConfigSettings): Record<string, RegistryEnvValue> {
  const env: Record<string, RegistryEnvValue> = {
    REGISTRY_HTTP_ADDR: settings.listenAddress,
    REGISTRY_HTTP_TLS_CERTIFICATE: settings.tls.certificate,
    REGISTRY_HTTP_TLS_KEY: settings.tls.key,
    REGISTRY_HTTP_TLS_MINIMUMTLS: settings.tls.minimumVersion,
    REGISTRY_LOG_LEVEL: settings.logLevel,
    REGISTRY_STORAGE_DELETE_ENABLED: settings.storage.deleteEnabled,
    REGISTRY_HTTP_DEBUG_ADDR: settings.debugAddress,
    // Set explicitly so /debug/health reports the storage driver's state.
    REGISTRY_HEALTH_STORAGEDRIVER_ENABLED: true,
    REGISTRY_HEALTH_STORAGEDRIVER_INTERVAL: "10s",
    REGISTRY_HEALTH_STORAGEDRIVER_THRESHOLD: 3,
  };
  if (settings.auth) {
    env.REGISTRY_AUTH = "htpasswd";
    env.REGISTRY_AUTH_HTPASSWD_REALM = settings.auth.realm;
    env.REGISTRY_AUTH_HTPASSWD_PATH = settings.auth.htpasswdPath;
  }
  const driver = settings.storage.driver.toUpperCase();
  for (const [key, value] of Object.entries(settings.storage.parameters)) {
    env[`REGISTRY_STORAGE_${driver}_${key.toUpperCase()}`] = value;
  }
  if (settings.storage.redirectDisabled !== undefined) {
    env.REGISTRY_STORAGE_REDIRECT_DISABLE = settings.storage.redirectDisabled;
  }
  if (settings.tls.clientCas !== undefined && settings.tls.clientCas.length > 0) {
    // The whole list in one variable: distribution 2.8 ignores an indexed
    // REGISTRY_HTTP_TLS_CLIENTCAS_0 without a word (and the registry then asks for no client
    // certificate at all); distribution 3 appends an empty path for it.
    env.REGISTRY_HTTP_TLS_CLIENTCAS = [...settings.tls.clientCas];
  }
  if (settings.proxy) {
    env.REGISTRY_PROXY_REMOTEURL = settings.proxy.remoteUrl;
    if (settings.proxy.username !== undefined) {
      env.REGISTRY_PROXY_USERNAME = settings.proxy.username;
    }
  }
  if (settings.drainTimeout !== undefined) {
    env.REGISTRY_HTTP_DRAINTIMEOUT = settings.drainTimeout;
  }
  if (settings.redis) {
    env.REGISTRY_STORAGE_CACHE_BLOBDESCRIPTOR = "redis";
    env.REGISTRY_REDIS_ADDR = settings.redis.address;
    if (settings.redis.db !== undefined) env.REGISTRY_REDIS_DB = settings.redis.db;
  }
  return env;
}

/**
 * The container's `envs`: the component's settings and the user's non-secret `env` entries as
 * `KEY=value`, values rendered for distribution's YAML parsing (the component's string settings
 * always as strings), sorted by key so the same settings always declare the same input. A user
 * entry never replaces a component setting (the keys were checked at construction).
 */
export function renderContainerEnv(
  settings: Record<string, RegistryEnvValue>,
  user: Record<string, string> = {},
): string[] {
  const rendered: Record<string, string> = {};
  for (const [key, value] of Object.entries(user)) rendered[key] = renderEnvValue(value);
  for (const [key, value] of Object.entries(settings)) {
    rendered[key] =
      typeof value === "string"
        ? renderEnvValue(value, "string")
        : Array.isArray(value)
          ? // A flow sequence of double-quoted scalars: JSON's string syntax is YAML's too.
            JSON.stringify(value)
          : String(value);
  }
  return Object.keys(rendered)
    .sort()
    .map((key) => `${key}=${rendered[key]}`);
}
