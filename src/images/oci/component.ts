import * as pulumi from "@pulumi/pulumi";
import {
  checkBoolean,
  checkInteger,
  checkObject,
  checkString,
  componentLabel,
  fail,
  isDeferred,
} from "../../common/checks";
import { parseImageReference } from "../../common/names";
import { DEFAULT_COMPRESSION_LEVEL } from "./flatten";
import type { FlattenedPlatform } from "./flatten";
import { RegistryLoginInputs, registryFlattenProvider } from "./provider";

/**
 * How to reach a registry. One shape with optional fields (no union, so other Pulumi languages can
 * use it): a `SecureRegistry` fits as it is (`endpoint`, `credentials` (the first is used),
 * `caCertPem`), or give `server`, `username`, `password` and, for a private CA, `caCertPem`.
 */
export interface RegistryAccess {
  /** `host[:port]` of the registry. Give this or `endpoint`. */
  readonly server?: pulumi.Input<string>;
  /** Same as `server` (what a SecureRegistry outputs). */
  readonly endpoint?: pulumi.Input<string>;
  /** User name. Default: none (anonymous, or whatever the registry's token service allows). */
  readonly username?: pulumi.Input<string>;
  /** Password; made secret whether or not it arrives secret. Default: none. */
  readonly password?: pulumi.Input<string>;
  /** Credentials list (a SecureRegistry's `credentials`); the first is used when `username` is not given. */
  readonly credentials?: pulumi.Input<pulumi.Input<{ username: string; password: string }>[]>;
  /** PEM CA certificate(s) trusted in addition to the system roots. Default: system roots only. */
  readonly caCertPem?: pulumi.Input<string>;
  /** Plain HTTP instead of HTTPS (loopback test registries only). Default: false. */
  readonly insecureHttp?: pulumi.Input<boolean>;
}

export interface RegistryFlattenedImageArgs {
  /**
   * Image to flatten: `[host[:port]/]repository[:tag|@sha256:...]` in a registry (tag default
   * `latest`). Without a host it is placed under `sourceRegistry`'s server. An index
   * (multi-platform) gives an index of flattened images. Required.
   */
  readonly source: pulumi.Input<string>;
  /** Registry of `source` with its credentials and CA. Default: the host in `source`, anonymous, system roots. */
  readonly sourceRegistry?: RegistryAccess;
  /** `repository[:tag]` to write in `registry` (tag default `latest`); the registry's server is prefixed. Required. */
  readonly imageName: pulumi.Input<string>;
  /** Destination registry: a `SecureRegistry` or `{ server, username, password, caCertPem }`. Required. */
  readonly registry: RegistryAccess;
  /** Keep BuildKit attestation manifests (provenance, SBOM) of an index source, copied as they are. Default: false. */
  readonly keepAttestations?: pulumi.Input<boolean>;
  /** gzip level (1 fastest - 9 smallest) of the flattened layer. Default: 6. */
  readonly compressionLevel?: pulumi.Input<number>;
}

const ARGS = [
  "source",
  "sourceRegistry",
  "imageName",
  "registry",
  "keepAttestations",
  "compressionLevel",
];
const ACCESS = [
  "server",
  "endpoint",
  "username",
  "password",
  "credentials",
  "caCertPem",
  "insecureHttp",
];

interface ResolvedAccess {
  readonly server?: pulumi.Output<string>;
  /** Secret. */
  readonly login: pulumi.Output<RegistryLoginInputs>;
  readonly dependsOn: pulumi.Resource[];
}

