/**
 * Docker Engine I/O for the images module: `inspectImage`, `flattenImage` and the dynamic provider
 * behind `FlattenedImage`.
 *
 * Why everything lives in this one file, and why every function requires its modules inside:
 * a dynamic provider is serialized into the Pulumi state as JavaScript text by Pulumi's closure
 * serializer, which walks the free variables of the provider's methods. A function declared in this
 * file is captured *by value* (its source text, then its own free variables), so the provider
 * reaches `flattenImage` and its helpers whether the program runs under ts-node (which hands V8
 * transpiled JavaScript) or as compiled JavaScript from `bin/`. What must not be captured:
 *  - a module object (`import * as x` / `dockerode_1`): local modules would be serialized
 *    wholesale and node_modules ones pin a machine path, so `require("dockerode")` runs inside the
 *    functions instead and only `import type` appears at the top;
 *  - helpers from other local files (`(0, other_1.fn)` drags that module in): there are none;
 *  - secrets: registry credentials reach the provider only as resource inputs, never in closures.
 * `test/unit/images-provider.test.ts` serializes the provider with `pulumi.runtime.serializeFunction`
 * exactly as the dynamic Resource does and runs the result in a fresh module to keep this true.
 */
import type Dockerode from "dockerode";

/** Registry credentials for pushes. The password is a secret; it never appears in errors. */
export interface RegistryAuth {
  /** `host[:port]` of the registry. */
  readonly server: string;
  readonly username: string;
  readonly password: string;
}

/** One entry of `docker image history`, oldest first. */
export interface ImageLayer {
  /** Image ID of this history step; undefined when the engine reports `<missing>` (pulled layers). */
  readonly id?: string;
  /** The raw `CreatedBy` text. */
  readonly createdBy: string;
  /** The Dockerfile instruction behind it, e.g. `RUN apk add curl` or `CMD ["sh"]`; "" for imports. */
  readonly instruction: string;
  /** Bytes this step added. */
  readonly size: number;
  /** True for steps that only changed configuration (CMD, ENV, ...), which add no filesystem layer. */
  readonly metadataOnly: boolean;
  readonly comment: string;
}

/** The subset of an image's `Config` that flattening keeps. */
export interface ImageRuntimeConfig {
  readonly Cmd?: string[] | null;
  readonly Entrypoint?: string[] | null;
  readonly Env?: string[] | null;
  readonly WorkingDir?: string;
  readonly ExposedPorts?: Record<string, object> | null;
  readonly User?: string;
  readonly Labels?: Record<string, string> | null;
  readonly Volumes?: Record<string, object> | null;
  readonly StopSignal?: string;
  readonly Shell?: string[] | null;
  readonly OnBuild?: string[] | null;
  readonly Healthcheck?: {
    readonly Test?: string[];
    readonly Interval?: number;
    readonly Timeout?: number;
    readonly StartPeriod?: number;
    readonly StartInterval?: number;
    readonly Retries?: number;
  } | null;
}

/** What `docker image inspect` and `docker image history` tell about an image. */
export interface ImageInspection {
  /** `sha256:...` image ID. */
  readonly id: string;
  readonly architecture: string;
  readonly os: string;
  readonly variant?: string;
  /** Total size in bytes. */
  readonly size: number;
  readonly repoTags: string[];
  readonly repoDigests: string[];
  /** History steps, oldest first. */
  readonly layers: ImageLayer[];
  /** Filesystem layers (`RootFS.Layers`): what a registry stores and a pull downloads. */
  readonly layerCount: number;
  readonly config: ImageRuntimeConfig;
}

export interface EngineOptions {
  /** Docker engine connection; default: `DOCKER_HOST` or /var/run/docker.sock, as the CLI. */
  readonly docker?: Dockerode.DockerOptions;
}

const METADATA_KEYWORDS =
  /^(CMD|ENTRYPOINT|ENV|EXPOSE|LABEL|USER|VOLUME|WORKDIR|STOPSIGNAL|HEALTHCHECK|SHELL|ONBUILD|ARG|MAINTAINER)\b/;

