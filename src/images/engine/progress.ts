/**
 * The engine's JSON-lines progress streams (pull, push, import, build).
 *
 * No imports: the dynamic providers carry this module (see providers.ts).
 */

/** Reads a JSON-lines progress stream (pull, push, import, build) and fails on its `error` lines. */
export function readProgress(
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
    // The stream's error code (ECONNRESET for a cut connection) stays, for callers that retry.
    stream.on("error", (error: NodeJS.ErrnoException) =>
      reject(
        Object.assign(new Error(`${what} failed: ${redact(error.message)}`), { code: error.code }),
      ),
    );
    stream.on("end", () => {
      onLine(buffered);
      if (failed) reject(failed);
      else resolve(messages);
    });
  });
}
