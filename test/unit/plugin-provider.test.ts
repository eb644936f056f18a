/**
 * The component provider other languages use:
 * - `construct` (what the engine calls when a Python, Go, C# or YAML program declares a component)
 *   builds the real components from the schema's shape, under Pulumi mocks;
 * - Pulumi's own plugin launcher (@pulumi/pulumi/cmd/run-plugin, what the Node.js language host
 *   runs for PulumiPlugin.yaml), started on this directory from another project's directory,
 *   serves the committed schema over the provider gRPC protocol;
 * - index.js gives programs the library and the launcher the provider.
 */
/* eslint-disable @typescript-eslint/no-explicit-any */
import * as pulumi from "@pulumi/pulumi";
import { ChildProcess, spawn } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import {
  containsSecret,
  isSecretOutput,
  outputOf,
  redactSecrets,
  setupMocks,
  unwrapSecrets,
} from "../support/mocks";

// Mocks first, then the modules under test (the mocks documentation requires this order).
const mocks = setupMocks();
const plugin = require("../../src/plugin") as typeof import("../../src/plugin");

const { waitForRPCs } = require("@pulumi/pulumi/runtime/settings") as {
  waitForRPCs: () => Promise<void>;
};

const root = path.join(__dirname, "../..");
let provider: InstanceType<typeof plugin.SecureRegistryComponentProvider>;

beforeAll(async () => {
  provider = new plugin.SecureRegistryComponentProvider();
  await provider.getSchema();
}, 180_000);
beforeEach(() => mocks.clear());
// Mocks, the analyser and child processes on a shared 2-core machine: generous bounds.
jest.setTimeout(120_000);

async function construct(type: string, name: string, inputs: Record<string, unknown>) {
  const result = await provider.construct(name, `secure-registry:index:${type}`, inputs as any, {});
  const urn = await outputOf(result.urn as pulumi.Output<string>);
  const state = result.state as Record<string, pulumi.Output<unknown>>;
  return { urn, state };
}

