/**
 * Streams between the registry and the merge: source layers checked against their digest and
 * decompressed (gzip with node's zlib, zstd with fzstd since Node 20's zlib has no zstd, plain tar),
 * and the output layer compressed deterministically.
 *
 * Deterministic gzip (`deterministicGzip`): fixed blocks compressed in parallel, each with node's
 * zlib at a fixed level; a gzip header with no file name, mtime 0 and the OS byte fixed to 255
 * ("unknown", as Go writes it; zlib would stamp the OS it was built for). The deflate bytes are
 * those of the zlib bundled with Node (Chromium's fork, `process.versions.zlib`): it hashes with
 * CRC32C instructions where the CPU has them (SSE4.2 on x86-64, the CRC extension on arm64, i.e.
 * virtually every machine) and with zlib's classic hash elsewhere, so another Node (zlib) version
 * or a CPU without those instructions may compress differently and give another digest.
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

/** How often `bufferCollector` collects, in bytes streamed (read plus written). */
export interface CollectorPace {
  /** A young-generation collection (a scavenge, under a millisecond) every so many bytes. Default 2 MiB. */
  readonly minorEveryBytes?: number;
  /** A full collection (a few milliseconds on the flatten's small heap) every so many bytes. Default 128 MiB. */
  readonly majorEveryBytes?: number;
}

/**
 * A function to call with the bytes streamed; it asks V8 for collections at the given pace. Why:
 * the flatten's Buffers (socket reads, inflate and deflate output) are garbage within
 * milliseconds, but their memory, outside V8's heap, is freed only when V8 collects, which on its
 * own it does rarely for a heap this small. Buffers still in flight at two scavenges are promoted,
 * and only a full collection frees those; V8 starts one by itself once ~64 MB of such memory has
 * piled up. Measured on the bench image (docs/flatten.md): RSS grew ~70 MB with no pacing and
 * ~45 MB with the defaults, for 10-15% more time.
 *
 * `collect(full)` defaults to V8's own `gc`, taken from a fresh context after `--expose-gc` is
 * set at run time and unset right after (neither the main context nor any context created later
 * gets a `gc` global); where that is not possible the function does nothing and memory is only
 * less tight. (`gc({ type: "major" })` is a scavenge on Node 20's V8: a full collection is `gc()`.)
 */
export function bufferCollector(
  pace: CollectorPace = {},
  collect: ((full: boolean) => void) | undefined = v8Collector(),
): (bytes: number) => void {
  const minorEvery = pace.minorEveryBytes ?? 2 * 1024 * 1024;
  const majorEvery = pace.majorEveryBytes ?? 128 * 1024 * 1024;
  let sinceMinor = 0;
  let sinceMajor = 0;
  return (bytes: number) => {
    if (!collect) return;
    sinceMinor += bytes;
    sinceMajor += bytes;
    if (sinceMajor >= majorEvery) {
      sinceMajor = 0;
      sinceMinor = 0;
      collect(true);
    } else if (sinceMinor >= minorEvery) {
      sinceMinor = 0;
      collect(false);
    }
  };
}

/** V8's `gc` as `collect(full)` (see bufferCollector), or undefined where it cannot be had. */
function v8Collector(): ((full: boolean) => void) | undefined {
  try {
    const v8 = require("v8") as typeof import("v8");
    const vm = require("vm") as typeof import("vm");
    v8.setFlagsFromString("--expose-gc");
    let gc: (options?: { type: string }) => void;
    try {
      gc = vm.runInNewContext("gc") as typeof gc;
    } finally {
      // Contexts created later in this process (the host's, a test runner's) get no `gc` either.
      v8.setFlagsFromString("--no-expose-gc");
    }
    if (typeof gc !== "function") return undefined;
    return (full) => (full ? gc() : gc({ type: "minor" }));
  } catch {
    return undefined;
  }
}

