/**
 * SecureRegistryService under mocks: every input it declares on its docker.Service, docker.Secret
 * and docker.ServiceConfig resources, which of them are secret, names that follow the content and
 * stay stable across runs, and its refusal of bad input before any resource exists.
 */
import * as pulumi from "@pulumi/pulumi";
import * as YAML from "yaml";
import { InvalidInputError } from "../../src/common";
import type { HtpasswdUser } from "../../src/auth";
import { registryHealthcheck } from "../../src/registry/render";
import {
  SecureRegistryService,
  SecureRegistryServiceArgs,
  swarmObjectName,
} from "../../src/service";
import {
  containsSecret,
  DeclaredResource,
  outputOf,
  RecordingMocks,
  setupMocks,
  unwrapSecrets,
} from "../support/mocks";

const SERVICE = "docker:index/service:Service";
const SECRET = "docker:index/secret:Secret";
const CONFIG = "docker:index/serviceConfig:ServiceConfig";

const S3 = {
  bucket: "registry-data",
  region: "us-east-1",
  regionEndpoint: "http://objects.internal:7480",
  accessKey: "AKIAEXAMPLEACCESS01",
  secretKey: "s3-secret-key-example-0123456789abcdefgh",
  rootDirectory: "/registry",
};

const BASE: SecureRegistryServiceArgs = {
  hostname: "registry.example.test",
  users: [{ username: "ci", password: "ci-password-1" }],
  tls: { keyAlgorithm: "ECDSA" },
  storage: { s3: S3 },
};

// Declarations generate keys and certificates (openssl): slow on a busy machine.
jest.setTimeout(60_000);

/**
 * Waits until every RPC the SDK queued (registerOutputs included) reached the mocks, so that
 * the next test's fresh mocks never receive a call about this test's resources. `waitForRPCs` is
 * the SDK's own drain (what `disconnect` awaits), internal but exported from runtime/settings.
 */
async function drainRpcs(): Promise<void> {
  const settings = require("@pulumi/pulumi/runtime/settings") as {
    waitForRPCs?: () => Promise<void>;
  };
  if (typeof settings.waitForRPCs !== "function") {
    throw new Error("@pulumi/pulumi no longer exports runtime/settings waitForRPCs");
  }
  await settings.waitForRPCs();
}

let mocks: RecordingMocks;
beforeEach(() => {
  mocks = setupMocks();
});

/** Declares a service and waits until all its resources exist. */
async function declare(name: string, args: SecureRegistryServiceArgs = BASE) {
  const options: Record<string, pulumi.CustomResourceOptions> = {};
  const component = new SecureRegistryService(name, args, {
    transformations: [
      (t) => {
        options[t.name] = t.opts;
        return undefined;
      },
    ],
  });
  await Promise.all([
    outputOf(component.service.id),
    // Everything registerOutputs reports: the mocks must have seen it before they are replaced.
    outputOf(component.endpoint),
    outputOf(component.url),
    outputOf(component.caCertPem),
    outputOf(component.credentials),
    outputOf(component.htpasswd),
    outputOf(component.serviceName),
    outputOf(component.dockerConfigJson),
    outputOf(component.clientCertificates),
    ...Object.values(component.secrets).map((s) => outputOf(s.id)),
    ...Object.values(component.configs).map((c) => outputOf(c.id)),
  ]);
  await drainRpcs();
  expect(mocks.rejections).toEqual([]);
  const service = mocks.find(SERVICE, `${name}-service`);
  const plain = unwrapSecrets(service.inputs);
  const secrets = mocks.findAll(SECRET);
  const configs = mocks.findAll(CONFIG);
  const decode = (r: DeclaredResource) =>
    Buffer.from(unwrapSecrets(r.inputs).data as string, "base64").toString("utf8");
  /** The content of the secret or config mounted at `path`, and how it is mounted. */
  const fileAt = (path: string) => {
    const cs = plain.taskSpec.containerSpec;
    const sref = (cs.secrets ?? []).find((s: { fileName: string }) => s.fileName === path);
    const cref = (cs.configs ?? []).find((c: { fileName: string }) => c.fileName === path);
    const ref = sref ?? cref;
    if (!ref) throw new Error(`nothing mounted at ${path}`);
    const resource = (sref ? secrets : configs).find(
      (r) => unwrapSecrets(r.inputs).name === (sref ? sref.secretName : cref.configName),
    )!;
    return { ref, resource, content: decode(resource), secret: sref !== undefined };
  };
  return { component, service, plain, secrets, configs, fileAt, decode, options };
}

