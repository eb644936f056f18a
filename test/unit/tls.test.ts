/**
 * RegistryCertificates under mocks (real keys and certificates): SANs, key usages in the
 * provider's snake_case, key algorithm and curve, validity, CA relationship, secrets, bring your
 * own, and bad input.
 */
import * as pulumi from "@pulumi/pulumi";
import * as crypto from "crypto";
import fc from "fast-check";
import { InvalidInputError } from "../../src/common/errors";
import { RegistryCertificates } from "../../src/tls";
import {
  expectOnlyInvalidInput,
  FUZZ_PARAMS,
  mutatedArgs,
  installLightMocks,
  settleComponents,
} from "../support/fuzz";
import {
  isSecretOutput,
  outputOf,
  RecordingMocks,
  setupMocks,
  unwrapSecrets,
} from "../support/mocks";

let mocks: RecordingMocks;
beforeEach(() => {
  mocks = setupMocks();
});

async function expectNothingRegistered(): Promise<void> {
  const sentinel = new pulumi.ComponentResource("test:index:Sentinel", "sentinel");
  await outputOf(sentinel.urn);
  expect(mocks.resources.map((r) => r.name)).toEqual(["sentinel"]);
}

async function material(certs: RegistryCertificates) {
  const [ca, cert, key] = await Promise.all([
    outputOf(certs.caCertPem),
    outputOf(certs.certPem),
    outputOf(certs.privateKeyPem),
  ]);
  return {
    ca: new crypto.X509Certificate(ca),
    cert: new crypto.X509Certificate(cert),
    key: crypto.createPrivateKey(key),
  };
}

const KEY = "tls:index/privateKey:PrivateKey";
const CA = "tls:index/selfSignedCert:SelfSignedCert";
const CSR = "tls:index/certRequest:CertRequest";
const SIGNED = "tls:index/locallySignedCert:LocallySignedCert";

