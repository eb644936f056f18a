/**
 * A small OCI distribution (registry HTTP API v2) client: manifests (GET/HEAD/PUT, Docker
 * v2 schema 2 and OCI media types, images and indexes), blobs (streaming GET, HEAD, cross-repository
 * mount) and streaming uploads (POST, then one streamed PATCH or fixed-size chunked PATCHes, then
 * PUT ?digest= with the digest computed while the bytes went out).
 *
 * Authentication follows the registry's challenge from `GET /v2/`: `Basic` sends the credentials on
 * every request; `Bearer realm=...,service=...` fetches a token per scope set from the realm (with
 * the credentials as Basic auth when given, anonymously otherwise) and caches it until it expires.
 * HTTP is transport.ts's: Node's own client with keep-alive agents, the system roots plus
 * `caCertPem` when given.
 *
 * Credentials never appear in errors: messages are built from the method, the path (no query: upload
 * locations carry opaque state) and the registry's error codes, and the password and the Basic
 * header value are cut out of anything a registry sends back.
 *
 * Serialization: the flatten provider carries this file by value (see provider.ts), so modules are
 * required inside functions and only types are imported at the top.
 */
import type { Readable } from "stream";
import { createTransport, discardReply, replyBytes, replyText, type Reply } from "./transport";

/** Where a registry is and how to log in. The password is a secret. */
export interface RegistryEndpoint {
  /** `host[:port]`; `http://host[:port]` talks plain HTTP (loopback test registries only). */
  readonly server: string;
  readonly username?: string;
  readonly password?: string;
  /** PEM CA(s) to trust in addition to the system roots (a SecureRegistry's `caCertPem`). */
  readonly caCertPem?: string;
}

export interface ClientOptions {
  /**
   * Upload in PATCH requests of this many bytes (each held in memory) instead of one streamed
   * PATCH; for registries that refuse chunked transfer encoding. Default 0: one streamed PATCH.
   */
  readonly uploadChunkBytes?: number;
  /** Milliseconds without progress before a request fails. Default 300000. */
  readonly timeoutMs?: number;
}

export const MEDIA_TYPES = {
  dockerManifest: "application/vnd.docker.distribution.manifest.v2+json",
  dockerIndex: "application/vnd.docker.distribution.manifest.list.v2+json",
  dockerConfig: "application/vnd.docker.container.image.v1+json",
  dockerLayerGzip: "application/vnd.docker.image.rootfs.diff.tar.gzip",
  dockerLayerForeign: "application/vnd.docker.image.rootfs.foreign.diff.tar.gzip",
  ociManifest: "application/vnd.oci.image.manifest.v1+json",
  ociIndex: "application/vnd.oci.image.index.v1+json",
  ociConfig: "application/vnd.oci.image.config.v1+json",
  ociLayer: "application/vnd.oci.image.layer.v1.tar",
  ociLayerGzip: "application/vnd.oci.image.layer.v1.tar+gzip",
  ociLayerZstd: "application/vnd.oci.image.layer.v1.tar+zstd",
} as const;

/** Accept header for manifest reads: every image and index type this client understands. */
export const MANIFEST_ACCEPT = [
  MEDIA_TYPES.ociIndex,
  MEDIA_TYPES.dockerIndex,
  MEDIA_TYPES.ociManifest,
  MEDIA_TYPES.dockerManifest,
].join(", ");

export interface FetchedManifest {
  readonly mediaType: string;
  /** `sha256:` of the exact bytes. */
  readonly digest: string;
  readonly bytes: Buffer;
  readonly json: Record<string, unknown>;
}