/** Secret env files' entries by key (values as distribution reads them). */
function secretEnv(decl: Awaited<ReturnType<typeof declare>>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const ref of decl.plain.taskSpec.containerSpec.secrets as { fileName: string }[]) {
    if (!ref.fileName.startsWith("/etc/secure-registry/env/")) continue;
    for (const line of decl.fileAt(ref.fileName).content.split("\n").filter(Boolean)) {
      const key = line.slice(0, line.indexOf("="));
      out[key] = YAML.parse(line.slice(key.length + 1), { version: "1.1" });
    }
  }
  return out;
}

/** The service's env as distribution reads it (each value parsed as YAML 1.1). */
// eslint-disable-next-line @typescript-eslint/no-explicit-any -- recorded inputs are untyped
function envOf(plain: Record<string, any>): Record<string, unknown> {
  return Object.fromEntries(
    Object.entries(plain.taskSpec.containerSpec.env as Record<string, string>).map(([k, v]) => [
      k,
      YAML.parse(v, { version: "1.1" }),
    ]),
  );
}

async function expectNothingRegistered(): Promise<void> {
  const sentinel = new pulumi.ComponentResource("test:index:Sentinel", "sentinel");
  await outputOf(sentinel.urn);
  expect(mocks.resources.map((r) => r.name)).toEqual(["sentinel"]);
}

