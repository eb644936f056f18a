/**
 * RegistryClientTrust's arguments checked at construction, before any resource exists: every
 * option's type and shape, unknown keys refused, each failure an InvalidInputError naming the
 * field path, the problem and the fix (never a secret's value). Values that are Outputs are
 * checked once known (`whenKnown`), when `wrap` asks for it.
 */
import * as path from "path";
import * as pulumi from "@pulumi/pulumi";
import {
  checkBoolean,
  checkInteger,
  checkList,
  checkObject,
  checkStringValue,
  closestKey,
  describeValue,
  fail,
  isDeferred,
  whenKnown,
} from "../common/checks";
import { validateHostOrIp } from "../common/validators";
import { endpointProblem } from "./endpoint";
import { absolutePathProblem, caCertProblem, loginProblems } from "./inputs";

/** Every option of RegistryClientTrust. */
export const TRUST_ARG_KEYS = [
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
  "clientCertPem",
  "clientKeyPem",
  "containerd",
  "buildkit",
  "connection",
] as const;

export const CONNECTION_KEYS = [
  "host",
  "port",
  "user",
  "password",
  "privateKey",
  "privateKeyPassword",
  "hostKey",
  "agentSocketPath",
  "dialErrorLimit",
  "perDialTimeout",
] as const;

/** The checked arguments (Outputs wrapped so they are checked when known) and warnings. */
export interface CheckedTrustArgs {
  readonly args: Record<string, unknown>;
  readonly warnings: string[];
}

/**
 * Checks `args`; `prefix` is prepended to field paths (SecureRegistry's `trust.`). With `wrap`,
 * Outputs and Promises come back wrapped so their check runs once they are known; without it they
 * are left as they are (for callers that only want the construction-time checks).
 */
