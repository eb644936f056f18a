/**
 * The pure parts of the registry-to-registry flatten on synthetic tars and documents: the merge
 * (overrides, whiteouts, opaque directories, type changes, hard links), header normalisation,
 * compression, config/manifest/index rewrites, auth challenges; then RegistryFlattenedImage under
 * mocks (argument checks, what it declares) and its provider through Pulumi's serializer.
 */
import * as pulumi from "@pulumi/pulumi";
import * as crypto from "crypto";
import fc from "fast-check";
import * as fs from "fs";
import Module from "module";
import * as path from "path";
import { PassThrough, Readable } from "stream";
import * as tar from "tar-stream";
import * as zlib from "zlib";
import { InvalidInputError } from "../../src/common/errors";
import { outputOf, setupMocks, unwrapSecrets } from "../support/mocks";

const mocks = setupMocks();
const merge = require("../../src/images/oci/merge") as typeof import("../../src/images/oci/merge");
const compression =
  require("../../src/images/oci/compression") as typeof import("../../src/images/oci/compression");
const image = require("../../src/images/oci/image") as typeof import("../../src/images/oci/image");
const client =
  require("../../src/images/oci/client") as typeof import("../../src/images/oci/client");
const provider =
  require("../../src/images/oci/provider") as typeof import("../../src/images/oci/provider");
const { RegistryFlattenedImage } = require("../../src/images") as typeof import("../../src/images");
const { SecureRegistry } = require("../../src/registry") as typeof import("../../src/registry");

// Compile-time: a SecureRegistry is a RegistryAccess (no union type, no adapter).
export const secureRegistryIsRegistryAccess = (
  registry: import("../../src/registry").SecureRegistry,
): import("../../src/images").RegistryAccess => registry;

const fixtures = path.join(__dirname, "../fixtures/oci");
const T0 = new Date(1_700_000_000_000);

/** A synthetic layer entry. Content for files; `link` for symlinks and hard links. */
interface Spec {
  name: string;
  type?: "file" | "directory" | "symlink" | "link" | "fifo";
  content?: string;
  link?: string;
  mode?: number;
  uid?: number;
  gid?: number;
  uname?: string;
  mtime?: Date;
  pax?: Record<string, string>;
}

function makeTar(entries: Spec[]): Promise<Buffer> {
  const pack = tar.pack();
  for (const entry of entries) {
    const type = entry.type ?? (entry.content !== undefined ? "file" : "directory");
    const content = type === "file" ? Buffer.from(entry.content ?? "") : undefined;
    pack.entry(
      {
        name: entry.name,
        type,
        // A type bit keeps a mode of 0 (tar-stream would default it to 0644); masked when encoded.
        mode: (entry.mode ?? (type === "directory" ? 0o755 : 0o644)) | 0o100000,
        uid: entry.uid ?? 0,
        gid: entry.gid ?? 0,
        uname: entry.uname ?? "",
        mtime: entry.mtime ?? T0,
        size: content?.length ?? 0,
        linkname: entry.link,
        ...(entry.pax ? { pax: entry.pax } : {}),
      },
      ...((content ? [content] : []) as [Buffer]),
    );
  }
  pack.finalize();
  return collect(pack as unknown as Readable);
}

async function collect(stream: AsyncIterable<Buffer | Uint8Array>): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of stream) chunks.push(Buffer.from(chunk));
  return Buffer.concat(chunks);
}

interface Listed {
  name: string;
  type: string;
  mode: number;
  uid: number;
  gid: number;
  uname: string;
  size: number;
  mtime: number;
  linkname?: string;
  content?: string;
  pax?: Record<string, string>;
}

