import * as docker from "@pulumi/docker";
import * as pulumi from "@pulumi/pulumi";
import * as fs from "fs";
import * as path from "path";
import { imageFactsProvider } from "./engine";
import { LINT_RULES, lintDockerfile, LintFinding } from "./lint";
import { parseImageName, qualifyImageName, sortedBuildArgs, validatePlatform } from "./naming";
import { ImageRegistry, resolveRegistry } from "./registry";

/** Platform built when `platform` is not given: fixed, so laptops (arm64) and CI (amd64) agree. */
export const DEFAULT_PLATFORM = "linux/amd64";

export interface BuiltImageArgs {
  /** Build context directory, relative to the Pulumi program's directory. Required. */
  readonly context: pulumi.Input<string>;
  /**
   * Dockerfile path, relative to the program's directory as `docker.Image` reads it.
   * Default: `<context>/Dockerfile`.
   */
  readonly dockerfile?: pulumi.Input<string>;
  /** Stage of a multi-stage Dockerfile to build (`--target`). Default: the last stage. */
  readonly target?: pulumi.Input<string>;
  /** Build arguments (`--build-arg`); keys are sorted. Not for secrets: they stay in the image history. Default: none. */
  readonly buildArgs?: Record<string, pulumi.Input<string>>;
  /** `os/arch[/variant]` to build. Default: `"linux/amd64"` (never the host's, which differs between laptops and CI). */
  readonly platform?: pulumi.Input<string>;
  /**
   * `repository[:tag]` inside the registry, e.g. `apps/web:1.4.2`. The registry endpoint is
   * prefixed (a name already starting with it is kept; another host is an error). Tag default `latest`.
   */
  readonly imageName: pulumi.Input<string>;
  /** Where to push: a `SecureRegistry` (first credential; waits for its `trust`) or `{ server, username, password }`. Required. */
  readonly registry: ImageRegistry;
  /** Fail construction when the Dockerfile has findings of severity warning or error. Default: false (they are logged as warnings). */
  readonly lintAsErrors?: boolean;
  /** Lint rule ids to skip (see the rules table in the README). Default: none. */
  readonly lintIgnore?: readonly string[];
}

/** Formats a finding the way `BuiltImage` logs it. */
export function formatFinding(dockerfile: string, finding: LintFinding): string {
  return `${dockerfile}:${finding.line}: ${finding.severity} [${finding.rule}] ${finding.message}`;
}

/**
 * Builds a Dockerfile (a chosen `target` stage, pinned `platform`) and pushes it to a registry
 * with the registry's credentials, after the host trusts the registry. Lints the Dockerfile at
 * construction and logs findings as warnings so previews show them.
 */
export class BuiltImage extends pulumi.ComponentResource {
  /** Fully qualified `registry/repository:tag` that was pushed. */
  public readonly imageName: pulumi.Output<string>;
  /** `registry/repository@sha256:...`: what deployments should reference. */
  public readonly repoDigest: pulumi.Output<string>;
  /** Image size in bytes, read from the engine after the build (unknown during preview). */
  public readonly size: pulumi.Output<number>;
  /** Filesystem layers of the image (unknown during preview). */
  public readonly layerCount: pulumi.Output<number>;
  /** Platform built. */
  public readonly platform: pulumi.Output<string>;
  /** Dockerfile findings (after `lintIgnore`). */
  public readonly lintFindings: pulumi.Output<LintFinding[]>;
  /** The underlying `docker.Image`. */
  public readonly image: docker.Image;

