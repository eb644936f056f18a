import * as docker from "@pulumi/docker";
import * as pulumi from "@pulumi/pulumi";
import type { EngineSettings } from "./settings";

/** The engine inputs of a dynamic resource that acts on its component's Docker engine. */
export interface DeclaredEngine {
  /** The docker provider's connection settings; undefined when nothing is declared. */
  readonly engine?: pulumi.Input<EngineSettings>;
  /** The docker provider's `keyMaterial`; always secret. */
  readonly engineKey?: pulumi.Input<string>;
}

/** Keeps the settings that are set, so absent ones do not show as changes in a diff. */
function defined(settings: Record<string, string | string[] | undefined>): EngineSettings {
  const out: Record<string, string | string[]> = {};
  for (const [key, value] of Object.entries(settings)) {
    if (value !== undefined && value !== "" && !(Array.isArray(value) && value.length === 0)) {
      out[key] = value;
    }
  }
  return out as EngineSettings;
}

/**
 * The Docker engine `component`'s docker provider points at (none: the default provider's), as
 * inputs for a dynamic resource:
 * `opts.provider` / `opts.providers.docker` (own or inherited from a parent), else the default
 * docker provider's stack configuration (`docker:host`, `docker:certPath`, ...), which is how
 * that provider is configured. With neither, nothing is declared and the dynamic provider uses
 * DOCKER_HOST (or the local socket) when it runs, as the docker provider does; nothing
 * machine-specific enters the inputs, so previews stay stable.
 *
 * A provider's `sshOpts` cannot be read back from a `docker.Provider` (it is not an output);
 * ssh options come from `~/.ssh/config` or `DOCKER_SSH_OPTS`, as for the docker provider.
 */
export function declaredEngine(component: pulumi.Resource | undefined): DeclaredEngine {
  const provider = component?.getProvider("docker::");
  if (provider !== undefined && docker.Provider.isInstance(provider)) {
    return {
      engine: pulumi
        .all([
          provider.host,
          provider.caMaterial,
          provider.certMaterial,
          provider.certPath,
          provider.context,
        ])
        .apply(([host, caMaterial, certMaterial, certPath, context]) =>
          defined({ host, caMaterial, certMaterial, certPath, context }),
        ),
      engineKey: pulumi.secret(provider.keyMaterial.apply((key) => key ?? "")),
    };
  }
  const config = new pulumi.Config("docker");
  const settings = defined({
    host: config.get("host"),
    caMaterial: config.get("caMaterial"),
    certMaterial: config.get("certMaterial"),
    certPath: config.get("certPath"),
    context: config.get("context"),
    sshOpts: config.getObject<string[]>("sshOpts"),
  });
  const key = config.getSecret("keyMaterial");
  if (Object.keys(settings).length === 0 && key === undefined) return {};
  return { engine: settings, ...(key !== undefined ? { engineKey: key } : {}) };
}
