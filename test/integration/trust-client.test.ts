/**
 * RegistryClientTrust's provider on the real host: a SecureRegistry runs on the engine under a
 * non-loopback address of this machine (the daemon does not check certificates for 127.0.0.0/8),
 * and the provider's create()/delete() write and remove the real trust files:
 * - /etc/docker/certs.d: the daemon logs in, pushes and pulls; after delete it refuses again with
 *   the unknown-authority error;
 * - /etc/containers/certs.d alone: skopeo copies an image; after delete it refuses again;
 * - insecure + reloadDaemon on the real /etc/docker/daemon.json (backed up byte for byte and
 *   restored, dockerd reloaded again): `docker info` lists the endpoint, delete takes it away.
 */
import { execFile } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { describeWithEngine } from "../support/engine";
import {
  buildTestImage,
  cleanupAll,
  deployRegistry,
  machineAddress,
  makeDockerConfigDir,
  mustRunDocker,
  RegistryDeployment,
  removeImage,
  runDocker,
  RUN_PREFIX,
} from "../support/harness";
import { TrustOutputs } from "../../src/trust/apply";
import { trustProvider } from "../../src/trust/provider";

jest.setTimeout(300_000);

const DOCKER_CERTS = "/etc/docker/certs.d";
const CONTAINERS_CERTS = "/etc/containers/certs.d";
const DAEMON_JSON = "/etc/docker/daemon.json";
const UNKNOWN_AUTHORITY = /x509: certificate signed by unknown authority|unknown authority/;

const provider = trustProvider as Required<typeof trustProvider>;

/** check + create, as the engine calls them; returns the outputs for delete. */
async function createTrust(news: Record<string, unknown>): Promise<TrustOutputs> {
  const checked = await provider.check({}, news);
  expect(checked.failures).toEqual([]);
  const created = await provider.create(checked.inputs);
  return created.outs as TrustOutputs;
}

function run(
  file: string,
  args: string[],
  env: Record<string, string> = {},
): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(
      file,
      args,
      { env: { ...process.env, ...env }, timeout: 120_000, maxBuffer: 16 * 1024 * 1024 },
      (error, stdout, stderr) => {
        const code = error ? (typeof error.code === "number" ? error.code : 1) : 0;
        resolve({ code, stdout: String(stdout), stderr: String(stderr) });
      },
    );
  });
}

/** Polls `docker info` (bounded: 40 x 250 ms) until `insecure` says whether `endpoint` is listed. */
async function waitForInsecureListing(
  endpoint: string,
  listed: boolean,
  configDir: string,
): Promise<string> {
  let info = "";
  for (let i = 0; i < 40; i++) {
    info = await mustRunDocker(["info", "--format", "{{json .RegistryConfig}}"], { configDir });
    const config = JSON.parse(info) as {
      IndexConfigs?: Record<string, { Secure?: boolean }>;
    };
    const isListed = config.IndexConfigs?.[endpoint]?.Secure === false;
    if (isListed === listed) return info;
    await new Promise((r) => setTimeout(r, 250));
  }
  return info;
}

