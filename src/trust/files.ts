/**
 * Everything RegistryClientTrust does to the host's files, as plain functions: the dynamic
 * provider (provider.ts) only calls these, and the unit tests call them on temp directories.
 *
 * Rules kept here:
 * - every file is written atomically (temp file in the same directory, then rename);
 * - ca.crt files are 0644 in 0755 directories; daemon.json and config.json keep their mode and
 *   owner (a new config.json is 0600: it holds credentials);
 * - nothing is written outside the configured roots (each target is checked, symlinks resolved);
 * - JSON files are merged, never overwritten: other keys, their order and the indentation stay;
 *   a malformed file is an error and stays byte for byte as it was;
 * - passwords and `auth` values never appear in errors.
 *
 * Only Node built-ins and sibling modules are imported: this module is serialized into the
 * dynamic provider (see provider.ts).
 */
import * as crypto from "crypto";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { certDirNames, parseEndpoint } from "./endpoint";
import { Login, TrustInputs } from "./inputs";
import { parseJsonObject, renderJson } from "./json";

/** A ca.crt this component manages. */
export interface CaFileRecord {
  /** Absolute path of the ca.crt. */
  readonly path: string;
  /** The certs dir (root) it lives under. */
  readonly root: string;
  /** sha256 of the content written (a public certificate). */
  readonly sha256: string;
  /** The file already held this exact certificate before this component; delete keeps it. */
  readonly preexisted: boolean;
}

/** An entry this component manages inside a shared JSON file. */
export interface JsonEntryRecord {
  /** Absolute path of daemon.json / config.json. */
  readonly path: string;
  /** The endpoint the entry is keyed by. */
  readonly endpoint: string;
  /** The exact entry was there before this component; delete keeps it. */
  readonly preexisted: boolean;
  /**
   * This component created the file. Delete removes a config.json it created once nothing else is
   * left in it; daemon.json is always kept (see removeInsecureRegistry).
   */
  readonly createdFile: boolean;
}

/** What the provider wrote, kept in state so update and delete touch exactly that. */
export interface TrustRecord {
  readonly caFiles: CaFileRecord[];
  readonly insecureEntry?: JsonEntryRecord;
  readonly authEntry?: JsonEntryRecord;
}

/** The provider's outputs: its inputs plus what it wrote and what refresh found. */
export interface TrustOutputs extends TrustInputs {
  /** Paths written (sorted): ca.crt files, daemon.json, config.json. */
  readonly files: string[];
  readonly record: TrustRecord;
  /** Differences refresh found between the files and `record`; empty after create/update. */
  readonly drift: string[];
}

/** A ca.crt to write: `<root>/<host[:port]>/ca.crt`. */
export interface PlannedCaFile {
  readonly root: string;
  readonly path: string;
}

// ---------------------------------------------------------------------------------------------
// Paths

/**
 * The docker CLI's config file: `clientConfigPath` when set, else `$DOCKER_CONFIG/config.json`,
 * else `~/.docker/config.json` of the user running the provider. Resolved when files are written,
 * never at construction, so no machine path enters the resource's inputs.
 */
export function resolveClientConfigPath(
  configured: string | undefined,
  env: Record<string, string | undefined> = process.env,
  home: string = os.homedir(),
): string {
  if (configured !== undefined) {
    return path.resolve(configured);
  }
  if (env.DOCKER_CONFIG) {
    return path.resolve(env.DOCKER_CONFIG, "config.json");
  }
  return path.join(home, ".docker", "config.json");
}

/** Throws unless `target` is strictly inside `root` (lexically). */
export function assertInside(root: string, target: string, what: string): void {
  const relative = path.relative(path.resolve(root), path.resolve(target));
  if (relative === "" || relative.startsWith("..") || path.isAbsolute(relative)) {
    throw new Error(`refusing to write ${what} ${target}: it is not inside ${root}`);
  }
}

