/**
 * A remote host's files over SSH: the {@link HostFs} of hostfs.ts implemented with ssh2's SFTP
 * client (and one `exec` for dockerd's SIGHUP). Every operation is bounded in time; SFTP status
 * codes become the POSIX codes the rest of the trust code expects; no message carries a password
 * or key.
 *
 * Only Node built-ins and sibling modules are imported (ssh2 is required in-function, see
 * ssh2Library): this module is serialized into the dynamic provider (see provider.ts).
 */
import * as crypto from "crypto";
import type * as ssh2 from "ssh2";
import { Entry, fsError, HostFs } from "./hostfs";

/**
 * ssh2, required where it is used rather than imported: Pulumi's closure serializer captures an
 * imported npm module by reference only when it finds it in Node's require cache, which a test
 * runner's module registry (jest) does not fill; a `require` in the function body is resolved by
 * the provider host from the project's node_modules in every setting.
 */
function ssh2Library(): typeof ssh2 {
  return require("ssh2") as typeof ssh2;
}

/** Where and how to reach the host (no secrets: stored in state as is). */
export interface SshTarget {
  readonly host: string;
  readonly port: number;
  readonly user: string;
  /** `ssh-ed25519 AAAA...` (a known_hosts / .pub line) or `SHA256:<base64>`; unset: not checked. */
  readonly hostKey?: string;
  /** An ssh-agent socket on the machine that runs Pulumi. */
  readonly agentSocketPath?: string;
  /** Dial attempts before giving up (network errors only; a refused login fails at once). */
  readonly dialErrorLimit: number;
  /** Seconds each dial (TCP connect + SSH handshake + login) may take. */
  readonly perDialTimeout: number;
}

/** The secret half of a connection (a Pulumi secret in inputs and state). */
export interface SshSecrets {
  readonly password?: string;
  readonly privateKey?: string;
  readonly privateKeyPassword?: string;
}

/** Seconds any one SFTP operation may take before the connection is dropped. */
const OPERATION_TIMEOUT_MS = 30_000;

/** `user@host:port`, as messages name the host. */
export function sshWhere(target: SshTarget): string {
  const host = target.host.includes(":") ? `[${target.host}]` : target.host;
  return `${target.user}@${host}:${target.port}`;
}

/** Replaces every secret value in `text` with `[secret]`. */
export function redact(text: string, secrets: readonly (string | undefined)[]): string {
  let out = text;
  for (const s of secrets) {
    if (typeof s === "string" && s.length >= 3) out = out.split(s).join("[secret]");
  }
  return out;
}

/** True when the server's raw public key blob `key` is the pinned `hostKey`. */
export function hostKeyMatches(hostKey: string, key: Buffer): boolean {
  const pinned = hostKey.trim();
  if (pinned.startsWith("SHA256:")) {
    const fingerprint = crypto.createHash("sha256").update(key).digest("base64").replace(/=+$/, "");
    return pinned.slice("SHA256:".length).replace(/=+$/, "") === fingerprint;
  }
  // `[host] type base64 [comment]` (known_hosts) or `type base64 [comment]` (.pub): the blob.
  const blob = pinned.split(/\s+/).find((part) => /^AAAA[A-Za-z0-9+/]+=*$/.test(part));
  return blob !== undefined && blob === key.toString("base64");
}

const SFTP_CODES: Record<number, string> = {
  2: "ENOENT",
  3: "EACCES",
  4: "EFAILURE",
  5: "EBADMSG",
  6: "ENOTCONN",
  7: "ECONNRESET",
  8: "ENOTSUP",
};

function transient(error: Error & { level?: string; code?: unknown }): boolean {
  if (error.level === "client-authentication" || error.level === "host-verification") return false;
  return (
    error.level === "client-timeout" ||
    error.level === "client-socket" ||
    /ECONNREFUSED|EHOSTUNREACH|ENETUNREACH|ETIMEDOUT|ECONNRESET|Timed out/.test(
      `${String(error.code)} ${error.message}`,
    )
  );
}

