/**
 * The registry client against a loopback fake of a token-authenticated registry (the kind Docker
 * Hub, GHCR or Harbor run; the project's SecureRegistry uses Basic auth, which the integration
 * tests cover): the Bearer challenge, token requests with the credentials and the scope, streamed
 * and chunked uploads with the digest computed on the way, blob redirects that must not carry the
 * credentials to another host, and errors that never contain the password.
 */
import * as crypto from "crypto";
import * as http from "http";
import { AddressInfo } from "net";
import { Readable } from "stream";
import { createRegistryClient, MEDIA_TYPES, sha256Digest } from "../../src/images/oci/client";

interface Seen {
  method: string;
  url: string;
  authorization?: string;
  body: Buffer;
  headers: http.IncomingHttpHeaders;
}

const USER = "robot";
const PASSWORD = "token-registry-password";
const manifest = Buffer.from(
  JSON.stringify({ schemaVersion: 2, mediaType: MEDIA_TYPES.ociManifest, layers: [] }),
);

function listen(handler: http.RequestListener): Promise<{ server: http.Server; origin: string }> {
  return new Promise((resolve) => {
    const server = http.createServer(handler);
    server.listen(0, "127.0.0.1", () => {
      const { port } = server.address() as AddressInfo;
      resolve({ server, origin: `http://127.0.0.1:${port}` });
    });
  });
}

