/**
 * Nothing lost, nothing leaked (issue 9, "Images"), on the real engine:
 *  - a flatten killed (SIGKILL, as `pulumi cancel` or a crash) after its import leaves a labelled
 *    container and image; the next attempt of the same owner removes both;
 *  - an import whose reply is lost (a proxy in front of the engine swallows it) leaks no image;
 *  - a push that fails after the tag moved puts the tag back on the image that had it.
 */
import { spawn } from "child_process";
import Docker from "dockerode";
import * as fs from "fs";
import * as net from "net";
import * as os from "os";
import * as path from "path";
import { describeWithEngine, TEST_IMAGES } from "../support/engine";
import { resolveEngine } from "../../src/engine/connection";
import * as engineModule from "../../src/images/engine";

jest.setTimeout(180_000);

const docker = new Docker();
const PREFIX = `srtest-leftovers-${process.pid}`;
const REPO = path.resolve(__dirname, "..", "..");
const created = new Set<string>();

async function byOwner(owner: string): Promise<{ containers: string[]; images: string[] }> {
  const filters = JSON.stringify({
    label: [`${engineModule.FLATTEN_OWNER_LABEL}=${engineModule.ownerLabel(owner)}`],
  });
  const containers = await docker.listContainers({ all: true, filters });
  const images = await docker.listImages({ all: true, filters });
  return { containers: containers.map((c) => c.Id), images: images.map((i) => i.Id) };
}

async function removeOwned(owner: string): Promise<void> {
  const { containers, images } = await byOwner(owner);
  for (const id of containers) {
    await docker
      .getContainer(id)
      .remove({ force: true, v: true })
      .catch(() => undefined);
  }
  for (const id of images.reverse()) {
    await docker
      .getImage(id)
      .remove({ force: true })
      .catch(() => undefined);
  }
}

