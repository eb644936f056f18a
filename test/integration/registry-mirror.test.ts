/**
 * Mirror mode for real: a SecureRegistry declared as an anonymous pull-through cache
 * (`proxy.anonymousPulls`) of an upstream registry that holds `library/busybox`, and a separate
 * dockerd (a simulated remote host, test/support/hosts.ts) whose daemon.json lists the cache in
 * `registry-mirrors` and whose certs.d trusts the cache's CA. That dockerd has no route to any
 * public registry: `docker pull busybox` fails before the mirror is configured and succeeds after,
 * and the cache's catalog and log show the pull went through it. TLS stays on (the host verifies
 * the cache's certificate), pushes are refused, and the cache is published only on the address
 * the hosts reach (bindAddress).
 */
import {
  cleanupAll,
  deployRegistry,
  execInContainer,
  mustRunDocker,
  makeDockerConfigDir,
  RegistryDeployment,
  removeImage,
  startPlainRegistry,
} from "../support/harness";
import { TEST_IMAGES } from "../support/engine";
import { describeWithTestHosts, startTestHosts, TestHost, TestHostsRun } from "../support/hosts";
import { registryRequest } from "../support/probes";

jest.setTimeout(600_000);

/** What the host's dockerd would fetch from Docker Hub: `docker pull busybox`. */
const HUB_IMAGE = "busybox";
const UPSTREAM_REPOSITORY = "library/busybox";

describeWithTestHosts("SecureRegistry as a registry mirror for a separate dockerd", () => {
  let run: TestHostsRun;
  let host: TestHost;
  let cache: RegistryDeployment;
  let mirrorUrl: string;
  let upstreamTag: string;

  beforeAll(async () => {
    const configDir = makeDockerConfigDir().dir;
    // The upstream: a plain registry holding library/busybox (what Docker Hub would serve).
    const upstream = await startPlainRegistry("mirror-upstream");
    upstreamTag = `127.0.0.1:${upstream.hostPort}/${UPSTREAM_REPOSITORY}:latest`;
    await mustRunDocker(["tag", TEST_IMAGES.busybox, upstreamTag], { configDir });
    await mustRunDocker(["push", upstreamTag], { configDir });

    run = await startTestHosts(["mir1"], { label: "mirror", images: [] });
    host = run.host("mir1");

    // The cache, published only on the address the hosts reach, named by that address.
    cache = await deployRegistry(
      {
        hostname: run.mainAddress,
        bindAddress: run.mainAddress,
        proxy: { remoteUrl: upstream.bridgeUrl, anonymousPulls: true },
      },
      { label: "mirror" },
    );
    mirrorUrl = String(cache.outputs.url);

    // The host trusts the cache's CA for that endpoint (as RegistryClientTrust writes it there).
    await host.writeFile(`/etc/docker/certs.d/${cache.endpoint}/ca.crt`, cache.caCertPem);
  });

  afterAll(async () => {
    if (upstreamTag) await removeImage(upstreamTag);
    await cleanupAll();
  });

  it("the cache answers anonymously over TLS that verifies against its CA", async () => {
    const res = await registryRequest({
      address: run.mainAddress,
      servername: run.mainAddress,
      port: cache.hostPort,
      ca: cache.caCertPem,
      path: "/v2/",
    });
    expect(res.status).toBe(200);
  });

  it("without the mirror the host cannot pull busybox (no route to a public registry)", async () => {
    const pull = await host.docker(["pull", HUB_IMAGE], { timeoutMs: 120_000 });
    expect(pull.code).not.toBe(0);
  });

  it("with registry-mirrors set, the host's dockerd pulls busybox through the cache", async () => {
    const daemonJson = JSON.parse(await host.readFile("/etc/docker/daemon.json"));
    daemonJson["registry-mirrors"] = [mirrorUrl];
    await host.writeFile("/etc/docker/daemon.json", JSON.stringify(daemonJson, null, 2));
    // registry-mirrors is read at start (a SIGHUP reload also applies it on 20.10; a restart is
    // what the docs tell users, so the test does that).
    await host.stopEngine();
    await host.startEngine();
    const info = await host.mustDocker(["info", "--format", "{{json .RegistryConfig.Mirrors}}"]);
    expect(JSON.parse(info)).toEqual([`${mirrorUrl}/`]);

    const pull = await host.docker(["pull", HUB_IMAGE], { timeoutMs: 180_000 });
    expect({ code: pull.code, stderr: pull.stderr }).toEqual({ code: 0, stderr: "" });
    const ran = await host.mustDocker([
      "run",
      "--rm",
      HUB_IMAGE,
      "echo",
      "pulled through the cache",
    ]);
    expect(ran.trim()).toBe("pulled through the cache");
  });

  it("the cache's log and storage show the pull went through it", async () => {
    const log = await cache.logs(400);
    expect(log).toMatch(/\/v2\/library\/busybox\/manifests\/latest/);
    // The cache keeps what it fetched in its volume, which was empty before the pull (blobs are
    // written while or just after they are served: bounded wait).
    let blobs = "";
    for (let attempt = 0; attempt < 20 && !/[0-9a-f]{64}\/data/.test(blobs); attempt++) {
      if (attempt > 0) await new Promise((r) => setTimeout(r, 500));
      blobs = await execInContainer(cache.containerId, [
        "find",
        "/var/lib/registry/docker/registry/v2",
        "-type",
        "f",
      ]);
    }
    expect(blobs).toMatch(/\/blobs\/sha256\/[0-9a-f]{2}\/[0-9a-f]{64}\/data/);
  });

  it("refuses pushes, also anonymous ones", async () => {
    const res = await registryRequest({
      address: run.mainAddress,
      servername: run.mainAddress,
      port: cache.hostPort,
      ca: cache.caCertPem,
      method: "POST",
      path: `/v2/${UPSTREAM_REPOSITORY}/blobs/uploads/`,
    });
    expect(res.status).toBeGreaterThanOrEqual(400);
    expect(res.status).not.toBe(202);
  });
});
