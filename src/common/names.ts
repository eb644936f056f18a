/**
 * Names that several parts of the package check the same way: DNS names, IP addresses, ports,
 * image references and platforms. Pure functions returning a problem text (or a parse), so both
 * construction-time checks and dynamic providers use them.
 *
 * No imports: dynamic providers carry this module by value (see src/trust/provider.ts); Node
 * built-ins are required inside the functions that use them.
 */

const DNS_LABEL = /^[a-zA-Z0-9](?:[a-zA-Z0-9-]{0,61}[a-zA-Z0-9])?$/;

/**
 * RFC 1123 host name: letters, digits and hyphens in labels of 1-63, 253 characters in all, and a
 * last label that is not all digits (clients would read `1.2.3` as an address).
 */
export function isDnsName(value: unknown): value is string {
  if (typeof value !== "string" || value.length === 0 || value.length > 253) return false;
  const labels = value.split(".");
  if (!labels.every((l) => DNS_LABEL.test(l))) return false;
  return !/^[0-9]+$/.test(labels[labels.length - 1]);
}

/** 4 or 6 for an IPv4 or IPv6 literal (no zone), 0 otherwise. */
export function ipVersion(value: unknown): 0 | 4 | 6 {
  if (typeof value !== "string" || value.includes("%")) return 0;
  return (require("net") as typeof import("net")).isIP(value) as 0 | 4 | 6;
}

/** A TCP port: an integer from 1 to 65535. */
export function isPort(value: unknown): value is number {
  return typeof value === "number" && Number.isInteger(value) && value >= 1 && value <= 65535;
}

/** `[host[:port]/]path[:tag][@algo:hex]`, split. */
export interface ImageReference {
  /** Registry host (`host[:port]`), when the first component looks like one. */
  readonly host?: string;
  /** Repository path, e.g. `library/registry`. */
  readonly path: string;
  readonly tag?: string;
  /** `sha256:<64 hex>`. */
  readonly digest?: string;
}

const PATH_COMPONENT = "[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*";
const HOST_PART =
  "(?:[a-zA-Z0-9](?:[a-zA-Z0-9-]*[a-zA-Z0-9])?(?:\\.[a-zA-Z0-9](?:[a-zA-Z0-9-]*[a-zA-Z0-9])?)*|\\[[0-9a-fA-F:]+\\])(?::[0-9]+)?";
const TAG_PART = "[\\w][\\w.-]{0,127}";
const DIGEST_PART = "sha256:[a-f0-9]{64}|sha512:[a-f0-9]{128}";
const REFERENCE = new RegExp(
  `^(?:(${HOST_PART})/)?(${PATH_COMPONENT}(?:/${PATH_COMPONENT})*)(?::(${TAG_PART}))?(?:@(${DIGEST_PART}))?$`,
);

/**
 * Parses an image reference the way the docker CLI does (distribution's reference grammar): the
 * first component is a registry host only when it contains `.` or `:`, is `localhost`, or is an
 * IPv6 literal; repository components are lower case. Returns a problem text instead when the
 * reference is not valid.
 */
export function parseImageReference(value: unknown): ImageReference | { problem: string } {
  if (typeof value !== "string" || value.trim() === "") {
    return { problem: "is empty or not text" };
  }
  if (value.length > 512) return { problem: "is longer than 512 characters" };
  if (/\s/.test(value)) return { problem: "contains whitespace" };
  const match = REFERENCE.exec(value);
  if (!match) {
    const hint =
      value.toLowerCase() !== value && REFERENCE.test(value.toLowerCase())
        ? " (repository names are lower case)"
        : "";
    return {
      problem:
        `does not match [registry/]repository[:tag][@sha256:<digest>]${hint}, with lower-case ` +
        `letters, digits and . _ - in the repository`,
    };
  }
  const [, maybeHost, path, tag, digest] = match;
  if (
    maybeHost !== undefined &&
    !/[.:]/.test(maybeHost) &&
    maybeHost !== "localhost" &&
    !maybeHost.startsWith("[")
  ) {
    // Like the docker CLI: `team/app` is a repository path, not a registry host.
    if (!new RegExp(`^${PATH_COMPONENT}$`).test(maybeHost)) {
      return {
        problem: `has "${maybeHost}", which must be lower-case letters, digits and . _ -`,
      };
    }
    return { path: `${maybeHost}/${path}`, tag, digest };
  }
  return { host: maybeHost, path, tag, digest };
}

/** Operating systems and architectures Go (and so the Docker engine) knows, with arm variants. */
const PLATFORM_OS = [
  "linux",
  "windows",
  "darwin",
  "freebsd",
  "netbsd",
  "openbsd",
  "solaris",
  "illumos",
  "aix",
  "plan9",
  "wasip1",
  "js",
];
const PLATFORM_ARCH: Record<string, readonly string[]> = {
  amd64: ["v1", "v2", "v3", "v4"],
  arm64: ["v8", "v8.0", "v8.1", "v8.2", "v8.3", "v8.4", "v8.5", "v9", "v9.0"],
  arm: ["v5", "v6", "v7", "v8"],
  "386": [],
  ppc64le: [],
  ppc64: [],
  s390x: [],
  riscv64: [],
  mips64le: [],
  mips64: [],
  mipsle: [],
  mips: [],
  loong64: [],
  wasm: [],
};

/** Why `value` is not `os/arch[/variant]` of a real platform; undefined when it is. */
export function platformProblem(value: unknown): string | undefined {
  if (typeof value !== "string") return "is not a string";
  const parts = value.split("/");
  if (parts.length < 2 || parts.length > 3) {
    return `${JSON.stringify(value)} is not os/arch[/variant]; use e.g. "linux/amd64" or "linux/arm64"`;
  }
  const [os, arch, variant] = parts;
  if (!PLATFORM_OS.includes(os)) {
    return `${JSON.stringify(value)} names an unknown operating system "${os}"; use e.g. "linux"`;
  }
  const variants = PLATFORM_ARCH[arch];
  if (variants === undefined) {
    return (
      `${JSON.stringify(value)} names an unknown architecture "${arch}"; use one of ` +
      `${Object.keys(PLATFORM_ARCH).join(", ")}`
    );
  }
  if (variant !== undefined && !variants.includes(variant)) {
    return variants.length === 0
      ? `${JSON.stringify(value)}: ${arch} has no variants; use "${os}/${arch}"`
      : `${JSON.stringify(value)}: "${variant}" is not a variant of ${arch}; use one of ${variants.join(", ")}`;
  }
  return undefined;
}
