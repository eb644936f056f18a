/**
 * `npm run schema`: writes schema.json, the package schema other languages' SDKs are generated
 * from, as the component provider serves it (generated from the TypeScript source, secrets
 * marked). test/unit/plugin-schema.test.ts fails while the committed file is stale.
 */
import * as fs from "fs";
import { renderSchema, SCHEMA_FILE, SecureRegistryComponentProvider } from "../src/plugin";

async function main(): Promise<void> {
  const schema = await new SecureRegistryComponentProvider().getSchema();
  fs.writeFileSync(SCHEMA_FILE, renderSchema(schema));
  console.log(`wrote ${SCHEMA_FILE}`);
}

main().catch((err: unknown) => {
  console.error(err instanceof Error ? err.message : err);
  process.exit(1);
});
