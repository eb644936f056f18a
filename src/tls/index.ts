// Public names of the tls module are exported here.
export {
  RegistryCertificates,
  RegistryCertificatesArgs,
  CertificateOptions,
  OwnCertificate,
  CERTIFICATE_DEFAULTS,
  CA_ALLOWED_USES,
  serverAllowedUses,
  privateKeyArgs,
} from "./registryCertificates";
export { KeyAlgorithm } from "./validate";
