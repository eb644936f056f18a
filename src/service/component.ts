import * as docker from "@pulumi/docker";
import * as pulumi from "@pulumi/pulumi";
import { Credential, HtpasswdUsers } from "../auth/htpasswdUsers";
import { launcherEntrypoint } from "../registry/config";
import { declareRegistryParts, RegistryFile, registryRuntime } from "../registry/parts";
import { CONTAINER_PORT, formatEndpoint, renderDockerConfigJson } from "../registry/render";
import { ClientCertificate, RegistryClientCertificates } from "../tls/clientCertificates";
import { RegistryCertificates } from "../tls/registryCertificates";
import { SecureRegistryServiceArgs } from "./args";
import { planSecureRegistryService } from "./plan";
import {
  CONVERGE_DELAY,
  envMap,
  fileModeNumber,
  RESTART_POLICY,
  serviceHealthcheck,
  swarmObjectName,
  updatePolicy,
} from "./spec";

const TYPE = "secure-registry:service:SecureRegistryService";

/** Label on the service and on each of its secrets and configs: the service's name. */
export const SERVICE_LABEL = "org.secure-registry.service";

const toBase64 = (text: string) => Buffer.from(text, "utf8").toString("base64");

/**
 * The registry as a Docker Swarm service: replicas on several nodes sharing one S3 bucket and one
 * http secret, behind the routing mesh (or host-mode ports). Certificates, users, validation and
 * configuration are SecureRegistry's. The key, htpasswd and secret settings are Swarm secrets,
 * config.yml and the certificate Swarm configs, each named after its content: a renewed
 * certificate or a changed user list is a rolling update, one replica at a time, each gated by
 * its health check, rolled back on failure.
 */
export class SecureRegistryService extends pulumi.ComponentResource {
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
  /** The Swarm service's name. */
  readonly serviceName: pulumi.Output<string>;
  /** The Swarm service. */
  readonly service: docker.Service;
  /** Swarm secrets by role: "private-key", "htpasswd", "env-http-secret", ... */
  readonly secrets: Record<string, docker.Secret>;
  /** Swarm configs by role: "config" (config.yml) and "certificate". */
  readonly configs: Record<string, docker.ServiceConfig>;
  /** The TLS material. */
  readonly certificates: RegistryCertificates;
  /**
   * Client certificates issued for `tls.clientCertificates` (mTLS), each
   * `{ name, certPem, privateKeyPem }` (secret); [] when none are issued.
   */
  readonly clientCertificates: pulumi.Output<ClientCertificate[]>;
  /** The resources behind `clientCertificates`, when `tls.clientCertificates` names any. */
  readonly issuedClientCertificates?: RegistryClientCertificates;
  /** The registry refuses clients without a certificate it accepts (mTLS). */
  readonly requiresClientCertificates: boolean;
  /** The registry users. */
  readonly users: HtpasswdUsers;

