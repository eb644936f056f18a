import * as pulumi from "@pulumi/pulumi";
import * as fs from "fs";
import Module from "module";
import * as os from "os";
import * as path from "path";
import * as tar from "tar-stream";
import type { SecureRegistry } from "../../src/registry";
import type { ImageRegistry } from "../../src/images";
import { containsSecret, outputOf, setupMocks, unwrapSecrets } from "../support/mocks";

// Compile-time: a SecureRegistry is accepted wherever an image component takes a registry.
export const secureRegistryIsAnImageRegistry = (registry: SecureRegistry): ImageRegistry =>
  registry;

// Mocks first, then the module under test (the mocks documentation requires this order).
const mocks = setupMocks();
const images = require("../../src/images") as typeof import("../../src/images");
const engine = require("../../src/images/engine") as typeof import("../../src/images/engine");
const naming = require("../../src/images/naming") as typeof import("../../src/images/naming");

const fixtures = path.join(__dirname, "../fixtures/images");

describe("image names", () => {
  it("parses host, path and tag like the docker CLI", () => {
    expect(naming.parseImageName("apps/web:1.2", "f")).toEqual({
      host: undefined,
      path: "apps/web",
      tag: "1.2",
    });
    expect(naming.parseImageName("reg.example:5443/apps/web", "f")).toEqual({
      host: "reg.example:5443",
      path: "apps/web",
      tag: undefined,
    });
    expect(naming.parseImageName("localhost/web:x", "f").host).toBe("localhost");
  });

  it.each([
    ["", "is empty"],
    ["Apps/web", "not a valid image name"],
    ["apps/web@sha256:abc", "contains a digest"],
    ["apps/web:", "not a valid image name"],
    ["apps//web", "not a valid image name"],
  ])("rejects %j naming the field", (name, problem) => {
    expect(() => naming.parseImageName(name, "BuiltImage x: imageName")).toThrow(
      new RegExp(`BuiltImage x: imageName.*${problem}`),
    );
  });

  it("prefixes the registry endpoint, keeps a name already under it and refuses another host", () => {
    expect(naming.qualifyImageName("apps/web", "https://reg.example:5443/", "f")).toBe(
      "reg.example:5443/apps/web:latest",
    );
    expect(naming.qualifyImageName("reg.example:5443/apps/web:2", "reg.example:5443", "f")).toBe(
      "reg.example:5443/apps/web:2",
    );
    expect(() => naming.qualifyImageName("other.example/web:2", "reg.example:5443", "f")).toThrow(
      /names registry "other.example".*Drop the host \("web:2"\)/,
    );
  });

  it("validates platforms and sorts build args", () => {
    expect(naming.validatePlatform("linux/arm64/v8", "p")).toBe("linux/arm64/v8");
    expect(() => naming.validatePlatform("amd64", "p")).toThrow(/p "amd64" is not os\/arch/);
    expect(Object.keys(naming.sortedBuildArgs({ b: "1", a: "2", C: "3" }, "f")!)).toEqual([
      "C",
      "a",
      "b",
    ]);
    expect(() => naming.sortedBuildArgs({ "bad-name": "1" }, "f")).toThrow(/invalid argument name/);
  });
});

describe("resolveRegistry", () => {
  const { resolveRegistry } =
    require("../../src/images/registry") as typeof import("../../src/images/registry");

  it("uses a SecureRegistry's endpoint and first credential, password secret", async () => {
    const resolved = resolveRegistry(
      {
        endpoint: pulumi.output("https://reg.example:5443/"),
        credentials: pulumi.output([
          { username: "first", password: "p1" },
          { username: "second", password: "p2" },
        ]),
      },
      "f",
    );
    expect(await outputOf(resolved.server)).toBe("reg.example:5443");
    expect(await outputOf(resolved.username)).toBe("first");
    expect(await outputOf(resolved.password)).toBe("p1");
    expect(await pulumi.isSecret(resolved.password)).toBe(true);
  });

  it("makes a plain password secret", async () => {
    const resolved = resolveRegistry({ server: "r:1", username: "u", password: "p" }, "f");
    expect(await pulumi.isSecret(resolved.password)).toBe(true);
  });

  it("says what to do when the registry has no users", () => {
    expect(() =>
      resolveRegistry({ endpoint: "r:1", credentials: [] }, "BuiltImage x: registry"),
    ).toThrow(/BuiltImage x: registry.credentials is empty.*Add a user/);
  });

  it("refuses a trust that is not a resource", () => {
    expect(() =>
      resolveRegistry(
        { endpoint: "r:1", credentials: [{ username: "u", password: "p" }], trust: {} as never },
        "f",
      ),
    ).toThrow(/f.trust must be a Pulumi resource/);
  });
});

