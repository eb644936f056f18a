/**
 * Helpers for the images real-engine tests (not a test file: jest only runs *.test.ts).
 */
import Module from "module";
import * as path from "path";

/**
 * Evaluates a dynamic provider's serialized text (the `__provider` input Pulumi stores) the way
 * Pulumi's dynamic provider host does: as a fresh module whose `handler()` returns the provider,
 * resolving packages from the project directory.
 */
export function loadDynamicProvider<T>(serialized: string): T {
  const filename = path.join(process.cwd(), "__serialized_provider__.js");
  const fresh = new Module(filename) as Module & {
    _compile(code: string, name: string): void;
    paths: string[];
  };
  fresh.filename = filename;
  fresh.paths = (Module as unknown as { _nodeModulePaths(dir: string): string[] })._nodeModulePaths(
    process.cwd(),
  );
  fresh._compile(serialized, filename);
  return (fresh.exports as { handler: () => T }).handler();
}
