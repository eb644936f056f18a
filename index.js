"use strict";
/**
 * The package's entry point (package.json "main").
 *
 * Programs get the library: the compiled TypeScript in bin/ (types in bin/index.d.ts).
 *
 * Pulumi's plugin launcher (@pulumi/pulumi/cmd/run-plugin) requires this directory itself when
 * another language uses the package through `pulumi package add` (PulumiPlugin.yaml beside this
 * file). Then, and only then (this file's parent module is the launcher), it serves the
 * components to the engine instead (src/plugin): from bin/ once built, from the TypeScript
 * sources otherwise or when PULUMI_SECURE_REGISTRY_FROM_SOURCE=1 (the launcher has registered
 * ts-node). A plugin of someone else's that merely
 * depends on this package still gets the library: there, the parent is their code.
 */
const fs = require("fs");
const path = require("path");

const parent = module.parent ? module.parent.filename : undefined;
const launchedAsPlugin =
  typeof parent === "string" &&
  /[\\/]@pulumi[\\/]pulumi[\\/]cmd[\\/]run-plugin[\\/]run\.js$/.test(parent);

if (launchedAsPlugin) {
  const compiled = path.join(__dirname, "bin", "plugin", "index.js");
  // PULUMI_SECURE_REGISTRY_FROM_SOURCE=1 runs the sources even when bin/ exists (a developer's
  // checkout whose bin/ is older than the sources).
  const fromSource = process.env.PULUMI_SECURE_REGISTRY_FROM_SOURCE === "1";
  const plugin =
    fs.existsSync(compiled) && !fromSource ? require(compiled) : require("./src/plugin");
  plugin.serveComponents(process.argv.slice(2));
} else {
  module.exports = require("./bin/index.js");
}
