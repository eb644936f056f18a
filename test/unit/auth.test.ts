/**
 * HtpasswdUsers under mocks: htpasswd lines for generated and supplied passwords, stability of a
 * supplied password's line across runs, secrets, and bad input.
 */
import * as pulumi from "@pulumi/pulumi";
import * as bcrypt from "bcryptjs";
import { HtpasswdUsers, renderHtpasswd, renderHtpasswdLine, stableBcrypt } from "../../src/auth";
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
    const h1 = stableBcrypt("s3cret pw", salt);
    expect(h1).toMatch(/^\$2a\$10\$[./A-Za-z0-9]{53}$/);
    expect(stableBcrypt("s3cret pw", salt)).toBe(h1);
    expect(bcrypt.compareSync("s3cret pw", h1)).toBe(true);
    expect(bcrypt.compareSync("other", h1)).toBe(false);
    expect(stableBcrypt("s3cret pw", "ffeeddccbbaa99887766554433221100")).not.toBe(h1);
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
    expect(hash).toMatch(/^\$2[aby]\$10\$/);
    expect(bcrypt.compareSync(credentials[0].password, hash)).toBe(true);

    const password = mocks.find("random:index/randomPassword:RandomPassword", "registry-password");
    expect(password.name).toBe("default-registry-password");
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
    lines.forEach(([, hash], i) => {
      expect(hash).toMatch(/^\$2a\$10\$/);
      expect(bcrypt.compareSync(credentials[i].password, hash)).toBe(true);
    });
    // A supplied password gets a salt kept in state, not a generated password.
    expect(mocks.findAll("random:index/randomPassword:RandomPassword").map((r) => r.name)).toEqual([
      "mixed-gen-password",
    ]);
    expect(
      mocks
        .findAll("random:index/randomId:RandomId")
        .map((r) => r.name)
        .sort(),
    ).toEqual(["mixed-ci-salt", "mixed-ops-salt"]);
  });

  test("htpasswd and credentials are secret", async () => {
    const users = new HtpasswdUsers("secrets", {
      users: [{ username: "ci", password: "pw" }, { username: "gen" }],
    });
    expect(await isSecretOutput(users.htpasswd)).toBe(true);
    expect(await isSecretOutput(users.credentials)).toBe(true);
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
    [[{ username: "" }], /users\[0\]\.username is empty/],
    [[{ username: "a", password: "" }], /users\[0\]\.password is empty/],
    [
      [{ username: "a", password: "x".repeat(73) }],
      /users\[0\]\.password is 73 bytes \(UTF-8\) but bcrypt only uses the first 72/,
    ],
  ])("bad users %j are rejected before any resource exists", async (users, message) => {
    expect(() => new HtpasswdUsers("bad", { users })).toThrow(message);
    expect(() => new HtpasswdUsers("bad", { users })).toThrow(/^HtpasswdUsers "bad": /);
    await expectNothingRegistered();
  });

  test("bad passwordLength is rejected", async () => {
    expect(() => new HtpasswdUsers("bad", { passwordLength: 8 })).toThrow(
      /passwordLength 8 is outside 16-72/,
    );
    await expectNothingRegistered();
  });
});
