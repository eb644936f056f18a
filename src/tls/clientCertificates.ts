/**
 * Client certificates for mutual TLS: one key and certificate per named client, signed by a CA
 * (usually the registry's own, `RegistryCertificates.caPrivateKeyPem` / `caCertPem`).
 */
import * as crypto from "crypto";
import * as pulumi from "@pulumi/pulumi";
import * as tls from "@pulumi/tls";
import {
  checkObject,
  checkOneOf,
  checkStringValue,
  componentLabel,
  describeValue,
  fail,
  isDeferred,
} from "../common/checks";
import { CERTIFICATE_DEFAULTS, privateKeyArgs } from "./registryCertificates";
import { KEY_ALGORITHMS, KeyAlgorithm, RSA_KEY_SIZES, validateDays, validatePem } from "./validate";

/**
 * Key usages of a client certificate, in the provider's snake_case: the key only signs (the
 * handshake's CertificateVerify, for RSA and ECDSA alike) and the one extended usage is
 * `client_auth`, so the certificate cannot serve as a server's.
 */
export const CLIENT_ALLOWED_USES = ["digital_signature", "client_auth"];

/**
 * What a client name may be: it becomes the certificate's common name and part of the names of
 * the child resources (`<name>-<client>-key`), so letters, digits, `.`, `_` and `-`, 1-63
 * characters, starting with a letter or digit.
 */
const CLIENT_NAME = /^[A-Za-z0-9][A-Za-z0-9._-]{0,62}$/;

/**
 * Checks a list of client names: a plain list (not an Output: each name names child resources,
 * which Pulumi needs when the program runs) of distinct valid names. Returns the names.
 */
export function validateClientNames(label: string, field: string, value: unknown): string[] {
  if (isDeferred(value)) {
    fail(
      label,
      field,
      `${field} is an Output or Promise, but each client name becomes part of a child ` +
        `resource's name, which Pulumi needs when the program runs; pass the names as plain ` +
        `strings (e.g. from stack config).`,
    );
  }
  if (!Array.isArray(value)) {
    fail(
      label,
      field,
      `${field} is ${describeValue(value)}, not a list of client names; pass e.g. ["ci", "node-1"].`,
    );
  }
  const seen = new Set<string>();
  value.forEach((name: unknown, i) => {
    const at = `${field}[${i}]`;
    if (isDeferred(name)) {
      fail(
        label,
        at,
        `${at} is an Output or Promise, but client names name child resources and must be ` +
          `known when the program runs; pass a plain string.`,
      );
    }
    checkStringValue(label, at, name, { example: "ci" });
    if (!CLIENT_NAME.test(name)) {
      fail(
        label,
        at,
        `${at} ${describeValue(name)} is not a client name: use 1-63 letters, digits, ".", "_" ` +
          `or "-", starting with a letter or digit, e.g. "ci" or "node-1".`,
      );
    }
    if (seen.has(name)) {
      fail(
        label,
        at,
        `${at} ${describeValue(name)} is listed twice; each client gets one certificate, list ` +
          `it once.`,
      );
    }
    seen.add(name);
  });
  return [...value] as string[];
}

/** How client certificates are made; defaults as RegistryCertificates' server certificate. */
export interface ClientCertificateOptions {
  /** Key algorithm: "RSA" or "ECDSA" (curve P-256). Default "RSA". */
  readonly keyAlgorithm?: KeyAlgorithm;
  /** RSA key size: 2048, 3072 or 4096. Default 4096. Ignored for ECDSA. */
  readonly rsaBits?: number;
  /** Days each client certificate is valid. Default 365. */
  readonly validityDays?: number;
  /**
   * Days before expiry from which a `pulumi up` issues a new certificate (and so replaces
   * whatever consumes it, e.g. trust files). Must be less than `validityDays`. Default 30.
   */
  readonly earlyRenewalDays?: number;
}

export interface RegistryClientCertificatesArgs extends ClientCertificateOptions {
  /**
   * Names of the clients, one certificate each (its common name), e.g. ["ci", "node-1"]. Plain
   * strings: each names child resources. Required, at least one.
   */
  readonly clients: readonly string[];
  /** The issuing CA's certificate (PEM), e.g. `RegistryCertificates.caCertPem`. Required. */
  readonly caCertPem: pulumi.Input<string>;
  /**
   * The issuing CA's private key (PEM; kept secret), e.g. `RegistryCertificates.caPrivateKeyPem`.
   * Required.
   */
  readonly caPrivateKeyPem: pulumi.Input<string>;
  /** Organization in the certificates' subjects. Default "pulumi-secure-registry". */
  readonly organization?: string;
}

