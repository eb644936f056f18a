/**
 * The trust dynamic provider: its check/diff/create/read/update/delete called directly on temp
 * directories, and the provider object serialized the way `pulumi.dynamic.Resource` stores it,
 * then rebuilt and run in a separate plain `node` process (as Pulumi's provider host does), both
 * from the TypeScript sources under ts-node and from compiled JavaScript installed in node_modules.
 */
import { execFileSync } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import * as ts from "typescript";
import { selfSignedCertificate } from "../support/certs";
import { TrustOutputs } from "../../src/trust/apply";
import { dockerAuth } from "../../src/trust/dockerfiles";
import { trustProvider } from "../../src/trust/provider";

const REPO = path.resolve(__dirname, "..", "..");
const LOGIN = { username: "ci-user", password: "provider-test-Pa55" };

let tmp: string;
let caPem: string;
beforeAll(() => {
  caPem = selfSignedCertificate("ca").certPem;
});
beforeEach(() => {
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), "trust-provider-"));
});
afterEach(() => {
  fs.rmSync(tmp, { recursive: true, force: true });
});

function news(overrides: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    endpoint: "registry.test:5000",
    caCertPem: caPem,
    certsDirs: [path.join(tmp, "certs.d")],
    login: LOGIN,
    clientConfigPath: path.join(tmp, "config.json"),
    ...overrides,
  };
}

describe("trustProvider methods", () => {
  const p = trustProvider as Required<typeof trustProvider>;

  it("check reports failures by property and applies defaults", async () => {
    const bad = await p.check({}, news({ endpoint: "https://registry.test", certsDirs: ["rel"] }));
    expect(bad.failures?.map((f) => f.property).sort()).toEqual(["certsDirs[0]", "endpoint"]);
    const good = await p.check({}, news());
    expect(good.failures).toEqual([]);
    expect(good.inputs).toMatchObject({ insecure: false, reloadDaemon: false, adopt: false });
  });

  it("create, read, diff, update and delete manage exactly the planned files", async () => {
    const { inputs } = await p.check({}, news());
    const created = await p.create(inputs);
    const outs = created.outs as TrustOutputs;
    const ca = path.join(tmp, "certs.d", "registry.test:5000", "ca.crt");
    const config = path.join(tmp, "config.json");
    expect(created.id).toBe("trust-registry.test:5000");
    expect(outs.files).toEqual([ca, config]);
    expect(fs.readFileSync(ca, "utf8")).toBe(caPem.trim() + "\n");

    // Same inputs, nothing drifted: no change planned.
    const read1 = await p.read(created.id, outs);
    expect(read1.props.drift).toEqual([]);
    expect((await p.diff(created.id, read1.props, inputs)).changes).toBe(false);

    // Someone deletes the CA file: refresh records it, the next diff plans an update that restores it.
    fs.rmSync(ca);
    const read2 = await p.read(created.id, outs);
    expect(read2.props.drift).toEqual([`${ca} is missing`]);
    expect((await p.diff(created.id, read2.props, inputs)).changes).toBe(true);
    const updated = await p.update(created.id, read2.props, inputs);
    expect(fs.existsSync(ca)).toBe(true);
    expect(updated.outs.drift).toEqual([]);

    // A changed password is an in-place update, never a replacement.
    const rotated = (await p.check({}, news({ login: { ...LOGIN, password: "rotated" } }))).inputs;
    const diff = await p.diff(created.id, updated.outs, rotated);
    expect(diff).toMatchObject({ changes: true, replaces: [] });
    const updated2 = await p.update(created.id, updated.outs, rotated);
    expect(JSON.parse(fs.readFileSync(config, "utf8")).auths["registry.test:5000"].auth).toBe(
      dockerAuth({ ...LOGIN, password: "rotated" }),
    );

    await p.delete(created.id, updated2.outs);
    expect(fs.readdirSync(path.join(tmp, "certs.d"))).toEqual([]);
    expect(fs.existsSync(config)).toBe(false);
  });

  it("a failing create reports the problem and leaves nothing", async () => {
    fs.writeFileSync(path.join(tmp, "config.json"), '{"credsStore": "secretservice"}');
    const { inputs } = await p.check({}, news());
    await expect(p.create(inputs)).rejects.toThrow(
      /docker-credential-secretservice.*Everything this attempt wrote was undone/,
    );
    // Even the certs dir it created for the CA is gone again.
    expect(fs.readdirSync(tmp)).toEqual(["config.json"]);
  });
});

