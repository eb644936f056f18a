/**
 * RegistryClientTrust's provider with a `connection`, against a simulated remote host H2 (its own
 * network and mount namespaces, dockerd, containerd and a key-only sshd; test/support/hosts.ts).
 * A registry runs on this machine's engine, reachable from H2 at the main namespace's address on
 * the hosts' LAN (its certificate names that address).
 *
 * - H2's dockerd refuses the registry (unknown authority) until the trust is created over SSH;
 *   then it logs in (the auths entry written into H2's /root/.docker/config.json), pushes and
 *   pulls; after delete it refuses again. H2's containerd pulls through the hosts.toml written
 *   for it (`ctr images pull --hosts-dir`) and refuses after delete. This host's own trust files
 *   are byte for byte the same throughout.
 * - The mTLS client pair lands as client.cert (0644) / client.key (0600) and in hosts.toml.
 * - Locks hold across transports: merges over SFTP and merges through this host's view of H2's
 *   files into the same daemon.json and config.json lose nothing.
 * - Failure paths: an address where no sshd listens, a wrong key, a wrong pinned host key, and a
 *   read-only remote directory: clear errors, nothing left half-written on either host.
 */
import { execFileSync } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { applyTrust, removeTrust, TrustOutputs } from "../../src/trust/apply";
import { TrustInputs } from "../../src/trust/inputs";
import { trustProvider } from "../../src/trust/provider";
import { selfSignedCertificate } from "../support/certs";
import { TEST_IMAGES } from "../support/engine";
import { cleanupAll, deployRegistry, RegistryDeployment, RUN_PREFIX } from "../support/harness";
import { describeWithTestHosts, startTestHosts, TestHost, TestHostsRun } from "../support/hosts";

jest.setTimeout(600_000);

const UNKNOWN_AUTHORITY = /x509: certificate signed by unknown authority|unknown authority/;
const provider = trustProvider as Required<typeof trustProvider>;

/** This host's files that a remote trust must never touch. */
const LOCAL_WATCH = [
  "/etc/docker/certs.d",
  "/etc/containerd/certs.d",
  "/etc/containers/certs.d",
  "/etc/buildkit",
  "/etc/docker/daemon.json",
  path.join(os.homedir(), ".docker", "config.json"),
];

function localState(endpoint: string): Record<string, string> {
  const state: Record<string, string> = {};
  for (const p of LOCAL_WATCH) {
    const target = p.endsWith("certs.d") ? path.join(p, endpoint) : p;
    if (p === "/etc/buildkit") {
      state[p] = fs.existsSync(p) ? `dir ${fs.readdirSync(p).join(",")}` : "absent";
      continue;
    }
    state[target] = fs.existsSync(target)
      ? fs.statSync(target).isDirectory()
        ? `dir ${fs.readdirSync(target).join(",")}`
        : fs.readFileSync(target, "utf8")
      : "absent";
  }
  return state;
}

