/**
 * Which engine the images module talks to (src/engine/connection.ts): the docker provider's settings,
 * else the environment as the docker provider and CLI read it; and a fake engine behind mutual TLS
 * (`tcp://` with CA, client certificate and key material) reached by dockerode and undici.
 */
import * as crypto from "crypto";
import * as fs from "fs";
import * as https from "https";
import * as os from "os";
import * as path from "path";
import { selfSignedCertificate } from "../support/certs";
import * as connection from "../../src/engine/connection";
import { exportIntoImport } from "../../src/images/engine/transfer";
import { inspectImage } from "../../src/images/engine/inspect";

jest.setTimeout(60_000);

let tmp: string;
beforeEach(() => {
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), "images-connection-"));
});
afterEach(() => fs.rmSync(tmp, { recursive: true, force: true }));

describe("resolveEngine", () => {
  it("defaults to DOCKER_HOST, then the local socket, as the docker provider", () => {
    expect(connection.resolveEngine(undefined, {})).toEqual({
      address: "unix:///var/run/docker.sock",
      transport: { kind: "unix", socketPath: "/var/run/docker.sock" },
    });
    expect(connection.resolveEngine(undefined, { DOCKER_HOST: "tcp://10.0.0.5:2375" })).toEqual({
      address: "tcp://10.0.0.5:2375",
      transport: { kind: "tcp", hostname: "10.0.0.5", port: 2375 },
    });
    // The provider's host wins over the environment.
    expect(
      connection.resolveEngine({ host: "unix:///run/other.sock" }, { DOCKER_HOST: "tcp://x:1" })
        .address,
    ).toBe("unix:///run/other.sock");
  });

  it("reads TLS from DOCKER_CERT_PATH (DOCKER_TLS_VERIFY defaults the port to 2376)", () => {
    for (const file of ["ca.pem", "cert.pem", "key.pem"]) {
      fs.writeFileSync(path.join(tmp, file), `${file} content`);
    }
    const resolved = connection.resolveEngine(undefined, {
      DOCKER_HOST: "tcp://engine.example",
      DOCKER_TLS_VERIFY: "1",
      DOCKER_CERT_PATH: tmp,
    });
    expect(resolved).toEqual({
      address: "tcp://engine.example:2376",
      transport: {
        kind: "tcp",
        hostname: "engine.example",
        port: 2376,
        tls: { ca: "ca.pem content", cert: "cert.pem content", key: "key.pem content" },
      },
    });
    expect(() =>
      connection.resolveEngine({ host: "tcp://e:2376", certPath: path.join(tmp, "none") }, {}),
    ).toThrow(/none\/ca.pem cannot be read.*ENOENT.*ca.pem, cert.pem and key.pem/);
  });

  it("takes TLS material from the provider; a certificate without its key is refused", () => {
    const resolved = connection.resolveEngine(
      { host: "tcp://e:2376", caMaterial: "CA", certMaterial: "CERT", keyMaterial: "KEY" },
      {},
    );
    expect(resolved.transport).toEqual({
      kind: "tcp",
      hostname: "e",
      port: 2376,
      tls: { ca: "CA", cert: "CERT", key: "KEY" },
    });
    expect(() =>
      connection.resolveEngine({ host: "tcp://e:2376", certMaterial: "CERT" }, {}),
    ).toThrow(/certMaterial without keyMaterial/);
  });

  it("ssh: user and port from the address, options from the provider or DOCKER_SSH_OPTS; no password", () => {
    const resolved = connection.resolveEngine(
      { host: "ssh://deploy@vm.example:2222" },
      { DOCKER_SSH_OPTS: "-F /etc/ssh/ci_config  -o IdentitiesOnly=yes" },
    );
    expect(resolved.address).toBe("ssh://deploy@vm.example:2222");
    if (resolved.transport.kind !== "ssh") throw new Error("not ssh");
    expect(connection.sshCommand(resolved.transport)).toEqual([
      "-F",
      "/etc/ssh/ci_config",
      "-o",
      "IdentitiesOnly=yes",
      "-o",
      "BatchMode=yes",
      "-o",
      "ConnectTimeout=30",
      "-T",
      "-l",
      "deploy",
      "-p",
      "2222",
      "--",
      "vm.example",
      "docker",
      "system",
      "dial-stdio",
    ]);
    expect(() => connection.resolveEngine({ host: "ssh://u:secret-pw@vm" }, {})).toThrow(
      /carries a password; use a key/,
    );
    try {
      connection.resolveEngine({ host: "ssh://u:secret-pw@vm" }, {});
    } catch (error) {
      expect((error as Error).message).not.toContain("secret-pw");
    }
  });

  it("a docker context (provider's or DOCKER_CONTEXT) overrides the host, read from the CLI's store", () => {
    const id = crypto.createHash("sha256").update("remote").digest("hex");
    const meta = path.join(tmp, "contexts", "meta", id);
    fs.mkdirSync(meta, { recursive: true });
    fs.writeFileSync(
      path.join(meta, "meta.json"),
      JSON.stringify({ Name: "remote", Endpoints: { docker: { Host: "ssh://ops@ctx.example" } } }),
    );
    expect(
      connection.resolveEngine(undefined, { DOCKER_CONFIG: tmp, DOCKER_CONTEXT: "remote" }).address,
    ).toBe("ssh://ops@ctx.example");
    expect(
      connection.resolveEngine(
        { context: "remote", host: "tcp://ignored:1" },
        { DOCKER_CONFIG: tmp },
      ).address,
    ).toBe("ssh://ops@ctx.example");
    expect(() => connection.resolveEngine({ context: "missing" }, { DOCKER_CONFIG: tmp })).toThrow(
      /docker context "missing" is not in/,
    );
  });

  it("refuses addresses it cannot use", () => {
    expect(() => connection.resolveEngine({ host: "npipe:////./pipe/docker_engine" }, {})).toThrow(
      /npipe:\/\/, which is not supported here/,
    );
  });

  it("dockerode options override docker-modem's own reading of DOCKER_HOST", () => {
    const previous = process.env.DOCKER_HOST;
    process.env.DOCKER_HOST = "tcp://should-not-be-used.example:2375";
    try {
      const Docker = require("dockerode") as typeof import("dockerode");
      const docker = new Docker(
        connection.dockerOptions(connection.resolveEngine({ host: "unix:///run/mine.sock" }, {})),
      );
      const modem = docker.modem as unknown as { socketPath?: string; host?: string };
      expect(modem).toMatchObject({ socketPath: "/run/mine.sock", host: undefined });
    } finally {
      if (previous === undefined) delete process.env.DOCKER_HOST;
      else process.env.DOCKER_HOST = previous;
    }
  });
});

