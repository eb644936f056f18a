/**
 * Translation of the docker provider's `docker.Service`, `docker.Secret` and `docker.ServiceConfig`
 * inputs (as recorded under pulumi mocks, secrets already unwrapped) into Docker Engine API
 * requests (`POST /services/create`, `/secrets/create`, `/configs/create`).
 *
 * It follows what kreuzwerker/terraform-provider-docker v4.5 (under @pulumi/docker 5.x) sends
 * (resource_docker_service_structures.go `createServiceSpec`, resource_docker_secret.go,
 * resource_docker_config.go), with the provider's schema defaults for fields left out, so a wrong
 * env name, file path, health check or update policy in a component fails on a real swarm.
 * Inputs it does not translate THROW: a new input must be translated here before a test relies on
 * it. Durations must be in the spelling the provider reads back (`shortDur`): any other spelling
 * would show a diff after every refresh, so it throws too.
 *
 * One difference from the provider, on purpose: the provider asks the registry for the image's
 * digest when it creates a service (`QueryRegistry`); nothing can be pulled here, so the image is
 * sent as declared (what the provider falls back to when the registry cannot be reached).
 */
import { parseGoDuration } from "./container-spec";
import { labelMap } from "./container-spec";
import { shortDuration } from "../../src/common/durations";

type Inputs = Record<string, unknown>;

/** Engine API body of `POST /secrets/create` or `/configs/create`. */
export interface SwarmObjectSpec {
  Name: string;
  /** Standard base64 of the content. */
  Data: string;
  Labels: Record<string, string>;
}

/** What the provider does around the create/update call (convergeConfig). */
export interface ConvergeSettings {
  /** Poll interval (the provider's `delay`). */
  delayMs: number;
  timeoutMs: number;
}

export interface ServiceSpecResult {
  /** Engine API body of `POST /services/create` and `/services/{id}/update`. */
  spec: Record<string, unknown>;
  /** Set when the declaration asks `pulumi up` to wait for convergence. */
  converge?: ConvergeSettings;
}

function isSet(value: unknown): boolean {
  return value !== undefined && value !== null;
}

function asObject(value: unknown, field: string): Inputs {
  if (value === null || typeof value !== "object" || Array.isArray(value)) {
    throw new Error(`${field}: expected an object`);
  }
  return value as Inputs;
}

function asList(value: unknown, field: string): unknown[] {
  if (!Array.isArray(value)) throw new Error(`${field}: expected a list`);
  return value;
}

function asString(value: unknown, field: string): string {
  if (typeof value !== "string") throw new Error(`${field}: expected a string`);
  return value;
}

function asStrings(value: unknown, field: string): string[] {
  return asList(value, field).map((v, i) => asString(v, `${field}[${i}]`));
}

function asInteger(value: unknown, field: string, min = 0): number {
  if (typeof value !== "number" || !Number.isInteger(value) || value < min) {
    throw new Error(`${field}: expected an integer >= ${min}, got ${JSON.stringify(value)}`);
  }
  return value;
}

/** Throws for set keys the translation does not read. */
function onlyKeys(block: Inputs, known: readonly string[], field: string): void {
  for (const [key, value] of Object.entries(block)) {
    if (isSet(value) && !known.includes(key)) {
      throw new Error(
        `${field}.${key} is set but test/support/service-spec.ts does not translate it; add its ` +
          `translation (as the docker provider sends it) before relying on it`,
      );
    }
  }
}

/** A service duration in nanoseconds; throws unless spelled as the provider reads it back. */
function duration(value: unknown, field: string): number {
  const text = asString(value, field);
  const ns = parseGoDuration(text, field);
  const canonical = shortDuration(ns);
  if (canonical !== text) {
    throw new Error(
      `${field}: "${text}" is read back by the provider as "${canonical}", so every refresh ` +
        `would show a diff; declare "${canonical}"`,
    );
  }
  return ns;
}

function base64Data(value: unknown, field: string): string {
  const text = asString(value, field);
  // The provider decodes with Go's base64.StdEncoding: padded standard alphabet only.
  if (!/^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/.test(text)) {
    throw new Error(`${field}: not standard base64 (the provider refuses it)`);
  }
  return text;
}

const OBJECT_NAME = /^(?=.{1,64}$)[a-zA-Z0-9](?:[a-zA-Z0-9_.-]*[a-zA-Z0-9])?$/;

