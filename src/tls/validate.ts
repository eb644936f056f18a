/**
 * Checks of certificate options and of certificates users bring. Messages never contain a key.
 */
import * as crypto from "crypto";
import { describeValue, fail } from "../common/checks";

/**
 * Key algorithm of generated keys. A named object as well as a type, so other Pulumi languages
 * see an enum (the schema analyser only names literal unions declared this way).
 */
export const KeyAlgorithm = {
  Rsa: "RSA",
  Ecdsa: "ECDSA",
} as const;
export type KeyAlgorithm = (typeof KeyAlgorithm)[keyof typeof KeyAlgorithm];
export const KEY_ALGORITHMS: readonly KeyAlgorithm[] = Object.values(KeyAlgorithm);

export const RSA_KEY_SIZES = [2048, 3072, 4096] as const;

export function validateDays(
  label: string,
  field: string,
  value: unknown,
  options: { min: number },
): void {
  if (
    typeof value !== "number" ||
    !Number.isInteger(value) ||
    value < options.min ||
    value > 36500
  ) {
    fail(
      label,
      field,
      `${field} ${describeValue(value)} is not a whole number of days >= ${options.min} and <= 36500; ` +
        `use e.g. ${Math.max(options.min, 30)}.`,
    );
  }
}

/** Validity and renewal windows: renewal must start before expiry, the CA must outlive the cert. */
export function validateValidity(
  label: string,
  prefix: string,
  v: { validityDays: number; caValidityDays: number; earlyRenewalDays: number },
): void {
  validateDays(label, `${prefix}validityDays`, v.validityDays, { min: 1 });
  validateDays(label, `${prefix}caValidityDays`, v.caValidityDays, { min: 1 });
  validateDays(label, `${prefix}earlyRenewalDays`, v.earlyRenewalDays, { min: 0 });
  if (v.earlyRenewalDays >= v.validityDays) {
    fail(
      label,
      `${prefix}earlyRenewalDays`,
      `${prefix}earlyRenewalDays ${v.earlyRenewalDays} is not less than ${prefix}validityDays ` +
        `${v.validityDays}, so the certificate would be renewed on every run; make it smaller.`,
    );
  }
  if (v.caValidityDays < v.validityDays) {
    fail(
      label,
      `${prefix}caValidityDays`,
      `${prefix}caValidityDays ${v.caValidityDays} is shorter than ${prefix}validityDays ` +
        `${v.validityDays}: the server certificate would outlive its CA; make the CA's longer.`,
    );
  }
}

export interface OwnCertificateLike {
  readonly certPem?: unknown;
  readonly privateKeyPem?: unknown;
  readonly caCertPem?: unknown;
}

const OWN_CERT_FIELDS = ["certPem", "privateKeyPem", "caCertPem"] as const;

/** All three PEMs or none. Returns true when the user brings their own. */
export function validateOwnCertificate(
  label: string,
  prefix: string,
  own: OwnCertificateLike,
): boolean {
  const given = OWN_CERT_FIELDS.filter((f) => own[f] !== undefined);
  if (given.length === 0) return false;
  if (given.length < OWN_CERT_FIELDS.length) {
    const missing = OWN_CERT_FIELDS.filter((f) => own[f] === undefined);
    fail(
      label,
      `${prefix}${missing[0]}`,
      `${given.map((f) => prefix + f).join(" and ")} given without ` +
        `${missing.map((f) => prefix + f).join(" and ")}; bring your own certificate with all ` +
        `three of ${prefix}certPem, ${prefix}privateKeyPem and ${prefix}caCertPem, or none to ` +
        `have them generated.`,
    );
  }
  return true;
}

/** Shape check of a PEM (the value itself is never echoed). */
export function validatePem(
  label: string,
  field: string,
  value: unknown,
  kind: "CERTIFICATE" | "PRIVATE KEY",
): void {
  const pattern =
    kind === "CERTIFICATE"
      ? /-----BEGIN CERTIFICATE-----[\s\S]+-----END CERTIFICATE-----/
      : /-----BEGIN (?:RSA |EC )?PRIVATE KEY-----[\s\S]+-----END (?:RSA |EC )?PRIVATE KEY-----/;
  if (typeof value !== "string" || !pattern.test(value)) {
    fail(
      label,
      field,
      `${field} is not a PEM ${kind.toLowerCase()} (expected a "-----BEGIN ${kind}-----" ` +
        `block); pass the file's contents, not its path.`,
    );
  }
}

/**
 * A certificate the user brings must belong to its key and name the registry, or no client could
 * use it. Checked when the PEMs and names are plain values.
 */
export function validateOwnCertificateFits(
  label: string,
  prefix: string,
  pems: { certPem: string; privateKeyPem: string },
  names: { dnsNames: string[]; ipAddresses: string[] },
): void {
  let cert: crypto.X509Certificate;
  try {
    cert = new crypto.X509Certificate(pems.certPem);
  } catch {
    fail(
      label,
      `${prefix}certPem`,
      `${prefix}certPem cannot be read as an X.509 certificate; pass the PEM text.`,
    );
  }
  let key: crypto.KeyObject;
  try {
    key = crypto.createPrivateKey(pems.privateKeyPem);
  } catch {
    fail(
      label,
      `${prefix}privateKeyPem`,
      `${prefix}privateKeyPem cannot be read as a private key (encrypted keys are not ` +
        `supported); pass the unencrypted PEM text.`,
    );
  }
  if (!cert.checkPrivateKey(key)) {
    fail(
      label,
      `${prefix}privateKeyPem`,
      `${prefix}privateKeyPem is not the key of ${prefix}certPem; pass the key the certificate ` +
        `was issued for.`,
    );
  }
  const sans = cert.subjectAltName ?? "none";
  for (const dns of names.dnsNames) {
    if (cert.checkHost(dns, { subject: "never" }) === undefined) {
      fail(
        label,
        `${prefix}certPem`,
        `${prefix}certPem does not cover the name ${JSON.stringify(dns)} (its SANs: ${sans}); ` +
          `use a certificate with that name as a SAN, or leave it out of the names.`,
      );
    }
  }
  for (const ip of names.ipAddresses) {
    if (cert.checkIP(ip) === undefined) {
      fail(
        label,
        `${prefix}certPem`,
        `${prefix}certPem does not cover the address ${ip} (its SANs: ${sans}); use a ` +
          `certificate with that IP SAN, or leave it out of ipAddresses.`,
      );
    }
  }
}
