/**
 * The registry's configuration files (src/registry/config.ts): config.yml, the env files and the
 * launcher that exports them. The launcher runs for real under /bin/sh on temp files.
 */
import { execFileSync } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import * as YAML from "yaml";
import {
  CONFIG_PATHS,
  isSecretEnvKey,
  LAUNCHER_SCRIPT,
  launcherEntrypoint,
  registryEnv,
  RegistryConfigSettings,
  renderBaseConfig,
  renderContainerEnv,
  renderEnvFile,
  renderEnvValue,
} from "../../src/registry/config";

const BASE: RegistryConfigSettings = {
  listenAddress: "0.0.0.0:5000",
  tls: { certificate: "/certs/domain.crt", key: "/certs/domain.key", minimumVersion: "tls1.2" },
  auth: { realm: "Registry realm", htpasswdPath: "/auth/htpasswd" },
  logLevel: "info",
  storage: {
    deleteEnabled: true,
    driver: "filesystem",
    parameters: { rootdirectory: "/var/lib/registry" },
  },
  debugAddress: "127.0.0.1:5001",
};

/** Values distribution's YAML parsing of REGISTRY_* would misread if passed unquoted. */
const TRICKY = [
  "a: b",
  "- a",
  "*ref",
  "&anchor x",
  "x #y",
  "#comment",
  " leading",
  "trailing ",
  "null",
  "~",
  "'single'",
  '"double"',
  "{a: 1}",
  "[a, b]",
  "!tag x",
  "%directive",
  "@at",
  "`tick",
  "a\\b",
  "tab\there",
  "ünïcode ✓",
  "key=value=more",
  "|",
  ">",
  "? q",
  "",
];

/** `envs` entries back to the values distribution reads from them (it parses them as YAML). */
function readEnv(list: string[]): Record<string, unknown> {
  return Object.fromEntries(
    list.map((entry) => {
      const key = entry.slice(0, entry.indexOf("="));
      return [key, YAML.parse(entry.slice(key.length + 1), { version: "1.1" })];
    }),
  );
}

describe("renderBaseConfig", () => {
  test("names exactly one storage driver, the headers, and nothing users change", () => {
    expect(YAML.parse(renderBaseConfig("filesystem"), { version: "1.1" })).toEqual({
      version: 0.1,
      log: { fields: { service: "registry" } },
      storage: { filesystem: {}, cache: { blobdescriptor: "inmemory" } },
      http: { headers: { "X-Content-Type-Options": ["nosniff"] } },
    });
    expect(Object.keys(YAML.parse(renderBaseConfig("s3")).storage)).toEqual(["s3", "cache"]);
  });
});

describe("registryEnv and renderContainerEnv", () => {
  test("every setting the component owns, with distribution's REGISTRY_* names", () => {
    expect(readEnv(renderContainerEnv(registryEnv(BASE)))).toEqual({
      REGISTRY_HTTP_ADDR: "0.0.0.0:5000",
      REGISTRY_HTTP_TLS_CERTIFICATE: "/certs/domain.crt",
      REGISTRY_HTTP_TLS_KEY: "/certs/domain.key",
      REGISTRY_HTTP_TLS_MINIMUMTLS: "tls1.2",
      REGISTRY_AUTH: "htpasswd",
      REGISTRY_AUTH_HTPASSWD_REALM: "Registry realm",
      REGISTRY_AUTH_HTPASSWD_PATH: "/auth/htpasswd",
      REGISTRY_LOG_LEVEL: "info",
      REGISTRY_STORAGE_DELETE_ENABLED: true,
      REGISTRY_STORAGE_FILESYSTEM_ROOTDIRECTORY: "/var/lib/registry",
      REGISTRY_HTTP_DEBUG_ADDR: "127.0.0.1:5001",
      REGISTRY_HEALTH_STORAGEDRIVER_ENABLED: true,
      REGISTRY_HEALTH_STORAGEDRIVER_INTERVAL: "10s",
      REGISTRY_HEALTH_STORAGEDRIVER_THRESHOLD: 3,
    });
  });

  test.each(TRICKY.filter((t) => t.trim() !== ""))(
    "realm %j reaches the registry exactly",
    (realm) => {
      const env = readEnv(
        renderContainerEnv(registryEnv({ ...BASE, auth: { ...BASE.auth, realm } })),
      );
      expect(env.REGISTRY_AUTH_HTPASSWD_REALM).toBe(realm);
    },
  );

  test("proxy, client CAs, redirect, storage parameters and redis appear only when set", () => {
    const plain = registryEnv(BASE);
    expect(Object.keys(plain).filter((k) => /PROXY|CLIENTCAS|REDIRECT|REDIS/.test(k))).toEqual([]);
    const full = registryEnv({
      ...BASE,
      tls: { ...BASE.tls, clientCas: ["/certs/a.crt", "/certs/b.crt"] },
      storage: {
        deleteEnabled: false,
        driver: "s3",
        parameters: { bucket: "images", region: "eu-west-1", secure: true },
        redirectDisabled: true,
      },
      proxy: { remoteUrl: "https://upstream.example", username: "yes" },
      redis: { address: "redis:6379", db: 2 },
    });
    expect(readEnv(renderContainerEnv(full))).toMatchObject({
      // One variable holding the list: distribution 2.8 silently ignores indexed ones.
      REGISTRY_HTTP_TLS_CLIENTCAS: ["/certs/a.crt", "/certs/b.crt"],
      REGISTRY_STORAGE_S3_BUCKET: "images",
      REGISTRY_STORAGE_S3_REGION: "eu-west-1",
      REGISTRY_STORAGE_S3_SECURE: true,
      REGISTRY_STORAGE_REDIRECT_DISABLE: true,
      REGISTRY_STORAGE_CACHE_BLOBDESCRIPTOR: "redis",
      REGISTRY_PROXY_REMOTEURL: "https://upstream.example",
      REGISTRY_REDIS_ADDR: "redis:6379",
      REGISTRY_REDIS_DB: 2,
    });
    // A YAML 1.1 boolean word given as a user name stays text.
    expect(readEnv(renderContainerEnv(full)).REGISTRY_PROXY_USERNAME).toBe("yes");
    expect(Object.keys(full).filter((k) => k.startsWith("REGISTRY_HTTP_TLS_CLIENTCAS"))).toEqual([
      "REGISTRY_HTTP_TLS_CLIENTCAS",
    ]);
    // An empty list asks for no client certificates: no variable at all.
    expect(registryEnv({ ...BASE, tls: { ...BASE.tls, clientCas: [] } })).toEqual(plain);
    expect(Object.keys(full).some((k) => k.startsWith("REGISTRY_STORAGE_FILESYSTEM"))).toBe(false);
  });

  test("sorted by key, whatever order the settings come in", () => {
    const list = renderContainerEnv({ REGISTRY_B: "b" }, { REGISTRY_C: "true", REGISTRY_A: "1" });
    // User values of unknown type stay plain so typed settings work; owned strings stay text.
    expect(list).toEqual(["REGISTRY_A=1", "REGISTRY_B=b", "REGISTRY_C=true"]);
    expect(renderContainerEnv({ REGISTRY_REALM: "true" })).toEqual(['REGISTRY_REALM="true"']);
    expect(renderContainerEnv(registryEnv(BASE))).toEqual(renderContainerEnv(registryEnv(BASE)));
  });
});

