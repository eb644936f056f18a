/**
 * Registry-to-registry flatten: reads an image (or an index of images) from one registry and writes
 * its one-layer copy to another (or the same) registry through the distribution API, with no
 * Docker engine. Per image: the config is read, the layers are streamed newest-first through the
 * merge (merge.ts) into a deterministic gzip uploaded while it is produced (compression.ts,
 * client.ts), then the config and the manifest are written. The tag is written LAST, so a failure
 * midway leaves the tag as it was: what may remain are blobs (and, for an index, per-platform
 * manifests by digest) that no tag references, which registries garbage-collect and which change
 * nothing a client pulls.
 *
 * Serialization: the flatten provider carries this file by value; see provider.ts.
 */
import type { Readable } from "stream";
import type { ClientOptions, RegistryClient, RegistryEndpoint } from "./client";
import type { Descriptor } from "./image";
import type { MergeStats } from "./merge";
import * as client from "./client";
import * as compression from "./compression";
import * as image from "./image";
import * as merge from "./merge";
import * as names from "../../common/names";

/** One side of the flatten: an image reference with how to reach its registry. */
export interface FlattenEndpoint {
  /**
   * `host[:port]/repository[:tag][@sha256:...]`. The source may name a tag or a digest; the
   * destination names a tag (default `latest`).
   */
  readonly reference: string;
  readonly username?: string;
  /** Secret. */
  readonly password?: string;
  /** PEM CA to trust in addition to the system roots. */
  readonly caCertPem?: string;
  /** Talk plain HTTP (loopback test registries). Default false. */
  readonly insecureHttp?: boolean;
}

export interface RegistryFlattenRequest {
  readonly source: FlattenEndpoint;
  readonly destination: FlattenEndpoint;
  /** Keep BuildKit attestation manifests of an index source (copied as they are). Default false. */
  readonly keepAttestations?: boolean;
  /** gzip level 1-9 of the output layer. Default 6 (see DEFAULT_COMPRESSION_LEVEL). */
  readonly compressionLevel?: number;
  readonly client?: ClientOptions;
  /** Called after each source layer is merged (tests use it to fail midway). */
  readonly onLayer?: (platform: string, layer: number) => Promise<void> | void;
}

/** gzip level of the output layer when none is given: zlib's default trade-off. */
export const DEFAULT_COMPRESSION_LEVEL = 6;

export interface FlattenedPlatform {
  /** `os/arch[/variant]`. */
  readonly platform: string;
  /** Digest of the flattened image manifest. */
  readonly digest: string;
  /** Digest of the source image manifest for this platform. */
  readonly sourceDigest: string;
  /** Layers of the source image for this platform. */
  readonly sourceLayerCount: number;
  /** Compressed bytes of the source layers. */
  readonly sourceSize: number;
  /** Compressed bytes of the one layer. */
  readonly size: number;
  /** Bytes of the layer's tar (uncompressed). */
  readonly uncompressedSize: number;
  /** Layers of the flattened image (1). */
  readonly layerCount: number;
  /** `sha256:` of the uncompressed layer (`rootfs.diff_ids[0]`). */
  readonly diffId: string;
  /** Entries (files, directories, links) in the flattened layer. */
  readonly entries: number;
  /** Entries of the source layers dropped (overridden, deleted, hidden by an opaque directory). */
  readonly droppedEntries: number;
}

export interface RegistryFlattenResult {
  /** `host[:port]/repository:tag` written. */
  readonly imageName: string;
  /** Digest the tag points to (an image manifest, or an index for an index source). */
  readonly digest: string;
  /** `host[:port]/repository@sha256:...`. */
  readonly repoDigest: string;
  readonly mediaType: string;
  readonly sourceDigest: string;
  readonly sourceMediaType: string;
  readonly platforms: FlattenedPlatform[];
  /** Attestation manifests copied (keepAttestations) or dropped. */
  readonly attestationsKept: number;
  readonly attestationsDropped: number;
}

/** A reference split for the API: server, repository and tag or digest. */
export interface RegistryReference {
  readonly server: string;
  readonly repository: string;
  readonly tag?: string;
  readonly digest?: string;
}

/**
 * Parses `host[:port]/repository[:tag][@digest]` (the registry host is required); throws a message
 * naming `field`.
 */
export function parseRegistryReference(value: string, field: string): RegistryReference {
  const parsed = names.parseImageReference(value);
  if ("problem" in parsed) throw new Error(`${field} "${value}" ${parsed.problem}.`);
  if (!parsed.host) {
    throw new Error(
      `${field} "${value}" names no registry: start it with host[:port]/, e.g. "registry.example.com:5000/apps/web:1".`,
    );
  }
  return { server: parsed.host, repository: parsed.path, tag: parsed.tag, digest: parsed.digest };
}

function endpointOf(side: FlattenEndpoint, server: string): RegistryEndpoint {
  return {
    server: side.insecureHttp ? `http://${server}` : server,
    username: side.username,
    password: side.password,
    caCertPem: side.caCertPem,
  };
}

