/**
 * SecureRegistry's arguments and their defaults.
 */
import * as pulumi from "@pulumi/pulumi";
import { HtpasswdUser } from "../auth/htpasswdUsers";
import { CertificateOptions, OwnCertificate } from "../tls/registryCertificates";
import { RegistryClientLogin, RegistryClientTrustOptions } from "../trust/component";
import { RegistryClientAuthOptions, RegistryTrustClientOption } from "./clientAuth";
import { S3StorageOptions } from "./s3";
import { LogLevel, TlsVersion } from "./validate";

/** Certificate options of a SecureRegistry, and client certificates (mTLS, see clientAuth.ts). */
export interface RegistryTlsOptions
  extends CertificateOptions, OwnCertificate, RegistryClientAuthOptions {
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
  /**
   * Keep the data in S3 or an S3-compatible object store instead of a volume (no volume is then
   * declared; `volumeName` is refused). See S3StorageOptions. Default: none (the volume).
   */
  readonly s3?: S3StorageOptions;
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
  /** Data volume or S3 bucket, and deletion. Default volume `<name>-data`, delete enabled. */
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
} as const;
