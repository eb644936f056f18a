/**
 * Mutual TLS for SecureRegistry: which client certificates the registry requires
 * (`http.tls.clientcas`), which it issues from its own CA, and which pair its `trust` child
 * installs. Decisions without Pulumi resources; `parts.ts` declares what they call for.
 */
import * as crypto from "crypto";
import * as pulumi from "@pulumi/pulumi";
import { describeValue, fail, isDeferred, whenKnown } from "../common/checks";
import { validateClientNames } from "../tls/clientCertificates";
import type { RegistryFile } from "./parts";
import { FILE_MODES } from "./render";

/** SecureRegistry's `tls` options for client certificates (mTLS). */
export interface RegistryClientAuthOptions {
  /**
   * Require client certificates (mTLS) and issue one from the registry's CA for each name, e.g.
   * `["ci", "node-1"]`: the `clientCertificates` output holds each pair, and `trust` installs one.
   * `[]` requires certificates from the registry's CA but issues none here (issue them with
   * `RegistryClientCertificates` and `certificates.caPrivateKeyPem`). Plain strings: each names
   * child resources. Not with your own certificate (`tls.certPem`): the component has no CA key
   * then; use `clientCaCertPem`. Default: none (no client certificate required).
   */
  readonly clientCertificates?: readonly string[];
  /**
   * CA certificate(s) (PEM, one or more blocks) whose client certificates the registry accepts,
   * for clients whose certificates come from another CA (your own PKI). Requires client
   * certificates (mTLS) on its own; with `clientCertificates`, certificates of either CA are
   * accepted. Default: none.
   */
  readonly clientCaCertPem?: pulumi.Input<string>;
}

/** SecureRegistry's `trust` option for mTLS. */
export interface RegistryTrustClientOption {
  /**
   * Which of `tls.clientCertificates` the trusting host gets (its certificate and key next to the
   * CA: certs.d `client.cert` / `client.key`, containerd / BuildKit entries). Default: the first
   * one; none when `tls.clientCertificates` is not set. Leave it out and pass `clientCertPem` /
   * `clientKeyPem` for a certificate from elsewhere.
   */
  readonly clientCertificate?: string;
}

/**
 * `trust` without `clientCertificate`: SecureRegistry's own choice, which RegistryClientTrust
 * (which refuses unknown options) does not take.
 */
export function withoutClientChoice<T extends RegistryTrustClientOption>(
  trust: T,
): Omit<T, "clientCertificate"> {
  const copy: { clientCertificate?: string } = { ...trust };
  delete copy.clientCertificate;
  return copy as Omit<T, "clientCertificate">;
}

/** Where the accepted client CAs are in the container. */
export const CLIENT_CA_PATHS = {
  /** The registry's own CA, when it issues client certificates. */
  registry: "/certs/client-ca.crt",
  /** `tls.clientCaCertPem`. */
  user: "/certs/client-ca-user.crt",
} as const;

/** What mTLS the registry has, decided at construction. */
export interface ClientAuthPlan {
  /** Client names to issue certificates for from the registry's CA, in order. */
  readonly issue: readonly string[];
  /** Client certificates from the registry's own CA are accepted. */
  readonly acceptRegistryCa: boolean;
  /** The user's client CA bundle (checked when known), when given. */
  readonly userCaCertPem?: pulumi.Input<string>;
  /** The issued client whose pair the trust child installs; undefined: none of them. */
  readonly trustClient?: string;
}

/** Why `pem` cannot be a client CA bundle; undefined when it can. Never quotes the value. */
export function clientCaBundleProblem(field: string, pem: unknown): string | undefined {
  if (typeof pem !== "string" || pem.trim() === "") {
    return `${field} is ${describeValue(pem)}, not a PEM CA certificate; pass the CA certificate's text ("-----BEGIN CERTIFICATE-----...").`;
  }
  if (/PRIVATE KEY-----/.test(pem)) {
    return `${field} contains a private key, which would be uploaded readable into the container; pass only the CA certificate(s).`;
  }
  const blocks = pem.match(/-----BEGIN CERTIFICATE-----[\s\S]*?-----END CERTIFICATE-----/g) ?? [];
  if (blocks.length === 0) {
    return `${field} holds no "-----BEGIN CERTIFICATE-----" block; pass the CA certificate's PEM text, not its path.`;
  }
  for (let i = 0; i < blocks.length; i++) {
    let cert: crypto.X509Certificate;
    try {
      cert = new crypto.X509Certificate(blocks[i]);
    } catch {
      return `${field} certificate #${i + 1} is not a valid X.509 certificate; pass the PEM unchanged.`;
    }
    if (!cert.ca) {
      return (
        `${field} certificate #${i + 1} (${cert.subject.replace(/\n/g, ", ")}) is not a CA ` +
        `certificate (no CA:TRUE): the registry could verify no client with it; pass the CA ` +
        `that issues your client certificates.`
      );
    }
  }
  return undefined;
}

