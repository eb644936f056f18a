/**
 * Pure htpasswd rendering and the stable bcrypt used for supplied passwords.
 */
import * as bcrypt from "bcryptjs";

/** Cost of the bcrypt hashes this package computes; the same as random.RandomPassword's. */
export const BCRYPT_COST = 10;

/** Bytes of salt bcrypt takes. */
export const BCRYPT_SALT_BYTES = 16;

/** One htpasswd line, `user:$2...`, without newline. */
export function renderHtpasswdLine(username: string, bcryptHash: string): string {
  return `${username}:${bcryptHash}`;
}

/** The htpasswd file: one line per user, in the order given, newline-terminated. */
export function renderHtpasswd(lines: readonly string[]): string {
  return lines.map((line) => `${line}\n`).join("");
}

/**
 * bcrypt of `password` with a salt the caller keeps stable (hex of 16 bytes).
 *
 * A bcrypt computed in the program with a fresh salt changes on every run, so the container
 * (whose uploads carry the htpasswd) would be replaced on every `pulumi up`. With the salt kept
 * in state (a `random.RandomId` per user), the same user and password give the same line every
 * run, and a changed password gives a new line.
 *
 * Why not derive the salt from the password (e.g. HMAC(password, username))? bcrypt stores the
 * salt in clear inside the hash, so such a salt would be a fast (HMAC-speed) check of password
 * guesses next to the slow bcrypt, defeating the cost factor. A random salt reveals nothing.
 */
export function stableBcrypt(password: string, saltHex: string): string {
  if (!/^[0-9a-f]{32}$/i.test(saltHex)) {
    throw new Error(`stableBcrypt: salt must be ${BCRYPT_SALT_BYTES} bytes as hex`);
  }
  const salt = `$2a$${BCRYPT_COST}$${bcrypt.encodeBase64(Buffer.from(saltHex, "hex"), BCRYPT_SALT_BYTES)}`;
  return bcrypt.hashSync(password, salt);
}
