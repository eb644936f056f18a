/**
 * `describe` that runs only when what a suite needs is there: skipped with a loud warning on a
 * developer machine without it, a failing suite under CI (`CI=true`), where a skip must never
 * turn the run green. Same rule as `describeWithEngine` (engine.ts), for suites with other needs.
 */
import { execFileSync } from "child_process";

/**
 * Runs `body` as a `describe` when `reason` is undefined; otherwise skips it loudly, or under CI
 * fails it with `reason` (which should name the fix).
 */
export function describeWhen(name: string, reason: string | undefined, body: () => void): void {
  if (reason === undefined) {
    describe(name, body);
    return;
  }
  if (process.env.CI === "true") {
    describe(name, () => {
      it("has what it needs (required under CI)", () => {
        throw new Error(`integration suite "${name}" cannot run under CI: ${reason}`);
      });
    });
    return;
  }
  console.warn(`\n*** SKIPPING integration suite "${name}": ${reason} ***\n`);
  describe.skip(name, body);
}

/** The commands of `commands` that are not on PATH (absolute paths are checked as files). */
export function missingCommands(commands: readonly string[]): string[] {
  try {
    // One shell for the whole list: `command -v` prints nothing for a missing one.
    const found = execFileSync(
      "bash",
      [
        "-c",
        'for c in "$@"; do command -v "$c" >/dev/null && echo "$c"; done',
        "bash",
        ...commands,
      ],
      { encoding: "utf8", timeout: 15_000 },
    );
    const present = new Set(found.split("\n").filter(Boolean));
    return commands.filter((c) => !present.has(c));
  } catch {
    return [...commands];
  }
}

/** Why this process cannot create namespaces and start daemons, if it cannot. */
export function notRootReason(): string | undefined {
  return process.getuid?.() === 0
    ? undefined
    : "needs root (network and mount namespaces, daemons): run the tests as root";
}
