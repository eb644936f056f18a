/**
 * Pure decisions behind SecureRegistryService: names of its Swarm secrets and configs, and the
 * parts of the service spec that do not depend on Pulumi. Every duration is written the way the
 * docker provider reads it back (`shortDur`), so a refresh finds no difference.
 */
import * as crypto from "crypto";
import { registryHealthcheck } from "../registry/render";
import type { UpdateFailureAction, UpdateOrder } from "./args";

/** Swarm's secret and config names (swarmkit validateConfigOrSecretAnnotations): 64 at most. */
const MAX_OBJECT_NAME = 64;

/**
 * The name of a Swarm secret or config holding `content`: `<prefix>-<role>-<12 hex>`, where the
 * hex part changes with the content. Swarm refuses to change a secret or config in place, and a
 * service only picks up a changed file when it refers to another object: a new name makes a
 * rotation a rolling update of the service.
 *
 * With `key`, the hex part is an HMAC of the content under that key (the registry's http secret):
 * a name then reveals nothing about a secret content, even a guessable one (a short password in a
 * secret env file). Without it, a plain SHA-256 (for public content: config.yml, certificate).
 */
export function swarmObjectName(
  prefix: string,
  role: string,
  content: string,
  key?: string,
): string {
  const digest = (
    key === undefined
      ? crypto.createHash("sha256").update(content, "utf8")
      : crypto.createHmac("sha256", key).update(content, "utf8")
  )
    .digest("hex")
    .slice(0, 12);
  const suffix = `-${role}-${digest}`;
  // A long prefix is cut, never the suffix that carries the content's identity.
  const head = prefix.slice(0, MAX_OBJECT_NAME - suffix.length).replace(/[-_.]+$/, "");
  return `${head}${suffix}`;
}

/** `KEY=value` entries (as the container component's `envs`) as the service's `env` map. */
export function envMap(entries: readonly string[]): Record<string, string> {
  const out: Record<string, string> = {};
  for (const entry of entries) {
    const eq = entry.indexOf("=");
    out[entry.slice(0, eq)] = entry.slice(eq + 1);
  }
  return out;
}

/** An octal file mode ("0400") as the provider's integer `fileMode`. */
export function fileModeNumber(mode: string): number {
  return parseInt(mode, 8);
}

/**
 * The registry's health check in the shape of a service's `healthcheck` (which has no
 * `startInterval`). A replica becomes "running" for Swarm only once this passes, which is what
 * gates a rolling update.
 */
export function serviceHealthcheck(): {
  tests: string[];
  interval: string;
  timeout: string;
  startPeriod: string;
  retries: number;
} {
  const { tests, interval, timeout, startPeriod, retries } = registryHealthcheck();
  return { tests, interval, timeout, startPeriod, retries };
}

/** Update and rollback policy: one replica at a time, each watched for `monitor` once healthy. */
export function updatePolicy(options: {
  monitor: string;
  delay: string;
  order: UpdateOrder;
  failureAction: UpdateFailureAction;
}): {
  updateConfig: {
    parallelism: number;
    delay: string;
    monitor: string;
    order: string;
    failureAction: string;
  };
  rollbackConfig: {
    parallelism: number;
    delay: string;
    monitor: string;
    order: string;
    failureAction: string;
  };
} {
  return {
    updateConfig: {
      // One at a time: the others keep serving while one is replaced.
      parallelism: 1,
      delay: options.delay,
      monitor: options.monitor,
      order: options.order,
      failureAction: options.failureAction,
    },
    rollbackConfig: {
      parallelism: 1,
      delay: options.delay,
      monitor: options.monitor,
      order: options.order,
      // A rollback that fails again stops where it is rather than flapping.
      failureAction: "pause",
    },
  };
}

/** Restart policy of the replicas: always restart, after 5s, without a limit. */
export const RESTART_POLICY = {
  condition: "any",
  delay: "5s",
  maxAttempts: 0,
  window: "0s",
} as const;

/** How often the provider checks for convergence while `pulumi up` waits. */
export const CONVERGE_DELAY = "5s";
