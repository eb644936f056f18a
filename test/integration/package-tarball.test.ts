/**
 * The package as a user gets it: `npm pack` (which builds it through `prepare`), the tarball
 * installed into a fresh project with only its production dependencies, a program using every
 * public component (test/fixtures/package-project/index.ts) type-checked by tsc with Pulumi's
 * template tsconfig (no skipLibCheck) and then run under Pulumi mocks from the compiled output.
 *
 * Needs no Docker engine: the program runs under mocks (dynamic providers do not run there) with
 * DOCKER_HOST pointing at a socket that does not exist and HOME in the temp directory, so nothing
 * reaches the engine or the host's files. Everything lives in one temp directory, removed after.
 */
import * as fs from "fs";
import { createRequire } from "module";
import * as os from "os";
import * as path from "path";
import * as ts from "typescript";
import { runCommand } from "../support/command";
import {
  cleanEnv,
  createProject,
  packPackage,
  productionPackages,
  tarballEntries,
  TEMPLATE_DEV_PACKAGES,
} from "../support/package-project";

const repoRoot = path.resolve(__dirname, "../..");
const fixture = path.join(repoRoot, "test/fixtures/package-project");

// npm pack builds the package and the policy pack (two tsc runs), then tsc runs twice more in
// the project: minutes on a busy 2-core machine. Bounds, not expectations.
jest.setTimeout(600_000);

/**
 * The compiler options of Pulumi's TypeScript template (pulumi/templates, typescript/
 * tsconfig.json): `nodenext` since March 2026, `commonjs` + `node` resolution before, which
 * existing projects still have. Neither sets skipLibCheck or esModuleInterop.
 */
const TEMPLATE_OPTIONS = {
  strict: true,
  outDir: "bin",
  target: "es2020",
  sourceMap: true,
  experimentalDecorators: true,
  pretty: true,
  noFallthroughCasesInSwitch: true,
  noImplicitReturns: true,
  forceConsistentCasingInFileNames: true,
};
const NODENEXT = { ...TEMPLATE_OPTIONS, module: "nodenext", moduleResolution: "nodenext" };
const COMMONJS = { ...TEMPLATE_OPTIONS, module: "commonjs", moduleResolution: "node" };

/** A program with two type errors: a number for a string, an Output of numbers for a list. */
const WRONG_PROGRAM = [
  'import * as pulumi from "@pulumi/pulumi";',
  'import { SecureRegistry } from "pulumi-secure-registry";',
  'new SecureRegistry("wrong-hostname", { hostname: 5000 });',
  'new SecureRegistry("wrong-names", { additionalHostnames: pulumi.output([1, 2]) });',
  "",
].join("\n");

interface RunResult {
  resources: { type: string; name: string; custom: boolean; inputs: Record<string, unknown> }[];
  rejections: unknown[];
  outputs: Record<string, { value: unknown; secret: boolean }>;
  generatedSecrets: string[];
  stackSecrets: string[];
}

let tmp: string;
let project: string;
let entries: string[];
let installedPackages: string[];

function writeJson(file: string, value: unknown): void {
  fs.writeFileSync(file, JSON.stringify(value, null, 2) + "\n");
}

/** `tsc -p <config>` with the project's own TypeScript, as `npx tsc` would run it. */
function tsc(config: string) {
  return runCommand(
    process.execPath,
    [path.join(project, "node_modules/typescript/bin/tsc"), "-p", config, "--pretty", "false"],
    { cwd: project, env: cleanEnv(), timeoutMs: 300_000 },
  );
}

/** Compiles the program once (template tsconfig, emitting bin/index.js) for the tests using it. */
let compiled: ReturnType<typeof tsc> | undefined;
const compileProgram = () => (compiled ??= tsc("tsconfig.json"));

