import * as pulumi from "@pulumi/pulumi";
import * as tls from "@pulumi/tls";
import {
  checkList,
  checkObject,
  checkOneOf,
  checkString,
  componentLabel,
  fail,
  isDeferred,
  whenKnown,
} from "../common/checks";
import { validateHostname, validateIp } from "../common/validators";
import {
  KEY_ALGORITHMS,
  KeyAlgorithm,
  RSA_KEY_SIZES,
  validateOwnCertificate,
  validateOwnCertificateFits,
  validatePem,
  validateValidity,
} from "./validate";

/** A certificate, key and CA you already have (PEM text, not paths). All three or none. */
export interface OwnCertificate {
  /** The server certificate (it should carry the registry's names as SANs). */
  readonly certPem?: pulumi.Input<string>;
  /** The server certificate's private key (made secret by the component). */
  readonly privateKeyPem?: pulumi.Input<string>;
  /** The CA certificate clients trust for the server certificate. */
  readonly caCertPem?: pulumi.Input<string>;
}

/** How generated certificates are made. */
export interface CertificateOptions {
  /** Key algorithm of the CA and server keys: "RSA" or "ECDSA" (curve P-256). Default "RSA". */
  readonly keyAlgorithm?: pulumi.Input<KeyAlgorithm>;
  /** RSA key size: 2048, 3072 or 4096. Default 4096. Ignored for ECDSA. */
  readonly rsaBits?: pulumi.Input<number>;
  /** Days the server certificate is valid, 1-36500. Default 365. */
  readonly validityDays?: pulumi.Input<number>;
  /** Days the CA certificate is valid; at least `validityDays`. Default 3650 (or `validityDays`). */
  readonly caValidityDays?: pulumi.Input<number>;
  /**
   * Days before expiry from which a `pulumi up` renews a certificate (and so replaces whatever
   * consumes it). Must be less than `validityDays`. Default 30.
   */
  readonly earlyRenewalDays?: pulumi.Input<number>;
}

/** Option names of CertificateOptions and OwnCertificate, for unknown-key checks. */
export const CERTIFICATE_OPTION_KEYS = [
  "keyAlgorithm",
  "rsaBits",
  "validityDays",
  "caValidityDays",
  "earlyRenewalDays",
] as const;
export const OWN_CERTIFICATE_KEYS = ["certPem", "privateKeyPem", "caCertPem"] as const;

export interface RegistryCertificatesArgs extends CertificateOptions, OwnCertificate {
  /**
   * DNS names of the registry, all put in the server certificate's SANs. A list, or an Output of
   * one. Default ["localhost"] when neither names nor addresses are given (none with your own
   * certificate, which must then cover the names given).
   */
  readonly hostnames?: pulumi.Input<pulumi.Input<string>[]>;
  /** IP addresses of the registry, all put in the SANs. A list, or an Output of one. Default []. */
  readonly ipAddresses?: pulumi.Input<pulumi.Input<string>[]>;
  /** Organization in the certificates' subjects. Default "pulumi-secure-registry". */
  readonly organization?: pulumi.Input<string>;
}

const ARG_KEYS = [
  ...CERTIFICATE_OPTION_KEYS,
  ...OWN_CERTIFICATE_KEYS,
  "hostnames",
  "ipAddresses",
  "organization",
] as const;

export const CERTIFICATE_DEFAULTS = {
  keyAlgorithm: "RSA" as KeyAlgorithm,
  rsaBits: 4096,
  validityDays: 365,
  caValidityDays: 3650,
  earlyRenewalDays: 30,
  hostnames: ["localhost"],
  organization: "pulumi-secure-registry",
} as const;

/** Key usages in the snake_case form the tls provider accepts (camelCase is rejected). */
export const CA_ALLOWED_USES = ["cert_signing", "crl_signing", "digital_signature"];

/** RSA key exchange needs key_encipherment; ECDSA keys only sign. */
export function serverAllowedUses(keyAlgorithm: KeyAlgorithm): string[] {
  return keyAlgorithm === "RSA"
    ? ["digital_signature", "key_encipherment", "server_auth"]
    : ["digital_signature", "server_auth"];
}

