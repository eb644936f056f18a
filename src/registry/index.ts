// Public names of the registry module are exported here.
export { SecureRegistry } from "./secureRegistry";
export {
  SecureRegistryArgs,
  RegistryTlsOptions,
  RegistryStorageOptions,
  RegistryProxyOptions,
  SecureRegistryTrustOptions,
  REGISTRY_DEFAULTS,
} from "./args";
export { OWNED_CONTAINER_INPUTS } from "./container";
export type { RegistryContainerOptions } from "./container-options";
export {
  CONFIG_PATHS,
  LAUNCHER_SCRIPT,
  RegistryConfigSettings,
  registryEnv,
  renderBaseConfig,
  renderContainerEnv,
  renderEnvValue,
} from "./config";
export {
  formatEndpoint,
  renderDockerConfigJson,
  dockerAuth,
  registryHealthcheck,
  HEALTH_SCHEDULE,
  CONTAINER_PATHS,
  CONTAINER_PORT,
  DEBUG_ADDR,
} from "./render";
export {
  RegistryClientAuthOptions,
  RegistryTrustClientOption,
  CLIENT_CA_PATHS,
} from "./clientAuth";
export { LogLevel, TlsVersion } from "./validate";
export { S3StorageOptions, S3_DEFAULTS } from "./s3";
