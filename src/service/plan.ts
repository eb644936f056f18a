/**
 * SecureRegistryService's arguments checked and completed with defaults, before any resource
 * exists. The registry's own options go through SecureRegistry's plan (same checks, same
 * messages, naming this component); the Swarm options are checked here.
 */
import * as pulumi from "@pulumi/pulumi";
import {
  checkBoolean,
  checkInteger,
  checkList,
  checkObject,
  checkOneOf,
  checkStringValue,
  componentLabel,
  describeValue,
  fail,
  whenKnown,
} from "../common/checks";
import { parseGoDuration, shortDuration } from "../common/durations";
import { Plan, planSecureRegistry } from "../registry/plan";
import {
  PublishMode,
  SecureRegistryServiceArgs,
  SERVICE_DEFAULTS,
  ServiceRedisOptions,
  ServiceUpdateOptions,
  UpdateOrder,
} from "./args";

export const SERVICE_KIND = "SecureRegistryService";

const ARG_KEYS = [
  "hostname",
  "additionalHostnames",
  "ipAddresses",
  "port",
  "image",
  "users",
  "realm",
  "tls",
  "storage",
  "logLevel",
  "env",
  "httpSecret",
  "serviceName",
  "replicas",
  "global",
  "placement",
  "publishMode",
  "update",
  "stopGracePeriod",
  "redis",
  "networks",
  "convergeTimeout",
] as const;

/** Everything the constructor decides before declaring resources. */
export interface ServicePlan {
  /** The registry's own plan (certificates, users, settings, S3). */
  registry: Plan;
  serviceName: string;
  /** Replicas, or undefined in global mode. */
  replicas?: pulumi.Input<number>;
  global: boolean;
  constraints: pulumi.Input<pulumi.Input<string>[]>;
  spreadOver: pulumi.Input<pulumi.Input<string>[]>;
  maxReplicasPerNode: pulumi.Input<number>;
  publishMode: PublishMode;
  update: Required<ServiceUpdateOptions>;
  /** Canonical Go durations (as the provider reads them back). */
  stopGracePeriod: string;
  convergeTimeout: string;
  redis?: ServiceRedisOptions;
  networks: pulumi.Input<pulumi.Input<string>[]>;
}

/** Swarm's service names (swarmkit validateAnnotations): DNS-label-like, 63 at most. */
const SERVICE_NAME = /^(?=.{1,63}$)[a-zA-Z0-9](?:[a-zA-Z0-9_-]*[a-zA-Z0-9])?$/;
/** `node.labels.zone==a`, `node.role != manager`, `engine.labels.x==y`, `node.hostname==h1`. */
const CONSTRAINT = /^[A-Za-z0-9_.-]+\s*(==|!=)\s*\S(.*\S)?$/;
const SPREAD = /^(node|engine)\.labels\.[A-Za-z0-9_.-]+$/;
const REDIS_ADDRESS = /^(\[[0-9a-fA-F:]+\]|[A-Za-z0-9_.-]+):(\d{1,5})$/;

/** A Go duration, returned as the provider reads it back (`90s` -> `1m30s`). */
export function checkDuration(
  label: string,
  field: string,
  value: unknown,
  fallback: string,
): string {
  const text = value === undefined ? fallback : value;
  const ns = parseGoDuration(text);
  if (ns === undefined) {
    fail(
      label,
      field,
      `${field} ${describeValue(text)} is not a duration; use a Go duration such as "10s", ` +
        `"500ms" or "1m30s".`,
    );
  }
  if (ns !== 0 && ns < 1e6) {
    fail(label, field, `${field} ${describeValue(text)} is below 1ms, which Swarm refuses.`);
  }
  return shortDuration(ns);
}

/** Env keys the service sets itself (beyond what SecureRegistry owns). */
function checkServiceEnv(label: string, env: unknown, hasRedis: boolean): void {
  if (env === null || typeof env !== "object") return; // SecureRegistry's plan reports it
  for (const key of Object.keys(env)) {
    if (key === "REGISTRY_HTTP_DRAINTIMEOUT") {
      fail(
        label,
        `env.${key}`,
        `env key ${key} would override a setting this component owns; use stopGracePeriod ` +
          `instead.`,
      );
    }
    if (hasRedis && /^REGISTRY_(REDIS|STORAGE_CACHE)(_|$)/.test(key)) {
      fail(
        label,
        `env.${key}`,
        `env key ${key} would override a setting this component owns; use redis instead.`,
      );
    }
  }
}