describe("SecureRegistryService: what it declares", () => {
  test("one service, Swarm secrets for everything secret, configs for the rest; no container or volume", async () => {
    const { secrets, configs } = await declare("svc");
    const kinds = new Set(mocks.resources.filter((r) => r.custom).map((r) => r.type));
    expect([...kinds].filter((t) => t.startsWith("docker:")).sort()).toEqual(
      [CONFIG, SECRET, SERVICE].sort(),
    );
    expect(secrets.map((s) => s.name).sort()).toEqual([
      "svc-env-http-secret",
      "svc-env-storage-credentials",
      "svc-htpasswd",
      "svc-private-key",
    ]);
    expect(configs.map((c) => c.name).sort()).toEqual(["svc-certificate", "svc-config"]);
  });

  test("secret data is secret; secret and config names are not, and follow <service>-<role>-<12 hex>", async () => {
    const { secrets, configs } = await declare("svc");
    for (const s of secrets) {
      expect(containsSecret(s.inputs.data)).toBe(true);
      expect(containsSecret(s.inputs.name)).toBe(false);
      const role = s.name.slice("svc-".length);
      expect(s.inputs.name).toMatch(new RegExp(`^svc-${role}-[0-9a-f]{12}$`));
      expect(s.inputs.labels).toEqual([{ label: "org.secure-registry.service", value: "svc" }]);
    }
    for (const c of configs) {
      expect(containsSecret(c.inputs)).toBe(false);
      expect(c.inputs.name).toMatch(new RegExp(`^svc-${c.name.slice(4)}-[0-9a-f]{12}$`));
    }
  });

  test("the service's inputs hold no secret and no secret value: a preview shows all of them", async () => {
    const { service } = await declare("svc");
    expect(containsSecret(service.inputs)).toBe(false);
    const text = JSON.stringify(service.inputs);
    const httpSecret = mocks.find("random:index/randomPassword:RandomPassword", "svc-http-secret")
      .state.result as string;
    for (const value of [S3.secretKey, S3.accessKey, "ci-password-1", httpSecret]) {
      expect(text).not.toContain(value);
    }
  });

  test("each file the registry reads is mounted where its setting points, with its content and mode", async () => {
    const decl = await declare("files");
    const env = envOf(decl.plain);
    const key = decl.fileAt(env.REGISTRY_HTTP_TLS_KEY as string);
    const cert = decl.fileAt(env.REGISTRY_HTTP_TLS_CERTIFICATE as string);
    const htpasswd = decl.fileAt(env.REGISTRY_AUTH_HTPASSWD_PATH as string);
    const config = decl.fileAt("/etc/secure-registry/config.yml");
    expect([key.secret, htpasswd.secret, cert.secret, config.secret]).toEqual([
      true,
      true,
      false,
      false,
    ]);
    expect(key.content).toBe(await outputOf(decl.component.certificates.privateKeyPem));
    expect(cert.content).toBe(await outputOf(decl.component.certificates.certPem));
    expect(htpasswd.content).toBe(await outputOf(decl.component.htpasswd));
    expect(YAML.parse(config.content, { version: "1.1" }).storage).toEqual({
      s3: {},
      cache: { blobdescriptor: "inmemory" },
    });
    for (const f of [key, htpasswd]) {
      expect(f.ref).toMatchObject({ fileUid: "0", fileGid: "0", fileMode: 0o400 });
      expect(f.ref.secretId).toBe(f.resource.id);
    }
    for (const f of [cert, config]) {
      expect(f.ref).toMatchObject({ fileUid: "0", fileGid: "0", fileMode: 0o444 });
      expect(f.ref.configId).toBe(f.resource.id);
    }
  });

  test("env: the registry's settings and the S3 parameters; credentials and http secret only in secret files", async () => {
    const decl = await declare("env");
    const env = envOf(decl.plain);
    expect(env).toMatchObject({
      REGISTRY_STORAGE_S3_BUCKET: "registry-data",
      REGISTRY_STORAGE_S3_REGION: "us-east-1",
      REGISTRY_STORAGE_S3_REGIONENDPOINT: "http://objects.internal:7480",
      REGISTRY_STORAGE_S3_ROOTDIRECTORY: "/registry",
      REGISTRY_STORAGE_S3_SECURE: false,
      REGISTRY_STORAGE_S3_V4AUTH: true,
      REGISTRY_STORAGE_S3_ENCRYPT: false,
      REGISTRY_STORAGE_S3_CHUNKSIZE: 10485760,
      REGISTRY_STORAGE_REDIRECT_DISABLE: false,
      REGISTRY_HTTP_DRAINTIMEOUT: "10s",
      REGISTRY_HTTP_ADDR: "0.0.0.0:5000",
      REGISTRY_HTTP_TLS_KEY: "/certs/domain.key",
    });
    expect(
      Object.keys(env).filter((k) => /ACCESSKEY|SECRETKEY|HTTP_SECRET|FILESYSTEM/.test(k)),
    ).toEqual([]);
    const httpSecret = mocks.find("random:index/randomPassword:RandomPassword", "env-http-secret")
      .state.result as string;
    expect(secretEnv(decl)).toEqual({
      REGISTRY_HTTP_SECRET: httpSecret,
      REGISTRY_STORAGE_S3_ACCESSKEY: S3.accessKey,
      REGISTRY_STORAGE_S3_SECRETKEY: S3.secretKey,
    });
  });

  test("replicated x2 through the routing mesh on 443, started through the launcher, health-gated", async () => {
    const { plain } = await declare("svc");
    expect(plain.name).toBe("svc");
    expect(plain.mode).toEqual({ replicated: { replicas: 2 } });
    expect(plain.endpointSpec).toEqual({
      mode: "vip",
      ports: [{ targetPort: 5000, publishedPort: 443, publishMode: "ingress", protocol: "tcp" }],
    });
    const cs = plain.taskSpec.containerSpec;
    expect(cs.image).toBe("registry:2");
    expect(cs.commands).toEqual([
      "/bin/sh",
      "-c",
      expect.stringContaining("exec /bin/registry serve /etc/secure-registry/config.yml"),
      "secure-registry-launcher",
    ]);
    // The container's health check, in the service's shape (no startInterval).
    const registryCheck = registryHealthcheck();
    expect(cs.healthcheck).toEqual({
      tests: ["CMD-SHELL", expect.stringContaining("/debug/health")],
      interval: registryCheck.interval,
      timeout: registryCheck.timeout,
      startPeriod: registryCheck.startPeriod,
      retries: registryCheck.retries,
    });
    expect(cs.stopGracePeriod).toBe("10s");
    expect(plain.taskSpec.restartPolicy).toEqual({
      condition: "any",
      delay: "5s",
      maxAttempts: 0,
      window: "0s",
    });
    expect(plain.convergeConfig).toEqual({ delay: "5s", timeout: "5m" });
  });

  test("replacements: secrets and configs created before the old ones go; the service deleted first (its port)", async () => {
    const { options, secrets, configs } = await declare("repl");
    for (const r of [...secrets, ...configs]) {
      expect(options[r.name].deleteBeforeReplace).toBe(false);
    }
    expect(options["repl-service"].deleteBeforeReplace).toBe(true);
  });

  test("updates one replica at a time, health-gated and watched, rolled back on failure", async () => {
    const { plain } = await declare("svc");
    expect(plain.updateConfig).toEqual({
      parallelism: 1,
      delay: "0s",
      monitor: "10s",
      order: "start-first",
      failureAction: "rollback",
    });
    expect(plain.rollbackConfig).toEqual({
      parallelism: 1,
      delay: "0s",
      monitor: "10s",
      order: "start-first",
      failureAction: "pause",
    });
  });

  test("host-mode publishing: stop-first (the node's port is held), ports per node", async () => {
    const { plain } = await declare("host", { ...BASE, publishMode: "host", port: 5443 });
    expect(plain.updateConfig.order).toBe("stop-first");
    expect(plain.rollbackConfig.order).toBe("stop-first");
    expect(plain.endpointSpec.ports[0]).toMatchObject({ publishMode: "host", publishedPort: 5443 });
  });

  test("global mode: one replica per node, no converge wait (the provider cannot count them)", async () => {
    const { plain } = await declare("glob", { ...BASE, global: true });
    expect(plain.mode).toEqual({ global: true });
    expect(plain.convergeConfig).toBeUndefined();
    // One replica per node: no room to start a second one beside it.
    expect(plain.updateConfig.order).toBe("stop-first");
  });

  test("placement, networks and durations in the provider's read-back spelling", async () => {
    const { plain } = await declare("place", {
      ...BASE,
      placement: {
        constraints: ["node.labels.registry==true", pulumi.output("node.role != manager")],
        spreadOver: ["node.labels.zone"],
        maxReplicasPerNode: 1,
      },
      networks: [pulumi.output("net-id-1")],
      stopGracePeriod: "90s",
      convergeTimeout: "600s",
      update: { monitor: "1m0s", delay: "1500ms" },
    });
    expect(plain.taskSpec.placement).toEqual({
      constraints: ["node.labels.registry==true", "node.role != manager"],
      prefs: ["spread=node.labels.zone"],
      maxReplicas: 1,
    });
    expect(plain.taskSpec.networksAdvanceds).toEqual([{ id: "net-id-1" }]);
    expect(plain.taskSpec.containerSpec.stopGracePeriod).toBe("1m30s");
    expect(envOf(plain).REGISTRY_HTTP_DRAINTIMEOUT).toBe("1m30s");
    expect(plain.convergeConfig.timeout).toBe("10m");
    // maxReplicasPerNode leaves no room for a second replica: stop-first.
    expect(plain.updateConfig).toMatchObject({ monitor: "1m", delay: "1.5s", order: "stop-first" });
  });

  test("Redis: address and database in env, the password only in a secret file", async () => {
    const decl = await declare("redis", {
      ...BASE,
      redis: { address: "redis:6379", password: "redis-pass-1", db: 2 },
    });
    const env = envOf(decl.plain);
    expect(env).toMatchObject({
      REGISTRY_STORAGE_CACHE_BLOBDESCRIPTOR: "redis",
      REGISTRY_REDIS_ADDR: "redis:6379",
      REGISTRY_REDIS_DB: 2,
    });
    expect(env.REGISTRY_REDIS_PASSWORD).toBeUndefined();
    expect(secretEnv(decl).REGISTRY_REDIS_PASSWORD).toBe("redis-pass-1");
    expect(JSON.stringify(decl.service.inputs)).not.toContain("redis-pass-1");
  });

  test("user env: plain entries in the task's env, secret ones in their own Swarm secret", async () => {
    const decl = await declare("userenv", {
      ...BASE,
      env: { REGISTRY_LOG_FORMATTER: "json", REGISTRY_REDIS_PASSWORD: "user-redis-pw" },
    });
    expect(envOf(decl.plain).REGISTRY_LOG_FORMATTER).toBe("json");
    expect(secretEnv(decl).REGISTRY_REDIS_PASSWORD).toBe("user-redis-pw");
    expect(decl.secrets.map((s) => s.name)).toContain("userenv-env-user-settings");
    expect(JSON.stringify(decl.service.inputs)).not.toContain("user-redis-pw");
  });

  test("mTLS (SecureRegistry's tls.clientCertificates): the client CA is mounted as a config where the setting points", async () => {
    const decl = await declare("mtls", {
      ...BASE,
      tls: { keyAlgorithm: "ECDSA", clientCertificates: ["ci"] },
    });
    expect(envOf(decl.plain).REGISTRY_HTTP_TLS_CLIENTCAS).toEqual(["/certs/client-ca.crt"]);
    const ca = decl.fileAt("/certs/client-ca.crt");
    expect(ca.secret).toBe(false);
    expect(ca.resource.name).toBe("mtls-client-ca-registry");
    expect(ca.content).toBe(await outputOf(decl.component.caCertPem));
    expect(decl.component.requiresClientCertificates).toBe(true);
    expect(await pulumi.isSecret(decl.component.clientCertificates)).toBe(true);
    expect((await outputOf(decl.component.clientCertificates)).map((c) => c.name)).toEqual(["ci"]);
  });

  test("outputs: endpoint, url, CA, credentials and docker config (secret), service name", async () => {
    const { component } = await declare("out", { ...BASE, port: 5443 });
    expect(await outputOf(component.endpoint)).toBe("registry.example.test:5443");
    expect(await outputOf(component.url)).toBe("https://registry.example.test:5443");
    expect(await outputOf(component.serviceName)).toBe("out");
    expect(await pulumi.isSecret(component.credentials)).toBe(true);
    expect(await pulumi.isSecret(component.dockerConfigJson)).toBe(true);
    const config = JSON.parse(await outputOf(component.dockerConfigJson));
    expect(Object.keys(config.auths)).toEqual(["registry.example.test:5443"]);
  });
});

