import { validateUsername } from "../src/auth/validate";
import { closestKey } from "../src/common/checks";
import {
  validateBindAddress,
  validateHostname,
  validateHostOrIp,
  validateImageReference,
  validateIp,
} from "../src/common/validators";
import { validateProxyUrl, validateRealm } from "../src/registry/validate";
import { absolutePathProblem } from "../src/trust/inputs";

/**
 * The root stack's configuration: the schema lives in Pulumi.yaml, the checks here.
 *
 * Pure: `parseStackConfig` takes the raw values the stack program read with `pulumi.Config` and
 * returns typed settings, or throws one error that lists every bad key with its fix. Components
 * never read config; only the stack program does.
 */

/** The config namespace: the project name in Pulumi.yaml. */
export const CONFIG_NAMESPACE = "secure-registry";

const LOG_LEVELS = ["error", "warn", "info", "debug"] as const;
const TLS_VERSIONS = ["tls1.2", "tls1.3"] as const;
const KEY_ALGORITHMS = ["RSA", "ECDSA"] as const;

/** One image the stack builds and pushes, parsed from an `images` entry. */
export interface StackImage {
  /** Repository and tag under the registry, e.g. `app:1.0`. */
  readonly name: string;
  /** Build context directory, relative to the project directory. */
  readonly context: string;
  /** Dockerfile path relative to the context; undefined means `Dockerfile`. */
  readonly dockerfile?: string;
  /** Stage of a multi-stage build to stop at. */
  readonly target?: string;
  /** Also push a single-layer copy as `<name>-flat`. */
  readonly flatten: boolean;
}

export interface StackConfig {
  readonly hostname: string;
  readonly additionalHostnames: string[];
  readonly ipAddresses: string[];
  readonly port: number;
  readonly bindAddress: string;
  readonly image: string;
  readonly users: string[];
  readonly realm: string;
  readonly logLevel: (typeof LOG_LEVELS)[number];
  readonly minimumTlsVersion: (typeof TLS_VERSIONS)[number];
  readonly keyAlgorithm: (typeof KEY_ALGORITHMS)[number];
  readonly certValidityDays: number;
  readonly proxyRemoteUrl?: string;
  readonly proxyUsername?: string;
  readonly trustCertsDirs: string[];
  readonly trustInsecure: boolean;
  readonly dockerLogin: boolean;
  readonly platform: string;
  readonly images: StackImage[];
}

/** Raw values as `pulumi.Config` returns them (`getObject` for arrays); undefined when unset. */
export type RawStackConfig = Partial<Record<keyof typeof DEFAULTS, unknown>>;

/** Defaults; Pulumi.yaml declares the same ones (a unit test keeps the two equal). */
export const DEFAULTS = {
  hostname: "localhost",
  additionalHostnames: [] as string[],
  ipAddresses: ["127.0.0.1"],
  port: 443,
  bindAddress: "0.0.0.0",
  image: "registry:2",
  users: ["registry"],
  realm: "Registry realm",
  logLevel: "info",
  minimumTlsVersion: "tls1.2",
  keyAlgorithm: "RSA",
  certValidityDays: 365,
  proxyRemoteUrl: "",
  proxyUsername: "",
  trustCertsDirs: ["/etc/docker/certs.d"],
  trustInsecure: false,
  dockerLogin: true,
  platform: "linux/amd64",
  images: [] as string[],
};

const IMAGE_ENTRY_HELP =
  'each entry is "<repository>:<tag>=<context>[,dockerfile=<path>][,target=<stage>][,flatten]", ' +
  'e.g. "app:1.0=./app,target=runtime"';

/** Every key of the namespace: the settings, and the secret the program reads with getSecret. */
export const CONFIG_KEYS: readonly string[] = [...Object.keys(DEFAULTS), "proxyPassword"];

/**
 * Problems with the config keys set in this stack's namespace (bare keys: the stack program lists
 * `pulumi.runtime.allConfig()` and keeps those under `<project>:`): a key the stack does not read
 * would be silently ignored (a typo such as `secure-registry:hostnme` leaves the default in place),
 * so it is refused, with the likely key. Other namespaces (providers, `pulumi:`) are not ours.
 */
