// Public names of the registry-to-registry flatten (no Docker engine).
export { RegistryFlattenedImage, placeInRegistry } from "./component";
export type { RegistryAccess, RegistryFlattenedImageArgs } from "./component";
export {
  DEFAULT_COMPRESSION_LEVEL,
  flattenBetweenRegistries,
  parseRegistryReference,
} from "./flatten";
export type {
  FlattenEndpoint,
  FlattenedPlatform,
  RegistryFlattenRequest,
  RegistryFlattenResult,
  RegistryReference,
} from "./flatten";
export { createRegistryClient, MEDIA_TYPES, registryError, sha256Digest } from "./client";
export type {
  ClientOptions,
  FetchedManifest,
  RegistryClient,
  RegistryEndpoint,
  RegistryError,
} from "./client";
export { registryFlattenProvider } from "./provider";
export type { RegistryFlattenInputs, RegistryFlattenOutputs } from "./provider";
