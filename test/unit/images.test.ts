import * as pulumi from "@pulumi/pulumi";
import * as fs from "fs";
import Module from "module";
import * as os from "os";
import * as path from "path";
import * as tar from "tar-stream";
import type { SecureRegistry } from "../../src/registry";
import type { ImageRegistry } from "../../src/images";
import { InvalidInputError } from "../../src/common/errors";
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
  const L = 'BuiltImage "x"';
  it("parses host, path and tag like the docker CLI", () => {
    expect(naming.parseImageName(L, "f", "apps/web:1.2")).toEqual({
      host: undefined,
      path: "apps/web",
      tag: "1.2",
    });
    expect(naming.parseImageName(L, "f", "reg.example:5443/apps/web")).toEqual({
      host: "reg.example:5443",
      path: "apps/web",
      tag: undefined,
    });
    expect(naming.parseImageName(L, "f", "localhost/web:x").host).toBe("localhost");
  });

  it.each([
    ["", 'is ""'],
    ["Apps/web", "lower-case"],
    [`apps/web@sha256:${"a".repeat(64)}`, "contains a digest"],
    ["apps/web:", "not a valid image name"],
    ["apps//web", "not a valid image name"],
    [42, "is 42"],
  ])("rejects %j with an InvalidInputError naming the field", (name, problem) => {
    let caught: unknown;
    try {
      naming.parseImageName(L, "imageName", name);
    } catch (error) {
      caught = error;
    }
    expect(caught).toBeInstanceOf(InvalidInputError);
    expect((caught as InvalidInputError).field).toBe("imageName");
    expect((caught as Error).message).toMatch(new RegExp(`^BuiltImage "x": imageName.*${problem}`));
  });

  it("prefixes the registry endpoint, keeps a name already under it and refuses another host", () => {
    expect(naming.qualifyImageName(L, "f", "apps/web", "reg.example:5443")).toBe(
      "reg.example:5443/apps/web:latest",
    );
    expect(naming.qualifyImageName(L, "f", "reg.example:5443/apps/web:2", "reg.example:5443")).toBe(
      "reg.example:5443/apps/web:2",
    );
    expect(() =>
      naming.qualifyImageName(L, "f", "other.example/web:2", "reg.example:5443"),
    ).toThrow(/names registry "other.example".*Drop the host \("web:2"\)/);
  });

  it("registry servers: scheme and trailing slash dropped, a path, user or bad port refused", () => {
    expect(naming.registryServer(L, "registry.server", "https://reg.example:5443/")).toBe(
      "reg.example:5443",
    );
    expect(naming.registryServer(L, "registry.server", "10.0.0.5:5000")).toBe("10.0.0.5:5000");
    expect(() => naming.registryServer(L, "registry.server", "reg.example/v2/")).toThrow(
      /registry.server "reg.example\/v2\/" has a path.*give only host\[:port\] \(e.g. "reg.example"\)/,
    );
    expect(() => naming.registryServer(L, "registry.server", "u:p@reg.example")).toThrow(
      InvalidInputError,
    );
    expect(() => naming.registryServer(L, "registry.server", "reg.example:99999")).toThrow(
      /outside 1-65535/,
    );
  });

  it("accepts only real platforms and sorts build args", () => {
    expect(naming.validatePlatform(L, "platform", "linux/arm64/v8")).toBe("linux/arm64/v8");
    expect(() => naming.validatePlatform(L, "platform", "amd64")).toThrow(
      /platform "amd64" is not os\/arch/,
    );
    expect(() => naming.validatePlatform(L, "platform", "linux/amd65")).toThrow(
      /unknown architecture "amd65"/,
    );
    expect(() => naming.validatePlatform(L, "platform", "lunix/amd64")).toThrow(
      /unknown operating system "lunix"/,
    );
    expect(Object.keys(naming.sortedBuildArgs({ b: "1", a: "2", C: "3" }))).toEqual([
      "C",
      "a",
      "b",
    ]);
    expect(() => naming.validateBuildArgName(L, "buildArgs", "bad-name")).toThrow(
      /invalid argument name/,
    );
  });
});

