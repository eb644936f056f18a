/**
 * Pure decisions behind the image components: image-name and platform validation, where a name
 * lands in a registry, build-argument ordering. Every error names the field, the problem and the fix.
 */

const COMPONENT = "[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*";
const HOST =
  "(?:[a-zA-Z0-9](?:[a-zA-Z0-9-]*[a-zA-Z0-9])?(?:\\.[a-zA-Z0-9](?:[a-zA-Z0-9-]*[a-zA-Z0-9])?)*|\\[[0-9a-fA-F:]+\\])(?::[0-9]+)?";
const TAG = "[\\w][\\w.-]{0,127}";
const REFERENCE = new RegExp(`^(?:(${HOST})/)?(${COMPONENT}(?:/${COMPONENT})*)(?::(${TAG}))?$`);

/** A parsed `[host[:port]/]path[:tag]` image name. */
export interface ImageNameParts {
  /** Registry host (`host[:port]`) when the first component is one (has `.` or `:`, or is `localhost`). */
  readonly host?: string;
  readonly path: string;
  /** Undefined when the name has no tag. */
  readonly tag?: string;
}

/** Parses and validates an image name; throws naming `field` when it is not `repository[:tag]`. */
export function parseImageName(name: string, field: string): ImageNameParts {
  if (typeof name !== "string" || name.trim() === "") {
    throw new Error(`${field} is empty: give repository[:tag], e.g. "apps/web:1.4.2".`);
  }
  if (name.includes("@")) {
    throw new Error(
      `${field} "${name}" contains a digest: give repository[:tag]; the digest of what was pushed is the repoDigest output.`,
    );
  }
  const match = REFERENCE.exec(name);
  if (!match) {
    throw new Error(
      `${field} "${name}" is not a valid image name: use lower-case path components of letters, digits and . _ - separated by "/", optionally ending in ":tag" (letters, digits, . _ -, at most 128), e.g. "apps/web:1.4.2".`,
    );
  }
  const [, maybeHost, rest, tag] = match;
  // Like the docker CLI: a first component is a registry host only if it looks like one.
  if (
    maybeHost &&
    !/[.:]/.test(maybeHost) &&
    maybeHost !== "localhost" &&
    !maybeHost.startsWith("[")
  ) {
    if (!new RegExp(`^${COMPONENT}$`).test(maybeHost)) {
      throw new Error(
        `${field} "${name}" is not a valid image name: "${maybeHost}" must be lower-case letters, digits and . _ -.`,
      );
    }
    return { path: `${maybeHost}/${rest}`, tag };
  }
  return { host: maybeHost, path: rest, tag };
}

/** Strips a scheme and trailing slashes: `https://reg.example:5443/` -> `reg.example:5443`. */
export function normalizeRegistryServer(server: string): string {
  return server
    .trim()
    .replace(/^[a-z]+:\/\//i, "")
    .replace(/\/+$/, "");
}

/**
 * Places `name` in the registry at `server`: a name without a registry host gets `server/`
 * prefixed; a name that already starts with `server` is kept; another host is an error (the push
 * would go elsewhere, with these credentials). A missing tag becomes `latest`.
 */
export function qualifyImageName(name: string, server: string, field: string): string {
  const parts = parseImageName(name, field);
  const registry = normalizeRegistryServer(server);
  if (parts.host !== undefined && parts.host !== registry) {
    throw new Error(
      `${field} "${name}" names registry "${parts.host}", but the image is pushed to "${registry}". Drop the host ("${parts.path}${parts.tag ? `:${parts.tag}` : ""}") and it is placed under ${registry}/.`,
    );
  }
  return `${registry}/${parts.path}:${parts.tag ?? "latest"}`;
}

/** A local image name with its tag made explicit (`latest` when missing). */
export function withTag(name: string, field: string): string {
  const parts = parseImageName(name, field);
  return `${parts.host ? `${parts.host}/` : ""}${parts.path}:${parts.tag ?? "latest"}`;
}

const PLATFORM = /^[a-z0-9]+\/[a-z0-9_]+(?:\/[a-z0-9]+)?$/;

/** Validates `os/arch[/variant]` such as `linux/amd64` or `linux/arm64/v8`. */
export function validatePlatform(platform: string, field: string): string {
  if (!PLATFORM.test(platform)) {
    throw new Error(
      `${field} "${platform}" is not os/arch[/variant]: use e.g. "linux/amd64" or "linux/arm64". One platform only.`,
    );
  }
  return platform;
}

/** Build arguments with sorted keys, so the same program declares identical inputs every run. */
export function sortedBuildArgs<T>(
  args: Readonly<Record<string, T>> | undefined,
  field: string,
): Record<string, T> | undefined {
  if (args === undefined) return undefined;
  const sorted: Record<string, T> = {};
  for (const key of Object.keys(args).sort()) {
    if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(key)) {
      throw new Error(
        `${field} has an invalid argument name "${key}": use letters, digits and _ (matching ARG ${key} in the Dockerfile).`,
      );
    }
    sorted[key] = args[key];
  }
  return sorted;
}
