/**
 * The registry composed into a larger stack: this host trusts it and logs in, an app image is
 * built from a multi-stage Dockerfile and pushed, and a container runs it by digest, pulled from
 * the registry with the registry's own credentials.
 */
import * as docker from "@pulumi/docker";
import * as pulumi from "@pulumi/pulumi";
import { BuiltImage, SecureRegistry } from "pulumi-secure-registry";

const config = new pulumi.Config();

const registry = new SecureRegistry("registry", {
  hostname: "localhost",
  port: config.getNumber("registryPort") ?? 5000,
  users: [{ username: "deployer" }],
  // This host (the Docker host running `pulumi up`) trusts the CA and logs in.
  trust: { login: true },
});

const app = new BuiltImage("app", {
  context: "./app",
  target: "runtime",
  platform: "linux/amd64",
  imageName: "apps/hello:1.0.0",
  registry,
});

// Pulls go through a provider that carries the registry's credentials, as on any other host.
const credential = registry.credentials.apply((all) => all[0]);
const registryProvider = new docker.Provider("registry-auth", {
  registryAuth: [
    {
      address: registry.endpoint,
      username: credential.username,
      password: pulumi.secret(credential.password),
    },
  ],
});

// By digest: a rebuilt image is a new digest, so the container is replaced; a re-run is not.
const appImage = new docker.RemoteImage(
  "app-pulled",
  { name: app.repoDigest, keepLocally: true },
  { provider: registryProvider },
);

const appContainer = new docker.Container(
  "app",
  {
    name: "hello-app",
    image: appImage.imageId,
    restart: "unless-stopped",
    ports: [{ internal: 8080, external: config.getNumber("appPort") ?? 8080 }],
    wait: true,
    waitTimeout: 60,
  },
  { provider: registryProvider },
);

export const registryEndpoint = registry.endpoint;
export const appImageDigest = app.repoDigest;
export const appContainerName = appContainer.name;
export const appUrl = pulumi.interpolate`http://localhost:${config.getNumber("appPort") ?? 8080}/`;
