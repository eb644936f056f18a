/**
 * Two projects: `unit` (pulumi mocks, pure functions, temp directories; seconds) and
 * `integration` (a real Docker engine; see scripts/docker-setup.sh). `npm test` runs both.
 * Integration files may run side by side: each names its containers, volumes and images uniquely
 * and takes free host ports (test/support/harness.ts).
 */
const tsJest = ["ts-jest", { tsconfig: "tsconfig.json", diagnostics: false }];
// Examples import the package by its npm name, as users do; tests resolve it to the sources.
const moduleNameMapper = { "^pulumi-secure-registry$": "<rootDir>/src/index.ts" };

/** @type {import('jest').Config} */
module.exports = {
  // Two workers even on a 2-core machine (jest's default there is one): the integration files
  // wait on engines, hosts and registries far more than they compute, and every file is written
  // to run beside any other. Measured here: `npx jest` 750 s with one worker, 472 s with two.
  // Override with `--maxWorkers`.
  maxWorkers: 2,
  projects: [
    {
      displayName: "unit",
      testEnvironment: "node",
      transform: { "^.+\\.ts$": tsJest },
      moduleNameMapper,
      testMatch: ["<rootDir>/test/unit/**/*.test.ts"],
    },
    {
      displayName: "integration",
      testEnvironment: "node",
      transform: { "^.+\\.ts$": tsJest },
      moduleNameMapper,
      testMatch: ["<rootDir>/test/integration/**/*.test.ts"],
    },
  ],
};