/** The ca.crt files for `endpoint` under each certs dir, sorted by path. */
export function planCaFiles(endpoint: string, certsDirs: readonly string[]): PlannedCaFile[] {
  const planned: PlannedCaFile[] = [];
  for (const dir of certsDirs) {
    const root = path.resolve(dir);
    for (const name of certDirNames(endpoint)) {
      const target = path.join(root, name, "ca.crt");
      assertInside(root, target, "ca.crt");
      if (path.relative(root, target) !== `${name}${path.sep}ca.crt`) {
        throw new Error(`refusing to write ${target}: "${name}" is not a single directory name`);
      }
      planned.push({ root, path: target });
    }
  }
  return planned.sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
}

/**
 * Creates `dir` (and missing parents) with mode 0755, then checks that its real path, symlinks
 * resolved, is inside the real path of `root`.
 */
function ensureDirInside(root: string, dir: string): void {
  makeDirs(root);
  if (!fs.existsSync(dir)) {
    fs.mkdirSync(dir, { mode: 0o755 });
    fs.chmodSync(dir, 0o755); // mkdir's mode is filtered by the umask
  }
  const realRoot = fs.realpathSync(root);
  const realDir = fs.realpathSync(dir);
  assertInside(realRoot, realDir, "into directory");
  if (!fs.statSync(realDir).isDirectory()) {
    throw new Error(`refusing to write into ${dir}: it is not a directory`);
  }
}

/** `mkdir -p` where every directory created gets exactly 0755 (not umask-filtered). */
function makeDirs(dir: string): void {
  const missing: string[] = [];
  for (let d = path.resolve(dir); !fs.existsSync(d); d = path.dirname(d)) {
    missing.unshift(d);
  }
  for (const d of missing) {
    fs.mkdirSync(d, { mode: 0o755 });
    fs.chmodSync(d, 0o755);
  }
}

// ---------------------------------------------------------------------------------------------
// Atomic writes

/**
 * Writes `content` to `target` through a temp file in the same directory and a rename, so readers
 * see the old or the new file, never half of one. `mode` applies exactly (not umask-filtered);
 * `owner` is kept when given (and when the process may set it).
 */
export function writeFileAtomic(
  target: string,
  content: string,
  mode: number,
  owner?: { uid: number; gid: number },
): void {
  const dir = path.dirname(target);
  const temp = path.join(
    dir,
    `.${path.basename(target)}.${process.pid}.${crypto.randomBytes(6).toString("hex")}.tmp`,
  );
  const fd = fs.openSync(temp, "wx", mode);
  try {
    fs.writeSync(fd, content);
    fs.fchmodSync(fd, mode);
    if (owner !== undefined && typeof process.getuid === "function" && process.getuid() === 0) {
      fs.fchownSync(fd, owner.uid, owner.gid);
    }
    fs.fsyncSync(fd);
  } catch (e) {
    fs.closeSync(fd);
    fs.rmSync(temp, { force: true });
    throw e;
  }
  fs.closeSync(fd);
  try {
    fs.renameSync(temp, target);
  } catch (e) {
    fs.rmSync(temp, { force: true });
    throw e;
  }
}

function readIfExists(file: string): string | undefined {
  try {
    return fs.readFileSync(file, "utf8");
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === "ENOENT") return undefined;
    throw e;
  }
}

// ---------------------------------------------------------------------------------------------
// CA files

/** The PEM as written to disk: LF line endings, one trailing newline. */
export function normalizePem(pem: string): string {
  return pem.replace(/\r\n/g, "\n").trim() + "\n";
}

export function sha256(text: string): string {
  return crypto.createHash("sha256").update(text).digest("hex");
}

function sameCertificate(a: string, b: string): boolean {
  return normalizePem(a) === normalizePem(b);
}

/**
 * Writes the CA to every planned path. A file that already holds a different certificate and is
 * not in `previous` (this component's earlier writes) is left alone with an error, unless `adopt`.
 * Conflicts are checked for every path before the first write.
 */
