/**
 * Pure decisions of the trust module: endpoint validation, JSON error locations, input defaults
 * and validation (check), and when an update is planned (diff).
 */
import { selfSignedCertificate } from "../support/certs";
import { certDirNames, endpointProblem, parseEndpoint } from "../../src/trust/endpoint";
import {
  caCertProblem,
  checkTrustInputs,
  stableJson,
  trustNeedsReplace,
  trustNeedsUpdate,
  UNKNOWN,
} from "../../src/trust/inputs";
import { detectIndent, findJsonSyntaxError, parseJsonObject } from "../../src/trust/json";

// Real files, locks and openssl on a machine other test runs share: generous, never a timing check.
jest.setTimeout(60_000);

let caPem: string;
let keyPem: string;
beforeAll(() => {
  ({ certPem: caPem, keyPem } = selfSignedCertificate("ca"));
});

describe("endpoint validation", () => {
  it.each([
    "registry.example.com",
    "registry.example.com:5000",
    "localhost:5000",
    "192.0.2.2:5000",
    "192.0.2.2",
    "[fd00::2]:5000",
    "[::1]",
    "[::ffff:192.0.2.2]:443",
    "a-b.c:65535",
  ])("accepts %j", (endpoint) => {
    expect(endpointProblem(endpoint)).toBeUndefined();
  });

  it.each([
    ["https://registry.example.com", /remove the scheme "https:\/\/"/],
    ["registry.example.com/team", /path separator/],
    ["../../etc", /"\.\." is not allowed/],
    ["registry .example.com", /whitespace/],
    ["registry.example.com:0", /port "0" must be a number from 1 to 65535/],
    ["registry.example.com:65536", /from 1 to 65535/],
    ["registry.example.com:05000", /without leading zeros/],
    ["registry.example.com:", /port "" must be/],
    ["fd00::2", /IPv6 address must be in brackets/],
    ["[fd00::2", /no closing "\]"/],
    ["[fd00::zz]:5000", /not an IPv6 address/],
    ["-bad.example.com", /neither a DNS name/],
    ["under_score.example.com", /neither a DNS name/],
    ["1.2.3", /neither a DNS name/],
    ["256.1.1.1", /neither a DNS name/],
    ["", /endpoint is empty/],
  ])("rejects %j naming the field and the fix", (endpoint, message) => {
    const problem = endpointProblem(endpoint);
    expect(problem).toMatch(/^endpoint /);
    expect(problem).toMatch(message);
  });

  it("names the field it validates", () => {
    expect(endpointProblem("a/b", "trust.endpoint")).toMatch(/^trust\.endpoint "a\/b"/);
  });

  it("splits host and port, IPv6 included", () => {
    expect(parseEndpoint("[fd00::2]:5000")).toEqual({ host: "[fd00::2]", port: 5000 });
    expect(parseEndpoint("[fd00::2]")).toEqual({ host: "[fd00::2]" });
    expect(parseEndpoint("r.test:5000")).toEqual({ host: "r.test", port: 5000 });
    expect(() => parseEndpoint("r.test/x")).toThrow(/endpoint/);
  });

  it("names both directories for the HTTPS port", () => {
    expect(certDirNames("r.test:443")).toEqual(["r.test", "r.test:443"]);
    expect(certDirNames("r.test")).toEqual(["r.test", "r.test:443"]);
    expect(certDirNames("r.test:5000")).toEqual(["r.test:5000"]);
  });
});

