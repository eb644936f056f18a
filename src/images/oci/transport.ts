/**
 * HTTP(S) for the registry client, on Node's own `http` and `https` modules: one keep-alive agent
 * per protocol, the system roots plus the registry's CA, a connect timeout and an idle timeout
 * (no bytes either way for that long fails the request, whatever its phase).
 *
 * Why not undici (which the engine transfer uses, for unix sockets): undici parses HTTP with
 * llhttp compiled to WebAssembly, and V8 recompiles that module with its optimising compiler once
 * it is hot, which cost the flattening process ~35 MB of RSS for ~300 ms, plus ~19 MB to load
 * undici's code, against an issue goal of 64 MB of growth for the whole flatten (docs/flatten.md).
 * Node's own client runs the same llhttp natively, already loaded.
 *
 * Serialization: carried by value with client.ts into the flatten provider, so Node modules are
 * required inside functions and only types are imported at the top.
 */
import type { IncomingHttpHeaders, IncomingMessage } from "http";
import type { Readable } from "stream";

export interface TransportOptions {
  /** PEM CA(s) trusted in addition to the system roots. */
  readonly caCertPem?: string;
  /** Milliseconds without a byte sent or received before a request fails. */
  readonly idleTimeoutMs: number;
  /** Milliseconds to establish the TCP connection. */
  readonly connectTimeoutMs: number;
}

/** A registry's answer: the body is a stream that must be read, dumped or destroyed. */
export interface Reply {
  readonly statusCode: number;
  readonly headers: IncomingHttpHeaders;
  readonly body: IncomingMessage;
}

export interface RequestInit {
  readonly method: string;
  readonly headers: Record<string, string>;
  /** A Buffer is sent with its length; a stream is sent chunked, as it is produced. */
  readonly body?: Buffer | Readable;
}

export interface Transport {
  request(url: URL, init: RequestInit): Promise<Reply>;
  /** Closes the idle keep-alive connections. */
  close(): Promise<void>;
}

/** An Error with a `code`, as Node's own network errors have. */
function codedError(message: string, code: string): Error {
  return Object.assign(new Error(message), { code });
}

export function createTransport(options: TransportOptions): Transport {
  const http = require("http") as typeof import("http");
  const https = require("https") as typeof import("https");
  const tls = require("tls") as typeof import("tls");
  const { pipeline } = require("stream") as typeof import("stream");
  // A kept-alive connection idle for a minute is closed. The agents' `timeout` also runs while a
  // new connection is made, so it stays above the connect timeout (at most 30 s, see the client);
  // once connected, a request's own idle timeout replaces it.
  const agents = {
    "http:": new http.Agent({ keepAlive: true, timeout: 60_000 }),
    "https:": new https.Agent({
      keepAlive: true,
      timeout: 60_000,
      ...(options.caCertPem ? { ca: [...tls.rootCertificates, options.caCertPem] } : {}),
    }),
  };

  function request(url: URL, init: RequestInit): Promise<Reply> {
    const protocol = url.protocol as keyof typeof agents;
    if (!(protocol in agents)) {
      return Promise.reject(codedError(`unsupported protocol ${url.protocol}`, "ERR_INVALID_URL"));
    }
    const headers = { ...init.headers };
    if (Buffer.isBuffer(init.body)) headers["content-length"] = String(init.body.length);
    return new Promise<Reply>((resolve, reject) => {
      const client = protocol === "http:" ? http : https;
      const req = client.request(url, { method: init.method, headers, agent: agents[protocol] });
      let response: IncomingMessage | undefined;
      const fail = (error: Error) => {
        // Before the answer, the promise rejects; after it, whoever reads the body sees the error.
        if (response && !response.complete) response.destroy(error);
        req.destroy(error);
        reject(error);
      };
      req.setTimeout(options.idleTimeoutMs, () =>
        fail(codedError(`no data for ${options.idleTimeoutMs} ms`, "ETIMEDOUT")),
      );
      req.on("socket", (socket) => {
        if (!socket.connecting) return;
        const timer = setTimeout(
          () =>
            fail(codedError(`connect timed out after ${options.connectTimeoutMs} ms`, "ETIMEDOUT")),
          options.connectTimeoutMs,
        );
        socket.once("connect", () => clearTimeout(timer));
        socket.once("close", () => clearTimeout(timer));
      });
      req.on("error", reject);
      req.on("response", (answer) => {
        response = answer;
        resolve({ statusCode: answer.statusCode ?? 0, headers: answer.headers, body: answer });
      });
      if (init.body === undefined) req.end();
      else if (Buffer.isBuffer(init.body)) req.end(init.body);
      // pipeline destroys both sides when either fails; the request's error rejects above.
      else pipeline(init.body, req, () => undefined);
    });
  }

  return {
    request,
    close: async () => {
      agents["http:"].destroy();
      agents["https:"].destroy();
    },
  };
}

/** The whole body as bytes. */
export async function replyBytes(reply: Reply): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of reply.body) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
}

/** The whole body as UTF-8 text. */
export async function replyText(reply: Reply): Promise<string> {
  return (await replyBytes(reply)).toString("utf8");
}

/**
 * Reads the body to its end without keeping it, so that the connection can serve the next request
 * (small bodies: errors, upload answers). A failure while reading is ignored: the answer's status
 * and headers are what the caller wanted.
 */
export async function discardReply(reply: Reply): Promise<void> {
  const { finished } = require("stream/promises") as typeof import("stream/promises");
  reply.body.resume();
  await finished(reply.body).catch(() => undefined);
}
