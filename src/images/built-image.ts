import * as docker from "@pulumi/docker";
import * as pulumi from "@pulumi/pulumi";
import * as fs from "fs";
import * as path from "path";
import {
  checkList,
  checkObject,
  checkString,
  checkStringMap,
  checkStringValue,
  componentLabel,
  describeValue,
  fail,
  isDeferred,
  whenKnown,
} from "../common/checks";
import { declaredEngine } from "../engine/declared";
import { parseDockerfile } from "./dockerfile";
import { imageFactsProvider } from "./engine/providers";
import { LINT_RULES, lintDockerfile, LintFinding } from "./lint";
import {
  parseImageName,
  qualifyImageName,
  sortedBuildArgs,
  validateBuildArgName,
  validatePlatform,
} from "./naming";
import { ImageRegistry, resolveRegistry } from "./registry";

/** Platform built when `platform` is not given: fixed, so laptops (arm64) and CI (amd64) agree. */
export const DEFAULT_PLATFORM = "linux/amd64";

export interface BuiltImageArgs {
  /** Build context directory, relative to the Pulumi program's directory; must exist. Required. */
  readonly context: pulumi.Input<string>;
  /**
   * Dockerfile path, relative to the program's directory as `docker.Image` reads it; must exist.
   * Default: `<context>/Dockerfile`.
   */
  readonly dockerfile?: pulumi.Input<string>;
  /** Stage of a multi-stage Dockerfile to build (`--target`); must be a stage name (`FROM ... AS name`). Default: the last stage. */
  readonly target?: pulumi.Input<string>;
  /** Build arguments (`--build-arg`); keys are sorted. Not for secrets: they stay in the image history. Default: none. */
  readonly buildArgs?: pulumi.Input<Record<string, pulumi.Input<string>>>;
  /** `os/arch[/variant]` to build. Default: `"linux/amd64"` (never the host's, which differs between laptops and CI). */
  readonly platform?: pulumi.Input<string>;
  /**
   * `repository[:tag]` inside the registry, e.g. `apps/web:1.4.2` (lower case). The registry
   * endpoint is prefixed (a name already starting with it is kept; another host is an error).
   * Tag default `latest`. Required.
   */
  readonly imageName: pulumi.Input<string>;
  /**
   * Where to push: a `SecureRegistry` (first credential; waits for its `trust`; refused when it is
   * a pull-through cache) or `{ server: "host[:port]", username, password }`. Required.
   */
  readonly registry: ImageRegistry;
  /** Fail construction when the Dockerfile has findings of severity warning or error. Default: false (they are logged as warnings). */
  readonly lintAsErrors?: boolean;
  /** Lint rule ids to skip (see docs/images.md). Default: none. */
  readonly lintIgnore?: pulumi.Input<pulumi.Input<string>[]>;
}

const OPTIONS = [
  "context",
  "dockerfile",
  "target",
  "buildArgs",
  "platform",
  "imageName",
  "registry",
  "lintAsErrors",
  "lintIgnore",
] as const;

/** Formats a finding the way `BuiltImage` logs it. */
export function formatFinding(dockerfile: string, finding: LintFinding): string {
  return `${dockerfile}:${finding.line}: ${finding.severity} [${finding.rule}] ${finding.message}`;
}

/** Checks that `context` is an existing directory. */
function checkContext(label: string, context: unknown): void {
  checkStringValue(label, "context", context, { example: "./app" });
  let stat: fs.Stats | undefined;
  try {
    stat = fs.statSync(context);
  } catch {
    stat = undefined;
  }
  if (!stat?.isDirectory()) {
    fail(
      label,
      "context",
      `context ${describeValue(context)} ${stat ? "is not a directory" : "does not exist"} (from ${process.cwd()}); give the build context directory, e.g. "./app".`,
    );
  }
}

