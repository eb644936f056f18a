/**
 * A pull-through cache: the registry fetches what clients ask for from the upstream registry
 * once, keeps it in its volume, and serves it from there. It accepts no pushes.
 */
import * as pulumi from "@pulumi/pulumi";
import { SecureRegistry } from "pulumi-secure-registry";

const config = new pulumi.Config();
const upstreamUsername = config.get("upstreamUsername") ?? "";

const mirror = new SecureRegistry("mirror", {
  hostname: "localhost",
  port: config.getNumber("port") ?? 5001,
  users: [{ username: "puller" }],
  proxy: {
    remoteUrl: config.get("upstream") ?? "https://registry-1.docker.io",
    // Authenticated pulls get higher rate limits upstream; both or neither.
    ...(upstreamUsername
      ? { username: upstreamUsername, password: config.requireSecret("upstreamPassword") }
      : {}),
  },
  storage: { volumeName: "mirror-cache" },
  // Docker, and Podman/Buildah/skopeo, on this host trust the mirror's CA.
  trust: { certsDirs: ["/etc/docker/certs.d", "/etc/containers/certs.d"], login: true },
});

export const endpoint = mirror.endpoint;
export const caCertPem = mirror.caCertPem;
export const loginCommand = mirror.trust!.loginCommand;
export const credentials = mirror.credentials;
