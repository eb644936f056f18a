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
  config: "0444",
  envFile: "0400",
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
