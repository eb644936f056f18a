/**
 * HtpasswdUsers under mocks: htpasswd lines for generated and supplied passwords, stability of a
 * supplied password's line across runs, secrets, and bad input.
 */
import * as pulumi from "@pulumi/pulumi";
import * as bcrypt from "bcryptjs";
import fc from "fast-check";
import {
  bcryptCostOf,
  deriveSalt,
  HtpasswdUsers,
  renderHtpasswd,
  resolveUsers,
  renderHtpasswdLine,
  stableBcrypt,
} from "../../src/auth";
import { InvalidInputError } from "../../src/common/errors";
import {
  expectOnlyInvalidInput,
  FUZZ_PARAMS,
  mutatedArgs,
  installLightMocks,
  settleComponents,
} from "../support/fuzz";
import {
  isSecretOutput,
  outputOf,
  RecordingMocks,
  setupMocks,
  unwrapSecrets,
} from "../support/mocks";

let mocks: RecordingMocks;
beforeEach(() => {
  mocks = setupMocks();
});

/** Lines of an htpasswd file as [user, hash]. */
function parse(htpasswd: string): [string, string][] {
  expect(htpasswd.endsWith("\n")).toBe(true);
  return htpasswd
    .slice(0, -1)
    .split("\n")
    .map((line) => {
      const i = line.indexOf(":");
      return [line.slice(0, i), line.slice(i + 1)];
    });
}

/** Proves that nothing was registered by a failed construction. */
async function expectNothingRegistered(): Promise<void> {
  const sentinel = new pulumi.ComponentResource("test:index:Sentinel", "sentinel");
  await outputOf(sentinel.urn);
  expect(mocks.resources.map((r) => r.name)).toEqual(["sentinel"]);
}

describe("pure htpasswd helpers", () => {
  test("render lines in order, newline-terminated", () => {
    expect(
      renderHtpasswd([renderHtpasswdLine("a", "$2a$x"), renderHtpasswdLine("b", "$2a$y")]),
    ).toBe("a:$2a$x\nb:$2a$y\n");
  });

  test("stableBcrypt: same password and salt give the same verifiable hash", () => {
    const salt = "00112233445566778899aabbccddeeff";
    const h1 = stableBcrypt("s3cret pw", salt, 10);
    expect(h1).toMatch(/^\$2a\$10\$[./A-Za-z0-9]{53}$/);
    expect(stableBcrypt("s3cret pw", salt, 4)).toMatch(/^\$2a\$04\$/);
    expect(bcryptCostOf(stableBcrypt("s3cret pw", salt, 4))).toBe(4);
    expect(bcrypt.compareSync("s3cret pw", stableBcrypt("s3cret pw", salt, 4))).toBe(true);
    expect(stableBcrypt("s3cret pw", salt, 10)).toBe(h1);
    expect(bcrypt.compareSync("s3cret pw", h1)).toBe(true);
    expect(bcrypt.compareSync("other", h1)).toBe(false);
    expect(stableBcrypt("s3cret pw", "ffeeddccbbaa99887766554433221100", 10)).not.toBe(h1);
  });

  test("deriveSalt: per user and per seed, never from the password", () => {
    const seed = "ab".repeat(32);
    expect(deriveSalt(seed, "ci")).toMatch(/^[0-9a-f]{32}$/);
    expect(deriveSalt(seed, "ci")).toBe(deriveSalt(seed, "ci"));
    expect(deriveSalt(seed, "ci")).not.toBe(deriveSalt(seed, "dev"));
    expect(deriveSalt("cd".repeat(32), "ci")).not.toBe(deriveSalt(seed, "ci"));
    expect(deriveSalt.length).toBe(2);
  });
});

