/**
 * The registry client's HTTP transport (src/images/oci/transport.ts, Node's own http/https) against
 * loopback servers: the registry's CA trusted beside the system roots, keep-alive reuse, the idle
 * timeout before and during a body, the connect timeout, and what the client says when the
 * certificate is not trusted.
 */
import { spawn, type ChildProcess } from "child_process";
import * as http from "http";
import * as https from "https";
import * as net from "net";
import { AddressInfo } from "net";
import { Readable } from "stream";
import { createRegistryClient } from "../../src/images/oci/client";
import {
  createTransport,
  discardReply,
  replyText,
  type Transport,
} from "../../src/images/oci/transport";
import { selfSignedCertificate } from "../support/certs";

const TIMEOUTS = { idleTimeoutMs: 30_000, connectTimeoutMs: 30_000 };

function listening(server: net.Server): Promise<number> {
  return new Promise((resolve) =>
    server.listen(0, "127.0.0.1", () => resolve((server.address() as AddressInfo).port)),
  );
}

function closed(server: net.Server): Promise<void> {
  return new Promise((resolve) => server.close(() => resolve()));
}

describe("registry transport", () => {
  const certificate = selfSignedCertificate("transport-test", "IP:127.0.0.1");
  let server: https.Server;
  let origin: string;
  let connections = 0;
  const bodies: string[] = [];

  beforeAll(async () => {
    server = https.createServer(
      { cert: certificate.certPem, key: certificate.keyPem },
      (req, res) => {
        const chunks: Buffer[] = [];
        req.on("data", (chunk: Buffer) => chunks.push(chunk));
        req.on("end", () => {
          bodies.push(Buffer.concat(chunks).toString());
          res.setHeader("x-encoding", String(req.headers["transfer-encoding"] ?? "length"));
          res.end(`${req.method} ${req.url}`);
        });
      },
    );
    server.on("secureConnection", () => (connections += 1));
    origin = `https://127.0.0.1:${await listening(server)}`;
  });
  afterAll(() => closed(server));

  it("trusts the given CA beside the system roots and reuses one connection", async () => {
    const transport = createTransport({ caCertPem: certificate.certPem, ...TIMEOUTS });
    try {
      const before = connections;
      for (const path of ["/v2/", "/v2/a/manifests/1", "/v2/a/blobs/sha256:x"]) {
        const reply = await transport.request(new URL(path, origin), {
          method: "GET",
          headers: {},
        });
        expect([reply.statusCode, await replyText(reply)]).toEqual([200, `GET ${path}`]);
      }
      expect(connections - before).toBe(1);
    } finally {
      await transport.close();
    }
  });

  it("sends a Buffer with its length and a stream chunked", async () => {
    const transport = createTransport({ caCertPem: certificate.certPem, ...TIMEOUTS });
    try {
      const sized = await transport.request(new URL("/sized", origin), {
        method: "PUT",
        headers: {},
        body: Buffer.from("0123456789"),
      });
      expect(sized.headers["x-encoding"]).toBe("length");
      await discardReply(sized);
      const streamed = await transport.request(new URL("/streamed", origin), {
        method: "PATCH",
        headers: {},
        body: Readable.from([Buffer.from("abc"), Buffer.from("def")]),
      });
      expect(streamed.headers["x-encoding"]).toBe("chunked");
      await discardReply(streamed);
      expect(bodies.slice(-2)).toEqual(["0123456789", "abcdef"]);
    } finally {
      await transport.close();
    }
  });

  it("refuses a certificate it was not given the CA of, and the client names the fix", async () => {
    const transport = createTransport(TIMEOUTS);
    try {
      await expect(
        transport.request(new URL("/v2/", origin), { method: "GET", headers: {} }),
      ).rejects.toMatchObject({ code: "DEPTH_ZERO_SELF_SIGNED_CERT" });
    } finally {
      await transport.close();
    }
    const client = createRegistryClient({ server: origin.replace("https://", "") });
    try {
      await expect(client.getManifest("team/app", "1")).rejects.toThrow(
        /The registry's certificate is not trusted: give its CA \(caCertPem/,
      );
    } finally {
      await client.close();
    }
  });
});

describe("registry transport timeouts", () => {
  const sockets = new Set<net.Socket>();
  let stalling: http.Server;
  let origin: string;

  beforeAll(async () => {
    // /silent never answers; /stalled sends its headers and half of its body, then nothing.
    stalling = http.createServer((req, res) => {
      if (req.url === "/stalled") {
        res.writeHead(200, { "content-length": "10" });
        res.write("01234");
      }
    });
    stalling.on("connection", (socket) => sockets.add(socket));
    origin = `http://127.0.0.1:${await listening(stalling)}`;
  });
  afterAll(async () => {
    for (const socket of sockets) socket.destroy();
    await closed(stalling);
  });

  const quick = (): Transport => createTransport({ idleTimeoutMs: 300, connectTimeoutMs: 300 });

  it("fails a request that gets no answer after the idle timeout", async () => {
    const transport = quick();
    try {
      await expect(
        transport.request(new URL("/silent", origin), { method: "GET", headers: {} }),
      ).rejects.toMatchObject({ code: "ETIMEDOUT", message: "no data for 300 ms" });
    } finally {
      await transport.close();
    }
  });

  it("fails the body of an answer that stops midway, on the stream its reader holds", async () => {
    const transport = quick();
    try {
      const reply = await transport.request(new URL("/stalled", origin), {
        method: "GET",
        headers: {},
      });
      expect(reply.statusCode).toBe(200);
      await expect(replyText(reply)).rejects.toMatchObject({ code: "ETIMEDOUT" });
    } finally {
      await transport.close();
    }
  });

  it("fails a connection the server never accepts after the connect timeout", async () => {
    // A listener with a backlog of one that never accepts: once one connection fills the queue,
    // the kernel drops further SYNs and connect() waits.
    const holder: ChildProcess = spawn(
      "python3",
      [
        "-c",
        "import socket,sys,time\n" +
          "s=socket.socket(); s.bind(('127.0.0.1',0)); s.listen(0)\n" +
          "print(s.getsockname()[1], flush=True); time.sleep(60)",
      ],
      { stdio: ["ignore", "pipe", "inherit"] },
    );
    const fillers: net.Socket[] = [];
    try {
      const port = await new Promise<number>((resolve, reject) => {
        holder.stdout?.once("data", (data: Buffer) => resolve(Number(String(data).trim())));
        holder.once("error", reject);
      });
      for (let i = 0; i < 2; i++) {
        const filler = net.connect(port, "127.0.0.1");
        filler.on("error", () => undefined);
        fillers.push(filler);
      }
      await new Promise((resolve) => setTimeout(resolve, 200));
      // A longer idle timeout, so that the connect timeout is the one that fires.
      const transport = createTransport({ idleTimeoutMs: 5_000, connectTimeoutMs: 300 });
      try {
        await expect(
          transport.request(new URL(`http://127.0.0.1:${port}/v2/`), {
            method: "GET",
            headers: {},
          }),
        ).rejects.toMatchObject({ code: "ETIMEDOUT", message: "connect timed out after 300 ms" });
      } finally {
        await transport.close();
      }
    } finally {
      for (const filler of fillers) filler.destroy();
      holder.kill("SIGKILL");
    }
  });
});
