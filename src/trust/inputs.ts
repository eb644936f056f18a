/**
 * The trust provider's inputs: defaults, validation (shared by the component at construction and
 * the provider's check()) and the diff decision. Pure functions, no I/O.
 *
 * Only Node built-ins and sibling modules are imported: this module is serialized into the
 * dynamic provider (see provider.ts).
 */
import * as crypto from "crypto";
import * as path from "path";
import { endpointProblem } from "./endpoint";
import type { SshSecrets, SshTarget } from "./ssh";

/** Credentials written to the docker client config. */
export interface Login {
  readonly username: string;
  readonly password: string;
}

/** The provider's inputs after check(): every default applied except `clientConfigPath`. */
export interface TrustInputs {
  readonly endpoint: string;
  readonly caCertPem?: string;
  readonly certsDirs: string[];
  readonly insecure: boolean;
  readonly daemonConfigPath: string;
  readonly reloadDaemon: boolean;
  readonly pidFile: string;
  readonly login?: Login;
  /** Unset means the docker CLI's own default, resolved when the provider runs (never stored). */
  readonly clientConfigPath?: string;
  readonly adopt: boolean;
  /** Who the ownership ledger lists: `project/stack/resource` (set by TrustFiles). */
  readonly owner: string;
  /** Client certificate (PEM) for registries that require mTLS; with `clientKeyPem`. */
  readonly clientCertPem?: string;
  /** Its private key (PEM); a secret. */
  readonly clientKeyPem?: string;
  /** containerd's hosts dir trust, when on. */
  readonly containerd?: { readonly hostsDir: string; readonly capabilities: string[] };
  /** BuildKit's trust, when on. */
  readonly buildkit?: { readonly configPath: string; readonly certsDir: string };
  /** The remote host (over SSH); unset: the host that runs the provider. */
  readonly connection?: SshTarget;
  /** The connection's secrets; a secret. */
  readonly connectionSecrets?: SshSecrets;
}

/** Defaults of the optional inputs (`clientConfigPath` resolves at create time, see files.ts). */
export const TRUST_DEFAULTS = {
  certsDirs: ["/etc/docker/certs.d"],
  insecure: false,
  daemonConfigPath: "/etc/docker/daemon.json",
  reloadDaemon: false,
  pidFile: "/var/run/docker.pid",
  adopt: false,
  containerdHostsDir: "/etc/containerd/certs.d",
  containerdCapabilities: ["pull", "resolve", "push"],
  buildkitConfigPath: "/etc/buildkit/buildkitd.toml",
  buildkitCertsDir: "/etc/buildkit/certs.d",
  port: 22,
  user: "root",
  dialErrorLimit: 10,
  perDialTimeout: 15,
} as const;

/** What the engine sends for a value that is not known yet (preview). */
export const UNKNOWN = "04da6b54-80e4-46f7-96ec-b56ff0331ba9";

/** One validation failure, as dynamic providers report them. */
export interface InputFailure {
  readonly property: string;
  readonly reason: string;
}

/** Why `pem` cannot be written as a ca.crt trust root; undefined when it can. */
export function caCertProblem(pem: unknown, field = "caCertPem"): string | undefined {
  if (typeof pem !== "string" || pem.trim() === "") {
    return `${field} must be the registry CA certificate in PEM ("-----BEGIN CERTIFICATE-----...")`;
  }
  if (/PRIVATE KEY-----/.test(pem)) {
    return (
      `${field} contains a private key; ca.crt files are world-readable. ` +
      "Pass only the CA certificate (e.g. SecureRegistry.caCertPem), never a key"
    );
  }
  const blocks = pem.match(/-----BEGIN CERTIFICATE-----[\s\S]*?-----END CERTIFICATE-----/g) ?? [];
  if (blocks.length === 0) {
    return `${field} holds no "-----BEGIN CERTIFICATE-----" block; pass the CA certificate in PEM`;
  }
  for (let i = 0; i < blocks.length; i++) {
    try {
      new crypto.X509Certificate(blocks[i]);
    } catch {
      return `${field} certificate #${i + 1} is not a valid X.509 certificate; pass the CA certificate PEM unchanged`;
    }
  }
  return undefined;
}

