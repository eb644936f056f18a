// Public names of the registry module are exported here.
export {
  SecureRegistry,
  SecureRegistryArgs,
  RegistryTlsOptions,
  RegistryStorageOptions,
  RegistryProxyOptions,
  SecureRegistryTrustOptions,
  REGISTRY_DEFAULTS,
} from "./secureRegistry";
export {
  buildRegistryEnv,
  formatEndpoint,
  renderDockerConfigJson,
  dockerAuth,
  registryHealthcheck,
  CONTAINER_PATHS,
  CONTAINER_PORT,
  DEBUG_ADDR,
} from "./render";
export { LogLevel, TlsVersion } from "./validate";
