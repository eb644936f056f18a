import * as pulumi from "@pulumi/pulumi";
import * as tls from "@pulumi/tls";
import { checkOneOf, componentLabel, fail, whenKnown } from "../common/checks";
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
  readonly keyAlgorithm?: KeyAlgorithm;
  /** RSA key size: 2048, 3072 or 4096. Default 4096. Ignored for ECDSA. */
  readonly rsaBits?: number;
  /** Days the server certificate is valid. Default 365. */
  readonly validityDays?: number;
  /** Days the CA certificate is valid; at least `validityDays`. Default 3650. */
  readonly caValidityDays?: number;
  /**
   * Days before expiry from which a `pulumi up` renews a certificate (and so replaces whatever
   * consumes it). Must be less than `validityDays`. Default 30.
   */
  readonly earlyRenewalDays?: number;
}

export interface RegistryCertificatesArgs extends CertificateOptions, OwnCertificate {
  /**
   * DNS names of the registry, all put in the server certificate's SANs. Default ["localhost"]
   * (none with your own certificate, which must then cover the names given).
   */
  readonly hostnames?: pulumi.Input<string>[];
  /** IP addresses of the registry, all put in the SANs. Default []. */
  readonly ipAddresses?: pulumi.Input<string>[];
  /** Organization in the certificates' subjects. Default "pulumi-secure-registry". */
  readonly organization?: string;
}

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

/**
 * For your own certificate given as plain PEMs: the key must be the certificate's and every name
 * and address known now must be among its SANs.
 */
export function checkOwnCertificateFits(
  label: string,
  prefix: string,
  own: OwnCertificate,
  dnsNames: pulumi.Input<string>[],
  ipAddresses: pulumi.Input<string>[],
): void {
  if (typeof own.certPem !== "string" || typeof own.privateKeyPem !== "string") return;
  const plain = (values: pulumi.Input<string>[]) =>
    values.filter((v): v is string => typeof v === "string");
  validateOwnCertificateFits(
    label,
    prefix,
    { certPem: own.certPem, privateKeyPem: own.privateKeyPem },
    { dnsNames: plain(dnsNames), ipAddresses: plain(ipAddresses) },
  );
}

interface ResolvedOptions {
  keyAlgorithm: KeyAlgorithm;
  rsaBits: number;
  validityDays: number;
  caValidityDays: number;
  earlyRenewalDays: number;
}

/**
 * Validates certificate options and returns them with defaults. `prefix` is how the fields are
 * named in messages ("" standalone, "tls." inside SecureRegistry). Returns undefined options when
 * the user brings their own certificate.
 */
