/**
 * Stack rules about registries the stack runs: TLS and authentication, minimum TLS version,
 * where their data lives, and how other workloads pull from them. They look at the whole stack,
 * because a container's `image` is often an image ID that only the RemoteImage it came from
 * names (see workloads.ts).
 *
 * SecureRegistry and SecureRegistryService pass every rule as they are: their containers carry
 * `REGISTRY_HTTP_TLS_*`, `REGISTRY_AUTH` and the minimum version in `envs` (secrets live in
 * uploaded env files the rules do not need), and their data volume is retained on destroy.
 */
import { normalizeEndpoint, parseImageRef, pinsDigest } from "./images";
import {
  ancestorTypes,
  CommonConfig,
  describe,
  ignored,
  StackResource,
  str,
  TYPES,
  UNKNOWN,
  Violation,
} from "./model";
import { registryWorkloads, Settings, StackIndex, workloadOf, Workload } from "./workloads";

export const REGISTRY_TLS_AND_AUTH = "registry-tls-and-auth";
export const REGISTRY_MINIMUM_TLS = "registry-minimum-tls";
export const PULL_BY_DIGEST = "pull-by-digest";
export const REGISTRY_DATA_RETAINED = "registry-data-retained";

/** Configuration shared by the rules that find registry workloads. */
export interface RegistryImagesConfig extends CommonConfig {
  /** More images to treat as registries (`[host/]repository`), e.g. an internal mirror's. */
  readonly registryImages?: readonly string[];
}

const has = (settings: Settings, key: string) => {
  const value = settings.get(key);
  return value === UNKNOWN || (value !== undefined && value !== "");
};
const hasPrefix = (settings: Settings, prefix: string) =>
  [...settings.keys()].some((key) => key.startsWith(prefix) && has(settings, key));

function workloadsToCheck(stack: StackIndex, config: RegistryImagesConfig): Workload[] {
  return registryWorkloads(stack, config.registryImages ?? []).filter(
    (w) => w.settings !== undefined && !ignored(w.resource, config),
  );
}

function runs(w: Workload): string {
  const first = w.imageRefs[0];
  const via = first?.via !== undefined ? ` (through ${describe(first.via)})` : "";
  return `${describe(w.resource)} runs the registry image ${first?.ref ?? "?"}${via}`;
}

/** True when distribution serves TLS with these settings. */
export function servesTls(settings: Settings): boolean {
  return (
    (has(settings, "REGISTRY_HTTP_TLS_CERTIFICATE") && has(settings, "REGISTRY_HTTP_TLS_KEY")) ||
    hasPrefix(settings, "REGISTRY_HTTP_TLS_LETSENCRYPT_")
  );
}

const NO_AUTH = "has no authentication (no REGISTRY_AUTH)";

/**
 * Why these settings leave the registry open, or undefined when clients must authenticate:
 * htpasswd or token auth, or client certificates (mTLS, `REGISTRY_HTTP_TLS_CLIENTCAS_*`), which
 * distribution requires and verifies. `silly` auth accepts any credentials.
 */
export function authProblem(settings: Settings): string | undefined {
  const auth = settings.get("REGISTRY_AUTH");
  if (
    (typeof auth === "string" && auth.toLowerCase() === "silly") ||
    hasPrefix(settings, "REGISTRY_AUTH_SILLY_")
  ) {
    return "uses `silly` auth, which accepts any credentials";
  }
  const configured =
    auth === UNKNOWN ||
    (typeof auth === "string" && ["htpasswd", "token"].includes(auth.toLowerCase())) ||
    hasPrefix(settings, "REGISTRY_AUTH_HTPASSWD_") ||
    hasPrefix(settings, "REGISTRY_AUTH_TOKEN_") ||
    hasPrefix(settings, "REGISTRY_HTTP_TLS_CLIENTCAS");
  return configured ? undefined : NO_AUTH;
}

const USE_SECURE_REGISTRY =
  "SecureRegistry (or SecureRegistryService) sets all of this up: a CA and server certificate, " +
  "htpasswd users with generated passwords, and the client trust.";