/** Turns a history `CreatedBy` into the instruction that made it (classic builder and BuildKit). */
export function instructionFromHistory(createdBy: string): string {
  const text = createdBy.trim();
  const nop = /^\/bin\/sh -c #\(nop\)\s*(.*)$/s.exec(text);
  if (nop) return nop[1].trim();
  const classicRun = /^\/bin\/sh -c (.*)$/s.exec(text);
  if (classicRun) return `RUN ${classicRun[1]}`;
  if (text === "") return "";
  return text.replace(/\s*# buildkit$/, "");
}

/** Reads `docker image inspect` and `docker image history` for `ref` (name, name:tag, ID or digest). */
export async function inspectImage(
  ref: string,
  options: EngineOptions = {},
): Promise<ImageInspection> {
  const Docker = require("dockerode") as typeof Dockerode;
  const docker = new Docker(options.docker);
  const image = docker.getImage(ref);
  const info = await image.inspect().catch((error: unknown) => {
    throw new Error(
      `inspectImage: no image "${ref}" in the engine (${describeError(error)}). Build or pull it first.`,
    );
  });
  const history = (await image.history()) as {
    Id: string;
    CreatedBy: string;
    Size: number;
    Comment: string;
  }[];
  const layers = history
    .slice()
    .reverse()
    .map((step) => {
      const instruction = instructionFromHistory(step.CreatedBy ?? "");
      return {
        id: step.Id && step.Id !== "<missing>" ? step.Id : undefined,
        createdBy: step.CreatedBy ?? "",
        instruction,
        size: step.Size ?? 0,
        metadataOnly: (step.Size ?? 0) === 0 && METADATA_KEYWORDS.test(instruction),
        comment: step.Comment ?? "",
      };
    });
  const config = (info.Config ?? {}) as ImageRuntimeConfig;
  return {
    id: info.Id,
    architecture: info.Architecture,
    os: info.Os,
    variant: (info as { Variant?: string }).Variant || undefined,
    size: info.Size,
    repoTags: info.RepoTags ?? [],
    repoDigests: info.RepoDigests ?? [],
    layers,
    layerCount: info.RootFS?.Layers?.length ?? 0,
    config,
  };
}

/** Resolves an image reference to its `sha256:` ID, or undefined when the engine lacks it. */
export async function resolveImageId(
  ref: string,
  options: EngineOptions = {},
): Promise<string | undefined> {
  const Docker = require("dockerode") as typeof Dockerode;
  try {
    return (await new Docker(options.docker).getImage(ref).inspect()).Id;
  } catch {
    return undefined;
  }
}

function describeError(error: unknown): string {
  if (error && typeof error === "object") {
    const withJson = error as {
      json?: { message?: string };
      message?: string;
      statusCode?: number;
    };
    if (withJson.json?.message) return withJson.json.message;
    if (withJson.message) return withJson.message;
  }
  return String(error);
}

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

/** Reads a JSON-lines progress stream (pull, push, import, build) and fails on its `error` lines. */
function readProgress(
  stream: NodeJS.ReadableStream,
  what: string,
  secret?: string,
): Promise<Record<string, unknown>[]> {
  return new Promise((resolve, reject) => {
    const messages: Record<string, unknown>[] = [];
    let buffered = "";
    let failed: Error | undefined;
    const redact = (text: string) => (secret ? text.split(secret).join("***") : text);
    const onLine = (line: string) => {
      if (line.trim() === "") return;
      let message: Record<string, unknown>;
      try {
        message = JSON.parse(line) as Record<string, unknown>;
      } catch {
        return;
      }
      messages.push(message);
      if (message.error && !failed) {
        failed = new Error(`${what} failed: ${redact(String(message.error))}`);
      }
    };
    stream.on("data", (chunk: Buffer | string) => {
      buffered += chunk.toString();
      let newline: number;
      while ((newline = buffered.indexOf("\n")) >= 0) {
        onLine(buffered.slice(0, newline));
        buffered = buffered.slice(newline + 1);
      }
    });
    stream.on("error", (error: Error) =>
      reject(new Error(`${what} failed: ${redact(error.message)}`)),
    );
    stream.on("end", () => {
      onLine(buffered);
      if (failed) reject(failed);
      else resolve(messages);
    });
  });
}

/** A raw byte-stream connection to the engine, or undefined when only dockerode can reach it (TLS, ssh). */
async function rawEngineConnector(
  docker: Dockerode,
): Promise<{ connect: () => import("net").Socket; prefix: string } | undefined> {
  const net = require("net") as typeof import("net");
  const modem = docker.modem as unknown as {
    getSocketPath?: () => Promise<string> | undefined;
    host?: string;
    port?: number | string;
    protocol?: string;
    version?: string;
  };
  const prefix = modem.version ? `/${modem.version}` : "";
  const socketPath = await modem.getSocketPath?.();
  if (socketPath && !socketPath.startsWith("//./pipe/")) {
    return { connect: () => net.connect(socketPath), prefix };
  }
  if (modem.host && (modem.protocol ?? "http") === "http") {
    const host = modem.host;
    const port = Number(modem.port ?? 2375);
    return { connect: () => net.connect(port, host), prefix };
  }
  return undefined;
}

interface ResponseHead {
  readonly status: number;
  readonly headers: Record<string, string>;
  /** Bytes after the head that arrived with it. */
  readonly rest: Buffer;
}

/** Reads an HTTP/1.1 response head, then leaves the socket paused on the body. */
function readResponseHead(socket: import("net").Socket): Promise<ResponseHead> {
  // Listeners are removed with removeAllListeners (nothing else listens yet): arrow functions
  // that name each other before their declaration trip Pulumi's closure serializer.
  return new Promise((resolve, reject) => {
    let buffered = Buffer.alloc(0);
    const stop = () => {
      socket.removeAllListeners("data");
      socket.removeAllListeners("error");
      socket.removeAllListeners("end");
    };
    socket.on("error", (error: Error) => {
      stop();
      reject(error);
    });
    socket.on("end", () => {
      stop();
      reject(new Error("the engine closed the connection before answering"));
    });
    socket.on("data", (data: Buffer) => {
      buffered = Buffer.concat([buffered, data]);
      const end = buffered.indexOf("\r\n\r\n");
      if (end < 0) {
        if (buffered.length > 64 * 1024) {
          stop();
          socket.destroy();
          reject(new Error("response head too large"));
        }
        return;
      }
      stop();
      socket.pause();
      const [statusLine, ...lines] = buffered.subarray(0, end).toString("latin1").split("\r\n");
      const headers: Record<string, string> = {};
      for (const line of lines) {
        const colon = line.indexOf(":");
        if (colon > 0) {
          headers[line.slice(0, colon).trim().toLowerCase()] = line.slice(colon + 1).trim();
        }
      }
      resolve({
        status: Number(statusLine.split(" ")[1]),
        headers,
        rest: buffered.subarray(end + 4),
      });
    });
  });
}

/** Reads the rest of a (small) response body until the engine closes the connection. */
function readBody(socket: import("net").Socket, head: ResponseHead): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [head.rest];
    socket.on("data", (data: Buffer) => chunks.push(data));
    socket.on("error", reject);
    socket.on("end", () => {
      const body = Buffer.concat(chunks);
      resolve(
        /chunked/i.test(head.headers["transfer-encoding"] ?? "")
          ? decodeChunked(body)
          : body.toString(),
      );
    });
    socket.resume();
  });
}

