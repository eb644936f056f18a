/**
 * Waiting for a container's health check (src/engine/health.ts), on the real engine: returns when
 * the check passes, woken by the engine's events rather than by polling; fails at once, naming the
 * container and why, when the container is unhealthy, exits, has no health check or is removed;
 * fails at its timeout otherwise. The HealthyContainer provider is also run in its serialized form
 * (as Pulumi stores it) in a plain node process. SecureRegistry's own wait runs in every harness
 * deployment (test/support/harness.ts), e.g. registry-basics.test.ts.
 */
import { execFileSync } from "child_process";
import Docker from "dockerode";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { connectEngine, Engine } from "../../src/engine/connection";
import { waitUntilHealthy } from "../../src/engine/health";
import { describeWithEngine, TEST_IMAGES } from "../support/engine";
import {
  cleanupAll,
  engine,
  OWNER_LABEL,
  PID_LABEL,
  registerCleanup,
  uniqueName,
} from "../support/harness";

jest.setTimeout(120_000);
const REPO = path.resolve(__dirname, "..", "..");
const MS = 1_000_000; // nanoseconds, as the Engine API counts health-check durations

/** Starts a busybox container running `script`, with `healthcheck` (none if undefined). */
async function start(
  label: string,
  script: string,
  healthcheck?: Docker.HealthConfig,
  restart = "always",
): Promise<Docker.Container> {
  const container = await engine().createContainer({
    name: uniqueName(label),
    Image: TEST_IMAGES.busybox,
    Cmd: ["sh", "-c", script],
    Labels: { [OWNER_LABEL]: "harness", [PID_LABEL]: String(process.pid) },
    Healthcheck: healthcheck,
    HostConfig: { RestartPolicy: { Name: restart } },
  });
  registerCleanup(() => container.remove({ force: true }).catch(() => undefined));
  await container.start();
  return container;
}

/** Passes once the script has touched /tmp/ready; probes every 100 ms. */
const READY_CHECK: Docker.HealthConfig = {
  Test: ["CMD-SHELL", "test -f /tmp/ready"],
  Interval: 100 * MS,
  Timeout: 5000 * MS,
  Retries: 1000,
};