/**
 * Checks `tls.clientCertificates`, `tls.clientCaCertPem` and `trust.clientCertificate`. Returns
 * undefined when the registry requires no client certificate. `own`: the user brings the server
 * certificate (so there is no CA key to issue from).
 */
export function planClientAuth(
  label: string,
  tls: { readonly clientCertificates?: unknown; readonly clientCaCertPem?: unknown },
  own: boolean,
  trust:
    | {
        readonly clientCertificate?: unknown;
        readonly clientCertPem?: unknown;
        readonly clientKeyPem?: unknown;
        readonly insecure?: unknown;
      }
    | undefined,
): ClientAuthPlan | undefined {
  let issue: string[] | undefined;
  if (tls.clientCertificates !== undefined) {
    if (own) {
      fail(
        label,
        "tls.clientCertificates",
        "tls.clientCertificates issues client certificates from the registry's CA, but with " +
          "your own certificate (tls.certPem) the component has no CA key; issue them from your " +
          "CA (e.g. RegistryClientCertificates with its key) and pass that CA as " +
          "tls.clientCaCertPem, or remove tls.clientCertificates.",
      );
    }
    issue = validateClientNames(label, "tls.clientCertificates", tls.clientCertificates);
  }
  let userCaCertPem: pulumi.Input<string> | undefined;
  if (tls.clientCaCertPem !== undefined) {
    const check = (v: unknown) => {
      const problem = clientCaBundleProblem("tls.clientCaCertPem", v);
      if (problem !== undefined) fail(label, "tls.clientCaCertPem", problem);
    };
    if (!isDeferred(tls.clientCaCertPem)) check(tls.clientCaCertPem);
    userCaCertPem = whenKnown(tls.clientCaCertPem as pulumi.Input<string>, check);
  }

  const chosen = trust?.clientCertificate;
  if (chosen !== undefined) {
    const field = "trust.clientCertificate";
    if (typeof chosen !== "string") {
      fail(
        label,
        field,
        `${field} is ${describeValue(chosen)}, not a client name; give one of tls.clientCertificates.`,
      );
    }
    if (issue === undefined || !issue.includes(chosen)) {
      fail(
        label,
        field,
        `${field} ${describeValue(chosen)} is not among tls.clientCertificates ` +
          `(${issue === undefined ? "not set" : issue.length === 0 ? "empty" : issue.map((n) => JSON.stringify(n)).join(", ")}); ` +
          `add it there, or leave ${field} out.`,
      );
    }
    if (trust?.insecure === true) {
      fail(
        label,
        field,
        `${field} cannot be combined with trust.insecure: insecure only lists the endpoint in ` +
          `daemon.json and writes no certs.d files, so no client certificate either; remove one.`,
      );
    }
    if (trust?.clientCertPem !== undefined || trust?.clientKeyPem !== undefined) {
      fail(
        label,
        field,
        `${field} and trust.clientCertPem/trust.clientKeyPem both give the host a client ` +
          `certificate; keep one.`,
      );
    }
  }

  if (issue === undefined && userCaCertPem === undefined) return undefined;
  const ownPair = trust?.clientCertPem !== undefined || trust?.clientKeyPem !== undefined;
  // An insecure trust writes no certs.d files, so it takes no client pair either.
  const trustClient =
    trust === undefined || ownPair || trust.insecure === true
      ? undefined
      : ((chosen as string | undefined) ?? issue?.[0]);
  return {
    issue: issue ?? [],
    acceptRegistryCa: issue !== undefined,
    userCaCertPem,
    trustClient,
  };
}

/** The client CA files the registry reads (`http.tls.clientcas`), in order. */
export function clientCaFiles(
  plan: ClientAuthPlan,
  registryCaCertPem: pulumi.Input<string>,
): RegistryFile[] {
  const file = (id: string, path: string, content: pulumi.Input<string>): RegistryFile => ({
    id,
    path,
    content,
    secret: false,
    mode: FILE_MODES.certificate,
  });
  return [
    ...(plan.acceptRegistryCa
      ? [file("client-ca-registry", CLIENT_CA_PATHS.registry, registryCaCertPem)]
      : []),
    ...(plan.userCaCertPem !== undefined
      ? [file("client-ca-user", CLIENT_CA_PATHS.user, plan.userCaCertPem)]
      : []),
  ];
}
