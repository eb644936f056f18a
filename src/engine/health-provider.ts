/**
 * The dynamic provider behind HealthyContainer: waits, on the component's engine, until a
 * container's health check passes (health.ts), once per container.
 *
 * Serialization as for the images module's providers (src/images/engine/providers.ts): the
 * methods call plain functions of the sibling modules, which import nothing but each other and
 * types. test/unit/images-provider.test.ts serializes this object as `pulumi.dynamic.Resource`
 * does and runs it in a plain node process (both layouts); test/integration/engine-health.test.ts
 * runs that serialized form against containers on the real engine.
 */
import * as connection from "./connection";
import * as health from "./health";
import type { EngineSettings, InputFailure } from "./settings";
import { checkEngineSettings, connectionOf, engineSettingsDiff } from "./settings";

/** Inputs of the HealthyContainer dynamic resource. */
export interface HealthyContainerInputs {
  /** The container's ID: a new container (a replacement) is waited for again. */
  readonly container: string;
  /** Seconds to wait before failing the deployment. */
  readonly timeoutSeconds: number;
  /** The docker provider's connection; undefined: DOCKER_HOST or the local socket, read at run time. */
  readonly engine?: EngineSettings;
  /** The docker provider's `keyMaterial`. Secret. */
  readonly engineKey?: string;
}

/** State of the HealthyContainer dynamic resource: its inputs and where the container runs. */
export interface HealthyContainerOutputs extends HealthyContainerInputs {
  /** e.g. `ssh://root@198.51.100.11`; never holds a secret. */
  readonly engineAddress: string;
}

/** The most a deployment waits for one container. */
export const MAX_HEALTH_TIMEOUT_SECONDS = 3600;

/** Problems of HealthyContainer inputs as they reach the provider. */
export function checkHealthyContainerInputs(
  news: Partial<Record<keyof HealthyContainerInputs, unknown>>,
): InputFailure[] {
  const failures: InputFailure[] = [];
  if (typeof news.container !== "string" || news.container.trim() === "") {
    failures.push({ property: "container", reason: "container must be a container ID" });
  }
  const timeout = news.timeoutSeconds;
  if (
    typeof timeout !== "number" ||
    !Number.isInteger(timeout) ||
    timeout < 1 ||
    timeout > MAX_HEALTH_TIMEOUT_SECONDS
  ) {
    failures.push({
      property: "timeoutSeconds",
      reason: `timeoutSeconds must be a whole number of seconds from 1 to ${MAX_HEALTH_TIMEOUT_SECONDS}`,
    });
  }
  checkEngineSettings(news.engine, news.engineKey, failures);
  return failures;
}

export const healthyContainerProvider = {
  async check(_olds: HealthyContainerInputs, news: HealthyContainerInputs) {
    return { inputs: news, failures: checkHealthyContainerInputs(news) };
  },

  async diff(_id: string, olds: HealthyContainerOutputs, news: HealthyContainerInputs) {
    const replaces: string[] = [];
    if (olds.container !== news.container) replaces.push("container");
    const engine = engineSettingsDiff(olds, news);
    if (engine.replace) replaces.push("engine");
    const changes =
      replaces.length > 0 || olds.timeoutSeconds !== news.timeoutSeconds || engine.changed;
    return { changes, replaces, deleteBeforeReplace: false };
  },

  async create(inputs: HealthyContainerInputs) {
    const engine = await connection.connectEngine(connectionOf(inputs));
    const healthy = await health.waitUntilHealthy(engine, inputs.container, {
      timeoutSeconds: inputs.timeoutSeconds,
    });
    const outs: HealthyContainerOutputs = {
      ...inputs,
      engineAddress: engine.resolved.address,
    };
    return { id: healthy.containerId, outs };
  },

  async read(id: string, props: HealthyContainerOutputs) {
    // A record that the container was seen healthy once; the container's own refresh tells
    // whether it still runs.
    return { id, props };
  },

  async update(_id: string, olds: HealthyContainerOutputs, news: HealthyContainerInputs) {
    // Only the timeout and the engine's settings for the same address change in place.
    const outs: HealthyContainerOutputs = { ...news, engineAddress: olds.engineAddress };
    return { outs };
  },

  async delete() {
    // Nothing to undo: the container belongs to its docker.Container.
  },
};