function describeDialError(target: SshTarget, error: Error & { level?: string }): string {
  const where = sshWhere(target);
  if (error.level === "client-authentication") {
    return (
      `cannot log in to ${where} over SSH: the server refused every credential given ` +
      "(connection.privateKey / connection.password / the agent). Check connection.user, and " +
      "that the public key is in that user's ~/.ssh/authorized_keys on the host."
    );
  }
  if (error.level === "host-verification") {
    return (
      `${where} presented a host key that is not connection.hostKey: refusing to connect ` +
      "(the host was reinstalled, or this is not the host you meant). Check the key with " +
      "ssh-keyscan and update connection.hostKey."
    );
  }
  if (/privateKey|Cannot parse|encrypted/i.test(error.message)) {
    return (
      `cannot use connection.privateKey for ${where}: ${error.message}. Pass the private key ` +
      "file's text (OpenSSH or PEM); for an encrypted key also connection.privateKeyPassword."
    );
  }
  return (
    `cannot reach ${where} over SSH: ${error.message}. Check connection.host and ` +
    "connection.port, that sshd runs there and that this machine can reach it."
  );
}

/**
 * Connects and opens SFTP. Network failures are retried up to `dialErrorLimit` times (1 s apart);
 * a refused login or a wrong host key fails at once.
 */
export async function connectSsh(target: SshTarget, secrets: SshSecrets): Promise<HostFs> {
  const secretValues = [secrets.password, secrets.privateKey, secrets.privateKeyPassword];
  let lastError: Error | undefined;
  for (let attempt = 1; attempt <= Math.max(1, target.dialErrorLimit); attempt++) {
    try {
      return await dialOnce(target, secrets);
    } catch (e) {
      lastError = e as Error;
      if (!transient(lastError as Error & { level?: string })) break;
      if (attempt < target.dialErrorLimit) await new Promise((r) => setTimeout(r, 1000));
    }
  }
  const message = describeDialError(target, lastError as Error & { level?: string });
  throw fsError("ESSH", redact(message, secretValues));
}

function dialOnce(target: SshTarget, secrets: SshSecrets): Promise<HostFs> {
  return new Promise((resolve, reject) => {
    const client = new (ssh2Library().Client)();
    let settled = false;
    let timer: NodeJS.Timeout | undefined = undefined;
    const fail = (error: Error) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      client.end();
      reject(error);
    };
    timer = setTimeout(
      () => {
        fail(Object.assign(new Error("Timed out while connecting"), { level: "client-timeout" }));
      },
      target.perDialTimeout * 1000 + 1000,
    );
    let hostKeyRejected = false;
    client.on("error", (error: Error & { level?: string }) =>
      fail(hostKeyRejected ? Object.assign(error, { level: "host-verification" }) : error),
    );
    client.on("ready", () => {
      client.sftp((error, sftp) => {
        if (error) return fail(error);
        settled = true;
        clearTimeout(timer);
        resolve(sftpFs(client, sftp, sshWhere(target)));
      });
    });
    client.on("close", () => {
      if (hostKeyRejected) {
        fail(Object.assign(new Error("host key mismatch"), { level: "host-verification" }));
      }
    });
    client.connect({
      host: target.host,
      port: target.port,
      username: target.user,
      password: secrets.password,
      privateKey: secrets.privateKey,
      passphrase: secrets.privateKeyPassword,
      agent: target.agentSocketPath,
      readyTimeout: target.perDialTimeout * 1000,
      keepaliveInterval: 10_000,
      hostVerifier: (key: Buffer) => {
        if (target.hostKey === undefined || hostKeyMatches(target.hostKey, key)) return true;
        hostKeyRejected = true;
        return false;
      },
    });
  });
}