/** `docker.Secret` / `docker.ServiceConfig` inputs as the Engine API body. */
export function swarmObjectSpec(inputs: Inputs, kind: "Secret" | "ServiceConfig"): SwarmObjectSpec {
  onlyKeys(inputs, ["name", "data", "labels"], kind);
  const name = asString(inputs.name, `${kind}.name`);
  if (!OBJECT_NAME.test(name)) {
    throw new Error(`${kind}.name "${name}" is not a name Swarm accepts (1-64 of [a-zA-Z0-9_.-])`);
  }
  return {
    Name: name,
    Data: base64Data(inputs.data, `${kind}.data`),
    Labels: isSet(inputs.labels) ? labelMap(inputs.labels, `${kind}.labels`) : {},
  };
}

/** Resolves a declared secret or config reference to the engine's object ID. */
export type ResolveObject = (kind: "secret" | "config", id: string, name: string) => string;

function fileTarget(ref: Inputs, field: string): Record<string, unknown> {
  return {
    Name: asString(ref.fileName, `${field}.fileName`),
    // The provider's schema defaults.
    UID: isSet(ref.fileUid) ? asString(ref.fileUid, `${field}.fileUid`) : "0",
    GID: isSet(ref.fileGid) ? asString(ref.fileGid, `${field}.fileGid`) : "0",
    Mode: isSet(ref.fileMode) ? asInteger(ref.fileMode, `${field}.fileMode`) : 0o444,
  };
}

function containerSpec(value: unknown, resolve: ResolveObject): Record<string, unknown> {
  const field = "taskSpec.containerSpec";
  const cs = asObject(value, field);
  onlyKeys(
    cs,
    [
      "image",
      "commands",
      "args",
      "env",
      "secrets",
      "configs",
      "healthcheck",
      "stopGracePeriod",
      "stopSignal",
      "labels",
      "hostname",
      "dir",
      "user",
      "readOnly",
    ],
    field,
  );
  const out: Record<string, unknown> = { Image: asString(cs.image, `${field}.image`) };
  if (isSet(cs.commands)) out.Command = asStrings(cs.commands, `${field}.commands`);
  if (isSet(cs.args)) out.Args = asStrings(cs.args, `${field}.args`);
  if (isSet(cs.env)) {
    const env = asObject(cs.env, `${field}.env`);
    out.Env = Object.keys(env)
      .sort()
      .map((k) => `${k}=${asString(env[k], `${field}.env.${k}`)}`);
  }
  if (isSet(cs.labels)) out.Labels = labelMap(cs.labels, `${field}.labels`);
  if (isSet(cs.hostname)) out.Hostname = asString(cs.hostname, `${field}.hostname`);
  if (isSet(cs.dir)) out.Dir = asString(cs.dir, `${field}.dir`);
  if (isSet(cs.user)) out.User = asString(cs.user, `${field}.user`);
  if (isSet(cs.readOnly)) out.ReadOnly = cs.readOnly === true;
  if (isSet(cs.stopSignal)) out.StopSignal = asString(cs.stopSignal, `${field}.stopSignal`);
  if (isSet(cs.stopGracePeriod)) {
    out.StopGracePeriod = duration(cs.stopGracePeriod, `${field}.stopGracePeriod`);
  }
  if (isSet(cs.secrets)) {
    out.Secrets = asList(cs.secrets, `${field}.secrets`).map((raw, i) => {
      const f = `${field}.secrets[${i}]`;
      const ref = asObject(raw, f);
      onlyKeys(ref, ["secretId", "secretName", "fileName", "fileUid", "fileGid", "fileMode"], f);
      const name = asString(ref.secretName, `${f}.secretName`);
      return {
        SecretID: resolve("secret", asString(ref.secretId, `${f}.secretId`), name),
        SecretName: name,
        File: fileTarget(ref, f),
      };
    });
  }
  if (isSet(cs.configs)) {
    out.Configs = asList(cs.configs, `${field}.configs`).map((raw, i) => {
      const f = `${field}.configs[${i}]`;
      const ref = asObject(raw, f);
      onlyKeys(ref, ["configId", "configName", "fileName", "fileUid", "fileGid", "fileMode"], f);
      const name = asString(ref.configName, `${f}.configName`);
      return {
        ConfigID: resolve("config", asString(ref.configId, `${f}.configId`), name),
        ConfigName: name,
        File: fileTarget(ref, f),
      };
    });
  }
  if (isSet(cs.healthcheck)) {
    const f = `${field}.healthcheck`;
    const hc = asObject(cs.healthcheck, f);
    onlyKeys(hc, ["tests", "interval", "timeout", "startPeriod", "retries"], f);
    const test = asStrings(hc.tests, `${f}.tests`);
    if (!["NONE", "CMD", "CMD-SHELL"].includes(test[0])) {
      throw new Error(`${f}.tests: must start with NONE, CMD or CMD-SHELL`);
    }
    const ms = (key: string) => {
      const ns = isSet(hc[key]) ? duration(hc[key], `${f}.${key}`) : 0;
      // swarmkit refuses health-check durations between 0 and 1ms.
      if (ns !== 0 && ns < 1e6) throw new Error(`${f}.${key}: below 1ms, which Swarm refuses`);
      return ns;
    };
    out.Healthcheck = {
      Test: test,
      Interval: ms("interval"),
      Timeout: ms("timeout"),
      StartPeriod: ms("startPeriod"),
      Retries: isSet(hc.retries) ? asInteger(hc.retries, `${f}.retries`) : 0,
    };
  }
  return out;
}

