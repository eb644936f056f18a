/**
 * RegistryClientTrust under Pulumi mocks. The TrustFiles dynamic resource is answered by the real
 * provider (check + create) on a temp directory, so the outputs are what a deployment produces.
 */
import * as pulumi from "@pulumi/pulumi";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { selfSignedCertificate } from "../support/certs";
import { containsSecret, isSecretOutput, outputOf, unwrapSecrets } from "../support/mocks";
import { TRUST_FILES_TYPE, TrustMocks } from "../support/trust-mocks";

const PASSWORD = "component-test-Pa55word";

// The first TrustFiles serializes the dynamic provider (seconds on a loaded machine).
jest.setTimeout(60_000);
const mocks = new TrustMocks();
pulumi.runtime.setMocks(mocks, "project", "stack", false);
const { RegistryClientTrust } = require("../../src/trust") as typeof import("../../src/trust");
const { InvalidInputError } = require("../../src/common") as typeof import("../../src/common");

let tmp: string;
let caPem: string;
beforeAll(() => {
  caPem = selfSignedCertificate("ca").certPem;
});
beforeEach(() => {
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), "trust-component-"));
  mocks.clear();
});
afterEach(async () => {
  await mocks.settle();
  jest.restoreAllMocks();
  fs.rmSync(tmp, { recursive: true, force: true });
});