describeWithEngine("waiting for a container's health check", () => {
  let local: Engine;
  beforeAll(async () => {
    local = await connectEngine(undefined);
  });
  afterAll(() => cleanupAll());

  test("returns as soon as the check passes: woken by the engine's event, not a timer", async () => {
    const container = await start(
      "ready",
      "sleep 1; touch /tmp/ready; exec sleep 120",
      READY_CHECK,
    );
    // With no periodic inspect before the 30 s deadline, only the health_status event can end
    // the wait earlier than that.
    const result = await waitUntilHealthy(local, container.id, {
      timeoutSeconds: 30,
      inspectEveryMs: 60_000,
    });
    expect(result.containerId).toBe(container.id);
    expect(result.waitedMs).toBeLessThan(30_000);
    const info = await container.inspect();
    expect(info.State.Health?.Status).toBe("healthy");
    expect(info.State.Health?.Log?.some((entry) => entry.ExitCode === 0)).toBe(true);
    console.log(`healthy seen ${result.waitedMs} ms after the wait began`);
  });

  test("an unhealthy container fails the wait at once, with the last probe's output", async () => {
    const container = await start("unhealthy", "exec sleep 120", {
      Test: ["CMD-SHELL", "echo no storage; exit 1"],
      Interval: 100 * MS,
      Retries: 1,
    });
    const name = (await container.inspect()).Name.slice(1);
    await expect(waitUntilHealthy(local, container.id, { timeoutSeconds: 60 })).rejects.toThrow(
      `container ${name} on unix:///var/run/docker.sock is unhealthy (last probe exited 1: no storage). ` +
        `Its log tells why: \`docker logs ${name}\`.`,
    );
  });

  test("a container that exits while starting fails the wait with its exit code, not at the timeout", async () => {
    const container = await start("exits", "sleep 0.3; exit 3", READY_CHECK, "no");
    await expect(waitUntilHealthy(local, container.id, { timeoutSeconds: 60 })).rejects.toThrow(
      /exited with code 3 before its health check passed\. Its log tells why/,
    );
    // Restarted by its policy (as the registry is): seen stopped, restarting or restarted.
    const looping = await start("crash-loop", "sleep 0.3; exit 3", READY_CHECK);
    await expect(waitUntilHealthy(local, looping.id, { timeoutSeconds: 60 })).rejects.toThrow(
      /exited (with code 3 )?before its health check passed/,
    );
  });

  test("no health check, a timeout, a removed container: each a clear error", async () => {
    const bare = await start("bare", "exec sleep 120");
    await expect(waitUntilHealthy(local, bare.id, { timeoutSeconds: 10 })).rejects.toThrow(
      /has no health check to wait for/,
    );

    const never = await start("never", "exec sleep 120", READY_CHECK);
    await expect(waitUntilHealthy(local, never.id, { timeoutSeconds: 1 })).rejects.toThrow(
      /is not healthy within 1 s \(health starting; last probe exited 1/,
    );

    const removed = await start("removed", "exec sleep 120", READY_CHECK);
    const waiting = waitUntilHealthy(local, removed.id, {
      timeoutSeconds: 60,
      inspectEveryMs: 60_000,
    });
    // The engine reports the kill (die) and then the removal (destroy): either ends the wait.
    const outcome = expect(waiting).rejects.toThrow(/exited with code 137 before|no longer exists/);
    await new Promise((resolve) => setTimeout(resolve, 300));
    await removed.remove({ force: true });
    await outcome;
  });

  test("the HealthyContainer provider, serialized as Pulumi stores it, waits in a plain node process", async () => {
    const container = await start(
      "serialized",
      "sleep 0.5; touch /tmp/ready; exec sleep 120",
      READY_CHECK,
    );
    const tmp = fs.mkdtempSync(path.join(os.tmpdir(), "health-provider-"));
    registerCleanup(async () => fs.rmSync(tmp, { recursive: true, force: true }));
    const requireFromString = require.resolve("require-from-string", {
      paths: [path.dirname(require.resolve("@pulumi/pulumi/package.json"))],
    });
    const serialize = path.join(tmp, "serialize.js");
    fs.writeFileSync(
      serialize,
      `require(${JSON.stringify(require.resolve("ts-node"))}).register({ transpileOnly: true, project: ${JSON.stringify(path.join(REPO, "tsconfig.json"))} });
const { healthyContainerProvider } = require(${JSON.stringify(path.join(REPO, "src/engine/health-provider.ts"))});
const sc = require("@pulumi/pulumi/runtime/closure/serializeClosure");
sc.serializeFunction(() => healthyContainerProvider, { allowSecrets: true }).then((s) =>
  require("fs").writeFileSync(${JSON.stringify(path.join(tmp, "provider.js"))}, s.text));
`,
    );
    const run = path.join(tmp, "run.js");
    fs.writeFileSync(
      run,
      `const provider = require(${JSON.stringify(requireFromString)})(
  require("fs").readFileSync(${JSON.stringify(path.join(tmp, "provider.js"))}, "utf8")).handler();
provider.create({ container: ${JSON.stringify(container.id)}, timeoutSeconds: 60 })
  .then((r) => console.log(JSON.stringify(r)), (e) => { console.error(e.message); process.exit(1); });
`,
    );
    // Pulumi's provider host runs in the program's directory: npm modules come from there.
    const node = (script: string) =>
      execFileSync(process.execPath, [script], {
        cwd: REPO,
        env: { ...process.env, NODE_PATH: path.join(REPO, "node_modules") },
        encoding: "utf8",
        timeout: 90_000,
      });
    node(serialize);
    const created = JSON.parse(node(run));
    expect(created).toEqual({
      id: container.id,
      outs: {
        container: container.id,
        timeoutSeconds: 60,
        engineAddress: "unix:///var/run/docker.sock",
      },
    });
    expect((await container.inspect()).State.Health?.Status).toBe("healthy");
  });
});
