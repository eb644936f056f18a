/**
 * Issue 11 item 1 on a simulated remote host H1 (its own dockerd and image store, reached over ssh
 * or through its socket): components declared with a docker provider for H1 act on H1's engine,
 * never on the local one. FlattenedImage's and ImageFacts' dynamic providers are taken from what
 * the components declare under mocks (the serialized `__provider` and the declared engine inputs)
 * and run as Pulumi would. SecureRegistry's declared docker resources all carry H1's provider and
 * are run on H1's engine as that provider would (harness `runDeclared` with H1's dockerode): the
 * registry turns healthy there (its HealthyContainer's provider, rebuilt from its stored text,
 * waits for it on H1 over ssh), serves TLS (verified with its `caCertPem`) and htpasswd auth on
 * H1's address, the local engine gets no container or volume, and destroy leaves nothing on H1.
 */
import * as docker from "@pulumi/docker";
import Docker from "dockerode";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { describeWithTestHosts, startTestHosts, TestHost, TestHostsRun } from "../support/hosts";
import { TEST_IMAGES } from "../support/engine";
import {
  cleanupAll,
  Credential,
  declaredChildren,
  freePort,
  resolveOutputs,
  runDeclared,
  uniqueName,
} from "../support/harness";
import { outputOf, setupMocks, unwrapSecrets } from "../support/mocks";
import { registryRequest } from "../support/probes";
import { loadDynamicProvider } from "./images-support";

jest.setTimeout(400_000);

const local = new Docker();
/** Image IDs in H1's engine: what the docker provider's RemoteImage reads there. */
const imageIdsOnH1 = new Map<string, string>();
const mocks = setupMocks({ resolveImageId: (name) => imageIdsOnH1.get(name) });
// Record which provider each declared resource uses (the mocks keep only inputs).
const providerOf = new Map<string, string | undefined>();
const declare = mocks.newResource.bind(mocks);
mocks.newResource = (args) => {
  providerOf.set(`${args.type} ${args.name}`, args.provider);
  return declare(args);
};
const images = require("../../src/images") as typeof import("../../src/images");
const engineModule = require("../../src/images/engine") as typeof import("../../src/images/engine");
const { SecureRegistry } = require("../../src/registry") as typeof import("../../src/registry");
type HealthyContainerProvider =
  typeof import("../../src/engine/health-provider").healthyContainerProvider;

type Provider<T> = T & { check(olds: unknown, news: unknown): Promise<{ inputs: never }> };

/** The dynamic resource `type`/`name` as declared: its provider (rebuilt from state text) and inputs. */
function declared<T>(type: string, name: string): { provider: Provider<T>; inputs: never } {
  const resource = mocks.find(`pulumi-nodejs:dynamic/secure-registry:${type}`, name);
  const inputs = unwrapSecrets(resource.inputs) as Record<string, unknown>;
  const provider = loadDynamicProvider<Provider<T>>(String(inputs.__provider));
  delete inputs.__provider;
  return { provider, inputs: inputs as never };
}

async function localHas(ref: string): Promise<boolean> {
  return local
    .getImage(ref)
    .inspect()
    .then(
      () => true,
      () => false,
    );
}

