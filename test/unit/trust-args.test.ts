/**
 * RegistryClientTrust's argument checks at construction (issue 9 "Types and bad input"): every
 * option's type and shape, unknown keys, login without a password, the certs.d warning, and a
 * seeded property test that only InvalidInputErrors naming a changed field ever escape.
 */
import * as pulumi from "@pulumi/pulumi";
import fc from "fast-check";
import { selfSignedCertificate } from "../support/certs";
import { anyValue, expectOnlyInvalidInput, FUZZ_PARAMS, mutatedArgs } from "../support/fuzz";
import { containsSecret, outputOf, RecordingMocks } from "../support/mocks";
import { trustId } from "../../src/trust/apply";

// Real files, locks and openssl on a machine other test runs share: generous, never a timing check.
jest.setTimeout(60_000);

const mocks = new RecordingMocks();
pulumi.runtime.setMocks(mocks, "project", "stack", false);
const { RegistryClientTrust } = require("../../src/trust") as typeof import("../../src/trust");
const { InvalidInputError } = require("../../src/common") as typeof import("../../src/common");

const PASSWORD = "args-test-Pa55word";
const SSH_KEY =
  "-----BEGIN OPENSSH PRIVATE KEY-----\nnot-a-real-key\n-----END OPENSSH PRIVATE KEY-----";
let caPem: string;
let keyPem: string;
beforeAll(async () => {
  caPem = selfSignedCertificate("ca").certPem;
  keyPem = selfSignedCertificate("client").keyPem;
  // The dynamic provider is serialized once (and cached) when the first TrustFiles registers:
  // let that finish inside the test run rather than after it.
  await outputOf(new RegistryClientTrust("warm", { endpoint: "r.test", caCertPem: caPem }).files);
});
let warn: jest.SpyInstance;
beforeEach(() => {
  warn = jest.spyOn(pulumi.log, "warn").mockResolvedValue(undefined as never);
});
afterEach(() => jest.restoreAllMocks());

function valid(): Record<string, unknown> {
  return {
    endpoint: "registry.test:5000",
    caCertPem: caPem,
    certsDirs: ["/etc/docker/certs.d", "/etc/containers/certs.d"],
    insecure: false,
    daemonConfigPath: "/etc/docker/daemon.json",
    reloadDaemon: false,
    pidFile: "/var/run/docker.pid",
    login: { username: "ci-user", password: PASSWORD },
    clientConfigPath: "/root/.docker/config.json",
    adopt: false,
    clientCertPem: selfSignedCertificate("client").certPem,
    clientKeyPem: keyPem,
    containerd: { hostsDir: "/etc/containerd/certs.d", capabilities: ["pull", "resolve"] },
    buildkit: { configPath: "/etc/buildkit/buildkitd.toml", certsDir: "/etc/buildkit/certs.d" },
    connection: { host: "198.51.100.12", port: 22, user: "root", privateKey: SSH_KEY },
  };
}

function errorOf(args: Record<string, unknown>): InstanceType<typeof InvalidInputError> {
  try {
    new RegistryClientTrust("t", args as never);
  } catch (e) {
    if (e instanceof InvalidInputError) return e;
    throw e;
  }
  throw new Error("no error");
}

