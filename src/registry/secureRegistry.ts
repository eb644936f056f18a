import * as docker from "@pulumi/docker";
import * as pulumi from "@pulumi/pulumi";
import * as random from "@pulumi/random";
import * as net from "net";
import { Credential, HtpasswdUser, HtpasswdUsers, DEFAULT_USERS } from "../auth/htpasswdUsers";
import {
  CertificateOptions,
  OwnCertificate,
  checkOwnCertificateFits,
  RegistryCertificates,
  resolveCertificateOptions,
} from "../tls/registryCertificates";
import {
  RegistryClientLogin,
  RegistryClientTrust,
  RegistryClientTrustOptions,
  validateRegistryClientTrustArgs,
} from "../trust/component";
import {
  CONFIG_PATHS,
  isSecretEnvKey,
  launcherEntrypoint,
  registryEnv,
  renderBaseConfig,
  renderContainerEnv,
  renderEnvFile,
} from "./config";
import {
  CONTAINER_PATHS,
  CONTAINER_PORT,
  DEBUG_ADDR,
  FILE_MODES,
  formatEndpoint,
  registryHealthcheck,
  renderDockerConfigJson,
  WAIT_TIMEOUT_SECONDS,
} from "./render";
import { componentLabel, fail, isDeferred, whenKnown } from "../common/checks";
import {
  validateBindAddress,
  validateDockerName,
  validateHostname,
  validateHostOrIp,
  validateImageReference,
  validateIp,
  validatePort,
} from "../common/validators";
import { validateUsers } from "../auth/validate";
import {
  LogLevel,
  TlsVersion,
  validateEnvKey,
  validateLogLevel,
  validateProxyCredentials,
  validateProxyUrl,
  validateRealm,
  validateSingleLine,
  validateTlsVersion,
} from "./validate";

/** Certificate options of a SecureRegistry. */
export interface RegistryTlsOptions extends CertificateOptions, OwnCertificate {
  /** Lowest TLS version the registry accepts: "tls1.2" or "tls1.3". Default "tls1.2". */
  readonly minimumVersion?: TlsVersion;
}

/** Where the registry keeps its data. */
export interface RegistryStorageOptions {
  /**
   * Name of the Docker volume mounted at /var/lib/registry. It outlives container replacements
   * (a renewed certificate replaces the container). Default `<name>-data`.
   */
  readonly volumeName?: string;
  /** Allow deleting images through the API (REGISTRY_STORAGE_DELETE_ENABLED). Default true. */
  readonly deleteEnabled?: boolean;
}

/** Pull-through cache of an upstream registry. A proxying registry does not accept pushes. */
export interface RegistryProxyOptions {
  /** The upstream registry's http(s) URL, e.g. https://registry-1.docker.io. */
  readonly remoteUrl: pulumi.Input<string>;
  /** Upstream user name. Default: none (anonymous). Give it together with `password`. */
  readonly username?: pulumi.Input<string>;
  /** Upstream password (kept secret in its own file in the container). Default: none. */
  readonly password?: pulumi.Input<string>;
}

