/**
 * Container tuning on a real engine: the settings a user passes in `container` (a user network
 * with an alias, labels, memory and CPU limits, log options, extra hosts, and process env such as
 * HTTPS_PROXY / NO_PROXY for a cache behind a corporate proxy) reach the container the component
 * declares, the registry process sees the env, and the registry still turns healthy and serves.
 */
import { describeWithEngine } from "../support/engine";
import {
  cleanupAll,
  deployRegistry,
  engine,
  execInContainer,
  OWNER_LABEL,
  PID_LABEL,
  RegistryDeployment,
  registerCleanup,
  uniqueName,
} from "../support/harness";
import { registryRequest } from "../support/probes";

jest.setTimeout(240_000);

const HOSTNAME = "registry.srtest.internal";

describeWithEngine("SecureRegistry container tuning on a real engine", () => {
  let reg: RegistryDeployment;
  let network: string;

  beforeAll(async () => {
    network = uniqueName("net");
    await engine().createNetwork({
      Name: network,
      Labels: { [OWNER_LABEL]: "harness", [PID_LABEL]: String(process.pid) },
    });
    registerCleanup(async () => {
      await engine()
        .getNetwork(network)
        .remove()
        .catch((e: { statusCode?: number }) => {
          if (e.statusCode !== 404) throw e;
        });
    });
    reg = await deployRegistry(
      {
        hostname: HOSTNAME,
        container: {
          networksAdvanced: [{ name: network, aliases: ["registry-alias"] }],
          labels: [{ label: "org.example.team", value: "platform" }],
          memory: 256,
          memoryReservation: 128,
          cpuShares: 256,
          cpuSet: "0",
          logDriver: "json-file",
          logOpts: { "max-size": "5m", "max-file": "2" },
          hosts: [{ host: "upstream.internal", ip: "10.0.0.9" }],
          envs: [
            "HTTPS_PROXY=http://proxy.internal:3128",
            "NO_PROXY=localhost,127.0.0.1,.internal",
          ],
        },
      },
      { label: "tuned" },
    );
  });

  afterAll(cleanupAll);

  it("carries every tuned setting", async () => {
    const info = await engine().getContainer(reg.containerId).inspect();
    expect(info.Config.Labels?.["org.example.team"]).toBe("platform");
    expect(info.HostConfig.Memory).toBe(256 * 1024 * 1024);
    expect(info.HostConfig.MemoryReservation).toBe(128 * 1024 * 1024);
    expect(info.HostConfig.CpuShares).toBe(256);
    expect(info.HostConfig.CpusetCpus).toBe("0");
    expect(info.HostConfig.LogConfig).toEqual({
      Type: "json-file",
      Config: { "max-size": "5m", "max-file": "2" },
    });
    expect(info.HostConfig.ExtraHosts).toEqual(["upstream.internal:10.0.0.9"]);
    expect(Object.keys(info.NetworkSettings.Networks)).toEqual([network]);
    expect(info.NetworkSettings.Networks[network].Aliases).toContain("registry-alias");
    expect(info.Config.Env).toEqual(
      expect.arrayContaining([
        "HTTPS_PROXY=http://proxy.internal:3128",
        "NO_PROXY=localhost,127.0.0.1,.internal",
      ]),
    );
  });

  it("the registry process sees the proxy env (the launcher passes it through)", async () => {
    const environ = await execInContainer(reg.containerId, ["cat", "/proc/1/environ"]);
    expect(environ).toContain("HTTPS_PROXY=http://proxy.internal:3128");
    expect(environ).toContain("NO_PROXY=localhost,127.0.0.1,.internal");
  });

  it("is healthy and serves with auth on the published port", async () => {
    const info = await engine().getContainer(reg.containerId).inspect();
    expect(info.State.Health?.Status).toBe("healthy");
    const res = await registryRequest({
      port: reg.hostPort,
      servername: HOSTNAME,
      ca: reg.caCertPem,
      path: "/v2/",
      auth: reg.credentials[0],
    });
    expect(res.status).toBe(200);
  });
});
