import * as random from "@pulumi/random";
import * as tls from "@pulumi/tls";
import * as docker from "@pulumi/docker";
import * as bcrypt from "bcryptjs";
import * as crypto from "crypto";
import {
  outputOf,
  setupMocks,
  unwrapSecrets,
  isSecretOutput,
  containsSecret,
} from "../support/mocks";

const mocks = setupMocks({
  resolveImageId: (n) =>
    n === "local:1" ? "sha256:" + "a".repeat(64) : "sha256:" + "b".repeat(64),
});

beforeEach(() => mocks.clear());

describe("RecordingMocks", () => {
  test("PrivateKey returns a real key of the requested algorithm and curve", async () => {
    const ec = new tls.PrivateKey("ec", { algorithm: "ECDSA", ecdsaCurve: "P256" });
    const pem = await outputOf(ec.privateKeyPem);
    expect(pem).toContain("BEGIN EC PRIVATE KEY");
    const key = crypto.createPrivateKey(pem);
    expect(key.asymmetricKeyDetails?.namedCurve).toBe("prime256v1");
    const pub = await outputOf(ec.publicKeyPem);
    expect(crypto.createPublicKey(pub).export({ format: "jwk" }).x).toBe(
      key.export({ format: "jwk" }).x,
    );
    const rsa = new tls.PrivateKey("rsa", { algorithm: "RSA", rsaBits: 2048 });
    const rsaPem = await outputOf(rsa.privateKeyPem);
    expect(rsaPem).toContain("BEGIN RSA PRIVATE KEY");
    expect(crypto.createPrivateKey(rsaPem).asymmetricKeyDetails?.modulusLength).toBe(2048);
  });

  test("keys are distinct: a CA key and the next key never coincide", async () => {
    const pems = await Promise.all(
      ["k1", "k2", "k3"].map((n) =>
        outputOf(new tls.PrivateKey(n, { algorithm: "ECDSA", ecdsaCurve: "P256" }).privateKeyPem),
      ),
    );
    expect(new Set(pems).size).toBe(3);
    const rsa = await Promise.all(
      ["r1", "r2"].map((n) =>
        outputOf(new tls.PrivateKey(n, { algorithm: "RSA", rsaBits: 2048 }).privateKeyPem),
      ),
    );
    expect(rsa[0]).not.toBe(rsa[1]);
  });

  test("the provider's default curve P224 is mirrored", async () => {
    const ec = new tls.PrivateKey("ec224", { algorithm: "ECDSA" });
    const key = crypto.createPrivateKey(await outputOf(ec.privateKeyPem));
    expect(key.asymmetricKeyDetails?.namedCurve).toBe("secp224r1");
  });

  test("certificates are real, signed by the CA, with SANs, validity and CA flag", async () => {
    const caKey = new tls.PrivateKey("ca-key", { algorithm: "ECDSA", ecdsaCurve: "P256" });
    const ca = new tls.SelfSignedCert("ca", {
      privateKeyPem: caKey.privateKeyPem,
      subject: { commonName: "Test CA", organization: "a/b" },
      isCaCertificate: true,
      validityPeriodHours: 48,
      allowedUses: ["cert_signing", "crl_signing"],
    });
    const key = new tls.PrivateKey("key", { algorithm: "RSA", rsaBits: 2048 });
    const csr = new tls.CertRequest("csr", {
      privateKeyPem: key.privateKeyPem,
      subject: { commonName: "reg.example" },
      dnsNames: ["reg.example", "localhost"],
      ipAddresses: ["127.0.0.1", "::1"],
    });
    const cert = new tls.LocallySignedCert("cert", {
      certRequestPem: csr.certRequestPem,
      caPrivateKeyPem: caKey.privateKeyPem,
      caCertPem: ca.certPem,
      validityPeriodHours: 24,
      allowedUses: ["digital_signature", "key_encipherment", "server_auth"],
    });
    const caX = new crypto.X509Certificate(await outputOf(ca.certPem));
    const x = new crypto.X509Certificate(await outputOf(cert.certPem));
    expect(caX.ca).toBe(true);
    expect(caX.subject).toContain("CN=Test CA");
    expect(caX.subject).toContain("O=a/b");
    expect(x.ca).toBe(false);
    expect(x.verify(caX.publicKey)).toBe(true);
    expect(x.checkIssued(caX)).toBe(true);
    expect(x.subjectAltName).toBe(
      "DNS:reg.example, DNS:localhost, IP Address:127.0.0.1, IP Address:0:0:0:0:0:0:0:1",
    );
    expect(x.keyUsage).toEqual(["1.3.6.1.5.5.7.3.1"]);
    const hours = (Date.parse(x.validTo) - Date.parse(x.validFrom)) / 3_600_000;
    expect(hours).toBe(24);
    expect(x.checkPrivateKey(crypto.createPrivateKey(await outputOf(key.privateKeyPem)))).toBe(
      true,
    );
  });

  test("camelCase allowedUses are rejected like the real provider does", async () => {
    const k = new tls.PrivateKey("k", { algorithm: "ECDSA", ecdsaCurve: "P256" });
    const c = new tls.SelfSignedCert("c", {
      privateKeyPem: k.privateKeyPem,
      validityPeriodHours: 24,
      allowedUses: ["certSigning"],
    });
    expect(await outputOf(c.certPem)).toBeUndefined();
    expect(mocks.rejections).toEqual([
      expect.objectContaining({ name: "c", message: expect.stringContaining('"certSigning"') }),
    ]);
  });

  test("RandomPassword gives a real password and its bcrypt hash", async () => {
    const p = new random.RandomPassword("p", { length: 32, special: false });
    const result = await outputOf(p.result);
    const hash = await outputOf(p.bcryptHash);
    expect(result).toMatch(/^[A-Za-z0-9]{32}$/);
    expect(hash).toMatch(/^\$2a\$10\$/);
    expect(bcrypt.compareSync(result, hash)).toBe(true);
  });

  test("RemoteImage resolves image IDs; Container echoes inputs and keeps secrets wrapped", async () => {
    const img = new docker.RemoteImage("img", { name: "local:1" });
    expect(await outputOf(img.imageId)).toBe("sha256:" + "a".repeat(64));
    expect(await outputOf(img.repoDigest)).toMatch(/^local@sha256:[0-9a-f]{64}$/);
    const vol = new docker.Volume("vol", { name: "data" });
    const c = new docker.Container("c", {
      image: img.imageId,
      name: "reg",
      uploads: [{ file: "/x", content: require("@pulumi/pulumi").secret("s3cret") }],
      volumes: [{ volumeName: vol.name, containerPath: "/data" }],
    });
    expect(await outputOf(c.name)).toBe("reg");
    expect(await isSecretOutput(c.uploads)).toBe(true);
    const declared = mocks.find("docker:index/container:Container");
    expect(containsSecret(declared.inputs.uploads)).toBe(true);
    expect(unwrapSecrets(declared.inputs).uploads[0].content).toBe("s3cret");
    expect(mocks.find("docker:index/volume:Volume").state.name).toBe("data");
  });
});
