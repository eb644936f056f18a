/**
 * Registry data in S3 or an S3-compatible object store: the options of distribution's `s3` storage
 * driver as the registry:2 image (distribution 2.8) has them, their checks, and how they reach the
 * registry.
 *
 * Only parameters the 2.8 driver reads (registry/storage/driver/s3-aws/s3.go, `FromParameters`)
 * are offered. 2.8 has no `forcepathstyle`: setting `regionendpoint` makes it use path-style URLs
 * (`<endpoint>/<bucket>/<key>`), which is what S3-compatible servers (MinIO, Ceph radosgw, ...)
 * expect.
 *
 * Where each value goes: the driver's name is in config.yml (exactly one driver: a second one
 * through env panics the registry), the non-secret parameters in `REGISTRY_STORAGE_S3_*` env
 * entries readable in previews, and the access key and secret key only in a secret env file.
 *
 * The access key is kept secret too, not only the secret key: it names the account and the user
 * (AWS resolves an account from an access key ID), half of a credential pair is still a credential
 * to rotate together with the other half, and the package already treats `*ACCESSKEY*` settings as
 * secret (config.ts `isSecretEnvKey`). Previews then show that credentials changed, not which.
 */
import * as pulumi from "@pulumi/pulumi";
import {
  checkBoolean,
  checkInteger,
  checkObject,
  checkStringValue,
  describeValue,
  fail,
  isDeferred,
  whenKnown,
} from "../common/checks";

/** `storage.s3`: registry data in a bucket of S3 or an S3-compatible server. */
export interface S3StorageOptions {
  /** The bucket (it must exist; the registry does not create it). */
  readonly bucket: pulumi.Input<string>;
  /**
   * The bucket's region, e.g. "eu-west-1". With `regionEndpoint` any name the server accepts
   * (most S3-compatible servers use "us-east-1"). Default "us-east-1".
   */
  readonly region?: pulumi.Input<string>;
  /**
   * URL of an S3-compatible server, e.g. "https://minio.internal:9000". Setting it makes the
   * driver use path-style URLs. Default: none (AWS S3 for `region`).
   */
  readonly regionEndpoint?: pulumi.Input<string>;
  /**
   * Access key ID (kept secret, see the module comment). Give it together with `secretKey`.
   * Default: none: the driver then takes credentials from the task's environment or the EC2
   * instance role.
   */
  readonly accessKey?: pulumi.Input<string>;
  /** Secret access key (secret). Give it together with `accessKey`. Default: none. */
  readonly secretKey?: pulumi.Input<string>;
  /** Key prefix of everything the registry stores, e.g. "/registry". Default: the bucket's root. */
  readonly rootDirectory?: pulumi.Input<string>;
  /** Server-side encryption of stored objects (SSE-S3, or SSE-KMS with `keyId`). Default false. */
  readonly encrypt?: pulumi.Input<boolean>;
  /** KMS key ID for server-side encryption; needs `encrypt: true`. Default: none (SSE-S3). */
  readonly keyId?: pulumi.Input<string>;
  /**
   * HTTPS to the store. Default true, or the scheme of `regionEndpoint` when that is given (the
   * endpoint's scheme decides then; a contradicting value is refused).
   */
  readonly secure?: pulumi.Input<boolean>;
  /** AWS signature version 4 (false: version 2, only for S3-compatible servers). Default true. */
  readonly v4auth?: pulumi.Input<boolean>;
  /**
   * Size in bytes of the parts of multipart uploads, from 5 MiB (5242880) to 5 GiB. Default 10 MiB
   * (10485760), the driver's default.
   */
  readonly chunkSize?: pulumi.Input<number>;
  /**
   * Redirect blob downloads to presigned URLs of the store, so clients fetch layers from it
   * directly (clients must then reach the store). false: the registry streams every blob itself.
   * Default true (distribution's default).
   */
  readonly redirect?: pulumi.Input<boolean>;
}