export function writeCaFiles(
  planned: readonly PlannedCaFile[],
  caCertPem: string,
  previous: readonly CaFileRecord[],
  adopt: boolean,
): CaFileRecord[] {
  const content = normalizePem(caCertPem);
  const digest = sha256(content);
  const existing = planned.map((p) => {
    const st = lstatIfExists(p.path);
    if (st && st.isDirectory()) {
      throw new Error(`refusing to write ${p.path}: a directory is in the way`);
    }
    return readIfExists(p.path);
  });
  planned.forEach((p, i) => {
    const current = existing[i];
    const ours = previous.some((r) => r.path === p.path);
    if (current !== undefined && !sameCertificate(current, content) && !ours && !adopt) {
      throw new Error(
        `${p.path} already holds a different CA certificate, not written by this ` +
          "RegistryClientTrust. To take it over, set adopt: true (it is then replaced now and " +
          "removed on delete); or move the file away if it is stale.",
      );
    }
  });
  return planned.map((p, i) => {
    const current = existing[i];
    const prior = previous.find((r) => r.path === p.path);
    ensureDirInside(p.root, path.dirname(p.path));
    // Same certificate (line endings and surrounding blanks aside): leave the file untouched.
    if (current !== undefined && sameCertificate(current, content)) {
      return {
        path: p.path,
        root: p.root,
        sha256: digest,
        preexisted: prior ? prior.preexisted : true,
      };
    }
    writeFileAtomic(p.path, content, 0o644);
    return { path: p.path, root: p.root, sha256: digest, preexisted: false };
  });
}

function lstatIfExists(file: string): fs.Stats | undefined {
  try {
    return fs.lstatSync(file);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === "ENOENT") return undefined;
    throw e;
  }
}

/**
 * Removes the ca.crt files this component wrote (not the ones that pre-existed, not ones whose
 * content someone has since replaced), then each one's directory if it is left empty. Returns the
 * paths removed.
 */
export function removeCaFiles(records: readonly CaFileRecord[]): string[] {
  const removed: string[] = [];
  for (const record of records) {
    assertInside(record.root, record.path, "ca.crt");
    if (record.preexisted) continue;
    const st = lstatIfExists(record.path);
    if (st === undefined || st.isDirectory()) continue;
    const current = st.isFile() ? readIfExists(record.path) : undefined;
    if (current === undefined || sha256(normalizePem(current)) !== record.sha256) continue;
    fs.rmSync(record.path);
    removed.push(record.path);
    removeDirIfEmpty(record.root, path.dirname(record.path));
  }
  return removed;
}

function removeDirIfEmpty(root: string, dir: string): void {
  assertInside(root, dir, "directory");
  try {
    fs.rmdirSync(dir);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code !== "ENOTEMPTY" && code !== "EEXIST" && code !== "ENOENT") throw e;
  }
}

// ---------------------------------------------------------------------------------------------
// Shared JSON files

interface LoadedJson {
  readonly file: string;
  readonly data: Record<string, unknown>;
  readonly indent: string;
  readonly trailingNewline: boolean;
  readonly existed: boolean;
  readonly mode: number;
  readonly owner?: { uid: number; gid: number };
}

/** Reads a JSON object file that may be missing; symlinks are followed to the real file. */
function loadJson(
  file: string,
  label: string,
  fallbackIndent: string,
  newMode: number,
): LoadedJson {
  let real = file;
  if (lstatIfExists(file)?.isSymbolicLink()) {
    real = fs.realpathSync(file);
  }
  const text = readIfExists(real);
  if (text === undefined) {
    return {
      file: real,
      data: {},
      indent: fallbackIndent,
      trailingNewline: true,
      existed: false,
      mode: newMode,
    };
  }
  const st = fs.statSync(real);
  const doc = parseJsonObject(text, `${label} ${file}`, fallbackIndent);
  return {
    file: real,
    ...doc,
    existed: true,
    mode: st.mode & 0o7777,
    owner: { uid: st.uid, gid: st.gid },
  };
}

function saveJson(loaded: LoadedJson): void {
  fs.mkdirSync(path.dirname(loaded.file), { recursive: true, mode: 0o755 });
  writeFileAtomic(
    loaded.file,
    renderJson(loaded.data, loaded.indent, loaded.trailingNewline),
    loaded.mode,
    loaded.owner,
  );
}