async function list(bytes: Buffer): Promise<Listed[]> {
  const extract = tar.extract();
  Readable.from([bytes]).pipe(extract as unknown as NodeJS.WritableStream);
  const out: Listed[] = [];
  for await (const entry of extract) {
    const h = entry.header;
    const content = (await collect(entry as unknown as AsyncIterable<Buffer>)).toString();
    out.push({
      name: h.name,
      type: h.type,
      mode: h.mode,
      uid: h.uid,
      gid: h.gid,
      uname: h.uname,
      size: h.size,
      mtime: h.mtime.getTime(),
      ...(h.linkname ? { linkname: h.linkname } : {}),
      ...(h.type === "file" ? { content } : {}),
      ...(h.pax ? { pax: h.pax as Record<string, string> } : {}),
    });
  }
  return out;
}

/** Merges layers (oldest first) and returns the output tar and stats. */
async function mergeTars(
  layers: Buffer[],
): Promise<{ tar: Buffer; stats: object; opened: number[] }> {
  const opened: number[] = [];
  const pack = tar.pack();
  const output = collect(pack as unknown as Readable);
  const stats = await merge.mergeLayers(
    async (index) => {
      opened.push(index);
      return Readable.from([layers[index]]);
    },
    layers.length,
    pack,
  );
  pack.finalize();
  return { tar: await output, stats, opened };
}

const byName = (entries: Listed[]) => Object.fromEntries(entries.map((e) => [e.name, e]));

describe("merge", () => {
  it("applies overrides, whiteouts, opaque directories and type changes; newest layer first", async () => {
    const base = await makeTar([
      { name: "etc/" },
      { name: "etc/keep", content: "base" },
      { name: "etc/changed", content: "old" },
      { name: "gone/" },
      { name: "gone/inner", content: "x" },
      { name: "opq/" },
      { name: "opq/old", content: "hidden" },
      { name: "dir2file/" },
      { name: "dir2file/child", content: "hidden" },
      { name: "file2dir", content: "was a file" },
      { name: "deleted-file", content: "bye" },
    ]);
    const top = await makeTar([
      { name: "etc/changed", content: "new" },
      { name: ".wh.gone", content: "" },
      { name: "opq/" },
      { name: "opq/.wh..wh..opq", content: "" },
      { name: "opq/new", content: "fresh" },
      { name: "dir2file", content: "now a file" },
      { name: "file2dir/", uid: 1000, gid: 1000 },
      { name: "file2dir/child", content: "in a dir" },
      { name: ".wh.deleted-file", content: "" },
    ]);
    const { tar: out, stats } = await mergeTars([base, top]);
    const entries = await list(out);
    expect(entries.map((e) => e.name)).toEqual([
      "etc/changed",
      "opq/",
      "opq/new",
      "dir2file",
      "file2dir/",
      "file2dir/child",
      "etc/",
      "etc/keep",
    ]);
    const named = byName(entries);
    expect(named["etc/changed"].content).toBe("new");
    expect(named["dir2file"]).toMatchObject({ type: "file", content: "now a file" });
    expect(named["file2dir/"]).toMatchObject({ type: "directory", uid: 1000, gid: 1000 });
    expect(stats).toMatchObject({ entries: 8, whiteouts: 3, promotedLinks: 0 });
  });

  it("applies a layer's whiteouts to older layers only", async () => {
    const base = await makeTar([{ name: "a", content: "base" }]);
    // The same layer deletes and re-creates: the new file stays.
    const top = await makeTar([
      { name: ".wh.a", content: "" },
      { name: "a", content: "top" },
    ]);
    const entries = await list((await mergeTars([base, top])).tar);
    expect(entries).toHaveLength(1);
    expect(entries[0].content).toBe("top");
  });

  it("keeps a hard link whose target the same layer writes", async () => {
    const layer = await makeTar([
      { name: "bin/" },
      { name: "bin/a", content: "same", mode: 0o755 },
      { name: "bin/b", type: "link", link: "bin/a" },
    ]);
    const entries = await list((await mergeTars([layer])).tar);
    expect(byName(entries)["bin/b"]).toMatchObject({ type: "link", linkname: "bin/a" });
  });

  it("turns a hard link into a file when a newer layer overwrote or deleted its target", async () => {
    const base = await makeTar([
      { name: "x", content: "old x", mode: 0o600, uid: 7 },
      { name: "y", type: "link", link: "x" },
      { name: "z", type: "link", link: "x" },
      { name: "p", content: "old p" },
      { name: "q", type: "link", link: "p" },
    ]);
    const top = await makeTar([
      { name: "x", content: "new x" },
      { name: ".wh.p", content: "" },
    ]);
    const { tar: out, stats, opened } = await mergeTars([base, top]);
    const named = byName(await list(out));
    expect(named.x.content).toBe("new x");
    // y holds x's old content and metadata; z still shares it, now through y.
    expect(named.y).toMatchObject({ type: "file", content: "old x", mode: 0o600, uid: 7 });
    expect(named.z).toMatchObject({ type: "link", linkname: "y" });
    expect(named.q).toMatchObject({ type: "file", content: "old p" });
    expect(named.p).toBeUndefined();
    expect(stats).toMatchObject({ promotedLinks: 2, rereads: 2 });
    expect(opened).toEqual([1, 0, 0, 0]);
  });

  it("resolves a hard link to an older layer's file", async () => {
    const base = await makeTar([{ name: "t", content: "target" }]);
    const top = await makeTar([{ name: "l", type: "link", link: "t" }]);
    const named = byName(await list((await mergeTars([base, top])).tar));
    expect(named.l).toMatchObject({ type: "file", content: "target" });
    expect(named.t).toMatchObject({ type: "file", content: "target" });
  });

  it("fails on a hard link to nothing and on paths leaving the root", async () => {
    const dangling = await makeTar([{ name: "l", type: "link", link: "missing" }]);
    await expect(mergeTars([dangling])).rejects.toThrow(/hard link "l" points to "missing"/);
    const escaping = await makeTar([{ name: "../etc/passwd", content: "x" }]);
    await expect(mergeTars([escaping])).rejects.toThrow(/".." component/);
  });

  it("an opaque root hides every older entry", async () => {
    const base = await makeTar([{ name: "old", content: "x" }]);
    const top = await makeTar([
      { name: ".wh..wh..opq", content: "" },
      { name: "new", content: "y" },
    ]);
    expect((await list((await mergeTars([base, top])).tar)).map((e) => e.name)).toEqual(["new"]);
  });
});

