/**
 * The package schema other languages' SDKs are generated from, generated in-process the way the
 * component provider serves it (no Pulumi CLI): committed and current, every component, every
 * argument with its type, required-ness and description, every output, secrets marked.
 */
/* eslint-disable @typescript-eslint/no-explicit-any */
import * as fs from "fs";
import {
  PLUGIN_NAME,
  renderSchema,
  SCHEMA_COMMAND,
  SCHEMA_FILE,
  SecureRegistryComponentProvider,
  SECRET_RESOURCE_PROPERTIES,
  SECRET_TYPE_PROPERTIES,
} from "../../src/plugin";

let text: string;
let schema: any;

beforeAll(async () => {
  text = await new SecureRegistryComponentProvider().getSchema();
  schema = JSON.parse(text);
}, 180_000);

const token = (name: string) => `${PLUGIN_NAME}:index:${name}`;

/** A property as one line: `[plain ]type[?][ secret]`, types by name, lists `T[]`, maps `map<T>`. */
function render(property: any, required: readonly string[], name: string): string {
  const type = (p: any): string => {
    if (p.$ref !== undefined) {
      return p.$ref === "pulumi.json#/Any" ? "any" : p.$ref.slice(p.$ref.lastIndexOf(":") + 1);
    }
    if (p.type === "array") return `${type(p.items)}[]`;
    if (p.type === "object" && p.additionalProperties !== undefined) {
      return `map<${type(p.additionalProperties)}>`;
    }
    return p.type;
  };
  return (
    (property.plain ? "plain " : "") +
    type(property) +
    (required.includes(name) ? "" : "?") +
    (property.secret ? " secret" : "")
  );
}

/** What SecureRegistry and SecureRegistryService both take (RegistryServerArgs) and give. */
const REGISTRY_SERVER_INPUTS = {
  tls: "plain RegistryTlsOptions?",
  hostname: "string?",
  additionalHostnames: "string[]?",
  ipAddresses: "string[]?",
  image: "string?",
  users: "HtpasswdUser[]?",
  realm: "string?",
  logLevel: "LogLevel?",
  env: "map<string>?",
  httpSecret: "string? secret",
};
const REGISTRY_SERVER_OUTPUTS = {
  endpoint: "string",
  url: "string",
  caCertPem: "string",
  credentials: "Credential[] secret",
  htpasswd: "string secret",
  dockerConfigJson: "string secret",
  clientCertificates: "ClientCertificate[] secret",
  requiresClientCertificates: "boolean",
};

