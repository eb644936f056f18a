/**
 * The registry container's settings a user may tune (`SecureRegistry` `container`): every
 * `docker.Container` input the component does not own, passed through as given after a check of
 * its type and shape. Inputs the component owns are refused, naming the option that controls them.
 */
import * as docker from "@pulumi/docker";
import * as pulumi from "@pulumi/pulumi";
import {
  checkObject,
  checkList,
  describeValue,
  fail,
  isDeferred,
  whenKnown,
} from "../common/checks";
import { CONFIG_PATHS } from "./config";
import type { RegistryContainerOptions } from "./container-options";
import { CONTAINER_PATHS } from "./render";

/** docker.Container inputs the component sets itself, with what to use instead. */
export const OWNED_CONTAINER_INPUTS = {
  name: "containerName",
  image: "image",
  ports: "port and bindAddress",
  volumes: "storage.volumeName (the data volume); add other storage with container.mounts",
  uploads: "tls, users, env and httpSecret (the component writes the registry's files)",
  entrypoints: "nothing: the component's launcher starts the registry",
  command: "nothing: the component's launcher starts the registry",
  healthcheck: "nothing: the component's health check is what pulumi up waits for",
  wait: "nothing: pulumi up always waits for the registry to be healthy",
  waitTimeout: "nothing: pulumi up always waits for the registry to be healthy",
  mustRun: "nothing: the registry must run",
  start: "nothing: the registry must run",
  attach: "nothing: the registry is a long-running service",
  logs: "nothing: the registry is a long-running service (read its logs with docker logs)",
  rm: "nothing: the registry is a long-running service",
  readOnly: "nothing: the component writes the registry's files into the container before start",
  user: "nothing: the registry's key and htpasswd are readable by the image's user (root) only",
} as const;

type OwnedInput = keyof typeof OWNED_CONTAINER_INPUTS;

// Every tunable input is declared in RegistryContainerOptions, and only those: a missing or an
// owned one fails the build here.
type Undeclared = Exclude<keyof docker.ContainerArgs, OwnedInput | keyof RegistryContainerOptions>;
type DeclaredButOwned = Extract<keyof RegistryContainerOptions, OwnedInput>;
const declarationsMatchProvider: [Undeclared, DeclaredButOwned] extends [never, never]
  ? true
  : never = true;
void declarationsMatchProvider;

/** Shape of each tunable input, from the docker provider's schema. */
const TUNABLE_INPUTS = {
  capabilities: "object",
  cgroupParent: "string",
  cgroupnsMode: "string",
  containerReadRefreshTimeoutMilliseconds: "integer",
  cpuPeriod: "integer",
  cpuQuota: "integer",
  cpuSet: "string",
  cpuShares: "integer",
  cpus: "string",
  destroyGraceSeconds: "integer",
  deviceCgroupRules: "strings",
  deviceReadBps: "objects",
  deviceReadIops: "objects",
  deviceRequests: "objects",
  deviceWriteBps: "objects",
  deviceWriteIops: "objects",
  devices: "objects",
  dns: "strings",
  dnsOpts: "strings",
  dnsSearches: "strings",
  domainname: "string",
  envs: "strings",
  gpus: "string",
  groupAdds: "strings",
  hostname: "string",
  hosts: "objects",
  init: "boolean",
  ipcMode: "string",
  labels: "objects",
  logDriver: "string",
  logOpts: "map",
  maxRetryCount: "integer",
  memory: "integer",
  memoryReservation: "integer",
  memorySwap: "integer",
  mounts: "objects",
  networkMode: "string",
  networksAdvanced: "objects",
  pidMode: "string",
  platform: "string",
  privileged: "boolean",
  publishAllPorts: "boolean",
  removeVolumes: "boolean",
  restart: "string",
  runtime: "string",
  securityOpts: "strings",
  shmSize: "integer",
  stdinOpen: "boolean",
  stopSignal: "string",
  stopTimeout: "integer",
  storageOpts: "map",
  sysctls: "map",
  tmpfs: "map",
  tty: "boolean",
  ulimits: "objects",
  usernsMode: "string",
  workingDir: "string",
} as const satisfies Record<keyof RegistryContainerOptions, string>;

