import * as docker from "@pulumi/docker";
import * as pulumi from "@pulumi/pulumi";
import { Credential, HtpasswdUsers } from "../auth/htpasswdUsers";
import { HealthyContainer } from "../engine/healthy-container";
import { ClientCertificate, RegistryClientCertificates } from "../tls/clientCertificates";
import { RegistryCertificates } from "../tls/registryCertificates";
import { RegistryClientTrust } from "../trust/component";
import { SecureRegistryArgs } from "./args";
import { withoutClientChoice } from "./clientAuth";
import { launcherEntrypoint } from "./config";
import { declareRegistryParts, registryRuntime } from "./parts";
import { planSecureRegistry } from "./plan";
import {
  CONTAINER_PATHS,
  CONTAINER_PORT,
  formatEndpoint,
  registryHealthcheck,
  renderDockerConfigJson,
  WAIT_TIMEOUT_SECONDS,
} from "./render";

const TYPE = "secure-registry:registry:SecureRegistry";

/**
 * A private Docker registry with TLS and htpasswd authentication, as one component: certificates
 * (RegistryCertificates), users (HtpasswdUsers), the registry image, a named data volume (or an
 * S3 bucket: `storage.s3`) and the container, which `pulumi up` waits for until its health check
 * passes (`healthy`).
 */
export class SecureRegistry extends pulumi.ComponentResource {
  /** `host:port` (just `host` for 443) as clients write it in image names and `docker login`. */
  readonly endpoint: pulumi.Output<string>;
  /** `https://<endpoint>`. */
  readonly url: pulumi.Output<string>;
  /** The CA certificate clients must trust (e.g. in /etc/docker/certs.d/<endpoint>/ca.crt). */
  readonly caCertPem: pulumi.Output<string>;
  /** Users' names and passwords (secret). */
  readonly credentials: pulumi.Output<Credential[]>;
  /** The htpasswd file the registry reads (secret). */
  readonly htpasswd: pulumi.Output<string>;
  /** Docker config.json content logging the first user in to `endpoint` (secret). */
  readonly dockerConfigJson: pulumi.Output<string>;
  /** The registry container. */
  readonly container: docker.Container;
  /**
   * Done when the container's health check has passed (`pulumi up` waits for it, up to 60 s);
   * what depends on the component waits for it too.
   */
  readonly healthy: HealthyContainer;
  /** The volume holding the registry's data; none with `storage.s3` (the data is in the bucket). */
  readonly volume?: docker.Volume;
  /** The TLS material. */
  readonly certificates: RegistryCertificates;
  /**
   * Client certificates issued from the registry's CA for `tls.clientCertificates`, each
   * `{ name, certPem, privateKeyPem }` (secret); [] when none are issued.
   */
  readonly clientCertificates: pulumi.Output<ClientCertificate[]>;
  /** The resources behind `clientCertificates`, when `tls.clientCertificates` names any. */
  readonly issuedClientCertificates?: RegistryClientCertificates;
  /** The registry refuses clients without a certificate it accepts (mTLS). */
  readonly requiresClientCertificates: boolean;
  /** The registry users. */
  readonly users: HtpasswdUsers;
  /** This host's trust of the registry, when `trust` was given. */
  readonly trust?: RegistryClientTrust;
  /** True when the registry is a pull-through cache (`proxy`): it refuses pushes. */
  readonly pullThroughCache: boolean;

