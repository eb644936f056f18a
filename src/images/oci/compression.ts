/**
 * Streams between the registry and the merge: source layers checked against their digest and
 * decompressed (gzip with node's zlib, zstd with fzstd since Node 20's zlib has no zstd, plain tar),
 * and the output layer compressed deterministically.
 *
 * Deterministic gzip: node's zlib at a fixed level, no file name, mtime 0, and the header's OS byte
 * fixed to 255 ("unknown", as Go writes it) because zlib stamps the OS it was built for. The deflate
 * bytes themselves are those of the zlib bundled with Node (`process.versions.zlib`); another zlib
 * version (a Node upgrade) may compress differently and so give another digest for the same files.
 *
 * Serialization: carried by value by the flatten provider; modules are required inside functions.
 */
import type { Readable, Transform } from "stream";

/** Gzip header byte 9 (OS) written into every output layer. */
export const GZIP_OS_UNKNOWN = 255;

/** A pass-through that fails at the end unless the bytes hash to `digest` (`sha256:...`). */
export function verifyingDigest(digest: string, what: string): Transform {
  const crypto = require("crypto") as typeof import("crypto");
  const { Transform: NodeTransform } = require("stream") as typeof import("stream");
  const [algorithm, expected] = digest.split(":");
  if (algorithm !== "sha256" && algorithm !== "sha512") {
    throw new Error(`${what}: unsupported digest algorithm in ${digest}`);
  }
  const hash = crypto.createHash(algorithm);
  return new NodeTransform({
    transform(chunk: Buffer, _encoding, callback) {
      hash.update(chunk);
      callback(null, chunk);
    },
    flush(callback) {
      const actual = hash.digest("hex");
      callback(
        actual === expected
          ? null
          : new Error(
              `${what}: content does not match its digest ${digest} (got ${algorithm}:${actual})`,
            ),
      );
    },
  });
}

/** A transform that counts bytes and hashes them (sha256), for diff IDs and output digests. */
export function hashingCounter(): Transform & { digest(): string; size(): number } {
  const crypto = require("crypto") as typeof import("crypto");
  const { Transform: NodeTransform } = require("stream") as typeof import("stream");
  const hash = crypto.createHash("sha256");
  let size = 0;
  let result: string | undefined;
  const stream = new NodeTransform({
    transform(chunk: Buffer, _encoding, callback) {
      hash.update(chunk);
      size += chunk.length;
      callback(null, chunk);
    },
  });
  return Object.assign(stream, {
    digest: () => (result ??= `sha256:${hash.digest("hex")}`),
    size: () => size,
  });
}

/** zstd decompression as a stream (fzstd, pure JavaScript). */
export function zstdDecompressor(): Transform {
  const fzstd = require("fzstd") as typeof import("fzstd");
  const { Transform: NodeTransform } = require("stream") as typeof import("stream");
  const decoder = new fzstd.Decompress();
  const stream: Transform = new NodeTransform({
    transform(chunk: Buffer, _encoding, callback) {
      try {
        decoder.push(chunk);
        callback();
      } catch (error) {
        callback(error as Error);
      }
    },
    flush(callback) {
      try {
        decoder.push(new Uint8Array(0), true);
        callback();
      } catch (error) {
        callback(error as Error);
      }
    },
  });
  decoder.ondata = (chunk: Uint8Array) => {
    stream.push(Buffer.from(chunk)); // a copy: the decoder may reuse its buffers
  };
  return stream;
}

/** Reads at least `count` bytes (fewer at the end) and puts them back: a peek. */
async function peek(stream: Readable, count: number): Promise<Buffer> {
  const { once } = require("events") as typeof import("events");
  const chunks: Buffer[] = [];
  let length = 0;
  let ended = false;
  const onEnd = () => (ended = true);
  stream.once("end", onEnd);
  try {
    while (length < count && !ended && !stream.readableEnded) {
      const chunk = stream.read() as Buffer | null;
      if (chunk) {
        chunks.push(chunk);
        length += chunk.length;
        continue;
      }
      await Promise.race([once(stream, "readable"), once(stream, "end")]);
    }
  } finally {
    stream.removeListener("end", onEnd);
  }
  const head = Buffer.concat(chunks);
  if (head.length > 0) stream.unshift(head);
  return head;
}

/**
 * The uncompressed tar of a layer blob, checked against `digest`. The compression is read from the
 * first bytes (gzip 1f 8b, zstd 28 b5 2f fd, otherwise plain tar), so a mislabelled media type does
 * no harm. Errors (network, digest, corrupt data) surface on the returned stream.
 */
export async function decompressedLayer(
  blob: Readable,
  digest: string,
  what: string,
): Promise<Readable> {
  const zlib = require("zlib") as typeof import("zlib");
  const { pipeline, PassThrough } = require("stream") as typeof import("stream");
  const head = await peek(blob, 4);
  const decoder: Transform =
    head.length >= 2 && head[0] === 0x1f && head[1] === 0x8b
      ? zlib.createGunzip({ chunkSize: 64 * 1024 })
      : head.length >= 4 && head.readUInt32LE(0) === 0xfd2fb528
        ? zstdDecompressor()
        : new PassThrough();
  const out = new PassThrough({ highWaterMark: 64 * 1024 });
  pipeline(blob, verifyingDigest(digest, what), decoder, out, (error) => {
    if (error) out.destroy(new Error(`${what}: ${error.message}`));
  });
  return out;
}

/** Deterministic gzip at `level` (see the file header): write the tar in, read the layer out. */
export function deterministicGzip(level: number): import("stream").Duplex {
  const zlib = require("zlib") as typeof import("zlib");
  const { Duplex, Transform: NodeTransform } = require("stream") as typeof import("stream");
  const gzip = zlib.createGzip({ level, memLevel: 8, windowBits: 15, chunkSize: 64 * 1024 });
  let offset = 0;
  const fixHeader = new NodeTransform({
    transform(chunk: Buffer, _encoding, callback) {
      if (offset <= 9 && offset + chunk.length > 9) chunk[9 - offset] = GZIP_OS_UNKNOWN;
      offset += chunk.length;
      callback(null, chunk);
    },
  });
  gzip.on("error", (error) => fixHeader.destroy(error));
  gzip.pipe(fixHeader);
  return Duplex.from({ writable: gzip, readable: fixHeader });
}