/** Decodes a complete chunked body (small engine answers only). */
export function decodeChunked(body: Buffer): string {
  const parts: Buffer[] = [];
  let offset = 0;
  while (offset < body.length) {
    const lineEnd = body.indexOf("\r\n", offset);
    if (lineEnd < 0) break;
    const size = parseInt(body.subarray(offset, lineEnd).toString("latin1").split(";")[0], 16);
    if (!Number.isFinite(size) || size === 0) break;
    parts.push(body.subarray(lineEnd + 2, lineEnd + 2 + size));
    offset = lineEnd + 2 + size + 2;
  }
  return Buffer.concat(parts).toString();
}

/** The engine's error text from an error response body (`{"message": ...}`) or the raw body. */
function engineMessage(body: string): string {
  try {
    const parsed = JSON.parse(body) as { message?: string };
    if (parsed.message) return parsed.message;
  } catch {
    // Not JSON: use the text.
  }
  return body.trim().slice(0, 500);
}

/** The image ID from an import's progress lines; throws on an `error` line. */
function importedImageId(progressText: string, what: string): string {
  let imageId: string | undefined;
  for (const line of progressText.split("\n")) {
    if (line.trim() === "") continue;
    let message: { status?: string; error?: string };
    try {
      message = JSON.parse(line) as { status?: string; error?: string };
    } catch {
      continue;
    }
    if (message.error) throw new Error(`${what} failed: ${message.error}`);
    if (message.status?.startsWith("sha256:")) imageId = message.status;
  }
  if (!imageId) throw new Error(`${what} returned no image ID`);
  return imageId;
}