/** `tls.PrivateKey` arguments; ECDSA always names P256 (the provider's default P224 fails Go TLS). */
export function privateKeyArgs(keyAlgorithm: KeyAlgorithm, rsaBits: number): tls.PrivateKeyArgs {
  return keyAlgorithm === "RSA"
    ? { algorithm: "RSA", rsaBits }
    : { algorithm: "ECDSA", ecdsaCurve: "P256" };
}

const TYPE = "secure-registry:tls:RegistryCertificates";

/** The plain strings of a list, when the list itself is plain (else none). */
function plainStrings(values: unknown): string[] {
  return Array.isArray(values) ? values.filter((v): v is string => typeof v === "string") : [];
}

/**
 * For your own certificate given as plain PEMs: the key must be the certificate's and every name
 * and address known now must be among its SANs.
 */
export function checkOwnCertificateFits(
  label: string,
  prefix: string,
  own: OwnCertificate,
  dnsNames: unknown,
  ipAddresses: unknown,
): void {
  if (typeof own.certPem !== "string" || typeof own.privateKeyPem !== "string") return;
  validateOwnCertificateFits(
    label,
    prefix,
    { certPem: own.certPem, privateKeyPem: own.privateKeyPem },
    { dnsNames: plainStrings(dnsNames), ipAddresses: plainStrings(ipAddresses) },
  );
}

/** Generated-certificate options with defaults applied. */
export interface ResolvedOptions {
  keyAlgorithm: KeyAlgorithm;
  rsaBits: number;
  validityDays: number;
  caValidityDays: number;
  earlyRenewalDays: number;
}

/**
 * Validates certificate options and returns them with defaults: plain when every option is plain,
 * else an Output checked once known. `prefix` is how the fields are named in messages ("" alone,
 * "tls." inside SecureRegistry). `own` is true when the user brings their own certificate; the
 * own PEMs are checked (now, or when known) and returned.
 */
export function resolveCertificateOptions(
  label: string,
  prefix: string,
  args: CertificateOptions & OwnCertificate,
): {
  own: boolean;
  options: ResolvedOptions | pulumi.Output<ResolvedOptions>;
  pems: OwnCertificate;
} {
  const own = validateOwnCertificate(label, prefix, args);
  let pems: OwnCertificate = {};
  if (own) {
    const generatedOnly = CERTIFICATE_OPTION_KEYS.filter((f) => args[f] !== undefined);
    if (generatedOnly.length > 0) {
      fail(
        label,
        prefix + generatedOnly[0],
        `${generatedOnly.map((f) => prefix + f).join(", ")} only apply to generated ` +
          `certificates, but ${prefix}certPem/${prefix}privateKeyPem/${prefix}caCertPem bring ` +
          `your own; remove one or the other.`,
      );
    }
    const pem = (field: "certPem" | "caCertPem" | "privateKeyPem") =>
      whenKnown(args[field]!, (v) =>
        validatePem(
          label,
          `${prefix}${field}`,
          v,
          field === "privateKeyPem" ? "PRIVATE KEY" : "CERTIFICATE",
        ),
      );
    pems = {
      certPem: pem("certPem"),
      caCertPem: pem("caCertPem"),
      privateKeyPem: pem("privateKeyPem"),
    };
  }
  const complete = (values: {
    keyAlgorithm?: unknown;
    rsaBits?: unknown;
    validityDays?: unknown;
    caValidityDays?: unknown;
    earlyRenewalDays?: unknown;
  }): ResolvedOptions => {
    // Only undefined means "not given": null is a wrong value like any other.
    const or = (value: unknown, fallback: unknown) => (value === undefined ? fallback : value);
    const keyAlgorithm = or(values.keyAlgorithm, CERTIFICATE_DEFAULTS.keyAlgorithm);
    checkOneOf(label, `${prefix}keyAlgorithm`, keyAlgorithm, KEY_ALGORITHMS);
    const rsaBits = or(values.rsaBits, CERTIFICATE_DEFAULTS.rsaBits);
    if (keyAlgorithm === "RSA") checkOneOf(label, `${prefix}rsaBits`, rsaBits, RSA_KEY_SIZES);
    const validityDays = or(values.validityDays, CERTIFICATE_DEFAULTS.validityDays);
    const options = {
      keyAlgorithm: keyAlgorithm as KeyAlgorithm,
      rsaBits: rsaBits as number,
      validityDays: validityDays as number,
      caValidityDays: or(
        values.caValidityDays,
        typeof validityDays === "number"
          ? Math.max(CERTIFICATE_DEFAULTS.caValidityDays, validityDays)
          : CERTIFICATE_DEFAULTS.caValidityDays,
      ) as number,
      earlyRenewalDays: or(
        values.earlyRenewalDays,
        CERTIFICATE_DEFAULTS.earlyRenewalDays,
      ) as number,
    };
    validateValidity(label, prefix, options);
    return options;
  };
  const given = Object.fromEntries(CERTIFICATE_OPTION_KEYS.map((k) => [k, args[k]]));
  const options = Object.values(given).some(isDeferred)
    ? pulumi.output(given).apply((known) => complete(known))
    : complete(given);
  return { own, options, pems };
}