describe("SecureRegistryService: names follow content, and only content", () => {
  const summary = (rs: DeclaredResource[]) =>
    rs.filter((r) => r.custom).map((r) => [r.type, r.name, unwrapSecrets(r.inputs)]);

  test("a second run declares identical inputs for every resource (no diff, same names)", async () => {
    await declare("stable");
    const firstRun = [...mocks.resources];
    mocks = setupMocks({ priorState: firstRun });
    await declare("stable");
    expect(summary(mocks.resources)).toEqual(summary(firstRun));
  });

  test("the http secret is generated once and kept: the same in every replica, unchanged on a re-run", async () => {
    const first = await declare("keep");
    const firstSecret = secretEnv(first).REGISTRY_HTTP_SECRET;
    const firstRun = [...mocks.resources];
    mocks = setupMocks({ priorState: firstRun });
    const second = await declare("keep");
    expect(secretEnv(second).REGISTRY_HTTP_SECRET).toBe(firstSecret);
    // One Swarm secret, mounted into every task of the one service.
    expect(mocks.findAll(SECRET, "keep-env-http-secret")).toHaveLength(1);
  });

  test("a renewed certificate changes only the certificate config's name: a rolling update", async () => {
    await declare("renew");
    const firstRun = [...mocks.resources];
    mocks = setupMocks({ priorState: firstRun.filter((r) => r.name !== "renew-tls-server-cert") });
    await declare("renew");
    const names = (rs: DeclaredResource[]) =>
      Object.fromEntries(
        rs
          .filter((r) => r.type === SECRET || r.type === CONFIG)
          .map((r) => [r.name, r.inputs.name]),
      );
    const before = names(firstRun);
    const after = names(mocks.resources);
    const changed = Object.keys(after).filter((k) => after[k] !== before[k]);
    expect(changed).toEqual(["renew-certificate"]);
  });

  test("a user added changes only the htpasswd secret's name", async () => {
    await declare("users");
    const firstRun = [...mocks.resources];
    mocks = setupMocks({ priorState: firstRun });
    await declare("users", {
      ...BASE,
      users: [
        ...(BASE.users as HtpasswdUser[]),
        { username: "deploy", password: "deploy-password" },
      ],
    });
    const names = (rs: DeclaredResource[]) =>
      Object.fromEntries(
        rs
          .filter((r) => r.type === SECRET || r.type === CONFIG)
          .map((r) => [r.name, r.inputs.name]),
      );
    const before = names(firstRun);
    const after = names(mocks.resources);
    expect(Object.keys(after).filter((k) => after[k] !== before[k])).toEqual(["users-htpasswd"]);
  });

  test("swarmObjectName: HMAC under a key hides guessable content; long prefixes are cut, not the hash", () => {
    const plain = swarmObjectName("svc", "env-proxy-password", "REGISTRY_PROXY_PASSWORD=hunter2\n");
    const keyed = swarmObjectName(
      "svc",
      "env-proxy-password",
      "REGISTRY_PROXY_PASSWORD=hunter2\n",
      "k".repeat(48),
    );
    expect(keyed).not.toBe(plain);
    expect(keyed).toMatch(/^svc-env-proxy-password-[0-9a-f]{12}$/);
    const long = swarmObjectName("a".repeat(63), "env-storage-credentials", "x", "k");
    expect(long.length).toBe(64);
    expect(long).toMatch(/^a+-env-storage-credentials-[0-9a-f]{12}$/);
    expect(swarmObjectName("ab-", "config", "x")).toMatch(/^ab-config-/);
  });
});

