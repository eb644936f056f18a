/**
 * Real-engine tests for src/images: inspectImage, FlattenedImage (through its serialized dynamic
 * provider, exactly as Pulumi would run it) and flattenImage's failure cleanup. BuiltImage's
 * push through a trusted SecureRegistry is in images-registry.test.ts.
 */
import Docker from "dockerode";
import * as fs from "fs";
import * as path from "path";
import * as tar from "tar-stream";
import { describeWithEngine, TEST_IMAGES } from "../support/engine";
import { outputOf, setupMocks, unwrapSecrets } from "../support/mocks";
import { loadDynamicProvider } from "./images-support";

const mocks = setupMocks();
const images = require("../../src/images") as typeof import("../../src/images");
const engineModule = require("../../src/images/engine") as typeof import("../../src/images/engine");

const docker = new Docker();
const PREFIX = `srtest-images-${process.pid}`;
const fixtures = path.join(__dirname, "../fixtures/images");
const createdImages = new Set<string>();

/** Builds `fixtures/<dir>` with the classic builder, FROM the busybox test image. */
async function buildFixture(
  dir: string,
  tag: string,
  extra: Record<string, string> = {},
): Promise<string> {
  createdImages.add(tag);
  const context = path.join(fixtures, dir);
  const stream = await docker.buildImage(
    { context, src: fs.readdirSync(context) },
    { t: tag, buildargs: { BASE_IMAGE: TEST_IMAGES.busybox, ...extra }, rm: true, forcerm: true },
  );
  await new Promise<void>((resolve, reject) =>
    docker.modem.followProgress(stream, (error: Error | null, output: { error?: string }[]) => {
      const failed = output?.find((message) => message.error);
      if (error || failed) reject(error ?? new Error(failed?.error));
      else resolve();
    }),
  );
  return (await docker.getImage(tag).inspect()).Id;
}

interface TarEntry {
  name: string;
  type: string;
  mode: number;
  uid: number;
  gid: number;
  size: number;
  linkname: string | null;
}

/** Lists the exported filesystem of a (never started) container of `image`. */
async function fileTree(image: string): Promise<TarEntry[]> {
  const container = await docker.createContainer({
    Image: image,
    Cmd: ["true"],
    Labels: { [`${PREFIX}`]: "tree" },
  });
  try {
    const exported = (await container.export()) as NodeJS.ReadableStream;
    const entries: TarEntry[] = [];
    await new Promise<void>((resolve, reject) => {
      const extract = tar.extract();
      extract.on("entry", (header, body, next) => {
        entries.push({
          name: header.name.replace(/\/$/, ""),
          type: header.type ?? "file",
          mode: header.mode ?? 0,
          uid: header.uid ?? 0,
          gid: header.gid ?? 0,
          size: header.size ?? 0,
          linkname: header.linkname ?? null,
        });
        body.on("end", next);
        body.resume();
      });
      extract.on("finish", resolve);
      extract.on("error", reject);
      exported.pipe(extract);
    });
    return entries.sort((a, b) => a.name.localeCompare(b.name));
  } finally {
    await container.remove({ force: true, v: true });
  }
}

/** Runs `image` to completion (bounded) and returns its output. */
async function runImage(image: string, cmd?: string[]): Promise<{ code: number; output: string }> {
  const container = await docker.createContainer({
    Image: image,
    ...(cmd ? { Cmd: cmd } : {}),
    Labels: { [PREFIX]: "run" },
    HostConfig: { AutoRemove: false },
  });
  try {
    await container.start();
    const result = await Promise.race([
      container.wait(),
      new Promise<never>((_, reject) =>
        setTimeout(() => reject(new Error("container did not exit in 30 s")), 30_000),
      ),
    ]);
    const logs = (await container.logs({ stdout: true, stderr: true })) as Buffer;
    // Strip the 8-byte multiplexing headers.
    const chunks: string[] = [];
    for (let offset = 0; offset + 8 <= logs.length;) {
      const length = logs.readUInt32BE(offset + 4);
      chunks.push(logs.subarray(offset + 8, offset + 8 + length).toString());
      offset += 8 + length;
    }
    return { code: (result as { StatusCode: number }).StatusCode, output: chunks.join("") };
  } finally {
    await container.remove({ force: true, v: true });
  }
}

/** `config[field]`, with the flattening attempt's labels left out of `Labels`. */
function withoutAttemptLabels(config: object, field: string): unknown {
  const value = (config as Record<string, unknown>)[field];
  if (field !== "Labels" || !value) return value;
  return Object.fromEntries(
    Object.entries(value as Record<string, string>).filter(
      ([key]) => !key.startsWith("org.secure-registry.flatten-"),
    ),
  );
}

/** IDs of the images this file flattens from (its source references all carry PREFIX). */
const sourceIds = new Set<string>();

/**
 * This file's flattening containers. Other files flatten on the same engine at the same time
 * (jest runs two at once), so the label alone would also find theirs.
 */
