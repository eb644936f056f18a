/**
 * Rule `no-insecure-registries`: no Docker host trusts a registry by turning certificate checks
 * off. What does that in a Pulumi program, and is checked here:
 * - RegistryClientTrust with `insecure: true` (its dynamic resource, type
 *   `pulumi-nodejs:dynamic/secure-registry:TrustFiles`, has the `insecure` input);
 * - docker.RegistryImage with `insecureSkipVerify: true` (pushes skip TLS verification);
 * - docker-build.Image exports with `image.insecure` or `registry.insecure`;
 * - any resource whose inputs write a daemon.json with a non-empty `insecure-registries`, or run
 *   dockerd with `--insecure-registry`: command.local/remote.Command scripts, files written on
 *   hosts, cloud-init user data, a docker-in-docker container's command...
 * The docker provider itself has no such setting (its schema: host, TLS material, context,
 * registryAuth, sshOpts), so there is nothing to check there.
 *
 * Messages name the property, never its content: a policy sees secret inputs in clear text.
 */
import {
  ancestorTypes,
  arr,
  CommonConfig,
  describe,
  ignored,
  nameOfUrn,
  obj,
  StackResource,
  str,
  TYPES,
  Violation,
} from "./model";

export const NO_INSECURE_REGISTRIES = "no-insecure-registries";

const TRUST_COMPONENT = "secure-registry:trust:RegistryClientTrust";

const FIX =
  "Trust the registry's CA instead: RegistryClientTrust (or SecureRegistry's `trust` option) " +
  "writes it to /etc/docker/certs.d/<host:port>/ca.crt, which dockerd reads on every " +
  "connection with no restart.";

/** daemon.json text with a non-empty `insecure-registries` list (quotes possibly escaped). */
const DAEMON_JSON_ENTRY = /\\*"insecure-registries\\*"\s*:\s*\[\s*([^\]\s][^\]]*)\]/;
/** dockerd's flag with a value. */
const DOCKERD_FLAG = /--insecure-registry(?:=|\s+)[^\s-]/;

/** Property paths (e.g. `create`, `uploads[0].content`) whose strings make a host insecure. */
export function insecureTextPaths(props: Record<string, unknown>): string[] {
  const found: string[] = [];
  const walk = (value: unknown, path: string) => {
    if (typeof value === "string") {
      if (DAEMON_JSON_ENTRY.test(value) || DOCKERD_FLAG.test(value)) found.push(path);
    } else if (Array.isArray(value)) {
      value.forEach((item, i) => walk(item, `${path}[${i}]`));
    } else if (value !== null && typeof value === "object") {
      for (const [key, inner] of Object.entries(value)) {
        // A dynamic provider's serialized code is not configuration.
        if (key === "__provider") continue;
        walk(inner, path === "" ? key : `${path}.${key}`);
      }
    }
  };
  walk(props, "");
  return found;
}

/**
 * The RegistryClientTrust that declared these trust files: its parent, named by the parent URN
 * when the policy SDK gives it, else by the files' own name (`<trust name>-files`).
 */
function trustOwner(resource: StackResource): string {
  if (resource.parentUrn !== undefined)
    return `RegistryClientTrust "${nameOfUrn(resource.parentUrn)}"`;
  const underTrust = ancestorTypes(resource.urn).includes(TRUST_COMPONENT);
  if (underTrust && resource.name.endsWith("-files")) {
    return `RegistryClientTrust "${resource.name.slice(0, -"-files".length)}"`;
  }
  return describe(resource);
}

/** Findings of `no-insecure-registries` for one resource (its inputs). */
export function checkInsecureRegistries(
  resource: StackResource,
  config: CommonConfig = {},
): Violation[] {
  if (ignored(resource, config)) return [];
  const p = resource.props;
  const report = (message: string): Violation => ({ urn: resource.urn, message });

  if (resource.type === TYPES.trustFiles) {
    if (p.insecure !== true) return [];
    const owner = trustOwner(resource);
    const endpoint = str(p.endpoint) ?? "the registry";
    const daemonJson = str(p.daemonConfigPath) ?? "/etc/docker/daemon.json";
    return [
      report(
        `${owner} lists ${endpoint} under insecure-registries in ${daemonJson} (insecure: true): ` +
          "dockerd then accepts any certificate, or plain HTTP, from whoever answers at that " +
          `address. Fix: remove \`insecure: true\` and pass the registry's CA as \`caCertPem\` ` +
          "(e.g. SecureRegistry.caCertPem).",
      ),
    ];
  }

  const found: Violation[] = [];
  if (resource.type === TYPES.registryImage && p.insecureSkipVerify === true) {
    found.push(
      report(
        `${describe(resource)} pushes with insecureSkipVerify: true, so the registry's ` +
          `certificate is never checked. Fix: remove insecureSkipVerify. ${FIX}`,
      ),
    );
  }
  if (resource.type === TYPES.dockerBuildImage) {
    (arr(p.exports) ?? []).forEach((entry, i) => {
      for (const kind of ["image", "registry"]) {
        if (obj(obj(entry)?.[kind])?.insecure === true) {
          found.push(
            report(
              `${describe(resource)} exports[${i}].${kind}.insecure is true: BuildKit pushes ` +
                `without checking the registry's certificate. Fix: remove it. ${FIX}`,
            ),
          );
        }
      }
    });
  }
  for (const path of insecureTextPaths(p)) {
    found.push(
      report(
        `${describe(resource)} sets up insecure-registries (daemon.json "insecure-registries" ` +
          `or dockerd --insecure-registry, in its \`${path}\` input): that Docker host then ` +
          `skips certificate checks for those registries. Fix: remove the entry. ${FIX}`,
      ),
    );
  }
  return found;
}