export interface TlsAndAuthConfig extends RegistryImagesConfig {
  /**
   * Accept pull-through caches (REGISTRY_PROXY_REMOTEURL) without authentication, e.g.
   * SecureRegistry `proxy.anonymousPulls` as dockerd's `registry-mirrors`. TLS is still
   * required. Default false.
   */
  readonly allowAnonymousPullThroughCaches?: boolean;
}

/**
 * `registry-tls-and-auth`: every registry serves TLS and requires authentication (pull-through
 * caches may go without when `allowAnonymousPullThroughCaches`).
 */
export function checkRegistryTlsAndAuth(
  stack: StackIndex,
  config: TlsAndAuthConfig = {},
): Violation[] {
  const found: Violation[] = [];
  for (const w of workloadsToCheck(stack, config)) {
    const settings = w.settings!;
    const report = (message: string) => found.push({ urn: w.resource.urn, message });
    if (!servesTls(settings)) {
      report(
        `${runs(w)} without TLS: no REGISTRY_HTTP_TLS_CERTIFICATE and REGISTRY_HTTP_TLS_KEY, so ` +
          "passwords and images cross the network in clear text and clients must be told to " +
          "trust it insecurely. Fix: give it a certificate (REGISTRY_HTTP_TLS_CERTIFICATE / " +
          `REGISTRY_HTTP_TLS_KEY, files uploaded into the container). ${USE_SECURE_REGISTRY}`,
      );
    }
    const problem = authProblem(settings);
    if (problem === NO_AUTH && has(settings, "REGISTRY_PROXY_REMOTEURL")) {
      // A pull-through cache takes no pushes; without auth it can serve dockerd as a
      // `registry-mirrors` entry (dockerd sends mirrors no credentials). Allowed on request.
      if (config.allowAnonymousPullThroughCaches === true) continue;
      report(
        `${runs(w)} as a pull-through cache without authentication: anyone who reaches the port ` +
          "pulls whatever the cache can fetch upstream (private images too, with upstream " +
          "credentials). Fix: require users (SecureRegistry: leave proxy.anonymousPulls off), or, " +
          "if your organisation runs anonymous mirrors on internal addresses on purpose, allow " +
          `them with this policy's allowAnonymousPullThroughCaches: true. ${USE_SECURE_REGISTRY}`,
      );
      continue;
    }
    if (problem !== undefined) {
      report(
        `${runs(w)} and ${problem}: anyone who reaches the port can push and pull. Fix: set ` +
          "REGISTRY_AUTH=htpasswd with REGISTRY_AUTH_HTPASSWD_REALM and " +
          `REGISTRY_AUTH_HTPASSWD_PATH (a bcrypt htpasswd file), or token auth. ${USE_SECURE_REGISTRY}`,
      );
    }
  }
  return found;
}

const TLS_RANK: Record<string, number> = { "tls1.0": 10, "tls1.1": 11, "tls1.2": 12, "tls1.3": 13 };

export interface MinimumTlsConfig extends RegistryImagesConfig {
  /** Lowest version allowed: "tls1.2" (default) or "tls1.3". */
  readonly minimumVersion?: string;
  /** Also report registries that leave REGISTRY_HTTP_TLS_MINIMUMTLS unset. Default false. */
  readonly requireExplicit?: boolean;
}

/**
 * `registry-minimum-tls`: REGISTRY_HTTP_TLS_MINIMUMTLS is not below the configured minimum.
 * Unset means distribution's default, tls1.2, unless `requireExplicit`.
 */
