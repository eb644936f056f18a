/**
 * The trust file logic (src/trust/files.ts) on temp directories: what RegistryClientTrust writes,
 * merges and removes on a host, and what it refuses to touch.
 */
import { execFileSync, spawn } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import {
  applyTrust,
  CaFileRecord,
  detectDrift,
  dockerAuth,
  mergeAuth,
  mergeInsecureRegistry,
  planCaFiles,
  reloadDockerd,
  removeAuth,
  removeCaFiles,
  removeInsecureRegistry,
  removeTrust,
  resolveClientConfigPath,
  TrustOutputs,
  writeCaFiles,
} from "../../src/trust/files";
import { selfSignedCertificate } from "../support/certs";
import { TrustInputs } from "../../src/trust/inputs";

const PASSWORD = "s3cret-Pa55word";
const LOGIN = { username: "ci-user", password: PASSWORD };

let tmp: string;
beforeEach(() => {
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), "trust-files-"));
});
afterEach(() => {
  fs.rmSync(tmp, { recursive: true, force: true });
});

/** A real self-signed certificate (openssl), cached per common name. */
function certPem(cn: string): string {
  return selfSignedCertificate(cn).certPem;
}

/** Every file under `dir` with its content (and mode), for before/after comparisons. */
function snapshot(dir: string): Record<string, string> {
  const out: Record<string, string> = {};
  const walk = (d: string) => {
    for (const name of fs.readdirSync(d).sort()) {
      const p = path.join(d, name);
      const st = fs.lstatSync(p);
      const rel = path.relative(dir, p);
      const mode = (st.mode & 0o777).toString(8);
      if (st.isDirectory()) {
        out[rel + "/"] = mode;
        walk(p);
      } else if (name.endsWith(".json")) {
        // JSON files are compared as data: a merge re-renders them (same indentation and key order).
        out[rel] = `${mode} ${JSON.stringify(JSON.parse(fs.readFileSync(p, "utf8")))}`;
      } else {
        out[rel] = `${mode} ${fs.readFileSync(p, "utf8")}`;
      }
    }
  };
  walk(dir);
  return out;
}

function inputs(overrides: Partial<TrustInputs> = {}): TrustInputs {
  return {
    endpoint: "registry.test:5000",
    caCertPem: certPem("ca-one"),
    certsDirs: [path.join(tmp, "docker-certs.d"), path.join(tmp, "containers-certs.d")],
    insecure: false,
    daemonConfigPath: path.join(tmp, "daemon.json"),
    reloadDaemon: false,
    pidFile: path.join(tmp, "docker.pid"),
    clientConfigPath: path.join(tmp, "docker", "config.json"),
    adopt: false,
    ...overrides,
  };
}

describe("planCaFiles", () => {
  it("names <root>/<host:port>/ca.crt for each certs dir, sorted", () => {
    const planned = planCaFiles("registry.test:5000", ["/b/certs.d", "/a/certs.d"]);
    expect(planned.map((p) => p.path)).toEqual([
      "/a/certs.d/registry.test:5000/ca.crt",
      "/b/certs.d/registry.test:5000/ca.crt",
    ]);
  });

  it("gives port 443 (written or implied) the bare-host directory too", () => {
    const expected = ["/c/registry.test/ca.crt", "/c/registry.test:443/ca.crt"];
    expect(planCaFiles("registry.test:443", ["/c"]).map((p) => p.path)).toEqual(expected);
    expect(planCaFiles("registry.test", ["/c"]).map((p) => p.path)).toEqual(expected);
  });

  it("supports IPv4 and bracketed IPv6 endpoints", () => {
    expect(planCaFiles("192.0.2.2:5000", ["/c"]).map((p) => p.path)).toEqual([
      "/c/192.0.2.2:5000/ca.crt",
    ]);
    expect(planCaFiles("[fd00::2]:5000", ["/c"]).map((p) => p.path)).toEqual([
      "/c/[fd00::2]:5000/ca.crt",
    ]);
  });

  it.each(["../etc:5000", "a/b:5000", "..", "https://registry.test", "reg test:5000", "/abs"])(
    "refuses endpoint %j before building any path",
    (endpoint) => {
      expect(() => planCaFiles(endpoint, ["/c"])).toThrow(/endpoint .*host\[:port\]/);
    },
  );
});