describe("a tcp:// engine behind mutual TLS", () => {
  const server = selfSignedCertificate("localhost");
  const client = selfSignedCertificate("engine-client");
  const wrongCa = selfSignedCertificate("someone-else");

  async function withTlsEngine(test: (host: string) => Promise<void>): Promise<string[]> {
    const seen: string[] = [];
    const engine = https.createServer(
      {
        cert: server.certPem,
        key: server.keyPem,
        ca: client.certPem,
        requestCert: true,
        rejectUnauthorized: true,
      },
      (request, response): void => {
        seen.push(`${request.method} ${request.url}`);
        const url = request.url ?? "";
        if (url.endsWith("/_ping")) {
          response.end("OK");
          return;
        }
        if (url.includes("/images/x/json")) {
          response.setHeader("content-type", "application/json");
          response.end(
            JSON.stringify({
              Id: "sha256:1",
              Architecture: "amd64",
              Os: "linux",
              Size: 7,
              RootFS: { Layers: ["a"] },
              Config: {},
            }),
          );
          return;
        }
        if (url.includes("/images/x/history")) {
          response.end("[]");
          return;
        }
        if (url.includes("/export")) {
          response.end("tar bytes");
          return;
        }
        if (url.startsWith("/images/create")) {
          const chunks: Buffer[] = [];
          request.on("data", (chunk: Buffer) => chunks.push(chunk));
          request.on("end", () => {
            seen.push(`body ${Buffer.concat(chunks).toString()}`);
            response.end('{"status":"sha256:imported"}\n');
          });
          return;
        }
        response.statusCode = 404;
        response.end('{"message":"not here"}');
      },
    );
    await new Promise<void>((resolve) => engine.listen(0, "127.0.0.1", resolve));
    try {
      const port = (engine.address() as { port: number }).port;
      await test(`tcp://localhost:${port}`);
      return seen;
    } finally {
      engine.closeAllConnections();
      await new Promise((resolve) => engine.close(resolve));
    }
  }

  it("inspects and flattens through the engine with the provider's CA, certificate and key", async () => {
    const seen = await withTlsEngine(async (host) => {
      const settings = {
        host,
        caMaterial: server.certPem,
        certMaterial: client.certPem,
        keyMaterial: client.keyPem,
      };
      const facts = await inspectImage("x", { connection: settings });
      expect(facts).toMatchObject({ id: "sha256:1", layerCount: 1, size: 7 });
      const engine = await connection.connectEngine(settings);
      expect(engine.resolved.address).toBe(host);
      expect(await exportIntoImport(engine, "c1", new URLSearchParams(), "src")).toBe(
        "sha256:imported",
      );
    });
    expect(seen).toContain("body tar bytes");
  });

  it("fails, naming the host, without the client key or with another CA; the key never shows", async () => {
    await withTlsEngine(async (host) => {
      await expect(connection.connectEngine({ host, caMaterial: server.certPem })).rejects.toThrow(
        new RegExp(`cannot reach the Docker engine at ${host}`),
      );
      const error = await connection
        .connectEngine({
          host,
          caMaterial: wrongCa.certPem,
          certMaterial: client.certPem,
          keyMaterial: client.keyPem,
        })
        .catch((caught: Error) => caught);
      expect((error as Error).message).toMatch(/cannot reach the Docker engine at .*certificate/);
      expect((error as Error).message).not.toContain("PRIVATE KEY");
    });
  });
});