describe("planFlatten", () => {
  it("renders every kept field as an import change, JSON forms and quoted values intact", () => {
    const plan = engine.planFlatten({
      Entrypoint: ["/bin/sh", "-c", 'echo "$X"'],
      Cmd: ["run", "a b"],
      Env: ["PATH=/bin", 'Q=say "hi" $HOME \\n', "EMPTY="],
      WorkingDir: "/srv/$app",
      ExposedPorts: { "8080/tcp": {}, "53/udp": {} },
      User: "1000:1000",
      Labels: { "b.key": "two words", a: 'q"' },
      Volumes: { "/data": {}, "/a b": {} },
      Healthcheck: { Test: ["CMD", "wget", "-q", "http://x/"], Interval: 5e9, Retries: 2 },
    });
    expect(plan.importChanges).toEqual([
      'ENTRYPOINT ["/bin/sh","-c","echo \\"$X\\""]',
      'CMD ["run","a b"]',
      'ENV PATH="/bin"',
      'ENV Q="say \\"hi\\" \\$HOME \\\\n"',
      'ENV EMPTY=""',
      "WORKDIR /srv/\\$app",
      "EXPOSE 53/udp 8080/tcp",
      "USER 1000:1000",
      'LABEL "a"="q\\""',
      'LABEL "b.key"="two words"',
      'VOLUME ["/a b","/data"]',
      'HEALTHCHECK --interval=5000000000ns --retries=2 CMD ["wget","-q","http://x/"]',
    ]);
    expect(plan.followUpInstructions).toEqual([]);
  });

  it("moves STOPSIGNAL and SHELL to the follow-up build, and ONBUILD with them", () => {
    const plan = engine.planFlatten({
      StopSignal: "SIGQUIT",
      Shell: ["/bin/ash", "-c"],
      OnBuild: ["RUN echo child"],
      Healthcheck: { Test: ["CMD-SHELL", "wget -q http://x/ || exit 1"] },
    });
    expect(plan.importChanges).toEqual(["HEALTHCHECK CMD wget -q http://x/ || exit 1"]);
    expect(plan.followUpInstructions).toEqual([
      "STOPSIGNAL SIGQUIT",
      'SHELL ["/bin/ash","-c"]',
      "ONBUILD RUN echo child",
    ]);
    expect(engine.planFlatten({ OnBuild: ["RUN x"] }).importChanges).toEqual(["ONBUILD RUN x"]);
  });

  it("refuses values a change line cannot carry, naming the field", () => {
    expect(() => engine.planFlatten({ Env: ["MULTI=a\nb"] })).toThrow(
      /Env MULTI contains a line break/,
    );
  });

  it("keeps HEALTHCHECK NONE", () => {
    expect(engine.planFlatten({ Healthcheck: { Test: ["NONE"] } }).importChanges).toEqual([
      "HEALTHCHECK NONE",
    ]);
  });
});

