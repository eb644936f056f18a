/**
 * Registry workloads in a stack: `docker.Container`s and `docker.Service`s that run the CNCF
 * distribution registry, with the settings they run it with.
 *
 * A container's `image` is often an image ID (`RemoteImage.imageId`), which names nothing: the
 * image it stands for is found through the resource it came from (the property dependencies
 * the engine records) or, failing that, through a RemoteImage or docker.Image whose `imageId`
 * or `repoDigest` has that value.
 *
 * Settings are what distribution reads: `REGISTRY_*` environment entries (each value parsed as
 * YAML, as distribution does, so SecureRegistry's quoted values read as intended) over a config
 * file uploaded into the container, flattened to the same `REGISTRY_<SECTION>_<KEY>` names.
 */
import * as YAML from "yaml";
import { ImageRef, isRegistryImage, parseImageRef } from "./images";
import { arr, obj, StackResource, str, TYPES, UNKNOWN, Unknown } from "./model";

/** Registry settings by `REGISTRY_*` name; `UNKNOWN` where a preview cannot know the value. */
export type Settings = ReadonlyMap<string, string | Unknown>;

/** A mount of the workload: where in the container, and what backs it. */
export interface Mount {
  readonly target: string;
  /** A named volume (`volumeName`, or a `volume` mount's source). */
  readonly volumeName?: string | Unknown;
  /** A host path or bind mount, or a volume taken from another container: not deleted with it. */
  readonly external: boolean;
}

/** A container or service, as far as the registry rules care. */
export interface Workload {
  readonly resource: StackResource;
  readonly kind: "container" | "service";
  /** The `image` property: a name, an image ID, or unknown. */
  readonly image: string | Unknown | undefined;
  /** Names of the images it runs: `image` itself when it is a name, else what it resolved to. */
  readonly imageRefs: readonly { readonly ref: string; readonly via?: StackResource }[];
  /** Undefined when the settings cannot be read yet (the env list itself is unknown). */
  readonly settings: Settings | undefined;
  /** Undefined when a preview cannot know them yet. */
  readonly mounts: readonly Mount[] | undefined;
}

/** The property holding a workload's image, for property dependencies. */
const IMAGE_PROPERTY: Record<Workload["kind"], string> = {
  container: "image",
  service: "taskSpec",
};

/** Reads `KEY=value` entries; a value is parsed as YAML 1.1 as distribution's env parser does. */
function readEnvEntries(entries: Iterable<[string, unknown]>, into: Map<string, string | Unknown>) {
  for (const [key, value] of entries) {
    if (!key.startsWith("REGISTRY_")) continue;
    into.set(key, value === UNKNOWN ? UNKNOWN : yamlScalarText(String(value)));
  }
}

/** The text distribution gets from an env value: the YAML scalar it parses to. */
export function yamlScalarText(value: string): string {
  try {
    const parsed: unknown = YAML.parse(value, { version: "1.1" });
    if (parsed === null || parsed === undefined) return "";
    if (typeof parsed === "object") return value;
    return String(parsed);
  } catch {
    return value;
  }
}

/** Flattens a parsed config file to `REGISTRY_<A>_<B>` names (lists as `_<index>`). */
function flattenConfig(value: unknown, prefix: string, into: Map<string, string | Unknown>) {
  if (Array.isArray(value)) {
    value.forEach((item, i) => flattenConfig(item, `${prefix}_${i}`, into));
  } else if (value !== null && typeof value === "object") {
    for (const [key, inner] of Object.entries(value)) {
      flattenConfig(inner, `${prefix}_${key.toUpperCase()}`, into);
    }
  } else if (value !== null && value !== undefined) {
    into.set(prefix, String(value));
  }
}

/** A registry config file (`version` plus `http`, `storage` or `auth`) parsed from `content`. */
function parseRegistryConfig(content: unknown): Record<string, unknown> | undefined {
  if (typeof content !== "string") return undefined;
  try {
    const doc = obj(YAML.parse(content, { version: "1.1" }));
    if (doc === undefined || doc.version === undefined) return undefined;
    return ["http", "storage", "auth"].some((k) => k in doc) ? doc : undefined;
  } catch {
    return undefined;
  }
}

/** The settings of a container: uploaded config files first, then `envs` over them. */
function containerSettings(props: Record<string, unknown>): Settings | undefined {
  const settings = new Map<string, string | Unknown>();
  for (const upload of arr(props.uploads) ?? []) {
    const file = str(obj(upload)?.file);
    if (file === undefined || !/\.ya?ml$/.test(file)) continue;
    const config = parseRegistryConfig(obj(upload)?.content);
    if (config !== undefined) flattenConfig(config, "REGISTRY", settings);
  }
  if (props.envs === UNKNOWN) return undefined;
  const entries: [string, unknown][] = [];
  for (const entry of arr(props.envs) ?? []) {
    if (entry === UNKNOWN || typeof entry !== "string") continue;
    const eq = entry.indexOf("=");
    if (eq > 0) entries.push([entry.slice(0, eq), entry.slice(eq + 1)]);
  }
  readEnvEntries(entries, settings);
  return settings;
}