describeWithTestHosts("RegistryClientTrust on a remote host over SSH", () => {
  let run: TestHostsRun;
  let h2: TestHost;
  let reg: RegistryDeployment;
  let endpoint: string;
  let repository: string;
  let localBefore: Record<string, string>;
  let h2ConfigBefore: string | undefined;
  const live: TrustOutputs[] = [];

  const connection = (overrides: Record<string, unknown> = {}) => ({
    host: h2.address,
    port: h2.ssh.port,
    user: h2.ssh.user,
    hostKey: h2.hostKey,
    dialErrorLimit: 2,
    perDialTimeout: 5,
    ...overrides,
  });
  const secrets = () => ({ privateKey: h2.ssh.privateKey });

  async function createTrust(news: Record<string, unknown>): Promise<TrustOutputs> {
    const checked = await provider.check({}, { owner: `test/${RUN_PREFIX}/remote`, ...news });
    expect(checked.failures).toEqual([]);
    const created = await provider.create(checked.inputs);
    const outs = created.outs as TrustOutputs;
    live.push(outs);
    return outs;
  }
  async function deleteTrust(outs: TrustOutputs): Promise<void> {
    await provider.delete(`trust-${outs.endpoint}`, outs);
    live.splice(live.indexOf(outs), 1);
  }
  const mode = async (file: string) => (await h2.mustExec(["stat", "-c", "%a", file])).trim();
  const h2Docker = (args: string[], input?: string) =>
    h2.exec(["docker", ...args], { input, timeoutMs: 120_000 });

  beforeAll(async () => {
    run = await startTestHosts(["h2"], { label: "trust" });
    h2 = run.host("h2");
    reg = await deployRegistry(
      { ipAddresses: [run.mainAddress], users: [{ username: "pusher" }] },
      { label: "remote-trust" },
    );
    endpoint = `${run.mainAddress}:${reg.hostPort}`;
    repository = `${endpoint}/srtest/remote-${process.pid}`;
    localBefore = localState(endpoint);
    h2ConfigBefore = (await h2.fileExists("/root/.docker/config.json"))
      ? await h2.readFile("/root/.docker/config.json")
      : undefined;
    await h2.mustDocker(["tag", TEST_IMAGES.busybox, `${repository}:1`]);
  });

  afterAll(async () => {
    for (const outs of [...live]) await deleteTrust(outs).catch(() => undefined);
    await run?.stop();
    await cleanupAll();
  });

  it("H2's dockerd refuses the registry before any trust is written", async () => {
    const user = reg.credentials[0];
    const login = await h2Docker(
      ["login", endpoint, "-u", user.username, "--password-stdin"],
      user.password,
    );
    expect(login.code).not.toBe(0);
    expect(login.stderr).toMatch(UNKNOWN_AUTHORITY);
  });

  it("with trust over SSH, H2's dockerd pushes and pulls, H2's containerd pulls; this host is untouched", async () => {
    const user = reg.credentials[0];
    const outs = await createTrust({
      endpoint,
      caCertPem: reg.caCertPem,
      login: { username: user.username, password: user.password },
      containerd: {},
      connection: connection(),
      connectionSecrets: secrets(),
    });
    expect(outs.files).toEqual(
      [
        `/etc/containerd/certs.d/${endpoint}/ca.crt`,
        `/etc/containerd/certs.d/${endpoint}/hosts.toml`,
        `/etc/docker/certs.d/${endpoint}/ca.crt`,
        "/root/.docker/config.json",
      ].sort(),
    );
    expect(await mode(`/etc/docker/certs.d/${endpoint}/ca.crt`)).toBe("644");
    const hostsToml = await h2.readFile(`/etc/containerd/certs.d/${endpoint}/hosts.toml`);
    expect(hostsToml).toContain(`server = "https://${endpoint}"`);
    expect(hostsToml).toContain(`[host."https://${endpoint}"]`);
    expect(hostsToml).toContain(`ca = "/etc/containerd/certs.d/${endpoint}/ca.crt"`);

    // The auths entry written on H2 is what H2's docker CLI pushes with: no `docker login`.
    const push = await h2Docker(["push", `${repository}:1`]);
    expect(push.stderr).not.toMatch(UNKNOWN_AUTHORITY);
    expect(push.code).toBe(0);
    expect(push.stdout).toMatch(/digest: sha256:[0-9a-f]{64}/);
    await h2.mustDocker(["image", "rm", `${repository}:1`]);
    const pull = await h2Docker(["pull", `${repository}:1`]);
    expect(pull.code).toBe(0);

    const ctrPull = await h2.ctr(
      [
        "images",
        "pull",
        "--hosts-dir",
        "/etc/containerd/certs.d",
        "--user",
        `${user.username}:${user.password}`,
        `${repository}:1`,
      ],
      { timeoutMs: 120_000 },
    );
    expect(ctrPull.stderr).not.toMatch(UNKNOWN_AUTHORITY);
    expect(ctrPull.code).toBe(0);
    await h2.ctr(["images", "rm", `${repository}:1`]);

    expect(localState(endpoint)).toEqual(localBefore);
  });

  it("after delete H2's dockerd and containerd refuse again with unknown authority", async () => {
    const user = reg.credentials[0];
    await deleteTrust(live[0]);
    expect(await h2.fileExists(`/etc/docker/certs.d/${endpoint}`)).toBe(false);
    expect(await h2.fileExists(`/etc/containerd/certs.d/${endpoint}`)).toBe(false);
    if (h2ConfigBefore === undefined) {
      expect(await h2.fileExists("/root/.docker/config.json")).toBe(false);
    } else {
      expect(await h2.readFile("/root/.docker/config.json")).toBe(h2ConfigBefore);
    }
    const pull = await h2Docker(["pull", `${repository}:1`]);
    expect(pull.code).not.toBe(0);
    expect(pull.stderr).toMatch(UNKNOWN_AUTHORITY);
    const ctrPull = await h2.ctr(
      [
        "images",
        "pull",
        "--hosts-dir",
        "/etc/containerd/certs.d",
        "--user",
        `${user.username}:${user.password}`,
        `${repository}:1`,
      ],
      { timeoutMs: 120_000 },
    );
    expect(ctrPull.code).not.toBe(0);
    expect(`${ctrPull.stdout}${ctrPull.stderr}`).toMatch(UNKNOWN_AUTHORITY);
    expect(localState(endpoint)).toEqual(localBefore);
  });

  it("delivers the mTLS client pair: client.cert 0644, client.key 0600, and the pair in hosts.toml", async () => {
    const client = selfSignedCertificate("remote-client");
    const outs = await createTrust({
      endpoint,
      caCertPem: reg.caCertPem,
      clientCertPem: client.certPem,
      clientKeyPem: client.keyPem,
      containerd: {},
      // A simulated host has its own /etc/docker, /etc/containerd and /root, but shares the rest of
      // /etc with this machine: BuildKit's files go under its own /root here.
      buildkit: { configPath: "/root/buildkit/buildkitd.toml", certsDir: "/root/buildkit/certs.d" },
      connection: connection(),
      connectionSecrets: secrets(),
    });
    for (const dir of [
      `/etc/docker/certs.d/${endpoint}`,
      `/etc/containerd/certs.d/${endpoint}`,
      `/root/buildkit/certs.d/${endpoint}`,
    ]) {
      expect(await mode(`${dir}/client.cert`)).toBe("644");
      expect(await mode(`${dir}/client.key`)).toBe("600");
      expect(await h2.readFile(`${dir}/client.key`)).toBe(client.keyPem.trim() + "\n");
    }
    const hostsToml = await h2.readFile(`/etc/containerd/certs.d/${endpoint}/hosts.toml`);
    expect(hostsToml).toContain(
      `client = [ [ "/etc/containerd/certs.d/${endpoint}/client.cert", "/etc/containerd/certs.d/${endpoint}/client.key" ] ]`,
    );
    const buildkit = await h2.readFile("/root/buildkit/buildkitd.toml");
    expect(buildkit).toContain(`[registry."${endpoint}"]`);
    expect(buildkit).toContain(`ca = [ "/root/buildkit/certs.d/${endpoint}/ca.crt" ]`);
    expect(buildkit).toContain(`key = "/root/buildkit/certs.d/${endpoint}/client.key"`);
    // The key never reaches an output in plain text outside its secret input.
    expect(
      JSON.stringify({ ...outs, clientKeyPem: undefined, connectionSecrets: undefined }),
    ).not.toContain(client.keyPem.split("\n")[1]);
    await deleteTrust(outs);
    expect(await h2.fileExists(`/root/buildkit/certs.d/${endpoint}`)).toBe(false);
    expect(await h2.fileExists("/root/buildkit/buildkitd.toml")).toBe(false);
    await h2.mustExec(["rm", "-r", "/root/buildkit"]); // the roots created for the test
    expect(localState(endpoint)).toEqual(localBefore);
  });

  it("merges over SFTP and through this host's view of H2's files lose nothing (one lock)", async () => {
    // The same daemon.json and config.json, reached two ways: over SSH, and by path from here.
    const localDaemon = path.join(h2.dir, "etc-docker", "daemon.json");
    expect(fs.existsSync(path.dirname(localDaemon))).toBe(true);
    const base = (overrides: Partial<TrustInputs>): TrustInputs => ({
      endpoint: "x.test:5000",
      insecure: true,
      certsDirs: [],
      daemonConfigPath: "/etc/docker/daemon.json",
      reloadDaemon: false,
      pidFile: "/var/run/docker.pid",
      adopt: false,
      owner: "t",
      ...overrides,
    });
    const daemonBefore = (await h2.fileExists("/etc/docker/daemon.json"))
      ? await h2.readFile("/etc/docker/daemon.json")
      : undefined;
    const N = 15;
    const written: TrustOutputs[] = [];
    const worker = async (kind: "ssh" | "local", w: number) => {
      for (let i = 0; i < N; i++) {
        const endpointName = `${kind}${w}-${i}.test:5000`;
        written.push(
          await applyTrust(
            kind === "ssh"
              ? base({
                  endpoint: endpointName,
                  owner: `t/${endpointName}`,
                  connection: connection() as never,
                  connectionSecrets: secrets(),
                })
              : base({
                  endpoint: endpointName,
                  owner: `t/${endpointName}`,
                  daemonConfigPath: localDaemon,
                }),
          ),
        );
      }
    };
    await Promise.all([worker("ssh", 0), worker("ssh", 1), worker("local", 0), worker("local", 1)]);
    const listed = JSON.parse(await h2.readFile("/etc/docker/daemon.json"))[
      "insecure-registries"
    ] as string[];
    const expected = ["ssh0", "ssh1", "local0", "local1"].flatMap((k) =>
      Array.from({ length: N }, (_, i) => `${k}-${i}.test:5000`),
    );
    expect(expected.filter((e) => !listed.includes(e))).toEqual([]);
    for (const outs of written) await removeTrust(outs);
    const after = JSON.parse(await h2.readFile("/etc/docker/daemon.json"));
    expect(after["insecure-registries"]).toEqual(
      daemonBefore ? (JSON.parse(daemonBefore)["insecure-registries"] ?? []) : [],
    );
    const leftovers = (await h2.mustExec(["ls", "-A", "/etc/docker"]))
      .split("\n")
      .filter((n) => /pulumi-trust|trust-tmp/.test(n));
    expect(leftovers).toEqual([]);
  });

  it("insecure + reloadDaemon: H2's dockerd gets SIGHUP over SSH and lists the endpoint; delete takes it away", async () => {
    const listed = async () => {
      const info = await h2.mustDocker([
        "info",
        "--format",
        "{{json .RegistryConfig.IndexConfigs}}",
      ]);
      return (JSON.parse(info) as Record<string, { Secure?: boolean }>)[endpoint]?.Secure === false;
    };
    const waitFor = async (want: boolean) => {
      for (let i = 0; i < 40 && (await listed()) !== want; i++) {
        await new Promise((r) => setTimeout(r, 250));
      }
      return listed();
    };
    const localDaemonBefore = localState(endpoint)["/etc/docker/daemon.json"];
    expect(await listed()).toBe(false);
    const outs = await createTrust({
      endpoint,
      insecure: true,
      reloadDaemon: true,
      connection: connection(),
      connectionSecrets: secrets(),
    });
    expect(outs.files).toEqual(["/etc/docker/daemon.json"]);
    expect(await waitFor(true)).toBe(true);
    await deleteTrust(outs);
    expect(await waitFor(false)).toBe(false);
    expect(localState(endpoint)["/etc/docker/daemon.json"]).toBe(localDaemonBefore);
  });

  describe("failure paths", () => {
    const attempt = (overrides: Record<string, unknown>, extra: Record<string, unknown> = {}) =>
      provider
        .check(
          {},
          {
            owner: "t/failure",
            endpoint,
            caCertPem: reg.caCertPem,
            login: { username: "pusher", password: "not-used-Pa55" },
            containerd: {},
            connection: connection(overrides),
            connectionSecrets: secrets(),
            ...extra,
          },
        )
        .then((c) => provider.create(c.inputs));

    it("an address where no sshd listens: a clear error naming the host, nothing written anywhere", async () => {
      const error = (await attempt({ port: 1 }).catch((e: Error) => e)) as Error;
      expect(error.message).toMatch(
        new RegExp(
          `cannot reach root@${h2.address.replace(/\./g, "\\.")}:1 over SSH: .*ECONNREFUSED.*connection\\.host`,
        ),
      );
      expect(await h2.fileExists(`/etc/docker/certs.d/${endpoint}`)).toBe(false);
      expect(localState(endpoint)).toEqual(localBefore);
    });

    it("a key the host does not accept: a clear error, no secret in it", async () => {
      const dir = fs.mkdtempSync(path.join(os.tmpdir(), "wrong-key-"));
      try {
        execFileSync("ssh-keygen", ["-q", "-t", "ed25519", "-N", "", "-f", path.join(dir, "k")]);
        const wrong = fs.readFileSync(path.join(dir, "k"), "utf8");
        const checked = await provider.check(
          {},
          {
            owner: "t/failure",
            endpoint,
            caCertPem: reg.caCertPem,
            connection: connection(),
            connectionSecrets: { privateKey: wrong },
          },
        );
        const error = (await provider.create(checked.inputs).catch((e: Error) => e)) as Error;
        expect(error.message).toMatch(
          /cannot log in to root@.* over SSH: the server refused every credential/,
        );
        expect(error.message).not.toContain(wrong.split("\n")[1]);
      } finally {
        fs.rmSync(dir, { recursive: true, force: true });
      }
      expect(await h2.fileExists(`/etc/docker/certs.d/${endpoint}`)).toBe(false);
    });

    it("a host key that is not the pinned one: refused before logging in", async () => {
      const error = (await attempt({ hostKey: "SHA256:" + "A".repeat(43) }).catch(
        (e: Error) => e,
      )) as Error;
      expect(error.message).toMatch(
        /presented a host key that is not connection\.hostKey: refusing to connect/,
      );
    });

    it("a read-only remote directory: a clear error, and the attempt's other writes on H2 are undone", async () => {
      // Inside the host's own /root (the rest of /etc is this machine's).
      const ro = "/root/ro/certs.d";
      await h2.mustExec(["mkdir", "-p", ro]);
      await h2.mustExec(["mount", "--bind", ro, ro]);
      await h2.mustExec(["mount", "-o", "remount,bind,ro", ro]);
      try {
        const before = await h2.mustExec([
          "sh",
          "-c",
          "find /etc/docker /etc/containerd /root -xdev | sort",
        ]);
        const error = (await attempt({}, { certsDirs: ["/etc/docker/certs.d", ro] }).catch(
          (e: Error) => e,
        )) as Error;
        expect(error.message).toMatch(
          new RegExp(
            `cannot create directory ${ro}/${endpoint.replace(/\./g, "\\.")} on root@.*\\(certsDirs\\[1\\]\\): the SFTP server refused \\(permission denied or a read-only file system\\)`,
          ),
        );
        expect(error.message).toMatch(/Everything this attempt wrote on root@.* was undone/);
        expect(error.message).not.toContain("not-used-Pa55");
        const after = await h2.mustExec([
          "sh",
          "-c",
          "find /etc/docker /etc/containerd /root -xdev | sort",
        ]);
        expect(after).toBe(before);
        expect(localState(endpoint)).toEqual(localBefore);
      } finally {
        await h2.exec(["umount", ro]);
        await h2.exec(["rm", "-r", "/root/ro"]);
      }
    });
  });
});
