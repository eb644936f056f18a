/**
 * Pull-through cache mode: a SecureRegistry declared with `proxy.remoteUrl` pointing at a second
 * local registry (a plain registry container this test starts) turns healthy and serves, over its
 * own TLS and auth, an image that exists only upstream. Pushing to the cache is refused.
 */
import { describeWithEngine } from "../support/engine";
import {
  buildTestImage,
  cleanupAll,
  deployRegistry,
  engine,
  installCaCert,
  machineAddress,
  makeDockerConfigDir,
  mustRunDocker,
  RegistryDeployment,
  removeImage,
  runDocker,
  RUN_PREFIX,
  startPlainRegistry,
} from "../support/harness";
import { registryRequest } from "../support/probes";

jest.setTimeout(300_000);

describeWithEngine("SecureRegistry as a pull-through cache of a second local registry", () => {
  const address = machineAddress();
  const repository = `srtest/proxied-${process.pid}`;
  let upstreamTag: string;
  let upstreamDigest: string;
  let imageId: string;
  let cache: RegistryDeployment;
  let configDir: string;
  let cacheEndpoint: string;

  beforeAll(async () => {
    configDir = makeDockerConfigDir().dir;
    const upstream = await startPlainRegistry("upstream");
    // Loopback registries need no trust set-up in the daemon: this is only the upstream.
    upstreamTag = `127.0.0.1:${upstream.hostPort}/${repository}:1`;
    imageId = await buildTestImage(upstreamTag, `proxied ${RUN_PREFIX}`, configDir);
    const push = await mustRunDocker(["push", upstreamTag], { configDir });
    upstreamDigest = /digest: (sha256:[0-9a-f]{64})/.exec(push)?.[1] ?? "";
    expect(upstreamDigest).toMatch(/^sha256:/);

    cache = await deployRegistry(
      {
        ipAddresses: [address],
        users: [{ username: "reader" }],
        proxy: { remoteUrl: upstream.bridgeUrl },
      },
      { label: "cache" },
    );
    cacheEndpoint = `${address}:${cache.hostPort}`;
    installCaCert(cacheEndpoint, cache.caCertPem);
  });

  afterAll(async () => {
    if (upstreamTag) await removeImage(upstreamTag);
    if (cacheEndpoint) await removeImage(`${cacheEndpoint}/${repository}:1`);
    if (imageId) await removeImage(imageId);
    await cleanupAll();
  });

  it("turns healthy in proxy mode", async () => {
    const info = await engine().getContainer(cache.containerId).inspect();
    expect(info.State.Health?.Status).toBe("healthy");
  });

  it("still requires its own credentials", async () => {
    const res = await registryRequest({
      address,
      port: cache.hostPort,
      servername: address,
      ca: cache.caCertPem,
      path: `/v2/${repository}/manifests/1`,
    });
    expect(res.status).toBe(401);
  });

  it("serves the upstream image's manifest under the upstream digest", async () => {
    const res = await registryRequest({
      address,
      port: cache.hostPort,
      servername: address,
      ca: cache.caCertPem,
      path: `/v2/${repository}/manifests/1`,
      auth: cache.credentials[0],
      headers: { Accept: "application/vnd.docker.distribution.manifest.v2+json" },
    });
    expect(res.status).toBe(200);
    expect(res.headers["docker-content-digest"]).toBe(upstreamDigest);
  });

  it("lets the Docker daemon pull the upstream image through it", async () => {
    const user = cache.credentials[0];
    const login = await runDocker(
      ["login", cacheEndpoint, "--username", user.username, "--password-stdin"],
      { configDir, input: user.password },
    );
    expect(login.code).toBe(0);
    const tag = `${cacheEndpoint}/${repository}:1`;
    await mustRunDocker(["pull", tag], { configDir });
    const pulledId = await mustRunDocker(["image", "inspect", "--format", "{{.Id}}", tag], {
      configDir,
    });
    expect(pulledId.trim()).toBe(imageId);
  });

  it("refuses pushes (a pull-through cache is read-only)", async () => {
    // The first step of any push: starting a blob upload. (The daemon retries a refused push for
    // about a minute, so the API is asked directly.)
    const res = await registryRequest({
      address,
      port: cache.hostPort,
      servername: address,
      ca: cache.caCertPem,
      path: `/v2/srtest/pushed-to-cache-${process.pid}/blobs/uploads/`,
      method: "POST",
      auth: cache.credentials[0],
    });
    expect(res.status).toBe(405);
    expect(res.body).toContain("UNSUPPORTED");
  });
});
