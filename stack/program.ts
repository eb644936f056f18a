/**
 * The root stack: a secured registry, this host's trust and login, and the images the config
 * asks for. Takes parsed settings (see ./config) so tests can run it under mocks without config.
 */
import * as pulumi from "@pulumi/pulumi";
import * as path from "path";
import { BuiltImage, FlattenedImage, SecureRegistry } from "../src";
import { StackConfig, StackImage } from "./config";

/** Values the stack program reads with `getSecret`. */
export interface StackSecrets {
  /** Upstream registry password for pull-through cache mode. */
  readonly proxyPassword?: pulumi.Input<string>;
}

export interface StackOutputs {
  /** `host[:port]` as clients write it in image names. */
  readonly endpoint: pulumi.Output<string>;
  /** `https://<endpoint>`. */
  readonly url: pulumi.Output<string>;
  /** CA certificate to trust on other hosts (`certs.d/<endpoint>/ca.crt`). */
  readonly caCertPem: pulumi.Output<string>;
  /** `docker login` that reads the password from stdin. */
  readonly loginCommand: pulumi.Output<string>;
  /** Every user's name and password (secret). */
  readonly credentials: pulumi.Output<{ username: string; password: string }[]>;
  /** Pushed image name -> `repository@sha256:…`, for deployments. */
  readonly imageDigests: pulumi.Output<Record<string, string>>;
}

/** Resource-name fragment for an image (`apps/web:1.0` -> `apps-web-1-0`). */
export function imageResourceName(image: StackImage): string {
  return image.name.replace(/[^a-z0-9]+/g, "-");
}

/** Where the flattened copy of `app:1.0` goes: `app:1.0-flat`. */
export function flatImageName(image: StackImage): string {
  return `${image.name}-flat`;
}

export function createStack(config: StackConfig, secrets: StackSecrets = {}): StackOutputs {
  const registry = new SecureRegistry("registry", {
    hostname: config.hostname,
    additionalHostnames: config.additionalHostnames,
    ipAddresses: config.ipAddresses,
    port: config.port,
    bindAddress: config.bindAddress,
    image: config.image,
    users: config.users.map((username) => ({ username })),
    realm: config.realm,
    logLevel: config.logLevel,
    tls: {
      minimumVersion: config.minimumTlsVersion,
      keyAlgorithm: config.keyAlgorithm,
      validityDays: config.certValidityDays,
    },
    proxy: config.proxyRemoteUrl
      ? {
          remoteUrl: config.proxyRemoteUrl,
          username: config.proxyUsername,
          password: config.proxyUsername ? secrets.proxyPassword : undefined,
        }
      : undefined,
    trust: {
      certsDirs: config.trustCertsDirs,
      insecure: config.trustInsecure,
      // insecure-registries only applies once dockerd re-reads daemon.json.
      reloadDaemon: config.trustInsecure,
      login: config.dockerLogin,
    },
  });

  const digests: pulumi.Output<[string, string]>[] = [];
  for (const image of config.images) {
    const resourceName = `image-${imageResourceName(image)}`;
    const built = new BuiltImage(resourceName, {
      context: image.context,
      // Relative to the project directory, as docker.Image reads it: no machine paths in inputs.
      dockerfile: image.dockerfile ? path.posix.join(image.context, image.dockerfile) : undefined,
      target: image.target,
      platform: config.platform,
      imageName: image.name,
      registry,
    });
    digests.push(pulumi.all([built.imageName, built.repoDigest]));
    if (image.flatten) {
      const flat = new FlattenedImage(`${resourceName}-flat`, {
        source: built.repoDigest,
        imageName: flatImageName(image),
        push: true,
        registry,
      });
      digests.push(pulumi.all([flat.imageName, flat.repoDigest.apply((d) => d ?? "")]));
    }
  }

  return {
    endpoint: registry.endpoint,
    url: registry.url,
    caCertPem: registry.caCertPem,
    loginCommand: registry.trust!.loginCommand,
    credentials: registry.credentials,
    imageDigests: pulumi.all(digests).apply((pairs) => Object.fromEntries(pairs)),
  };
}
