/**
 * What the rules look at: resources as plain data, whatever stack declared them.
 *
 * @pulumi/policy hands policies resource properties wrapped in a proxy that throws when a value
 * is not known yet (a preview, before the resource it depends on exists). The rules must not
 * stop there: a registry whose image ID is unknown is still found through the RemoteImage it
 * depends on. So `plainData` copies the properties once, turning every unknown value into the
 * `UNKNOWN` marker, and the rules below only ever see plain JSON-like data.
 *
 * This module imports nothing from @pulumi/policy: the rules are pure functions, tested on their
 * own and on resources recorded under Pulumi mocks.
 */

/** Stands for a value a preview cannot know yet. */
export const UNKNOWN: unique symbol = Symbol("unknown");
export type Unknown = typeof UNKNOWN;

/**
 * The sentinel strings the engine sends for unknown values (the same in @pulumi/pulumi's rpc and
 * @pulumi/policy's proxy): a value that reaches the rules unproxied is recognised by them too.
 */
const UNKNOWN_SENTINELS = new Set([
  "1c4a061d-8072-4f0a-a4cb-0ff528b18fe7", // boolean
  "3eeb2bf0-c639-47a8-9e75-3b44932eb421", // number
  "04da6b54-80e4-46f7-96ec-b56ff0331ba9", // string
  "6a19a0b0-7e62-4c92-b797-7f8e31da9cc2", // array
  "030794c1-ac77-496b-92df-f27374a8bd58", // asset
  "e48ece36-62e2-4504-bad9-02848725956a", // archive
  "dd056dcd-154b-4c76-9bd3-c8f88648b5ff", // object
]);

/** @pulumi/policy's error for reading an unknown value (not exported by every version). */
function isUnknownValueError(err: unknown): boolean {
  return (
    err instanceof Error &&
    (err.constructor?.name === "UnknownValueError" ||
      /can't be known during preview/.test(err.message))
  );
}

/** Bounds the copy: resource properties are trees, but a proxy could present a cycle. */
const MAX_DEPTH = 64;

/**
 * A deep copy of `value` (proxied or not) with every unknown value replaced by `UNKNOWN`.
 * Assets and archives are copied as the plain objects the policy SDK gives.
 */
export function plainData(value: unknown, depth = 0): unknown {
  if (depth > MAX_DEPTH) return UNKNOWN;
  if (typeof value === "string") return UNKNOWN_SENTINELS.has(value) ? UNKNOWN : value;
  if (value === null || typeof value !== "object") return value;
  if (Array.isArray(value)) {
    const out: unknown[] = [];
    for (let i = 0; i < value.length; i++) out.push(readPlain(value, i, depth));
    return out;
  }
  const out: Record<string, unknown> = {};
  for (const key of Object.keys(value)) out[key] = readPlain(value, key, depth);
  return out;
}

function readPlain(container: object, key: string | number, depth: number): unknown {
  try {
    return plainData((container as Record<string | number, unknown>)[key], depth + 1);
  } catch (err) {
    if (isUnknownValueError(err)) return UNKNOWN;
    throw err;
  }
}

/** A resource as the rules see it: its type, name, URN, (plain) properties and options. */
export interface StackResource {
  readonly urn: string;
  readonly type: string;
  readonly name: string;
  /** Inputs (resource rules) or outputs (stack rules), as plain data. */
  readonly props: Record<string, unknown>;
  /** The `protect` option. */
  readonly protect: boolean;
  /** URN of the parent resource, when it has one. */
  readonly parentUrn?: string;
  /** For each property, the URNs of the resources its value came from. */
  readonly propertyDependencies: Record<string, readonly string[]>;
}

/** One finding: the resource it is about and what to do. */
export interface Violation {
  readonly urn: string;
  readonly message: string;
}

/** Type tokens the rules know. */
export const TYPES = {
  container: "docker:index/container:Container",
  service: "docker:index/service:Service",
  volume: "docker:index/volume:Volume",
  remoteImage: "docker:index/remoteImage:RemoteImage",
  image: "docker:index/image:Image",
  registryImage: "docker:index/registryImage:RegistryImage",
  dockerBuildImage: "docker-build:index:Image",
  trustFiles: "pulumi-nodejs:dynamic/secure-registry:TrustFiles",
  /** Every component of this package (SecureRegistry, SecureRegistryService, ...). */
  componentPrefix: "secure-registry:",
} as const;

/** How messages name a resource: `docker.Container "web"`, or the type token for others. */
export function describe(resource: Pick<StackResource, "type" | "name">): string {
  const short: Record<string, string> = {
    [TYPES.container]: "docker.Container",
    [TYPES.service]: "docker.Service",
    [TYPES.volume]: "docker.Volume",
    [TYPES.remoteImage]: "docker.RemoteImage",
    [TYPES.image]: "docker.Image",
    [TYPES.registryImage]: "docker.RegistryImage",
    [TYPES.dockerBuildImage]: "docker-build.Image",
    [TYPES.trustFiles]: "RegistryClientTrust files",
  };
  return `${short[resource.type] ?? resource.type} "${resource.name}"`;
}

/** The name in a URN (its last `::` part). */
export function nameOfUrn(urn: string): string {
  return urn.slice(urn.lastIndexOf("::") + 2);
}

/**
 * Types of the resource's ancestors, read from its URN: a URN's type part is
 * `<ancestor type>$...$<parent type>$<type>`.
 */
export function ancestorTypes(urn: string): string[] {
  const parts = urn.split("::");
  if (parts.length < 4) return [];
  const chain = parts[2].split("$");
  return chain.slice(0, -1);
}

/** `value` as a string, or undefined when it is not a known string. */
export function str(value: unknown): string | undefined {
  return typeof value === "string" ? value : undefined;
}

/** `value` as a record, or undefined when it is not a known object. */
export function obj(value: unknown): Record<string, unknown> | undefined {
  return value !== null && typeof value === "object" && !Array.isArray(value)
    ? (value as Record<string, unknown>)
    : undefined;
}

/** `value` as an array, or undefined when it is not a known array. */
export function arr(value: unknown): unknown[] | undefined {
  return Array.isArray(value) ? value : undefined;
}

/** Common configuration of every rule. */
export interface CommonConfig {
  /** Resource names or URNs this rule does not report. */
  readonly ignore?: readonly string[];
}

/** True when `resource` is listed in the rule's `ignore` configuration. */
export function ignored(
  resource: Pick<StackResource, "urn" | "name">,
  config: CommonConfig,
): boolean {
  return (config.ignore ?? []).some((entry) => entry === resource.urn || entry === resource.name);
}
