/**
 * Trust for the other runtimes on temp directories: containerd's hosts dir (hosts.toml + ca.crt,
 * merged with an existing hosts.toml), BuildKit's buildkitd.toml, and the mTLS client pair.
 */
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { parse } from "smol-toml";
import { applyTrust, removeTrust } from "../../src/trust/apply";
import { TrustInputs } from "../../src/trust/inputs";
import { selfSignedCertificate } from "../support/certs";
import { snapshot } from "../support/trust-files";

// Real files, locks and openssl on a machine other test runs share: generous, never a timing check.
jest.setTimeout(60_000);

const EP = "registry.test:5000";
let tmp: string;
beforeEach(() => {
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), "trust-runtimes-"));
});
afterEach(() => fs.rmSync(tmp, { recursive: true, force: true }));

function inputs(overrides: Partial<TrustInputs> = {}): TrustInputs {
  return {
    endpoint: EP,
    caCertPem: selfSignedCertificate("ca-one").certPem,
    certsDirs: [],
    insecure: false,
    daemonConfigPath: path.join(tmp, "daemon.json"),
    reloadDaemon: false,
    pidFile: path.join(tmp, "docker.pid"),
    adopt: false,
    owner: "project/stack/reg-files",
    containerd: {
      hostsDir: path.join(tmp, "containerd", "certs.d"),
      capabilities: ["pull", "resolve", "push"],
    },
    ...overrides,
  };
}

const hostsToml = (endpoint = EP) =>
  path.join(tmp, "containerd", "certs.d", endpoint, "hosts.toml");

describe("containerd hosts dir", () => {
  it("writes hosts.toml naming the registry and its CA, with ca.crt beside it", async () => {
    const outs = await applyTrust(inputs());
    const dir = path.dirname(hostsToml());
    expect(outs.files).toEqual([path.join(dir, "ca.crt"), hostsToml()]);
    expect(parse(fs.readFileSync(hostsToml(), "utf8"))).toEqual({
      server: `https://${EP}`,
      host: {
        [`https://${EP}`]: {
          capabilities: ["pull", "resolve", "push"],
          ca: path.join(dir, "ca.crt"),
        },
      },
    });
    expect(fs.readFileSync(hostsToml(), "utf8").startsWith(`server = "https://${EP}"`)).toBe(true);
    await removeTrust(outs);
    expect(fs.readdirSync(path.join(tmp, "containerd", "certs.d"))).toEqual([]);
  });

  it("merges into an existing hosts.toml: other hosts and the user's server stay; delete restores it", async () => {
    const dir = path.dirname(hostsToml());
    fs.mkdirSync(dir, { recursive: true });
    const original =
      "# mirrors for this registry, kept by the platform team\n" +
      'server = "https://upstream.test"\n\n[host."https://mirror.test"]\ncapabilities = ["pull"]\nskip_verify = false\n';
    fs.writeFileSync(hostsToml(), original, { mode: 0o640 });
    const outs = await applyTrust(inputs());
    const merged = fs.readFileSync(hostsToml(), "utf8");
    expect(merged.startsWith("# mirrors for this registry, kept by the platform team\n")).toBe(
      true,
    );
    const data = parse(merged) as Record<string, Record<string, unknown>>;
    expect(data.server).toBe("https://upstream.test");
    expect(Object.keys(data.host)).toEqual(["https://mirror.test", `https://${EP}`]);
    expect(data.host["https://mirror.test"]).toEqual({
      capabilities: ["pull"],
      skip_verify: false,
    });
    expect(fs.statSync(hostsToml()).mode & 0o777).toBe(0o640);
    // Only the host table is this resource's (the server was the user's).
    expect(outs.record.entries.map((e) => e.key).sort()).toEqual([
      "ca.crt",
      `hosts.toml#host/https://${EP}`,
    ]);
    await removeTrust(outs);
    expect(parse(fs.readFileSync(hostsToml(), "utf8"))).toEqual(parse(original));
    expect(fs.readdirSync(dir)).toEqual(["hosts.toml"]);
  });

  it("does not replace a host table for the registry that it did not write, unless adopt", async () => {
    fs.mkdirSync(path.dirname(hostsToml()), { recursive: true });
    fs.writeFileSync(hostsToml(), `[host."https://${EP}"]\nskip_verify = true\n`);
    const before = snapshot(tmp, { raw: true });
    await expect(applyTrust(inputs())).rejects.toThrow(
      /\[host."https:\/\/registry\.test:5000"\] in .*hosts\.toml already holds a different value.*adopt: true/,
    );
    expect(snapshot(tmp, { raw: true })).toEqual(before);
    await applyTrust(inputs({ adopt: true }));
    expect(fs.readFileSync(hostsToml(), "utf8")).not.toContain("skip_verify");
  });

  it("reports a malformed hosts.toml by position only and leaves it as it was", async () => {
    fs.mkdirSync(path.dirname(hostsToml()), { recursive: true });
    fs.writeFileSync(hostsToml(), 'server = = "x"\npassword = "hunter2"\n');
    const error = (await applyTrust(inputs()).catch((e: Error) => e)) as Error;
    expect(error.message).toMatch(/hosts\.toml is not valid TOML: line 1, column \d+/);
    expect(error.message).not.toContain("hunter2");
    expect(fs.readFileSync(hostsToml(), "utf8")).toBe('server = = "x"\npassword = "hunter2"\n');
  });

  it("port 443 gets both directory names", async () => {
    const outs = await applyTrust(inputs({ endpoint: "registry.test" }));
    expect(outs.files).toContain(hostsToml("registry.test"));
    expect(outs.files).toContain(hostsToml("registry.test:443"));
  });
});

