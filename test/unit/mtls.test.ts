/**
 * Mutual TLS under mocks (real keys and certificates): RegistryClientCertificates issues
 * client-only certificates from a CA, RegistryCertificates hands out its CA key only when it made
 * the CA, and SecureRegistry's `tls.clientCertificates` / `tls.clientCaCertPem` upload the client
 * CAs, set `http.tls.clientcas` and output the pairs as a secret. Bad input fails before any
 * resource exists, with an InvalidInputError naming the field.
 */
import * as pulumi from "@pulumi/pulumi";
import * as crypto from "crypto";
import * as YAML from "yaml";
import { InvalidInputError } from "../../src/common";
import { SecureRegistry, SecureRegistryArgs } from "../../src/registry";
import {
  CLIENT_CA_PATHS,
  clientCaBundleProblem,
  planClientAuth,
} from "../../src/registry/clientAuth";
import {
  CLIENT_ALLOWED_USES,
  RegistryCertificates,
  RegistryClientCertificates,
  RegistryClientCertificatesArgs,
} from "../../src/tls";
import { selfSignedCertificate } from "../support/certs";
import {
  containsSecret,
  DeclaredResource,
  isSecretOutput,
  outputOf,
  RecordingMocks,
  setupMocks,
  unwrapSecrets,
} from "../support/mocks";

// Real keys and certificates (openssl) on a shared 2-core machine.
jest.setTimeout(60_000);

const KEY = "tls:index/privateKey:PrivateKey";
const CSR = "tls:index/certRequest:CertRequest";
const SIGNED = "tls:index/locallySignedCert:LocallySignedCert";
const CONTAINER = "docker:index/container:Container";
/** The OID of the TLS client authentication extended key usage. */
const CLIENT_AUTH_OID = "1.3.6.1.5.5.7.3.2";

let mocks: RecordingMocks;
beforeEach(() => {
  mocks = setupMocks();
});

async function expectNothingRegistered(): Promise<void> {
  const sentinel = new pulumi.ComponentResource("test:index:Sentinel", "sentinel");
  await outputOf(sentinel.urn);
  expect(mocks.resources.map((r) => r.name)).toEqual(["sentinel"]);
}

/**
 * Waits for every Output a component exposes, then one turn of the event loop, so its
 * registerOutputs reaches this test's mock monitor (not the next test's).
 */
async function settled(component: pulumi.ComponentResource): Promise<void> {
  const outputs = Object.values(component).filter((v) => pulumi.Output.isInstance(v));
  await Promise.all([outputOf(component.urn), ...outputs.map((o) => outputOf(o))]);
  await new Promise((resolve) => setImmediate(resolve));
}

/** The InvalidInputError `build` throws; fails the test when it throws nothing or another error. */
function invalidInput(build: () => unknown): InvalidInputError {
  try {
    build();
  } catch (err) {
    if (err instanceof InvalidInputError) return err;
    throw err;
  }
  throw new Error("expected an InvalidInputError, but construction succeeded");
}

/** A CA (certificate and key) made by RegistryCertificates in an earlier "run". */
async function generatedCa(name: string): Promise<{ caCertPem: string; caPrivateKeyPem: string }> {
  const certs = new RegistryCertificates(name, { keyAlgorithm: "ECDSA" });
  await settled(certs);
  const ca = {
    caCertPem: await outputOf(certs.caCertPem),
    caPrivateKeyPem: await outputOf(certs.caPrivateKeyPem!),
  };
  mocks.clear();
  return ca;
}

function expectClientCertificate(
  certPem: string,
  keyPem: string,
  caPem: string,
  commonName: string,
): crypto.X509Certificate {
  const cert = new crypto.X509Certificate(certPem);
  const ca = new crypto.X509Certificate(caPem);
  expect(cert.checkIssued(ca)).toBe(true);
  expect(cert.verify(ca.publicKey)).toBe(true);
  expect(cert.checkPrivateKey(crypto.createPrivateKey(keyPem))).toBe(true);
  expect(cert.ca).toBe(false);
  // Client authentication only: it cannot pass as a server certificate.
  expect(cert.keyUsage).toEqual([CLIENT_AUTH_OID]);
  expect(cert.subject).toContain(`CN=${commonName}`);
  return cert;
}

