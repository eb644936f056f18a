/**
 * Gate for integration tests that need a real Docker engine.
 *
 * On a developer machine without an engine the suites are skipped, loudly. Under CI (`CI=true`)
 * a missing engine is a failure: CI must never go green by skipping the real-engine tests.
 */
import { execFileSync } from "child_process";

/** Local stand-ins for images that cannot be pulled here; built by `scripts/docker-setup.sh`. */
export const TEST_IMAGES = {
  /** CNCF distribution from Debian's `docker-registry`, laid out like `registry:2`. */
  registry: "secure-registry-test/registry:2",
  /** busybox-static: a shell, `wget`, `nc`; the base for small test images. */
  busybox: "secure-registry-test/busybox:latest",
} as const;

let cached: boolean | undefined;

/** True when `docker info` answers within a few seconds. */
export function engineAvailable(): boolean {
  if (cached === undefined) {
    try {
      execFileSync("docker", ["info", "--format", "{{.ServerVersion}}"], {
        stdio: "ignore",
        timeout: 15_000,
      });
      cached = true;
    } catch {
      cached = false;
    }
  }
  return cached;
}

/** True when the test images built by `scripts/docker-setup.sh` are present. */
export function testImagesPresent(): boolean {
  try {
    execFileSync("docker", ["image", "inspect", TEST_IMAGES.registry, TEST_IMAGES.busybox], {
      stdio: "ignore",
      timeout: 15_000,
    });
    return true;
  } catch {
    return false;
  }
}

/**
 * `describe` for suites that need the engine and the test images. Skips with a warning on a
 * developer machine without them; fails the suite under CI.
 */
export function describeWithEngine(name: string, body: () => void): void {
  const ready = engineAvailable() && testImagesPresent();
  if (ready) {
    describe(name, body);
    return;
  }
  const why = engineAvailable()
    ? "the test images are missing: run `npm run setup:docker`"
    : "no Docker engine answers `docker info`: run `npm run setup:docker` (as root)";
  if (process.env.CI === "true") {
    describe(name, () => {
      it("has a Docker engine (required under CI)", () => {
        throw new Error(`integration suite "${name}" cannot run under CI: ${why}`);
      });
    });
    return;
  }
  console.warn(`\n*** SKIPPING integration suite "${name}": ${why} ***\n`);
  describe.skip(name, body);
}
