/**
 * SecureRegistry under mocks: every input it declares on the image, volume and container, its
 * outputs, its secrets, and its refusal of bad input before any resource exists.
 */
import * as pulumi from "@pulumi/pulumi";
import * as bcrypt from "bcryptjs";
import * as crypto from "crypto";
import * as YAML from "yaml";
import { registryHealthcheck, SecureRegistry, SecureRegistryArgs } from "../../src/registry";
import {
  containsSecret,
  DeclaredResource,
  isSecretOutput,
  outputOf,
  RecordingMocks,
  setupMocks,
  unwrapSecrets,
} from "../support/mocks";

const IMAGE_ID = `sha256:${"c".repeat(64)}`;
const CONTAINER = "docker:index/container:Container";
const VOLUME = "docker:index/volume:Volume";
const IMAGE = "docker:index/remoteImage:RemoteImage";
const HEALTHY = "pulumi-nodejs:dynamic/secure-registry:HealthyContainer";

let mocks: RecordingMocks;
beforeEach(() => {
  mocks = setupMocks({
    resolveImageId: (name) => (name === "registry:2" ? IMAGE_ID : `sha256:${"d".repeat(64)}`),
  });
});

/** Declares a registry (ECDSA keeps tests fast) and waits until all its resources exist. */
async function declare(name: string, args: SecureRegistryArgs = {}) {
  const options: Record<string, pulumi.CustomResourceOptions> = {};
  const registry = new SecureRegistry(
    name,
    { ...args, tls: { keyAlgorithm: "ECDSA", ...args.tls } },
    {
      transformations: [
        (t) => {
          options[t.name] = t.opts;
          return undefined;
        },
      ],
    },
  );
  await Promise.all([
    outputOf(registry.container.id),
    outputOf(registry.healthy.id),
    ...(registry.volume ? [outputOf(registry.volume.id)] : []),
    outputOf(registry.dockerConfigJson),
  ]);
  expect(mocks.rejections).toEqual([]);
  const container = mocks.find(CONTAINER, `${name}-container`);
  return {
    registry,
    container,
    plain: unwrapSecrets(container.inputs),
    env: readEnv(unwrapSecrets(container.inputs).envs ?? []),
    secretEnv: secretEnvOf(container),
    options,
  };
}

type Upload = { file: string; content: string; permissions: string };

/** `envs` as distribution reads it: each value parsed as YAML 1.1, as its env parser does. */
function readEnv(list: string[]): Record<string, unknown> {
  return Object.fromEntries(
    list.map((entry) => {
      const key = entry.slice(0, entry.indexOf("="));
      return [key, YAML.parse(entry.slice(key.length + 1), { version: "1.1" })];
    }),
  );
}

/** The secret env files the launcher exports, by key (values as distribution reads them). */
function secretEnvOf(container: DeclaredResource): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const upload of unwrapSecrets(container.inputs).uploads as Upload[]) {
    if (!upload.file.startsWith("/etc/secure-registry/env/")) continue;
    expect([upload.file, upload.permissions]).toEqual([upload.file, "0400"]);
    for (const line of upload.content.split("\n").filter((l) => l !== "")) {
      const key = line.slice(0, line.indexOf("="));
      out[key] = YAML.parse(line.slice(key.length + 1), { version: "1.1" });
    }
  }
  return out;
}

function upload(
  plain: Record<string, unknown>,
  file: string,
): { content: string; permissions: string } {
  const found = (plain.uploads as { file: string; content: string; permissions: string }[]).filter(
    (u) => u.file === file,
  );
  expect(found).toHaveLength(1);
  return found[0];
}

async function expectNothingRegistered(): Promise<void> {
  const sentinel = new pulumi.ComponentResource("test:index:Sentinel", "sentinel");
  await outputOf(sentinel.urn);
  expect(mocks.resources.map((r: DeclaredResource) => r.name)).toEqual(["sentinel"]);
}

