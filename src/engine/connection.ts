/**
 * Which Docker engine the dynamic resources of a component talk to (the images module's, and
 * SecureRegistry's HealthyContainer), and how.
 *
 * A component's docker provider (`opts.provider` / `opts.providers.docker`) declares the
 * connection: `host`, TLS material or a `certPath`, `context`. When it declares none, this module
 * does what the docker provider itself does: `DOCKER_HOST` (default `unix:///var/run/docker.sock`),
 * `DOCKER_CERT_PATH`, `DOCKER_CA_MATERIAL` / `DOCKER_CERT_MATERIAL` / `DOCKER_KEY_MATERIAL`, plus
 * `DOCKER_TLS_VERIFY` and `DOCKER_CONTEXT` as the docker CLI reads them. These are read when the
 * dynamic provider runs, so no machine-specific value enters resource inputs (previews stay stable).
 *
 * Transports: a unix socket; `tcp://` (TLS when material or a cert path is given, verified against
 * the given CA, else the system roots); `ssh://[user@]host[:port]` through the system `ssh` client
 * and `docker system dial-stdio` on the remote host, as the docker CLI and the docker provider do
 * (same `~/.ssh/config`, keys, agent and known_hosts; `sshOpts` are passed through). Nothing falls
 * back to the local engine: an engine that does not answer is an error naming its address.
 *
 * No imports but types: the dynamic providers carry this module (see providers.ts); Node
 * built-ins are required inside the functions.
 */
// `export =` module: an import-equals type import compiles for users without esModuleInterop
// (Pulumi's commonjs tsconfig template); a default import there is TS1259 in our .d.ts.
import type Dockerode = require("dockerode");

/** How to reach an engine: the docker provider's settings (all optional, secret where noted). */
export interface EngineConnection {
  /** `unix:///path`, `tcp://host:port`, `ssh://[user@]host[:port]`. Default: `DOCKER_HOST`, then the local socket. */
  readonly host?: string;
  /** PEM of the engine's CA (TLS). */
  readonly caMaterial?: string;
  /** PEM of the client certificate (TLS). */
  readonly certMaterial?: string;
  /** PEM of the client key (TLS). Secret. */
  readonly keyMaterial?: string;
  /** Directory with `ca.pem`, `cert.pem`, `key.pem`. */
  readonly certPath?: string;
  /** A docker CLI context name; overrides `host`, as in the docker provider. */
  readonly context?: string;
  /** Extra `ssh` options for `ssh://` hosts, e.g. `["-i", "/keys/id", "-F", "/etc/ssh/ci"]`. */
  readonly sshOpts?: readonly string[];
}

/** TLS settings for a `tcp://` engine. */
export interface EngineTls {
  readonly ca?: string;
  readonly cert?: string;
  readonly key?: string;
}

/** An engine address resolved to one transport. */
export type EngineTransport =
  | { readonly kind: "unix"; readonly socketPath: string }
  | {
      readonly kind: "tcp";
      readonly hostname: string;
      readonly port: number;
      readonly tls?: EngineTls;
    }
  | {
      readonly kind: "ssh";
      readonly hostname: string;
      readonly user?: string;
      readonly port?: number;
      readonly sshOpts: readonly string[];
    };

export interface ResolvedEngine {
  /** The engine's address without secrets, for messages and state, e.g. `ssh://root@198.51.100.11`. */
  readonly address: string;
  readonly transport: EngineTransport;
}

/** Environment variables this module reads (a parameter, so tests pass their own). */
export type EngineEnvironment = Readonly<Record<string, string | undefined>>;

const DEFAULT_HOST = "unix:///var/run/docker.sock";

