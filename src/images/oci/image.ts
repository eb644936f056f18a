/**
 * Pure rewrites of image documents for the flatten: the config (every field kept, `rootfs` and
 * `history` replaced), the one-layer manifest and the index, in the source's flavour (Docker v2
 * schema 2 or OCI). Same input, same bytes: JSON keeps the source's key order and is written
 * without indentation.
 *
 * Serialization: carried by value by the flatten provider; no imports but types.
 */
import { MEDIA_TYPES } from "./client";

export type Flavour = "docker" | "oci";

/** A content descriptor as manifests and indexes carry it. */
export interface Descriptor {
  mediaType: string;
  digest: string;
  size: number;
  platform?: { os: string; architecture: string; variant?: string; [key: string]: unknown };
  annotations?: Record<string, string>;
  [key: string]: unknown;
}

export function isIndexType(mediaType: string): boolean {
  return mediaType === MEDIA_TYPES.ociIndex || mediaType === MEDIA_TYPES.dockerIndex;
}

export function isImageManifestType(mediaType: string): boolean {
  return mediaType === MEDIA_TYPES.ociManifest || mediaType === MEDIA_TYPES.dockerManifest;
}

export function flavourOf(mediaType: string): Flavour {
  return mediaType.startsWith("application/vnd.docker.") ? "docker" : "oci";
}

/** `os/arch[/variant]` of a descriptor's platform ("unknown/unknown" when absent). */
export function platformText(platform: Descriptor["platform"] | undefined): string {
  if (!platform) return "unknown/unknown";
  return [platform.os, platform.architecture, platform.variant].filter(Boolean).join("/");
}

/**
 * An attestation manifest in an index (BuildKit's provenance / SBOM): annotated
 * `vnd.docker.reference.type: attestation-manifest`, platform unknown/unknown.
 */
export function isAttestation(descriptor: Descriptor): boolean {
  return descriptor.annotations?.["vnd.docker.reference.type"] === "attestation-manifest";
}

/** The text of the single history entry: where the image came from, nothing run-dependent. */
export function flattenComment(sourceDigest: string, layerCount: number): string {
  return `flattened from ${sourceDigest} (${layerCount} layer${layerCount === 1 ? "" : "s"})`;
}

/**
 * The flattened image's config: every field of `source` kept in its order (created, author,
 * architecture, os, variant, config with Env, Cmd, Entrypoint, WorkingDir, User, ExposedPorts,
 * Volumes, Labels, StopSignal, Healthcheck, OnBuild, Shell, ArgsEscaped, and any other field),
 * `rootfs.diff_ids` replaced by the one layer's, `history` collapsed to one entry dated like the
 * source saying what it was flattened from.
 */
export function flattenedConfig(
  source: Record<string, unknown>,
  diffId: string,
  sourceDigest: string,
  sourceLayerCount: number,
): Buffer {
  const out: Record<string, unknown> = {};
  const history = [
    {
      ...(typeof source.created === "string" ? { created: source.created } : {}),
      created_by: "pulumi-secure-registry flatten",
      comment: flattenComment(sourceDigest, sourceLayerCount),
    },
  ];
  for (const [key, value] of Object.entries(source)) {
    if (key === "rootfs") out.rootfs = { type: "layers", diff_ids: [diffId] };
    else if (key === "history") out.history = history;
    else out[key] = value;
  }
  if (!("rootfs" in out)) out.rootfs = { type: "layers", diff_ids: [diffId] };
  if (!("history" in out)) out.history = history;
  return Buffer.from(JSON.stringify(out), "utf8");
}

/** Annotations that describe the source's base image, which a flattened image no longer has. */
const DROPPED_ANNOTATIONS = [
  "org.opencontainers.image.base.digest",
  "org.opencontainers.image.base.name",
];

/** The one-layer image manifest, in `flavour`; OCI manifests keep the source's annotations but the base ones. */
export function flattenedManifest(
  flavour: Flavour,
  config: { mediaType: string; digest: string; size: number },
  layer: { digest: string; size: number },
  sourceAnnotations?: Record<string, string>,
): { mediaType: string; bytes: Buffer } {
  const mediaType = flavour === "docker" ? MEDIA_TYPES.dockerManifest : MEDIA_TYPES.ociManifest;
  const manifest: Record<string, unknown> = {
    schemaVersion: 2,
    mediaType,
    config: { mediaType: config.mediaType, digest: config.digest, size: config.size },
    layers: [
      {
        mediaType: flavour === "docker" ? MEDIA_TYPES.dockerLayerGzip : MEDIA_TYPES.ociLayerGzip,
        digest: layer.digest,
        size: layer.size,
      },
    ],
  };
  if (flavour === "oci" && sourceAnnotations) {
    const kept = Object.fromEntries(
      Object.entries(sourceAnnotations).filter(([key]) => !DROPPED_ANNOTATIONS.includes(key)),
    );
    if (Object.keys(kept).length > 0) manifest.annotations = kept;
  }
  return { mediaType, bytes: Buffer.from(JSON.stringify(manifest), "utf8") };
}

/** The index of flattened images: the source index's fields with `manifests` replaced. */
export function flattenedIndex(
  source: Record<string, unknown>,
  mediaType: string,
  manifests: Descriptor[],
): Buffer {
  const out: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(source)) {
    out[key] = key === "manifests" ? manifests : value;
  }
  if (!("mediaType" in out)) out.mediaType = mediaType;
  return Buffer.from(JSON.stringify(out), "utf8");
}