describe("writeCaFiles / removeCaFiles", () => {
  it("writes ca.crt 0644 in 0755 directories whatever the umask, atomically", () => {
    const old = process.umask(0o077);
    try {
      const planned = planCaFiles("registry.test:5000", [path.join(tmp, "certs.d")]);
      const records = writeCaFiles(planned, certPem("ca-one"), [], false);
      const file = path.join(tmp, "certs.d", "registry.test:5000", "ca.crt");
      expect(records).toEqual([expect.objectContaining({ path: file, preexisted: false })]);
      expect(fs.readFileSync(file, "utf8")).toBe(certPem("ca-one").trim() + "\n");
      expect(fs.statSync(file).mode & 0o777).toBe(0o644);
      expect(fs.statSync(path.dirname(file)).mode & 0o777).toBe(0o755);
      expect(fs.statSync(path.join(tmp, "certs.d")).mode & 0o777).toBe(0o755);
      // No temp file is left next to it.
      expect(fs.readdirSync(path.dirname(file))).toEqual(["ca.crt"]);
    } finally {
      process.umask(old);
    }
  });

  it("does not overwrite a different CA it did not write; says to set adopt", () => {
    const planned = planCaFiles("registry.test:5000", [path.join(tmp, "certs.d")]);
    const file = planned[0].path;
    fs.mkdirSync(path.dirname(file), { recursive: true });
    fs.writeFileSync(file, certPem("someone-else"));
    const before = fs.readFileSync(file);
    expect(() => writeCaFiles(planned, certPem("ca-one"), [], false)).toThrow(
      /already holds a different CA certificate.*adopt: true/,
    );
    expect(fs.readFileSync(file).equals(before)).toBe(true);

    const adopted = writeCaFiles(planned, certPem("ca-one"), [], true);
    expect(fs.readFileSync(file, "utf8")).toBe(certPem("ca-one").trim() + "\n");
    // Adopted files are this component's now: delete removes them.
    expect(adopted[0].preexisted).toBe(false);
    expect(removeCaFiles(adopted)).toEqual([file]);
    expect(fs.existsSync(file)).toBe(false);
  });

  it("checks every path for a foreign CA before writing any", () => {
    const planned = planCaFiles("registry.test:5000", [path.join(tmp, "a"), path.join(tmp, "b")]);
    fs.mkdirSync(path.dirname(planned[1].path), { recursive: true });
    fs.writeFileSync(planned[1].path, certPem("someone-else"));
    expect(() => writeCaFiles(planned, certPem("ca-one"), [], false)).toThrow(/adopt/);
    expect(fs.existsSync(planned[0].path)).toBe(false);
  });

  it("leaves a file that already held the same CA (CRLF or not) untouched, also on delete", () => {
    const planned = planCaFiles("registry.test:5000", [path.join(tmp, "certs.d")]);
    const crlf = certPem("ca-one").replace(/\n/g, "\r\n");
    fs.mkdirSync(path.dirname(planned[0].path), { recursive: true });
    fs.writeFileSync(planned[0].path, crlf);
    const records = writeCaFiles(planned, certPem("ca-one"), [], false);
    expect(records[0].preexisted).toBe(true);
    expect(fs.readFileSync(planned[0].path, "utf8")).toBe(crlf);
    expect(removeCaFiles(records)).toEqual([]);
    expect(fs.readFileSync(planned[0].path, "utf8")).toBe(crlf);
  });

  it("removes its ca.crt and the directory only when nothing else is in it", () => {
    const planned = planCaFiles("registry.test:5000", [path.join(tmp, "a"), path.join(tmp, "b")]);
    const records = writeCaFiles(planned, certPem("ca-one"), [], false);
    const clientCert = path.join(path.dirname(planned[1].path), "client.cert");
    fs.writeFileSync(clientCert, "mine");
    removeCaFiles(records);
    expect(fs.existsSync(path.dirname(planned[0].path))).toBe(false);
    expect(fs.readdirSync(path.dirname(planned[1].path))).toEqual(["client.cert"]);
    // The roots themselves stay.
    expect(fs.existsSync(path.join(tmp, "a"))).toBe(true);
  });

  it("refuses to write through a symlinked endpoint directory that leaves the root", () => {
    const root = path.join(tmp, "certs.d");
    const outside = path.join(tmp, "outside");
    fs.mkdirSync(root);
    fs.mkdirSync(outside);
    fs.symlinkSync(outside, path.join(root, "registry.test:5000"));
    const planned = planCaFiles("registry.test:5000", [root]);
    expect(() => writeCaFiles(planned, certPem("ca-one"), [], false)).toThrow(/not inside/);
    expect(fs.readdirSync(outside)).toEqual([]);
  });

  it("refuses records that point outside their root", () => {
    const bogus: CaFileRecord = {
      path: path.join(tmp, "elsewhere", "ca.crt"),
      root: path.join(tmp, "certs.d"),
      sha256: "x",
      preexisted: false,
    };
    expect(() => removeCaFiles([bogus])).toThrow(/not inside/);
  });
});