describe("RegistryCertificates.caPrivateKeyPem", () => {
  test("is the generated CA's key, as a secret", async () => {
    const certs = new RegistryCertificates("gen", { keyAlgorithm: "ECDSA" });
    await settled(certs);
    expect(certs.caPrivateKeyPem).toBeDefined();
    expect(await isSecretOutput(certs.caPrivateKeyPem!)).toBe(true);
    const ca = new crypto.X509Certificate(await outputOf(certs.caCertPem));
    expect(
      ca.checkPrivateKey(crypto.createPrivateKey(await outputOf(certs.caPrivateKeyPem!))),
    ).toBe(true);
  });

  test("is undefined with your own certificate (the component never sees that CA's key)", async () => {
    const source = new RegistryCertificates("source", { keyAlgorithm: "ECDSA" });
    await settled(source);
    const own = {
      certPem: await outputOf(source.certPem),
      privateKeyPem: await outputOf(source.privateKeyPem),
      caCertPem: await outputOf(source.caCertPem),
    };
    const certs = new RegistryCertificates("own", own);
    await settled(certs);
    expect(certs.caPrivateKeyPem).toBeUndefined();
  });
});

describe("RegistryClientCertificates", () => {
  test("ECDSA: a P-256 key and a client-only certificate per client, signed by the CA", async () => {
    const ca = await generatedCa("ca-ec");
    const issued = new RegistryClientCertificates("clients", {
      clients: ["ci", "node-1"],
      ...ca,
      keyAlgorithm: "ECDSA",
      validityDays: 90,
      earlyRenewalDays: 10,
      organization: "Example Corp",
    });
    await settled(issued);
    const all = await outputOf(issued.certificates);
    expect(mocks.rejections).toEqual([]);
    expect(all.map((c) => c.name)).toEqual(["ci", "node-1"]);
    for (const c of all) {
      const cert = expectClientCertificate(c.certPem, c.privateKeyPem, ca.caCertPem, c.name);
      expect(cert.subject).toContain("O=Example Corp");
      expect(crypto.createPrivateKey(c.privateKeyPem).asymmetricKeyDetails?.namedCurve).toBe(
        "prime256v1",
      );
    }
    expect(mocks.findAll(KEY).map((k) => [k.name, k.inputs])).toEqual([
      ["clients-ci-key", { algorithm: "ECDSA", ecdsaCurve: "P256" }],
      ["clients-node-1-key", { algorithm: "ECDSA", ecdsaCurve: "P256" }],
    ]);
    expect(mocks.findAll(CSR).map((r) => r.name)).toEqual(["clients-ci-csr", "clients-node-1-csr"]);
    for (const signed of mocks.findAll(SIGNED)) {
      const inputs = unwrapSecrets(signed.inputs);
      expect(inputs.allowedUses).toEqual(CLIENT_ALLOWED_USES);
      expect(inputs.allowedUses).toEqual(["digital_signature", "client_auth"]);
      expect(inputs.validityPeriodHours).toBe(90 * 24);
      expect(inputs.earlyRenewalHours).toBe(10 * 24);
      expect(inputs.caCertPem).toBe(ca.caCertPem);
      // The CA key was passed in plain text; the component stores it as a secret.
      expect(containsSecret(signed.inputs.caPrivateKeyPem)).toBe(true);
    }
    expect(issued.client("node-1").name).toBe("node-1");
    expect(await outputOf(issued.client("node-1").certPem)).toBe(all[1].certPem);
    expect(() => issued.client("other")).toThrow(/has no client "other"; it issued "ci", "node-1"/);
  });

  test("RSA keys of the requested size; same client usages", async () => {
    const ca = await generatedCa("ca-rsa");
    const issued = new RegistryClientCertificates("rsa", {
      clients: ["ci"],
      ...ca,
      keyAlgorithm: "RSA",
      rsaBits: 2048,
    });
    await settled(issued);
    const [c] = await outputOf(issued.certificates);
    expectClientCertificate(c.certPem, c.privateKeyPem, ca.caCertPem, "ci");
    expect(crypto.createPrivateKey(c.privateKeyPem).asymmetricKeyDetails?.modulusLength).toBe(2048);
    expect(unwrapSecrets(mocks.find(KEY).inputs)).toEqual({ algorithm: "RSA", rsaBits: 2048 });
    expect(unwrapSecrets(mocks.find(SIGNED).inputs)).toMatchObject({
      allowedUses: ["digital_signature", "client_auth"],
      validityPeriodHours: 365 * 24,
      earlyRenewalHours: 30 * 24,
    });
  });

  test("keys are secret: the list output and each client's key", async () => {
    const ca = await generatedCa("ca-secret");
    const issued = new RegistryClientCertificates("sec", {
      clients: ["a", "b"],
      ...ca,
      keyAlgorithm: "ECDSA",
    });
    await settled(issued);
    expect(await isSecretOutput(issued.certificates)).toBe(true);
    for (const c of issued.clients) {
      expect(await isSecretOutput(c.privateKeyPem)).toBe(true);
    }
    expect(await isSecretOutput(issued.caCertPem)).toBe(false);
  });

  test("a second run declares identical inputs (stable preview)", async () => {
    const ca = await generatedCa("ca-stable");
    const program = () =>
      new RegistryClientCertificates("stable", {
        clients: ["ci", "node-1"],
        ...ca,
        keyAlgorithm: "ECDSA",
      });
    const firstProgram = program();
    await settled(firstProgram);
    const first = await outputOf(firstProgram.certificates);
    const firstRun = mocks.resources;
    const second = setupMocks({ priorState: firstRun });
    const secondProgram = program();
    await settled(secondProgram);
    expect(await outputOf(secondProgram.certificates)).toEqual(first);
    expect(second.resources.map((r) => [r.type, r.name, r.inputs])).toEqual(
      firstRun.map((r) => [r.type, r.name, r.inputs]),
    );
  });

  describe("bad input: an InvalidInputError naming the field, before any resource", () => {
    const ca = selfSignedCertificate("mtls-test-ca");
    const base: RegistryClientCertificatesArgs = {
      clients: ["ci"],
      caCertPem: ca.certPem,
      caPrivateKeyPem: ca.keyPem,
      keyAlgorithm: "ECDSA",
    };
    const other = selfSignedCertificate("mtls-other-ca");

    test.each<[string, Record<string, unknown>, string, RegExp]>([
      ["no clients", { clients: undefined }, "clients", /clients is required/],
      ["empty clients", { clients: [] }, "clients", /clients is empty/],
      ["clients not a list", { clients: "ci" }, "clients", /not a list of client names/],
      [
        "clients an Output",
        { clients: pulumi.output(["ci"]) },
        "clients",
        /each client name becomes part of a child resource's name/,
      ],
      ["a name an Output", { clients: [pulumi.output("ci")] }, "clients[0]", /plain string/],
      ["a name with a space", { clients: ["ci runner"] }, "clients[0]", /is not a client name/],
      ["a name not text", { clients: [7] }, "clients[0]", /not a string/],
      ["a name twice", { clients: ["ci", "ci"] }, "clients[1]", /listed twice/],
      ["no CA certificate", { caCertPem: undefined }, "caCertPem", /caCertPem is required/],
      ["no CA key", { caPrivateKeyPem: undefined }, "caPrivateKeyPem", /is required/],
      ["CA not a PEM", { caCertPem: "/etc/ca.crt" }, "caCertPem", /not its path/],
      ["CA key not a PEM", { caPrivateKeyPem: "secret-ish" }, "caPrivateKeyPem", /not a PEM/],
      ["key of another CA", { caPrivateKeyPem: other.keyPem }, "caPrivateKeyPem", /not the key/],
      ["unknown key", { client: ["ci"] }, "client", /did you mean clients\?/],
      ["bad algorithm", { keyAlgorithm: "DSA" }, "keyAlgorithm", /"DSA" is not supported/],
      ["bad RSA size", { keyAlgorithm: "RSA", rsaBits: 1024 }, "rsaBits", /1024/],
      [
        "renewal not before expiry",
        { validityDays: 30, earlyRenewalDays: 30 },
        "earlyRenewalDays",
        /not less than validityDays 30/,
      ],
      ["validity zero", { validityDays: 0 }, "validityDays", /whole number of days >= 1/],
    ])("%s", async (_title, change, field, message) => {
      const error = invalidInput(
        () =>
          new RegistryClientCertificates("bad", {
            ...base,
            ...change,
          } as RegistryClientCertificatesArgs),
      );
      expect(error.field).toBe(field);
      expect(error.message).toMatch(/^RegistryClientCertificates "bad": /);
      expect(error.message).toMatch(message);
      // No key material, and no value given as a key, in any message.
      for (const keyLine of [ca.keyPem.split("\n")[1], other.keyPem.split("\n")[1]]) {
        expect(error.message).not.toContain(keyLine);
      }
      expect(error.message).not.toContain("secret-ish");
      await expectNothingRegistered();
    });

    test("a certificate that is no CA", async () => {
      const server = new RegistryCertificates("srv", { keyAlgorithm: "ECDSA" });
      await settled(server);
      const certPem = await outputOf(server.certPem);
      const keyPem = await outputOf(server.privateKeyPem);
      mocks.clear();
      const error = invalidInput(
        () =>
          new RegistryClientCertificates("bad", {
            ...base,
            caCertPem: certPem,
            caPrivateKeyPem: keyPem,
          }),
      );
      expect(error.field).toBe("caCertPem");
      expect(error.message).toMatch(/is not a CA certificate/);
      await expectNothingRegistered();
    });
  });
});