/** One issued client certificate, as the `certificates` output lists it. */
export interface ClientCertificate {
  /** The client's name (the certificate's common name). */
  readonly name: string;
  /** The client certificate (PEM). */
  readonly certPem: string;
  /** Its private key (PEM). */
  readonly privateKeyPem: string;
}

/** One issued client certificate as Outputs, to hand to a single consumer. */
export interface IssuedClientCertificate {
  readonly name: string;
  /** The client certificate (PEM). */
  readonly certPem: pulumi.Output<string>;
  /** Its private key (PEM, secret). */
  readonly privateKeyPem: pulumi.Output<string>;
}

const ARG_KEYS = [
  "clients",
  "caCertPem",
  "caPrivateKeyPem",
  "keyAlgorithm",
  "rsaBits",
  "validityDays",
  "earlyRenewalDays",
  "organization",
] as const;

/** The options with defaults, checked; `prefix` names the fields in messages (e.g. "tls."). */
export function resolveClientCertificateOptions(
  label: string,
  prefix: string,
  options: ClientCertificateOptions,
): Required<ClientCertificateOptions> {
  const resolved = {
    keyAlgorithm: options.keyAlgorithm ?? CERTIFICATE_DEFAULTS.keyAlgorithm,
    rsaBits: options.rsaBits ?? CERTIFICATE_DEFAULTS.rsaBits,
    validityDays: options.validityDays ?? CERTIFICATE_DEFAULTS.validityDays,
    earlyRenewalDays: options.earlyRenewalDays ?? CERTIFICATE_DEFAULTS.earlyRenewalDays,
  };
  checkOneOf(label, `${prefix}keyAlgorithm`, resolved.keyAlgorithm, KEY_ALGORITHMS);
  if (resolved.keyAlgorithm === "RSA") {
    checkOneOf(label, `${prefix}rsaBits`, resolved.rsaBits, RSA_KEY_SIZES);
  }
  validateDays(label, `${prefix}validityDays`, resolved.validityDays, { min: 1 });
  validateDays(label, `${prefix}earlyRenewalDays`, resolved.earlyRenewalDays, { min: 0 });
  if (resolved.earlyRenewalDays >= resolved.validityDays) {
    fail(
      label,
      `${prefix}earlyRenewalDays`,
      `${prefix}earlyRenewalDays ${resolved.earlyRenewalDays} is not less than ` +
        `${prefix}validityDays ${resolved.validityDays}, so the certificates would be issued ` +
        `anew on every run; make it smaller.`,
    );
  }
  return resolved;
}

/**
 * A CA given as plain PEMs must be a CA certificate and the key must be its own, or every
 * certificate issued would be refused by the registry.
 */
export function validateIssuingCa(label: string, caCertPem: string, caPrivateKeyPem: string): void {
  let cert: crypto.X509Certificate;
  try {
    cert = new crypto.X509Certificate(caCertPem);
  } catch {
    fail(
      label,
      "caCertPem",
      "caCertPem cannot be read as an X.509 certificate; pass the PEM text.",
    );
  }
  if (!cert.ca) {
    fail(
      label,
      "caCertPem",
      `caCertPem (${cert.subject.replace(/\n/g, ", ")}) is not a CA certificate (no basic ` +
        `constraint CA:TRUE), so nothing it signs would be accepted; pass the CA's certificate.`,
    );
  }
  let key: crypto.KeyObject;
  try {
    key = crypto.createPrivateKey(caPrivateKeyPem);
  } catch {
    fail(
      label,
      "caPrivateKeyPem",
      "caPrivateKeyPem cannot be read as a private key (encrypted keys are not supported); " +
        "pass the unencrypted PEM text.",
    );
  }
  if (!cert.checkPrivateKey(key)) {
    fail(
      label,
      "caPrivateKeyPem",
      "caPrivateKeyPem is not the key of caCertPem; pass the CA certificate's own key.",
    );
  }
}

const TYPE = "secure-registry:tls:RegistryClientCertificates";

/**
 * A key and a certificate for each named client, signed by a CA, for registries that require
 * client certificates (mTLS). Certificates carry only the `client_auth` extended usage.
 *
 * Renewal: a certificate is issued anew by the `pulumi up` that runs `earlyRenewalDays` or less
 * before it expires, and whenever the CA certificate changes (a renewed CA re-issues every client
 * certificate). Adding a client issues one certificate; removing one deletes its key and
 * certificate (the registry still accepts that certificate until it expires: there is no
 * revocation list).
 */
