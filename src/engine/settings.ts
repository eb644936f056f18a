/**
 * The docker provider's connection as dynamic resources carry it: the settings in plain inputs,
 * the client key apart as a secret, and the shape checks their providers run.
 *
 * No imports but its sibling connection.ts: the dynamic providers carry this module (see
 * src/images/engine/providers.ts).
 */
import type { EngineConnection } from "./connection";
import { resolveEngine } from "./connection";

/** A problem with one input, in the shape dynamic providers' `check` returns. */
export interface InputFailure {
  readonly property: string;
  readonly reason: string;
}

/** The docker provider's connection minus the client key, which travels apart as a secret. */
export type EngineSettings = Omit<EngineConnection, "keyMaterial">;

/** Problems of the engine settings a resource received (shape only; reachability comes later). */
export function checkEngineSettings(
  engine: unknown,
  engineKey: unknown,
  failures: InputFailure[],
): void {
  if (engine !== undefined && engine !== null) {
    if (typeof engine !== "object" || Array.isArray(engine)) {
      failures.push({
        property: "engine",
        reason: "engine must be an object of connection settings",
      });
    } else {
      const settings = engine as Record<string, unknown>;
      for (const key of ["host", "caMaterial", "certMaterial", "certPath", "context"]) {
        if (settings[key] !== undefined && typeof settings[key] !== "string") {
          failures.push({ property: `engine.${key}`, reason: `engine.${key} must be text` });
        }
      }
      const sshOpts = settings.sshOpts;
      if (
        sshOpts !== undefined &&
        (!Array.isArray(sshOpts) || !sshOpts.every((option) => typeof option === "string"))
      ) {
        failures.push({
          property: "engine.sshOpts",
          reason: "engine.sshOpts must be a list of text",
        });
      }
    }
  }
  if (engineKey !== undefined && typeof engineKey !== "string") {
    failures.push({
      property: "engineKey",
      reason: "the docker provider's keyMaterial must be text",
    });
  }
}

/** The connection the inputs or state describe, with the key put back. */
export function connectionOf(values: {
  engine?: EngineSettings;
  engineKey?: string;
}): EngineConnection | undefined {
  if (!values.engine && !values.engineKey) return undefined;
  return {
    ...(values.engine ?? {}),
    ...(values.engineKey ? { keyMaterial: values.engineKey } : {}),
  };
}

/**
 * How the engine settings show in a dynamic resource's diff: another engine address (`replace`)
 * means what the resource made or watched is elsewhere; other settings for the same address
 * (`changed`, e.g. rotated TLS material) are updated in place.
 */
export function engineSettingsDiff(
  olds: { engine?: EngineSettings; engineKey?: string; engineAddress?: string },
  news: { engine?: EngineSettings; engineKey?: string },
): { replace: boolean; changed: boolean } {
  const address = resolveEngine(connectionOf(news)).address;
  return {
    replace: olds.engineAddress !== undefined && olds.engineAddress !== address,
    changed:
      JSON.stringify(olds.engine ?? null) !== JSON.stringify(news.engine ?? null) ||
      (olds.engineKey ?? null) !== (news.engineKey ?? null),
  };
}
