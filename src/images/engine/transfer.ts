/**
 * Streams a container's export into the engine's import API: the flattening itself.
 *
 * HTTP is undici's (unix sockets and tcp, TLS included): the export's body is handed to the import
 * request as a stream, with backpressure, so memory stays at a few buffers whatever the image size
 * and no temporary file is written. Over ssh (a `docker system dial-stdio` process per connection,
 * see connection.ts) dockerode's streams do the same work.
 *
 * A body that ends early (the engine closed the export, the container vanished) aborts the import
 * request, so the engine never receives a complete archive and creates nothing.
 *
 * Imports only sibling engine modules: the dynamic providers carry them (see providers.ts).
 */
import type { Engine, EngineTransport } from "../../engine/connection";
import { describeError, sshDiagnostics } from "../../engine/connection";
import { readProgress } from "./progress";

/** How long the export may stall (no headers or no bytes), and how long the import may take to answer once it has everything. */
export const TRANSFER_LIMITS = { stallMs: 300_000, answerMs: 600_000 } as const;

/** The image ID from an import's progress lines; throws on an `error` line. */
export function importedImageId(progressText: string, what: string): string {
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

/** The engine's error text from an error response body (`{"message": ...}`) or the raw body. */
export function engineMessage(body: string): string {
  try {
    const parsed = JSON.parse(body) as { message?: string };
    if (parsed.message) return parsed.message;
  } catch {
    // Not JSON: use the text.
  }
  return body.trim().slice(0, 500);
}

/** An undici client for a unix or tcp engine; undefined for ssh (dockerode handles it). */
function httpClient(
  transport: EngineTransport,
  timeouts: { headersTimeout: number; bodyTimeout: number },
): import("undici").Client | undefined {
  const { Client } = require("undici") as typeof import("undici");
  if (transport.kind === "unix") {
    return new Client("http://docker", { socketPath: transport.socketPath, ...timeouts });
  }
  if (transport.kind === "tcp") {
    const host = transport.hostname.includes(":") ? `[${transport.hostname}]` : transport.hostname;
    if (!transport.tls) return new Client(`http://${host}:${transport.port}`, timeouts);
    return new Client(`https://${host}:${transport.port}`, {
      ...timeouts,
      connect: { ca: transport.tls.ca, cert: transport.tls.cert, key: transport.tls.key },
    });
  }
  return undefined;
}

/**
 * Streams the export of `containerId` into `POST /images/create?fromSrc=-&<query>` and returns the
 * new image ID. `source` names the image in messages.
 *
 * The export body goes to the import request as it is, with no stream stage in between (each
 * stage costs CPU per chunk, and a "data" listener would start the body flowing before undici
 * reads it, losing chunks): undici's own timeouts bound a stalled export, a timer started at the
 * export's end bounds the import's answer.
 */
export async function exportIntoImport(
  engine: Engine,
  containerId: string,
  query: URLSearchParams,
  source: string,
): Promise<string> {
  const stallLimits = {
    headersTimeout: TRANSFER_LIMITS.stallMs,
    bodyTimeout: TRANSFER_LIMITS.stallMs,
  };
  const exportClient = httpClient(engine.resolved.transport, stallLimits);
  // The import answers only once it has read everything: its wait is bounded by the export's.
  const importClient = httpClient(engine.resolved.transport, { headersTimeout: 0, bodyTimeout: 0 });
  if (!exportClient || !importClient) {
    return exportIntoImportByDockerode(engine, containerId, query, source);
  }
  const what = `importing the export of ${source}`;
  const abort = new AbortController();
  let exportProblem: Error | undefined;
  let importAnswered = false;
  let answer: NodeJS.Timeout | undefined;
  try {
    const exported = await exportClient
      .request({
        method: "GET",
        path: `/containers/${containerId}/export`,
        signal: abort.signal,
      })
      .catch((error: unknown) => {
        throw new Error(`exporting the container of ${source} failed: ${describeError(error)}`);
      });
    if (exported.statusCode !== 200) {
      const body = await exported.body.text().catch(() => "");
      throw new Error(`exporting the container of ${source} failed: ${engineMessage(body)}`);
    }
    // "error" and "end" listeners observe without starting the flow.
    exported.body.on("error", (error: Error) => {
      if (importAnswered) return;
      exportProblem ??= transferCut(
        `exporting the container of ${source} ended early (${error.message}); nothing was imported`,
      );
    });
    exported.body.on("end", () => {
      answer = setTimeout(() => {
        abort.abort(
          new Error(
            `${what}: the engine did not answer within ${TRANSFER_LIMITS.answerMs / 1000} s`,
          ),
        );
      }, TRANSFER_LIMITS.answerMs);
    });
    let imported: Awaited<ReturnType<typeof importClient.request>>;
    try {
      imported = await importClient.request({
        method: "POST",
        path: `/images/create?fromSrc=-&${query.toString()}`,
        headers: { "content-type": "application/x-tar" },
        body: exported.body,
        signal: abort.signal,
      });
    } catch (error) {
      throw exportProblem ?? new Error(`${what} failed: ${describeError(error)}`);
    }
    const text = await imported.body.text().catch((error: unknown) => {
      throw exportProblem ?? new Error(`${what} failed: ${describeError(error)}`);
    });
    importAnswered = true;
    // A complete answer means the engine read the archive to its end-of-archive marker: the
    // engine stops reading there, and undici then drops the export's trailing padding with a
    // "Request aborted" on the export body, which is harmless. A truncated export aborts the
    // import request instead (no terminating chunk is sent), so it never gets this far.
    if (imported.statusCode !== 200) {
      throw exportProblem ?? new Error(`${what} failed: ${engineMessage(text)}`);
    }
    try {
      return importedImageId(text, what);
    } catch (error) {
      throw exportProblem ?? error;
    }
  } finally {
    if (answer) clearTimeout(answer);
    await Promise.all([exportClient.destroy(), importClient.destroy()]).catch(() => undefined);
  }
}

/**
 * An error for a hand-off whose connection was cut mid-stream (an ssh session dropped, a
 * `dial-stdio` process ended, the engine closed the stream) rather than answered: the import
 * never got a complete archive. The export only reads the container, so the caller may try again
 * (see flatten.ts).
 */
export function transferCut(message: string): Error {
  return Object.assign(new Error(message), { transferCut: true });
}

/** Whether `error` is transferCut's. */
export function isTransferCut(error: unknown): boolean {
  return (error as { transferCut?: unknown } | undefined)?.transferCut === true;
}

/**
 * transferCut's error for a connection of `engine` cut mid-stream, with what its ssh process said.
 * A response's "aborted" hides why the connection closed; the ssh process says once it has
 * exited, which can follow the end of its output by a moment, hence the short wait.
 */
async function cutOverSsh(engine: Engine, message: string): Promise<Error> {
  await new Promise((resolve) => setTimeout(resolve, 200));
  const ssh = sshDiagnostics(engine);
  return transferCut(`${message}${ssh ? ` (ssh: ${ssh})` : ""}`);
}

/** Whether `error` is a connection closing under a request, not an answer of the engine. */
function isConnectionCut(error: unknown): boolean {
  const { code, statusCode } = (error ?? {}) as { code?: unknown; statusCode?: unknown };
  if (statusCode !== undefined) return false;
  return ["ECONNRESET", "EPIPE", "ECONNABORTED", "ERR_STREAM_PREMATURE_CLOSE"].includes(
    String(code),
  );
}

/**
 * The same hand-off through dockerode streams (ssh engines). Either connection cut mid-stream
 * (the export's or the import's) throws transferCut's error, with what ssh said.
 */
async function exportIntoImportByDockerode(
  engine: Engine,
  containerId: string,
  query: URLSearchParams,
  source: string,
): Promise<string> {
  const what = `importing the export of ${source}`;
  const abort = new AbortController();
  const exported = (await engine.docker
    .getContainer(containerId)
    .export({ abortSignal: abort.signal })
    .catch((error: unknown) => {
      throw new Error(`exporting the container of ${source} failed: ${describeError(error)}`);
    })) as NodeJS.ReadableStream;
  let exportBroke = false;
  const exportFailed = new Promise<never>((_, reject) => {
    exported.on("error", (error: Error) => {
      exportBroke = true;
      abort.abort();
      void cutOverSsh(
        engine,
        `exporting the container of ${source} was cut: ${error.message}`,
      ).then(reject);
    });
  });
  const options: Record<string, unknown> = { abortSignal: abort.signal };
  for (const [key, value] of query) {
    if (key === "changes") options.changes = [...((options.changes as string[]) ?? []), value];
    else options[key] = value;
  }
  const imported = async () => {
    const progress = await readProgress(
      (await engine.docker.importImage(exported, options)) as NodeJS.ReadableStream,
      what,
    );
    return importedImageId(progress.map((message) => JSON.stringify(message)).join("\n"), what);
  };
  try {
    // A broken export fails the import too (dockerode passes the export's error on, and the
    // abort): the export's failure, with what ssh said, is the one to report then.
    const importing = imported().catch(async (error: unknown) => {
      if (exportBroke) return exportFailed;
      if (!isConnectionCut(error)) throw error;
      // The import's own connection was cut: the export, left without a reader, goes too.
      const reason = describeError(error).replace(`${what} failed: `, "");
      const cut = await cutOverSsh(engine, `${what} was cut: ${reason}`);
      abort.abort();
      throw cut;
    });
    return await Promise.race([importing, exportFailed]);
  } finally {
    exportFailed.catch(() => undefined);
  }
}