describe("header normalisation", () => {
  it("keeps modes (even 0), ids, symlink targets, xattrs and whole-second mtimes; drops user names and other PAX records", async () => {
    const layer = await makeTar([
      { name: "./secret", content: "s", mode: 0o000 },
      { name: "/suid", content: "s", mode: 0o4755, uid: 1000, gid: 50, uname: "builder" },
      { name: "big-id", content: "s", pax: { uid: "3000000", gid: "3000001" } },
      {
        name: "cap",
        content: "c",
        pax: {
          "SCHILY.xattr.security.capability": "\u0001",
          atime: "1700000001.5",
          "SCHILY.xattr.user.a": "1",
        },
      },
      { name: "link", type: "symlink", link: "../target" },
      { name: "dir", mode: 0o1777, mtime: new Date(1_700_000_000_999) },
    ]);
    const named = byName(await list((await mergeTars([layer])).tar));
    expect(named.secret).toMatchObject({ mode: 0, content: "s" });
    expect(named.suid).toMatchObject({ mode: 0o4755, uid: 1000, gid: 50, uname: "" });
    expect(named["big-id"].pax).toMatchObject({ uid: "3000000", gid: "3000001" });
    expect(Object.keys(named.cap.pax ?? {}).filter((k) => k !== "path")).toEqual([
      "SCHILY.xattr.security.capability",
      "SCHILY.xattr.user.a",
    ]);
    expect(named.link).toMatchObject({ type: "symlink", linkname: "../target" });
    expect(named["dir/"]).toMatchObject({ mode: 0o1777, mtime: 1_700_000_000_000 });
  });

  it("classifies whiteouts and normalises paths", () => {
    expect(merge.classifyEntry("a/.wh.b")).toEqual({ kind: "delete", path: "a/b" });
    expect(merge.classifyEntry("a/.wh..wh..opq")).toEqual({ kind: "opaque", dir: "a" });
    expect(merge.classifyEntry(".wh..wh.plnk/1")).toEqual({ kind: "entry" });
    expect(merge.classifyEntry(".wh..wh.aufs")).toEqual({ kind: "ignore" });
    expect(merge.normalizePath("./a//b/")).toBe("a/b");
    expect(merge.normalizePath("./")).toBe("");
  });

  it("the same layers give the same bytes", async () => {
    const layer = await makeTar([{ name: "a", content: "x" }, { name: "b/" }]);
    const first = (await mergeTars([layer])).tar;
    const second = (await mergeTars([layer])).tar;
    expect(first.equals(second)).toBe(true);
  });
});