beforeAll(async () => {
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), "secure-registry-pack-"));
  const tarball = await packPackage(repoRoot, path.join(tmp, "checkout"), path.join(tmp, "packed"));
  entries = await tarballEntries(tarball);

  installedPackages = [
    ...new Set([...(await productionPackages(repoRoot)), ...TEMPLATE_DEV_PACKAGES]),
  ];
  project = path.join(tmp, "project");
  await createProject(project, tarball, repoRoot, installedPackages);

  // The user's project: package.json and tsconfig.json as `pulumi new typescript` writes them,
  // the program, a build context for BuiltImage, and the mock runner.
  writeJson(path.join(project, "package.json"), {
    name: "composed",
    main: "bin/index.js",
    dependencies: { "pulumi-secure-registry": `file:../packed/${path.basename(tarball)}` },
  });
  writeJson(path.join(project, "tsconfig.json"), {
    compilerOptions: NODENEXT,
    files: ["index.ts"],
  });
  writeJson(path.join(project, "tsconfig.commonjs.json"), {
    compilerOptions: { ...COMMONJS, noEmit: true },
    files: ["index.ts", "wrong.ts"],
  });
  fs.copyFileSync(path.join(fixture, "index.ts"), path.join(project, "index.ts"));
  fs.writeFileSync(path.join(project, "wrong.ts"), WRONG_PROGRAM);
  fs.mkdirSync(path.join(project, "app"));
  fs.writeFileSync(
    path.join(project, "app/Dockerfile"),
    'FROM busybox:1.36\nCOPY . /srv\nCMD ["sh"]\n',
  );
  fs.copyFileSync(
    path.join(fixture, "run-under-mocks.js"),
    path.join(project, "run-under-mocks.js"),
  );
  // The repository's mocks (real keys, certificates, bcrypt), as plain JavaScript.
  const mocks = ts.transpileModule(
    fs.readFileSync(path.join(repoRoot, "test/support/mocks.ts"), "utf8"),
    { compilerOptions: { module: ts.ModuleKind.CommonJS, target: ts.ScriptTarget.ES2022 } },
  );
  fs.writeFileSync(path.join(project, "mocks.js"), mocks.outputText);
  fs.mkdirSync(path.join(tmp, "home"));
});

afterAll(() => {
  if (tmp) fs.rmSync(tmp, { recursive: true, force: true });
});

test("the tarball holds the build, the policy pack, README and LICENSE, and no sources", () => {
  for (const required of [
    "package.json",
    "README.md",
    "LICENSE",
    "index.js",
    "bin/index.js",
    "bin/index.d.ts",
    "policy/PulumiPolicy.yaml",
    "policy/package.json",
    "policy/bin/index.js",
  ]) {
    expect(entries).toContain(required);
  }
  const topLevel = new Set(entries.map((entry) => entry.split("/")[0]));
  expect([...topLevel].sort()).toEqual(
    ["LICENSE", "README.md", "bin", "index.js", "package.json", "policy"].sort(),
  );
  // bin/ is compiled output only: JavaScript and declarations, no maps (they would point at src/).
  const notCompiled = entries.filter(
    (entry) => entry.startsWith("bin/") && !/\.(js|d\.ts)$/.test(entry),
  );
  expect(notCompiled).toEqual([]);
  // Any source map shipped (the policy pack's) names only sources that are shipped beside it.
  const maps = entries.filter((entry) => entry.endsWith(".map"));
  const installed = path.join(project, "node_modules/pulumi-secure-registry");
  for (const map of maps) {
    const { sources } = JSON.parse(fs.readFileSync(path.join(installed, map), "utf8")) as {
      sources: string[];
    };
    for (const source of sources) {
      expect(entries).toContain(path.posix.join(path.posix.dirname(map), source));
    }
  }
});