describe("HtpasswdUsers", () => {
  test("default: one generated user 'registry' whose line verifies its password", async () => {
    const users = new HtpasswdUsers("default");
    const [credentials, htpasswd] = await Promise.all([
      outputOf(users.credentials),
      outputOf(users.htpasswd),
    ]);
    expect(credentials).toHaveLength(1);
    expect(credentials[0].username).toBe("registry");
    expect(credentials[0].password).toMatch(/^[A-Za-z0-9]{32}$/);
    const [[user, hash]] = parse(htpasswd);
    expect(user).toBe("registry");
    // A generated password's line is at the cheapest cost: its entropy protects it.
    expect(hash).toMatch(/^\$2a\$04\$/);
    expect(bcrypt.compareSync(credentials[0].password, hash)).toBe(true);

    // Same resource name as before the cost option: existing generated passwords are kept.
    const password = mocks.find("random:index/randomPassword:RandomPassword", "registry-password");
    expect(password.name).toBe("default-registry-password");
    expect(mocks.find("random:index/randomId:RandomId").name).toBe("default-salt-seed");
    expect(password.inputs).toMatchObject({ length: 32, special: false });
    expect(mocks.rejections).toEqual([]);
  });

  test("generated and supplied passwords: lines in the order given, each verifies", async () => {
    const users = new HtpasswdUsers("mixed", {
      users: [
        { username: "ci", password: "correct horse" },
        { username: "gen" },
        { username: "ops", password: pulumi.secret("ops-pw") },
      ],
    });
    const [credentials, htpasswd] = await Promise.all([
      outputOf(users.credentials),
      outputOf(users.htpasswd),
    ]);
    const lines = parse(htpasswd);
    expect(lines.map(([u]) => u)).toEqual(["ci", "gen", "ops"]);
    expect(credentials.map((c) => c.username)).toEqual(["ci", "gen", "ops"]);
    expect(credentials[0].password).toBe("correct horse");
    expect(credentials[2].password).toBe("ops-pw");
    // Supplied passwords default to cost 10, generated ones to 4.
    expect(lines.map(([, hash]) => bcryptCostOf(hash))).toEqual([10, 4, 10]);
    lines.forEach(([, hash], i) => {
      expect(bcrypt.compareSync(credentials[i].password, hash)).toBe(true);
    });
    // Only the user without a password gets a generated one; one salt seed serves every line.
    expect(mocks.findAll("random:index/randomPassword:RandomPassword").map((r) => r.name)).toEqual([
      "mixed-gen-password",
    ]);
    expect(mocks.findAll("random:index/randomId:RandomId").map((r) => r.name)).toEqual([
      "mixed-salt-seed",
    ]);
  });

  test("htpasswd and credentials are secret", async () => {
    const users = new HtpasswdUsers("secrets", {
      users: [{ username: "ci", password: "pw" }, { username: "gen" }],
    });
    expect(await isSecretOutput(users.htpasswd)).toBe(true);
    expect(await isSecretOutput(users.credentials)).toBe(true);
  });

  test("bcryptCost: per user, for the whole list, and the line's cost field follows it", async () => {
    const users = new HtpasswdUsers("cost", {
      bcryptCost: 6,
      users: [
        { username: "ci", password: "token-0123456789", bcryptCost: 4 },
        { username: "gen", bcryptCost: 12 },
        { username: "human", password: "correct horse" },
        { username: "auto" },
      ],
    });
    const [credentials, htpasswd] = await Promise.all([
      outputOf(users.credentials),
      outputOf(users.htpasswd),
    ]);
    const lines = parse(htpasswd);
    expect(lines.map(([, hash]) => bcryptCostOf(hash))).toEqual([4, 12, 6, 6]);
    lines.forEach(([, hash], i) => {
      expect(bcrypt.compareSync(credentials[i].password, hash)).toBe(true);
    });
  });

  test("changing the cost changes the line, and only that user's", async () => {
    const program = (cost: number) =>
      new HtpasswdUsers("recost", {
        users: [
          { username: "ci", password: "same-password", bcryptCost: cost },
          { username: "other", password: "other-password" },
        ],
      });
    const first = parse(await outputOf(program(10).htpasswd));
    setupMocks({ priorState: mocks.resources });
    const second = parse(await outputOf(program(5).htpasswd));
    expect(bcryptCostOf(first[0][1])).toBe(10);
    expect(bcryptCostOf(second[0][1])).toBe(5);
    expect(bcrypt.compareSync("same-password", second[0][1])).toBe(true);
    expect(second[1]).toEqual(first[1]);
  });

  test("generated passwords: the identical file on a second run (no diff)", async () => {
    const program = () =>
      new HtpasswdUsers("gen-stable", { users: [{ username: "a" }, { username: "b" }] });
    const first = await outputOf(program().htpasswd);
    const firstRun = mocks.resources;
    const secondRunMocks = setupMocks({ priorState: firstRun });
    const second = await outputOf(program().htpasswd);
    expect(second).toBe(first);
    expect(parse(first).map(([, h]) => bcryptCostOf(h))).toEqual([4, 4]);
    expect(secondRunMocks.resources.map((r) => [r.type, r.name, unwrapSecrets(r.inputs)])).toEqual(
      firstRun.map((r) => [r.type, r.name, unwrapSecrets(r.inputs)]),
    );
  });

  test("users as an Output (e.g. from a StackReference): lines from the known list", async () => {
    const users = new HtpasswdUsers("from-output", {
      users: pulumi.output([
        { username: "ci", password: "ci-pass-0123456789", bcryptCost: 4 },
        { username: "ops", password: "ops-pass" },
      ]),
    });
    const [credentials, htpasswd] = await Promise.all([
      outputOf(users.credentials),
      outputOf(users.htpasswd),
    ]);
    const lines = parse(htpasswd);
    expect(lines.map(([u]) => u)).toEqual(["ci", "ops"]);
    expect(lines.map(([, h]) => bcryptCostOf(h))).toEqual([4, 10]);
    expect(bcrypt.compareSync(credentials[1].password, lines[1][1])).toBe(true);
    expect(await isSecretOutput(users.htpasswd)).toBe(true);
    // No generated password can exist for a list known only later.
    expect(mocks.findAll("random:index/randomPassword:RandomPassword")).toEqual([]);
  });

  test("entries that are Outputs in a plain list, next to generated users", async () => {
    const users = new HtpasswdUsers("mixed-output", {
      users: [
        pulumi.output({ username: "remote", password: "remote-password" }),
        { username: pulumi.output("late-name"), password: pulumi.secret("late-pw") },
        { username: "gen" },
      ],
    });
    const lines = parse(await outputOf(users.htpasswd));
    expect(lines.map(([u]) => u)).toEqual(["remote", "late-name", "gen"]);
    const credentials = await outputOf(users.credentials);
    expect(credentials[1].password).toBe("late-pw");
    expect(mocks.findAll("random:index/randomPassword:RandomPassword").map((r) => r.name)).toEqual([
      "mixed-output-gen-password",
    ]);
  });

  // Lists and entries that are Outputs are checked by resolveUsers once known (the failure then
  // fails the resources and outputs that consume them); its checks, on known values:
  test.each<[string, unknown, unknown, (string | undefined)[], RegExp]>([
    [
      "a user of an Output list without password",
      [{ username: "ci" }],
      undefined,
      [],
      /users\[0\]\.password is missing, but a user given as an Output/,
    ],
    ["an empty list", [], undefined, [], /users is empty/],
    ["a list that is not a list", "ci", undefined, [], /users is "ci"; list at least one user/],
    [
      "duplicate names known only later",
      [
        { username: "ci", password: "pw-one" },
        { username: "ci", password: "pw-two" },
      ],
      undefined,
      [],
      /users\[1\]\.username "ci" duplicates users\[0\]/,
    ],
    [
      "a name starting with # known only later",
      [{ username: "#ci", password: "pw-two" }],
      undefined,
      [],
      /users\[0\]\.username "#ci" starts with '#'/,
    ],
    ["a list cost known only later", [{ username: "a" }], 99, ["gen"], /bcryptCost is 99/],
  ])("resolveUsers refuses %s, naming the field", (_title, list, cost, generated, message) => {
    let error: unknown;
    try {
      resolveUsers('HtpasswdUsers "late"', list, cost, generated);
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(InvalidInputError);
    expect((error as Error).message).toMatch(message);
    expect((error as Error).message).not.toContain("pw-two");
  });

  test("resolveUsers completes passwords and costs", () => {
    expect(
      resolveUsers(
        "L",
        [
          { username: "gen" },
          { username: "own", password: "pw" },
          { username: "x", password: "p", bcryptCost: 7 },
        ],
        undefined,
        ["generated-pw", undefined, undefined],
      ),
    ).toEqual([
      { username: "gen", password: "generated-pw", cost: 4 },
      { username: "own", password: "pw", cost: 10 },
      { username: "x", password: "p", cost: 7 },
    ]);
  });

  test("a supplied password yields the identical line on a second run (no diff)", async () => {
    const program = () =>
      new HtpasswdUsers("stable", {
        users: [{ username: "ci", password: "same-password" }, { username: "gen" }],
      });
    const first = await outputOf(program().htpasswd);
    const firstRun = mocks.resources;

    const secondRunMocks = setupMocks({ priorState: firstRun });
    const second = await outputOf(program().htpasswd);
    expect(second).toBe(first);
    // Every declared resource has identical inputs in both runs.
    expect(secondRunMocks.resources.map((r) => [r.type, r.name, unwrapSecrets(r.inputs)])).toEqual(
      firstRun.map((r) => [r.type, r.name, unwrapSecrets(r.inputs)]),
    );
  });

  test("changing a supplied password changes its line", async () => {
    const first = parse(
      await outputOf(
        new HtpasswdUsers("change", { users: [{ username: "ci", password: "old" }] }).htpasswd,
      ),
    );
    setupMocks({ priorState: mocks.resources });
    const second = parse(
      await outputOf(
        new HtpasswdUsers("change", { users: [{ username: "ci", password: "new" }] }).htpasswd,
      ),
    );
    expect(second[0][1]).not.toBe(first[0][1]);
    expect(bcrypt.compareSync("new", second[0][1])).toBe(true);
  });

  test.each([
    [[], /users is empty; list at least one user/],
    [[{ username: "a" }, { username: "a" }], /users\[1\]\.username "a" duplicates users\[0\]/],
    [[{ username: "a:b" }], /users\[0\]\.username "a:b" contains ':'/],
    [[{ username: "a b" }], /users\[0\]\.username "a b" contains whitespace/],
    // distribution's htpasswd parser reads a line starting with '#' as a comment.
    [[{ username: "#admin" }], /users\[0\]\.username "#admin" starts with '#'.*could never log in/],
    [[{ username: "a\u200bb" }], /users\[0\]\.username .* invisible character/],
    [
      [{ username: "x".repeat(256) }],
      /users\[0\]\.username is 256 characters long; use at most 255/,
    ],
    [
      [{ username: "a", bcryptCost: 3 }],
      /users\[0\]\.bcryptCost is 3, not a whole number from 4 to 16/,
    ],
    [[{ username: "a", bcryptCost: "10" }], /users\[0\]\.bcryptCost is "10", not a whole number/],
    [
      [{ username: "a", passwd: "x" }],
      /users\[0\]\.passwd is not an option of HtpasswdUsers; did you mean users\[0\]\.password\?/,
    ],
    [
      ["ci"],
      /users\[0\] is a string \(not shown\), not a user; use \{ username, password\?, bcryptCost\? \}/,
    ],
    [[null], /users\[0\] is null, not a user/],
    [[{ username: "a", password: "a\nb" }], /users\[0\]\.password contains a line break/],
    [[{ username: "" }], /users\[0\]\.username is empty/],
    [[{ username: "a", password: "" }], /users\[0\]\.password is empty/],
    [
      [{ username: "a", password: "x".repeat(73) }],
      /users\[0\]\.password is 73 bytes \(UTF-8\) but bcrypt only uses the first 72/,
    ],
  ])("bad users %j are rejected before any resource exists", async (users, message) => {
    expect(() => new HtpasswdUsers("bad", { users: users as never })).toThrow(message);
    expect(() => new HtpasswdUsers("bad", { users: users as never })).toThrow(
      /^HtpasswdUsers "bad": /,
    );
    await expectNothingRegistered();
  });

  test.each<[string, Record<string, unknown>, RegExp]>([
    [
      "passwordLength too short",
      { passwordLength: 8 },
      /passwordLength is 8, not a whole number from 16 to 72/,
    ],
    [
      "passwordLength as text",
      { passwordLength: "32" },
      /passwordLength is "32", not a whole number/,
    ],
    [
      "bcryptCost too high",
      { bcryptCost: 20 },
      /bcryptCost is 20, not a whole number from 4 to 16/,
    ],
    ["users not a list", { users: "ci" }, /users is "ci"; list at least one user/],
    ["users null", { users: null }, /users is null; list at least one user/],
    ["unknown key", { user: [] }, /user is not an option of HtpasswdUsers; did you mean users\?/],
  ])("%s is rejected before any resource exists", async (_title, args, message) => {
    expect(() => new HtpasswdUsers("bad", args as never)).toThrow(message);
    expect(() => new HtpasswdUsers("bad", args as never)).toThrow(InvalidInputError);
    await expectNothingRegistered();
  });

  test("a password never appears in an error message", () => {
    for (const users of [
      [{ username: "a", password: "Sup3r-S3cret\n" }],
      [{ username: "a", password: "Sup3r-S3cret".repeat(8) }],
      ["Sup3r-S3cret"],
    ]) {
      let message = "";
      try {
        new HtpasswdUsers("bad", { users: users as never });
      } catch (e) {
        message = (e as Error).message;
      }
      expect(message).toMatch(/HtpasswdUsers "bad": users\[0\]/);
      expect(message).not.toContain("S3cret");
    }
  });

  test("property: any mutated arguments give success or an InvalidInputError naming the field", async () => {
    await installLightMocks();
    const built: object[] = [];
    const valid = {
      users: [{ username: "ci", password: "ci-password-0123", bcryptCost: 4 }, { username: "gen" }],
      passwordLength: 24,
      bcryptCost: 4,
    };
    const user = fc.record(
      {
        username: fc.oneof(fc.constantFrom("ok", "#x", "a:b", "", " x"), fc.string()),
        password: fc.oneof(fc.constant(undefined), fc.string(), fc.integer()),
        // Valid costs are 4-16; the program computes each line, so valid ones stay cheap here.
        bcryptCost: fc.constantFrom(undefined, -1, 0, 3, 4, 4.5, 17, 40, "4", null),
      },
      { requiredKeys: [] },
    );
    let constructions = 0;
    fc.assert(
      fc.property(
        mutatedArgs(valid, {
          users: fc.array(fc.oneof(user, fc.constant(null), fc.string()), { maxLength: 3 }),
          passwordLength: fc.integer({ min: -5, max: 100 }),
          bcryptCost: fc.constantFrom(-1, 0, 3, 4, 4.5, 17, 40, "4", null),
        }),
        ({ args, mutated }) => {
          constructions += 1;
          expectOnlyInvalidInput(
            () => built.push(new HtpasswdUsers("fuzz", args as never)),
            mutated,
          );
        },
      ),
      FUZZ_PARAMS,
    );
    expect(constructions).toBeGreaterThanOrEqual(1000);
    await settleComponents(built);
  }, 600_000);
});