function planRedis(label: string, value: unknown): ServiceRedisOptions | undefined {
  const redis = checkObject(label, "redis", value, ["address", "password", "db"]);
  if (redis === undefined) return undefined;
  if (redis.address === undefined) {
    fail(label, "redis.address", `redis.address is missing; give host:port, e.g. "redis:6379".`);
  }
  return {
    address: whenKnown(redis.address as pulumi.Input<string>, (v) => {
      checkStringValue(label, "redis.address", v, { example: "redis:6379" });
      const match = REDIS_ADDRESS.exec(v);
      if (!match || Number(match[2]) < 1 || Number(match[2]) > 65535) {
        fail(
          label,
          "redis.address",
          `redis.address ${describeValue(v)} is not host:port; use e.g. "redis:6379".`,
        );
      }
    }),
    password:
      redis.password === undefined
        ? undefined
        : whenKnown(redis.password as pulumi.Input<string>, (v) =>
            checkStringValue(label, "redis.password", v, { secret: true }),
          ),
    db: checkInteger(label, "redis.db", redis.db, { min: 0, max: 1_000_000, example: 0 }),
  };
}

/**
 * The update order when none is given: start-first (capacity never drops) only where a second
 * replica can start beside the old one; stop-first where the old one holds what the new one
 * needs: a host-mode port, the last place under maxReplicasPerNode, or its node in global mode.
 */
export function defaultUpdateOrder(
  publishMode: PublishMode,
  global: boolean,
  maxReplicasPerNode: unknown,
): UpdateOrder {
  const limited = maxReplicasPerNode !== undefined && maxReplicasPerNode !== 0;
  return publishMode === "host" || global || limited ? "stop-first" : "start-first";
}

function planUpdate(
  label: string,
  value: unknown,
  publishMode: PublishMode,
  defaultOrder: UpdateOrder,
): Required<ServiceUpdateOptions> {
  const update = (checkObject(label, "update", value, [
    "monitor",
    "delay",
    "order",
    "failureAction",
  ]) ?? {}) as ServiceUpdateOptions;
  const order = update.order ?? defaultOrder;
  checkOneOf(label, "update.order", order, ["start-first", "stop-first"]);
  if (publishMode === "host" && order === "start-first") {
    fail(
      label,
      "update.order",
      `update.order "start-first" cannot work with publishMode "host": a new replica cannot ` +
        `bind the port its node's running replica holds (it would wait, or move to another ` +
        `node clients do not expect); use "stop-first" (the default for host).`,
    );
  }
  const failureAction = update.failureAction ?? SERVICE_DEFAULTS.failureAction;
  checkOneOf(label, "update.failureAction", failureAction, ["rollback", "pause", "continue"]);
  return {
    monitor: checkDuration(label, "update.monitor", update.monitor, SERVICE_DEFAULTS.monitor),
    delay: checkDuration(label, "update.delay", update.delay, SERVICE_DEFAULTS.delay),
    order,
    failureAction,
  };
}

/**
 * Validates SecureRegistryService arguments and applies defaults. Throws InvalidInputError for
 * any bad plain value; Output values are checked when known.
 */
