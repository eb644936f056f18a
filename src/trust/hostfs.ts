/**
 * The one file-system abstraction every trust operation runs over: the host's own file system
 * (this file) or a remote host's over SFTP (ssh.ts). The merge, CA, lock, ledger and undo logic
 * only ever see a {@link HostFs}, so what holds locally holds remotely by construction.
 *
 * Every method is promise-based, bounded in time (remote) and reports failures as errors with a
 * POSIX-style `code` (ENOENT, EACCES, EEXIST, ENOTEMPTY, EROFS, ...), whatever the transport.
 *
 * Only Node built-ins are imported: this module is serialized into the dynamic provider (see
 * provider.ts).
 */
import * as fs from "fs";
import * as os from "os";

/** What a directory entry is, as far as the trust code cares. */
export interface Entry {
  readonly kind: "file" | "directory" | "symlink" | "other";
  /** Permission bits (`mode & 0o7777`). */
  readonly mode: number;
  readonly uid: number;
  readonly gid: number;
  readonly size: number;
  readonly mtime: Date;
}

/** A host's files, and the one process operation trust needs there (SIGHUP to dockerd). */
export interface HostFs {
  /** How messages name the host: `this host`, or `root@198.51.100.2:22`. */
  readonly where: string;
  /** The connecting user's home directory on that host. */
  home(): Promise<string>;
  /** The user id the operations run as (0 for root). */
  uid(): Promise<number>;
  /** Entry for `path` without following a final symlink; undefined when it does not exist. */
  lstat(path: string): Promise<Entry | undefined>;
  /** Entry for `path`, following symlinks; undefined when it (or a link's target) does not exist. */
  stat(path: string): Promise<Entry | undefined>;
  /** `path` with every symlink resolved (the path must exist). */
  realpath(path: string): Promise<string>;
  /**
   * Content of the regular file `path`, at most `limit` bytes (more is an error). Refuses at once
   * (never blocks) when `path` is not a regular file: a FIFO, a device, a directory.
   */
  readFile(path: string, limit: number): Promise<Buffer>;
  /** Creates `path` exclusively with exactly `mode` (not umask-filtered), writes, syncs. */
  createFile(path: string, data: Buffer, mode: number): Promise<void>;
  /** Renames `from` over `to` atomically (replacing `to`). */
  rename(from: string, to: string): Promise<void>;
  unlink(path: string): Promise<void>;
  /** Creates one directory with exactly `mode`; EEXIST when it exists. */
  mkdir(path: string, mode: number): Promise<void>;
  /** Removes an empty directory; ENOTEMPTY otherwise. */
  rmdir(path: string): Promise<void>;
  readdir(path: string): Promise<string[]>;
  chown(path: string, uid: number, gid: number): Promise<void>;
  utimes(path: string, atime: Date, mtime: Date): Promise<void>;
  /** Sends SIGHUP to process `pid` on that host. */
  hangup(pid: number): Promise<void>;
  /** Ends the connection (nothing for the local host). */
  close(): Promise<void>;
}

/** An Error with a POSIX-style code, naming the operation and the path. */
export function fsError(code: string, message: string): Error {
  return Object.assign(new Error(message), { code });
}

/** The `code` of an error, or "". */
export function codeOf(error: unknown): string {
  const code = (error as { code?: unknown } | undefined)?.code;
  return typeof code === "string" ? code : "";
}

function entryOf(st: fs.Stats): Entry {
  return {
    kind: st.isFile()
      ? "file"
      : st.isDirectory()
        ? "directory"
        : st.isSymbolicLink()
          ? "symlink"
          : "other",
    mode: st.mode & 0o7777,
    uid: st.uid,
    gid: st.gid,
    size: st.size,
    mtime: st.mtime,
  };
}

async function missingAsUndefined<T>(op: () => Promise<T>): Promise<T | undefined> {
  try {
    return await op();
  } catch (e) {
    if (codeOf(e) === "ENOENT" || codeOf(e) === "ENOTDIR") return undefined;
    throw e;
  }
}

/** The host that runs the provider. */
export function localFs(): HostFs {
  const p = fs.promises;
  return {
    where: "this host",
    home: async () => os.homedir(),
    uid: async () => (typeof process.getuid === "function" ? process.getuid() : -1),
    lstat: (path) => missingAsUndefined(async () => entryOf(await p.lstat(path))),
    stat: (path) => missingAsUndefined(async () => entryOf(await p.stat(path))),
    realpath: (path) => p.realpath(path),
    readFile: async (path, limit) => {
      // O_NONBLOCK: opening a FIFO must not wait for a writer; fstat then refuses anything that
      // is not a regular file before a single byte is read (a link to /dev/zero never ends).
      const handle = await p.open(path, fs.constants.O_RDONLY | fs.constants.O_NONBLOCK);
      try {
        const st = await handle.stat();
        if (!st.isFile()) {
          throw fsError("ENOTREG", `${path} is not a regular file`);
        }
        if (st.size > limit) {
          throw fsError("EFBIG", `${path} is larger than ${limit} bytes`);
        }
        // Read to the end, not to st.size: /proc files report size 0.
        const chunks: Buffer[] = [];
        let total = 0;
        for (;;) {
          const chunk = Buffer.alloc(64 * 1024);
          const { bytesRead } = await handle.read(chunk, 0, chunk.length, total);
          if (bytesRead === 0) break;
          chunks.push(chunk.subarray(0, bytesRead));
          total += bytesRead;
          if (total > limit) throw fsError("EFBIG", `${path} is larger than ${limit} bytes`);
        }
        return Buffer.concat(chunks);
      } finally {
        await handle.close();
      }
    },
    createFile: async (path, data, mode) => {
      const handle = await p.open(path, "wx", mode);
      try {
        await handle.writeFile(data);
        await handle.chmod(mode); // open's mode is filtered by the umask
        await handle.sync();
      } finally {
        await handle.close();
      }
    },
    rename: (from, to) => p.rename(from, to),
    unlink: (path) => p.unlink(path),
    mkdir: async (path, mode) => {
      await p.mkdir(path, { mode });
      await p.chmod(path, mode);
    },
    rmdir: (path) => p.rmdir(path),
    readdir: (path) => p.readdir(path),
    chown: (path, uid, gid) => p.chown(path, uid, gid),
    utimes: (path, atime, mtime) => p.utimes(path, atime, mtime),
    hangup: async (pid) => {
      process.kill(pid, "SIGHUP");
    },
    close: async () => undefined,
  };
}