/** What each component takes and gives, as other languages see it. */
const API: Record<string, { inputs: Record<string, string>; outputs: Record<string, string> }> = {
  SecureRegistry: {
    inputs: {
      ...REGISTRY_SERVER_INPUTS,
      trust: "plain SecureRegistryTrustOptions?",
      port: "number?",
      bindAddress: "string?",
      storage: "plain RegistryStorageOptions?",
      proxy: "plain RegistryProxyOptions?",
      containerName: "string?",
      container: "plain RegistryContainerOptions?",
    },
    outputs: { ...REGISTRY_SERVER_OUTPUTS, pullThroughCache: "boolean" },
  },
  SecureRegistryService: {
    inputs: {
      ...REGISTRY_SERVER_INPUTS,
      port: "number?",
      storage: "plain ServiceStorageOptions",
      serviceName: "plain string?",
      replicas: "number?",
      global: "plain boolean?",
      placement: "plain ServicePlacementOptions?",
      publishMode: "plain PublishMode?",
      update: "plain ServiceUpdateOptions?",
      stopGracePeriod: "plain string?",
      redis: "plain ServiceRedisOptions?",
      networks: "string[]?",
      convergeTimeout: "plain string?",
    },
    outputs: { ...REGISTRY_SERVER_OUTPUTS, serviceName: "string" },
  },
  RegistryClientCertificates: {
    inputs: {
      clients: "plain string[]",
      caCertPem: "string",
      caPrivateKeyPem: "string secret",
      organization: "plain string?",
      keyAlgorithm: "plain KeyAlgorithm?",
      rsaBits: "plain number?",
      validityDays: "plain number?",
      earlyRenewalDays: "plain number?",
    },
    outputs: {
      certificates: "ClientCertificate[] secret",
      caCertPem: "string",
    },
  },
  BuiltImage: {
    inputs: {
      registry: "plain RegistryLogin",
      context: "string",
      dockerfile: "string?",
      target: "string?",
      buildArgs: "map<string>?",
      platform: "string?",
      imageName: "string",
      lintAsErrors: "plain boolean?",
      lintIgnore: "string[]?",
    },
    outputs: {
      imageName: "string",
      repoDigest: "string",
      size: "number",
      layerCount: "number",
      platform: "string",
      lintFindings: "LintFinding[]",
    },
  },
  FlattenedImage: {
    inputs: {
      registry: "plain RegistryLogin?",
      source: "string",
      imageName: "string",
      push: "boolean?",
      keepImage: "boolean?",
    },
    outputs: {
      imageName: "string",
      imageId: "string",
      repoDigest: "string?",
      layerCount: "number",
      size: "number",
      sourceImageId: "string",
      sourceLayerCount: "number",
      sourceSize: "number",
    },
  },
  HtpasswdUsers: {
    inputs: {
      users: "HtpasswdUser[]?",
      passwordLength: "number?",
      bcryptCost: "number?",
    },
    outputs: {
      htpasswd: "string secret",
      credentials: "Credential[] secret",
    },
  },
  RegistryCertificates: {
    inputs: {
      hostnames: "string[]?",
      ipAddresses: "string[]?",
      organization: "string?",
      keyAlgorithm: "KeyAlgorithm?",
      rsaBits: "number?",
      validityDays: "number?",
      caValidityDays: "number?",
      earlyRenewalDays: "number?",
      certPem: "string?",
      privateKeyPem: "string? secret",
      caCertPem: "string?",
    },
    outputs: {
      caCertPem: "string",
      certPem: "string",
      privateKeyPem: "string secret",
      caPrivateKeyPem: "string? secret",
    },
  },
  RegistryClientTrust: {
    inputs: {
      endpoint: "string",
      caCertPem: "string?",
      certsDirs: "string[]?",
      insecure: "boolean?",
      daemonConfigPath: "string?",
      reloadDaemon: "boolean?",
      pidFile: "string?",
      login: "RegistryClientLogin?",
      clientConfigPath: "string?",
      adopt: "boolean?",
      clientCertPem: "string?",
      clientKeyPem: "string? secret",
      containerd: "plain ContainerdTrustOptions?",
      buildkit: "plain BuildkitTrustOptions?",
      connection: "plain RegistryClientConnection?",
    },
    outputs: {
      files: "string[]",
      loginCommand: "string",
    },
  },
  RegistryFlattenedImage: {
    inputs: {
      source: "string",
      sourceRegistry: "plain RegistryAccess?",
      imageName: "string",
      registry: "plain RegistryAccess",
      keepAttestations: "boolean?",
      compressionLevel: "number?",
    },
    outputs: {
      imageName: "string",
      digest: "string",
      repoDigest: "string",
      mediaType: "string",
      sourceDigest: "string",
      platformDigests: "map<string>",
      platforms: "FlattenedPlatform[]",
      size: "number",
      sourceSize: "number",
      layerCount: "number",
      sourceLayerCount: "number",
    },
  },
};

/** Named types reachable from `property` (refs into this package's `types`). */
function typesUnder(property: any, into = new Set<string>()): Set<string> {
  const ref: string | undefined = property?.$ref;
  if (ref?.startsWith(`#/types/${PLUGIN_NAME}:`)) {
    const name = ref.slice(ref.lastIndexOf(":") + 1);
    if (!into.has(name)) {
      into.add(name);
      for (const inner of Object.values<any>(schema.types[token(name)]?.properties ?? {})) {
        typesUnder(inner, into);
      }
    }
  }
  if (property?.items) typesUnder(property.items, into);
  if (property?.additionalProperties) typesUnder(property.additionalProperties, into);
  return into;
}

