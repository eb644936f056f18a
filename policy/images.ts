/**
 * Image references and registry endpoints, read leniently: the rules run on every stack of an
 * organisation, so anything unusual is classified as well as it can be, never rejected.
 */

/** An image reference split into its parts (docker's grammar, without validation). */
export interface ImageRef {
  /** `host[:port]` when the first component names a registry host, lower case. */
  readonly host?: string;
  /** Repository path without host, e.g. `library/registry` (Docker Hub's `library/` added). */
  readonly repository: string;
  readonly tag?: string;
  /** `sha256:<hex>` (or another algorithm) after `@`. */
  readonly digest?: string;
}

const DOCKER_HUB_HOSTS = new Set(["docker.io", "index.docker.io", "registry-1.docker.io"]);

/** True for an image ID (`sha256:<64 hex>` or a bare 64-hex ID) rather than a name. */
export function isImageId(value: string): boolean {
  return /^(sha256:)?[a-f0-9]{64}$/.test(value);
}

/**
 * Splits `[host[:port]/]path[:tag][@digest]`; the first component is a host when it contains `.`
 * or `:` or is `localhost` (docker's rule). Undefined for an image ID or an empty value.
 */
export function parseImageRef(value: string): ImageRef | undefined {
  const text = value.trim();
  if (text === "" || isImageId(text)) return undefined;
  const at = text.indexOf("@");
  const digest = at >= 0 ? text.slice(at + 1) : undefined;
  const name = at >= 0 ? text.slice(0, at) : text;
  const slash = name.indexOf("/");
  const first = slash >= 0 ? name.slice(0, slash) : "";
  const hasHost =
    slash >= 0 && (first.includes(".") || first.includes(":") || first === "localhost");
  let host = hasHost ? first.toLowerCase() : undefined;
  let rest = hasHost ? name.slice(slash + 1) : name;
  const lastSlash = rest.lastIndexOf("/");
  const colon = rest.indexOf(":", lastSlash + 1);
  const tag = colon >= 0 ? rest.slice(colon + 1) : undefined;
  rest = colon >= 0 ? rest.slice(0, colon) : rest;
  if (host !== undefined && DOCKER_HUB_HOSTS.has(host)) host = undefined;
  const repository = host === undefined && !rest.includes("/") ? `library/${rest}` : rest;
  return { host, repository: repository.toLowerCase(), tag, digest };
}

/** True when the reference pins a digest (`...@sha256:...`). */
export function pinsDigest(ref: ImageRef): boolean {
  return ref.digest !== undefined && /^[a-z0-9]+:[a-f0-9]{32,}$/.test(ref.digest);
}

/**
 * `host[:port]` as clients write it: lower case, no scheme, no path, no trailing `/`, and no
 * `:443` (docker names port 443 without it). Undefined when nothing is left.
 */
export function normalizeEndpoint(value: string): string | undefined {
  let text = value.trim().toLowerCase();
  text = text.replace(/^[a-z][a-z0-9+.-]*:\/\//, "");
  text = text.split("/")[0];
  if (text.endsWith(":443")) text = text.slice(0, -4);
  return text === "" ? undefined : text;
}

/** Repository names (without host) of the CNCF distribution registry image. */
const REGISTRY_REPOSITORY_NAMES = new Set(["registry", "distribution"]);

/**
 * True when the reference names a registry image: a repository whose last path component is
 * `registry` or `distribution` (Docker Hub's `registry`, `distribution/distribution`, mirrors of
 * them under any host), or one of `extra` (`[host/]repository`, tag and digest ignored).
 */
export function isRegistryImage(ref: ImageRef, extra: readonly string[] = []): boolean {
  const last = ref.repository.slice(ref.repository.lastIndexOf("/") + 1);
  if (REGISTRY_REPOSITORY_NAMES.has(last)) return true;
  return extra.some((entry) => {
    const wanted = parseImageRef(entry);
    if (wanted === undefined || wanted.repository !== ref.repository) return false;
    return wanted.host === undefined || wanted.host === ref.host;
  });
}