type Upload = { file: string; content: string; permissions: string };

/** `settled` for a SecureRegistry and each component it declares. */
async function settledRegistry(registry: SecureRegistry): Promise<void> {
  await Promise.all([
    outputOf(registry.container.id),
    outputOf(registry.healthy.id),
    outputOf(registry.healthy.id),
  ]);
  for (const c of [
    registry,
    registry.certificates,
    registry.users,
    ...(registry.issuedClientCertificates ? [registry.issuedClientCertificates] : []),
  ]) {
    await settled(c);
  }
}

/** Declares a registry (ECDSA keeps it fast) and waits for every resource. */
async function declare(name: string, args: SecureRegistryArgs = {}) {
  const registry = new SecureRegistry(name, {
    ...args,
    tls: { keyAlgorithm: "ECDSA", ...args.tls },
  });
  await settledRegistry(registry);
  expect(mocks.rejections).toEqual([]);
  const container = mocks.find(CONTAINER, `${name}-container`);
  const plain = unwrapSecrets(container.inputs);
  const env = Object.fromEntries(
    (plain.envs as string[]).map((entry) => {
      const key = entry.slice(0, entry.indexOf("="));
      return [key, YAML.parse(entry.slice(key.length + 1), { version: "1.1" })];
    }),
  );
  const uploads = plain.uploads as Upload[];
  return { registry, container, env, uploads };
}