describeWithTestHosts("images follow the docker provider to a remote host", () => {
  let run: TestHostsRun;
  let h1: TestHost;
  let h1Engine: Docker;
  const onlyOnH1 = `srtest-remote/only-h1-${process.pid}:1`;

  beforeAll(async () => {
    run = await startTestHosts(["h1"], {
      label: "images",
      images: [TEST_IMAGES.busybox, TEST_IMAGES.registry],
    });
    h1 = run.host("h1");
    h1Engine = h1.dockerode();
    imageIdsOnH1.set(
      TEST_IMAGES.registry,
      (await h1Engine.getImage(TEST_IMAGES.registry).inspect()).Id,
    );
    await h1Engine.getImage(TEST_IMAGES.busybox).tag({
      repo: onlyOnH1.split(":")[0],
      tag: "1",
    });
  });
  afterAll(async () => {
    await cleanupAll();
  });
  beforeEach(() => mocks.clear());

  it("FlattenedImage with a provider for ssh://root@H1 flattens on H1's engine, not the local one", async () => {
    expect(await localHas(onlyOnH1)).toBe(false);
    const h1Provider = new docker.Provider("h1-ssh", { host: h1.dockerHost });
    const flat = new images.FlattenedImage(
      "remote-flat",
      { source: onlyOnH1, imageName: `srtest-remote/flat-${process.pid}:1` },
      { provider: h1Provider },
    );
    await outputOf(flat.imageId);
    const { provider, inputs } = declared<typeof engineModule.flattenProvider>(
      "FlattenedImage",
      "remote-flat-flatten",
    );
    expect((inputs as { engine: unknown }).engine).toEqual({ host: h1.dockerHost });
    // The run's key and known_hosts, as DOCKER_SSH_OPTS would give them (jest's sandboxed
    // process.env does not reach the provider rebuilt from its text, which runs outside it).
    const withSsh = {
      ...(inputs as object),
      engine: { host: h1.dockerHost, sshOpts: ["-F", run.client.sshConfigPath] },
    } as never;
    const checked = await provider.check({}, withSsh);
    const { id, outs } = await provider.create(checked.inputs);
    try {
      expect(outs.engineAddress).toBe(h1.dockerHost);
      expect(outs.layerCount).toBe(1);
      const onH1 = await h1Engine.getImage(`srtest-remote/flat-${process.pid}:1`).inspect();
      expect(onH1.Id).toBe(id);
      expect(await localHas(id)).toBe(false);
      expect((await provider.read(id, outs)).id).toBe(id);
    } finally {
      await provider.delete(id, outs);
    }
    await expect(h1Engine.getImage(id).inspect()).rejects.toMatchObject({ statusCode: 404 });
  });

  /**
   * Runs `flatten` while killing, up to `cuts` times, H1's `docker system dial-stdio` process that
   * carries the export (the older of the two that exist only while an export streams into an
   * import): the ssh session drops as it would on a network or sshd failure.
   */
  async function flattenWhileCutting<T>(
    flatten: () => Promise<T>,
    cuts: number,
  ): Promise<{ result: PromiseSettledResult<T>; killed: number }> {
    // H1's `docker system dial-stdio` processes (one per ssh connection), oldest first. Read from
    // /proc alone (no process spawned per poll), so a poll takes milliseconds even under load.
    const h1Net = `net:[${fs.statSync(`/run/netns/${h1.netns}`).ino}]`;
    const dialStdio = (): { pid: number; started: number }[] => {
      const found: { pid: number; started: number }[] = [];
      for (const entry of fs.readdirSync("/proc")) {
        if (!/^\d+$/.test(entry)) continue;
        try {
          const argv = fs.readFileSync(`/proc/${entry}/cmdline`, "utf8");
          if (argv !== "docker\0system\0dial-stdio\0") continue;
          if (fs.readlinkSync(`/proc/${entry}/ns/net`) !== h1Net) continue;
          const stat = fs.readFileSync(`/proc/${entry}/stat`, "utf8");
          found.push({
            pid: Number(entry),
            started: Number(stat.slice(stat.lastIndexOf(")") + 2).split(" ")[19]),
          });
        } catch {
          // gone meanwhile
        }
      }
      return found.sort((a, b) => a.started - b.started);
    };
    let killed = 0;
    let done = false;
    const running = flatten().finally(() => {
      done = true;
    });
    const seenPairs = new Set<number>();
    // Bounded: 6000 polls 10 ms apart, or until the flatten settles.
    for (let poll = 0; poll < 6000 && !done && killed < cuts; poll++) {
      const live = dialStdio();
      if (live.length >= 2 && !seenPairs.has(live[0].pid)) {
        seenPairs.add(live[0].pid);
        process.kill(live[0].pid, "SIGKILL");
        killed++;
      }
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
    const [result] = await Promise.allSettled([running]);
    return { result, killed };
  }

  it("a flatten over ssh whose export connection is cut midway tries once more; cut twice, it fails saying so and leaves nothing on H1", async () => {
    // A source whose export lasts long enough to be cut: 256 MiB of random data on H1.
    const big = `srtest-remote/big-${process.pid}:1`;
    const maker = await h1Engine.createContainer({
      Image: TEST_IMAGES.busybox,
      Cmd: ["dd", "if=/dev/urandom", "of=/big", "bs=1M", "count=256"],
    });
    await maker.start();
    await maker.wait();
    const [repo, tag] = big.split(":");
    await maker.commit({ repo, tag });
    await maker.remove();
    const imagesBefore = (await h1Engine.listImages({ all: true })).length;
    const flattenLabel = { label: [engineModule.FLATTEN_CONTAINER_LABEL] };
    const sshOpts = ["-F", run.client.sshConfigPath];
    const request = (imageName: string) => ({
      source: big,
      imageName,
      push: false,
      connection: { host: h1.dockerHost, sshOpts },
    });
    try {
      const once = await flattenWhileCutting(
        () => engineModule.flattenImage(request(`srtest-remote/cut-once-${process.pid}:1`)),
        1,
      );
      expect(once.killed).toBe(1);
      if (once.result.status === "rejected") throw once.result.reason;
      const flat = await h1Engine.getImage(once.result.value.imageId).inspect();
      expect(flat.RootFS.Layers).toHaveLength(1);
      expect(flat.Size).toBeGreaterThan(256 * 1024 * 1024);
      // The cut try left nothing: one new image, no flatten container.
      expect((await h1Engine.listImages({ all: true })).length).toBe(imagesBefore + 1);
      expect(
        await h1Engine.listContainers({ all: true, filters: JSON.stringify(flattenLabel) }),
      ).toEqual([]);
      await h1Engine.getImage(once.result.value.imageId).remove({ force: true });

      const twice = await flattenWhileCutting(
        () => engineModule.flattenImage(request(`srtest-remote/cut-twice-${process.pid}:1`)),
        2,
      );
      expect(twice.killed).toBe(2);
      expect(twice.result.status).toBe("rejected");
      const message = String((twice.result as PromiseRejectedResult).reason?.message);
      expect(message).toMatch(
        new RegExp(
          `exporting the container of ${big} was cut: aborted.*; then exporting the container of ${big} was cut: aborted.*Tried 2 times, nothing was imported; check the connection to ${h1.dockerHost.replace(/[.*/]/g, "\\$&")}`,
        ),
      );
      expect((await h1Engine.listImages({ all: true })).length).toBe(imagesBefore);
      expect(
        await h1Engine.listContainers({ all: true, filters: JSON.stringify(flattenLabel) }),
      ).toEqual([]);
    } finally {
      await h1Engine.getImage(big).remove({ force: true });
    }
  });

  it("BuiltImage's facts with a provider for H1's socket are read from H1's engine", async () => {
    const context = fs.mkdtempSync(path.join(os.tmpdir(), "remote-built-"));
    fs.writeFileSync(path.join(context, "Dockerfile"), `FROM ${TEST_IMAGES.busybox}\n`);
    try {
      const h1Provider = new docker.Provider("h1-socket", { host: `unix://${h1.dockerSocket}` });
      const built = new images.BuiltImage(
        "remote-built",
        {
          context,
          imageName: "apps/remote:1",
          registry: { server: "reg.example:5443", username: "ci", password: "p" },
        },
        { provider: h1Provider },
      );
      await outputOf(built.size);
      // The build itself is docker.Image's: it inherits the component's provider.
      expect(providerOf.get("docker:index/image:Image remote-built-image")).toMatch(
        /::h1-socket::/,
      );
      const { provider, inputs } = declared<typeof engineModule.imageFactsProvider>(
        "ImageFacts",
        "remote-built-facts",
      );
      expect((inputs as { engine: unknown }).engine).toEqual({ host: `unix://${h1.dockerSocket}` });
      // What docker.Image would have built there: an image that exists only on H1.
      const { outs } = await provider.create({ ...(inputs as object), image: onlyOnH1 } as never);
      const info = await h1Engine.getImage(onlyOnH1).inspect();
      expect(outs).toMatchObject({
        image: onlyOnH1,
        imageId: info.Id,
        size: info.Size,
        layerCount: info.RootFS.Layers?.length,
        engineAddress: `unix://${h1.dockerSocket}`,
      });
    } finally {
      fs.rmSync(context, { recursive: true, force: true });
    }
  });

  it("an unreachable engine is a clear error naming its host, with no fallback to the local engine", async () => {
    const { flattenProvider } = engineModule;
    const inputs = {
      source: TEST_IMAGES.busybox,
      imageName: `srtest-remote/never-${process.pid}:1`,
      push: false,
      keepImage: false,
    };
    for (const host of [
      "tcp://127.0.0.1:1",
      "unix:///nonexistent/docker.sock",
      "ssh://root@198.51.100.254",
    ]) {
      await expect(flattenProvider.create({ ...inputs, engine: { host } })).rejects.toThrow(
        new RegExp(`cannot reach the Docker engine at ${host.replace(/[.*/]/g, "\\$&")}`),
      );
    }
    expect(await localHas(inputs.imageName)).toBe(false);
  });

  it("a SecureRegistry declared with H1's provider runs on H1's engine, serving TLS and auth on H1's address", async () => {
    const name = uniqueName("remote-reg");
    const volumeName = `${name}-data`;
    // Free here; H1's own namespace has nothing listening but its sshd.
    const port = await freePort();
    const h1Provider = new docker.Provider("h1-registry", { host: h1.dockerHost });
    const registry = new SecureRegistry(
      name,
      { hostname: h1.address, port, image: TEST_IMAGES.registry, users: [{ username: "ci" }] },
      { provider: h1Provider },
    );
    const outputs = await resolveOutputs(registry);
    const declaredResources = declaredChildren(mocks.resources, name);

    // Every docker resource goes through H1's provider (children inherit the component's).
    const dockerResources = declaredResources.filter((r) => r.type.startsWith("docker:"));
    expect(dockerResources.map((r) => r.type).sort()).toEqual([
      "docker:index/container:Container",
      "docker:index/remoteImage:RemoteImage",
      "docker:index/volume:Volume",
    ]);
    for (const resource of dockerResources) {
      expect([resource.type, providerOf.get(`${resource.type} ${resource.name}`)]).toEqual([
        resource.type,
        expect.stringMatching(/::h1-registry::/),
      ]);
    }

    // Run them as that provider would: on H1's engine.
    const deployment = await runDeclared(declaredResources, { docker: h1Engine });
    const [container] = deployment.containers;
    try {
      expect(deployment.containers).toHaveLength(1);
      expect(container.name).toBe(name);
      expect(deployment.volumes).toEqual([volumeName]);

      const onH1 = await h1Engine.getContainer(container.id).inspect();
      expect(onH1.State.Health?.Status).toBe("healthy");
      expect(onH1.Image).toBe(imageIdsOnH1.get(TEST_IMAGES.registry));
      expect(onH1.Mounts.map((m) => m.Name)).toContain(volumeName);
      const ps = await h1.mustDocker([
        "ps",
        "--filter",
        `name=^${name}$`,
        "--format",
        "{{.Names}} {{.Status}}",
      ]);
      expect(ps.trim()).toMatch(new RegExp(`^${name} Up .*\\(healthy\\)$`));
      await expect(h1Engine.getVolume(volumeName).inspect()).resolves.toMatchObject({
        Name: volumeName,
      });

      // Its HealthyContainer waits on H1's engine: declared with H1's host, and its provider,
      // rebuilt from the text Pulumi stores, follows H1's engine events over ssh. (The harness
      // ran the same wait through H1's socket above.)
      const wait = declared<HealthyContainerProvider>("HealthyContainer", `${name}-healthy`);
      expect(wait.inputs).toEqual({
        container: declaredResources.find((r) => r.type === "docker:index/container:Container")!.id,
        timeoutSeconds: 60,
        engine: { host: h1.dockerHost },
        engineKey: "",
      });
      const overSsh = {
        ...(wait.inputs as object),
        container: container.id,
        engine: { host: h1.dockerHost, sshOpts: ["-F", run.client.sshConfigPath] },
      } as never;
      const checked = await wait.provider.check({}, overSsh);
      const waited = await wait.provider.create(checked.inputs);
      expect(waited.id).toBe(container.id);
      expect(waited.outs.engineAddress).toBe(h1.dockerHost);

      // Nothing of it on the local engine.
      await expect(local.getContainer(name).inspect()).rejects.toMatchObject({ statusCode: 404 });
      await expect(local.getContainer(container.id).inspect()).rejects.toMatchObject({
        statusCode: 404,
      });
      await expect(local.getVolume(volumeName).inspect()).rejects.toMatchObject({
        statusCode: 404,
      });

      // From this machine's namespace, at H1's address: TLS verified with the component's CA
      // (for that address), and htpasswd auth with the generated credentials.
      expect(outputs.endpoint).toBe(`${h1.address}:${port}`);
      const [credential] = outputs.credentials as Credential[];
      expect(credential.username).toBe("ci");
      const request = {
        address: h1.address,
        port,
        servername: h1.address,
        ca: String(outputs.caCertPem),
        path: "/v2/",
      };
      expect((await registryRequest(request)).status).toBe(401);
      expect(
        (await registryRequest({ ...request, auth: { ...credential, password: "wrong" } })).status,
      ).toBe(401);
      expect((await registryRequest({ ...request, auth: credential })).status).toBe(200);
    } finally {
      await deployment.destroy();
    }

    // Destroy removed it from H1; nothing was ever created locally.
    await expect(h1Engine.getContainer(container.id).inspect()).rejects.toMatchObject({
      statusCode: 404,
    });
    await expect(h1Engine.getVolume(volumeName).inspect()).rejects.toMatchObject({
      statusCode: 404,
    });
    expect(await local.listContainers({ all: true, filters: { name: [name] } })).toEqual([]);
    expect((await local.listVolumes({ filters: { name: [name] } })).Volumes ?? []).toEqual([]);
  });
});
