/**
 * The test translation of docker.Service / Secret / ServiceConfig inputs into Engine API requests
 * (test/support/service-spec.ts): it must send what the docker provider sends, apply the
 * provider's defaults, and refuse what it does not translate or what the provider would diff
 * forever (durations in another spelling than the provider reads back).
 */
import { serviceSpec, swarmObjectSpec } from "../support/service-spec";

const resolve = (kind: string, id: string, name: string) => `${kind}:${id}:${name}`;

const minimal = {
  name: "reg",
  taskSpec: { containerSpec: { image: "registry:2" } },
};

describe("serviceSpec", () => {
  it("translates the container spec, secrets, configs, health check and policies", () => {
    const { spec, converge } = serviceSpec(
      {
        name: "reg",
        labels: [{ label: "a", value: "b" }],
        mode: { replicated: { replicas: 2 } },
        taskSpec: {
          containerSpec: {
            image: "registry:2",
            commands: ["/bin/sh", "-c", "x"],
            env: { B: "2", A: "1" },
            secrets: [{ secretId: "s-id", secretName: "s1", fileName: "/k", fileMode: 0o400 }],
            configs: [{ configId: "c-id", configName: "c1", fileName: "/c", fileUid: "1" }],
            healthcheck: {
              tests: ["CMD-SHELL", "true"],
              interval: "2s",
              timeout: "3s",
              startPeriod: "30s",
              retries: 3,
            },
            stopGracePeriod: "1m30s",
          },
          restartPolicy: { condition: "any", delay: "5s", maxAttempts: 0, window: "0s" },
          placement: {
            constraints: ["node.role==worker"],
            prefs: ["spread=node.labels.zone"],
            maxReplicas: 1,
          },
          networksAdvanceds: [{ id: "net1" }],
        },
        updateConfig: {
          parallelism: 1,
          monitor: "10s",
          order: "start-first",
          failureAction: "rollback",
        },
        endpointSpec: { mode: "vip", ports: [{ targetPort: 5000, publishedPort: 443 }] },
        convergeConfig: { delay: "5s", timeout: "5m" },
      },
      resolve,
    );
    expect(spec).toEqual({
      Name: "reg",
      Labels: { a: "b" },
      Mode: { Replicated: { Replicas: 2 } },
      TaskTemplate: {
        ContainerSpec: {
          Image: "registry:2",
          Command: ["/bin/sh", "-c", "x"],
          Env: ["A=1", "B=2"],
          StopGracePeriod: 90e9,
          Secrets: [
            {
              SecretID: "secret:s-id:s1",
              SecretName: "s1",
              File: { Name: "/k", UID: "0", GID: "0", Mode: 0o400 },
            },
          ],
          Configs: [
            {
              ConfigID: "config:c-id:c1",
              ConfigName: "c1",
              File: { Name: "/c", UID: "1", GID: "0", Mode: 0o444 },
            },
          ],
          Healthcheck: {
            Test: ["CMD-SHELL", "true"],
            Interval: 2e9,
            Timeout: 3e9,
            StartPeriod: 30e9,
            Retries: 3,
          },
        },
        RestartPolicy: { Condition: "any", Delay: 5e9, MaxAttempts: 0, Window: 0 },
        Placement: {
          Constraints: ["node.role==worker"],
          Preferences: [{ Spread: { SpreadDescriptor: "node.labels.zone" } }],
          MaxReplicas: 1,
        },
        Networks: [{ Target: "net1", Aliases: [] }],
      },
      // Left-out fields get the provider's schema defaults.
      UpdateConfig: {
        Parallelism: 1,
        Delay: 0,
        FailureAction: "rollback",
        Monitor: 10e9,
        MaxFailureRatio: 0,
        Order: "start-first",
      },
      EndpointSpec: {
        Mode: "vip",
        Ports: [
          {
            Name: "",
            Protocol: "tcp",
            TargetPort: 5000,
            PublishedPort: 443,
            PublishMode: "ingress",
          },
        ],
      },
    });
    expect(converge).toEqual({ delayMs: 5000, timeoutMs: 300_000 });
  });

  it("applies the provider's defaults: one replica, no converge wait", () => {
    const { spec, converge } = serviceSpec(minimal, resolve);
    expect(spec.Mode).toEqual({ Replicated: { Replicas: 1 } });
    expect(converge).toBeUndefined();
  });

  it.each([
    ["90s", "1m30s"],
    ["60s", "1m"],
    ["1h0m0s", "1h"],
  ])("refuses the duration %s, which the provider reads back as %s", (given, canonical) => {
    expect(() =>
      serviceSpec(
        { ...minimal, taskSpec: { containerSpec: { image: "x", stopGracePeriod: given } } },
        resolve,
      ),
    ).toThrow(`read back by the provider as "${canonical}"`);
  });

  it.each([
    [{ ...minimal, auth: { serverAddress: "x" } }, /Service\.auth is set but/],
    [
      { ...minimal, taskSpec: { ...minimal.taskSpec, resources: { limits: {} } } },
      /taskSpec\.resources is set but/,
    ],
    [
      { ...minimal, taskSpec: { containerSpec: { image: "x", mounts: [] } } },
      /taskSpec\.containerSpec\.mounts is set but/,
    ],
    [
      { ...minimal, mode: { global: true }, convergeConfig: {} },
      /convergeConfig conflicts with global/,
    ],
    [{ ...minimal, name: "a.b" }, /Service\.name "a\.b" is not a name Swarm accepts/],
    [
      { ...minimal, endpointSpec: { mode: "dnsrr", ports: [{ targetPort: 1 }] } },
      /dnsrr cannot publish ports through the routing mesh/,
    ],
  ])("refuses what it does not translate or Swarm refuses (%#)", (inputs, message) => {
    expect(() => serviceSpec(inputs, resolve)).toThrow(message);
  });
});

describe("swarmObjectSpec", () => {
  it("sends name, standard base64 data and labels", () => {
    expect(
      swarmObjectSpec(
        { name: "s-1", data: "aGk=", labels: [{ label: "k", value: "v" }] },
        "Secret",
      ),
    ).toEqual({ Name: "s-1", Data: "aGk=", Labels: { k: "v" } });
  });

  it.each([
    [{ name: "s", data: "aGk" }, /not standard base64/],
    [{ name: "s", data: "aG-k" }, /not standard base64/],
    [{ name: "-s", data: "aGk=" }, /not a name Swarm accepts/],
    [{ name: "x".repeat(65), data: "aGk=" }, /not a name Swarm accepts/],
    [{ name: "s", data: "aGk=", dataRaw: "hi" }, /dataRaw is set but/],
  ])("refuses %j", (inputs, message) => {
    expect(() => swarmObjectSpec(inputs, "ServiceConfig")).toThrow(message);
  });
});
