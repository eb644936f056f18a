/**
 * The root stack and each example, run under pulumi mocks: each declares what its README says,
 * and two evaluations with the same config declare exactly the same resources and inputs (so a
 * PR preview shows only changes somebody made). The second evaluation runs as a later
 * `pulumi up` would: with the first run's state (mock `priorState`), a clock a year later, and
 * a different current directory above the program.
 */
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import type { DeclaredResource, RecordingMocks } from "../support/mocks";

const repoRoot = path.resolve(__dirname, "../..");

// Each evaluation loads @pulumi/pulumi, the providers and the package afresh and makes real keys.
jest.setTimeout(120_000);

interface Evaluation {
  resources: DeclaredResource[];
  outputs: Record<string, unknown>;
  mocks: RecordingMocks;
}

interface Program {
  /** Directory Pulumi runs the program in (relative paths in the program resolve from here). */
  dir: string;
  /** Module to load (the program's entry). */
  entry: string;
  /** Project config (`<key>: value`) for the run. */
  config?: Record<string, string>;
}

/** Waits until no new resource has been registered for a while (bounded). */
async function settle(mocks: RecordingMocks): Promise<void> {
  let last = -1;
  let quiet = 0;
  for (let round = 0; round < 400 && quiet < 25; round++) {
    await new Promise((resolve) => setTimeout(resolve, 5));
    quiet = mocks.resources.length === last ? quiet + 1 : 0;
    last = mocks.resources.length;
  }
}

/**
 * Loads `program` in a fresh module registry, so @pulumi/pulumi, the mocks and the package are
 * one set per evaluation, then resolves its exported outputs.
 */
async function evaluate(program: Program, priorState?: DeclaredResource[]): Promise<Evaluation> {
  const previousDir = process.cwd();
  let mocks!: RecordingMocks;
  let exported: Record<string, unknown> = {};
  let support!: typeof import("../support/mocks");
  let pulumiModule!: typeof import("@pulumi/pulumi");
  process.chdir(program.dir);
  try {
    jest.isolateModules(() => {
      support = require("../support/mocks");
      pulumiModule = require("@pulumi/pulumi");
      mocks = support.setupMocks({ priorState });
      // Config lives in a process-wide store: replace it whole, so no run sees another's.
      pulumiModule.runtime.setAllConfig(
        Object.fromEntries(
          Object.entries(program.config ?? {}).map(([key, value]) => [`project:${key}`, value]),
        ),
      );
      exported = require(program.entry);
    });
    const outputs: Record<string, unknown> = {};
    for (const [key, value] of Object.entries(exported)) {
      if (pulumiModule.Output.isInstance(value)) {
        outputs[key] = await support.outputOf(value as never);
      }
    }
    await settle(mocks);
    return { resources: [...mocks.resources], outputs, mocks };
  } finally {
    process.chdir(previousDir);
  }
}

/** What a preview compares: each resource's type, name and inputs, in declaration order. */
function declared(resources: DeclaredResource[]) {
  return resources.map((r) => ({ type: r.type, name: r.name, inputs: r.inputs }));
}

function byName(evaluation: Evaluation, type: string, name: string): DeclaredResource {
  const found = evaluation.resources.find((r) => r.type === type && r.name === name);
  if (!found) {
    const list = evaluation.resources.map((r) => `${r.type} ${r.name}`).join("\n  ");
    throw new Error(`no ${type} named ${name}; declared:\n  ${list}`);
  }
  return found;
}

function plain<T>(value: T): T {
  return JSON.parse(JSON.stringify(value), (_key, v) =>
    v && typeof v === "object" && "4dabf18193072939515e22adb298388d" in v ? v.value : v,
  );
}

const appDockerfileContext = path.join(repoRoot, "examples/app-stack/app");