export interface SecureRegistryArgs {
  /**
   * Name clients use for the registry, in `endpoint`, image names and the certificate's SANs:
   * a DNS name, or an IP address (then it goes into the IP SANs). Default "localhost". When given
   * as an Output it must be a DNS name.
   */
  readonly hostname?: pulumi.Input<string>;
  /** More DNS names for the certificate's SANs. Default []. */
  readonly additionalHostnames?: pulumi.Input<string>[];
  /** IP addresses for the certificate's SANs. Default []. */
  readonly ipAddresses?: pulumi.Input<string>[];
  /** Host port the registry is published on (container port 5000). Default 443. */
  readonly port?: pulumi.Input<number>;
  /** Host address the port is published on. Default "0.0.0.0" (all interfaces). */
  readonly bindAddress?: pulumi.Input<string>;
  /** Registry image; the container runs its image ID, so a moving tag causes no diff. Default "registry:2". */
  readonly image?: pulumi.Input<string>;
  /** htpasswd users; a user without password gets a generated one. Default one user "registry". */
  readonly users?: HtpasswdUser[];
  /** Basic-auth realm (REGISTRY_AUTH_HTPASSWD_REALM). Default "Registry realm". */
  readonly realm?: pulumi.Input<string>;
  /** Certificate options, or your own certificate. Default: generated RSA 4096, 365 days, tls1.2. */
  readonly tls?: RegistryTlsOptions;
  /** Data volume and deletion. Default volume `<name>-data`, delete enabled. */
  readonly storage?: RegistryStorageOptions;
  /** Run as a pull-through cache of another registry. Default: none (a normal registry). */
  readonly proxy?: RegistryProxyOptions;
  /** Registry log level: "error", "warn", "info" or "debug". Default "info". */
  readonly logLevel?: pulumi.Input<LogLevel>;
  /**
   * Extra registry settings as `REGISTRY_<SECTION>_<KEY>: value`, e.g.
   * `REGISTRY_STORAGE_MAINTENANCE_UPLOADPURGING_AGE: "72h"`. Each value reaches the registry exactly
   * as given (quoted for distribution's YAML parsing when needed). Each entry is its own file in the
   * container: secret when its value is a Pulumi secret or its key names a secret (`*SECRET*`,
   * `*PASSWORD*`, `*TOKEN*`, `*ACCESSKEY*`...), readable in previews otherwise. Settings the
   * component owns are refused (the error names the option to use). Default {}.
   */
  readonly env?: Record<string, pulumi.Input<string>>;
  /**
   * The registry's `http.secret`, which signs upload state: registries that share storage (or sit
   * behind one load balancer) need the same one. Default: generated once (48 letters and digits,
   * `random.RandomPassword`), kept in state as a secret, unchanged on later runs.
   */
  readonly httpSecret?: pulumi.Input<string>;
  /** Docker container name. Default: the component's name. */
  readonly containerName?: string;
  /**
   * Make the host that runs `pulumi up` trust the registry (and optionally log in), through a
   * RegistryClientTrust child named `<name>-trust`. Default: none (this host is not changed).
   */
  readonly trust?: SecureRegistryTrustOptions;
}

/** `trust` of a SecureRegistry: RegistryClientTrust's options, with `login: true` as a shortcut. */
export interface SecureRegistryTrustOptions extends Omit<RegistryClientTrustOptions, "login"> {
  /**
   * Log this host's docker client in: `true` as the first user, or explicit credentials.
   * Default false (no login; `docker login` stays yours to run).
   */
  readonly login?: boolean | pulumi.Input<RegistryClientLogin>;
}

export const REGISTRY_DEFAULTS = {
  hostname: "localhost",
  port: 443,
  bindAddress: "0.0.0.0",
  image: "registry:2",
  realm: "Registry realm",
  minimumVersion: "tls1.2" as TlsVersion,
  logLevel: "info" as LogLevel,
  deleteEnabled: true,
} as const;

const TYPE = "secure-registry:registry:SecureRegistry";

/** Everything the constructor decides before declaring resources. */
interface Plan {
  hostname: pulumi.Input<string>;
  certHostnames: pulumi.Input<string>[];
  certIps: pulumi.Input<string>[];
  port: pulumi.Input<number>;
  bindAddress: pulumi.Input<string>;
  image: pulumi.Input<string>;
  users: readonly HtpasswdUser[];
  realm: pulumi.Input<string>;
  tls: RegistryTlsOptions;
  minimumVersion: pulumi.Input<string>;
  volumeName: string;
  deleteEnabled: boolean;
  proxy?: {
    remoteUrl: pulumi.Input<string>;
    username?: pulumi.Input<string>;
    password?: pulumi.Input<string>;
  };
  logLevel: pulumi.Input<string>;
  env: Record<string, pulumi.Input<string>>;
  httpSecret?: pulumi.Input<string>;
  containerName: string;
  trust?: SecureRegistryTrustOptions;
}

