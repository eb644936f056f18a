/**
 * Pulumi mocks that behave like the real providers closely enough to run what they declare.
 *
 * - `tls:index/privateKey:PrivateKey` returns a real key (node crypto) of the requested algorithm,
 *   size or curve, in the PEM forms the tls provider uses (PKCS#1 for RSA, SEC1 for ECDSA). EC
 *   keys are fresh each time; RSA keys come from a pool of two per size (see `rsaPool`).
 * - `tls:index/selfSignedCert:SelfSignedCert`, `tls:index/certRequest:CertRequest` and
 *   `tls:index/locallySignedCert:LocallySignedCert` return real X.509 PEM made by the `openssl` CLI,
 *   honouring subject, DNS names, IP addresses, validity, `isCaCertificate` and `allowedUses`.
 *   Like the real provider they refuse `allowedUses` that are not snake_case provider values.
 * - `random:index/randomPassword:RandomPassword` returns a real random `result` and its real
 *   bcrypt hash (`$2a$10$...`) in `bcryptHash`.
 * - `random:index/randomId:RandomId` returns real random bytes as `hex`, `b64Std`, `b64Url`, `dec`.
 * - `docker:index/remoteImage:RemoteImage` returns `imageId` (from `resolveImageId`, else a
 *   deterministic fake `sha256:<hex>` of the name) and `repoDigest`.
 * - A resource whose inputs the real provider would refuse is recorded in `rejections` (and gets
 *   no computed outputs) instead of throwing, which would kill the jest worker.
 * - `docker:index/container:Container` and `docker:index/volume:Volume` echo their inputs plus
 *   `id` and `name`, so a harness can run what was declared on a real engine.
 *
 * Computed outputs the real providers mark secret (`privateKeyPem`, `result`, `bcryptHash`) are
 * returned PLAIN here, as under mocks the SDK does not apply the providers' secret markings
 * (`additionalSecretOutputs`). A test that finds a component output secret therefore proves the
 * component marked it itself. Inputs that arrive secret stay wrapped in `resources[].inputs` and in
 * the echoed state.
 */
// Provider inputs and outputs are untyped property bags (`Record<string, any>` in Mocks itself).
/* eslint-disable @typescript-eslint/no-explicit-any */
import * as pulumi from "@pulumi/pulumi";
import * as bcrypt from "bcryptjs";
import { execFileSync } from "child_process";
import * as crypto from "crypto";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";

/** The key Pulumi uses to mark a serialized secret (`{ [SECRET_SIG]: SECRET_VALUE, value }`). */
const SECRET_SIG = "4dabf18193072939515e22adb298388d";
const SECRET_VALUE = "1b47061264138c4ac30d75fd1eb44270";

/** One resource registered with the mock monitor. */
export interface DeclaredResource {
  /** Type token, e.g. `docker:index/container:Container`. */
  type: string;
  /** Logical (Pulumi) name. */
  name: string;
  /** Inputs as the monitor received them: secret inputs are still wrapped. */
  inputs: Record<string, any>;
  /** The id the mock assigned ("" for component resources). */
  id: string;
  /** Outputs the mock returned. */
  state: Record<string, any>;
  /** False for component resources. */
  custom: boolean;
}

export interface MockOptions {
  /**
   * Image ID to return for a `RemoteImage` named `name` (e.g. a locally built test image, or the
   * image in a remote host's engine); undefined gives the deterministic fake.
   */
  resolveImageId?: (name: string) => string | undefined;
  /**
   * Resources of a previous run (another RecordingMocks' `resources`). A resource with the same
   * type, name and inputs gets its previous id and outputs back, as the engine keeps an unchanged
   * resource's state: this is how a test shows a second `pulumi up` declares identical inputs.
   */
  priorState?: readonly DeclaredResource[];
}

/** True for a serialized secret wrapper. */
function isSecretWrapper(v: unknown): v is { value: unknown } {
  return (
    typeof v === "object" &&
    v !== null &&
    (v as Record<string, unknown>)[SECRET_SIG] === SECRET_VALUE
  );
}

