/**
 * What trust writes for a set of inputs, as entry specs (entries.ts): per runtime, which file
 * holds which entry. Paths that depend on the host (the default config.json, a daemon.json or
 * config.json that is a symlink) are resolved on that host.
 *
 * Only Node built-ins and sibling modules are imported: this module is serialized into the
 * dynamic provider (see provider.ts).
 */
import * as path from "path";
import { authSpec, insecureRegistrySpec } from "./dockerfiles";
import { certDirNames } from "./endpoint";
import { EntrySpec } from "./entries";
import { fsError, HostFs } from "./hostfs";
import { TrustInputs } from "./inputs";
import { pemFileSpec } from "./pemfiles";
import { buildkitRegistrySpec, containerdHostSpec, containerdServerSpec } from "./tomlfiles";

/**
 * The docker CLI's config file: `clientConfigPath` when set; else, on this host,
 * `$DOCKER_CONFIG/config.json` or `~/.docker/config.json`; on a remote host,
 * `~/.docker/config.json` of the SSH user. Resolved when files are written, never at
 * construction, so no machine path enters the resource's inputs.
 */
export async function resolveClientConfigPath(
  fs: HostFs,
  configured: string | undefined,
  env: Record<string, string | undefined> = process.env,
): Promise<string> {
  if (configured !== undefined) return path.resolve(configured);
  if (fs.where === "this host" && env.DOCKER_CONFIG) {
    return path.resolve(env.DOCKER_CONFIG, "config.json");
  }
  return path.join(await fs.home(), ".docker", "config.json");
}

/**
 * A shared file that is a symlink to a regular file is merged where the link leads (dotfile
 * managers link config.json); a link to anything else (a device, a FIFO) is refused before any
 * lock or write; a dangling link is replaced by the file.
 */
async function followFile(fs: HostFs, file: string, field: string): Promise<string> {
  const entry = await fs.lstat(file).catch(() => undefined);
  if (entry?.kind !== "symlink") return file;
  const target = await fs.stat(file).catch(() => undefined);
  if (target === undefined) return file;
  if (target.kind !== "file") {
    throw fsError(
      "ENOTREG",
      `${file} (${field}) is a symlink to something that is not a regular file, where a regular ` +
        "file is expected; nothing was read or written. Move it away and run again.",
    );
  }
  return fs.realpath(file);
}

function pemTrio(
  inputs: TrustInputs,
  root: string,
  dir: string,
  field: string,
  caCertPem: string,
): EntrySpec[] {
  const specs = [pemFileSpec({ root, dir, name: "ca.crt", pem: caCertPem, field })];
  if (inputs.clientCertPem !== undefined && inputs.clientKeyPem !== undefined) {
    specs.push(pemFileSpec({ root, dir, name: "client.cert", pem: inputs.clientCertPem, field }));
    specs.push(pemFileSpec({ root, dir, name: "client.key", pem: inputs.clientKeyPem, field }));
  }
  return specs;
}

/** Every entry `inputs` asks for on the host behind `fs`, in write order. */
export async function planEntries(
  fs: HostFs,
  inputs: TrustInputs,
  clientConfigPath: string | undefined,
): Promise<EntrySpec[]> {
  const names = certDirNames(inputs.endpoint);
  const specs: EntrySpec[] = [];
  const pair = inputs.clientCertPem !== undefined && inputs.clientKeyPem !== undefined;
  if (!inputs.insecure && inputs.caCertPem !== undefined) {
    const ca = inputs.caCertPem;
    inputs.certsDirs.forEach((root, i) => {
      for (const name of names) {
        specs.push(...pemTrio(inputs, root, path.join(root, name), `certsDirs[${i}]`, ca));
      }
    });
    if (inputs.containerd !== undefined) {
      const root = inputs.containerd.hostsDir;
      for (const name of names) {
        const dir = path.join(root, name);
        specs.push(...pemTrio(inputs, root, dir, "containerd.hostsDir", ca));
        specs.push(containerdServerSpec(root, dir, inputs.endpoint));
        specs.push(
          containerdHostSpec(root, dir, inputs.endpoint, {
            capabilities: inputs.containerd.capabilities,
            ca: path.join(dir, "ca.crt"),
            client: pair
              ? [path.join(dir, "client.cert"), path.join(dir, "client.key")]
              : undefined,
          }),
        );
      }
    }
    if (inputs.buildkit !== undefined) {
      const root = inputs.buildkit.certsDir;
      const config = await followFile(fs, inputs.buildkit.configPath, "buildkit.configPath");
      for (const name of names) {
        const dir = path.join(root, name);
        specs.push(...pemTrio(inputs, root, dir, "buildkit.certsDir", ca));
        specs.push(
          buildkitRegistrySpec(config, name, {
            ca: path.join(dir, "ca.crt"),
            keypair: pair
              ? { key: path.join(dir, "client.key"), cert: path.join(dir, "client.cert") }
              : undefined,
          }),
        );
      }
    }
  }
  if (inputs.insecure) {
    specs.push(
      insecureRegistrySpec(
        await followFile(fs, inputs.daemonConfigPath, "daemonConfigPath"),
        inputs.endpoint,
      ),
    );
  }
  if (inputs.login !== undefined && clientConfigPath !== undefined) {
    specs.push(
      authSpec(
        await followFile(fs, clientConfigPath, "clientConfigPath"),
        inputs.endpoint,
        inputs.login,
      ),
    );
  }
  return specs;
}
