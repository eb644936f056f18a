import * as pulumi from "@pulumi/pulumi";
import { flattenProvider } from "./engine";
import { parseImageName, qualifyImageName, withTag } from "./naming";
import { ImageRegistry, resolveRegistry } from "./registry";

export interface FlattenedImageArgs {
  /** Source image: `name:tag`, image ID or `repo@sha256:...` (e.g. a BuiltImage's repoDigest); must exist in the local engine. Required. */
  readonly source: pulumi.Input<string>;
  /**
   * `repository[:tag]` for the flattened image (tag default `latest`). With a `registry`, the
   * registry endpoint is prefixed as for `BuiltImage`; without one it is a local name. Required.
   */
  readonly imageName: pulumi.Input<string>;
  /** Push the flattened image to `registry`. Default: false. */
  readonly push?: pulumi.Input<boolean>;
  /** Registry to push to: a `SecureRegistry` or `{ server, username, password }`. Required when `push` is true. */
  readonly registry?: ImageRegistry;
  /** Keep the local image when this resource is deleted or replaced. Default: false. */
  readonly keepImage?: pulumi.Input<boolean>;
}

/**
 * A one-layer copy of `source` that keeps its configuration (Cmd, Entrypoint, Env, WorkingDir,
 * ExposedPorts, User, Labels, Volumes, StopSignal, Healthcheck), made through the Docker Engine
 * API by streaming a container export into an import. Replaced when the source's image ID changes.
 */
export class FlattenedImage extends pulumi.ComponentResource {
  /** The local (or `registry/`-qualified) `repository:tag` of the flattened image. */
  public readonly imageName: pulumi.Output<string>;
  /** `sha256:` ID of the flattened image. */
  public readonly imageId: pulumi.Output<string>;
  /** `registry/repository@sha256:...` when pushed, otherwise undefined. */
  public readonly repoDigest: pulumi.Output<string | undefined>;
  /** Filesystem layers of the flattened image (1). */
  public readonly layerCount: pulumi.Output<number>;
  /** Size in bytes of the flattened image. */
  public readonly size: pulumi.Output<number>;
  /** Image ID the source reference resolved to. */
  public readonly sourceImageId: pulumi.Output<string>;
  public readonly sourceLayerCount: pulumi.Output<number>;
  public readonly sourceSize: pulumi.Output<number>;

  constructor(name: string, args: FlattenedImageArgs, opts?: pulumi.ComponentResourceOptions) {
    if (!args || typeof args !== "object")
      throw new Error(`FlattenedImage ${name}: args are required.`);
    if (args.source === undefined || args.source === "") {
      throw new Error(
        `FlattenedImage ${name}: source is required: an image name:tag, ID or repo@digest.`,
      );
    }
    if (typeof args.imageName === "string")
      parseImageName(args.imageName, `FlattenedImage ${name}: imageName`);
    else if (args.imageName === undefined) {
      throw new Error(`FlattenedImage ${name}: imageName is required, e.g. "apps/web-flat:1.4.2".`);
    }
    if (args.push === true && args.registry === undefined) {
      throw new Error(
        `FlattenedImage ${name}: push is true but registry is not set. Pass registry, or set push: false.`,
      );
    }
    const registry = args.registry
      ? resolveRegistry(args.registry, `FlattenedImage ${name}: registry`)
      : undefined;
    const imageName = registry
      ? pulumi
          .all([args.imageName, registry.server])
          .apply(([image, server]) =>
            qualifyImageName(image, server, `FlattenedImage ${name}: imageName`),
          )
      : pulumi
          .output(args.imageName)
          .apply((image) => withTag(image, `FlattenedImage ${name}: imageName`));

    super("secure-registry:images:FlattenedImage", name, {}, opts);

    const state = new FlattenedImageState(
      `${name}-flatten`,
      {
        source: args.source,
        imageName,
        push: args.push ?? false,
        keepImage: args.keepImage ?? false,
        registry: registry
          ? pulumi.secret(
              pulumi
                .all([registry.server, registry.username, registry.password])
                .apply(([server, username, password]) => ({ server, username, password })),
            )
          : undefined,
      },
      { parent: this, dependsOn: registry?.dependsOn ?? [], additionalSecretOutputs: ["registry"] },
    );
    this.imageName = state.imageName;
    this.imageId = state.imageId;
    this.repoDigest = state.repoDigest;
    this.layerCount = state.layerCount;
    this.size = state.size;
    this.sourceImageId = state.sourceImageId;
    this.sourceLayerCount = state.sourceLayerCount;
    this.sourceSize = state.sourceSize;
    this.registerOutputs({
      imageName: this.imageName,
      imageId: this.imageId,
      repoDigest: this.repoDigest,
      layerCount: this.layerCount,
      size: this.size,
      sourceImageId: this.sourceImageId,
      sourceLayerCount: this.sourceLayerCount,
      sourceSize: this.sourceSize,
    });
  }
}

/** The dynamic resource behind FlattenedImage (provider: `flattenProvider` in engine.ts). */
class FlattenedImageState extends pulumi.dynamic.Resource {
  declare public readonly imageName: pulumi.Output<string>;
  declare public readonly imageId: pulumi.Output<string>;
  declare public readonly repoDigest: pulumi.Output<string | undefined>;
  declare public readonly layerCount: pulumi.Output<number>;
  declare public readonly size: pulumi.Output<number>;
  declare public readonly sourceImageId: pulumi.Output<string>;
  declare public readonly sourceLayerCount: pulumi.Output<number>;
  declare public readonly sourceSize: pulumi.Output<number>;

  constructor(
    name: string,
    args: {
      source: pulumi.Input<string>;
      imageName: pulumi.Input<string>;
      push: pulumi.Input<boolean>;
      keepImage: pulumi.Input<boolean>;
      registry?: pulumi.Input<{ server: string; username: string; password: string }>;
    },
    opts?: pulumi.CustomResourceOptions,
  ) {
    super(
      flattenProvider,
      name,
      {
        ...args,
        imageId: undefined,
        repoDigest: undefined,
        layerCount: undefined,
        size: undefined,
        sourceImageId: undefined,
        sourceLayerCount: undefined,
        sourceSize: undefined,
      },
      opts,
      "secure-registry",
      "FlattenedImage",
    );
  }
}