describe("BuildKit", () => {
  const config = () => path.join(tmp, "buildkit", "buildkitd.toml");
  const bk = (o: Partial<TrustInputs> = {}) =>
    inputs({
      containerd: undefined,
      buildkit: { configPath: config(), certsDir: path.join(tmp, "buildkit", "certs.d") },
      ...o,
    });

  it('merges [registry."host:port"] ca into buildkitd.toml, keeping other keys; delete restores', async () => {
    fs.mkdirSync(path.dirname(config()), { recursive: true });
    const original =
      'debug = true\n\n[registry."docker.io"]\nmirrors = ["mirror.test"]\n\n[registry."' +
      EP +
      '"]\nhttp = false\n';
    fs.writeFileSync(config(), original);
    const outs = await applyTrust(bk());
    const data = parse(fs.readFileSync(config(), "utf8")) as Record<
      string,
      Record<string, Record<string, unknown>>
    >;
    expect(data.debug).toBe(true);
    expect(data.registry["docker.io"]).toEqual({ mirrors: ["mirror.test"] });
    expect(data.registry[EP]).toEqual({
      http: false,
      ca: [path.join(tmp, "buildkit", "certs.d", EP, "ca.crt")],
    });
    expect(fs.existsSync(path.join(tmp, "buildkit", "certs.d", EP, "ca.crt"))).toBe(true);
    await removeTrust(outs);
    expect(parse(fs.readFileSync(config(), "utf8"))).toEqual(parse(original));
  });

  it("creates buildkitd.toml when missing and removes it with its last entry", async () => {
    const outs = await applyTrust(bk());
    expect(fs.existsSync(config())).toBe(true);
    await removeTrust(outs);
    expect(fs.existsSync(config())).toBe(false);
  });
});

describe("mTLS client pair", () => {
  it("writes client.cert 0644 and client.key 0600 beside every ca.crt, and names them in hosts.toml and buildkitd.toml", async () => {
    const client = selfSignedCertificate("client");
    const bkConfig = path.join(tmp, "buildkit", "buildkitd.toml");
    const outs = await applyTrust(
      inputs({
        certsDirs: [path.join(tmp, "docker", "certs.d")],
        clientCertPem: client.certPem,
        clientKeyPem: client.keyPem,
        buildkit: { configPath: bkConfig, certsDir: path.join(tmp, "buildkit", "certs.d") },
      }),
    );
    for (const root of ["docker/certs.d", "containerd/certs.d", "buildkit/certs.d"]) {
      const dir = path.join(tmp, root, EP);
      expect(fs.statSync(path.join(dir, "client.cert")).mode & 0o777).toBe(0o644);
      expect(fs.statSync(path.join(dir, "client.key")).mode & 0o777).toBe(0o600);
      expect(fs.readFileSync(path.join(dir, "client.key"), "utf8")).toBe(
        client.keyPem.trim() + "\n",
      );
    }
    const dir = path.dirname(hostsToml());
    const hosts = parse(fs.readFileSync(hostsToml(), "utf8")) as {
      host: Record<string, { client: string[][] }>;
    };
    expect(hosts.host[`https://${EP}`].client).toEqual([
      [path.join(dir, "client.cert"), path.join(dir, "client.key")],
    ]);
    const bk = parse(fs.readFileSync(bkConfig, "utf8")) as {
      registry: Record<string, { keypair: unknown }>;
    };
    const bkDir = path.join(tmp, "buildkit", "certs.d", EP);
    expect(bk.registry[EP].keypair).toEqual([
      { key: path.join(bkDir, "client.key"), cert: path.join(bkDir, "client.cert") },
    ]);
    await removeTrust(outs);
    for (const root of ["docker/certs.d", "containerd/certs.d", "buildkit/certs.d"]) {
      expect(fs.readdirSync(path.join(tmp, root))).toEqual([]);
    }
  });
});
