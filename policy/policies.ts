/**
 * The pack's policies: each rule (insecure.ts, registry-rules.ts) wired to @pulumi/policy, with
 * its enforcement level (mandatory unless configured otherwise) and its configuration schema.
 *
 * `no-insecure-registries` is a resource policy: it sees each resource's inputs before the
 * resource is created or updated, so a mandatory violation stops `pulumi up` before anything
 * changes. The registry rules need the whole stack (a container's image is often an image ID that
 * only its RemoteImage names), so they are stack policies: they run at the end of a preview (a
 * violation fails the preview, and so the PR check) and at the end of an update.
 */
import type {
  PolicyConfigSchema,
  PolicyResource,
  ResourceValidationArgs,
  ResourceValidationPolicy,
  StackValidationArgs,
  StackValidationPolicy,
} from "@pulumi/policy";
import { checkInsecureRegistries, NO_INSECURE_REGISTRIES } from "./insecure";
import { plainData, StackResource, Violation } from "./model";
import {
  checkPullByDigest,
  checkRegistryDataRetained,
  checkRegistryMinimumTls,
  checkRegistryTlsAndAuth,
  PULL_BY_DIGEST,
  REGISTRY_DATA_RETAINED,
  REGISTRY_MINIMUM_TLS,
  REGISTRY_TLS_AND_AUTH,
} from "./registry-rules";
import { indexStack, StackIndex } from "./workloads";

/** A resource being validated, as the rules see it (its inputs). */
export function fromResourceArgs(args: ResourceValidationArgs): StackResource {
  return {
    urn: args.urn,
    type: args.type,
    name: args.name,
    props: (plainData(args.props) ?? {}) as Record<string, unknown>,
    protect: args.opts?.protect === true,
    // `opts.parent` exists from @pulumi/policy 1.14 on; older versions leave it out.
    parentUrn: (args.opts as { parent?: string } | undefined)?.parent,
    propertyDependencies: {},
  };
}

/** The stack's resources, as the rules see them (their outputs, parents and dependencies). */
export function fromStackArgs(args: StackValidationArgs): StackIndex {
  return indexStack(
    args.resources.map((r: PolicyResource): StackResource => ({
      urn: r.urn,
      type: r.type,
      name: r.name,
      props: (plainData(r.props) ?? {}) as Record<string, unknown>,
      protect: r.opts?.protect === true,
      parentUrn: r.parent?.urn,
      propertyDependencies: Object.fromEntries(
        Object.entries(r.propertyDependencies ?? {}).map(([key, deps]) => [
          key,
          deps.map((d) => d.urn),
        ]),
      ),
    })),
  );
}

const stringList = (description: string) => ({
  type: "array" as const,
  items: { type: "string" as const },
  default: [],
  description,
});

const IGNORE = stringList(
  "Resource names or URNs this policy does not report (e.g. a registry behind a TLS-terminating proxy).",
);
const REGISTRY_IMAGES = stringList(
  "More images to treat as registries, as `[host/]repository` (e.g. an internal mirror of registry:2). " +
    "Images whose repository ends in /registry or /distribution always are.",
);

function schema(properties: PolicyConfigSchema["properties"]): PolicyConfigSchema {
  return { properties: { ignore: IGNORE, ...properties } };
}

function reportAll(violations: Violation[], report: (message: string, urn?: string) => void) {
  for (const v of violations) report(v.message, v.urn);
}

function stackPolicy<C extends object>(
  name: string,
  description: string,
  configSchema: PolicyConfigSchema,
  check: (stack: StackIndex, config: C) => Violation[],
): StackValidationPolicy {
  return {
    name,
    description,
    enforcementLevel: "mandatory",
    configSchema,
    validateStack: (args, report) =>
      reportAll(check(fromStackArgs(args), args.getConfig<C>()), report),
  };
}

export const policies: (ResourceValidationPolicy | StackValidationPolicy)[] = [
  {
    name: NO_INSECURE_REGISTRIES,
    description:
      "No Docker host trusts a registry through insecure-registries (RegistryClientTrust insecure, " +
      "daemon.json written by a command or file, dockerd --insecure-registry) or skips TLS " +
      "verification when pushing (RegistryImage insecureSkipVerify, docker-build insecure exports).",
    enforcementLevel: "mandatory",
    configSchema: schema({}),
    validateResource: (args, report) =>
      reportAll(checkInsecureRegistries(fromResourceArgs(args), args.getConfig()), report),
  },
  stackPolicy(
    REGISTRY_TLS_AND_AUTH,
    "Registries (containers and services running the registry image) serve TLS and require authentication.",
    schema({
      registryImages: REGISTRY_IMAGES,
      allowAnonymousPullThroughCaches: {
        type: "boolean",
        default: false,
        description:
          "Accept pull-through caches without authentication (SecureRegistry proxy.anonymousPulls, " +
          "for dockerd's registry-mirrors, which sends no credentials). TLS is still required.",
      },
    }),
    checkRegistryTlsAndAuth,
  ),
  stackPolicy(
    REGISTRY_MINIMUM_TLS,
    "Registries do not accept TLS versions below the minimum (REGISTRY_HTTP_TLS_MINIMUMTLS).",
    schema({
      registryImages: REGISTRY_IMAGES,
      minimumVersion: {
        type: "string",
        enum: ["tls1.2", "tls1.3"],
        default: "tls1.2",
        description: "Lowest TLS version a registry may accept.",
      },
      requireExplicit: {
        type: "boolean",
        default: false,
        description:
          "Also report registries that leave REGISTRY_HTTP_TLS_MINIMUMTLS unset (distribution's default is tls1.2).",
      },
    }),
    checkRegistryMinimumTls,
  ),
  stackPolicy(
    PULL_BY_DIGEST,
    "Containers and services that run images from a SecureRegistry reference them by digest (@sha256:), not by tag.",
    schema({
      registries: stringList(
        "More registry endpoints (host[:port]) whose images must be pulled by digest. SecureRegistry " +
          "deployments and RegistryClientTrust endpoints in the stack are always included.",
      ),
    }),
    checkPullByDigest,
  ),
  stackPolicy(
    REGISTRY_DATA_RETAINED,
    "A registry's data is not deleted with its container or by pulumi destroy: a named volume that is retained or protected, a host directory, or an object store.",
    schema({
      registryImages: REGISTRY_IMAGES,
      requireProtect: {
        type: "boolean",
        default: false,
        description:
          "Require protect: true on every registry data volume, SecureRegistry's included (it sets retainOnDelete, which policies cannot see).",
      },
    }),
    checkRegistryDataRetained,
  ),
];