describe("engine helpers", () => {
  it("tarWithOneFile makes an archive tar readers accept", async () => {
    const archive = engine.tarWithOneFile("Dockerfile", "FROM x\nSTOPSIGNAL SIGTERM\n");
    const entries: { name: string; body: string }[] = [];
    await new Promise<void>((resolve, reject) => {
      const extract = tar.extract();
      extract.on("entry", (header, stream, next) => {
        const chunks: Buffer[] = [];
        stream.on("data", (chunk: unknown) => {
          chunks.push(chunk as Buffer);
        });
        stream.on("end", () => {
          entries.push({ name: header.name, body: Buffer.concat(chunks).toString() });
          next();
        });
      });
      extract.on("finish", resolve);
      extract.on("error", reject);
      extract.end(archive);
    });
    expect(entries).toEqual([{ name: "Dockerfile", body: "FROM x\nSTOPSIGNAL SIGTERM\n" }]);
  });

  it("instructionFromHistory reads classic and BuildKit history", () => {
    expect(engine.instructionFromHistory('/bin/sh -c #(nop)  CMD ["sh"]')).toBe('CMD ["sh"]');
    expect(engine.instructionFromHistory("/bin/sh -c echo hi > /a")).toBe("RUN echo hi > /a");
    expect(engine.instructionFromHistory("RUN /bin/sh -c apk add x # buildkit")).toBe(
      "RUN /bin/sh -c apk add x",
    );
    expect(engine.instructionFromHistory("")).toBe("");
  });

  it("splitImageName keeps a registry port out of the tag", () => {
    expect(engine.splitImageName("reg:5000/a/b")).toEqual({
      repository: "reg:5000/a/b",
      tag: "latest",
    });
    expect(engine.splitImageName("reg:5000/a/b:1")).toEqual({
      repository: "reg:5000/a/b",
      tag: "1",
    });
  });

  it("checkFlattenInputs names the field and the fix", () => {
    expect(engine.checkFlattenInputs({ source: "", imageName: "a@sha256:1", push: true })).toEqual([
      expect.objectContaining({ property: "source" }),
      expect.objectContaining({ property: "imageName" }),
      expect.objectContaining({
        property: "registry",
        reason: expect.stringContaining("push: false"),
      }),
    ]);
    expect(engine.checkFlattenInputs({ source: "a", imageName: "b", push: false })).toEqual([]);
  });
});

describe("exportIntoImport against a fake engine socket", () => {
  // A unix-socket server that answers the export with `exportBody` (raw, chunked framing
  // included) and records what the import request carried.
  async function withFakeEngine(
    exportBody: string,
    importAnswer: string,
    test: (docker: import("dockerode")) => Promise<void>,
  ): Promise<{ importRequest: string; importCompleted: boolean }> {
    const net = await import("net");
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "fake-engine-"));
    const socketPath = path.join(dir, "docker.sock");
    const seen = { importRequest: "", importCompleted: false };
    const server = net.createServer((socket) => {
      let received = "";
      socket.on("data", (data) => {
        received += data.toString("latin1");
        if (received.startsWith("GET ") && received.includes("\r\n\r\n")) {
          socket.end(
            `HTTP/1.1 200 OK\r\nContent-Type: application/x-tar\r\nTransfer-Encoding: chunked\r\n\r\n${exportBody}`,
          );
        }
        if (received.startsWith("POST ")) {
          seen.importRequest = received;
          if (received.endsWith("0\r\n\r\n")) {
            seen.importCompleted = true;
            socket.end(
              `HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n${importAnswer.length.toString(16)}\r\n${importAnswer}\r\n0\r\n\r\n`,
            );
          }
        }
      });
    });
    await new Promise<void>((resolve) => server.listen(socketPath, resolve));
    try {
      const Docker = (await import("dockerode")).default;
      await test(new Docker({ socketPath }));
      await new Promise((resolve) => setTimeout(resolve, 50));
      return seen;
    } finally {
      await new Promise((resolve) => server.close(resolve));
      fs.rmSync(dir, { recursive: true, force: true });
    }
  }

  it("forwards the chunked export bytes unchanged and returns the imported ID", async () => {
    const query = new URLSearchParams();
    query.append("changes", 'CMD ["sh"]');
    const seen = await withFakeEngine(
      "5\r\nhello\r\n0\r\n\r\n",
      '{"status":"sha256:abc"}\n',
      async (docker) => {
        expect(await engine.exportIntoImport(docker, "c1", query, "src")).toBe("sha256:abc");
      },
    );
    expect(seen.importRequest).toMatch(
      /^POST \/images\/create\?fromSrc=-&changes=CMD\+%5B%22sh%22%5D HTTP\/1.1\r\n/,
    );
    expect(seen.importRequest).toContain("Transfer-Encoding: chunked");
    expect(seen.importRequest.endsWith("\r\n\r\n5\r\nhello\r\n0\r\n\r\n")).toBe(true);
  });

  it("fails, and cuts the import off, when the export ends early", async () => {
    const seen = await withFakeEngine("5\r\nhel", "", async (docker) => {
      await expect(
        engine.exportIntoImport(docker, "c1", new URLSearchParams(), "src"),
      ).rejects.toThrow(/exporting the container of src ended early; nothing was imported/);
    });
    // The import never received a complete body, so the engine creates nothing.
    expect(seen.importCompleted).toBe(false);
  });

  it("reports an import error line", async () => {
    await withFakeEngine("0\r\n\r\n", '{"error":"bad change"}\n', async (docker) => {
      await expect(
        engine.exportIntoImport(docker, "c1", new URLSearchParams(), "src"),
      ).rejects.toThrow(/importing the export of src failed: bad change/);
    });
  });
});