/**
 * Validates SecureRegistry arguments and applies defaults. Throws InvalidInputError for any bad
 * plain value; Output values are checked when known.
 */
export function planSecureRegistry(name: string, args: SecureRegistryArgs): Plan {
  const label = componentLabel("SecureRegistry", name);

  const hostname = args.hostname ?? REGISTRY_DEFAULTS.hostname;
  const hostnameIsIp = typeof hostname === "string" && net.isIP(hostname) !== 0;
  if (!isDeferred(hostname)) validateHostOrIp(label, "hostname", hostname);
  const additional = (args.additionalHostnames ?? []).map((h, i) =>
    whenKnown(h, (v) => validateHostname(label, `additionalHostnames[${i}]`, v)),
  );
  const ips = (args.ipAddresses ?? []).map((ip, i) =>
    whenKnown(ip, (v) => validateIp(label, `ipAddresses[${i}]`, v)),
  );
  const certHostnames = hostnameIsIp
    ? additional
    : [whenKnown(hostname, (v) => validateHostname(label, "hostname", v)), ...additional];
  const certIps = hostnameIsIp ? [hostname, ...ips] : ips;

  const port = whenKnown(args.port ?? REGISTRY_DEFAULTS.port, (v) =>
    validatePort(label, "port", v),
  );
  const bindAddress = whenKnown(args.bindAddress ?? REGISTRY_DEFAULTS.bindAddress, (v) =>
    validateBindAddress(label, "bindAddress", v),
  );
  const image = whenKnown(args.image ?? REGISTRY_DEFAULTS.image, (v) =>
    validateImageReference(label, "image", v),
  );

  const users = args.users ?? DEFAULT_USERS;
  validateUsers(label, "users", users);
  const realm = whenKnown(args.realm ?? REGISTRY_DEFAULTS.realm, (v) =>
    validateRealm(label, "realm", v),
  );

  const tls = args.tls ?? {};
  const { own } = resolveCertificateOptions(label, "tls.", tls);
  if (own) checkOwnCertificateFits(label, "tls.", tls, certHostnames, certIps);
  const minimumVersion = whenKnown(tls.minimumVersion ?? REGISTRY_DEFAULTS.minimumVersion, (v) =>
    validateTlsVersion(label, "tls.minimumVersion", v),
  );

  const volumeName = args.storage?.volumeName ?? `${name}-data`;
  validateDockerName(
    label,
    args.storage?.volumeName === undefined
      ? `the default storage.volumeName (from the component name)`
      : "storage.volumeName",
    volumeName,
  );
  const deleteEnabled = args.storage?.deleteEnabled ?? REGISTRY_DEFAULTS.deleteEnabled;
  if (typeof deleteEnabled !== "boolean") {
    fail(
      label,
      "storage.deleteEnabled",
      `storage.deleteEnabled ${JSON.stringify(deleteEnabled)} is not a boolean; use true or false.`,
    );
  }

  let proxy: Plan["proxy"];
  if (args.proxy !== undefined) {
    validateProxyCredentials(label, "proxy.", args.proxy);
    proxy = {
      remoteUrl: whenKnown(args.proxy.remoteUrl, (v) =>
        validateProxyUrl(label, "proxy.remoteUrl", v),
      ),
      username:
        args.proxy.username === undefined
          ? undefined
          : whenKnown(args.proxy.username, (v) => validateSingleLine(label, "proxy.username", v)),
      password:
        args.proxy.password === undefined
          ? undefined
          : whenKnown(args.proxy.password, (v) => validateSingleLine(label, "proxy.password", v)),
    };
  }

  const logLevel = whenKnown(args.logLevel ?? REGISTRY_DEFAULTS.logLevel, (v) =>
    validateLogLevel(label, "logLevel", v),
  );

  const env: Record<string, pulumi.Input<string>> = {};
  for (const [key, value] of Object.entries(args.env ?? {})) {
    validateEnvKey(label, "env", key);
    env[key] = whenKnown(value, (v) => validateSingleLine(label, `env.${key}`, v));
  }

  const httpSecret =
    args.httpSecret === undefined
      ? undefined
      : whenKnown(args.httpSecret, (v) => {
          validateSingleLine(label, "httpSecret", v);
          if (v.length < 16) {
            fail(
              label,
              "httpSecret",
              "httpSecret is shorter than 16 characters; use a long random value, or leave it out to have one generated.",
            );
          }
        });

  const containerName = args.containerName ?? name;
  validateDockerName(
    label,
    args.containerName === undefined
      ? `the default containerName (the component name)`
      : "containerName",
    containerName,
  );

  if (args.trust !== undefined) {
    const { login, ...options } = args.trust;
    if (
      login !== undefined &&
      typeof login !== "boolean" &&
      (login === null || typeof login !== "object")
    ) {
      fail(
        label,
        "trust.login",
        `trust.login ${JSON.stringify(login)} is neither true/false nor { username, password }; use true to log in as the first user.`,
      );
    }
    const knownEndpoint =
      typeof hostname === "string" && typeof port === "number"
        ? formatEndpoint(hostname, port)
        : pulumi.output(hostname);
    // The CA comes from the certificates declared later: an unknown value skips its check here.
    validateRegistryClientTrustArgs(`${name}-trust (SecureRegistry trust)`, {
      ...options,
      endpoint: knownEndpoint,
      caCertPem: pulumi.output(""),
      login: typeof login === "boolean" ? undefined : login,
    });
  }

  return {
    hostname,
    certHostnames,
    certIps,
    port,
    bindAddress,
    image,
    users,
    realm,
    tls,
    minimumVersion,
    volumeName,
    deleteEnabled,
    proxy,
    logLevel,
    env,
    httpSecret,
    containerName,
    trust: args.trust,
  };
}