async function flattenContainers(): Promise<Docker.ContainerInfo[]> {
  const labelled = await docker.listContainers({
    all: true,
    filters: JSON.stringify({ label: [engineModule.FLATTEN_CONTAINER_LABEL] }),
  });
  return labelled.filter((container) => {
    const flattenedFrom = container.Labels[engineModule.FLATTEN_CONTAINER_LABEL] ?? "";
    return flattenedFrom.includes(PREFIX) || sourceIds.has(flattenedFrom);
  });
}

/** Local images whose import message says they were flattened from `ref` (other processes' images never match). */
async function imagesFlattenedFrom(ref: string): Promise<string[]> {
  const found: string[] = [];
  for (const image of await docker.listImages({ all: true })) {
    const info = await docker
      .getImage(image.Id)
      .inspect()
      .catch(() => undefined);
    if (info?.Comment === `flattened from ${ref}`) found.push(image.Id);
  }
  return found;
}

async function removeImages(): Promise<void> {
  for (const ref of [...createdImages].reverse()) {
    await docker
      .getImage(ref)
      .remove({ force: true })
      .catch((error: { statusCode?: number }) => {
        if (error.statusCode !== 404) throw error;
      });
  }
}

describeWithEngine("images on the real engine", () => {
  jest.setTimeout(180_000);
  const source = `${PREFIX}-rich:1`;
  let sourceId: string;

  beforeAll(async () => {
    sourceId = await buildFixture("rich", source);
    sourceIds.add(sourceId);
  });
  afterAll(async () => {
    const leftovers = await docker.listContainers({
      all: true,
      filters: JSON.stringify({ label: [PREFIX] }),
    });
    for (const container of leftovers)
      await docker.getContainer(container.Id).remove({ force: true, v: true });
    await removeImages();
  });

  it("inspectImage reports platform, size, layers with their instructions and layer count", async () => {
    const facts = await images.inspectImage(source);
    expect(facts.id).toBe(sourceId);
    expect(facts.os).toBe("linux");
    expect(facts.architecture).toBe((await docker.version()).Arch);
    expect(facts.repoTags).toContain(source);
    expect(facts.layerCount).toBe(4); // the imported busybox layer + 3 RUN layers
    expect(facts.size).toBeGreaterThan(1_000_000);
    const instructions = facts.layers.map((layer) => layer.instruction);
    expect(instructions).toContainEqual(expect.stringMatching(/^RUN rm \/app\/tmp\/doomed/));
    expect(instructions).toContainEqual("STOPSIGNAL SIGQUIT");
    const stopSignal = facts.layers.find((layer) => layer.instruction === "STOPSIGNAL SIGQUIT");
    expect(stopSignal).toMatchObject({ size: 0, metadataOnly: true });
    const firstRun = facts.layers.find((layer) => layer.instruction.startsWith("RUN mkdir"));
    expect(firstRun?.metadataOnly).toBe(false);
    expect(facts.layers[0].comment).toBe("Imported from -"); // oldest first: the base
    expect(facts.layers.reduce((sum, layer) => sum + layer.size, 0)).toBe(facts.size);
  });

  it("FlattenedImage's provider flattens to one layer with the same files and config, runs, and is deleted", async () => {
    // A reference of its own, moved to another image later to stand for a rebuilt source.
    const movingRepo = `${PREFIX}-moving`;
    await docker.getImage(sourceId).tag({ repo: movingRepo, tag: "1" });
    createdImages.add(`${movingRepo}:1`);
    const name = `${PREFIX}-flat`;
    const component = new images.FlattenedImage(name, {
      source: `${movingRepo}:1`,
      imageName: `${PREFIX}-flat/app:1`,
    });
    await outputOf(component.imageId);
    const declared = mocks.find(
      "pulumi-nodejs:dynamic/secure-registry:FlattenedImage",
      `${name}-flatten`,
    );
    const inputs = unwrapSecrets(
      declared.inputs,
    ) as import("../../src/images/engine").FlattenInputs & {
      __provider?: string;
    };
    const provider = loadDynamicProvider<typeof engineModule.flattenProvider>(
      String(inputs.__provider),
    );
    delete inputs.__provider;

    const checked = await provider.check({} as never, inputs);
    expect(checked.failures ?? []).toEqual([]);
    expect(checked.inputs.sourceImageId).toBe(sourceId);
    createdImages.add(checked.inputs.imageName);
    const { id, outs } = await provider.create(checked.inputs);
    expect(outs).toMatchObject({
      imageId: id,
      layerCount: 1,
      sourceImageId: sourceId,
      sourceLayerCount: 4,
    });
    expect(outs.repoDigest).toBeUndefined();
    expect(await flattenContainers()).toEqual([]);

    const sourceInfo = await docker.getImage(source).inspect();
    const flatInfo = await docker.getImage(`${PREFIX}-flat/app:1`).inspect();
    expect(flatInfo.Id).toBe(id);
    expect(flatInfo.RootFS.Layers).toHaveLength(1);
    expect(outs.size).toBe(flatInfo.Size);
    for (const field of [
      "Cmd",
      "Entrypoint",
      "Env",
      "WorkingDir",
      "ExposedPorts",
      "User",
      "Labels",
      "Volumes",
      "StopSignal",
      "Healthcheck",
    ] as const) {
      expect([field, withoutAttemptLabels(flatInfo.Config, field)]).toEqual([
        field,
        (sourceInfo.Config as unknown as Record<string, unknown>)[field],
      ]);
    }
    // The attempt's own labels (how leftovers are found) are the only addition.
    expect(Object.keys(flatInfo.Config.Labels ?? {}).sort()).toEqual(
      [
        ...Object.keys(sourceInfo.Config.Labels ?? {}),
        engineModule.FLATTEN_ATTEMPT_LABEL,
        engineModule.FLATTEN_OWNER_LABEL,
      ].sort(),
    );
    expect((flatInfo.Config as { StopSignal?: string }).StopSignal).toBe("SIGQUIT");

    expect(await fileTree(id)).toEqual(await fileTree(source));
    const tree = await fileTree(id);
    expect(tree.length).toBeGreaterThan(200); // busybox applets and /app: a real listing
    expect(tree.find((entry) => entry.name === "app/tmp/doomed")).toBeUndefined();
    expect(tree.find((entry) => entry.name === "app/link")).toMatchObject({
      linkname: "/app/hello.txt",
    });

    const ran = await runImage(id);
    expect(ran).toEqual({ code: 0, output: 'hello "quoted" world|$HOME stays literal\nhello\n' });

    // An unchanged source does not replace; the same reference on a rebuilt image does.
    expect(await provider.diff(id, outs, checked.inputs)).toMatchObject({
      changes: false,
      replaces: [],
    });
    await docker.getImage(TEST_IMAGES.busybox).tag({ repo: movingRepo, tag: "1" });
    const rechecked = await provider.check(checked.inputs, inputs);
    expect(rechecked.inputs.sourceImageId).not.toBe(sourceId);
    expect(await provider.diff(id, outs, rechecked.inputs)).toMatchObject({
      changes: true,
      replaces: ["sourceImageId"],
    });

    await provider.delete(id, outs);
    await expect(docker.getImage(id).inspect()).rejects.toMatchObject({ statusCode: 404 });
    expect((await provider.read(id, outs)).id).toBe("");
  });

  it("a flatten that fails midway leaves no container and no image behind", async () => {
    let seen: string | undefined;
    await expect(
      engineModule.flattenImage({
        source,
        imageName: `${PREFIX}-midway:1`,
        onContainerCreated: async (containerId) => {
          seen = containerId;
          // The temporary container exists at this point...
          expect((await flattenContainers()).map((container) => container.Id)).toContain(
            containerId,
          );
          throw new Error("injected failure after the container was created");
        },
      }),
    ).rejects.toThrow("injected failure");
    expect(seen).toBeDefined();
    // ...and is gone after the failure.
    expect(await flattenContainers()).toEqual([]);
    expect(await imagesFlattenedFrom(source)).toEqual([]);
  });

  it("an export the engine refuses fails with the engine's message and leaves nothing behind", async () => {
    await expect(
      engineModule.flattenImage({
        source,
        imageName: `${PREFIX}-noexport:1`,
        // The container vanishes between create and export (as if someone removed it).
        onContainerCreated: async (containerId) => {
          await docker.getContainer(containerId).remove({ force: true, v: true });
        },
      }),
    ).rejects.toThrow(
      /exporting the container of .* failed: .*(No such container|no such container)/,
    );
    expect(await flattenContainers()).toEqual([]);
    expect(await imagesFlattenedFrom(source)).toEqual([]);
    await expect(docker.getImage(`${PREFIX}-noexport:1`).inspect()).rejects.toMatchObject({
      statusCode: 404,
    });
  });

  it("a push that fails after import and tag cleans up too, without leaking the password", async () => {
    const closedPort = 1; // nothing listens on 127.0.0.1:1
    const imageName = `127.0.0.1:${closedPort}/${PREFIX}/unreachable:1`;
    createdImages.add(imageName);
    const error = await engineModule
      .flattenImage({
        source,
        imageName,
        push: true,
        registry: {
          server: `127.0.0.1:${closedPort}`,
          username: "ci",
          password: "never-in-errors-123",
        },
      })
      .catch((caught: Error) => caught);
    expect(error).toBeInstanceOf(Error);
    expect((error as Error).message).toMatch(/pushing .*unreachable:1 failed/);
    expect((error as Error).message).not.toContain("never-in-errors-123");
    expect(await flattenContainers()).toEqual([]);
    // The import and tag had happened; both are undone.
    await expect(docker.getImage(imageName).inspect()).rejects.toMatchObject({ statusCode: 404 });
    expect(await imagesFlattenedFrom(source)).toEqual([]);
  });

  it("keepImage leaves the image on delete", async () => {
    const imageName = `${PREFIX}-kept:1`;
    createdImages.add(imageName);
    const result = await engineModule.flattenImage({ source, imageName });
    await engineModule.flattenProvider.delete(result.imageId, {
      ...result,
      source,
      imageName,
      push: false,
      keepImage: true,
    });
    expect((await docker.getImage(imageName).inspect()).Id).toBe(result.imageId);
  });
});