/** A transform that counts bytes and hashes them (sha256), for diff IDs and output digests. */
export function hashingCounter(
  onBytes?: (bytes: number) => void,
): Transform & { digest(): string; size(): number } {
  const crypto = require("crypto") as typeof import("crypto");
  const { Transform: NodeTransform } = require("stream") as typeof import("stream");
  const hash = crypto.createHash("sha256");
  let size = 0;
  let result: string | undefined;
  const stream = new NodeTransform({
    transform(chunk: Buffer, _encoding, callback) {
      hash.update(chunk);
      size += chunk.length;
      onBytes?.(chunk.length);
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
 * no harm. Errors (network, digest, corrupt data) surface on the returned stream. `onBytes` is told
 * the uncompressed bytes as they come out (the flatten paces its bufferCollector by them).
 */
export async function decompressedLayer(
  blob: Readable,
  digest: string,
  what: string,
  onBytes?: (bytes: number) => void,
): Promise<Readable> {
  const zlib = require("zlib") as typeof import("zlib");
  const {
    pipeline,
    PassThrough,
    Transform: NodeTransform,
  } = require("stream") as typeof import("stream");
  const head = await peek(blob, 4);
  const decoder: Transform =
    head.length >= 2 && head[0] === 0x1f && head[1] === 0x8b
      ? // Large output chunks: fewer thread-pool round trips per layer (each costs a wake-up).
        zlib.createGunzip({ chunkSize: 512 * 1024 })
      : head.length >= 4 && head.readUInt32LE(0) === 0xfd2fb528
        ? zstdDecompressor()
        : new PassThrough();
  const out = new NodeTransform({
    highWaterMark: 64 * 1024,
    transform(chunk: Buffer, _encoding, callback) {
      onBytes?.(chunk.length);
      callback(null, chunk);
    },
  });
  pipeline(blob, verifyingDigest(digest, what), decoder, out, (error) => {
    if (error) out.destroy(new Error(`${what}: ${error.message}`));
  });
  return out;
}

/** Blocks compressed at once: the cores there are, 1 to 4 (the output does not depend on it). */
export function defaultParallelism(): number {
  const os = require("os") as typeof import("os");
  return Math.min(4, Math.max(1, os.availableParallelism?.() ?? os.cpus().length));
}

/**
 * Whether a block looks like data deflate cannot shrink (already compressed or encrypted content:
 * archives, media, model weights, random bytes): the Shannon entropy of its bytes, sampled in 16
 * evenly spaced 4 KiB windows, above 7.97 bits per byte. Such blocks are stored (level 0), at copy
 * speed instead of deflate's, and come out a few bytes larger than deflate would make them. A
 * function of the bytes alone, so the output stays deterministic.
 */
export function looksIncompressible(block: Buffer): boolean {
  const window = 4096;
  const windows = 16;
  if (block.length < window * windows) return false;
  const counts = new Uint32Array(256);
  const step = Math.floor((block.length - window) / (windows - 1));
  for (let w = 0; w < windows; w++) {
    const start = w * step;
    for (let i = start; i < start + window; i++) counts[block[i]] += 1;
  }
  const total = window * windows;
  let entropy = 0;
  for (const count of counts) {
    if (count > 0) {
      const p = count / total;
      entropy -= p * Math.log2(p);
    }
  }
  return entropy > 7.97;
}

/** Bytes of uncompressed input per independently compressed gzip block. */
export const GZIP_BLOCK_BYTES = 1024 * 1024;

/**
 * Deterministic gzip at `level`, compressed on `parallel` zlib threads (see the file header): write
 * the tar in, read the layer out. Like pigz, the input is cut into fixed blocks of
 * GZIP_BLOCK_BYTES; each block is raw-deflated with the previous block's last 32 KiB as its
 * dictionary and ends on a sync flush (the last one finishes the stream), so the blocks join into
 * one gzip member. Blocks that look incompressible are stored (`looksIncompressible`). The bytes
 * depend on the block size, the level, the data and zlib, never on `parallel` or timing. Memory:
 * about `parallel` blocks in and out.
 */
export function deterministicGzip(level: number, parallel = defaultParallelism()): Transform {
  const zlib = require("zlib") as typeof import("zlib");
  const { Transform: NodeTransform } = require("stream") as typeof import("stream");
  const crc32 = (zlib as unknown as { crc32?: (data: Buffer, value?: number) => number }).crc32;
  if (typeof crc32 !== "function") {
    throw new Error("deterministic gzip needs zlib.crc32 (Node 20.15 or later): upgrade Node");
  }
  const header = Buffer.from([0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, GZIP_OS_UNKNOWN]);
  // Blocks are filled in buffers of GZIP_BLOCK_BYTES that are reused once their deflate is done
  // (at most `parallel` in flight plus the one filling): no per-block allocation of the input.
  const spare: Buffer[] = [];
  let filling: Buffer | undefined;
  let filled = 0;
  let dictionary: Buffer | undefined;
  let crc = 0;
  let total = 0;
  let started = false;
  const inflight: Promise<Buffer[]>[] = [];
  const compress = (buffer: Buffer, length: number, last: boolean) => {
    const block = buffer.subarray(0, length);
    crc = crc32(block, crc);
    total += block.length;
    const options: import("zlib").ZlibOptions = {
      level: looksIncompressible(block) ? 0 : level,
      // Room for the whole (even stored) block: one thread-pool round trip per block.
      chunkSize: Math.max(64 * 1024, block.length + 64 * 1024),
      memLevel: 8,
      windowBits: 15,
      finishFlush: last ? zlib.constants.Z_FINISH : zlib.constants.Z_SYNC_FLUSH,
      ...(dictionary ? { dictionary } : {}),
    };
    // The next block's dictionary: a copy, since this buffer is refilled once its deflate is done.
    dictionary = Buffer.from(block.length >= 32768 ? block.subarray(block.length - 32768) : block);
    const compressed = new Promise<Buffer[]>((resolve, reject) => {
      const deflate = zlib.createDeflateRaw(options);
      const out: Buffer[] = [];
      deflate.on("data", (piece: Buffer) => out.push(piece));
      deflate.on("error", reject);
      deflate.on("end", () => {
        spare.push(buffer);
        resolve(out);
      });
      deflate.end(block);
    });
    // Awaited in order by emitOldest; this only keeps a failure of a later block from being
    // reported as unhandled when an earlier one already failed the stream.
    compressed.catch(() => undefined);
    inflight.push(compressed);
  };
  const emitOldest = async (target: Transform) => {
    const out = await (inflight[0] as Promise<Buffer[]>);
    inflight.shift();
    for (const piece of out) target.push(piece);
  };
  return new NodeTransform({
    transform(chunk: Buffer, _encoding, callback) {
      if (!started) {
        started = true;
        this.push(header);
      }
      (async () => {
        for (let offset = 0; offset < chunk.length;) {
          filling ??= spare.pop() ?? Buffer.allocUnsafeSlow(GZIP_BLOCK_BYTES);
          const copied = chunk.copy(filling, filled, offset);
          offset += copied;
          filled += copied;
          if (filled < GZIP_BLOCK_BYTES) continue;
          compress(filling, filled, false);
          filling = undefined;
          filled = 0;
          while (inflight.length >= parallel) await emitOldest(this);
        }
      })().then(() => callback(), callback);
    },
    flush(callback) {
      if (!started) this.push(header);
      compress(filling ?? Buffer.alloc(0), filled, true);
      (async () => {
        while (inflight.length > 0) await emitOldest(this);
        const trailer = Buffer.alloc(8);
        trailer.writeUInt32LE(crc >>> 0, 0);
        trailer.writeUInt32LE(total % 0x100000000, 4);
        this.push(trailer);
      })().then(() => callback(), callback);
    },
  });
}