/** Outcome of merging one entry into a shared JSON file. */
export interface MergeResult {
  /** The file was rewritten. */
  readonly changed: boolean;
  /** The entry was already there, exactly. */
  readonly preexisted: boolean;
  /** The file did not exist before. */
  readonly createdFile: boolean;
}

const DAEMON_LABEL = "daemonConfigPath";
const CLIENT_LABEL = "clientConfigPath";

function insecureList(loaded: LoadedJson): string[] {
  const list = loaded.data["insecure-registries"];
  if (list === undefined) return [];
  if (!Array.isArray(list) || !list.every((x) => typeof x === "string")) {
    throw new Error(
      `${DAEMON_LABEL} ${loaded.file}: "insecure-registries" must be a list of strings. ` +
        "The file was left unchanged; fix it and run again.",
    );
  }
  return list;
}

/** Adds `endpoint` to `insecure-registries` in daemon.json, keeping every other key. */
export function mergeInsecureRegistry(daemonConfigPath: string, endpoint: string): MergeResult {
  const loaded = loadJson(daemonConfigPath, DAEMON_LABEL, "  ", 0o644);
  const list = insecureList(loaded);
  if (list.includes(endpoint)) {
    return { changed: false, preexisted: true, createdFile: false };
  }
  loaded.data["insecure-registries"] = [...list, endpoint];
  saveJson(loaded);
  return { changed: true, preexisted: false, createdFile: !loaded.existed };
}

/**
 * Takes `endpoint` out of `insecure-registries`, keeping the key even when the list ends empty:
 * dockerd's reload (SIGHUP) only applies keys present in daemon.json, so dropping the key (or the
 * file) would leave the endpoint insecure until dockerd restarts (observed on dockerd 20.10).
 * Returns true if the file was rewritten.
 */
export function removeInsecureRegistry(daemonConfigPath: string, endpoint: string): boolean {
  if (lstatIfExists(daemonConfigPath) === undefined) return false;
  const loaded = loadJson(daemonConfigPath, DAEMON_LABEL, "  ", 0o644);
  const list = insecureList(loaded);
  if (!list.includes(endpoint)) return false;
  loaded.data["insecure-registries"] = list.filter((x) => x !== endpoint);
  saveJson(loaded);
  return true;
}

/** The `auth` value docker stores for a login: base64 of `username:password`. */
export function dockerAuth(login: Login): string {
  return Buffer.from(`${login.username}:${login.password}`, "utf8").toString("base64");
}

function authsOf(loaded: LoadedJson): Record<string, unknown> {
  const auths = loaded.data.auths;
  if (auths === undefined) return {};
  if (typeof auths !== "object" || auths === null || Array.isArray(auths)) {
    throw new Error(
      `${CLIENT_LABEL} ${loaded.file}: "auths" must be an object. The file was left unchanged; fix it and run again.`,
    );
  }
  return auths as Record<string, unknown>;
}

function entryOf(loaded: LoadedJson, auths: Record<string, unknown>, endpoint: string) {
  const entry = auths[endpoint];
  if (entry === undefined) return undefined;
  if (typeof entry !== "object" || entry === null || Array.isArray(entry)) {
    throw new Error(
      `${CLIENT_LABEL} ${loaded.file}: auths["${endpoint}"] must be an object. The file was left unchanged; fix it and run again.`,
    );
  }
  return entry as Record<string, unknown>;
}

/**
 * Sets `auths[endpoint].auth` in the docker client config, keeping everything else.
 *
 * Refuses (file unchanged) when the config sends this registry's credentials to a credential
 * helper (`credsStore`, or `credHelpers[endpoint]`): docker would ignore the entry, and writing a
 * plain-text password next to a store the user chose would undo that choice. Refuses to replace
 * different credentials it did not write (`owned`) unless `adopt`.
 */