/** Why `value` is not usable as an absolute file or directory path; undefined when it is. */
export function absolutePathProblem(value: unknown, field: string): string | undefined {
  if (typeof value !== "string" || value === "") {
    return `${field} must be a non-empty absolute path`;
  }
  if (value.includes("\0")) {
    return `${field} contains a NUL character`;
  }
  if (!path.isAbsolute(value)) {
    return `${field} "${value}" must be an absolute path (a relative path would depend on the directory pulumi runs in)`;
  }
  if (path.resolve(value) === path.parse(path.resolve(value)).root) {
    return `${field} must not be the filesystem root`;
  }
  return undefined;
}

/** Why `login` cannot be written to config.json; undefined when it can. Never quotes the password. */
export function loginProblems(login: unknown): InputFailure[] {
  if (login === undefined || login === null || login === UNKNOWN) {
    return [];
  }
  if (typeof login !== "object") {
    return [{ property: "login", reason: "login must be { username, password }" }];
  }
  const { username, password } = login as Record<string, unknown>;
  const failures: InputFailure[] = [];
  if (username !== UNKNOWN) {
    if (typeof username !== "string" || username === "") {
      failures.push({
        property: "login.username",
        reason: "login.username must be a non-empty string",
      });
    } else if (username.includes(":") || [...username].some((c) => c.charCodeAt(0) < 0x20)) {
      failures.push({
        property: "login.username",
        reason:
          'login.username must not contain ":" or control characters (docker stores "user:password")',
      });
    }
  }
  if (password !== UNKNOWN && (typeof password !== "string" || password === "")) {
    failures.push({
      property: "login.password",
      reason: "login.password must be a non-empty string",
    });
  }
  return failures;
}

/**
 * Applies defaults and validates. Unknown values (preview) are passed through unvalidated; the
 * engine calls check() again once they are known.
 */
