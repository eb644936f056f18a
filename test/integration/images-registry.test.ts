/**
 * BuiltImage against a real SecureRegistry that this host trusts (non-loopback address, CA in
 * certs.d): the docker.Image inputs BuiltImage declares under mocks are executed with dockerode's
 * build and push (nothing hand-copied), the `target` stage is the one built, and the pushed image
 * pulls back by its digest through the trusted registry.
 */
import Docker from "dockerode";
import * as fs from "fs";
import * as path from "path";
import * as pulumi from "@pulumi/pulumi";
import { describeWithEngine, TEST_IMAGES } from "../support/engine";
import {
  cleanupAll,
  deployRegistry,
  installCaCert,
  machineAddress,
  makeDockerConfigDir,
  mustRunDocker,
  RegistryDeployment,
  removeImage,
  runDocker,
} from "../support/harness";
import { outputOf, setupMocks, unwrapSecrets } from "../support/mocks";

jest.setTimeout(300_000);

const docker = new Docker();
const fixtures = path.join(__dirname, "../fixtures/images");

interface DeclaredImageInputs {
  imageName: string;
  build: {
    context: string;
    dockerfile: string;
    target?: string;
    args?: Record<string, string>;
    platform?: string;
  };
  registry: { server: string; username: string; password: string };
}

/** Reads a JSON-lines progress stream; rejects on an error line. */
function progress(stream: NodeJS.ReadableStream): Promise<Record<string, unknown>[]> {
  return new Promise((resolve, reject) =>
    docker.modem.followProgress(
      stream,
      (error: Error | null, output: Record<string, unknown>[]) => {
        const failed = output?.find((message) => message.error);
        if (error || failed) reject(error ?? new Error(String(failed?.error)));
        else resolve(output);
      },
    ),
  );
}

/** Builds and pushes exactly what the declared docker.Image inputs say; returns the repo digest. */
async function buildAndPushDeclared(inputs: DeclaredImageInputs): Promise<string> {
  const { context, dockerfile, target, args, platform } = inputs.build;
  await progress(
    await docker.buildImage(
      { context, src: fs.readdirSync(context) },
      {
        t: inputs.imageName,
        dockerfile: path.relative(context, dockerfile),
        target,
        buildargs: args,
        platform,
        rm: true,
        forcerm: true,
      },
    ),
  );
  const colon = inputs.imageName.lastIndexOf(":");
  const repository = inputs.imageName.slice(0, colon);
  const pushed = await progress(
    await docker.getImage(repository).push({
      tag: inputs.imageName.slice(colon + 1),
      authconfig: {
        username: inputs.registry.username,
        password: inputs.registry.password,
        serveraddress: inputs.registry.server,
      },
    }),
  );
  const digest = pushed
    .map((message) => (message.aux as { Digest?: string } | undefined)?.Digest)
    .find(Boolean);
  if (!digest) throw new Error("push reported no digest");
  return `${repository}@${digest}`;
}