/**
 * A private Docker registry with TLS and htpasswd authentication, as one component: certificates
 * (RegistryCertificates), users (HtpasswdUsers), the registry image, a named data volume and the
 * container, which `pulumi up` waits for until its health check passes.
 */
export class SecureRegistry extends pulumi.ComponentResource {
  /** `host:port` (just `host` for 443) as clients write it in image names and `docker login`. */
  readonly endpoint: pulumi.Output<string>;
  /** `https://<endpoint>`. */
  readonly url: pulumi.Output<string>;
  /** The CA certificate clients must trust (e.g. in /etc/docker/certs.d/<endpoint>/ca.crt). */
  readonly caCertPem: pulumi.Output<string>;
  /** Users' names and passwords (secret). */
  readonly credentials: pulumi.Output<Credential[]>;
  /** The htpasswd file the registry reads (secret). */
  readonly htpasswd: pulumi.Output<string>;
  /** Docker config.json content logging the first user in to `endpoint` (secret). */
  readonly dockerConfigJson: pulumi.Output<string>;
  /** The registry container. */
  readonly container: docker.Container;
  /** The volume holding the registry's data. */
  readonly volume: docker.Volume;
  /** The TLS material. */
  readonly certificates: RegistryCertificates;
  /** The registry users. */
  readonly users: HtpasswdUsers;
  /** This host's trust of the registry, when `trust` was given. */
  readonly trust?: RegistryClientTrust;
  /** True when the registry is a pull-through cache (`proxy`): it refuses pushes. */
  readonly pullThroughCache: boolean;

