/**
 * Checks of htpasswd users, passwords and bcrypt costs. Messages never contain a password.
 */
import { checkObject, describeValue, fail, isDeferred } from "../common/checks";
import { BCRYPT_MAX_COST, BCRYPT_MIN_COST } from "./htpasswd";

/** bcrypt reads only the first 72 bytes of a password. */
export const BCRYPT_MAX_PASSWORD_BYTES = 72;

/** Longest user name: what htpasswd tools accept, far below distribution's 64 KiB line limit. */
export const MAX_USERNAME_LENGTH = 255;

/** The keys of a user entry. */
export const USER_KEYS = ["username", "password", "bcryptCost"] as const;

/**
 * A user name that every htpasswd parser reads back as written and that Basic auth can carry.
 * distribution's parser (registry/auth/htpasswd) trims each line and skips lines that start with
 * `#` as comments, and splits name and hash at the first `:`; Basic auth splits user and password
 * at the first `:` too.
 */
export function validateUsername(label: string, field: string, username: unknown): void {
  if (typeof username !== "string" || username === "") {
    fail(
      label,
      field,
      `${field} is ${username === "" ? "empty" : describeValue(username)}; give each user a name such as "ci" or "registry".`,
    );
  }
  if (username.includes(":")) {
    fail(
      label,
      field,
      `${field} ${describeValue(username)} contains ':', which separates name and hash in ` +
        `htpasswd and user and password in Basic auth; remove it.`,
    );
  }
  if (/[\s\p{Cc}\p{Cf}]/u.test(username)) {
    fail(
      label,
      field,
      `${field} ${describeValue(username)} contains whitespace, a control or an invisible ` +
        `character; use a name without them, e.g. ` +
        `${JSON.stringify(username.replace(/[\s\p{Cc}\p{Cf}]+/gu, "-"))}.`,
    );
  }
  if (username.startsWith("#")) {
    fail(
      label,
      field,
      `${field} ${describeValue(username)} starts with '#', so the registry would read its ` +
        `htpasswd line as a comment and the user could never log in; use a name that starts ` +
        `with a letter or digit, e.g. ${JSON.stringify(username.replace(/^#+/, "") || "user")}.`,
    );
  }
  if (username.length > MAX_USERNAME_LENGTH) {
    fail(
      label,
      field,
      `${field} is ${username.length} characters long; use at most ${MAX_USERNAME_LENGTH}.`,
    );
  }
}

/** A supplied password (its value never appears in messages). */
export function validatePassword(label: string, field: string, password: unknown): void {
  if (typeof password !== "string" || password === "") {
    fail(
      label,
      field,
      `${field} is ${password === "" ? "empty" : describeValue(password, true)}; supply a password or omit it to have one generated.`,
    );
  }
  if (/[\r\n\0]/.test(password)) {
    fail(
      label,
      field,
      `${field} contains a line break or NUL character, which docker login cannot send; ` +
        `use a password without them.`,
    );
  }
  const bytes = Buffer.byteLength(password, "utf8");
  if (bytes > BCRYPT_MAX_PASSWORD_BYTES) {
    fail(
      label,
      field,
      `${field} is ${bytes} bytes (UTF-8) but bcrypt only uses the first ` +
        `${BCRYPT_MAX_PASSWORD_BYTES}; use a password of at most ${BCRYPT_MAX_PASSWORD_BYTES} bytes.`,
    );
  }
}

/** A bcrypt cost: an integer from 4 (Go's minimum) to 16. */
export function validateBcryptCost(label: string, field: string, cost: unknown): void {
  if (
    typeof cost !== "number" ||
    !Number.isInteger(cost) ||
    cost < BCRYPT_MIN_COST ||
    cost > BCRYPT_MAX_COST
  ) {
    fail(
      label,
      field,
      `${field} is ${describeValue(cost)}, not a whole number from ${BCRYPT_MIN_COST} to ` +
        `${BCRYPT_MAX_COST}; use 4 for long random passwords (fast checks) or 10-12 for ` +
        `passwords people chose.`,
    );
  }
}

export interface UserListRules {
  /**
   * Every user must carry a password: true where passwords cannot be generated (a list, or an
   * entry, that is an Output: generated passwords are resources, declared before values are known).
   */
  readonly passwordsRequired?: boolean;
}

/**
 * One user entry: a plain object with known keys, a valid name, and (when plain) a valid password
 * and cost. Deferred fields are skipped here; they are checked where they are consumed.
 */
export function validateUser(
  label: string,
  field: string,
  user: unknown,
  rules: UserListRules = {},
): void {
  if (typeof user !== "object" || user === null || Array.isArray(user) || isDeferred(user)) {
    fail(
      label,
      field,
      // A stray string may be a password: never shown.
      `${field} is ${describeValue(user, typeof user === "string")}, not a user; use ` +
        `{ username, password?, bcryptCost? }.`,
    );
  }
  const entry = checkObject(label, field, user, USER_KEYS)!;
  if (!isDeferred(entry.username)) validateUsername(label, `${field}.username`, entry.username);
  if (entry.password === undefined) {
    if (rules.passwordsRequired) {
      fail(
        label,
        `${field}.password`,
        `${field}.password is missing, but a user given as an Output (or in a list given as ` +
          `an Output) cannot get a generated password: generated passwords are resources, ` +
          `declared before Output values are known; supply the password, or list this user ` +
          `in a plain list with a plain username.`,
      );
    }
  } else if (!isDeferred(entry.password)) {
    validatePassword(label, `${field}.password`, entry.password);
  }
  if (entry.bcryptCost !== undefined && !isDeferred(entry.bcryptCost)) {
    validateBcryptCost(label, `${field}.bcryptCost`, entry.bcryptCost);
  }
}

/** The user list must be a list with at least one user. */
export function validateUserList(label: string, field: string, users: unknown): unknown[] {
  if (!Array.isArray(users) || users.length === 0) {
    fail(
      label,
      field,
      `${field} is ${Array.isArray(users) ? "empty" : describeValue(users)}; list at least one user, e.g. [{ username: "ci" }] (its password is ` +
        `generated), or omit ${field} for one generated user.`,
    );
  }
  return users;
}

/** Names must be unique; `names[i]` undefined where not known yet. */
export function validateUniqueNames(
  label: string,
  field: string,
  names: readonly (string | undefined)[],
): void {
  const seen = new Map<string, number>();
  names.forEach((username, i) => {
    if (username === undefined) return;
    const first = seen.get(username);
    if (first !== undefined) {
      fail(
        label,
        `${field}[${i}].username`,
        `${field}[${i}].username ${describeValue(username)} duplicates ${field}[${first}]; ` +
          `each user needs a unique name.`,
      );
    }
    seen.set(username, i);
  });
}

/**
 * A user list known at construction (the list itself plain; entries or their fields may be
 * Outputs, checked when known): not empty, each entry valid, known names unique.
 */
export function validateUsers(
  label: string,
  field: string,
  users: unknown,
  rules: UserListRules = {},
): void {
  const list = validateUserList(label, field, users);
  const names: (string | undefined)[] = [];
  list.forEach((user, i) => {
    if (isDeferred(user)) {
      names.push(undefined);
      return;
    }
    validateUser(label, `${field}[${i}]`, user, rules);
    const username = (user as { username: unknown }).username;
    names.push(typeof username === "string" ? username : undefined);
  });
  validateUniqueNames(label, field, names);
}
