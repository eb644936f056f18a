// Public names of the service module: the registry as a Docker Swarm service.
export { SecureRegistryService, SERVICE_LABEL } from "./component";
export {
  SecureRegistryServiceArgs,
  ServiceStorageOptions,
  ServicePlacementOptions,
  ServiceUpdateOptions,
  ServiceRedisOptions,
  SERVICE_DEFAULTS,
  UpdateOrder,
  UpdateFailureAction,
  PublishMode,
} from "./args";
export { swarmObjectName } from "./spec";
