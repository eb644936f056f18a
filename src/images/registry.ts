import * as pulumi from "@pulumi/pulumi";
import {
  checkList,
  checkObject,
  checkString,
  checkStringValue,
  describeValue,
  fail,
  isDeferred,
  whenKnown,
} from "../common/checks";
import { registryServer } from "./naming";

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
  /**
   * True when the registry is a pull-through cache (proxy mode), which refuses pushes: image
   * components refuse to push there. Undefined: not known (a plain object), not refused.
   */
  readonly pullThroughCache?: boolean;
}

/** Plain registry credentials, like `docker.Image`'s `registry`. */
export interface RegistryLogin {
  /** `host[:port]` (a scheme and trailing `/` are dropped; a path is refused). */
  readonly server: pulumi.Input<string>;
  readonly username: pulumi.Input<string>;
  /** Made secret by the components whether or not it arrives secret. */
  readonly password: pulumi.Input<string>;
}

/** A `SecureRegistry` (or anything shaped like one) or plain credentials. */
export type ImageRegistry = SecureRegistryLike | RegistryLogin;

/** A registry reduced to what a push needs. */
export interface ResolvedRegistry {
  readonly server: pulumi.Output<string>;
  /** `server` when it was a plain value (checked at construction), else undefined. */
  readonly knownServer?: string;
  readonly username: pulumi.Output<string>;
  /** Always secret. */
  readonly password: pulumi.Output<string>;
  /** Resources a push must wait for (the trust resource, the registry component). */
  readonly dependsOn: pulumi.Resource[];
}

const SECURE_KEYS = ["endpoint", "credentials", "trust", "pullThroughCache"] as const;
const LOGIN_KEYS = ["server", "username", "password"] as const;

function checkCredential(label: string, field: string, value: unknown): void {
  const credential = checkObject(label, field, value, ["username", "password"]);
  if (credential === undefined) {
    fail(label, field, `${field} is undefined; each credential is { username, password }.`);
  }
  checkStringValue(label, `${field}.username`, credential.username, { example: "ci" });
  checkStringValue(label, `${field}.password`, credential.password, { secret: true });
}

/**
 * Checks and normalizes `registry` (at `field` of the component `label`): a SecureRegistry (or an
 * object shaped like one) or `{ server, username, password }`. Known values are checked now,
 * Outputs when known. A registry in pull-through cache mode is refused: it cannot take a push.
 */
export function resolveRegistry(label: string, field: string, registry: unknown): ResolvedRegistry {
  if (
    typeof registry !== "object" ||
    registry === null ||
    Array.isArray(registry) ||
    isDeferred(registry)
  ) {
    fail(
      label,
      field,
      `${field} is ${describeValue(registry)}; pass a SecureRegistry or { server, username, password }.`,
    );
  }
  const values = registry as Record<string, unknown>;
  const isResource = pulumi.Resource.isInstance(registry);
  const dependsOn: pulumi.Resource[] = isResource ? [registry as pulumi.Resource] : [];
  const secureShaped = values.endpoint !== undefined || values.credentials !== undefined;
  if (!isResource) {
    checkObject(label, field, registry, secureShaped ? SECURE_KEYS : LOGIN_KEYS);
  }
  if (secureShaped || isResource) {
    if (values.pullThroughCache !== undefined) {
      if (typeof values.pullThroughCache !== "boolean") {
        fail(
          label,
          `${field}.pullThroughCache`,
          `${field}.pullThroughCache is ${describeValue(values.pullThroughCache)}, not a boolean; use true or false.`,
        );
      }
      if (values.pullThroughCache) {
        fail(
          label,
          field,
          `${field} is a pull-through cache (proxy mode), which refuses pushes; push to a registry without proxy, or leave the registry out.`,
        );
      }
    }
    if (values.trust !== undefined) {
      if (!pulumi.Resource.isInstance(values.trust)) {
        fail(
          label,
          `${field}.trust`,
          `${field}.trust is ${describeValue(values.trust)}; it must be a Pulumi resource (the registry's trust resource) or left out.`,
        );
      }
      dependsOn.push(values.trust);
    }
    if (values.endpoint === undefined) {
      fail(
        label,
        `${field}.endpoint`,
        `${field}.endpoint is missing; give the registry's host:port.`,
      );
    }
    const endpoint = checkString(label, `${field}.endpoint`, values.endpoint);
    const credentials = checkList<{ username: string; password: string }>(
      label,
      `${field}.credentials`,
      values.credentials,
      (f, v) => checkCredential(label, f, v),
    );
    if (credentials === undefined) {
      fail(
        label,
        `${field}.credentials`,
        `${field}.credentials is missing; give [{ username, password }].`,
      );
    }
    if (Array.isArray(values.credentials) && values.credentials.length === 0) {
      fail(
        label,
        `${field}.credentials`,
        `${field}.credentials is empty: the registry has no user to push with. Add a user to the SecureRegistry.`,
      );
    }
    const first = pulumi.output(credentials).apply((list) => {
      if (list.length === 0) {
        fail(
          label,
          `${field}.credentials`,
          `${field}.credentials is empty: the registry has no user to push with. Add a user to the SecureRegistry.`,
        );
      }
      return list[0];
    });
    const server = whenKnown(endpoint as pulumi.Input<string>, (v) => {
      registryServer(label, `${field}.endpoint`, v);
    });
    return {
      server: pulumi.output(server).apply((v) => registryServer(label, `${field}.endpoint`, v)),
      knownServer: isDeferred(endpoint)
        ? undefined
        : registryServer(label, `${field}.endpoint`, endpoint),
      username: first.apply((credential) => credential.username),
      password: pulumi.secret(first.apply((credential) => credential.password)),
      dependsOn,
    };
  }
  for (const key of LOGIN_KEYS) {
    if (values[key] === undefined) {
      fail(
        label,
        `${field}.${key}`,
        `${field}.${key} is missing; pass a SecureRegistry or { server, username, password }.`,
      );
    }
  }
  const server = whenKnown(values.server as pulumi.Input<string>, (v) => {
    registryServer(label, `${field}.server`, v);
  });
  const username = checkString(label, `${field}.username`, values.username, { example: "ci" });
  const password = checkString(label, `${field}.password`, values.password, { secret: true });
  return {
    server: pulumi.output(server).apply((v) => registryServer(label, `${field}.server`, v)),
    knownServer: isDeferred(values.server)
      ? undefined
      : registryServer(label, `${field}.server`, values.server),
    username: pulumi.output(username as pulumi.Input<string>),
    password: pulumi.secret(password as pulumi.Input<string>),
    dependsOn,
  };
}