interface Side {
  readonly client: RegistryClient;
  readonly server: string;
  readonly repository: string;
}

/** Copies a blob unless the destination has it: a mount within one registry, a stream otherwise. */
async function copyBlob(from: Side, to: Side, digest: string): Promise<void> {
  if (await to.client.hasBlob(to.repository, digest)) return;
  if (
    from.server === to.server &&
    (await to.client.mountBlob(to.repository, digest, from.repository))
  ) {
    return;
  }
  const stream = await from.client.getBlob(from.repository, digest);
  const checked = stream.pipe(compression.verifyingDigest(digest, `blob ${digest}`));
  stream.on("error", (error) => checked.destroy(error));
  const uploaded = await to.client.uploadBlob(to.repository, checked);
  if (uploaded.digest !== digest) throw new Error(`copying ${digest} produced ${uploaded.digest}`);
}

/** Flattens one image manifest into the destination repository; writes blobs, not the manifest. */
async function flattenOne(
  from: Side,
  to: Side,
  source: client.FetchedManifest,
  platform: string,
  request: RegistryFlattenRequest,
): Promise<{
  manifest: { mediaType: string; bytes: Buffer; digest: string };
  facts: FlattenedPlatform;
}> {
  const tar = require("tar-stream") as typeof import("tar-stream");
  const { pipeline } = require("stream") as typeof import("stream");
  const json = source.json as {
    config?: Descriptor;
    layers?: Descriptor[];
    annotations?: Record<string, string>;
  };
  if (!json.config || !Array.isArray(json.layers)) {
    throw new Error(
      `${from.repository}@${source.digest} is not an image manifest (no config or layers).`,
    );
  }
  const layers = json.layers;
  for (const layer of layers) {
    if (/foreign|nondistributable/.test(layer.mediaType)) {
      throw new Error(
        `${from.repository}@${source.digest} has a foreign layer (${layer.mediaType}), which registries do not serve; it cannot be flattened.`,
      );
    }
  }
  const configBytes = await from.client.getBlobBytes(from.repository, json.config.digest);
  const config = JSON.parse(configBytes.toString("utf8")) as Record<string, unknown>;

  // Paced by what is read (every layer, kept or dropped) and what is written.
  const collector = compression.bufferCollector();
  const open = async (index: number): Promise<Readable> => {
    const layer = layers[index];
    const blob = await from.client.getBlob(from.repository, layer.digest);
    return compression.decompressedLayer(
      blob,
      layer.digest,
      `layer ${index + 1}/${layers.length} (${layer.digest})`,
      collector,
    );
  };
  const pack = tar.pack();
  const counter = compression.hashingCounter(collector);
  const gzip = compression.deterministicGzip(request.compressionLevel ?? DEFAULT_COMPRESSION_LEVEL);
  const compressed = pipeline(pack as unknown as Readable, counter, gzip, () => undefined);

  const merging = merge
    .mergeLayers(open, layers.length, pack, (layer) => request.onLayer?.(platform, layer))
    .then((stats) => {
      pack.finalize();
      return stats;
    })
    .catch((error: Error) => {
      pack.destroy(error);
      throw error;
    });
  const uploading = to.client.uploadBlob(to.repository, compressed as unknown as Readable);
  const [merged, uploaded] = await Promise.allSettled([merging, uploading]);
  if (merged.status === "rejected") throw merged.reason;
  if (uploaded.status === "rejected") throw uploaded.reason;
  const stats: MergeStats = merged.value;
  const diffId = counter.digest();

  const newConfig = image.flattenedConfig(config, diffId, source.digest, layers.length);
  const configBlob = await to.client.uploadBytes(to.repository, newConfig);
  const manifest = image.flattenedManifest(
    image.flavourOf(source.mediaType),
    { mediaType: json.config.mediaType, ...configBlob },
    uploaded.value,
    json.annotations,
  );
  const digest = client.sha256Digest(manifest.bytes);
  return {
    manifest: { ...manifest, digest },
    facts: {
      platform,
      digest,
      sourceDigest: source.digest,
      sourceLayerCount: layers.length,
      sourceSize: layers.reduce((sum, layer) => sum + (layer.size ?? 0), 0),
      size: uploaded.value.size,
      uncompressedSize: counter.size(),
      layerCount: 1,
      diffId,
      entries: stats.entries,
      droppedEntries: stats.dropped,
    },
  };
}

function platformOfConfig(json: Record<string, unknown>): string {
  return [json.os, json.architecture, json.variant].filter(Boolean).join("/") || "unknown/unknown";
}

/**
 * Flattens `request.source` into `request.destination` (see the file header). Returns what was
 * written; throws (with no secret in the message) on any failure, leaving the destination tag as
 * it was.
 */
