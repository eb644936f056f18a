/**
 * Stack program for the root Pulumi.yaml (`npm run up`). Reads config here and only here;
 * components get plain, validated values.
 */
import * as pulumi from "@pulumi/pulumi";
import { DEFAULTS, parseStackConfig, RawStackConfig } from "./config";
import { createStack } from "./program";

const config = new pulumi.Config();
const raw: RawStackConfig = {};
for (const key of Object.keys(DEFAULTS) as (keyof typeof DEFAULTS)[]) {
  raw[key] = config.get(key);
}
// Every key set in this project's namespace: one the stack does not read is refused (a typo would
// otherwise leave the default in place without a word).
const namespace = `${pulumi.getProject()}:`;
const setKeys = Object.keys(pulumi.runtime.allConfig())
  .filter((key) => key.startsWith(namespace))
  .map((key) => key.slice(namespace.length));
const settings = parseStackConfig(raw, setKeys);
const outputs = createStack(settings, { proxyPassword: config.getSecret("proxyPassword") });

export const endpoint = outputs.endpoint;
export const url = outputs.url;
export const caCertPem = outputs.caCertPem;
export const loginCommand = outputs.loginCommand;
export const credentials = outputs.credentials;
export const imageDigests = outputs.imageDigests;