function clientCaUploads(uploads: Upload[]): Upload[] {
  return uploads.filter((u) => u.file.startsWith("/certs/client-ca"));
}

describe("SecureRegistry mTLS", () => {
  test("by default: no client CAs, no client certificates", async () => {
    const { registry, env, uploads } = await declare("plain");
    expect(Object.keys(env).filter((k) => k.includes("CLIENTCAS"))).toEqual([]);
    expect(clientCaUploads(uploads)).toEqual([]);
    expect(registry.requiresClientCertificates).toBe(false);
    expect(registry.issuedClientCertificates).toBeUndefined();
    expect(await outputOf(registry.clientCertificates)).toEqual([]);
    expect(mocks.findAll(SIGNED).map((r) => r.name)).toEqual(["plain-tls-server-cert"]);
  });

  test("tls.clientCertificates: the registry's CA becomes its client CA, and each client gets a pair", async () => {
    const { registry, env, uploads } = await declare("mtls", {
      tls: { clientCertificates: ["ci", "node-1"] },
    });
    const ca = await outputOf(registry.caCertPem);
    expect(env.REGISTRY_HTTP_TLS_CLIENTCAS).toEqual([CLIENT_CA_PATHS.registry]);
    expect(clientCaUploads(uploads)).toEqual([
      { file: "/certs/client-ca.crt", content: ca, permissions: "0444" },
    ]);
    expect(registry.requiresClientCertificates).toBe(true);

    const pairs = await outputOf(registry.clientCertificates);
    expect(await isSecretOutput(registry.clientCertificates)).toBe(true);
    expect(pairs.map((p) => p.name)).toEqual(["ci", "node-1"]);
    for (const p of pairs) {
      expectClientCertificate(p.certPem, p.privateKeyPem, ca, p.name);
      // Client keys follow tls.keyAlgorithm.
      expect(crypto.createPrivateKey(p.privateKeyPem).asymmetricKeyDetails?.namedCurve).toBe(
        "prime256v1",
      );
    }
    expect(mocks.findAll(KEY).map((k) => k.name)).toEqual([
      "mtls-tls-ca-key",
      "mtls-tls-server-key",
      "mtls-client-certs-ci-key",
      "mtls-client-certs-node-1-key",
    ]);
    const component = mocks.find("secure-registry:tls:RegistryClientCertificates");
    expect(component.name).toBe("mtls-client-certs");
    // The registry's CA key reaches the signing resources only as a secret.
    for (const signed of mocks.findAll(SIGNED, "-cert").filter((r) => r.name.includes("client"))) {
      expect(containsSecret(signed.inputs.caPrivateKeyPem)).toBe(true);
    }
  });

  test("tls.validityDays and earlyRenewalDays apply to client certificates too", async () => {
    await declare("days", {
      tls: { clientCertificates: ["ci"], validityDays: 60, earlyRenewalDays: 7 },
    });
    expect(unwrapSecrets(mocks.find(SIGNED, "days-client-certs-ci-cert").inputs)).toMatchObject({
      validityPeriodHours: 60 * 24,
      earlyRenewalHours: 7 * 24,
    });
  });

  test("tls.clientCertificates: [] requires certificates from the registry's CA, issues none", async () => {
    const { registry, env, uploads } = await declare("none", { tls: { clientCertificates: [] } });
    expect(env.REGISTRY_HTTP_TLS_CLIENTCAS).toEqual(["/certs/client-ca.crt"]);
    expect(clientCaUploads(uploads).map((u) => u.file)).toEqual(["/certs/client-ca.crt"]);
    expect(registry.requiresClientCertificates).toBe(true);
    expect(await outputOf(registry.clientCertificates)).toEqual([]);
    expect(mocks.findAll("secure-registry:tls:RegistryClientCertificates")).toEqual([]);
  });

  test("tls.clientCaCertPem alone: only that CA is accepted, nothing is issued", async () => {
    const external = selfSignedCertificate("mtls-external-ca");
    const { registry, env, uploads } = await declare("ext", {
      tls: { clientCaCertPem: external.certPem },
    });
    expect(env.REGISTRY_HTTP_TLS_CLIENTCAS).toEqual([CLIENT_CA_PATHS.user]);
    expect(clientCaUploads(uploads)).toEqual([
      { file: "/certs/client-ca-user.crt", content: external.certPem, permissions: "0444" },
    ]);
    expect(registry.requiresClientCertificates).toBe(true);
    expect(await outputOf(registry.clientCertificates)).toEqual([]);
  });

  test("both: either CA is accepted, the registry's first", async () => {
    const external = selfSignedCertificate("mtls-external-ca");
    const { env, uploads } = await declare("both", {
      tls: { clientCertificates: ["ci"], clientCaCertPem: pulumi.output(external.certPem) },
    });
    expect(env.REGISTRY_HTTP_TLS_CLIENTCAS).toEqual([
      "/certs/client-ca.crt",
      "/certs/client-ca-user.crt",
    ]);
    expect(clientCaUploads(uploads).map((u) => u.file)).toEqual([
      "/certs/client-ca.crt",
      "/certs/client-ca-user.crt",
    ]);
  });

  test("your own certificate with tls.clientCaCertPem", async () => {
    const source = new RegistryCertificates("byo-src", { keyAlgorithm: "ECDSA" });
    await settled(source);
    const own = {
      certPem: await outputOf(source.certPem),
      privateKeyPem: await outputOf(source.privateKeyPem),
      caCertPem: await outputOf(source.caCertPem),
    };
    mocks.clear();
    const registry = new SecureRegistry("byo", { tls: { ...own, clientCaCertPem: own.caCertPem } });
    await settledRegistry(registry);
    const plain = unwrapSecrets(mocks.find(CONTAINER).inputs);
    expect(plain.envs).toContain('REGISTRY_HTTP_TLS_CLIENTCAS=["/certs/client-ca-user.crt"]');
    expect(await outputOf(registry.clientCertificates)).toEqual([]);
    expect(registry.certificates.caPrivateKeyPem).toBeUndefined();
  });

  test("a second run declares identical inputs for every resource (no diff)", async () => {
    const args: SecureRegistryArgs = {
      hostname: "reg.test",
      users: [{ username: "ci", password: "pw-for-tests" }],
      tls: { clientCertificates: ["ci", "node-1"] },
    };
    await declare("stable", args);
    const firstRun = mocks.resources;
    const second = setupMocks({ priorState: firstRun });
    const registry = new SecureRegistry("stable", {
      ...args,
      tls: { keyAlgorithm: "ECDSA", ...args.tls },
    });
    await settledRegistry(registry);
    const summary = (rs: DeclaredResource[]) => rs.map((r) => [r.type, r.name, r.inputs]);
    expect(summary(second.resources)).toEqual(summary(firstRun));
  });

  describe("bad input: an InvalidInputError naming the field, before any resource", () => {
    const external = selfSignedCertificate("mtls-external-ca");
    test.each<[string, SecureRegistryArgs, string, RegExp]>([
      [
        "client names not a list",
        { tls: { clientCertificates: "ci" as never } },
        "tls.clientCertificates",
        /not a list of client names/,
      ],
      [
        "a client name twice",
        { tls: { clientCertificates: ["ci", "ci"] } },
        "tls.clientCertificates[1]",
        /listed twice/,
      ],
      [
        "a client name with a slash",
        { tls: { clientCertificates: ["ci/1"] } },
        "tls.clientCertificates[0]",
        /not a client name/,
      ],
      [
        "clientcas through env",
        { env: { REGISTRY_HTTP_TLS_CLIENTCAS: "[/certs/ca.crt]" } },
        "env.REGISTRY_HTTP_TLS_CLIENTCAS",
        /use tls.clientCertificates or tls.clientCaCertPem instead/,
      ],
      [
        "client CA with a key",
        { tls: { clientCaCertPem: external.certPem + external.keyPem } },
        "tls.clientCaCertPem",
        /contains a private key/,
      ],
      [
        "client CA a path",
        { tls: { clientCaCertPem: "/etc/ssl/ca.pem" } },
        "tls.clientCaCertPem",
        /no "-----BEGIN CERTIFICATE-----" block/,
      ],
      [
        "trust.clientCertificate not issued",
        { tls: { clientCertificates: ["ci"] }, trust: { clientCertificate: "cd" } },
        "trust.clientCertificate",
        /"cd" is not among tls.clientCertificates \("ci"\)/,
      ],
      [
        "trust.clientCertificate without client certificates",
        { trust: { clientCertificate: "ci" } },
        "trust.clientCertificate",
        /not among tls.clientCertificates \(not set\)/,
      ],
      [
        "trust.clientCertificate with trust.insecure",
        { tls: { clientCertificates: ["ci"] }, trust: { clientCertificate: "ci", insecure: true } },
        "trust.clientCertificate",
        /cannot be combined with trust.insecure/,
      ],
      [
        "trust.clientCertificate and an own pair",
        {
          tls: { clientCertificates: ["ci"] },
          trust: {
            clientCertificate: "ci",
            clientCertPem: external.certPem,
            clientKeyPem: external.keyPem,
          },
        },
        "trust.clientCertificate",
        /keep one/,
      ],
    ])("%s", async (_title, args, field, message) => {
      const error = invalidInput(() => new SecureRegistry("bad", args));
      expect(error.field).toBe(field);
      expect(error.message).toMatch(/^SecureRegistry "bad": /);
      expect(error.message).toMatch(message);
      expect(error.message).not.toContain(external.keyPem.split("\n")[1]);
      await expectNothingRegistered();
    });

    test("tls.clientCertificates with your own certificate", async () => {
      const source = new RegistryCertificates("byo-src", { keyAlgorithm: "ECDSA" });
      await settled(source);
      await settled(source);
      const own = {
        certPem: await outputOf(source.certPem),
        privateKeyPem: await outputOf(source.privateKeyPem),
        caCertPem: await outputOf(source.caCertPem),
      };
      mocks.clear();
      const error = invalidInput(
        () => new SecureRegistry("bad", { tls: { ...own, clientCertificates: ["ci"] } }),
      );
      expect(error.field).toBe("tls.clientCertificates");
      expect(error.message).toMatch(/has no CA key; issue them from your CA/);
      await expectNothingRegistered();
    });

    test("a client CA that is no CA is refused (the check Outputs get once known)", async () => {
      const server = new RegistryCertificates("srv", { keyAlgorithm: "ECDSA" });
      await settled(server);
      const notCa = await outputOf(server.certPem);
      mocks.clear();
      expect(clientCaBundleProblem("tls.clientCaCertPem", notCa)).toMatch(
        /certificate #1 \(.*\) is not a CA certificate/,
      );
      const error = invalidInput(
        () => new SecureRegistry("bad", { tls: { keyAlgorithm: "ECDSA", clientCaCertPem: notCa } }),
      );
      expect(error.field).toBe("tls.clientCaCertPem");
      await expectNothingRegistered();
      // An Output passes construction and reaches the upload unchanged once known (a bad one
      // fails there, with the same message: an apply error under mocks ends the test process,
      // so that path is covered by clientCaBundleProblem above).
      const external = selfSignedCertificate("mtls-external-ca").certPem;
      const plan = planClientAuth(
        'SecureRegistry "later"',
        {
          clientCaCertPem: pulumi.output(external),
        },
        false,
        undefined,
      );
      expect(await outputOf(plan?.userCaCertPem as pulumi.Output<string>)).toBe(external);
    });
  });
});
