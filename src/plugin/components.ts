/**
 * The constructors the component provider runs, by the class names other languages use. Where
 * the TypeScript arguments fit the schema, the real class; for SecureRegistry, a subclass that
 * turns the schema's shape into the TypeScript one (`trust.loginAsFirstUser` into `login: true`).
 * The instance is the real component either way: the same type token, children and outputs as in
 * a TypeScript program.
 *
 * The compile-time checks at the end keep src/plugin/schema.ts in step with the real classes:
 * every output it declares exists on the real class with a compatible type, and every output of
 * the real class is declared there unless it is a child resource.
 */
import * as pulumi from "@pulumi/pulumi";
import { HtpasswdUsers } from "../auth/htpasswdUsers";
import { componentLabel, fail } from "../common/checks";
import { BuiltImage } from "../images/built-image";
import { FlattenedImage } from "../images/flattened-image";
import { RegistryFlattenedImage } from "../images/oci/component";
import type { SecureRegistryArgs } from "../registry/args";
import { SecureRegistry } from "../registry/secureRegistry";
import { SecureRegistryService } from "../service/component";
import { RegistryClientCertificates } from "../tls/clientCertificates";
import { RegistryCertificates } from "../tls/registryCertificates";
import { RegistryClientTrust } from "../trust/component";
import type * as schema from "./schema";

/** SecureRegistry's TypeScript arguments from the schema's. */
export function secureRegistryArgs(
  name: string,
  args: schema.SecureRegistryPluginArgs | undefined,
): SecureRegistryArgs | undefined {
  const trust = args?.trust;
  if (trust === undefined || trust === null || typeof trust !== "object") return args;
  if (!("loginAsFirstUser" in trust)) return args;
  const { loginAsFirstUser, ...options } = trust;
  const label = componentLabel("SecureRegistry", name);
  if (loginAsFirstUser !== undefined && typeof loginAsFirstUser !== "boolean") {
    fail(
      label,
      "trust.loginAsFirstUser",
      "must be true or false (log this host in as the first user).",
    );
  }
  if (loginAsFirstUser === true && options.login !== undefined) {
    fail(
      label,
      "trust.loginAsFirstUser",
      "trust.loginAsFirstUser and trust.login are both set; give loginAsFirstUser: true to log in as the registry's first user, or login with explicit credentials.",
    );
  }
  return { ...args, trust: loginAsFirstUser === true ? { ...options, login: true } : options };
}

/** SecureRegistry as other languages construct it. */
class SecureRegistryFromSchema extends SecureRegistry {
  constructor(
    name: string,
    args: schema.SecureRegistryPluginArgs,
    opts?: pulumi.ComponentResourceOptions,
  ) {
    super(name, secureRegistryArgs(name, args), opts);
  }
}
// The provider finds constructors by their name.
Object.defineProperty(SecureRegistryFromSchema, "name", { value: "SecureRegistry" });

/** Every component other languages can use. */
export const pluginComponents = [
  SecureRegistryFromSchema,
  SecureRegistryService,
  RegistryCertificates,
  RegistryClientCertificates,
  HtpasswdUsers,
  RegistryClientTrust,
  BuiltImage,
  FlattenedImage,
  RegistryFlattenedImage,
];

// ---------------------------------------------------------------------------------------------
// Compile-time checks: schema.ts's declarations against the real classes.

/** A class's own properties (not methods, not ComponentResource's). */
type Outputs<T> = {
  [
    K in Exclude<keyof T, keyof pulumi.ComponentResource> as T[K] extends (
      ...args: never[]
    ) => unknown
      ? never
      : K
  ]: T[K];
};
type ChildResources<T> = {
  [K in keyof T]: NonNullable<T[K]> extends pulumi.Resource | Record<string, pulumi.Resource>
    ? K
    : never;
}[keyof T];
/**
 * `true` when `Declared` lists exactly the real class's outputs, child resources and the
 * `Omitted` members (TypeScript-only conveniences) aside.
 */
type Unlisted<Real, Declared, Omitted> = Exclude<
  keyof Outputs<Real>,
  keyof Outputs<Declared> | ChildResources<Real> | Omitted
>;
type Matches<Real, Declared, Omitted extends keyof Real = never> =
  Outputs<Declared> extends Pick<Real, keyof Outputs<Declared> & keyof Real>
    ? [Exclude<keyof Outputs<Declared>, keyof Real>] extends [never]
      ? [Unlisted<Real, Declared, Omitted>] extends [never]
        ? true
        : { missingFromSchema: Unlisted<Real, Declared, Omitted> }
      : { notOnRealClass: Exclude<keyof Outputs<Declared>, keyof Real> }
    : { typesDiffer: true };

export const schemaDeclarationsMatch: [
  Matches<SecureRegistry, schema.SecureRegistry>,
  Matches<SecureRegistryService, schema.SecureRegistryService>,
  Matches<BuiltImage, schema.BuiltImage>,
  Matches<FlattenedImage, schema.FlattenedImage>,
  // `clients` holds the same pairs as `certificates`, as separate Outputs for TypeScript.
  Matches<RegistryClientCertificates, schema.RegistryClientCertificates, "clients">,
] = [true, true, true, true, true];