describe("RegistryCertificates", () => {
  test("ECDSA: P-256 keys, every hostname and IP as SANs, signed by the CA", async () => {
    const certs = new RegistryCertificates("ec", {
      hostnames: ["reg.example.com", "localhost"],
      ipAddresses: ["10.0.0.5", "fd00::5"],
      keyAlgorithm: "ECDSA",
    });
    const { ca, cert, key } = await material(certs);
    expect(mocks.rejections).toEqual([]);

    for (const k of mocks.findAll(KEY)) {
      expect(k.inputs).toEqual({ algorithm: "ECDSA", ecdsaCurve: "P256" });
    }
    expect(mocks.findAll(KEY).map((k) => k.name)).toEqual(["ec-ca-key", "ec-server-key"]);
    expect(key.asymmetricKeyDetails?.namedCurve).toBe("prime256v1");

    const csr = mocks.find(CSR);
    expect(csr.inputs.dnsNames).toEqual(["reg.example.com", "localhost"]);
    expect(csr.inputs.ipAddresses).toEqual(["10.0.0.5", "fd00::5"]);
    expect(cert.subjectAltName).toBe(
      "DNS:reg.example.com, DNS:localhost, IP Address:10.0.0.5, IP Address:FD00:0:0:0:0:0:0:5",
    );
    expect(cert.subject).toContain("CN=reg.example.com");
    expect(cert.checkHost("reg.example.com")).toBe("reg.example.com");
    expect(cert.checkIP("10.0.0.5")).toBe("10.0.0.5");
    expect(cert.checkPrivateKey(key)).toBe(true);
    expect(cert.checkIssued(ca)).toBe(true);
    expect(cert.verify(ca.publicKey)).toBe(true);
    expect(ca.ca).toBe(true);
    expect(cert.ca).toBe(false);
  });

  test("allowedUses are the provider's snake_case values", async () => {
    const certs = new RegistryCertificates("uses", { keyAlgorithm: "ECDSA" });
    await material(certs);
    expect(mocks.find(CA).inputs.allowedUses).toEqual([
      "cert_signing",
      "crl_signing",
      "digital_signature",
    ]);
    expect(mocks.find(SIGNED).inputs.allowedUses).toEqual(["digital_signature", "server_auth"]);
    for (const r of [mocks.find(CA), mocks.find(SIGNED)]) {
      for (const use of r.inputs.allowedUses as string[]) expect(use).toMatch(/^[a-z_]+$/);
    }
    expect(mocks.rejections).toEqual([]);
  });

  test("RSA by default, 4096 bits, with key_encipherment for RSA key exchange", async () => {
    const certs = new RegistryCertificates("rsa");
    const { cert, key } = await material(certs);
    for (const k of mocks.findAll(KEY))
      expect(k.inputs).toEqual({ algorithm: "RSA", rsaBits: 4096 });
    expect(key.asymmetricKeyDetails?.modulusLength).toBe(4096);
    expect(mocks.find(SIGNED).inputs.allowedUses).toEqual([
      "digital_signature",
      "key_encipherment",
      "server_auth",
    ]);
    // Default SAN: localhost.
    expect(cert.subjectAltName).toBe("DNS:localhost");
  }, 30_000);

  test("validity and early renewal in days become the provider's hours; CA outlives the server", async () => {
    const certs = new RegistryCertificates("validity", {
      keyAlgorithm: "ECDSA",
      validityDays: 90,
      earlyRenewalDays: 10,
    });
    const { ca, cert } = await material(certs);
    expect(mocks.find(SIGNED).inputs).toMatchObject({
      validityPeriodHours: 90 * 24,
      earlyRenewalHours: 240,
    });
    expect(mocks.find(CA).inputs).toMatchObject({
      validityPeriodHours: 3650 * 24,
      earlyRenewalHours: 240,
      isCaCertificate: true,
    });
    const days = (x: crypto.X509Certificate) =>
      (Date.parse(x.validTo) - Date.parse(x.validFrom)) / 86_400_000;
    expect(days(cert)).toBe(90);
    expect(days(ca)).toBe(3650);
  });

  test("the private key is secret; the certificates are not", async () => {
    const certs = new RegistryCertificates("secret", { keyAlgorithm: "ECDSA" });
    expect(await isSecretOutput(certs.privateKeyPem)).toBe(true);
    expect(await isSecretOutput(certs.certPem)).toBe(false);
    expect(await isSecretOutput(certs.caCertPem)).toBe(false);
  });

  test("IP-only certificates have no DNS SANs", async () => {
    const certs = new RegistryCertificates("ip", {
      ipAddresses: ["192.0.2.7"],
      keyAlgorithm: "ECDSA",
    });
    const { cert } = await material(certs);
    expect(cert.subjectAltName).toBe("IP Address:192.0.2.7");
    expect(cert.subject).toContain("CN=192.0.2.7");
  });

  test("a second run declares identical inputs (stable preview)", async () => {
    const program = () =>
      new RegistryCertificates("stable", { hostnames: ["reg.test"], keyAlgorithm: "ECDSA" });
    const first = await outputOf(program().certPem);
    const firstRun = mocks.resources;
    const second = setupMocks({ priorState: firstRun });
    expect(await outputOf(program().certPem)).toBe(first);
    expect(second.resources.map((r) => unwrapSecrets(r.inputs))).toEqual(
      firstRun.map((r) => unwrapSecrets(r.inputs)),
    );
  });

  /** Real PEMs from a generated set (another "run"), for the bring-your-own tests. */
  async function ownMaterial(name: string, hostnames: string[], ipAddresses: string[] = []) {
    const source = new RegistryCertificates(name, {
      hostnames,
      ipAddresses,
      keyAlgorithm: "ECDSA",
    });
    const pems = {
      certPem: await outputOf(source.certPem),
      privateKeyPem: await outputOf(source.privateKeyPem),
      caCertPem: await outputOf(source.caCertPem),
    };
    // Same monitor (the source still registers its outputs); only forget what it declared.
    mocks.clear();
    return pems;
  }

  test("bring your own: outputs are the given PEMs, key secret, no tls resources", async () => {
    const own = await ownMaterial("src", ["reg.test"], ["10.0.0.5"]);
    const certs = new RegistryCertificates("own", {
      ...own,
      hostnames: ["reg.test"],
      ipAddresses: ["10.0.0.5"],
    });
    expect(await outputOf(certs.certPem)).toBe(own.certPem);
    expect(await outputOf(certs.caCertPem)).toBe(own.caCertPem);
    expect(await outputOf(certs.privateKeyPem)).toBe(own.privateKeyPem);
    expect(await isSecretOutput(certs.privateKeyPem)).toBe(true);
    expect(mocks.resources.filter((r) => r.type.startsWith("tls:"))).toEqual([]);
  });

  test("bring your own: a certificate that misses a name or does not match its key is refused", async () => {
    const own = await ownMaterial("src1", ["reg.test"], ["10.0.0.5"]);
    const other = await ownMaterial("src2", ["reg.test"]);
    expect(() => new RegistryCertificates("bad", { ...own, hostnames: ["other.test"] })).toThrow(
      /^RegistryCertificates "bad": certPem does not cover the name "other.test" \(its SANs: DNS:reg.test, IP Address:10.0.0.5\); use a certificate with that name as a SAN/,
    );
    expect(() => new RegistryCertificates("bad", { ...own, ipAddresses: ["10.0.0.6"] })).toThrow(
      /certPem does not cover the address 10.0.0.6/,
    );
    expect(
      () => new RegistryCertificates("bad", { ...own, privateKeyPem: other.privateKeyPem }),
    ).toThrow(
      /privateKeyPem is not the key of certPem; pass the key the certificate was issued for\./,
    );
    await expectNothingRegistered();
  });

  test.each([
    [
      { certPem: "x" },
      /^RegistryCertificates "bad": certPem given without privateKeyPem and caCertPem; bring your own certificate with all three/,
    ],
    [{ certPem: "x", privateKeyPem: "y" }, /certPem and privateKeyPem given without caCertPem/],
    [{ hostnames: ["bad_name"] }, /hostnames\[0\] "bad_name" is not a valid DNS name/],
    [{ hostnames: ["10.0.0.1"] }, /It is an IP address: put it in ipAddresses instead/],
    [{ ipAddresses: ["10.0.0.300"] }, /ipAddresses\[0\] "10.0.0.300" is not an IP address/],
    [{ keyAlgorithm: "DSA" }, /keyAlgorithm "DSA" is not supported; use one of "RSA", "ECDSA"/],
    [{ rsaBits: 1024 }, /rsaBits 1024 is not supported; use one of 2048, 3072, 4096/],
    [
      { validityDays: 10, earlyRenewalDays: 10 },
      /earlyRenewalDays 10 is not less than validityDays 10/,
    ],
    [
      { validityDays: 400, caValidityDays: 100 },
      /caValidityDays 100 is shorter than validityDays 400/,
    ],
    [{ hostnames: [], ipAddresses: [] }, /hostnames and ipAddresses are both empty/],
    [
      { validity: 30 },
      /validity is not an option of RegistryCertificates; did you mean validityDays\?/,
    ],
    [
      { hostname: "a.test" },
      /hostname is not an option of RegistryCertificates; did you mean hostnames\?/,
    ],
    [{ hostnames: "reg.test" }, /hostnames is "reg.test", not a list; pass \[ ... \]/],
    [{ ipAddresses: null }, /ipAddresses is null, not a list/],
    [{ hostnames: [5] }, /hostnames\[0\] 5 is not a valid DNS name/],
    [{ validityDays: "365" }, /validityDays "365" is not a whole number of days/],
    [{ validityDays: 1.5 }, /validityDays 1.5 is not a whole number of days/],
    [{ keyAlgorithm: null }, /keyAlgorithm null is not supported/],
    [{ organization: 5 }, /organization is 5, not a string/],
    [{ certPem: 5, privateKeyPem: 5, caCertPem: 5 }, /certPem is not a PEM certificate/],
    [{ certPem: null, privateKeyPem: "k", caCertPem: "c" }, /certPem is not a PEM certificate/],
  ])("bad args %j are rejected before any resource exists", async (args, message) => {
    expect(() => new RegistryCertificates("bad", args as never)).toThrow(message);
    await expectNothingRegistered();
  });

  test("a bad PEM is refused without echoing it", async () => {
    const args = {
      certPem: "-----BEGIN CERTIFICATE-----\nA\n-----END CERTIFICATE-----",
      caCertPem: "-----BEGIN CERTIFICATE-----\nA\n-----END CERTIFICATE-----",
      privateKeyPem: "hunter2-secret",
    };
    expect(() => new RegistryCertificates("bad", args)).toThrow(
      /privateKeyPem is not a PEM private key/,
    );
    expect(
      () =>
        new RegistryCertificates("bad", {
          ...args,
          privateKeyPem: "-----BEGIN PRIVATE KEY-----\nhunter2\n-----END PRIVATE KEY-----",
        }),
    ).toThrow(/certPem cannot be read as an X.509 certificate/);
    expect(() => new RegistryCertificates("bad", args)).not.toThrow(/hunter2/);
    await expectNothingRegistered();
  });

  test("lists and options as Outputs (e.g. from a StackReference) type-check and are used", async () => {
    const names: pulumi.Output<string[]> = pulumi.output(["reg.test", "mirror.test"]);
    const certs = new RegistryCertificates("composed", {
      hostnames: names,
      ipAddresses: pulumi.output(["10.0.0.9"]),
      keyAlgorithm: pulumi.output("ECDSA" as const),
      validityDays: pulumi.output(90),
      organization: pulumi.output("Example"),
    });
    const { cert, key } = await material(certs);
    expect(cert.subjectAltName).toBe("DNS:reg.test, DNS:mirror.test, IP Address:10.0.0.9");
    expect(cert.subject).toContain("CN=reg.test");
    expect(key.asymmetricKeyDetails?.namedCurve).toBe("prime256v1");
    expect(mocks.find(SIGNED).inputs).toMatchObject({
      validityPeriodHours: 90 * 24,
      allowedUses: ["digital_signature", "server_auth"],
    });
    expect(mocks.rejections).toEqual([]);
  });

  test("property: any mutated arguments give success or an InvalidInputError naming the field", async () => {
    await installLightMocks();
    const built: object[] = [];
    const valid = {
      hostnames: ["reg.test"],
      ipAddresses: ["10.0.0.5"],
      keyAlgorithm: "ECDSA",
      rsaBits: 2048,
      validityDays: 90,
      caValidityDays: 365,
      earlyRenewalDays: 10,
      organization: "Example",
    };
    let constructions = 0;
    fc.assert(
      fc.property(
        mutatedArgs(valid, {
          hostnames: fc.array(fc.oneof(fc.constantFrom("a.test", "-x", "10.0.0.1"), fc.string()), {
            maxLength: 3,
          }),
          ipAddresses: fc.array(fc.oneof(fc.ipV4(), fc.ipV6(), fc.string()), { maxLength: 3 }),
          keyAlgorithm: fc.constantFrom("RSA", "ECDSA", "rsa", "ED25519"),
          rsaBits: fc.constantFrom(1024, 2048, 4096, 4097),
          validityDays: fc.integer({ min: -2, max: 40000 }),
          caValidityDays: fc.integer({ min: -2, max: 40000 }),
          earlyRenewalDays: fc.integer({ min: -2, max: 400 }),
        }),
        ({ args, mutated }) => {
          constructions += 1;
          expectOnlyInvalidInput(
            () => built.push(new RegistryCertificates("fuzz", args as never)),
            mutated,
          );
        },
      ),
      FUZZ_PARAMS,
    );
    expect(constructions).toBeGreaterThanOrEqual(1000);
    await settleComponents(built);
  }, 600_000);

  test("every rejection is an InvalidInputError", () => {
    expect(() => new RegistryCertificates("bad", { rsaBits: 1 })).toThrow(InvalidInputError);
  });
});