export function checkRegistryMinimumTls(
  stack: StackIndex,
  config: MinimumTlsConfig = {},
): Violation[] {
  const wanted = config.minimumVersion ?? "tls1.2";
  const wantedRank = TLS_RANK[wanted] ?? TLS_RANK["tls1.2"];
  const found: Violation[] = [];
  for (const w of workloadsToCheck(stack, config)) {
    const settings = w.settings!;
    if (!servesTls(settings)) continue;
    const value = settings.get("REGISTRY_HTTP_TLS_MINIMUMTLS");
    if (value === UNKNOWN) continue;
    const fix = `Fix: set REGISTRY_HTTP_TLS_MINIMUMTLS=${wanted} (SecureRegistry: tls.minimumVersion).`;
    if (value === undefined || value === "") {
      if (config.requireExplicit === true) {
        found.push({
          urn: w.resource.urn,
          message: `${runs(w)} and leaves REGISTRY_HTTP_TLS_MINIMUMTLS unset (this policy requires it explicitly). ${fix}`,
        });
      }
      continue;
    }
    const rank = TLS_RANK[value.toLowerCase()];
    if (rank === undefined || rank < wantedRank) {
      const why =
        rank === undefined
          ? `REGISTRY_HTTP_TLS_MINIMUMTLS=${value}, which is not a version distribution knows (tls1.0-tls1.3)`
          : `REGISTRY_HTTP_TLS_MINIMUMTLS=${value}, below ${wanted}: clients may negotiate protocol versions with known weaknesses`;
      found.push({ urn: w.resource.urn, message: `${runs(w)} with ${why}. ${fix}` });
    }
  }
  return found;
}

export interface PullByDigestConfig extends CommonConfig {
  /** More registry endpoints (`host[:port]`) whose images must be pulled by digest. */
  readonly registries?: readonly string[];
}

/**
 * Endpoints of the SecureRegistry deployments the stack knows: every component of this package
 * with an `endpoint` output, every RegistryClientTrust's endpoint, and configured ones.
 */
export function secureRegistryEndpoints(
  stack: StackIndex,
  extra: readonly string[] = [],
): Set<string> {
  const endpoints = new Set<string>();
  const add = (value: unknown) => {
    const text = str(value);
    const normalized = text === undefined ? undefined : normalizeEndpoint(text);
    if (normalized !== undefined) endpoints.add(normalized);
  };
  for (const r of stack.resources) {
    if (r.type.startsWith(TYPES.componentPrefix) || r.type === TYPES.trustFiles)
      add(r.props.endpoint);
  }
  extra.forEach(add);
  return endpoints;
}

/** `pull-by-digest`: workloads run images from a SecureRegistry by digest, never by tag. */
export function checkPullByDigest(stack: StackIndex, config: PullByDigestConfig = {}): Violation[] {
  const endpoints = secureRegistryEndpoints(stack, config.registries ?? []);
  if (endpoints.size === 0) return [];
  const found: Violation[] = [];
  for (const resource of stack.resources) {
    const w = workloadOf(resource, stack);
    if (w === undefined || ignored(resource, config)) continue;
    for (const { ref, via } of w.imageRefs) {
      const parsed = parseImageRef(ref);
      if (parsed?.host === undefined || !endpoints.has(normalizeEndpoint(parsed.host)!)) continue;
      if (pinsDigest(parsed)) continue;
      const pulledBy =
        via === undefined ? `runs ${ref}` : `runs the image ${describe(via)} pulled as ${ref}`;
      const fix =
        via === undefined
          ? `reference the digest: ${parsed.host}/${parsed.repository}@sha256:<digest> (BuiltImage.repoDigest gives it)`
          : `give ${describe(via)} the digest reference as its name (${parsed.host}/${parsed.repository}@sha256:<digest>, e.g. BuiltImage.repoDigest)`;
      found.push({
        urn: resource.urn,
        message:
          `${describe(resource)} ${pulledBy}, a tag on the SecureRegistry at ${parsed.host}: a tag ` +
          `can be moved, so hosts and re-runs may get different images. Fix: ${fix}.`,
      });
    }
  }
  return found;
}

export interface DataRetainedConfig extends RegistryImagesConfig {
  /**
   * Require `protect: true` on every registry data volume, SecureRegistry's included (whose
   * `retainOnDelete` this policy cannot see). Default false.
   */
  readonly requireProtect?: boolean;
}

const OBJECT_STORAGE = /^REGISTRY_STORAGE_(S3|GCS|AZURE|SWIFT|OSS)_/;

