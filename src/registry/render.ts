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

/** Ticks of the kernel clock per second in /proc/<pid>/stat (USER_HZ: 100 on Linux). */
const CLOCK_TICKS = 100;

/** How a registry's health check is scheduled (see `registryHealthcheck`). */
export const HEALTH_SCHEDULE = {
  /** Engine interval between probes: also the delay of the first probe on engines before 25. */
  interval: "250ms",
  /** Seconds after the registry process started during which a probe checks at once. */
  startPhaseSeconds: 3,
  /** Seconds a probe after the start phase waits before it checks: the steady-state period. */
  steadySleepSeconds: 25,
  /** Tries (0.1 s apart) of the first probe while the registry is starting. */
  startTries: 150,
} as const;

/**
 * The health check, in the shape of `docker.Container`'s `healthcheck` input.
 *
 * What it checks: two probes, both plain HTTP over loopback with busybox `wget` (in registry:2's
 * Alpine and in busybox-static), so neither depends on TLS support in the probe (busybox's TLS
 * stops at 1.2 and fails against `minimumVersion: "tls1.3"`) nor on credentials:
 * 1. `/debug/health` on the debug server: 200 only while the storage driver check passes.
 * 2. A plain-HTTP request to the TLS port: Go's TLS server answers `HTTP/1.0 400`, which proves the
 *    main listener is up with its certificate loaded. The debug server starts before the main
 *    listener, so (1) alone could report healthy a moment too early.
 *
 * When: `pulumi up` waits for the first passing probe (SecureRegistry's HealthyContainer, on the
 * engine's events) and should see it soon after the start request. Engines before 25 (Debian's
 * 20.10) ignore `startInterval` and run the first probe only after `interval`, so `interval` is
 * short (250 ms).
 * A 250 ms probe for the life of the container would cost dockerd, containerd and the shim an
 * exec every quarter second, so the probe paces itself by the registry's age (PID 1's start time
 * against its own, both in /proc/<pid>/stat):
 * - in the first `startPhaseSeconds`, it checks at once, and the first probe retries every 0.1 s
 *   until the registry answers: healthy as soon as the registry is;
 * - afterwards it sleeps `steadySleepSeconds` before checking: one exec every ~25 s, as a 25 s
 *   interval would give. An unhealthy registry is reported after `retries` such probes (~75 s).
 * A restarted registry (restart policy) is a new PID 1, so its start phase begins again. Newer
 * engines use `startInterval` during `startPeriod`; the same pacing applies.
 */
export function registryHealthcheck(): {
  tests: string[];
  interval: string;
  startInterval: string;
  startPeriod: string;
  timeout: string;
  retries: number;
} {
  const s = HEALTH_SCHEDULE;
  const ready =
    // No `wget -T`: Debian's busybox-static crashes on it. A hanging check is ended by `timeout`.
    `wget -q -O /dev/null http://${DEBUG_ADDR}/debug/health && ` +
    `wget -O /dev/null http://127.0.0.1:${CONTAINER_PORT}/ 2>&1 | grep -q ' HTTP/'`;
  const probe = [
    // Field 22 of /proc/<pid>/stat is the start time in clock ticks.
    "read -r p < /proc/1/stat; set -- $p; born=${22}",
    "read -r p < /proc/$$/stat; set -- $p; now=${22}",
    `ready() { ${ready}; }`,
    `if [ $((now - born)) -lt ${s.startPhaseSeconds * CLOCK_TICKS} ]; then`,
    `  i=0; until ready; do i=$((i + 1)); [ $i -ge ${s.startTries} ] && exit 1; sleep 0.1; done; exit 0`,
    "fi",
    `sleep ${s.steadySleepSeconds}; ready`,
  ].join("\n");
  return {
    tests: ["CMD-SHELL", probe],
    interval: s.interval,
    startInterval: s.interval,
    startPeriod: "30s",
    // A steady-state probe sleeps 25 s, then checks: a check hanging past 15 s fails the probe.
    timeout: "40s",
    retries: 3,
  };
}

/** Seconds `pulumi up` waits for the container to become healthy. */
export const WAIT_TIMEOUT_SECONDS = 60;