describe("RegistryClientTrust arguments", () => {
  it("accepts every option, and Outputs for lists and values", () => {
    expect(() => new RegistryClientTrust("ok", valid() as never)).not.toThrow();
    expect(
      () =>
        new RegistryClientTrust("ok2", {
          endpoint: pulumi.output("registry.test:5000"),
          caCertPem: pulumi.output(caPem),
          certsDirs: pulumi.output(["/etc/docker/certs.d"]),
          containerd: { capabilities: pulumi.output(["pull" as const]) },
          login: pulumi.secret({ username: "u", password: PASSWORD }),
        }),
    ).not.toThrow();
  });

  it.each([
    [{ hostnames: ["x"] }, "hostnames", /hostnames is not an option of RegistryClientTrust/],
    [{ certDirs: ["/etc/docker/certs.d"] }, "certDirs", /did you mean certsDirs\?/],
    [{ login: { username: "u" } }, "login.password", /login\.password is required with login/],
    [{ login: { password: PASSWORD } }, "login.username", /login\.username is required/],
    [
      { login: { username: "u", password: PASSWORD, pass: 1 } },
      "login.pass",
      /did you mean login\.password\?/,
    ],
    [{ login: null }, "login", /login is null, not an object/],
    [{ login: PASSWORD }, "login", /login is a string \(not shown\), not an object/],
    [
      { insecure: "false" },
      "insecure",
      /insecure is "false", not a boolean; use true or false \(without quotes\)/,
    ],
    [
      { certsDirs: "/etc/docker/certs.d" },
      "certsDirs",
      /certsDirs is "\/etc\/docker\/certs\.d", not a list/,
    ],
    [{ certsDirs: ["/etc/docker/certs.d", "/etc/docker/certs.d"] }, "certsDirs[1]", /listed twice/],
    [
      { clientKeyPem: undefined },
      "clientKeyPem",
      /clientKeyPem is missing: clientCertPem and clientKeyPem go together/,
    ],
    [
      { containerd: { hostsDir: "etc/containerd" } },
      "containerd.hostsDir",
      /must be an absolute path/,
    ],
    [
      { containerd: { capabilities: ["pull", "write"] } },
      "containerd.capabilities[1]",
      /"write" is not a containerd capability/,
    ],
    [{ buildkit: { config: "/x" } }, "buildkit.config", /did you mean buildkit\.configPath\?/],
    [{ insecure: true }, "insecure", /insecure cannot be combined with containerd/],
    [{ connection: { host: "h.test" } }, "connection.privateKey", /connection has no credential/],
    [
      { connection: { host: "h.test", password: PASSWORD, proxy: {} } },
      "connection.proxy",
      /not an option/,
    ],
    [
      { connection: { host: "not a host", password: PASSWORD } },
      "connection.host",
      /neither a valid DNS name nor an IP address/,
    ],
    [
      { connection: { host: "h.test", password: PASSWORD, port: 0 } },
      "connection.port",
      /not a whole number from 1 to 65535/,
    ],
    [
      { connection: { host: "h.test", password: PASSWORD, hostKey: "yes" } },
      "connection.hostKey",
      /neither a public key line/,
    ],
    [
      { connection: { host: "h.test", privateKeyPassword: PASSWORD } },
      "connection.privateKey",
      /no credential/,
    ],
  ])("refuses %j naming %s", (override, field, message) => {
    const error = errorOf({ ...valid(), ...override });
    expect(error.field).toBe(field);
    expect(error.message).toMatch(message);
    expect(error.message).toMatch(/^RegistryClientTrust "t": /);
  });

  it("never echoes a password, a key or a secret in a message", () => {
    const cases: Record<string, unknown>[] = [
      { login: { username: "a:b", password: PASSWORD } },
      { login: { username: "u", password: 12345678 } },
      { login: PASSWORD },
      { connection: { host: "h.test", password: 42 } },
      { connection: { host: "h.test", privateKey: ["x"], password: PASSWORD, port: "22" } },
      { clientKeyPem: PASSWORD },
    ];
    for (const override of cases) {
      const message = errorOf({ ...valid(), ...override }).message;
      expect(message).not.toContain(PASSWORD);
      expect(message).not.toContain("12345678");
      expect(message).not.toContain(keyPem.split("\n")[1]);
    }
  });

  it("warns when a certs dir does not end in certs.d, naming the likely intent", () => {
    new RegistryClientTrust("typo", { ...valid(), certsDirs: ["/etc/docker/cert.d"] } as never);
    expect(warn).toHaveBeenCalledWith(
      expect.stringMatching(
        /certsDirs\[0\] "\/etc\/docker\/cert\.d" does not end in "certs\.d" \(did you mean "\/etc\/docker\/certs\.d"\?\)/,
      ),
      expect.anything(),
    );
  });

  it("warns when connection.hostKey is not pinned", () => {
    new RegistryClientTrust("unpinned", valid() as never);
    expect(warn).toHaveBeenCalledWith(
      expect.stringMatching(/connection\.hostKey is not set/),
      expect.anything(),
    );
  });

  it("sends the connection's secrets as one secret input and the rest in plain sight", async () => {
    mocks.resources.length = 0;
    const trust = new RegistryClientTrust("remote", valid() as never);
    await outputOf(trust.files);
    const files = mocks.resources.find((r) => r.name === "remote-files")!;
    expect(containsSecret(files.inputs.connectionSecrets)).toBe(true);
    expect(containsSecret(files.inputs.clientKeyPem)).toBe(true);
    expect(files.inputs.connection).toEqual({ host: "198.51.100.12", port: 22, user: "root" });
    const outside = {
      ...files.inputs,
      connectionSecrets: undefined,
      clientKeyPem: undefined,
      login: undefined,
    };
    expect(JSON.stringify(outside)).not.toContain("not-a-real-key");
    expect(JSON.stringify(outside)).not.toContain(keyPem.split("\n")[1]);
    expect(files.inputs.owner).toBe("project/stack/remote-files");
  });

  it("names the resource after the endpoint and the host, so two hosts never collide", () => {
    const local = trustId({ endpoint: "r.test:5000" });
    const h1 = trustId({
      endpoint: "r.test:5000",
      connection: { host: "198.51.100.2", port: 22, user: "root" } as never,
    });
    const h2 = trustId({
      endpoint: "r.test:5000",
      connection: { host: "198.51.100.3", port: 22, user: "root" } as never,
    });
    expect(new Set([local, h1, h2]).size).toBe(3);
    expect(h1).toBe("trust-r.test:5000@root@198.51.100.2:22");
  });

  it("property: only InvalidInputErrors naming a changed field escape (seeded, 1000 constructions)", () => {
    const base = valid();
    const path = fc.constantFrom("/etc/docker/certs.d", "/etc/docker/cert.d", "relative", "/", "");
    fc.assert(
      fc.property(
        mutatedArgs(base, {
          certsDirs: fc.array(fc.oneof(path, anyValue), { maxLength: 3 }),
          login: fc.record({ username: anyValue, password: anyValue }, { requiredKeys: [] }),
          containerd: fc.record(
            {
              hostsDir: fc.oneof(path, anyValue),
              capabilities: fc.oneof(fc.array(anyValue, { maxLength: 2 }), anyValue),
            },
            { requiredKeys: [] },
          ),
          buildkit: fc.record(
            { configPath: fc.oneof(path, anyValue), certsDir: anyValue },
            { requiredKeys: [] },
          ),
          connection: fc.record(
            {
              host: fc.oneof(fc.constantFrom("h.test", "198.51.100.2", "::1"), anyValue),
              port: anyValue,
              user: anyValue,
              password: anyValue,
              privateKey: anyValue,
              hostKey: fc.oneof(
                fc.constantFrom("SHA256:" + "A".repeat(43), "ssh-ed25519 AAAAC3Nz"),
                anyValue,
              ),
              dialErrorLimit: anyValue,
              proxy: anyValue,
            },
            { requiredKeys: [] },
          ),
          endpoint: fc.constantFrom("registry.test", "[fd00::1]:5000", "https://x", "a/b", "x:0"),
        }),
        ({ args, mutated }) =>
          expectOnlyInvalidInput(() => new RegistryClientTrust("fuzz", args as never), mutated),
      ),
      FUZZ_PARAMS,
    );
  });
});
