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

/**
 * A function to call with the bytes streamed so far; every `everyBytes` it asks V8 for a
 * young-generation collection. Why: the flatten's Buffers (socket reads, inflate and deflate
 * output, TLS records) die young, but V8 collects them only once about 64 MB of external memory
 * has piled up (its external-allocation soft limit), which would be most of the process's memory
 * growth. A scavenge costs about a millisecond. The collector comes from a fresh context after
 * `--expose-gc` is set at run time and unset right after (neither the main context nor any
 * context created later gets a `gc` global); where that is not possible the function does
 * nothing and memory is only less tight.
 */
export function youngGenerationCollector(everyBytes = 8 * 1024 * 1024): (bytes: number) => void {
  let collect: ((options?: { type: string }) => void) | undefined;
  try {
    const v8 = require("v8") as typeof import("v8");
    const vm = require("vm") as typeof import("vm");
    v8.setFlagsFromString("--expose-gc");
    try {
      collect = vm.runInNewContext("gc") as (options?: { type: string }) => void;
    } finally {
      // Contexts created later in this process (the host's, a test runner's) get no `gc` either.
      v8.setFlagsFromString("--no-expose-gc");
    }
  } catch {
    collect = undefined;
  }
  let since = 0;
  return (bytes: number) => {
    since += bytes;
    if (since < everyBytes || !collect) return;
    since = 0;
    collect({ type: "minor" });
  };
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
      ? // Large output chunks: fewer thread-pool round trips per layer (each costs a wake-up).
        zlib.createGunzip({ chunkSize: 512 * 1024 })
      : head.length >= 4 && head.readUInt32LE(0) === 0xfd2fb528
        ? zstdDecompressor()
        : new PassThrough();
  const out = new PassThrough({ highWaterMark: 64 * 1024 });
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
  let pending: Buffer[] = [];
  let pendingBytes = 0;
  let dictionary: Buffer | undefined;
  let crc = 0;
  let total = 0;
  let started = false;
  const inflight: Promise<Buffer>[] = [];
  const compress = (block: Buffer, last: boolean) => {
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
    dictionary = block.length >= 32768 ? block.subarray(block.length - 32768) : block;
    const compressed = new Promise<Buffer>((resolve, reject) =>
      zlib.deflateRaw(block, options, (error, out) => (error ? reject(error) : resolve(out))),
    );
    // Awaited in order by emitOldest; this only keeps a failure of a later block from being
    // reported as unhandled when an earlier one already failed the stream.
    compressed.catch(() => undefined);
    inflight.push(compressed);
  };
  const take = (bytes: number): Buffer => {
    const joined = Buffer.concat(pending, pendingBytes);
    const block = joined.subarray(0, bytes);
    const rest = joined.subarray(bytes);
    pending = rest.length > 0 ? [rest] : [];
    pendingBytes = rest.length;
    return block;
  };
  const emitOldest = async (target: Transform) => {
    const out = await (inflight[0] as Promise<Buffer>);
    inflight.shift();
    target.push(out);
  };
  return new NodeTransform({
    transform(chunk: Buffer, _encoding, callback) {
      if (!started) {
        started = true;
        this.push(header);
      }
      pending.push(chunk);
      pendingBytes += chunk.length;
      (async () => {
        while (pendingBytes >= GZIP_BLOCK_BYTES) {
          compress(take(GZIP_BLOCK_BYTES), false);
          while (inflight.length >= parallel) await emitOldest(this);
        }
      })().then(() => callback(), callback);
    },
    flush(callback) {
      if (!started) this.push(header);
      compress(take(pendingBytes), true);
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
