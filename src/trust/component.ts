import * as pulumi from "@pulumi/pulumi";
import { componentLabel } from "../common/checks";
import { checkTrustArgs } from "./args";
import { TRUST_DEFAULTS } from "./inputs";
import { TrustFiles } from "./provider";

/** Credentials for the registry, written to the docker client config. */
export interface RegistryClientLogin {
  /** User name (no ":"). */
  readonly username: pulumi.Input<string>;
  /** Password; always stored as a Pulumi secret. */
  readonly password: pulumi.Input<string>;
}

/**
 * containerd (what Kubernetes nodes run): `<hostsDir>/<host[:port]>/hosts.toml` naming the
 * registry with its CA (`ca.crt` beside it) and, with mTLS, the client pair. containerd reads it
 * per pull once its CRI registry `config_path` points at `hostsDir`
 * (`[plugins."io.containerd.grpc.v1.cri".registry] config_path = "/etc/containerd/certs.d"`,
 * then restart containerd once); `ctr` reads it with `--hosts-dir`. An existing hosts.toml is
 * merged: other hosts' entries and a `server` the user set stay.
 */
export interface ContainerdTrustOptions {
  /** The hosts directory. Default `/etc/containerd/certs.d`. Absolute path. */
  readonly hostsDir?: pulumi.Input<string>;
  /** What containerd may do with the registry. Default `["pull", "resolve", "push"]`. */
  readonly capabilities?: pulumi.Input<pulumi.Input<"pull" | "resolve" | "push">[]>;
}

/**
 * BuildKit (`docker buildx` builders, CI build steps): `[registry."<host[:port]>"] ca = [...]`
 * (and `keypair` with mTLS) merged into buildkitd.toml, with the CA at
 * `<certsDir>/<host[:port]>/ca.crt`. buildkitd reads its config at start: restart it, or
 * recreate the builder (`docker buildx create --config <configPath>`), to pick the entry up.
 */
export interface BuildkitTrustOptions {
  /** buildkitd's config file. Default `/etc/buildkit/buildkitd.toml`. Absolute path. */
  readonly configPath?: pulumi.Input<string>;
  /** Where the CA (and client pair) files go. Default `/etc/buildkit/certs.d`. Absolute path. */
  readonly certsDir?: pulumi.Input<string>;
}

/**
 * A remote host to write the trust files on, over SSH (SFTP, and `kill -HUP` for dockerd's
 * reload), in the shape of `@pulumi/command`'s `remote.ConnectionArgs`. The secrets are stored
 * as Pulumi secrets and never appear in logs or errors.
 */
export interface RegistryClientConnection {
  /** Host name or address. Required. */
  readonly host: pulumi.Input<string>;
  /** SSH port. Default 22. */
  readonly port?: pulumi.Input<number>;
  /** User to log in as. Default `root` (the default paths need root). */
  readonly user?: pulumi.Input<string>;
  /** Password login. Secret. */
  readonly password?: pulumi.Input<string>;
  /** The private key's text (OpenSSH or PEM). Secret. Preferred over `password`. */
  readonly privateKey?: pulumi.Input<string>;
  /** Passphrase of an encrypted `privateKey`. Secret. */
  readonly privateKeyPassword?: pulumi.Input<string>;
  /**
   * The host's public key (`ssh-ed25519 AAAA...`, as `ssh-keyscan` prints) or its fingerprint
   * (`SHA256:...`): the connection is refused when the host shows another. Default: not checked
   * (a warning says so).
   */
  readonly hostKey?: pulumi.Input<string>;
  /** An ssh-agent socket on the machine that runs Pulumi. Default: none. */
  readonly agentSocketPath?: pulumi.Input<string>;
  /** Dial attempts on network errors (1-100; a refused login fails at once). Default 10. */
  readonly dialErrorLimit?: pulumi.Input<number>;
  /** Seconds each dial may take (1-600). Default 15. */
  readonly perDialTimeout?: pulumi.Input<number>;
}

/**
 * How a host trusts a registry: everything except the registry's own endpoint and CA (which
 * `SecureRegistry` supplies when it creates the trust as its child).
 */
export interface RegistryClientTrustOptions {
  /**
   * Directories that get `<endpoint>/ca.crt`. Default `["/etc/docker/certs.d"]` (dockerd, read
   * per connection: no restart). Add `/etc/containers/certs.d` for Podman, Buildah and skopeo;
   * rootless setups use their own (e.g. `~/.config/containers/certs.d`). Absolute paths; a last
   * part other than `certs.d` gets a warning. Ignored when `insecure` is true.
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
  /**
   * Client certificate (PEM) for a registry that requires mTLS: written as `client.cert` beside
   * every `ca.crt` (0644) and named in hosts.toml / buildkitd.toml. With `clientKeyPem`. Default: none.
   */
  readonly clientCertPem?: pulumi.Input<string>;
  /** The client certificate's private key (PEM): `client.key`, mode 0600. Secret. Default: none. */
  readonly clientKeyPem?: pulumi.Input<string>;
  /** Also make containerd trust the registry. Default: off. */
  readonly containerd?: ContainerdTrustOptions;
  /** Also make BuildKit trust the registry. Default: off. */
  readonly buildkit?: BuildkitTrustOptions;
  /**
   * Write the files on this remote host over SSH instead of the host that runs Pulumi. Default:
   * none (this host).
   */
  readonly connection?: RegistryClientConnection;
}