function taskSpec(value: unknown, resolve: ResolveObject): Record<string, unknown> {
  const ts = asObject(value, "taskSpec");
  onlyKeys(ts, ["containerSpec", "restartPolicy", "placement", "networksAdvanceds"], "taskSpec");
  const out: Record<string, unknown> = { ContainerSpec: containerSpec(ts.containerSpec, resolve) };
  if (isSet(ts.restartPolicy)) {
    const f = "taskSpec.restartPolicy";
    const rp = asObject(ts.restartPolicy, f);
    onlyKeys(rp, ["condition", "delay", "maxAttempts", "window"], f);
    const policy: Record<string, unknown> = {};
    if (isSet(rp.condition)) {
      policy.Condition = asString(rp.condition, `${f}.condition`);
      if (!["none", "on-failure", "any"].includes(policy.Condition as string)) {
        throw new Error(`${f}.condition: must be none, on-failure or any`);
      }
    }
    if (isSet(rp.delay)) policy.Delay = duration(rp.delay, `${f}.delay`);
    if (isSet(rp.maxAttempts)) policy.MaxAttempts = asInteger(rp.maxAttempts, `${f}.maxAttempts`);
    if (isSet(rp.window)) policy.Window = duration(rp.window, `${f}.window`);
    out.RestartPolicy = policy;
  }
  if (isSet(ts.placement)) {
    const f = "taskSpec.placement";
    const p = asObject(ts.placement, f);
    onlyKeys(p, ["constraints", "prefs", "maxReplicas"], f);
    out.Placement = {
      Constraints: isSet(p.constraints) ? asStrings(p.constraints, `${f}.constraints`) : [],
      Preferences: (isSet(p.prefs) ? asStrings(p.prefs, `${f}.prefs`) : []).map((pref) => {
        // The provider reads "spread=<descriptor>" (stringSetToPlacementPrefs).
        const match = /^spread=(.+)$/.exec(pref);
        if (!match) throw new Error(`${f}.prefs: "${pref}" is not spread=<descriptor>`);
        return { Spread: { SpreadDescriptor: match[1] } };
      }),
      MaxReplicas: isSet(p.maxReplicas) ? asInteger(p.maxReplicas, `${f}.maxReplicas`) : 0,
    };
  }
  if (isSet(ts.networksAdvanceds)) {
    out.Networks = asList(ts.networksAdvanceds, "taskSpec.networksAdvanceds").map((raw, i) => {
      const f = `taskSpec.networksAdvanceds[${i}]`;
      const n = asObject(raw, f);
      onlyKeys(n, ["id", "name", "aliases"], f);
      const target = isSet(n.id) ? n.id : n.name;
      return {
        Target: asString(target, `${f}.id`),
        Aliases: isSet(n.aliases) ? asStrings(n.aliases, `${f}.aliases`) : [],
      };
    });
  }
  return out;
}

function updateConfig(value: unknown, field: string): Record<string, unknown> {
  const u = asObject(value, field);
  onlyKeys(
    u,
    ["parallelism", "delay", "failureAction", "monitor", "maxFailureRatio", "order"],
    field,
  );
  const failureAction = isSet(u.failureAction) ? asString(u.failureAction, field) : "pause";
  const allowed =
    field === "updateConfig" ? ["pause", "continue", "rollback"] : ["pause", "continue"];
  if (!allowed.includes(failureAction)) {
    throw new Error(`${field}.failureAction: "${failureAction}" is not one of ${allowed}`);
  }
  const order = isSet(u.order) ? asString(u.order, `${field}.order`) : "stop-first";
  if (!["stop-first", "start-first"].includes(order)) {
    throw new Error(`${field}.order: "${order}" is not stop-first or start-first`);
  }
  // The provider's schema defaults for what is left out.
  return {
    Parallelism: isSet(u.parallelism) ? asInteger(u.parallelism, `${field}.parallelism`) : 1,
    Delay: isSet(u.delay) ? duration(u.delay, `${field}.delay`) : 0,
    FailureAction: failureAction,
    Monitor: isSet(u.monitor) ? duration(u.monitor, `${field}.monitor`) : 5e9,
    MaxFailureRatio: isSet(u.maxFailureRatio) ? Number(u.maxFailureRatio) : 0,
    Order: order,
  };
}