export function mergeAuth(
  clientConfigPath: string,
  endpoint: string,
  login: Login,
  options: { adopt: boolean; owned: boolean },
): MergeResult {
  const loaded = loadJson(clientConfigPath, CLIENT_LABEL, "\t", 0o600);
  const helpers = loaded.data.credHelpers as Record<string, unknown> | undefined;
  const helper =
    helpers && typeof helpers === "object" && typeof helpers[endpoint] === "string"
      ? { key: `credHelpers["${endpoint}"]`, name: helpers[endpoint] as string }
      : typeof loaded.data.credsStore === "string" && loaded.data.credsStore !== ""
        ? { key: "credsStore", name: loaded.data.credsStore }
        : undefined;
  if (helper !== undefined) {
    throw new Error(
      `${CLIENT_LABEL} ${clientConfigPath} sends credentials for ${endpoint} to the credential ` +
        `helper docker-credential-${helper.name} (${helper.key}), so docker would ignore an ` +
        "auths entry. The file was left unchanged. Either drop `login` and run the loginCommand " +
        "output once (docker then stores the password in the helper), or set clientConfigPath " +
        "to a config without a credential store (e.g. $DOCKER_CONFIG/config.json).",
    );
  }
  const auths = authsOf(loaded);
  const entry = entryOf(loaded, auths, endpoint);
  const wanted = dockerAuth(login);
  if (entry !== undefined && entry.auth === wanted) {
    return { changed: false, preexisted: !options.owned, createdFile: false };
  }
  if (entry !== undefined && entry.auth !== undefined && !options.owned && !options.adopt) {
    throw new Error(
      `${CLIENT_LABEL} ${clientConfigPath} already has different credentials for ${endpoint} ` +
        `(auths["${endpoint}"]), not written by this RegistryClientTrust. The file was left ` +
        "unchanged. Set adopt: true to replace them (the entry is then removed on delete), or " +
        "remove that entry (docker logout " +
        endpoint +
        ").",
    );
  }
  auths[endpoint] = { ...(entry ?? {}), auth: wanted };
  loaded.data.auths = auths;
  saveJson(loaded);
  return { changed: true, preexisted: false, createdFile: !loaded.existed };
}

/**
 * Removes `auths[endpoint].auth` when it still holds `login`'s credentials (the entry goes when
 * nothing else is left in it; the file when this component created it and it is left empty).
 * Returns true if the file changed.
 */
export function removeAuth(
  clientConfigPath: string,
  endpoint: string,
  login: Login,
  createdFile: boolean,
): boolean {
  if (lstatIfExists(clientConfigPath) === undefined) return false;
  const loaded = loadJson(clientConfigPath, CLIENT_LABEL, "\t", 0o600);
  const auths = authsOf(loaded);
  const entry = entryOf(loaded, auths, endpoint);
  if (entry === undefined || entry.auth !== dockerAuth(login)) return false;
  delete entry.auth;
  if (Object.keys(entry).length === 0) delete auths[endpoint];
  const onlyEmptyAuths = Object.keys(loaded.data).length === 1 && Object.keys(auths).length === 0;
  if (createdFile && onlyEmptyAuths) {
    fs.rmSync(loaded.file);
  } else {
    saveJson(loaded);
  }
  return true;
}

// ---------------------------------------------------------------------------------------------
// dockerd reload

/**
 * Asks dockerd to reload daemon.json (SIGHUP; `insecure-registries` is reloadable). Returns
 * "not-running" when the pid file is missing or stale: a daemon that starts later reads the file
 * anyway. Refuses to signal a process that is not dockerd.
 */
export function reloadDockerd(pidFile: string): "signalled" | "not-running" {
  const text = readIfExists(pidFile);
  if (text === undefined) return "not-running";
  const pid = Number(text.trim());
  if (!Number.isInteger(pid) || pid <= 1) {
    throw new Error(
      `pidFile ${pidFile} does not hold a process id; point pidFile at dockerd's pid file`,
    );
  }
  if (fs.existsSync("/proc/self")) {
    const comm = readIfExists(`/proc/${pid}/comm`);
    if (comm === undefined) return "not-running";
    if (comm.trim() !== "dockerd") {
      throw new Error(
        `pidFile ${pidFile} names process ${pid} (${comm.trim()}), not dockerd; refusing to ` +
          "signal it. Point pidFile at dockerd's pid file (default /var/run/docker.pid).",
      );
    }
  }
  try {
    process.kill(pid, "SIGHUP");
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === "ESRCH") return "not-running";
    throw e;
  }
  return "signalled";
}

