/**
 * Small self-signed P-256 certificates for tests that need a real PEM (trust files, CA checks),
 * made with the openssl CLI and cached per common name for the life of the test process.
 */
import { execFileSync } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";

export interface TestCertificate {
  readonly certPem: string;
  readonly keyPem: string;
}

const cache = new Map<string, TestCertificate>();

/**
 * A self-signed certificate (valid two days) for `/CN=<commonName>`, and its key; with
 * `subjectAltName` (openssl's syntax, e.g. `IP:127.0.0.1`) a server can present it.
 */
export function selfSignedCertificate(commonName = "ca", subjectAltName?: string): TestCertificate {
  const key = `${commonName} ${subjectAltName ?? ""}`;
  const cached = cache.get(key);
  if (cached) return cached;
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "test-cert-"));
  try {
    execFileSync(
      "openssl",
      [
        "req",
        "-x509",
        "-newkey",
        "ec",
        "-pkeyopt",
        "ec_paramgen_curve:P-256",
        "-nodes",
        "-keyout",
        "key.pem",
        "-subj",
        `/CN=${commonName}`,
        "-days",
        "2",
        "-out",
        "cert.pem",
        ...(subjectAltName ? ["-addext", `subjectAltName=${subjectAltName}`] : []),
      ],
      { cwd: dir, stdio: "ignore", timeout: 30_000 },
    );
    const made = {
      certPem: fs.readFileSync(path.join(dir, "cert.pem"), "utf8"),
      keyPem: fs.readFileSync(path.join(dir, "key.pem"), "utf8"),
    };
    cache.set(key, made);
    return made;
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}
