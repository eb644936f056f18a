/**
 * SecureRegistry's arguments under mocks: every option checked for type and shape (only
 * InvalidInputError escapes, naming the field, the problem and the fix), Outputs accepted wherever
 * a user may hold one (and checked once known), the container tuning a user may pass, the
 * anonymous pull-through cache dockerd can use as a mirror, and a seeded property run.
 */
import * as pulumi from "@pulumi/pulumi";
import fc from "fast-check";
import * as YAML from "yaml";
import { bcryptCostOf } from "../../src/auth";
import { InvalidInputError } from "../../src/common/errors";
import { SecureRegistry, SecureRegistryArgs } from "../../src/registry";
import {
  expectOnlyInvalidInput,
  FUZZ_PARAMS,
  installLightMocks,
  mutatedArgs,
  settleComponents,
} from "../support/fuzz";
import {
  containsSecret,
  DeclaredResource,
  outputOf,
  RecordingMocks,
  setupMocks,
  unwrapSecrets,
} from "../support/mocks";

const CONTAINER = "docker:index/container:Container";

let mocks: RecordingMocks;
beforeEach(() => {
  mocks = setupMocks();
});

const ecdsa = { keyAlgorithm: "ECDSA" as const };

async function declare(name: string, args: SecureRegistryArgs) {
  const registry = new SecureRegistry(name, { ...args, tls: { ...ecdsa, ...args.tls } });
  await Promise.all([
    outputOf(registry.container.id),
    outputOf(registry.healthy.id),
    outputOf(registry.dockerConfigJson),
    outputOf(registry.caCertPem),
  ]);
  expect(mocks.rejections).toEqual([]);
  const container = mocks.find(CONTAINER, `${name}-container`);
  const plain = unwrapSecrets(container.inputs);
  return { registry, container, plain, env: readEnv(plain.envs ?? []) };
}

function readEnv(list: string[]): Record<string, unknown> {
  return Object.fromEntries(
    list.map((entry) => {
      const key = entry.slice(0, entry.indexOf("="));
      return [key, YAML.parse(entry.slice(key.length + 1), { version: "1.1" })];
    }),
  );
}

async function expectNothingRegistered(): Promise<void> {
  const sentinel = new pulumi.ComponentResource("test:index:Sentinel", "sentinel");
  await outputOf(sentinel.urn);
  expect(mocks.resources.map((r: DeclaredResource) => r.name)).toEqual(["sentinel"]);
}

describe("SecureRegistry refuses wrong types and shapes before any resource exists", () => {
  test.each<[string, Record<string, unknown>, RegExp]>([
    ["args not an object", "reg" as never, /args is "reg", not an object/],
    [
      "unknown key with a guess",
      { hostnames: ["a.test"] },
      /hostnames is not an option of SecureRegistry; did you mean additionalHostnames\?|did you mean hostname\?/,
    ],
    [
      "unknown tls key",
      { tls: { validity: 30 } },
      /tls\.validity is not an option of SecureRegistry; did you mean tls\.validityDays\?/,
    ],
    [
      "unknown storage key",
      { storage: { volume: "x" } },
      /storage\.volume is not an option; |storage\.volume is not an option of SecureRegistry; did you mean storage\.volumeName\?/,
    ],
    [
      "ipAddresses not a list",
      { ipAddresses: "10.0.0.5" },
      /ipAddresses is "10.0.0.5", not a list/,
    ],
    [
      "additionalHostnames null",
      { additionalHostnames: null },
      /additionalHostnames is null, not a list/,
    ],
    ["hostname a number", { hostname: 5 }, /hostname is 5, not a string/],
    ["port as text", { port: "443" }, /port "443" is outside 1-65535/],
    [
      "users not a list",
      { users: { username: "ci" } },
      /users is an object; list at least one user/,
    ],
    ["users null", { users: null }, /users is null; list at least one user/],
    ["tls null", { tls: null }, /tls is null, not an object/],
    ["proxy a string", { proxy: "https://hub" }, /proxy is "https:\/\/hub", not an object/],
    ["proxy without remoteUrl", { proxy: {} }, /proxy\.remoteUrl is missing/],
    [
      "storage.deleteEnabled as text",
      { storage: { deleteEnabled: "false" } },
      /storage\.deleteEnabled is "false", not a boolean; use true or false \(without quotes\)/,
    ],
    [
      "storage.retainOnDelete as text",
      { storage: { retainOnDelete: "no" } },
      /storage\.retainOnDelete is "no", not true or false/,
    ],
    ["env a list", { env: ["REGISTRY_X=1"] }, /env is a list, not a map of names to text/],
    [
      "env value a number",
      { env: { REGISTRY_LOG_FORMATTER: 5 } },
      /env\.REGISTRY_LOG_FORMATTER is 5, not a string/,
    ],
    ["logLevel null", { logLevel: null }, /logLevel null is not supported/],
    ["containerName a number", { containerName: 7 }, /containerName 7 is not a valid Docker name/],
    ["realm a number", { realm: 7 }, /realm is 7; use a short text/],
    ["httpSecret a number", { httpSecret: 7 }, /httpSecret is 7, not a string/],
    [
      "username starting with #",
      { users: [{ username: "#ops" }] },
      /users\[0\]\.username "#ops" starts with '#'/,
    ],
    [
      "bcryptCost out of range",
      { users: [{ username: "ci", bcryptCost: 31 }] },
      /users\[0\]\.bcryptCost is 31, not a whole number from 4 to 16/,
    ],
  ])("%s", async (_title, args, message) => {
    expect(() => new SecureRegistry("bad", args as never)).toThrow(message);
    expect(() => new SecureRegistry("bad", args as never)).toThrow(InvalidInputError);
    await expectNothingRegistered();
  });
});

