/**
 * Flattening through a Docker engine: create (never start) a container of the source, stream its
 * export into an import (transfer.ts), carry the config over (plan.ts), tag, push when asked.
 *
 * Nothing is left behind, even when the process is killed midway (`pulumi cancel`, a crash):
 *  - the temporary container and every image an attempt makes carry the labels
 *    `org.secure-registry.flatten-owner` (a hash of the owning resource) and
 *    `org.secure-registry.flatten-attempt` (random per attempt); a finished attempt removes its
 *    container last, so a leftover container marks an attempt that never finished;
 *  - before a new attempt, the leftovers of the same owner's unfinished attempts (their
 *    containers and the images carrying the same attempt label) are removed;
 *  - a failed attempt removes the images carrying its attempt label, found by label, so an import
 *    whose reply was lost does not leak its image;
 *  - the tag is moved only after the image is complete, and a failure after that (the push) puts
 *    the tag back on the image that had it.
 *
 * Imports only sibling engine modules: the dynamic providers carry them (see providers.ts).
 */
import type Dockerode = require("dockerode");
import type { Engine } from "../../engine/connection";
import { describeError } from "../../engine/connection";
import { engineOf, EngineOptions, inspectImage, resolveImageId } from "./inspect";
import { planFlatten, splitImageName, tarWithOneFile } from "./plan";
import { readProgress } from "./progress";
import { exportIntoImport, isTransferCut } from "./transfer";

/** Registry credentials for pushes. The password is a secret; it never appears in errors. */
export interface RegistryAuth {
  /** `host[:port]` of the registry. */
  readonly server: string;
  readonly username: string;
  readonly password: string;
}

/** Label on the temporary container naming the source, so leftovers are recognisable in `docker ps -a`. */
export const FLATTEN_CONTAINER_LABEL = "org.secure-registry.flatten-source";
/** Label on the temporary container and the images of an attempt: a hash of the owning resource. */
export const FLATTEN_OWNER_LABEL = "org.secure-registry.flatten-owner";
/** Label on the temporary container and the images of an attempt: random per attempt. */
export const FLATTEN_ATTEMPT_LABEL = "org.secure-registry.flatten-attempt";

export interface FlattenRequest extends EngineOptions {
  /** Source image reference (name:tag, ID or digest). */
  readonly source: string;
  /** `repository[:tag]` to tag the flattened image with; tag defaults to `latest`. */
  readonly imageName: string;
  /** Push `imageName` to its registry after tagging. Default false. */
  readonly push?: boolean;
  /** Credentials for the push. */
  readonly registry?: RegistryAuth;
  /**
   * Who owns the attempts (FlattenedImage passes its URN); leftovers of the same owner's unfinished
   * attempts are removed first. Default: the engine address and `imageName`.
   */
  readonly owner?: string;
  /** Called once the temporary container exists (tests use it to fail or stop midway). */
  readonly onContainerCreated?: (containerId: string) => Promise<void> | void;
  /** Called once the import has made the image, before tagging (tests use it to stop midway). */
  readonly onImported?: (imageId: string) => Promise<void> | void;
}

export interface FlattenResult {
  /** `sha256:` ID of the flattened image. */
  readonly imageId: string;
  /** `repository@sha256:...` when pushed. */
  readonly repoDigest?: string;
  readonly layerCount: number;
  readonly size: number;
  readonly sourceImageId: string;
  readonly sourceLayerCount: number;
  readonly sourceSize: number;
}

/** The owner label's value: a hash, so no stack or project name ends up in image metadata. */
export function ownerLabel(owner: string): string {
  const crypto = require("crypto") as typeof import("crypto");
  return crypto.createHash("sha256").update(owner).digest("hex").slice(0, 32);
}

/**
 * Removes every image carrying `attempt`, children before their parents (a parent with a child
 * cannot be removed), ignoring ones already gone. The engine's `Created` has whole seconds, so the
 * order comes from `ParentId`; a listing or removal the engine refuses for the moment (busy, or
 * the image still held by an operation that just failed) is retried, a few rounds at most, before
 * the last error is thrown.
 */
async function removeAttemptImages(docker: Dockerode, attempt: string): Promise<void> {
  const filters = JSON.stringify({ label: [`${FLATTEN_ATTEMPT_LABEL}=${attempt}`] });
  let lastError: unknown;
  for (let round = 1; round <= 5; round++) {
    const found = await docker.listImages({ all: true, filters }).catch((error: unknown) => {
      lastError = error;
      return undefined;
    });
    if (found?.length === 0) return;
    if (found === undefined) {
      await new Promise((resolve) => setTimeout(resolve, 200 * round));
      continue;
    }
    const parents = new Set(found.map((image) => image.ParentId));
    const leaves = found.filter((image) => !parents.has(image.Id));
    let refused = false;
    for (const image of leaves.length > 0 ? leaves : found) {
      await docker
        .getImage(image.Id)
        .remove({ force: true })
        .catch((error: { statusCode?: number }) => {
          if (error.statusCode === 404) return;
          lastError = error;
          refused = true;
        });
    }
    if (refused) await new Promise((resolve) => setTimeout(resolve, 200 * round));
  }
  const left = await docker.listImages({ all: true, filters });
  if (left.length > 0) {
    throw new Error(
      `could not remove ${left.length} image(s) of flatten attempt ${attempt}: ${describeError(lastError)}`,
    );
  }
}

