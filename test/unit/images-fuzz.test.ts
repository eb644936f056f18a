/**
 * Property tests (fast-check, seeded): BuiltImage and FlattenedImage built from valid arguments
 * with 1-3 fields replaced by values of any type (or near-valid values that reach the deeper
 * checks) either construct or throw an InvalidInputError naming a replaced field. No TypeError,
 * RangeError or other crash escapes, and no value that should be refused gets through.
 */
import fc from "fast-check";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { InvalidInputError } from "../../src/common/errors";
import { expectOnlyInvalidInput, FUZZ_PARAMS, mutatedArgs } from "../support/fuzz";
import { outputOf, setupMocks } from "../support/mocks";

const mocks = setupMocks();
const images = require("../../src/images") as typeof import("../../src/images");

const CLEAN_DOCKERFILE =
  'FROM busybox:1.36 AS build\nRUN echo hi > /hi\nFROM busybox:1.36 AS runtime\nCOPY --from=build /hi /hi\nCMD ["cat", "/hi"]\n';

let workdir: string;
beforeAll(() => {
  workdir = fs.mkdtempSync(path.join(os.tmpdir(), "images-fuzz-"));
  fs.writeFileSync(path.join(workdir, "Dockerfile"), CLEAN_DOCKERFILE);
  fs.writeFileSync(path.join(workdir, "not-a-dir"), "x");
});
afterAll(() => fs.rmSync(workdir, { recursive: true, force: true }));
beforeEach(() => mocks.clear());

/**
 * Waits for what the accepted constructions declared (so nothing runs after the test) and checks
 * that no value checked only once known failed there: every accepted construction resolves.
 */
async function settle(outputs: import("@pulumi/pulumi").Output<unknown>[]): Promise<void> {
  const results = await Promise.allSettled(outputs.map((output) => outputOf(output)));
  const failed = results.filter((result) => result.status === "rejected");
  expect(failed.map((result) => String((result as PromiseRejectedResult).reason))).toEqual([]);
  expect(mocks.rejections).toEqual([]);
}

const login = { server: "reg.example:5443", username: "ci", password: "fuzz-Pa55" };

/** Near-valid registries: each is wrong in one way the checks must catch (or fine). */
const registries = fc.constantFrom<unknown>(
  login,
  { ...login, server: "reg.example:5443/v2/" },
  { ...login, server: "https://u:p@reg.example" },
  { ...login, server: "" },
  { ...login, password: "" },
  { ...login, username: null },
  { ...login, extra: true },
  { server: "reg.example" },
  { endpoint: "reg.example:5443", credentials: [] },
  { endpoint: "reg.example:5443", credentials: [{ username: "ci", password: "p" }] },
  { endpoint: "reg.example:5443", credentials: [{ username: "ci" }] },
  { endpoint: "reg.example:5443", credentials: "ci:p" },
  { endpoint: "reg.example:5443", credentials: [null] },
  { endpoint: "reg.example:5443", credentials: [{ username: "ci", password: "p" }], trust: true },
  {
    endpoint: "reg.example:5443",
    credentials: [{ username: "ci", password: "p" }],
    pullThroughCache: true,
  },
  {
    endpoint: "reg.example:5443",
    credentials: [{ username: "ci", password: "p" }],
    pullThroughCache: "false",
  },
  { endpoint: 5443, credentials: [{ username: "ci", password: "p" }] },
  [],
);

const imageNames = fc.constantFrom<unknown>(
  "apps/web:1",
  "Apps/web:1",
  "apps/web:",
  `apps/web@sha256:${"a".repeat(64)}`,
  "other.example/apps/web:1",
  "reg.example:5443/apps/web:2",
  "apps web",
  "a".repeat(600),
);

const platforms = fc.constantFrom<unknown>(
  "linux/amd64",
  "linux/arm64/v8",
  "linux/arm/v7",
  "amd64",
  "linux/amd65",
  "lunix/amd64",
  "linux/amd64/v9",
  "linux/386/v1",
  "Linux/AMD64",
);

jest.setTimeout(300_000);

describe("BuiltImage: any argument of any type", () => {
  it("constructs or throws an InvalidInputError naming the field, never anything else", async () => {
    let run = 0;
    const accepted: import("@pulumi/pulumi").Output<unknown>[] = [];
    const valid = {
      context: "",
      dockerfile: undefined as unknown,
      target: "build",
      buildArgs: { A_ARG: "1" } as unknown,
      platform: "linux/amd64",
      imageName: "apps/web:1",
      registry: login as unknown,
      lintAsErrors: false as unknown,
      lintIgnore: [] as unknown,
    };
    fc.assert(
      fc.property(
        mutatedArgs(valid, {
          context: fc.constantFrom<unknown>(
            "/nonexistent/context",
            path.join(os.tmpdir(), "images-fuzz-none"),
            "",
          ),
          dockerfile: fc.constantFrom<unknown>("/nonexistent/Dockerfile", "/", 7),
          target: fc.constantFrom<unknown>("build", "runtime", "BUILD", "nostage", "", 3),
          buildArgs: fc.constantFrom<unknown>(
            { "a-b": "1" },
            { A: null },
            { A: 2 },
            { "": "x" },
            null,
            ["A=1"],
            { A: "multi\nline" },
          ),
          platform: platforms,
          imageName: imageNames,
          registry: registries,
          lintAsErrors: fc.constantFrom<unknown>(true, "false", 0, null),
          lintIgnore: fc.constantFrom<unknown>(
            ["no-such-rule"],
            "base-image-latest",
            [1],
            ["base-image-latest"],
            null,
          ),
        }),
        ({ args, mutated }) => {
          const withContext = { ...args };
          if (!mutated.includes("context")) withContext.context = workdir;
          if (withContext.dockerfile === undefined) delete withContext.dockerfile;
          run++;
          expectOnlyInvalidInput(() => {
            const image = new images.BuiltImage(`fuzz-${run}`, withContext as never);
            accepted.push(image.size, image.lintFindings);
          }, mutated);
        },
      ),
      FUZZ_PARAMS,
    );
    expect(run).toBeGreaterThanOrEqual(1000);
    await settle(accepted);
  });
});