describe("SecureRegistry defaults", () => {
  test("env: every setting the component owns, readable in previews (not secret)", async () => {
    const { env, container } = await declare("reg");
    expect(env).toEqual({
      REGISTRY_AUTH: "htpasswd",
      REGISTRY_AUTH_HTPASSWD_PATH: "/auth/htpasswd",
      REGISTRY_AUTH_HTPASSWD_REALM: "Registry realm",
      REGISTRY_HEALTH_STORAGEDRIVER_ENABLED: true,
      REGISTRY_HEALTH_STORAGEDRIVER_INTERVAL: "10s",
      REGISTRY_HEALTH_STORAGEDRIVER_THRESHOLD: 3,
      REGISTRY_HTTP_ADDR: "0.0.0.0:5000",
      REGISTRY_HTTP_DEBUG_ADDR: "127.0.0.1:5001",
      REGISTRY_HTTP_TLS_CERTIFICATE: "/certs/domain.crt",
      REGISTRY_HTTP_TLS_KEY: "/certs/domain.key",
      REGISTRY_HTTP_TLS_MINIMUMTLS: "tls1.2",
      REGISTRY_LOG_LEVEL: "info",
      REGISTRY_STORAGE_DELETE_ENABLED: true,
      REGISTRY_STORAGE_FILESYSTEM_ROOTDIRECTORY: "/var/lib/registry",
    });
    expect(containsSecret(container.inputs.envs)).toBe(false);
  });

  test("config.yml names the filesystem driver; the registry serves it", async () => {
    const { plain } = await declare("cfg");
    const config = upload(plain, "/etc/secure-registry/config.yml");
    expect(YAML.parse(config.content, { version: "1.1" }).storage).toEqual({
      filesystem: {},
      cache: { blobdescriptor: "inmemory" },
    });
    expect(config.permissions).toBe("0444");
  });

  test("the container starts through the launcher, which serves config.yml", async () => {
    const { plain } = await declare("launch");
    expect(plain.entrypoints).toEqual([
      "/bin/sh",
      "-c",
      expect.stringContaining("exec /bin/registry serve /etc/secure-registry/config.yml"),
      "secure-registry-launcher",
    ]);
    expect(plain.command).toBeUndefined();
  });

  test("http.secret: generated once, kept in state, delivered only as a secret file", async () => {
    const { env, secretEnv } = await declare("secret");
    const password = mocks.find("random:index/randomPassword:RandomPassword", "secret-http-secret");
    expect(password.inputs).toEqual({ length: 48, special: false });
    expect(secretEnv).toEqual({ REGISTRY_HTTP_SECRET: password.state.result });
    expect(env.REGISTRY_HTTP_SECRET).toBeUndefined();
  });

  test("each file the settings name is delivered into the container, with the right content", async () => {
    const { registry, plain, env } = await declare("files");
    const cert = upload(plain, env.REGISTRY_HTTP_TLS_CERTIFICATE as string);
    const key = upload(plain, env.REGISTRY_HTTP_TLS_KEY as string);
    const htpasswd = upload(plain, env.REGISTRY_AUTH_HTPASSWD_PATH as string);
    // config.yml, the http secret, certificate, key and htpasswd.
    expect(plain.uploads).toHaveLength(5);

    expect(cert.content).toBe(await outputOf(registry.certificates.certPem));
    expect(cert.permissions).toBe("0444");
    expect(key.permissions).toBe("0400");
    expect(htpasswd.permissions).toBe("0400");
    const x509 = new crypto.X509Certificate(cert.content);
    expect(x509.checkPrivateKey(crypto.createPrivateKey(key.content))).toBe(true);
    expect(x509.checkIssued(new crypto.X509Certificate(await outputOf(registry.caCertPem)))).toBe(
      true,
    );

    expect(htpasswd.content).toBe(await outputOf(registry.htpasswd));
    const [credential] = await outputOf(registry.credentials);
    expect(credential.username).toBe("registry");
    const [user, hash] = htpasswd.content.trimEnd().split(":");
    expect(user).toBe("registry");
    expect(bcrypt.compareSync(credential.password, hash)).toBe(true);
  });

  test("published port 443 on 0.0.0.0 to container port 5000", async () => {
    const { plain } = await declare("ports");
    expect(plain.ports).toEqual([
      { internal: 5000, external: 443, ip: "0.0.0.0", protocol: "tcp" },
    ]);
  });

  test("data in a named volume at /var/lib/registry, kept when the stack is destroyed", async () => {
    const { plain, options } = await declare("vol");
    const volume = mocks.find(VOLUME, "vol-data");
    expect(volume.inputs).toEqual({ name: "vol-data" });
    expect(plain.volumes).toEqual([{ volumeName: "vol-data", containerPath: "/var/lib/registry" }]);
    expect(options["vol-data"].retainOnDelete).toBe(true);
    // The container is replaced freely: the data is not in it.
    expect(options["vol-container"].retainOnDelete).toBeUndefined();
  });

  test("storage.retainOnDelete: false deletes the data with the stack", async () => {
    const { options } = await declare("drop", { storage: { retainOnDelete: false } });
    expect(options["drop-data"].retainOnDelete).toBe(false);
  });

  test("restart always, must run, named after the component", async () => {
    const { plain } = await declare("restart");
    expect(plain.restart).toBe("always");
    expect(plain.mustRun).toBe(true);
    expect(plain.name).toBe("restart");
  });

  test("image: registry:2 kept locally; the container runs its image ID, not the tag", async () => {
    const { plain } = await declare("img");
    expect(mocks.find(IMAGE, "img-image").inputs).toEqual({
      name: "registry:2",
      keepLocally: true,
    });
    expect(plain.image).toBe(IMAGE_ID);
  });

  test("health check within seconds; up waits for healthy; replaced on health check change", async () => {
    const { plain, options } = await declare("health");
    expect(plain.healthcheck).toEqual(registryHealthcheck());
    expect(plain.healthcheck.interval).toBe("250ms");
    // pulumi up waits through the component's HealthyContainer, not the provider's 1 s polling.
    expect(plain.wait).toBe(false);
    expect(plain.waitTimeout).toBeUndefined();
    const wait = mocks.find(HEALTHY, "health-healthy");
    expect(unwrapSecrets(wait.inputs)).toEqual(
      expect.objectContaining({
        container: mocks.find("docker:index/container:Container", "health-container").id,
        timeoutSeconds: 60,
      }),
    );
    expect(typeof wait.inputs.__provider).toBe("string");
    expect(options["health-container"].replaceOnChanges).toEqual(["healthcheck"]);
    expect(options["health-container"].deleteBeforeReplace).toBe(true);
  });

  test("outputs: endpoint, url, CA, credentials, htpasswd, docker config, resources", async () => {
    const { registry } = await declare("out");
    expect(await outputOf(registry.endpoint)).toBe("localhost");
    expect(await outputOf(registry.url)).toBe("https://localhost");
    expect(new crypto.X509Certificate(await outputOf(registry.caCertPem)).ca).toBe(true);
    const [credential] = await outputOf(registry.credentials);
    expect(JSON.parse(await outputOf(registry.dockerConfigJson))).toEqual({
      auths: {
        localhost: {
          auth: Buffer.from(`${credential.username}:${credential.password}`).toString("base64"),
        },
      },
    });
    expect(await outputOf(registry.container.name)).toBe("out");
    expect(await outputOf(registry.volume!.name)).toBe("out-data");
    expect(await outputOf(registry.certificates.certPem)).toContain("BEGIN CERTIFICATE");
    expect(await outputOf(registry.users.htpasswd)).toBe(await outputOf(registry.htpasswd));
  });

  test("secrets: key and htpasswd uploads, htpasswd, credentials, docker config", async () => {
    const { registry, container } = await declare("secrets");
    // uploads carry the key, the htpasswd and the http secret: secret as a whole. The settings in
    // envs carry nothing secret and stay readable in previews.
    expect(containsSecret(container.inputs.uploads)).toBe(true);
    expect(containsSecret(container.inputs.envs)).toBe(false);
    expect(await isSecretOutput(registry.htpasswd)).toBe(true);
    expect(await isSecretOutput(registry.credentials)).toBe(true);
    expect(await isSecretOutput(registry.dockerConfigJson)).toBe(true);
    expect(await isSecretOutput(registry.certificates.privateKeyPem)).toBe(true);
    expect(await isSecretOutput(registry.endpoint)).toBe(false);
    expect(await isSecretOutput(registry.caCertPem)).toBe(false);
  });
});

