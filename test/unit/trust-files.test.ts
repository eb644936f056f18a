/**
 * The trust lifecycle (src/trust/apply.ts) on temp directories of this host: what
 * RegistryClientTrust writes, merges and removes, and what it refuses to touch.
 */
import { execFileSync, spawn } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { applyTrust, detectDrift, removeTrust, TrustOutputs } from "../../src/trust/apply";
import { dockerAuth } from "../../src/trust/dockerfiles";
import { localFs } from "../../src/trust/hostfs";
import { TrustInputs } from "../../src/trust/inputs";
import { resolveClientConfigPath } from "../../src/trust/plan";
import { reloadDockerd } from "../../src/trust/reload";
import { selfSignedCertificate } from "../support/certs";
import { snapshot } from "../support/trust-files";

// Real files, locks and openssl on a machine other test runs share: generous, never a timing check.
jest.setTimeout(60_000);

const PASSWORD = "s3cret-Pa55word";
const LOGIN = { username: "ci-user", password: PASSWORD };
const EP = "registry.test:5000";

let tmp: string;
beforeEach(() => {
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), "trust-files-"));
});
afterEach(() => {
  fs.rmSync(tmp, { recursive: true, force: true });
});

function certPem(cn: string): string {
  return selfSignedCertificate(cn).certPem;
}

function inputs(overrides: Partial<TrustInputs> = {}): TrustInputs {
  return {
    endpoint: EP,
    caCertPem: certPem("ca-one"),
    certsDirs: [path.join(tmp, "docker-certs.d"), path.join(tmp, "containers-certs.d")],
    insecure: false,
    daemonConfigPath: path.join(tmp, "daemon.json"),
    reloadDaemon: false,
    pidFile: path.join(tmp, "docker.pid"),
    clientConfigPath: path.join(tmp, "docker", "config.json"),
    adopt: false,
    owner: "project/stack/reg-files",
    ...overrides,
  };
}

const caPath = (root: string, endpoint = EP) => path.join(tmp, root, endpoint, "ca.crt");