describe("JSON helpers", () => {
  it.each([
    ["{}", undefined],
    ['{"a": [1, -2.5e3, true, null, "x\\n\\u00e9"]}', undefined],
    ['{"a": 1,}', { line: 1, column: 9, problem: 'trailing "," before "}"' }],
    ["{\n  a: 1\n}", { line: 2, column: 3, problem: expect.stringMatching(/property name/) }],
    ['{"a": 1} x', { line: 1, column: 10, problem: expect.stringMatching(/after the end/) }],
    ['{"a": "b', { line: 1, column: 7, problem: "string is never closed" }],
    [
      '{"a": [1 2]}',
      { line: 1, column: 10, problem: 'expected "," or "]", found another character' },
    ],
    ['{"a":', { line: 1, column: 6, problem: expect.stringMatching(/found the end of the file/) }],
  ])("locates syntax errors in %j", (text, expected) => {
    expect(findJsonSyntaxError(text)).toEqual(expected);
    if (expected === undefined) expect(() => JSON.parse(text)).not.toThrow();
    else expect(() => JSON.parse(text)).toThrow();
  });

  it("detects the file's indentation", () => {
    expect(detectIndent('{\n\t"a": 1\n}', "  ")).toBe("\t");
    expect(detectIndent('{\n    "a": 1\n}', "\t")).toBe("    ");
    expect(detectIndent('{"a": 1}', "\t")).toBe("\t");
  });

  it("reads blank text as an empty object and refuses non-objects", () => {
    expect(parseJsonObject(" \n", "f", "  ").data).toEqual({});
    expect(() => parseJsonObject('"x"', "daemonConfigPath /d.json", "  ")).toThrow(
      /daemonConfigPath \/d\.json must hold a JSON object .* found a string/,
    );
  });
});

describe("caCertProblem", () => {
  it("accepts a certificate (and a bundle)", () => {
    expect(caCertProblem(caPem)).toBeUndefined();
    expect(caCertProblem(caPem + caPem)).toBeUndefined();
  });

  it("refuses a private key, garbage and nothing", () => {
    expect(caCertProblem(caPem + keyPem)).toMatch(/contains a private key/);
    expect(caCertProblem("hello")).toMatch(/no "-----BEGIN CERTIFICATE-----" block/);
    expect(caCertProblem("-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n")).toMatch(
      /#1 is not a valid X.509 certificate/,
    );
    expect(caCertProblem(undefined)).toMatch(/must be the registry CA certificate/);
  });
});

describe("checkTrustInputs", () => {
  it("applies every default except clientConfigPath, which stays unset", () => {
    const { inputs, failures } = checkTrustInputs({ endpoint: "r.test:5000", caCertPem: caPem });
    expect(failures).toEqual([]);
    expect(inputs).toEqual({
      endpoint: "r.test:5000",
      caCertPem: caPem,
      certsDirs: ["/etc/docker/certs.d"],
      insecure: false,
      daemonConfigPath: "/etc/docker/daemon.json",
      reloadDaemon: false,
      pidFile: "/var/run/docker.pid",
      adopt: false,
      // A state written before owners existed: a stable stand-in.
      owner: "legacy/r.test:5000",
    });
    expect("clientConfigPath" in inputs).toBe(false);
  });

  it("applies the runtimes' and the connection's defaults", () => {
    const { inputs, failures } = checkTrustInputs({
      endpoint: "r.test:5000",
      caCertPem: caPem,
      owner: "p/s/t",
      containerd: {},
      buildkit: {},
      connection: { host: "198.51.100.2" },
      connectionSecrets: { privateKey: "k" },
    });
    expect(failures).toEqual([]);
    expect(inputs).toMatchObject({
      owner: "p/s/t",
      containerd: {
        hostsDir: "/etc/containerd/certs.d",
        capabilities: ["pull", "resolve", "push"],
      },
      buildkit: { configPath: "/etc/buildkit/buildkitd.toml", certsDir: "/etc/buildkit/certs.d" },
      connection: {
        host: "198.51.100.2",
        port: 22,
        user: "root",
        dialErrorLimit: 10,
        perDialTimeout: 15,
      },
      connectionSecrets: { privateKey: "k" },
    });
  });

  it("reports bad runtime, client pair and connection fields by name", () => {
    const { failures } = checkTrustInputs({
      endpoint: "r.test:5000",
      caCertPem: caPem,
      clientCertPem: caPem,
      containerd: { hostsDir: "rel", capabilities: ["write"] },
      buildkit: { configPath: "x.toml" },
      connection: { host: "", port: 0, dialErrorLimit: 1000 },
    });
    expect(failures.map((f) => f.property).sort()).toEqual([
      "buildkit.configPath",
      "clientKeyPem",
      "connection.dialErrorLimit",
      "connection.host",
      "connection.port",
      "containerd.capabilities",
      "containerd.hostsDir",
    ]);
  });

  it("reports each bad field by name", () => {
    const { failures } = checkTrustInputs({
      endpoint: "https://r.test",
      certsDirs: ["relative/certs.d", "/ok", "/ok/"],
      daemonConfigPath: "daemon.json",
      insecure: "yes",
      login: { username: "a:b", password: "" },
    });
    expect(failures.map((f) => f.property).sort()).toEqual([
      "certsDirs[0]",
      "certsDirs[2]",
      "daemonConfigPath",
      "endpoint",
      "insecure",
      "login.password",
      "login.username",
    ]);
    for (const f of failures) expect(f.reason).toContain(f.property.replace(/\[\d\]$/, ""));
  });

  it("requires a CA unless insecure", () => {
    expect(checkTrustInputs({ endpoint: "r.test:5000" }).failures).toEqual([
      {
        property: "caCertPem",
        reason: expect.stringMatching(/caCertPem is required .* unless insecure/),
      },
    ]);
  });

  it("does not require a CA in insecure mode", () => {
    expect(checkTrustInputs({ endpoint: "r.test:5000", insecure: true }).failures).toEqual([]);
  });

  it("passes unknown values (preview) through unvalidated", () => {
    const { inputs, failures } = checkTrustInputs({
      endpoint: UNKNOWN,
      caCertPem: UNKNOWN,
      certsDirs: [UNKNOWN, "/etc/containers/certs.d"],
      login: { username: UNKNOWN, password: UNKNOWN },
    });
    expect(failures).toEqual([]);
    expect(inputs.certsDirs).toEqual([UNKNOWN, "/etc/containers/certs.d"]);
  });

  it("never quotes a password in a failure", () => {
    const { failures } = checkTrustInputs({
      endpoint: "r.test",
      caCertPem: caPem,
      login: { username: "", password: "hunter2-secret" },
    });
    expect(JSON.stringify(failures)).not.toContain("hunter2-secret");
  });
});

