/**
 * Translation of the docker provider's `docker.Container` / `docker.Volume` inputs (as recorded
 * under pulumi mocks, secrets already unwrapped) into Docker Engine API requests.
 *
 * It follows what the provider (kreuzwerker/terraform-provider-docker, under @pulumi/docker 5.x)
 * sends, so a wrong env name, path, port or health check in a component fails on the real engine.
 * Inputs it does not know how to translate THROW: a new component input must be translated here
 * before a test can pass, never silently dropped.
 */
import type Docker from "dockerode";

/** Container inputs as recorded under mocks (camelCase names of `docker.ContainerArgs`). */
export type ContainerInputs = Record<string, unknown>;

/** One file the provider writes into the container before it starts. */
export interface UploadFile {
  /** Absolute path inside the container. */
  path: string;
  content: Buffer;
  /** Octal file mode. */
  mode: number;
  uid?: number;
  gid?: number;
}

export interface ContainerSpec {
  /** Body for `POST /containers/create` (dockerode `createContainer`). */
  create: Docker.ContainerCreateOptions;
  uploads: UploadFile[];
  /** `start` input (provider default true). */
  start: boolean;
  /** `wait` input: wait for healthy after start (provider default false). */
  wait: boolean;
  /** `waitTimeout` input in seconds (provider default 60). */
  waitTimeoutSeconds: number;
  /** `destroyGraceSeconds`: stop with this grace before removal (provider: only when > 0). */
  destroyGraceSeconds: number;
  /** `removeVolumes` (provider default true): remove anonymous volumes with the container. */
  removeVolumes: boolean;
  /**
   * `networksAdvanced`: as the provider does, after create the container leaves the default
   * bridge and joins each of these (with aliases and addresses), before the uploads and start.
   */
  networks: NetworkAttachment[];
}

/** One `networksAdvanced` entry as the provider sends it to NetworkConnect. */
export interface NetworkAttachment {
  name: string;
  aliases: string[];
  ipv4Address?: string;
  ipv6Address?: string;
}

/**
 * Inputs the translation reads. Anything else that is set makes `containerSpec` throw. Inputs
 * whose only accepted value is the provider default are listed in `DEFAULT_ONLY_INPUTS`.
 */
const TRANSLATED_INPUTS = new Set([
  "name",
  "image",
  "envs",
  "command",
  "entrypoints",
  "user",
  "workingDir",
  "hostname",
  "domainname",
  "labels",
  "ports",
  "volumes",
  "mounts",
  "uploads",
  "healthcheck",
  "restart",
  "maxRetryCount",
  "wait",
  "waitTimeout",
  "mustRun",
  "start",
  "readOnly",
  "init",
  "stopSignal",
  "stopTimeout",
  "destroyGraceSeconds",
  "removeVolumes",
  "logDriver",
  "logOpts",
  "tmpfs",
  "capabilities",
  "securityOpts",
  "memory",
  "memorySwap",
  "cpuShares",
  "hosts",
  "ulimits",
  "networkMode",
  "tty",
  "stdinOpen",
  "privileged",
  "publishAllPorts",
  "dns",
  "dnsOpts",
  "dnsSearches",
  "groupAdds",
  "sysctls",
  "networksAdvanced",
  "cpuSet",
  "memoryReservation",
]);

/** Inputs accepted only at the provider default (the harness does not emulate the other values). */
const DEFAULT_ONLY_INPUTS: Record<string, unknown> = {
  attach: false,
  logs: false,
  rm: false,
};

/** Inputs consumed by the provider itself, not sent to the engine. */
const PROVIDER_ONLY_INPUTS = new Set(["containerReadRefreshTimeoutMilliseconds"]);

/** Names the Docker provider state adds; present in mock state, never inputs. */
const STATE_ONLY = new Set(["id", "urn"]);

const GO_DURATION_UNITS: Record<string, number> = {
  ns: 1,
  us: 1e3,
  µs: 1e3,
  μs: 1e3,
  ms: 1e6,
  s: 1e9,
  m: 60e9,
  h: 3600e9,
};

/**
 * Go's `time.ParseDuration` ("2s", "1m30s", "500ms") in nanoseconds, as the provider sends
 * health-check durations. Invalid strings throw (the provider rejects them at plan time).
 */
