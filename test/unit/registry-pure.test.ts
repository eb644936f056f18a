/**
 * The pure decisions behind SecureRegistry: endpoint, docker config, health check,
 * and the validators' messages. No Pulumi involved.
 */
import * as pulumi from "@pulumi/pulumi";
import {
  CONTAINER_PATHS,
  DEBUG_ADDR,
  formatEndpoint,
  registryHealthcheck,
  HEALTH_SCHEDULE,
  renderDockerConfigJson,
} from "../../src/registry/render";
import { validatePassword, validateUsers } from "../../src/auth/validate";
import { whenKnown } from "../../src/common/checks";
import { InvalidInputError } from "../../src/common/errors";
import { isDnsName } from "../../src/common/names";
import { validateHostname, validateHostOrIp, validatePort } from "../../src/common/validators";
import { validateEnvKey, validateProxyUrl } from "../../src/registry/validate";
import { validatePem, validateValidity } from "../../src/tls/validate";
import { outputOf, setupMocks } from "../support/mocks";

setupMocks();

const L = 'SecureRegistry "reg"';

describe("formatEndpoint", () => {
  test.each([
    ["localhost", 443, "localhost"],
    ["localhost", 5000, "localhost:5000"],
    ["reg.example.com", 8443, "reg.example.com:8443"],
    ["10.0.0.5", 443, "10.0.0.5"],
    ["fd00::5", 5000, "[fd00::5]:5000"],
    ["::1", 443, "[::1]"],
  ])("%s on %d is %s", (host, port, expected) => {
    expect(formatEndpoint(host, port)).toBe(expected);
  });
});

describe("renderDockerConfigJson", () => {
  test("has the auths entry docker login writes: base64(user:password)", () => {
    const json = JSON.parse(
      renderDockerConfigJson("reg.example:5000", { username: "ci", password: "p:w" }),
    );
    expect(json).toEqual({ auths: { "reg.example:5000": { auth: "Y2k6cDp3" } } });
    expect(Buffer.from(json.auths["reg.example:5000"].auth, "base64").toString()).toBe("ci:p:w");
  });
});

describe("registryHealthcheck", () => {
  test("probes the debug health endpoint and the main listener over loopback with wget", () => {
    const hc = registryHealthcheck();
    expect(hc.tests[0]).toBe("CMD-SHELL");
    expect(hc.tests[1]).toContain(`http://${DEBUG_ADDR}/debug/health`);
    expect(hc.tests[1]).toContain("http://127.0.0.1:5000/");
    expect(hc.tests[1]).not.toMatch(/curl|https:/);
  });

  test("first probe within a quarter second, also on engines that ignore startInterval", () => {
    const hc = registryHealthcheck();
    expect(hc.interval).toBe("250ms");
    expect(hc.startInterval).toBe("250ms");
    expect(hc.retries).toBeGreaterThan(0);
    // Durations as Go's Duration.String() prints them: the provider reads them back unchanged.
    for (const d of [hc.interval, hc.startInterval, hc.startPeriod, hc.timeout]) {
      expect(d).toMatch(/^(\d+ms|\d+s)$/);
    }
  });

  test("paces itself: checks at once while the registry is young, then every ~25 s", () => {
    const probe = registryHealthcheck().tests[1];
    // The registry's age: PID 1's start time against the probe's own, in clock ticks.
    expect(probe).toContain("/proc/1/stat");
    expect(probe).toContain("/proc/$$/stat");
    expect(probe).toContain(`-lt ${HEALTH_SCHEDULE.startPhaseSeconds * 100} ]`);
    expect(probe).toContain(`sleep ${HEALTH_SCHEDULE.steadySleepSeconds}; ready`);
    // The timeout leaves room for the sleep, and for the start loop's tries.
    const timeout = Number(registryHealthcheck().timeout.replace(/s$/, ""));
    expect(timeout).toBeGreaterThan(HEALTH_SCHEDULE.steadySleepSeconds + 10);
    expect(timeout).toBeGreaterThan(HEALTH_SCHEDULE.startTries * 0.1 + 10);
  });
});

test("container paths are distinct absolute paths", () => {
  const paths = Object.values(CONTAINER_PATHS);
  expect(new Set(paths).size).toBe(paths.length);
  for (const p of paths) expect(p.startsWith("/")).toBe(true);
});