describe("dynamic providers survive Pulumi's serialization", () => {
  // Exactly what pulumi.dynamic.Resource does with a provider, then what the dynamic provider
  // host does with the text: evaluate it as a fresh module that resolves packages from here.
  async function roundTrip<T>(provider: T): Promise<{ provider: T; text: string }> {
    const serialized = await pulumi.runtime.serializeFunction(() => provider, {
      allowSecrets: true,
    });
    const filename = path.join(process.cwd(), "__serialized_provider__.js");
    const fresh = new Module(filename) as Module & {
      _compile(code: string, name: string): void;
      paths: string[];
    };
    fresh.filename = filename;
    fresh.paths = (
      Module as unknown as { _nodeModulePaths(dir: string): string[] }
    )._nodeModulePaths(process.cwd());
    fresh._compile(serialized.text, filename);
    const handler = (fresh.exports as { handler: () => T }).handler;
    return { provider: handler(), text: serialized.text };
  }

  it("FlattenedImage's provider carries its helpers, no module objects, paths or secrets", async () => {
    const { provider, text } = await roundTrip(engine.flattenProvider);
    expect(text).not.toContain(process.cwd());
    expect(text).toContain('require("dockerode")');
    expect(Object.keys(provider).sort()).toEqual(
      ["check", "create", "delete", "diff", "read", "update"].sort(),
    );
    // check validates before touching the engine, with the helpers it captured.
    const result = await provider.check({} as never, {
      source: "",
      imageName: "x",
      push: true,
      keepImage: false,
    });
    expect(result.failures?.map((failure) => failure.property)).toEqual(["source", "registry"]);
    const updated = await provider.update(
      "id",
      { keepImage: false, imageId: "sha256:1" } as never,
      {
        keepImage: true,
      } as never,
    );
    expect(updated.outs).toEqual({ keepImage: true, imageId: "sha256:1" });
  });

  it("ImageFacts' provider replaces only when the image changes", async () => {
    const { provider } = await roundTrip(engine.imageFactsProvider);
    expect(
      await provider.diff("id", { image: "a@sha256:1" } as never, { image: "a@sha256:1" }),
    ).toEqual({
      changes: false,
      replaces: [],
    });
    expect(
      (await provider.diff("id", { image: "a@sha256:1" } as never, { image: "a@sha256:2" }))
        .replaces,
    ).toEqual(["image"]);
  });
});