export function parseGoDuration(value: string, field: string): number {
  const text = value.trim();
  if (text === "0") return 0;
  const part = /(\d+(?:\.\d*)?|\.\d+)(ns|us|µs|μs|ms|s|m|h)/gy;
  let total = 0;
  let consumed = 0;
  let match: RegExpExecArray | null;
  let sign = 1;
  let rest = text;
  if (rest.startsWith("-") || rest.startsWith("+")) {
    sign = rest.startsWith("-") ? -1 : 1;
    rest = rest.slice(1);
  }
  while ((match = part.exec(rest)) !== null) {
    total += parseFloat(match[1]) * GO_DURATION_UNITS[match[2]];
    consumed = part.lastIndex;
  }
  if (rest.length === 0 || consumed !== rest.length) {
    throw new Error(`${field}: "${value}" is not a Go duration (examples: "2s", "500ms", "1m30s")`);
  }
  if (sign < 0) {
    throw new Error(`${field}: "${value}" is negative; health-check durations must be >= 0`);
  }
  return Math.round(total);
}

function asString(value: unknown, field: string): string {
  if (typeof value !== "string") {
    throw new Error(`${field}: expected a string, got ${typeof value}`);
  }
  return value;
}

function asStringList(value: unknown, field: string): string[] {
  if (!Array.isArray(value)) throw new Error(`${field}: expected a list of strings`);
  return value.map((v, i) => asString(v, `${field}[${i}]`));
}

function asNumber(value: unknown, field: string): number {
  if (typeof value !== "number" || !Number.isFinite(value)) {
    throw new Error(`${field}: expected a number, got ${JSON.stringify(value)}`);
  }
  return value;
}

function asRecordList(value: unknown, field: string): Record<string, unknown>[] {
  if (!Array.isArray(value)) throw new Error(`${field}: expected a list`);
  return value.map((v, i) => {
    if (v === null || typeof v !== "object") throw new Error(`${field}[${i}]: expected an object`);
    return v as Record<string, unknown>;
  });
}

function asStringMap(value: unknown, field: string): Record<string, string> {
  if (value === null || typeof value !== "object" || Array.isArray(value)) {
    throw new Error(`${field}: expected a map of strings`);
  }
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(value)) out[k] = asString(v, `${field}.${k}`);
  return out;
}

function isSet(value: unknown): boolean {
  return value !== undefined && value !== null;
}

/** Throws for set inputs inside a nested block that the translation does not read. */
function rejectUnknownKeys(
  block: Record<string, unknown>,
  known: readonly string[],
  field: string,
): void {
  for (const [key, value] of Object.entries(block)) {
    if (isSet(value) && !known.includes(key)) {
      throw new Error(
        `${field}.${key} is set but test/support/container-spec.ts does not translate it; ` +
          `add its translation (as the docker provider sends it) before relying on it`,
      );
    }
  }
}

/** The provider's upload mode: `permissions` (octal) wins over `executable` (0744) else 0644. */
function uploadMode(upload: Record<string, unknown>, field: string): number {
  if (isSet(upload.permissions)) {
    const text = asString(upload.permissions, `${field}.permissions`);
    if (!/^[0-7]{3,4}$/.test(text)) {
      throw new Error(`${field}.permissions: "${text}" is not an octal mode like "0644"`);
    }
    return parseInt(text, 8);
  }
  return upload.executable === true ? 0o744 : 0o644;
}

function numericId(value: unknown, field: string): number | undefined {
  if (!isSet(value)) return undefined;
  const text = String(value);
  if (!/^\d+$/.test(text)) {
    // Names resolve against the *provider host's* user database: not reproducible here.
    throw new Error(`${field}: "${text}" is not a numeric id; the harness only maps numeric ids`);
  }
  return Number(text);
}

function translateUploads(value: unknown): UploadFile[] {
  return asRecordList(value, "uploads").map((upload, i) => {
    const field = `uploads[${i}]`;
    rejectUnknownKeys(
      upload,
      ["file", "content", "contentBase64", "executable", "permissions", "owner", "group"],
      field,
    );
    const path = asString(upload.file, `${field}.file`);
    if (!path.startsWith("/")) throw new Error(`${field}.file: "${path}" must be absolute`);
    const sources = ["content", "contentBase64"].filter(
      (k) => isSet(upload[k]) && upload[k] !== "",
    );
    if (sources.length !== 1) {
      throw new Error(`${field}: exactly one of content / contentBase64 must be set`);
    }
    const content = isSet(upload.content)
      ? Buffer.from(asString(upload.content, `${field}.content`), "utf8")
      : Buffer.from(asString(upload.contentBase64, `${field}.contentBase64`), "base64");
    return {
      path,
      content,
      mode: uploadMode(upload, field),
      uid: numericId(upload.owner, `${field}.owner`),
      gid: numericId(upload.group, `${field}.group`),
    };
  });
}