describe("construct, as the engine calls it for another language", () => {
  it("builds a SecureRegistry with trust and `loginAsFirstUser`, returning the schema's outputs", async () => {
    const { urn, state } = await construct("SecureRegistry", "reg", {
      hostname: "registry.example.com",
      port: 5000,
      tls: { keyAlgorithm: "ECDSA" },
      trust: { loginAsFirstUser: true, certsDirs: ["/tmp/plugin-test-never-written"] },
    });
    // The real component: its own type token, children and all.
    expect(urn).toMatch(/::secure-registry:registry:SecureRegistry::reg$/);
    const committed = JSON.parse(fs.readFileSync(plugin.SCHEMA_FILE, "utf8"));
    const outputs = committed.resources["secure-registry:index:SecureRegistry"].properties;
    expect(Object.keys(state).sort()).toEqual(Object.keys(outputs).sort());
    expect(await outputOf(state.endpoint)).toBe("registry.example.com:5000");
    expect(await isSecretOutput(state.dockerConfigJson)).toBe(true);
    const [first] = (await outputOf(state.credentials)) as { username: string; password: string }[];
    // loginAsFirstUser became `login: true`: the trust logs in as the first user.
    await waitForRPCs();
    const files = mocks.find("pulumi-nodejs:dynamic/secure-registry:TrustFiles", "reg-trust-files");
    expect(unwrapSecrets(files.inputs).login).toEqual(first);
    expect(mocks.rejections).toEqual([]);
  });

  it("refuses loginAsFirstUser together with login, naming the field", async () => {
    await expect(
      construct("SecureRegistry", "both", {
        trust: { loginAsFirstUser: true, login: { username: "u", password: "p4ssword-x" } },
      }),
    ).rejects.toThrow(/trust\.loginAsFirstUser.*login with explicit credentials/);
    expect(mocks.resources.filter((r) => r.name.startsWith("both"))).toEqual([]);
  });

  it("passes SecureRegistry's container settings through to the container, as given", async () => {
    await construct("SecureRegistry", "tuned", {
      container: {
        labels: [{ label: "team", value: "platform" }],
        memory: 512,
        envs: ["HTTPS_PROXY=http://proxy.internal:3128"],
        hosts: [{ host: "upstream.internal", ip: "10.0.0.9" }],
      },
    });
    await waitForRPCs();
    const container = unwrapSecrets(
      mocks.find("docker:index/container:Container", "tuned-container").inputs,
    );
    expect(container.labels).toEqual([{ label: "team", value: "platform" }]);
    expect(container.memory).toBe(512);
    expect(container.hosts).toEqual([{ host: "upstream.internal", ip: "10.0.0.9" }]);
    expect(container.envs).toContain("HTTPS_PROXY=http://proxy.internal:3128");
    expect(mocks.rejections).toEqual([]);
  });

  it("builds a SecureRegistryService on S3 with the schema's enums and outputs", async () => {
    const { urn, state } = await construct("SecureRegistryService", "svc", {
      hostname: "registry.example.com",
      storage: {
        s3: {
          bucket: "images",
          regionEndpoint: "http://10.0.0.5:7480",
          accessKey: "AKIAEXAMPLE",
          secretKey: "s3-secret-key-value",
        },
      },
      publishMode: "host",
      update: { order: "stop-first", failureAction: "pause" },
    });
    expect(urn).toMatch(/::secure-registry:service:SecureRegistryService::svc$/);
    const committed = JSON.parse(fs.readFileSync(plugin.SCHEMA_FILE, "utf8"));
    const outputs = committed.resources["secure-registry:index:SecureRegistryService"].properties;
    expect(Object.keys(state).sort()).toEqual(Object.keys(outputs).sort());
    expect(await outputOf(state.endpoint)).toBe("registry.example.com");
    expect(await isSecretOutput(state.credentials)).toBe(true);
    await waitForRPCs();
    const service = mocks.find("docker:index/service:Service", "svc-service");
    const spec = unwrapSecrets(service.inputs);
    expect(spec.updateConfig).toMatchObject({ order: "stop-first", failureAction: "pause" });
    expect(spec.endpointSpec.ports[0].publishMode).toBe("host");
    // The S3 secret key is in no input of any resource but inside a secret.
    const declared = JSON.stringify(mocks.resources.map((r) => redactSecrets(r.inputs)));
    expect(declared).not.toContain("s3-secret-key-value");
    // It reaches the replicas in a Swarm secret.
    const credentials = mocks.find("docker:index/secret:Secret", "svc-env-storage-credentials");
    expect(containsSecret(credentials.inputs.data)).toBe(true);
    const data = Buffer.from(unwrapSecrets(credentials.inputs).data, "base64").toString();
    expect(data).toContain("REGISTRY_STORAGE_S3_SECRETKEY=s3-secret-key-value");
    expect(mocks.rejections).toEqual([]);
  });

  it("builds a BuiltImage from server and credentials, the shape other languages pass", async () => {
    const { urn, state } = await construct("BuiltImage", "app", {
      context: path.join(root, "test/fixtures/images/multistage"),
      imageName: "apps/web:1.0",
      registry: { server: "registry.example.com:5000", username: "ci", password: "s3cret-pass" },
    });
    expect(urn).toMatch(/::secure-registry:images:BuiltImage::app$/);
    expect(await outputOf(state.repoDigest)).toMatch(
      /^registry\.example\.com:5000\/apps\/web@sha256:[0-9a-f]{64}$/,
    );
    const image = mocks.find("docker:index/image:Image", "app-image");
    expect(unwrapSecrets(image.inputs).registry).toEqual({
      server: "registry.example.com:5000",
      username: "ci",
      password: "s3cret-pass",
    });
  });
});