export function unknownConfigKeys(setKeys: readonly string[]): string[] {
  const prefix = `${CONFIG_NAMESPACE}:`;
  return setKeys
    .filter((k) => !CONFIG_KEYS.includes(k))
    .sort()
    .map((k) => {
      const guess = closestKey(k, CONFIG_KEYS);
      return (
        `- ${prefix}${k}: is not a setting of this stack; ` +
        (guess
          ? `did you mean ${prefix}${guess}? (pulumi config rm ${prefix}${k}, then set ${prefix}${guess})`
          : `the settings are ${CONFIG_KEYS.join(", ")} (pulumi config rm ${prefix}${k})`)
      );
    });
}

/**
 * Parses and checks the stack config; throws one error naming every bad key. Values are checked
 * with the components' own validators, so a bad value is reported under its config key before
 * any resource is declared. `setKeys` are the keys set in this namespace (bare), to refuse those
 * that do not exist.
 */
export function parseStackConfig(
  raw: RawStackConfig,
  setKeys: readonly string[] = [],
): StackConfig {
  const problems: string[] = [...unknownConfigKeys(setKeys)];
  const key = (name: string) => `${CONFIG_NAMESPACE}:${name}`;
  const bad = (name: string, problem: string, fix: string) =>
    problems.push(`- ${key(name)}: ${problem}; ${fix}`);

  function str(name: keyof typeof DEFAULTS): string {
    const value = raw[name] ?? DEFAULTS[name];
    if (typeof value !== "string") {
      bad(
        name,
        `expected a string, got ${describe(value)}`,
        `pulumi config set ${key(name)} <text>`,
      );
      return String(DEFAULTS[name]);
    }
    if (/[\r\n]/.test(value)) {
      bad(name, "contains a line break", "set a single-line value");
    }
    return value;
  }
  function list(name: keyof typeof DEFAULTS): string[] {
    let value = raw[name] ?? DEFAULTS[name];
    if (typeof value === "string") {
      // pulumi.Config keeps list values as JSON text.
      try {
        value = JSON.parse(value);
      } catch {
        // reported below as "expected a list of strings"
      }
    }
    if (!Array.isArray(value) || value.some((item) => typeof item !== "string")) {
      bad(
        name,
        `expected a list of strings, got ${describe(value)}`,
        `set it with \`pulumi config set --path '${key(name)}[0]' <value>\``,
      );
      return [];
    }
    return value as string[];
  }
  function oneOf<T extends string>(name: keyof typeof DEFAULTS, allowed: readonly T[]): T {
    const value = str(name);
    if (!(allowed as readonly string[]).includes(value)) {
      bad(name, `"${value}" is not supported`, `use one of ${allowed.join(", ")}`);
      return DEFAULTS[name] as T;
    }
    return value as T;
  }
  function int(name: keyof typeof DEFAULTS, min: number, max: number): number {
    const value = raw[name] ?? DEFAULTS[name];
    const parsed = typeof value === "string" && /^\d+$/.test(value) ? Number(value) : value;
    if (typeof parsed !== "number" || !Number.isInteger(parsed) || parsed < min || parsed > max) {
      bad(
        name,
        `${describe(value)} is not a whole number from ${min} to ${max}`,
        `set one in range`,
      );
      return DEFAULTS[name] as number;
    }
    return parsed;
  }
  function bool(name: keyof typeof DEFAULTS): boolean {
    const value = raw[name] ?? DEFAULTS[name];
    if (value === "true" || value === true) return true;
    if (value === "false" || value === false) return false;
    bad(name, `${describe(value)} is not a boolean`, "use true or false");
    return DEFAULTS[name] as boolean;
  }

  const proxyRemoteUrl = str("proxyRemoteUrl");
  const proxyUsername = str("proxyUsername");
  if (!proxyRemoteUrl && proxyUsername) {
    bad(
      "proxyRemoteUrl",
      "is empty while proxyUsername is set",
      "set the upstream URL (e.g. https://registry-1.docker.io) or remove the username",
    );
  }

  const users = list("users");
  if (users.length === 0 && raw.users !== undefined) {
    bad("users", "the list is empty", 'name at least one user, e.g. ["registry"]');
  }

  const images: StackImage[] = [];
  list("images").forEach((entry, index) => {
    const parsed = parseImageEntry(entry);
    if (typeof parsed === "string") {
      problems.push(`- ${key("images")}[${index}]: ${parsed}; ${IMAGE_ENTRY_HELP}`);
    } else {
      images.push(parsed);
    }
  });
  if (proxyRemoteUrl && images.length > 0) {
    bad(
      "images",
      "a pull-through cache (proxyRemoteUrl) does not accept pushes",
      "build images in a stack without proxyRemoteUrl, or remove the images",
    );
  }
  const seen = new Set<string>();
  for (const image of images) {
    if (seen.has(image.name)) {
      bad("images", `"${image.name}" is listed twice`, "give each image its own repository:tag");
    }
    seen.add(image.name);
  }

  const config: StackConfig = {
    hostname: str("hostname"),
    additionalHostnames: list("additionalHostnames"),
    ipAddresses: list("ipAddresses"),
    port: int("port", 1, 65535),
    bindAddress: str("bindAddress"),
    image: str("image"),
    users,
    realm: str("realm"),
    logLevel: oneOf("logLevel", LOG_LEVELS),
    minimumTlsVersion: oneOf("minimumTlsVersion", TLS_VERSIONS),
    keyAlgorithm: oneOf("keyAlgorithm", KEY_ALGORITHMS),
    certValidityDays: int("certValidityDays", 1, 3650),
    proxyRemoteUrl: proxyRemoteUrl || undefined,
    proxyUsername: proxyUsername || undefined,
    trustCertsDirs: list("trustCertsDirs"),
    trustInsecure: bool("trustInsecure"),
    dockerLogin: bool("dockerLogin"),
    platform: str("platform"),
    images,
  };
  // The components' validators throw "<label>: <field> <problem>; <fix>": keep the part after
  // the label and put the config key in front.
  const LABEL = "config";
  function check(validate: (label: string, field: string, value: unknown) => void) {
    return (value: unknown, field: string) => {
      try {
        validate(LABEL, field, value);
      } catch (e) {
        problems.push(`- ${CONFIG_NAMESPACE}:${(e as Error).message.slice(LABEL.length + 2)}`);
      }
    };
  }
  check(validateHostOrIp)(config.hostname, "hostname");
  config.additionalHostnames.forEach((h, i) =>
    check(validateHostname)(h, `additionalHostnames[${i}]`),
  );
  config.ipAddresses.forEach((ip, i) => check(validateIp)(ip, `ipAddresses[${i}]`));
  check(validateBindAddress)(config.bindAddress, "bindAddress");
  check(validateImageReference)(config.image, "image");
  config.users.forEach((user, i) => check(validateUsername)(user, `users[${i}]`));
  if (new Set(config.users).size !== config.users.length) {
    bad("users", "a username is listed twice", "list each user once");
  }
  check(validateRealm)(config.realm, "realm");
  if (config.proxyRemoteUrl) check(validateProxyUrl)(config.proxyRemoteUrl, "proxyRemoteUrl");
  config.trustCertsDirs.forEach((dir, i) => {
    const problem = absolutePathProblem(dir, `trustCertsDirs[${i}]`);
    if (problem) problems.push(`- ${key(problem)}`);
  });

  if (problems.length > 0) {
    throw new Error(`Invalid stack configuration:\n${problems.join("\n")}`);
  }
  return config;
}