function translateHealthcheck(value: unknown): Docker.HealthConfig {
  if (value === null || typeof value !== "object") throw new Error("healthcheck: expected object");
  const hc = value as Record<string, unknown>;
  rejectUnknownKeys(
    hc,
    ["tests", "interval", "timeout", "startPeriod", "startInterval", "retries"],
    "healthcheck",
  );
  const out: Docker.HealthConfig = { Test: asStringList(hc.tests, "healthcheck.tests") };
  if (out.Test!.length === 0) throw new Error("healthcheck.tests: must not be empty");
  if (isSet(hc.interval)) {
    out.Interval = parseGoDuration(asString(hc.interval, "healthcheck.interval"), "interval");
  }
  if (isSet(hc.timeout)) {
    out.Timeout = parseGoDuration(asString(hc.timeout, "healthcheck.timeout"), "timeout");
  }
  if (isSet(hc.startPeriod)) {
    out.StartPeriod = parseGoDuration(
      asString(hc.startPeriod, "healthcheck.startPeriod"),
      "startPeriod",
    );
  }
  if (isSet(hc.startInterval)) {
    // Sent as the provider sends it; engines before API 1.44 (Docker 25) ignore the field.
    out.StartInterval = parseGoDuration(
      asString(hc.startInterval, "healthcheck.startInterval"),
      "startInterval",
    );
  }
  if (isSet(hc.retries)) out.Retries = asNumber(hc.retries, "healthcheck.retries");
  return out;
}

/** `ports`: ip defaults to 0.0.0.0 and protocol to tcp; no `external` means a random host port. */
function translatePorts(value: unknown): {
  exposed: Record<string, object>;
  bindings: Record<string, Array<{ HostIp: string; HostPort: string }>>;
} {
  const exposed: Record<string, object> = {};
  const bindings: Record<string, Array<{ HostIp: string; HostPort: string }>> = {};
  asRecordList(value, "ports").forEach((port, i) => {
    const field = `ports[${i}]`;
    rejectUnknownKeys(port, ["internal", "external", "ip", "protocol"], field);
    const internal = asNumber(port.internal, `${field}.internal`);
    const protocol = isSet(port.protocol) ? asString(port.protocol, `${field}.protocol`) : "tcp";
    const key = `${internal}/${protocol}`;
    exposed[key] = {};
    const binding = {
      HostIp: isSet(port.ip) ? asString(port.ip, `${field}.ip`) : "0.0.0.0",
      HostPort: isSet(port.external) ? String(asNumber(port.external, `${field}.external`)) : "",
    };
    (bindings[key] ??= []).push(binding);
  });
  return { exposed, bindings };
}

/** `volumes`: hostPath wins over volumeName; `name:path:rw|ro` binds, or volumes-from. */
function translateVolumes(value: unknown): {
  volumes: Record<string, object>;
  binds: string[];
  volumesFrom: string[];
} {
  const volumes: Record<string, object> = {};
  const binds: string[] = [];
  const volumesFrom: string[] = [];
  asRecordList(value, "volumes").forEach((volume, i) => {
    const field = `volumes[${i}]`;
    rejectUnknownKeys(
      volume,
      ["volumeName", "hostPath", "containerPath", "readOnly", "fromContainer", "selinuxRelabel"],
      field,
    );
    const fromContainer = isSet(volume.fromContainer) ? String(volume.fromContainer) : "";
    const containerPath = isSet(volume.containerPath) ? String(volume.containerPath) : "";
    const source = isSet(volume.hostPath)
      ? String(volume.hostPath)
      : isSet(volume.volumeName)
        ? String(volume.volumeName)
        : "";
    if (!fromContainer && !containerPath) {
      throw new Error(`${field}: neither containerPath nor fromContainer is set`);
    }
    if (fromContainer && containerPath) {
      throw new Error(`${field}: both containerPath and fromContainer are set`);
    }
    if (fromContainer) {
      volumesFrom.push(fromContainer);
      return;
    }
    volumes[containerPath] = {};
    if (source) {
      const options = [volume.readOnly === true ? "ro" : "rw"];
      if (isSet(volume.selinuxRelabel)) options.push(String(volume.selinuxRelabel));
      binds.push(`${source}:${containerPath}:${options.join(",")}`);
    }
  });
  return { volumes, binds, volumesFrom };
}