describe("compression", () => {
  it("deterministic gzip: same bytes whatever the parallelism, OS byte fixed, one gzip member", async () => {
    // 2.5 blocks of compressible text with repeats across the block boundaries.
    const input = Buffer.from(
      Array.from({ length: 160_000 }, (_, i) => `line ${i % 5000} of the layer\n`).join(""),
    );
    expect(input.length).toBeGreaterThan(2 * compression.GZIP_BLOCK_BYTES);
    const run = (parallel: number) =>
      collect(Readable.from([input]).pipe(compression.deterministicGzip(6, parallel)));
    const [one, two, four] = await Promise.all([run(1), run(2), run(4)]);
    expect(one.equals(two) && one.equals(four)).toBe(true);
    expect(one.subarray(0, 10)).toEqual(Buffer.from([0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 255]));
    expect(zlib.gunzipSync(one).equals(input)).toBe(true);
    // The dictionary carries matches across blocks: close to one whole-stream deflate.
    expect(one.length).toBeLessThan(zlib.gzipSync(input, { level: 6 }).length * 1.05);
    const empty = await collect(Readable.from([]).pipe(compression.deterministicGzip(6)));
    expect(zlib.gunzipSync(empty).length).toBe(0);
  });

  it("deterministic gzip: the bytes are the pigz scheme's, however the tar arrives in chunks", async () => {
    // The blocks are filled in reused buffers: chunks that span blocks, tiny ones and exact
    // block-sized ones must all give what an independent per-block deflate gives.
    const input = Buffer.from(
      Array.from({ length: 120_000 }, (_, i) => `entry ${i % 7000} in the tar\n`).join(""),
    );
    const size = compression.GZIP_BLOCK_BYTES;
    const parts: Buffer[] = [Buffer.from([0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 255])];
    let dictionary: Buffer | undefined;
    for (let offset = 0; offset < input.length; offset += size) {
      const block = input.subarray(offset, offset + size);
      const last = offset + size >= input.length;
      parts.push(
        zlib.deflateRawSync(block, {
          level: 6,
          memLevel: 8,
          windowBits: 15,
          chunkSize: block.length + 64 * 1024,
          finishFlush: last ? zlib.constants.Z_FINISH : zlib.constants.Z_SYNC_FLUSH,
          ...(dictionary ? { dictionary } : {}),
        }),
      );
      dictionary = block.subarray(block.length - 32768);
    }
    const trailer = Buffer.alloc(8);
    trailer.writeUInt32LE(zlib.crc32(input) >>> 0, 0);
    trailer.writeUInt32LE(input.length, 4);
    const expected = Buffer.concat([...parts, trailer]);

    const chunked = (cuts: number[]) => {
      const points = [...new Set(cuts.map((cut) => cut % input.length))].sort((a, b) => a - b);
      const chunks: Buffer[] = [];
      let from = 0;
      for (const point of [...points, input.length]) {
        if (point > from) chunks.push(input.subarray(from, point));
        from = point;
      }
      return chunks;
    };
    const cuts = fc.oneof(
      fc.integer({ min: 0, max: input.length }),
      fc.constantFrom(size - 1, size, size + 1, 2 * size),
    );
    await fc.assert(
      fc.asyncProperty(
        fc.array(cuts, { maxLength: 40 }),
        fc.integer({ min: 1, max: 4 }),
        async (at, parallel) => {
          const out = await collect(
            Readable.from(chunked(at)).pipe(compression.deterministicGzip(6, parallel)),
          );
          expect(out.equals(expected)).toBe(true);
        },
      ),
      { seed: 20261207, numRuns: 12 },
    );
  });

  it("stores blocks that look incompressible, deflates the rest, and stays readable", async () => {
    const random = crypto.randomBytes(compression.GZIP_BLOCK_BYTES);
    const text = Buffer.from("compressible text, ".repeat(60_000));
    expect(compression.looksIncompressible(random)).toBe(true);
    expect(compression.looksIncompressible(text)).toBe(false);
    expect(compression.looksIncompressible(random.subarray(0, 1000))).toBe(false);
    const input = Buffer.concat([random, text]);
    const out = await collect(Readable.from([input]).pipe(compression.deterministicGzip(6)));
    expect(zlib.gunzipSync(out).equals(input)).toBe(true);
    // The random block is stored (a few bytes of framing per 64 KiB), the text block deflated.
    expect(out.length).toBeGreaterThan(random.length);
    expect(out.length).toBeLessThan(random.length + 64 * 1024);
  });

  it("the buffer collector scavenges every 2 MiB and collects fully every 128 MiB streamed", () => {
    const calls: boolean[] = [];
    const onBytes = compression.bufferCollector({}, (full) => calls.push(full));
    for (let i = 0; i < 256; i++) onBytes(1024 * 1024);
    // 63 scavenges (2, 4, ... 126 MiB), a full collection at 128 MiB; the same again to 256.
    const half = [...Array<boolean>(63).fill(false), true];
    expect(calls).toEqual([...half, ...half]);
  });

  it("the buffer collector's default collect really collects, and leaves no gc behind", async () => {
    const onBytes = compression.bufferCollector({ minorEveryBytes: 1024, majorEveryBytes: 4096 });
    const garbage = new WeakRef({ block: Buffer.alloc(1024 * 1024) });
    // A WeakRef's target lives until the job that made it ends.
    await new Promise((resolve) => setImmediate(resolve));
    for (let i = 0; i < 4; i++) onBytes(1024); // the fourth is the full collection
    expect(garbage.deref()).toBeUndefined();
    expect((globalThis as { gc?: unknown }).gc).toBeUndefined();
    // Nor does a context created afterwards (e.g. the next test file's, in this worker).
    expect(require("vm").runInNewContext("typeof gc")).toBe("undefined");
  });

  it("decompresses gzip, zstd and plain tar layers by their magic bytes and checks their digest", async () => {
    const plain = fs.readFileSync(path.join(fixtures, "layer.tar"));
    const zstd = fs.readFileSync(path.join(fixtures, "layer.tar.zst"));
    const gzip = zlib.gzipSync(plain);
    for (const blob of [plain, zstd, gzip]) {
      const out = await compression.decompressedLayer(
        Readable.from([blob]),
        client.sha256Digest(blob),
        "layer",
      );
      expect((await collect(out)).equals(plain)).toBe(true);
    }
    const wrong = await compression.decompressedLayer(
      Readable.from([gzip]),
      client.sha256Digest(plain),
      "layer 1/1",
    );
    await expect(collect(wrong)).rejects.toThrow(/layer 1\/1: content does not match its digest/);
  });

  it("counts and hashes what passes", async () => {
    const counter = compression.hashingCounter();
    const through = new PassThrough();
    Readable.from([Buffer.from("abc")])
      .pipe(counter)
      .pipe(through);
    await collect(through);
    expect(counter.size()).toBe(3);
    expect(counter.digest()).toBe(client.sha256Digest("abc"));
  });
});

