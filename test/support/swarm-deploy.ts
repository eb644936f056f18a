/**
 * Runs what a component DECLARES as a Swarm service on a real swarm (test/support/swarm.ts), the
 * way `pulumi up` and the docker provider would: the exact `docker.Secret`, `docker.ServiceConfig`
 * and `docker.Service` inputs recorded under mocks, translated by service-spec.ts into Engine API
 * calls against the manager's engine. Nothing about the service is written here.
 *
 *   const deployment = await runDeclaredService(swarm.manager, declared);
 *   const report = await deployment.apply(declaredAgain);   // a second `pulumi up`
 *   await deployment.destroy();                             // `pulumi destroy`
 *
 * `apply` follows Pulumi's order for a changed program: a secret or config whose inputs changed is
 * REPLACED (the provider marks name and data ForceNew) with create-before-delete: the new object
 * is created first, then the service is updated to refer to it (and, with `convergeConfig`,
 * awaited as the provider does), and only then the old object is deleted. Unchanged resources are
 * left alone: a second run with identical inputs changes nothing on the swarm.
 */
import type Docker from "dockerode";
import type { TestHost } from "./hosts";
import type { DeclaredResource } from "./mocks";
import { unwrapSecrets } from "./mocks";
import { ConvergeSettings, serviceSpec, swarmObjectSpec } from "./service-spec";

const SERVICE = "docker:index/service:Service";
const SECRET = "docker:index/secret:Secret";
const CONFIG = "docker:index/serviceConfig:ServiceConfig";

interface SwarmObject {
  kind: "secret" | "config";
  /** Logical (Pulumi) name. */
  resourceName: string;
  /** Engine ID. */
  id: string;
  /** Swarm name. */
  name: string;
  /** Inputs as declared (secrets wrapped), for change detection. */
  inputsJson: string;
}

export interface ApplyReport {
  /** Swarm names of secrets and configs created (replacements). */
  created: string[];
  /** Swarm names of secrets and configs deleted after the service moved on. */
  deleted: string[];
  /** True when the service spec changed. */
  serviceUpdated: boolean;
}

