/**
 * RegistryFlattenedImage end to end between two real SecureRegistry deployments (TLS + htpasswd,
 * run by the harness from what the component declares), no Docker engine in the flatten itself:
 *  - a 4-layer image built here with the classic builder (deletions, an opaque directory, symlinks,
 *    hard links whose target changed, a file replaced by a directory and the reverse, a full
 *    config) is pushed to the source registry;
 *  - the component is declared under mocks with the registries' own outputs, and its serialized
 *    provider (what Pulumi stores) runs `check` and `create`;
 *  - the result is pulled by the engine and compared with the seed pipeline's image
 *    (`docker create` + `docker export | docker import`): same file tree (names, types, modes,
 *    owners, sizes, link targets), the source's config kept (which the seed pipeline loses); it runs;
 *  - a second run gives the same digest;
 *  - an OCI index (two platforms and an attestation, built here with the client) gives an index;
 *  - a failure midway (the source registry goes away) leaves the destination tag as it was.
 */
import { spawnSync } from "child_process";
import Docker from "dockerode";
import * as path from "path";
import * as pulumi from "@pulumi/pulumi";
import * as tar from "tar-stream";
import { describeWithEngine, TEST_IMAGES } from "../support/engine";
import {
  cleanupAll,
  deployRegistry,
  installCaCert,
  machineAddress,
  makeDockerConfigDir,
  mustRunDocker,
  OWNER_LABEL,
  PID_LABEL,
  RegistryDeployment,
  removeImage,
  RUN_PREFIX,
} from "../support/harness";
import { outputOf, setupMocks, unwrapSecrets } from "../support/mocks";
import { loadDynamicProvider } from "./images-support";
import type { RegistryFlattenInputs, RegistryFlattenOutputs } from "../../src/images/oci/provider";

jest.setTimeout(600_000);

const docker = new Docker();
const fixture = path.join(__dirname, "../fixtures/oci/layers");

interface Row {
  name: string;
  type: string;
  mode: string;
  owner: string;
  size: number;
  link: string;
}

/** The file tree of an image as `docker export` of a created container shows it. */
async function listImage(image: string): Promise<Row[]> {
  const container = await docker.createContainer({ Image: image, Cmd: ["true"], Entrypoint: [] });
  try {
    const exported = (await container.export()) as NodeJS.ReadableStream;
    const extract = tar.extract();
    exported.pipe(extract as unknown as NodeJS.WritableStream);
    const rows: Row[] = [];
    for await (const entry of extract) {
      const h = entry.header;
      rows.push({
        name: h.name.replace(/\/$/, ""),
        type: h.type,
        mode: (h.mode & 0o7777).toString(8),
        owner: `${h.uid}:${h.gid}`,
        size: h.size,
        link: h.linkname ?? "",
      });
      entry.resume();
    }
    return rows.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  } finally {
    await container.remove({ force: true, v: true });
  }
}

async function run(image: string): Promise<{ code: number; output: string }> {
  const container = await docker.createContainer({ Image: image });
  try {
    await container.start();
    const { StatusCode } = (await container.wait()) as { StatusCode: number };
    const logs = (await container.logs({ stdout: true, stderr: true })) as Buffer;
    let output = "";
    for (let offset = 0; offset + 8 <= logs.length;) {
      const length = logs.readUInt32BE(offset + 4);
      output += logs.subarray(offset + 8, offset + 8 + length).toString();
      offset += 8 + length;
    }
    return { code: StatusCode, output };
  } finally {
    await container.remove({ force: true, v: true });
  }
}

const KEPT_CONFIG = [
  "Env",
  "Cmd",
  "Entrypoint",
  "WorkingDir",
  "User",
  "ExposedPorts",
  "Volumes",
  "Labels",
  "StopSignal",
  "Healthcheck",
  "OnBuild",
  "Shell",
] as const;