describe("SecureRegistry options", () => {
  test("hostnames and IPs are all SANs; endpoint uses hostname and port", async () => {
    const { registry, plain } = await declare("names", {
      hostname: "reg.example.com",
      additionalHostnames: ["registry.internal"],
      ipAddresses: ["10.0.0.5"],
      port: 5443,
      bindAddress: "127.0.0.1",
    });
    const cert = new crypto.X509Certificate(await outputOf(registry.certificates.certPem));
    expect(cert.subjectAltName).toBe(
      "DNS:reg.example.com, DNS:registry.internal, IP Address:10.0.0.5",
    );
    expect(await outputOf(registry.endpoint)).toBe("reg.example.com:5443");
    expect(await outputOf(registry.url)).toBe("https://reg.example.com:5443");
    expect(plain.ports).toEqual([
      { internal: 5000, external: 5443, ip: "127.0.0.1", protocol: "tcp" },
    ]);
    expect(Object.keys(JSON.parse(await outputOf(registry.dockerConfigJson)).auths)).toEqual([
      "reg.example.com:5443",
    ]);
  });

  test("an IP address as hostname is an IP SAN; IPv6 endpoints are bracketed", async () => {
    const { registry } = await declare("v6", { hostname: "fd00::5", port: 5000 });
    const cert = new crypto.X509Certificate(await outputOf(registry.certificates.certPem));
    expect(cert.subjectAltName).toBe("IP Address:FD00:0:0:0:0:0:0:5");
    expect(await outputOf(registry.endpoint)).toBe("[fd00::5]:5000");
  });

  test("tls, log level, storage, realm, env overrides and names", async () => {
    const { env, secretEnv, plain, container } = await declare("opts", {
      tls: { minimumVersion: "tls1.3" },
      logLevel: "debug",
      realm: "My realm",
      storage: { volumeName: "registry-data", deleteEnabled: false },
      env: {
        REGISTRY_STORAGE_MAINTENANCE_UPLOADPURGING_AGE: "72h",
        REGISTRY_LOG_FIELDS_ENVIRONMENT: "x #y",
        REGISTRY_NOTIFICATIONS_ENDPOINTS_0_HEADERS_AUTHORIZATION_TOKEN: "not-shown",
        REGISTRY_LOG_FIELDS_SECRETLESS: pulumi.secret("a: b"),
      },
      httpSecret: "shared-secret-0123456789",
      containerName: "my-registry",
      image: "registry:2.8.3",
    });
    expect(env).toMatchObject({
      REGISTRY_HTTP_TLS_MINIMUMTLS: "tls1.3",
      REGISTRY_LOG_LEVEL: "debug",
      REGISTRY_AUTH_HTPASSWD_REALM: "My realm",
      REGISTRY_STORAGE_DELETE_ENABLED: false,
      REGISTRY_STORAGE_MAINTENANCE_UPLOADPURGING_AGE: "72h",
      // Exactly as given: distribution reads the rendered value back as this text.
      REGISTRY_LOG_FIELDS_ENVIRONMENT: "x #y",
    });
    expect(containsSecret(container.inputs.envs)).toBe(false);
    expect(secretEnv).toEqual({
      REGISTRY_HTTP_SECRET: "shared-secret-0123456789",
      // Secret by its key, although given as plain text.
      REGISTRY_NOTIFICATIONS_ENDPOINTS_0_HEADERS_AUTHORIZATION_TOKEN: "not-shown",
      // Secret because the value is a Pulumi secret.
      REGISTRY_LOG_FIELDS_SECRETLESS: "a: b",
    });
    for (const key of Object.keys(secretEnv)) expect(env[key]).toBeUndefined();
    expect(mocks.resources.some((r) => r.name === "opts-http-secret")).toBe(false);
    expect(plain.name).toBe("my-registry");
    expect(plain.volumes).toEqual([
      { volumeName: "registry-data", containerPath: "/var/lib/registry" },
    ]);
    expect(mocks.find(IMAGE).inputs.name).toBe("registry:2.8.3");
    expect(plain.image).toBe(`sha256:${"d".repeat(64)}`);
  });

  test("RSA certificates when asked: 4096 bits", async () => {
    const { registry } = await declare("rsa", { tls: { keyAlgorithm: "RSA" } });
    const key = crypto.createPrivateKey(await outputOf(registry.certificates.privateKeyPem));
    expect(key.asymmetricKeyDetails?.modulusLength).toBe(4096);
  }, 30_000);

  test("proxy: URL and user in config.yml; the password only in a secret file", async () => {
    const { env, secretEnv } = await declare("proxy", {
      proxy: {
        remoteUrl: "https://registry-1.docker.io",
        username: "hub-user",
        password: "hub-pass",
      },
    });
    expect(env).toMatchObject({
      REGISTRY_PROXY_REMOTEURL: "https://registry-1.docker.io",
      REGISTRY_PROXY_USERNAME: "hub-user",
    });
    expect(env.REGISTRY_PROXY_PASSWORD).toBeUndefined();
    expect(secretEnv.REGISTRY_PROXY_PASSWORD).toBe("hub-pass");
  });

  test("proxy without credentials: anonymous, no password file", async () => {
    const { env, secretEnv, registry } = await declare("anon", {
      proxy: { remoteUrl: "http://mirror.local:5000" },
    });
    expect(env.REGISTRY_PROXY_REMOTEURL).toBe("http://mirror.local:5000");
    expect(env.REGISTRY_PROXY_USERNAME).toBeUndefined();
    expect(secretEnv.REGISTRY_PROXY_PASSWORD).toBeUndefined();
    expect(registry.pullThroughCache).toBe(true);
  });

  test("supplied and generated users; docker config logs in the first", async () => {
    const { registry } = await declare("users", {
      users: [{ username: "ci", password: "ci-password" }, { username: "admin" }],
    });
    const credentials = await outputOf(registry.credentials);
    expect(credentials.map((c) => c.username)).toEqual(["ci", "admin"]);
    const config = JSON.parse(await outputOf(registry.dockerConfigJson));
    expect(Buffer.from(config.auths.localhost.auth, "base64").toString()).toBe("ci:ci-password");
    const lines = (await outputOf(registry.htpasswd)).trimEnd().split("\n");
    expect(lines.map((l) => l.split(":")[0])).toEqual(["ci", "admin"]);
    expect(bcrypt.compareSync("ci-password", lines[0].slice(3))).toBe(true);
    expect(bcrypt.compareSync(credentials[1].password, lines[1].slice(6))).toBe(true);
  });

  test("bring your own certificate: delivered as given, no tls resources", async () => {
    const own = await declare("src", { hostname: "reg.test" });
    const certPem = await outputOf(own.registry.certificates.certPem);
    const privateKeyPem = await outputOf(own.registry.certificates.privateKeyPem);
    const caCertPem = await outputOf(own.registry.caCertPem);
    mocks.clear();
    const registry = new SecureRegistry("byo", {
      hostname: "reg.test",
      tls: { certPem, privateKeyPem, caCertPem },
    });
    await Promise.all([
      outputOf(registry.container.id),
      outputOf(registry.healthy.id),
      outputOf(registry.healthy.id),
    ]);
    const plain = unwrapSecrets(mocks.find(CONTAINER).inputs);
    expect(upload(plain, "/certs/domain.crt").content).toBe(certPem);
    expect(upload(plain, "/certs/domain.key").content).toBe(privateKeyPem);
    expect(await outputOf(registry.caCertPem)).toBe(caCertPem);
    expect(mocks.resources.filter((r) => r.type.startsWith("tls:"))).toEqual([]);

    // The default hostname (localhost) is not in that certificate: refused, naming the fix.
    mocks.clear();
    expect(
      () => new SecureRegistry("byo2", { tls: { certPem, privateKeyPem, caCertPem } }),
    ).toThrow(
      /^SecureRegistry "byo2": tls\.certPem does not cover the name "localhost" \(its SANs: DNS:reg\.test\)/,
    );
    await expectNothingRegistered();
  });

  test("a second run declares identical inputs for every resource (no diff)", async () => {
    const args: SecureRegistryArgs = {
      hostname: "reg.test",
      users: [{ username: "ci", password: "pw" }, { username: "gen" }],
    };
    await declare("stable", args);
    const firstRun = mocks.resources;
    const second = setupMocks({ priorState: firstRun, resolveImageId: () => IMAGE_ID });
    const registry = new SecureRegistry("stable", { ...args, tls: { keyAlgorithm: "ECDSA" } });
    await Promise.all([
      outputOf(registry.container.id),
      outputOf(registry.healthy.id),
      outputOf(registry.healthy.id),
    ]);
    const summary = (rs: DeclaredResource[]) =>
      rs.map((r) => [r.type, r.name, unwrapSecrets(r.inputs)]);
    expect(summary(second.resources)).toEqual(summary(firstRun));
  });
});

