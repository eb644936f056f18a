/**
 * The harness's translation of docker.Container inputs into Engine API requests: it must send what
 * the docker provider sends, and refuse inputs it does not translate (never drop them).
 */
import { containerSpec, parseGoDuration, volumeSpec } from "../support/container-spec";

describe("parseGoDuration", () => {
  it.each([
    ["2s", 2e9],
    ["500ms", 5e8],
    ["1m30s", 90e9],
    ["1.5s", 1.5e9],
    ["0s", 0],
    ["0", 0],
  ])("parses %s", (text, ns) => {
    expect(parseGoDuration(text, "interval")).toBe(ns);
  });

  it.each(["", "2", "2 s", "s", "2x", "-1s"])("rejects %j naming the field", (text) => {
    expect(() => parseGoDuration(text, "interval")).toThrow(/interval/);
  });
});

describe("containerSpec", () => {
  const base = { name: "reg", image: "sha256:abc" };

  it("translates env, ports, volumes, health check, restart and labels as the provider does", () => {
    const spec = containerSpec(
      {
        ...base,
        envs: ["A=1", "B=2"],
        ports: [{ internal: 5000, external: 5443, ip: "127.0.0.1" }, { internal: 5001 }],
        volumes: [{ volumeName: "data", containerPath: "/var/lib/registry" }],
        healthcheck: {
          tests: ["CMD-SHELL", "true"],
          interval: "2s",
          timeout: "3s",
          startPeriod: "30s",
          startInterval: "1s",
          retries: 3,
        },
        restart: "unless-stopped",
        labels: [{ label: "k", value: "v" }],
        wait: true,
        waitTimeout: 90,
      },
      { owner: "harness" },
    );
    expect(spec.create).toMatchObject({
      name: "reg",
      Image: "sha256:abc",
      Env: ["A=1", "B=2"],
      ExposedPorts: { "5000/tcp": {}, "5001/tcp": {} },
      Volumes: { "/var/lib/registry": {} },
      Labels: { k: "v", owner: "harness" },
      Healthcheck: {
        Test: ["CMD-SHELL", "true"],
        Interval: 2e9,
        Timeout: 3e9,
        StartPeriod: 30e9,
        StartInterval: 1e9,
        Retries: 3,
      },
      HostConfig: {
        PortBindings: {
          "5000/tcp": [{ HostIp: "127.0.0.1", HostPort: "5443" }],
          "5001/tcp": [{ HostIp: "0.0.0.0", HostPort: "" }],
        },
        Binds: ["data:/var/lib/registry:rw"],
        RestartPolicy: { Name: "unless-stopped", MaximumRetryCount: 0 },
      },
    });
    expect(spec).toMatchObject({ start: true, wait: true, waitTimeoutSeconds: 90 });
  });

  it("writes uploads with the provider's modes: permissions, else executable 0744, else 0644", () => {
    const spec = containerSpec({
      ...base,
      uploads: [
        { file: "/certs/domain.key", content: "KEY", permissions: "0400" },
        { file: "/bin/x", content: "#!/bin/sh", executable: true },
        { file: "/etc/b64", contentBase64: Buffer.from("bytes").toString("base64") },
      ],
    });
    expect(spec.uploads.map((u) => [u.path, u.mode.toString(8), u.content.toString()])).toEqual([
      ["/certs/domain.key", "400", "KEY"],
      ["/bin/x", "744", "#!/bin/sh"],
      ["/etc/b64", "644", "bytes"],
    ]);
  });

  it("throws for a container input it does not translate", () => {
    expect(() => containerSpec({ ...base, gpus: "all" })).toThrow(/"gpus" is set/);
  });

  it("throws for an unknown key inside a translated block", () => {
    expect(() =>
      containerSpec({ ...base, healthcheck: { tests: ["CMD", "true"], startEvery: "1s" } }),
    ).toThrow(/healthcheck.startEvery/);
  });

  it("throws for wait without a health check, as the provider does", () => {
    expect(() => containerSpec({ ...base, wait: true })).toThrow(/healthcheck/);
  });

  it("throws for an upload with both content and contentBase64", () => {
    expect(() =>
      containerSpec({ ...base, uploads: [{ file: "/x", content: "a", contentBase64: "YQ==" }] }),
    ).toThrow(/exactly one/);
  });
});

describe("volumeSpec", () => {
  it("translates name, driver and labels, and throws for unknown inputs", () => {
    expect(volumeSpec({ name: "data", labels: [{ label: "a", value: "b" }] })).toEqual({
      Name: "data",
      Driver: "local",
      DriverOpts: {},
      Labels: { a: "b" },
    });
    expect(() => volumeSpec({ name: "data", cluster: {} })).toThrow(/"cluster"/);
  });
});