test("its package.json names shipped files, and every dependency is installed", () => {
  const installed = path.join(project, "node_modules/pulumi-secure-registry");
  const manifest = JSON.parse(fs.readFileSync(path.join(installed, "package.json"), "utf8")) as {
    main: string;
    types: string;
    dependencies: Record<string, string>;
  };
  expect(entries).toContain(path.posix.normalize(manifest.main));
  expect(entries).toContain(path.posix.normalize(manifest.types));
  for (const dependency of Object.keys(manifest.dependencies)) {
    expect(installedPackages).toContain(dependency);
  }
  // The policy pack (`--policy-pack node_modules/pulumi-secure-registry/policy`) finds its
  // entry point and, through the package's dependencies, every module it needs.
  const policyDir = path.join(installed, "policy");
  const policy = JSON.parse(fs.readFileSync(path.join(policyDir, "package.json"), "utf8")) as {
    main: string;
    dependencies: Record<string, string>;
  };
  expect(entries).toContain(path.posix.join("policy", policy.main));
  const policyRequire = createRequire(path.join(policyDir, "package.json"));
  for (const dependency of Object.keys(policy.dependencies)) {
    expect(() => policyRequire.resolve(dependency)).not.toThrow();
  }
  // Only what a user's install brings: our devDependencies are absent unless a production
  // dependency depends on them too (then a user gets them as well).
  const ours = JSON.parse(fs.readFileSync(path.join(repoRoot, "package.json"), "utf8")) as {
    devDependencies: Record<string, string>;
  };
  const devOnly = Object.keys(ours.devDependencies).filter(
    (name) => !installedPackages.includes(name),
  );
  expect(devOnly).toContain("jest");
  for (const name of devOnly) {
    expect([name, fs.existsSync(path.join(project, "node_modules", name))]).toEqual([name, false]);
  }
});

test("a program using every public component type-checks with Pulumi's template tsconfig", async () => {
  const result = await compileProgram();
  expect(`${result.stdout}${result.stderr}`.trim()).toBe("");
  expect(result.code).toBe(0);
  expect(fs.existsSync(path.join(project, "bin/index.js"))).toBe(true);
});

test("with the earlier commonjs template too; a wrong program fails to type-check", async () => {
  const result = await tsc("tsconfig.commonjs.json");
  // `file(line,col): error TSxxxx: message`; continuation lines are indented.
  const errors = result.stdout
    .split("\n")
    .filter((line) => /^\S.*\(\d+,\d+\): error TS\d+/.test(line));
  expect(result.code).not.toBe(0);
  // Nothing in the program or in the package's declarations, and both mistakes in wrong.ts.
  expect(errors.filter((line) => !line.startsWith("wrong.ts("))).toEqual([]);
  expect(errors.map((line) => line.replace(/,\d+\):.*$/, ""))).toEqual([
    "wrong.ts(3",
    "wrong.ts(4",
  ]);
  expect(errors[0]).toMatch(/error TS2322: Type 'number' is not assignable to type 'Input<string>/);
  expect(errors[1]).toMatch(
    /error TS2322: Type 'Output<[^']*number[^']*>' is not assignable to type 'Input<Input<string>\[\]>/,
  );
});