export class RegistryClientCertificates extends pulumi.ComponentResource {
  /** Every client's name, certificate and key, in the order of `clients` (secret). */
  readonly certificates: pulumi.Output<ClientCertificate[]>;
  /** The same, per client, as separate Outputs (the keys secret). */
  readonly clients: readonly IssuedClientCertificate[];
  /** The CA certificate the client certificates chain to (the registry's `clientcas`). */
  readonly caCertPem: pulumi.Output<string>;

  constructor(
    name: string,
    args: RegistryClientCertificatesArgs,
    opts?: pulumi.ComponentResourceOptions,
  ) {
    const label = componentLabel("RegistryClientCertificates", name);
    if (args === undefined || args === null) {
      fail(label, "args", "args are required: pass { clients, caCertPem, caPrivateKeyPem }.");
    }
    checkObject(label, "", args, ARG_KEYS);
    if (args.clients === undefined) {
      fail(label, "clients", `clients is required: the client names, e.g. ["ci"].`);
    }
    const clients = validateClientNames(label, "clients", args.clients);
    if (clients.length === 0) {
      fail(label, "clients", `clients is empty; list at least one client name, e.g. ["ci"].`);
    }
    for (const field of ["caCertPem", "caPrivateKeyPem"] as const) {
      if (args[field] === undefined) {
        fail(
          label,
          field,
          `${field} is required: the issuing CA's ${field === "caCertPem" ? "certificate" : "private key"} ` +
            `(e.g. RegistryCertificates.${field}).`,
        );
      }
    }
    if (typeof args.caCertPem === "string") {
      validatePem(label, "caCertPem", args.caCertPem, "CERTIFICATE");
    }
    if (typeof args.caPrivateKeyPem === "string") {
      validatePem(label, "caPrivateKeyPem", args.caPrivateKeyPem, "PRIVATE KEY");
    }
    if (typeof args.caCertPem === "string" && typeof args.caPrivateKeyPem === "string") {
      validateIssuingCa(label, args.caCertPem, args.caPrivateKeyPem);
    }
    const options = resolveClientCertificateOptions(label, "", args);
    const organization = args.organization ?? CERTIFICATE_DEFAULTS.organization;
    checkStringValue(label, "organization", organization, { example: "Example Corp" });

    super(TYPE, name, {}, opts);

    const hours = (days: number) => days * 24;
    // Secret in this component's children's state even when the caller passed plain text.
    const caPrivateKeyPem = pulumi.secret(args.caPrivateKeyPem);
    this.caCertPem = pulumi.output(args.caCertPem);
    this.clients = clients.map((client) => {
      const key = new tls.PrivateKey(
        `${name}-${client}-key`,
        privateKeyArgs(options.keyAlgorithm, options.rsaBits),
        { parent: this },
      );
      const request = new tls.CertRequest(
        `${name}-${client}-csr`,
        { privateKeyPem: key.privateKeyPem, subject: { commonName: client, organization } },
        { parent: this },
      );
      const cert = new tls.LocallySignedCert(
        `${name}-${client}-cert`,
        {
          certRequestPem: request.certRequestPem,
          caPrivateKeyPem,
          caCertPem: args.caCertPem,
          validityPeriodHours: hours(options.validityDays),
          earlyRenewalHours: hours(options.earlyRenewalDays),
          allowedUses: CLIENT_ALLOWED_USES,
        },
        { parent: this },
      );
      return {
        name: client,
        certPem: cert.certPem,
        privateKeyPem: pulumi.secret(key.privateKeyPem),
      };
    });
    this.certificates = pulumi.secret(
      pulumi.all(
        this.clients.map((c) =>
          pulumi
            .all([c.certPem, c.privateKeyPem])
            .apply(([certPem, privateKeyPem]) => ({ name: c.name, certPem, privateKeyPem })),
        ),
      ),
    );

    this.registerOutputs({ certificates: this.certificates, caCertPem: this.caCertPem });
  }

  /** The issued certificate of `client`; throws when it was not among `clients`. */
  client(client: string): IssuedClientCertificate {
    const found = this.clients.find((c) => c.name === client);
    if (found === undefined) {
      throw new Error(
        `RegistryClientCertificates has no client ${JSON.stringify(client)}; it issued ` +
          `${this.clients.map((c) => JSON.stringify(c.name)).join(", ")}.`,
      );
    }
    return found;
  }
}