describe("config, manifest and index rewrites", () => {
  const source = {
    created: "2024-01-02T03:04:05Z",
    architecture: "amd64",
    os: "linux",
    config: {
      User: "app",
      Env: ["A=1"],
      Cmd: ["run"],
      Entrypoint: ["/bin/tini"],
      WorkingDir: "/srv",
      ExposedPorts: { "80/tcp": {} },
      Volumes: { "/data": {} },
      Labels: { a: "b" },
      StopSignal: "SIGINT",
      Healthcheck: { Test: ["CMD", "true"], Interval: 1e9 },
      OnBuild: ["RUN x"],
      Shell: ["/bin/bash", "-c"],
      ArgsEscaped: true,
    },
    rootfs: { type: "layers", diff_ids: ["sha256:a", "sha256:b"] },
    history: [{ created_by: "one" }, { created_by: "two", empty_layer: true }],
    "moby.buildkit.buildinfo.v1": "kept",
  };

  it("keeps every config field and the creation time, replaces rootfs and history", () => {
    const out = JSON.parse(image.flattenedConfig(source, "sha256:new", "sha256:src", 2).toString());
    expect(out.config).toEqual(source.config);
    expect(out.created).toBe(source.created);
    expect(out["moby.buildkit.buildinfo.v1"]).toBe("kept");
    expect(out.rootfs).toEqual({ type: "layers", diff_ids: ["sha256:new"] });
    expect(out.history).toEqual([
      {
        created: source.created,
        created_by: "pulumi-secure-registry flatten",
        comment: "flattened from sha256:src (2 layers)",
      },
    ]);
    expect(Object.keys(out)).toEqual(Object.keys(source));
  });

  it("writes manifests in the source's flavour; OCI keeps annotations but the base ones", () => {
    const docker = JSON.parse(
      image
        .flattenedManifest(
          "docker",
          { mediaType: client.MEDIA_TYPES.dockerConfig, digest: "sha256:c", size: 1 },
          { digest: "sha256:l", size: 2 },
        )
        .bytes.toString(),
    );
    expect(docker.mediaType).toBe(client.MEDIA_TYPES.dockerManifest);
    expect(docker.layers[0].mediaType).toBe(client.MEDIA_TYPES.dockerLayerGzip);
    const oci = image.flattenedManifest(
      image.flavourOf(client.MEDIA_TYPES.ociManifest),
      { mediaType: client.MEDIA_TYPES.ociConfig, digest: "sha256:c", size: 1 },
      { digest: "sha256:l", size: 2 },
      { "org.opencontainers.image.base.digest": "sha256:x", "org.example": "y" },
    );
    const parsed = JSON.parse(oci.bytes.toString());
    expect(oci.mediaType).toBe(client.MEDIA_TYPES.ociManifest);
    expect(parsed.layers[0].mediaType).toBe(client.MEDIA_TYPES.ociLayerGzip);
    expect(parsed.annotations).toEqual({ "org.example": "y" });
  });

  it("recognises attestation manifests and platforms", () => {
    expect(
      image.isAttestation({
        mediaType: client.MEDIA_TYPES.ociManifest,
        digest: "sha256:a",
        size: 1,
        annotations: { "vnd.docker.reference.type": "attestation-manifest" },
      }),
    ).toBe(true);
    expect(image.platformText({ os: "linux", architecture: "arm64", variant: "v8" })).toBe(
      "linux/arm64/v8",
    );
    expect(image.platformText(undefined)).toBe("unknown/unknown");
  });
});