const programs: Record<string, Program> = {
  "root stack": {
    dir: repoRoot,
    entry: path.join(repoRoot, "stack/index.ts"),
    config: {
      port: "5443",
      users: JSON.stringify(["ci", "dev"]),
      images: JSON.stringify(["apps/hello:1.0=./examples/app-stack/app,target=runtime,flatten"]),
    },
  },
  basic: { dir: path.join(repoRoot, "examples/basic"), entry: "./index.ts" },
  "app-stack": { dir: path.join(repoRoot, "examples/app-stack"), entry: "./index.ts" },
  mirror: { dir: path.join(repoRoot, "examples/mirror"), entry: "./index.ts" },
};
for (const program of Object.values(programs)) {
  program.entry = path.resolve(program.dir, program.entry);
}

const evaluations: Record<string, Evaluation> = {};
async function first(name: string): Promise<Evaluation> {
  evaluations[name] ??= await evaluate(programs[name]);
  return evaluations[name];
}

describe.each(Object.keys(programs))("%s", (name) => {
  it("declares the same resources and inputs when evaluated again later", async () => {
    const run1 = await first(name);
    expect(run1.mocks.rejections).toEqual([]);
    expect(run1.resources.length).toBeGreaterThan(5);

    jest.useFakeTimers({
      now: Date.now() + 365 * 24 * 3600 * 1000,
      doNotFake: [
        "nextTick",
        "setImmediate",
        "clearImmediate",
        "setTimeout",
        "clearTimeout",
        "setInterval",
        "clearInterval",
        "queueMicrotask",
        "hrtime",
        "performance",
      ],
    });
    const otherDir = fs.mkdtempSync(path.join(os.tmpdir(), "determinism-"));
    try {
      process.chdir(otherDir);
      const run2 = await evaluate(programs[name], run1.resources);
      expect(declared(run2.resources)).toEqual(declared(run1.resources));
      expect(run2.outputs).toEqual(run1.outputs);
    } finally {
      jest.useRealTimers();
      process.chdir(repoRoot);
      fs.rmSync(otherDir, { recursive: true, force: true });
    }
  });

  it("puts no machine paths into inputs", async () => {
    const run = await first(name);
    const text = JSON.stringify(declared(run.resources));
    expect(text).not.toContain(repoRoot);
    expect(text).not.toContain(os.homedir() + "/");
    expect(text).not.toContain(os.tmpdir() + "/");
  });
});

describe("root stack config", () => {
  it("a key of the stack's namespace that does not exist stops the program before any resource", async () => {
    const failure = await evaluate({
      ...programs["root stack"],
      config: { ...programs["root stack"].config, hostnme: "reg.example.com" },
    }).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(String((failure as Error)?.message)).toMatch(
      /Invalid stack configuration:[\s\S]*secure-registry:hostnme: is not a setting of this stack; did you mean secure-registry:hostname\?/,
    );
  });
});