export interface RegistryClient {
  /** `host[:port]` as given (without a scheme). */
  readonly server: string;
  getManifest(repository: string, reference: string): Promise<FetchedManifest>;
  /** Digest and media type of a manifest, or undefined when the registry has none under `reference`. */
  headManifest(
    repository: string,
    reference: string,
  ): Promise<{ digest: string; mediaType: string } | undefined>;
  /** PUTs a manifest under a tag or its digest; returns its digest. */
  putManifest(
    repository: string,
    reference: string,
    mediaType: string,
    bytes: Buffer,
  ): Promise<string>;
  /** Deletes a manifest by digest (needs a registry with deletes enabled). */
  deleteManifest(repository: string, digest: string): Promise<void>;
  /** The blob's bytes as a stream (redirects followed; credentials only to the registry itself). */
  getBlob(repository: string, digest: string): Promise<Readable>;
  /** A small blob (a config) read whole and checked against its digest. */
  getBlobBytes(repository: string, digest: string, maxBytes?: number): Promise<Buffer>;
  hasBlob(repository: string, digest: string): Promise<boolean>;
  /** Mounts a blob from another repository of the same registry; false when the registry declined. */
  mountBlob(repository: string, digest: string, fromRepository: string): Promise<boolean>;
  /** Streams `data` into a new blob; returns its digest and size. */
  uploadBlob(
    repository: string,
    data: AsyncIterable<Buffer> | Readable,
  ): Promise<{ digest: string; size: number }>;
  /** Uploads bytes already in memory (configs, manifests' small blobs). */
  uploadBytes(repository: string, bytes: Buffer): Promise<{ digest: string; size: number }>;
  close(): Promise<void>;
}

/** An error answered by (or on the way to) a registry; `status` is 0 when no answer came. */
export interface RegistryError extends Error {
  readonly status: number;
  /** Registry error codes (`MANIFEST_UNKNOWN`, `BLOB_UNKNOWN`, `DENIED`, ...). */
  readonly codes: string[];
}

/**
 * Makes a RegistryError. A function, not a class: the provider's serializer copies functions of
 * this file by value, and plain functions are what it carries most simply.
 */
export function registryError(
  message: string,
  status: number,
  codes: string[] = [],
): RegistryError {
  return Object.assign(new Error(message), { name: "RegistryError", status, codes });
}

/** `sha256:<hex>` of bytes. */
export function sha256Digest(bytes: Buffer | string): string {
  const crypto = require("crypto") as typeof import("crypto");
  return `sha256:${crypto.createHash("sha256").update(bytes).digest("hex")}`;
}

/** Parses a `WWW-Authenticate` header: scheme and its `key="value"` parameters. */
export function parseChallenge(
  header: string | undefined,
): { scheme: string; params: Record<string, string> } | undefined {
  if (!header) return undefined;
  const match = /^\s*([A-Za-z]+)\s*(.*)$/s.exec(header);
  if (!match) return undefined;
  const params: Record<string, string> = {};
  const pattern = /([A-Za-z_]+)\s*=\s*(?:"((?:[^"\\]|\\.)*)"|([^,\s]*))/g;
  let found: RegExpExecArray | null;
  while ((found = pattern.exec(match[2])) !== null) {
    params[found[1].toLowerCase()] =
      found[2] !== undefined ? found[2].replace(/\\(.)/g, "$1") : found[3];
  }
  return { scheme: match[1].toLowerCase(), params };
}