/** Deep copy of `v` with every secret wrapper replaced by its value. */
export function unwrapSecrets<T>(v: T): T {
  if (isSecretWrapper(v)) {
    return unwrapSecrets(v.value) as T;
  }
  if (Array.isArray(v)) {
    return v.map((x) => unwrapSecrets(x)) as T;
  }
  if (typeof v === "object" && v !== null) {
    const out: Record<string, unknown> = {};
    for (const [k, x] of Object.entries(v)) {
      out[k] = unwrapSecrets(x);
    }
    return out as T;
  }
  return v;
}

/** Deep copy of `v` with every secret replaced by "[secret]": what state shows in plain text. */
export function redactSecrets<T>(v: T): unknown {
  if (isSecretWrapper(v)) return "[secret]";
  if (Array.isArray(v)) return v.map((x) => redactSecrets(x));
  if (typeof v === "object" && v !== null) {
    return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, redactSecrets(x)]));
  }
  return v;
}

/** True when `v` is, or contains, a secret wrapper. */
export function containsSecret(v: unknown): boolean {
  if (isSecretWrapper(v)) return true;
  if (Array.isArray(v)) return v.some(containsSecret);
  if (typeof v === "object" && v !== null) return Object.values(v).some(containsSecret);
  return false;
}

/**
 * The value of an Output (mocks run with preview=false, so every value is known). Rejects when a
 * resource the value depends on failed to register (e.g. a mock refused its inputs).
 */
export function outputOf<T>(o: pulumi.Output<T>): Promise<T> {
  // `promise()` is the SDK's internal accessor; unlike `apply` it also surfaces failures.
  const internal = o as unknown as { promise?: () => Promise<T> };
  if (typeof internal.promise === "function") {
    return internal.promise();
  }
  return new Promise<T>((resolve) => {
    o.apply((v) => {
      resolve(v);
      return v;
    });
  });
}

/** Whether the Output is marked secret. */
export function isSecretOutput<T>(o: pulumi.Output<T>): Promise<boolean> {
  return pulumi.isSecret(o);
}

function sha256Hex(s: string): string {
  return crypto.createHash("sha256").update(s).digest("hex");
}

// ---------------------------------------------------------------------------------------------
// Keys

interface GeneratedKey {
  privateKeyPem: string;
  privateKeyPemPkcs8: string;
  publicKeyPem: string;
  publicKeyOpenssh: string;
  publicKeyFingerprintSha256: string;
  publicKeyFingerprintMd5: string;
}

const NODE_CURVES: Record<string, { node: string; ssh: string; coordinateBytes: number }> = {
  P224: { node: "secp224r1", ssh: "nistp224", coordinateBytes: 28 },
  P256: { node: "prime256v1", ssh: "nistp256", coordinateBytes: 32 },
  P384: { node: "secp384r1", ssh: "nistp384", coordinateBytes: 48 },
  P521: { node: "secp521r1", ssh: "nistp521", coordinateBytes: 66 },
};

/**
 * RSA keys come from a small pool per size, as RSA 4096 takes a second or more to generate:
 * consecutive RSA keys of one size alternate between two pool slots, so a CA key and the server
 * key declared after it always differ. EC and Ed25519 keys are cheap and always fresh.
 */
const rsaPool = new Map<string, GeneratedKey>();
const rsaCounters = new Map<number, number>();
const RSA_POOL_SIZE = 2;

function sshString(b: Buffer | string): Buffer {
  const data = typeof b === "string" ? Buffer.from(b) : b;
  const len = Buffer.alloc(4);
  len.writeUInt32BE(data.length);
  return Buffer.concat([len, data]);
}

function sshMpint(b64url: string): Buffer {
  let b = Buffer.from(b64url, "base64url");
  if (b[0] & 0x80) b = Buffer.concat([Buffer.from([0]), b]);
  return sshString(b);
}

