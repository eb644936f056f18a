import * as pulumi from "@pulumi/pulumi";
import { normalizeRegistryServer } from "./naming";

/**
 * What the image components need from a `SecureRegistry` (structural, so this module does not
 * depend on the registry module): its endpoint, its credentials (the first one is used) and,
 * when present, the resource that makes this host trust the registry's CA.
 */
export interface SecureRegistryLike {
  /** `host:port` clients use. */
  readonly endpoint: pulumi.Input<string>;
  /** Registry users; the first is used to push. */
  readonly credentials: pulumi.Input<pulumi.Input<{ username: string; password: string }>[]>;
  /** Resource that installs the registry's CA on this host; pushes wait for it. */
  readonly trust?: pulumi.Resource;
}

/** Plain registry credentials, like `docker.Image`'s `registry`. */
export interface RegistryLogin {
  /** `host[:port]` (a scheme and trailing `/` are dropped). */
  readonly server: pulumi.Input<string>;
  /** User name to push with. */
  readonly username: pulumi.Input<string>;
  /** Made secret by the components whether or not it arrives secret. */
  readonly password: pulumi.Input<string>;
}

/** A `SecureRegistry` (or anything shaped like one) or plain credentials. */
export type ImageRegistry = SecureRegistryLike | RegistryLogin;

/** A registry reduced to what a push needs. */
export interface ResolvedRegistry {
  readonly server: pulumi.Output<string>;
  readonly username: pulumi.Output<string>;
  /** Always secret. */
  readonly password: pulumi.Output<string>;
  /** Resources a push must wait for (the trust resource, the registry component). */
  readonly dependsOn: pulumi.Resource[];
}

function has(value: object, key: string): boolean {
  return (value as Record<string, unknown>)[key] !== undefined;
}

/**
 * Normalizes `registry`; throws at construction (naming `field`) when it is neither shape.
 * An empty credentials list fails when its value is known, with the fix in the message.
 */
export function resolveRegistry(registry: ImageRegistry, field: string): ResolvedRegistry {
  if (typeof registry !== "object" || registry === null) {
    throw new Error(
      `${field} must be a SecureRegistry (endpoint, credentials) or { server, username, password }; got ${registry === null ? "null" : typeof registry}.`,
    );
  }
  const dependsOn: pulumi.Resource[] = [];
  if (pulumi.Resource.isInstance(registry)) dependsOn.push(registry);
  if (has(registry, "endpoint") && has(registry, "credentials")) {
    const secure = registry as SecureRegistryLike;
    if (secure.trust !== undefined) {
      if (!pulumi.Resource.isInstance(secure.trust)) {
        throw new Error(
          `${field}.trust must be a Pulumi resource (the registry's trust resource).`,
        );
      }
      dependsOn.push(secure.trust);
    }
    if (Array.isArray(secure.credentials) && secure.credentials.length === 0) {
      throw new Error(
        `${field}.credentials is empty: the registry has no user to push with. Add a user to the SecureRegistry.`,
      );
    }
    const first = pulumi.output(secure.credentials).apply((credentials) => {
      if (!credentials || credentials.length === 0) {
        throw new Error(
          `${field}.credentials is empty: the registry has no user to push with. Add a user to the SecureRegistry.`,
        );
      }
      return credentials[0];
    });
    return {
      server: pulumi.output(secure.endpoint).apply(normalizeRegistryServer),
      username: first.apply((credential) => credential.username),
      password: pulumi.secret(first.apply((credential) => credential.password)),
      dependsOn,
    };
  }
  if (has(registry, "server") && has(registry, "username") && has(registry, "password")) {
    const login = registry as RegistryLogin;
    return {
      server: pulumi.output(login.server).apply(normalizeRegistryServer),
      username: pulumi.output(login.username),
      password: pulumi.secret(login.password),
      dependsOn,
    };
  }
  const keys = Object.keys(registry).join(", ") || "none";
  throw new Error(
    `${field} must be a SecureRegistry (endpoint, credentials) or { server, username, password }; got an object with keys: ${keys}.`,
  );
}
