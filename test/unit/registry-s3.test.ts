/**
 * storage.s3 under mocks: SecureRegistry with its data in a bucket declares no volume, names the
 * s3 driver in config.yml, sets the driver's parameters as readable env entries (every default
 * written out) and its credentials only in a secret file; conflicting or impossible settings are
 * refused before any resource exists, never showing a secret. Also the Go durations helpers.
 */
import * as pulumi from "@pulumi/pulumi";
import * as YAML from "yaml";
import { goDurationString, parseGoDuration, shortDuration } from "../../src/common/durations";
import { InvalidInputError } from "../../src/common";
import { SecureRegistry, SecureRegistryArgs } from "../../src/registry";
import { planS3Storage, s3DriverParameters } from "../../src/registry/s3";
import {
  containsSecret,
  outputOf,
  RecordingMocks,
  setupMocks,
  unwrapSecrets,
} from "../support/mocks";

const CONTAINER = "docker:index/container:Container";
const VOLUME = "docker:index/volume:Volume";

const S3 = {
  bucket: "registry-data",
  accessKey: "AKIAEXAMPLEACCESS01",
  secretKey: "s3-secret-key-example-0123456789abcdefgh",
};

// Declarations generate keys and certificates (openssl): slow on a busy machine.
jest.setTimeout(60_000);

let mocks: RecordingMocks;
beforeEach(() => {
  mocks = setupMocks();
});

async function declare(name: string, args: SecureRegistryArgs) {
  const registry = new SecureRegistry(name, { ...args, tls: { keyAlgorithm: "ECDSA" } });
  await Promise.all([
    outputOf(registry.container.id),
    outputOf(registry.healthy.id),
    outputOf(registry.dockerConfigJson),
  ]);
  expect(mocks.rejections).toEqual([]);
  const container = mocks.find(CONTAINER, `${name}-container`);
  const plain = unwrapSecrets(container.inputs);
  const env = Object.fromEntries(
    (plain.envs as string[]).map((e) => {
      const key = e.slice(0, e.indexOf("="));
      return [key, YAML.parse(e.slice(key.length + 1), { version: "1.1" })];
    }),
  );
  const uploads = plain.uploads as { file: string; content: string }[];
  return { registry, container, plain, env, uploads };
}

async function expectNothingRegistered(): Promise<void> {
  const sentinel = new pulumi.ComponentResource("test:index:Sentinel", "sentinel");
  await outputOf(sentinel.urn);
  expect(mocks.resources.map((r) => r.name)).toEqual(["sentinel"]);
}

