/**
 * SecureRegistry as declared, run on a real engine: it turns healthy under its own health check,
 * its TLS verifies against its CA and refuses old protocol versions, and its htpasswd auth lets in
 * exactly the declared users.
 */
import { describeWithEngine } from "../support/engine";
import { cleanupAll, deployRegistry, engine, RegistryDeployment } from "../support/harness";
import {
  CLIENT_CONFIG_ERRORS,
  registryRequest,
  reportFigure,
  SERVER_VERSION_REFUSALS,
  tlsHandshake,
  TlsProbeResult,
} from "../support/probes";
import * as tls from "tls";
import { bcryptCostOf } from "../../src/auth";

jest.setTimeout(180_000);

const HOSTNAME = "registry.srtest.internal";
const REALM = "srtest private registry";
const SUPPLIED = { username: "supplied-user", password: "Supplied-passw0rd-for-tests-0123" };
/** A supplied token at the cheapest cost, and one at a cost above the default. */
const CHEAP = { username: "cheap-token", password: "Cheap-token-0123456789abcdef", bcryptCost: 4 };
const DEAR = { username: "dear-user", password: "Dear-passw0rd-for-tests", bcryptCost: 12 };

/** Offer exactly one protocol version, with every cipher allowed, so a refusal is the server's. */
function offerOnly(version: tls.SecureVersion) {
  return { minVersion: version, maxVersion: version, ciphers: "DEFAULT@SECLEVEL=0" };
}

function expectServerRefusal(result: TlsProbeResult): void {
  expect(result.ok).toBe(false);
  if (result.ok) return;
  expect(CLIENT_CONFIG_ERRORS).not.toContain(result.code);
  expect(SERVER_VERSION_REFUSALS).toContain(result.code);
}