describe("mergeInsecureRegistry / removeInsecureRegistry", () => {
  const daemon = () => path.join(tmp, "daemon.json");

  it("creates a missing daemon.json holding only the entry", () => {
    expect(mergeInsecureRegistry(daemon(), "registry.test:5000")).toEqual({
      changed: true,
      preexisted: false,
      createdFile: true,
    });
    expect(JSON.parse(fs.readFileSync(daemon(), "utf8"))).toEqual({
      "insecure-registries": ["registry.test:5000"],
    });
    expect(removeInsecureRegistry(daemon(), "registry.test:5000")).toBe(true);
    // The key stays, empty: dockerd's reload only applies keys present in the file.
    expect(JSON.parse(fs.readFileSync(daemon(), "utf8"))).toEqual({ "insecure-registries": [] });
  });

  it("treats an empty file as an empty object", () => {
    fs.writeFileSync(daemon(), "");
    mergeInsecureRegistry(daemon(), "registry.test:5000");
    expect(JSON.parse(fs.readFileSync(daemon(), "utf8"))).toEqual({
      "insecure-registries": ["registry.test:5000"],
    });
  });

  it("keeps every other key, their order, the list order and the indentation", () => {
    const original =
      '{\n    "log-driver": "json-file",\n    "insecure-registries": ["a.test:5000"],\n' +
      '    "features": {"buildkit": true}\n}\n';
    fs.writeFileSync(daemon(), original, { mode: 0o640 });
    mergeInsecureRegistry(daemon(), "registry.test:5000");
    const text = fs.readFileSync(daemon(), "utf8");
    expect(text).toBe(
      JSON.stringify(
        {
          "log-driver": "json-file",
          "insecure-registries": ["a.test:5000", "registry.test:5000"],
          features: { buildkit: true },
        },
        null,
        4,
      ) + "\n",
    );
    expect(fs.statSync(daemon()).mode & 0o777).toBe(0o640);

    removeInsecureRegistry(daemon(), "registry.test:5000");
    expect(JSON.parse(fs.readFileSync(daemon(), "utf8"))).toEqual(JSON.parse(original));
  });

  it("does not rewrite a file that already lists the endpoint", () => {
    const original = '{"insecure-registries":["registry.test:5000"]}';
    fs.writeFileSync(daemon(), original);
    expect(mergeInsecureRegistry(daemon(), "registry.test:5000")).toEqual({
      changed: false,
      preexisted: true,
      createdFile: false,
    });
    expect(fs.readFileSync(daemon(), "utf8")).toBe(original);
  });

  it("keeps an empty list when its own entry was the last, so a reload applies the removal", () => {
    fs.writeFileSync(daemon(), '{\n  "debug": true\n}\n');
    mergeInsecureRegistry(daemon(), "registry.test:5000");
    removeInsecureRegistry(daemon(), "registry.test:5000");
    expect(fs.readFileSync(daemon(), "utf8")).toBe(
      '{\n  "debug": true,\n  "insecure-registries": []\n}\n',
    );
  });

  it.each([
    ['{"debug": true,}', /line 1, column 16: trailing ","/],
    ['{\n  "debug": true\n  "x": 1\n}', /line 3, column 3: expected "," or "}"/],
    ['{"insecure-registries": "a.test"}', /"insecure-registries" must be a list of strings/],
    ["[1, 2]", /must hold a JSON object/],
  ])("leaves malformed daemon.json %j byte for byte, with a clear error", (text, message) => {
    fs.writeFileSync(daemon(), text);
    const before = fs.readFileSync(daemon());
    let error: Error | undefined;
    try {
      mergeInsecureRegistry(daemon(), "registry.test:5000");
    } catch (e) {
      error = e as Error;
    }
    expect(error?.message).toMatch(message);
    expect(error?.message).toContain(daemon());
    expect(fs.readFileSync(daemon()).equals(before)).toBe(true);
    expect(fs.readdirSync(tmp)).toEqual(["daemon.json"]);
  });
});