function translateMounts(value: unknown): Docker.MountSettings[] {
  return asRecordList(value, "mounts").map((m, i) => {
    const field = `mounts[${i}]`;
    rejectUnknownKeys(
      m,
      ["type", "target", "source", "readOnly", "bindOptions", "volumeOptions", "tmpfsOptions"],
      field,
    );
    const type = asString(m.type, `${field}.type`) as Docker.MountType;
    const mount: Docker.MountSettings = {
      Type: type,
      Target: asString(m.target, `${field}.target`),
      Source: isSet(m.source) ? asString(m.source, `${field}.source`) : "",
      ReadOnly: m.readOnly === true,
    };
    if (type === "bind" && isSet(m.bindOptions)) {
      const bo = m.bindOptions as Record<string, unknown>;
      rejectUnknownKeys(bo, ["propagation"], `${field}.bindOptions`);
      mount.BindOptions = { Propagation: bo.propagation as Docker.MountPropagation };
    }
    if (type === "volume" && isSet(m.volumeOptions)) {
      const vo = m.volumeOptions as Record<string, unknown>;
      rejectUnknownKeys(
        vo,
        ["noCopy", "labels", "driverName", "driverOptions"],
        `${field}.volumeOptions`,
      );
      mount.VolumeOptions = {
        NoCopy: vo.noCopy === true,
        Labels: isSet(vo.labels) ? labelMap(vo.labels, `${field}.volumeOptions.labels`) : {},
        DriverConfig: {
          Name: isSet(vo.driverName) ? String(vo.driverName) : "",
          Options: isSet(vo.driverOptions)
            ? asStringMap(vo.driverOptions, `${field}.volumeOptions.driverOptions`)
            : {},
        },
      };
    }
    if (type === "tmpfs" && isSet(m.tmpfsOptions)) {
      const to = m.tmpfsOptions as Record<string, unknown>;
      rejectUnknownKeys(to, ["sizeBytes", "mode"], `${field}.tmpfsOptions`);
      const tmpfs: { SizeBytes?: number; Mode?: number } = {};
      if (isSet(to.sizeBytes)) tmpfs.SizeBytes = asNumber(to.sizeBytes, `${field}.sizeBytes`);
      if (isSet(to.mode)) tmpfs.Mode = asNumber(to.mode, `${field}.mode`);
      mount.TmpfsOptions = tmpfs as Docker.MountSettings["TmpfsOptions"];
    }
    return mount;
  });
}

/** `labels` / volume labels: `[{label, value}]` to a map. */
export function labelMap(value: unknown, field: string): Record<string, string> {
  const out: Record<string, string> = {};
  asRecordList(value, field).forEach((l, i) => {
    rejectUnknownKeys(l, ["label", "value"], `${field}[${i}]`);
    out[asString(l.label, `${field}[${i}].label`)] = asString(l.value, `${field}[${i}].value`);
  });
  return out;
}

/**
 * Translate recorded `docker.Container` inputs into an Engine API create request, the files to
 * upload before start, and the provider's lifecycle flags. `extraLabels` are merged in (the
 * harness marks what it created so leftovers of killed runs can be swept).
 */
