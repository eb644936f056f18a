/**
 * The policy pack (policy/) run on stacks declared under Pulumi mocks: a stack built with this
 * package's components passes every policy; each violation, declared by hand with docker
 * resources (or generic custom resources for providers this repository does not install), is
 * reported on its resource with the fix; configuration changes levels and thresholds.
 */
import * as docker from "@pulumi/docker";
import * as pulumi from "@pulumi/pulumi";
import * as path from "path";
import { policies } from "../../policy/policies";
import { normalizeEndpoint, parseImageRef, pinsDigest } from "../../policy/images";
import { plainData, UNKNOWN } from "../../policy/model";
import { yamlScalarText } from "../../policy/workloads";
import {
  linkResources,
  PackConfig,
  policyResource,
  RecordedResource,
  recordStack,
  Reported,
  runPolicies,
} from "../support/policy-harness";
import { selfSignedCertificate } from "../support/certs";
import { setupMocks } from "../support/mocks";

// Mocks first, then the modules under test (the mocks documentation requires this order).
const mocks = setupMocks();
const { SecureRegistry } = require("../../src/registry") as typeof import("../../src/registry");
const { BuiltImage } = require("../../src/images") as typeof import("../../src/images");
const { RegistryClientTrust } = require("../../src/trust") as typeof import("../../src/trust");
const { SecureRegistryService } =
  require("../../src/service") as typeof import("../../src/service");

const fixtures = path.join(__dirname, "../fixtures/images");
const DIGEST = `sha256:${"a".repeat(64)}`;
const UNKNOWN_STRING = "04da6b54-80e4-46f7-96ec-b56ff0331ba9";

beforeEach(() => mocks.clear());
// Mocks (openssl, RSA pools) on a shared 2-core machine: generous bounds.
jest.setTimeout(120_000);
const caPem = selfSignedCertificate("policy-ca").certPem;

/** A resource of a provider this repository does not install (command, docker-build). */
class Generic extends pulumi.CustomResource {
  constructor(
    type: string,
    name: string,
    props: pulumi.Inputs,
    opts?: pulumi.CustomResourceOptions,
  ) {
    super(type, name, props, opts);
  }
}

async function check(
  declare: (parent: pulumi.Resource) => void | Promise<void>,
  config: PackConfig = {},
): Promise<{ reports: Reported[]; resources: RecordedResource[] }> {
  const resources = await recordStack(mocks, declare);
  return { reports: await runPolicies(policies, resources, config), resources };
}

function urnOf(resources: RecordedResource[], type: string, name: string): string {
  const found = resources.find((r) => r.type === type && r.name === name);
  if (found === undefined) throw new Error(`no ${type} ${name}`);
  return found.urn;
}

/** A SecureRegistry as a stack would declare it (ECDSA keeps the mocks fast). */
function secureRegistry(name: string, parent: pulumi.Resource, extra: object = {}) {
  return new SecureRegistry(
    name,
    {
      hostname: "registry.example.com",
      port: 5000,
      tls: { keyAlgorithm: "ECDSA" },
      trust: { certsDirs: ["/tmp/policy-test-never-written"] },
      ...extra,
    },
    { parent },
  );
}