/** Runs `node <script>` in `cwd` and returns its stdout (stderr shown on failure). */
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

/** The script that serializes the provider exactly as `pulumi.dynamic.Resource` does. */
function serializerScript(providerModule: string, out: string): string {
  return `
const { trustProvider } = require(${JSON.stringify(providerModule)});
const sc = require("@pulumi/pulumi/runtime/closure/serializeClosure");
sc.serializeFunction(() => trustProvider, { allowSecrets: true }).then((sf) => {
  require("fs").writeFileSync(${JSON.stringify(out)}, JSON.stringify({ text: sf.text, containsSecrets: sf.containsSecrets }));
}).catch((e) => { console.error(e); process.exit(1); });
`;
}

/**
 * Plays Pulumi's dynamic provider host: rebuilds the provider from its text with
 * require-from-string (empty filename, like @pulumi/pulumi/cmd/dynamic-provider) and runs
 * check, create, read and delete against `root`.
 */
function hostScript(serialized: string, root: string, caFile: string): string {
  const requireFromString = require.resolve("require-from-string", {
    paths: [path.dirname(require.resolve("@pulumi/pulumi/package.json"))],
  });
  return `
const fs = require("fs");
const requireFromString = require(${JSON.stringify(requireFromString)});
const { text } = JSON.parse(fs.readFileSync(${JSON.stringify(serialized)}, "utf8"));
const provider = requireFromString(text).handler();
(async () => {
  const root = ${JSON.stringify(root)};
  const checked = await provider.check({}, {
    endpoint: "registry.test:5000",
    caCertPem: fs.readFileSync(${JSON.stringify(caFile)}, "utf8"),
    certsDirs: [root + "/certs.d"],
    login: { username: "u", password: "p" },
    clientConfigPath: root + "/config.json",
  });
  const created = await provider.create(checked.inputs);
  const afterCreate = fs.readdirSync(root + "/certs.d");
  const read = await provider.read(created.id, created.outs);
  await provider.delete(created.id, read.props);
  console.log(JSON.stringify({
    failures: checked.failures,
    files: created.outs.files,
    afterCreate,
    drift: read.props.drift,
    afterDelete: fs.readdirSync(root + "/certs.d").concat(fs.readdirSync(root)),
  }));
})().catch((e) => { console.error(e); process.exit(1); });
`;
}

function expectHostRun(result: string, root: string): void {
  expect(JSON.parse(result)).toEqual({
    failures: [],
    files: [`${root}/certs.d/registry.test:5000/ca.crt`, `${root}/config.json`],
    afterCreate: ["registry.test:5000"],
    drift: [],
    afterDelete: ["ca.pem", "certs.d"],
  });
}