describe("renderEnvValue", () => {
  test.each([
    "abc",
    "10s",
    "true",
    "false",
    "5000",
    "0.5",
    "http://upstream.example:5000/x",
    "a\\b",
  ])("plain scalar %j is passed as is (typed settings keep working)", (value) => {
    expect(renderEnvValue(value)).toBe(value);
  });

  test.each(TRICKY)("%j is rendered so YAML 1.1 reads back exactly the text", (value) => {
    const rendered = renderEnvValue(value);
    const parsed = YAML.parse(rendered, { version: "1.1" });
    expect(parsed).toBe(value);
    expect(rendered).not.toMatch(/[\r\n]/);
  });

  test.each(["yes", "on", "off", "true", "10", "0x1f", "1e3", "null", ".inf"])(
    "as a string setting, %j stays text",
    (value) => {
      expect(YAML.parse(renderEnvValue(value, "string"), { version: "1.1" })).toBe(value);
    },
  );
});

describe("env files and the launcher", () => {
  test("secret-looking keys are recognised", () => {
    for (const key of [
      "REGISTRY_HTTP_SECRET",
      "REGISTRY_PROXY_PASSWORD",
      "REGISTRY_REDIS_PASSWORD",
      "REGISTRY_STORAGE_S3_SECRETKEY",
      "REGISTRY_STORAGE_S3_ACCESSKEY",
      "REGISTRY_NOTIFICATIONS_ENDPOINTS_0_HEADERS_AUTHORIZATION_TOKEN",
    ]) {
      expect([key, isSecretEnvKey(key)]).toEqual([key, true]);
    }
    for (const key of [
      "REGISTRY_STORAGE_MAINTENANCE_UPLOADPURGING_AGE",
      "REGISTRY_LOG_FORMATTER",
    ]) {
      expect([key, isSecretEnvKey(key)]).toEqual([key, false]);
    }
  });

  test("the launcher exports exactly the values written, then execs the registry with the config", () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "launcher-"));
    try {
      const envDir = path.join(dir, "env");
      fs.mkdirSync(envDir);
      const values: Record<string, string> = {};
      TRICKY.forEach((value, i) => {
        values[`REGISTRY_TEST_V${i}`] = value;
      });
      fs.writeFileSync(path.join(envDir, "all.env"), renderEnvFile(values));
      // A file without a trailing newline and a line that is not a REGISTRY_ setting.
      fs.writeFileSync(path.join(envDir, "z.env"), "NOT_REGISTRY=1\nREGISTRY_LAST=last");
      fs.writeFileSync(path.join(envDir, "ignored.txt"), "REGISTRY_IGNORED=1\n");
      // Stand-in registry binary: prints its arguments and the REGISTRY_ environment as JSON.
      const fakeRegistry = path.join(dir, "registry");
      fs.writeFileSync(
        fakeRegistry,
        `#!${process.execPath}\nconst env = Object.fromEntries(Object.entries(process.env).filter(([k]) => k.startsWith("REGISTRY_")));\nprocess.stdout.write(JSON.stringify({ argv: process.argv.slice(2), env }));\n`,
        { mode: 0o755 },
      );
      const script = LAUNCHER_SCRIPT.split(CONFIG_PATHS.envDir)
        .join(envDir)
        .split(CONFIG_PATHS.registryBinary)
        .join(fakeRegistry);
      const [shell, flag, , name] = launcherEntrypoint();
      const out = JSON.parse(
        execFileSync(shell, [flag, script, name], { env: { PATH: "/usr/bin:/bin" } }).toString(),
      );
      expect(out.argv).toEqual(["serve", CONFIG_PATHS.config]);
      const exported = out.env as Record<string, string>;
      expect(exported.REGISTRY_LAST).toBe("last");
      expect(exported.REGISTRY_IGNORED).toBeUndefined();
      expect(exported.NOT_REGISTRY).toBeUndefined();
      for (const [key, value] of Object.entries(values)) {
        // What distribution receives, parsed as distribution parses it, is the value given.
        expect([key, YAML.parse(exported[key], { version: "1.1" })]).toEqual([key, value]);
      }
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});
