// The component provider that makes the components usable from Python, Go, C#, YAML and Java
// (see docs/languages.md). Not part of the library's exports: only the plugin entry (index.js at
// the package root, when Pulumi's plugin launcher loads it) and the schema tooling use it.
export { pluginComponents, secureRegistryArgs } from "./components";
export {
  ANALYSIS_DIR,
  PLUGIN_NAME,
  packageVersion,
  renderSchema,
  SCHEMA_COMMAND,
  SCHEMA_FILE,
  SecureRegistryComponentProvider,
  serveComponents,
} from "./provider";
export { markSecrets, SECRET_RESOURCE_PROPERTIES, SECRET_TYPE_PROPERTIES } from "./secrets";
export type { PackageSchema, SchemaProperty } from "./secrets";