describe("trustProvider serialization", () => {
  jest.setTimeout(180_000);

  it("from the TypeScript sources (ts-node): captured by value, runs in a plain node host", () => {
    const out = path.join(tmp, "serialized.json");
    const script = path.join(tmp, "serialize.js");
    fs.writeFileSync(
      script,
      `require("ts-node").register({ transpileOnly: true, project: ${JSON.stringify(
        path.join(REPO, "tsconfig.json"),
      )} });\n` + serializerScript(path.join(REPO, "src/trust/provider.ts"), out),
    );
    // Pulumi runs the program from the project directory.
    node(script, REPO, { NODE_PATH: path.join(REPO, "node_modules") });
    const { text, containsSecrets } = JSON.parse(fs.readFileSync(out, "utf8"));
    expect(containsSecrets).toBe(false);
    // The I/O code travels in state, built-ins are required by name, nothing machine-specific.
    expect(text).toContain("function __applyTrust");
    // npm libraries are captured by reference, never copied into state.
    for (const lib of ["ssh2", "proper-lockfile", "smol-toml"]) {
      expect(text).toMatch(new RegExp(`require\\("${lib}(/[^"]*)?"\\)`));
    }
    expect(text).not.toContain("function parseInteger"); // smol-toml's code stays out
    expect(text).not.toMatch(/node_modules/);
    expect(text).toContain('require("fs")');
    expect(text).not.toContain(REPO);
    expect(text).not.toContain(os.homedir() + "/");
    expect(text).not.toMatch(/require\("[^"]*(pulumi|\.\/)/);

    const root = path.join(tmp, "host");
    fs.mkdirSync(root);
    fs.writeFileSync(path.join(root, "ca.pem"), caPem);
    const host = path.join(tmp, "host.js");
    fs.writeFileSync(host, hostScript(out, root, path.join(root, "ca.pem")));
    // The provider host runs in the project directory: its node_modules must supply the npm
    // libraries captured by reference (and nothing of this package: no source is there).
    const project = path.join(tmp, "project");
    fs.mkdirSync(project);
    fs.symlinkSync(path.join(REPO, "node_modules"), path.join(project, "node_modules"));
    expectHostRun(node(host, project), root);
  });

  it("from compiled JavaScript installed in node_modules: required by package path", () => {
    const project = path.join(tmp, "project");
    const pkg = path.join(project, "node_modules", "pulumi-secure-registry");
    fs.mkdirSync(path.join(pkg, "bin", "trust"), { recursive: true });
    fs.writeFileSync(
      path.join(pkg, "package.json"),
      JSON.stringify({ name: "pulumi-secure-registry", version: "0.0.0", main: "bin/index.js" }),
    );
    for (const file of fs.readdirSync(path.join(REPO, "src", "trust"))) {
      if (!file.endsWith(".ts")) continue;
      const source = fs.readFileSync(path.join(REPO, "src", "trust", file), "utf8");
      const js = ts.transpileModule(source, {
        compilerOptions: {
          module: ts.ModuleKind.CommonJS,
          target: ts.ScriptTarget.ES2022,
          esModuleInterop: true,
        },
      }).outputText;
      fs.writeFileSync(path.join(pkg, "bin", "trust", file.replace(/\.ts$/, ".js")), js);
    }
    // The package's dependencies, as npm installs them beside it.
    for (const dep of fs.readdirSync(path.join(REPO, "node_modules"))) {
      if (dep.startsWith(".")) continue;
      fs.symlinkSync(path.join(REPO, "node_modules", dep), path.join(project, "node_modules", dep));
    }

    const out = path.join(tmp, "serialized.json");
    const script = path.join(project, "serialize.js");
    fs.writeFileSync(script, serializerScript("pulumi-secure-registry/bin/trust/provider.js", out));
    node(script, project);
    const { text, containsSecrets } = JSON.parse(fs.readFileSync(out, "utf8"));
    expect(containsSecrets).toBe(false);
    expect(text).toContain('require("pulumi-secure-registry/bin/trust/apply.js")');
    expect(text).not.toContain("function __applyTrust");
    expect(text).not.toContain(tmp);

    const root = path.join(tmp, "host");
    fs.mkdirSync(root);
    fs.writeFileSync(path.join(root, "ca.pem"), caPem);
    const host = path.join(project, "host.js");
    fs.writeFileSync(host, hostScript(out, root, path.join(root, "ca.pem")));
    // The provider host runs in the project directory, whose node_modules holds the package.
    expectHostRun(node(host, project), root);
  });
});