  constructor(name: string, args: BuiltImageArgs, opts?: pulumi.ComponentResourceOptions) {
    // Everything that can be checked without Pulumi is checked before any resource exists.
    if (!args || typeof args !== "object")
      throw new Error(`BuiltImage ${name}: args are required.`);
    if (args.context === undefined || args.context === "") {
      throw new Error(
        `BuiltImage ${name}: context is required: the build context directory, e.g. "./app".`,
      );
    }
    if (args.imageName === undefined) {
      throw new Error(`BuiltImage ${name}: imageName is required, e.g. "apps/web:1.4.2".`);
    }
    if (typeof args.imageName === "string") {
      parseImageName(args.imageName, `BuiltImage ${name}: imageName`);
    }
    if (typeof args.platform === "string") {
      validatePlatform(args.platform, `BuiltImage ${name}: platform`);
    }
    if (args.registry === undefined) {
      throw new Error(
        `BuiltImage ${name}: registry is required: a SecureRegistry or { server, username, password }.`,
      );
    }
    const lintIgnore = args.lintIgnore ?? [];
    const unknownRules = lintIgnore.filter((id) => !LINT_RULES.some((rule) => rule.id === id));
    if (unknownRules.length > 0) {
      throw new Error(
        `BuiltImage ${name}: lintIgnore has unknown rule id(s) ${unknownRules.join(", ")}; known: ${LINT_RULES.map((rule) => rule.id).join(", ")}.`,
      );
    }
    const buildArgs = sortedBuildArgs(args.buildArgs, `BuiltImage ${name}: buildArgs`);
    const registry = resolveRegistry(args.registry, `BuiltImage ${name}: registry`);
    const lint = (file: string): LintFinding[] => {
      if (!fs.existsSync(file)) return [];
      const findings = lintDockerfile(fs.readFileSync(file, "utf8"), { ignore: lintIgnore });
      const blocking = findings.filter((finding) => finding.severity !== "info");
      if (args.lintAsErrors && blocking.length > 0) {
        throw new Error(
          `BuiltImage ${name}: ${blocking.length} Dockerfile finding(s) with lintAsErrors set:\n${blocking.map((finding) => formatFinding(file, finding)).join("\n")}\nFix them, list their rule ids in lintIgnore, or unset lintAsErrors.`,
        );
      }
      return findings;
    };
    // A plain-string Dockerfile path is linted now, so lintAsErrors fails before any resource.
    const plainDockerfile =
      typeof args.context === "string" &&
      (args.dockerfile === undefined || typeof args.dockerfile === "string")
        ? (args.dockerfile ?? path.join(args.context, "Dockerfile"))
        : undefined;
    const plainFindings = plainDockerfile !== undefined ? lint(plainDockerfile) : undefined;

    super("secure-registry:images:BuiltImage", name, {}, opts);

    const dockerfile = pulumi
      .all([args.context, args.dockerfile])
      .apply(([context, file]) => file ?? path.join(context, "Dockerfile"));
    const logFindings = (file: string, findings: LintFinding[]): LintFinding[] => {
      if (!fs.existsSync(file)) {
        pulumi.log.info(`${file} not found; Dockerfile checks skipped`, this);
      }
      for (const finding of findings) pulumi.log.warn(formatFinding(file, finding), this);
      return findings;
    };
    this.lintFindings =
      plainDockerfile !== undefined && plainFindings !== undefined
        ? pulumi.output(logFindings(plainDockerfile, plainFindings))
        : dockerfile.apply((file) => logFindings(file, lint(file)));

    this.platform = pulumi
      .output(args.platform ?? DEFAULT_PLATFORM)
      .apply((platform) => validatePlatform(platform, `BuiltImage ${name}: platform`));
    const qualified = pulumi
      .all([args.imageName, registry.server])
      .apply(([imageName, server]) =>
        qualifyImageName(imageName, server, `BuiltImage ${name}: imageName`),
      );

    this.image = new docker.Image(
      `${name}-image`,
      {
        imageName: qualified,
        build: {
          context: args.context,
          dockerfile,
          target: args.target,
          args: buildArgs,
          platform: this.platform,
        },
        registry: {
          server: registry.server,
          username: registry.username,
          password: registry.password,
        },
        skipPush: false,
      },
      { parent: this, dependsOn: registry.dependsOn, additionalSecretOutputs: ["registry"] },
    );

    const facts = new ImageFacts(
      `${name}-facts`,
      { image: this.image.repoDigest },
      { parent: this },
    );
    this.imageName = this.image.imageName;
    this.repoDigest = this.image.repoDigest;
    this.size = facts.size;
    this.layerCount = facts.layerCount;
    this.registerOutputs({
      imageName: this.imageName,
      repoDigest: this.repoDigest,
      size: this.size,
      layerCount: this.layerCount,
      platform: this.platform,
      lintFindings: this.lintFindings,
    });
  }
}

/**
 * Read-only record of a local image's size and layer count, taken once when the image changes
 * (see `imageFactsProvider`): `docker.Image` does not output them.
 */
class ImageFacts extends pulumi.dynamic.Resource {
  declare public readonly size: pulumi.Output<number>;
  declare public readonly layerCount: pulumi.Output<number>;
  declare public readonly imageId: pulumi.Output<string>;

  constructor(
    name: string,
    args: { image: pulumi.Input<string> },
    opts?: pulumi.CustomResourceOptions,
  ) {
    super(
      imageFactsProvider,
      name,
      { ...args, size: undefined, layerCount: undefined, imageId: undefined },
      opts,
      "secure-registry",
      "ImageFacts",
    );
  }
}