export function checkTrustInputs(news: Record<string, unknown>): {
  inputs: Record<string, unknown>;
  failures: InputFailure[];
} {
  const failures: InputFailure[] = [];
  const fail = (property: string, reason: string | undefined) => {
    if (reason !== undefined) failures.push({ property, reason });
  };
  const known = (v: unknown) => v !== UNKNOWN;
  const orDefault = <T>(v: unknown, d: T): unknown => (v === undefined || v === null ? d : v);

  const inputs: Record<string, unknown> = {
    endpoint: news.endpoint,
    certsDirs: orDefault(news.certsDirs, [...TRUST_DEFAULTS.certsDirs]),
    insecure: orDefault(news.insecure, TRUST_DEFAULTS.insecure),
    daemonConfigPath: orDefault(news.daemonConfigPath, TRUST_DEFAULTS.daemonConfigPath),
    reloadDaemon: orDefault(news.reloadDaemon, TRUST_DEFAULTS.reloadDaemon),
    pidFile: orDefault(news.pidFile, TRUST_DEFAULTS.pidFile),
    adopt: orDefault(news.adopt, TRUST_DEFAULTS.adopt),
  };
  inputs.owner =
    typeof news.owner === "string" && news.owner !== ""
      ? news.owner
      : `legacy/${String(news.endpoint)}`;
  for (const optional of [
    "caCertPem",
    "login",
    "clientConfigPath",
    "clientCertPem",
    "clientKeyPem",
    "connectionSecrets",
  ]) {
    if (news[optional] !== undefined && news[optional] !== null) {
      inputs[optional] = news[optional];
    }
  }

  if (known(inputs.endpoint)) fail("endpoint", endpointProblem(inputs.endpoint));
  for (const flag of ["insecure", "reloadDaemon", "adopt"]) {
    if (known(inputs[flag]) && typeof inputs[flag] !== "boolean") {
      fail(flag, `${flag} must be true or false`);
    }
  }
  if (inputs.caCertPem === undefined) {
    if (inputs.insecure === false) {
      fail(
        "caCertPem",
        "caCertPem is required (the registry's CA certificate in PEM, e.g. SecureRegistry.caCertPem) unless insecure is true",
      );
    }
  } else if (known(inputs.caCertPem)) {
    fail("caCertPem", caCertProblem(inputs.caCertPem));
  }
  const dirs = inputs.certsDirs;
  if (known(dirs)) {
    if (!Array.isArray(dirs)) {
      fail("certsDirs", "certsDirs must be a list of absolute directory paths");
    } else {
      if (dirs.length === 0 && inputs.insecure === false) {
        fail(
          "certsDirs",
          'certsDirs is empty: list at least one directory (default ["/etc/docker/certs.d"])',
        );
      }
      const seen = new Set<string>();
      const normalized: unknown[] = [];
      dirs.forEach((d, i) => {
        if (!known(d)) {
          normalized.push(d);
          return;
        }
        const problem = absolutePathProblem(d, `certsDirs[${i}]`);
        fail(`certsDirs[${i}]`, problem);
        if (problem !== undefined) return;
        const resolved = path.resolve(d as string);
        if (seen.has(resolved)) {
          fail(
            `certsDirs[${i}]`,
            `certsDirs[${i}] "${d}" is listed twice; list each directory once`,
          );
          return;
        }
        seen.add(resolved);
        normalized.push(resolved);
      });
      inputs.certsDirs = normalized;
    }
  }
  for (const field of ["daemonConfigPath", "pidFile", "clientConfigPath"]) {
    if (inputs[field] !== undefined && known(inputs[field])) {
      const problem = absolutePathProblem(inputs[field], field);
      fail(field, problem);
      if (problem === undefined) inputs[field] = path.resolve(inputs[field] as string);
    }
  }
  failures.push(...loginProblems(inputs.login));
  checkRuntimeInputs(news, inputs, fail);
  return { inputs, failures };
}