/**
 * How many times the export → import is tried when a connection carrying it is cut mid-stream
 * (an ssh session dropped, a `dial-stdio` process ended): the export only reads the container and
 * a cut hand-off never gives the engine a complete archive, so trying again is safe. Between tries
 * the images carrying the attempt's label go, in case the engine finished an import whose answer
 * was lost. Anything else (an engine error, an import the engine refused) is not retried.
 */
export const EXPORT_TRIES = 2;

/** exportIntoImport, tried again (EXPORT_TRIES in all) when the hand-off is cut mid-stream. */
export async function exportWithRetry(
  engine: Engine,
  containerId: string,
  query: URLSearchParams,
  source: string,
  attempt: string,
): Promise<string> {
  const cuts: string[] = [];
  for (let tryNumber = 1; ; tryNumber++) {
    try {
      return await exportIntoImport(engine, containerId, query, source);
    } catch (error) {
      if (!isTransferCut(error)) throw error;
      cuts.push(describeError(error));
      if (tryNumber >= EXPORT_TRIES) {
        throw new Error(
          `${cuts.join("; then ")}. Tried ${cuts.length} times, nothing was imported; check the connection to ${engine.resolved.address} (network, sshd limits such as MaxStartups) and run again.`,
        );
      }
      await removeAttemptImages(engine.docker, attempt);
    }
  }
}

/**
 * Removes what unfinished attempts of `owner` left: their containers, and the images that carry
 * the same attempt label. Images of finished attempts (kept or not) have no container left and
 * are never touched. Returns how many containers were found.
 */
export async function removeLeftovers(engine: Engine, owner: string): Promise<number> {
  const containers = await engine.docker.listContainers({
    all: true,
    filters: JSON.stringify({ label: [`${FLATTEN_OWNER_LABEL}=${ownerLabel(owner)}`] }),
  });
  for (const container of containers.slice(0, 100)) {
    const attempt = container.Labels?.[FLATTEN_ATTEMPT_LABEL];
    if (attempt) await removeAttemptImages(engine.docker, attempt);
    await engine.docker
      .getContainer(container.Id)
      .remove({ force: true, v: true })
      .catch((error: { statusCode?: number }) => {
        if (error.statusCode !== 404) throw error;
      });
  }
  return containers.length;
}

/** Pushes `repository:tag`; returns `repository@sha256:...`. */
async function pushImage(
  docker: Dockerode,
  imageName: string,
  registry: RegistryAuth | undefined,
): Promise<string> {
  const { repository, tag } = splitImageName(imageName);
  const auth = registry
    ? { username: registry.username, password: registry.password, serveraddress: registry.server }
    : undefined;
  const progress = await readProgress(
    await docker.getImage(repository).push({ tag, ...(auth ? { authconfig: auth } : {}) }),
    `pushing ${imageName}`,
    registry?.password,
  );
  const digest = progress
    .map((message) => (message.aux as { Digest?: string } | undefined)?.Digest)
    .filter(Boolean)
    .pop();
  if (!digest) throw new Error(`pushing ${imageName} reported no digest`);
  return `${repository}@${digest}`;
}

/** Applies instructions the import API refuses (STOPSIGNAL, SHELL) with a metadata-only build. */
async function followUpBuild(
  docker: Dockerode,
  imageId: string,
  instructions: readonly string[],
): Promise<string> {
  const { Readable } = require("stream") as typeof import("stream");
  const dockerfile = [`FROM ${imageId}`, ...instructions, ""].join("\n");
  const progress = await readProgress(
    (await docker.buildImage(Readable.from([tarWithOneFile("Dockerfile", dockerfile)]), {
      rm: true,
      forcerm: true,
    })) as NodeJS.ReadableStream,
    `applying ${instructions.map((line) => line.split(" ")[0]).join(", ")} to the flattened image`,
  );
  const ids = progress
    .map((message) => (message.aux as { ID?: string } | undefined)?.ID)
    .filter(Boolean);
  if (ids.length === 0) throw new Error("the follow-up build returned no image ID");
  return ids[ids.length - 1] as string;
}

/**
 * Flattens `source` into a one-layer image tagged `imageName` on the engine `request` names (see
 * the module comment for what happens on failure, and when the process is killed).
 */
