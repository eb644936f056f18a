/**
 * The policy pack as the Pulumi CLI runs it: `policy/index.ts` started in its own node process
 * (cwd = policy/, as `pulumi preview --policy-pack policy` does) serves the analyzer gRPC API on
 * loopback and prints its port; this test is the engine's side of that conversation, using
 * @pulumi/pulumi's own analyzer protocol client: GetAnalyzerInfo, Configure, Analyze (resource
 * inputs, secrets and all) and AnalyzeStack (outputs, parents and property dependencies).
 *
 * The analyzer server, the enforcement-level resolution and the property deserialization are
 * @pulumi/policy's own, not a simulation. No Pulumi CLI is needed.
 */
/* eslint-disable @typescript-eslint/no-explicit-any */
import { ChildProcess, spawn } from "child_process";
import * as path from "path";

const pulumiDir = path.dirname(require.resolve("@pulumi/pulumi/package.json"));
const fromPulumi = (id: string) => require(require.resolve(id, { paths: [pulumiDir] }));
const grpc = fromPulumi("@grpc/grpc-js");
const analyzerGrpc = require("@pulumi/pulumi/proto/analyzer_grpc_pb");
const analyzerPb = require("@pulumi/pulumi/proto/analyzer_pb");
const { Struct } = fromPulumi("google-protobuf/google/protobuf/struct_pb.js");
const { Empty } = fromPulumi("google-protobuf/google/protobuf/empty_pb.js");

const SECRET = { "4dabf18193072939515e22adb298388d": "1b47061264138c4ac30d75fd1eb44270" };
const STACK = "urn:pulumi:dev::proj::";
const LEVELS = ["advisory", "mandatory", "disabled", "remediate"];

let pack: ChildProcess | undefined;
let client: any;

function call<T>(method: string, request: unknown): Promise<T> {
  return new Promise((resolve, reject) =>
    client[method](request, (err: Error | null, res: T) => (err ? reject(err) : resolve(res))),
  );
}

beforeAll(async () => {
  const policyDir = path.join(__dirname, "../../policy");
  pack = spawn(process.execPath, ["-r", "ts-node/register/transpile-only", "index.ts"], {
    cwd: policyDir,
    stdio: ["ignore", "pipe", "pipe"],
  });
  let stderr = "";
  pack.stderr!.on("data", (chunk) => (stderr += chunk));
  const port = await new Promise<number>((resolve, reject) => {
    const timer = setTimeout(
      () => reject(new Error(`no port within 60 s; stderr: ${stderr}`)),
      60_000,
    );
    pack!.stdout!.once("data", (chunk: Buffer) => {
      clearTimeout(timer);
      resolve(Number(chunk.toString().trim()));
    });
    pack!.once("exit", (code) => reject(new Error(`policy pack exited (${code}): ${stderr}`)));
  });
  client = new analyzerGrpc.AnalyzerClient(`127.0.0.1:${port}`, grpc.credentials.createInsecure());
}, 90_000);

afterAll(() => {
  client?.close();
  if (pack?.exitCode === null) pack.kill();
});

function options(protect = false) {
  const opts = new analyzerPb.AnalyzerResourceOptions();
  opts.setProtect(protect);
  return opts;
}

function analyzeRequest(type: string, name: string, props: object) {
  const req = new analyzerPb.AnalyzeRequest();
  req.setType(type);
  req.setName(name);
  req.setUrn(`${STACK}${type}::${name}`);
  req.setProperties(Struct.fromJavaScript(props));
  req.setOptions(options());
  return req;
}

function stackResource(
  type: string,
  name: string,
  props: object,
  deps: Record<string, string[]> = {},
) {
  const r = new analyzerPb.AnalyzerResource();
  r.setType(type);
  r.setName(name);
  r.setUrn(`${STACK}${type}::${name}`);
  r.setProperties(Struct.fromJavaScript(props));
  r.setOptions(options());
  for (const [key, urns] of Object.entries(deps)) {
    const d = new analyzerPb.AnalyzerPropertyDependencies();
    d.setUrnsList(urns);
    r.getPropertydependenciesMap().set(key, d);
  }
  return r;
}

function diagnostics(res: any) {
  return res.getDiagnosticsList().map((d: any) => ({
    policy: d.getPolicyname(),
    level: LEVELS[d.getEnforcementlevel()],
    urn: d.getUrn(),
    message: d.getMessage(),
  }));
}

async function configure(config: Record<string, { level: number; props?: object }>) {
  const req = new analyzerPb.ConfigureAnalyzerRequest();
  for (const [name, { level, props }] of Object.entries(config)) {
    const c = new analyzerPb.PolicyConfig();
    c.setEnforcementlevel(level);
    c.setProperties(Struct.fromJavaScript(props ?? {}));
    req.getPolicyconfigMap().set(name, c);
  }
  await call("configure", req);
}

