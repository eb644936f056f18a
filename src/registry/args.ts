/**
 * SecureRegistry's arguments and their defaults.
 *
 * Every value a user may hold as an Output (from another resource or a StackReference) is an
 * `Input`, lists are `Input<Input<T>[]>`; values are checked at construction when plain and once
 * known when not. Only what decides which resources exist stays plain: `trust`, whether `proxy`,
 * `tls` own certificate PEMs and `container` are given, and `storage.retainOnDelete`.
 */
import * as pulumi from "@pulumi/pulumi";
import { HtpasswdUser } from "../auth/htpasswdUsers";
import {
  CERTIFICATE_OPTION_KEYS,
  CertificateOptions,
  OWN_CERTIFICATE_KEYS,
  OwnCertificate,
} from "../tls/registryCertificates";
import { RegistryClientLogin, RegistryClientTrustOptions } from "../trust/component";
import { RegistryClientAuthOptions, RegistryTrustClientOption } from "./clientAuth";
import type { RegistryContainerOptions } from "./container-options";
import { S3StorageOptions } from "./s3";
import { LogLevel, TlsVersion } from "./validate";

/** Certificate options of a SecureRegistry, and client certificates (mTLS, see clientAuth.ts). */
export interface RegistryTlsOptions
  extends CertificateOptions, OwnCertificate, RegistryClientAuthOptions {
  /** Lowest TLS version the registry accepts: "tls1.2" or "tls1.3". Default "tls1.2". */
  readonly minimumVersion?: pulumi.Input<TlsVersion>;
}

/** Where the registry keeps its data. */
export interface RegistryStorageOptions {
  /**
   * Name of the Docker volume mounted at /var/lib/registry. It outlives container replacements
   * (a renewed certificate replaces the container). Default `<name>-data`.
   */
  readonly volumeName?: pulumi.Input<string>;
  /** Allow deleting images through the API (REGISTRY_STORAGE_DELETE_ENABLED). Default true. */
  readonly deleteEnabled?: pulumi.Input<boolean>;
  /**
   * Keep the data volume (every pushed image) when the registry is destroyed or the volume is
   * replaced: Pulumi forgets it instead of deleting it, and a later `pulumi up` with the same
   * `volumeName` finds the data again. `false` deletes the data with the stack. Default true.
   * To remove retained data on purpose: `docker volume rm <volumeName>`.
   */
  readonly retainOnDelete?: boolean;
  /**
   * Keep the data in S3 or an S3-compatible object store instead of a volume (no volume is then
   * declared; `volumeName` and `retainOnDelete` are refused). See S3StorageOptions. Default: none
   * (the volume).
   */
  readonly s3?: S3StorageOptions;
}

/** Pull-through cache of an upstream registry. A proxying registry does not accept pushes. */
export interface RegistryProxyOptions {
  /**
   * The upstream registry's http(s) URL: scheme, host and optional port, no path and no
   * credentials, e.g. https://registry-1.docker.io.
   */
  readonly remoteUrl: pulumi.Input<string>;
  /** Upstream user name. Default: none (anonymous). Give it together with `password`. */
  readonly username?: pulumi.Input<string>;
  /** Upstream password (kept secret in its own file in the container). Default: none. */
  readonly password?: pulumi.Input<string>;
  /**
   * Serve pulls without authentication, so dockerd can use the cache as a `registry-mirrors`
   * entry (dockerd sends no credentials to mirrors). TLS stays on; image deletion is off. Anyone
   * who reaches the port can pull whatever the cache can fetch upstream (with `username` /
   * `password`, private images too): bind it to an internal address (`bindAddress`). `users`
   * must not be given. Default false (pulls need a user's credentials).
   */
  readonly anonymousPulls?: boolean;
}

/**
 * What a registry is, wherever it runs: its names, image, users, TLS and settings. SecureRegistry
 * (a container) and SecureRegistryService (Swarm replicas) both take these, with the same checks.
 */
