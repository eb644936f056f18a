// Public names of the trust module.
export {
  RegistryClientTrust,
  RegistryClientTrustArgs,
  RegistryClientTrustOptions,
  RegistryClientLogin,
  RegistryClientConnection,
  ContainerdTrustOptions,
  BuildkitTrustOptions,
  validateRegistryClientTrustArgs,
} from "./component";
export { TrustFiles, TrustFilesArgs } from "./provider";
export { endpointProblem } from "./endpoint";
export { TRUST_DEFAULTS } from "./inputs";
