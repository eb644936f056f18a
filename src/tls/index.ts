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
export {
  RegistryClientCertificates,
  RegistryClientCertificatesArgs,
  ClientCertificateOptions,
  ClientCertificate,
  IssuedClientCertificate,
  CLIENT_ALLOWED_USES,
} from "./clientCertificates";
export { KeyAlgorithm } from "./validate";