describeWithEngine("flatten leftovers on the real engine", () => {
  const source = `${PREFIX}-source:1`;
  const owners: string[] = [];

  beforeAll(async () => {
    await docker.getImage(TEST_IMAGES.busybox).tag({ repo: `${PREFIX}-source`, tag: "1" });
    created.add(source);
  });
  afterAll(async () => {
    for (const owner of owners) await removeOwned(owner);
    for (const ref of [...created].reverse()) {
      await docker
        .getImage(ref)
        .remove({ force: true })
        .catch(() => undefined);
    }
  });

  it("a flatten killed after its import leaves labelled leftovers; the next attempt removes them", async () => {
    const owner = `urn:test::${PREFIX}-killed`;
    owners.push(owner);
    const imageName = `${PREFIX}-killed:1`;
    created.add(imageName);
    // A separate process, killed with SIGKILL once the import made its image: nothing of its
    // own cleanup runs.
    const script = `
require("ts-node").register({ transpileOnly: true, project: ${JSON.stringify(path.join(REPO, "tsconfig.json"))} });
const { flattenImage } = require(${JSON.stringify(path.join(REPO, "src/images/engine/flatten.ts"))});
flattenImage({
  source: ${JSON.stringify(source)},
  imageName: ${JSON.stringify(imageName)},
  owner: ${JSON.stringify(owner)},
  onImported: (id) => { process.stdout.write("imported " + id + "\\n"); return new Promise(() => {}); },
}).catch((e) => { console.error(e); process.exit(1); });
`;
    const child = spawn(process.execPath, ["-e", script], {
      cwd: REPO,
      stdio: ["ignore", "pipe", "pipe"],
    });
    let stderr = "";
    child.stderr.on("data", (data: Buffer) => (stderr += data.toString()));
    const importedId = await new Promise<string>((resolve, reject) => {
      const timer = setTimeout(
        () => reject(new Error(`no import within 120 s: ${stderr}`)),
        120_000,
      );
      let out = "";
      child.stdout.on("data", (data: Buffer) => {
        out += data.toString();
        const match = /imported (sha256:[0-9a-f]{64})/.exec(out);
        if (match) {
          clearTimeout(timer);
          resolve(match[1]);
        }
      });
      child.on("exit", (code) => {
        clearTimeout(timer);
        reject(new Error(`the flatten process exited (${code}) before its import: ${stderr}`));
      });
    });
    child.kill("SIGKILL");
    await new Promise((resolve) => child.once("exit", resolve));

    const leftovers = await byOwner(owner);
    expect(leftovers.containers).toHaveLength(1);
    expect(leftovers.images).toEqual([importedId]);

    const result = await engineModule.flattenImage({ source, imageName, owner });
    const after = await byOwner(owner);
    expect(after.containers).toEqual([]);
    expect(after.images).toEqual([result.imageId]);
    await expect(docker.getImage(importedId).inspect()).rejects.toMatchObject({ statusCode: 404 });
    expect((await docker.getImage(imageName).inspect()).Id).toBe(result.imageId);
  });

  it("an import whose reply is lost leaks no image", async () => {
    const owner = `urn:test::${PREFIX}-lost-reply`;
    owners.push(owner);
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "lost-reply-"));
    const proxyPath = path.join(dir, "docker.sock");
    const engineSocket = resolveEngine(undefined).transport;
    if (engineSocket.kind !== "unix") throw new Error("this test needs a unix-socket engine");
    let swallowed = 0;
    // Forwards every connection to the engine; for the import, forwards the request but drops
    // the engine's answer and then the connection, as a network failure would.
    const proxy = net.createServer((client) => {
      const upstream = net.connect(engineSocket.socketPath);
      client.once("data", (first: Buffer) => {
        const isImport = /^POST [^ ]*\/images\/create\?fromSrc=-/.test(first.toString("latin1"));
        upstream.write(first);
        client.pipe(upstream);
        if (isImport) {
          // The engine keeps the connection open: the answer is complete at its last chunk.
          let tail = "";
          upstream.on("data", (data: Buffer) => {
            tail = (tail + data.toString("latin1")).slice(-5);
            if (tail === "0\r\n\r\n") {
              swallowed++;
              client.destroy();
              upstream.destroy();
            }
          });
        } else {
          upstream.pipe(client);
        }
      });
      client.on("error", () => upstream.destroy());
      upstream.on("error", () => client.destroy());
    });
    await new Promise<void>((resolve) => proxy.listen(proxyPath, resolve));
    try {
      const imageName = `${PREFIX}-lost:1`;
      created.add(imageName);
      await expect(
        engineModule.flattenImage({
          source,
          imageName,
          owner,
          connection: { host: `unix://${proxyPath}` },
        }),
      ).rejects.toThrow(/importing the export of .* failed/);
      expect(swallowed).toBe(1);
      expect(await byOwner(owner)).toEqual({ containers: [], images: [] });
      await expect(docker.getImage(imageName).inspect()).rejects.toMatchObject({
        statusCode: 404,
      });
    } finally {
      await new Promise((resolve) => proxy.close(resolve));
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  it("a push that fails after tagging puts the tag back on the image it replaced", async () => {
    const owner = `urn:test::${PREFIX}-push`;
    owners.push(owner);
    // Nothing listens on 127.0.0.1:1: the push fails after the tag moved.
    const imageName = `127.0.0.1:1/${PREFIX}/kept:1`;
    created.add(imageName);
    const first = await engineModule.flattenImage({ source, imageName, owner });
    await expect(
      engineModule.flattenImage({
        source,
        imageName,
        owner,
        push: true,
        registry: { server: "127.0.0.1:1", username: "ci", password: "never-shown-42" },
      }),
    ).rejects.toThrow(/pushing .* failed/);
    expect((await docker.getImage(imageName).inspect()).Id).toBe(first.imageId);
    // Only the first image is left of this owner's attempts.
    expect(await byOwner(owner)).toEqual({ containers: [], images: [first.imageId] });
  });
});