describe("resolveRegistry", () => {
  const { resolveRegistry } =
    require("../../src/images/registry") as typeof import("../../src/images/registry");
  const L = 'BuiltImage "x"';

  it("uses a SecureRegistry's endpoint and first credential, password secret", async () => {
    const resolved = resolveRegistry(L, "registry", {
      endpoint: pulumi.output("https://reg.example:5443/"),
      credentials: pulumi.output([
        { username: "first", password: "p1" },
        { username: "second", password: "p2" },
      ]),
    });
    expect(await outputOf(resolved.server)).toBe("reg.example:5443");
    expect(await outputOf(resolved.username)).toBe("first");
    expect(await outputOf(resolved.password)).toBe("p1");
    expect(await pulumi.isSecret(resolved.password)).toBe(true);
  });

  it("makes a plain password secret", async () => {
    const resolved = resolveRegistry(L, "registry", {
      server: "r:1",
      username: "u",
      password: "p",
    });
    expect(await pulumi.isSecret(resolved.password)).toBe(true);
  });

  it.each([
    [
      { endpoint: "r:1", credentials: [] },
      "registry.credentials",
      /credentials is empty.*Add a user/,
    ],
    [
      { endpoint: "r:1", credentials: [{ username: "u", password: "p" }], trust: {} },
      "registry.trust",
      /registry.trust is an object; it must be a Pulumi resource/,
    ],
    [
      { endpoint: "r:1", credentials: [{ username: "u", password: "p" }], pullThroughCache: true },
      "registry",
      /pull-through cache \(proxy mode\), which refuses pushes/,
    ],
    [
      { endpoint: "r:1", credentials: [{ username: "u", password: "p" }], pullThroughCache: "no" },
      "registry.pullThroughCache",
      /not a boolean/,
    ],
    [{ server: "r:1/path", username: "u", password: "p" }, "registry.server", /has a path/],
    [{ server: "r:1", username: "u", password: "p", extra: 1 }, "registry.extra", /not an option/],
    [{ server: "r:1" }, "registry.username", /registry.username is missing/],
    [null, "registry", /registry is null/],
    [{ server: "r:1", username: "u", password: 5 }, "registry.password", /not a string/],
  ])("refuses %j naming %s", (registry, field, message) => {
    let caught: unknown;
    try {
      resolveRegistry(L, "registry", registry);
    } catch (error) {
      caught = error;
    }
    expect(caught).toBeInstanceOf(InvalidInputError);
    expect((caught as InvalidInputError).field).toBe(field);
    expect((caught as Error).message).toMatch(message);
  });

  it("never shows a password in a message", () => {
    expect(() =>
      resolveRegistry(L, "registry", { server: "r:1", username: "u", password: "" }),
    ).toThrow(/registry.password is empty/);
    try {
      resolveRegistry(L, "registry", {
        endpoint: "r:1",
        credentials: [{ username: "u", password: ["hunter2-secret"] }],
      });
    } catch (error) {
      expect((error as Error).message).not.toContain("hunter2-secret");
    }
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
    expect(
      engine.checkFlattenInputs({
        source: "",
        imageName: "a@sha256:1",
        push: true,
        keepImage: false,
      }),
    ).toEqual([
      expect.objectContaining({ property: "source" }),
      expect.objectContaining({ property: "imageName" }),
      expect.objectContaining({
        property: "registry",
        reason: expect.stringContaining("push: false"),
      }),
    ]);
    expect(
      engine.checkFlattenInputs({ source: "a", imageName: "b", push: false, keepImage: false }),
    ).toEqual([]);
  });

  it('checkFlattenInputs refuses booleans that are strings: push "false" never pushes', () => {
    const failures = engine.checkFlattenInputs({
      source: "a",
      imageName: "b",
      push: "false",
      keepImage: "true",
      registry: { server: "r:1", username: "u", password: "p" },
    });
    expect(failures.map((failure) => failure.property)).toEqual(["push", "keepImage"]);
    expect(
      engine
        .checkFlattenInputs({
          source: "a",
          imageName: "Upper/Case",
          push: false,
          keepImage: false,
          engine: { host: 5, sshOpts: "-i key" },
        })
        .map((failure) => failure.property),
    ).toEqual(["imageName", "engine.host", "engine.sshOpts"]);
  });
});