/**
 * Streams a container's export into the import API and returns the new image ID.
 *
 * Why raw sockets: the export response and the import request both use chunked transfer
 * encoding, so the export's body bytes, chunk framing included, are a valid import body. Handing
 * them from one socket to the other (with backpressure, so memory stays at a few socket buffers)
 * skips decoding and re-encoding some 30 000 HTTP chunks per GB, which roughly halves the CPU this
 * process spends and keeps it level with `docker export | docker import -`. When the engine is only
 * reachable through TLS or ssh, or the export is not chunked, dockerode streams do the same work.
 */
export async function exportIntoImport(
  docker: Dockerode,
  containerId: string,
  query: URLSearchParams,
  source: string,
): Promise<string> {
  const what = `importing the export of ${source}`;
  // Made here, not at module level: the closure serializer cannot carry a Buffer.
  const CHUNKED_END = Buffer.from("0\r\n\r\n");
  const connector = await rawEngineConnector(docker);
  if (connector) {
    const exporting = connector.connect();
    exporting.write(
      `GET ${connector.prefix}/containers/${containerId}/export HTTP/1.1\r\nHost: docker\r\nConnection: close\r\n\r\n`,
    );
    let head: ResponseHead;
    try {
      head = await readResponseHead(exporting);
    } catch (error) {
      exporting.destroy();
      throw new Error(`exporting the container of ${source} failed: ${describeError(error)}`);
    }
    if (head.status !== 200) {
      const body = await readBody(exporting, head).catch(() => "");
      exporting.destroy();
      throw new Error(`exporting the container of ${source} failed: ${engineMessage(body)}`);
    }
    const chunked = /chunked/i.test(head.headers["transfer-encoding"] ?? "");
    const length = head.headers["content-length"];
    if (chunked || length !== undefined) {
      return await new Promise<string>((resolve, reject) => {
        const importing = connector.connect();
        let settled = false;
        const fail = (error: Error) => {
          if (settled) return;
          settled = true;
          exporting.destroy();
          importing.destroy();
          reject(error);
        };
        importing.on("error", (error) => fail(new Error(`${what} failed: ${error.message}`)));
        exporting.on("error", (error) =>
          fail(new Error(`exporting the container of ${source} failed: ${error.message}`)),
        );
        // The last bytes forwarded tell whether the export ended complete.
        let tail: Buffer = Buffer.alloc(0);
        let forwarded = head.rest.length;
        exporting.on("data", (data: Buffer) => {
          forwarded += data.length;
          tail = Buffer.concat([
            tail,
            data.subarray(Math.max(0, data.length - CHUNKED_END.length)),
          ]).subarray(-CHUNKED_END.length);
        });
        if (head.rest.length > 0) {
          tail = head.rest.subarray(-CHUNKED_END.length);
        }
        exporting.on("end", () => {
          const complete = chunked ? tail.equals(CHUNKED_END) : forwarded === Number(length);
          if (!complete)
            fail(
              new Error(`exporting the container of ${source} ended early; nothing was imported`),
            );
        });
        importing.write(
          `POST ${connector.prefix}/images/create?fromSrc=-&${query.toString()} HTTP/1.1\r\nHost: docker\r\nContent-Type: application/x-tar\r\n${chunked ? "Transfer-Encoding: chunked" : `Content-Length: ${length}`}\r\nConnection: close\r\n\r\n`,
        );
        if (head.rest.length > 0) importing.write(head.rest);
        exporting.pipe(importing, { end: false });
        readResponseHead(importing)
          .then(async (answer) => {
            const body = await readBody(importing, answer);
            if (answer.status !== 200) throw new Error(`${what} failed: ${engineMessage(body)}`);
            const imageId = importedImageId(body, what);
            settled = true;
            exporting.destroy();
            resolve(imageId);
          })
          .catch((error: Error) => fail(error));
        exporting.resume();
      });
    }
    exporting.destroy();
  }
  // Fallback: dockerode streams (decode the export, re-encode the import body).
  const abort = new AbortController();
  const exported = (await docker
    .getContainer(containerId)
    .export({ abortSignal: abort.signal })) as NodeJS.ReadableStream;
  const exportFailed = new Promise<never>((_, reject) => {
    exported.on("error", (error: Error) => {
      abort.abort();
      reject(new Error(`exporting the container of ${source} failed: ${error.message}`));
    });
  });
  const options: Record<string, unknown> = { abortSignal: abort.signal };
  for (const [key, value] of query) {
    if (key === "changes") options.changes = [...((options.changes as string[]) ?? []), value];
    else options[key] = value;
  }
  const imported = async () => {
    const progress = await readProgress(
      (await docker.importImage(exported, options)) as NodeJS.ReadableStream,
      what,
    );
    return importedImageId(progress.map((message) => JSON.stringify(message)).join("\n"), what);
  };
  try {
    return await Promise.race([imported(), exportFailed]);
  } finally {
    exportFailed.catch(() => undefined);
  }
}