export function checkTrustArgs(
  label: string,
  args: unknown,
  options: { prefix?: string; wrap?: boolean } = {},
): CheckedTrustArgs {
  const prefix = options.prefix ?? "";
  const wrap = options.wrap ?? true;
  const f = (field: string) => `${prefix}${field}`;
  const warnings: string[] = [];
  if (args === undefined || args === null) {
    fail(label, f("endpoint"), `${f("endpoint")} is required: pass { endpoint, caCertPem, ... }.`);
  }
  const plain = checkObject(label, prefix.replace(/\.$/, ""), args, TRUST_ARG_KEYS)!;
  const out: Record<string, unknown> = {};
  /** Checks a value now, or when known (wrapped) / not at all (unwrapped) if deferred. */
  const value = <T>(v: unknown, check: (known: T) => void): unknown => {
    if (v === undefined) return undefined;
    if (isDeferred(v)) return wrap ? whenKnown(v as pulumi.Input<T>, check) : v;
    check(v as T);
    return v;
  };
  const text =
    (field: string, secret = false, example?: string) =>
    (v: unknown) =>
      checkStringValue(label, f(field), v, { secret, singleLine: !secret, example });
  const absolute = (field: string, example: string) => (v: unknown) => {
    checkStringValue(label, f(field), v, { example });
    const problem = absolutePathProblem(v, f(field));
    if (problem !== undefined)
      fail(label, f(field), `${problem}, e.g. ${JSON.stringify(example)}.`);
  };

  // endpoint: required.
  if (plain.endpoint === undefined) {
    fail(
      label,
      f("endpoint"),
      `${f("endpoint")} is required: the registry's host[:port], e.g. "registry.example.com:5000".`,
    );
  }
  out.endpoint = value(plain.endpoint, (v) => {
    const problem = endpointProblem(v, f("endpoint"));
    if (problem !== undefined) fail(label, f("endpoint"), problem);
  });

  for (const flag of ["insecure", "reloadDaemon", "adopt"] as const) {
    out[flag] = value(plain[flag], (v) => checkBoolean(label, f(flag), v));
  }
  const insecure = plain.insecure === true;

  if (plain.caCertPem === undefined && !insecure && !isDeferred(plain.insecure)) {
    fail(
      label,
      f("caCertPem"),
      `${f("caCertPem")} is required (the registry's CA certificate in PEM, e.g. SecureRegistry.caCertPem) unless insecure is true.`,
    );
  }
  out.caCertPem = value(plain.caCertPem, (v) => {
    checkStringValue(label, f("caCertPem"), v, { singleLine: false });
    const problem = caCertProblem(v, f("caCertPem"));
    if (problem !== undefined) fail(label, f("caCertPem"), problem);
  });

  const seen = new Set<string>();
  const list = <T>(field: string, v: unknown, each: (field: string, element: unknown) => void) =>
    !wrap && isDeferred(v) ? v : checkList<T>(label, field, v, each);
  const integer = (
    field: string,
    v: unknown,
    range: { min: number; max: number; example: number },
  ) => value(v, (known) => checkInteger(label, f(field), known, range));
  out.certsDirs = list<string>(f("certsDirs"), plain.certsDirs, (field, v) => {
    checkStringValue(label, field, v, { example: "/etc/docker/certs.d" });
    const problem = absolutePathProblem(v, field);
    if (problem !== undefined) fail(label, field, `${problem}, e.g. "/etc/docker/certs.d".`);
    const resolved = path.resolve(v as string);
    if (seen.has(resolved))
      fail(label, field, `${field} ${describeValue(v)} is listed twice; list each directory once.`);
    seen.add(resolved);
    if (path.basename(resolved) !== "certs.d") {
      const likely = closestKey(path.basename(resolved), ["certs.d"]);
      warnings.push(
        `${field} ${describeValue(v)} does not end in "certs.d"` +
          (likely
            ? ` (did you mean ${JSON.stringify(path.join(path.dirname(resolved), "certs.d"))}?)`
            : "") +
          ": docker reads /etc/docker/certs.d and Podman/Buildah/skopeo /etc/containers/certs.d; " +
          "a CA written elsewhere is trusted by no client.",
      );
    }
  });
  if (Array.isArray(plain.certsDirs) && plain.certsDirs.length === 0 && !insecure) {
    fail(
      label,
      f("certsDirs"),
      `${f("certsDirs")} is empty: list at least one directory (default ["/etc/docker/certs.d"]).`,
    );
  }

  out.daemonConfigPath = value(
    plain.daemonConfigPath,
    absolute("daemonConfigPath", "/etc/docker/daemon.json"),
  );
  out.pidFile = value(plain.pidFile, absolute("pidFile", "/var/run/docker.pid"));
  out.clientConfigPath = value(
    plain.clientConfigPath,
    absolute("clientConfigPath", "/root/.docker/config.json"),
  );

  /** An object that may hold secrets: anything else is described by its type only. */
  const secretObject = (field: string, v: unknown, keys: readonly string[], example: string) => {
    if (v !== undefined && (typeof v !== "object" || v === null || Array.isArray(v))) {
      fail(
        label,
        f(field),
        `${f(field)} is ${describeValue(v, true)}, not an object; pass ${example}.`,
      );
    }
    return checkObject(label, f(field), v, keys);
  };
  const checkLogin = (login: unknown): Record<string, unknown> => {
    const l = {
      ...secretObject("login", login, ["username", "password"], "{ username, password }"),
    };
    if (l.username === undefined) {
      fail(
        label,
        f("login.username"),
        `${f("login.username")} is required: the registry user to log in as.`,
      );
    }
    if (l.password === undefined) {
      fail(
        label,
        f("login.password"),
        `${f("login.password")} is required with login (a Pulumi secret, e.g. SecureRegistry.credentials[0].password).`,
      );
    }
    l.username = value(l.username, (u: unknown) => {
      text("login.username", false, "ci-user")(u);
      const problems = loginProblems({ username: u, password: "placeholder" });
      if (problems.length > 0) fail(label, f("login.username"), `${prefix}${problems[0].reason}.`);
    });
    l.password = value(l.password, text("login.password", true));
    return l;
  };
  if (plain.login !== undefined) {
    if (!isDeferred(plain.login)) out.login = checkLogin(plain.login);
    else
      out.login = wrap
        ? pulumi.output(plain.login).apply((l) => pulumi.all(checkLogin(l)))
        : plain.login;
  }

  // The client pair for registries that require mTLS.
  const hasCert = plain.clientCertPem !== undefined;
  const hasKey = plain.clientKeyPem !== undefined;
  if (hasCert !== hasKey) {
    const missing = hasCert ? "clientKeyPem" : "clientCertPem";
    fail(
      label,
      f(missing),
      `${f(missing)} is missing: clientCertPem and clientKeyPem go together (the client certificate and its key), give both or neither.`,
    );
  }
  out.clientCertPem = value(plain.clientCertPem, (v) => {
    checkStringValue(label, f("clientCertPem"), v, { singleLine: false });
    const problem = caCertProblem(v, f("clientCertPem"));
    if (problem !== undefined)
      fail(
        label,
        f("clientCertPem"),
        problem.replace("the registry CA certificate", "the client certificate"),
      );
  });
  out.clientKeyPem = value(plain.clientKeyPem, (v) => {
    checkStringValue(label, f("clientKeyPem"), v, { singleLine: false, secret: true });
    if (!/-----BEGIN [A-Z ]*PRIVATE KEY-----/.test(v as string)) {
      fail(
        label,
        f("clientKeyPem"),
        `${f("clientKeyPem")} is not a private key in PEM; pass the client key ("-----BEGIN ... PRIVATE KEY-----").`,
      );
    }
  });

  const containerd = checkObject(label, f("containerd"), plain.containerd, [
    "hostsDir",
    "capabilities",
  ]);
  if (containerd !== undefined) {
    out.containerd = {
      hostsDir: value(
        containerd.hostsDir,
        absolute("containerd.hostsDir", "/etc/containerd/certs.d"),
      ),
      capabilities: list<string>(
        f("containerd.capabilities"),
        containerd.capabilities,
        (field, v) => {
          if (!["pull", "resolve", "push"].includes(v as string)) {
            fail(
              label,
              field,
              `${field} ${describeValue(v)} is not a containerd capability; use "pull", "resolve" or "push".`,
            );
          }
        },
      ),
    };
  }
  const buildkit = checkObject(label, f("buildkit"), plain.buildkit, ["configPath", "certsDir"]);
  if (buildkit !== undefined) {
    out.buildkit = {
      configPath: value(
        buildkit.configPath,
        absolute("buildkit.configPath", "/etc/buildkit/buildkitd.toml"),
      ),
      certsDir: value(buildkit.certsDir, absolute("buildkit.certsDir", "/etc/buildkit/certs.d")),
    };
  }
  if (insecure) {
    for (const field of ["containerd", "buildkit", "clientCertPem"] as const) {
      if (plain[field] !== undefined) {
        fail(
          label,
          f("insecure"),
          `${f("insecure")} cannot be combined with ${f(field)}: insecure only lists the endpoint in dockerd's daemon.json; pass caCertPem instead.`,
        );
      }
    }
  }

  const connection = secretObject(
    "connection",
    plain.connection,
    CONNECTION_KEYS,
    "{ host, user, privateKey }",
  );
  if (connection !== undefined) {
    const c: Record<string, unknown> = {};
    if (connection.host === undefined)
      fail(
        label,
        f("connection.host"),
        `${f("connection.host")} is required: the remote host's name or address.`,
      );
    c.host = value(connection.host, (v) => validateHostOrIp(label, f("connection.host"), v));
    c.port = integer("connection.port", connection.port, { min: 1, max: 65535, example: 22 });
    c.user = value(connection.user, text("connection.user", false, "root"));
    for (const secret of ["password", "privateKey", "privateKeyPassword"] as const) {
      c[secret] = value(connection[secret], text(`connection.${secret}`, true));
    }
    c.hostKey = value(connection.hostKey, (v) => {
      text("connection.hostKey", false, "ssh-ed25519 AAAAC3...")(v);
      if (
        !/^SHA256:[A-Za-z0-9+/]{43}=?$/.test((v as string).trim()) &&
        !/(^|\s)AAAA[A-Za-z0-9+/]+=*(\s|$)/.test(v as string)
      ) {
        fail(
          label,
          f("connection.hostKey"),
          `${f("connection.hostKey")} is neither a public key line ("ssh-ed25519 AAAA...", as ssh-keyscan prints) nor a fingerprint ("SHA256:...").`,
        );
      }
    });
    c.agentSocketPath = value(
      connection.agentSocketPath,
      absolute("connection.agentSocketPath", "/run/user/1000/ssh-agent.sock"),
    );
    c.dialErrorLimit = integer("connection.dialErrorLimit", connection.dialErrorLimit, {
      min: 1,
      max: 100,
      example: 10,
    });
    c.perDialTimeout = integer("connection.perDialTimeout", connection.perDialTimeout, {
      min: 1,
      max: 600,
      example: 15,
    });
    if (
      connection.password === undefined &&
      connection.privateKey === undefined &&
      connection.agentSocketPath === undefined
    ) {
      fail(
        label,
        f("connection.privateKey"),
        `${f("connection")} has no credential: give connection.privateKey (the key file's text, as a secret), connection.password, or connection.agentSocketPath.`,
      );
    }
    if (connection.privateKeyPassword !== undefined && connection.privateKey === undefined) {
      fail(
        label,
        f("connection.privateKeyPassword"),
        `${f("connection.privateKeyPassword")} is given without connection.privateKey; pass the encrypted key too.`,
      );
    }
    out.connection = c;
  }
  return { args: out, warnings };
}
