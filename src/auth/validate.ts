/**
 * Checks of htpasswd users and passwords. Messages never contain a password.
 */
import { describeValue, fail, isDeferred } from "../common/checks";

/** bcrypt reads only the first 72 bytes of a password. */
export const BCRYPT_MAX_PASSWORD_BYTES = 72;

export interface UserLike {
  readonly username: unknown;
  readonly password?: unknown;
}

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
      `${field} ${JSON.stringify(username)} contains ':', which separates name and hash in ` +
        `htpasswd and user and password in Basic auth; remove it.`,
    );
  }
  if (/[\s\p{Cc}]/u.test(username)) {
    fail(
      label,
      field,
      `${field} ${describeValue(username)} contains whitespace or a control character; ` +
        `use a name without spaces, e.g. ${JSON.stringify(username.replace(/[\s\p{Cc}]+/gu, "-"))}.`,
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

/**
 * The user list: not empty, names valid and unique. Passwords that are plain strings are checked
 * here; Output passwords must be checked with `whenKnown` where they are consumed.
 */
export function validateUsers(label: string, field: string, users: unknown): void {
  if (!Array.isArray(users) || users.length === 0) {
    fail(
      label,
      field,
      `${field} is ${Array.isArray(users) ? "empty" : describeValue(users)}; list at least one user, e.g. [{ username: "ci" }] (its password is ` +
        `generated), or omit ${field} for one generated user.`,
    );
  }
  const seen = new Map<string, number>();
  users.forEach((user: UserLike, i) => {
    if (typeof user !== "object" || user === null || Array.isArray(user)) {
      fail(
        label,
        `${field}[${i}]`,
        `${field}[${i}] is ${describeValue(user)}, not an object; use { username, password? }.`,
      );
    }
    validateUsername(label, `${field}[${i}].username`, user.username);
    const username = user.username as string;
    const first = seen.get(username);
    if (first !== undefined) {
      fail(
        label,
        `${field}[${i}].username`,
        `${field}[${i}].username ${JSON.stringify(username)} duplicates ${field}[${first}]; ` +
          `each user needs a unique name.`,
      );
    }
    seen.set(username, i);
    if (user.password !== undefined && !isDeferred(user.password)) {
      validatePassword(label, `${field}[${i}].password`, user.password);
    }
  });
}