describe("exportIntoImport against a fake engine socket", () => {
  /** The import request's body once complete (Content-Length or chunked), else undefined. */
  function completeBody(request: string): string | undefined {
    const headEnd = request.indexOf("\r\n\r\n");
    if (headEnd < 0) return undefined;
    const head = request.slice(0, headEnd).toLowerCase();
    const body = request.slice(headEnd + 4);
    const length = /content-length: *(\d+)/.exec(head);
    if (length) return body.length >= Number(length[1]) ? body : undefined;
    let decoded = "";
    for (let offset = 0; ;) {
      const lineEnd = body.indexOf("\r\n", offset);
      if (lineEnd < 0) return undefined;
      const size = parseInt(body.slice(offset, lineEnd), 16);
      if (size === 0) return decoded;
      if (body.length < lineEnd + 2 + size + 2) return undefined;
      decoded += body.slice(lineEnd + 2, lineEnd + 2 + size);
      offset = lineEnd + 2 + size + 2;
    }
  }

  // A unix-socket server that answers the export with `exportBody` (raw, chunked framing
  // included; a list gives one per export, the last one repeated) and records what the import
  // request carried. A listing of images answers `[]`. `transport: "ssh"` makes the engine
  // look like an ssh one, so the dockerode hand-off is used (over the socket, no ssh).
  async function withFakeEngine(
    exportBody: string | string[],
    importAnswer: string,
    test: (engine: import("../../src/engine/connection").Engine) => Promise<void>,
    transport: "unix" | "ssh" = "unix",
    importsToCut = 0,
  ): Promise<{ importRequest: string; importBody?: string; exports: number; listings: number }> {
    const net = await import("net");
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "fake-engine-"));
    const socketPath = path.join(dir, "docker.sock");
    const bodies = [exportBody].flat();
    const seen = {
      importRequest: "",
      importBody: undefined as string | undefined,
      exports: 0,
      listings: 0,
    };
    const server = net.createServer((socket) => {
      let received = "";
      socket.on("data", (data) => {
        received += data.toString("latin1");
        if (/^GET \/[^ ]*images\/json/.test(received) && received.includes("\r\n\r\n")) {
          seen.listings++;
          socket.end(
            "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 2\r\nConnection: close\r\n\r\n[]",
          );
          return;
        }
        if (received.startsWith("GET ") && received.includes("\r\n\r\n")) {
          const body = bodies[Math.min(seen.exports++, bodies.length - 1)];
          socket.end(
            `HTTP/1.1 200 OK\r\nContent-Type: application/x-tar\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n${body}`,
          );
          received = "";
        }
        if (received.startsWith("POST ") && importsToCut > 0) {
          importsToCut--;
          socket.destroy();
          return;
        }
        if (received.startsWith("POST ")) {
          seen.importRequest = received;
          const body = completeBody(received);
          if (body !== undefined && seen.importBody === undefined) {
            seen.importBody = body;
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
      await test({
        docker: new Docker({ socketPath }),
        resolved:
          transport === "unix"
            ? { address: `unix://${socketPath}`, transport: { kind: "unix", socketPath } }
            : {
                address: "ssh://root@fake.example",
                transport: { kind: "ssh", hostname: "fake.example", user: "root", sshOpts: [] },
              },
      });
      await new Promise((resolve) => setTimeout(resolve, 50));
      return seen;
    } finally {
      await new Promise((resolve) => server.close(resolve));
      fs.rmSync(dir, { recursive: true, force: true });
    }
  }

  it("streams the export's bytes into the import request and returns the imported ID", async () => {
    const query = new URLSearchParams();
    query.append("changes", 'CMD ["sh"]');
    const seen = await withFakeEngine(
      "5\r\nhello\r\n7\r\n, world\r\n0\r\n\r\n",
      '{"status":"sha256:abc"}\n',
      async (fake) => {
        expect(await engine.exportIntoImport(fake, "c1", query, "src")).toBe("sha256:abc");
      },
    );
    expect(seen.importRequest).toMatch(
      /^POST \/images\/create\?fromSrc=-&changes=CMD\+%5B%22sh%22%5D HTTP\/1.1\r\n/,
    );
    expect(seen.importRequest.toLowerCase()).toContain("content-type: application/x-tar");
    expect(seen.importBody).toBe("hello, world");
  });

  it("fails, and cuts the import off, when the export ends early", async () => {
    const seen = await withFakeEngine("5\r\nhel", "", async (fake) => {
      await expect(
        engine.exportIntoImport(fake, "c1", new URLSearchParams(), "src"),
      ).rejects.toThrow(/exporting the container of src ended early.*nothing was imported/);
    });
    // The import never received a complete body, so the engine creates nothing.
    expect(seen.importBody).toBeUndefined();
  });

  it("over ssh (dockerode streams): an export cut mid-stream is a transfer-cut error and the import gets no complete body", async () => {
    const seen = await withFakeEngine(
      "5\r\nhel",
      "",
      async (fake) => {
        const error = await engine
          .exportIntoImport(fake, "c1", new URLSearchParams(), "src")
          .catch((caught: unknown) => caught);
        expect((error as Error).message).toMatch(/exporting the container of src was cut: aborted/);
        expect(engine.isTransferCut(error)).toBe(true);
      },
      "ssh",
    );
    expect(seen.importBody).toBeUndefined();
  });

  it("over ssh: streams the export into the import", async () => {
    const seen = await withFakeEngine(
      "5\r\nhello\r\n0\r\n\r\n",
      '{"status":"sha256:def"}\n',
      async (fake) => {
        expect(await engine.exportIntoImport(fake, "c1", new URLSearchParams(), "src")).toBe(
          "sha256:def",
        );
      },
      "ssh",
    );
    expect(seen.importBody).toBe("hello");
  });

  it("exportWithRetry tries a cut export once more, after removing what the attempt imported", async () => {
    const seen = await withFakeEngine(
      ["5\r\nhel", "5\r\nhello\r\n0\r\n\r\n"],
      '{"status":"sha256:abc"}\n',
      async (fake) => {
        expect(await engine.exportWithRetry(fake, "c1", new URLSearchParams(), "src", "a1")).toBe(
          "sha256:abc",
        );
      },
      "ssh",
    );
    expect(seen).toMatchObject({ exports: 2, listings: 1, importBody: "hello" });
  });

  it("exportWithRetry tries again when the import's connection is cut", async () => {
    const seen = await withFakeEngine(
      "5\r\nhello\r\n0\r\n\r\n",
      '{"status":"sha256:abc"}\n',
      async (fake) => {
        const cut = await engine
          .exportIntoImport(fake, "c1", new URLSearchParams(), "src")
          .catch((caught: unknown) => caught);
        expect((cut as Error).message).toMatch(/importing the export of src was cut: /);
        expect(engine.isTransferCut(cut)).toBe(true);
        expect(await engine.exportWithRetry(fake, "c1", new URLSearchParams(), "src", "a1")).toBe(
          "sha256:abc",
        );
      },
      "ssh",
      2,
    );
    expect(seen).toMatchObject({ exports: 3, listings: 1, importBody: "hello" });
  });

  it("exportWithRetry gives up after EXPORT_TRIES cuts, saying each and what to check", async () => {
    const seen = await withFakeEngine(
      "5\r\nhel",
      "",
      async (fake) => {
        await expect(
          engine.exportWithRetry(fake, "c1", new URLSearchParams(), "src", "a1"),
        ).rejects.toThrow(
          /was cut: aborted; then exporting the container of src was cut: aborted\. Tried 2 times, nothing was imported; check the connection to ssh:\/\/root@fake\.example/,
        );
      },
      "ssh",
    );
    expect(seen.exports).toBe(engine.EXPORT_TRIES);
    expect(seen.importBody).toBeUndefined();
  });

  it("exportWithRetry does not retry an import the engine refused", async () => {
    const seen = await withFakeEngine(
      "0\r\n\r\n",
      '{"error":"bad change"}\n',
      async (fake) => {
        await expect(
          engine.exportWithRetry(fake, "c1", new URLSearchParams(), "src", "a1"),
        ).rejects.toThrow(/importing the export of src failed: bad change/);
      },
      "ssh",
    );
    expect(seen.exports).toBe(1);
  });

  it("reports an import error line", async () => {
    await withFakeEngine("0\r\n\r\n", '{"error":"bad change"}\n', async (fake) => {
      await expect(
        engine.exportIntoImport(fake, "c1", new URLSearchParams(), "src"),
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
    ).toThrow(/lintAsErrors is set[\s\S]*stopsignal-malformed[\s\S]*lintIgnore/);
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
    [{ context: "" }, /context is empty/],
    [{ imageName: "Bad/Name" }, /imageName "Bad\/Name" is not a valid image name/],
    [{ platform: "amd64" }, /platform "amd64" is not os\/arch/],
    [{ lintIgnore: ["no-such-rule"] }, /lintIgnore\[0\] "no-such-rule" is not a lint rule id/],
    [{ registry: { server: "x" } }, /registry.username is missing/],
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

  it("declares the docker provider's engine (key secret), and nothing machine-specific without one", async () => {
    const docker = require("@pulumi/docker") as typeof import("@pulumi/docker");
    const provider = new docker.Provider("tls-engine", {
      host: "tcp://engine.example:2376",
      caMaterial: "CA PEM",
      certMaterial: "CERT PEM",
      keyMaterial: "KEY PEM never plain",
    });
    const remote = new images.FlattenedImage(
      "remote",
      { source: "a:1", imageName: "flat/a" },
      { providers: { docker: provider } },
    );
    await outputOf(remote.imageId);
    const declared = mocks.find(
      "pulumi-nodejs:dynamic/secure-registry:FlattenedImage",
      "remote-flatten",
    );
    expect(unwrapSecrets(declared.inputs)).toMatchObject({
      engine: { host: "tcp://engine.example:2376", caMaterial: "CA PEM", certMaterial: "CERT PEM" },
      engineKey: "KEY PEM never plain",
    });
    expect(JSON.stringify(declared.inputs.engine)).not.toContain("KEY PEM");
    expect(containsSecret(declared.inputs.engineKey)).toBe(true);

    const local = new images.FlattenedImage("plain", { source: "a:1", imageName: "flat/a" });
    await outputOf(local.imageId);
    const inputs = mocks.find(
      "pulumi-nodejs:dynamic/secure-registry:FlattenedImage",
      "plain-flatten",
    ).inputs;
    expect(inputs.engine).toBeUndefined();
    expect(inputs.engineKey).toBeUndefined();
    expect(inputs.owner).toBe(await outputOf(local.urn));
  });

  it("without a provider, follows the default docker provider's stack config (docker:host)", async () => {
    const saved = pulumi.runtime.allConfig();
    pulumi.runtime.setConfig("docker:host", "ssh://ops@configured.example");
    try {
      const flat = new images.FlattenedImage("configured", { source: "a:1", imageName: "flat/a" });
      await outputOf(flat.imageId);
      const inputs = unwrapSecrets(
        mocks.find("pulumi-nodejs:dynamic/secure-registry:FlattenedImage", "configured-flatten")
          .inputs,
      );
      expect(inputs.engine).toEqual({ host: "ssh://ops@configured.example" });
      expect(inputs.engineKey).toBeUndefined();
    } finally {
      pulumi.runtime.setAllConfig(saved);
    }
  });

  it("rejects push without a registry and bad names at construction", () => {
    expect(
      () => new images.FlattenedImage("bad1", { source: "a", imageName: "b", push: true }),
    ).toThrow(/push is true but registry is not set/);
    expect(() => new images.FlattenedImage("bad2", { source: "a", imageName: "B" })).toThrow(
      /imageName "B" is not a valid image name/,
    );
    expect(() => new images.FlattenedImage("bad3", { source: "", imageName: "b" })).toThrow(
      /source "" is not an image reference/,
    );
    expect(mocks.resources.filter((resource) => resource.name.startsWith("bad"))).toEqual([]);
  });
});
