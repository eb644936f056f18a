/**
 * The dynamic provider behind RegistryFlattenedImage.
 *
 * Serialization (see src/trust/provider.ts and src/images/engine/providers.ts): Pulumi stores this object
 * in state as JavaScript text. Its methods call plain functions of this file and of flatten.ts,
 * whose local modules (client, merge, compression, image, common/names) the closure serializer
 * carries by value; they import nothing but types at the top and require Node built-ins and npm
 * modules (tar-stream, fzstd) inside functions, which the provider host resolves from the
 * program's node_modules. No secret is captured: registry credentials reach the provider only as
 * (secret) inputs and never enter the outputs. test/unit/oci-flatten.test.ts serializes this object
 * as `pulumi.dynamic.Resource` does and runs it in a fresh module.
 */
import type { FlattenedPlatform, RegistryFlattenResult } from "./flatten";
import * as flatten from "./flatten";
import * as client from "./client";

/** How the provider reaches one registry. Secret as a whole (the component wraps it). */
export interface RegistryLoginInputs {
  readonly username?: string;
  readonly password?: string;
  readonly caCertPem?: string;
  readonly insecureHttp?: boolean;
}

/** Inputs of the dynamic resource (what the component declares), after `check`. */
export interface RegistryFlattenInputs {
  /** `host[:port]/repository[:tag|@digest]`. */
  readonly source: string;
  readonly sourceRegistry?: RegistryLoginInputs;
  /** `host[:port]/repository:tag`. */
  readonly imageName: string;
  readonly registry?: RegistryLoginInputs;
  readonly keepAttestations: boolean;
  readonly compressionLevel: number;
  /** The source's manifest digest, resolved by `check` when the registry answers. */
  readonly sourceDigest?: string;
}

/** Outputs (state). Never holds a password. */
export interface RegistryFlattenOutputs {
  readonly source: string;
  readonly imageName: string;
  readonly keepAttestations: boolean;
  readonly compressionLevel: number;
  readonly sourceDigest: string;
  readonly sourceMediaType: string;
  readonly digest: string;
  readonly repoDigest: string;
  readonly mediaType: string;
  readonly platforms: FlattenedPlatform[];
  /** `os/arch[/variant]` -> flattened manifest digest. */
  readonly platformDigests: Record<string, string>;
  /** Compressed bytes of the flattened layers (all platforms). */
  readonly size: number;
  /** Compressed bytes of the source layers (all platforms). */
  readonly sourceSize: number;
  /** Layers per flattened image (1). */
  readonly layerCount: number;
  /** Most layers any source image had. */
  readonly sourceLayerCount: number;
  readonly attestationsKept: number;
  readonly attestationsDropped: number;
}

/** Checks what the component could not check at construction (values that were Outputs). */
export function checkRegistryFlattenInputs(
  news: Partial<RegistryFlattenInputs>,
): { property: string; reason: string }[] {
  const failures: { property: string; reason: string }[] = [];
  try {
    flatten.parseRegistryReference(String(news.source ?? ""), "source");
  } catch (error) {
    failures.push({ property: "source", reason: (error as Error).message });
  }
  try {
    const parsed = flatten.parseRegistryReference(String(news.imageName ?? ""), "imageName");
    if (parsed.digest) throw new Error("imageName names a digest: give repository[:tag]");
  } catch (error) {
    failures.push({ property: "imageName", reason: (error as Error).message });
  }
  const level = news.compressionLevel;
  if (typeof level !== "number" || !Number.isInteger(level) || level < 1 || level > 9) {
    failures.push({ property: "compressionLevel", reason: "compressionLevel must be 1-9" });
  }
  return failures;
}

/** The source manifest's digest now: from the reference, or a HEAD to its registry. */
export async function resolveSourceDigest(inputs: RegistryFlattenInputs): Promise<string> {
  const ref = flatten.parseRegistryReference(inputs.source, "source");
  if (ref.digest) return ref.digest;
  const login = inputs.sourceRegistry ?? {};
  const registry = client.createRegistryClient({
    server: login.insecureHttp ? `http://${ref.server}` : ref.server,
    username: login.username,
    password: login.password,
    caCertPem: login.caCertPem,
  });
  try {
    const head = await registry.headManifest(ref.repository, ref.tag ?? "latest");
    if (!head?.digest) throw new Error(`source ${inputs.source} does not exist in its registry`);
    return head.digest;
  } finally {
    await registry.close();
  }
}