export async function flattenBetweenRegistries(
  request: RegistryFlattenRequest,
): Promise<RegistryFlattenResult> {
  const sourceRef = parseRegistryReference(request.source.reference, "source");
  const destinationRef = parseRegistryReference(request.destination.reference, "destination");
  if (destinationRef.digest) {
    throw new Error(
      `destination "${request.destination.reference}" has a digest: name a tag; the digest is an output.`,
    );
  }
  const tag = destinationRef.tag ?? "latest";
  const sourceClient = client.createRegistryClient(
    endpointOf(request.source, sourceRef.server),
    request.client,
  );
  const destinationClient = client.createRegistryClient(
    endpointOf(request.destination, destinationRef.server),
    request.client,
  );
  const from: Side = {
    client: sourceClient,
    server: sourceRef.server,
    repository: sourceRef.repository,
  };
  const to: Side = {
    client: destinationClient,
    server: destinationRef.server,
    repository: destinationRef.repository,
  };
  try {
    const top = await sourceClient.getManifest(
      sourceRef.repository,
      sourceRef.digest ?? sourceRef.tag ?? "latest",
    );
    const platforms: FlattenedPlatform[] = [];
    let written: { mediaType: string; bytes: Buffer };
    let attestationsKept = 0;
    let attestationsDropped = 0;
    if (image.isIndexType(top.mediaType)) {
      const entries = ((top.json.manifests ?? []) as Descriptor[]).slice();
      const descriptors: Descriptor[] = [];
      for (const entry of entries) {
        if (image.isIndexType(entry.mediaType)) {
          throw new Error(
            `${request.source.reference} has a nested index (${entry.digest}); flatten that index on its own.`,
          );
        }
        if (image.isAttestation(entry)) {
          if (!request.keepAttestations) {
            attestationsDropped += 1;
            continue;
          }
          const attestation = await sourceClient.getManifest(sourceRef.repository, entry.digest);
          const json = attestation.json as { config?: Descriptor; layers?: Descriptor[] };
          for (const blob of [json.config, ...(json.layers ?? [])]) {
            if (blob) await copyBlob(from, to, blob.digest);
          }
          await destinationClient.putManifest(
            to.repository,
            entry.digest,
            attestation.mediaType,
            attestation.bytes,
          );
          descriptors.push(entry);
          attestationsKept += 1;
          continue;
        }
        if (!image.isImageManifestType(entry.mediaType)) {
          throw new Error(
            `${request.source.reference} lists ${entry.digest} of type ${entry.mediaType}, which is neither an image nor an attestation.`,
          );
        }
        const manifest = await sourceClient.getManifest(sourceRef.repository, entry.digest);
        const platform = image.platformText(entry.platform);
        const flat = await flattenOne(from, to, manifest, platform, request);
        await destinationClient.putManifest(
          to.repository,
          flat.manifest.digest,
          flat.manifest.mediaType,
          flat.manifest.bytes,
        );
        platforms.push(flat.facts);
        const descriptor: Descriptor = {
          mediaType: flat.manifest.mediaType,
          digest: flat.manifest.digest,
          size: flat.manifest.bytes.length,
        };
        if (entry.platform) descriptor.platform = entry.platform;
        if (entry.annotations) descriptor.annotations = entry.annotations;
        descriptors.push(descriptor);
      }
      if (platforms.length === 0) {
        throw new Error(
          `${request.source.reference} is an index with no image manifest to flatten.`,
        );
      }
      written = {
        mediaType: top.mediaType,
        bytes: image.flattenedIndex(top.json, top.mediaType, descriptors),
      };
    } else if (image.isImageManifestType(top.mediaType)) {
      const configDescriptor = (top.json as { config?: Descriptor }).config;
      const platform = configDescriptor
        ? platformOfConfig(
            JSON.parse(
              (
                await sourceClient.getBlobBytes(sourceRef.repository, configDescriptor.digest)
              ).toString("utf8"),
            ),
          )
        : "unknown/unknown";
      const flat = await flattenOne(from, to, top, platform, request);
      platforms.push(flat.facts);
      written = flat.manifest;
    } else {
      throw new Error(
        `${request.source.reference} is a ${top.mediaType || "manifest of unknown type"}; only Docker v2 schema 2 and OCI images and indexes can be flattened.`,
      );
    }
    // Last: the tag moves only once everything it points to is in place.
    const digest = await destinationClient.putManifest(
      to.repository,
      tag,
      written.mediaType,
      written.bytes,
    );
    return {
      imageName: `${destinationRef.server}/${destinationRef.repository}:${tag}`,
      digest,
      repoDigest: `${destinationRef.server}/${destinationRef.repository}@${digest}`,
      mediaType: written.mediaType,
      sourceDigest: top.digest,
      sourceMediaType: top.mediaType,
      platforms,
      attestationsKept,
      attestationsDropped,
    };
  } finally {
    await Promise.allSettled([sourceClient.close(), destinationClient.close()]);
  }
}
