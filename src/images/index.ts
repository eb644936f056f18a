// Public names of the images module.
export { BuiltImage, DEFAULT_PLATFORM } from "./built-image";
export type { BuiltImageArgs } from "./built-image";
export { FlattenedImage } from "./flattened-image";
export type { FlattenedImageArgs } from "./flattened-image";
export { flattenImage, inspectImage, planFlatten } from "./engine";
export type {
  EngineOptions,
  FlattenPlan,
  FlattenRequest,
  FlattenResult,
  ImageInspection,
  ImageLayer,
  ImageRuntimeConfig,
  RegistryAuth,
} from "./engine";
export { LINT_RULES, lintDockerfile } from "./lint";
export type { LintFinding, LintOptions, LintRule, LintSeverity } from "./lint";
export type { ImageRegistry, RegistryLogin, SecureRegistryLike } from "./registry";
export * from "./oci";