/** `f(options)`, plain when `options` is plain. */
function pick<T>(
  options: ResolvedOptions | pulumi.Output<ResolvedOptions>,
  f: (o: ResolvedOptions) => T,
): T | pulumi.Output<T> {
  return pulumi.Output.isInstance(options) ? options.apply(f) : f(options);
}

/**
 * TLS material for the registry: a CA (key and self-signed certificate) and a server key and
 * certificate signed by it, with every hostname and IP address as SANs. Or, given `certPem`,
 * `privateKeyPem` and `caCertPem`, those (then no tls resources are declared).
 *
 * Certificates are renewed by the `pulumi up` that runs `earlyRenewalDays` or less before they
 * expire; a renewed CA also renews the server certificate, and clients must trust the new CA.
 */
export class RegistryCertificates extends pulumi.ComponentResource {
  /** The CA certificate (PEM) clients trust. */
  readonly caCertPem: pulumi.Output<string>;
  /** The server certificate (PEM). */
  readonly certPem: pulumi.Output<string>;
  /** The server certificate's private key (PEM, secret). */
  readonly privateKeyPem: pulumi.Output<string>;
  /**
   * The CA's private key (PEM, secret), to issue client certificates from this CA
   * ({@link RegistryClientCertificates}). Only when the component generated the CA: undefined
   * with your own certificate, whose CA key it never sees.
   */
  readonly caPrivateKeyPem?: pulumi.Output<string>;