/** Label on the temporary container, so leftovers are findable (`docker ps -a --filter label=...`). */
export const FLATTEN_CONTAINER_LABEL = "org.secure-registry.flatten-source";

export interface FlattenRequest extends EngineOptions {
  /** Source image reference (name:tag, ID or digest). */
  readonly source: string;
  /** `repository[:tag]` to tag the flattened image with; tag defaults to `latest`. */
  readonly imageName: string;
  /** Push `imageName` to its registry after tagging. Default false. */
  readonly push?: boolean;
  /** Credentials for the push. */
  readonly registry?: RegistryAuth;
  /** Called once the temporary container exists (tests use it to fail midway). */
  readonly onContainerCreated?: (containerId: string) => Promise<void> | void;
}

export interface FlattenResult {
  /** `sha256:` ID of the flattened image. */
  readonly imageId: string;
  /** `repository@sha256:...` when pushed. */
  readonly repoDigest?: string;
  readonly layerCount: number;
  readonly size: number;
  readonly sourceImageId: string;
  readonly sourceLayerCount: number;
  readonly sourceSize: number;
}

/**
 * Flattens `source` into a one-layer image tagged `imageName`: creates (never starts) a container,
 * streams its export straight into the import API (no temporary file; memory stays bounded by the
 * stream buffers), carries the source's config over (`planFlatten`), tags, pushes when asked, and
 * removes the container in every case. On failure it also removes the images it created.
 */
export async function flattenImage(request: FlattenRequest): Promise<FlattenResult> {
  const Docker = require("dockerode") as typeof Dockerode;
  const docker = new Docker(request.docker);
  const source = await inspectImage(request.source, request);
  const plan = planFlatten(source.config);
  const { repository, tag } = splitImageName(request.imageName);
  const created: string[] = [];
  let succeeded = false;
  let container: Dockerode.Container | undefined;
  try {
    const hasCommand =
      (source.config.Cmd?.length ?? 0) > 0 || (source.config.Entrypoint?.length ?? 0) > 0;
    const temporary = await docker.createContainer({
      Image: source.id,
      // The engine refuses to create a container without a command; it never runs.
      ...(hasCommand ? {} : { Cmd: ["/flatten-placeholder"] }),
      Labels: { [FLATTEN_CONTAINER_LABEL]: request.source },
      NetworkDisabled: true,
    });
    container = temporary;
    await request.onContainerCreated?.(temporary.id);

    const query = new URLSearchParams();
    for (const change of plan.importChanges) query.append("changes", change);
    query.set("message", `flattened from ${request.source}`);
    query.set(
      "platform",
      [source.os, source.architecture, source.variant].filter(Boolean).join("/"),
    );
    let imageId = await exportIntoImport(docker, temporary.id, query, request.source);
    created.push(imageId);

    if (plan.followUpInstructions.length > 0) {
      const dockerfile = [`FROM ${imageId}`, ...plan.followUpInstructions, ""].join("\n");
      const { Readable } = require("stream") as typeof import("stream");
      const progress = await readProgress(
        (await docker.buildImage(Readable.from([tarWithOneFile("Dockerfile", dockerfile)]), {
          rm: true,
          forcerm: true,
        })) as NodeJS.ReadableStream,
        `applying ${plan.followUpInstructions.map((line) => line.split(" ")[0]).join(", ")} to the flattened image`,
      );
      const aux = progress
        .map((message) => (message.aux as { ID?: string } | undefined)?.ID)
        .filter(Boolean);
      if (aux.length === 0) throw new Error("the follow-up build returned no image ID");
      imageId = aux[aux.length - 1] as string;
      created.push(imageId);
    }

    await docker
      .getImage(imageId)
      .tag({ repo: repository, tag })
      .catch((error: unknown) => {
        throw new Error(
          `tagging the flattened image as "${request.imageName}" failed: ${describeError(error)}. Use a valid name: lower-case repository[:tag].`,
        );
      });

    let repoDigest: string | undefined;
    if (request.push) {
      const auth = request.registry
        ? {
            username: request.registry.username,
            password: request.registry.password,
            serveraddress: request.registry.server,
          }
        : undefined;
      const progress = await readProgress(
        await docker.getImage(repository).push({ tag, ...(auth ? { authconfig: auth } : {}) }),
        `pushing ${request.imageName}`,
        request.registry?.password,
      );
      const digest = progress
        .map((message) => (message.aux as { Digest?: string } | undefined)?.Digest)
        .filter(Boolean)
        .pop();
      if (!digest) throw new Error(`pushing ${request.imageName} reported no digest`);
      repoDigest = `${repository}@${digest}`;
    }
    const result = await inspectImage(imageId, request);
    succeeded = true;
    return {
      imageId,
      repoDigest,
      layerCount: result.layerCount,
      size: result.size,
      sourceImageId: source.id,
      sourceLayerCount: source.layerCount,
      sourceSize: source.size,
    };
  } finally {
    if (container) {
      await container.remove({ force: true, v: true }).catch(() => undefined);
    }
    if (!succeeded) {
      // Newest first: the follow-up image is a child of the imported one.
      for (const id of created.reverse()) {
        await docker
          .getImage(id)
          .remove({ force: true })
          .catch(() => undefined);
      }
    }
  }
}