async function run(image: string, cmd: string[]): Promise<{ code: number; output: string }> {
  const container = await docker.createContainer({ Image: image, Cmd: cmd, Entrypoint: [] });
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

describeWithEngine("BuiltImage pushed to a trusted SecureRegistry", () => {
  const address = machineAddress();
  let reg: RegistryDeployment;
  let endpoint: string;
  let inputs: DeclaredImageInputs;
  let repoDigest: string;
  let builtId: string;
  let lintFindings: unknown[];

  beforeAll(async () => {
    reg = await deployRegistry(
      { ipAddresses: [address], users: [{ username: "builder" }] },
      { label: "images" },
    );
    endpoint = `${address}:${reg.hostPort}`;
    installCaCert(endpoint, reg.caCertPem);

    // Fresh mocks for the component under test, then the module (mocks first).
    const mocks = setupMocks();
    const { BuiltImage } = require("../../src/images") as typeof import("../../src/images");
    const image = new BuiltImage(`srtest-built-${process.pid}`, {
      context: path.join(fixtures, "multistage"),
      target: "build",
      buildArgs: { GREETING: "hello from the target stage", BASE_IMAGE: TEST_IMAGES.busybox },
      imageName: `srtest/built-${process.pid}:1`,
      registry: {
        endpoint: pulumi.output(endpoint),
        credentials: pulumi.output(reg.credentials),
      },
    });
    lintFindings = await outputOf(image.lintFindings);
    await outputOf(image.imageName);
    inputs = unwrapSecrets(
      mocks.find("docker:index/image:Image", `srtest-built-${process.pid}-image`).inputs,
    ) as DeclaredImageInputs;
    repoDigest = await buildAndPushDeclared(inputs);
    builtId = (await docker.getImage(inputs.imageName).inspect()).Id;
  });

  afterAll(async () => {
    if (inputs?.imageName) await removeImage(inputs.imageName);
    if (repoDigest) await removeImage(repoDigest);
    if (builtId) await removeImage(builtId);
    await cleanupAll();
  });

  it("declares the image under the registry endpoint with the first credential and a pinned platform", () => {
    expect(inputs.imageName).toBe(`${endpoint}/srtest/built-${process.pid}:1`);
    expect(inputs.registry).toEqual({
      server: endpoint,
      username: reg.credentials[0].username,
      password: reg.credentials[0].password,
    });
    expect(inputs.build.platform).toBe("linux/amd64");
    expect(Object.keys(inputs.build.args ?? {})).toEqual(["BASE_IMAGE", "GREETING"]);
    expect(lintFindings).toEqual([]);
  });

  it("builds the target stage, not the last one", async () => {
    expect(await run(builtId, ["cat", "/out/stage.txt"])).toEqual({
      code: 0,
      output: "build stage: hello from the target stage\n",
    });
    expect(await run(builtId, ["cat", "/out/payload.txt"])).toEqual({
      code: 0,
      output: "payload from the build context\n",
    });
    expect((await run(builtId, ["test", "-e", "/srv/runtime-marker"])).code).toBe(1);
    const info = await docker.getImage(builtId).inspect();
    expect(`${info.Os}/${info.Architecture}`).toBe(inputs.build.platform);
  });

  it("pulls back by digest through the trusted registry", async () => {
    const { dir } = makeDockerConfigDir();
    const login = await runDocker(
      ["login", endpoint, "--username", inputs.registry.username, "--password-stdin"],
      { configDir: dir, input: inputs.registry.password, timeoutMs: 60_000 },
    );
    expect(login.stderr).not.toMatch(/unknown authority/);
    expect(login.code).toBe(0);
    await removeImage(inputs.imageName);
    await removeImage(builtId);
    await expect(docker.getImage(builtId).inspect()).rejects.toMatchObject({ statusCode: 404 });
    await mustRunDocker(["pull", repoDigest], { configDir: dir });
    expect((await docker.getImage(repoDigest).inspect()).Id).toBe(builtId);
  });

  it("records size and layer count from the engine (what the ImageFacts resource stores)", async () => {
    const { imageFacts } =
      require("../../src/images/engine") as typeof import("../../src/images/engine");
    const facts = await imageFacts(repoDigest);
    const info = await docker.getImage(repoDigest).inspect();
    expect(facts).toEqual({
      image: repoDigest,
      imageId: builtId,
      size: info.Size,
      layerCount: info.RootFS.Layers?.length,
      architecture: "amd64",
      os: "linux",
      engineAddress: process.env.DOCKER_HOST || "unix:///var/run/docker.sock",
    });
    expect(facts.layerCount).toBe(3); // busybox + RUN + COPY
  });

  it("FlattenedImage pushes a one-layer copy with the registry's credentials; it pulls back by digest", async () => {
    const { flattenProvider } =
      require("../../src/images/engine") as typeof import("../../src/images/engine");
    const flatName = `${endpoint}/srtest/flat-${process.pid}:1`;
    const { id, outs } = await flattenProvider.create({
      source: repoDigest,
      imageName: flatName,
      push: true,
      keepImage: false,
      registry: inputs.registry,
    });
    try {
      expect(outs.repoDigest).toMatch(
        new RegExp(`^${endpoint}/srtest/flat-${process.pid}@sha256:[0-9a-f]{64}$`),
      );
      expect(outs.layerCount).toBe(1);
      expect(outs.sourceLayerCount).toBe(3);
      expect(JSON.stringify(outs)).not.toContain(inputs.registry.password);
      await flattenProvider.delete(id, outs);
      await expect(docker.getImage(id).inspect()).rejects.toMatchObject({ statusCode: 404 });
      const { dir } = makeDockerConfigDir();
      await mustRunDocker(
        ["login", endpoint, "--username", inputs.registry.username, "--password-stdin"],
        { configDir: dir, input: inputs.registry.password },
      );
      await mustRunDocker(["pull", outs.repoDigest!], { configDir: dir });
      const pulled = await docker.getImage(outs.repoDigest!).inspect();
      expect(pulled.RootFS.Layers).toHaveLength(1);
      expect(await run(outs.repoDigest!, ["cat", "/out/stage.txt"])).toEqual({
        code: 0,
        output: "build stage: hello from the target stage\n",
      });
    } finally {
      await removeImage(flatName);
      if (outs.repoDigest) await removeImage(outs.repoDigest);
      await removeImage(id);
    }
  });
});
