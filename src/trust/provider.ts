/**
 * The dynamic provider behind RegistryClientTrust.
 *
 * How it survives serialization (checked against @pulumi/pulumi 3.x `runtime/closure`):
 * Pulumi stores the provider object in state as source text (`__provider`) made by its closure
 * serializer, and the provider host process rebuilds it with `require-from-string` under an empty
 * filename. Inside that host, `require`, `__dirname` and `__filename` belong to the synthetic
 * module (the serializer never captures them), so `require("./files")` or
 * `require(path.join(__dirname, "files"))` inside a method would resolve against the host's working
 * directory, not this package: that is why the methods do not load the I/O module by path.
 *
 * Instead each method calls the plain functions through the module binding `trust` below, and the
 * serializer decides how to carry that module:
 * - when this package is installed (its files live under `node_modules`), the module is captured
 *   by reference, as `require("pulumi-secure-registry/bin/trust/apply.js")`, which the host
 *   resolves from the project's node_modules; no code and no machine path goes into state;
 * - when the code is local (this repository, ts-node or compiled, tests, a vendored copy), the
 *   module is captured by value: the compiled JavaScript of the functions used (under ts-node,
 *   the transpiled text), with the sibling modules they call, also by value.
 * Either way Node built-ins (`fs`, `path`, `crypto`, `os`) become `require("fs")` etc., and the
 * npm libraries the I/O modules use (ssh2, proper-lockfile, smol-toml) are `require`d by name
 * inside the functions that use them, so they are never copied into state and resolve from the
 * project's node_modules where the provider host runs (whatever module registry the program ran
 * under). The I/O modules import nothing else (no @pulumi/pulumi, no classes of this package), and the provider object captures no Outputs
 * and no secrets: credentials reach it only as resource inputs. test/unit/trust-provider.test.ts
 * serializes this object exactly as `pulumi.dynamic.Resource` does and runs it in a plain `node`
 * process, in both layouts.
 */
import * as pulumi from "@pulumi/pulumi";
import * as trust from "./apply";
import * as trustInputs from "./inputs";
import type { RegistryClientConnection, RegistryClientTrustArgs } from "./component";
import type { Login } from "./inputs";

/** check/diff/create/read/update/delete over the plain functions in apply.ts and inputs.ts. */
export const trustProvider: pulumi.dynamic.ResourceProvider = {
  check: async (_olds: Record<string, unknown>, news: Record<string, unknown>) =>
    trustInputs.checkTrustInputs(news),

  // Another host is a replacement: the new host's files are written first, then the old one's
  // removed (over its own connection, from the old state).
  diff: async (_id: string, olds: Record<string, unknown>, news: Record<string, unknown>) => ({
    changes: trustInputs.trustNeedsUpdate(olds, news),
    replaces: trustInputs.trustNeedsReplace(olds, news) ? ["connection"] : [],
    deleteBeforeReplace: false,
  }),

  create: async (inputs: trust.TrustOutputs) => {
    const outs = await trust.applyTrust(inputs);
    return { id: trust.trustId(inputs), outs };
  },

  read: async (id: string, props: trust.TrustOutputs) => ({
    id,
    props: { ...props, drift: await trust.detectDrift(props) },
  }),

  update: async (_id: string, olds: trust.TrustOutputs, news: trust.TrustOutputs) => ({
    outs: await trust.applyTrust(news, olds),
  }),

  delete: async (_id: string, props: trust.TrustOutputs) => {
    await trust.removeTrust(props);
  },
};

/**
 * Inputs of {@link TrustFiles}: RegistryClientTrust's arguments, with `login` and `clientKeyPem`
 * already secret and the connection split into its plain part and its secrets.
 */
export interface TrustFilesArgs extends Omit<RegistryClientTrustArgs, "login" | "connection"> {
  /** Must be a secret (RegistryClientTrust wraps it). */
  readonly login?: pulumi.Input<Login>;
  /** The connection without its secrets. */
  readonly connection?: pulumi.Input<
    Omit<RegistryClientConnection, "password" | "privateKey" | "privateKeyPassword">
  >;
  /** Must be a secret: `{ password, privateKey, privateKeyPassword }`. */
  readonly connectionSecrets?: pulumi.Input<unknown>;
}

/**
 * The files on a host that make clients trust one registry. Type
 * `pulumi-nodejs:dynamic/secure-registry:TrustFiles`. Use RegistryClientTrust rather than this.
 */
export class TrustFiles extends pulumi.dynamic.Resource {
  /** Paths written, sorted. */
  declare public readonly files: pulumi.Output<string[]>;
  /** Differences found by the last refresh (empty after create/update). */
  declare public readonly drift: pulumi.Output<string[]>;

  constructor(name: string, args: TrustFilesArgs, opts?: pulumi.CustomResourceOptions) {
    super(
      trustProvider,
      name,
      {
        ...args,
        // Whose entries these are in the hosts' ownership ledgers; stable across runs.
        owner: `${pulumi.getProject()}/${pulumi.getStack()}/${name}`,
        files: undefined,
        record: undefined,
        drift: undefined,
      },
      {
        ...opts,
        additionalSecretOutputs: [
          ...(opts?.additionalSecretOutputs ?? []),
          "login",
          "clientKeyPem",
          "connectionSecrets",
        ],
      },
      "secure-registry",
      "TrustFiles",
    );
  }
}
