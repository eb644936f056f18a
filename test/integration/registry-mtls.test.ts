/**
 * SecureRegistry requiring client certificates (mTLS), as declared, on the real engine:
 * - its health check still passes (it probes plain HTTP over loopback);
 * - a client with a certificate the registry issued gets through TLS and then basic auth (Node's
 *   https, and the Docker daemon with the trust provider's certs.d client.cert/client.key under a
 *   non-loopback address: login, push, pull);
 * - a client without a certificate, with one from another CA, or with the registry's own server
 *   certificate (no client_auth usage) is refused in the TLS handshake: a TLS alert, never an
 *   HTTP answer;
 * - `tls.clientCaCertPem` makes the registry accept another CA's client certificates too.
 */
import { execFile, execFileSync } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import type { ClientCertificate } from "../../src/tls";
import { TrustOutputs } from "../../src/trust/apply";
import { trustProvider } from "../../src/trust/provider";
import { describeWithEngine } from "../support/engine";
import {
  buildTestImage,
  cleanupAll,
  deployRegistry,
  engine,
  machineAddress,
  makeDockerConfigDir,
  mustRunDocker,
  RegistryDeployment,
  removeImage,
  runDocker,
  RUN_PREFIX,
} from "../support/harness";
import { unwrapSecrets } from "../support/mocks";
import { registryRequest, RegistryRequestOptions } from "../support/probes";

jest.setTimeout(300_000);

const DOCKER_CERTS = "/etc/docker/certs.d";
/** What the Docker daemon reports when the registry refuses its handshake for lack of a (good) certificate. */
const DAEMON_TLS_REFUSAL =
  /remote error: tls: (bad certificate|certificate required|handshake failure)/;

const provider = trustProvider as Required<typeof trustProvider>;

interface Pair {
  certPem: string;
  keyPem: string;
}

/** Runs a command; never throws on a non-zero exit. */
function run(
  file: string,
  args: string[],
): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(
      file,
      args,
      { timeout: 120_000, maxBuffer: 16 * 1024 * 1024 },
      (error, stdout, stderr) => {
        const code = error ? (typeof error.code === "number" ? error.code : 1) : 0;
        resolve({ code, stdout: String(stdout), stderr: String(stderr) });
      },
    );
  });
}