describe("CA files", () => {
  it("writes ca.crt 0644 in 0755 directories whatever the umask, and no temp file", async () => {
    const old = process.umask(0o077);
    try {
      const outs = await applyTrust(inputs({ certsDirs: [path.join(tmp, "certs.d")] }));
      const file = caPath("certs.d");
      expect(outs.files).toEqual([file]);
      expect(fs.readFileSync(file, "utf8")).toBe(certPem("ca-one").trim() + "\n");
      expect(fs.statSync(file).mode & 0o777).toBe(0o644);
      expect(fs.statSync(path.dirname(file)).mode & 0o777).toBe(0o755);
      expect(fs.statSync(path.join(tmp, "certs.d")).mode & 0o777).toBe(0o755);
      // ca.crt and the ownership ledger; no temp file, no lock left.
      expect(fs.readdirSync(path.dirname(file)).sort()).toEqual([".pulumi-trust.json", "ca.crt"]);
    } finally {
      process.umask(old);
    }
  });

  it("gives port 443 (written or implied) the bare-host directory too", async () => {
    const outs = await applyTrust(
      inputs({ endpoint: "registry.test", certsDirs: [path.join(tmp, "c")] }),
    );
    expect(outs.files).toEqual([caPath("c", "registry.test"), caPath("c", "registry.test:443")]);
  });

  it("does not overwrite a different CA it did not write; says to set adopt", async () => {
    const file = caPath("docker-certs.d");
    fs.mkdirSync(path.dirname(file), { recursive: true });
    fs.writeFileSync(file, certPem("someone-else"));
    const before = snapshot(tmp);
    await expect(applyTrust(inputs())).rejects.toThrow(
      /ca\.crt already holds a different value, not written by this RegistryClientTrust.*adopt: true/,
    );
    expect(snapshot(tmp)).toEqual(before);

    const adopted = await applyTrust(inputs({ adopt: true }));
    expect(fs.readFileSync(file, "utf8")).toBe(certPem("ca-one").trim() + "\n");
    await removeTrust(adopted);
    expect(fs.existsSync(file)).toBe(false);
  });

  it("leaves a file that already held the same CA (CRLF or not) untouched, also on delete", async () => {
    const file = caPath("docker-certs.d");
    const crlf = certPem("ca-one").replace(/\n/g, "\r\n");
    fs.mkdirSync(path.dirname(file), { recursive: true });
    fs.writeFileSync(file, crlf);
    const outs = await applyTrust(inputs({ certsDirs: [path.join(tmp, "docker-certs.d")] }));
    expect(outs.record.entries[0].preexisted).toBe(true);
    await removeTrust(outs);
    expect(fs.readFileSync(file, "utf8")).toBe(crlf);
    expect(fs.readdirSync(path.dirname(file))).toEqual(["ca.crt"]);
  });

  it("removes its ca.crt and the directory only when nothing else is in it", async () => {
    const outs = await applyTrust(inputs());
    const clientCert = path.join(path.dirname(caPath("containers-certs.d")), "client.cert");
    fs.writeFileSync(clientCert, "mine");
    await removeTrust(outs);
    expect(fs.existsSync(path.dirname(caPath("docker-certs.d")))).toBe(false);
    expect(fs.readdirSync(path.dirname(clientCert))).toEqual(["client.cert"]);
    expect(fs.existsSync(path.join(tmp, "docker-certs.d"))).toBe(true);
  });

  it("refuses to write through a symlinked endpoint directory that leaves the root", async () => {
    const root = path.join(tmp, "certs.d");
    const outside = path.join(tmp, "outside");
    fs.mkdirSync(root);
    fs.mkdirSync(outside);
    fs.symlinkSync(outside, path.join(root, EP));
    await expect(applyTrust(inputs({ certsDirs: [root] }))).rejects.toThrow(
      /leads to .*outside.*outside .*certs\.d \(certsDirs\[0\]\); refusing/,
    );
    expect(fs.readdirSync(outside)).toEqual([]);
  });
});

describe("daemon.json (insecure)", () => {
  const daemon = () => path.join(tmp, "daemon.json");
  const insecure = (o: Partial<TrustInputs> = {}) =>
    inputs({ insecure: true, caCertPem: undefined, certsDirs: [], ...o });

  it("creates a missing daemon.json; delete keeps the key, empty, so a reload applies it", async () => {
    const outs = await applyTrust(insecure());
    expect(outs.files).toEqual([daemon()]);
    expect(JSON.parse(fs.readFileSync(daemon(), "utf8"))).toEqual({ "insecure-registries": [EP] });
    await removeTrust(outs);
    expect(JSON.parse(fs.readFileSync(daemon(), "utf8"))).toEqual({ "insecure-registries": [] });
    expect(fs.readdirSync(tmp)).toEqual(["daemon.json"]);
  });

  it("keeps every other key, their order, the list order, the indentation and the mode", async () => {
    const original =
      '{\n    "log-driver": "json-file",\n    "insecure-registries": ["a.test:5000"],\n' +
      '    "features": {"buildkit": true}\n}\n';
    fs.writeFileSync(daemon(), original, { mode: 0o640 });
    const outs = await applyTrust(insecure());
    expect(fs.readFileSync(daemon(), "utf8")).toBe(
      JSON.stringify(
        {
          "log-driver": "json-file",
          "insecure-registries": ["a.test:5000", EP],
          features: { buildkit: true },
        },
        null,
        4,
      ) + "\n",
    );
    expect(fs.statSync(daemon()).mode & 0o777).toBe(0o640);
    await removeTrust(outs);
    expect(JSON.parse(fs.readFileSync(daemon(), "utf8"))).toEqual(JSON.parse(original));
  });

  it("never removes an entry that was already there", async () => {
    const original = `{"insecure-registries":["${EP}"]}`;
    fs.writeFileSync(daemon(), original);
    const outs = await applyTrust(insecure());
    expect(outs.record.entries[0].preexisted).toBe(true);
    await removeTrust(outs);
    expect(fs.readFileSync(daemon(), "utf8")).toBe(original);
    expect(fs.readdirSync(tmp)).toEqual(["daemon.json"]);
  });

  it.each([
    ['{"debug": true,}', /line 1, column 16: trailing ","/],
    ['{\n  "debug": true\n  "x": 1\n}', /line 3, column 3: expected "," or "}"/],
    ['{"insecure-registries": "a.test"}', /"insecure-registries" must be a list of strings/],
    ["[1, 2]", /must hold a JSON object/],
  ])("leaves malformed daemon.json %j byte for byte, with a clear error", async (text, message) => {
    fs.writeFileSync(daemon(), text);
    const before = snapshot(tmp, { raw: true });
    const error = await applyTrust(insecure()).catch((e: Error) => e);
    expect((error as Error).message).toMatch(message);
    expect((error as Error).message).toContain(daemon());
    expect(snapshot(tmp, { raw: true })).toEqual(before);
  });
});

