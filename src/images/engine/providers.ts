/**
 * The dynamic providers behind FlattenedImage and BuiltImage's ImageFacts.
 *
 * How they survive serialization: Pulumi stores each provider object in state as source text made
 * by its closure serializer (see src/trust/provider.ts for the details). The methods call plain
 * functions of the sibling engine modules and of `src/engine/` (the connection), which import
 * nothing but each other, types and `../../common/names` (import-free), and require Node
 * built-ins and npm modules (`dockerode`, `undici`) inside their functions:
 *  - from this repository (ts-node or compiled) the sibling modules are captured by value;
 *  - installed in node_modules they are captured by reference
 *    (`require("pulumi-secure-registry/bin/images/engine/flatten.js")`);
 *  - npm modules are always required by name (`require("undici")`), resolved by the provider host
 *    from the program's node_modules; nothing machine-specific and no secret is captured.
 * Registry passwords and engine keys reach the providers only as resource inputs.
 * test/unit/images-provider.test.ts serializes these objects as `pulumi.dynamic.Resource` does
 * and runs them in a plain node process, in both layouts.
 */
import * as names from "../../common/names";
import * as connection from "../../engine/connection";
import type { EngineSettings, InputFailure } from "../../engine/settings";
import { checkEngineSettings, connectionOf, engineSettingsDiff } from "../../engine/settings";
import type { FlattenResult, RegistryAuth } from "./flatten";
import * as flatten from "./flatten";
import * as inspect from "./inspect";

/** Inputs of the FlattenedImage dynamic resource, after `check`. */
export interface FlattenInputs {
  readonly source: string;
  readonly imageName: string;
  readonly push: boolean;
  readonly keepImage: boolean;
  /** Secret: the component wraps it in `pulumi.secret`. */
  readonly registry?: RegistryAuth;
  /** The component's URN: whose leftovers a new attempt removes. Not a reason to replace. */
  readonly owner?: string;
  /** The docker provider's connection; undefined: DOCKER_HOST or the local socket, read at run time. */
  readonly engine?: EngineSettings;
  /** The docker provider's `keyMaterial`. Secret. */
  readonly engineKey?: string;
  /** The source reference resolved to its image ID by `check`, so a rebuilt source replaces. */
  readonly sourceImageId?: string;
}

/** Outputs (state) of the FlattenedImage dynamic resource. Never holds the registry password. */
export interface FlattenOutputs extends FlattenResult {
  readonly source: string;
  readonly imageName: string;
  readonly push: boolean;
  readonly keepImage: boolean;
  readonly registryServer?: string;
  readonly owner?: string;
  readonly engine?: EngineSettings;
  /** Secret (`additionalSecretOutputs`); kept so delete reaches a TLS engine. */
  readonly engineKey?: string;
  /** Where the image was made, e.g. `ssh://root@198.51.100.11`; a different engine replaces it. */
  readonly engineAddress?: string;
}

function isText(value: unknown): value is string {
  return typeof value === "string" && value.trim() !== "";
}

/**
 * Validates FlattenedImage inputs as they reach the provider (the component checks known values
 * at construction; these are the values that were Outputs, or came from another program).
 * Booleans must be booleans: `push: "false"` is refused, never taken as true.
 */
export function checkFlattenInputs(
  news: Partial<Record<keyof FlattenInputs, unknown>>,
): InputFailure[] {
  const failures: InputFailure[] = [];
  if (!isText(news.source)) {
    failures.push({
      property: "source",
      reason: "source must name an image (name:tag, ID or repo@digest)",
    });
  }
  const parsed = names.parseImageReference(news.imageName);
  if ("problem" in parsed || parsed.digest !== undefined) {
    failures.push({
      property: "imageName",
      reason: `imageName must be repository[:tag] without a digest, in lower case${"problem" in parsed ? `; it ${parsed.problem}` : ""}`,
    });
  }
  for (const key of ["push", "keepImage"] as const) {
    if (typeof news[key] !== "boolean") {
      failures.push({
        property: key,
        reason: `${key} must be true or false, not ${typeof news[key]}`,
      });
    }
  }
  if (news.push === true && !news.registry) {
    failures.push({
      property: "registry",
      reason: "push is true but no registry is given: pass registry, or set push: false",
    });
  }
  if (news.registry !== undefined) {
    const registry = news.registry as Record<string, unknown> | null;
    if (
      typeof registry !== "object" ||
      registry === null ||
      !isText(registry.server) ||
      typeof registry.username !== "string" ||
      typeof registry.password !== "string"
    ) {
      failures.push({
        property: "registry",
        reason: "registry must be { server, username, password } text",
      });
    }
  }
  checkEngineSettings(news.engine, news.engineKey, failures);
  return failures;
}

