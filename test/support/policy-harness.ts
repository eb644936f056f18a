/**
 * Runs the policy pack's policies on a stack declared under Pulumi mocks, the way the policy
 * SDK's analyzer server calls them:
 * - resource policies get each resource's inputs (as RecordingMocks recorded them), wrapped in
 *   @pulumi/policy's unknown-checking proxy, with its `protect` option;
 * - stack policies get every resource with its outputs (the mock monitor's registered state,
 *   including what components passed to `registerOutputs`), its parent and options.
 * Secrets arrive unwrapped, as the SDK hands them to policies.
 *
 * The stack is declared under a root component whose `transformations` see every resource's
 * options (parent, protect), which the mocks themselves do not record. Mocks record no property
 * dependencies, so stack policies find images by value here (a RemoteImage's imageId); tests that
 * need dependencies or unknown values build `PolicyResource`s by hand (`policyResource`).
 *
 * Enforcement levels are resolved as the SDK's server does: the configured level of the policy,
 * else the policy's own, else the pack's ("advisory").
 */
/* eslint-disable @typescript-eslint/no-explicit-any */
import * as pulumi from "@pulumi/pulumi";
import type {
  EnforcementLevel,
  PolicyResource,
  PolicyResourceOptions,
  ResourceValidationPolicy,
  StackValidationPolicy,
} from "@pulumi/policy";
import { RecordingMocks, unwrapSecrets } from "./mocks";

// Internal modules, used the way the analyzer server uses them.
const { unknownCheckingProxy } = require("@pulumi/policy/proxy") as {
  unknownCheckingProxy: (props: unknown) => any;
};
const settings = require("@pulumi/pulumi/runtime/settings") as {
  getMonitor: () => { getRegisteredResources?: () => Map<string, { state: any }> };
  waitForRPCs: () => Promise<void>;
};

/** A resource as the harness recorded it. */
export interface RecordedResource {
  readonly urn: string;
  readonly type: string;
  readonly name: string;
  readonly custom: boolean;
  readonly inputs: Record<string, any>;
  readonly outputs: Record<string, any>;
  readonly protect: boolean;
  readonly parentUrn?: string;
}

/** A reported violation, with the enforcement level it was reported at. */
export interface Reported {
  readonly policy: string;
  readonly enforcementLevel: EnforcementLevel;
  readonly urn?: string;
  readonly message: string;
}

/** Config as `--policy-pack-config` gives it: per policy, a level or `{ enforcementLevel, ... }`. */
export type PackConfig = Record<string, EnforcementLevel | Record<string, unknown>>;

type Policy = ResourceValidationPolicy | StackValidationPolicy;

class TestStack extends pulumi.ComponentResource {
  constructor(transformation: pulumi.ResourceTransformation) {
    super("test:index:Stack", "stack", {}, { transformations: [transformation] });
  }
}

/**
 * Declares a stack: `declare` creates its resources with `{ parent }`. Returns every resource
 * (the root excluded) once all are registered and every component has registered its outputs.
 */
export async function recordStack(
  mocks: RecordingMocks,
  declare: (parent: pulumi.Resource) => void | Promise<void>,
): Promise<RecordedResource[]> {
  const seen: { resource: pulumi.Resource; type: string; name: string; opts: any }[] = [];
  const root = new TestStack((args) => {
    if (args.type !== "test:index:Stack") {
      seen.push({ resource: args.resource, type: args.type, name: args.name, opts: args.opts });
    }
    return undefined;
  });
  await declare(root);
  const urnOf = (r: pulumi.Resource) => new Promise<string>((resolve) => r.urn.apply(resolve));
  const urns = await Promise.all(seen.map((s) => urnOf(s.resource)));
  await settings.waitForRPCs();
  expect(mocks.rejections).toEqual([]);
  const registered = settings.getMonitor().getRegisteredResources?.() ?? new Map();
  const rootUrn = await urnOf(root);

  return Promise.all(
    seen.map(async (s, i): Promise<RecordedResource> => {
      const parent = s.opts?.parent as pulumi.Resource | undefined;
      const parentUrn = parent ? await urnOf(parent) : undefined;
      const state = registered.get(urns[i])?.state;
      const outputs = typeof state?.toJavaScript === "function" ? state.toJavaScript() : state;
      const custom = pulumi.CustomResource.isInstance(s.resource);
      const recorded = mocks.resources.find((r) => r.type === s.type && r.name === s.name);
      return {
        urn: urns[i],
        type: s.type,
        name: s.name,
        custom,
        inputs: unwrapSecrets(recorded?.inputs ?? {}),
        outputs: unwrapSecrets(outputs ?? {}),
        protect: s.opts?.protect === true,
        parentUrn: parentUrn === rootUrn ? undefined : parentUrn,
      };
    }),
  );
}