describe("proxy (pull-through cache) checks", () => {
  test.each<[string, Record<string, unknown>, RegExp]>([
    [
      "credentials in the URL",
      { remoteUrl: "https://hubuser:hunter2-S3cret@registry-1.docker.io" },
      /proxy\.remoteUrl "https:\/\/<credentials>@registry-1\.docker\.io" carries credentials; put them in proxy\.username and proxy\.password/,
    ],
    [
      "a user without password in the URL",
      { remoteUrl: "https://hubuser@registry-1.docker.io" },
      /carries credentials/,
    ],
    [
      "a path",
      { remoteUrl: "https://registry-1.docker.io/v2/" },
      /proxy\.remoteUrl "https:\/\/registry-1\.docker\.io\/v2\/" has a path or query; give only scheme, host and port, e\.g\. https:\/\/registry-1\.docker\.io/,
    ],
    ["a query", { remoteUrl: "https://mirror.test?x=1" }, /has a path or query/],
    ["not http(s)", { remoteUrl: "ftp://mirror.test" }, /is not an http\(s\) URL/],
    [
      "empty username",
      { remoteUrl: "https://m.test", username: "", password: "hunter2-S3cret" },
      /proxy\.username is empty/,
    ],
    [
      "empty password",
      { remoteUrl: "https://m.test", username: "u", password: "" },
      /proxy\.password is empty/,
    ],
    [
      "a number as password",
      { remoteUrl: "https://m.test", username: "u", password: 1234 },
      /proxy\.password is a number \(not shown\)/,
    ],
    [
      "unknown key",
      { remoteUrl: "https://m.test", user: "u" },
      /proxy\.user is not an option of SecureRegistry; did you mean proxy\.username\?/,
    ],
    [
      "anonymousPulls as text",
      { remoteUrl: "https://m.test", anonymousPulls: "true" },
      /proxy\.anonymousPulls is "true", not true or false/,
    ],
  ])("refuses %s without echoing a password", async (_title, proxy, message) => {
    let error: unknown;
    try {
      new SecureRegistry("bad", { proxy: proxy as never });
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(InvalidInputError);
    expect((error as Error).message).toMatch(message);
    expect((error as Error).message).not.toContain("hunter2");
    await expectNothingRegistered();
  });

  test("a proxy URL with a port and a trailing slash is fine", async () => {
    const { env } = await declare("slash", { proxy: { remoteUrl: "http://upstream.test:5000/" } });
    expect(env.REGISTRY_PROXY_REMOTEURL).toBe("http://upstream.test:5000/");
  });
});

describe("Outputs wherever a user may hold one (e.g. from a StackReference)", () => {
  test("lists, names, users, env, tls options and the container name as Outputs", async () => {
    // What `new pulumi.StackReference(...).getOutput(...)` gives: Outputs of plain values.
    const fromOtherStack = {
      names: pulumi.output(["mirror.test", "cache.test"]) as pulumi.Output<string[]>,
      ips: pulumi.output(["10.0.0.7"]) as pulumi.Output<string[]>,
      users: pulumi.output([{ username: "ci", password: "ci-password-from-stack", bcryptCost: 4 }]),
      env: pulumi.output({ REGISTRY_STORAGE_MAINTENANCE_UPLOADPURGING_AGE: "72h" }),
    };
    const { registry, plain, env } = await declare("composed", {
      hostname: pulumi.output("reg.test"),
      additionalHostnames: fromOtherStack.names,
      ipAddresses: fromOtherStack.ips,
      port: pulumi.output(5443),
      bindAddress: pulumi.output("127.0.0.1"),
      users: fromOtherStack.users,
      realm: pulumi.output("Composed realm"),
      env: fromOtherStack.env,
      logLevel: pulumi.output("debug" as const),
      containerName: pulumi.output("composed-registry"),
      storage: { volumeName: pulumi.output("composed-data"), deleteEnabled: pulumi.output(false) },
      tls: { minimumVersion: pulumi.output("tls1.3" as const), validityDays: pulumi.output(90) },
    });
    const { X509Certificate } = await import("crypto");
    const cert = new X509Certificate(await outputOf(registry.certificates.certPem));
    expect(cert.subjectAltName).toBe(
      "DNS:reg.test, DNS:mirror.test, DNS:cache.test, IP Address:10.0.0.7",
    );
    expect(await outputOf(registry.endpoint)).toBe("reg.test:5443");
    expect(plain.name).toBe("composed-registry");
    expect(plain.ports).toEqual([
      { internal: 5000, external: 5443, ip: "127.0.0.1", protocol: "tcp" },
    ]);
    expect(plain.volumes).toEqual([
      { volumeName: "composed-data", containerPath: "/var/lib/registry" },
    ]);
    expect(env).toMatchObject({
      REGISTRY_AUTH_HTPASSWD_REALM: "Composed realm",
      REGISTRY_LOG_LEVEL: "debug",
      REGISTRY_STORAGE_DELETE_ENABLED: false,
      REGISTRY_HTTP_TLS_MINIMUMTLS: "tls1.3",
      REGISTRY_STORAGE_MAINTENANCE_UPLOADPURGING_AGE: "72h",
    });
    const credentials = await outputOf(registry.credentials);
    expect(credentials).toEqual([{ username: "ci", password: "ci-password-from-stack" }]);
    const [line] = (await outputOf(registry.htpasswd)).trimEnd().split("\n");
    expect(bcryptCostOf(line.slice(3))).toBe(4);
  });

  test("a hostname Output holding an IP address goes into the IP SANs", async () => {
    const { registry } = await declare("ip-output", { hostname: pulumi.output("10.0.0.8") });
    const { X509Certificate } = await import("crypto");
    const cert = new X509Certificate(await outputOf(registry.certificates.certPem));
    expect(cert.subjectAltName).toBe("IP Address:10.0.0.8");
  });

  test("a secret env map given as an Output stays out of the container's envs", async () => {
    const { env, container } = await declare("secret-env", {
      env: pulumi.secret({ REGISTRY_REDIS_ADDR: "redis.internal:6379" }),
    });
    expect(env.REGISTRY_REDIS_ADDR).toBeUndefined();
    expect(containsSecret(container.inputs.envs)).toBe(false);
    const files = unwrapSecrets(container.inputs).uploads as { file: string; content: string }[];
    const envFile = files.find((f) => f.file === "/etc/secure-registry/env/env.env");
    expect(envFile?.content).toBe("REGISTRY_REDIS_ADDR=redis.internal:6379\n");
  });
});

describe("container tuning", () => {
  test("settings the component does not own pass through as given", async () => {
    const { plain, env } = await declare("tuned", {
      container: {
        labels: [{ label: "team", value: "platform" }],
        memory: 512,
        cpuShares: 512,
        cpuSet: "0",
        logDriver: "json-file",
        logOpts: { "max-size": "10m" },
        hosts: [{ host: "upstream.internal", ip: "10.0.0.9" }],
        networksAdvanced: [{ name: "backend", aliases: ["registry"] }],
        restart: "unless-stopped",
        envs: ["HTTPS_PROXY=http://proxy.internal:3128", "NO_PROXY=localhost,127.0.0.1"],
      },
    });
    expect(plain).toMatchObject({
      labels: [{ label: "team", value: "platform" }],
      memory: 512,
      cpuShares: 512,
      cpuSet: "0",
      logDriver: "json-file",
      logOpts: { "max-size": "10m" },
      hosts: [{ host: "upstream.internal", ip: "10.0.0.9" }],
      networksAdvanced: [{ name: "backend", aliases: ["registry"] }],
      restart: "unless-stopped",
    });
    // The process env joins the registry's own settings.
    expect(env).toMatchObject({
      HTTPS_PROXY: "http://proxy.internal:3128",
      NO_PROXY: "localhost,127.0.0.1",
      REGISTRY_AUTH: "htpasswd",
    });
    // What the component owns is unchanged.
    expect(plain.name).toBe("tuned");
    expect(plain.mustRun).toBe(true);
  });

  test("a proxy URL with a password may be passed as a secret entry", async () => {
    const { container } = await declare("secret-proxy", {
      container: { envs: [pulumi.secret("HTTPS_PROXY=http://u:hunter2@proxy.internal:3128")] },
    });
    expect(containsSecret(container.inputs.envs)).toBe(true);
  });

  test.each<[string, Record<string, unknown>, RegExp]>([
    ["the name", { name: "x" }, /container\.name is set by the component; use containerName\./],
    ["the image", { image: "x" }, /container\.image is set by the component; use image\./],
    [
      "ports",
      { ports: [] },
      /container\.ports is set by the component; use port and bindAddress\./,
    ],
    ["the health check", { healthcheck: {} }, /container\.healthcheck is set by the component/],
    ["uploads", { uploads: [] }, /use tls, users, env and httpSecret/],
    ["a read-only root", { readOnly: true }, /container\.readOnly is set by the component/],
    [
      "a registry setting in envs",
      { envs: ["REGISTRY_LOG_LEVEL=debug"] },
      /container\.envs\[0\] sets REGISTRY_LOG_LEVEL, a registry setting; use the env option/,
    ],
    [
      "an env entry without =",
      { envs: ["HTTPS_PROXY"] },
      /container\.envs\[0\] is a string \(not shown\), not "KEY=value"/,
    ],
    ["a variable set twice", { envs: ["A=1", "A=2"] }, /container\.envs\[1\] sets A again/],
    [
      "a plain proxy URL with a password",
      { envs: ["HTTPS_PROXY=http://u:hunter2@proxy:3128"] },
      /container\.envs\[0\] \(HTTPS_PROXY\) holds a URL with a password in plain text; pass that entry as pulumi\.secret/,
    ],
    [
      "a typo",
      { memroy: 5 },
      /container\.memroy is not an option of SecureRegistry; did you mean container\.memory\?/,
    ],
    ["memory as text", { memory: "512m" }, /container\.memory is "512m", not a whole number/],
    ["labels not a list", { labels: { team: "x" } }, /container\.labels is an object, not a list/],
    [
      "a bad restart policy",
      { restart: "sometimes" },
      /container\.restart "sometimes" is not one of no, on-failure, always, unless-stopped/,
    ],
    [
      "a mount over the data",
      { mounts: [{ target: "/var/lib/registry", type: "volume" }] },
      /container\.mounts\[0\]\.target "\/var\/lib\/registry" covers the component's files or data/,
    ],
    ["container not an object", "big" as never, /container is "big", not an object/],
    [
      "a negative memory limit",
      { memory: -5 },
      /container\.memory -5 is not accepted by Docker; use e\.g\. 512 \(MiB\)/,
    ],
    ["a bad cpuSet", { cpuSet: "0-" }, /container\.cpuSet "0-" is not accepted by Docker/],
    [
      "gpus and deviceRequests",
      { gpus: "all", deviceRequests: [] },
      /container\.gpus and container\.deviceRequests both set/,
    ],
  ])("refuses %s, naming the option to use", async (_title, container, message) => {
    let error: unknown;
    try {
      new SecureRegistry("bad", { container: container as never });
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(InvalidInputError);
    expect((error as Error).message).toMatch(message);
    expect((error as Error).message).not.toContain("hunter2");
    await expectNothingRegistered();
  });
});

describe("proxy.anonymousPulls: a pull-through cache dockerd can use as a mirror", () => {
  test("no auth settings and no htpasswd; TLS and the cache stay; deletion off", async () => {
    const { plain, env } = await declare("mirror", {
      proxy: { remoteUrl: "https://registry-1.docker.io", anonymousPulls: true },
      bindAddress: "10.0.0.2",
    });
    expect(Object.keys(env).filter((k) => k.startsWith("REGISTRY_AUTH"))).toEqual([]);
    expect(env).toMatchObject({
      REGISTRY_PROXY_REMOTEURL: "https://registry-1.docker.io",
      REGISTRY_HTTP_TLS_CERTIFICATE: "/certs/domain.crt",
      REGISTRY_STORAGE_DELETE_ENABLED: false,
    });
    const files = (plain.uploads as { file: string }[]).map((u) => u.file);
    expect(files).not.toContain("/auth/htpasswd");
    expect(files).toContain("/certs/domain.key");
    expect(plain.ports).toEqual([
      { internal: 5000, external: 443, ip: "10.0.0.2", protocol: "tcp" },
    ]);
  });

  test.each<[string, SecureRegistryArgs, RegExp]>([
    [
      "users with anonymous pulls",
      { users: [{ username: "ci" }], proxy: { remoteUrl: "https://m.test", anonymousPulls: true } },
      /users is given, but proxy\.anonymousPulls turns authentication off/,
    ],
    [
      "deletion with anonymous pulls",
      {
        storage: { deleteEnabled: true },
        proxy: { remoteUrl: "https://m.test", anonymousPulls: true },
      },
      /storage\.deleteEnabled is set, but a cache with proxy\.anonymousPulls never allows deletion/,
    ],
  ])("refuses %s", async (_title, args, message) => {
    expect(() => new SecureRegistry("bad", args)).toThrow(message);
    await expectNothingRegistered();
  });
});

describe("no diff on a second run, with every new input", () => {
  test("container tuning, bcrypt costs, Outputs, retention and an anonymous cache", async () => {
    const program = () => [
      new SecureRegistry("stable-tuned", {
        tls: ecdsa,
        hostname: pulumi.output("reg.test"),
        additionalHostnames: pulumi.output(["mirror.test"]),
        users: [
          { username: "ci", password: "ci-password-0123456789", bcryptCost: 4 },
          { username: "gen", bcryptCost: 6 },
          { username: "human", password: pulumi.secret("correct horse battery") },
        ],
        env: pulumi.output({ REGISTRY_STORAGE_MAINTENANCE_UPLOADPURGING_AGE: "72h" }),
        storage: { retainOnDelete: false, deleteEnabled: pulumi.output(false) },
        container: {
          labels: [{ label: "team", value: "platform" }],
          memory: 256,
          networksAdvanced: [{ name: "backend", aliases: ["registry"] }],
          envs: ["HTTPS_PROXY=http://proxy.internal:3128", pulumi.secret("NO_PROXY=.internal")],
        },
      }),
      new SecureRegistry("stable-mirror", {
        tls: ecdsa,
        proxy: { remoteUrl: "https://registry-1.docker.io", anonymousPulls: true },
        bindAddress: "10.0.0.2",
      }),
    ];
    const settle = async (registries: SecureRegistry[]) => {
      for (const r of registries) {
        await Promise.all([
          outputOf(r.container.id),
          outputOf(r.healthy.id),
          outputOf(r.htpasswd),
          outputOf(r.caCertPem),
        ]);
      }
    };
    await settle(program());
    const firstRun = mocks.resources;
    expect(mocks.rejections).toEqual([]);
    const second = setupMocks({ priorState: firstRun });
    await settle(program());
    const summary = (rs: DeclaredResource[]) =>
      rs.map((r) => [r.type, r.name, unwrapSecrets(r.inputs)]);
    expect(summary(second.resources)).toEqual(summary(firstRun));
  });
});

describe("property", () => {
  test("any mutated arguments give success or an InvalidInputError naming the field", async () => {
    await installLightMocks();
    const built: object[] = [];
    const valid = {
      hostname: "reg.test",
      additionalHostnames: ["mirror.test"],
      ipAddresses: ["10.0.0.5"],
      port: 5443,
      bindAddress: "127.0.0.1",
      image: "registry:2",
      users: [{ username: "ci", password: "ci-password-0123", bcryptCost: 4 }],
      realm: "Realm",
      tls: { keyAlgorithm: "ECDSA", validityDays: 90 },
      storage: { volumeName: "reg-data", deleteEnabled: true, retainOnDelete: true },
      proxy: undefined as unknown,
      logLevel: "info",
      env: { REGISTRY_STORAGE_MAINTENANCE_UPLOADPURGING_AGE: "72h" },
      httpSecret: "0123456789abcdef0123",
      containerName: "reg",
      container: { memory: 256, labels: [{ label: "a", value: "b" }] },
      trust: undefined as unknown,
    };
    const proxy = fc.record(
      {
        remoteUrl: fc.constantFrom(
          "https://hub.test",
          "https://u:p@hub.test",
          "https://hub.test/v2/",
          "ftp://x",
          "",
        ),
        username: fc.constantFrom(undefined, "", "u", null),
        password: fc.constantFrom(undefined, "", "p", 5),
        anonymousPulls: fc.constantFrom(undefined, true, false, "true"),
      },
      { requiredKeys: [] },
    );
    let constructions = 0;
    fc.assert(
      fc.property(
        mutatedArgs(valid, {
          hostname: fc.constantFrom("10.0.0.1", "fd00::1", "bad_host", "UPPER.test", ""),
          port: fc.integer({ min: -1, max: 70000 }),
          users: fc.array(
            fc.record(
              {
                username: fc.constantFrom("ok", "#x", "a:b", "", " x"),
                password: fc.constantFrom(undefined, "", "pw", 5),
                bcryptCost: fc.constantFrom(undefined, 3, 4, 17),
              },
              { requiredKeys: [] },
            ),
            { maxLength: 3 },
          ),
          tls: fc.record(
            {
              keyAlgorithm: fc.constantFrom("RSA", "ECDSA", "DSA"),
              validityDays: fc.integer({ min: -1, max: 40000 }),
              minimumVersion: fc.constantFrom("tls1.2", "tls1.3", "tls1.1"),
              certPem: fc.constantFrom(undefined, "x"),
            },
            { requiredKeys: [] },
          ),
          storage: fc.record(
            {
              volumeName: fc.constantFrom("d", "data", "/x", "ok-name"),
              deleteEnabled: fc.constantFrom(true, false, "false"),
              retainOnDelete: fc.constantFrom(true, false, 0),
            },
            { requiredKeys: [] },
          ),
          proxy,
          logLevel: fc.constantFrom("debug", "verbose", "INFO"),
          env: fc.dictionary(
            fc.constantFrom("REGISTRY_HTTP_ADDR", "REGISTRY_X", "HTTP_PROXY", "registry_y"),
            fc.oneof(fc.string(), fc.integer()),
            { maxKeys: 2 },
          ),
          container: fc.dictionary(
            fc.constantFrom("memory", "name", "envs", "labels", "readOnly", "memroy", "hosts"),
            fc.oneof(
              fc.integer(),
              fc.constant(["A=1"]),
              fc.constant(["REGISTRY_A=1"]),
              fc.string(),
            ),
            { maxKeys: 2 },
          ),
          trust: fc.constantFrom(null, false, true, 0, "no", {}, { login: "yes" }, { lgoin: true }),
        }),
        ({ args, mutated }) => {
          constructions += 1;
          expectOnlyInvalidInput(
            () => built.push(new SecureRegistry("fuzz", args as never)),
            mutated,
          );
        },
      ),
      FUZZ_PARAMS,
    );
    expect(constructions).toBeGreaterThanOrEqual(1000);
    await settleComponents(built);
  }, 600_000);
});