export const flattenProvider = {
  async check(_olds: FlattenInputs, news: FlattenInputs) {
    const failures = checkFlattenInputs(news);
    if (failures.length > 0) return { inputs: news, failures };
    // Best effort: at preview the engine may be unreachable or the source not built yet; diff decides then.
    const sourceImageId = await inspect
      .resolveImageId(news.source, { connection: connectionOf(news) })
      .catch(() => undefined);
    return { inputs: { ...news, ...(sourceImageId ? { sourceImageId } : {}) } };
  },

  async diff(_id: string, olds: FlattenOutputs, news: FlattenInputs) {
    const replaces: string[] = [];
    for (const key of ["source", "imageName", "push"] as const) {
      if (olds[key] !== news[key]) replaces.push(key);
    }
    if ((news.registry?.server ?? undefined) !== (olds.registryServer ?? undefined))
      replaces.push("registry");
    const engine = engineSettingsDiff(olds, news);
    if (engine.replace) replaces.push("engine");
    const currentSource =
      news.sourceImageId ??
      (await inspect.resolveImageId(news.source, { connection: connectionOf(news) }));
    if (currentSource !== olds.sourceImageId) replaces.push("sourceImageId");
    const changes = replaces.length > 0 || olds.keepImage !== news.keepImage || engine.changed;
    return { changes, replaces, deleteBeforeReplace: false };
  },

  async create(inputs: FlattenInputs) {
    const engine = await connection.connectEngine(connectionOf(inputs));
    const result = await flatten.flattenImage({
      source: inputs.sourceImageId ?? inputs.source,
      imageName: inputs.imageName,
      push: inputs.push,
      registry: inputs.registry,
      owner: inputs.owner,
      engine,
    });
    const outs: FlattenOutputs = {
      source: inputs.source,
      imageName: inputs.imageName,
      push: inputs.push,
      keepImage: inputs.keepImage,
      ...(inputs.registry ? { registryServer: inputs.registry.server } : {}),
      ...(inputs.owner !== undefined ? { owner: inputs.owner } : {}),
      ...(inputs.engine !== undefined ? { engine: inputs.engine } : {}),
      ...(inputs.engineKey !== undefined ? { engineKey: inputs.engineKey } : {}),
      engineAddress: engine.resolved.address,
      ...result,
    };
    return { id: result.imageId, outs };
  },

  async read(id: string, props: FlattenOutputs) {
    const engine = await connection.connectEngine(connectionOf(props));
    const current = await inspect.resolveImageId(id, { engine });
    if (!current) return { id: "", props: {} as FlattenOutputs };
    const facts = await inspect.inspectImage(id, { engine });
    return { id, props: { ...props, layerCount: facts.layerCount, size: facts.size } };
  },

  async update(_id: string, olds: FlattenOutputs, news: FlattenInputs) {
    // Only keepImage, the owner and the engine's settings for the same address change in place.
    const outs: FlattenOutputs = {
      ...olds,
      keepImage: news.keepImage,
      owner: news.owner,
      engine: news.engine,
      engineKey: news.engineKey,
    };
    return { outs };
  },

  async delete(_id: string, props: FlattenOutputs) {
    if (props.keepImage) return;
    await flatten.removeFlattenedImage(props.imageName, props.imageId, {
      connection: connectionOf(props),
    });
  },
};

/** Outputs of the read-only ImageFacts dynamic resource behind `BuiltImage.size` / `layerCount`. */
export interface ImageFactsOutputs {
  readonly image: string;
  readonly imageId: string;
  readonly size: number;
  readonly layerCount: number;
  readonly architecture: string;
  readonly os: string;
  readonly engine?: EngineSettings;
  readonly engineKey?: string;
  readonly engineAddress?: string;
}

/** Inputs of the ImageFacts dynamic resource. */
export interface ImageFactsInputs {
  readonly image: string;
  readonly engine?: EngineSettings;
  /** Secret. */
  readonly engineKey?: string;
}

/** Reads size, layer count and platform of an image for the ImageFacts resource. */
export async function imageFacts(
  image: string,
  options: inspect.EngineOptions = {},
): Promise<Omit<ImageFactsOutputs, "engine" | "engineKey">> {
  const engine = await inspect.engineOf(options);
  const facts = await inspect.inspectImage(image, { engine });
  return {
    image,
    imageId: facts.id,
    size: facts.size,
    layerCount: facts.layerCount,
    architecture: facts.architecture,
    os: facts.os,
    engineAddress: engine.resolved.address,
  };
}

/**
 * Records facts about a built image in the state once, when the image (its repoDigest) or the
 * engine changes, so later runs on a machine without that image (a fresh CI agent) still have them.
 */
export const imageFactsProvider = {
  async check(_olds: ImageFactsInputs, news: ImageFactsInputs) {
    const failures: InputFailure[] = [];
    if (!isText(news.image))
      failures.push({ property: "image", reason: "image must name an image" });
    checkEngineSettings(news.engine, news.engineKey, failures);
    return { inputs: news, failures };
  },
  async diff(_id: string, olds: ImageFactsOutputs, news: ImageFactsInputs) {
    const replaces: string[] = [];
    if (olds.image !== news.image) replaces.push("image");
    const engine = engineSettingsDiff(olds, news);
    if (engine.replace) replaces.push("engine");
    return { changes: replaces.length > 0 || engine.changed, replaces };
  },
  async create(inputs: ImageFactsInputs) {
    const facts = await imageFacts(inputs.image, { connection: connectionOf(inputs) });
    const outs: ImageFactsOutputs = {
      ...facts,
      ...(inputs.engine !== undefined ? { engine: inputs.engine } : {}),
      ...(inputs.engineKey !== undefined ? { engineKey: inputs.engineKey } : {}),
    };
    return { id: outs.imageId, outs };
  },
  async read(id: string, props: ImageFactsOutputs) {
    const engine = await connection.connectEngine(connectionOf(props));
    // The image may be gone from the engine (pruned): keep what was recorded.
    const present = props?.image
      ? await inspect.resolveImageId(props.image, { engine })
      : undefined;
    if (!present) return { id, props };
    return { id, props: { ...props, ...(await imageFacts(props.image, { engine })) } };
  },
  async update(_id: string, olds: ImageFactsOutputs, news: ImageFactsInputs) {
    return { outs: { ...olds, engine: news.engine, engineKey: news.engineKey } };
  },
  async delete() {
    // Read-only: the image belongs to the docker.Image that built it.
  },
};