export function resolveCertificateOptions(
  label: string,
  prefix: string,
  args: CertificateOptions & OwnCertificate,
): { own: boolean; options: ResolvedOptions } {
  const own = validateOwnCertificate(label, prefix, args);
  if (own) {
    const generatedOnly = (
      ["keyAlgorithm", "rsaBits", "validityDays", "caValidityDays", "earlyRenewalDays"] as const
    ).filter((f) => args[f] !== undefined);
    if (generatedOnly.length > 0) {
      fail(
        label,
        prefix + generatedOnly[0],
        `${generatedOnly.map((f) => prefix + f).join(", ")} only apply to generated ` +
          `certificates, but ${prefix}certPem/${prefix}privateKeyPem/${prefix}caCertPem bring ` +
          `your own; remove one or the other.`,
      );
    }
    if (typeof args.certPem === "string")
      validatePem(label, `${prefix}certPem`, args.certPem, "CERTIFICATE");
    if (typeof args.caCertPem === "string")
      validatePem(label, `${prefix}caCertPem`, args.caCertPem, "CERTIFICATE");
    if (typeof args.privateKeyPem === "string")
      validatePem(label, `${prefix}privateKeyPem`, args.privateKeyPem, "PRIVATE KEY");
  }
  const options: ResolvedOptions = {
    keyAlgorithm: args.keyAlgorithm ?? CERTIFICATE_DEFAULTS.keyAlgorithm,
    rsaBits: args.rsaBits ?? CERTIFICATE_DEFAULTS.rsaBits,
    validityDays: args.validityDays ?? CERTIFICATE_DEFAULTS.validityDays,
    caValidityDays:
      args.caValidityDays ?? Math.max(CERTIFICATE_DEFAULTS.caValidityDays, args.validityDays ?? 0),
    earlyRenewalDays: args.earlyRenewalDays ?? CERTIFICATE_DEFAULTS.earlyRenewalDays,
  };
  checkOneOf(label, `${prefix}keyAlgorithm`, options.keyAlgorithm, KEY_ALGORITHMS);
  if (options.keyAlgorithm === "RSA") {
    checkOneOf(label, `${prefix}rsaBits`, options.rsaBits, RSA_KEY_SIZES);
  }
  validateValidity(label, prefix, options);
  return { own, options };
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
    const { own, options } = resolveCertificateOptions(label, "", args);
    const hostnames =
      args.hostnames ??
      (own || args.ipAddresses?.length ? [] : [...CERTIFICATE_DEFAULTS.hostnames]);
    const ipAddresses = args.ipAddresses ?? [];
    const dnsNames = hostnames.map((h, i) =>
      whenKnown(h, (v) => validateHostname(label, `hostnames[${i}]`, v)),
    );
    const ips = ipAddresses.map((ip, i) =>
      whenKnown(ip, (v) => validateIp(label, `ipAddresses[${i}]`, v)),
    );
    if (!own && dnsNames.length === 0 && ips.length === 0) {
      fail(
        label,
        "hostnames",
        `hostnames and ipAddresses are both empty, but Go clients (docker) reject a ` +
          `certificate without SANs; list at least one name or address.`,
      );
    }
    if (own) checkOwnCertificateFits(label, "", args, hostnames, ipAddresses);
    const organization = args.organization ?? CERTIFICATE_DEFAULTS.organization;

    super(TYPE, name, {}, opts);

    if (own) {
      this.certPem = pulumi.output(args.certPem!);
      this.caCertPem = pulumi.output(args.caCertPem!);
      this.privateKeyPem = pulumi.secret(args.privateKeyPem!);
    } else {
      const hours = (days: number) => days * 24;
      const caKey = new tls.PrivateKey(
        `${name}-ca-key`,
        privateKeyArgs(options.keyAlgorithm, options.rsaBits),
        { parent: this },
      );
      const caCert = new tls.SelfSignedCert(
        `${name}-ca-cert`,
        {
          privateKeyPem: caKey.privateKeyPem,
          isCaCertificate: true,
          subject: { commonName: `${name} registry CA`, organization },
          validityPeriodHours: hours(options.caValidityDays),
          earlyRenewalHours: hours(options.earlyRenewalDays),
          allowedUses: CA_ALLOWED_USES,
        },
        { parent: this },
      );
      const serverKey = new tls.PrivateKey(
        `${name}-server-key`,
        privateKeyArgs(options.keyAlgorithm, options.rsaBits),
        { parent: this },
      );
      const request = new tls.CertRequest(
        `${name}-server-csr`,
        {
          privateKeyPem: serverKey.privateKeyPem,
          subject: {
            commonName: dnsNames.length > 0 ? dnsNames[0] : ips[0],
            organization,
          },
          dnsNames,
          ipAddresses: ips,
        },
        { parent: this },
      );
      const serverCert = new tls.LocallySignedCert(
        `${name}-server-cert`,
        {
          certRequestPem: request.certRequestPem,
          caPrivateKeyPem: caKey.privateKeyPem,
          caCertPem: caCert.certPem,
          validityPeriodHours: hours(options.validityDays),
          earlyRenewalHours: hours(options.earlyRenewalDays),
          allowedUses: serverAllowedUses(options.keyAlgorithm),
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
