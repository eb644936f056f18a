/**
 * A pull-through cache that dockerd can use as a registry mirror: the registry fetches what
 * clients ask for from the upstream registry once, keeps it in its volume, and serves it from
 * there. dockerd sends no credentials to mirrors (moby/moby#30880), so this cache serves pulls
 * anonymously (`proxy.anonymousPulls`); TLS stays on, pushes and deletes are refused, and the
 * port is published only on the address you choose (an internal one).
 */
import * as pulumi from "@pulumi/pulumi";
import { SecureRegistry } from "pulumi-secure-registry";

const config = new pulumi.Config();
const upstreamUsername = config.get("upstreamUsername") ?? "";

const mirror = new SecureRegistry("mirror", {
  // The name dockerd dials (`registry-mirrors`): it must be in the certificate.
  hostname: config.get("hostname") ?? "localhost",
  port: config.getNumber("port") ?? 5001,
  // Anyone who reaches this address can pull through the cache: keep it internal.
  bindAddress: config.get("bindAddress") ?? "127.0.0.1",
  proxy: {
    remoteUrl: config.get("upstream") ?? "https://registry-1.docker.io",
    anonymousPulls: true,
    // Authenticated pulls get higher rate limits upstream; both or neither.
    ...(upstreamUsername
      ? { username: upstreamUsername, password: config.requireSecret("upstreamPassword") }
      : {}),
  },
  storage: { volumeName: "mirror-cache" },
  // Docker, and Podman/Buildah/skopeo, on this host trust the mirror's CA.
  trust: { certsDirs: ["/etc/docker/certs.d", "/etc/containers/certs.d"] },
});

export const endpoint = mirror.endpoint;
export const caCertPem = mirror.caCertPem;
/** What to add to /etc/docker/daemon.json on each host that should pull through the cache. */
export const daemonJson = mirror.url.apply((url) =>
  JSON.stringify({ "registry-mirrors": [url] }, null, 2),
);
