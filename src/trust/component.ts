import * as pulumi from "@pulumi/pulumi";
import { endpointProblem } from "./endpoint";
import { absolutePathProblem, caCertProblem, loginProblems, TRUST_DEFAULTS } from "./inputs";
import { TrustFiles } from "./provider";

/** Credentials for the registry, written to the docker client config. */
export interface RegistryClientLogin {
  /** User name (no ":"). */
  readonly username: pulumi.Input<string>;
  /** Password; always stored as a Pulumi secret. */
  readonly password: pulumi.Input<string>;
}

/**
 * How the host that runs `pulumi up` trusts a registry: everything except the registry's own
 * endpoint and CA (which `SecureRegistry` supplies when it creates the trust as its child).
 */
export interface RegistryClientTrustOptions {
  /**
   * Directories that get `<endpoint>/ca.crt`. Default `["/etc/docker/certs.d"]` (dockerd). Add
   * `/etc/containers/certs.d` for Podman, Buildah and skopeo; rootless setups use their own
   * (e.g. `~/.config/containers/certs.d`). Absolute paths. Ignored when `insecure` is true.
   */
  readonly certsDirs?: pulumi.Input<pulumi.Input<string>[]>;
  /**
   * Instead of trusting the CA, list the endpoint under `insecure-registries` in
   * `daemonConfigPath`: dockerd then skips certificate checks for it. Default false.
   */
  readonly insecure?: pulumi.Input<boolean>;
  /** dockerd's config file, merged when `insecure` is true. Default `/etc/docker/daemon.json`. */
  readonly daemonConfigPath?: pulumi.Input<string>;
  /**
   * Send dockerd SIGHUP after `daemonConfigPath` changes, so `insecure-registries` applies without
   * a restart. Skipped when dockerd is not running. Default false.
   */
  readonly reloadDaemon?: pulumi.Input<boolean>;
  /** dockerd's pid file, used by `reloadDaemon`. Default `/var/run/docker.pid`. */
  readonly pidFile?: pulumi.Input<string>;
  /** Credentials merged into `clientConfigPath` as `auths[endpoint].auth`. Default: none. */
  readonly login?: pulumi.Input<RegistryClientLogin>;
  /**
   * The docker client config to merge `login` into. Default: the docker CLI's own, resolved on the
   * host when the files are written: `$DOCKER_CONFIG/config.json`, else `~/.docker/config.json`.
   */
  readonly clientConfigPath?: pulumi.Input<string>;
  /**
   * Take over a `ca.crt` that holds a different certificate, or an `auths` entry with different
   * credentials, that this component did not write: it is replaced now and removed on delete.
   * Default false (such files are left alone with an error).
   */
  readonly adopt?: pulumi.Input<boolean>;
}

/** Arguments of {@link RegistryClientTrust}. */
export interface RegistryClientTrustArgs extends RegistryClientTrustOptions {
  /** The registry as clients name it: `host[:port]` (DNS name, IPv4, or `[IPv6]`). Required. */
  readonly endpoint: pulumi.Input<string>;
  /** The CA certificate (PEM) that signed the registry's certificate. Required unless `insecure`. */
  readonly caCertPem?: pulumi.Input<string>;
}

/**
 * Makes the host that runs `pulumi up` trust a registry: writes its CA to
 * `<certsDir>/<endpoint>/ca.crt` (or, with `insecure`, lists it in daemon.json), and optionally
 * logs in by merging an `auths` entry into the docker client config. Delete removes exactly what
 * it wrote; refresh notices removed or edited files and the next update puts them back.
 */
export class RegistryClientTrust extends pulumi.ComponentResource {
  /** Paths written on this host, sorted. */
  public readonly files: pulumi.Output<string[]>;
  /** `docker login <endpoint> --username <user> --password-stdin` (`docker login <endpoint>` without `login`). */
  public readonly loginCommand: pulumi.Output<string>;