describe("Pulumi's plugin launcher on this directory", () => {
  let child: ChildProcess | undefined;
  let cwd: string;

  afterAll(() => {
    if (child?.exitCode === null) child.kill();
    if (cwd) fs.rmSync(cwd, { recursive: true, force: true });
  });

  it("serves the committed schema over the provider protocol", async () => {
    // Another language's project directory: the launcher runs there (no tsconfig.json).
    cwd = fs.mkdtempSync(path.join(os.tmpdir(), "plugin-consumer-"));
    const launcher = require.resolve("@pulumi/pulumi/cmd/run-plugin");
    // From the sources, whatever bin/ holds (a checkout's bin/ may be older than its sources).
    child = spawn(process.execPath, [launcher, root], {
      cwd,
      stdio: ["ignore", "pipe", "pipe"],
      env: { ...process.env, PULUMI_SECURE_REGISTRY_FROM_SOURCE: "1" },
    });
    let stderr = "";
    child.stderr!.on("data", (chunk) => (stderr += chunk));
    const port = await new Promise<number>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`no port in 150 s: ${stderr}`)), 150_000);
      child!.stdout!.once("data", (chunk: Buffer) => {
        clearTimeout(timer);
        resolve(Number(chunk.toString().trim()));
      });
      child!.once("exit", (code) => reject(new Error(`launcher exited (${code}): ${stderr}`)));
    });
    expect(port).toBeGreaterThan(0);

    const pulumiDir = path.dirname(require.resolve("@pulumi/pulumi/package.json"));
    const grpc = require(require.resolve("@grpc/grpc-js", { paths: [pulumiDir] }));
    const rpc = require("@pulumi/pulumi/proto/provider_grpc_pb");
    const messages = require("@pulumi/pulumi/proto/provider_pb");
    const client = new rpc.ResourceProviderClient(
      `127.0.0.1:${port}`,
      grpc.credentials.createInsecure(),
    );
    try {
      const response: any = await new Promise((resolve, reject) =>
        client.getSchema(new messages.GetSchemaRequest(), (err: Error | null, res: unknown) =>
          err ? reject(err) : resolve(res),
        ),
      );
      const served = JSON.parse(response.getSchema());
      expect(served).toEqual(JSON.parse(fs.readFileSync(plugin.SCHEMA_FILE, "utf8")));
    } finally {
      client.close();
    }
  }, 240_000);
});

describe("index.js, the package's entry point", () => {
  /** A copy of index.js beside stand-ins for bin/index.js and bin/plugin/index.js. */
  function fakePackage(): string {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "entry-"));
    fs.copyFileSync(path.join(root, "index.js"), path.join(dir, "index.js"));
    fs.mkdirSync(path.join(dir, "bin", "plugin"), { recursive: true });
    fs.writeFileSync(path.join(dir, "bin", "index.js"), "module.exports = { library: true };");
    fs.writeFileSync(
      path.join(dir, "bin", "plugin", "index.js"),
      "exports.serveComponents = (args) => { global.__served = args; };",
    );
    return dir;
  }

  it("gives programs the library, and Pulumi's launcher the component provider", () => {
    const dir = fakePackage();
    try {
      const program = `console.log(JSON.stringify(require(${JSON.stringify(dir)})))`;
      const asLibrary = require("child_process").execFileSync(process.execPath, ["-e", program]);
      expect(JSON.parse(asLibrary.toString())).toEqual({ library: true });

      // A module at the launcher's path requiring the directory, as run-plugin's run.js does.
      const fakeLauncher = path.join(dir, "node_modules/@pulumi/pulumi/cmd/run-plugin/run.js");
      fs.mkdirSync(path.dirname(fakeLauncher), { recursive: true });
      fs.writeFileSync(
        fakeLauncher,
        `const exported = require(${JSON.stringify(dir)});\n` +
          "console.log(JSON.stringify({ exported, served: global.__served }));",
      );
      const asPlugin = require("child_process").execFileSync(process.execPath, [
        fakeLauncher,
        "127.0.0.1:1234",
      ]);
      expect(JSON.parse(asPlugin.toString())).toEqual({
        exported: {},
        served: ["127.0.0.1:1234"],
      });
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});
