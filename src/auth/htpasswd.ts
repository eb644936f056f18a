/**
 * Pure htpasswd rendering and the stable bcrypt of the lines.
 *
 * Why the package computes every bcrypt itself (and not `random.RandomPassword`'s `bcryptHash`):
 * that hash is fixed at cost 10, and distribution checks the bcrypt of the htpasswd line on every
 * authenticated request. At cost 10 a two-core host serves about 23 authenticated requests a
 * second; at cost 4 about as many as unauthenticated ones. The cost is an option per user.
 *
 * Why the lines are stable: a bcrypt computed with a fresh salt changes on every run, and the
 * container (whose uploads carry the htpasswd) would be replaced on every `pulumi up`. The salt of
 * each line is derived from one random seed kept in state (`random.RandomId`) and the user's name,
 * so the same user, password and cost give the same line on every run, and a changed password or
 * cost gives a new line.
 */
import * as bcrypt from "bcryptjs";
import * as crypto from "crypto";

/** Lowest and highest bcrypt cost accepted: Go's bcrypt.MinCost, and a hash that still takes < 10 s. */
export const BCRYPT_MIN_COST = 4;
export const BCRYPT_MAX_COST = 16;

/**
 * Default cost of a generated password's line. A generated password is 32 random letters and
 * digits (about 190 bits of entropy): no number of guesses can find it, whatever the hash cost, so
 * the cheapest cost lets the registry check it as fast as an unauthenticated request.
 */
export const DEFAULT_GENERATED_COST = 4;

/**
 * Default cost of a supplied password's line. A supplied password may be one a person chose, and
 * a leaked htpasswd file is then open to offline guessing: the cost slows each guess. 10 is what
 * `random.RandomPassword` and most tools use. Lower it (e.g. to 4) for supplied passwords that are
 * themselves long random tokens.
 */
export const DEFAULT_SUPPLIED_COST = 10;

/** Bytes of salt bcrypt takes. */
export const BCRYPT_SALT_BYTES = 16;

/** Bytes of the random seed each HtpasswdUsers keeps in state to derive its users' salts. */
export const SALT_SEED_BYTES = 32;

/** One htpasswd line, `user:$2...`, without newline. */
export function renderHtpasswdLine(username: string, bcryptHash: string): string {
  return `${username}:${bcryptHash}`;
}

/** The htpasswd file: one line per user, in the order given, newline-terminated. */
export function renderHtpasswd(lines: readonly string[]): string {
  return lines.map((line) => `${line}\n`).join("");
}

/**
 * The salt (hex of 16 bytes) of `username`'s line: HMAC-SHA256 of the name under the seed kept in
 * state. Distinct per user and per deployment, the same on every run.
 *
 * The salt never depends on the password: bcrypt stores the salt in clear inside the hash, so a
 * salt derived from the password would be a fast (HMAC-speed) check of password guesses next to
 * the slow bcrypt, defeating the cost.
 */
export function deriveSalt(seedHex: string, username: string): string {
  if (!/^[0-9a-f]{16,}$/i.test(seedHex)) {
    throw new Error("deriveSalt: the seed must be at least 8 bytes as hex");
  }
  return crypto
    .createHmac("sha256", Buffer.from(seedHex, "hex"))
    .update(`htpasswd-salt:${username}`, "utf8")
    .digest()
    .subarray(0, BCRYPT_SALT_BYTES)
    .toString("hex");
}

/**
 * bcrypt (`$2a$`, as Go's bcrypt and htpasswd write it) of `password` at `cost` with a salt the
 * caller keeps stable (hex of 16 bytes).
 */
export function stableBcrypt(password: string, saltHex: string, cost: number): string {
  if (!/^[0-9a-f]{32}$/i.test(saltHex)) {
    throw new Error(`stableBcrypt: salt must be ${BCRYPT_SALT_BYTES} bytes as hex`);
  }
  if (!Number.isInteger(cost) || cost < BCRYPT_MIN_COST || cost > BCRYPT_MAX_COST) {
    throw new Error(`stableBcrypt: cost must be ${BCRYPT_MIN_COST}-${BCRYPT_MAX_COST}`);
  }
  const rounds = String(cost).padStart(2, "0");
  const salt = `$2a$${rounds}$${bcrypt.encodeBase64(Buffer.from(saltHex, "hex"), BCRYPT_SALT_BYTES)}`;
  return bcrypt.hashSync(password, salt);
}

/** The cost field of a bcrypt hash (`$2a$04$...` -> 4). */
export function bcryptCostOf(hash: string): number {
  const match = /^\$2[abxy]?\$(\d{2})\$/.exec(hash);
  if (!match) throw new Error("bcryptCostOf: not a bcrypt hash");
  return Number(match[1]);
}
