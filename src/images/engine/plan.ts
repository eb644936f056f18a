/**
 * How a source image's configuration reaches its flattened copy (pure decisions), and the small
 * build context the follow-up build needs.
 *
 * No imports but types: the dynamic providers carry this module (see providers.ts).
 */
import type { ImageRuntimeConfig } from "./inspect";

/** Escapes a value for a double-quoted Dockerfile word where `$` would otherwise expand. */
function quoteDockerfileWord(value: string): string {
  return `"${value.replace(/[\\"$]/g, (char) => `\\${char}`)}"`;
}

function nanosecondsFlag(name: string, value: number | undefined): string[] {
  // Exact whatever the value: Go's time.ParseDuration accepts "ns".
  return value && value > 0 ? [`--${name}=${value}ns`] : [];
}

/** Renders a HEALTHCHECK instruction from an image config's Healthcheck. */
function renderHealthcheck(
  healthcheck: NonNullable<ImageRuntimeConfig["Healthcheck"]>,
): string | undefined {
  const test = healthcheck.Test ?? [];
  if (test.length === 0) return undefined;
  if (test[0] === "NONE") return "HEALTHCHECK NONE";
  const flags = [
    ...nanosecondsFlag("interval", healthcheck.Interval),
    ...nanosecondsFlag("timeout", healthcheck.Timeout),
    ...nanosecondsFlag("start-period", healthcheck.StartPeriod),
    ...nanosecondsFlag("start-interval", healthcheck.StartInterval),
    ...(healthcheck.Retries ? [`--retries=${healthcheck.Retries}`] : []),
  ];
  const prefix = ["HEALTHCHECK", ...flags, "CMD"].join(" ");
  if (test[0] === "CMD-SHELL") return `${prefix} ${test.slice(1).join(" ")}`;
  if (test[0] === "CMD") return `${prefix} ${JSON.stringify(test.slice(1))}`;
  return undefined;
}

/** How an image config is carried onto a flattened image. */
export interface FlattenPlan {
  /** `changes` for the import API (`docker import -c`). */
  readonly importChanges: string[];
  /**
   * Instructions the import API rejects (STOPSIGNAL, SHELL), applied by a follow-up build
   * `FROM <imported>`; metadata-only, so the image keeps one layer. Empty: no follow-up build.
   */
  readonly followUpInstructions: string[];
}

/**
 * Decides how each kept config field reaches the flattened image. Pure.
 * Throws (naming the field) for values a Dockerfile line cannot carry, such as a newline.
 */
export function planFlatten(config: ImageRuntimeConfig): FlattenPlan {
  const importChanges: string[] = [];
  const followUp: string[] = [];
  const singleLine = (field: string, value: string) => {
    if (/[\r\n]/.test(value)) {
      throw new Error(
        `flattenImage: the source image's ${field} contains a line break, which an import change cannot carry. Rebuild the source without it.`,
      );
    }
    return value;
  };
  // ENTRYPOINT before CMD: in a Dockerfile, setting ENTRYPOINT resets an inherited CMD.
  if (config.Entrypoint && config.Entrypoint.length > 0) {
    importChanges.push(`ENTRYPOINT ${singleLine("Entrypoint", JSON.stringify(config.Entrypoint))}`);
  }
  if (config.Cmd && config.Cmd.length > 0) {
    importChanges.push(`CMD ${singleLine("Cmd", JSON.stringify(config.Cmd))}`);
  }
  for (const entry of config.Env ?? []) {
    const equals = entry.indexOf("=");
    const key = equals >= 0 ? entry.slice(0, equals) : entry;
    const value = equals >= 0 ? entry.slice(equals + 1) : "";
    importChanges.push(`ENV ${key}=${quoteDockerfileWord(singleLine(`Env ${key}`, value))}`);
  }
  if (config.WorkingDir) {
    importChanges.push(
      `WORKDIR ${singleLine("WorkingDir", config.WorkingDir).replace(/\$/g, "\\$")}`,
    );
  }
  const ports = Object.keys(config.ExposedPorts ?? {}).sort();
  if (ports.length > 0) importChanges.push(`EXPOSE ${ports.join(" ")}`);
  if (config.User)
    importChanges.push(`USER ${singleLine("User", config.User).replace(/\$/g, "\\$")}`);
  const labels = Object.keys(config.Labels ?? {}).sort();
  for (const key of labels) {
    const value = (config.Labels as Record<string, string>)[key];
    importChanges.push(
      `LABEL ${quoteDockerfileWord(singleLine(`Label ${key}`, key))}=${quoteDockerfileWord(singleLine(`Label ${key}`, value))}`,
    );
  }
  const volumes = Object.keys(config.Volumes ?? {}).sort();
  if (volumes.length > 0) {
    importChanges.push(
      `VOLUME ${singleLine("Volumes", JSON.stringify(volumes)).replace(/\$/g, "\\$")}`,
    );
  }
  if (config.Healthcheck) {
    const rendered = renderHealthcheck(config.Healthcheck);
    if (rendered) importChanges.push(singleLine("Healthcheck", rendered));
  }
  if (config.StopSignal) followUp.push(`STOPSIGNAL ${singleLine("StopSignal", config.StopSignal)}`);
  if (config.Shell && config.Shell.length > 0) {
    followUp.push(`SHELL ${singleLine("Shell", JSON.stringify(config.Shell))}`);
  }
  // ONBUILD triggers would fire in the follow-up build (and could add layers), so they go with
  // the import when there is no follow-up build and into the follow-up build (where they are only
  // recorded) when there is one.
  const onBuild = (config.OnBuild ?? []).map(
    (trigger) => `ONBUILD ${singleLine("OnBuild", trigger)}`,
  );
  if (followUp.length > 0) followUp.push(...onBuild);
  else importChanges.push(...onBuild);
  return { importChanges, followUpInstructions: followUp };
}

/** A tar archive holding one regular file; enough for a build context with only a Dockerfile. */
export function tarWithOneFile(name: string, content: string): Buffer {
  const body = Buffer.from(content, "utf8");
  const header = Buffer.alloc(512, 0);
  header.write(name, 0, 100, "utf8");
  header.write("0000644\0", 100, 8, "ascii");
  header.write("0000000\0", 108, 8, "ascii");
  header.write("0000000\0", 116, 8, "ascii");
  header.write(body.length.toString(8).padStart(11, "0") + "\0", 124, 12, "ascii");
  header.write("00000000000\0", 136, 12, "ascii");
  header.write("        ", 148, 8, "ascii");
  header.write("0", 156, 1, "ascii");
  header.write("ustar\0", 257, 6, "ascii");
  header.write("00", 263, 2, "ascii");
  let checksum = 0;
  for (const byte of header) checksum += byte;
  header.write(checksum.toString(8).padStart(6, "0") + "\0 ", 148, 8, "ascii");
  const padding = Buffer.alloc((512 - (body.length % 512)) % 512, 0);
  return Buffer.concat([header, body, padding, Buffer.alloc(1024, 0)]);
}

/** Splits `repo[:tag]` (a registry port is not a tag); the tag defaults to `latest`. */
export function splitImageName(imageName: string): { repository: string; tag: string } {
  const slash = imageName.lastIndexOf("/");
  const colon = imageName.lastIndexOf(":");
  if (colon > slash)
    return { repository: imageName.slice(0, colon), tag: imageName.slice(colon + 1) };
  return { repository: imageName, tag: "latest" };
}