  constructor(name: string, args: SecureRegistryArgs = {}, opts?: pulumi.ComponentResourceOptions) {
    const plan = planSecureRegistry(name, args);
    super(TYPE, name, {}, opts);

    const tls = plan.tls;
    this.certificates = new RegistryCertificates(
      `${name}-tls`,
      {
        keyAlgorithm: tls.keyAlgorithm,
        rsaBits: tls.rsaBits,
        validityDays: tls.validityDays,
        caValidityDays: tls.caValidityDays,
        earlyRenewalDays: tls.earlyRenewalDays,
        certPem: tls.certPem,
        privateKeyPem: tls.privateKeyPem,
        caCertPem: tls.caCertPem,
        hostnames: plan.certHostnames,
        ipAddresses: plan.certIps,
      },
      { parent: this },
    );
    this.users = new HtpasswdUsers(`${name}-users`, { users: [...plan.users] }, { parent: this });

    const image = new docker.RemoteImage(
      `${name}-image`,
      { name: plan.image, keepLocally: true },
      { parent: this },
    );
    this.volume = new docker.Volume(`${name}-data`, { name: plan.volumeName }, { parent: this });

    const settingsEnv = pulumi
      .all([
        plan.realm,
        plan.minimumVersion,
        plan.logLevel,
        plan.proxy ? pulumi.all([plan.proxy.remoteUrl, plan.proxy.username]) : undefined,
      ])
      .apply(([realm, minimumVersion, logLevel, proxy]) =>
        registryEnv({
          listenAddress: `0.0.0.0:${CONTAINER_PORT}`,
          tls: {
            certificate: CONTAINER_PATHS.certificate,
            key: CONTAINER_PATHS.privateKey,
            minimumVersion,
          },
          auth: { realm, htpasswdPath: CONTAINER_PATHS.htpasswd },
          logLevel,
          storage: {
            deleteEnabled: plan.deleteEnabled,
            driver: "filesystem",
            parameters: { rootdirectory: CONTAINER_PATHS.data },
          },
          proxy: proxy ? { remoteUrl: proxy[0], username: proxy[1] } : undefined,
          debugAddress: DEBUG_ADDR,
        }),
      );
    const userEnv = splitSecretEnv(plan.env);
    const envs = pulumi
      .all([settingsEnv, userEnv.plain])
      .apply(([settings, user]) => renderContainerEnv(settings, user));

    const httpSecret =
      plan.httpSecret ??
      new random.RandomPassword(
        `${name}-http-secret`,
        // Letters and digits: nothing distribution's YAML parsing could misread.
        { length: 48, special: false },
        { parent: this },
      ).result;
    /** A `KEY=value` file in the launcher's env directory; its content is always secret. */
    const secretEnvUpload = (file: string, entries: pulumi.Input<Record<string, string>>) => ({
      file: `${CONFIG_PATHS.envDir}/${file}`,
      content: pulumi.secret(pulumi.output(entries).apply(renderEnvFile)),
      permissions: FILE_MODES.envFile,
    });
    const secretUploads = [
      secretEnvUpload(
        "http-secret.env",
        pulumi.output(httpSecret).apply((v) => ({ REGISTRY_HTTP_SECRET: v })),
      ),
      ...(plan.proxy?.password !== undefined
        ? [
            secretEnvUpload(
              "proxy-password.env",
              pulumi.output(plan.proxy.password).apply((v) => ({ REGISTRY_PROXY_PASSWORD: v })),
            ),
          ]
        : []),
      ...(Object.keys(plan.env).length > 0 ? [secretEnvUpload("env.env", userEnv.secret)] : []),
    ];

    this.container = new docker.Container(
      `${name}-container`,
      {
        name: plan.containerName,
        image: image.imageId,
        restart: "always",
        mustRun: true,
        entrypoints: launcherEntrypoint(),
        envs,
        ports: [
          { internal: CONTAINER_PORT, external: plan.port, ip: plan.bindAddress, protocol: "tcp" },
        ],
        volumes: [{ volumeName: this.volume.name, containerPath: CONTAINER_PATHS.data }],
        uploads: [
          {
            file: CONFIG_PATHS.config,
            content: renderBaseConfig("filesystem"),
            permissions: FILE_MODES.config,
          },
          ...secretUploads,
          {
            file: CONTAINER_PATHS.certificate,
            content: this.certificates.certPem,
            permissions: FILE_MODES.certificate,
          },
          {
            file: CONTAINER_PATHS.privateKey,
            content: pulumi.secret(this.certificates.privateKeyPem),
            permissions: FILE_MODES.privateKey,
          },
          {
            file: CONTAINER_PATHS.htpasswd,
            content: pulumi.secret(this.users.htpasswd),
            permissions: FILE_MODES.htpasswd,
          },
        ],
        healthcheck: registryHealthcheck(),
        wait: true,
        waitTimeout: WAIT_TIMEOUT_SECONDS,
      },
      {
        parent: this,
        // The fixed name and host port cannot be held by two containers at once; data is in the volume.
        deleteBeforeReplace: true,
        // The provider plans healthcheck edits as updates but never applies them to a running container.
        replaceOnChanges: ["healthcheck"],
      },
    );

    this.pullThroughCache = plan.proxy !== undefined;
    this.endpoint = pulumi
      .all([plan.hostname, plan.port])
      .apply(([host, port]) => formatEndpoint(host, port));
    this.url = pulumi.interpolate`https://${this.endpoint}`;
    this.caCertPem = this.certificates.caCertPem;
    this.credentials = this.users.credentials;
    this.htpasswd = this.users.htpasswd;
    this.dockerConfigJson = pulumi.secret(
      pulumi
        .all([this.endpoint, this.users.credentials])
        .apply(([endpoint, credentials]) => renderDockerConfigJson(endpoint, credentials[0])),
    );

    if (plan.trust !== undefined) {
      const { login, ...options } = plan.trust;
      const firstUser = pulumi.secret(this.users.credentials.apply((all) => all[0]));
      this.trust = new RegistryClientTrust(
        `${name}-trust`,
        {
          ...options,
          endpoint: this.endpoint,
          caCertPem: this.caCertPem,
          login: login === true ? firstUser : login === false ? undefined : login,
        },
        { parent: this },
      );
    }

    this.registerOutputs({
      endpoint: this.endpoint,
      url: this.url,
      caCertPem: this.caCertPem,
      credentials: this.credentials,
      htpasswd: this.htpasswd,
      dockerConfigJson: this.dockerConfigJson,
    });
  }
}