function options(protect: boolean, parentUrn?: string): PolicyResourceOptions {
  const opts = {
    protect,
    ignoreChanges: [],
    aliases: [],
    additionalSecretOutputs: [],
    customTimeouts: { createSeconds: 0, updateSeconds: 0, deleteSeconds: 0 },
    parent: parentUrn,
  };
  return opts as PolicyResourceOptions;
}

/** A PolicyResource for stack policies, built by hand (dependencies by URN). */
export function policyResource(
  r: Pick<RecordedResource, "urn" | "type" | "name" | "outputs" | "protect" | "parentUrn">,
): PolicyResource & { propertyDependencyUrns?: Record<string, string[]> } {
  return {
    urn: r.urn,
    type: r.type,
    name: r.name,
    props: unknownCheckingProxy(r.outputs),
    opts: options(r.protect, r.parentUrn),
    dependencies: [],
    propertyDependencies: {},
    isType: () => false,
    asType: () => undefined,
  } as unknown as PolicyResource;
}

/** Links parents and property dependencies (given by URN) between hand-built resources. */
export function linkResources(
  resources: PolicyResource[],
  parents: Record<string, string | undefined>,
  dependencies: Record<string, Record<string, string[]>> = {},
): PolicyResource[] {
  const byUrn = new Map(resources.map((r) => [r.urn, r]));
  for (const r of resources) {
    const parentUrn = parents[r.urn];
    if (parentUrn !== undefined) (r as any).parent = byUrn.get(parentUrn);
    for (const [key, urns] of Object.entries(dependencies[r.urn] ?? {})) {
      r.propertyDependencies[key] = urns.map((u) => byUrn.get(u)!).filter(Boolean);
    }
  }
  return resources;
}

function levelOf(policy: Policy, config: PackConfig): EnforcementLevel {
  const entry = config[policy.name];
  const configured =
    typeof entry === "string" ? entry : (entry?.enforcementLevel as EnforcementLevel);
  return configured ?? policy.enforcementLevel ?? "advisory";
}

function configOf(policy: Policy, config: PackConfig): any {
  const entry = config[policy.name];
  if (entry === undefined || typeof entry === "string") return {};
  return Object.fromEntries(Object.entries(entry).filter(([key]) => key !== "enforcementLevel"));
}

/** Runs every policy (resource policies on inputs, stack policies on outputs); returns reports. */
export async function runPolicies(
  policies: readonly Policy[],
  resources: readonly RecordedResource[],
  config: PackConfig = {},
  stack?: PolicyResource[],
): Promise<Reported[]> {
  const reported: Reported[] = [];
  const stackResources =
    stack ??
    linkResources(
      resources.map((r) => policyResource(r)),
      Object.fromEntries(resources.map((r) => [r.urn, r.parentUrn])),
    );
  for (const policy of policies) {
    const enforcementLevel = levelOf(policy, config);
    if (enforcementLevel === "disabled") continue;
    const report = (message: string, urn?: string) =>
      reported.push({ policy: policy.name, enforcementLevel, urn, message });
    if ("validateResource" in policy && policy.validateResource !== undefined) {
      const validations = Array.isArray(policy.validateResource)
        ? policy.validateResource
        : [policy.validateResource];
      for (const r of resources) {
        for (const validate of validations) {
          await validate(
            {
              type: r.type,
              props: unknownCheckingProxy(r.inputs),
              urn: r.urn,
              name: r.name,
              opts: options(r.protect, r.parentUrn),
              getConfig: () => configOf(policy, config),
              isType: () => false,
              asType: () => undefined,
            } as any,
            (message: string) => report(message, r.urn),
          );
        }
      }
    }
    if ("validateStack" in policy) {
      await policy.validateStack(
        { resources: stackResources, getConfig: () => configOf(policy, config) } as any,
        report,
      );
    }
  }
  return reported;
}
