/**
 * What one inspect of a container means to the health wait (src/engine/health.ts `verdictOf`):
 * healthy, still starting, or why it will not become healthy. The wait itself runs on the real
 * engine in test/integration/engine-health.test.ts.
 */
import { verdictOf } from "../../src/engine/health";

type State = Parameters<typeof verdictOf>[0];

function state(overrides: Partial<State["State"]> = {}, restarts = 0): State {
  return {
    Id: "c0ffee",
    Name: "/reg-container",
    RestartCount: restarts,
    State: {
      Status: "running",
      Running: true,
      ExitCode: 0,
      Health: { Status: "starting", Log: [] },
      ...overrides,
    },
  };
}

const probe = (ExitCode: number, Output: string) => ({ ExitCode, Output });

describe("verdictOf", () => {
  test("healthy and running: done, with the container's ID", () => {
    expect(verdictOf(state({ Health: { Status: "healthy", Log: [probe(0, "")] } }))).toEqual({
      kind: "healthy",
      id: "c0ffee",
    });
  });

  test("starting: keep waiting, saying what the last probe said", () => {
    expect(verdictOf(state())).toEqual({
      kind: "starting",
      detail: "health starting; no probe has run yet",
    });
    const log = [probe(1, "old"), probe(1, "wget: can't connect\n  to remote host\n")];
    expect(verdictOf(state({ Health: { Status: "starting", Log: log } }))).toEqual({
      kind: "starting",
      detail: "health starting; last probe exited 1: wget: can't connect to remote host",
    });
  });

  test("unhealthy: fails with the last probe's output, on one line and at most 300 characters", () => {
    const verdict = verdictOf(
      state({ Health: { Status: "unhealthy", Log: [probe(1, "x".repeat(1000))] } }),
    );
    expect(verdict).toEqual({
      kind: "failed",
      reason: `is unhealthy (last probe exited 1: ${"x".repeat(300)})`,
    });
  });

  test("exited, restarting or restarted: fails, with the exit code when it is stopped", () => {
    // The engine marks a stopped container unhealthy: the exit is what matters.
    const stopped = { Status: "exited", Running: false, ExitCode: 3 };
    expect(verdictOf(state({ ...stopped, Health: { Status: "unhealthy", Log: [] } }))).toEqual({
      kind: "failed",
      reason: "exited with code 3 before its health check passed",
    });
    expect(verdictOf(state({ Status: "restarting", Restarting: true, ExitCode: 1 }, 1))).toEqual({
      kind: "failed",
      reason: "exited with code 1 before its health check passed (restarted 1 time)",
    });
    // Back up under `restart: always`, even healthy for a moment: it crashed once already.
    expect(verdictOf(state({ Health: { Status: "healthy", Log: [] } }, 2))).toEqual({
      kind: "failed",
      reason: "exited before its health check passed (restarted 2 times)",
    });
  });

  test("no health check: nothing to wait for", () => {
    expect(verdictOf(state({ Health: undefined }))).toEqual({
      kind: "failed",
      reason: "has no health check to wait for",
    });
  });
});