describe("FlattenedImage: any argument of any type", () => {
  it("constructs or throws an InvalidInputError naming the field, never anything else", async () => {
    let run = 0;
    const accepted: import("@pulumi/pulumi").Output<unknown>[] = [];
    const valid = {
      source: "apps/web:1" as unknown,
      imageName: "apps/web-flat:1" as unknown,
      push: true as unknown,
      registry: login as unknown,
      keepImage: false as unknown,
    };
    fc.assert(
      fc.property(
        mutatedArgs(valid, {
          source: fc.constantFrom<unknown>(
            "Apps/Web:1",
            `apps/web@sha256:${"b".repeat(64)}`,
            "sha256:" + "c".repeat(64),
            "apps/web:",
            "",
          ),
          imageName: imageNames,
          push: fc.constantFrom<unknown>("false", "true", 1, 0, null, false),
          keepImage: fc.constantFrom<unknown>("no", 1, null, true),
          registry: registries,
        }),
        ({ args, mutated }) => {
          run++;
          expectOnlyInvalidInput(
            () => {
              const image = new images.FlattenedImage(`fuzz-${run}`, args as never);
              accepted.push(image.imageId, image.imageName);
            },
            // push without a registry is reported on push
            mutated.includes("registry") ? [...mutated, "push"] : mutated,
          );
        },
      ),
      FUZZ_PARAMS,
    );
    expect(run).toBeGreaterThanOrEqual(1000);
    await settle(accepted);
  });
});

describe("values that must be refused, whatever else is right", () => {
  const cases: [string, () => unknown, string][] = [
    [
      'push: "false" (a string) never reaches the provider as truthy',
      () =>
        new images.FlattenedImage("f1", {
          source: "a:1",
          imageName: "b",
          push: "false" as never,
          registry: login,
        }),
      "push",
    ],
    [
      "an image reference with upper case",
      () => new images.FlattenedImage("f2", { source: "Apps/web:1", imageName: "b" }),
      "source",
    ],
    [
      "a registry.server with a path",
      () =>
        new images.FlattenedImage("f3", {
          source: "a:1",
          imageName: "b",
          push: true,
          registry: { ...login, server: "reg.example:5443/v2" },
        }),
      "registry.server",
    ],
    [
      "a platform that is not a real os/arch",
      () =>
        new images.BuiltImage("b1", {
          context: workdir,
          imageName: "a",
          registry: login,
          platform: "linux/amd65",
        }),
      "platform",
    ],
    [
      "a target that is not a stage of the Dockerfile",
      () =>
        new images.BuiltImage("b2", {
          context: workdir,
          imageName: "a",
          registry: login,
          target: "tests",
        }),
      "target",
    ],
    [
      "a build context that does not exist",
      () =>
        new images.BuiltImage("b3", {
          context: path.join(workdir, "missing"),
          imageName: "a",
          registry: login,
        }),
      "context",
    ],
    [
      "a build context that is a file",
      () =>
        new images.BuiltImage("b4", {
          context: path.join(workdir, "not-a-dir"),
          imageName: "a",
          registry: login,
        }),
      "context",
    ],
    [
      "a push to a registry in pull-through cache mode",
      () =>
        new images.BuiltImage("b5", {
          context: workdir,
          imageName: "a",
          registry: {
            endpoint: "reg.example:5443",
            credentials: [{ username: "ci", password: "p" }],
            pullThroughCache: true,
          },
        }),
      "registry",
    ],
    [
      "an unknown option",
      () =>
        new images.BuiltImage("b6", {
          context: workdir,
          imageName: "a",
          registry: login,
          tags: ["x"],
        } as never),
      "tags",
    ],
    [
      "lintIgnore that is not a list",
      () =>
        new images.BuiltImage("b7", {
          context: workdir,
          imageName: "a",
          registry: login,
          lintIgnore: "base-image-latest" as never,
        }),
      "lintIgnore",
    ],
    [
      "buildArgs: null",
      () =>
        new images.BuiltImage("b8", {
          context: workdir,
          imageName: "a",
          registry: login,
          buildArgs: null as never,
        }),
      "buildArgs",
    ],
  ];
  it.each(cases)("%s", (_what, construct, field) => {
    let caught: unknown;
    try {
      construct();
    } catch (error) {
      caught = error;
    }
    expect(caught).toBeInstanceOf(InvalidInputError);
    expect((caught as InvalidInputError).field).toBe(field);
    expect((caught as Error).message).toContain(field.split(".").pop());
    expect((caught as Error).message).not.toContain(login.password);
    expect(mocks.resources).toEqual([]);
  });
});
