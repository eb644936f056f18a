/**
 * Client-side probes for a running registry: raw TLS handshakes (to observe which protocol
 * versions the SERVER accepts) and HTTPS requests to the registry API verified against a CA.
 *
 * Connections go to an address (usually 127.0.0.1) while the certificate is checked for
 * `servername`, the name clients use (SNI + hostname verification).
 */
import * as fs from "fs";
import * as https from "https";
import * as net from "net";
import * as os from "os";
import * as path from "path";
import * as tls from "tls";

export interface TlsProbeOptions {
  /** Address to connect to (default 127.0.0.1). */
  address?: string;
  port: number;
  /** SNI and the name the certificate must be valid for. */
  servername: string;
  /** Trusted roots; omit to skip verification (version probes). */
  ca?: string;
  minVersion?: tls.SecureVersion;
  maxVersion?: tls.SecureVersion;
  /** OpenSSL cipher string; `DEFAULT@SECLEVEL=0` lets the client OFFER TLS 1.0/1.1. */
  ciphers?: string;
  timeoutMs?: number;
}

/**
 * SNI and hostname verification for `name`. SNI may not carry an IP address (RFC 6066), so for
 * an IP the certificate is checked against it explicitly (its IP SANs) and no SNI is sent.
 */
function nameChecks(
  name: string,
): Pick<tls.ConnectionOptions, "servername" | "checkServerIdentity"> {
  if (net.isIP(name) === 0) return { servername: name };
  return { checkServerIdentity: (_host, cert) => tls.checkServerIdentity(name, cert) };
}

export type TlsProbeResult =
  | { ok: true; protocol: string | null; authorized: boolean; authorizationError?: string }
  | { ok: false; code: string; message: string };

/** One TLS handshake; resolves with the negotiated protocol or the handshake error. */
export function tlsHandshake(options: TlsProbeOptions): Promise<TlsProbeResult> {
  return new Promise((resolve) => {
    let settled = false;
    const done = (r: TlsProbeResult) => {
      if (!settled) {
        settled = true;
        socket.destroy();
        resolve(r);
      }
    };
    const socket = tls.connect({
      host: options.address ?? "127.0.0.1",
      port: options.port,
      ...nameChecks(options.servername),
      ca: options.ca,
      rejectUnauthorized: options.ca !== undefined,
      minVersion: options.minVersion,
      maxVersion: options.maxVersion,
      ciphers: options.ciphers,
    });
    socket.setTimeout(options.timeoutMs ?? 10_000, () =>
      done({ ok: false, code: "TIMEOUT", message: "TLS handshake timed out" }),
    );
    socket.on("secureConnect", () =>
      done({
        ok: true,
        protocol: socket.getProtocol(),
        authorized: socket.authorized,
        authorizationError: socket.authorizationError?.toString(),
      }),
    );
    socket.on("error", (err: NodeJS.ErrnoException) =>
      done({ ok: false, code: err.code ?? "UNKNOWN", message: err.message }),
    );
  });
}

export interface RegistryResponse {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: string;
}

export interface RegistryRequestOptions {
  address?: string;
  port: number;
  servername: string;
  /** CA the server certificate must chain to (verification is always on). */
  ca: string;
  path: string;
  method?: string;
  auth?: { username: string; password: string };
  headers?: Record<string, string>;
  /** Request body (e.g. a blob chunk for PATCH / PUT). */
  body?: Buffer;
  timeoutMs?: number;
  /** Client certificate and key (PEM) for registries that require one (mTLS). */
  clientCertificate?: { certPem: string; keyPem: string };
  /** Highest TLS version to offer (e.g. "TLSv1.2" to see TLS 1.2's refusal). */
  maxVersion?: tls.SecureVersion;
}

/** An HTTPS request to the registry, verifying its certificate for `servername` against `ca`. */
export function registryRequest(options: RegistryRequestOptions): Promise<RegistryResponse> {
  return new Promise((resolve, reject) => {
    const headers: Record<string, string> = {
      Host: `${options.servername}:${options.port}`,
      ...options.headers,
    };
    if (options.auth) {
      headers.Authorization =
        "Basic " +
        Buffer.from(`${options.auth.username}:${options.auth.password}`).toString("base64");
    }
    const req = https.request(
      {
        host: options.address ?? "127.0.0.1",
        port: options.port,
        ...nameChecks(options.servername),
        ca: options.ca,
        rejectUnauthorized: true,
        cert: options.clientCertificate?.certPem,
        key: options.clientCertificate?.keyPem,
        maxVersion: options.maxVersion,
        method: options.method ?? "GET",
        path: options.path,
        headers,
        agent: false,
        timeout: options.timeoutMs ?? 15_000,
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on("data", (c: Buffer) => chunks.push(c));
        res.on("end", () =>
          resolve({
            status: res.statusCode ?? 0,
            headers: res.headers,
            body: Buffer.concat(chunks).toString("utf8"),
          }),
        );
      },
    );
    req.on("timeout", () => req.destroy(new Error(`request to ${options.path} timed out`)));
    req.on("error", reject);
    req.end(options.body);
  });
}

/** Error codes that mean the SERVER refused the protocol version (an alert), not the client. */
export const SERVER_VERSION_REFUSALS = [
  "ERR_SSL_TLSV1_ALERT_PROTOCOL_VERSION",
  "ERR_SSL_UNSUPPORTED_PROTOCOL",
  "ERR_SSL_WRONG_VERSION_NUMBER",
  "ERR_SSL_SSLV3_ALERT_HANDSHAKE_FAILURE",
];

/** Client-side refusals: the probe never offered the version, so it proves nothing. */
export const CLIENT_CONFIG_ERRORS = [
  "ERR_SSL_NO_PROTOCOLS_AVAILABLE",
  "ERR_TLS_INVALID_PROTOCOL_VERSION",
];

const FIGURES_FILE = path.join(os.tmpdir(), "secure-registry-test-figures.json");

/**
 * Records a measured figure (console + merged into `$TMPDIR/secure-registry-test-figures.json`).
 * Figures are reported, never asserted: speed is judged in benchmarks only.
 */
export function reportFigure(key: string, value: unknown): void {
  console.log(`[figure] ${key}: ${JSON.stringify(value)}`);
  let all: Record<string, unknown> = {};
  try {
    all = JSON.parse(fs.readFileSync(FIGURES_FILE, "utf8")) as Record<string, unknown>;
  } catch {
    // First figure of the run, or an unreadable file: start afresh.
  }
  all[key] = { value, at: new Date().toISOString() };
  fs.writeFileSync(FIGURES_FILE, JSON.stringify(all, null, 2) + "\n");
}
