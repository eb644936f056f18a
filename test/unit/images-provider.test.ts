/**
 * The dynamic providers that talk to a Docker engine (the images module's FlattenedImage and
 * ImageFacts, the engine module's HealthyContainer) serialized exactly as
 * `pulumi.dynamic.Resource` stores them, then rebuilt and run in a separate plain `node` process,
 * as Pulumi's provider host does: from the TypeScript sources under ts-node (local modules
 * captured by value) and from compiled JavaScript installed in node_modules (captured by
 * reference). npm modules (dockerode, undici) are required by name in both layouts, resolved from
 * the program's node_modules; nothing machine-specific and no secret is in the text.
 */
import { execFileSync } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import * as ts from "typescript";

const REPO = path.resolve(__dirname, "..", "..");
jest.setTimeout(180_000);

let tmp: string;
beforeEach(() => {
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), "images-provider-"));
});
afterEach(() => fs.rmSync(tmp, { recursive: true, force: true }));

function node(script: string, cwd: string, env: Record<string, string> = {}): string {
  try {
    return execFileSync(process.execPath, [script], {
      cwd,
      env: { ...process.env, ...env },
      encoding: "utf8",
      stdio: ["ignore", "pipe", "pipe"],
      timeout: 120_000,
    });
  } catch (e) {
    const err = e as { stderr?: string; message: string };
    throw new Error(`node ${script} failed: ${err.stderr ?? err.message}`);
  }
}

function serializerScript(providersModule: string, healthModule: string, out: string): string {
  return `
const { flattenProvider, imageFactsProvider } = require(${JSON.stringify(providersModule)});
const { healthyContainerProvider } = require(${JSON.stringify(healthModule)});
const sc = require("@pulumi/pulumi/runtime/closure/serializeClosure");
Promise.all([flattenProvider, imageFactsProvider, healthyContainerProvider].map((p) => sc.serializeFunction(() => p, { allowSecrets: true })))
  .then(([flatten, facts, health]) => {
    require("fs").writeFileSync(${JSON.stringify(out)}, JSON.stringify({
      flatten: { text: flatten.text, containsSecrets: flatten.containsSecrets },
      facts: { text: facts.text, containsSecrets: facts.containsSecrets },
      health: { text: health.text, containsSecrets: health.containsSecrets },
    }));
  }).catch((e) => { console.error(e); process.exit(1); });
`;
}

/** Rebuilds both providers from their text (as the provider host does) and exercises them without an engine. */
function hostScript(serialized: string): string {
  const requireFromString = require.resolve("require-from-string", {
    paths: [path.dirname(require.resolve("@pulumi/pulumi/package.json"))],
  });
  return `
const fs = require("fs");
const requireFromString = require(${JSON.stringify(requireFromString)});
const texts = JSON.parse(fs.readFileSync(${JSON.stringify(serialized)}, "utf8"));
const flatten = requireFromString(texts.flatten.text).handler();
const facts = requireFromString(texts.facts.text).handler();
const health = requireFromString(texts.health.text).handler();
(async () => {
  const checked = await flatten.check({}, { source: "a:1", imageName: "b:1", push: "false", keepImage: false });
  const olds = { source: "a:1", imageName: "b:1", push: false, keepImage: false, sourceImageId: "sha256:1",
    engineAddress: "unix:///var/run/docker.sock" };
  const diff = await flatten.diff("id", olds, { source: "a:1", imageName: "b:1", push: false, keepImage: false,
    sourceImageId: "sha256:1", engine: { host: "ssh://root@203.0.113.9" } });
  const unreachable = await flatten.create({ source: "a:1", imageName: "b:1", push: false, keepImage: false,
    engine: { host: "unix:///nonexistent/docker.sock" } }).then(() => "created", (e) => e.message);
  const factsCheck = await facts.check({}, { image: "", engine: { host: 1 } });
  const healthCheck = await health.check({}, { container: "", timeoutSeconds: 0.5, engine: { host: 1 } });
  const healthDiff = await health.diff("id", { container: "a", timeoutSeconds: 60,
    engineAddress: "unix:///var/run/docker.sock" }, { container: "b", timeoutSeconds: 60 });
  const healthUnreachable = await health.create({ container: "a", timeoutSeconds: 5,
    engine: { host: "unix:///nonexistent/docker.sock" } }).then(() => "created", (e) => e.message);
  console.log(JSON.stringify({
    failures: checked.failures.map((f) => f.property),
    replaces: diff.replaces,
    unreachable,
    factsFailures: factsCheck.failures.map((f) => f.property),
    healthFailures: healthCheck.failures.map((f) => f.property),
    healthReplaces: healthDiff.replaces,
    healthUnreachable,
  }));
})().catch((e) => { console.error(e); process.exit(1); });
`;
}

