/**
 * Pure decisions behind the image components: image names, where a name lands in a registry,
 * registry servers, platforms, build-argument ordering. Every failure is an InvalidInputError
 * naming the component (`label`), the field, the problem and the fix.
 */
import { describeValue, fail } from "../common/checks";
import { parseImageReference, platformProblem } from "../common/names";
import { validateHostOrIp, validatePort } from "../common/validators";

/** A parsed `[host[:port]/]path[:tag]` image name. */
export interface ImageNameParts {
  /** Registry host (`host[:port]`) when the first component is one (has `.` or `:`, or is `localhost`). */
  readonly host?: string;
  readonly path: string;
  /** Undefined when the name has no tag. */
  readonly tag?: string;
}

/** Parses an image name (`repository[:tag]`, no digest); fails naming `field` otherwise. */
export function parseImageName(label: string, field: string, name: unknown): ImageNameParts {
  if (typeof name !== "string" || name.trim() === "") {
    fail(
      label,
      field,
      `${field} is ${describeValue(name)}; give repository[:tag], e.g. "apps/web:1.4.2".`,
    );
  }
  const parsed = parseImageReference(name);
  if ("problem" in parsed) {
    fail(
      label,
      field,
      `${field} ${describeValue(name)} is not a valid image name: it ${parsed.problem}. Use lower-case path components separated by "/", optionally ending in ":tag", e.g. "apps/web:1.4.2".`,
    );
  }
  if (parsed.digest !== undefined) {
    fail(
      label,
      field,
      `${field} ${describeValue(name)} contains a digest: give repository[:tag]; the digest of what was pushed is the repoDigest output.`,
    );
  }
  return { host: parsed.host, path: parsed.path, tag: parsed.tag };
}

/**
 * A registry server as `host[:port]`: a scheme and trailing `/` are dropped; a path, user info,
 * query or a bad host or port fails naming `field`.
 */
export function registryServer(label: string, field: string, server: unknown): string {
  if (typeof server !== "string" || server.trim() === "") {
    fail(
      label,
      field,
      `${field} is ${describeValue(server)}; give the registry as host[:port], e.g. "registry.example.com:5000".`,
    );
  }
  const trimmed = server.trim();
  const withoutScheme = trimmed.replace(/^[a-z][a-z0-9+.-]*:\/\//i, "").replace(/\/+$/, "");
  if (/[/?#@\s]/.test(withoutScheme)) {
    fail(
      label,
      field,
      `${field} ${describeValue(server)} has a path, user or query; give only host[:port] (e.g. "${withoutScheme.split(/[/?#]/)[0].replace(/^.*@/, "")}"): image names carry the repository path.`,
    );
  }
  const match = /^(\[[0-9a-fA-F:]+\]|[^:]+)(?::([0-9]+))?$/.exec(withoutScheme);
  if (!match) {
    fail(
      label,
      field,
      `${field} ${describeValue(server)} is not host[:port], e.g. "registry.example.com:5000".`,
    );
  }
  validateHostOrIp(label, field, match[1].replace(/^\[(.*)\]$/, "$1"));
  if (match[2] !== undefined) validatePort(label, `${field} port`, Number(match[2]));
  return withoutScheme;
}

/**
 * Places `name` in the registry at `server`: a name without a registry host gets `server/`
 * prefixed; a name that already starts with `server` is kept; another host fails (the push would
 * go elsewhere, with these credentials). A missing tag becomes `latest`.
 */
export function qualifyImageName(
  label: string,
  field: string,
  name: unknown,
  server: string,
): string {
  const parts = parseImageName(label, field, name);
  if (parts.host !== undefined && parts.host !== server) {
    fail(
      label,
      field,
      `${field} ${describeValue(name)} names registry "${parts.host}", but the image is pushed to "${server}". Drop the host ("${parts.path}${parts.tag ? `:${parts.tag}` : ""}") and it is placed under ${server}/.`,
    );
  }
  return `${server}/${parts.path}:${parts.tag ?? "latest"}`;
}

/** A local image name with its tag made explicit (`latest` when missing). */
export function withTag(label: string, field: string, name: unknown): string {
  const parts = parseImageName(label, field, name);
  return `${parts.host ? `${parts.host}/` : ""}${parts.path}:${parts.tag ?? "latest"}`;
}

/** A real `os/arch[/variant]` such as `linux/amd64` or `linux/arm64/v8`; fails naming `field`. */
export function validatePlatform(label: string, field: string, platform: unknown): string {
  const problem = platformProblem(platform);
  if (problem !== undefined) {
    fail(
      label,
      field,
      `${field} ${typeof platform === "string" ? problem : `is ${describeValue(platform)}, not text; use e.g. "linux/amd64"`}. One platform only.`,
    );
  }
  return platform as string;
}

const BUILD_ARG_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;

/** Checks a build-argument name (`ARG NAME` in the Dockerfile). */
export function validateBuildArgName(label: string, field: string, key: string): void {
  if (!BUILD_ARG_NAME.test(key)) {
    fail(
      label,
      `${field}.${key}`,
      `${field} has an invalid argument name ${describeValue(key)}: use letters, digits and _ (matching ARG <name> in the Dockerfile).`,
    );
  }
}

/** Build arguments with sorted keys, so the same program declares identical inputs every run. */
export function sortedBuildArgs<T>(args: Readonly<Record<string, T>>): Record<string, T> {
  const sorted: Record<string, T> = {};
  for (const key of Object.keys(args).sort()) sorted[key] = args[key];
  return sorted;
}