export const S3_DEFAULTS = {
  region: "us-east-1",
  encrypt: false,
  v4auth: true,
  chunkSize: 10 * 1024 * 1024,
  redirect: true,
} as const;

/** The driver's limits for `chunksize` (S3's part sizes). */
export const S3_CHUNK_SIZE = { min: 5 * 1024 * 1024, max: 5 * 1024 * 1024 * 1024 } as const;

const S3_OPTION_KEYS = [
  "bucket",
  "region",
  "regionEndpoint",
  "accessKey",
  "secretKey",
  "rootDirectory",
  "encrypt",
  "keyId",
  "secure",
  "v4auth",
  "chunkSize",
  "redirect",
] as const;

/** What the registry needs of `storage.s3`, checked and completed with defaults. */
export interface S3Plan {
  /** The driver's non-secret parameters (lower-case names, as in config.yml). */
  readonly parameters: pulumi.Output<Record<string, string | number | boolean>>;
  /** `REGISTRY_STORAGE_S3_ACCESSKEY` / `_SECRETKEY` for a secret env file; none without keys. */
  readonly credentials?: pulumi.Output<Record<string, string>>;
  /** Serve blobs through redirects to the store. */
  readonly redirect: pulumi.Input<boolean>;
}

/** The parts of the driver's parameters that are plain values (known after Outputs resolve). */
export interface S3Parameters {
  bucket: string;
  region: string;
  regionEndpoint?: string;
  rootDirectory?: string;
  encrypt: boolean;
  keyId?: string;
  secure?: boolean;
  v4auth: boolean;
  chunkSize: number;
}

/**
 * The driver's parameters from checked values: every default written out, so a preview shows what
 * the registry runs with; `secure` follows the endpoint's scheme when an endpoint is given.
 */
export function s3DriverParameters(p: S3Parameters): Record<string, string | number | boolean> {
  const secure =
    p.regionEndpoint !== undefined
      ? new URL(p.regionEndpoint).protocol === "https:"
      : (p.secure ?? true);
  const out: Record<string, string | number | boolean> = {
    bucket: p.bucket,
    region: p.region,
    encrypt: p.encrypt,
    secure,
    v4auth: p.v4auth,
    chunksize: p.chunkSize,
  };
  if (p.regionEndpoint !== undefined) out.regionendpoint = p.regionEndpoint;
  if (p.rootDirectory !== undefined) out.rootdirectory = p.rootDirectory;
  if (p.keyId !== undefined) out.keyid = p.keyId;
  return out;
}

const BUCKET = /^[a-zA-Z0-9][a-zA-Z0-9._-]{1,253}[a-zA-Z0-9]$/;
/** AWS region names: `us-east-1`, `eu-central-2`, `us-gov-west-1`, `cn-north-1`... */
const AWS_REGION = /^[a-z]{2,}(-[a-z]+)+-\d+$/;
const ROOT_DIRECTORY = /^\/?[A-Za-z0-9._-]+(\/[A-Za-z0-9._-]+)*\/?$/;

function checkEndpoint(label: string, field: string, value: unknown): void {
  // A URL with user info may carry a password: never quote it.
  const shown = describeValue(value, typeof value === "string" && value.includes("@"));
  let url: URL | undefined;
  if (typeof value === "string" && !/\s/.test(value)) {
    try {
      url = new URL(value);
    } catch {
      url = undefined;
    }
  }
  if (!url || (url.protocol !== "http:" && url.protocol !== "https:") || url.hostname === "") {
    fail(
      label,
      field,
      `${field} ${shown} is not an http(s) URL; use the S3 server's address with its scheme, ` +
        `e.g. "https://minio.internal:9000".`,
    );
  }
  if (url.username !== "" || url.password !== "") {
    fail(
      label,
      field,
      `${field} contains credentials; remove them and use storage.s3.accessKey and secretKey.`,
    );
  }
  if ((url.pathname !== "/" && url.pathname !== "") || url.search !== "" || url.hash !== "") {
    fail(
      label,
      field,
      `${field} ${shown} has a path, query or fragment; give only scheme://host[:port] (the ` +
        `driver appends /<bucket>/<key>).`,
    );
  }
}