describeWithEngine("RegistryClientTrust provider on this host's Docker, skopeo and dockerd", () => {
  const address = machineAddress();
  let reg: RegistryDeployment;
  let endpoint: string;
  let configDir: string;
  let repository: string;
  let imageId: string;
  const rootsBefore = new Map<string, boolean>();
  const live: TrustOutputs[] = [];

  const deleteTrust = async (outs: TrustOutputs) => {
    await provider.delete(`trust-${outs.endpoint}`, outs);
    live.splice(live.indexOf(outs), 1);
  };

  beforeAll(async () => {
    for (const root of [DOCKER_CERTS, CONTAINERS_CERTS]) rootsBefore.set(root, fs.existsSync(root));
    reg = await deployRegistry(
      { ipAddresses: [address], users: [{ username: "pusher" }] },
      { label: "client-trust" },
    );
    endpoint = `${address}:${reg.hostPort}`;
    repository = `${endpoint}/srtest/client-trust-${process.pid}`;
    configDir = makeDockerConfigDir().dir;
    // A fresh endpoint (free port): nothing may already be trusted for it.
    for (const root of [DOCKER_CERTS, CONTAINERS_CERTS]) {
      expect(fs.existsSync(path.join(root, endpoint))).toBe(false);
    }
    imageId = await buildTestImage(`${repository}:1`, `client-trust ${RUN_PREFIX}`, configDir);
  });

  afterAll(async () => {
    for (const outs of [...live]) await deleteTrust(outs).catch(() => undefined);
    for (const [root, existed] of rootsBefore) {
      // A certs root the provider created stays after delete (it is configuration, not an
      // entry); this test removes it again when it is empty.
      if (!existed) {
        try {
          fs.rmdirSync(root);
        } catch {
          // Not empty (another suite uses it) or already gone.
        }
      }
    }
    if (repository) {
      await removeImage(`${repository}:1`);
      await removeImage(`${repository}:skopeo`);
    }
    if (imageId) await removeImage(imageId);
    await cleanupAll();
  });

  it("the daemon refuses the registry before any trust is written", async () => {
    const user = reg.credentials[0];
    const result = await runDocker(
      ["login", endpoint, "--username", user.username, "--password-stdin"],
      { configDir, input: user.password, timeoutMs: 60_000 },
    );
    expect(result.code).not.toBe(0);
    expect(result.stderr).toMatch(UNKNOWN_AUTHORITY);
  });

  it("with the provider's certs.d file and auths entry, the daemon logs in, pushes and pulls", async () => {
    const user = reg.credentials[0];
    const outs = await createTrust({
      endpoint,
      caCertPem: reg.caCertPem,
      certsDirs: [DOCKER_CERTS],
      login: { username: user.username, password: user.password },
      clientConfigPath: path.join(configDir, "config.json"),
    });
    live.push(outs);
    expect(outs.files).toEqual(
      [path.join(configDir, "config.json"), `${DOCKER_CERTS}/${endpoint}/ca.crt`].sort(),
    );
    expect(fs.statSync(`${DOCKER_CERTS}/${endpoint}/ca.crt`).mode & 0o777).toBe(0o644);

    // The auths entry the provider wrote is what push uses: no `docker login` first.
    const push = await mustRunDocker(["push", `${repository}:1`], { configDir });
    expect(push).toMatch(/digest: sha256:[0-9a-f]{64}/);
    await removeImage(`${repository}:1`);
    await mustRunDocker(["pull", `${repository}:1`], { configDir });
    const pulled = await mustRunDocker(
      ["image", "inspect", "--format", "{{.Id}}", `${repository}:1`],
      {
        configDir,
      },
    );
    expect(pulled.trim()).toBe(imageId);

    // And an interactive-style login (the loginCommand form) is accepted too.
    const login = await runDocker(
      ["login", endpoint, "--username", user.username, "--password-stdin"],
      { configDir, input: user.password, timeoutMs: 60_000 },
    );
    expect(login.stderr).not.toMatch(UNKNOWN_AUTHORITY);
    expect(login.code).toBe(0);
  });

  it("after delete the daemon refuses again with the unknown-authority error", async () => {
    const outs = live[0];
    await deleteTrust(outs);
    expect(fs.existsSync(path.join(DOCKER_CERTS, endpoint))).toBe(false);
    const configFile = path.join(configDir, "config.json");
    if (fs.existsSync(configFile)) {
      expect(JSON.parse(fs.readFileSync(configFile, "utf8")).auths?.[endpoint]).toBeUndefined();
    }

    // The image is still local; pull asks the registry all the same.
    const pull = await runDocker(["pull", `${repository}:1`], { configDir, timeoutMs: 60_000 });
    expect(pull.code).not.toBe(0);
    expect(pull.stderr).toMatch(UNKNOWN_AUTHORITY);
  });

  it("skopeo copies an image with only the /etc/containers/certs.d trust, and not without it", async () => {
    const user = reg.credentials[0];
    const authDir = fs.mkdtempSync(path.join(os.tmpdir(), `${RUN_PREFIX}-skopeo-auth-`));
    const authfile = path.join(authDir, "auth.json");
    const copy = () =>
      run("skopeo", [
        "copy",
        "--authfile",
        authfile,
        `docker-daemon:${repository}:1`,
        `docker://${repository}:skopeo`,
      ]);
    try {
      const outs = await createTrust({
        endpoint,
        caCertPem: reg.caCertPem,
        certsDirs: [CONTAINERS_CERTS],
        login: { username: user.username, password: user.password },
        clientConfigPath: authfile,
      });
      live.push(outs);
      // Docker's own certs.d has nothing for this endpoint: only the containers trust applies.
      expect(fs.existsSync(path.join(DOCKER_CERTS, endpoint))).toBe(false);
      const ok = await copy();
      expect(ok.stderr).not.toMatch(UNKNOWN_AUTHORITY);
      expect(ok.code).toBe(0);
      const inspect = await run("skopeo", [
        "inspect",
        "--authfile",
        authfile,
        `docker://${repository}:skopeo`,
      ]);
      expect(inspect.code).toBe(0);
      expect(JSON.parse(inspect.stdout).Name).toBe(repository);

      await deleteTrust(outs);
      expect(fs.existsSync(path.join(CONTAINERS_CERTS, endpoint))).toBe(false);
      // The login went with it (the provider created the authfile, so it is gone); give skopeo
      // the credentials again so that only the missing CA can fail the copy.
      fs.writeFileSync(
        authfile,
        JSON.stringify({
          auths: {
            [endpoint]: {
              auth: Buffer.from(`${user.username}:${user.password}`).toString("base64"),
            },
          },
        }),
        { mode: 0o600 },
      );
      const refused = await copy();
      expect(refused.code).not.toBe(0);
      expect(refused.stderr).toMatch(UNKNOWN_AUTHORITY);
    } finally {
      fs.rmSync(authDir, { recursive: true, force: true });
    }
  });

  it("insecure + reloadDaemon makes docker info list the endpoint; delete takes it away", async () => {
    const backup = fs.existsSync(DAEMON_JSON) ? fs.readFileSync(DAEMON_JSON) : undefined;
    const reloadRealDockerd = () =>
      process.kill(Number(fs.readFileSync("/var/run/docker.pid", "utf8").trim()), "SIGHUP");
    try {
      expect(JSON.parse(await waitForInsecureListing(endpoint, false, configDir))).toBeDefined();
      const outs = await createTrust({
        endpoint,
        insecure: true,
        reloadDaemon: true,
      });
      live.push(outs);
      expect(outs.files).toEqual([DAEMON_JSON]);
      const listed = JSON.parse(await waitForInsecureListing(endpoint, true, configDir));
      expect(listed.IndexConfigs[endpoint]).toMatchObject({ Name: endpoint, Secure: false });

      // With certificate checks off, login works without any CA in certs.d.
      expect(fs.existsSync(path.join(DOCKER_CERTS, endpoint))).toBe(false);
      const user = reg.credentials[0];
      const login = await runDocker(
        ["login", endpoint, "--username", user.username, "--password-stdin"],
        { configDir, input: user.password, timeoutMs: 60_000 },
      );
      expect(login.code).toBe(0);

      await deleteTrust(outs);
      const unlisted = JSON.parse(await waitForInsecureListing(endpoint, false, configDir));
      expect(unlisted.IndexConfigs?.[endpoint]).toBeUndefined();
      // daemon.json is what it was, plus an "insecure-registries" key that may now be empty:
      // dockerd's reload only applies keys present in the file.
      const expected = backup === undefined ? {} : JSON.parse(backup.toString("utf8"));
      expected["insecure-registries"] = expected["insecure-registries"] ?? [];
      expect(JSON.parse(fs.readFileSync(DAEMON_JSON, "utf8"))).toEqual(expected);
    } finally {
      // dockerd's reload ignores keys absent from the file, so first reload with the original
      // list present (empty when there was none), wait until the endpoint is gone, then put the
      // original bytes back.
      const original = backup === undefined ? {} : JSON.parse(backup.toString("utf8"));
      fs.writeFileSync(
        DAEMON_JSON,
        JSON.stringify({
          ...original,
          "insecure-registries": original["insecure-registries"] ?? [],
        }),
      );
      reloadRealDockerd();
      await waitForInsecureListing(endpoint, false, configDir);
      if (backup === undefined) fs.rmSync(DAEMON_JSON, { force: true });
      else fs.writeFileSync(DAEMON_JSON, backup);
      reloadRealDockerd();
    }
  });
});
