/**
 * The registry's configuration on a real engine: values YAML would misread reach distribution
 * exactly as given, the generated http.secret reaches the registry process, and no secret is in
 * the container's environment (`docker inspect`), only in the files the launcher exports.
 */
import { describeWithEngine } from "../support/engine";
import {
  cleanupAll,
  deployRegistry,
  engine,
  execInContainer,
  RegistryDeployment,
} from "../support/harness";
import { unwrapSecrets } from "../support/mocks";
import { registryRequest } from "../support/probes";

jest.setTimeout(180_000);

const HOSTNAME = "registry.srtest.internal";
// Each would stop the registry or be cut short if passed to distribution unquoted.
const REALM = "team: platform #1";
const LOG_FIELDS = {
  REGISTRY_LOG_FIELDS_ENVIRONMENT: "x #y",
  REGISTRY_LOG_FIELDS_TEAM: "- a",
  REGISTRY_LOG_FIELDS_ANCHOR: "*ref",
};
const TOKEN = "token-value-not-for-inspect-0123";

describeWithEngine("SecureRegistry configuration on a real engine", () => {
  let reg: RegistryDeployment;

  beforeAll(async () => {
    reg = await deployRegistry(
      {
        hostname: HOSTNAME,
        realm: REALM,
        env: {
          ...LOG_FIELDS,
          REGISTRY_NOTIFICATIONS_ENDPOINTS_0_HEADERS_AUTHORIZATION_TOKEN: TOKEN,
        },
      },
      { label: "config" },
    );
  });

  afterAll(cleanupAll);

  it("serves the realm exactly as given", async () => {
    const res = await registryRequest({
      port: reg.hostPort,
      servername: HOSTNAME,
      ca: reg.caCertPem,
      path: "/v2/",
    });
    expect(res.status).toBe(401);
    expect(res.headers["www-authenticate"]).toBe(`Basic realm="${REALM}"`);
  });

  it("passes env values YAML would misread exactly as given", async () => {
    const logs = await reg.logs(200);
    for (const value of Object.values(LOG_FIELDS)) {
      // logrus' text formatter quotes values with spaces and special characters.
      expect(logs).toMatch(
        new RegExp(
          `=(?:"${value.replace(/[*#-]/g, "\\$&")}"|${value.replace(/[*#-]/g, "\\$&")})( |$)`,
          "m",
        ),
      );
    }
  });

  it("gives the registry process the generated http.secret; docker inspect shows no secret", async () => {
    const password = reg.declared.find(
      (r) =>
        r.type === "random:index/randomPassword:RandomPassword" && r.name.endsWith("-http-secret"),
    );
    expect(password).toBeDefined();
    const secret = unwrapSecrets(password!.state).result as string;
    expect(secret).toMatch(/^[A-Za-z0-9]{48}$/);

    const environ = (await execInContainer(reg.containerId, ["cat", "/proc/1/environ"])).split(
      "\0",
    );
    expect(environ).toContain(`REGISTRY_HTTP_SECRET=${secret}`);
    expect(environ).toContain(
      `REGISTRY_NOTIFICATIONS_ENDPOINTS_0_HEADERS_AUTHORIZATION_TOKEN=${TOKEN}`,
    );
    // PID 1 is the registry itself (the launcher exec'd it), so it receives SIGTERM.
    expect(
      (await execInContainer(reg.containerId, ["cat", "/proc/1/cmdline"])).split("\0"),
    ).toEqual(["/bin/registry", "serve", "/etc/secure-registry/config.yml", ""]);

    const info = await engine().getContainer(reg.containerId).inspect();
    const inspectText = JSON.stringify(info);
    expect(inspectText).not.toContain(secret);
    expect(inspectText).not.toContain(TOKEN);
    expect(info.Config.Env).toEqual(
      expect.arrayContaining([`REGISTRY_AUTH_HTPASSWD_REALM="${REALM}"`]),
    );
  });
});