describeWithEngine("RegistryFlattenedImage between two SecureRegistry deployments", () => {
  const address = machineAddress();
  const oci = require("../../src/images/oci") as typeof import("../../src/images/oci");
  let source: RegistryDeployment;
  let destination: RegistryDeployment;
  let sourceEndpoint: string;
  let destinationEndpoint: string;
  let configDir: string;
  const localTag = `${RUN_PREFIX}-flatten-src:1`.toLowerCase();
  const seedTag = `${RUN_PREFIX}-flatten-seed:1`.toLowerCase();
  const repository = `srtest/${RUN_PREFIX}`;
  const pulled: string[] = [];
  let provider: typeof oci.registryFlattenProvider;
  let inputs: RegistryFlattenInputs;
  let first: RegistryFlattenOutputs;

  const loginTo = async (endpoint: string, reg: RegistryDeployment) =>
    mustRunDocker(
      ["login", endpoint, "--username", reg.credentials[0].username, "--password-stdin"],
      { configDir, input: reg.credentials[0].password },
    );
  const clientFor = (endpoint: string, reg: RegistryDeployment) =>
    oci.createRegistryClient({
      server: endpoint,
      username: reg.credentials[0].username,
      password: reg.credentials[0].password,
      caCertPem: reg.caCertPem,
    });
  const pull = async (ref: string) => {
    pulled.push(ref);
    await mustRunDocker(["pull", ref], { configDir });
  };

  beforeAll(async () => {
    source = await deployRegistry(
      { ipAddresses: [address], users: [{ username: "reader" }] },
      { label: "flat-src" },
    );
    destination = await deployRegistry(
      { ipAddresses: [address], users: [{ username: "writer" }] },
      { label: "flat-dst" },
    );
    sourceEndpoint = `${address}:${source.hostPort}`;
    destinationEndpoint = `${address}:${destination.hostPort}`;
    installCaCert(sourceEndpoint, source.caCertPem);
    installCaCert(destinationEndpoint, destination.caCertPem);
    configDir = makeDockerConfigDir().dir;
    await loginTo(sourceEndpoint, source);
    await loginTo(destinationEndpoint, destination);

    await mustRunDocker(
      [
        "build",
        "-q",
        "--build-arg",
        `BASE_IMAGE=${TEST_IMAGES.busybox}`,
        "--label",
        `${OWNER_LABEL}=harness`,
        "--label",
        `${PID_LABEL}=${process.pid}`,
        "-t",
        localTag,
        fixture,
      ],
      { configDir },
    );
    await mustRunDocker(["tag", localTag, `${sourceEndpoint}/${repository}/app:1`], { configDir });
    await mustRunDocker(["push", `${sourceEndpoint}/${repository}/app:1`], { configDir });

    // What users write: the registries' own outputs, the source without its host.
    const mocks = setupMocks();
    const { RegistryFlattenedImage } =
      require("../../src/images") as typeof import("../../src/images");
    const flat = new RegistryFlattenedImage(`${RUN_PREFIX}-flat`, {
      source: `${repository}/app:1`,
      sourceRegistry: {
        endpoint: pulumi.output(sourceEndpoint),
        credentials: pulumi.output(source.credentials),
        caCertPem: pulumi.output(source.caCertPem),
      },
      imageName: `${repository}/flat:1`,
      registry: {
        endpoint: pulumi.output(destinationEndpoint),
        credentials: pulumi.output(destination.credentials),
        caCertPem: pulumi.output(destination.caCertPem),
      },
    });
    await outputOf(flat.repoDigest);
    inputs = unwrapSecrets(
      mocks.find(
        "pulumi-nodejs:dynamic/secure-registry:RegistryFlattenedImage",
        `${RUN_PREFIX}-flat-flatten`,
      ).inputs,
    ) as unknown as RegistryFlattenInputs;
    const serialized = await pulumi.runtime.serializeFunction(() => oci.registryFlattenProvider, {
      allowSecrets: false,
    });
    provider = loadDynamicProvider<typeof oci.registryFlattenProvider>(serialized.text);
    const checked = await provider.check({} as never, inputs);
    expect(checked.failures).toBeUndefined();
    first = (await provider.create(checked.inputs as RegistryFlattenInputs)).outs;

    // The seed pipeline, from the same local image.
    const seed = spawnSync(
      "sh",
      [
        "-c",
        'set -e; cid=$(docker create "$1" true); trap \'docker rm -f -v "$cid" >/dev/null\' EXIT; docker export "$cid" | docker import - "$2" >/dev/null',
        "sh",
        localTag,
        seedTag,
      ],
      { encoding: "utf8", timeout: 300_000 },
    );
    if (seed.status !== 0) throw new Error(`seed pipeline failed: ${seed.stderr}`);
  });

  afterAll(async () => {
    for (const ref of [localTag, seedTag, `${sourceEndpoint}/${repository}/app:1`, ...pulled]) {
      await removeImage(ref).catch(() => undefined);
    }
    await cleanupAll();
  });

  it("writes a one-layer image in the source's flavour and records what it did, without secrets", async () => {
    expect(first.imageName).toBe(`${destinationEndpoint}/${repository}/flat:1`);
    expect(first.repoDigest).toBe(`${destinationEndpoint}/${repository}/flat@${first.digest}`);
    expect(first.mediaType).toBe(oci.MEDIA_TYPES.dockerManifest);
    expect(first.sourceLayerCount).toBe(4);
    expect(first.layerCount).toBe(1);
    expect(first.platformDigests).toEqual({ "linux/amd64": first.digest });
    expect(first.platforms[0].droppedEntries).toBeGreaterThan(0);
    const state = JSON.stringify(first);
    for (const reg of [source, destination])
      expect(state).not.toContain(reg.credentials[0].password);
    const registry = clientFor(destinationEndpoint, destination);
    try {
      const manifest = await registry.getManifest(`${repository}/flat`, "1");
      expect(manifest.digest).toBe(first.digest);
      expect((manifest.json.layers as unknown[]).length).toBe(1);
    } finally {
      await registry.close();
    }
  });

  it("pulls back with the seed pipeline's file tree and the source's whole config; it runs", async () => {
    await pull(first.repoDigest);
    const [ours, seed] = await Promise.all([listImage(first.repoDigest), listImage(seedTag)]);
    expect(ours).toEqual(seed);
    const byName = Object.fromEntries(ours.map((row) => [row.name, row]));
    // The cases the fixture builds, as the merged file system has them.
    expect(byName["data/gone"]).toBeUndefined();
    expect(byName["data/opq/a"]).toBeUndefined();
    expect(byName["data/opq/c"]).toMatchObject({ type: "file" });
    expect(byName["data/file2dir"]).toMatchObject({ type: "directory" });
    expect(byName["data/dir2file"]).toMatchObject({ type: "file" });
    expect(byName["data/dir2file/z"]).toBeUndefined();
    expect(byName["data/sym"]).toMatchObject({ type: "symlink", link: "/data/file" });
    expect(byName["data/file"]).toMatchObject({ mode: "0" });
    expect(byName["data/keep"]).toMatchObject({ owner: "1234:5678" });
    expect(byName["data/pair1"]).toMatchObject({ mode: "4755" });
    expect(byName["data/pair2"]).toMatchObject({ mode: "644", size: 5 });
    expect(byName["data/kept2"]).toMatchObject({ type: "link", link: "data/kept1" });
    expect(byName["bin/vi"]).toBeUndefined();

    const [flat, original, seedInfo] = await Promise.all([
      docker.getImage(first.repoDigest).inspect(),
      docker.getImage(localTag).inspect(),
      docker.getImage(seedTag).inspect(),
    ]);
    for (const key of KEPT_CONFIG) {
      expect([key, flat.Config[key as keyof typeof flat.Config]]).toEqual([
        key,
        original.Config[key as keyof typeof original.Config],
      ]);
    }
    expect(flat.Created).toBe(original.Created);
    expect(flat.RootFS.Layers).toHaveLength(1);
    // What the seed pipeline loses.
    expect(seedInfo.Config.Cmd ?? null).toBeNull();
    expect(seedInfo.Created).not.toBe(original.Created);

    expect(await run(first.repoDigest)).toEqual({
      code: 0,
      output: "hello\nshared\nsame\n",
    });
  });

  it("gives the same digest on a second run (and the provider sees no change)", async () => {
    const checked = await provider.check({} as never, inputs);
    expect(await provider.diff("id", first, checked.inputs as RegistryFlattenInputs)).toEqual({
      changes: false,
      replaces: [],
      deleteBeforeReplace: false,
    });
    const again = (await provider.update("id", first, checked.inputs as RegistryFlattenInputs))
      .outs;
    expect(again.digest).toBe(first.digest);
    expect(again.platforms[0].diffId).toBe(first.platforms[0].diffId);
  });

  it("flattens an OCI index into an index, per platform; attestations dropped by default, kept on request", async () => {
    const registry = clientFor(sourceEndpoint, source);
    const repo = `${repository}/app`;
    let indexDigest: string;
    let attestationDigest: string;
    try {
      const docker2 = await registry.getManifest(repo, "1");
      const layers = (docker2.json.layers as { digest: string; size: number }[]).map((layer) => ({
        mediaType: oci.MEDIA_TYPES.ociLayerGzip,
        digest: layer.digest,
        size: layer.size,
      }));
      const config = JSON.parse(
        (
          await registry.getBlobBytes(repo, (docker2.json.config as { digest: string }).digest)
        ).toString(),
      );
      const manifestFor = async (cfg: object) => {
        const blob = await registry.uploadBytes(repo, Buffer.from(JSON.stringify(cfg)));
        const bytes = Buffer.from(
          JSON.stringify({
            schemaVersion: 2,
            mediaType: oci.MEDIA_TYPES.ociManifest,
            config: { mediaType: oci.MEDIA_TYPES.ociConfig, ...blob },
            layers,
          }),
        );
        const digest = await registry.putManifest(
          repo,
          oci.sha256Digest(bytes),
          oci.MEDIA_TYPES.ociManifest,
          bytes,
        );
        return { mediaType: oci.MEDIA_TYPES.ociManifest, digest, size: bytes.length };
      };
      const amd64 = await manifestFor(config);
      const arm64 = await manifestFor({ ...config, architecture: "arm64", variant: "v8" });
      const statement = await registry.uploadBytes(
        repo,
        Buffer.from(JSON.stringify({ _type: "https://in-toto.io/Statement/v0.1", subject: [] })),
      );
      const attestationConfig = await registry.uploadBytes(
        repo,
        Buffer.from(
          JSON.stringify({
            architecture: "unknown",
            os: "unknown",
            config: {},
            rootfs: { type: "layers", diff_ids: [statement.digest] },
          }),
        ),
      );
      const attestationBytes = Buffer.from(
        JSON.stringify({
          schemaVersion: 2,
          mediaType: oci.MEDIA_TYPES.ociManifest,
          config: { mediaType: oci.MEDIA_TYPES.ociConfig, ...attestationConfig },
          layers: [{ mediaType: "application/vnd.in-toto+json", ...statement }],
        }),
      );
      attestationDigest = await registry.putManifest(
        repo,
        oci.sha256Digest(attestationBytes),
        oci.MEDIA_TYPES.ociManifest,
        attestationBytes,
      );
      const index = Buffer.from(
        JSON.stringify({
          schemaVersion: 2,
          mediaType: oci.MEDIA_TYPES.ociIndex,
          manifests: [
            { ...amd64, platform: { architecture: "amd64", os: "linux" } },
            { ...arm64, platform: { architecture: "arm64", os: "linux", variant: "v8" } },
            {
              mediaType: oci.MEDIA_TYPES.ociManifest,
              digest: attestationDigest,
              size: attestationBytes.length,
              platform: { architecture: "unknown", os: "unknown" },
              annotations: {
                "vnd.docker.reference.digest": amd64.digest,
                "vnd.docker.reference.type": "attestation-manifest",
              },
            },
          ],
        }),
      );
      indexDigest = await registry.putManifest(repo, "multi", oci.MEDIA_TYPES.ociIndex, index);
    } finally {
      await registry.close();
    }

    const sides = {
      source: {
        reference: `${sourceEndpoint}/${repo}:multi`,
        username: source.credentials[0].username,
        password: source.credentials[0].password,
        caCertPem: source.caCertPem,
      },
      destination: {
        reference: `${destinationEndpoint}/${repository}/multi:1`,
        username: destination.credentials[0].username,
        password: destination.credentials[0].password,
        caCertPem: destination.caCertPem,
      },
    };
    const dropped = await oci.flattenBetweenRegistries(sides);
    expect(dropped.sourceDigest).toBe(indexDigest);
    expect(dropped.mediaType).toBe(oci.MEDIA_TYPES.ociIndex);
    expect(dropped.attestationsDropped).toBe(1);
    expect(dropped.platforms.map((p) => p.platform)).toEqual(["linux/amd64", "linux/arm64/v8"]);
    // Same files on both platforms: the same layer, two configs.
    expect(dropped.platforms[0].diffId).toBe(dropped.platforms[1].diffId);
    expect(dropped.platforms[0].digest).not.toBe(dropped.platforms[1].digest);

    const target = clientFor(destinationEndpoint, destination);
    try {
      const written = await target.getManifest(`${repository}/multi`, "1");
      const entries = written.json.manifests as { digest: string; platform: object }[];
      expect(entries.map((e) => e.platform)).toEqual([
        { architecture: "amd64", os: "linux" },
        { architecture: "arm64", os: "linux", variant: "v8" },
      ]);
      const arm = await target.getManifest(`${repository}/multi`, entries[1].digest);
      expect(arm.mediaType).toBe(oci.MEDIA_TYPES.ociManifest);
      expect(arm.json.layers as unknown[]).toHaveLength(1);
      const armConfig = JSON.parse(
        (
          await target.getBlobBytes(
            `${repository}/multi`,
            (arm.json.config as { digest: string }).digest,
          )
        ).toString(),
      );
      expect([armConfig.architecture, armConfig.variant]).toEqual(["arm64", "v8"]);

      const kept = await oci.flattenBetweenRegistries({
        ...sides,
        destination: {
          ...sides.destination,
          reference: `${destinationEndpoint}/${repository}/multi:att`,
        },
        keepAttestations: true,
      });
      expect(kept.attestationsKept).toBe(1);
      const withAttestation = await target.getManifest(`${repository}/multi`, "att");
      const last = (withAttestation.json.manifests as { digest: string }[])[2];
      expect(last.digest).toBe(attestationDigest);
      expect(await target.headManifest(`${repository}/multi`, attestationDigest)).toBeDefined();
      // Deterministic across runs: the platform images are the ones written before.
      expect(kept.platforms.map((p) => p.digest)).toEqual(dropped.platforms.map((p) => p.digest));
    } finally {
      await target.close();
    }
    // The engine pulls the index (its linux/amd64 image) and runs it.
    await pull(`${destinationEndpoint}/${repository}/multi@${dropped.digest}`);
    expect((await run(`${destinationEndpoint}/${repository}/multi@${dropped.digest}`)).code).toBe(
      0,
    );
  });

  it("a failure midway (the source registry goes away) leaves the destination tag as it was", async () => {
    const sides = {
      source: {
        reference: `${sourceEndpoint}/${repository}/app:1`,
        username: source.credentials[0].username,
        password: source.credentials[0].password,
        caCertPem: source.caCertPem,
      },
      destination: {
        reference: `${destinationEndpoint}/${repository}/flat:1`,
        username: destination.credentials[0].username,
        password: destination.credentials[0].password,
        caCertPem: destination.caCertPem,
      },
    };
    const target = clientFor(destinationEndpoint, destination);
    try {
      // The tag holds the first run's image; a flatten into it fails midway.
      const before = await target.headManifest(`${repository}/flat`, "1");
      expect(before?.digest).toBe(first.digest);
      let layersDone = 0;
      const failure = await oci
        .flattenBetweenRegistries({
          ...sides,
          compressionLevel: 1, // another level: the result would have another digest
          onLayer: async () => {
            layersDone += 1;
            if (layersDone === 1) await source.destroy();
          },
        })
        .then(
          () => undefined,
          (error: Error) => error,
        );
      expect(failure).toBeInstanceOf(Error);
      expect(layersDone).toBe(1);
      for (const reg of [source, destination]) {
        expect(String(failure?.message)).not.toContain(reg.credentials[0].password);
      }
      expect((await target.headManifest(`${repository}/flat`, "1"))?.digest).toBe(first.digest);
    } finally {
      await target.close();
    }
  });
});