function resolveAccess(
  label: string,
  field: string,
  access: RegistryAccess | undefined,
  required: boolean,
): ResolvedAccess | undefined {
  if (access === undefined) {
    if (required) {
      fail(
        label,
        field,
        `${field} is required: pass a SecureRegistry or { server, username, password, caCertPem }.`,
      );
    }
    return undefined;
  }
  const isResource = pulumi.Resource.isInstance(access);
  // A SecureRegistry carries more public properties than these; only plain objects are strict.
  if (!isResource) checkObject(label, field, access, ACCESS);
  if (access.server === undefined && access.endpoint === undefined) {
    fail(
      label,
      `${field}.server`,
      `${field} names no registry: give ${field}.server ("host:port"), or pass a SecureRegistry.`,
    );
  }
  if (access.server !== undefined && access.endpoint !== undefined) {
    fail(label, `${field}.server`, `${field} has both server and endpoint; give one.`);
  }
  const server = checkString(label, `${field}.server`, access.server ?? access.endpoint, {
    example: "registry.example.com:5000",
  });
  checkString(label, `${field}.username`, access.username);
  checkString(label, `${field}.password`, access.password, { secret: true, nonEmpty: false });
  checkString(label, `${field}.caCertPem`, access.caCertPem, { singleLine: false });
  checkBoolean(label, `${field}.insecureHttp`, access.insecureHttp);
  if (access.username !== undefined && access.password === undefined) {
    fail(
      label,
      `${field}.password`,
      `${field}.username is set without ${field}.password; give both.`,
    );
  }
  if (Array.isArray(access.credentials) && access.credentials.length === 0 && !access.username) {
    fail(
      label,
      `${field}.credentials`,
      `${field}.credentials is empty: the registry has no user. Add a user, or give username and password.`,
    );
  }
  const first = pulumi.output(access.credentials ?? []).apply((list) => list?.[0]);
  const login = pulumi
    .all([access.username, access.password, first, access.caCertPem, access.insecureHttp] as const)
    .apply(([username, password, credential, caCertPem, insecureHttp]) => {
      const out: RegistryLoginInputs = {
        ...(username !== undefined
          ? { username, password }
          : credential
            ? { username: credential.username, password: credential.password }
            : {}),
        ...(caCertPem ? { caCertPem } : {}),
        ...(insecureHttp ? { insecureHttp } : {}),
      };
      return out;
    });
  return {
    server: pulumi.output(server as pulumi.Input<string>).apply((s) =>
      s
        .trim()
        .replace(/^[a-z]+:\/\//i, "")
        .replace(/\/+$/, ""),
    ),
    login: pulumi.secret(login),
    dependsOn: isResource ? [access as unknown as pulumi.Resource] : [],
  };
}

/**
 * Places `name` (`[host/]repository[:tag|@digest]`) in the registry at `server`: no host gets
 * `server/`; the same host is kept; another host is an error naming `field`.
 */
export function placeInRegistry(
  label: string,
  field: string,
  name: string,
  server: string | undefined,
  allowDigest: boolean,
): string {
  const parsed = parseImageReference(name);
  if ("problem" in parsed) {
    fail(label, field, `${field} ${JSON.stringify(name)} ${parsed.problem}.`);
  }
  if (parsed.digest && !allowDigest) {
    fail(
      label,
      field,
      `${field} ${JSON.stringify(name)} has a digest: give repository[:tag]; the digest written is the repoDigest output.`,
    );
  }
  const host = parsed.host ?? server;
  if (!host) {
    fail(
      label,
      field,
      `${field} ${JSON.stringify(name)} names no registry: start it with host[:port]/ or give ${field === "source" ? "sourceRegistry" : "registry"}.`,
    );
  }
  if (parsed.host && server && parsed.host !== server) {
    fail(
      label,
      field,
      `${field} ${JSON.stringify(name)} names registry "${parsed.host}", but the registry given is "${server}". Drop the host or make them agree.`,
    );
  }
  const suffix = parsed.digest
    ? `${parsed.tag ? `:${parsed.tag}` : ""}@${parsed.digest}`
    : `:${parsed.tag ?? "latest"}`;
  return `${host}/${parsed.path}${suffix}`;
}

/**
 * A one-layer copy of an image (or of every image of a multi-platform index) that lives in a
 * registry, written to a registry through the registry API: no Docker engine, memory bounded
 * whatever the image size, and the same digest for the same source on every run and machine.
 * Keeps the whole config (Env, Cmd, Entrypoint, WorkingDir, User, ExposedPorts, Volumes, Labels,
 * StopSignal, Healthcheck, OnBuild, Shell, ArgsEscaped, created). See docs/flatten.md.
 */
export class RegistryFlattenedImage extends pulumi.ComponentResource {
  /** `host[:port]/repository:tag` written. */
  public readonly imageName: pulumi.Output<string>;
  /** Digest the tag points to (an index for an index source). */
  public readonly digest: pulumi.Output<string>;
  /** `host[:port]/repository@sha256:...`: what deployments should reference. */
  public readonly repoDigest: pulumi.Output<string>;
  /** Manifest media type written (the source's flavour: Docker v2 schema 2 or OCI). */
  public readonly mediaType: pulumi.Output<string>;
  /** Digest of the source manifest (or index) that was flattened. */
  public readonly sourceDigest: pulumi.Output<string>;
  /** `os/arch[/variant]` -> flattened image manifest digest. */
  public readonly platformDigests: pulumi.Output<Record<string, string>>;
  /** Per platform: digests, sizes, layer counts, entries. */
  public readonly platforms: pulumi.Output<FlattenedPlatform[]>;
  /** Compressed bytes of the flattened layer(s). */
  public readonly size: pulumi.Output<number>;
  /** Compressed bytes of the source layers. */
  public readonly sourceSize: pulumi.Output<number>;
  /** Layers of each flattened image: 1. */
  public readonly layerCount: pulumi.Output<number>;
  /** Most layers of any source image. */
  public readonly sourceLayerCount: pulumi.Output<number>;

  constructor(
    name: string,
    args: RegistryFlattenedImageArgs,
    opts?: pulumi.ComponentResourceOptions,
  ) {
    const label = componentLabel("RegistryFlattenedImage", name);
    if (args === undefined || args === null) {
      fail(label, "args", "args are required: { source, imageName, registry }.");
    }
    checkObject(label, "", args, ARGS);
    if (args.source === undefined) {
      fail(label, "source", 'source is required, e.g. "registry.example.com:5000/apps/web:1.4.2".');
    }
    if (args.imageName === undefined) {
      fail(label, "imageName", 'imageName is required, e.g. "apps/web-flat:1.4.2".');
    }
    checkString(label, "source", args.source, { example: "apps/web:1.4.2" });
    checkString(label, "imageName", args.imageName, { example: "apps/web-flat:1.4.2" });
    checkBoolean(label, "keepAttestations", args.keepAttestations);
    checkInteger(label, "compressionLevel", args.compressionLevel, { min: 1, max: 9, example: 6 });
    const destination = resolveAccess(label, "registry", args.registry, true) as ResolvedAccess;
    const sourceAccess = resolveAccess(label, "sourceRegistry", args.sourceRegistry, false);
    // Plain strings are placed now, so a bad name fails before any resource exists.
    const plainServer = (access: RegistryAccess | undefined) => {
      const value = access?.server ?? access?.endpoint;
      return typeof value === "string" && !isDeferred(value)
        ? value
            .trim()
            .replace(/^[a-z]+:\/\//i, "")
            .replace(/\/+$/, "")
        : undefined;
    };
    const serverKnown = (access: RegistryAccess | undefined) =>
      access === undefined || plainServer(access) !== undefined;
    if (typeof args.source === "string" && serverKnown(args.sourceRegistry)) {
      placeInRegistry(label, "source", args.source, plainServer(args.sourceRegistry), true);
    }
    if (typeof args.imageName === "string" && serverKnown(args.registry)) {
      placeInRegistry(label, "imageName", args.imageName, plainServer(args.registry), false);
    }

    super("secure-registry:images:RegistryFlattenedImage", name, {}, opts);

    const source = pulumi
      .all([args.source, sourceAccess?.server])
      .apply(([value, server]) => placeInRegistry(label, "source", value, server, true));
    const imageName = pulumi
      .all([args.imageName, destination.server])
      .apply(([value, server]) => placeInRegistry(label, "imageName", value, server, false));

    const state = new RegistryFlattenState(
      `${name}-flatten`,
      {
        source,
        sourceRegistry: sourceAccess?.login,
        imageName,
        registry: destination.login,
        keepAttestations: args.keepAttestations ?? false,
        compressionLevel: args.compressionLevel ?? DEFAULT_COMPRESSION_LEVEL,
      },
      {
        parent: this,
        dependsOn: [...destination.dependsOn, ...(sourceAccess?.dependsOn ?? [])],
        additionalSecretOutputs: ["sourceRegistry", "registry"],
      },
    );
    this.imageName = state.imageName;
    this.digest = state.digest;
    this.repoDigest = state.repoDigest;
    this.mediaType = state.mediaType;
    this.sourceDigest = state.sourceDigest;
    this.platformDigests = state.platformDigests;
    this.platforms = state.platforms;
    this.size = state.size;
    this.sourceSize = state.sourceSize;
    this.layerCount = state.layerCount;
    this.sourceLayerCount = state.sourceLayerCount;
    this.registerOutputs({
      imageName: this.imageName,
      digest: this.digest,
      repoDigest: this.repoDigest,
      mediaType: this.mediaType,
      sourceDigest: this.sourceDigest,
      platformDigests: this.platformDigests,
      platforms: this.platforms,
      size: this.size,
      sourceSize: this.sourceSize,
      layerCount: this.layerCount,
      sourceLayerCount: this.sourceLayerCount,
    });
  }
}

/** The dynamic resource behind RegistryFlattenedImage (provider: provider.ts). */
class RegistryFlattenState extends pulumi.dynamic.Resource {
  declare public readonly imageName: pulumi.Output<string>;
  declare public readonly digest: pulumi.Output<string>;
  declare public readonly repoDigest: pulumi.Output<string>;
  declare public readonly mediaType: pulumi.Output<string>;
  declare public readonly sourceDigest: pulumi.Output<string>;
  declare public readonly platformDigests: pulumi.Output<Record<string, string>>;
  declare public readonly platforms: pulumi.Output<FlattenedPlatform[]>;
  declare public readonly size: pulumi.Output<number>;
  declare public readonly sourceSize: pulumi.Output<number>;
  declare public readonly layerCount: pulumi.Output<number>;
  declare public readonly sourceLayerCount: pulumi.Output<number>;

  constructor(
    name: string,
    args: {
      source: pulumi.Input<string>;
      sourceRegistry?: pulumi.Input<RegistryLoginInputs>;
      imageName: pulumi.Input<string>;
      registry: pulumi.Input<RegistryLoginInputs>;
      keepAttestations: pulumi.Input<boolean>;
      compressionLevel: pulumi.Input<number>;
    },
    opts?: pulumi.CustomResourceOptions,
  ) {
    super(
      registryFlattenProvider,
      name,
      {
        ...args,
        digest: undefined,
        repoDigest: undefined,
        mediaType: undefined,
        sourceDigest: undefined,
        platformDigests: undefined,
        platforms: undefined,
        size: undefined,
        sourceSize: undefined,
        layerCount: undefined,
        sourceLayerCount: undefined,
      },
      opts,
      "secure-registry",
      "RegistryFlattenedImage",
    );
  }
}