/** Parses one `images` entry; returns the problem as a string when it is malformed. */
export function parseImageEntry(entry: string): StackImage | string {
  const [head, ...options] = entry.split(",").map((part) => part.trim());
  const eq = head.indexOf("=");
  if (eq <= 0 || eq === head.length - 1) {
    return `"${entry}" has no "<repository>:<tag>=<context>" part`;
  }
  const name = head.slice(0, eq);
  const context = head.slice(eq + 1);
  if (!/^[a-z0-9]+(?:[._/-][a-z0-9]+)*(?::[\w][\w.-]{0,127})?$/.test(name)) {
    return `"${name}" is not a valid repository[:tag] (lower-case letters, digits, . _ - /)`;
  }
  let dockerfile: string | undefined;
  let target: string | undefined;
  let flatten = false;
  for (const option of options) {
    const [optionName, optionValue] = option.split("=", 2);
    if (optionName === "flatten" && optionValue === undefined) flatten = true;
    else if (optionName === "dockerfile" && optionValue) dockerfile = optionValue;
    else if (optionName === "target" && optionValue) target = optionValue;
    else return `"${option}" in "${entry}" is not an option (dockerfile=, target=, flatten)`;
  }
  return {
    name: name.includes(":") ? name : `${name}:latest`,
    context,
    dockerfile,
    target,
    flatten,
  };
}

function describe(value: unknown): string {
  return value === undefined ? "nothing" : JSON.stringify(value);
}