describe("config.json (login)", () => {
  const config = () => path.join(tmp, "docker", "config.json");
  const login = (o: Partial<TrustInputs> = {}) => inputs({ certsDirs: [], login: LOGIN, ...o });

  it("creates config.json 0600 with auths[endpoint].auth; delete removes the file it created", async () => {
    const outs = await applyTrust(login());
    expect(JSON.parse(fs.readFileSync(config(), "utf8"))).toEqual({
      auths: { [EP]: { auth: Buffer.from(`ci-user:${PASSWORD}`).toString("base64") } },
    });
    expect(fs.statSync(config()).mode & 0o777).toBe(0o600);
    expect(fs.readFileSync(config(), "utf8")).toContain('\n\t"auths"');
    await removeTrust(outs);
    expect(fs.existsSync(path.dirname(config()))).toBe(false);
  });

  it("keeps other registries, other keys and the file's mode; delete removes only its entry", async () => {
    const original = {
      auths: { "other.test": { auth: "b3RoZXI6cGFzcw==" } },
      HttpHeaders: { "User-Agent": "x" },
      currentContext: "default",
    };
    fs.mkdirSync(path.dirname(config()));
    fs.writeFileSync(config(), JSON.stringify(original, null, "\t") + "\n", { mode: 0o640 });
    const outs = await applyTrust(login());
    const merged = JSON.parse(fs.readFileSync(config(), "utf8"));
    expect(merged.auths["other.test"]).toEqual(original.auths["other.test"]);
    expect(Object.keys(merged)).toEqual(["auths", "HttpHeaders", "currentContext"]);
    expect(fs.statSync(config()).mode & 0o777).toBe(0o640);
    await removeTrust(outs);
    expect(fs.readFileSync(config(), "utf8")).toBe(JSON.stringify(original, null, "\t") + "\n");
    expect(fs.readdirSync(path.dirname(config()))).toEqual(["config.json"]);
  });

  it.each([
    [{ credsStore: "desktop" }, /docker-credential-desktop \(credsStore\)/],
    [{ credHelpers: { [EP]: "pass" } }, /docker-credential-pass \(credHelpers/],
  ])(
    "refuses a config that hands this registry to a credential helper: %j",
    async (cfg, message) => {
      fs.mkdirSync(path.dirname(config()));
      fs.writeFileSync(config(), JSON.stringify(cfg));
      const before = snapshot(tmp, { raw: true });
      await expect(applyTrust(login())).rejects.toThrow(message);
      expect(snapshot(tmp, { raw: true })).toEqual(before);
    },
  );

  it("does not replace different credentials it did not write, unless adopt; never quotes them", async () => {
    fs.mkdirSync(path.dirname(config()));
    const theirs = Buffer.from("someone:their-password").toString("base64");
    fs.writeFileSync(config(), JSON.stringify({ auths: { [EP]: { auth: theirs } } }));
    const error = (await applyTrust(login()).catch((e: Error) => e)) as Error;
    expect(error.message).toMatch(/already holds a different value.*adopt: true/);
    expect(error.message).not.toContain(theirs);
    expect(error.message).not.toContain(PASSWORD);
    await applyTrust(login({ adopt: true }));
    expect(JSON.parse(fs.readFileSync(config(), "utf8")).auths[EP].auth).toBe(dockerAuth(LOGIN));
  });

  it("reports a malformed config.json by position only, never quoting it", async () => {
    fs.mkdirSync(path.dirname(config()));
    const leaked = Buffer.from(`u:${PASSWORD}`).toString("base64");
    const text = `{"auths": {"r.test": {"auth": "${leaked}"}} "x"}`;
    fs.writeFileSync(config(), text);
    const error = (await applyTrust(login()).catch((e: Error) => e)) as Error;
    expect(error.message).toMatch(
      new RegExp(`clientConfigPath ${config()} is not valid JSON: line 1, column \\d+`),
    );
    expect(error.message).not.toContain(leaked);
    expect(error.message).not.toContain(PASSWORD);
    expect(fs.readFileSync(config(), "utf8")).toBe(text);
  });

  it("leaves credentials that someone changed after it wrote them", async () => {
    const outs = await applyTrust(login());
    const data = JSON.parse(fs.readFileSync(config(), "utf8"));
    data.auths[EP].auth = dockerAuth({ username: "ci-user", password: "rotated" });
    fs.writeFileSync(config(), JSON.stringify(data));
    await removeTrust(outs);
    expect(JSON.parse(fs.readFileSync(config(), "utf8"))).toEqual(data);
  });

  it("follows the docker CLI for the default path: clientConfigPath, else $DOCKER_CONFIG, else ~/.docker", async () => {
    const host = localFs();
    expect(await resolveClientConfigPath(host, "/x/config.json", {})).toBe("/x/config.json");
    expect(await resolveClientConfigPath(host, undefined, { DOCKER_CONFIG: "/d" })).toBe(
      "/d/config.json",
    );
    expect(await resolveClientConfigPath(host, undefined, {})).toBe(
      path.join(os.homedir(), ".docker", "config.json"),
    );
  });
});

describe("lifecycle", () => {
  function seedHost(): void {
    fs.mkdirSync(path.join(tmp, "docker-certs.d", "other.test:5000"), { recursive: true });
    fs.writeFileSync(path.join(tmp, "docker-certs.d", "other.test:5000", "ca.crt"), "other CA");
    fs.writeFileSync(path.join(tmp, "daemon.json"), '{\n  "insecure-registries": ["a.test"]\n}\n');
    fs.mkdirSync(path.join(tmp, "docker"));
    fs.writeFileSync(
      path.join(tmp, "docker", "config.json"),
      '{\n\t"auths": {\n\t\t"other.test": {\n\t\t\t"auth": "eDp5"\n\t\t}\n\t}\n}',
      { mode: 0o600 },
    );
  }

  it("create then delete leaves the host exactly as it was", async () => {
    seedHost();
    const before = snapshot(tmp, { raw: true });
    const outs = await applyTrust(inputs({ login: LOGIN }));
    expect(outs.files).toEqual(
      [
        caPath("containers-certs.d"),
        path.join(tmp, "docker", "config.json"),
        caPath("docker-certs.d"),
      ].sort(),
    );
    expect(outs.drift).toEqual([]);
    await removeTrust(outs);
    const after = snapshot(tmp, { raw: true });
    // The containers root was created for the CA and stays (it is a configured root).
    delete after["containers-certs.d/"];
    expect(after).toEqual(before);
  });

  it("update removes what is no longer configured (a dropped certs dir, the login)", async () => {
    const first = await applyTrust(inputs({ login: LOGIN }));
    const dropped = caPath("containers-certs.d");
    const second = await applyTrust(
      inputs({ certsDirs: [path.join(tmp, "docker-certs.d")], login: undefined }),
      first,
    );
    expect(fs.existsSync(path.dirname(dropped))).toBe(false);
    expect(fs.existsSync(path.join(tmp, "docker", "config.json"))).toBe(false);
    expect(second.files).toEqual([caPath("docker-certs.d")]);
  });

  it("update rewrites a changed CA and a changed password in place", async () => {
    const first = await applyTrust(inputs({ login: LOGIN }));
    const rotated = { username: "ci-user", password: "rotated-password" };
    await applyTrust(inputs({ caCertPem: certPem("ca-two"), login: rotated }), first);
    expect(fs.readFileSync(caPath("docker-certs.d"), "utf8")).toBe(certPem("ca-two").trim() + "\n");
    const cfg = JSON.parse(fs.readFileSync(path.join(tmp, "docker", "config.json"), "utf8"));
    expect(cfg.auths[EP].auth).toBe(dockerAuth(rotated));
  });

  it("update to a new endpoint moves every file and entry", async () => {
    const c = [path.join(tmp, "c")];
    const first = await applyTrust(inputs({ login: LOGIN, certsDirs: c }));
    const second = await applyTrust(
      inputs({ endpoint: "registry.test:6000", login: LOGIN, certsDirs: c }),
      first,
    );
    expect(fs.readdirSync(path.join(tmp, "c"))).toEqual(["registry.test:6000"]);
    const cfg = JSON.parse(fs.readFileSync(path.join(tmp, "docker", "config.json"), "utf8"));
    expect(Object.keys(cfg.auths)).toEqual(["registry.test:6000"]);
    await removeTrust(second);
    expect(fs.readdirSync(path.join(tmp, "c"))).toEqual([]);
  });

  it("refresh finds removed and edited files and entries; the next apply puts them back", async () => {
    const outs = await applyTrust(inputs({ login: LOGIN }));
    expect(await detectDrift(outs)).toEqual([]);
    const configJson = path.join(tmp, "docker", "config.json");
    fs.rmSync(caPath("docker-certs.d"));
    fs.writeFileSync(caPath("containers-certs.d"), certPem("someone-else"));
    fs.writeFileSync(configJson, '{"auths":{}}');
    const drift = await detectDrift(outs);
    expect(drift.sort()).toEqual(
      [
        `${caPath("containers-certs.d")} holds a different value`,
        `${caPath("docker-certs.d")} is missing`,
        `auths["${EP}"] in ${configJson} is missing`,
      ].sort(),
    );
    const refreshed: TrustOutputs = { ...outs, drift };
    const repaired = await applyTrust(inputs({ login: LOGIN }), refreshed);
    expect(await detectDrift(repaired)).toEqual([]);
    expect(fs.readFileSync(caPath("docker-certs.d"), "utf8")).toBe(certPem("ca-one").trim() + "\n");
  });

  it("two stacks needing the same entry: it stays until the last one is deleted", async () => {
    const a = await applyTrust(inputs({ owner: "p/a/t", login: LOGIN }));
    const b = await applyTrust(inputs({ owner: "p/b/t", login: LOGIN }));
    expect(b.record.entries.every((e) => !e.preexisted)).toBe(true);
    await removeTrust(a);
    expect(fs.existsSync(caPath("docker-certs.d"))).toBe(true);
    expect(
      JSON.parse(fs.readFileSync(path.join(tmp, "docker", "config.json"), "utf8")).auths[EP],
    ).toBeDefined();
    await removeTrust(b);
    expect(fs.existsSync(path.dirname(caPath("docker-certs.d")))).toBe(false);
    expect(fs.existsSync(path.join(tmp, "docker"))).toBe(false);
  });

  it("dropping login removes the entry from the config.json it was written to, even if $DOCKER_CONFIG moved", async () => {
    const saved = process.env.DOCKER_CONFIG;
    try {
      process.env.DOCKER_CONFIG = path.join(tmp, "first");
      const first = await applyTrust(
        inputs({ certsDirs: [], login: LOGIN, clientConfigPath: undefined }),
      );
      expect(first.files).toEqual([path.join(tmp, "first", "config.json")]);
      process.env.DOCKER_CONFIG = path.join(tmp, "second");
      await applyTrust(inputs({ certsDirs: [], clientConfigPath: undefined }), first);
      expect(fs.existsSync(path.join(tmp, "first"))).toBe(false);
    } finally {
      if (saved === undefined) delete process.env.DOCKER_CONFIG;
      else process.env.DOCKER_CONFIG = saved;
    }
  });

  it("a renamed resource (new owner name) still removes its entries on delete", async () => {
    const first = await applyTrust(inputs({ owner: "p/s/old-name", login: LOGIN }));
    const renamed = await applyTrust(inputs({ owner: "p/s/new-name", login: LOGIN }), first);
    await removeTrust(renamed);
    expect(fs.existsSync(path.dirname(caPath("docker-certs.d")))).toBe(false);
    expect(fs.existsSync(path.join(tmp, "docker"))).toBe(false);
  });

  it("a state written by the previous version (caFiles/insecureEntry/authEntry) is deleted cleanly", async () => {
    const file = caPath("docker-certs.d");
    fs.mkdirSync(path.dirname(file), { recursive: true });
    fs.writeFileSync(file, certPem("ca-one"));
    fs.writeFileSync(path.join(tmp, "daemon.json"), `{"insecure-registries":["${EP}"]}`);
    const legacy = {
      ...inputs({ login: undefined }),
      files: [],
      drift: [],
      record: {
        caFiles: [
          { path: file, root: path.join(tmp, "docker-certs.d"), sha256: "x", preexisted: false },
        ],
        insecureEntry: {
          path: path.join(tmp, "daemon.json"),
          endpoint: EP,
          preexisted: false,
          createdFile: true,
        },
      },
    } as unknown as TrustOutputs;
    await removeTrust({ ...legacy, owner: undefined as unknown as string });
    expect(fs.existsSync(file)).toBe(false);
  });
});

describe("reloadDockerd", () => {
  it("does nothing when dockerd is not running (no pid file, or a stale pid)", async () => {
    expect(await reloadDockerd(localFs(), path.join(tmp, "missing.pid"))).toBe("not-running");
    fs.writeFileSync(path.join(tmp, "stale.pid"), "4194304\n");
    expect(await reloadDockerd(localFs(), path.join(tmp, "stale.pid"))).toBe("not-running");
  });

  it("refuses to signal a process that is not dockerd", async () => {
    fs.writeFileSync(path.join(tmp, "docker.pid"), String(process.pid));
    await expect(reloadDockerd(localFs(), path.join(tmp, "docker.pid"))).rejects.toThrow(
      /not dockerd; refusing/,
    );
  });

  it("sends SIGHUP to the process named dockerd", async () => {
    // A copy of `sleep` named dockerd: SIGHUP's default action ends it, which proves delivery.
    const fake = path.join(tmp, "dockerd");
    fs.copyFileSync(execFileSync("sh", ["-c", "command -v sleep"]).toString().trim(), fake);
    fs.chmodSync(fake, 0o755);
    const child = spawn(fake, ["30"], { stdio: "ignore" });
    const exited = new Promise<NodeJS.Signals | null>((resolve) =>
      child.on("exit", (_code, signal) => resolve(signal)),
    );
    try {
      fs.writeFileSync(path.join(tmp, "docker.pid"), `${child.pid}\n`);
      for (
        let i = 0;
        i < 50 && !fs.readFileSync(`/proc/${child.pid}/comm`, "utf8").startsWith("dockerd");
        i++
      ) {
        await new Promise((r) => setTimeout(r, 20));
      }
      expect(await reloadDockerd(localFs(), path.join(tmp, "docker.pid"))).toBe("signalled");
      expect(await exited).toBe("SIGHUP");
    } finally {
      child.kill("SIGKILL");
    }
  });
});