describe("registry client with bearer tokens", () => {
  const seen: Seen[] = [];
  const blobs = new Map<string, Buffer>();
  const uploads = new Map<string, Buffer[]>();
  let registry: { server: http.Server; origin: string };
  let storage: { server: http.Server; origin: string };

  beforeAll(async () => {
    storage = await listen((req, res) => {
      seen.push({
        method: req.method ?? "",
        url: `storage${req.url}`,
        authorization: req.headers.authorization,
        body: Buffer.alloc(0),
        headers: req.headers,
      });
      res.end(blobs.get(String(req.url).slice(1)) ?? "");
    });
    registry = await listen((req, res) => {
      const chunks: Buffer[] = [];
      req.on("data", (chunk: Buffer) => chunks.push(chunk));
      req.on("end", () => {
        const url = new URL(req.url ?? "/", registry.origin);
        const body = Buffer.concat(chunks);
        seen.push({
          method: req.method ?? "",
          url: url.pathname + url.search,
          authorization: req.headers.authorization,
          body,
          headers: req.headers,
        });
        const challenge = (scope?: string) =>
          `Bearer realm="${registry.origin}/token",service="fake"${scope ? `,scope="${scope}"` : ""}`;
        if (url.pathname === "/token") {
          const expected = `Basic ${Buffer.from(`${USER}:${PASSWORD}`).toString("base64")}`;
          if (req.headers.authorization !== expected) {
            res.writeHead(401, { "content-type": "application/json" });
            // A careless registry echoing what it was sent.
            return res.end(
              JSON.stringify({
                errors: [{ code: "UNAUTHORIZED", message: `bad ${req.headers.authorization}` }],
              }),
            );
          }
          const scopes = url.searchParams.getAll("scope").join(" ");
          res.writeHead(200, { "content-type": "application/json" });
          return res.end(JSON.stringify({ token: `tok ${scopes}`, expires_in: 300 }));
        }
        const auth = req.headers.authorization ?? "";
        const repo = "team/app";
        const needs = (scope: string) => auth === `Bearer tok ${scope}`;
        if (url.pathname === "/v2/") {
          res.writeHead(401, { "www-authenticate": challenge() });
          return res.end();
        }
        const pull = `repository:${repo}:pull`;
        const push = `repository:${repo}:pull,push`;
        if (url.pathname === `/v2/${repo}/manifests/1`) {
          if (!needs(pull)) {
            res.writeHead(401, { "www-authenticate": challenge(pull) });
            return res.end();
          }
          res.writeHead(200, { "content-type": MEDIA_TYPES.ociManifest });
          return res.end(manifest);
        }
        if (url.pathname.startsWith(`/v2/${repo}/blobs/sha256:`)) {
          if (!needs(pull)) {
            res.writeHead(401, { "www-authenticate": challenge(pull) });
            return res.end();
          }
          const digest = url.pathname.split("/").pop() as string;
          res.writeHead(307, { location: `${storage.origin}/${digest}` });
          return res.end();
        }
        if (!needs(push)) {
          res.writeHead(401, { "www-authenticate": challenge(push) });
          return res.end();
        }
        if (req.method === "POST" && url.pathname === `/v2/${repo}/blobs/uploads/`) {
          const id = crypto.randomUUID();
          uploads.set(id, []);
          res.writeHead(202, { location: `/v2/${repo}/blobs/uploads/${id}?_state=opaque` });
          return res.end();
        }
        const id = url.pathname.split("/").pop() as string;
        if (req.method === "PATCH" && uploads.has(id)) {
          uploads.get(id)?.push(body);
          res.writeHead(202, { location: `/v2/${repo}/blobs/uploads/${id}?_state=next` });
          return res.end();
        }
        if (req.method === "PUT" && uploads.has(id)) {
          const content = Buffer.concat(uploads.get(id) ?? []);
          const digest = url.searchParams.get("digest") ?? "";
          if (sha256Digest(content) !== digest) {
            res.writeHead(400, { "content-type": "application/json" });
            return res.end(JSON.stringify({ errors: [{ code: "DIGEST_INVALID" }] }));
          }
          blobs.set(digest, content);
          res.writeHead(201, { location: `/v2/${repo}/blobs/${digest}` });
          return res.end();
        }
        res.writeHead(404);
        return res.end();
      });
    });
  });

  afterAll(async () => {
    await new Promise((resolve) => registry.server.close(resolve));
    await new Promise((resolve) => storage.server.close(resolve));
  });

  beforeEach(() => {
    seen.length = 0;
  });

  it("answers the challenge with a token for the request's scope, fetched with the credentials", async () => {
    const client = createRegistryClient({
      server: registry.origin,
      username: USER,
      password: PASSWORD,
    });
    try {
      const fetched = await client.getManifest("team/app", "1");
      expect(fetched.digest).toBe(sha256Digest(manifest));
      expect(fetched.mediaType).toBe(MEDIA_TYPES.ociManifest);
      const token = seen.find((s) => s.url.startsWith("/token"));
      expect(token?.url).toBe("/token?service=fake&scope=repository%3Ateam%2Fapp%3Apull");
      expect(seen.filter((s) => s.url.startsWith("/v2/team")).map((s) => s.authorization)).toEqual([
        "Bearer tok repository:team/app:pull",
      ]);
      // The token is cached for the next request with the same scope.
      await client.getManifest("team/app", "1");
      expect(seen.filter((s) => s.url.startsWith("/token"))).toHaveLength(1);
    } finally {
      await client.close();
    }
  });

  it.each([0, 7])(
    "streams an upload (chunk size %i) and completes it with the digest of what went out",
    async (uploadChunkBytes) => {
      const client = createRegistryClient(
        { server: registry.origin, username: USER, password: PASSWORD },
        { uploadChunkBytes },
      );
      try {
        const parts = ["first part, ", "second part, ", "third"].map((p) => Buffer.from(p));
        const result = await client.uploadBlob("team/app", Readable.from(parts));
        const whole = Buffer.concat(parts);
        expect(result).toEqual({ digest: sha256Digest(whole), size: whole.length });
        expect(blobs.get(result.digest)?.equals(whole)).toBe(true);
        const patches = seen.filter((s) => s.method === "PATCH");
        if (uploadChunkBytes === 0) {
          expect(patches).toHaveLength(1);
          expect(patches[0].headers["transfer-encoding"]).toBe("chunked");
        } else {
          expect(patches.length).toBeGreaterThan(1);
          expect(patches[0].headers["content-range"]).toMatch(/^0-\d+$/);
        }
        // The follow-up requests go to the location the registry gave last.
        expect(seen.find((s) => s.method === "PUT")?.url).toContain("_state=next");

        // Read back through the redirect: the storage host never sees the token.
        const stream = await client.getBlob("team/app", result.digest);
        const chunks: Buffer[] = [];
        for await (const chunk of stream) chunks.push(chunk as Buffer);
        expect(Buffer.concat(chunks).equals(whole)).toBe(true);
        const stored = seen.find((s) => s.url.startsWith("storage"));
        expect(stored?.authorization).toBeUndefined();
      } finally {
        await client.close();
      }
    },
  );

  it("reports refused credentials without the password, even when the registry echoes it", async () => {
    const wrong = "wrong-password-value";
    const client = createRegistryClient({
      server: registry.origin,
      username: USER,
      password: wrong,
    });
    try {
      const error = (await client.getManifest("team/app", "1").catch((e: Error) => e)) as Error & {
        status: number;
      };
      expect(error.message).toMatch(/answered 401.*check username and password/);
      expect(error.status).toBe(401);
      expect(error.message).not.toContain(wrong);
      expect(error.message).not.toContain(Buffer.from(`${USER}:${wrong}`).toString("base64"));
    } finally {
      await client.close();
    }
  });

  it("names the fix when nothing listens", async () => {
    const closed = await listen(() => undefined);
    const origin = closed.origin;
    await new Promise((resolve) => closed.server.close(resolve));
    const client = createRegistryClient({ server: origin });
    try {
      await expect(client.getManifest("team/app", "1")).rejects.toThrow(
        /Nothing listens there: check the server address/,
      );
    } finally {
      await client.close();
    }
  });
});