/** Arguments of {@link RegistryClientTrust}. */
export interface RegistryClientTrustArgs extends RegistryClientTrustOptions {
  /** The registry as clients name it: `host[:port]` (DNS name, IPv4, or `[IPv6]`). Required. */
  readonly endpoint: pulumi.Input<string>;
  /** The CA certificate (PEM) that signed the registry's certificate. Required unless `insecure`. */
  readonly caCertPem?: pulumi.Input<string>;
}

/**
 * Makes a host (this one, or `connection`'s over SSH) trust a registry: writes its CA to
 * `<certsDir>/<endpoint>/ca.crt` (and for containerd / BuildKit when asked; or, with `insecure`,
 * lists it in daemon.json), optionally logs in by merging an `auths` entry into the docker client
 * config, and delivers a client certificate for mTLS. Shared files are merged under a lock; every
 * write of a failed attempt is undone; delete removes exactly what it wrote; refresh notices
 * removed or edited files and the next update puts them back.
 */
export class RegistryClientTrust extends pulumi.ComponentResource {
  /** Paths written on the target host, sorted. */
  public readonly files: pulumi.Output<string[]>;
  /**
   * `docker login <endpoint> --username <user> --password-stdin` (`docker login <endpoint>`
   * without `login`). Never secret: it holds no password.
   */
  public readonly loginCommand: pulumi.Output<string>;

  constructor(name: string, args: RegistryClientTrustArgs, opts?: pulumi.ComponentResourceOptions) {
    const label = componentLabel("RegistryClientTrust", name);
    const { args: checked, warnings } = checkTrustArgs(label, args);
    super("secure-registry:trust:RegistryClientTrust", name, {}, opts);
    for (const warning of warnings) pulumi.log.warn(`${label}: ${warning}`, this);

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
        .all([checked.insecure as pulumi.Input<boolean>, args.endpoint, daemonConfigPath])
        .apply(([on, endpoint, daemonConfig]) => {
          if (on) warnInsecure(endpoint, daemonConfig);
        });
    }

    const connection = checked.connection as Record<string, pulumi.Input<unknown>> | undefined;
    if (connection !== undefined && connection.hostKey === undefined) {
      pulumi.log.warn(
        `${label}: connection.hostKey is not set, so the identity of ${
          typeof connection.host === "string" ? connection.host : "the host"
        } is not checked: whoever answers at that address receives the files (and the login). ` +
          "Pin it with connection.hostKey (ssh-keyscan prints it).",
        this,
      );
    }
    const { password, privateKey, privateKeyPassword, ...target } = connection ?? {};
    const hasSecrets = [password, privateKey, privateKeyPassword].some((v) => v !== undefined);

    const trustFiles = new TrustFiles(
      `${name}-files`,
      {
        endpoint: checked.endpoint as pulumi.Input<string>,
        caCertPem: checked.caCertPem as pulumi.Input<string> | undefined,
        certsDirs: checked.certsDirs as pulumi.Input<pulumi.Input<string>[]> | undefined,
        insecure: checked.insecure as pulumi.Input<boolean> | undefined,
        daemonConfigPath: checked.daemonConfigPath as pulumi.Input<string> | undefined,
        reloadDaemon: checked.reloadDaemon as pulumi.Input<boolean> | undefined,
        pidFile: checked.pidFile as pulumi.Input<string> | undefined,
        login:
          checked.login === undefined
            ? undefined
            : pulumi.secret(pulumi.output(checked.login as pulumi.Input<RegistryClientLogin>)),
        clientConfigPath: checked.clientConfigPath as pulumi.Input<string> | undefined,
        adopt: checked.adopt as pulumi.Input<boolean> | undefined,
        clientCertPem: checked.clientCertPem as pulumi.Input<string> | undefined,
        clientKeyPem:
          checked.clientKeyPem === undefined
            ? undefined
            : pulumi.secret(checked.clientKeyPem as pulumi.Input<string>),
        containerd: checked.containerd as ContainerdTrustOptions | undefined,
        buildkit: checked.buildkit as BuildkitTrustOptions | undefined,
        connection:
          connection === undefined ? undefined : (target as { host: pulumi.Input<string> }),
        connectionSecrets: hasSecrets
          ? pulumi.secret({ password, privateKey, privateKeyPassword } as pulumi.Input<unknown>)
          : undefined,
      },
      { parent: this },
    );

    this.files = trustFiles.files;
    this.loginCommand = loginCommandFor(
      checked.endpoint as pulumi.Input<string>,
      args.login === undefined ? undefined : (checked.login as pulumi.Input<RegistryClientLogin>),
    );
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
  // Only the username is read, and the secret wrapper of a login Output (e.g. SecureRegistry's
  // first user) is taken off: the command holds no secret and must stay readable.
  const username = pulumi.Output.isInstance(login)
    ? pulumi.unsecret(login.apply((l) => l.username))
    : pulumi.unsecret(pulumi.output((login as RegistryClientLogin).username));
  return pulumi.all([endpoint, username]).apply(([e, u]) => loginCommandText(e, u));
}

/**
 * Throws an InvalidInputError at construction, before any resource exists, for every argument
 * already known to be wrong (Outputs are left for the component to check when known). SecureRegistry
 * calls it too, so a bad `trust` option fails before the registry exists: `component` names it in
 * messages and `prefix` (e.g. `trust.`) goes before every field path.
 */
export function validateRegistryClientTrustArgs(
  name: string,
  args: RegistryClientTrustArgs,
  options: { component?: string; prefix?: string } = {},
): void {
  checkTrustArgs(options.component ?? componentLabel("RegistryClientTrust", name), args, {
    prefix: options.prefix,
    wrap: false,
  });
}