describe("SecureRegistryService bad input: refused before any resource is declared", () => {
  test.each<[string, Record<string, unknown>, string | RegExp]>([
    [
      "no storage",
      { ...BASE, storage: undefined },
      /SecureRegistryService "bad": storage\.s3 is missing; replicas on different nodes must share their data/,
    ],
    [
      "a volume instead of S3",
      { ...BASE, storage: { volumeName: "data" } },
      /storage\.s3 is missing/,
    ],
    [
      "unknown option",
      { ...BASE, replica: 3 },
      /replica is not an option of SecureRegistryService; did you mean replicas\?/,
    ],
    [
      "replicas and global",
      { ...BASE, replicas: 2, global: true },
      /replicas and global are both set/,
    ],
    [
      "negative replicas",
      { ...BASE, replicas: -1 },
      /replicas is -1, not a whole number from 0 to 1000/,
    ],
    [
      "publish mode",
      { ...BASE, publishMode: "mesh" },
      /publishMode "mesh" is not supported; use one of "ingress", "host"/,
    ],
    [
      "start-first with host ports",
      { ...BASE, publishMode: "host", update: { order: "start-first" } },
      /update\.order "start-first" cannot work with publishMode "host"/,
    ],
    [
      "bad monitor",
      { ...BASE, update: { monitor: "10" } },
      /update\.monitor "10" is not a duration/,
    ],
    [
      "bad grace period",
      { ...BASE, stopGracePeriod: "-1s" },
      /stopGracePeriod "-1s" is not a duration/,
    ],
    [
      "bad failure action",
      { ...BASE, update: { failureAction: "retry" } },
      /update\.failureAction "retry" is not supported/,
    ],
    [
      "constraint without operator",
      { ...BASE, placement: { constraints: ["node.role"] } },
      /placement\.constraints\[0\] "node\.role" is not a Swarm constraint/,
    ],
    [
      "spread over a non-label",
      { ...BASE, placement: { spreadOver: ["zone"] } },
      /placement\.spreadOver\[0\] "zone" is not a label to spread over/,
    ],
    [
      "service name with a dot",
      { ...BASE, serviceName: "my.registry" },
      /serviceName "my\.registry" is not a Swarm service name/,
    ],
    [
      "drain timeout through env",
      { ...BASE, env: { REGISTRY_HTTP_DRAINTIMEOUT: "5s" } },
      /env key REGISTRY_HTTP_DRAINTIMEOUT would override a setting this component owns; use stopGracePeriod/,
    ],
    [
      "Redis through env while redis is set",
      { ...BASE, redis: { address: "redis:6379" }, env: { REGISTRY_REDIS_ADDR: "x:1" } },
      /env key REGISTRY_REDIS_ADDR would override a setting this component owns; use redis instead/,
    ],
    [
      "Redis address without port",
      { ...BASE, redis: { address: "redis" } },
      /redis\.address "redis" is not host:port/,
    ],
    [
      "a second storage driver through env",
      { ...BASE, env: { REGISTRY_STORAGE_FILESYSTEM_ROOTDIRECTORY: "/x" } },
      /would override a setting this component owns/,
    ],
    [
      "redirect through env with S3",
      { ...BASE, env: { REGISTRY_STORAGE_REDIRECT_DISABLE: "true" } },
      /env key REGISTRY_STORAGE_REDIRECT_DISABLE would override a setting this component owns with S3 storage; use storage\.s3\.redirect/,
    ],
    ["bad port", { ...BASE, port: 0 }, /SecureRegistryService "bad": port 0 is outside 1-65535/],
  ])("%s", async (_title, args, message) => {
    let error: unknown;
    try {
      new SecureRegistryService("bad", args as unknown as SecureRegistryServiceArgs);
    } catch (err) {
      error = err;
    }
    expect(error).toBeInstanceOf(InvalidInputError);
    expect((error as Error).message).toMatch(message);
    await expectNothingRegistered();
  });

  test("a secret value in a bad option is never shown", async () => {
    const password = "redis-super-secret-value";
    expect(
      () =>
        new SecureRegistryService("bad", {
          ...BASE,
          redis: { address: "redis:6379", password: password + "\n" },
        }),
    ).toThrow(/redis\.password contains a line break/);
    expect(
      () =>
        new SecureRegistryService("bad2", {
          ...BASE,
          redis: { address: "redis:6379", password: 42 as unknown as string },
        }),
    ).toThrow(/^[^4]*redis\.password is a number \(not shown\)[^4]*$/);
    await expectNothingRegistered();
  });
});