function generateKey(algorithm: string, rsaBits: number, curve: string): GeneratedKey {
  let poolKey: string | undefined;
  if (algorithm === "RSA") {
    const n = rsaCounters.get(rsaBits) ?? 0;
    rsaCounters.set(rsaBits, n + 1);
    poolKey = `${rsaBits}/${n % RSA_POOL_SIZE}`;
    const pooled = rsaPool.get(poolKey);
    if (pooled) return pooled;
  }

  let pair: crypto.KeyPairKeyObjectResult;
  let privateKeyPem: string;
  let sshBlob: Buffer;
  let sshType: string;
  if (algorithm === "RSA") {
    pair = crypto.generateKeyPairSync("rsa", { modulusLength: rsaBits });
    privateKeyPem = pair.privateKey.export({ type: "pkcs1", format: "pem" }).toString();
    const jwk = pair.publicKey.export({ format: "jwk" });
    sshType = "ssh-rsa";
    sshBlob = Buffer.concat([sshString(sshType), sshMpint(jwk.e!), sshMpint(jwk.n!)]);
  } else if (algorithm === "ECDSA") {
    const c = NODE_CURVES[curve];
    if (!c) throw new Error(`mock tls PrivateKey: unsupported ecdsaCurve ${curve}`);
    pair = crypto.generateKeyPairSync("ec", { namedCurve: c.node });
    privateKeyPem = pair.privateKey.export({ type: "sec1", format: "pem" }).toString();
    // The uncompressed point ends the SPKI DER (JWK export does not support P-224).
    const spki = pair.publicKey.export({ type: "spki", format: "der" });
    const point = spki.subarray(spki.length - (1 + 2 * c.coordinateBytes));
    sshType = `ecdsa-sha2-${c.ssh}`;
    sshBlob = Buffer.concat([sshString(sshType), sshString(c.ssh), sshString(point)]);
  } else if (algorithm === "ED25519") {
    pair = crypto.generateKeyPairSync("ed25519");
    privateKeyPem = pair.privateKey.export({ type: "pkcs8", format: "pem" }).toString();
    const jwk = pair.publicKey.export({ format: "jwk" });
    sshType = "ssh-ed25519";
    sshBlob = Buffer.concat([sshString(sshType), sshString(Buffer.from(jwk.x!, "base64url"))]);
  } else {
    throw new Error(`mock tls PrivateKey: unsupported algorithm ${algorithm}`);
  }
  const md5 = crypto.createHash("md5").update(sshBlob).digest("hex");
  const key: GeneratedKey = {
    privateKeyPem,
    privateKeyPemPkcs8: pair.privateKey.export({ type: "pkcs8", format: "pem" }).toString(),
    publicKeyPem: pair.publicKey.export({ type: "spki", format: "pem" }).toString(),
    publicKeyOpenssh: `${sshType} ${sshBlob.toString("base64")}\n`,
    publicKeyFingerprintSha256:
      "SHA256:" + crypto.createHash("sha256").update(sshBlob).digest("base64").replace(/=+$/, ""),
    publicKeyFingerprintMd5: md5.match(/../g)!.join(":"),
  };
  if (poolKey !== undefined) rsaPool.set(poolKey, key);
  return key;
}

function mockPrivateKey(inputs: Record<string, any>): Record<string, any> {
  const algorithm = inputs.algorithm as string;
  const rsaBits = (inputs.rsaBits as number | undefined) ?? 2048;
  // The real provider's default curve is P224 (which Go TLS rejects); mirror it.
  const ecdsaCurve = (inputs.ecdsaCurve as string | undefined) ?? "P224";
  const key = generateKey(algorithm, rsaBits, ecdsaCurve);
  return { ...inputs, algorithm, rsaBits, ecdsaCurve, ...key };
}

// ---------------------------------------------------------------------------------------------
// Certificates (openssl CLI)

const KEY_USAGES: Record<string, string> = {
  digital_signature: "digitalSignature",
  content_commitment: "nonRepudiation",
  key_encipherment: "keyEncipherment",
  data_encipherment: "dataEncipherment",
  key_agreement: "keyAgreement",
  cert_signing: "keyCertSign",
  crl_signing: "cRLSign",
  encipher_only: "encipherOnly",
  decipher_only: "decipherOnly",
};

const EXT_KEY_USAGES: Record<string, string> = {
  any_extended: "anyExtendedKeyUsage",
  server_auth: "serverAuth",
  client_auth: "clientAuth",
  code_signing: "codeSigning",
  email_protection: "emailProtection",
  ipsec_end_system: "ipsecEndSystem",
  ipsec_tunnel: "ipsecTunnel",
  ipsec_user: "ipsecUser",
  timestamping: "timeStamping",
  ocsp_signing: "OCSPSigning",
  microsoft_server_gated_crypto: "msSGC",
  netscape_server_gated_crypto: "nsSGC",
  microsoft_commercial_code_signing: "msCodeCom",
};