/** Reads the docker CLI's context store: the endpoint and TLS files of context `name`. */
function contextEndpoint(
  name: string,
  env: EngineEnvironment,
): { host: string; tls?: EngineTls; skipTlsVerify: boolean } {
  const fs = require("fs") as typeof import("fs");
  const path = require("path") as typeof import("path");
  const os = require("os") as typeof import("os");
  const crypto = require("crypto") as typeof import("crypto");
  const configDir = env.DOCKER_CONFIG || path.join(os.homedir(), ".docker");
  const id = crypto.createHash("sha256").update(name).digest("hex");
  const metaFile = path.join(configDir, "contexts", "meta", id, "meta.json");
  let meta: { Endpoints?: { docker?: { Host?: string; SkipTLSVerify?: boolean } } };
  try {
    meta = JSON.parse(fs.readFileSync(metaFile, "utf8"));
  } catch (error) {
    throw new Error(
      `the docker context "${name}" is not in ${path.dirname(path.dirname(metaFile))} ` +
        `(${(error as Error).message}); create it with \`docker context create ${name} --docker host=...\` ` +
        `or give the docker provider a host instead.`,
    );
  }
  const host = meta.Endpoints?.docker?.Host;
  if (!host) throw new Error(`the docker context "${name}" has no docker endpoint host.`);
  const tlsDir = path.join(configDir, "contexts", "tls", id, "docker");
  const read = (file: string) =>
    fs.existsSync(path.join(tlsDir, file))
      ? fs.readFileSync(path.join(tlsDir, file), "utf8")
      : undefined;
  const tls = { ca: read("ca.pem"), cert: read("cert.pem"), key: read("key.pem") };
  return {
    host,
    tls: tls.ca || tls.cert || tls.key ? tls : undefined,
    skipTlsVerify: meta.Endpoints?.docker?.SkipTLSVerify === true,
  };
}

/** Reads `ca.pem`, `cert.pem` and `key.pem` from a docker cert directory. */
function certPathTls(certPath: string): EngineTls {
  const fs = require("fs") as typeof import("fs");
  const path = require("path") as typeof import("path");
  const read = (file: string) => {
    const full = path.join(certPath, file);
    try {
      return fs.readFileSync(full, "utf8");
    } catch (error) {
      throw new Error(
        `the Docker TLS file ${full} cannot be read (${(error as NodeJS.ErrnoException).code ?? (error as Error).message}); ` +
          `certPath (or DOCKER_CERT_PATH) must hold ca.pem, cert.pem and key.pem.`,
      );
    }
  };
  return { ca: read("ca.pem"), cert: read("cert.pem"), key: read("key.pem") };
}

/**
 * Resolves `connection` (or, field by field where it is silent, the environment as the docker
 * provider reads it) to one engine address and transport. Throws naming the host when the
 * address cannot be used; reads TLS files and the context store, nothing else.
 */
