/**
 * The policy pack `secure-registry`: run it with `pulumi preview --policy-pack <this directory>`
 * (see docs/policy.md). Constructing the PolicyPack starts the analyzer server the Pulumi CLI
 * talks to, so this module only does that; the policies live in policies.ts.
 */
import { PolicyPack } from "@pulumi/policy";
import { policies } from "./policies";

new PolicyPack("secure-registry", { policies });