describe("BuiltImage under mocks", () => {
  let workdir: string;
  beforeAll(() => {
    workdir = fs.mkdtempSync(path.join(os.tmpdir(), "images-unit-"));
    fs.writeFileSync(
      path.join(workdir, "Dockerfile"),
      fs.readFileSync(path.join(fixtures, "notes.Dockerfile")),
    );
    fs.mkdirSync(path.join(workdir, "clean"));
    fs.writeFileSync(
      path.join(workdir, "clean", "Dockerfile"),
      'FROM busybox:1.36 AS build\nRUN echo hi > /hi\nFROM busybox:1.36\nCOPY --from=build /hi /hi\nCMD ["cat", "/hi"]\n',
    );
  });
  afterAll(() => fs.rmSync(workdir, { recursive: true, force: true }));
  beforeEach(() => mocks.clear());

  const registry = { server: "reg.example:5443", username: "ci", password: "s3cret-pass" };

  it("declares docker.Image with the target, sorted args, default platform, qualified name and secret password", async () => {
    const trust = new (class Trust extends pulumi.CustomResource {})(
      "test:index:Trust",
      "trust-a",
      {},
    );
    const childOptions = new Map<string, pulumi.ResourceOptions>();
    const image = new images.BuiltImage(
      "app",
      {
        context: path.join(workdir, "clean"),
        target: "build",
        buildArgs: { Z_ARG: "z", A_ARG: "a" },
        imageName: "apps/web:1.0",
        registry: {
          endpoint: pulumi.output("reg.example:5443"),
          credentials: pulumi.output([{ username: "ci", password: "s3cret-pass" }]),
          trust,
        },
      },
      {
        // SDK-side transformations see each child's options, including dependsOn.
        transformations: [
          (child) => {
            childOptions.set(child.name, child.opts);
            return undefined;
          },
        ],
      },
    );
    expect(await outputOf(image.imageName)).toBe("reg.example:5443/apps/web:1.0");
    const declared = mocks.find("docker:index/image:Image", "app-image");
    const inputs = unwrapSecrets(declared.inputs);
    expect(inputs.build).toEqual({
      context: path.join(workdir, "clean"),
      dockerfile: path.join(workdir, "clean", "Dockerfile"),
      target: "build",
      args: { A_ARG: "a", Z_ARG: "z" },
      platform: "linux/amd64",
    });
    expect(Object.keys(inputs.build.args)).toEqual(["A_ARG", "Z_ARG"]);
    expect(inputs.registry).toEqual({
      server: "reg.example:5443",
      username: "ci",
      password: "s3cret-pass",
    });
    expect(containsSecret(declared.inputs.registry)).toBe(true);
    expect(await outputOf(image.lintFindings)).toEqual([]);
    expect(childOptions.get("app-image")?.dependsOn).toEqual([trust]);
    // ImageFacts records size and layer count from the pushed digest.
    await outputOf(image.size);
    expect(
      mocks.find("pulumi-nodejs:dynamic/secure-registry:ImageFacts", "app-facts"),
    ).toBeDefined();
  });

  it("logs the notes' findings as warnings on the component and keeps going", async () => {
    const warn = jest.spyOn(pulumi.log, "warn").mockImplementation(() => Promise.resolve());
    try {
      const image = new images.BuiltImage("notes", {
        context: workdir,
        imageName: "notes",
        registry,
      });
      const findings = await outputOf(image.lintFindings);
      expect(findings.map((finding) => finding.rule)).toContain("stopsignal-malformed");
      const messages = warn.mock.calls.map((call) => String(call[0]));
      expect(messages).toContainEqual(
        expect.stringMatching(/Dockerfile:13: error \[stopsignal-malformed\]/),
      );
      expect(warn.mock.calls.every((call) => call[1] === image)).toBe(true);
    } finally {
      warn.mockRestore();
    }
  });

  it("lintAsErrors fails construction before any resource is declared; lintIgnore narrows it", async () => {
    const warn = jest.spyOn(pulumi.log, "warn").mockImplementation(() => Promise.resolve());
    expect(
      () =>
        new images.BuiltImage("strict", {
          context: workdir,
          imageName: "n",
          registry,
          lintAsErrors: true,
        }),
    ).toThrow(/lintAsErrors set:[\s\S]*stopsignal-malformed[\s\S]*lintIgnore/);
    expect(mocks.resources.filter((resource) => resource.name.startsWith("strict"))).toEqual([]);
    const relaxed = new images.BuiltImage("strict2", {
      context: workdir,
      imageName: "n",
      registry,
      lintAsErrors: true,
      lintIgnore: [
        "stopsignal-malformed",
        "tool-not-installed",
        "apt-lists-not-removed",
        "unpinned-apt-packages",
      ],
    });
    // Only info findings remain, which lintAsErrors lets through.
    expect(
      (await outputOf(relaxed.lintFindings)).every((finding) => finding.severity === "info"),
    ).toBe(true);
    await outputOf(relaxed.repoDigest);
    warn.mockRestore();
  });

  it.each([
    [{ context: "" }, /context is required/],
    [{ imageName: "Bad/Name" }, /imageName "Bad\/Name" is not a valid image name/],
    [{ platform: "amd64" }, /platform "amd64" is not os\/arch/],
    [{ lintIgnore: ["no-such-rule"] }, /lintIgnore has unknown rule id\(s\) no-such-rule/],
    [
      { registry: { server: "x" } },
      /registry must be a SecureRegistry .* got an object with keys: server/,
    ],
    [{ buildArgs: { "a-b": "1" } }, /buildArgs has an invalid argument name "a-b"/],
  ])("rejects bad input %j at construction", (override, message) => {
    const args = {
      context: path.join(workdir, "clean"),
      imageName: "apps/web",
      registry,
      ...override,
    };
    expect(() => new images.BuiltImage("bad", args as never)).toThrow(message);
    expect(mocks.resources.filter((resource) => resource.name.startsWith("bad"))).toEqual([]);
  });
});