describe("a stack built with this package's components", () => {
  it("passes every policy: registry, trust, a pushed image and a container running it by digest", async () => {
    const { reports, resources } = await check((parent) => {
      const registry = secureRegistry("reg", parent);
      const app = new BuiltImage(
        "app",
        { context: path.join(fixtures, "multistage"), imageName: "apps/web:1.0", registry },
        { parent },
      );
      new docker.Container("web", { image: app.repoDigest }, { parent });
      const pulled = new docker.RemoteImage(
        "web-pinned",
        { name: `registry.example.com:5000/apps/web@${DIGEST}` },
        { parent },
      );
      new docker.Container("web2", { image: pulled.imageId }, { parent });
    });
    // The stack really has what the rules look at.
    const types = resources.map((r) => r.type);
    expect(types).toEqual(
      expect.arrayContaining([
        "secure-registry:registry:SecureRegistry",
        "docker:index/container:Container",
        "docker:index/volume:Volume",
        "pulumi-nodejs:dynamic/secure-registry:TrustFiles",
        "docker:index/image:Image",
      ]),
    );
    const component = resources.find((r) => r.type === "secure-registry:registry:SecureRegistry");
    expect(component?.outputs.endpoint).toBe("registry.example.com:5000");
    expect(reports).toEqual([]);
  });

  it("passes with a pull-through cache and custom settings too", async () => {
    const { reports } = await check((parent) => {
      secureRegistry("cache", parent, {
        proxy: { remoteUrl: "https://registry-1.docker.io", username: "u", password: "p4ss-word" },
        env: { REGISTRY_STORAGE_MAINTENANCE_UPLOADPURGING_AGE: "72h" },
        tls: { keyAlgorithm: "ECDSA", minimumVersion: "tls1.3" },
      });
    });
    expect(reports).toEqual([]);
  });
});

describe("registries on shared storage and caches", () => {
  const S3 = {
    bucket: "images",
    regionEndpoint: "http://10.0.0.5:7480",
    accessKey: "AKIAEXAMPLE",
    secretKey: "s3-secret-key-value",
  };

  it("passes a SecureRegistryService on S3 (Swarm replicas) and a SecureRegistry on S3", async () => {
    const { reports, resources } = await check((parent) => {
      new SecureRegistryService(
        "svc",
        { hostname: "registry.example.com", tls: { keyAlgorithm: "ECDSA" }, storage: { s3: S3 } },
        { parent },
      );
      secureRegistry("reg", parent, { storage: { s3: S3 } });
    });
    const types = resources.map((r) => r.type);
    expect(types).toContain("docker:index/service:Service");
    // On S3 there is no volume to retain: the data is in the bucket.
    expect(types).not.toContain("docker:index/volume:Volume");
    expect(reports).toEqual([]);
  });

  it("reports an anonymous pull-through cache unless the organisation allows them", async () => {
    const declare = (parent: pulumi.Resource) => {
      secureRegistry("mirror", parent, {
        proxy: { remoteUrl: "https://registry-1.docker.io", anonymousPulls: true },
      });
    };
    const { reports, resources } = await check(declare);
    const container = urnOf(resources, "docker:index/container:Container", "mirror-container");
    expect(reports).toEqual([
      {
        policy: "registry-tls-and-auth",
        enforcementLevel: "mandatory",
        urn: container,
        message: expect.stringMatching(
          /pull-through cache.*without authentication.*allowAnonymousPullThroughCaches: true/,
        ),
      },
    ]);
    const allowed = await check(declare, {
      "registry-tls-and-auth": { allowAnonymousPullThroughCaches: true },
    });
    expect(allowed.reports).toEqual([]);
  });

  it("allows anonymous caches only: a registry that takes pushes still needs auth", async () => {
    const { reports, resources } = await check(
      (parent) => {
        new docker.Container(
          "open",
          {
            image: "registry:2",
            envs: [
              "REGISTRY_HTTP_TLS_CERTIFICATE=/certs/domain.crt",
              "REGISTRY_HTTP_TLS_KEY=/certs/domain.key",
            ],
            volumes: [{ volumeName: "open-data", containerPath: "/var/lib/registry" }],
          },
          { parent },
        );
      },
      { "registry-tls-and-auth": { allowAnonymousPullThroughCaches: true } },
    );
    expect(reports).toEqual([
      {
        policy: "registry-tls-and-auth",
        enforcementLevel: "mandatory",
        urn: urnOf(resources, "docker:index/container:Container", "open"),
        message: expect.stringMatching(
          /has no authentication.*anyone who reaches the port can push/,
        ),
      },
    ]);
  });
});