/**
 * Checks `storage.s3` (and what conflicts with it: `storage.volumeName`, redirect settings in
 * `env`) and completes it with defaults. Returns undefined when `storage.s3` is not given. Throws
 * InvalidInputError for any bad plain value; Outputs are checked when known. Secret values are
 * never shown in messages.
 */
export function planS3Storage(
  label: string,
  storage: { s3?: unknown; volumeName?: unknown } | undefined,
  envKeys: readonly string[],
): S3Plan | undefined {
  const options = checkObject(label, "storage.s3", storage?.s3, S3_OPTION_KEYS) as
    S3StorageOptions | undefined;
  if (options === undefined) return undefined;
  const f = (key: string) => `storage.s3.${key}`;

  if (storage?.volumeName !== undefined) {
    fail(
      label,
      "storage.volumeName",
      "storage.volumeName and storage.s3 are both set; the registry keeps its data in one " +
        "place: remove volumeName to store in the bucket, or s3 to store in the volume.",
    );
  }
  const redirectEnv = envKeys.find((k) => /^REGISTRY_STORAGE_REDIRECT(_|$)/.test(k));
  if (redirectEnv !== undefined) {
    fail(
      label,
      `env.${redirectEnv}`,
      `env key ${redirectEnv} would override a setting this component owns with S3 storage; ` +
        `use storage.s3.redirect instead.`,
    );
  }
  if (options.bucket === undefined) {
    fail(label, f("bucket"), `${f("bucket")} is missing; name the bucket the registry stores in.`);
  }

  const text = (key: string, value: unknown, rules: { secret?: boolean; example?: string }) =>
    value === undefined
      ? undefined
      : whenKnown(value as pulumi.Input<string>, (v) => checkStringValue(label, f(key), v, rules));

  const bucket = whenKnown(options.bucket, (v) => {
    checkStringValue(label, f("bucket"), v, { example: "registry-data" });
    if (!BUCKET.test(v)) {
      fail(
        label,
        f("bucket"),
        `${f("bucket")} ${describeValue(v)} is not a bucket name; use 3-255 letters, digits, ` +
          `'.', '_' or '-', starting and ending with a letter or digit.`,
      );
    }
  });
  const regionEndpoint =
    options.regionEndpoint === undefined
      ? undefined
      : whenKnown(options.regionEndpoint, (v) => checkEndpoint(label, f("regionEndpoint"), v));
  const region = whenKnown(options.region ?? S3_DEFAULTS.region, (v) =>
    checkStringValue(label, f("region"), v, { example: "eu-west-1" }),
  );
  const rootDirectory =
    options.rootDirectory === undefined
      ? undefined
      : whenKnown(options.rootDirectory, (v) => {
          if (typeof v !== "string" || !ROOT_DIRECTORY.test(v) || /(^|\/)\.\.?(\/|$)/.test(v)) {
            fail(
              label,
              f("rootDirectory"),
              `${f("rootDirectory")} ${describeValue(v)} is not a key prefix; use path ` +
                `segments of letters, digits, '.', '_' or '-', e.g. "/registry".`,
            );
          }
        });
  const keyId = text("keyId", options.keyId, { example: "arn:aws:kms:..." });

  const hasAccess = options.accessKey !== undefined;
  const hasSecret = options.secretKey !== undefined;
  if (hasAccess !== hasSecret) {
    const [given, missing] = hasAccess ? ["accessKey", "secretKey"] : ["secretKey", "accessKey"];
    fail(
      label,
      f(missing),
      `${f(given)} is set without ${f(missing)}; give both, or neither to use the credentials ` +
        `of the task's environment or instance role.`,
    );
  }
  const accessKey = text("accessKey", options.accessKey, { secret: true });
  const secretKey = text("secretKey", options.secretKey, { secret: true });

  const encrypt = checkBoolean(label, f("encrypt"), options.encrypt) ?? S3_DEFAULTS.encrypt;
  const secure = checkBoolean(label, f("secure"), options.secure);
  const v4auth = checkBoolean(label, f("v4auth"), options.v4auth) ?? S3_DEFAULTS.v4auth;
  const redirect = checkBoolean(label, f("redirect"), options.redirect) ?? S3_DEFAULTS.redirect;
  const chunkSize =
    checkInteger(label, f("chunkSize"), options.chunkSize, {
      ...S3_CHUNK_SIZE,
      example: S3_DEFAULTS.chunkSize,
    }) ?? S3_DEFAULTS.chunkSize;

  // Rules across options: now when every value involved is plain, else once known.
  const checkAcross = (c: {
    region: string;
    endpoint?: string;
    encrypt?: boolean;
    keyId?: string;
    secure?: boolean;
    v4auth?: boolean;
  }): void => {
    if (c.endpoint === undefined && !AWS_REGION.test(c.region)) {
      fail(
        label,
        f("region"),
        `${f("region")} ${describeValue(c.region)} is not an AWS region, and without ` +
          `${f("regionEndpoint")} the driver refuses it; use e.g. "eu-west-1", or set ` +
          `${f("regionEndpoint")} for an S3-compatible server.`,
      );
    }
    if (c.endpoint === undefined && c.v4auth === false) {
      fail(
        label,
        f("v4auth"),
        `${f("v4auth")} is false, but AWS S3 only accepts signature version 4; leave v4auth ` +
          `out (version 2 is for S3-compatible servers given in ${f("regionEndpoint")}).`,
      );
    }
    if (c.endpoint !== undefined && c.secure !== undefined) {
      const https = new URL(c.endpoint).protocol === "https:";
      if (https !== c.secure) {
        fail(
          label,
          f("secure"),
          `${f("secure")} is ${c.secure} but ${f("regionEndpoint")} uses ` +
            `${https ? "https" : "http"}; the endpoint's scheme decides: leave secure out.`,
        );
      }
    }
    if (c.keyId !== undefined && c.encrypt !== true) {
      fail(
        label,
        f("keyId"),
        `${f("keyId")} is set but ${f("encrypt")} is not true; set encrypt: true to encrypt ` +
          `with that KMS key, or remove keyId.`,
      );
    }
  };
  const involved = [region, regionEndpoint, encrypt, keyId, secure, v4auth];
  if (!involved.some(isDeferred)) {
    checkAcross({
      region: region as string,
      endpoint: regionEndpoint as string | undefined,
      encrypt: encrypt as boolean,
      keyId: keyId as string | undefined,
      secure: secure as boolean | undefined,
      v4auth: v4auth as boolean,
    });
  }
  const texts = pulumi.all([bucket, region, regionEndpoint, rootDirectory, keyId]);
  const flags = pulumi.all([encrypt, secure, v4auth, chunkSize]);
  const combined = pulumi
    .all([texts, flags])
    .apply(([[b, r, endpoint, root, key], [enc, sec, v4, chunk]]) => {
      checkAcross({ region: r, endpoint, encrypt: enc, keyId: key, secure: sec, v4auth: v4 });
      return s3DriverParameters({
        bucket: b,
        region: r,
        regionEndpoint: endpoint,
        rootDirectory: root,
        encrypt: enc,
        keyId: key,
        secure: sec,
        v4auth: v4,
        chunkSize: chunk,
      });
    });

  const credentials =
    accessKey !== undefined && secretKey !== undefined
      ? pulumi.secret(
          pulumi.all([accessKey, secretKey]).apply(([a, s]): Record<string, string> => ({
            REGISTRY_STORAGE_S3_ACCESSKEY: a,
            REGISTRY_STORAGE_S3_SECRETKEY: s,
          })),
        )
      : undefined;
  return { parameters: combined, credentials, redirect };
}