function sftpFs(client: ssh2.Client, sftp: ssh2.SFTPWrapper, where: string): HostFs {
  /** Runs one SFTP call with a deadline; SFTP status codes become POSIX codes. */
  const call = <T>(what: string, path: string, op: (cb: (e: unknown, v?: T) => void) => void) =>
    new Promise<T>((resolve, reject) => {
      const timer = setTimeout(() => {
        // A stuck operation (e.g. a FIFO opened behind our back) would hold the session: drop it.
        client.end();
        reject(fsError("ETIMEDOUT", `${what} ${path} on ${where} took over 30 s`));
      }, OPERATION_TIMEOUT_MS);
      op((error, value) => {
        clearTimeout(timer);
        if (error) {
          const status = (error as { code?: unknown }).code;
          const code = typeof status === "number" ? (SFTP_CODES[status] ?? "EIO") : "EIO";
          reject(fsError(code, `${what} ${path} on ${where}: ${(error as Error).message}`));
        } else {
          resolve(value as T);
        }
      });
    });
  const entry = (attrs: ssh2.Stats): Entry => ({
    kind: attrs.isFile()
      ? "file"
      : attrs.isDirectory()
        ? "directory"
        : attrs.isSymbolicLink()
          ? "symlink"
          : "other",
    mode: attrs.mode & 0o7777,
    uid: attrs.uid,
    gid: attrs.gid,
    size: attrs.size,
    mtime: new Date(attrs.mtime * 1000),
  });
  const maybe = async (op: () => Promise<ssh2.Stats>) => {
    try {
      return entry(await op());
    } catch (e) {
      if ((e as { code?: string }).code === "ENOENT") return undefined;
      throw e;
    }
  };
  const exec = (command: string) =>
    new Promise<{ code: number; output: string }>((resolve, reject) => {
      const timer = setTimeout(
        () => reject(fsError("ETIMEDOUT", `${command} on ${where} took over 30 s`)),
        OPERATION_TIMEOUT_MS,
      );
      client.exec(command, (error, stream) => {
        if (error) {
          clearTimeout(timer);
          return reject(fsError("EIO", `cannot run ${command} on ${where}: ${error.message}`));
        }
        let output = "";
        stream.on("data", (d: Buffer) => (output += d.toString("utf8")));
        stream.stderr.on("data", (d: Buffer) => (output += d.toString("utf8")));
        stream.on("close", (code: number | null) => {
          clearTimeout(timer);
          resolve({ code: code ?? -1, output: output.trim().slice(0, 500) });
        });
      });
    });
  let home: string | undefined;
  let uid: number | undefined;
  return {
    where,
    home: async () =>
      (home ??= await call<string>("realpath", ".", (cb) => sftp.realpath(".", cb))),
    uid: async () => {
      if (uid === undefined) {
        const { code, output } = await exec("id -u");
        uid = code === 0 && /^\d+$/.test(output) ? Number(output) : -1;
      }
      return uid;
    },
    lstat: (path) => maybe(() => call("lstat", path, (cb) => sftp.lstat(path, cb))),
    stat: (path) => maybe(() => call("stat", path, (cb) => sftp.stat(path, cb))),
    realpath: async (path) => {
      // SFTP realpath of a missing path may succeed on some servers: check it exists.
      const real = await call<string>("realpath", path, (cb) => sftp.realpath(path, cb));
      await call("stat", path, (cb) => sftp.stat(real, cb));
      return real;
    },
    readFile: async (path, limit) => {
      // Checked before opening: an SFTP server opening a FIFO waits for a writer.
      const before = entry(await call("stat", path, (cb) => sftp.stat(path, cb)));
      if (before.kind !== "file") throw fsError("ENOTREG", `${path} is not a regular file`);
      const handle = await call<Buffer>("open", path, (cb) => sftp.open(path, "r", cb));
      try {
        const chunks: Buffer[] = [];
        let total = 0;
        for (;;) {
          const chunk = Buffer.alloc(32 * 1024);
          const read = await call<number>("read", path, (cb) =>
            sftp.read(handle, chunk, 0, chunk.length, total, (e, n) => cb(e, n)),
          ).catch((e) => {
            // OpenSSH answers EOF as a status error on some versions.
            if (/EOF|End of file/i.test((e as Error).message)) return 0;
            throw e;
          });
          if (!read) break;
          chunks.push(chunk.subarray(0, read));
          total += read;
          if (total > limit) throw fsError("EFBIG", `${path} is larger than ${limit} bytes`);
        }
        return Buffer.concat(chunks);
      } finally {
        await call("close", path, (cb) => sftp.close(handle, cb)).catch(() => undefined);
      }
    },
    createFile: async (path, data, mode) => {
      const handle = await call<Buffer>("create", path, (cb) =>
        sftp.open(path, "wx", { mode }, cb),
      );
      try {
        let offset = 0;
        while (offset < data.length) {
          const length = Math.min(32 * 1024, data.length - offset);
          await call("write", path, (cb) => sftp.write(handle, data, offset, length, offset, cb));
          offset += length;
        }
        await call("chmod", path, (cb) => sftp.fchmod(handle, mode, cb));
        await call("fsync", path, (cb) => sftp.ext_openssh_fsync(handle, (e) => cb(e))).catch(
          () => undefined, // not every server has the extension; the rename still orders it
        );
      } finally {
        await call("close", path, (cb) => sftp.close(handle, cb)).catch(() => undefined);
      }
    },
    rename: (from, to) =>
      // Plain SFTP rename refuses an existing target; OpenSSH's posix-rename replaces it atomically.
      call("rename", to, (cb) => sftp.ext_openssh_rename(from, to, cb)),
    unlink: (path) => call("unlink", path, (cb) => sftp.unlink(path, cb)),
    mkdir: async (path, mode) => {
      try {
        await call("mkdir", path, (cb) => sftp.mkdir(path, { mode }, cb));
      } catch (e) {
        // OpenSSH reports an existing directory as a generic failure.
        if ((e as { code?: string }).code === "EFAILURE") {
          const existing = await maybe(() => call("lstat", path, (cb) => sftp.lstat(path, cb)));
          if (existing !== undefined) throw fsError("EEXIST", `${path} exists on ${where}`);
        }
        throw e;
      }
      await call("chmod", path, (cb) => sftp.chmod(path, mode, cb));
    },
    rmdir: async (path) => {
      try {
        await call("rmdir", path, (cb) => sftp.rmdir(path, cb));
      } catch (e) {
        if ((e as { code?: string }).code === "EFAILURE") {
          const names = await call<ssh2.FileEntryWithStats[]>("readdir", path, (cb) =>
            sftp.readdir(path, cb),
          ).catch(() => []);
          if (names.length > 0) throw fsError("ENOTEMPTY", `${path} on ${where} is not empty`);
        }
        throw e;
      }
    },
    readdir: async (path) =>
      (await call<ssh2.FileEntryWithStats[]>("readdir", path, (cb) => sftp.readdir(path, cb))).map(
        (e) => e.filename,
      ),
    chown: (path, u, g) => call("chown", path, (cb) => sftp.chown(path, u, g, cb)),
    utimes: (path, atime, mtime) =>
      call("utimes", path, (cb) => sftp.utimes(path, atime, mtime, cb)),
    hangup: async (pid) => {
      const { code, output } = await exec(`kill -HUP ${Math.trunc(pid)}`);
      if (code !== 0) {
        throw fsError(
          /not permitted/i.test(output)
            ? "EPERM"
            : /No such process/i.test(output)
              ? "ESRCH"
              : "EIO",
          `kill -HUP ${pid} on ${where} failed: ${output}`,
        );
      }
    },
    close: async () => {
      client.end();
    },
  };
}
