/**
 * Waiting for a container's health check to pass, as soon as it passes.
 *
 * The docker provider's own `wait` inspects the container right after its start request returns,
 * then once a second: a container that turns healthy 0.3 s after the start request is seen
 * healthy a full second later. This wait follows the engine's event stream for the container
 * (one connection, no polling), so it returns when the engine records `health_status: healthy`,
 * and fails as soon as the container is unhealthy or has exited instead of at the timeout.
 * Each event only wakes it up: the verdict always comes from an inspect, so no event format is
 * parsed. An inspect every few seconds covers a stream that ends early (an ssh connection cut).
 *
 * No imports but its sibling connection.ts: the dynamic provider carries this module (see
 * health-provider.ts).
 */
import type { Engine } from "./connection";
import { describeError } from "./connection";

export interface HealthWaitOptions {
  /** Give up after this many seconds. */
  readonly timeoutSeconds: number;
  /** Inspect at least this often, whatever the event stream says. Default 3000 ms. */
  readonly inspectEveryMs?: number;
}

export interface HealthWaitResult {
  /** The container's full ID. */
  readonly containerId: string;
  /** From the call to the passing check being seen. */
  readonly waitedMs: number;
}

/** How long opening the event stream may take before the wait goes on without it. */
const SUBSCRIBE_TIMEOUT_MS = 10_000;
/** The least time an inspect is given, even at the deadline. */
const INSPECT_TIMEOUT_MS = 10_000;

/** `promise`, or a rejection after `ms`. */
function within<T>(promise: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  return Promise.race([
    promise,
    new Promise<never>((_, reject) => {
      timer = setTimeout(
        () => reject(new Error(`no answer within ${Math.round(ms / 1000)} s`)),
        ms,
      );
    }),
  ]).finally(() => clearTimeout(timer));
}

/** What one inspect says: healthy, still starting, or a reason it will not become healthy. */
type Verdict =
  | { readonly kind: "healthy"; readonly id: string }
  | { readonly kind: "starting"; readonly detail: string }
  | { readonly kind: "failed"; readonly reason: string };

interface ContainerState {
  Id: string;
  Name: string;
  RestartCount?: number;
  State: {
    Status: string;
    Running: boolean;
    Restarting?: boolean;
    ExitCode?: number;
    Health?: { Status: string; Log?: { ExitCode: number; Output: string }[] | null };
  };
}

/** The last health probe's output, on one line and short (busybox `wget` messages). */
function lastProbe(state: ContainerState): string {
  const log = state.State.Health?.Log ?? [];
  const last = log[log.length - 1];
  if (!last) return "no probe has run yet";
  const output = last.Output.replace(/\s+/g, " ").trim().slice(0, 300);
  return `last probe exited ${last.ExitCode}${output ? `: ${output}` : ""}`;
}

/** Reads the verdict from an inspect of the container. */
export function verdictOf(state: ContainerState): Verdict {
  const health = state.State.Health;
  if (!health) {
    return { kind: "failed", reason: "has no health check to wait for" };
  }
  // A process that exits while starting (a configuration it refuses, a port it cannot bind) is
  // restarted by `restart: always` and exits again: not worth waiting for until the timeout.
  // Checked first: the engine marks a stopped container unhealthy.
  const restarts = state.RestartCount ?? 0;
  const restarted = restarts > 0 ? ` (restarted ${restarts} time${restarts === 1 ? "" : "s"})` : "";
  if (!state.State.Running || state.State.Restarting) {
    return {
      kind: "failed",
      reason: `exited with code ${state.State.ExitCode ?? "?"} before its health check passed${restarted}`,
    };
  }
  if (restarts > 0) {
    return { kind: "failed", reason: `exited before its health check passed${restarted}` };
  }
  if (health.Status === "healthy") return { kind: "healthy", id: state.Id };
  if (health.Status === "unhealthy") {
    return { kind: "failed", reason: `is unhealthy (${lastProbe(state)})` };
  }
  return { kind: "starting", detail: `health ${health.Status}; ${lastProbe(state)}` };
}

/**
 * Resolves when `container` (name or ID) on `engine` is healthy; rejects when it is unhealthy,
 * has exited, is gone, or is not healthy within `timeoutSeconds`. Bounded in time; closes the
 * event stream it opened.
 */
export async function waitUntilHealthy(
  engine: Engine,
  container: string,
  options: HealthWaitOptions,
): Promise<HealthWaitResult> {
  const started = Date.now();
  const deadline = started + options.timeoutSeconds * 1000;
  const inspectEveryMs = options.inspectEveryMs ?? 3000;
  const where = `on ${engine.resolved.address}`;
  const fail = (name: string, reason: string): Error =>
    new Error(
      `container ${name} ${where} ${reason}. Its log tells why: \`docker logs ${name}\`` +
        (engine.resolved.address.startsWith("unix://")
          ? ""
          : ` (with DOCKER_HOST=${engine.resolved.address})`) +
        ".",
    );

  // Subscribed before the first inspect, so a change between the two is never missed.
  let news = false;
  let wake: (() => void) | undefined;
  const signal = (): void => {
    news = true;
    wake?.();
  };
  type EventStream = NodeJS.ReadableStream & { destroy?: () => void };
  const subscribing = engine.docker.getEvents({
    // Health changes, exits and removal; not the exec events every probe makes.
    filters: {
      type: ["container"],
      container: [container],
      event: ["health_status", "die", "destroy"],
    },
  }) as Promise<EventStream>;
  let abandoned = false;
  // An engine slow to open the stream leaves the periodic inspect; a late stream is closed.
  subscribing.then(
    (stream) => {
      if (abandoned) stream.destroy?.();
    },
    () => undefined,
  );
  const events = await within(subscribing, SUBSCRIBE_TIMEOUT_MS).catch(() => undefined);
  if (events) {
    events.on("data", signal);
    // An ended stream leaves the periodic inspect.
    events.on("error", signal);
  } else {
    abandoned = true;
  }

  try {
    let name = container;
    for (;;) {
      news = false;
      let state: ContainerState;
      try {
        state = (await within(
          engine.docker.getContainer(container).inspect(),
          Math.max(deadline - Date.now(), INSPECT_TIMEOUT_MS),
        )) as ContainerState;
      } catch (error) {
        if ((error as { statusCode?: number }).statusCode === 404) {
          throw fail(name, "no longer exists");
        }
        throw new Error(`cannot inspect container ${name} ${where}: ${describeError(error)}`);
      }
      name = state.Name.replace(/^\//, "") || container;
      const verdict = verdictOf(state);
      if (verdict.kind === "healthy") {
        return { containerId: verdict.id, waitedMs: Date.now() - started };
      }
      if (verdict.kind === "failed") throw fail(name, verdict.reason);
      const remaining = deadline - Date.now();
      if (remaining <= 0) {
        throw fail(name, `is not healthy within ${options.timeoutSeconds} s (${verdict.detail})`);
      }
      if (!news) {
        await new Promise<void>((resolve) => {
          const timer = setTimeout(resolve, Math.min(remaining, inspectEveryMs));
          wake = () => {
            clearTimeout(timer);
            resolve();
          };
        });
        wake = undefined;
      }
    }
  } finally {
    abandoned = true;
    events?.removeListener("data", signal);
    events?.destroy?.();
  }
}