describe("mergeAuth / removeAuth", () => {
  const config = () => path.join(tmp, "docker", "config.json");

  it("creates config.json 0600 with auths[endpoint].auth = base64(user:password)", () => {
    mergeAuth(config(), "registry.test:5000", LOGIN, { adopt: false, owned: false });
    const data = JSON.parse(fs.readFileSync(config(), "utf8"));
    expect(data).toEqual({
      auths: {
        "registry.test:5000": { auth: Buffer.from(`ci-user:${PASSWORD}`).toString("base64") },
      },
    });
    expect(fs.statSync(config()).mode & 0o777).toBe(0o600);
    // Docker's own indentation for new files.
    expect(fs.readFileSync(config(), "utf8")).toContain('\n\t"auths"');
    removeAuth(config(), "registry.test:5000", LOGIN, true);
    expect(fs.existsSync(config())).toBe(false);
  });

  it("keeps other registries, other keys and the file's mode; delete removes only its entry", () => {
    const original = {
      auths: { "other.test": { auth: "b3RoZXI6cGFzcw==" } },
      HttpHeaders: { "User-Agent": "x" },
      currentContext: "default",
    };
    fs.mkdirSync(path.dirname(config()));
    fs.writeFileSync(config(), JSON.stringify(original, null, "\t") + "\n", { mode: 0o640 });
    mergeAuth(config(), "registry.test:5000", LOGIN, { adopt: false, owned: false });
    const merged = JSON.parse(fs.readFileSync(config(), "utf8"));
    expect(merged.auths["other.test"]).toEqual(original.auths["other.test"]);
    expect(merged.HttpHeaders).toEqual(original.HttpHeaders);
    expect(Object.keys(merged)).toEqual(["auths", "HttpHeaders", "currentContext"]);
    expect(fs.statSync(config()).mode & 0o777).toBe(0o640);

    expect(removeAuth(config(), "registry.test:5000", LOGIN, false)).toBe(true);
    expect(fs.readFileSync(config(), "utf8")).toBe(JSON.stringify(original, null, "\t") + "\n");
  });

  it.each([
    [{ credsStore: "desktop" }, /docker-credential-desktop \(credsStore\)/],
    [{ credHelpers: { "registry.test:5000": "pass" } }, /docker-credential-pass \(credHelpers/],
  ])("refuses a config that hands this registry to a credential helper: %j", (cfg, message) => {
    fs.mkdirSync(path.dirname(config()));
    fs.writeFileSync(config(), JSON.stringify(cfg));
    const before = fs.readFileSync(config());
    expect(() =>
      mergeAuth(config(), "registry.test:5000", LOGIN, { adopt: false, owned: false }),
    ).toThrow(message);
    expect(fs.readFileSync(config()).equals(before)).toBe(true);
  });

  it("does not replace different credentials it did not write, unless adopt", () => {
    fs.mkdirSync(path.dirname(config()));
    const theirs = Buffer.from("someone:their-password").toString("base64");
    fs.writeFileSync(
      config(),
      JSON.stringify({ auths: { "registry.test:5000": { auth: theirs } } }),
    );
    const before = fs.readFileSync(config());
    let error: Error | undefined;
    try {
      mergeAuth(config(), "registry.test:5000", LOGIN, { adopt: false, owned: false });
    } catch (e) {
      error = e as Error;
    }
    expect(error?.message).toMatch(/already has different credentials.*adopt: true/);
    expect(error?.message).not.toContain(theirs);
    expect(error?.message).not.toContain(PASSWORD);
    expect(fs.readFileSync(config()).equals(before)).toBe(true);

    mergeAuth(config(), "registry.test:5000", LOGIN, { adopt: true, owned: false });
    expect(JSON.parse(fs.readFileSync(config(), "utf8")).auths["registry.test:5000"].auth).toBe(
      dockerAuth(LOGIN),
    );
  });

  it("reports a malformed config.json by position only, never quoting it", () => {
    fs.mkdirSync(path.dirname(config()));
    const leaked = Buffer.from(`u:${PASSWORD}`).toString("base64");
    const text = `{"auths": {"r.test": {"auth": "${leaked}"}} "x"}`;
    fs.writeFileSync(config(), text);
    let error: Error | undefined;
    try {
      mergeAuth(config(), "registry.test:5000", LOGIN, { adopt: false, owned: false });
    } catch (e) {
      error = e as Error;
    }
    expect(error?.message).toMatch(
      new RegExp(`clientConfigPath ${config()} is not valid JSON: line 1, column \\d+`),
    );
    expect(error?.message).not.toContain(leaked);
    expect(error?.message).not.toContain(PASSWORD);
    expect(fs.readFileSync(config(), "utf8")).toBe(text);
  });

  it("leaves credentials that someone changed after it wrote them", () => {
    mergeAuth(config(), "registry.test:5000", LOGIN, { adopt: false, owned: false });
    const relogged = { username: "ci-user", password: "rotated" };
    const data = JSON.parse(fs.readFileSync(config(), "utf8"));
    data.auths["registry.test:5000"].auth = dockerAuth(relogged);
    fs.writeFileSync(config(), JSON.stringify(data));
    expect(removeAuth(config(), "registry.test:5000", LOGIN, true)).toBe(false);
    expect(JSON.parse(fs.readFileSync(config(), "utf8"))).toEqual(data);
  });
});

describe("resolveClientConfigPath", () => {
  it("follows the docker CLI: clientConfigPath, else $DOCKER_CONFIG, else ~/.docker", () => {
    expect(resolveClientConfigPath("/x/config.json", {}, "/home/u")).toBe("/x/config.json");
    expect(resolveClientConfigPath(undefined, { DOCKER_CONFIG: "/d" }, "/home/u")).toBe(
      "/d/config.json",
    );
    expect(resolveClientConfigPath(undefined, {}, "/home/u")).toBe("/home/u/.docker/config.json");
  });
});

describe("applyTrust / removeTrust / detectDrift", () => {
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

  it("create then delete leaves the host exactly as it was", () => {
    seedHost();
    const before = snapshot(tmp);
    const outs = applyTrust(inputs({ login: LOGIN }));
    expect(outs.files).toEqual(
      [
        path.join(tmp, "containers-certs.d", "registry.test:5000", "ca.crt"),
        path.join(tmp, "docker", "config.json"),
        path.join(tmp, "docker-certs.d", "registry.test:5000", "ca.crt"),
      ].sort(),
    );
    expect(outs.drift).toEqual([]);
    expect(snapshot(tmp)).not.toEqual(before);
    removeTrust(outs);
    const after = snapshot(tmp);
    // The containers root was created for the CA and stays (it is a configured root).
    delete after["containers-certs.d/"];
    expect(after).toEqual(before);
  });

  it("insecure mode writes only the daemon.json entry and removes only its own", () => {
    seedHost();
    const before = snapshot(tmp);
    const outs = applyTrust(inputs({ insecure: true, caCertPem: undefined }));
    expect(outs.files).toEqual([path.join(tmp, "daemon.json")]);
    expect(JSON.parse(fs.readFileSync(path.join(tmp, "daemon.json"), "utf8"))).toEqual({
      "insecure-registries": ["a.test", "registry.test:5000"],
    });
    removeTrust(outs);
    expect(snapshot(tmp)).toEqual(before);
  });

  it("never removes an insecure entry or login that was already there", () => {
    fs.writeFileSync(
      path.join(tmp, "daemon.json"),
      '{"insecure-registries":["registry.test:5000"]}',
    );
    fs.mkdirSync(path.join(tmp, "docker"));
    fs.writeFileSync(
      path.join(tmp, "docker", "config.json"),
      JSON.stringify({ auths: { "registry.test:5000": { auth: dockerAuth(LOGIN) } } }),
    );
    const before = snapshot(tmp);
    const outs = applyTrust(inputs({ insecure: true, caCertPem: undefined, login: LOGIN }));
    expect(outs.record.insecureEntry?.preexisted).toBe(true);
    expect(outs.record.authEntry?.preexisted).toBe(true);
    removeTrust(outs);
    expect(snapshot(tmp)).toEqual(before);
  });

  it("update removes what is no longer configured (a dropped certs dir, the login)", () => {
    const first = applyTrust(inputs({ login: LOGIN }));
    const dropped = path.join(tmp, "containers-certs.d", "registry.test:5000", "ca.crt");
    expect(fs.existsSync(dropped)).toBe(true);
    const second = applyTrust(
      inputs({ certsDirs: [path.join(tmp, "docker-certs.d")], login: undefined }),
      first,
    );
    expect(fs.existsSync(dropped)).toBe(false);
    expect(fs.existsSync(path.dirname(dropped))).toBe(false);
    expect(fs.existsSync(path.join(tmp, "docker", "config.json"))).toBe(false);
    expect(second.files).toEqual([
      path.join(tmp, "docker-certs.d", "registry.test:5000", "ca.crt"),
    ]);
  });

  it("update rewrites a changed CA and a changed password in place", () => {
    const first = applyTrust(inputs({ login: LOGIN }));
    const rotated = { username: "ci-user", password: "rotated-password" };
    applyTrust(inputs({ caCertPem: certPem("ca-two"), login: rotated }), first);
    const file = path.join(tmp, "docker-certs.d", "registry.test:5000", "ca.crt");
    expect(fs.readFileSync(file, "utf8")).toBe(certPem("ca-two").trim() + "\n");
    const cfg = JSON.parse(fs.readFileSync(path.join(tmp, "docker", "config.json"), "utf8"));
    expect(cfg.auths["registry.test:5000"].auth).toBe(dockerAuth(rotated));
  });

  it("update to a new endpoint moves every file and entry", () => {
    const first = applyTrust(inputs({ login: LOGIN, certsDirs: [path.join(tmp, "c")] }));
    const second = applyTrust(
      inputs({ endpoint: "registry.test:6000", login: LOGIN, certsDirs: [path.join(tmp, "c")] }),
      first,
    );
    expect(fs.readdirSync(path.join(tmp, "c"))).toEqual(["registry.test:6000"]);
    const cfg = JSON.parse(fs.readFileSync(path.join(tmp, "docker", "config.json"), "utf8"));
    expect(Object.keys(cfg.auths)).toEqual(["registry.test:6000"]);
    removeTrust(second);
    expect(fs.readdirSync(path.join(tmp, "c"))).toEqual([]);
  });

  it("a failed create leaves nothing behind", () => {
    fs.mkdirSync(path.join(tmp, "docker"));
    fs.writeFileSync(path.join(tmp, "docker", "config.json"), '{"credsStore":"desktop"}');
    const before = snapshot(tmp);
    expect(() => applyTrust(inputs({ login: LOGIN }))).toThrow(/credential helper/);
    const after = snapshot(tmp);
    // Only the (empty) roots it created remain.
    expect(Object.keys(after).filter((k) => !(k in before))).toEqual([
      "containers-certs.d/",
      "docker-certs.d/",
    ]);
  });

  it("refresh finds removed and edited files and entries; the next apply puts them back", () => {
    const outs = applyTrust(inputs({ insecure: false, login: LOGIN }));
    expect(detectDrift(outs)).toEqual([]);
    const containersCa = path.join(tmp, "containers-certs.d", "registry.test:5000", "ca.crt");
    const dockerCa = path.join(tmp, "docker-certs.d", "registry.test:5000", "ca.crt");
    const configJson = path.join(tmp, "docker", "config.json");
    fs.rmSync(dockerCa);
    fs.writeFileSync(containersCa, certPem("someone-else"));
    fs.writeFileSync(configJson, '{"auths":{}}');
    expect(detectDrift(outs)).toEqual([
      `${containersCa} holds a different certificate`,
      `${dockerCa} is missing`,
      `${configJson} no longer holds the login for registry.test:5000`,
    ]);
    const refreshed: TrustOutputs = { ...outs, drift: detectDrift(outs) };
    const repaired = applyTrust(inputs({ login: LOGIN }), refreshed);
    expect(detectDrift(repaired)).toEqual([]);
    expect(fs.readFileSync(dockerCa, "utf8")).toBe(certPem("ca-one").trim() + "\n");
  });

  it("refresh notices the insecure entry was taken out", () => {
    const outs = applyTrust(inputs({ insecure: true, caCertPem: undefined }));
    fs.writeFileSync(path.join(tmp, "daemon.json"), "{}");
    expect(detectDrift(outs)).toEqual([
      `${path.join(tmp, "daemon.json")} no longer lists registry.test:5000 in insecure-registries`,
    ]);
  });
});

describe("reloadDockerd", () => {
  it("does nothing when dockerd is not running (no pid file, or a stale pid)", () => {
    expect(reloadDockerd(path.join(tmp, "missing.pid"))).toBe("not-running");
    fs.writeFileSync(path.join(tmp, "stale.pid"), "4194304\n");
    expect(reloadDockerd(path.join(tmp, "stale.pid"))).toBe("not-running");
  });

  it("refuses to signal a process that is not dockerd", () => {
    fs.writeFileSync(path.join(tmp, "docker.pid"), String(process.pid));
    expect(() => reloadDockerd(path.join(tmp, "docker.pid"))).toThrow(/not dockerd; refusing/);
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
      // /proc/<pid>/comm shows the new name once exec has happened.
      for (
        let i = 0;
        i < 50 && !fs.readFileSync(`/proc/${child.pid}/comm`, "utf8").startsWith("dockerd");
        i++
      ) {
        await new Promise((r) => setTimeout(r, 20));
      }
      expect(reloadDockerd(path.join(tmp, "docker.pid"))).toBe("signalled");
      expect(await exited).toBe("SIGHUP");
    } finally {
      child.kill("SIGKILL");
    }
  });
});