/** The settings of a service: its container spec's `env` map. */
function serviceSettings(spec: Record<string, unknown> | undefined): Settings | undefined {
  if (spec === undefined || spec.env === UNKNOWN) return undefined;
  const settings = new Map<string, string | Unknown>();
  readEnvEntries(Object.entries(obj(spec.env) ?? {}), settings);
  return settings;
}

function containerMounts(props: Record<string, unknown>): Mount[] | undefined {
  if (props.volumes === UNKNOWN || props.mounts === UNKNOWN) return undefined;
  const mounts: Mount[] = [];
  for (const item of arr(props.volumes) ?? []) {
    const v = obj(item);
    const target = str(v?.containerPath);
    if (v === undefined || target === undefined) continue;
    const external = v.hostPath !== undefined || v.fromContainer !== undefined;
    mounts.push({ target, volumeName: external ? undefined : (v.volumeName as string), external });
  }
  for (const item of arr(props.mounts) ?? []) mounts.push(...specMount(item));
  return mounts;
}

function specMount(item: unknown): Mount[] {
  const m = obj(item);
  const target = str(m?.target);
  if (m === undefined || target === undefined) return [];
  const type = str(m.type) ?? "volume";
  if (type === "volume") {
    // No source: an anonymous volume, deleted with the container like a missing mount.
    return [{ target, volumeName: m.source as string | Unknown | undefined, external: false }];
  }
  // bind, tmpfs, npipe...: a bind outlives the container; a tmpfs does not, and holds nothing.
  return [{ target, external: type === "bind" }];
}

/** Resources by URN, and the images known in the stack by ID and digest. */
export interface StackIndex {
  readonly byUrn: ReadonlyMap<string, StackResource>;
  readonly resources: readonly StackResource[];
}

export function indexStack(resources: readonly StackResource[]): StackIndex {
  return { byUrn: new Map(resources.map((r) => [r.urn, r])), resources };
}

/** Names an image-producing resource stands for (RemoteImage pulls `name`; builds push theirs). */
export function imageNamesOf(resource: StackResource): string[] {
  const p = resource.props;
  const names: unknown[] =
    resource.type === TYPES.remoteImage
      ? [p.name]
      : resource.type === TYPES.image
        ? [p.repoDigest, p.imageName]
        : resource.type === TYPES.dockerBuildImage
          ? [p.ref, ...(arr(p.tags) ?? [])]
          : [];
  return names.filter((n): n is string => typeof n === "string" && n !== "");
}

const IMAGE_SOURCES = new Set<string>([TYPES.remoteImage, TYPES.image, TYPES.dockerBuildImage]);

/** The images a workload's `image` stands for, when it is an ID or unknown. */
function resolveImage(
  resource: StackResource,
  property: string,
  image: string | Unknown | undefined,
  stack: StackIndex,
): { ref: string; via: StackResource }[] {
  const sources: StackResource[] = [];
  for (const urn of resource.propertyDependencies[property] ?? []) {
    const dep = stack.byUrn.get(urn);
    if (dep !== undefined && IMAGE_SOURCES.has(dep.type)) sources.push(dep);
  }
  if (sources.length === 0 && typeof image === "string") {
    for (const candidate of stack.resources) {
      if (!IMAGE_SOURCES.has(candidate.type)) continue;
      const p = candidate.props;
      if ([p.imageId, p.repoDigest, p.digest, p.ref].includes(image)) sources.push(candidate);
    }
  }
  return sources.flatMap((via) => imageNamesOf(via).map((ref) => ({ ref, via })));
}

/** The workload a container or service resource is; undefined for any other resource. */
export function workloadOf(resource: StackResource, stack: StackIndex): Workload | undefined {
  const p = resource.props;
  let kind: Workload["kind"];
  let image: unknown;
  let settings: Settings | undefined;
  let mounts: Mount[] | undefined;
  if (resource.type === TYPES.container) {
    kind = "container";
    image = p.image;
    settings = containerSettings(p);
    mounts = containerMounts(p);
  } else if (resource.type === TYPES.service) {
    kind = "service";
    const spec = obj(obj(p.taskSpec)?.containerSpec);
    image = spec?.image;
    settings = serviceSettings(spec);
    mounts = spec?.mounts === UNKNOWN ? undefined : (arr(spec?.mounts) ?? []).flatMap(specMount);
  } else {
    return undefined;
  }
  const imageValue = image === UNKNOWN ? UNKNOWN : str(image);
  const named =
    typeof imageValue === "string" && parseImageRef(imageValue) !== undefined
      ? [{ ref: imageValue }]
      : [];
  const imageRefs =
    named.length > 0 ? named : resolveImage(resource, IMAGE_PROPERTY[kind], imageValue, stack);
  return { resource, kind, image: imageValue, imageRefs, settings, mounts };
}

/** True when a workload runs a registry image (see `isRegistryImage`). */
export function runsRegistry(workload: Workload, extraImages: readonly string[] = []): boolean {
  return workload.imageRefs.some(({ ref }) => {
    const parsed: ImageRef | undefined = parseImageRef(ref);
    return parsed !== undefined && isRegistryImage(parsed, extraImages);
  });
}

/** Every registry workload of the stack. */
export function registryWorkloads(
  stack: StackIndex,
  extraImages: readonly string[] = [],
): Workload[] {
  return stack.resources
    .map((r) => workloadOf(r, stack))
    .filter((w): w is Workload => w !== undefined && runsRegistry(w, extraImages));
}
