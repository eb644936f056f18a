/**
 * SecureRegistry with mTLS and `trust` under mocks: the RegistryClientTrust child receives the
 * chosen issued client's pair (the key as a secret), and the real trust provider logic writes it as
 * certs.d `client.cert` / `client.key` (and into containerd's hosts.toml) in a temp directory.
 */
import * as pulumi from "@pulumi/pulumi";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import * as TOML from "smol-toml";
import { selfSignedCertificate } from "../support/certs";
import { containsSecret, outputOf, unwrapSecrets } from "../support/mocks";
import { TRUST_FILES_TYPE, TrustMocks } from "../support/trust-mocks";

// Real keys and certificates (openssl) on a shared 2-core machine.
jest.setTimeout(60_000);

const mocks = new TrustMocks();
pulumi.runtime.setMocks(mocks, "project", "stack", false);
const { SecureRegistry } = require("../../src/registry") as typeof import("../../src/registry");

let tmp: string;
beforeEach(() => {
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), "mtls-trust-"));
  mocks.clear();
});
afterEach(async () => {
  jest.restoreAllMocks();
  // The provider may still be writing into tmp after a failed or timed-out test.
  await mocks.settle();
  fs.rmSync(tmp, { recursive: true, force: true });
});

const ENDPOINT = "registry.test:5443";
const base = { hostname: "registry.test", port: 5443 };

/** Declares the registry and waits for the trust files and the client certificates. */
async function declare(name: string, args: Parameters<typeof newRegistry>[1]) {
  const registry = newRegistry(name, args);
  const [files, pairs] = await Promise.all([
    outputOf(registry.trust!.files),
    outputOf(registry.clientCertificates),
    outputOf(registry.container.id),
    outputOf(registry.healthy.id),
  ]);
  expect(mocks.rejections).toEqual([]);
  return { registry, files, pairs };
}

function newRegistry(
  name: string,
  args: ConstructorParameters<typeof SecureRegistry>[1],
): InstanceType<typeof SecureRegistry> {
  return new SecureRegistry(name, {
    ...base,
    ...args,
    tls: { keyAlgorithm: "ECDSA", ...args?.tls },
  });
}

const read = (file: string) => fs.readFileSync(file, "utf8");
const mode = (file: string) => fs.statSync(file).mode & 0o777;

describe("SecureRegistry mTLS with trust", () => {
  it("installs the first issued client's pair next to the CA, the key 0600 and secret", async () => {
    const certsDir = path.join(tmp, "certs.d");
    const { files, pairs } = await declare("reg", {
      tls: { clientCertificates: ["ci", "node-1"] },
      trust: { certsDirs: [certsDir] },
    });
    const dir = path.join(certsDir, ENDPOINT);
    expect(files).toEqual(
      ["ca.crt", "client.cert", "client.key"].map((f) => path.join(dir, f)).sort(),
    );
    expect(read(path.join(dir, "client.cert"))).toBe(pairs[0].certPem.trim() + "\n");
    expect(read(path.join(dir, "client.key"))).toBe(pairs[0].privateKeyPem.trim() + "\n");
    expect(mode(path.join(dir, "client.key"))).toBe(0o600);
    expect(mode(path.join(dir, "client.cert"))).toBe(0o644);

    const trustFiles = mocks.find(TRUST_FILES_TYPE);
    expect(containsSecret(trustFiles.inputs.clientKeyPem)).toBe(true);
    expect(unwrapSecrets(trustFiles.inputs.clientCertPem)).toBe(pairs[0].certPem);
  });

  it("trust.clientCertificate picks another client; containerd's hosts.toml names the pair", async () => {
    const certsDir = path.join(tmp, "certs.d");
    const hostsDir = path.join(tmp, "containerd");
    const { pairs } = await declare("pick", {
      tls: { clientCertificates: ["ci", "node-1"] },
      trust: { certsDirs: [certsDir], containerd: { hostsDir }, clientCertificate: "node-1" },
    });
    const node = pairs.find((p) => p.name === "node-1")!;
    expect(read(path.join(certsDir, ENDPOINT, "client.cert"))).toBe(node.certPem.trim() + "\n");
    const hosts = TOML.parse(read(path.join(hostsDir, ENDPOINT, "hosts.toml"))) as {
      host: Record<string, { client?: unknown }>;
    };
    expect(hosts.host[`https://${ENDPOINT}`].client).toEqual([
      [path.join(hostsDir, ENDPOINT, "client.cert"), path.join(hostsDir, ENDPOINT, "client.key")],
    ]);
    expect(read(path.join(hostsDir, ENDPOINT, "client.key"))).toBe(
      node.privateKeyPem.trim() + "\n",
    );
  });

  it("passes the user's own pair through instead, when given", async () => {
    const own = selfSignedCertificate("mtls-own-client");
    const certsDir = path.join(tmp, "certs.d");
    await declare("own", {
      tls: { clientCertificates: ["ci"] },
      trust: { certsDirs: [certsDir], clientCertPem: own.certPem, clientKeyPem: own.keyPem },
    });
    expect(read(path.join(certsDir, ENDPOINT, "client.cert"))).toBe(own.certPem.trim() + "\n");
    expect(containsSecret(mocks.find(TRUST_FILES_TYPE).inputs.clientKeyPem)).toBe(true);
  });

  it("warns when the registry requires client certificates but trust installs none", async () => {
    const warn = jest.spyOn(pulumi.log, "warn").mockImplementation(async () => undefined);
    const external = selfSignedCertificate("mtls-external-ca");
    const certsDir = path.join(tmp, "certs.d");
    const { files } = await declare("nopair", {
      tls: { clientCaCertPem: external.certPem },
      trust: { certsDirs: [certsDir] },
    });
    expect(files).toEqual([path.join(certsDir, ENDPOINT, "ca.crt")]);
    const messages = warn.mock.calls.map((c) => String(c[0]));
    expect(messages.filter((m) => m.includes("trust installs none on the host"))).toHaveLength(1);
  });

  it("gives an insecure trust no pair (it writes no certs.d files) and warns", async () => {
    const warn = jest.spyOn(pulumi.log, "warn").mockImplementation(async () => undefined);
    const daemonConfigPath = path.join(tmp, "daemon.json");
    const { files } = await declare("insecure", {
      tls: { clientCertificates: ["ci"] },
      trust: { insecure: true, daemonConfigPath },
    });
    expect(files).toEqual([daemonConfigPath]);
    expect(mocks.find(TRUST_FILES_TYPE).inputs.clientCertPem).toBeUndefined();
    const messages = warn.mock.calls.map((c) => String(c[0]));
    expect(messages.filter((m) => m.includes("trust installs none on the host"))).toHaveLength(1);
  });

  it("installs no client pair and does not warn without mTLS", async () => {
    const warn = jest.spyOn(pulumi.log, "warn").mockImplementation(async () => undefined);
    const certsDir = path.join(tmp, "certs.d");
    const { files } = await declare("nomtls", { trust: { certsDirs: [certsDir] } });
    expect(files).toEqual([path.join(certsDir, ENDPOINT, "ca.crt")]);
    expect(mocks.find(TRUST_FILES_TYPE).inputs.clientCertPem).toBeUndefined();
    expect(warn.mock.calls.map((c) => String(c[0])).join("\n")).not.toMatch(/client cert/);
  });
});