describe("no-insecure-registries", () => {
  it("reports RegistryClientTrust insecure: true on its files, naming the trust and the fix", async () => {
    const { reports, resources } = await check((parent) => {
      new RegistryClientTrust(
        "lab",
        {
          endpoint: "lab.example:5000",
          insecure: true,
          daemonConfigPath: "/tmp/never/daemon.json",
        },
        { parent },
      );
    });
    expect(reports).toEqual([
      expect.objectContaining({
        policy: "no-insecure-registries",
        enforcementLevel: "mandatory",
        urn: urnOf(resources, "pulumi-nodejs:dynamic/secure-registry:TrustFiles", "lab-files"),
      }),
    ]);
    expect(reports[0].message).toMatch(
      /RegistryClientTrust "lab" lists lab\.example:5000 under insecure-registries/,
    );
    expect(reports[0].message).toMatch(
      /Fix: remove `insecure: true` and pass the registry's CA as `caCertPem`/,
    );
  });

  it("reports daemon.json written by a command, dockerd flags, RegistryImage and docker-build exports", async () => {
    const secretScript = pulumi.secret(
      `echo '{"insecure-registries": ["10.0.0.5:5000"]}' > /etc/docker/daemon.json && kill -HUP $(pidof dockerd)`,
    );
    const { reports, resources } = await check((parent) => {
      new Generic("command:local:Command", "daemon-json", { create: secretScript }, { parent });
      new Generic(
        "command:remote:Command",
        "daemon-json-remote",
        {
          create:
            'echo "{\\"insecure-registries\\": [\\"reg:5000\\"]}" | sudo tee /etc/docker/daemon.json',
        },
        { parent },
      );
      new docker.Container(
        "dind",
        { image: "docker:dind", command: ["dockerd", "--insecure-registry=reg.lab:5000"] },
        { parent },
      );
      new docker.RegistryImage(
        "push",
        { name: "reg.lab:5000/app:1", insecureSkipVerify: true },
        { parent },
      );
      new Generic(
        "docker-build:index:Image",
        "build",
        { push: true, exports: [{ registry: { insecure: true } }] },
        { parent },
      );
      // Not insecure: an empty list, and the words in documentation text.
      new Generic(
        "command:local:Command",
        "harmless",
        {
          create: `echo '{"insecure-registries": []}'`,
          delete: "echo insecure-registries are bad",
        },
        { parent },
      );
    });
    const insecure = reports.filter((r) => r.policy === "no-insecure-registries");
    const byName = (name: string) =>
      insecure.filter((r) => r.urn === resources.find((x) => x.name === name)?.urn);
    expect(byName("daemon-json")[0].message).toMatch(
      /command:local:Command "daemon-json" sets up insecure-registries .* its `create` input/,
    );
    expect(byName("daemon-json-remote")).toHaveLength(1);
    expect(byName("dind")[0].message).toMatch(/docker\.Container "dind" .*`command\[1\]` input/);
    expect(byName("push")[0].message).toMatch(
      /docker\.RegistryImage "push" pushes with insecureSkipVerify: true/,
    );
    expect(byName("build")[0].message).toMatch(/exports\[0\]\.registry\.insecure is true/);
    expect(byName("harmless")).toEqual([]);
    expect(insecure).toHaveLength(5);
    // Secret inputs are read, never quoted.
    for (const r of insecure) {
      expect(r.message).not.toContain("10.0.0.5");
      expect(r.message).toMatch(/Fix: /);
    }
  });
});