function splitServer(server: string): { origin: string; host: string } {
  const trimmed = server.trim().replace(/\/+$/, "");
  if (/^http:\/\//i.test(trimmed)) {
    const host = trimmed.slice("http://".length);
    return { origin: `http://${host}`, host };
  }
  const host = trimmed.replace(/^https:\/\//i, "");
  return { origin: `https://${host}`, host };
}

const TLS_TRUST_CODES = new Set([
  "UNABLE_TO_VERIFY_LEAF_SIGNATURE",
  "SELF_SIGNED_CERT_IN_CHAIN",
  "DEPTH_ZERO_SELF_SIGNED_CERT",
  "UNABLE_TO_GET_ISSUER_CERT_LOCALLY",
  "CERT_HAS_EXPIRED",
  "ERR_TLS_CERT_ALTNAME_INVALID",
]);

/** Creates a client for one registry. Call `close()` when done (keep-alive sockets). */
export function createRegistryClient(
  endpoint: RegistryEndpoint,
  options: ClientOptions = {},
): RegistryClient {
  const crypto = require("crypto") as typeof import("crypto");
  const { Readable: NodeReadable } = require("stream") as typeof import("stream");
  const { origin, host } = splitServer(endpoint.server);
  const timeout = options.timeoutMs ?? 300_000;
  const chunkBytes = options.uploadChunkBytes ?? 0;
  const transport = createTransport({
    caCertPem: endpoint.caCertPem,
    idleTimeoutMs: timeout,
    connectTimeoutMs: Math.min(timeout, 30_000),
  });
  const basic =
    endpoint.username !== undefined && endpoint.username !== ""
      ? Buffer.from(`${endpoint.username}:${endpoint.password ?? ""}`).toString("base64")
      : undefined;
  const secrets = [endpoint.password, basic].filter((s): s is string => !!s && s.length >= 3);
  const redact = (text: string) => secrets.reduce((t, s) => t.split(s).join("***"), text);

  let challenge:
    Promise<{ scheme: string; params: Record<string, string> } | undefined> | undefined;
  const tokens = new Map<string, { token: string; expires: number }>();

  type Method = "GET" | "HEAD" | "PUT" | "POST" | "PATCH" | "DELETE";
  interface Call {
    method: Method;
    /** Path with query, or an absolute URL (upload locations, redirects). */
    url: string;
    scopes: string[];
    headers?: Record<string, string>;
    body?: Buffer | Readable;
    /** Statuses that are not errors. */
    ok: number[];
    /** What the call does, for messages. */
    what: string;
  }

  const describe = (call: Call) => {
    const url = new URL(call.url, origin);
    return `${call.what} (${call.method} ${url.host}${url.pathname})`;
  };

  function networkError(call: Call, error: unknown): RegistryError {
    const err = error as {
      code?: string;
      cause?: { code?: string; message?: string };
      message?: string;
    };
    const code = err.cause?.code ?? err.code ?? "";
    const detail = redact(err.cause?.message ?? err.message ?? String(error));
    const hint = TLS_TRUST_CODES.has(code)
      ? ` The registry's certificate is not trusted: give its CA (caCertPem; a SecureRegistry passes its own).`
      : code === "ECONNREFUSED"
        ? " Nothing listens there: check the server address and that the registry runs."
        : "";
    return registryError(`${describe(call)} failed: ${detail}.${hint}`, 0, code ? [code] : []);
  }

  async function errorFrom(call: Call, response: Reply): Promise<RegistryError> {
    let codes: string[] = [];
    let detail = "";
    if (call.method !== "HEAD") {
      const text = await replyText(response).catch(() => "");
      try {
        const parsed = JSON.parse(text) as { errors?: { code?: string; message?: string }[] };
        codes = (parsed.errors ?? []).map((e) => String(e.code ?? ""));
        detail = (parsed.errors ?? [])
          .map((e) => `${e.code ?? ""}${e.message ? `: ${e.message}` : ""}`)
          .join("; ");
      } catch {
        detail = text.slice(0, 200);
      }
    } else {
      await discardReply(response);
    }
    const hint =
      response.statusCode === 401
        ? basic
          ? " The registry refused the credentials: check username and password."
          : " The registry wants credentials: give username and password."
        : response.statusCode === 403
          ? " The user may not do this here (permissions)."
          : "";
    return registryError(
      `${describe(call)} answered ${response.statusCode}${detail ? `: ${redact(detail)}` : ""}.${hint}`,
      response.statusCode,
      codes,
    );
  }

  async function send(call: Call, authorization?: string): Promise<Reply> {
    const headers: Record<string, string> = { ...(call.headers ?? {}) };
    if (authorization) headers.authorization = authorization;
    try {
      return await transport.request(new URL(call.url, origin), {
        method: call.method,
        headers,
        body: call.body,
      });
    } catch (error) {
      throw networkError(call, error);
    }
  }

  async function learnChallenge() {
    challenge ??= (async () => {
      const call: Call = {
        method: "GET",
        url: "/v2/",
        scopes: [],
        ok: [200, 401],
        what: "checking the registry",
      };
      const response = await send(call);
      if (!call.ok.includes(response.statusCode)) throw await errorFrom(call, response);
      await discardReply(response);
      return response.statusCode === 401
        ? parseChallenge(response.headers["www-authenticate"] as string | undefined)
        : undefined;
    })();
    try {
      return await challenge;
    } catch (error) {
      challenge = undefined;
      throw error;
    }
  }

  async function bearerToken(params: Record<string, string>, scopes: string[]): Promise<string> {
    const key = scopes.slice().sort().join(" ");
    const cached = tokens.get(key);
    if (cached && cached.expires > Date.now()) return cached.token;
    if (!params.realm)
      throw registryError(`${host} asked for a bearer token without a realm.`, 401);
    const url = new URL(params.realm);
    if (params.service) url.searchParams.set("service", params.service);
    for (const scope of scopes) url.searchParams.append("scope", scope);
    const call: Call = {
      method: "GET",
      url: url.toString(),
      scopes: [],
      ok: [200],
      what: `getting a token for ${key || "the registry"}`,
    };
    const response = await send(call, basic ? `Basic ${basic}` : undefined);
    if (response.statusCode !== 200) throw await errorFrom(call, response);
    const answer = JSON.parse(await replyText(response)) as {
      token?: string;
      access_token?: string;
      expires_in?: number;
    };
    const token = answer.token ?? answer.access_token;
    if (!token) throw registryError(`${describe(call)} returned no token.`, 200);
    const lifetime = Math.max(60, Number(answer.expires_in ?? 60)) * 1000;
    tokens.set(key, { token, expires: Date.now() + lifetime - 30_000 });
    return token;
  }

  async function authorization(scopes: string[]): Promise<string | undefined> {
    const found = await learnChallenge();
    if (!found) return undefined;
    if (found.scheme === "basic") return basic ? `Basic ${basic}` : undefined;
    if (found.scheme === "bearer") return `Bearer ${await bearerToken(found.params, scopes)}`;
    throw registryError(
      `${host} asks for "${found.scheme}" authentication, which is not supported (Basic and Bearer are).`,
      401,
    );
  }

  /** Sends with auth; a replayable request answered 401 with a bearer scope is retried once. */
  async function call(spec: Call): Promise<Reply> {
    const sameOrigin = new URL(spec.url, origin).origin === new URL(origin).origin;
    let response = await send(spec, sameOrigin ? await authorization(spec.scopes) : undefined);
    const replayable = spec.body === undefined || Buffer.isBuffer(spec.body);
    if (response.statusCode === 401 && replayable && sameOrigin) {
      const retry = parseChallenge(response.headers["www-authenticate"] as string | undefined);
      if (retry?.scheme === "bearer" && retry.params.scope) {
        await discardReply(response);
        tokens.delete([...spec.scopes].sort().join(" "));
        const token = await bearerToken(retry.params, [
          ...new Set([...spec.scopes, ...retry.params.scope.split(" ")]),
        ]);
        response = await send(spec, `Bearer ${token}`);
      }
    }
    if (!spec.ok.includes(response.statusCode)) throw await errorFrom(spec, response);
    return response;
  }

  const pull = (repository: string) => `repository:${repository}:pull`;
  const push = (repository: string) => `repository:${repository}:pull,push`;
  const header = (response: Reply, name: string) => {
    const value = response.headers[name];
    return Array.isArray(value) ? value[0] : value;
  };

  async function getManifest(repository: string, reference: string): Promise<FetchedManifest> {
    const response = await call({
      method: "GET",
      url: `/v2/${repository}/manifests/${reference}`,
      scopes: [pull(repository)],
      headers: { accept: MANIFEST_ACCEPT },
      ok: [200],
      what: `reading manifest ${repository}:${reference}`,
    });
    const bytes = await replyBytes(response);
    const digest = sha256Digest(bytes);
    if (reference.startsWith("sha256:") && reference !== digest) {
      throw registryError(
        `${host}/${repository}@${reference}: the registry sent a manifest whose digest is ${digest}.`,
        200,
      );
    }
    let json: Record<string, unknown>;
    try {
      json = JSON.parse(bytes.toString("utf8")) as Record<string, unknown>;
    } catch {
      throw registryError(`${host}/${repository}:${reference}: the manifest is not JSON.`, 200);
    }
    const contentType = String(header(response, "content-type") ?? "")
      .split(";")[0]
      .trim();
    const mediaType = typeof json.mediaType === "string" ? json.mediaType : contentType;
    return { mediaType, digest, bytes, json };
  }

  async function headManifest(repository: string, reference: string) {
    const response = await call({
      method: "HEAD",
      url: `/v2/${repository}/manifests/${reference}`,
      scopes: [pull(repository)],
      headers: { accept: MANIFEST_ACCEPT },
      ok: [200, 404],
      what: `checking manifest ${repository}:${reference}`,
    });
    await discardReply(response);
    if (response.statusCode === 404) return undefined;
    return {
      digest: String(header(response, "docker-content-digest") ?? ""),
      mediaType: String(header(response, "content-type") ?? "")
        .split(";")[0]
        .trim(),
    };
  }

  async function putManifest(
    repository: string,
    reference: string,
    mediaType: string,
    bytes: Buffer,
  ) {
    const response = await call({
      method: "PUT",
      url: `/v2/${repository}/manifests/${reference}`,
      scopes: [push(repository)],
      headers: { "content-type": mediaType },
      body: bytes,
      ok: [200, 201],
      what: `writing manifest ${repository}:${reference}`,
    });
    await discardReply(response);
    return sha256Digest(bytes);
  }

  async function deleteManifest(repository: string, digest: string) {
    const response = await call({
      method: "DELETE",
      url: `/v2/${repository}/manifests/${digest}`,
      scopes: [`repository:${repository}:delete`, push(repository)],
      ok: [202, 404],
      what: `deleting manifest ${repository}@${digest}`,
    });
    await discardReply(response);
  }

  async function getBlob(repository: string, digest: string): Promise<Readable> {
    let url = `/v2/${repository}/blobs/${digest}`;
    for (let hop = 0; hop < 5; hop++) {
      const response = await call({
        method: "GET",
        url,
        scopes: [pull(repository)],
        ok: [200, 301, 302, 303, 307, 308],
        what: `reading blob ${repository}@${digest}`,
      });
      if (response.statusCode === 200) return response.body;
      await discardReply(response);
      const location = header(response, "location");
      if (!location)
        throw registryError(
          `reading blob ${repository}@${digest}: redirect without a location.`,
          response.statusCode,
        );
      url = new URL(String(location), new URL(url, origin)).toString();
    }
    throw registryError(`reading blob ${repository}@${digest}: more than 5 redirects.`, 0);
  }

  async function getBlobBytes(repository: string, digest: string, maxBytes = 16 * 1024 * 1024) {
    const stream = await getBlob(repository, digest);
    const chunks: Buffer[] = [];
    let size = 0;
    for await (const chunk of stream) {
      size += (chunk as Buffer).length;
      if (size > maxBytes) {
        stream.destroy();
        throw registryError(`blob ${repository}@${digest} is larger than ${maxBytes} bytes.`, 200);
      }
      chunks.push(chunk as Buffer);
    }
    const bytes = Buffer.concat(chunks);
    if (sha256Digest(bytes) !== digest) {
      throw registryError(
        `blob ${repository}@${digest}: the registry sent different content (digest mismatch).`,
        200,
      );
    }
    return bytes;
  }

  async function hasBlob(repository: string, digest: string) {
    const response = await call({
      method: "HEAD",
      url: `/v2/${repository}/blobs/${digest}`,
      scopes: [pull(repository)],
      ok: [200, 404, 307],
      what: `checking blob ${repository}@${digest}`,
    });
    await discardReply(response);
    return response.statusCode !== 404;
  }

  async function startUpload(repository: string, query = ""): Promise<Reply> {
    return call({
      method: "POST",
      url: `/v2/${repository}/blobs/uploads/${query}`,
      scopes: [push(repository)],
      headers: { "content-length": "0" },
      ok: [201, 202],
      what: `starting an upload to ${repository}`,
    });
  }

  const locationOf = (response: Reply, base: string, what: string) => {
    const location = header(response, "location");
    if (!location)
      throw registryError(`${what}: the registry gave no upload location.`, response.statusCode);
    return new URL(String(location), new URL(base, origin)).toString();
  };

  async function cancelUpload(repository: string, location: string) {
    // Best effort: an upload session never completed holds nothing a manifest points to, and
    // registries expire it (distribution: purge of upload directories).
    try {
      const response = await send(
        { method: "DELETE", url: location, scopes: [], ok: [204], what: "cancelling an upload" },
        await authorization([push(repository)]),
      );
      await discardReply(response);
    } catch {
      // Nothing to do: see above.
    }
  }

  async function mountBlob(repository: string, digest: string, fromRepository: string) {
    const response = await call({
      method: "POST",
      url: `/v2/${repository}/blobs/uploads/?mount=${encodeURIComponent(digest)}&from=${encodeURIComponent(fromRepository)}`,
      scopes: [push(repository), pull(fromRepository)],
      headers: { "content-length": "0" },
      ok: [201, 202],
      what: `mounting ${digest} from ${fromRepository} into ${repository}`,
    });
    await discardReply(response);
    if (response.statusCode === 201) return true;
    await cancelUpload(
      repository,
      locationOf(response, `/v2/${repository}/blobs/uploads/`, "mount"),
    );
    return false;
  }

  async function finishUpload(repository: string, location: string, digest: string) {
    const url = new URL(location);
    url.searchParams.set("digest", digest);
    const response = await call({
      method: "PUT",
      url: url.toString(),
      scopes: [push(repository)],
      headers: { "content-length": "0" },
      ok: [201, 204],
      what: `completing the upload of ${digest} to ${repository}`,
    });
    await discardReply(response);
  }

  async function uploadBlob(repository: string, data: AsyncIterable<Buffer> | Readable) {
    const started = await startUpload(repository);
    await discardReply(started);
    let location = locationOf(
      started,
      `/v2/${repository}/blobs/uploads/`,
      `uploading to ${repository}`,
    );
    const hash = crypto.createHash("sha256");
    let size = 0;
    try {
      if (chunkBytes > 0) {
        let pending: Buffer[] = [];
        let pendingBytes = 0;
        const flush = async () => {
          if (pendingBytes === 0) return;
          const body = Buffer.concat(pending, pendingBytes);
          pending = [];
          pendingBytes = 0;
          const response = await call({
            method: "PATCH",
            url: location,
            scopes: [push(repository)],
            headers: {
              "content-type": "application/octet-stream",
              "content-range": `${size - body.length}-${size - 1}`,
              "content-length": String(body.length),
            },
            body,
            ok: [202],
            what: `uploading to ${repository}`,
          });
          await discardReply(response);
          location = locationOf(response, location, `uploading to ${repository}`);
        };
        for await (const chunk of data as AsyncIterable<Buffer>) {
          hash.update(chunk);
          size += chunk.length;
          pending.push(chunk);
          pendingBytes += chunk.length;
          if (pendingBytes >= chunkBytes) await flush();
        }
        await flush();
      } else {
        async function* counted() {
          for await (const chunk of data as AsyncIterable<Buffer>) {
            hash.update(chunk);
            size += chunk.length;
            yield chunk;
          }
        }
        const body = NodeReadable.from(counted(), { objectMode: false });
        const response = await call({
          method: "PATCH",
          url: location,
          scopes: [push(repository)],
          headers: { "content-type": "application/octet-stream" },
          body,
          ok: [202],
          what: `uploading to ${repository}`,
        });
        await discardReply(response);
        location = locationOf(response, location, `uploading to ${repository}`);
      }
      const digest = `sha256:${hash.digest("hex")}`;
      await finishUpload(repository, location, digest);
      return { digest, size };
    } catch (error) {
      await cancelUpload(repository, location);
      throw error;
    }
  }

  async function uploadBytes(repository: string, bytes: Buffer) {
    const digest = sha256Digest(bytes);
    if (await hasBlob(repository, digest)) return { digest, size: bytes.length };
    const started = await startUpload(repository);
    await discardReply(started);
    const location = new URL(
      locationOf(started, `/v2/${repository}/blobs/uploads/`, `uploading to ${repository}`),
    );
    location.searchParams.set("digest", digest);
    const response = await call({
      method: "PUT",
      url: location.toString(),
      scopes: [push(repository)],
      headers: {
        "content-type": "application/octet-stream",
        "content-length": String(bytes.length),
      },
      body: bytes,
      ok: [201, 204],
      what: `uploading ${digest} to ${repository}`,
    });
    await discardReply(response);
    return { digest, size: bytes.length };
  }

  return {
    server: host,
    getManifest,
    headManifest,
    putManifest,
    deleteManifest,
    getBlob,
    getBlobBytes,
    hasBlob,
    mountBlob,
    uploadBlob,
    uploadBytes,
    close: () => transport.close(),
  };
}