describe("validators", () => {
  test("port: names the field, the problem and the fix", () => {
    expect(() => validatePort(L, "port", 70000)).toThrow(
      'SecureRegistry "reg": port 70000 is outside 1-65535; choose a free TCP port such as 5000 or 443.',
    );
    expect(() => validatePort(L, "port", 0)).toThrow(InvalidInputError);
    expect(() => validatePort(L, "port", 5000.5)).toThrow(/outside 1-65535/);
    expect(() => validatePort(L, "port", 1)).not.toThrow();
    expect(() => validatePort(L, "port", 65535)).not.toThrow();
  });

  test.each(["localhost", "reg.example.com", "a-b.c", "xn--bcher-kva.example", "A.B"])(
    "DNS name %s is accepted",
    (name) => expect(isDnsName(name)).toBe(true),
  );
  test.each([
    "",
    "-a.com",
    "a-.com",
    "a..b",
    "a b",
    "a_b.com",
    "reg.example.com.",
    "1.2.3.4",
    "*.x.com",
    "a".repeat(64),
  ])("DNS name %j is refused", (name) => expect(isDnsName(name)).toBe(false));

  test("hostname that is an IP points to ipAddresses", () => {
    expect(() => validateHostname(L, "additionalHostnames[0]", "10.0.0.5")).toThrow(
      /additionalHostnames\[0\] "10.0.0.5" is not a valid DNS name\. It is an IP address: put it in ipAddresses instead\./,
    );
    expect(() => validateHostOrIp(L, "hostname", "10.0.0.5")).not.toThrow();
    expect(() => validateHostOrIp(L, "hostname", "bad_name")).toThrow(
      /hostname "bad_name" is neither a valid DNS name nor an IP address/,
    );
  });

  test("password messages never contain the password", () => {
    const secret = "x".repeat(73);
    let message = "";
    try {
      validatePassword(L, "users[0].password", secret);
    } catch (e) {
      message = (e as Error).message;
    }
    expect(message).toContain(
      "users[0].password is 73 bytes (UTF-8) but bcrypt only uses the first 72",
    );
    expect(message).not.toContain(secret);
    // 72 bytes counted in UTF-8, not characters: 24 three-byte characters are fine, 25 are not.
    expect(() => validatePassword(L, "p", "€".repeat(24))).not.toThrow();
    expect(() => validatePassword(L, "p", "€".repeat(25))).toThrow(/75 bytes/);
  });

  test("users: empty list, duplicates and bad names", () => {
    expect(() => validateUsers(L, "users", [])).toThrow(/users is empty; list at least one user/);
    expect(() => validateUsers(L, "users", [{ username: "a" }, { username: "a" }])).toThrow(
      /users\[1\]\.username "a" duplicates users\[0\]; each user needs a unique name\./,
    );
    expect(() => validateUsers(L, "users", [{ username: "a b" }])).toThrow(
      /users\[0\]\.username "a b" contains whitespace.*"a-b"/,
    );
    expect(() => validateUsers(L, "users", [{ username: "a\tb" }])).toThrow(/whitespace/);
    expect(() => validateUsers(L, "users", [{ username: "a:b" }])).toThrow(/contains ':'/);
    expect(() => validateUsers(L, "users", [{ username: "" }])).toThrow(
      /users\[0\]\.username is empty/,
    );
    expect(() => validateUsers(L, "users", [{ username: "a", password: "" }])).toThrow(
      /users\[0\]\.password is empty/,
    );
    // Output passwords are checked when known, not here.
    expect(() =>
      validateUsers(L, "users", [{ username: "a", password: pulumi.output("") }]),
    ).not.toThrow();
  });

  test.each([
    ["REGISTRY_HTTP_ADDR", "port and bindAddress"],
    ["REGISTRY_HTTP_TLS_CERTIFICATE", "tls.certPem"],
    ["REGISTRY_HTTP_TLS_KEY", "tls.privateKeyPem"],
    ["REGISTRY_HTTP_TLS_MINIMUMTLS", "tls.minimumVersion"],
    ["REGISTRY_AUTH", "users and realm"],
    ["REGISTRY_AUTH_HTPASSWD_PATH", "users and realm"],
    ["REGISTRY_AUTH_HTPASSWD_REALM", "users and realm"],
    ["REGISTRY_LOG_LEVEL", "logLevel"],
    ["REGISTRY_STORAGE_DELETE_ENABLED", "storage.deleteEnabled"],
    ["REGISTRY_STORAGE_FILESYSTEM_ROOTDIRECTORY", "storage.volumeName"],
    ["REGISTRY_STORAGE_S3_BUCKET", "naming a second driver panics the registry"],
    ["REGISTRY_HTTP_SECRET", "use httpSecret"],
    ["REGISTRY_PROXY_REMOTEURL", "use proxy instead"],
    ["REGISTRY_PROXY_PASSWORD", "use proxy instead"],
    ["REGISTRY_HTTP_DEBUG_ADDR", "the health check needs it"],
  ])("env key %s is owned: the message says to use %s", (key, option) => {
    expect(() => validateEnvKey(L, "env", key)).toThrow(
      `${L}: env key ${key} would override a setting this component owns; use `,
    );
    expect(() => validateEnvKey(L, "env", key)).toThrow(option);
  });

  test.each(["REGISTRY_STORAGE_CACHE_BLOBDESCRIPTOR", "REGISTRY_HTTP_HEADERS_X"])(
    "env key %s is allowed",
    (key) => expect(() => validateEnvKey(L, "env", key)).not.toThrow(),
  );

  test.each(["HTTP_SECRET", "registry_http_secret", "REGISTRY_", "REGISTRY_HTTP-SECRET"])(
    "env key %s is not a registry setting",
    (key) =>
      expect(() => validateEnvKey(L, "env", key)).toThrow(
        `env key ${JSON.stringify(key)} is not a registry setting; env only takes REGISTRY_<SECTION>_<KEY> names`,
      ),
  );

  test.each(["ftp://x.example", "registry-1.docker.io", "https://", "http://a b"])(
    "proxy URL %s is refused",
    (url) =>
      expect(() => validateProxyUrl(L, "proxy.remoteUrl", url)).toThrow(/is not an http\(s\) URL/),
  );

  test("validity: renewal before expiry, CA outlives the certificate", () => {
    expect(() =>
      validateValidity(L, "tls.", { validityDays: 30, caValidityDays: 3650, earlyRenewalDays: 30 }),
    ).toThrow(/tls\.earlyRenewalDays 30 is not less than tls\.validityDays 30/);
    expect(() =>
      validateValidity(L, "tls.", { validityDays: 400, caValidityDays: 365, earlyRenewalDays: 30 }),
    ).toThrow(/tls\.caValidityDays 365 is shorter than tls\.validityDays 400/);
    expect(() =>
      validateValidity(L, "tls.", { validityDays: 0, caValidityDays: 365, earlyRenewalDays: 0 }),
    ).toThrow(/tls\.validityDays 0 is not a whole number of days >= 1/);
  });

  test("PEM shape check does not echo the value", () => {
    expect(() => validatePem(L, "tls.privateKeyPem", "/path/to/key.pem", "PRIVATE KEY")).toThrow(
      /tls\.privateKeyPem is not a PEM private key .*pass the file's contents, not its path\./,
    );
    try {
      validatePem(L, "tls.privateKeyPem", "s3cret-not-a-key", "PRIVATE KEY");
    } catch (e) {
      expect((e as Error).message).not.toContain("s3cret");
    }
  });

  test("whenKnown checks a plain value now and an Output once known", async () => {
    const check = (v: number) => validatePort(L, "port", v);
    expect(() => whenKnown(70000, check)).toThrow(/port 70000 is outside/);
    expect(whenKnown(5000, check)).toBe(5000);
    expect(await outputOf(whenKnown(pulumi.output(5000), check) as pulumi.Output<number>)).toBe(
      5000,
    );
    // A failed check also rejects the Output's isKnown/isSecret promises; in a program the Pulumi
    // runtime reports that as the deployment's error. Here they are observed instead.
    const checked = whenKnown(pulumi.output(70000), check) as pulumi.Output<number>;
    const internal = checked as unknown as {
      isKnown: Promise<boolean>;
      isSecret: Promise<boolean>;
    };
    await expect(internal.isKnown).rejects.toThrow(/port 70000/);
    await expect(internal.isSecret).rejects.toThrow(/port 70000/);
    await expect(outputOf(checked)).rejects.toThrow(
      'SecureRegistry "reg": port 70000 is outside 1-65535; choose a free TCP port such as 5000 or 443.',
    );
  });
});