describe("SecureRegistry with storage.s3", () => {
  test("no volume; config.yml names s3; parameters in env with every default; credentials secret", async () => {
    const { registry, plain, env, uploads, container } = await declare("s3", {
      storage: { s3: S3 },
    });
    expect(registry.volume).toBeUndefined();
    expect(mocks.findAll(VOLUME)).toEqual([]);
    expect(plain.volumes).toBeUndefined();
    const config = uploads.find((u) => u.file === "/etc/secure-registry/config.yml")!;
    expect(YAML.parse(config.content, { version: "1.1" }).storage).toEqual({
      s3: {},
      cache: { blobdescriptor: "inmemory" },
    });
    expect(
      Object.fromEntries(Object.entries(env).filter(([k]) => k.startsWith("REGISTRY_STORAGE_"))),
    ).toEqual({
      REGISTRY_STORAGE_DELETE_ENABLED: true,
      REGISTRY_STORAGE_REDIRECT_DISABLE: false,
      REGISTRY_STORAGE_S3_BUCKET: "registry-data",
      REGISTRY_STORAGE_S3_REGION: "us-east-1",
      REGISTRY_STORAGE_S3_ENCRYPT: false,
      REGISTRY_STORAGE_S3_SECURE: true,
      REGISTRY_STORAGE_S3_V4AUTH: true,
      REGISTRY_STORAGE_S3_CHUNKSIZE: 10485760,
    });
    const credentials = uploads.find(
      (u) => u.file === "/etc/secure-registry/env/storage-credentials.env",
    )!;
    expect(credentials.content).toBe(
      `REGISTRY_STORAGE_S3_ACCESSKEY=${S3.accessKey}\nREGISTRY_STORAGE_S3_SECRETKEY=${S3.secretKey}\n`,
    );
    expect(containsSecret(container.inputs.envs)).toBe(false);
    expect(JSON.stringify(container.inputs.envs)).not.toContain(S3.accessKey);
    expect(containsSecret(container.inputs.uploads)).toBe(true);
  });

  test("an S3-compatible server: endpoint, scheme decides secure, options as given", async () => {
    const { env } = await declare("minio", {
      storage: {
        deleteEnabled: false,
        s3: {
          ...S3,
          region: "garage",
          regionEndpoint: pulumi.output("https://minio.internal:9000"),
          rootDirectory: "/registry/prod",
          encrypt: true,
          keyId: "kms-key-1",
          v4auth: false,
          chunkSize: 32 * 1024 * 1024,
          redirect: false,
        },
      },
    });
    expect(env).toMatchObject({
      REGISTRY_STORAGE_DELETE_ENABLED: false,
      REGISTRY_STORAGE_REDIRECT_DISABLE: true,
      REGISTRY_STORAGE_S3_REGION: "garage",
      REGISTRY_STORAGE_S3_REGIONENDPOINT: "https://minio.internal:9000",
      REGISTRY_STORAGE_S3_SECURE: true,
      REGISTRY_STORAGE_S3_ROOTDIRECTORY: "/registry/prod",
      REGISTRY_STORAGE_S3_ENCRYPT: true,
      REGISTRY_STORAGE_S3_KEYID: "kms-key-1",
      REGISTRY_STORAGE_S3_V4AUTH: false,
      REGISTRY_STORAGE_S3_CHUNKSIZE: 33554432,
    });
  });

  test("without keys: no credentials file (the task's environment or instance role)", async () => {
    const { uploads } = await declare("role", {
      storage: { s3: { bucket: "b-1", region: "eu-west-1" } },
    });
    expect(uploads.map((u) => u.file)).not.toContain(
      "/etc/secure-registry/env/storage-credentials.env",
    );
  });

  test("s3DriverParameters: secure follows the endpoint's scheme", () => {
    const base = { bucket: "b", region: "r", encrypt: false, v4auth: true, chunkSize: 5242880 };
    expect(s3DriverParameters({ ...base, regionEndpoint: "http://x:1" }).secure).toBe(false);
    expect(s3DriverParameters({ ...base, regionEndpoint: "https://x" }).secure).toBe(true);
    expect(s3DriverParameters({ ...base }).secure).toBe(true);
    expect(s3DriverParameters({ ...base, secure: false }).secure).toBe(false);
  });
});