export function resolveEngine(
  connection: EngineConnection | undefined,
  env: EngineEnvironment = process.env,
): ResolvedEngine {
  const os = require("os") as typeof import("os");
  const path = require("path") as typeof import("path");
  const given = connection ?? {};
  const contextName = given.context ?? (given.host ? undefined : env.DOCKER_CONTEXT);
  const context =
    contextName && contextName !== "default" ? contextEndpoint(contextName, env) : undefined;
  const host = context?.host ?? (given.host || env.DOCKER_HOST || DEFAULT_HOST);

  let url: URL;
  try {
    url = new URL(host.includes("://") ? host : `tcp://${host}`);
  } catch {
    throw new Error(
      `the Docker host "${host}" is not an address; use unix:///var/run/docker.sock, tcp://host:2376 or ssh://user@host.`,
    );
  }
  const scheme = url.protocol.replace(/:$/, "");
  if (scheme === "unix") {
    const socketPath = decodeURIComponent(url.pathname) || "/var/run/docker.sock";
    return { address: `unix://${socketPath}`, transport: { kind: "unix", socketPath } };
  }
  if (scheme === "ssh") {
    const port = url.port ? Number(url.port) : undefined;
    const user = url.username ? decodeURIComponent(url.username) : undefined;
    if (url.password) {
      throw new Error(
        `the Docker host ssh://${url.hostname} carries a password; use a key (ssh agent, ~/.ssh/config or sshOpts ["-i", file]) instead.`,
      );
    }
    return {
      address: `ssh://${user ? `${user}@` : ""}${url.hostname}${port ? `:${port}` : ""}`,
      transport: {
        kind: "ssh",
        hostname: url.hostname,
        user,
        port,
        // As the docker provider: its sshOpts, else DOCKER_SSH_OPTS split on whitespace.
        sshOpts: given.sshOpts ?? (env.DOCKER_SSH_OPTS ?? "").split(/\s+/).filter(Boolean),
      },
    };
  }
  if (scheme === "tcp" || scheme === "http" || scheme === "https") {
    const hostname = url.hostname.replace(/^\[(.*)\]$/, "$1");
    const material = {
      ca: given.caMaterial ?? env.DOCKER_CA_MATERIAL,
      cert: given.certMaterial ?? env.DOCKER_CERT_MATERIAL,
      key: given.keyMaterial ?? env.DOCKER_KEY_MATERIAL,
    };
    const verify = env.DOCKER_TLS_VERIFY !== undefined && env.DOCKER_TLS_VERIFY !== "";
    const certPath =
      given.certPath ??
      env.DOCKER_CERT_PATH ??
      (verify ? path.join(os.homedir(), ".docker") : undefined);
    let tls: EngineTls | undefined;
    if (material.cert || material.key) {
      if (!material.cert || !material.key) {
        throw new Error(
          `the Docker host ${host} has ${material.cert ? "certMaterial without keyMaterial" : "keyMaterial without certMaterial"}; give both.`,
        );
      }
      tls = material;
    } else if (context?.tls) {
      tls = context.tls;
    } else if (certPath) {
      tls = certPathTls(certPath);
    } else if (material.ca || scheme === "https" || verify) {
      tls = { ca: material.ca };
    }
    const port = url.port ? Number(url.port) : tls ? 2376 : 2375;
    const shown = hostname.includes(":") ? `[${hostname}]` : hostname;
    return {
      address: `tcp://${shown}:${port}`,
      transport: { kind: "tcp", hostname, port, ...(tls ? { tls } : {}) },
    };
  }
  throw new Error(
    `the Docker host "${host}" uses ${scheme}://, which is not supported here; use unix://, tcp:// or ssh://.`,
  );
}

/** The argument list of the `ssh` command that opens a stdio connection to a remote engine. */
export function sshCommand(
  transport: Extract<EngineTransport, { kind: "ssh" }>,
): readonly string[] {
  return [
    ...transport.sshOpts,
    // Never prompt: a password or host-key prompt would hang the deployment.
    "-o",
    "BatchMode=yes",
    "-o",
    "ConnectTimeout=30",
    "-T",
    ...(transport.user ? ["-l", transport.user] : []),
    ...(transport.port ? ["-p", String(transport.port)] : []),
    "--",
    transport.hostname,
    "docker",
    "system",
    "dial-stdio",
  ];
}

/** An HTTP agent whose connections are `ssh ... docker system dial-stdio` processes. */
function sshAgent(transport: Extract<EngineTransport, { kind: "ssh" }>): import("http").Agent {
  const http = require("http") as typeof import("http");
  const childProcess = require("child_process") as typeof import("child_process");
  const stream = require("stream") as typeof import("stream");
  const agent = new http.Agent({ keepAlive: false });
  const args = sshCommand(transport);
  (agent as unknown as { createConnection: () => import("stream").Duplex }).createConnection =
    () => {
      const child = childProcess.spawn("ssh", [...args], { stdio: ["pipe", "pipe", "pipe"] });
      let stderr = "";
      child.stderr.on("data", (data: Buffer) => {
        if (stderr.length < 4000) stderr += data.toString();
      });
      const duplex = stream.Duplex.from({ readable: child.stdout, writable: child.stdin });
      child.on("error", (error) => duplex.destroy(error));
      let closedByUs = false;
      child.on("exit", (code, signal) => {
        // An ssh that ends on its own with a failure (or is killed by someone else) is why a
        // response on it was cut: recorded for the error message (sshDiagnostics).
        if ((code !== 0 && code !== null) || (signal !== null && !closedByUs)) {
          const said = stderr.trim().slice(0, 500);
          const message = `${code !== null ? `exited with ${code}` : `killed by ${signal}`}${said ? `: ${said}` : ""}`;
          (agent as unknown as { lastSshError?: string }).lastSshError = message;
          duplex.destroy(new Error(`ssh to ${transport.hostname} ${message}`));
        }
      });
      duplex.on("close", () => {
        if (child.exitCode === null && child.signalCode === null) {
          closedByUs = true;
          child.kill();
        }
      });
      return duplex;
    };
  return agent;
}