describe("registry client", () => {
  it("parses WWW-Authenticate challenges", () => {
    expect(
      client.parseChallenge(
        'Bearer realm="https://auth.example/token",service="registry.example",scope="repository:a/b:pull,push"',
      ),
    ).toEqual({
      scheme: "bearer",
      params: {
        realm: "https://auth.example/token",
        service: "registry.example",
        scope: "repository:a/b:pull,push",
      },
    });
    expect(client.parseChallenge('Basic realm="Registry Realm"')).toEqual({
      scheme: "basic",
      params: { realm: "Registry Realm" },
    });
    expect(client.parseChallenge(undefined)).toBeUndefined();
  });
});

describe("RegistryFlattenedImage", () => {
  const registry = {
    server: "reg.example:5000",
    username: "ci",
    password: pulumi.secret("s3cret-password"),
    caCertPem: "-----BEGIN CERTIFICATE-----\nx\n-----END CERTIFICATE-----\n",
  };

  it.each([
    [{ imageName: "a:1", registry }, "source", /source is required/],
    [{ source: "reg.example:5000/a:1", registry }, "imageName", /imageName is required/],
    [{ source: "reg.example:5000/a:1", imageName: "a:1" }, "registry", /registry is required/],
    [
      { source: "reg.example:5000/a:1", imageName: "a@sha256:" + "0".repeat(64), registry },
      "imageName",
      /has a digest/,
    ],
    [
      { source: "a:1", imageName: "b:1", registry },
      "source",
      /names no registry: start it with host\[:port\]\/ or give sourceRegistry/,
    ],
    [
      { source: "reg.example:5000/a:1", imageName: "other.example/b:1", registry },
      "imageName",
      /names registry "other.example", but the registry given is "reg.example:5000"/,
    ],
    [
      { source: "reg.example:5000/a:1", imageName: "b", registry, compressionLevel: 10 },
      "compressionLevel",
      /not a whole number from 1 to 9/,
    ],
    [
      { source: "reg.example:5000/a:1", imageName: "b", registry: { server: "r:1", usrname: "x" } },
      "registry.usrname",
      /did you mean registry.username/,
    ],
    [
      {
        source: "reg.example:5000/a:1",
        imageName: "b",
        registry: { username: "x", password: "y" },
      },
      "registry.server",
      /names no registry/,
    ],
    [
      {
        source: "reg.example:5000/a:1",
        imageName: "b",
        registry: { server: "r:1", username: "x" },
      },
      "registry.password",
      /without registry.password/,
    ],
  ])("refuses bad args before any resource: %j", (args, field, message) => {
    const before = mocks.resources.length;
    let error: unknown;
    try {
      new RegistryFlattenedImage("bad", args as never);
    } catch (caught) {
      error = caught;
    }
    expect(error).toBeInstanceOf(InvalidInputError);
    expect((error as InvalidInputError).field).toBe(field);
    expect((error as Error).message).toMatch(message);
    expect((error as Error).message).not.toContain("s3cret-password");
    expect(mocks.resources.length).toBe(before);
  });

  it("declares one dynamic resource with qualified names and secret logins; a SecureRegistry-shaped source works", async () => {
    const secureLike = {
      endpoint: pulumi.output("10.0.0.5:5443"),
      credentials: pulumi.output([{ username: "pusher", password: "pw-from-registry" }]),
      caCertPem: pulumi.output("-----BEGIN CERTIFICATE-----\nca\n-----END CERTIFICATE-----\n"),
    };
    const flat = new RegistryFlattenedImage("flat", {
      source: "apps/web:1",
      sourceRegistry: secureLike,
      imageName: "apps/web-flat:1",
      registry,
    });
    await outputOf(flat.repoDigest);
    const declared = mocks.find(
      "pulumi-nodejs:dynamic/secure-registry:RegistryFlattenedImage",
      "flat-flatten",
    );
    const inputs = unwrapSecrets(declared.inputs) as Record<string, unknown>;
    expect(inputs).toMatchObject({
      source: "10.0.0.5:5443/apps/web:1",
      imageName: "reg.example:5000/apps/web-flat:1",
      keepAttestations: false,
      compressionLevel: 6,
      sourceRegistry: {
        username: "pusher",
        password: "pw-from-registry",
        caCertPem: expect.stringContaining("ca"),
      },
      registry: { username: "ci", password: "s3cret-password" },
    });
    expect(JSON.stringify(declared.inputs.registry)).toContain("4dabf18193072939515e22adb298388d");
    expect(JSON.stringify(declared.inputs.sourceRegistry)).toContain(
      "4dabf18193072939515e22adb298388d",
    );
  });
});

