/**
 * dockerd's reload on the host the files are on: SIGHUP makes it re-read daemon.json
 * (`insecure-registries` is reloadable; no restart).
 *
 * Only Node built-ins and sibling modules are imported: this module is serialized into the
 * dynamic provider (see provider.ts).
 */
import { codeOf, HostFs } from "./hostfs";
import { readText } from "./safeio";

/**
 * Sends dockerd SIGHUP. "not-running" when the pid file is missing or stale (a daemon that starts
 * later reads the file anyway). Refuses to signal a process that is not dockerd.
 */
export async function reloadDockerd(
  fs: HostFs,
  pidFile: string,
): Promise<"signalled" | "not-running"> {
  const on = fs.where === "this host" ? "" : ` on ${fs.where}`;
  const text = await readText(fs, pidFile, "pidFile");
  if (text === undefined) return "not-running";
  const pid = Number(text.trim());
  if (!Number.isInteger(pid) || pid <= 1) {
    throw new Error(
      `pidFile ${pidFile}${on} does not hold a process id; point pidFile at dockerd's pid file`,
    );
  }
  const comm = await readText(fs, `/proc/${pid}/comm`, "pidFile").catch(() => undefined);
  if (comm === undefined) {
    if ((await fs.lstat("/proc/self")) !== undefined) return "not-running";
  } else if (comm.trim() !== "dockerd") {
    throw new Error(
      `pidFile ${pidFile}${on} names process ${pid} (${comm.trim()}), not dockerd; refusing to ` +
        "signal it. Point pidFile at dockerd's pid file (default /var/run/docker.pid).",
    );
  }
  try {
    await fs.hangup(pid);
  } catch (e) {
    if (codeOf(e) === "ESRCH") return "not-running";
    if (codeOf(e) === "EPERM") {
      throw new Error(
        `cannot signal dockerd (pid ${pid})${on}: permission denied. Run as root (sudo), or set ` +
          "reloadDaemon: false and reload dockerd yourself (systemctl reload docker).",
      );
    }
    throw e;
  }
  return "signalled";
}
