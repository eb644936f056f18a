/**
 * Just the registry: a generated CA and server certificate, two users with generated
 * passwords, a data volume, and the container, healthy before `pulumi up` returns.
 */
import * as pulumi from "@pulumi/pulumi";
import { SecureRegistry } from "pulumi-secure-registry";

const config = new pulumi.Config();

const registry = new SecureRegistry("registry", {
  hostname: config.get("hostname") ?? "localhost",
  port: config.getNumber("port") ?? 5000,
  users: [{ username: "ci" }, { username: "developer" }],
});

export const endpoint = registry.endpoint;
export const url = registry.url;
/** Copy to /etc/docker/certs.d/<endpoint>/ca.crt on each client host. */
export const caCertPem = registry.caCertPem;
/** Secret: `pulumi stack output credentials --show-secrets`. */
export const credentials = registry.credentials;
/** Secret: a docker config.json for CI (`auths` entry of the first user). */
export const dockerConfigJson = registry.dockerConfigJson;