  constructor(
    name: string,
    args: SecureRegistryServiceArgs,
    opts?: pulumi.ComponentResourceOptions,
  ) {
    const plan = planSecureRegistryService(name, args);
    super(TYPE, name, {}, opts);

    const parts = declareRegistryParts(name, plan.registry, this);
    this.certificates = parts.certificates;
    this.issuedClientCertificates = parts.clientCertificates;
    this.clientCertificates = pulumi.secret(
      parts.clientCertificates?.certificates ?? pulumi.output([] as ClientCertificate[]),
    );
    this.requiresClientCertificates = plan.registry.clientAuth !== undefined;
    this.users = parts.users;
    const runtime = registryRuntime(plan.registry, parts, {
      redis: plan.redis,
      drainTimeout: plan.stopGracePeriod,
    });

    const labels = [{ label: SERVICE_LABEL, value: plan.serviceName }];
    this.secrets = {};
    this.configs = {};
    const secretRefs: docker.types.input.ServiceTaskSpecContainerSpecSecret[] = [];
    const configRefs: docker.types.input.ServiceTaskSpecContainerSpecConfig[] = [];
    for (const file of runtime.files) {
      const target = {
        fileName: file.path,
        fileUid: "0",
        fileGid: "0",
        fileMode: fileModeNumber(file.mode),
      };
      if (file.secret) {
        const secret = this.declareSecret(name, plan.serviceName, file, parts.httpSecret, labels);
        this.secrets[file.id] = secret;
        secretRefs.push({ secretId: secret.id, secretName: secret.name, ...target });
      } else {
        const config = this.declareConfig(name, plan.serviceName, file, labels);
        this.configs[file.id] = config;
        configRefs.push({ configId: config.id, configName: config.name, ...target });
      }
    }

    const { updateConfig, rollbackConfig } = updatePolicy(plan.update);
    this.service = new docker.Service(
      `${name}-service`,
      {
        name: plan.serviceName,
        labels,
        mode: plan.global ? { global: true } : { replicated: { replicas: plan.replicas ?? 0 } },
        taskSpec: {
          containerSpec: {
            // Not resolved to a digest here: every node pulls (or has) the image itself. Pin a
            // digest in `image` to run the same bits everywhere.
            image: plan.registry.image,
            commands: launcherEntrypoint(),
            env: runtime.env.apply(envMap),
            secrets: secretRefs,
            configs: configRefs,
            healthcheck: serviceHealthcheck(),
            stopGracePeriod: plan.stopGracePeriod,
          },
          restartPolicy: { ...RESTART_POLICY },
          placement: {
            constraints: plan.constraints,
            prefs: pulumi
              .output(plan.spreadOver)
              .apply((labelNames) => labelNames.map((l) => `spread=${l}`)),
            maxReplicas: plan.maxReplicasPerNode,
          },
          networksAdvanceds: pulumi.output(plan.networks).apply((ids) => ids.map((id) => ({ id }))),
        },
        updateConfig,
        rollbackConfig,
        endpointSpec: {
          mode: "vip",
          ports: [
            {
              targetPort: CONTAINER_PORT,
              publishedPort: plan.registry.port,
              publishMode: plan.publishMode,
              protocol: "tcp",
            },
          ],
        },
        // The provider cannot converge global services (it counts replicas).
        convergeConfig: plan.global
          ? undefined
          : { delay: CONVERGE_DELAY, timeout: plan.convergeTimeout },
      },
      {
        parent: this,
        // Replaced (a new name or network) only by deleting first: the new service could not
        // publish the port the old one holds.
        deleteBeforeReplace: true,
      },
    );

    this.serviceName = this.service.name;
    this.endpoint = pulumi
      .all([plan.registry.hostname, plan.registry.port])
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

    this.registerOutputs({
      endpoint: this.endpoint,
      url: this.url,
      caCertPem: this.caCertPem,
      credentials: this.credentials,
      htpasswd: this.htpasswd,
      dockerConfigJson: this.dockerConfigJson,
      clientCertificates: this.clientCertificates,
      serviceName: this.serviceName,
    });
  }

  /**
   * A Swarm secret for `file`. Its name is an HMAC of the content under the http secret: it
   * changes with the content and shows nothing of it, so it is not marked secret (previews show
   * which secrets a change rotates). The data is secret.
   */
  private declareSecret(
    name: string,
    prefix: string,
    file: RegistryFile,
    key: pulumi.Output<string>,
    labels: { label: string; value: string }[],
  ): docker.Secret {
    const content = pulumi.output(file.content);
    return new docker.Secret(
      `${name}-${file.id}`,
      {
        name: pulumi.unsecret(
          pulumi.all([content, key]).apply(([c, k]) => swarmObjectName(prefix, file.id, c, k)),
        ),
        data: pulumi.secret(content.apply(toBase64)),
        labels,
      },
      // A new name replaces the secret: created before the service moves to it, deleted after.
      { parent: this, deleteBeforeReplace: false },
    );
  }

  /** A Swarm config for `file` (public content), named after a SHA-256 of the content. */
  private declareConfig(
    name: string,
    prefix: string,
    file: RegistryFile,
    labels: { label: string; value: string }[],
  ): docker.ServiceConfig {
    const content = pulumi.output(file.content);
    return new docker.ServiceConfig(
      `${name}-${file.id}`,
      {
        name: content.apply((c) => swarmObjectName(prefix, file.id, c)),
        data: content.apply(toBase64),
        labels,
      },
      { parent: this, deleteBeforeReplace: false },
    );
  }
}
