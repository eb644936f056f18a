/**
 * The notes' failure and its cure, through the Docker daemon itself: under a non-loopback address
 * of this machine (the daemon does not check certificates for 127.0.0.0/8), `docker login` fails
 * with an unknown-authority error until the registry's CA is in certs.d/<endpoint>/ca.crt; then
 * login, push and pull succeed. Then nothing is lost when the container is removed and created
 * again from the same declared inputs (what a certificate renewal does).
 */
import { describeWithEngine } from "../support/engine";
import {
  buildTestImage,
  cleanupAll,
  installCaCert,
  machineAddress,
  makeDockerConfigDir,
  mustRunDocker,
  RegistryDeployment,
  removeImage,
  runDocker,
  deployRegistry,
  RUN_PREFIX,
} from "../support/harness";
import { registryRequest, reportFigure } from "../support/probes";
import * as fs from "fs";
import * as path from "path";

jest.setTimeout(240_000);

describeWithEngine(
  "SecureRegistry trusted by the Docker daemon under a non-loopback address",
  () => {
    const address = machineAddress();
    let reg: RegistryDeployment;
    let configDir: string;
    let endpoint: string;
    let repository: string;
    let pushedDigest: string;
    let imageId: string;

    const login = () => {
      const user = reg.credentials[0];
      return runDocker(["login", endpoint, "--username", user.username, "--password-stdin"], {
        configDir,
        input: user.password,
        timeoutMs: 60_000,
      });
    };

    beforeAll(async () => {
      reg = await deployRegistry(
        { ipAddresses: [address], users: [{ username: "pusher" }] },
        { label: "trust" },
      );
      endpoint = `${address}:${reg.hostPort}`;
      repository = `${endpoint}/srtest/trust-${process.pid}`;
      configDir = makeDockerConfigDir().dir;
    });

    afterAll(async () => {
      if (repository) await removeImage(`${repository}:1`);
      if (imageId) await removeImage(imageId);
      await cleanupAll();
    });

    it("has a certificate valid for the machine address", async () => {
      const res = await registryRequest({
        address,
        port: reg.hostPort,
        servername: address,
        ca: reg.caCertPem,
        path: "/v2/",
      });
      expect(res.status).toBe(401);
    });

    it("docker login fails with an unknown-authority error while the CA is not trusted", async () => {
      const result = await login();
      expect(result.code).not.toBe(0);
      expect(result.stderr).toMatch(
        /x509: certificate signed by unknown authority|unknown authority/,
      );
      expect(fs.existsSync(path.join(configDir, "config.json"))).toBe(false);
    });

    it("docker login succeeds once ca.crt is in certs.d/<endpoint>/, without a daemon restart", async () => {
      const installed = installCaCert(endpoint, reg.caCertPem);
      expect(installed.path).toBe(`/etc/docker/certs.d/${endpoint}/ca.crt`);
      const result = await login();
      expect(result.stderr).not.toMatch(/unknown authority/);
      expect(result.code).toBe(0);
      const config = JSON.parse(fs.readFileSync(path.join(configDir, "config.json"), "utf8"));
      expect(Object.keys(config.auths)).toContain(endpoint);
    });

    it("pushes and pulls an image", async () => {
      const tag = `${repository}:1`;
      imageId = await buildTestImage(tag, `trust ${RUN_PREFIX} ${Date.now()}`, configDir);
      const push = await mustRunDocker(["push", tag], { configDir });
      const digest = /digest: (sha256:[0-9a-f]{64})/.exec(push)?.[1];
      expect(digest).toBeDefined();
      pushedDigest = digest!;

      await removeImage(tag);
      await mustRunDocker(["pull", tag], { configDir });
      const pulledId = await mustRunDocker(["image", "inspect", "--format", "{{.Id}}", tag], {
        configDir,
      });
      expect(pulledId.trim()).toBe(imageId);
    });

    it("loses nothing when the container is removed and recreated from the same inputs", async () => {
      expect(pushedDigest).toBeDefined();
      const before = { id: reg.containerId, volume: reg.volumeName };
      await reg.recreate();
      expect(reg.containerId).not.toBe(before.id);
      expect(reg.volumeName).toBe(before.volume);
      expect(Number.isFinite(reg.timeToHealthyMs)).toBe(true);
      reportFigure("recreateToHealthyMs", {
        fromStartRequest: reg.timeToHealthyMs,
        engineStartedAtToFirstPassingCheck: reg.engineTimeToHealthyMs,
      });

      // The same credentials still work and the same digest is served.
      const manifest = await registryRequest({
        address,
        port: reg.hostPort,
        servername: address,
        ca: reg.caCertPem,
        path: `/v2/srtest/trust-${process.pid}/manifests/${pushedDigest}`,
        method: "HEAD",
        auth: reg.credentials[0],
        headers: { Accept: "application/vnd.docker.distribution.manifest.v2+json" },
      });
      expect(manifest.status).toBe(200);
      expect(manifest.headers["docker-content-digest"]).toBe(pushedDigest);

      await removeImage(`${repository}:1`);
      await removeImage(imageId);
      await mustRunDocker(["pull", `${repository}@${pushedDigest}`], { configDir });
      const pulledId = await mustRunDocker(
        ["image", "inspect", "--format", "{{.Id}}", `${repository}@${pushedDigest}`],
        { configDir },
      );
      expect(pulledId.trim()).toBe(imageId);
      await removeImage(`${repository}@${pushedDigest}`);
    });
  },
);