describe("FlattenedImage under mocks", () => {
  beforeEach(() => mocks.clear());

  it("declares its dynamic resource with a secret registry and a qualified name", async () => {
    const flat = new images.FlattenedImage("flat", {
      source: "apps/web:1.0",
      imageName: "apps/web-flat:1.0",
      push: true,
      registry: { server: "reg.example:5443", username: "ci", password: "s3cret-pass" },
    });
    await outputOf(flat.imageId);
    const declared = mocks.find(
      "pulumi-nodejs:dynamic/secure-registry:FlattenedImage",
      "flat-flatten",
    );
    expect(containsSecret(declared.inputs.registry)).toBe(true);
    const inputs = unwrapSecrets(declared.inputs);
    expect(inputs).toMatchObject({
      source: "apps/web:1.0",
      imageName: "reg.example:5443/apps/web-flat:1.0",
      push: true,
      keepImage: false,
      registry: { server: "reg.example:5443", username: "ci", password: "s3cret-pass" },
    });
    expect(typeof inputs.__provider).toBe("string");
    expect(inputs.__provider).not.toContain("s3cret-pass");
  });

  it("without a registry keeps a local name with an explicit tag and pushes nothing", async () => {
    const flat = new images.FlattenedImage("local", { source: "a:1", imageName: "flat/a" });
    await outputOf(flat.imageId);
    const declared = mocks.find(
      "pulumi-nodejs:dynamic/secure-registry:FlattenedImage",
      "local-flatten",
    );
    expect(unwrapSecrets(declared.inputs)).toMatchObject({
      imageName: "flat/a:latest",
      push: false,
    });
  });

  it("rejects push without a registry and bad names at construction", () => {
    expect(
      () => new images.FlattenedImage("bad1", { source: "a", imageName: "b", push: true }),
    ).toThrow(/push is true but registry is not set/);
    expect(() => new images.FlattenedImage("bad2", { source: "a", imageName: "B" })).toThrow(
      /imageName "B" is not a valid image name/,
    );
    expect(() => new images.FlattenedImage("bad3", { source: "", imageName: "b" })).toThrow(
      /source is required/,
    );
    expect(mocks.resources.filter((resource) => resource.name.startsWith("bad"))).toEqual([]);
  });
});
