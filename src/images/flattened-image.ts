import * as pulumi from "@pulumi/pulumi";
import {
  checkBoolean,
  checkObject,
  componentLabel,
  fail,
  isDeferred,
  whenKnown,
} from "../common/checks";
import { validateImageReference } from "../common/validators";
import { declaredEngine } from "../engine/declared";
import { flattenProvider } from "./engine/providers";
import { parseImageName, qualifyImageName, withTag } from "./naming";
import { ImageRegistry, resolveRegistry } from "./registry";

export interface FlattenedImageArgs {
  /**
   * Source image: `name:tag`, image ID or `repo@sha256:...` (e.g. a BuiltImage's repoDigest), in
   * lower case; must exist in the engine of the component's docker provider. Required.
   */
  readonly source: pulumi.Input<string>;
  /**
   * `repository[:tag]` for the flattened image (tag default `latest`). With a `registry`, the
   * registry endpoint is prefixed as for `BuiltImage`; without one it is a local name. Required.
   */
  readonly imageName: pulumi.Input<string>;
  /** Push the flattened image to `registry` (a boolean, never a string). Default: false. */
  readonly push?: pulumi.Input<boolean>;
  /**
   * Registry to push to: a `SecureRegistry` (refused when it is a pull-through cache) or
   * `{ server: "host[:port]", username, password }`. Required when `push` is true.
   */
  readonly registry?: ImageRegistry;
  /** Keep the image in the engine when this resource is deleted or replaced. Default: false. */
  readonly keepImage?: pulumi.Input<boolean>;
}

const OPTIONS = ["source", "imageName", "push", "registry", "keepImage"] as const;

/**
 * A one-layer copy of `source` that keeps its configuration (Cmd, Entrypoint, Env, WorkingDir,
 * ExposedPorts, User, Labels, Volumes, StopSignal, Healthcheck), made through the Docker Engine
 * API of the component's docker provider by streaming a container export into an import.
 * Replaced when the source's image ID (or the engine) changes.
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
    const label = componentLabel("FlattenedImage", name);
    if (args === undefined || args === null) {
      fail(label, "args", "args are missing; pass { source, imageName }.");
    }
    checkObject(label, "", args, OPTIONS);
    if (args.source === undefined) {
      fail(
        label,
        "source",
        'source is required: an image name:tag, ID or repo@digest, e.g. "apps/web:1.4.2".',
      );
    }
    if (args.imageName === undefined) {
      fail(
        label,
        "imageName",
        'imageName is required: repository[:tag], e.g. "apps/web-flat:1.4.2".',
      );
    }
    const source = whenKnown(args.source, (v) => {
      validateImageReference(label, "source", v, "apps/web:1.4.2");
    });
    const push = checkBoolean(label, "push", args.push) ?? false;
    const keepImage = checkBoolean(label, "keepImage", args.keepImage) ?? false;
    if (args.push === true && args.registry === undefined) {
      fail(
        label,
        "push",
        "push is true but registry is not set. Pass registry, or set push: false.",
      );
    }
    const registry =
      args.registry !== undefined ? resolveRegistry(label, "registry", args.registry) : undefined;
    if (!isDeferred(args.imageName)) {
      if (registry === undefined) withTag(label, "imageName", args.imageName);
      else if (registry.knownServer !== undefined) {
        qualifyImageName(label, "imageName", args.imageName, registry.knownServer);
      } else parseImageName(label, "imageName", args.imageName);
    }
    const imageName = registry
      ? pulumi
          .all([args.imageName, registry.server])
          .apply(([image, server]) => qualifyImageName(label, "imageName", image, server))
      : pulumi.output(args.imageName).apply((image) => withTag(label, "imageName", image));
    // A push decided by an Output still needs a registry once known.
    const checkedPush = whenKnown(push, (v) => {
      if (v && registry === undefined) {
        fail(
          label,
          "push",
          "push is true but registry is not set. Pass registry, or set push: false.",
        );
      }
    });

    super("secure-registry:images:FlattenedImage", name, {}, opts);

    const state = new FlattenedImageState(
      `${name}-flatten`,
      {
        source,
        imageName,
        push: checkedPush,
        keepImage,
        registry: registry
          ? pulumi.secret(
              pulumi
                .all([registry.server, registry.username, registry.password])
                .apply(([server, username, password]) => ({ server, username, password })),
            )
          : undefined,
        owner: this.urn,
        ...declaredEngine(this),
      },
      {
        parent: this,
        dependsOn: registry?.dependsOn ?? [],
        additionalSecretOutputs: ["registry", "engineKey"],
      },
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

/** The dynamic resource behind FlattenedImage (provider: `flattenProvider` in engine/providers.ts). */
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
      owner: pulumi.Input<string>;
      engine?: pulumi.Input<object>;
      engineKey?: pulumi.Input<string>;
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
