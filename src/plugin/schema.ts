/**
 * What other Pulumi languages see of the components: the source the schema is generated from.
 *
 * Pulumi's component host (`@pulumi/pulumi/provider/experimental`) reads TypeScript source: each
 * component is a class extending ComponentResource with one constructor `(name, args, opts)`,
 * `args` an interface; its `Output` members become outputs. It cannot represent a union (other
 * than literal unions declared as a named `as const` object, see LogLevel), a reference to a
 * component of this package, or a mapped type such as `Omit`.
 *
 * Components whose TypeScript API fits are served as they are (provider/index.ts re-exports
 * them). For the others this module declares, with no runtime code, the class other languages
 * see: the same name, arguments that extend the TypeScript arguments and narrow each union to one
 * representable shape (TypeScript-only conveniences stay TypeScript-only), and the outputs other
 * than child resources. At run time the real class is constructed (see components.ts); the
 * compile-time checks there keep these declarations in step with the real classes.
 */
import * as pulumi from "@pulumi/pulumi";
import type { Credential } from "../auth/htpasswdUsers";
import type { BuiltImageArgs } from "../images/built-image";
import type { FlattenedImageArgs } from "../images/flattened-image";
import type { LintFinding } from "../images/lint";
import type { RegistryLogin } from "../images/registry";
import type {
  RegistryTlsOptions as TsRegistryTlsOptions,
  SecureRegistryArgs,
} from "../registry/args";
import type { RegistryTrustClientOption } from "../registry/clientAuth";
import type { SecureRegistryServiceArgs } from "../service/args";
import type {
  ClientCertificate,
  RegistryClientCertificatesArgs as TsRegistryClientCertificatesArgs,
} from "../tls/clientCertificates";
import type { RegistryClientLogin, RegistryClientTrustOptions } from "../trust/component";

/** SecureRegistry's `tls`, with the client names as a list other languages can give. */
export interface RegistryTlsOptions extends TsRegistryTlsOptions {
  /**
   * Require client certificates (mTLS) and issue one from the registry's CA for each name, e.g.
   * `["ci", "node-1"]`: the `clientCertificates` output holds each pair, and `trust` installs one.
   * `[]` requires certificates from the registry's CA but issues none here. Not with your own
   * certificate (`certPem`); use `clientCaCertPem`. Default: none (no client certificate required).
   */
  readonly clientCertificates?: string[];
}

/**
 * `trust` of a SecureRegistry: RegistryClientTrust's options for the host that runs Pulumi. (It
 * extends RegistryClientTrustOptions itself: the analyser cannot read the TypeScript type, an
 * `Omit` of it.)
 */
export interface SecureRegistryTrustOptions
  extends RegistryClientTrustOptions, RegistryTrustClientOption {
  /** Log this host's docker client in with these credentials. Default: no login. */
  readonly login?: pulumi.Input<RegistryClientLogin>;
  /**
   * Log this host's docker client in as the registry's first user (TypeScript: `login: true`).
   * Give this or `login`, not both. Default false.
   */
  readonly loginAsFirstUser?: boolean;
}

/** Arguments of SecureRegistry in every language: `trust` in one shape. */
export interface SecureRegistryPluginArgs extends SecureRegistryArgs {
  /** Certificate options, or your own certificate. Default: generated RSA 4096, 365 days, tls1.2. */
  readonly tls?: RegistryTlsOptions;
  /**
   * Make the host that runs `pulumi up` trust the registry (and optionally log in), through a
   * RegistryClientTrust child named `<name>-trust`. Default: none (this host is not changed).
   */
  readonly trust?: SecureRegistryTrustOptions;
}

/**
 * A private Docker registry with TLS and htpasswd authentication, as one component: certificates,
 * users, the registry image, a named data volume and the container, which `pulumi up` waits for
 * until its health check passes.
 */
export declare class SecureRegistry extends pulumi.ComponentResource {
  constructor(name: string, args: SecureRegistryPluginArgs, opts?: pulumi.ComponentResourceOptions);
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
  /** True when the registry is a pull-through cache (`proxy`): it refuses pushes. */
  readonly pullThroughCache: boolean;
  /**
   * Client certificates issued from the registry's CA for `tls.clientCertificates`, each
   * `{ name, certPem, privateKeyPem }` (secret); [] when none are issued.
   */
  readonly clientCertificates: pulumi.Output<ClientCertificate[]>;
  /** The registry refuses clients without a certificate it accepts (mTLS). */
  readonly requiresClientCertificates: boolean;
}

/** Arguments of SecureRegistryService in every language: `tls` as SecureRegistry's. */
export interface SecureRegistryServicePluginArgs extends SecureRegistryServiceArgs {
  /** Certificate options, or your own certificate. Default: generated RSA 4096, 365 days, tls1.2. */
  readonly tls?: RegistryTlsOptions;
}

