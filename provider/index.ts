/**
 * Where Pulumi's component analyser starts (this directory's package.json `main`): the classes
 * other languages see, by name. Components whose TypeScript API fits are the real classes; the
 * others are declarations made for the schema (src/plugin/schema.ts), listed first so that the
 * analyser, which takes the first class of each name it meets, finds them.
 */
export {
  BuiltImage,
  FlattenedImage,
  RegistryClientCertificates,
  SecureRegistry,
  SecureRegistryService,
} from "../src/plugin/schema";
export { HtpasswdUsers } from "../src/auth/htpasswdUsers";
export { RegistryCertificates } from "../src/tls/registryCertificates";
export { RegistryClientTrust } from "../src/trust/component";
export { RegistryFlattenedImage } from "../src/images/oci/component";