// Compile-time proof that every docker.Container input is either owned or tunable: a new
// provider input fails the build here until it is classified.
type Unclassified = Exclude<keyof docker.ContainerArgs, OwnedInput | keyof typeof TUNABLE_INPUTS>;
const everyInputClassified: Unclassified extends never ? true : never = true;
void everyInputClassified;

const RESTART_POLICIES = ["no", "on-failure", "always", "unless-stopped"];

/**
 * Value rules the docker provider and the engine enforce on tunable inputs (from the provider's
 * validators): checked here so a bad value fails at construction, naming the field.
 */
const VALUE_RULES: Record<string, { min?: number; pattern?: RegExp; example: string }> = {
  memory: { min: 0, example: "512 (MiB)" },
  memoryReservation: { min: 0, example: "256 (MiB)" },
  memorySwap: { min: -1, example: "-1 (unlimited) or 1024 (MiB)" },
  shmSize: { min: 0, example: "64 (MiB)" },
  cpuShares: { min: 0, example: "512" },
  cpuPeriod: { min: 0, example: "100000" },
  cpuQuota: { min: 0, example: "50000" },
  cpuSet: { pattern: /^\d+([,-]\d+)*$/, example: '"0-1" or "0,2"' },
  cgroupnsMode: { pattern: /^(private|host)?$/, example: '"private" or "host"' },
  platform: { pattern: /^[A-Za-z0-9_.-]+(\/[A-Za-z0-9_.-]+){0,2}$/, example: '"linux/amd64"' },
};

/** Paths inside the container that hold the component's files and data. */
const OWNED_PATHS = [
  CONTAINER_PATHS.data,
  "/certs",
  "/auth",
  CONFIG_PATHS.config.slice(0, CONFIG_PATHS.config.lastIndexOf("/")),
];

/** A URL with a password in it, e.g. `http://user:pass@proxy:3128`. */
function hasUrlPassword(text: string): boolean {
  return /^[a-z][a-z0-9+.-]*:\/\/[^/@\s]*:[^/@\s]*@/i.test(text.trim());
}

function checkShape(label: string, field: string, kind: string, value: unknown): void {
  const bad = (expected: string) =>
    fail(
      label,
      field,
      `${field} is ${describeValue(value)}, not ${expected}; see docker.Container's ${field.split(".").pop()} input.`,
    );
  switch (kind) {
    case "string":
      if (typeof value !== "string") bad("text");
      break;
    case "integer":
      if (typeof value !== "number" || !Number.isInteger(value)) bad("a whole number");
      break;
    case "boolean":
      if (typeof value !== "boolean") bad("true or false");
      break;
    case "strings":
    case "objects":
      if (!Array.isArray(value)) bad("a list");
      (value as unknown[]).forEach((element, i) => {
        if (isDeferred(element)) return;
        const ok =
          kind === "strings"
            ? typeof element === "string"
            : typeof element === "object" && element !== null && !Array.isArray(element);
        if (!ok) {
          fail(
            label,
            `${field}[${i}]`,
            `${field}[${i}] is ${describeValue(element)}, not ${kind === "strings" ? "text" : "an object"}.`,
          );
        }
      });
      break;
    case "map":
    case "object":
      if (typeof value !== "object" || value === null || Array.isArray(value)) bad("an object");
      break;
  }
}

/** One `container.envs` entry: `KEY=value`, not a registry setting, no password in plain text. */
function checkEnvEntry(label: string, field: string, entry: unknown): string {
  if (typeof entry !== "string" || !/^[A-Za-z_][A-Za-z0-9_]*=/.test(entry)) {
    fail(
      label,
      field,
      `${field} is ${describeValue(entry, true)}, not "KEY=value"; e.g. "HTTPS_PROXY=http://proxy.internal:3128".`,
    );
  }
  const key = entry.slice(0, entry.indexOf("="));
  if (/^REGISTRY_/i.test(key)) {
    fail(
      label,
      field,
      `${field} sets ${key}, a registry setting; use the env option (env: { ${key}: ... }), ` +
        `which renders it for the registry and keeps secrets out of the container's envs.`,
    );
  }
  if (/[\r\n\0]/.test(entry)) {
    fail(label, field, `${field} (${key}) contains a line break or NUL; remove it.`);
  }
  return key;
}