describe("registry-tls-and-auth", () => {
  it("reports a registry container with no TLS and no auth, found through its RemoteImage's ID", async () => {
    const { reports, resources } = await check((parent) => {
      const image = new docker.RemoteImage("reg-image", { name: "registry:2" }, { parent });
      new docker.Container(
        "plain-registry",
        {
          image: image.imageId,
          ports: [{ internal: 5000, external: 5000 }],
          volumes: [{ hostPath: "/srv/registry", containerPath: "/var/lib/registry" }],
        },
        { parent },
      );
    });
    const urn = urnOf(resources, "docker:index/container:Container", "plain-registry");
    const found = reports.filter((r) => r.policy === "registry-tls-and-auth");
    expect(found.map((r) => r.urn)).toEqual([urn, urn]);
    expect(found[0].message).toMatch(
      /docker\.Container "plain-registry" runs the registry image registry:2 \(through docker\.RemoteImage "reg-image"\) without TLS.*Fix: give it a certificate/,
    );
    expect(found[1].message).toMatch(
      /has no authentication \(no REGISTRY_AUTH\).*Fix: set REGISTRY_AUTH=htpasswd/,
    );
    expect(reports.filter((r) => r.policy !== "registry-tls-and-auth")).toEqual([]);
  });

  it("reports silly auth and a service without TLS; accepts Let's Encrypt, mTLS and a config file", async () => {
    const config = [
      "version: 0.1",
      "http:",
      "  addr: :5000",
      "  tls:",
      "    certificate: /certs/domain.crt",
      "    key: /certs/domain.key",
      "auth:",
      "  htpasswd:",
      "    realm: r",
      "    path: /auth/htpasswd",
    ].join("\n");
    const { reports, resources } = await check((parent) => {
      const data = (name: string) => [
        { hostPath: `/srv/${name}`, containerPath: "/var/lib/registry" },
      ];
      new docker.Container(
        "silly",
        {
          image: "docker.io/library/registry:2.8.3",
          envs: [
            "REGISTRY_HTTP_TLS_CERTIFICATE=/c.crt",
            "REGISTRY_HTTP_TLS_KEY=/c.key",
            "REGISTRY_AUTH=silly",
          ],
          volumes: data("silly"),
        },
        { parent },
      );
      new docker.Container(
        "letsencrypt",
        {
          image: "ghcr.io/distribution/distribution:3.0.0",
          envs: [
            "REGISTRY_HTTP_TLS_LETSENCRYPT_CACHEFILE=/le/cache",
            "REGISTRY_AUTH=token",
            "REGISTRY_AUTH_TOKEN_REALM=https://auth",
          ],
          volumes: data("le"),
        },
        { parent },
      );
      new docker.Container(
        "mtls",
        {
          image: "registry:3",
          envs: [
            "REGISTRY_HTTP_TLS_CERTIFICATE=/c.crt",
            "REGISTRY_HTTP_TLS_KEY=/c.key",
            "REGISTRY_HTTP_TLS_CLIENTCAS_0=/ca.crt",
          ],
          volumes: data("mtls"),
        },
        { parent },
      );
      new docker.Container(
        "config-file",
        {
          image: "registry:2",
          uploads: [{ file: "/etc/docker/registry/config.yml", content: config }],
          volumes: data("cfg"),
        },
        { parent },
      );
      new docker.Service(
        "swarm-registry",
        {
          taskSpec: {
            containerSpec: {
              image: "registry:2",
              env: { REGISTRY_AUTH: "htpasswd", REGISTRY_AUTH_HTPASSWD_PATH: "/a" },
            },
          },
        },
        { parent },
      );
      // Not a registry: another image that happens to set REGISTRY_* variables.
      new docker.Container(
        "app",
        { image: "example/app:1", envs: ["REGISTRY_URL=http://x"] },
        { parent },
      );
    });
    const found = reports.filter((r) => r.policy === "registry-tls-and-auth");
    const names = found.map((r) => resources.find((x) => x.urn === r.urn)?.name);
    expect(names).toEqual(["silly", "swarm-registry"]);
    expect(found[0].message).toMatch(/uses `silly` auth, which accepts any credentials/);
    expect(found[1].message).toMatch(
      /docker\.Service "swarm-registry" runs the registry image registry:2 without TLS/,
    );
  });
});