describe("trustNeedsUpdate", () => {
  const state = {
    endpoint: "r.test:5000",
    caCertPem: "pem",
    certsDirs: ["/etc/docker/certs.d"],
    insecure: false,
    daemonConfigPath: "/etc/docker/daemon.json",
    reloadDaemon: false,
    pidFile: "/var/run/docker.pid",
    login: { username: "u", password: "p" },
    adopt: false,
  };

  it("plans nothing when inputs are the same (key order aside) and nothing drifted", () => {
    const news = { ...state, login: { password: "p", username: "u" } };
    expect(trustNeedsUpdate({ ...state, files: ["/x"], drift: [] }, news)).toBe(false);
  });

  it.each([
    ["endpoint", "r.test:6000"],
    ["caCertPem", "other"],
    ["certsDirs", ["/etc/docker/certs.d", "/etc/containers/certs.d"]],
    ["insecure", true],
    ["login", { username: "u", password: "rotated" }],
    ["login", undefined],
    ["clientConfigPath", "/home/u/.docker/config.json"],
  ])("plans an update when %s changes", (key, value) => {
    expect(trustNeedsUpdate({ ...state, drift: [] }, { ...state, [key]: value })).toBe(true);
  });

  it("plans an update when refresh found drift", () => {
    expect(trustNeedsUpdate({ ...state, drift: ["/x/ca.crt is missing"] }, state)).toBe(true);
  });

  it("moving to another host is a replacement; rotating its key is not", () => {
    const on = (host: string) => ({ ...state, connection: { host, port: 22, user: "root" } });
    expect(trustNeedsReplace(on("198.51.100.2"), on("198.51.100.3"))).toBe(true);
    expect(trustNeedsReplace(state, on("198.51.100.2"))).toBe(true);
    expect(
      trustNeedsReplace(on("198.51.100.2"), {
        ...on("198.51.100.2"),
        connectionSecrets: { privateKey: "new" },
      }),
    ).toBe(false);
    expect(
      trustNeedsUpdate(on("198.51.100.2"), {
        ...on("198.51.100.2"),
        connectionSecrets: { privateKey: "new" },
      }),
    ).toBe(true);
  });

  it("compares objects regardless of key order", () => {
    expect(stableJson({ b: 1, a: [{ d: 1, c: 2 }] })).toBe('{"a":[{"c":2,"d":1}],"b":1}');
  });
});
