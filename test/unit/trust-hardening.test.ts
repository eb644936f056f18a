/**
 * Issue 9's defects in the trust files, each reproduced on real directories of this host: lost
 * updates between processes, leftovers of failed attempts, deletes through swapped symlinks,
 * hangs on FIFOs and devices, temp files left behind, raw EACCES for non-root users, passwords in
 * messages.
 */
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { execFileSync } from "child_process";
import { applyTrust, removeTrust } from "../../src/trust/apply";
import { dockerAuth } from "../../src/trust/dockerfiles";
import { TrustInputs } from "../../src/trust/inputs";
import { selfSignedCertificate } from "../support/certs";
import { runTrustProcess } from "../support/trust-process";
import { snapshot } from "../support/trust-files";

// Real files, locks and openssl on a machine other test runs share: generous, never a timing check.
jest.setTimeout(60_000);

const PASSWORD = "hardening-Pa55word";
const LOGIN = { username: "ci-user", password: PASSWORD };
const EP = "registry.test:5000";

let tmp: string;
beforeEach(() => {
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), "trust-hardening-"));
  fs.chmodSync(tmp, 0o755);
});
afterEach(() => {
  fs.rmSync(tmp, { recursive: true, force: true });
});

function inputs(overrides: Partial<TrustInputs> = {}): TrustInputs {
  return {
    endpoint: EP,
    caCertPem: selfSignedCertificate("ca-one").certPem,
    certsDirs: [path.join(tmp, "a", "certs.d"), path.join(tmp, "b", "certs.d")],
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

describe("lost updates across processes", () => {
  it("4 processes x 100 concurrent merges into daemon.json and config.json lose 0 entries", async () => {
    const daemon = path.join(tmp, "daemon.json");
    const config = path.join(tmp, "docker", "config.json");
    fs.writeFileSync(daemon, '{\n  "debug": true\n}\n');
    const PROCESSES = 4;
    const MERGES = 100;
    const worker = (w: number) => `
(async () => {
  for (let i = 0; i < ${MERGES}; i++) {
    await trust.applyTrust({
      endpoint: "w${w}-" + i + ".test:5000", insecure: true, certsDirs: [],
      daemonConfigPath: ${JSON.stringify(daemon)}, clientConfigPath: ${JSON.stringify(config)},
      reloadDaemon: false, pidFile: "/nonexistent.pid", adopt: false,
      owner: "p/s/w${w}-" + i, login: { username: "u${w}", password: "p" + i },
    });
  }
})().catch((e) => { console.error(e.message); process.exit(1); });`;
    const results = await Promise.all(
      Array.from({ length: PROCESSES }, (_, w) => runTrustProcess(worker(w))),
    );
    for (const r of results) expect(r).toMatchObject({ code: 0, stderr: "" });

    const expected = Array.from({ length: PROCESSES }, (_, w) =>
      Array.from({ length: MERGES }, (_, i) => `w${w}-${i}.test:5000`),
    ).flat();
    const daemonData = JSON.parse(fs.readFileSync(daemon, "utf8"));
    const configData = JSON.parse(fs.readFileSync(config, "utf8"));
    const lostInsecure = expected.filter((e) => !daemonData["insecure-registries"].includes(e));
    const lostAuths = expected.filter((e) => configData.auths[e] === undefined);
    expect({ lostInsecure: lostInsecure.length, lostAuths: lostAuths.length }).toEqual({
      lostInsecure: 0,
      lostAuths: 0,
    });
    expect(daemonData.debug).toBe(true);
    // No temp file and no lock left; one ledger per directory.
    expect(fs.readdirSync(tmp).sort()).toEqual([".pulumi-trust.json", "daemon.json", "docker"]);
    expect(fs.readdirSync(path.join(tmp, "docker")).sort()).toEqual([
      ".pulumi-trust.json",
      "config.json",
    ]);
  }, 600_000);
});

describe("failed attempts leave nothing behind", () => {
  it("a second certs dir that fails (a file in the way) undoes the first ca.crt", async () => {
    fs.mkdirSync(path.join(tmp, "b"));
    fs.writeFileSync(path.join(tmp, "b", "certs.d"), "a regular file where a directory belongs");
    const before = snapshot(tmp);
    const error = (await applyTrust(inputs({ login: LOGIN })).catch((e: Error) => e)) as Error;
    expect(error.message).toMatch(/b\/certs\.d is a file, not a directory.*certsDirs\[1\]/);
    expect(error.message).toMatch(/Everything this attempt wrote was undone/);
    expect(snapshot(tmp)).toEqual(before);
  });

  it("a failed update puts back what the previous run had written", async () => {
    const first = await applyTrust(
      inputs({ certsDirs: [path.join(tmp, "a", "certs.d")], login: LOGIN }),
    );
    const before = snapshot(tmp);
    fs.mkdirSync(path.join(tmp, "b"));
    fs.writeFileSync(path.join(tmp, "b", "certs.d"), "in the way");
    const update = inputs({
      caCertPem: selfSignedCertificate("ca-two").certPem,
      login: { username: "ci-user", password: "rotated" },
    });
    await expect(applyTrust(update, first)).rejects.toThrow(/undone/);
    fs.rmSync(path.join(tmp, "b"), { recursive: true });
    expect(snapshot(tmp)).toEqual(before);
  });

  it("a retry after a crash takes its own leftovers for its own, and delete removes them", async () => {
    const before = snapshot(tmp);
    // A run that wrote everything, then died before Pulumi recorded its state.
    await applyTrust(inputs({ login: LOGIN }));
    const retry = await applyTrust(inputs({ login: LOGIN }));
    expect(retry.record.entries.map((e) => e.preexisted)).toEqual(
      retry.record.entries.map(() => false),
    );
    await removeTrust(retry);
    const after = snapshot(tmp);
    // The configured roots it created stay; nothing else.
    for (const root of ["a/", "a/certs.d/", "b/", "b/certs.d/"]) delete after[root];
    expect(after).toEqual(before);
  });

  it("a crash mid-write leaves a ledger naming the owner before the entry exists", async () => {
    // The ledger is written first: simulate the crash by the state right after that write.
    const dir = path.join(tmp, "a", "certs.d", EP);
    fs.mkdirSync(dir, { recursive: true });
    fs.writeFileSync(
      path.join(dir, ".pulumi-trust.json"),
      JSON.stringify({ entries: { "ca.crt": ["project/stack/reg-files"] } }),
    );
    fs.writeFileSync(path.join(dir, "ca.crt"), selfSignedCertificate("ca-one").certPem);
    const retry = await applyTrust(inputs({ certsDirs: [path.join(tmp, "a", "certs.d")] }));
    expect(retry.record.entries[0].preexisted).toBe(false);
    await removeTrust(retry);
    expect(fs.existsSync(dir)).toBe(false);
  });
});

describe("nothing outside the roots", () => {
  it("delete does not follow an endpoint directory swapped for a symlink to an outside copy", async () => {
    const root = path.join(tmp, "a", "certs.d");
    const outs = await applyTrust(inputs({ certsDirs: [root] }));
    const outside = path.join(tmp, "outside");
    fs.mkdirSync(outside);
    fs.copyFileSync(path.join(root, EP, "ca.crt"), path.join(outside, "ca.crt"));
    fs.copyFileSync(
      path.join(root, EP, ".pulumi-trust.json"),
      path.join(outside, ".pulumi-trust.json"),
    );
    fs.rmSync(path.join(root, EP), { recursive: true });
    fs.symlinkSync(outside, path.join(root, EP));
    const before = snapshot(outside);
    await expect(removeTrust(outs)).rejects.toThrow(
      /leads to .*outside.*refusing to read, write or remove/,
    );
    expect(snapshot(outside)).toEqual(before);
  });

  it("a ca.crt replaced by a symlink is left alone on delete", async () => {
    const root = path.join(tmp, "a", "certs.d");
    const outs = await applyTrust(inputs({ certsDirs: [root] }));
    const target = path.join(tmp, "elsewhere.pem");
    fs.copyFileSync(path.join(root, EP, "ca.crt"), target);
    fs.rmSync(path.join(root, EP, "ca.crt"));
    fs.symlinkSync(target, path.join(root, EP, "ca.crt"));
    await removeTrust(outs);
    expect(fs.readlinkSync(path.join(root, EP, "ca.crt"))).toBe(target);
    expect(fs.existsSync(target)).toBe(true);
  });
});

describe("no hangs: anything but a regular file is refused at once", () => {
  const ca = () => path.join(tmp, "a", "certs.d", EP, "ca.crt");

  it.each([
    [
      "a FIFO",
      (p: string) => execFileSync("mkfifo", [p]),
      /is not a regular file \(a FIFO, socket or device\)/,
    ],
    ["a link to /dev/zero", (p: string) => fs.symlinkSync("/dev/zero", p), /not a regular file/],
    [
      "a directory",
      (p: string) => fs.mkdirSync(p),
      /is a directory, where a regular file is expected/,
    ],
  ])("ca.crt that is %s", async (_kind, make, message) => {
    fs.mkdirSync(path.dirname(ca()), { recursive: true });
    make(ca());
    await expect(
      applyTrust(inputs({ certsDirs: [path.join(tmp, "a", "certs.d")] })),
    ).rejects.toThrow(message);
  });

  it.each([
    ["a FIFO", (p: string) => execFileSync("mkfifo", [p])],
    ["a link to /dev/zero", (p: string) => fs.symlinkSync("/dev/zero", p)],
    ["a directory", (p: string) => fs.mkdirSync(p)],
  ])("daemon.json and config.json that are %s", async (_kind, make) => {
    make(path.join(tmp, "daemon.json"));
    await expect(
      applyTrust(inputs({ insecure: true, caCertPem: undefined, certsDirs: [] })),
    ).rejects.toThrow(/daemon\.json \(daemonConfigPath\) is (a directory|.*not a regular file)/);
    fs.mkdirSync(path.join(tmp, "docker"));
    make(path.join(tmp, "docker", "config.json"));
    await expect(applyTrust(inputs({ certsDirs: [], login: LOGIN }))).rejects.toThrow(
      /config\.json \(clientConfigPath\) is (a directory|.*not a regular file)/,
    );
    // Nothing was created beside the link target either (no lock, no ledger in /dev).
    expect(fs.readdirSync("/dev").filter((n) => n.startsWith(".pulumi-trust"))).toEqual([]);
  });
});

describe("temp files", () => {
  it("removes temp files an interrupted earlier run left (this version's and the previous one's)", async () => {
    fs.mkdirSync(path.join(tmp, "docker"));
    const stale = [
      path.join(tmp, "docker", ".config.json.12345.0123456789ab.tmp"),
      path.join(tmp, "docker", ".config.json.0123456789ab.trust-tmp"),
    ];
    for (const s of stale)
      fs.writeFileSync(s, `{"auths":{"x":{"auth":"${dockerAuth(LOGIN)}"}}}`, { mode: 0o600 });
    const unrelated = path.join(tmp, "docker", ".config.json.swp");
    fs.writeFileSync(unrelated, "editor file");
    const outs = await applyTrust(inputs({ certsDirs: [], login: LOGIN }));
    for (const s of stale) expect(fs.existsSync(s)).toBe(false);
    expect(fs.existsSync(unrelated)).toBe(true);
    await removeTrust(outs);
    expect(fs.readdirSync(path.join(tmp, "docker"))).toEqual([".config.json.swp"]);
  });
});

describe("non-root users", () => {
  it("EACCES says which path needs which permission and the fix", async () => {
    const root = path.join(tmp, "root-owned", "certs.d");
    fs.mkdirSync(root, { recursive: true });
    const caFile = path.join(tmp, "ca.pem");
    fs.writeFileSync(caFile, selfSignedCertificate("ca-one").certPem, { mode: 0o644 });
    const result = await runTrustProcess(
      `
trust.applyTrust({
  endpoint: ${JSON.stringify(EP)}, caCertPem: require("fs").readFileSync(${JSON.stringify(caFile)}, "utf8"),
  certsDirs: [${JSON.stringify(root)}], insecure: false, daemonConfigPath: "/etc/docker/daemon.json",
  reloadDaemon: false, pidFile: "/var/run/docker.pid", adopt: false, owner: "p/s/t",
}).then(() => console.log("written"), (e) => console.log(e.message));`,
      { uid: 65534, gid: 65534 },
    );
    expect(result.stderr).toBe("");
    expect(result.stdout).toMatch(
      new RegExp(
        `cannot create directory ${root}/${EP} \\(certsDirs\\[0\\]\\): permission denied; this needs ` +
          `write and search permission \\(w\\+x\\) on the directory ${root}\\. Run pulumi as root \\(e\\.g\\. sudo\\)`,
      ),
    );
    expect(result.stdout).toMatch(/point certsDirs\[0\] .* at paths that user may write/);
    expect(fs.readdirSync(root)).toEqual([]);
  });
});