// ---------------------------------------------------------------------------------------------
// Whole lifecycle

function sameEntry(a: JsonEntryRecord | undefined, b: JsonEntryRecord | undefined): boolean {
  return a !== undefined && b !== undefined && a.path === b.path && a.endpoint === b.endpoint;
}

function sortedFiles(record: TrustRecord): string[] {
  const all = [
    ...record.caFiles.map((r) => r.path),
    ...(record.insecureEntry ? [record.insecureEntry.path] : []),
    ...(record.authEntry ? [record.authEntry.path] : []),
  ];
  return [...new Set(all)].sort();
}

/** The config.json path to use: the one already in use while the input stays unset. */
function clientConfigFor(inputs: TrustInputs, previous: TrustOutputs | undefined): string {
  if (
    inputs.clientConfigPath === undefined &&
    previous !== undefined &&
    previous.clientConfigPath === undefined &&
    previous.record.authEntry !== undefined
  ) {
    return previous.record.authEntry.path;
  }
  return resolveClientConfigPath(inputs.clientConfigPath);
}

/**
 * Makes the host match `inputs` (create when `previous` is undefined, else update): writes what is
 * configured, then removes what `previous` wrote that is no longer configured, then reloads
 * dockerd if daemon.json changed and `reloadDaemon` is set. A failed create undoes its own writes.
 */
export function applyTrust(inputs: TrustInputs, previous?: TrustOutputs): TrustOutputs {
  parseEndpoint(inputs.endpoint);
  const prior: TrustRecord = previous?.record ?? { caFiles: [] };
  const record: {
    caFiles: CaFileRecord[];
    insecureEntry?: JsonEntryRecord;
    authEntry?: JsonEntryRecord;
  } = {
    caFiles: [],
  };
  let daemonChanged = false;
  try {
    if (!inputs.insecure) {
      if (inputs.caCertPem === undefined) {
        throw new Error("caCertPem is required unless insecure is true");
      }
      const planned = planCaFiles(inputs.endpoint, inputs.certsDirs);
      record.caFiles = writeCaFiles(planned, inputs.caCertPem, prior.caFiles, inputs.adopt);
    }
    if (inputs.insecure) {
      const wanted = { path: path.resolve(inputs.daemonConfigPath), endpoint: inputs.endpoint };
      const owned = sameEntry(prior.insecureEntry, {
        ...wanted,
        preexisted: false,
        createdFile: false,
      })
        ? prior.insecureEntry
        : undefined;
      const merged = mergeInsecureRegistry(wanted.path, wanted.endpoint);
      daemonChanged = merged.changed;
      record.insecureEntry = owned
        ? { ...owned, preexisted: owned.preexisted && !merged.changed }
        : { ...wanted, preexisted: merged.preexisted, createdFile: merged.createdFile };
    }
    if (inputs.login !== undefined) {
      const wanted = { path: clientConfigFor(inputs, previous), endpoint: inputs.endpoint };
      const owned = sameEntry(prior.authEntry, { ...wanted, preexisted: false, createdFile: false })
        ? prior.authEntry
        : undefined;
      const merged = mergeAuth(wanted.path, wanted.endpoint, inputs.login, {
        adopt: inputs.adopt,
        owned: owned !== undefined,
      });
      record.authEntry = owned
        ? { ...owned, preexisted: owned.preexisted && !merged.changed }
        : { ...wanted, preexisted: merged.preexisted, createdFile: merged.createdFile };
    }
  } catch (e) {
    if (previous === undefined) {
      undoTrust(record, inputs);
    }
    throw e;
  }

  // What the previous configuration wrote and this one no longer does.
  const keep = new Set(record.caFiles.map((r) => r.path));
  removeCaFiles(prior.caFiles.filter((r) => !keep.has(r.path)));
  if (previous && prior.insecureEntry && !prior.insecureEntry.preexisted) {
    if (!sameEntry(prior.insecureEntry, record.insecureEntry)) {
      daemonChanged =
        removeInsecureRegistry(prior.insecureEntry.path, prior.insecureEntry.endpoint) ||
        daemonChanged;
    }
  }
  if (previous && prior.authEntry && !prior.authEntry.preexisted && previous.login) {
    const stillOurs = sameEntry(prior.authEntry, record.authEntry) && inputs.login !== undefined;
    if (!stillOurs) {
      removeAuth(
        prior.authEntry.path,
        prior.authEntry.endpoint,
        previous.login,
        prior.authEntry.createdFile,
      );
    }
  }
  if (daemonChanged && (inputs.reloadDaemon || (previous?.reloadDaemon ?? false))) {
    reloadDockerd(inputs.pidFile);
  }
  const finalRecord: TrustRecord = record;
  return { ...inputs, files: sortedFiles(finalRecord), record: finalRecord, drift: [] };
}