/**
 * dockerode options for `engine`. Every connection field is set, even to undefined, because
 * docker-modem merges in its own reading of DOCKER_HOST and would otherwise override an explicit
 * socket path with the environment's host.
 */
export function dockerOptions(engine: ResolvedEngine): Dockerode.DockerOptions {
  const none = {
    socketPath: undefined,
    host: undefined,
    port: undefined,
    protocol: undefined,
    ca: undefined,
    cert: undefined,
    key: undefined,
    agent: undefined,
  };
  const transport = engine.transport;
  if (transport.kind === "unix") return { ...none, socketPath: transport.socketPath };
  if (transport.kind === "tcp") {
    return {
      ...none,
      host: transport.hostname,
      port: transport.port,
      protocol: transport.tls ? "https" : "http",
      ...(transport.tls ? transport.tls : {}),
    } as Dockerode.DockerOptions;
  }
  return {
    ...none,
    host: "docker",
    protocol: "http",
    agent: sshAgent(transport),
  } as unknown as Dockerode.DockerOptions;
}

/** The ssh agent (sshAgent) behind a dockerode client, where its connections' failures are kept. */
function sshAgentOf(docker: Dockerode): { lastSshError?: string } | undefined {
  return (docker as unknown as { modem?: { agent?: { lastSshError?: string } } }).modem?.agent;
}

/** What the last ssh connection of `engine` that failed said (exit status and stderr), if any. */
export function sshDiagnostics(engine: { readonly docker: Dockerode }): string | undefined {
  return sshAgentOf(engine.docker)?.lastSshError;
}

/** A dockerode client of `connection` plus its resolved address. */
export interface Engine {
  readonly docker: Dockerode;
  readonly resolved: ResolvedEngine;
}

/** The text of an engine or dockerode error, without anything but its message. */
export function describeError(error: unknown): string {
  if (error && typeof error === "object") {
    const withJson = error as { json?: { message?: string }; message?: string };
    if (withJson.json?.message) return withJson.json.message;
    if (withJson.message) return withJson.message;
  }
  return String(error);
}

/**
 * Connects to the engine `connection` points at and checks that it answers (bounded: 60 s), so
 * an unreachable engine fails at once with its address, never by silently using another one.
 */
export async function connectEngine(
  connection: EngineConnection | undefined,
  env: EngineEnvironment = process.env,
): Promise<Engine> {
  const Docker = require("dockerode") as typeof Dockerode;
  const resolved = resolveEngine(connection, env);
  const options = dockerOptions(resolved);
  const docker = new Docker(options);
  const ping = async (): Promise<void> => {
    let timer: NodeJS.Timeout | undefined;
    try {
      await Promise.race([
        docker.ping(),
        new Promise((_, reject) => {
          timer = setTimeout(() => reject(new Error("no answer within 60 s")), 60_000);
        }),
      ]);
    } finally {
      if (timer) clearTimeout(timer);
    }
  };
  // A connection that is refused or dropped within 5 s (an sshd or engine still starting) gets
  // two more tries; anything else (a timeout, a refused key) fails at once.
  for (let attempt = 1; ; attempt++) {
    const started = Date.now();
    try {
      await ping();
      // What failed attempts' ssh said is no longer news: later errors report their own.
      const agent = sshAgentOf(docker);
      if (agent) agent.lastSshError = undefined;
      return { docker, resolved };
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code ?? "";
      const transient =
        Date.now() - started < 5000 &&
        (["ECONNREFUSED", "ECONNRESET", "EPIPE"].includes(code) ||
          /socket hang up/.test(describeError(error)));
      if (transient && attempt < 3) {
        await new Promise((resolve) => setTimeout(resolve, 1000 * attempt));
        continue;
      }
      const sshStderr = sshDiagnostics({ docker });
      throw new Error(
        `cannot reach the Docker engine at ${resolved.address}: ${describeError(error)}` +
          (sshStderr ? ` (ssh: ${sshStderr})` : "") +
          `. Check the docker provider's host (or DOCKER_HOST) and that the engine runs there.`,
      );
    }
  }
}