describe("SecureRegistry bad input: refused before any resource is declared", () => {
  test.each<[string, SecureRegistryArgs, string | RegExp]>([
    [
      "port too high",
      { port: 70000 },
      'SecureRegistry "bad": port 70000 is outside 1-65535; choose a free TCP port such as 5000 or 443.',
    ],
    ["port zero", { port: 0 }, /port 0 is outside 1-65535/],
    [
      "hostname not a DNS name",
      { hostname: "my_registry" },
      /hostname "my_registry" is neither a valid DNS name nor an IP address/,
    ],
    [
      "additional hostname invalid",
      { additionalHostnames: ["-x.example"] },
      /additionalHostnames\[0\] "-x.example" is not a valid DNS name/,
    ],
    ["IP not an IP", { ipAddresses: ["10.0.0"] }, /ipAddresses\[0\] "10.0.0" is not an IP address/],
    [
      "bind address not an IP",
      { bindAddress: "localhost" },
      /bindAddress "localhost" is not an IP address of this host/,
    ],
    ["no users", { users: [] }, /users is empty; list at least one user/],
    [
      "duplicate username",
      { users: [{ username: "ci" }, { username: "ci" }] },
      /users\[1\]\.username "ci" duplicates users\[0\]; each user needs a unique name\./,
    ],
    [
      "username with ':'",
      { users: [{ username: "c:i" }] },
      /users\[0\]\.username "c:i" contains ':'/,
    ],
    [
      "username with whitespace",
      { users: [{ username: "c i" }] },
      /users\[0\]\.username "c i" contains whitespace/,
    ],
    ["empty username", { users: [{ username: "" }] }, /users\[0\]\.username is empty/],
    [
      "empty password",
      { users: [{ username: "ci", password: "" }] },
      /users\[0\]\.password is empty; supply a password or omit it/,
    ],
    [
      "password over 72 bytes",
      { users: [{ username: "ci", password: "p".repeat(80) }] },
      /users\[0\]\.password is 80 bytes \(UTF-8\) but bcrypt only uses the first 72/,
    ],
    [
      "env key not REGISTRY_",
      { env: { HTTP_PROXY: "x" } },
      /env key "HTTP_PROXY" is not a registry setting/,
    ],
    [
      "env key owned (address)",
      { env: { REGISTRY_HTTP_ADDR: ":5000" } },
      /env key REGISTRY_HTTP_ADDR would override a setting this component owns; use port and bindAddress instead\./,
    ],
    ["env key owned (log level)", { env: { REGISTRY_LOG_LEVEL: "debug" } }, /use logLevel instead/],
    [
      "env key owned (auth)",
      { env: { REGISTRY_AUTH_HTPASSWD_PATH: "/x" } },
      /use users and realm instead/,
    ],
    [
      "env key owned (tls)",
      { env: { REGISTRY_HTTP_TLS_MINIMUMTLS: "tls1.3" } },
      /use tls\.minimumVersion instead/,
    ],
    [
      "env key owned (delete)",
      { env: { REGISTRY_STORAGE_DELETE_ENABLED: "false" } },
      /use storage\.deleteEnabled instead/,
    ],
    [
      "env key owned (proxy)",
      { env: { REGISTRY_PROXY_REMOTEURL: "https://x" } },
      /use proxy instead/,
    ],
    [
      "env value with newline",
      { env: { REGISTRY_LOG_FORMATTER: "a\nb" } },
      /env\.REGISTRY_LOG_FORMATTER contains a line break or NUL/,
    ],
    [
      "env key owned (http secret)",
      { env: { REGISTRY_HTTP_SECRET: "shared" } },
      /env key REGISTRY_HTTP_SECRET would override a setting this component owns; use httpSecret/,
    ],
    [
      "env naming a second storage driver",
      { env: { REGISTRY_STORAGE_S3_BUCKET: "b" } },
      /naming a second driver panics the registry/,
    ],
    ["httpSecret too short", { httpSecret: "short" }, /httpSecret is shorter than 16 characters/],
    ["realm with newline", { realm: "a\nb" }, /realm contains a line break/],
    [
      "proxy URL not http(s)",
      { proxy: { remoteUrl: "ftp://mirror" } },
      /proxy\.remoteUrl "ftp:\/\/mirror" is not an http\(s\) URL/,
    ],
    [
      "proxy password without username",
      { proxy: { remoteUrl: "https://m", password: "p" } },
      /proxy\.password is set without proxy\.username/,
    ],
    [
      "proxy password with newline",
      { proxy: { remoteUrl: "https://m", username: "u", password: "p\n" } },
      /proxy\.password contains a line break/,
    ],
    [
      "unknown log level",
      { logLevel: "verbose" as never },
      /logLevel "verbose" is not supported; use one of "error", "warn", "info", "debug"\./,
    ],
    [
      "unknown TLS version",
      { tls: { minimumVersion: "tls1.1" as never } },
      /tls\.minimumVersion "tls1\.1" is not supported; use one of "tls1\.2", "tls1\.3"\./,
    ],
    [
      "half a BYO certificate",
      { tls: { certPem: "-----BEGIN CERTIFICATE-----\nA\n-----END CERTIFICATE-----" } },
      /tls\.certPem given without tls\.privateKeyPem and tls\.caCertPem; bring your own certificate with all three/,
    ],
    [
      "BYO plus generation options",
      { tls: { certPem: "c", privateKeyPem: "k", caCertPem: "a", validityDays: 30 } },
      /tls\.validityDays only apply to generated certificates/,
    ],
    [
      "bad validity",
      { tls: { validityDays: 10, earlyRenewalDays: 30 } },
      /tls\.earlyRenewalDays 30 is not less than tls\.validityDays 10/,
    ],
    [
      "bad container name",
      { containerName: "my registry" },
      /containerName "my registry" is not a valid Docker name/,
    ],
    [
      "bad volume name",
      { storage: { volumeName: "/data" } },
      /storage\.volumeName "\/data" is not a valid Docker name/,
    ],
    ["bad image", { image: "registry 2" }, /image "registry 2" is not an image reference/],
  ])("%s", async (_title, args, message) => {
    expect(() => new SecureRegistry("bad", args)).toThrow(message);
    await expectNothingRegistered();
  });

  test("a password never appears in an error message", () => {
    const password = "Sup3r-S3cret-".repeat(6);
    let message = "";
    try {
      new SecureRegistry("bad", { users: [{ username: "ci", password }] });
    } catch (e) {
      message = (e as Error).message;
    }
    expect(message).toMatch(/users\[0\]\.password is 78 bytes/);
    expect(message).not.toContain("Sup3r");
  });

  test("a component name that is not a Docker name asks for containerName", () => {
    expect(() => new SecureRegistry("my registry")).toThrow(
      /the default storage\.volumeName \(from the component name\) "my registry-data" is not a valid Docker name/,
    );
    expect(() => new SecureRegistry("my registry", { storage: { volumeName: "data" } })).toThrow(
      /the default containerName \(the component name\) "my registry" is not a valid Docker name/,
    );
  });
});