function undoTrust(record: TrustRecord, inputs: TrustInputs): void {
  try {
    removeCaFiles(record.caFiles);
    if (record.insecureEntry && !record.insecureEntry.preexisted) {
      removeInsecureRegistry(record.insecureEntry.path, record.insecureEntry.endpoint);
    }
    if (record.authEntry && !record.authEntry.preexisted && inputs.login) {
      removeAuth(
        record.authEntry.path,
        record.authEntry.endpoint,
        inputs.login,
        record.authEntry.createdFile,
      );
    }
  } catch {
    // The original error is the one worth reporting; what could not be undone is left as is.
  }
}

/** Removes exactly what `outputs.record` says this component wrote, and reloads dockerd if asked. */
export function removeTrust(outputs: TrustOutputs): void {
  const record = outputs.record ?? { caFiles: [] };
  removeCaFiles(record.caFiles ?? []);
  const insecure = record.insecureEntry;
  if (insecure && !insecure.preexisted) {
    const changed = removeInsecureRegistry(insecure.path, insecure.endpoint);
    if (changed && outputs.reloadDaemon) {
      reloadDockerd(outputs.pidFile);
    }
  }
  const auth = record.authEntry;
  if (auth && !auth.preexisted && outputs.login) {
    removeAuth(auth.path, auth.endpoint, outputs.login, auth.createdFile);
  }
}

/**
 * Compares the host with what `outputs.record` says was written; one line per difference. Refresh
 * stores these in `drift`, and a non-empty `drift` makes the next diff plan an update that puts
 * everything back.
 */
export function detectDrift(outputs: TrustOutputs): string[] {
  const drift: string[] = [];
  const record = outputs.record ?? { caFiles: [] };
  for (const ca of record.caFiles ?? []) {
    const current = readIfExists(ca.path);
    if (current === undefined) {
      drift.push(`${ca.path} is missing`);
    } else if (sha256(normalizePem(current)) !== ca.sha256) {
      drift.push(`${ca.path} holds a different certificate`);
    }
  }
  const readJson = (file: string, label: string) => {
    try {
      return loadJson(file, label, "  ", 0o644).data;
    } catch (e) {
      drift.push((e as Error).message);
      return undefined;
    }
  };
  const insecure = record.insecureEntry;
  if (insecure) {
    const data = readJson(insecure.path, DAEMON_LABEL);
    const list = data?.["insecure-registries"];
    if (data && !(Array.isArray(list) && list.includes(insecure.endpoint))) {
      drift.push(`${insecure.path} no longer lists ${insecure.endpoint} in insecure-registries`);
    }
  }
  const auth = record.authEntry;
  if (auth && outputs.login) {
    const data = readJson(auth.path, CLIENT_LABEL);
    const auths = data?.auths as Record<string, { auth?: unknown } | undefined> | undefined;
    if (data && auths?.[auth.endpoint]?.auth !== dockerAuth(outputs.login)) {
      drift.push(`${auth.path} no longer holds the login for ${auth.endpoint}`);
    }
  }
  return drift;
}