/** containerd, buildkit, the client pair and the connection: defaults and shape. */
function checkRuntimeInputs(
  news: Record<string, unknown>,
  inputs: Record<string, unknown>,
  fail: (property: string, reason: string | undefined) => void,
): void {
  const known = (v: unknown) => v !== UNKNOWN;
  const object = (v: unknown): Record<string, unknown> | undefined =>
    typeof v === "object" && v !== null && !Array.isArray(v)
      ? (v as Record<string, unknown>)
      : undefined;
  const path = (field: string, value: unknown, fallback: string): unknown => {
    const v = value === undefined || value === null ? fallback : value;
    if (known(v)) fail(field, absolutePathProblem(v, field));
    return v;
  };
  if (news.containerd !== undefined && news.containerd !== null && known(news.containerd)) {
    const c = object(news.containerd) ?? {};
    const capabilities = c.capabilities ?? [...TRUST_DEFAULTS.containerdCapabilities];
    if (
      known(capabilities) &&
      (!Array.isArray(capabilities) ||
        capabilities.some((x) => !["pull", "resolve", "push"].includes(x as string)))
    ) {
      fail(
        "containerd.capabilities",
        'containerd.capabilities must list "pull", "resolve" and/or "push"',
      );
    }
    inputs.containerd = {
      hostsDir: path("containerd.hostsDir", c.hostsDir, TRUST_DEFAULTS.containerdHostsDir),
      capabilities,
    };
  }
  if (news.buildkit !== undefined && news.buildkit !== null && known(news.buildkit)) {
    const b = object(news.buildkit) ?? {};
    inputs.buildkit = {
      configPath: path("buildkit.configPath", b.configPath, TRUST_DEFAULTS.buildkitConfigPath),
      certsDir: path("buildkit.certsDir", b.certsDir, TRUST_DEFAULTS.buildkitCertsDir),
    };
  }
  const hasCert = inputs.clientCertPem !== undefined;
  const hasKey = inputs.clientKeyPem !== undefined;
  if (hasCert !== hasKey) {
    fail(
      hasCert ? "clientKeyPem" : "clientCertPem",
      "clientCertPem and clientKeyPem go together: give both or neither",
    );
  }
  if (hasCert && known(inputs.clientCertPem))
    fail("clientCertPem", caCertProblem(inputs.clientCertPem, "clientCertPem"));
  if (hasKey && known(inputs.clientKeyPem)) {
    const key = inputs.clientKeyPem;
    if (typeof key !== "string" || !/-----BEGIN [A-Z ]*PRIVATE KEY-----/.test(key)) {
      fail(
        "clientKeyPem",
        'clientKeyPem must be a private key in PEM ("-----BEGIN ... PRIVATE KEY-----")',
      );
    }
  }
  if (news.connection !== undefined && news.connection !== null && known(news.connection)) {
    const c = object(news.connection) ?? {};
    const orDefault = (v: unknown, d: unknown) => (v === undefined || v === null ? d : v);
    const connection = {
      host: c.host,
      port: orDefault(c.port, TRUST_DEFAULTS.port),
      user: orDefault(c.user, TRUST_DEFAULTS.user),
      hostKey: c.hostKey ?? undefined,
      agentSocketPath: c.agentSocketPath ?? undefined,
      dialErrorLimit: orDefault(c.dialErrorLimit, TRUST_DEFAULTS.dialErrorLimit),
      perDialTimeout: orDefault(c.perDialTimeout, TRUST_DEFAULTS.perDialTimeout),
    };
    if (known(connection.host) && (typeof connection.host !== "string" || connection.host === "")) {
      fail("connection.host", "connection.host must be the remote host's name or address");
    }
    for (const [field, min, max] of [
      ["port", 1, 65535],
      ["dialErrorLimit", 1, 100],
      ["perDialTimeout", 1, 600],
    ] as const) {
      const v = connection[field];
      if (known(v) && !(typeof v === "number" && Number.isInteger(v) && v >= min && v <= max)) {
        fail(
          `connection.${field}`,
          `connection.${field} must be a whole number from ${min} to ${max}`,
        );
      }
    }
    inputs.connection = connection;
  }
}

/** True when the files must move to another host: a replacement, not an update. */
export function trustNeedsReplace(
  olds: Record<string, unknown>,
  news: Record<string, unknown>,
): boolean {
  const target = (c: unknown) => {
    const t = (c ?? {}) as Record<string, unknown>;
    return stableJson([t.host, t.port, t.user]);
  };
  return target(olds.connection) !== target(news.connection);
}

/** True when an update is needed: inputs changed, or refresh found the files drifted. */
export function trustNeedsUpdate(
  olds: Record<string, unknown>,
  news: Record<string, unknown>,
): boolean {
  const drift = olds.drift;
  if (Array.isArray(drift) && drift.length > 0) {
    return true;
  }
  const keys = [
    "endpoint",
    "caCertPem",
    "certsDirs",
    "insecure",
    "daemonConfigPath",
    "reloadDaemon",
    "pidFile",
    "login",
    "clientConfigPath",
    "adopt",
    "owner",
    "clientCertPem",
    "clientKeyPem",
    "containerd",
    "buildkit",
    "connection",
    "connectionSecrets",
  ];
  return keys.some((k) => stableJson(olds[k]) !== stableJson(news[k]));
}

/** JSON with object keys sorted, for comparing values regardless of key order. */
export function stableJson(value: unknown): string {
  if (value === undefined || value === null) {
    return "null";
  }
  if (Array.isArray(value)) {
    return `[${value.map(stableJson).join(",")}]`;
  }
  if (typeof value === "object") {
    const entries = Object.keys(value as object)
      .sort()
      .filter((k) => (value as Record<string, unknown>)[k] !== undefined)
      .map((k) => `${JSON.stringify(k)}:${stableJson((value as Record<string, unknown>)[k])}`);
    return `{${entries.join(",")}}`;
  }
  return JSON.stringify(value);
}