export async function flattenImage(request: FlattenRequest): Promise<FlattenResult> {
  const crypto = require("crypto") as typeof import("crypto");
  const engine = await engineOf(request);
  const docker = engine.docker;
  const options = { engine };
  const owner = request.owner ?? `${engine.resolved.address} ${request.imageName}`;
  await removeLeftovers(engine, owner);

  const source = await inspectImage(request.source, options);
  const plan = planFlatten(source.config);
  const { repository, tag } = splitImageName(request.imageName);
  const attempt = crypto.randomUUID();
  const labels = { [FLATTEN_OWNER_LABEL]: ownerLabel(owner), [FLATTEN_ATTEMPT_LABEL]: attempt };
  let succeeded = false;
  let imagesRemoved = true;
  let container: Dockerode.Container | undefined;
  let previousId: string | undefined;
  let tagged: string | undefined;
  try {
    const hasCommand =
      (source.config.Cmd?.length ?? 0) > 0 || (source.config.Entrypoint?.length ?? 0) > 0;
    container = await docker.createContainer({
      Image: source.id,
      // The engine refuses to create a container without a command; it never runs.
      ...(hasCommand ? {} : { Cmd: ["/flatten-placeholder"] }),
      Labels: { [FLATTEN_CONTAINER_LABEL]: request.source, ...labels },
      NetworkDisabled: true,
    });
    await request.onContainerCreated?.(container.id);

    const query = new URLSearchParams();
    for (const change of plan.importChanges) query.append("changes", change);
    // The attempt's labels go onto the imported image, so a failure finds it even when the
    // import's reply (with the image ID) never arrived.
    for (const [key, value] of Object.entries(labels)) {
      query.append("changes", `LABEL "${key}"="${value}"`);
    }
    query.set("message", `flattened from ${request.source}`);
    query.set(
      "platform",
      [source.os, source.architecture, source.variant].filter(Boolean).join("/"),
    );
    let imageId = await exportWithRetry(engine, container.id, query, request.source, attempt);
    await request.onImported?.(imageId);
    if (plan.followUpInstructions.length > 0) {
      imageId = await followUpBuild(docker, imageId, plan.followUpInstructions);
    }

    previousId = await resolveImageId(request.imageName, options);
    await docker
      .getImage(imageId)
      .tag({ repo: repository, tag })
      .catch((error: unknown) => {
        throw new Error(
          `tagging the flattened image as "${request.imageName}" failed: ${describeError(error)}. Use a valid name: lower-case repository[:tag].`,
        );
      });
    tagged = imageId;

    const repoDigest = request.push
      ? await pushImage(docker, request.imageName, request.registry)
      : undefined;
    const result = await inspectImage(imageId, options);
    succeeded = true;
    return {
      imageId,
      repoDigest,
      layerCount: result.layerCount,
      size: result.size,
      sourceImageId: source.id,
      sourceLayerCount: source.layerCount,
      sourceSize: source.size,
    };
  } finally {
    if (!succeeded) {
      // The image that had the tag before gets it back, then this attempt's images go (found by
      // label), then its container: removed last, it marks an unfinished attempt until then.
      if (tagged && previousId && previousId !== tagged) {
        await docker
          .getImage(previousId)
          .tag({ repo: repository, tag })
          .catch(() => undefined);
      }
      // Images that cannot be removed now keep the container: it marks the attempt unfinished,
      // so the next flatten of this owner removes them (removeLeftovers).
      imagesRemoved = await removeAttemptImages(docker, attempt).then(
        () => true,
        () => false,
      );
    }
    if (container && imagesRemoved) {
      await container.remove({ force: true, v: true }).catch(() => undefined);
    }
  }
}

/**
 * Removes the flattened image tagged `imageName` if that tag still points at `imageId`; an image
 * that is already gone is fine. Another image under the same tag is left alone.
 */
export async function removeFlattenedImage(
  imageName: string,
  imageId: string,
  options: EngineOptions = {},
): Promise<void> {
  const engine = await engineOf(options);
  const docker = engine.docker;
  const current = await resolveImageId(imageName, { engine });
  try {
    if (current === imageId) {
      await docker.getImage(imageName).remove();
    } else {
      // The tag is gone or moved on (a replacement took it): remove our image by ID, unless it
      // carries other tags someone added, which the engine refuses (409) and we leave alone.
      await docker
        .getImage(imageId)
        .remove()
        .catch((error: { statusCode?: number; json?: { message?: string } }) => {
          if (error.statusCode === 409 && /referenced in multiple/.test(error.json?.message ?? ""))
            return;
          throw error;
        });
    }
  } catch (error) {
    const status = (error as { statusCode?: number }).statusCode;
    if (status === 404) return;
    throw new Error(
      `removing the flattened image ${imageName} (${imageId}) at ${engine.resolved.address} failed: ${describeError(error)}. If a container uses it, remove the container first, or set keepImage: true.`,
    );
  }
}