  constructor(name: string, args: RegistryClientTrustArgs, opts?: pulumi.ComponentResourceOptions) {
    validateRegistryClientTrustArgs(name, args);
    super("secure-registry:trust:RegistryClientTrust", name, {}, opts);

    const warnInsecure = (endpoint: string, daemonConfigPath: string) =>
      pulumi.log.warn(
        `insecure: true turns certificate checks off for ${endpoint}: it is listed under ` +
          `insecure-registries in ${daemonConfigPath}, so dockerd accepts any certificate ` +
          "(or plain HTTP) from whoever answers at that address. Prefer trusting the registry's " +
          "CA (leave insecure unset and pass caCertPem).",
        this,
      );
    const daemonConfigPath = args.daemonConfigPath ?? TRUST_DEFAULTS.daemonConfigPath;
    if (
      args.insecure === true &&
      typeof args.endpoint === "string" &&
      typeof daemonConfigPath === "string"
    ) {
      // Known now: warn at construction, so even a preview with unknown outputs shows it.
      warnInsecure(args.endpoint, daemonConfigPath);
    } else if (args.insecure !== undefined && args.insecure !== false) {
      pulumi
        .all([args.insecure, args.endpoint, daemonConfigPath])
        .apply(([on, endpoint, daemonConfig]) => {
          if (on) warnInsecure(endpoint, daemonConfig);
        });
    }

    const login = args.login === undefined ? undefined : pulumi.secret(pulumi.output(args.login));

    const trustFiles = new TrustFiles(
      `${name}-files`,
      {
        endpoint: args.endpoint,
        caCertPem: args.caCertPem,
        certsDirs: args.certsDirs,
        insecure: args.insecure,
        daemonConfigPath: args.daemonConfigPath,
        reloadDaemon: args.reloadDaemon,
        pidFile: args.pidFile,
        login,
        clientConfigPath: args.clientConfigPath,
        adopt: args.adopt,
      },
      { parent: this },
    );

    this.files = trustFiles.files;
    this.loginCommand = loginCommandFor(args.endpoint, args.login);
    this.registerOutputs({ files: this.files, loginCommand: this.loginCommand });
  }
}

/** Quotes `word` for a POSIX shell when it needs it. */
export function shellQuote(word: string): string {
  return /^[A-Za-z0-9_@%+=:,./-]+$/.test(word) ? word : `'${word.replace(/'/g, `'\\''`)}'`;
}

/** The `docker login` command for `endpoint`; it never contains the password. */
export function loginCommandText(endpoint: string, username: string | undefined): string {
  return username === undefined
    ? `docker login ${endpoint}`
    : `docker login ${endpoint} --username ${shellQuote(username)} --password-stdin`;
}

function loginCommandFor(
  endpoint: pulumi.Input<string>,
  login: pulumi.Input<RegistryClientLogin> | undefined,
): pulumi.Output<string> {
  if (login === undefined) {
    return pulumi.output(endpoint).apply((e) => loginCommandText(e, undefined));
  }
  // Only the username is read: a secret password must not make the command secret (or reach it).
  const username = pulumi.Output.isInstance(login)
    ? login.apply((l) => l.username)
    : pulumi.output((login as RegistryClientLogin).username);
  return pulumi.all([endpoint, username]).apply(([e, u]) => loginCommandText(e, u));
}

/**
 * Throws at construction, before any resource exists, for every argument already known to be
 * wrong. SecureRegistry calls it too, so a bad `trust` option fails before the registry exists.
 */
export function validateRegistryClientTrustArgs(name: string, args: RegistryClientTrustArgs): void {
  const problems: string[] = [];
  const add = (p: string | undefined) => {
    if (p !== undefined) problems.push(p);
  };
  if (args === undefined || args === null) {
    throw new Error(
      `RegistryClientTrust ${name}: args are required ({ endpoint, caCertPem, ... })`,
    );
  }
  if (typeof args.endpoint === "string" || args.endpoint === undefined) {
    add(endpointProblem(args.endpoint));
  }
  if (typeof args.caCertPem === "string") {
    add(caCertProblem(args.caCertPem));
  } else if (
    args.caCertPem === undefined &&
    (args.insecure === undefined || args.insecure === false)
  ) {
    add(
      "caCertPem is required (the registry's CA certificate in PEM, e.g. SecureRegistry.caCertPem) unless insecure is true",
    );
  }
  if (Array.isArray(args.certsDirs)) {
    if (args.certsDirs.length === 0 && args.insecure !== true) {
      add('certsDirs is empty: list at least one directory (default ["/etc/docker/certs.d"])');
    }
    args.certsDirs.forEach((d, i) => {
      if (typeof d === "string") add(absolutePathProblem(d, `certsDirs[${i}]`));
    });
  }
  for (const field of ["daemonConfigPath", "pidFile", "clientConfigPath"] as const) {
    const value = args[field];
    if (typeof value === "string") add(absolutePathProblem(value, field));
  }
  for (const flag of ["insecure", "reloadDaemon", "adopt"] as const) {
    const value = args[flag];
    if (
      value !== undefined &&
      typeof value !== "boolean" &&
      !pulumi.Output.isInstance(value) &&
      !(value instanceof Promise)
    ) {
      add(`${flag} must be true or false`);
    }
  }
  const login = args.login;
  if (login !== undefined && !pulumi.Output.isInstance(login) && !(login instanceof Promise)) {
    const plain = login as RegistryClientLogin;
    const known = {
      username: typeof plain.username === "string" ? plain.username : "placeholder",
      password: typeof plain.password === "string" ? plain.password : "placeholder",
    };
    problems.push(...loginProblems(known).map((f) => f.reason));
  }
  if (problems.length > 0) {
    throw new Error(`RegistryClientTrust ${name}: ${problems.join("; ")}`);
  }
}