function endpointSpec(value: unknown): Record<string, unknown> {
  const e = asObject(value, "endpointSpec");
  onlyKeys(e, ["mode", "ports"], "endpointSpec");
  const mode = isSet(e.mode) ? asString(e.mode, "endpointSpec.mode") : "vip";
  const ports = (isSet(e.ports) ? asList(e.ports, "endpointSpec.ports") : []).map((raw, i) => {
    const f = `endpointSpec.ports[${i}]`;
    const p = asObject(raw, f);
    onlyKeys(p, ["name", "protocol", "targetPort", "publishedPort", "publishMode"], f);
    const publishMode = isSet(p.publishMode) ? asString(p.publishMode, f) : "ingress";
    if (!["ingress", "host"].includes(publishMode)) {
      throw new Error(`${f}.publishMode: "${publishMode}" is not ingress or host`);
    }
    return {
      Name: isSet(p.name) ? asString(p.name, `${f}.name`) : "",
      Protocol: isSet(p.protocol) ? asString(p.protocol, `${f}.protocol`) : "tcp",
      TargetPort: asInteger(p.targetPort, `${f}.targetPort`, 1),
      PublishedPort: isSet(p.publishedPort) ? asInteger(p.publishedPort, `${f}.publishedPort`) : 0,
      PublishMode: publishMode,
    };
  });
  if (mode === "dnsrr" && ports.some((p) => p.PublishMode === "ingress")) {
    throw new Error("endpointSpec: dnsrr cannot publish ports through the routing mesh");
  }
  return { Mode: mode, Ports: ports };
}

/** `docker.Service` inputs as the Engine API's ServiceSpec, plus the provider's converge wait. */
export function serviceSpec(inputs: Inputs, resolve: ResolveObject): ServiceSpecResult {
  onlyKeys(
    inputs,
    [
      "name",
      "labels",
      "mode",
      "taskSpec",
      "updateConfig",
      "rollbackConfig",
      "endpointSpec",
      "convergeConfig",
    ],
    "Service",
  );
  const name = asString(inputs.name, "Service.name");
  if (!/^(?=.{1,63}$)[a-zA-Z0-9](?:[a-zA-Z0-9_-]*[a-zA-Z0-9])?$/.test(name)) {
    throw new Error(`Service.name "${name}" is not a name Swarm accepts`);
  }
  const spec: Record<string, unknown> = {
    Name: name,
    Labels: isSet(inputs.labels) ? labelMap(inputs.labels, "Service.labels") : {},
    TaskTemplate: taskSpec(inputs.taskSpec, resolve),
  };
  const mode = isSet(inputs.mode) ? asObject(inputs.mode, "mode") : {};
  onlyKeys(mode, ["replicated", "global"], "mode");
  if (mode.global === true) {
    if (isSet(mode.replicated)) throw new Error("mode: replicated and global conflict");
    if (isSet(inputs.convergeConfig)) throw new Error("convergeConfig conflicts with global mode");
    spec.Mode = { Global: {} };
  } else {
    const replicated = isSet(mode.replicated) ? asObject(mode.replicated, "mode.replicated") : {};
    onlyKeys(replicated, ["replicas"], "mode.replicated");
    spec.Mode = {
      Replicated: {
        Replicas: isSet(replicated.replicas)
          ? asInteger(replicated.replicas, "mode.replicated.replicas")
          : 1,
      },
    };
  }
  if (isSet(inputs.updateConfig))
    spec.UpdateConfig = updateConfig(inputs.updateConfig, "updateConfig");
  if (isSet(inputs.rollbackConfig)) {
    spec.RollbackConfig = updateConfig(inputs.rollbackConfig, "rollbackConfig");
  }
  spec.EndpointSpec = isSet(inputs.endpointSpec) ? endpointSpec(inputs.endpointSpec) : {};

  let converge: ConvergeSettings | undefined;
  if (isSet(inputs.convergeConfig)) {
    const c = asObject(inputs.convergeConfig, "convergeConfig");
    onlyKeys(c, ["delay", "timeout"], "convergeConfig");
    converge = {
      delayMs: parseGoDuration(isSet(c.delay) ? asString(c.delay, "delay") : "7s", "delay") / 1e6,
      timeoutMs:
        parseGoDuration(isSet(c.timeout) ? asString(c.timeout, "timeout") : "3m", "timeout") / 1e6,
    };
  }
  return { spec, converge };
}
