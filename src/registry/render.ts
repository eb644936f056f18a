/**
 * Pure decisions behind SecureRegistry: where files go in the container, which REGISTRY_*
 * settings it gets, how the health check probes it, and how clients address it.
 */
import * as net from "net";

/** The port the registry listens on inside the container; `port` publishes it on the host. */
export const CONTAINER_PORT = 5000;

/**
 * The registry's debug server, reachable only from inside the container. It serves
 * `/debug/health`, which reports the storage driver check.
 */
export const DEBUG_ADDR = "127.0.0.1:5001";

/** Where the component delivers its files and keeps data inside the container. */
export const CONTAINER_PATHS = {
  certificate: "/certs/domain.crt",
  privateKey: "/certs/domain.key",
  htpasswd: "/auth/htpasswd",
  data: "/var/lib/registry",
} as const;

/**
 * File modes of the uploads. registry:2 runs as root, so owner-read is enough for the secrets; the
 * certificate is public.
 */
export const FILE_MODES = {
  certificate: "0444",
  privateKey: "0400",
  htpasswd: "0400",
} as const;

/** `host` for port 443, else `host:port`; IPv6 in brackets. As clients write it in image names. */
export function formatEndpoint(host: string, port: number): string {
  const h = net.isIPv6(host) ? `[${host}]` : host;
  return port === 443 ? h : `${h}:${port}`;
}

/** The base64 `auth` value Docker stores for a login: base64(`user:password`). */
export function dockerAuth(username: string, password: string): string {
  return Buffer.from(`${username}:${password}`, "utf8").toString("base64");
}

/** `~/.docker/config.json` content with the `auths` entry for `endpoint`, as `docker login` writes. */
export function renderDockerConfigJson(
  endpoint: string,
  credential: { username: string; password: string },
): string {
  return JSON.stringify({
    auths: { [endpoint]: { auth: dockerAuth(credential.username, credential.password) } },
  });
}

export interface RegistrySettings {
  readonly realm: string;
  readonly minimumTls: string;
  readonly logLevel: string;
  readonly deleteEnabled: boolean;
  readonly proxy?: { remoteUrl: string; username?: string; password?: string };
  /** User overrides (already validated: REGISTRY_* and not owned). */
  readonly extra?: Record<string, string>;
}

/**
 * The container's environment as a sorted `KEY=value` list, so the same settings always give the
 * same input (no diff from map ordering).
 */
export function buildRegistryEnv(settings: RegistrySettings): string[] {
  const env: Record<string, string> = {
    ...(settings.extra ?? {}),
    REGISTRY_HTTP_ADDR: `0.0.0.0:${CONTAINER_PORT}`,
    REGISTRY_HTTP_TLS_CERTIFICATE: CONTAINER_PATHS.certificate,
    REGISTRY_HTTP_TLS_KEY: CONTAINER_PATHS.privateKey,
    REGISTRY_HTTP_TLS_MINIMUMTLS: settings.minimumTls,
    REGISTRY_AUTH: "htpasswd",
    REGISTRY_AUTH_HTPASSWD_REALM: settings.realm,
    REGISTRY_AUTH_HTPASSWD_PATH: CONTAINER_PATHS.htpasswd,
    REGISTRY_LOG_LEVEL: settings.logLevel,
    REGISTRY_STORAGE_DELETE_ENABLED: String(settings.deleteEnabled),
    REGISTRY_HTTP_DEBUG_ADDR: DEBUG_ADDR,
    // Set explicitly so /debug/health reports storage whatever the image's config file says.
    REGISTRY_HEALTH_STORAGEDRIVER_ENABLED: "true",
    REGISTRY_HEALTH_STORAGEDRIVER_INTERVAL: "10s",
    REGISTRY_HEALTH_STORAGEDRIVER_THRESHOLD: "3",
  };
  if (settings.proxy) {
    env.REGISTRY_PROXY_REMOTEURL = settings.proxy.remoteUrl;
    if (settings.proxy.username !== undefined) {
      env.REGISTRY_PROXY_USERNAME = settings.proxy.username;
    }
    if (settings.proxy.password !== undefined) {
      env.REGISTRY_PROXY_PASSWORD = settings.proxy.password;
    }
  }
  return Object.keys(env)
    .sort()
    .map((key) => `${key}=${env[key]}`);
}

/**
 * The health check, in the shape of `docker.Container`'s `healthcheck` input.
 *
 * Two probes, both plain HTTP over loopback with busybox `wget` (in registry:2's Alpine and in
 * busybox-static), so neither depends on TLS support in the probe (busybox's TLS stops at 1.2 and
 * fails against `minimumVersion: "tls1.3"`) nor on credentials:
 * 1. `/debug/health` on the debug server: 200 only while the storage driver check passes.
 * 2. A plain-HTTP request to the TLS port: Go's TLS server answers `HTTP/1.0 400`, which proves the
 *    main listener is up with its certificate loaded. The debug server starts before the main
 *    listener, so (1) alone could report healthy a moment too early.
 *
 * Docker engines before 25 ignore `startInterval`, so `interval` itself is short.
 */
export function registryHealthcheck(): {
  tests: string[];
  interval: string;
  startInterval: string;
  startPeriod: string;
  timeout: string;
  retries: number;
} {
  const probe =
    `wget -q -O /dev/null http://${DEBUG_ADDR}/debug/health && ` +
    `wget -O /dev/null http://127.0.0.1:${CONTAINER_PORT}/ 2>&1 | grep -q ' HTTP/'`;
  return {
    tests: ["CMD-SHELL", probe],
    interval: "2s",
    startInterval: "1s",
    startPeriod: "30s",
    timeout: "3s",
    retries: 3,
  };
}

/** Seconds `pulumi up` waits for the container to become healthy. */
export const WAIT_TIMEOUT_SECONDS = 60;