describeWithEngine("SecureRegistry on a real engine: health, TLS, auth", () => {
  let reg: RegistryDeployment;

  beforeAll(async () => {
    reg = await deployRegistry(
      {
        hostname: HOSTNAME,
        realm: REALM,
        users: [{ username: "generated-user" }, SUPPLIED, CHEAP, DEAR],
      },
      { label: "basics" },
    );
  });

  afterAll(cleanupAll);

  describe("health", () => {
    it("turns healthy under the health check it declares, and reports start-to-healthy", async () => {
      const info = await engine().getContainer(reg.containerId).inspect();
      expect(info.State.Health?.Status).toBe("healthy");
      const declaredTest = (
        reg.declared.find((r) => r.type === "docker:index/container:Container")?.inputs
          .healthcheck as { tests: string[] } | undefined
      )?.tests;
      expect(declaredTest).toBeDefined();
      expect(info.Config.Healthcheck?.Test).toEqual(declaredTest);
      const lastCheck = info.State.Health?.Log?.at(-1);
      expect(lastCheck?.ExitCode).toBe(0);
      expect(reg.timeToHealthyMs).toBeGreaterThan(0);
      reportFigure("startToHealthyMs", {
        fromStartRequest: reg.timeToHealthyMs,
        engineStartedAtToFirstPassingCheck: reg.engineTimeToHealthyMs,
      });
    });
  });

  describe("TLS", () => {
    it("serves a certificate that verifies against caCertPem for the hostname", async () => {
      const result = await tlsHandshake({
        port: reg.hostPort,
        servername: HOSTNAME,
        ca: reg.caCertPem,
      });
      expect(result).toMatchObject({ ok: true, authorized: true });
    });

    it("is not valid for another name, nor under the public roots alone", async () => {
      const otherName = await tlsHandshake({
        port: reg.hostPort,
        servername: "not-the-registry.srtest.internal",
        ca: reg.caCertPem,
      });
      expect(otherName).toMatchObject({ ok: false, code: "ERR_TLS_CERT_ALTNAME_INVALID" });
      const publicRoots = await tlsHandshake({
        port: reg.hostPort,
        servername: HOSTNAME,
        ca: tls.rootCertificates.join("\n"),
      });
      expect(publicRoots.ok).toBe(false);
    });

    it.each(["TLSv1", "TLSv1.1"] as const)("refuses %s with a protocol alert", async (version) => {
      expectServerRefusal(
        await tlsHandshake({ port: reg.hostPort, servername: HOSTNAME, ...offerOnly(version) }),
      );
    });

    it.each(["TLSv1.2", "TLSv1.3"] as const)(
      "accepts %s (the same probe succeeds, so refusals above are real)",
      async (version) => {
        const result = await tlsHandshake({
          port: reg.hostPort,
          servername: HOSTNAME,
          ...offerOnly(version),
        });
        expect(result).toMatchObject({ ok: true, protocol: version });
      },
    );
  });

  describe("auth", () => {
    const get = (auth?: { username: string; password: string }) =>
      registryRequest({
        port: reg.hostPort,
        servername: HOSTNAME,
        ca: reg.caCertPem,
        path: "/v2/",
        auth,
      });

    it("answers anonymous GET /v2/ with 401 and the configured realm", async () => {
      const res = await get();
      expect(res.status).toBe(401);
      expect(res.headers["www-authenticate"]).toBe(`Basic realm="${REALM}"`);
    });

    it("outputs one credential per declared user, the supplied password unchanged", () => {
      expect(reg.credentials.map((c) => c.username).sort()).toEqual(
        ["generated-user", SUPPLIED.username, CHEAP.username, DEAR.username].sort(),
      );
      expect(reg.credentials.find((c) => c.username === SUPPLIED.username)?.password).toBe(
        SUPPLIED.password,
      );
      const generated = reg.credentials.find((c) => c.username === "generated-user");
      expect(generated?.password.length).toBeGreaterThanOrEqual(16);
    });

    it("delivers each line at its bcrypt cost (4 generated, 10 supplied, or as chosen)", async () => {
      const htpasswd = String(reg.outputs.htpasswd);
      const costs = Object.fromEntries(
        htpasswd
          .trimEnd()
          .split("\n")
          .map((line) => [
            line.slice(0, line.indexOf(":")),
            bcryptCostOf(line.slice(line.indexOf(":") + 1)),
          ]),
      );
      expect(costs).toEqual({
        "generated-user": 4,
        [SUPPLIED.username]: 10,
        [CHEAP.username]: 4,
        [DEAR.username]: 12,
      });
    });

    it("accepts each generated and supplied credential, at every cost", async () => {
      for (const credential of reg.credentials) {
        const res = await get(credential);
        expect({ user: credential.username, status: res.status }).toEqual({
          user: credential.username,
          status: 200,
        });
      }
    });

    it("refuses a wrong password and an unknown user with 401", async () => {
      for (const credential of reg.credentials) {
        const res = await get({
          username: credential.username,
          password: `${credential.password}x`,
        });
        expect({ user: credential.username, status: res.status }).toEqual({
          user: credential.username,
          status: 401,
        });
      }
      const stranger = await get({ username: "stranger", password: SUPPLIED.password });
      expect(stranger.status).toBe(401);
    });
  });
});

describeWithEngine("SecureRegistry on a real engine: tls.minimumVersion tls1.3", () => {
  let reg: RegistryDeployment;

  beforeAll(async () => {
    reg = await deployRegistry(
      { hostname: HOSTNAME, tls: { minimumVersion: "tls1.3" }, users: [{ username: "u" }] },
      { label: "tls13" },
    );
  });

  afterAll(cleanupAll);

  it("turns healthy", async () => {
    const info = await engine().getContainer(reg.containerId).inspect();
    expect(info.State.Health?.Status).toBe("healthy");
    reportFigure("startToHealthyMs.tls13", {
      fromStartRequest: reg.timeToHealthyMs,
      engineStartedAtToFirstPassingCheck: reg.engineTimeToHealthyMs,
    });
  });

  it.each(["TLSv1", "TLSv1.1", "TLSv1.2"] as const)(
    "refuses %s with a protocol alert",
    async (version) => {
      expectServerRefusal(
        await tlsHandshake({ port: reg.hostPort, servername: HOSTNAME, ...offerOnly(version) }),
      );
    },
  );

  it("accepts TLS 1.3 with a certificate that verifies against caCertPem", async () => {
    const result = await tlsHandshake({
      port: reg.hostPort,
      servername: HOSTNAME,
      ca: reg.caCertPem,
      minVersion: "TLSv1.3",
    });
    expect(result).toMatchObject({ ok: true, authorized: true, protocol: "TLSv1.3" });
  });
});