describe("what the READMEs say", () => {
  it("root stack: registry with trust and login, the configured image built, pushed and flattened", async () => {
    const run = await first("root stack");
    const container = plain(byName(run, "docker:index/container:Container", "registry-container"));
    expect(container.inputs.ports).toEqual([
      expect.objectContaining({ internal: 5000, external: 5443 }),
    ]);
    byName(run, "secure-registry:trust:RegistryClientTrust", "registry-trust");
    const image = plain(byName(run, "docker:index/image:Image", "image-apps-hello-1-0-image"));
    expect(image.inputs).toMatchObject({
      imageName: "localhost:5443/apps/hello:1.0",
      build: expect.objectContaining({ target: "runtime", platform: "linux/amd64" }),
    });
    byName(run, "secure-registry:images:FlattenedImage", "image-apps-hello-1-0-flat");
    expect(run.outputs.endpoint).toBe("localhost:5443");
    expect(run.outputs.loginCommand).toBe(
      "docker login localhost:5443 --username ci --password-stdin",
    );
    expect((run.outputs.credentials as { username: string }[]).map((c) => c.username)).toEqual([
      "ci",
      "dev",
    ]);
  });

  it("basic: just the registry, users ci and developer, port 5000", async () => {
    const run = await first("basic");
    expect(run.resources.map((r) => `${r.type} ${r.name}`)).toEqual(
      expect.arrayContaining([
        "secure-registry:registry:SecureRegistry registry",
        "secure-registry:tls:RegistryCertificates registry-tls",
        "secure-registry:auth:HtpasswdUsers registry-users",
        "docker:index/remoteImage:RemoteImage registry-image",
        "docker:index/volume:Volume registry-data",
        "docker:index/container:Container registry-container",
      ]),
    );
    expect(run.resources.some((r) => r.type.startsWith("secure-registry:trust"))).toBe(false);
    expect(
      plain(byName(run, "docker:index/remoteImage:RemoteImage", "registry-image")).inputs.name,
    ).toBe("registry:2");
    expect(run.outputs.endpoint).toBe("localhost:5000");
    expect((run.outputs.credentials as { username: string }[]).map((c) => c.username)).toEqual([
      "ci",
      "developer",
    ]);
  });

  it("app-stack: trust and login, the runtime stage pushed, a container run by digest from the registry", async () => {
    const run = await first("app-stack");
    byName(run, "secure-registry:trust:RegistryClientTrust", "registry-trust");
    const image = plain(byName(run, "docker:index/image:Image", "app-image"));
    expect(image.inputs).toMatchObject({
      imageName: "localhost:5000/apps/hello:1.0.0",
      build: expect.objectContaining({
        context: "./app",
        target: "runtime",
        platform: "linux/amd64",
      }),
    });
    const provider = plain(byName(run, "pulumi:providers:docker", "registry-auth"));
    expect(JSON.parse(provider.inputs.registryAuth)).toEqual([
      expect.objectContaining({ address: "localhost:5000", username: "deployer" }),
    ]);
    const remote = plain(byName(run, "docker:index/remoteImage:RemoteImage", "app-pulled"));
    expect(remote.inputs.name).toMatch(/^localhost:5000\/apps\/hello@sha256:[0-9a-f]{64}$/);
    const app = plain(byName(run, "docker:index/container:Container", "app"));
    expect(app.inputs).toMatchObject({
      name: "hello-app",
      ports: [expect.objectContaining({ internal: 8080, external: 8080 })],
    });
    expect(fs.existsSync(path.join(appDockerfileContext, "Dockerfile"))).toBe(true);
  });

  it("mirror: an anonymous pull-through cache of Docker Hub with Docker and Podman trust", async () => {
    const run = await first("mirror");
    const container = plain(byName(run, "docker:index/container:Container", "mirror-container"));
    expect(container.inputs.envs).toContain(
      "REGISTRY_PROXY_REMOTEURL=https://registry-1.docker.io",
    );
    // dockerd sends no credentials to mirrors: no auth, and no htpasswd delivered.
    expect(
      (container.inputs.envs as string[]).filter((e) => e.startsWith("REGISTRY_AUTH")),
    ).toEqual([]);
    expect((container.inputs.uploads as { file: string }[]).map((u) => u.file)).not.toContain(
      "/auth/htpasswd",
    );
    expect(container.inputs.ports).toEqual([
      { internal: 5000, external: 5001, ip: "127.0.0.1", protocol: "tcp" },
    ]);
    expect(JSON.parse(run.outputs.daemonJson as string)).toEqual({
      "registry-mirrors": ["https://localhost:5001"],
    });
    expect(plain(byName(run, "docker:index/volume:Volume", "mirror-data")).inputs.name).toBe(
      "mirror-cache",
    );
    const trustFiles = run.resources.find((r) => r.name === "mirror-trust-files");
    expect(plain(trustFiles!.inputs).certsDirs).toEqual([
      "/etc/docker/certs.d",
      "/etc/containers/certs.d",
    ]);
    expect(run.outputs.endpoint).toBe("localhost:5001");
  });
});