/**
 * Splits user `env` into entries for the container's `envs` (readable in previews) and entries
 * for a secret env file: an entry is secret when its key names a secret or its value is a Pulumi
 * secret. Which values are secret is known without their values, so previews show the same split.
 * Values are unwrapped only to place the non-secret ones; secret ones never reach `plain`.
 */
function splitSecretEnv(env: Record<string, pulumi.Input<string>>): {
  plain: pulumi.Output<Record<string, string>>;
  secret: pulumi.Output<Record<string, string>>;
} {
  const keys = Object.keys(env).sort();
  const flags = pulumi.output(
    Promise.all(
      keys.map((key) =>
        isSecretEnvKey(key)
          ? true
          : pulumi.Output.isInstance(env[key])
            ? pulumi.isSecret(env[key] as pulumi.Output<string>)
            : false,
      ),
    ),
  );
  const pick = (wantSecret: boolean, values: string[], secretFlags: boolean[]) =>
    Object.fromEntries(
      keys.flatMap((key, i) => (secretFlags[i] === wantSecret ? [[key, values[i]]] : [])),
    ) as Record<string, string>;
  const revealed = keys.map((key) => pulumi.unsecret(pulumi.output(env[key])));
  return {
    plain: pulumi.all([flags, pulumi.all(revealed)]).apply(([f, v]) => pick(false, v, f)),
    secret: pulumi.secret(
      pulumi
        .all([flags, pulumi.all(keys.map((key) => env[key]))])
        .apply(([f, v]) => pick(true, v, f)),
    ),
  };
}