export interface RegistryServerArgs {
  /**
   * Name clients use for the registry, in `endpoint`, image names and the certificate's SANs:
   * a DNS name, or an IP address (then it goes into the IP SANs). Default "localhost".
   */
  readonly hostname?: pulumi.Input<string>;
  /** More DNS names for the certificate's SANs. Default []. */
  readonly additionalHostnames?: pulumi.Input<pulumi.Input<string>[]>;
  /** IP addresses for the certificate's SANs. Default []. */
  readonly ipAddresses?: pulumi.Input<pulumi.Input<string>[]>;
  /** Registry image; the container runs its image ID, so a moving tag causes no diff. Default "registry:2". */
  readonly image?: pulumi.Input<string>;
  /**
   * htpasswd users, each with an optional password (generated when missing) and bcrypt cost
   * (default 4 for generated passwords, 10 for supplied ones). A list, or an Output of one whose
   * users then all carry passwords. Default one user "registry" with a generated password.
   */
  readonly users?: pulumi.Input<pulumi.Input<HtpasswdUser>[]>;
  /** Basic-auth realm (REGISTRY_AUTH_HTPASSWD_REALM). Default "Registry realm". */
  readonly realm?: pulumi.Input<string>;
  /** Certificate options, or your own certificate. Default: generated RSA 4096, 365 days, tls1.2. */
  readonly tls?: RegistryTlsOptions;
  /** Registry log level: "error", "warn", "info" or "debug". Default "info". */
  readonly logLevel?: pulumi.Input<LogLevel>;
  /**
   * Extra registry settings as `REGISTRY_<SECTION>_<KEY>: value`, e.g.
   * `REGISTRY_STORAGE_MAINTENANCE_UPLOADPURGING_AGE: "72h"`. Each value reaches the registry exactly
   * as given (quoted for distribution's YAML parsing when needed). An entry is secret (in a secret
   * env file, never in the container's `envs`) when its value is a Pulumi secret or its key names
   * a secret (`*SECRET*`, `*PASSWORD*`, `*TOKEN*`, `*ACCESSKEY*`...), readable in previews
   * otherwise. Settings the component owns are refused (the error names the option to use). A map,
   * or an Output of one. Default {}.
   */
  readonly env?: pulumi.Input<Record<string, pulumi.Input<string>>>;
  /**
   * The registry's `http.secret`, which signs upload state: registries that share storage (or sit
   * behind one load balancer) need the same one. Default: generated once (48 letters and digits,
   * `random.RandomPassword`), kept in state as a secret, unchanged on later runs.
   */
  readonly httpSecret?: pulumi.Input<string>;
}

/** SecureRegistry: a registry in one container on a Docker engine. */
export interface SecureRegistryArgs extends RegistryServerArgs {
  /** Host port the registry is published on (container port 5000). Default 443. */
  readonly port?: pulumi.Input<number>;
  /** Host address the port is published on. Default "0.0.0.0" (all interfaces). */
  readonly bindAddress?: pulumi.Input<string>;
  /**
   * Data volume or S3 bucket, deletion, retention. Default volume `<name>-data`, delete enabled,
   * retained.
   */
  readonly storage?: RegistryStorageOptions;
  /** Run as a pull-through cache of another registry. Default: none (a normal registry). */
  readonly proxy?: RegistryProxyOptions;
  /** Docker container name. Default: the component's name. */
  readonly containerName?: pulumi.Input<string>;
  /**
   * Container settings the component does not own, passed to `docker.Container` as given:
   * networks (`networksAdvanced`, `networkMode`), `labels`, resource limits (`memory`, `cpuShares`,
   * `cpuSet`, `ulimits`...), `logDriver` / `logOpts`, extra hosts (`hosts`), `dns`, and plain
   * process environment in `envs` (e.g. `HTTP_PROXY=...`, `NO_PROXY=...` for a pull-through cache
   * behind a proxy). Settings the component owns are refused, naming the option to use. Default {}.
   */
  readonly container?: RegistryContainerOptions;
  /**
   * Make the host that runs `pulumi up` trust the registry (and optionally log in), through a
   * RegistryClientTrust child named `<name>-trust`. Only an object turns it on; undefined, null
   * or false leave this host unchanged. Default: none.
   */
  readonly trust?: SecureRegistryTrustOptions | false | null;
}

/** `trust` of a SecureRegistry: RegistryClientTrust's options, with `login: true` as a shortcut. */
export interface SecureRegistryTrustOptions
  extends Omit<RegistryClientTrustOptions, "login">, RegistryTrustClientOption {
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
  retainOnDelete: true,
} as const;

/** The option names of each args object, for unknown-key checks ("did you mean"). */
export const ARG_KEYS = {
  args: [
    "hostname",
    "additionalHostnames",
    "ipAddresses",
    "port",
    "bindAddress",
    "image",
    "users",
    "realm",
    "tls",
    "storage",
    "proxy",
    "logLevel",
    "env",
    "httpSecret",
    "containerName",
    "container",
    "trust",
  ],
  tls: [
    ...CERTIFICATE_OPTION_KEYS,
    ...OWN_CERTIFICATE_KEYS,
    "minimumVersion",
    "clientCertificates",
    "clientCaCertPem",
  ],
  storage: ["volumeName", "deleteEnabled", "retainOnDelete", "s3"],
  proxy: ["remoteUrl", "username", "password", "anonymousPulls"],
} satisfies Record<string, readonly string[]>;