export function containerSpec(
  inputs: ContainerInputs,
  extraLabels: Record<string, string> = {},
): ContainerSpec {
  for (const [key, value] of Object.entries(inputs)) {
    if (!isSet(value) || STATE_ONLY.has(key) || PROVIDER_ONLY_INPUTS.has(key)) continue;
    if (key in DEFAULT_ONLY_INPUTS) {
      if (value !== DEFAULT_ONLY_INPUTS[key]) {
        throw new Error(
          `Container input ${key}=${JSON.stringify(value)} is not emulated by the harness ` +
            `(only ${JSON.stringify(DEFAULT_ONLY_INPUTS[key])})`,
        );
      }
      continue;
    }
    if (!TRANSLATED_INPUTS.has(key)) {
      throw new Error(
        `Container input "${key}" is set but test/support/container-spec.ts does not translate ` +
          `it; add its translation (as the docker provider sends it) before relying on it`,
      );
    }
  }

  const image = asString(inputs.image, "image");
  const config: Docker.ContainerCreateOptions = { Image: image, HostConfig: {} };
  const host = config.HostConfig!;
  if (isSet(inputs.name)) config.name = asString(inputs.name, "name");
  if (isSet(inputs.envs)) config.Env = asStringList(inputs.envs, "envs");
  if (isSet(inputs.command)) {
    config.Cmd = asStringList(inputs.command, "command");
    if (config.Cmd.some((c) => c === "")) throw new Error("command: values may not be empty");
  }
  if (isSet(inputs.entrypoints))
    config.Entrypoint = asStringList(inputs.entrypoints, "entrypoints");
  if (isSet(inputs.user)) config.User = asString(inputs.user, "user");
  if (isSet(inputs.workingDir)) config.WorkingDir = asString(inputs.workingDir, "workingDir");
  if (isSet(inputs.hostname)) config.Hostname = asString(inputs.hostname, "hostname");
  if (isSet(inputs.domainname)) config.Domainname = asString(inputs.domainname, "domainname");
  if (isSet(inputs.tty)) config.Tty = inputs.tty === true;
  if (isSet(inputs.stdinOpen)) config.OpenStdin = inputs.stdinOpen === true;
  if (isSet(inputs.stopSignal)) config.StopSignal = asString(inputs.stopSignal, "stopSignal");
  if (isSet(inputs.stopTimeout)) config.StopTimeout = asNumber(inputs.stopTimeout, "stopTimeout");
  config.Labels = {
    ...(isSet(inputs.labels) ? labelMap(inputs.labels, "labels") : {}),
    ...extraLabels,
  };
  if (isSet(inputs.healthcheck)) config.Healthcheck = translateHealthcheck(inputs.healthcheck);

  if (isSet(inputs.ports)) {
    const { exposed, bindings } = translatePorts(inputs.ports);
    config.ExposedPorts = exposed;
    host.PortBindings = bindings;
  }
  if (isSet(inputs.volumes)) {
    const { volumes, binds, volumesFrom } = translateVolumes(inputs.volumes);
    if (Object.keys(volumes).length > 0) config.Volumes = volumes;
    if (binds.length > 0) host.Binds = binds;
    if (volumesFrom.length > 0) host.VolumesFrom = volumesFrom;
  }
  if (isSet(inputs.mounts)) host.Mounts = translateMounts(inputs.mounts);

  host.RestartPolicy = {
    Name: isSet(inputs.restart) ? asString(inputs.restart, "restart") : "no",
    MaximumRetryCount: isSet(inputs.maxRetryCount)
      ? asNumber(inputs.maxRetryCount, "maxRetryCount")
      : 0,
  };
  const restartPolicies = ["no", "on-failure", "always", "unless-stopped"];
  if (!restartPolicies.includes(host.RestartPolicy.Name!)) {
    throw new Error(
      `restart: "${host.RestartPolicy.Name}" is not one of ${restartPolicies.join(", ")}`,
    );
  }
  if (isSet(inputs.readOnly)) host.ReadonlyRootfs = inputs.readOnly === true;
  if (isSet(inputs.init)) host.Init = inputs.init === true;
  if (isSet(inputs.privileged)) host.Privileged = inputs.privileged === true;
  if (isSet(inputs.publishAllPorts)) host.PublishAllPorts = inputs.publishAllPorts === true;
  if (isSet(inputs.logDriver) || isSet(inputs.logOpts)) {
    host.LogConfig = {
      Type: isSet(inputs.logDriver) ? asString(inputs.logDriver, "logDriver") : "json-file",
      Config: isSet(inputs.logOpts) ? asStringMap(inputs.logOpts, "logOpts") : {},
    };
  }
  if (isSet(inputs.tmpfs)) host.Tmpfs = asStringMap(inputs.tmpfs, "tmpfs");
  if (isSet(inputs.sysctls)) host.Sysctls = asStringMap(inputs.sysctls, "sysctls");
  if (isSet(inputs.capabilities)) {
    const caps = inputs.capabilities as Record<string, unknown>;
    rejectUnknownKeys(caps, ["adds", "drops"], "capabilities");
    if (isSet(caps.adds)) host.CapAdd = asStringList(caps.adds, "capabilities.adds");
    if (isSet(caps.drops)) host.CapDrop = asStringList(caps.drops, "capabilities.drops");
  }
  if (isSet(inputs.securityOpts)) {
    host.SecurityOpt = asStringList(inputs.securityOpts, "securityOpts");
  }
  // The provider takes memory sizes in MiB.
  if (isSet(inputs.memory)) host.Memory = asNumber(inputs.memory, "memory") * 1024 * 1024;
  if (isSet(inputs.memorySwap)) {
    const swap = asNumber(inputs.memorySwap, "memorySwap");
    host.MemorySwap = swap > 0 ? swap * 1024 * 1024 : swap;
  }
  if (isSet(inputs.cpuShares)) host.CpuShares = asNumber(inputs.cpuShares, "cpuShares");
  if (isSet(inputs.cpuSet)) host.CpusetCpus = asString(inputs.cpuSet, "cpuSet");
  if (isSet(inputs.memoryReservation)) {
    host.MemoryReservation = asNumber(inputs.memoryReservation, "memoryReservation") * 1024 * 1024;
  }
  if (isSet(inputs.hosts)) {
    host.ExtraHosts = asRecordList(inputs.hosts, "hosts").map(
      (h, i) => `${asString(h.host, `hosts[${i}].host`)}:${asString(h.ip, `hosts[${i}].ip`)}`,
    );
  }
  if (isSet(inputs.ulimits)) {
    host.Ulimits = asRecordList(inputs.ulimits, "ulimits").map((u, i) => ({
      Name: asString(u.name, `ulimits[${i}].name`),
      Soft: asNumber(u.soft, `ulimits[${i}].soft`),
      Hard: asNumber(u.hard, `ulimits[${i}].hard`),
    }));
  }
  if (isSet(inputs.networkMode)) host.NetworkMode = asString(inputs.networkMode, "networkMode");
  if (isSet(inputs.dns)) host.Dns = asStringList(inputs.dns, "dns");
  if (isSet(inputs.dnsOpts)) host.DnsOptions = asStringList(inputs.dnsOpts, "dnsOpts");
  if (isSet(inputs.dnsSearches)) host.DnsSearch = asStringList(inputs.dnsSearches, "dnsSearches");
  if (isSet(inputs.groupAdds)) host.GroupAdd = asStringList(inputs.groupAdds, "groupAdds");

  if (inputs.mustRun === false) {
    throw new Error("mustRun=false is not emulated by the harness (the registry must run)");
  }
  const wait = inputs.wait === true;
  if (wait && !config.Healthcheck) {
    // The provider errors in this case too.
    throw new Error("wait=true needs a healthcheck: the provider fails without one");
  }
  return {
    create: config,
    uploads: isSet(inputs.uploads) ? translateUploads(inputs.uploads) : [],
    start: inputs.start !== false,
    wait,
    waitTimeoutSeconds: isSet(inputs.waitTimeout)
      ? asNumber(inputs.waitTimeout, "waitTimeout")
      : 60,
    destroyGraceSeconds: isSet(inputs.destroyGraceSeconds)
      ? asNumber(inputs.destroyGraceSeconds, "destroyGraceSeconds")
      : 0,
    removeVolumes: inputs.removeVolumes !== false,
    networks: isSet(inputs.networksAdvanced) ? translateNetworks(inputs.networksAdvanced) : [],
  };
}

