/**
 * The component provider other languages talk to: Pulumi's ComponentProvider over this package's
 * components, serving a schema generated from the TypeScript source (provider/ is where the
 * analyser starts) with secrets marked.
 */
import * as pulumi from "@pulumi/pulumi";
import { ComponentProvider } from "@pulumi/pulumi/provider/experimental";
import * as fs from "fs";
import * as path from "path";
import { pluginComponents } from "./components";
import { markSecrets, PackageSchema } from "./secrets";

/** The package name in the schema, and so in every type token other languages use. */
export const PLUGIN_NAME = "secure-registry";

/** The repository root (this file is src/plugin/ or, compiled, bin/plugin/). */
export const PACKAGE_ROOT = path.join(__dirname, "..", "..");

/** Where the analyser starts: package.json (name, description), tsconfig.json and index.ts. */
export const ANALYSIS_DIR = path.join(PACKAGE_ROOT, "provider");

/** The package's version (the root package.json's). */
export function packageVersion(): string {
  const manifest = JSON.parse(fs.readFileSync(path.join(PACKAGE_ROOT, "package.json"), "utf8"));
  return String(manifest.version);
}

export class SecureRegistryComponentProvider extends ComponentProvider {
  private markedSchema?: string;

  constructor(version: string = packageVersion()) {
    super({ name: PLUGIN_NAME, dirname: ANALYSIS_DIR, components: pluginComponents, version });
  }

  /** The generated schema with secret properties marked. */
  async getSchema(): Promise<string> {
    if (this.markedSchema === undefined) {
      const generated = JSON.parse(await super.getSchema()) as PackageSchema;
      this.markedSchema = JSON.stringify(markSecrets(generated, PLUGIN_NAME));
    }
    return this.markedSchema;
  }
}

/** Where the generated schema is committed, so a pull request's diff shows API changes. */
export const SCHEMA_FILE = path.join(PACKAGE_ROOT, "schema.json");

/** The command that regenerates SCHEMA_FILE. */
export const SCHEMA_COMMAND = "npm run schema";

/** The schema as SCHEMA_FILE holds it: two-space JSON and a final newline. */
export function renderSchema(schema: string): string {
  return `${JSON.stringify(JSON.parse(schema), null, 2)}\n`;
}

/** Serves the components to the Pulumi engine (the plugin launcher's arguments). */
export function serveComponents(args: string[] = process.argv.slice(2)): Promise<void> {
  return pulumi.provider.main(new SecureRegistryComponentProvider(), args);
}