/** Where the registry keeps its data: an object store (nothing to keep locally) or a directory. */
function storageOf(settings: Settings): { objectStore: boolean; inMemory: boolean; root: string } {
  const driver = settings.get("REGISTRY_STORAGE");
  const driverName = typeof driver === "string" ? driver.toLowerCase() : undefined;
  const objectStore =
    driver === UNKNOWN ||
    ["s3", "gcs", "azure", "swift", "oss"].includes(driverName ?? "") ||
    [...settings.keys()].some((key) => OBJECT_STORAGE.test(key));
  const inMemory =
    driverName === "inmemory" ||
    [...settings.keys()].some((k) => k.startsWith("REGISTRY_STORAGE_INMEMORY"));
  const rootSetting = settings.get("REGISTRY_STORAGE_FILESYSTEM_ROOTDIRECTORY");
  const root =
    typeof rootSetting === "string" && rootSetting !== "" ? rootSetting : "/var/lib/registry";
  return { objectStore, inMemory, root };
}

/** True when `target` (a mount point) covers `dir`. */
function covers(target: string, dir: string): boolean {
  const t = target.replace(/\/+$/, "") || "/";
  const d = dir.replace(/\/+$/, "");
  return t === "/" || d === t || d.startsWith(`${t}/`);
}

/** `registry-data-retained`: a registry's data survives `pulumi destroy` and replacements. */
export function checkRegistryDataRetained(
  stack: StackIndex,
  config: DataRetainedConfig = {},
): Violation[] {
  const found: Violation[] = [];
  const reported = new Set<string>();
  for (const w of workloadsToCheck(stack, config)) {
    const storage = storageOf(w.settings!);
    if (storage.objectStore && !storage.inMemory) continue;
    const lose = `${runs(w)} and keeps its data`;
    const keepIt =
      "Fix: mount a named docker.Volume at " +
      `${storage.root} declared with \`retainOnDelete: true\` (and \`protect: true\` if it must ` +
      "never go), or use an object store (SecureRegistry: storage options).";
    if (storage.inMemory) {
      found.push({
        urn: w.resource.urn,
        message: `${lose} in memory (inmemory storage driver): every restart loses it. ${keepIt}`,
      });
      continue;
    }
    if (w.mounts === undefined) continue;
    const mount = w.mounts.find((m) => covers(m.target, storage.root));
    if (mount === undefined || (!mount.external && mount.volumeName === undefined)) {
      found.push({
        urn: w.resource.urn,
        message:
          `${lose} in ${storage.root} with no named volume or host directory mounted there: it ` +
          "lives in the container's anonymous volume, which is removed with the container " +
          `(every replacement, and pulumi destroy). ${keepIt}`,
      });
      continue;
    }
    if (mount.external || mount.volumeName === UNKNOWN) continue;
    for (const volume of volumesNamed(stack, w, mount.volumeName!)) {
      if (reported.has(volume.urn) || ignored(volume, config)) continue;
      if (volume.protect) continue;
      const ownedByComponent = ancestorTypes(volume.urn).some((t) =>
        t.startsWith(TYPES.componentPrefix),
      );
      if (ownedByComponent && config.requireProtect !== true) continue;
      reported.add(volume.urn);
      const why = ownedByComponent
        ? "is not protected (this policy is set to require protect: true, since it cannot see retainOnDelete)"
        : "is deleted by pulumi destroy, and by any change that replaces it";
      found.push({
        urn: volume.urn,
        message:
          `${describe(volume)} holds the registry data of ${describe(w.resource)} ` +
          `(mounted at ${mount.target}) and ${why}. Fix: declare it with \`retainOnDelete: true\` ` +
          "(Pulumi then leaves it in Docker) and/or `protect: true`. Policies see `protect` but " +
          "not `retainOnDelete`: after setting retainOnDelete alone, list this volume under the " +
          `policy's \`ignore\` configuration.`,
      });
    }
  }
  return found;
}

/** docker.Volume resources of the stack that a workload's `volumeName` refers to. */
function volumesNamed(stack: StackIndex, w: Workload, volumeName: string): StackResource[] {
  const property = w.kind === "container" ? ["volumes", "mounts"] : ["taskSpec"];
  const byDependency = property
    .flatMap((p) => w.resource.propertyDependencies[p] ?? [])
    .map((urn) => stack.byUrn.get(urn))
    .filter(
      (r): r is StackResource =>
        r?.type === TYPES.volume && (r.props.name === volumeName || r.props.name === UNKNOWN),
    );
  if (byDependency.length > 0) return byDependency;
  return stack.resources.filter((r) => r.type === TYPES.volume && r.props.name === volumeName);
}