describe("the compiled program under mocks", () => {
  let run: RunResult;

  beforeAll(async () => {
    const build = await compileProgram();
    if (build.code !== 0) throw new Error(`tsc failed:\n${build.stdout}${build.stderr}`);
    const resultFile = path.join(tmp, "run.json");
    const result = await runCommand(process.execPath, ["run-under-mocks.js", resultFile], {
      cwd: project,
      env: cleanEnv({
        HOME: path.join(tmp, "home"),
        DOCKER_HOST: `unix://${path.join(tmp, "no-engine.sock")}`,
      }),
      timeoutMs: 300_000,
    });
    if (result.code !== 0) {
      throw new Error(`the program failed under mocks:\n${result.stdout}${result.stderr}`);
    }
    run = JSON.parse(fs.readFileSync(resultFile, "utf8")) as RunResult;
  });

  const names = (type: string) => run.resources.filter((r) => r.type === type).map((r) => r.name);

  test("every public component registers with its children; bad input registers nothing", () => {
    expect(run.rejections).toEqual([]);
    const components = run.resources
      .filter((r) => !r.custom)
      .map((r) => `${r.type} ${r.name}`)
      .sort();
    expect(components).toEqual(
      [
        "secure-registry:auth:HtpasswdUsers mirror-users",
        "secure-registry:auth:HtpasswdUsers registry-users",
        "secure-registry:auth:HtpasswdUsers swarm-registry-users",
        "secure-registry:images:BuiltImage app",
        "secure-registry:images:FlattenedImage app-flat",
        "secure-registry:images:RegistryFlattenedImage app-oci-flat",
        "secure-registry:registry:SecureRegistry registry",
        "secure-registry:service:SecureRegistryService swarm-registry",
        "secure-registry:tls:RegistryCertificates edge-tls",
        "secure-registry:tls:RegistryCertificates registry-tls",
        "secure-registry:tls:RegistryCertificates swarm-registry-tls",
        "secure-registry:tls:RegistryClientCertificates edge-clients",
        "secure-registry:trust:RegistryClientTrust builder-trust",
        "secure-registry:trust:RegistryClientTrust registry-trust",
      ].sort(),
    );
    expect(names("docker:index/container:Container")).toEqual(["registry-container"]);
    expect(names("docker:index/volume:Volume")).toEqual(["registry-data"]);
    expect(names("docker:index/service:Service")).toEqual(["swarm-registry-service"]);
    expect(names("docker:index/image:Image")).toEqual(["app-image"]);
    expect(names("tls:index/locallySignedCert:LocallySignedCert").sort()).toEqual([
      "edge-clients-builder-cert",
      "edge-tls-server-cert",
      "registry-tls-server-cert",
      "swarm-registry-tls-server-cert",
    ]);
    expect(names("pulumi-nodejs:dynamic/secure-registry:TrustFiles").sort()).toEqual([
      "builder-trust-files",
      "registry-trust-files",
    ]);
    expect(names("pulumi-nodejs:dynamic/secure-registry:FlattenedImage")).toEqual([
      "app-flat-flatten",
    ]);
    expect(names("pulumi-nodejs:dynamic/secure-registry:RegistryFlattenedImage")).toEqual([
      "app-oci-flat-flatten",
    ]);
    expect(run.resources.filter((r) => r.name.startsWith("misconfigured"))).toEqual([]);
    expect(run.outputs.badInputRefused.value).toMatch(/^port: SecureRegistry "misconfigured": /);
  });

  test("Output arguments from a StackReference reach the components", () => {
    expect(run.outputs.endpoint).toEqual({ value: "registry.internal:5000", secret: false });
    expect(run.outputs.serviceUrl.value).toBe("https://registry.swarm.internal");
    expect(run.outputs.appImage.value).toMatch(
      /^registry\.internal:5000\/apps\/web@sha256:[0-9a-f]{64}$/,
    );
    expect(run.outputs.caCertPem.value).toMatch(/^-----BEGIN CERTIFICATE-----\n/);
    const credentials = run.outputs.credentials.value as { username: string }[];
    expect(credentials.map((c) => c.username)).toEqual(["ci", "deploy"]);
    const container = run.resources.find((r) => r.name === "registry-container");
    expect(container?.inputs.name).toBe("acme-registry");
    expect(container?.inputs.networksAdvanced).toEqual([{ name: "platform" }]);
  });

  test("secrets stay secret, settings stay readable", () => {
    for (const key of ["credentials", "dockerConfigJson", "mirrorHtpasswd"]) {
      expect([key, run.outputs[key].secret]).toEqual([key, true]);
    }
    for (const key of ["hostLoginCommand", "builderLoginCommand"]) {
      expect(run.outputs[key]).toEqual({
        value: "docker login registry.internal:5000 --username ci --password-stdin",
        secret: false,
      });
    }
    // No generated password and no secret of the other stack in any resource's inputs but
    // inside a secret.
    const secrets = [...run.generatedSecrets, ...run.stackSecrets];
    expect(run.generatedSecrets.length).toBeGreaterThanOrEqual(4);
    for (const resource of run.resources) {
      const inputs = JSON.stringify(resource.inputs);
      const found = secrets.filter((secret) => inputs.includes(secret));
      expect([resource.name, found]).toEqual([resource.name, []]);
    }
  });

  test("dynamic providers reference the installed package's modules by name", () => {
    const dynamic = run.resources.filter((r) => r.type.startsWith("pulumi-nodejs:dynamic/"));
    expect(dynamic.length).toBeGreaterThan(0);
    for (const resource of dynamic) {
      const provider = String(resource.inputs.__provider);
      const required = [...provider.matchAll(/require\("([^"]+)"\)/g)].map((m) => m[1]);
      expect(required.some((m) => m.startsWith("pulumi-secure-registry/bin/"))).toBe(true);
      // The engine runs these from the program's directory: each must resolve there.
      const projectRequire = createRequire(path.join(project, "package.json"));
      for (const module of required) {
        expect(path.isAbsolute(module)).toBe(false);
        expect(() => projectRequire.resolve(module)).not.toThrow();
      }
    }
  });
});