describe("storage.s3 bad input: refused before any resource is declared", () => {
  test.each<[string, Record<string, unknown>, RegExp]>([
    ["no bucket", { region: "eu-west-1" }, /storage\.s3\.bucket is missing/],
    ["bucket with a slash", { bucket: "a/b" }, /storage\.s3\.bucket "a\/b" is not a bucket name/],
    [
      "unknown option",
      { ...S3, forcePathStyle: true },
      /storage\.s3\.forcePathStyle is not an option/,
    ],
    [
      "access key without secret key",
      { bucket: "b-1", accessKey: "AK" },
      /storage\.s3\.accessKey is set without storage\.s3\.secretKey/,
    ],
    [
      "not an AWS region without an endpoint",
      { ...S3, region: "garage" },
      /storage\.s3\.region "garage" is not an AWS region/,
    ],
    [
      "signature v2 on AWS",
      { ...S3, v4auth: false },
      /storage\.s3\.v4auth is false, but AWS S3 only accepts signature version 4/,
    ],
    [
      "endpoint without scheme",
      { ...S3, regionEndpoint: "minio:9000" },
      /storage\.s3\.regionEndpoint "minio:9000" is not an http\(s\) URL/,
    ],
    [
      "endpoint with a path",
      { ...S3, regionEndpoint: "https://minio/bucket" },
      /has a path, query or fragment/,
    ],
    [
      "secure contradicting the endpoint",
      { ...S3, regionEndpoint: "http://minio:9000", secure: true },
      /storage\.s3\.secure is true but storage\.s3\.regionEndpoint uses http/,
    ],
    [
      "kms key without encryption",
      { ...S3, keyId: "k" },
      /storage\.s3\.keyId is set but storage\.s3\.encrypt is not true/,
    ],
    [
      "chunk size below 5 MiB",
      { ...S3, chunkSize: 1024 },
      /storage\.s3\.chunkSize is 1024, not a whole number from 5242880 to 5368709120/,
    ],
    [
      "endpoint with credentials (never shown)",
      { ...S3, regionEndpoint: "https://user:pa55word@minio:9000/x" },
      /^(?!.*pa55word).*storage\.s3\.regionEndpoint contains credentials/,
    ],
    [
      "encrypt as a string",
      { ...S3, encrypt: "yes" },
      /storage\.s3\.encrypt is "yes", not a boolean/,
    ],
    [
      "root directory with ..",
      { ...S3, rootDirectory: "/a/../b" },
      /storage\.s3\.rootDirectory "\/a\/\.\.\/b" is not a key prefix/,
    ],
  ])("%s", async (_title, s3, message) => {
    let error: unknown;
    try {
      new SecureRegistry("bad", { storage: { s3: s3 as never } });
    } catch (err) {
      error = err;
    }
    expect(error).toBeInstanceOf(InvalidInputError);
    expect((error as Error).message).toMatch(message);
    await expectNothingRegistered();
  });

  test("a volume name and a bucket: refused (one place for the data)", async () => {
    expect(() => new SecureRegistry("bad", { storage: { volumeName: "data", s3: S3 } })).toThrow(
      /storage\.volumeName and storage\.s3 are both set/,
    );
    await expectNothingRegistered();
  });

  test("redirect settings through env conflict with storage.s3.redirect", async () => {
    expect(
      () =>
        new SecureRegistry("bad", {
          storage: { s3: S3 },
          env: { REGISTRY_STORAGE_REDIRECT_DISABLE: "true" },
        }),
    ).toThrow(/use storage\.s3\.redirect instead/);
    await expectNothingRegistered();
  });

  test("a second storage driver through env is refused (it panics the registry)", async () => {
    expect(
      () =>
        new SecureRegistry("bad", {
          storage: { s3: S3 },
          env: { REGISTRY_STORAGE_FILESYSTEM_ROOTDIRECTORY: "/data" },
        }),
    ).toThrow(/would override a setting this component owns/);
    await expectNothingRegistered();
  });

  test("secret keys are never shown in messages", async () => {
    const secretKey = 12345678;
    let message = "";
    try {
      new SecureRegistry("bad", {
        storage: { s3: { ...S3, secretKey: secretKey as unknown as string } },
      });
    } catch (err) {
      message = (err as Error).message;
    }
    expect(message).toMatch(/storage\.s3\.secretKey is a number \(not shown\)/);
    expect(message).not.toContain(String(secretKey));
  });

  test("an Output with a bad value fails when known (in the parameters the container consumes)", async () => {
    const plan = planS3Storage(
      'SecureRegistry "late"',
      { s3: { ...S3, regionEndpoint: pulumi.output("ftp://x") } },
      [],
    )!;
    // A failed check also rejects the Output's isKnown/isSecret promises; in a program the Pulumi
    // runtime reports that as the deployment's error. Here they are observed instead.
    const internal = plan.parameters as unknown as {
      isKnown: Promise<boolean>;
      isSecret: Promise<boolean>;
    };
    await expect(internal.isKnown).rejects.toThrow(/ftp/);
    await expect(internal.isSecret).rejects.toThrow(/ftp/);
    await expect(outputOf(plan.parameters)).rejects.toThrow(
      /storage\.s3\.regionEndpoint "ftp:\/\/x" is not an http\(s\) URL/,
    );
  });
});

describe("Go durations in the provider's read-back spelling", () => {
  test.each([
    ["0", 0, "0s", "0s"],
    ["2s", 2e9, "2s", "2s"],
    ["90s", 90e9, "1m30s", "1m30s"],
    ["1m0s", 60e9, "1m0s", "1m"],
    ["1h", 3600e9, "1h0m0s", "1h"],
    ["1h30m", 5400e9, "1h30m0s", "1h30m"],
    ["1500ms", 1.5e9, "1.5s", "1.5s"],
    ["2h3m4.5s", 7384.5e9, "2h3m4.5s", "2h3m4.5s"],
    ["250ms", 250e6, "250ms", "250ms"],
    ["1.5us", 1500, "1.5\u00b5s", "1.5\u00b5s"],
    ["100ns", 100, "100ns", "100ns"],
  ])("%s", (text, ns, goString, short) => {
    expect(parseGoDuration(text)).toBe(ns);
    expect(goDurationString(ns)).toBe(goString);
    expect(shortDuration(ns)).toBe(short);
  });

  test.each(["", "1", "-1s", "1 s", "s", "1d", "1s2", 5])("%j is not a duration", (text) => {
    expect(parseGoDuration(text)).toBeUndefined();
  });
});