/** A CA of its own and a client certificate (clientAuth) it signed, made with openssl. */
function foreignCaAndClient(): { caCertPem: string; client: Pair } {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), `${RUN_PREFIX}-foreign-`));
  const openssl = (args: string[]) =>
    execFileSync("openssl", args, { cwd: dir, stdio: "ignore", timeout: 30_000 });
  try {
    const ec = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes"];
    openssl(
      ["req", "-x509", ...ec, "-keyout", "ca.key", "-out", "ca.crt", "-days", "2"].concat([
        "-subj",
        "/CN=srtest foreign CA",
        "-addext",
        "basicConstraints=critical,CA:TRUE",
        "-addext",
        "keyUsage=critical,keyCertSign,cRLSign",
      ]),
    );
    openssl(["req", ...ec, "-keyout", "client.key", "-out", "client.csr", "-subj", "/CN=ci"]);
    fs.writeFileSync(
      path.join(dir, "ext.cnf"),
      "basicConstraints=CA:FALSE\nkeyUsage=critical,digitalSignature\nextendedKeyUsage=clientAuth\n",
    );
    openssl(
      ["x509", "-req", "-in", "client.csr", "-CA", "ca.crt", "-CAkey", "ca.key"].concat([
        "-CAcreateserial",
        "-days",
        "2",
        "-extfile",
        "ext.cnf",
        "-out",
        "client.crt",
      ]),
    );
    const read = (f: string) => fs.readFileSync(path.join(dir, f), "utf8");
    return {
      caCertPem: read("ca.crt"),
      client: { certPem: read("client.crt"), keyPem: read("client.key") },
    };
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

/** The issued pairs, from the deployment's `clientCertificates` output. */
function issuedPairs(reg: RegistryDeployment): Record<string, Pair> {
  const list = reg.outputs.clientCertificates as ClientCertificate[];
  return Object.fromEntries(
    list.map((c) => [c.name, { certPem: c.certPem, keyPem: c.privateKeyPem }]),
  );
}

/** A file the component uploads into the registry container (secrets unwrapped). */
function uploaded(reg: RegistryDeployment, file: string): string {
  const container = reg.declared.find((r) => r.type === "docker:index/container:Container")!;
  const uploads = unwrapSecrets(container.inputs).uploads as { file: string; content: string }[];
  const found = uploads.find((u) => u.file === file);
  if (!found) throw new Error(`the registry declares no upload ${file}`);
  return found.content;
}

type Outcome = { status: number } | { refused: string };

/** GET `path` and report either the HTTP status or the TLS error code (never both). */
async function attempt(
  reg: RegistryDeployment,
  address: string,
  extra: Partial<RegistryRequestOptions> = {},
): Promise<Outcome> {
  try {
    const res = await registryRequest({
      address,
      port: reg.hostPort,
      servername: address,
      ca: reg.caCertPem,
      path: "/v2/",
      ...extra,
    });
    return { status: res.status };
  } catch (err) {
    const e = err as NodeJS.ErrnoException;
    return { refused: `${e.code ?? "no code"}: ${e.message}` };
  }
}

/**
 * A refusal by the server's TLS alert, not an HTTP answer: bad_certificate (42), which Go 1.19's
 * TLS server (distribution 2.8) sends for a missing or unverifiable client certificate, or
 * certificate_required (116), which newer Go sends in TLS 1.3 for a missing one.
 */
function expectTlsAlert(outcome: Outcome): void {
  expect(outcome).toEqual({ refused: expect.stringMatching(/SSL alert number (42|116)\b/) });
}

describeWithEngine("SecureRegistry requiring client certificates (mTLS) on a real engine", () => {
  const address = machineAddress();
  let reg: RegistryDeployment;
  let pairs: Record<string, Pair>;
  let foreign: { caCertPem: string; client: Pair };

  beforeAll(async () => {
    foreign = foreignCaAndClient();
    reg = await deployRegistry(
      {
        ipAddresses: [address],
        users: [{ username: "pusher" }],
        tls: { keyAlgorithm: "ECDSA", clientCertificates: ["ci", "node-1"] },
      },
      { label: "mtls" },
    );
    pairs = issuedPairs(reg);
  });

  afterAll(cleanupAll);

  it("is healthy under its own health check while it requires client certificates", async () => {
    const info = await engine().getContainer(reg.containerId).inspect();
    expect(info.State.Health?.Status).toBe("healthy");
    expect(info.State.Health?.Log?.at(-1)?.ExitCode).toBe(0);
    expect(info.Config.Env).toContain('REGISTRY_HTTP_TLS_CLIENTCAS=["/certs/client-ca.crt"]');
    expect(uploaded(reg, "/certs/client-ca.crt")).toBe(reg.caCertPem);
    expect(Object.keys(pairs)).toEqual(["ci", "node-1"]);
  });

  it("lets a client with its issued certificate through TLS, then asks for credentials", async () => {
    const user = reg.credentials[0];
    for (const name of ["ci", "node-1"]) {
      expect(await attempt(reg, address, { clientCertificate: pairs[name] })).toEqual({
        status: 401,
      });
      expect(await attempt(reg, address, { clientCertificate: pairs[name], auth: user })).toEqual({
        status: 200,
      });
    }
    expect(
      await attempt(reg, address, {
        clientCertificate: pairs.ci,
        auth: user,
        maxVersion: "TLSv1.2",
      }),
    ).toEqual({ status: 200 });
  });

  it("refuses a client without a certificate in the handshake, with TLS 1.3 and 1.2, even with credentials", async () => {
    const user = reg.credentials[0];
    expectTlsAlert(await attempt(reg, address, { auth: user }));
    expectTlsAlert(await attempt(reg, address, { auth: user, maxVersion: "TLSv1.2" }));
  });

  it("refuses a certificate from another CA", async () => {
    const user = reg.credentials[0];
    expectTlsAlert(await attempt(reg, address, { clientCertificate: foreign.client, auth: user }));
    expectTlsAlert(
      await attempt(reg, address, {
        clientCertificate: foreign.client,
        auth: user,
        maxVersion: "TLSv1.2",
      }),
    );
  });

  it("refuses its own server certificate as a client certificate (it lacks client_auth)", async () => {
    const server = {
      certPem: uploaded(reg, "/certs/domain.crt"),
      keyPem: uploaded(reg, "/certs/domain.key"),
    };
    expectTlsAlert(
      await attempt(reg, address, { clientCertificate: server, auth: reg.credentials[0] }),
    );
  });

  it("logs why it refused each handshake (what docs/mtls.md's troubleshooting quotes)", async () => {
    const logs = await reg.logs(400);
    expect(logs).toMatch(/TLS handshake error from .*: tls: client didn't provide a certificate/);
    expect(logs).toMatch(
      /tls: failed to verify client certificate: x509: certificate signed by unknown authority/,
    );
    expect(logs).toMatch(
      /tls: failed to verify client certificate: x509: certificate specifies an incompatible key usage/,
    );
  });

  describe("the Docker daemon, with the trust provider's certs.d files", () => {
    let endpoint: string;
    let configDir: string;
    let repository: string;
    let imageId: string;
    const live: TrustOutputs[] = [];

    const createTrust = async (pair?: Pair): Promise<TrustOutputs> => {
      const checked = await provider.check(
        {},
        {
          endpoint,
          caCertPem: reg.caCertPem,
          certsDirs: [DOCKER_CERTS],
          ...(pair ? { clientCertPem: pair.certPem, clientKeyPem: pair.keyPem } : {}),
        },
      );
      expect(checked.failures).toEqual([]);
      const outs = (await provider.create(checked.inputs)).outs as TrustOutputs;
      live.push(outs);
      return outs;
    };
    const deleteTrust = async (outs: TrustOutputs) => {
      await provider.delete(`trust-${outs.endpoint}`, outs);
      live.splice(live.indexOf(outs), 1);
    };
    const login = () => {
      const user = reg.credentials[0];
      return runDocker(["login", endpoint, "--username", user.username, "--password-stdin"], {
        configDir,
        input: user.password,
        timeoutMs: 60_000,
      });
    };

    beforeAll(async () => {
      endpoint = `${address}:${reg.hostPort}`;
      // A fresh endpoint (free port): nothing may already be trusted for it.
      expect(fs.existsSync(path.join(DOCKER_CERTS, endpoint))).toBe(false);
      configDir = makeDockerConfigDir().dir;
      repository = `${endpoint}/srtest/mtls-${process.pid}`;
      imageId = await buildTestImage(`${repository}:1`, `mtls ${RUN_PREFIX}`, configDir);
    });

    afterAll(async () => {
      for (const outs of [...live]) await deleteTrust(outs).catch(() => undefined);
      if (repository) await removeImage(`${repository}:1`);
      if (imageId) await removeImage(imageId);
    });

    it("with ca.crt alone, login fails in the TLS handshake (not unknown authority, not 401)", async () => {
      const outs = await createTrust();
      expect(outs.files).toEqual([`${DOCKER_CERTS}/${endpoint}/ca.crt`]);
      const result = await login();
      expect(result.code).not.toBe(0);
      expect(result.stderr).toMatch(DAEMON_TLS_REFUSAL);
      expect(result.stderr).not.toMatch(/unknown authority|unauthorized/i);
      await deleteTrust(outs);
    });

    it("with the issued client.cert and client.key, it logs in, pushes and pulls", async () => {
      const outs = await createTrust(pairs.ci);
      expect(outs.files).toEqual(
        ["ca.crt", "client.cert", "client.key"].map((f) => `${DOCKER_CERTS}/${endpoint}/${f}`),
      );
      expect(fs.statSync(`${DOCKER_CERTS}/${endpoint}/client.key`).mode & 0o777).toBe(0o600);
      const result = await login();
      expect(result.stderr).not.toMatch(DAEMON_TLS_REFUSAL);
      expect(result.code).toBe(0);

      const push = await mustRunDocker(["push", `${repository}:1`], { configDir });
      expect(push).toMatch(/digest: sha256:[0-9a-f]{64}/);
      await removeImage(`${repository}:1`);
      await mustRunDocker(["pull", `${repository}:1`], { configDir });
      const pulled = await mustRunDocker(
        ["image", "inspect", "--format", "{{.Id}}", `${repository}:1`],
        { configDir },
      );
      expect(pulled.trim()).toBe(imageId);
      await deleteTrust(outs);
      expect(fs.existsSync(path.join(DOCKER_CERTS, endpoint))).toBe(false);
    });

    it("with a client certificate from another CA, pull is refused in the handshake", async () => {
      const outs = await createTrust(foreign.client);
      const pull = await runDocker(["pull", `${repository}:1`], { configDir, timeoutMs: 60_000 });
      expect(pull.code).not.toBe(0);
      expect(pull.stderr).toMatch(DAEMON_TLS_REFUSAL);
      await deleteTrust(outs);
    });

    describe("containerd (ctr), with the trust provider's hosts.toml", () => {
      // Docker's own containerd, in a namespace of this run only.
      const socket = [
        "/var/run/docker/containerd/containerd.sock",
        "/run/containerd/containerd.sock",
      ].find((s) => fs.existsSync(s));
      const namespace = `${RUN_PREFIX}-mtls`;
      let hostsDir: string;
      let certsDir: string;
      const ctr = (args: string[]) => run("ctr", ["-a", socket!, "-n", namespace, ...args]);
      const fetch = () => {
        const user = reg.credentials[0];
        return ctr([
          "content",
          "fetch",
          "--hosts-dir",
          hostsDir,
          "--user",
          `${user.username}:${user.password}`,
          `${repository}:1`,
        ]);
      };
      const containerdTrust = async (pair?: Pair) => {
        const checked = await provider.check(
          {},
          {
            endpoint,
            caCertPem: reg.caCertPem,
            certsDirs: [certsDir],
            containerd: { hostsDir },
            ...(pair ? { clientCertPem: pair.certPem, clientKeyPem: pair.keyPem } : {}),
          },
        );
        expect(checked.failures).toEqual([]);
        const outs = (await provider.create(checked.inputs)).outs as TrustOutputs;
        live.push(outs);
        return outs;
      };

      beforeAll(() => {
        if (socket === undefined) {
          throw new Error("no containerd socket: dockerd's containerd is not running here");
        }
        hostsDir = fs.mkdtempSync(path.join(os.tmpdir(), `${RUN_PREFIX}-containerd-`));
        certsDir = path.join(hostsDir, "certs.d");
      });

      afterAll(async () => {
        for (const outs of [...live]) await deleteTrust(outs).catch(() => undefined);
        if (socket !== undefined) {
          for (const kind of ["images", "content"] as const) {
            const listed = await ctr([kind, "ls", "-q"]);
            const refs = listed.stdout.split("\n").filter((l) => l.trim() !== "");
            if (refs.length > 0) await ctr([kind, "rm", ...refs]);
          }
          await ctr(["namespaces", "rm", namespace]);
        }
        if (hostsDir) fs.rmSync(hostsDir, { recursive: true, force: true });
      });

      it("fetches through hosts.toml's client pair, and is refused in the handshake without it", async () => {
        const withPair = await containerdTrust(pairs["node-1"]);
        const dir = path.join(hostsDir, endpoint);
        expect(withPair.files).toEqual(expect.arrayContaining([path.join(dir, "hosts.toml")]));
        expect(fs.readFileSync(path.join(dir, "hosts.toml"), "utf8")).toContain("client.key");
        const fetched = await fetch();
        expect(fetched.stderr).not.toMatch(/tls:/);
        expect(fetched.code).toBe(0);
        await deleteTrust(withPair);

        await containerdTrust();
        const refused = await fetch();
        expect(refused.code).not.toBe(0);
        expect(refused.stderr).toMatch(DAEMON_TLS_REFUSAL);
      });
    });
  });
});

describeWithEngine("SecureRegistry with RSA client certificates and tls.clientCaCertPem", () => {
  const address = machineAddress();
  let reg: RegistryDeployment;
  let foreign: { caCertPem: string; client: Pair };

  beforeAll(async () => {
    foreign = foreignCaAndClient();
    reg = await deployRegistry(
      {
        ipAddresses: [address],
        users: [{ username: "pusher" }],
        tls: {
          keyAlgorithm: "RSA",
          rsaBits: 2048,
          clientCertificates: ["ci"],
          clientCaCertPem: foreign.caCertPem,
        },
      },
      { label: "mtls-rsa" },
    );
  });

  afterAll(cleanupAll);

  it("accepts the issued RSA certificate and the other CA's, and refuses a client without one", async () => {
    const user = reg.credentials[0];
    const info = await engine().getContainer(reg.containerId).inspect();
    expect(info.State.Health?.Status).toBe("healthy");
    expect(info.Config.Env).toContain(
      'REGISTRY_HTTP_TLS_CLIENTCAS=["/certs/client-ca.crt","/certs/client-ca-user.crt"]',
    );
    const issued = issuedPairs(reg).ci;
    expect(await attempt(reg, address, { clientCertificate: issued, auth: user })).toEqual({
      status: 200,
    });
    expect(
      await attempt(reg, address, { clientCertificate: issued, auth: user, maxVersion: "TLSv1.2" }),
    ).toEqual({ status: 200 });
    expect(await attempt(reg, address, { clientCertificate: foreign.client, auth: user })).toEqual({
      status: 200,
    });
    expectTlsAlert(await attempt(reg, address, { auth: user }));
  });
});