/**
 * Removes the flattened image tagged `imageName` if that tag still points at `imageId`; an image
 * that is already gone is fine. Another image under the same tag is left alone.
 */
export async function removeFlattenedImage(
  imageName: string,
  imageId: string,
  options: EngineOptions = {},
): Promise<void> {
  const Docker = require("dockerode") as typeof Dockerode;
  const docker = new Docker(options.docker);
  const current = await resolveImageId(imageName, options);
  try {
    if (current === imageId) {
      await docker.getImage(imageName).remove();
    } else {
      // The tag is gone or moved on (a replacement took it): remove our image by ID, unless it
      // carries other tags someone added, which the engine refuses (409) and we leave alone.
      await docker
        .getImage(imageId)
        .remove()
        .catch((error: { statusCode?: number; json?: { message?: string } }) => {
          if (error.statusCode === 409 && /referenced in multiple/.test(error.json?.message ?? ""))
            return;
          throw error;
        });
    }
  } catch (error) {
    const status = (error as { statusCode?: number }).statusCode;
    if (status === 404) return;
    throw new Error(
      `removing the flattened image ${imageName} (${imageId}) failed: ${describeError(error)}. If a container uses it, remove the container first, or set keepImage: true.`,
    );
  }
}

// ---------------------------------------------------------------------------------------------
// Dynamic providers. Their methods only call functions of this file (see the header comment).

/** Inputs of the FlattenedImage dynamic resource, after `check`. */
export interface FlattenInputs {
  readonly source: string;
  readonly imageName: string;
  readonly push: boolean;
  readonly keepImage: boolean;
  /** Secret: the component wraps it in `pulumi.secret`. */
  readonly registry?: RegistryAuth;
  /** The source reference resolved to its image ID by `check`, so a rebuilt source replaces. */
  readonly sourceImageId?: string;
}

/** Outputs (state) of the FlattenedImage dynamic resource. Never holds the registry password. */
export interface FlattenOutputs extends FlattenResult {
  readonly source: string;
  readonly imageName: string;
  readonly push: boolean;
  readonly keepImage: boolean;
  readonly registryServer?: string;
}

/** Validates FlattenedImage inputs the component could not check (values that were Outputs). */
export function checkFlattenInputs(
  news: Partial<FlattenInputs>,
): { property: string; reason: string }[] {
  const failures: { property: string; reason: string }[] = [];
  if (typeof news.source !== "string" || news.source.trim() === "") {
    failures.push({
      property: "source",
      reason: "source must name an image (name:tag, ID or repo@digest)",
    });
  }
  if (
    typeof news.imageName !== "string" ||
    news.imageName.trim() === "" ||
    news.imageName.includes("@")
  ) {
    failures.push({
      property: "imageName",
      reason: "imageName must be repository[:tag] without a digest",
    });
  }
  if (news.push === true && !news.registry) {
    failures.push({
      property: "registry",
      reason: "push is true but no registry is given: pass registry, or set push: false",
    });
  }
  return failures;
}

