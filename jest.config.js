/**
 * Two projects: `unit` (pulumi mocks, pure functions, temp directories; seconds) and
 * `integration` (a real Docker engine; see scripts/docker-setup.sh). `npm test` runs both.
 * Integration tests run one file at a time: they share one engine and its published ports.
 */
const tsJest = ["ts-jest", { tsconfig: "tsconfig.json", diagnostics: false }];

/** @type {import('jest').Config} */
module.exports = {
  projects: [
    {
      displayName: "unit",
      testEnvironment: "node",
      transform: { "^.+\\.ts$": tsJest },
      testMatch: ["<rootDir>/test/unit/**/*.test.ts"],
    },
    {
      displayName: "integration",
      testEnvironment: "node",
      transform: { "^.+\\.ts$": tsJest },
      testMatch: ["<rootDir>/test/integration/**/*.test.ts"],
    },
  ],
};