/** Reads the Dockerfile at `file`; fails naming `field` when it is missing or not a file. */
function readDockerfile(label: string, field: string, file: string): string {
  try {
    if (!fs.statSync(file).isFile()) throw new Error("not a file");
    return fs.readFileSync(file, "utf8");
  } catch {
    return fail(
      label,
      field,
      `${field}: ${describeValue(file)} is not a readable file (from ${process.cwd()}); ` +
        `give the Dockerfile's path, or put a Dockerfile in the context.`,
    );
  }
}

/** Checks `target` against the stage names of `text`. */
function checkTarget(label: string, target: unknown, text: string, file: string): void {
  if (target === undefined) return;
  checkStringValue(label, "target", target, { example: "build" });
  const stages = parseDockerfile(text)
    .stages.map((stage) => stage.name)
    .filter((stageName): stageName is string => stageName !== undefined);
  if (!stages.includes(target.toLowerCase())) {
    fail(
      label,
      "target",
      `target ${describeValue(target)} is not a stage of ${file}; ` +
        (stages.length > 0
          ? `use one of ${stages.map((stage) => JSON.stringify(stage)).join(", ")}.`
          : `it has no named stages: name one with FROM <image> AS <name>, or leave target out.`),
    );
  }
}

/**
 * Builds a Dockerfile (a chosen `target` stage, pinned `platform`) and pushes it to a registry
 * with the registry's credentials, after the host trusts the registry. Lints the Dockerfile at
 * construction and logs findings as warnings so previews show them. The build, the push and the
 * image facts (size, layers) use the engine of the component's docker provider.
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
    // Everything known is checked before any resource exists; Outputs when they are known.
    const label = componentLabel("BuiltImage", name);
    if (args === undefined || args === null) {
      fail(label, "args", "args are missing; pass { context, imageName, registry }.");
    }
    checkObject(label, "", args, OPTIONS);
    for (const required of ["context", "imageName", "registry"] as const) {
      if (args[required] === undefined) {
        fail(
          label,
          required,
          `${required} is required: ${
            {
              context: 'the build context directory, e.g. "./app"',
              imageName: 'repository[:tag], e.g. "apps/web:1.4.2"',
              registry: "a SecureRegistry or { server, username, password }",
            }[required]
          }.`,
        );
      }
    }
    const context = whenKnown(args.context, (v) => checkContext(label, v));
    const dockerfileArg = checkString(label, "dockerfile", args.dockerfile, {
      example: "./app/Dockerfile",
    });
    const target = checkString(label, "target", args.target, { example: "build" });
    const imageNameArg = whenKnown(args.imageName, (v) => {
      parseImageName(label, "imageName", v);
    });
    const platformArg = whenKnown(args.platform ?? DEFAULT_PLATFORM, (v) => {
      validatePlatform(label, "platform", v);
    });
    const buildArgs = checkStringMap(
      label,
      "buildArgs",
      args.buildArgs,
      (key) => validateBuildArgName(label, "buildArgs", key),
      (field, value) => checkStringValue(label, field, value, { nonEmpty: false }),
    );
    if (args.lintAsErrors !== undefined && typeof args.lintAsErrors !== "boolean") {
      fail(
        label,
        "lintAsErrors",
        `lintAsErrors is ${describeValue(args.lintAsErrors)}, not a boolean; use true or false` +
          (isDeferred(args.lintAsErrors) ? " as a plain value (it decides at construction)." : "."),
      );
    }
    const knownRules = LINT_RULES.map((rule) => rule.id);
    const lintIgnore = checkList<string>(label, "lintIgnore", args.lintIgnore, (field, id) => {
      if (typeof id !== "string" || !knownRules.includes(id)) {
        fail(
          label,
          field,
          `${field} ${describeValue(id)} is not a lint rule id; known: ${knownRules.join(", ")}.`,
        );
      }
    });
    const registry = resolveRegistry(label, "registry", args.registry);
    if (!isDeferred(args.imageName) && registry.knownServer !== undefined) {
      qualifyImageName(label, "imageName", args.imageName, registry.knownServer);
    }

    const lint = (file: string, text: string, ignore: readonly string[]): LintFinding[] => {
      const findings = lintDockerfile(text, { ignore });
      const blocking = findings.filter((finding) => finding.severity !== "info");
      if (args.lintAsErrors && blocking.length > 0) {
        fail(
          label,
          "lintAsErrors",
          `lintAsErrors is set and ${file} has ${blocking.length} finding(s):\n${blocking.map((finding) => formatFinding(file, finding)).join("\n")}\nFix them, list their rule ids in lintIgnore, or unset lintAsErrors.`,
        );
      }
      return findings;
    };
    // Plain paths are read, checked and linted now, so lintAsErrors and a bad target fail
    // before any resource; anything else once its Outputs are known.
    const plainIgnore =
      lintIgnore === undefined
        ? []
        : Array.isArray(lintIgnore) && !lintIgnore.some(isDeferred)
          ? (lintIgnore as string[])
          : undefined;
    const plainFile =
      typeof args.context === "string" &&
      (args.dockerfile === undefined || typeof args.dockerfile === "string")
        ? (args.dockerfile ?? path.join(args.context, "Dockerfile"))
        : undefined;
    let plainFindings: LintFinding[] | undefined;
    if (plainFile !== undefined) {
      const text = readDockerfile(
        label,
        args.dockerfile === undefined ? "context" : "dockerfile",
        plainFile,
      );
      if (!isDeferred(args.target)) checkTarget(label, args.target, text, plainFile);
      if (plainIgnore !== undefined) plainFindings = lint(plainFile, text, plainIgnore);
    }

    super("secure-registry:images:BuiltImage", name, {}, opts);

    const dockerfile = pulumi
      .all([context, dockerfileArg])
      .apply(([dir, file]) => file ?? path.join(dir, "Dockerfile"));
    const logFindings = (file: string, findings: LintFinding[]): LintFinding[] => {
      for (const finding of findings) pulumi.log.warn(formatFinding(file, finding), this);
      return findings;
    };
    this.lintFindings =
      plainFile !== undefined && plainFindings !== undefined
        ? pulumi.output(logFindings(plainFile, plainFindings))
        : pulumi
            .all([dockerfile, pulumi.output(lintIgnore ?? []), target])
            .apply(([file, ignore, stage]) => {
              const text = readDockerfile(label, "dockerfile", file);
              checkTarget(label, stage, text, file);
              return logFindings(file, lint(file, text, ignore));
            });
    const checkedTarget =
      plainFile !== undefined || target === undefined
        ? target
        : pulumi.all([dockerfile, target]).apply(([file, stage]) => {
            checkTarget(label, stage, readDockerfile(label, "dockerfile", file), file);
            return stage;
          });

    this.platform = pulumi.output(platformArg);
    const qualified = pulumi
      .all([imageNameArg, registry.server])
      .apply(([imageName, server]) => qualifyImageName(label, "imageName", imageName, server));

    this.image = new docker.Image(
      `${name}-image`,
      {
        imageName: qualified,
        build: {
          context,
          dockerfile,
          target: checkedTarget,
          args:
            buildArgs === undefined ? undefined : pulumi.output(buildArgs).apply(sortedBuildArgs),
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
      { image: this.image.repoDigest, ...declaredEngine(this) },
      { parent: this, additionalSecretOutputs: ["engineKey"] },
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
 * Read-only record of a built image's size and layer count, taken from the engine of the
 * component's docker provider once when the image changes (see `imageFactsProvider`):
 * `docker.Image` does not output them.
 */
class ImageFacts extends pulumi.dynamic.Resource {
  declare public readonly size: pulumi.Output<number>;
  declare public readonly layerCount: pulumi.Output<number>;
  declare public readonly imageId: pulumi.Output<string>;

  constructor(
    name: string,
    args: {
      image: pulumi.Input<string>;
      engine?: pulumi.Input<object>;
      engineKey?: pulumi.Input<string>;
    },
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