describe("RegistryFlattenedImage with a SecureRegistry on both sides", () => {
  it("uses the registry's endpoint, first credential and CA, and waits for it", async () => {
    const registry = new SecureRegistry("regflat", {
      hostname: "registry.test",
      port: 5443,
      users: [{ username: "ci" }, { username: "dev" }],
      tls: { keyAlgorithm: "ECDSA" },
    });
    const flat = new RegistryFlattenedImage("viaregistry", {
      source: "apps/web:1",
      sourceRegistry: registry,
      imageName: "apps/web-flat:1",
      registry,
    });
    await outputOf(flat.digest);
    const [credentials, ca] = await Promise.all([
      outputOf(registry.credentials),
      outputOf(registry.caCertPem),
    ]);
    const declared = mocks.find(
      "pulumi-nodejs:dynamic/secure-registry:RegistryFlattenedImage",
      "viaregistry-flatten",
    );
    const inputs = unwrapSecrets(declared.inputs) as Record<string, unknown>;
    const login = { username: "ci", password: credentials[0].password, caCertPem: ca };
    expect(inputs).toMatchObject({
      source: "registry.test:5443/apps/web:1",
      imageName: "registry.test:5443/apps/web-flat:1",
      sourceRegistry: login,
      registry: login,
    });
  });
});