describe("registry-minimum-tls", () => {
  it("reports a version below tls1.2, read as distribution reads it (YAML-quoted too)", async () => {
    const { reports, resources } = await check((parent) => {
      for (const [name, value] of [
        ["old", "tls1.0"],
        ["quoted", '"tls1.1"'],
        ["ok", '"tls1.2"'],
      ]) {
        new docker.Container(
          name,
          {
            image: "registry:2",
            envs: [
              "REGISTRY_HTTP_TLS_CERTIFICATE=/c.crt",
              "REGISTRY_HTTP_TLS_KEY=/c.key",
              "REGISTRY_AUTH=htpasswd",
              `REGISTRY_HTTP_TLS_MINIMUMTLS=${value}`,
            ],
            volumes: [{ hostPath: `/srv/${name}`, containerPath: "/var/lib/registry" }],
          },
          { parent },
        );
      }
    });
    const found = reports.filter((r) => r.policy === "registry-minimum-tls");
    expect(found.map((r) => resources.find((x) => x.urn === r.urn)?.name)).toEqual([
      "old",
      "quoted",
    ]);
    expect(found[0].message).toMatch(
      /REGISTRY_HTTP_TLS_MINIMUMTLS=tls1\.0, below tls1\.2.*Fix: set REGISTRY_HTTP_TLS_MINIMUMTLS=tls1\.2 \(SecureRegistry: tls\.minimumVersion\)/,
    );
    expect(found[1].message).toMatch(/REGISTRY_HTTP_TLS_MINIMUMTLS=tls1\.1,/);
  });

  it("is configurable: tls1.3 as the minimum reports SecureRegistry's default tls1.2", async () => {
    const { reports, resources } = await check((parent) => void secureRegistry("reg", parent), {
      "registry-minimum-tls": { minimumVersion: "tls1.3" },
    });
    expect(reports).toEqual([
      expect.objectContaining({
        policy: "registry-minimum-tls",
        urn: urnOf(resources, "docker:index/container:Container", "reg-container"),
        message: expect.stringMatching(/REGISTRY_HTTP_TLS_MINIMUMTLS=tls1\.2, below tls1\.3/),
      }),
    ]);
  });
});

describe("pull-by-digest", () => {
  it("reports containers that run a SecureRegistry image by tag, directly or through a RemoteImage", async () => {
    const { reports, resources } = await check((parent) => {
      secureRegistry("reg", parent);
      new docker.Container(
        "by-tag",
        { image: "registry.example.com:5000/apps/web:1.0" },
        { parent },
      );
      const pulled = new docker.RemoteImage(
        "web-image",
        { name: "registry.example.com:5000/apps/web:1.0" },
        { parent },
      );
      new docker.Container("by-remote-tag", { image: pulled.imageId }, { parent });
      // Other registries are not this policy's business.
      new docker.Container("hub", { image: "nginx:1.27" }, { parent });
    });
    const found = reports.filter((r) => r.policy === "pull-by-digest");
    expect(found.map((r) => resources.find((x) => x.urn === r.urn)?.name)).toEqual([
      "by-tag",
      "by-remote-tag",
    ]);
    expect(found[0].message).toMatch(
      /docker\.Container "by-tag" runs registry\.example\.com:5000\/apps\/web:1\.0, a tag on the SecureRegistry at registry\.example\.com:5000.*Fix: reference the digest: registry\.example\.com:5000\/apps\/web@sha256:<digest>/,
    );
    expect(found[1].message).toMatch(
      /runs the image docker\.RemoteImage "web-image" pulled as .*Fix: give docker\.RemoteImage "web-image" the digest reference/,
    );
  });

  it("knows registries from configuration and from a standalone RegistryClientTrust", async () => {
    const { reports } = await check(
      (parent) => {
        new RegistryClientTrust(
          "external",
          {
            endpoint: "registry.corp.example",
            caCertPem: pulumi.output(caPem),
            certsDirs: ["/tmp/never"],
          },
          { parent },
        );
        new docker.Container("a", { image: "registry.corp.example:443/team/a:2" }, { parent });
        new docker.Container("b", { image: "mirror.corp.example/team/b:latest" }, { parent });
      },
      { "pull-by-digest": { registries: ["https://mirror.corp.example/"] } },
    );
    expect(reports.filter((r) => r.policy === "pull-by-digest")).toHaveLength(2);
  });
});