  constructor(
    name: string,
    args: RegistryCertificatesArgs = {},
    opts?: pulumi.ComponentResourceOptions,
  ) {
    const label = componentLabel("RegistryCertificates", name);
    checkObject(label, "", args, ARG_KEYS);
    const { own, options, pems } = resolveCertificateOptions(label, "", args);
    const ipsGiven =
      args.ipAddresses !== undefined &&
      !(Array.isArray(args.ipAddresses) && args.ipAddresses.length === 0);
    const hostnames =
      args.hostnames !== undefined
        ? args.hostnames
        : own || ipsGiven
          ? []
          : [...CERTIFICATE_DEFAULTS.hostnames];
    const dnsNames = checkList<string>(label, "hostnames", hostnames, (field, v) =>
      validateHostname(label, field, v),
    )!;
    const ips = checkList<string>(
      label,
      "ipAddresses",
      args.ipAddresses === undefined ? [] : args.ipAddresses,
      (field, v) => validateIp(label, field, v),
    )!;
    const noSans = (names: unknown[], addresses: unknown[]) => {
      if (!own && names.length === 0 && addresses.length === 0) {
        fail(
          label,
          "hostnames",
          `hostnames and ipAddresses are both empty, but Go clients (docker) reject a ` +
            `certificate without SANs; list at least one name or address.`,
        );
      }
    };
    const listsPlain = Array.isArray(dnsNames) && Array.isArray(ips);
    if (listsPlain) noSans(dnsNames as unknown[], ips as unknown[]);
    if (own) checkOwnCertificateFits(label, "", args, hostnames, args.ipAddresses);
    const organization =
      checkString(label, "organization", args.organization) ?? CERTIFICATE_DEFAULTS.organization;

    super(TYPE, name, {}, opts);

    if (own) {
      this.certPem = pulumi.output(pems.certPem!);
      this.caCertPem = pulumi.output(pems.caCertPem!);
      this.privateKeyPem = pulumi.secret(pems.privateKeyPem!);
    } else {
      const hours = (days: number) => days * 24;
      const keyArgs = (): tls.PrivateKeyArgs =>
        pulumi.Output.isInstance(options)
          ? {
              algorithm: options.keyAlgorithm,
              rsaBits: options.apply((o) =>
                o.keyAlgorithm === "RSA" ? o.rsaBits : undefined,
              ) as pulumi.Output<number>,
              ecdsaCurve: options.apply((o) =>
                o.keyAlgorithm === "ECDSA" ? "P256" : undefined,
              ) as pulumi.Output<string>,
            }
          : privateKeyArgs(options.keyAlgorithm, options.rsaBits);
      const caKey = new tls.PrivateKey(`${name}-ca-key`, keyArgs(), { parent: this });
      const caCert = new tls.SelfSignedCert(
        `${name}-ca-cert`,
        {
          privateKeyPem: caKey.privateKeyPem,
          isCaCertificate: true,
          subject: { commonName: `${name} registry CA`, organization },
          validityPeriodHours: pick(options, (o) => hours(o.caValidityDays)),
          earlyRenewalHours: pick(options, (o) => hours(o.earlyRenewalDays)),
          allowedUses: CA_ALLOWED_USES,
        },
        { parent: this },
      );
      const serverKey = new tls.PrivateKey(`${name}-server-key`, keyArgs(), { parent: this });
      // With a list known only later, the SAN check runs when it is known.
      const [csrNames, csrIps] = listsPlain
        ? [dnsNames, ips]
        : (() => {
            const both = pulumi.all([dnsNames, ips]).apply(([n, a]) => {
              noSans(n, a);
              return [n, a] as const;
            });
            return [both.apply(([n]) => [...n]), both.apply(([, a]) => [...a])];
          })();
      const commonName =
        listsPlain && (dnsNames as unknown[]).length + (ips as unknown[]).length > 0
          ? ((dnsNames as pulumi.Input<string>[])[0] ?? (ips as pulumi.Input<string>[])[0])
          : pulumi.all([csrNames, csrIps]).apply(([n, a]) => n[0] ?? a[0]);
      const request = new tls.CertRequest(
        `${name}-server-csr`,
        {
          privateKeyPem: serverKey.privateKeyPem,
          subject: { commonName, organization },
          dnsNames: csrNames,
          ipAddresses: csrIps,
        },
        { parent: this },
      );
      const serverCert = new tls.LocallySignedCert(
        `${name}-server-cert`,
        {
          certRequestPem: request.certRequestPem,
          caPrivateKeyPem: caKey.privateKeyPem,
          caCertPem: caCert.certPem,
          validityPeriodHours: pick(options, (o) => hours(o.validityDays)),
          earlyRenewalHours: pick(options, (o) => hours(o.earlyRenewalDays)),
          allowedUses: pick(options, (o) => serverAllowedUses(o.keyAlgorithm)),
        },
        { parent: this },
      );
      this.caCertPem = caCert.certPem;
      this.certPem = serverCert.certPem;
      this.privateKeyPem = pulumi.secret(serverKey.privateKeyPem);
      this.caPrivateKeyPem = pulumi.secret(caKey.privateKeyPem);
    }

    this.registerOutputs({
      caCertPem: this.caCertPem,
      certPem: this.certPem,
      privateKeyPem: this.privateKeyPem,
      ...(this.caPrivateKeyPem ? { caPrivateKeyPem: this.caPrivateKeyPem } : {}),
    });
  }
}