export interface ServiceDeployment {
  readonly serviceId: string;
  readonly serviceName: string;
  /** Current secrets and configs (after the last apply). */
  objects(): readonly { kind: string; resourceName: string; name: string; id: string }[];
  /** The translated spec last sent. */
  spec(): Record<string, unknown>;
  /** A later declaration of the same component, applied as `pulumi up` would. */
  apply(next: readonly DeclaredResource[]): Promise<ApplyReport>;
  /** Removes the service, then its secrets and configs (idempotent). */
  destroy(): Promise<void>;
  /** `docker service ps --no-trunc` on the manager, for messages. */
  describe(): Promise<string>;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Refuses declarations the runner does not reproduce (like harness.ts `runDeclared`). */
function checkSupported(declared: readonly DeclaredResource[]): void {
  for (const r of declared) {
    if (!r.custom || /^(tls|random):/.test(r.type)) continue;
    if (![SERVICE, SECRET, CONFIG].includes(r.type)) {
      throw new Error(`declared ${r.type} "${r.name}" is not run by swarm-deploy.ts`);
    }
  }
  if (declared.filter((r) => r.type === SERVICE).length !== 1) {
    throw new Error("swarm-deploy.ts runs exactly one declared docker.Service");
  }
}

function kindOf(type: string): "secret" | "config" {
  return type === SECRET ? "secret" : "config";
}

async function createObject(engine: Docker, r: DeclaredResource): Promise<SwarmObject> {
  const kind = kindOf(r.type);
  const body = swarmObjectSpec(
    unwrapSecrets(r.inputs),
    r.type === SECRET ? "Secret" : "ServiceConfig",
  );
  const created =
    kind === "secret" ? await engine.createSecret(body) : await engine.createConfig(body);
  return {
    kind,
    resourceName: r.name,
    id: (created as { id: string }).id,
    name: body.Name,
    inputsJson: JSON.stringify(r.inputs),
  };
}

async function removeObject(engine: Docker, o: SwarmObject): Promise<void> {
  try {
    if (o.kind === "secret") await engine.getSecret(o.id).remove();
    else await engine.getConfig(o.id).remove();
  } catch (err) {
    if ((err as { statusCode?: number }).statusCode !== 404) throw err;
  }
}

/**
 * Runs `declared` (one component's resources under mocks) on `manager`'s swarm. Throws when the
 * declaration cannot be translated, or when the service does not converge within the declared
 * `convergeConfig.timeout` (with `docker service ps` in the message).
 */
export async function runDeclaredService(
  manager: TestHost,
  declared: readonly DeclaredResource[],
): Promise<ServiceDeployment> {
  checkSupported(declared);
  const engine = manager.dockerode();
  let objects: SwarmObject[] = [];
  let current = declared;
  let lastSpec: Record<string, unknown> = {};
  let serviceId = "";
  let serviceName = "";

  /** Secret and config references: the declared mock id must name a declared object. */
  const resolver =
    (decl: readonly DeclaredResource[]) =>
    (kind: "secret" | "config", mockId: string, name: string): string => {
      const resource = decl.find(
        (r) => r.id === mockId && (r.type === SECRET ? "secret" : "config") === kind,
      );
      if (!resource || unwrapSecrets(resource.inputs).name !== name) {
        throw new Error(`the service refers to ${kind} ${name} (${mockId}), which is not declared`);
      }
      const live = objects.find((o) => o.kind === kind && o.name === name);
      if (!live) throw new Error(`${kind} ${name} does not exist on the swarm`);
      return live.id;
    };

  const describe = async (): Promise<string> => {
    const r = await manager.docker(["service", "ps", "--no-trunc", serviceName]);
    return `${r.stdout}${r.stderr}`;
  };

  /** All tasks that should run are running (the provider's create convergence). */
  const waitRunning = async (converge: ConvergeSettings): Promise<void> => {
    const deadline = Date.now() + converge.timeoutMs;
    for (;;) {
      const service = await engine.getService(serviceId).inspect();
      const want = service.Spec?.Mode?.Replicated?.Replicas ?? 0;
      const tasks = await engine.listTasks({
        filters: JSON.stringify({ service: [serviceId], "desired-state": ["running"] }),
      });
      const running = tasks.filter(
        (t: { Status?: { State?: string } }) => t.Status?.State === "running",
      );
      if (running.length >= want && tasks.length === running.length) return;
      if (Date.now() > deadline) {
        throw new Error(
          `service ${serviceName} did not converge within ${converge.timeoutMs} ms:\n${await describe()}`,
        );
      }
      await sleep(converge.delayMs);
    }
  };

  /** The update finished (the provider's update convergence); rollbacks and pauses fail. */
  const waitUpdated = async (converge: ConvergeSettings, previousStart?: string): Promise<void> => {
    const deadline = Date.now() + converge.timeoutMs;
    for (;;) {
      await sleep(converge.delayMs);
      const status = (await engine.getService(serviceId).inspect()).UpdateStatus as
        { State?: string; StartedAt?: string; Message?: string } | undefined;
      const started = status !== undefined && status.StartedAt !== previousStart;
      if (started && status.State === "completed") return;
      if (started && status.State !== "updating") {
        throw new Error(
          `service ${serviceName} update ended ${status.State}: ${status.Message}\n${await describe()}`,
        );
      }
      if (Date.now() > deadline) {
        throw new Error(
          `service ${serviceName} update not completed within ${converge.timeoutMs} ms:\n${await describe()}`,
        );
      }
    }
  };

  try {
    for (const r of declared.filter((x) => x.type === SECRET || x.type === CONFIG)) {
      objects.push(await createObject(engine, r));
    }
    const service = declared.find((r) => r.type === SERVICE)!;
    const { spec, converge } = serviceSpec(unwrapSecrets(service.inputs), resolver(declared));
    lastSpec = spec;
    serviceName = String(spec.Name);
    const created = (await engine.createService(spec)) as { id: string };
    serviceId = created.id;
    if (converge) await waitRunning(converge);
  } catch (err) {
    if (serviceId)
      await engine
        .getService(serviceId)
        .remove()
        .catch(() => undefined);
    for (const o of objects) await removeObject(engine, o).catch(() => undefined);
    throw err;
  }

  let destroyed = false;
  return {
    serviceId,
    serviceName,
    objects: () =>
      objects.map(({ kind, resourceName, name, id }) => ({ kind, resourceName, name, id })),
    spec: () => lastSpec,
    describe,
    async apply(next) {
      checkSupported(next);
      const report: ApplyReport = { created: [], deleted: [], serviceUpdated: false };
      const replaced: SwarmObject[] = [];
      for (const r of next.filter((x) => x.type === SECRET || x.type === CONFIG)) {
        const old = objects.find((o) => o.resourceName === r.name);
        if (old && old.inputsJson === JSON.stringify(r.inputs)) continue;
        const made = await createObject(engine, r);
        objects.push(made);
        report.created.push(made.name);
        if (old) replaced.push(old);
      }
      // Resources no longer declared are deleted at the end too.
      for (const o of objects) {
        if (!next.some((r) => r.name === o.resourceName) && !replaced.includes(o)) replaced.push(o);
      }

      const serviceDecl = next.find((r) => r.type === SERVICE)!;
      const before = current.find((r) => r.type === SERVICE)!;
      if (JSON.stringify(serviceDecl.inputs) !== JSON.stringify(before.inputs)) {
        const { spec, converge } = serviceSpec(unwrapSecrets(serviceDecl.inputs), resolver(next));
        if (spec.Name !== serviceName) {
          throw new Error("a renamed service is a replacement, which swarm-deploy.ts does not run");
        }
        const inspected = await engine.getService(serviceId).inspect();
        const previousStart = (inspected.UpdateStatus as { StartedAt?: string } | undefined)
          ?.StartedAt;
        await engine.getService(serviceId).update({
          _query: { version: inspected.Version.Index },
          _body: spec,
        });
        report.serviceUpdated = true;
        const tasksChanged =
          JSON.stringify(spec.TaskTemplate) !== JSON.stringify(lastSpec.TaskTemplate);
        lastSpec = spec;
        if (converge) {
          if (tasksChanged) await waitUpdated(converge, previousStart);
          else await waitRunning(converge);
        }
      }
      for (const o of replaced) {
        await removeObject(engine, o);
        report.deleted.push(o.name);
      }
      objects = objects.filter((o) => !replaced.includes(o));
      current = next;
      return report;
    },
    async destroy() {
      if (destroyed) return;
      destroyed = true;
      try {
        await engine.getService(serviceId).remove();
      } catch (err) {
        if ((err as { statusCode?: number }).statusCode !== 404) throw err;
      }
      // Swarm refuses to remove a secret while a service refers to it; the service is gone now.
      for (const o of objects) await removeObject(engine, o);
      objects = [];
    },
  };
}