export const flattenProvider = {
  async check(_olds: FlattenInputs, news: FlattenInputs) {
    const failures = checkFlattenInputs(news);
    if (failures.length > 0) return { inputs: news, failures };
    const sourceImageId = await resolveImageId(news.source);
    return { inputs: { ...news, ...(sourceImageId ? { sourceImageId } : {}) } };
  },

  async diff(_id: string, olds: FlattenOutputs, news: FlattenInputs) {
    const replaces: string[] = [];
    for (const key of ["source", "imageName", "push"] as const) {
      if (olds[key] !== news[key]) replaces.push(key);
    }
    if ((news.registry?.server ?? undefined) !== (olds.registryServer ?? undefined))
      replaces.push("registry");
    const currentSource = news.sourceImageId ?? (await resolveImageId(news.source));
    if (currentSource !== olds.sourceImageId) replaces.push("sourceImageId");
    const changes = replaces.length > 0 || olds.keepImage !== news.keepImage;
    return { changes, replaces, deleteBeforeReplace: false };
  },

  async create(inputs: FlattenInputs) {
    const result = await flattenImage({
      source: inputs.sourceImageId ?? inputs.source,
      imageName: inputs.imageName,
      push: inputs.push,
      registry: inputs.registry,
    });
    const outs: FlattenOutputs = {
      source: inputs.source,
      imageName: inputs.imageName,
      push: inputs.push,
      keepImage: inputs.keepImage,
      ...(inputs.registry ? { registryServer: inputs.registry.server } : {}),
      ...result,
    };
    return { id: result.imageId, outs };
  },

  async read(id: string, props: FlattenOutputs) {
    const current = await resolveImageId(id);
    if (!current) return { id: "", props: {} as FlattenOutputs };
    const facts = await inspectImage(id);
    return { id, props: { ...props, layerCount: facts.layerCount, size: facts.size } };
  },

  async update(_id: string, olds: FlattenOutputs, news: FlattenInputs) {
    // Only keepImage (and credentials, which are not state) change in place.
    return { outs: { ...olds, keepImage: news.keepImage } };
  },

  async delete(_id: string, props: FlattenOutputs) {
    if (props.keepImage) return;
    await removeFlattenedImage(props.imageName, props.imageId);
  },
};

/** Outputs of the read-only ImageFacts dynamic resource behind `BuiltImage.size` / `layerCount`. */
export interface ImageFactsOutputs {
  readonly image: string;
  readonly imageId: string;
  readonly size: number;
  readonly layerCount: number;
  readonly architecture: string;
  readonly os: string;
}

/** Reads size, layer count and platform of a local image for the ImageFacts resource. */
export async function imageFacts(image: string): Promise<ImageFactsOutputs> {
  const facts = await inspectImage(image);
  return {
    image,
    imageId: facts.id,
    size: facts.size,
    layerCount: facts.layerCount,
    architecture: facts.architecture,
    os: facts.os,
  };
}

/**
 * Records facts about a built image in the state once, when the image (its repoDigest) changes,
 * so later runs on a machine without that local image (a fresh CI agent) still have them.
 */
export const imageFactsProvider = {
  async diff(_id: string, olds: ImageFactsOutputs, news: { image: string }) {
    const changed = olds.image !== news.image;
    return { changes: changed, replaces: changed ? ["image"] : [] };
  },
  async create(inputs: { image: string }) {
    const outs = await imageFacts(inputs.image);
    return { id: outs.imageId, outs };
  },
  async read(id: string, props: ImageFactsOutputs) {
    // The image may be gone locally (pruned, another machine): keep what was recorded.
    const present = props?.image ? await resolveImageId(props.image) : undefined;
    return { id, props: present ? await imageFacts(props.image) : props };
  },
  async update(_id: string, olds: ImageFactsOutputs) {
    return { outs: olds };
  },
  async delete() {
    // Read-only: the image belongs to the docker.Image that built it.
  },
};