  constructor(name: string, args: SecureRegistryArgs = {}, opts?: pulumi.ComponentResourceOptions) {
    const plan = planSecureRegistry(name, args);
    super(TYPE, name, {}, opts);

    const parts = declareRegistryParts(name, plan, this);
    this.certificates = parts.certificates;
    this.issuedClientCertificates = parts.clientCertificates;
    this.clientCertificates = pulumi.secret(
      parts.clientCertificates?.certificates ?? pulumi.output([] as ClientCertificate[]),
    );
    this.requiresClientCertificates = plan.clientAuth !== undefined;
    this.users = parts.users;
    const runtime = registryRuntime(plan, parts);

    const image = new docker.RemoteImage(
      `${name}-image`,
      { name: plan.image, keepLocally: true },
      { parent: this },
    );
    this.volume = plan.s3
      ? undefined
      : new docker.Volume(
          `${name}-data`,
          { name: plan.volumeName },
          // Retained by default: a destroy (or a replacement) forgets the volume instead of
          // deleting every pushed image; the next up with the same name finds the data again.
          { parent: this, retainOnDelete: plan.retainOnDelete },
        );

    this.container = new docker.Container(
      `${name}-container`,
      {
        restart: "always",
        // The user's tuning first: what the component owns below cannot be overridden (checked).
        ...plan.container.inputs,
        name: plan.containerName,
        image: image.imageId,
        mustRun: true,
        entrypoints: launcherEntrypoint(),
        envs:
          plan.container.envs === undefined
            ? runtime.env
            : pulumi
                .all([runtime.env, plan.container.envs])
                .apply(([registry, process]) => [...registry, ...process]),
        ports: [
          { internal: CONTAINER_PORT, external: plan.port, ip: plan.bindAddress, protocol: "tcp" },
        ],
        volumes: this.volume
          ? [{ volumeName: this.volume.name, containerPath: CONTAINER_PATHS.data }]
          : undefined,
        uploads: runtime.files.map((f) => ({
          file: f.path,
          content: f.content,
          permissions: f.mode,
        })),
        healthcheck: registryHealthcheck(),
        // Not the provider's wait, which looks again only a second after the start request:
        // `healthy` below waits on the engine's events and ends when the check passes.
        wait: false,
      },
      {
        parent: this,
        // The fixed name and host port cannot be held by two containers at once; data is in the
        // volume or the bucket.
        deleteBeforeReplace: true,
        // The provider plans healthcheck edits as updates but never applies them to a running container.
        replaceOnChanges: ["healthcheck"],
      },
    );

    this.healthy = new HealthyContainer(
      `${name}-healthy`,
      { container: this.container.id, timeoutSeconds: WAIT_TIMEOUT_SECONDS },
      { parent: this },
    );

    this.pullThroughCache = plan.proxy !== undefined;
    this.endpoint = pulumi
      .all([plan.hostname, plan.port])
      .apply(([host, port]) => formatEndpoint(host, port));
    this.url = pulumi.interpolate`https://${this.endpoint}`;
    this.caCertPem = this.certificates.caCertPem;
    this.credentials = this.users.credentials;
    this.htpasswd = this.users.htpasswd;
    this.dockerConfigJson = pulumi.secret(
      pulumi
        .all([this.endpoint, this.users.credentials])
        .apply(([endpoint, credentials]) => renderDockerConfigJson(endpoint, credentials[0])),
    );

    if (plan.trust !== undefined) {
      const { login, ...options } = withoutClientChoice(plan.trust);
      const firstUser = pulumi.secret(this.users.credentials.apply((all) => all[0]));
      const trustClient = plan.clientAuth?.trustClient;
      const pair =
        trustClient === undefined ? undefined : parts.clientCertificates?.client(trustClient);
      if (
        plan.clientAuth !== undefined &&
        pair === undefined &&
        options.clientCertPem === undefined
      ) {
        pulumi.log.warn(
          `SecureRegistry "${name}": the registry requires client certificates, but trust ` +
            "installs none on the host, so its docker client will be refused in the TLS " +
            "handshake; name a client in tls.clientCertificates (trust installs the first, or " +
            "trust.clientCertificate), or pass trust.clientCertPem and trust.clientKeyPem " +
            "(neither works with trust.insecure, which writes no certs.d files).",
          this,
        );
      }
      this.trust = new RegistryClientTrust(
        `${name}-trust`,
        {
          ...options,
          endpoint: this.endpoint,
          caCertPem: this.caCertPem,
          login: login === true ? firstUser : login === false ? undefined : login,
          ...(pair ? { clientCertPem: pair.certPem, clientKeyPem: pair.privateKeyPem } : {}),
        },
        { parent: this },
      );
    }

    this.registerOutputs({
      endpoint: this.endpoint,
      url: this.url,
      caCertPem: this.caCertPem,
      credentials: this.credentials,
      htpasswd: this.htpasswd,
      dockerConfigJson: this.dockerConfigJson,
      clientCertificates: this.clientCertificates,
    });
  }
}