function expectHostRun(result: string): void {
  expect(JSON.parse(result)).toEqual({
    failures: ["push"],
    replaces: ["engine"],
    unreachable: expect.stringMatching(
      /^cannot reach the Docker engine at unix:\/\/\/nonexistent\/docker.sock: .*ENOENT/,
    ),
    factsFailures: ["image", "engine.host"],
    healthFailures: ["container", "timeoutSeconds", "engine.host"],
    healthReplaces: ["container"],
    healthUnreachable: expect.stringMatching(
      /^cannot reach the Docker engine at unix:\/\/\/nonexistent\/docker.sock: .*ENOENT/,
    ),
  });
}

function expectCleanText(text: string): void {
  expect(text).not.toContain(REPO);
  expect(text).not.toContain(tmp);
  expect(text).not.toContain(os.homedir() + "/");
  // npm modules by name, never their code.
  expect(text).not.toMatch(/require\("[^"]*\/node_modules\//);
  expect(text).not.toContain("llhttp");
}

describe("engine providers serialization", () => {
  it("from the TypeScript sources (ts-node): local modules by value, npm modules by name, runs in a plain node host", () => {
    const out = path.join(tmp, "serialized.json");
    const script = path.join(tmp, "serialize.js");
    fs.writeFileSync(
      script,
      `require("ts-node").register({ transpileOnly: true, project: ${JSON.stringify(
        path.join(REPO, "tsconfig.json"),
      )} });\n` +
        serializerScript(
          path.join(REPO, "src/images/engine/providers.ts"),
          path.join(REPO, "src/engine/health-provider.ts"),
          out,
        ),
    );
    node(script, REPO, { NODE_PATH: path.join(REPO, "node_modules") });
    const { flatten, facts, health } = JSON.parse(fs.readFileSync(out, "utf8"));
    for (const { text, containsSecrets } of [flatten, facts, health]) {
      expect(containsSecrets).toBe(false);
      expectCleanText(text);
      expect(text).toContain('require("dockerode")');
      expect(text).not.toMatch(/require\("[^"]*(pulumi|\.\/)/);
    }
    // The flatten provider carries the transfer code, which requires undici by name.
    expect(flatten.text).toContain("function __exportIntoImport");
    expect(flatten.text).toContain('require("undici")');

    const host = path.join(tmp, "host.js");
    fs.writeFileSync(host, hostScript(out));
    // Pulumi's provider host runs in the program's directory: npm modules come from there.
    expectHostRun(node(host, REPO));
  });

  it("from compiled JavaScript installed in node_modules: local modules required by package path", () => {
    const project = path.join(tmp, "project");
    const pkg = path.join(project, "node_modules", "pulumi-secure-registry");
    for (const dir of ["images/engine", "engine", "common"]) {
      fs.mkdirSync(path.join(pkg, "bin", dir), { recursive: true });
      for (const file of fs.readdirSync(path.join(REPO, "src", dir))) {
        if (!file.endsWith(".ts")) continue;
        const source = fs.readFileSync(path.join(REPO, "src", dir, file), "utf8");
        const js = ts.transpileModule(source, {
          compilerOptions: {
            module: ts.ModuleKind.CommonJS,
            target: ts.ScriptTarget.ES2022,
            esModuleInterop: true,
          },
        }).outputText;
        fs.writeFileSync(path.join(pkg, "bin", dir, file.replace(/\.ts$/, ".js")), js);
      }
    }
    fs.writeFileSync(
      path.join(pkg, "package.json"),
      JSON.stringify({ name: "pulumi-secure-registry", version: "0.0.0", main: "bin/index.js" }),
    );
    for (const dependency of fs.readdirSync(path.join(REPO, "node_modules"))) {
      if (dependency.startsWith(".")) continue;
      fs.symlinkSync(
        path.join(REPO, "node_modules", dependency),
        path.join(project, "node_modules", dependency),
      );
    }

    const out = path.join(tmp, "serialized.json");
    const script = path.join(project, "serialize.js");
    fs.writeFileSync(
      script,
      serializerScript(
        "pulumi-secure-registry/bin/images/engine/providers.js",
        "pulumi-secure-registry/bin/engine/health-provider.js",
        out,
      ),
    );
    node(script, project);
    const { flatten, facts, health } = JSON.parse(fs.readFileSync(out, "utf8"));
    for (const { text, containsSecrets } of [flatten, facts, health]) {
      expect(containsSecrets).toBe(false);
      expectCleanText(text);
      expect(text).not.toContain("function __flattenImage");
      expect(text).not.toContain("function __connectEngine");
      expect(text).toContain('require("pulumi-secure-registry/bin/engine/connection.js")');
    }
    expect(facts.text).toMatch(
      /require\("pulumi-secure-registry\/bin\/images\/engine\/[a-z]+\.js"\)/,
    );
    expect(health.text).toContain('require("pulumi-secure-registry/bin/engine/health.js")');
    expect(flatten.text).toContain(
      'require("pulumi-secure-registry/bin/images/engine/flatten.js")',
    );

    const host = path.join(project, "host.js");
    fs.writeFileSync(host, hostScript(out));
    expectHostRun(node(host, project));
  });
});