/** Runs the flatten for the resource's inputs and shapes the outputs. */
export async function createRegistryFlatten(
  inputs: RegistryFlattenInputs,
): Promise<RegistryFlattenOutputs> {
  const login = (side?: RegistryLoginInputs) => ({
    username: side?.username,
    password: side?.password,
    caCertPem: side?.caCertPem,
    insecureHttp: side?.insecureHttp,
  });
  const result: RegistryFlattenResult = await flatten.flattenBetweenRegistries({
    source: { reference: inputs.source, ...login(inputs.sourceRegistry) },
    destination: { reference: inputs.imageName, ...login(inputs.registry) },
    keepAttestations: inputs.keepAttestations,
    compressionLevel: inputs.compressionLevel,
  });
  const platformDigests: Record<string, string> = {};
  for (const platform of result.platforms) platformDigests[platform.platform] = platform.digest;
  return {
    source: inputs.source,
    imageName: result.imageName,
    keepAttestations: inputs.keepAttestations,
    compressionLevel: inputs.compressionLevel,
    sourceDigest: result.sourceDigest,
    sourceMediaType: result.sourceMediaType,
    digest: result.digest,
    repoDigest: result.repoDigest,
    mediaType: result.mediaType,
    platforms: result.platforms,
    platformDigests,
    size: result.platforms.reduce((sum, p) => sum + p.size, 0),
    sourceSize: result.platforms.reduce((sum, p) => sum + p.sourceSize, 0),
    layerCount: 1,
    sourceLayerCount: Math.max(...result.platforms.map((p) => p.sourceLayerCount)),
    attestationsKept: result.attestationsKept,
    attestationsDropped: result.attestationsDropped,
  };
}

/**
 * What changed between the state and new inputs: another destination replaces (a new tag; the old
 * one is left as it was), anything else that changes the result (source, its digest, attestations,
 * compression level) updates in place by flattening again. An unknown current source digest (the
 * registry did not answer during check) is no change.
 */
export function registryFlattenDiff(
  olds: RegistryFlattenOutputs,
  news: RegistryFlattenInputs,
): { changes: boolean; replaces: string[]; deleteBeforeReplace: boolean } {
  const replaces = olds.imageName !== news.imageName ? ["imageName"] : [];
  const updates = [
    olds.source !== news.source,
    news.sourceDigest !== undefined && olds.sourceDigest !== news.sourceDigest,
    olds.keepAttestations !== news.keepAttestations,
    olds.compressionLevel !== news.compressionLevel,
  ].some(Boolean);
  return { changes: replaces.length > 0 || updates, replaces, deleteBeforeReplace: false };
}

export const registryFlattenProvider = {
  async check(_olds: RegistryFlattenInputs, news: RegistryFlattenInputs) {
    const failures = checkRegistryFlattenInputs(news);
    if (failures.length > 0) return { inputs: news, failures };
    try {
      return { inputs: { ...news, sourceDigest: await resolveSourceDigest(news) } };
    } catch {
      // The registry may not exist yet (created in the same run): create resolves it.
      return { inputs: news };
    }
  },

  async diff(_id: string, olds: RegistryFlattenOutputs, news: RegistryFlattenInputs) {
    return registryFlattenDiff(olds, news);
  },

  async create(inputs: RegistryFlattenInputs) {
    const outs = await createRegistryFlatten(inputs);
    return { id: outs.repoDigest, outs };
  },

  async read(id: string, props: RegistryFlattenOutputs) {
    return { id, props };
  },

  async update(_id: string, _olds: RegistryFlattenOutputs, news: RegistryFlattenInputs) {
    return { outs: await createRegistryFlatten(news) };
  },

  async delete() {
    // Registry content is kept, as docker.Image keeps pushed tags: a deployment may still pull it.
    // Remove it with the registry's API or garbage collection.
  },
};