/**
 * Checks `container` (now, or once known for Output values) and returns the inputs to pass to
 * docker.Container, with its `envs` and the component's to be merged by the caller.
 */
export function checkContainerOptions(
  label: string,
  value: unknown,
): { inputs: Record<string, unknown>; envs?: pulumi.Input<pulumi.Input<string>[]> } {
  const keys = [...Object.keys(TUNABLE_INPUTS), ...Object.keys(OWNED_CONTAINER_INPUTS)];
  const options = checkObject(label, "container", value, keys) ?? {};
  const inputs: Record<string, unknown> = {};
  let envs: pulumi.Input<pulumi.Input<string>[]> | undefined;
  for (const [key, given] of Object.entries(options)) {
    const field = `container.${key}`;
    if (key in OWNED_CONTAINER_INPUTS) {
      fail(
        label,
        field,
        `${field} is set by the component; use ${OWNED_CONTAINER_INPUTS[key as OwnedInput]}.`,
      );
    }
    if (given === undefined) continue;
    const kind = TUNABLE_INPUTS[key as keyof typeof TUNABLE_INPUTS];
    if (key === "envs") {
      const seen = new Map<string, string>();
      envs = checkList<string>(label, field, given, (elementField, entry) => {
        const envKey = checkEnvEntry(label, elementField, entry);
        if (seen.has(envKey)) {
          fail(
            label,
            elementField,
            `${elementField} sets ${envKey} again (first in ${seen.get(envKey)}); set each variable once.`,
          );
        }
        seen.set(envKey, elementField);
      });
      // A plain entry with a URL password would sit in plain text in state and previews.
      if (Array.isArray(given)) {
        given.forEach((entry, i) => {
          if (typeof entry === "string" && hasUrlPassword(entry.slice(entry.indexOf("=") + 1))) {
            fail(
              label,
              `${field}[${i}]`,
              `${field}[${i}] (${entry.slice(0, entry.indexOf("="))}) holds a URL with a ` +
                `password in plain text; pass that entry as pulumi.secret("...") so it is ` +
                `encrypted in state (the whole envs input then shows as secret in previews).`,
            );
          }
        });
      }
      continue;
    }
    inputs[key] = whenKnown(given, (v) => {
      checkShape(label, field, kind, v);
      const rule = VALUE_RULES[key];
      if (
        rule &&
        ((rule.min !== undefined && (v as number) < rule.min) ||
          (rule.pattern !== undefined && !rule.pattern.test(v as string)))
      ) {
        fail(
          label,
          field,
          `${field} ${describeValue(v)} is not accepted by Docker; use e.g. ${rule.example}.`,
        );
      }
      if (key === "restart" && !RESTART_POLICIES.includes(v as string)) {
        fail(
          label,
          field,
          `${field} ${describeValue(v)} is not one of ${RESTART_POLICIES.join(", ")}.`,
        );
      }
      if (key === "mounts") {
        (v as { target?: unknown }[]).forEach((mount, i) => {
          const target = typeof mount?.target === "string" ? mount.target.replace(/\/+$/, "") : "";
          if (
            OWNED_PATHS.some(
              (p) => target === p || target.startsWith(`${p}/`) || p.startsWith(`${target}/`),
            )
          ) {
            fail(
              label,
              `${field}[${i}].target`,
              `${field}[${i}].target ${describeValue(mount.target)} covers the component's ` +
                `files or data (${OWNED_PATHS.join(", ")}); mount elsewhere (data: storage.volumeName).`,
            );
          }
        });
      }
    });
  }
  if (options.gpus !== undefined && options.deviceRequests !== undefined) {
    fail(
      label,
      "container.gpus",
      "container.gpus and container.deviceRequests both set; the provider takes one of them.",
    );
  }
  return { inputs, envs };
}