describe("the package schema", () => {
  it(`is committed as schema.json, current (regenerate with \`${SCHEMA_COMMAND}\`)`, () => {
    const committed = fs.existsSync(SCHEMA_FILE) ? fs.readFileSync(SCHEMA_FILE, "utf8") : "";
    if (committed !== renderSchema(text)) {
      throw new Error(
        `schema.json is not the schema the components generate now: run \`${SCHEMA_COMMAND}\` ` +
          "and commit the result (its diff shows the API change other languages will see).",
      );
    }
    expect(schema.name).toBe("secure-registry");
    expect(schema.version).toBe(require("../../package.json").version);
  });

  it("has every component, with every argument and output as other languages see it", () => {
    expect(Object.keys(schema.resources).sort()).toEqual(Object.keys(API).map(token).sort());
    for (const [name, expected] of Object.entries(API)) {
      const resource = schema.resources[token(name)];
      expect(resource.isComponent).toBe(true);
      expect(resource.description).toEqual(expect.any(String));
      const inputs = Object.fromEntries(
        Object.entries<any>(resource.inputProperties).map(([k, p]) => [
          k,
          render(p, resource.requiredInputs, k),
        ]),
      );
      const outputs = Object.fromEntries(
        Object.entries<any>(resource.properties).map(([k, p]) => [
          k,
          render(p, resource.required, k),
        ]),
      );
      expect({ name, inputs, outputs }).toEqual({ name, ...expected });
    }
  });

  it("documents every argument, and every field of the types arguments use", () => {
    const undocumented: string[] = [];
    const inputTypes = new Set<string>();
    for (const [resourceToken, resource] of Object.entries<any>(schema.resources)) {
      for (const [name, property] of Object.entries<any>(resource.inputProperties)) {
        if (!property.description?.trim()) undocumented.push(`${resourceToken}.${name}`);
        if (property.$ref === "pulumi.json#/Any")
          undocumented.push(`${resourceToken}.${name} (any)`);
        typesUnder(property, inputTypes);
      }
    }
    for (const name of inputTypes) {
      const type = schema.types[token(name)];
      expect(type).toBeDefined();
      for (const [field, property] of Object.entries<any>(type.properties ?? {})) {
        if (!property.description?.trim()) undocumented.push(`${name}.${field}`);
        if (property.$ref === "pulumi.json#/Any") undocumented.push(`${name}.${field} (any)`);
      }
    }
    expect(undocumented).toEqual([]);
    // The types arguments use, by name: a new one shows here first.
    expect([...inputTypes].sort()).toEqual([
      "BuildkitTrustOptions",
      // docker.Container's types, through SecureRegistry's `container`.
      "ContainerCapabilities",
      "ContainerDevice",
      "ContainerDeviceReadBp",
      "ContainerDeviceReadIop",
      "ContainerDeviceRequest",
      "ContainerDeviceWriteBp",
      "ContainerDeviceWriteIop",
      "ContainerHost",
      "ContainerLabel",
      "ContainerMount",
      "ContainerMountBindOptions",
      "ContainerMountTmpfsOptions",
      "ContainerMountVolumeOptions",
      "ContainerMountVolumeOptionsLabel",
      "ContainerNetworksAdvanced",
      "ContainerUlimit",
      "ContainerdCapability",
      "ContainerdTrustOptions",
      "Credential",
      "HtpasswdUser",
      "KeyAlgorithm",
      "LogLevel",
      "PublishMode",
      "RegistryAccess",
      "RegistryClientConnection",
      "RegistryClientLogin",
      "RegistryContainerOptions",
      "RegistryLogin",
      "RegistryProxyOptions",
      "RegistryStorageOptions",
      "RegistryTlsOptions",
      "S3StorageOptions",
      "SecureRegistryTrustOptions",
      "ServicePlacementOptions",
      "ServiceRedisOptions",
      "ServiceStorageOptions",
      "ServiceUpdateOptions",
      "TlsVersion",
      "UpdateFailureAction",
      "UpdateOrder",
    ]);
  });

  it("gives literal unions as enums with the TypeScript values", () => {
    const values = (name: string) => schema.types[token(name)].enum.map((e: any) => e.value).sort();
    expect(values("TlsVersion")).toEqual(["tls1.2", "tls1.3"]);
    expect(values("LogLevel")).toEqual(["debug", "error", "info", "warn"]);
    expect(values("KeyAlgorithm")).toEqual(["ECDSA", "RSA"]);
    expect(values("ContainerdCapability")).toEqual(["pull", "push", "resolve"]);
    expect(values("LintSeverity")).toEqual(["error", "info", "warning"]);
    expect(values("UpdateOrder")).toEqual(["start-first", "stop-first"]);
    expect(values("UpdateFailureAction")).toEqual(["continue", "pause", "rollback"]);
    expect(values("PublishMode")).toEqual(["host", "ingress"]);
  });

  it("marks secrets, and every property named like one is marked", () => {
    const secretName = /password|privatekey|keypem|secret|htpasswd|dockerconfigjson|credentials/i;
    const unmarked: string[] = [];
    const marked: string[] = [];
    const visit = (where: string, properties: Record<string, any> = {}) => {
      for (const [name, property] of Object.entries(properties)) {
        const looksSecret = secretName.test(name) && property.type !== "number";
        if (property.secret) marked.push(`${where}.${name}`);
        if (looksSecret && !property.secret) unmarked.push(`${where}.${name}`);
      }
    };
    for (const [t, resource] of Object.entries<any>(schema.resources)) {
      visit(`${t} input`, resource.inputProperties);
      visit(`${t} output`, resource.properties);
    }
    for (const [t, type] of Object.entries<any>(schema.types)) visit(t, type.properties);
    expect(unmarked).toEqual([]);
    const listed =
      Object.values(SECRET_RESOURCE_PROPERTIES).reduce(
        (n, { inputs = [], outputs = [] }) => n + inputs.length + outputs.length,
        0,
      ) + Object.values(SECRET_TYPE_PROPERTIES).reduce((n, names) => n + names.length, 0);
    expect(marked).toHaveLength(listed);
    // Certificates are public.
    expect(schema.resources[token("SecureRegistry")].properties.caCertPem.secret).toBeUndefined();
  });
});
