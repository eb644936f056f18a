/**
 * What the engine tells about an image: `docker image inspect` plus `docker image history`.
 *
 * No imports but types: the dynamic providers carry this module (see providers.ts).
 */
import { connectEngine, describeError, Engine, EngineConnection } from "../../engine/connection";

/** One entry of `docker image history`, oldest first. */
export interface ImageLayer {
  /** Image ID of this history step; undefined when the engine reports `<missing>` (pulled layers). */
  readonly id?: string;
  /** The raw `CreatedBy` text. */
  readonly createdBy: string;
  /** The Dockerfile instruction behind it, e.g. `RUN apk add curl` or `CMD ["sh"]`; "" for imports. */
  readonly instruction: string;
  /** Bytes this step added. */
  readonly size: number;
  /** True for steps that only changed configuration (CMD, ENV, ...), which add no filesystem layer. */
  readonly metadataOnly: boolean;
  readonly comment: string;
}

/** The subset of an image's `Config` that flattening keeps. */
export interface ImageRuntimeConfig {
  readonly Cmd?: string[] | null;
  readonly Entrypoint?: string[] | null;
  readonly Env?: string[] | null;
  readonly WorkingDir?: string;
  readonly ExposedPorts?: Record<string, object> | null;
  readonly User?: string;
  readonly Labels?: Record<string, string> | null;
  readonly Volumes?: Record<string, object> | null;
  readonly StopSignal?: string;
  readonly Shell?: string[] | null;
  readonly OnBuild?: string[] | null;
  readonly Healthcheck?: {
    readonly Test?: string[];
    readonly Interval?: number;
    readonly Timeout?: number;
    readonly StartPeriod?: number;
    readonly StartInterval?: number;
    readonly Retries?: number;
  } | null;
}

/** What `docker image inspect` and `docker image history` tell about an image. */
export interface ImageInspection {
  /** `sha256:...` image ID. */
  readonly id: string;
  readonly architecture: string;
  readonly os: string;
  readonly variant?: string;
  /** Total size in bytes. */
  readonly size: number;
  readonly repoTags: string[];
  readonly repoDigests: string[];
  /** History steps, oldest first. */
  readonly layers: ImageLayer[];
  /** Filesystem layers (`RootFS.Layers`): what a registry stores and a pull downloads. */
  readonly layerCount: number;
  readonly config: ImageRuntimeConfig;
}

export interface EngineOptions {
  /** Which engine: the docker provider's connection. Default: DOCKER_HOST, then the local socket. */
  readonly connection?: EngineConnection;
  /** An engine already connected (reused within one operation). */
  readonly engine?: Engine;
}

/** The engine `options` names: the one given, else a new connection (checked to answer). */
export async function engineOf(options: EngineOptions): Promise<Engine> {
  return options.engine ?? (await connectEngine(options.connection));
}

const METADATA_KEYWORDS =
  /^(CMD|ENTRYPOINT|ENV|EXPOSE|LABEL|USER|VOLUME|WORKDIR|STOPSIGNAL|HEALTHCHECK|SHELL|ONBUILD|ARG|MAINTAINER)\b/;

/** Turns a history `CreatedBy` into the instruction that made it (classic builder and BuildKit). */
export function instructionFromHistory(createdBy: string): string {
  const text = createdBy.trim();
  const nop = /^\/bin\/sh -c #\(nop\)\s*(.*)$/s.exec(text);
  if (nop) return nop[1].trim();
  const classicRun = /^\/bin\/sh -c (.*)$/s.exec(text);
  if (classicRun) return `RUN ${classicRun[1]}`;
  if (text === "") return "";
  return text.replace(/\s*# buildkit$/, "");
}

/** Reads `docker image inspect` and `docker image history` for `ref` (name, name:tag, ID or digest). */
export async function inspectImage(
  ref: string,
  options: EngineOptions = {},
): Promise<ImageInspection> {
  const { docker, resolved } = await engineOf(options);
  const image = docker.getImage(ref);
  const info = await image.inspect().catch((error: unknown) => {
    throw new Error(
      `inspectImage: no image "${ref}" in the engine at ${resolved.address} (${describeError(error)}). Build or pull it there first.`,
    );
  });
  const history = (await image.history()) as {
    Id: string;
    CreatedBy: string;
    Size: number;
    Comment: string;
  }[];
  const layers = history
    .slice()
    .reverse()
    .map((step) => {
      const instruction = instructionFromHistory(step.CreatedBy ?? "");
      return {
        id: step.Id && step.Id !== "<missing>" ? step.Id : undefined,
        createdBy: step.CreatedBy ?? "",
        instruction,
        size: step.Size ?? 0,
        metadataOnly: (step.Size ?? 0) === 0 && METADATA_KEYWORDS.test(instruction),
        comment: step.Comment ?? "",
      };
    });
  const config = (info.Config ?? {}) as ImageRuntimeConfig;
  return {
    id: info.Id,
    architecture: info.Architecture,
    os: info.Os,
    variant: (info as { Variant?: string }).Variant || undefined,
    size: info.Size,
    repoTags: info.RepoTags ?? [],
    repoDigests: info.RepoDigests ?? [],
    layers,
    layerCount: info.RootFS?.Layers?.length ?? 0,
    config,
  };
}

/** Resolves an image reference to its `sha256:` ID, or undefined when the engine lacks it. */
export async function resolveImageId(
  ref: string,
  options: EngineOptions = {},
): Promise<string | undefined> {
  const { docker, resolved } = await engineOf(options);
  try {
    return (await docker.getImage(ref).inspect()).Id;
  } catch (error) {
    if ((error as { statusCode?: number }).statusCode === 404) return undefined;
    throw new Error(`inspecting ${ref} at ${resolved.address} failed: ${describeError(error)}`);
  }
}