const SUBJECT_FIELDS: [string, string][] = [
  ["country", "C"],
  ["province", "ST"],
  ["locality", "L"],
  ["postalCode", "postalCode"],
  ["organization", "O"],
  ["organizationalUnit", "OU"],
  ["commonName", "CN"],
  ["serialNumber", "serialNumber"],
  ["emailAddress", "emailAddress"],
];

function subjectArg(subject: Record<string, any> | undefined): string {
  const escape = (v: string) => v.replace(/[\\/+=]/g, (c) => `\\${c}`);
  const parts: string[] = [];
  for (const [field, short] of SUBJECT_FIELDS) {
    const value = subject?.[field];
    if (typeof value === "string" && value !== "") parts.push(`/${short}=${escape(value)}`);
  }
  for (const street of (subject?.streetAddresses as string[] | undefined) ?? []) {
    parts.push(`/street=${escape(street)}`);
  }
  return parts.length > 0 ? parts.join("") : "/";
}

/** openssl extension lines for the usages, basic constraints and (optionally) SANs. */
function extensionLines(
  inputs: Record<string, any>,
  resourceType: string,
  withSans: boolean,
): string[] {
  const allowedUses = (inputs.allowedUses as string[] | undefined) ?? [];
  const ku: string[] = [];
  const eku: string[] = [];
  for (const use of allowedUses) {
    if (KEY_USAGES[use]) ku.push(KEY_USAGES[use]);
    else if (EXT_KEY_USAGES[use]) eku.push(EXT_KEY_USAGES[use]);
    else {
      // The real provider rejects values outside its enum (camelCase included).
      throw new Error(
        `mock ${resourceType}: allowedUses value "${use}" is not one the tls provider accepts ` +
          `(${[...Object.keys(KEY_USAGES), ...Object.keys(EXT_KEY_USAGES)].join(", ")})`,
      );
    }
  }
  const lines = [
    inputs.isCaCertificate ? "basicConstraints = critical, CA:TRUE" : "basicConstraints = CA:FALSE",
    "subjectKeyIdentifier = hash",
  ];
  if (ku.length > 0) lines.push(`keyUsage = critical, ${ku.join(", ")}`);
  if (eku.length > 0) lines.push(`extendedKeyUsage = ${eku.join(", ")}`);
  if (withSans) {
    const sans = sanEntries(inputs);
    if (sans) lines.push(`subjectAltName = ${sans}`);
  }
  return lines;
}

function sanEntries(inputs: Record<string, any>): string | undefined {
  const dns = ((inputs.dnsNames as string[] | undefined) ?? []).map((d) => `DNS:${d}`);
  const ips = ((inputs.ipAddresses as string[] | undefined) ?? []).map((ip) => `IP:${ip}`);
  const uris = ((inputs.uris as string[] | undefined) ?? []).map((u) => `URI:${u}`);
  const all = [...dns, ...ips, ...uris];
  return all.length > 0 ? all.join(", ") : undefined;
}

