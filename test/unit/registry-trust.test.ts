/**
 * SecureRegistry's `trust` option under mocks: the RegistryClientTrust child gets the registry's
 * own endpoint and CA, `login: true` logs in as the first user (secret all the way), and a bad
 * trust option fails before any resource exists. The trust files are written by the real provider
 * logic into a temp directory.
 */
import * as pulumi from "@pulumi/pulumi";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { containsSecret, isSecretOutput, outputOf } from "../support/mocks";
import { TRUST_FILES_TYPE, TrustMocks } from "../support/trust-mocks";

// The first TrustFiles serializes the dynamic provider (seconds on a loaded machine).
jest.setTimeout(60_000);
const mocks = new TrustMocks();
pulumi.runtime.setMocks(mocks, "project", "stack", false);
const { SecureRegistry } = require("../../src/registry") as typeof import("../../src/registry");

let tmp: string;
beforeEach(() => {
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), "registry-trust-"));
  mocks.clear();
});
afterEach(async () => {
  // The provider may still be writing into tmp when a test ends early.
  await mocks.settle();
  fs.rmSync(tmp, { recursive: true, force: true });
});

const ecdsa = { keyAlgorithm: "ECDSA" as const };

describe("SecureRegistry trust", () => {
  it("declares no trust and touches no host file by default", async () => {
    const registry = new SecureRegistry("plain", { tls: ecdsa });
    await Promise.all([
      outputOf(registry.container.id),
      outputOf(registry.healthy.id),
      outputOf(registry.healthy.id),
    ]);
    expect(registry.trust).toBeUndefined();
    expect(mocks.findAll("secure-registry:trust:RegistryClientTrust")).toEqual([]);
  });

  it("trusts the registry's own CA under its endpoint and logs in as the first user", async () => {
    const configPath = path.join(tmp, "config.json");
    const registry = new SecureRegistry("reg", {
      hostname: "registry.test",
      port: 5443,
      users: [{ username: "ci" }, { username: "dev" }],
      tls: ecdsa,
      trust: { certsDirs: [path.join(tmp, "certs.d")], login: true, clientConfigPath: configPath },
    });
    const [files, command, ca, credentials] = await Promise.all([
      outputOf(registry.trust!.files),
      outputOf(registry.trust!.loginCommand),
      outputOf(registry.caCertPem),
      outputOf(registry.credentials),
    ]);

    const caFile = path.join(tmp, "certs.d", "registry.test:5443", "ca.crt");
    expect(files).toEqual([caFile, configPath]);
    expect(fs.readFileSync(caFile, "utf8")).toBe(ca.trim() + "\n");
    const auth = JSON.parse(fs.readFileSync(configPath, "utf8")).auths["registry.test:5443"].auth;
    expect(Buffer.from(auth, "base64").toString()).toBe(`ci:${credentials[0].password}`);
    expect(command).toBe("docker login registry.test:5443 --username ci --password-stdin");
    // Issue 14: the login is a secret, the command (no password in it) stays readable.
    expect(await isSecretOutput(registry.trust!.loginCommand)).toBe(false);

    const child = mocks.find("secure-registry:trust:RegistryClientTrust");
    expect(child.name).toBe("reg-trust");
    expect(containsSecret(mocks.find(TRUST_FILES_TYPE).inputs.login)).toBe(true);
  });

  it("passes explicit login credentials through as a secret", async () => {
    const registry = new SecureRegistry("explicit", {
      tls: ecdsa,
      trust: {
        certsDirs: [path.join(tmp, "certs.d")],
        clientConfigPath: path.join(tmp, "config.json"),
        login: { username: "robot", password: "robot-Pa55word" },
      },
    });
    await Promise.all([outputOf(registry.trust!.files), outputOf(registry.container.id)]);
    expect(containsSecret(mocks.find(TRUST_FILES_TYPE).inputs.login)).toBe(true);
  });

  it.each([undefined, null, false])("trust: %p leaves this host alone", async (trust) => {
    const registry = new SecureRegistry("off", { tls: ecdsa, trust: trust as never });
    await Promise.all([
      outputOf(registry.container.id),
      outputOf(registry.healthy.id),
      outputOf(registry.healthy.id),
    ]);
    expect(registry.trust).toBeUndefined();
    expect(mocks.findAll(TRUST_FILES_TYPE)).toEqual([]);
  });

  it.each([true, 0, 1, "no", "false", "true", [], () => 1])(
    "trust: %p is refused (only an object turns trust on)",
    async (trust) => {
      expect(() => new SecureRegistry("bad", { tls: ecdsa, trust: trust as never })).toThrow(
        /SecureRegistry "bad": trust is .*; pass an object such as \{ login: true \}/,
      );
      const sentinel = new pulumi.ComponentResource("test:index:Sentinel", "sentinel");
      await outputOf(sentinel.urn);
      expect(mocks.resources.map((r) => r.name)).toEqual(["sentinel"]);
    },
  );

  it("refuses a bad trust option before any resource exists", async () => {
    expect(
      () => new SecureRegistry("bad", { tls: ecdsa, trust: { certsDirs: ["relative/certs.d"] } }),
    ).toThrow(/certsDirs\[0\].*absolute/);
    expect(
      () => new SecureRegistry("bad2", { tls: ecdsa, trust: { login: "yes" as never } }),
    ).toThrow(
      /trust\.login is a string \(not shown\); use true to log in as the first user, false for no login, or \{ username, password \}/,
    );
    const sentinel = new pulumi.ComponentResource("test:index:Sentinel", "sentinel");
    await outputOf(sentinel.urn);
    expect(mocks.resources.map((r) => r.name)).toEqual(["sentinel"]);
  });
});