describe("RegistryClientTrust", () => {
  it("writes the CA and login, outputs the files and a password-free login command", async () => {
    const trust = new RegistryClientTrust("reg", {
      endpoint: "registry.test:5000",
      caCertPem: caPem,
      certsDirs: [path.join(tmp, "docker", "certs.d"), path.join(tmp, "containers", "certs.d")],
      login: { username: "ci-user", password: pulumi.secret(PASSWORD) },
      clientConfigPath: path.join(tmp, "config.json"),
    });
    expect(await outputOf(trust.files)).toEqual([
      path.join(tmp, "config.json"),
      path.join(tmp, "containers", "certs.d", "registry.test:5000", "ca.crt"),
      path.join(tmp, "docker", "certs.d", "registry.test:5000", "ca.crt"),
    ]);
    const command = await outputOf(trust.loginCommand);
    expect(command).toBe("docker login registry.test:5000 --username ci-user --password-stdin");
    expect(await isSecretOutput(trust.loginCommand)).toBe(false);
    expect(
      fs.readFileSync(path.join(tmp, "docker", "certs.d", "registry.test:5000", "ca.crt"), "utf8"),
    ).toBe(caPem.trim() + "\n");

    const component = mocks.find("secure-registry:trust:RegistryClientTrust");
    expect(component.name).toBe("reg");
    const files = mocks.find(TRUST_FILES_TYPE);
    expect(files.name).toBe("reg-files");
  });

  it("sends the login to the provider as a secret, even when the password was plain", async () => {
    const trust = new RegistryClientTrust("reg", {
      endpoint: "registry.test:5000",
      caCertPem: caPem,
      certsDirs: [path.join(tmp, "certs.d")],
      login: { username: "ci-user", password: PASSWORD },
      clientConfigPath: path.join(tmp, "config.json"),
    });
    await outputOf(trust.files);
    const inputs = mocks.find(TRUST_FILES_TYPE).inputs;
    expect(containsSecret(inputs.login)).toBe(true);
    // Outside the secret wrapper the password appears nowhere in the inputs.
    const withoutLogin = { ...inputs, login: undefined };
    expect(JSON.stringify(withoutLogin)).not.toContain(PASSWORD);
    expect(await outputOf(trust.loginCommand)).not.toContain(PASSWORD);
  });

  it("keeps loginCommand readable when the whole login is a secret Output (issue 14)", async () => {
    const trust = new RegistryClientTrust("reg", {
      endpoint: "registry.test:5000",
      caCertPem: caPem,
      certsDirs: [path.join(tmp, "certs.d")],
      login: pulumi.secret({ username: "ci-user", password: PASSWORD }),
      clientConfigPath: path.join(tmp, "config.json"),
    });
    expect(await outputOf(trust.loginCommand)).toBe(
      "docker login registry.test:5000 --username ci-user --password-stdin",
    );
    expect(await isSecretOutput(trust.loginCommand)).toBe(false);
    await outputOf(trust.files);
    expect(containsSecret(mocks.find(TRUST_FILES_TYPE).inputs.login)).toBe(true);
  });

  it("keeps machine paths out of the inputs when clientConfigPath is defaulted", async () => {
    const trust = new RegistryClientTrust("reg", {
      endpoint: "registry.test:5000",
      caCertPem: caPem,
      certsDirs: [path.join(tmp, "certs.d")],
    });
    await outputOf(trust.files);
    const inputs = mocks.find(TRUST_FILES_TYPE).inputs;
    expect(inputs.clientConfigPath).toBeUndefined();
    expect(JSON.stringify(unwrapSecrets(inputs))).not.toContain(os.homedir() + "/");
    expect(await outputOf(trust.loginCommand)).toBe("docker login registry.test:5000");
  });

  it("warns at construction that insecure mode turns certificate checks off", async () => {
    const warn = jest.spyOn(pulumi.log, "warn").mockResolvedValue(undefined as never);
    const trust = new RegistryClientTrust("reg", {
      endpoint: "registry.test:5000",
      insecure: true,
      daemonConfigPath: path.join(tmp, "daemon.json"),
    });
    expect(warn).toHaveBeenCalledTimes(1);
    expect(warn.mock.calls[0][0]).toMatch(
      /insecure: true turns certificate checks off for registry\.test:5000.*insecure-registries in .*daemon\.json/,
    );
    expect(warn.mock.calls[0][1]).toBe(trust);
    expect(await outputOf(trust.files)).toEqual([path.join(tmp, "daemon.json")]);
    expect(JSON.parse(fs.readFileSync(path.join(tmp, "daemon.json"), "utf8"))).toEqual({
      "insecure-registries": ["registry.test:5000"],
    });
  });

  it("does not warn in the default (CA) mode", async () => {
    const warn = jest.spyOn(pulumi.log, "warn").mockResolvedValue(undefined as never);
    const trust = new RegistryClientTrust("reg", {
      endpoint: "registry.test:5000",
      caCertPem: caPem,
      certsDirs: [path.join(tmp, "certs.d")],
    });
    await outputOf(trust.files);
    expect(warn).not.toHaveBeenCalled();
  });

  it("warns when insecure arrives as an Output", async () => {
    const warn = jest.spyOn(pulumi.log, "warn").mockResolvedValue(undefined as never);
    const trust = new RegistryClientTrust("reg", {
      endpoint: pulumi.output("registry.test:5000"),
      insecure: pulumi.output(true),
      daemonConfigPath: path.join(tmp, "daemon.json"),
    });
    await outputOf(trust.files);
    expect(warn).toHaveBeenCalledWith(expect.stringMatching(/turns certificate checks off/), trust);
  });

  it.each([
    [
      { endpoint: "https://registry.test" },
      /endpoint "https:\/\/registry\.test" is not host\[:port\]: remove the scheme/,
    ],
    [{ endpoint: "registry.test/x" }, /path separator/],
    [{ certsDirs: ["certs.d"] }, /certsDirs\[0\] "certs\.d" must be an absolute path/],
    [{ caCertPem: undefined }, /caCertPem is required .* unless insecure is true/],
    [
      { caCertPem: "-----BEGIN PRIVATE KEY-----\nx\n-----END PRIVATE KEY-----" },
      /contains a private key/,
    ],
    [{ clientConfigPath: "~/.docker/config.json" }, /clientConfigPath .* must be an absolute path/],
    [{ login: { username: "a:b", password: "x" } }, /login\.username must not contain ":"/],
  ])("refuses %j at construction, before any resource exists", (override, message) => {
    const args = {
      endpoint: "registry.test:5000",
      caCertPem: caPem,
      ...override,
    };
    expect(() => new RegistryClientTrust("bad", args)).toThrow(message);
    expect(() => new RegistryClientTrust("bad", args)).toThrow(InvalidInputError);
    expect(() => new RegistryClientTrust("bad", args)).toThrow(/^RegistryClientTrust "bad": /);
    expect(mocks.resources).toEqual([]);
  });

  it("never puts the password into a construction error", () => {
    let message = "";
    try {
      new RegistryClientTrust("bad", {
        endpoint: "registry.test:5000",
        caCertPem: caPem,
        login: { username: "", password: PASSWORD },
      });
    } catch (e) {
      message = (e as Error).message;
    }
    expect(message).toMatch(/login\.username is empty/);
    expect(message).not.toContain(PASSWORD);
  });
});