export function planSecureRegistryService(
  name: string,
  args: SecureRegistryServiceArgs,
): ServicePlan {
  const label = componentLabel(SERVICE_KIND, name);
  checkObject(label, "", args, ARG_KEYS);
  if (args?.storage?.s3 === undefined) {
    fail(
      label,
      "storage.s3",
      "storage.s3 is missing; replicas on different nodes must share their data, so the " +
        "service stores in S3 or an S3-compatible store (a local volume would differ per node).",
    );
  }
  checkObject(label, "storage", args.storage, ["s3", "deleteEnabled"]);

  const serviceName = args.serviceName ?? name;
  if (typeof serviceName !== "string" || !SERVICE_NAME.test(serviceName)) {
    const field =
      args.serviceName === undefined ? "serviceName (default: the name)" : "serviceName";
    fail(
      label,
      "serviceName",
      `${field} ${describeValue(serviceName)} is not a Swarm service name; use 1-63 letters, ` +
        `digits, '-' or '_', starting and ending with a letter or digit.`,
    );
  }

  const redis = planRedis(label, args.redis);
  checkServiceEnv(label, args.env, redis !== undefined);

  const registry = planSecureRegistry(
    name,
    {
      hostname: args.hostname,
      additionalHostnames: args.additionalHostnames,
      ipAddresses: args.ipAddresses,
      port: args.port ?? SERVICE_DEFAULTS.port,
      image: args.image,
      users: args.users,
      realm: args.realm,
      tls: args.tls,
      storage: args.storage,
      logLevel: args.logLevel,
      env: args.env,
      httpSecret: args.httpSecret,
    },
    SERVICE_KIND,
  );

  const global = checkBoolean(label, "global", args.global) ?? SERVICE_DEFAULTS.global;
  if (typeof global !== "boolean") {
    fail(label, "global", "global must be a plain true or false (it decides the service mode).");
  }
  if (global && args.replicas !== undefined) {
    fail(
      label,
      "replicas",
      "replicas and global are both set; global runs one replica per node: remove replicas, " +
        "or global to run a fixed number.",
    );
  }
  const replicas = global
    ? undefined
    : (checkInteger(label, "replicas", args.replicas, { min: 0, max: 1000, example: 2 }) ??
      SERVICE_DEFAULTS.replicas);

  const placement = checkObject(label, "placement", args.placement, [
    "constraints",
    "spreadOver",
    "maxReplicasPerNode",
  ]);
  const constraints =
    checkList<string>(label, "placement.constraints", placement?.constraints, (field, v) => {
      checkStringValue(label, field, v, { example: "node.role==worker" });
      if (!CONSTRAINT.test(v)) {
        fail(
          label,
          field,
          `${field} ${describeValue(v)} is not a Swarm constraint; use <attribute>==<value> or ` +
            `!=, e.g. "node.labels.registry==true".`,
        );
      }
    }) ?? [];
  const spreadOver =
    checkList<string>(label, "placement.spreadOver", placement?.spreadOver, (field, v) => {
      checkStringValue(label, field, v, { example: "node.labels.zone" });
      if (!SPREAD.test(v)) {
        fail(
          label,
          field,
          `${field} ${describeValue(v)} is not a label to spread over; use node.labels.<name>, ` +
            `e.g. "node.labels.zone".`,
        );
      }
    }) ?? [];
  const maxReplicasPerNode =
    checkInteger(label, "placement.maxReplicasPerNode", placement?.maxReplicasPerNode, {
      min: 0,
      max: 1000,
      example: 1,
    }) ?? SERVICE_DEFAULTS.maxReplicasPerNode;

  const publishMode = args.publishMode ?? SERVICE_DEFAULTS.publishMode;
  checkOneOf(label, "publishMode", publishMode, ["ingress", "host"]);

  const networks =
    checkList<string>(label, "networks", args.networks, (field, v) =>
      checkStringValue(label, field, v, { example: "a network's id" }),
    ) ?? [];

  return {
    registry,
    serviceName,
    replicas,
    global,
    constraints,
    spreadOver,
    maxReplicasPerNode,
    publishMode,
    update: planUpdate(
      label,
      args.update,
      publishMode,
      defaultUpdateOrder(publishMode, global, placement?.maxReplicasPerNode),
    ),
    stopGracePeriod: checkDuration(
      label,
      "stopGracePeriod",
      args.stopGracePeriod,
      SERVICE_DEFAULTS.stopGracePeriod,
    ),
    convergeTimeout: checkDuration(
      label,
      "convergeTimeout",
      args.convergeTimeout,
      SERVICE_DEFAULTS.convergeTimeout,
    ),
    redis,
    networks,
  };
}