/** Runs `body` with a fresh temp directory that is always removed. */
function withTempDir<T>(body: (dir: string) => T): T {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "secure-registry-mock-"));
  try {
    return body(dir);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

function openssl(args: string[], cwd: string): void {
  execFileSync("openssl", args, { cwd, stdio: ["ignore", "ignore", "pipe"], timeout: 30_000 });
}

/** openssl 3.0 only takes whole days; the mock rounds the requested hours up. */
function daysFor(inputs: Record<string, any>): string {
  const hours = Number(inputs.validityPeriodHours ?? 24);
  return String(Math.max(1, Math.ceil(hours / 24)));
}

function randomSerial(): string {
  return (
    "0x" +
    crypto
      .randomBytes(16)
      .toString("hex")
      .replace(/^[89a-f]/, "1")
  );
}

function certTimes(certPem: string): Record<string, string> {
  const cert = new crypto.X509Certificate(certPem);
  return {
    validityStartTime: new Date(cert.validFrom).toISOString().replace(/\.000Z$/, "Z"),
    validityEndTime: new Date(cert.validTo).toISOString().replace(/\.000Z$/, "Z"),
  };
}

const MIN_CONFIG = "[req]\ndistinguished_name = dn\n[dn]\n";

function mockSelfSignedCert(inputs: Record<string, any>, type: string): Record<string, any> {
  const certPem = withTempDir((dir) => {
    fs.writeFileSync(path.join(dir, "key.pem"), inputs.privateKeyPem, { mode: 0o600 });
    fs.writeFileSync(
      path.join(dir, "req.cnf"),
      MIN_CONFIG + "[ext]\n" + extensionLines(inputs, type, true).join("\n") + "\n",
    );
    openssl(
      [
        "req",
        "-x509",
        "-new",
        "-config",
        "req.cnf",
        "-extensions",
        "ext",
        "-key",
        "key.pem",
        "-subj",
        subjectArg(inputs.subject),
        "-days",
        daysFor(inputs),
        "-set_serial",
        randomSerial(),
        "-sha256",
        "-out",
        "cert.pem",
      ],
      dir,
    );
    return fs.readFileSync(path.join(dir, "cert.pem"), "utf8");
  });
  return { ...certOutputs(inputs, certPem), keyAlgorithm: keyAlgorithmOf(inputs.privateKeyPem) };
}

/** Outputs every tls certificate resource has: the PEM, its validity, renewal state. */
function certOutputs(inputs: Record<string, any>, certPem: string): Record<string, any> {
  return {
    ...inputs,
    certPem,
    ...certTimes(certPem),
    readyForRenewal: false,
    earlyRenewalHours: inputs.earlyRenewalHours ?? 0,
    isCaCertificate: inputs.isCaCertificate ?? false,
  };
}

function keyAlgorithmOf(privateKeyPem: string): string {
  const kind = crypto.createPrivateKey(privateKeyPem).asymmetricKeyType;
  return kind === "rsa" ? "RSA" : kind === "ec" ? "ECDSA" : "ED25519";
}

function mockCertRequest(inputs: Record<string, any>): Record<string, any> {
  const certRequestPem = withTempDir((dir) => {
    fs.writeFileSync(path.join(dir, "key.pem"), inputs.privateKeyPem, { mode: 0o600 });
    const sans = sanEntries(inputs);
    fs.writeFileSync(
      path.join(dir, "req.cnf"),
      MIN_CONFIG + (sans ? `[ext]\nsubjectAltName = ${sans}\n` : ""),
    );
    openssl(
      [
        "req",
        "-new",
        "-config",
        "req.cnf",
        ...(sans ? ["-reqexts", "ext"] : []),
        "-key",
        "key.pem",
        "-subj",
        subjectArg(inputs.subject),
        "-sha256",
        "-out",
        "req.pem",
      ],
      dir,
    );
    return fs.readFileSync(path.join(dir, "req.pem"), "utf8");
  });
  return { ...inputs, certRequestPem, keyAlgorithm: keyAlgorithmOf(inputs.privateKeyPem) };
}

function mockLocallySignedCert(inputs: Record<string, any>, type: string): Record<string, any> {
  const certPem = withTempDir((dir) => {
    fs.writeFileSync(path.join(dir, "req.pem"), inputs.certRequestPem);
    fs.writeFileSync(path.join(dir, "ca.pem"), inputs.caCertPem);
    fs.writeFileSync(path.join(dir, "ca.key"), inputs.caPrivateKeyPem, { mode: 0o600 });
    fs.writeFileSync(
      path.join(dir, "ext.cnf"),
      "[ext]\n" +
        [...extensionLines(inputs, type, false), "authorityKeyIdentifier = keyid"].join("\n") +
        "\n",
    );
    openssl(
      [
        "x509",
        "-req",
        "-in",
        "req.pem",
        "-CA",
        "ca.pem",
        "-CAkey",
        "ca.key",
        "-set_serial",
        randomSerial(),
        "-days",
        daysFor(inputs),
        "-sha256",
        "-extfile",
        "ext.cnf",
        "-extensions",
        "ext",
        // The tls provider takes the SANs from the request, as this does.
        "-copy_extensions",
        "copy",
        "-out",
        "cert.pem",
      ],
      dir,
    );
    return fs.readFileSync(path.join(dir, "cert.pem"), "utf8");
  });
  return {
    ...certOutputs(inputs, certPem),
    caKeyAlgorithm: keyAlgorithmOf(inputs.caPrivateKeyPem),
  };
}

// ---------------------------------------------------------------------------------------------
// random.RandomPassword

const DEFAULT_SPECIAL = "!@#$%&*()-_=+[]{}<>:?";

function mockRandomPassword(inputs: Record<string, any>): Record<string, any> {
  const length = Number(inputs.length);
  const flag = (name: string) => inputs[name] !== false;
  const sets: { chars: string; min: number }[] = [];
  if (flag("upper"))
    sets.push({ chars: "ABCDEFGHIJKLMNOPQRSTUVWXYZ", min: Number(inputs.minUpper ?? 0) });
  if (flag("lower"))
    sets.push({ chars: "abcdefghijklmnopqrstuvwxyz", min: Number(inputs.minLower ?? 0) });
  if (flag("numeric") && inputs.number !== false)
    sets.push({ chars: "0123456789", min: Number(inputs.minNumeric ?? 0) });
  if (flag("special"))
    sets.push({
      chars: (inputs.overrideSpecial as string | undefined) ?? DEFAULT_SPECIAL,
      min: Number(inputs.minSpecial ?? 0),
    });
  const all = sets.map((s) => s.chars).join("");
  if (!Number.isInteger(length) || length < 1 || all === "") {
    throw new Error(`mock RandomPassword: cannot make a password from ${JSON.stringify(inputs)}`);
  }
  const chars: string[] = [];
  for (const s of sets)
    for (let i = 0; i < s.min; i++) chars.push(s.chars[crypto.randomInt(s.chars.length)]);
  while (chars.length < length) chars.push(all[crypto.randomInt(all.length)]);
  for (let i = chars.length - 1; i > 0; i--) {
    const j = crypto.randomInt(i + 1);
    [chars[i], chars[j]] = [chars[j], chars[i]];
  }
  const result = chars.join("");
  // Go's bcrypt (used by the provider) writes $2a$; bcryptjs writes $2b$ for the same algorithm.
  const bcryptHash = bcrypt.hashSync(result, bcrypt.genSaltSync(10)).replace(/^\$2b\$/, "$2a$");
  return { ...inputs, result, bcryptHash };
}

// ---------------------------------------------------------------------------------------------
// docker

function fakeImageId(name: string): string {
  return `sha256:${sha256Hex(`image:${name}`)}`;
}

function repoDigestFor(name: string): string {
  if (name.includes("@sha256:")) return name;
  const lastSlash = name.lastIndexOf("/");
  const colon = name.indexOf(":", lastSlash + 1);
  const repo = colon >= 0 ? name.slice(0, colon) : name;
  return `${repo}@sha256:${sha256Hex(`digest:${name}`)}`;
}

// ---------------------------------------------------------------------------------------------

/** Mocks that record every registered resource and answer with real-looking outputs. */
export class RecordingMocks implements pulumi.runtime.Mocks {
  /** Every resource registered, in registration order. */
  readonly resources: DeclaredResource[] = [];
  /** Resources whose inputs the mock refused, as the real provider would (e.g. camelCase uses). */
  readonly rejections: { type: string; name: string; message: string }[] = [];

  constructor(private readonly options: MockOptions = {}) {}

  /** All recorded resources of `type` whose name ends with `nameSuffix` (if given). */
  findAll(type: string, nameSuffix?: string): DeclaredResource[] {
    return this.resources.filter(
      (r) => r.type === type && (nameSuffix === undefined || r.name.endsWith(nameSuffix)),
    );
  }

  /** The single recorded resource of `type` (name ending with `nameSuffix`); throws otherwise. */
  find(type: string, nameSuffix?: string): DeclaredResource {
    const found = this.findAll(type, nameSuffix);
    if (found.length !== 1) {
      const names = this.resources.map((r) => `${r.type} ${r.name}`).join("\n  ");
      throw new Error(
        `expected exactly one ${type}${nameSuffix ? ` named *${nameSuffix}` : ""}, ` +
          `found ${found.length}. Declared:\n  ${names}`,
      );
    }
    return found[0];
  }

  /** Forget recorded resources (between tests). */
  clear(): void {
    this.resources.length = 0;
    this.rejections.length = 0;
  }

  newResource(args: pulumi.runtime.MockResourceArgs): { id: string | undefined; state: any } {
    const inputs = args.inputs as Record<string, any>;
    const plain = unwrapSecrets(inputs);
    const custom = args.custom !== false;
    let id = custom ? `${args.name}-id` : "";
    const prior = this.options.priorState?.find(
      (r) =>
        r.type === args.type &&
        r.name === args.name &&
        JSON.stringify(r.inputs) === JSON.stringify(inputs),
    );
    if (prior) {
      this.resources.push({ ...prior });
      return { id: prior.custom ? prior.id : undefined, state: prior.state };
    }
    let state: Record<string, any> = { ...inputs };
    try {
      state = this.computeState(args.type, args.name, inputs, plain, (newId) => (id = newId));
    } catch (err) {
      // A throw here would surface as an unhandled rejection that kills the jest worker; record
      // it instead and return no computed outputs. Tests assert `rejections` is empty.
      this.rejections.push({
        type: args.type,
        name: args.name,
        message: err instanceof Error ? err.message : String(err),
      });
    }
    this.resources.push({ type: args.type, name: args.name, inputs, id, state, custom });
    return { id: custom ? id : undefined, state };
  }

  private computeState(
    type: string,
    name: string,
    inputs: Record<string, any>,
    plain: Record<string, any>,
    setId: (id: string) => void,
  ): Record<string, any> {
    let state: Record<string, any>;
    switch (type) {
      case "tls:index/privateKey:PrivateKey":
        state = mockPrivateKey(plain);
        break;
      case "tls:index/selfSignedCert:SelfSignedCert":
        state = mockSelfSignedCert(plain, type);
        break;
      case "tls:index/certRequest:CertRequest":
        state = mockCertRequest(plain);
        break;
      case "tls:index/locallySignedCert:LocallySignedCert":
        state = mockLocallySignedCert(plain, type);
        break;
      case "random:index/randomPassword:RandomPassword":
        state = mockRandomPassword(plain);
        break;
      case "random:index/randomId:RandomId": {
        const bytes = crypto.randomBytes(Number(plain.byteLength));
        const prefix = (plain.prefix as string | undefined) ?? "";
        state = {
          ...inputs,
          hex: prefix + bytes.toString("hex"),
          b64Std: prefix + bytes.toString("base64"),
          b64Url: prefix + bytes.toString("base64url"),
          dec: prefix + BigInt(`0x${bytes.toString("hex")}`).toString(10),
        };
        setId(state.b64Url);
        break;
      }
      case "docker:index/remoteImage:RemoteImage": {
        const imageName = String(plain.name);
        const imageId = this.options.resolveImageId?.(imageName) ?? fakeImageId(imageName);
        state = { ...inputs, imageId, repoDigest: repoDigestFor(imageName) };
        setId(`${imageId}${imageName}`);
        break;
      }
      case "docker:index/image:Image": {
        // A build's digest follows what was built: the same inputs give the same digest.
        const imageName = String(plain.imageName);
        const digest = sha256Hex(`build:${JSON.stringify(plain)}`);
        const repoDigest = `${repoDigestFor(imageName).split("@")[0]}@sha256:${digest}`;
        state = { ...inputs, repoDigest, platform: plain.build?.platform };
        setId(`${imageName}-${digest.slice(0, 12)}`);
        break;
      }
      case "docker:index/container:Container": {
        const containerName = (plain.name as string | undefined) ?? name;
        setId(sha256Hex(`container:${containerName}`));
        state = { ...inputs, name: containerName };
        break;
      }
      case "docker:index/volume:Volume": {
        const volumeName = (plain.name as string | undefined) ?? name;
        setId(volumeName);
        state = {
          ...inputs,
          name: volumeName,
          driver: plain.driver ?? "local",
          mountpoint: `/var/lib/docker/volumes/${volumeName}/_data`,
        };
        break;
      }
      default:
        state = { ...inputs };
    }
    return state;
  }

  call(_args: pulumi.runtime.MockCallArgs): Record<string, any> {
    return {};
  }
}

/** Installs fresh RecordingMocks (project "project", stack "stack", not a preview). */
export function setupMocks(options?: MockOptions): RecordingMocks {
  const mocks = new RecordingMocks(options);
  pulumi.runtime.setMocks(mocks, "project", "stack", false);
  return mocks;
}