describe("registry-data-retained", () => {
  const secured = [
    "REGISTRY_HTTP_TLS_CERTIFICATE=/c.crt",
    "REGISTRY_HTTP_TLS_KEY=/c.key",
    "REGISTRY_AUTH=htpasswd",
  ];

  it("reports a registry without a data mount, and an unprotected hand-made data volume", async () => {
    const { reports, resources } = await check((parent) => {
      new docker.Container("ephemeral", { image: "registry:2", envs: secured }, { parent });
      const volume = new docker.Volume("data", { name: "registry-data" }, { parent });
      new docker.Container(
        "with-volume",
        {
          image: "registry:2",
          envs: secured,
          volumes: [{ volumeName: volume.name, containerPath: "/var/lib/registry" }],
        },
        { parent },
      );
      const kept = new docker.Volume("kept", { name: "kept-data" }, { parent, protect: true });
      new docker.Container(
        "protected",
        {
          image: "registry:2",
          envs: secured,
          mounts: [{ type: "volume", source: kept.name, target: "/var/lib/registry" }],
        },
        { parent },
      );
      new docker.Container(
        "s3",
        {
          image: "registry:2",
          envs: [...secured, "REGISTRY_STORAGE=s3", "REGISTRY_STORAGE_S3_BUCKET=b"],
        },
        { parent },
      );
    });
    const found = reports.filter((r) => r.policy === "registry-data-retained");
    expect(found.map((r) => r.urn)).toEqual([
      urnOf(resources, "docker:index/container:Container", "ephemeral"),
      urnOf(resources, "docker:index/volume:Volume", "data"),
    ]);
    expect(found[0].message).toMatch(
      /keeps its data in \/var\/lib\/registry with no named volume or host directory mounted there.*anonymous volume/,
    );
    expect(found[1].message).toMatch(
      /docker\.Volume "data" holds the registry data of docker\.Container "with-volume" \(mounted at \/var\/lib\/registry\).*retainOnDelete: true.*list this volume under the policy's `ignore`/,
    );
    expect(reports.filter((r) => r.policy !== "registry-data-retained")).toEqual([]);
  });

  it("trusts SecureRegistry's retained volume unless requireProtect is set", async () => {
    const declare = (parent: pulumi.Resource) => {
      secureRegistry("reg", parent);
    };
    expect((await check(declare)).reports).toEqual([]);
    mocks.clear();
    const { reports, resources } = await check(declare, {
      "registry-data-retained": { requireProtect: true },
    });
    expect(reports).toEqual([
      expect.objectContaining({
        urn: urnOf(resources, "docker:index/volume:Volume", "reg-data"),
        message: expect.stringMatching(
          /is not protected \(this policy is set to require protect: true/,
        ),
      }),
    ]);
  });
});

describe("configuration", () => {
  const declareOpenRegistry = (parent: pulumi.Resource) => {
    new docker.Container("open", { image: "registry:2" }, { parent });
  };

  it("changes enforcement levels per policy and can disable one", async () => {
    const { reports } = await check(declareOpenRegistry, {
      "registry-tls-and-auth": "advisory",
      "registry-data-retained": { enforcementLevel: "disabled" },
    });
    expect(new Set(reports.map((r) => `${r.policy}:${r.enforcementLevel}`))).toEqual(
      new Set(["registry-tls-and-auth:advisory"]),
    );
  });

  it("ignores listed resources and treats configured images as registries", async () => {
    const ignoredRun = await check(declareOpenRegistry, {
      "registry-tls-and-auth": { ignore: ["open"] },
      "registry-data-retained": { ignore: ["open"] },
    });
    expect(ignoredRun.reports).toEqual([]);
    mocks.clear();
    const mirror = await check(
      (parent) => {
        new docker.Container("mirror", { image: "mirror.corp.example/infra/reg:2" }, { parent });
      },
      { "registry-tls-and-auth": { registryImages: ["mirror.corp.example/infra/reg"] } },
    );
    expect(mirror.reports.filter((r) => r.policy === "registry-tls-and-auth")).toHaveLength(2);
  });

  it("every policy is mandatory by default and has a config schema with `ignore`", () => {
    expect(policies.map((p) => p.name)).toEqual([
      "no-insecure-registries",
      "registry-tls-and-auth",
      "registry-minimum-tls",
      "pull-by-digest",
      "registry-data-retained",
    ]);
    for (const p of policies) {
      expect(p.enforcementLevel).toBe("mandatory");
      expect(p.configSchema?.properties.ignore).toMatchObject({ type: "array" });
    }
  });
});

describe("previews: unknown values", () => {
  it("finds a registry whose image ID is unknown through its property dependency on the RemoteImage", async () => {
    const stack = linkResources(
      [
        policyResource({
          urn: "urn:pulumi:s::p::docker:index/remoteImage:RemoteImage::img",
          type: "docker:index/remoteImage:RemoteImage",
          name: "img",
          outputs: { name: "registry:2", imageId: UNKNOWN_STRING },
          protect: false,
        }),
        policyResource({
          urn: "urn:pulumi:s::p::docker:index/container:Container::reg",
          type: "docker:index/container:Container",
          name: "reg",
          outputs: {
            image: UNKNOWN_STRING,
            envs: ["REGISTRY_AUTH=htpasswd"],
            volumes: UNKNOWN_STRING,
          },
          protect: false,
        }),
      ],
      {},
      {
        "urn:pulumi:s::p::docker:index/container:Container::reg": {
          image: ["urn:pulumi:s::p::docker:index/remoteImage:RemoteImage::img"],
        },
      },
    );
    const reports = await runPolicies(policies, [], {}, stack);
    // Its mounts are unknown, so nothing is said about its data until they are known.
    expect(reports.map((r) => r.policy)).toEqual(["registry-tls-and-auth"]);
    expect(reports[0].message).toMatch(
      /docker\.Container "reg" runs the registry image registry:2 \(through docker\.RemoteImage "img"\) without TLS/,
    );
  });

  it("plainData turns unknown values into UNKNOWN instead of throwing", () => {
    const { unknownCheckingProxy } = require("@pulumi/policy/proxy");
    const proxied = unknownCheckingProxy({
      a: UNKNOWN_STRING,
      b: [1, UNKNOWN_STRING],
      c: { d: "x" },
    });
    expect(() => proxied.a).toThrow(/can't be known during preview/);
    expect(plainData(proxied)).toEqual({ a: UNKNOWN, b: [1, UNKNOWN], c: { d: "x" } });
  });
});

describe("image references and settings", () => {
  it.each([
    [
      "registry:2",
      { host: undefined, repository: "library/registry", tag: "2", digest: undefined },
    ],
    [
      "docker.io/library/registry:2",
      { host: undefined, repository: "library/registry", tag: "2", digest: undefined },
    ],
    [
      "reg.example:5000/a/b",
      { host: "reg.example:5000", repository: "a/b", tag: undefined, digest: undefined },
    ],
    ["localhost/a:1@" + DIGEST, { host: "localhost", repository: "a", tag: "1", digest: DIGEST }],
  ])("parses %s", (ref, parsed) => {
    expect(parseImageRef(ref)).toEqual(parsed);
  });

  it("recognises digests, IDs and endpoints", () => {
    expect(parseImageRef(DIGEST)).toBeUndefined();
    expect(pinsDigest(parseImageRef(`r.example/a@${DIGEST}`)!)).toBe(true);
    expect(pinsDigest(parseImageRef("r.example/a:sha256")!)).toBe(false);
    expect(normalizeEndpoint("HTTPS://Reg.Example:443/v2/")).toBe("reg.example");
  });

  it("reads env values as distribution's YAML parsing does", () => {
    expect(yamlScalarText('"tls1.2"')).toBe("tls1.2");
    expect(yamlScalarText("Registry realm")).toBe("Registry realm");
    expect(yamlScalarText('"a: b"')).toBe("a: b");
    expect(yamlScalarText("")).toBe("");
  });
});