/**
 * The registry as a Docker Swarm service: replicas that share an S3 bucket and one http secret.
 * A renewed certificate or a changed user list rolls through the replicas one at a time, each
 * gated by its health check, rolled back on failure.
 */
export declare class SecureRegistryService extends pulumi.ComponentResource {
  constructor(
    name: string,
    args: SecureRegistryServicePluginArgs,
    opts?: pulumi.ComponentResourceOptions,
  );
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
  /** The Swarm service's name. */
  readonly serviceName: pulumi.Output<string>;
  /**
   * Client certificates issued from the registry's CA for `tls.clientCertificates`, each
   * `{ name, certPem, privateKeyPem }` (secret); [] when none are issued.
   */
  readonly clientCertificates: pulumi.Output<ClientCertificate[]>;
  /** The registry refuses clients without a certificate it accepts (mTLS). */
  readonly requiresClientCertificates: boolean;
}

/** Arguments of RegistryClientCertificates, with the client names as a plain list. */
export interface RegistryClientCertificatesArgs extends TsRegistryClientCertificatesArgs {
  /**
   * Names of the clients, one certificate each (its common name), e.g. ["ci", "node-1"]. Plain
   * strings: each names child resources. Required, at least one.
   */
  readonly clients: string[];
}

/**
 * A key and a certificate for each named client, signed by a CA, for registries that require
 * client certificates (mTLS). Certificates carry only the `client_auth` extended usage.
 */
export declare class RegistryClientCertificates extends pulumi.ComponentResource {
  constructor(
    name: string,
    args: RegistryClientCertificatesArgs,
    opts?: pulumi.ComponentResourceOptions,
  );
  /** Every client's name, certificate and key, in the order of `clients` (secret). */
  readonly certificates: pulumi.Output<ClientCertificate[]>;
  /** The CA certificate the client certificates chain to (the registry's `clientcas`). */
  readonly caCertPem: pulumi.Output<string>;
}

/** Arguments of BuiltImage in every language: `registry` as server and credentials. */
export interface BuiltImagePluginArgs extends BuiltImageArgs {
  /**
   * Where to push: the registry's `host[:port]` and a user's credentials (from a SecureRegistry:
   * its `endpoint` and one of its `credentials`). TypeScript also takes a SecureRegistry itself.
   * Required.
   */
  readonly registry: RegistryLogin;
}

/**
 * Builds a Dockerfile (a chosen `target` stage, pinned `platform`) and pushes it to a registry
 * with the registry's credentials. Lints the Dockerfile and logs findings as warnings.
 */
export declare class BuiltImage extends pulumi.ComponentResource {
  constructor(name: string, args: BuiltImagePluginArgs, opts?: pulumi.ComponentResourceOptions);
  /** Fully qualified `registry/repository:tag` that was pushed. */
  readonly imageName: pulumi.Output<string>;
  /** `registry/repository@sha256:...`: what deployments should reference. */
  readonly repoDigest: pulumi.Output<string>;
  /** Image size in bytes, read from the engine after the build (unknown during preview). */
  readonly size: pulumi.Output<number>;
  /** Filesystem layers of the image (unknown during preview). */
  readonly layerCount: pulumi.Output<number>;
  /** Platform built. */
  readonly platform: pulumi.Output<string>;
  /** Dockerfile findings (after `lintIgnore`). */
  readonly lintFindings: pulumi.Output<LintFinding[]>;
}

/** Arguments of FlattenedImage in every language: `registry` as server and credentials. */
export interface FlattenedImagePluginArgs extends FlattenedImageArgs {
  /**
   * Registry to push to: its `host[:port]` and a user's credentials (TypeScript also takes a
   * SecureRegistry itself). Required when `push` is true.
   */
  readonly registry?: RegistryLogin;
}

/**
 * A one-layer copy of `source` that keeps its configuration, made through the Docker Engine API.
 * Replaced when the source's image ID changes.
 */
export declare class FlattenedImage extends pulumi.ComponentResource {
  constructor(name: string, args: FlattenedImagePluginArgs, opts?: pulumi.ComponentResourceOptions);
  /** The local (or `registry/`-qualified) `repository:tag` of the flattened image. */
  readonly imageName: pulumi.Output<string>;
  /** `sha256:` ID of the flattened image. */
  readonly imageId: pulumi.Output<string>;
  /** `registry/repository@sha256:...` when pushed, otherwise undefined. */
  readonly repoDigest: pulumi.Output<string | undefined>;
  /** Filesystem layers of the flattened image (1). */
  readonly layerCount: pulumi.Output<number>;
  /** Size in bytes of the flattened image. */
  readonly size: pulumi.Output<number>;
  /** Image ID the source reference resolved to. */
  readonly sourceImageId: pulumi.Output<string>;
  /** Filesystem layers of the source image. */
  readonly sourceLayerCount: pulumi.Output<number>;
  /** Size in bytes of the source image. */
  readonly sourceSize: pulumi.Output<number>;
}