describe("registry flatten provider", () => {
  it("diff: a new destination replaces; a new source digest updates; an unknown one is no change", () => {
    const olds = {
      source: "r/a:1",
      imageName: "r/b:1",
      keepAttestations: false,
      compressionLevel: 6,
      sourceDigest: "sha256:1",
    } as never;
    const base = {
      source: "r/a:1",
      imageName: "r/b:1",
      keepAttestations: false,
      compressionLevel: 6,
    };
    expect(provider.registryFlattenDiff(olds, { ...base, sourceDigest: "sha256:1" })).toEqual({
      changes: false,
      replaces: [],
      deleteBeforeReplace: false,
    });
    expect(provider.registryFlattenDiff(olds, base).changes).toBe(false);
    expect(provider.registryFlattenDiff(olds, { ...base, sourceDigest: "sha256:2" })).toMatchObject(
      {
        changes: true,
        replaces: [],
      },
    );
    expect(provider.registryFlattenDiff(olds, { ...base, imageName: "r/c:1" })).toMatchObject({
      changes: true,
      replaces: ["imageName"],
    });
  });

  it("survives Pulumi's serialization: no machine path, npm modules by name, checks work", async () => {
    const serialized = await pulumi.runtime.serializeFunction(
      () => provider.registryFlattenProvider,
      { allowSecrets: false },
    );
    const text = serialized.text;
    expect(text).not.toContain(process.cwd());
    expect(text).toContain('require("https")');
    // The registry flatten never loads undici: its WebAssembly parser costs memory (transport.ts).
    expect(text).not.toContain('require("undici")');
    expect(text).toContain('require("tar-stream")');
    const filename = path.join(process.cwd(), "__serialized_provider__.js");
    const fresh = new Module(filename) as Module & {
      _compile(code: string, name: string): void;
      paths: string[];
    };
    fresh.filename = filename;
    fresh.paths = (
      Module as unknown as { _nodeModulePaths(dir: string): string[] }
    )._nodeModulePaths(process.cwd());
    fresh._compile(text, filename);
    const loaded = (
      fresh.exports as { handler: () => typeof provider.registryFlattenProvider }
    ).handler();
    expect(Object.keys(loaded).sort()).toEqual(
      ["check", "create", "delete", "diff", "read", "update"].sort(),
    );
    const result = await loaded.check({} as never, {
      source: "no-host/a:1",
      imageName: "reg.example:5000/b:1",
      keepAttestations: false,
      compressionLevel: 6,
    });
    expect(result.failures?.[0]).toMatchObject({ property: "source" });
    // A digest source resolves without the network.
    const digest = "sha256:" + "a".repeat(64);
    const ok = await loaded.check({} as never, {
      source: `reg.example:5000/a@${digest}`,
      imageName: "reg.example:5000/b:1",
      keepAttestations: false,
      compressionLevel: 6,
    });
    expect(ok.inputs).toMatchObject({ sourceDigest: digest });
  });
});