/** `networksAdvanced`: each network the container joins after create (see ContainerSpec). */
function translateNetworks(value: unknown): NetworkAttachment[] {
  return asRecordList(value, "networksAdvanced").map((n, i) => {
    const field = `networksAdvanced[${i}]`;
    rejectUnknownKeys(n, ["name", "aliases", "ipv4Address", "ipv6Address"], field);
    return {
      name: asString(n.name, `${field}.name`),
      aliases: isSet(n.aliases) ? asStringList(n.aliases, `${field}.aliases`) : [],
      ipv4Address: isSet(n.ipv4Address)
        ? asString(n.ipv4Address, `${field}.ipv4Address`)
        : undefined,
      ipv6Address: isSet(n.ipv6Address)
        ? asString(n.ipv6Address, `${field}.ipv6Address`)
        : undefined,
    };
  });
}

/** Body for `POST /volumes/create` from recorded `docker.Volume` inputs. */
export function volumeSpec(
  inputs: Record<string, unknown>,
  extraLabels: Record<string, string> = {},
): Docker.VolumeCreateOptions {
  for (const [key, value] of Object.entries(inputs)) {
    if (!isSet(value) || STATE_ONLY.has(key) || key === "mountpoint") continue;
    if (!["name", "driver", "driverOpts", "labels"].includes(key)) {
      throw new Error(
        `Volume input "${key}" is set but test/support/container-spec.ts does not translate it`,
      );
    }
  }
  return {
    Name: asString(inputs.name, "volume name"),
    Driver: isSet(inputs.driver) ? asString(inputs.driver, "driver") : "local",
    DriverOpts: isSet(inputs.driverOpts) ? asStringMap(inputs.driverOpts, "driverOpts") : {},
    Labels: {
      ...(isSet(inputs.labels) ? labelMap(inputs.labels, "volume labels") : {}),
      ...extraLabels,
    },
  };
}
