/**
 * The inter-process lock every read → merge → write of a trust directory runs under:
 * proper-lockfile's mkdir lock (`<dir>/.pulumi-trust.lock`), driven through the {@link HostFs},
 * so processes on this host and RegistryClientTrusts reaching the same host over SSH exclude each
 * other. A lock whose holder died is taken over once it is older than `STALE_MS` (its holder
 * refreshes it every few seconds while alive).
 *
 * Only Node built-ins and sibling modules are imported: this module is serialized into the dynamic
 * provider (see provider.ts). proper-lockfile is required in-function (see ssh2Library in ssh.ts
 * for why).
 */
import * as path from "path";
import type * as lockfile from "proper-lockfile";
import { codeOf, fsError, HostFs } from "./hostfs";
import { explain } from "./safeio";

/** The lock directory's name inside the locked directory. */
export const LOCK_NAME = ".pulumi-trust.lock";
/** A lock not refreshed for this long belongs to a dead process and is taken over. */
const STALE_MS = 20_000;

type Callback = (error: Error | null, value?: unknown) => void;

/** The callback-style fs subset proper-lockfile calls, over a HostFs. */
function lockFs(fs: HostFs) {
  const adapt =
    <A extends unknown[]>(op: (...args: A) => Promise<unknown>) =>
    (...args: [...A, Callback]) => {
      const cb = args.pop() as Callback;
      op(...(args as unknown as A)).then(
        (value) => cb(null, value),
        (error) => cb(error as Error),
      );
    };
  return {
    mkdir: adapt((p: string) => fs.mkdir(p, 0o755)),
    rmdir: adapt((p: string) => fs.rmdir(p)),
    realpath: adapt((p: string) => fs.realpath(p)),
    utimes: adapt((p: string, atime: Date, mtime: Date) => fs.utimes(p, atime, mtime)),
    stat: adapt(async (p: string) => {
      const entry = await fs.stat(p);
      if (entry === undefined) throw fsError("ENOENT", `${p} does not exist`);
      return { mtime: entry.mtime };
    }),
    // Used by proper-lockfile's exit hook only; a remote lock then goes stale and is taken over.
    rmdirSync: () => undefined,
  };
}

/**
 * Runs `work` holding `dir`'s lock (waiting up to about a minute for another holder). The lock is
 * released whatever `work` does; if it was lost meanwhile (a pause longer than the stale time),
 * the result is an error rather than a silent race.
 */
export async function withDirLock<T>(
  fs: HostFs,
  dir: string,
  field: string,
  work: () => Promise<T>,
): Promise<T> {
  let compromised: Error | undefined;
  let release: () => Promise<void>;
  try {
    const library = require("proper-lockfile") as typeof lockfile;
    release = await library.lock(dir, {
      lockfilePath: path.join(dir, LOCK_NAME),
      realpath: false,
      stale: STALE_MS,
      update: 5_000,
      retries: { retries: 400, factor: 1.1, minTimeout: 10, maxTimeout: 250, randomize: true },
      fs: lockFs(fs) as never,
      onCompromised: (error) => {
        compromised = error;
      },
    });
  } catch (e) {
    if (codeOf(e) === "ELOCKED") {
      throw fsError(
        "ELOCKED",
        `${dir}${fs.where === "this host" ? "" : ` on ${fs.where}`} stayed locked by another ` +
          `process for over a minute (${path.join(dir, LOCK_NAME)}). If no other pulumi run is ` +
          `using it, the lock is left over from a crash and is taken over ${STALE_MS / 1000} s ` +
          "after its holder stopped: run again.",
      );
    }
    throw explain(fs, field, "create directory", path.join(dir, LOCK_NAME), e);
  }
  let result: T;
  try {
    result = await work();
  } finally {
    await release().catch(() => undefined);
  }
  if (compromised !== undefined) {
    throw fsError(
      "ECOMPROMISED",
      `lost the lock on ${dir} while writing (${compromised.message}); run again to check the files.`,
    );
  }
  return result;
}