describe("the policy pack served over the analyzer protocol", () => {
  it("describes its five policies, mandatory, with their configuration schemas", async () => {
    const info: any = await call("getAnalyzerInfo", new Empty());
    expect(info.getName()).toBe("secure-registry");
    expect(info.getVersion()).toBe(require("../../policy/package.json").version);
    const policies = info.getPoliciesList().map((p: any) => ({
      name: p.getName(),
      level: LEVELS[p.getEnforcementlevel()],
      config: Object.keys(p.getConfigschema()?.getProperties()?.toJavaScript() ?? {}).sort(),
    }));
    expect(policies).toEqual([
      { name: "no-insecure-registries", level: "mandatory", config: ["ignore"] },
      {
        name: "registry-tls-and-auth",
        level: "mandatory",
        config: ["allowAnonymousPullThroughCaches", "ignore", "registryImages"],
      },
      {
        name: "registry-minimum-tls",
        level: "mandatory",
        config: ["ignore", "minimumVersion", "registryImages", "requireExplicit"],
      },
      { name: "pull-by-digest", level: "mandatory", config: ["ignore", "registries"] },
      {
        name: "registry-data-retained",
        level: "mandatory",
        config: ["ignore", "registryImages", "requireProtect"],
      },
    ]);
  });

  it("Analyze reports an insecure trust from its inputs, reading secret inputs without quoting them", async () => {
    await configure({});
    const trust = analyzeRequest("pulumi-nodejs:dynamic/secure-registry:TrustFiles", "lab-files", {
      endpoint: "lab.example:5000",
      insecure: true,
      login: { ...SECRET, value: { username: "u", password: "never-quoted-Pa55" } },
      __provider: "exports.handler = ... insecure-registries ...",
    });
    const found = diagnostics(await call("analyze", trust));
    expect(found).toEqual([
      expect.objectContaining({ policy: "no-insecure-registries", level: "mandatory" }),
    ]);
    expect(found[0].message).toMatch(/lists lab\.example:5000 under insecure-registries/);
    expect(found[0].message).not.toContain("never-quoted");

    const script = analyzeRequest("command:local:Command", "daemon", {
      create: {
        ...SECRET,
        value: `echo '{"insecure-registries":["10.1.2.3:5000"]}' > /etc/docker/daemon.json`,
      },
    });
    const scripted = diagnostics(await call("analyze", script));
    expect(scripted.map((d: any) => d.policy)).toEqual(["no-insecure-registries"]);
    expect(scripted[0].message).not.toContain("10.1.2.3");
  });

  it("AnalyzeStack follows a container's unknown image to its RemoteImage; Configure changes levels", async () => {
    const unknown = "04da6b54-80e4-46f7-96ec-b56ff0331ba9";
    const image = stackResource("docker:index/remoteImage:RemoteImage", "reg-image", {
      name: "registry:2",
      imageId: unknown,
    });
    const container = stackResource(
      "docker:index/container:Container",
      "reg",
      { image: unknown, envs: [], volumes: [] },
      { image: [image.getUrn()] },
    );
    const request = new analyzerPb.AnalyzeStackRequest();
    request.setResourcesList([image, container]);

    await configure({});
    const found = diagnostics(await call("analyzeStack", request));
    expect(found.map((d: any) => `${d.policy}/${d.level}/${d.urn}`)).toEqual([
      `registry-tls-and-auth/mandatory/${container.getUrn()}`,
      `registry-tls-and-auth/mandatory/${container.getUrn()}`,
      `registry-data-retained/mandatory/${container.getUrn()}`,
    ]);
    expect(found[0].message).toMatch(/through docker\.RemoteImage "reg-image"\) without TLS/);

    // 0 = advisory, 2 = disabled (the protocol's EnforcementLevel).
    await configure({
      "registry-tls-and-auth": { level: 0 },
      "registry-data-retained": { level: 2 },
    });
    const relaxed = diagnostics(await call("analyzeStack", request));
    expect(relaxed.map((d: any) => `${d.policy}/${d.level}`)).toEqual([
      "registry-tls-and-auth/advisory",
      "registry-tls-and-auth/advisory",
    ]);

    await configure({ "registry-tls-and-auth": { level: 1, props: { ignore: ["reg"] } } });
    const ignoring = diagnostics(await call("analyzeStack", request));
    expect(ignoring.map((d: any) => d.policy)).toEqual(["registry-data-retained"]);
  });
});
