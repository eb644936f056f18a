/**
 * What every way of running the registry declares alike: its certificates, users and http
 * secret, and the settings and files the registry process needs. SecureRegistry puts them in a
 * container (envs and uploads); a service can put the same files in secrets and configs.
 */
import * as pulumi from "@pulumi/pulumi";
import * as random from "@pulumi/random";
import { isDeferred } from "../common/checks";
import { HtpasswdUsers } from "../auth/htpasswdUsers";
import { RegistryClientCertificates } from "../tls/clientCertificates";
import { RegistryCertificates } from "../tls/registryCertificates";
import { clientCaFiles } from "./clientAuth";
import {
  CONFIG_PATHS,
  isSecretEnvKey,
  registryEnv,
  renderBaseConfig,
  renderContainerEnv,
  renderEnvFile,
} from "./config";
import { Plan } from "./plan";
import { CONTAINER_PATHS, CONTAINER_PORT, DEBUG_ADDR, FILE_MODES } from "./render";

/** The resources every registry deployment declares for itself. */
export interface RegistryParts {
  readonly certificates: RegistryCertificates;
  /** Client certificates issued from the registry's CA (mTLS), when `tls.clientCertificates` names any. */
  readonly clientCertificates?: RegistryClientCertificates;
  readonly users: HtpasswdUsers;
  /** The registry's http.secret (secret): generated once, or `httpSecret`. */
  readonly httpSecret: pulumi.Output<string>;
}

/** Declares the certificates, users and http secret as children of `parent`. */
export function declareRegistryParts(
  name: string,
  plan: Plan,
  parent: pulumi.Resource,
): RegistryParts {
  const tls = plan.tls;
  // Only the options given are passed: RegistryCertificates refuses generation options next to
  // an own certificate, and undefined keys would read as given.
  const given = <T extends object>(values: T): Partial<T> =>
    Object.fromEntries(Object.entries(values).filter(([, v]) => v !== undefined)) as Partial<T>;
  const certificates = new RegistryCertificates(
    `${name}-tls`,
    {
      ...given({
        keyAlgorithm: tls.keyAlgorithm,
        rsaBits: tls.rsaBits,
        validityDays: tls.validityDays,
        caValidityDays: tls.caValidityDays,
        earlyRenewalDays: tls.earlyRenewalDays,
        certPem: tls.certPem,
        privateKeyPem: tls.privateKeyPem,
        caCertPem: tls.caCertPem,
      }),
      hostnames: plan.certHostnames,
      ipAddresses: plan.certIps,
    },
    { parent },
  );
  const issue = plan.clientAuth?.issue ?? [];
  const clientCertificates =
    issue.length === 0
      ? undefined
      : new RegistryClientCertificates(
          `${name}-client-certs`,
          {
            clients: issue,
            caCertPem: certificates.caCertPem,
            // Defined: tls.clientCertificates was refused with the user's own certificate.
            caPrivateKeyPem: certificates.caPrivateKeyPem!,
            // The server's options when they are plain values; one given as an Output cannot
            // shape resources at construction, so the client certificates use the default.
            keyAlgorithm: plainOrDefault(tls.keyAlgorithm),
            rsaBits: plainOrDefault(tls.rsaBits),
            validityDays: plainOrDefault(tls.validityDays),
            earlyRenewalDays: plainOrDefault(tls.earlyRenewalDays),
          },
          { parent },
        );
  const users = new HtpasswdUsers(`${name}-users`, { users: plan.users }, { parent });
  const httpSecret = pulumi.secret(
    plan.httpSecret ??
      new random.RandomPassword(
        `${name}-http-secret`,
        // Letters and digits: nothing distribution's YAML parsing could misread.
        { length: 48, special: false },
        { parent },
      ).result,
  );
  return { certificates, clientCertificates, users, httpSecret };
}

/** `value` when it is known at construction, else undefined (the option's default). */
function plainOrDefault<T>(value: pulumi.Input<T> | undefined): T | undefined {
  return value === undefined || isDeferred(value) ? undefined : (value as T);
}

/** A file the registry process reads, at `path` inside its container. */
export interface RegistryFile {
  /** Short stable name of the file's role, e.g. "config", "private-key", "env-http-secret". */
  readonly id: string;
  readonly path: string;
  readonly content: pulumi.Input<string>;
  /** Its content is secret (and marked so). */
  readonly secret: boolean;
  /** Octal mode, e.g. "0400". */
  readonly mode: string;
}

/** What the registry process needs: non-secret settings as env, and its files. */
export interface RegistryRuntime {
  /** `KEY=value` entries for the container's env, sorted; nothing secret. */
  readonly env: pulumi.Output<string[]>;
  /** config.yml, certificate, key, htpasswd and the secret env files the launcher exports. */
  readonly files: RegistryFile[];
}

/** Settings only some ways of running the registry have (a service's Redis, drain time). */
export interface RuntimeOptions {
  /** Redis for the blob descriptor cache; its password goes into a secret env file. */
  readonly redis?: {
    readonly address: pulumi.Input<string>;
    readonly db?: pulumi.Input<number>;
    readonly password?: pulumi.Input<string>;
  };
  /** REGISTRY_HTTP_DRAINTIMEOUT (a Go duration). Default: none (stop at once). */
  readonly drainTimeout?: string;
}

/** The settings and files of the registry described by `plan`, using `parts`. */
export function registryRuntime(
  plan: Plan,
  parts: RegistryParts,
  options: RuntimeOptions = {},
): RegistryRuntime {
  const storageDriver = plan.s3 ? "s3" : "filesystem";
  const clientCas = plan.clientAuth
    ? clientCaFiles(plan.clientAuth, parts.certificates.caCertPem)
    : [];
  const settingsEnv = pulumi
    .all([
      plan.realm,
      plan.minimumVersion,
      plan.logLevel,
      plan.deleteEnabled,
      plan.proxy ? pulumi.all([plan.proxy.remoteUrl, plan.proxy.username]) : undefined,
      plan.s3 ? pulumi.all([plan.s3.parameters, plan.s3.redirect]) : undefined,
      options.redis ? pulumi.all([options.redis.address, options.redis.db]) : undefined,
    ])
    .apply(([realm, minimumVersion, logLevel, deleteEnabled, proxy, s3, redis]) =>
      registryEnv({
        listenAddress: `0.0.0.0:${CONTAINER_PORT}`,
        tls: {
          certificate: CONTAINER_PATHS.certificate,
          key: CONTAINER_PATHS.privateKey,
          minimumVersion,
          clientCas: clientCas.map((f) => f.path),
        },
        auth: plan.auth ? { realm, htpasswdPath: CONTAINER_PATHS.htpasswd } : undefined,
        logLevel,
        storage: s3
          ? {
              deleteEnabled,
              driver: storageDriver,
              parameters: s3[0],
              redirectDisabled: !s3[1],
            }
          : {
              deleteEnabled,
              driver: storageDriver,
              parameters: { rootdirectory: CONTAINER_PATHS.data },
            },
        proxy: proxy ? { remoteUrl: proxy[0], username: proxy[1] } : undefined,
        debugAddress: DEBUG_ADDR,
        redis: redis ? { address: redis[0], db: redis[1] } : undefined,
        drainTimeout: options.drainTimeout,
      }),
    );
  const userEnv = splitSecretEnv(plan.env);
  const env = pulumi
    .all([settingsEnv, userEnv.plain])
    .apply(([settings, user]) => renderContainerEnv(settings, user));

  /** A `KEY=value` file in the launcher's env directory; its content is always secret. */
  const secretEnvFile = (
    id: string,
    file: string,
    entries: pulumi.Input<Record<string, string>>,
  ) => ({
    id,
    path: `${CONFIG_PATHS.envDir}/${file}`,
    content: pulumi.secret(pulumi.output(entries).apply(renderEnvFile)),
    secret: true,
    mode: FILE_MODES.envFile,
  });
  const files: RegistryFile[] = [
    {
      id: "config",
      path: CONFIG_PATHS.config,
      content: renderBaseConfig(storageDriver),
      secret: false,
      mode: FILE_MODES.config,
    },
    secretEnvFile(
      "env-http-secret",
      "http-secret.env",
      parts.httpSecret.apply((v) => ({ REGISTRY_HTTP_SECRET: v })),
    ),
    ...(plan.proxy?.password !== undefined
      ? [
          secretEnvFile(
            "env-proxy-password",
            "proxy-password.env",
            pulumi.output(plan.proxy.password).apply((v) => ({ REGISTRY_PROXY_PASSWORD: v })),
          ),
        ]
      : []),
    ...(plan.s3?.credentials !== undefined
      ? [secretEnvFile("env-storage-credentials", "storage-credentials.env", plan.s3.credentials)]
      : []),
    ...(options.redis?.password !== undefined
      ? [
          secretEnvFile(
            "env-redis-password",
            "redis-password.env",
            pulumi.output(options.redis.password).apply((v) => ({ REGISTRY_REDIS_PASSWORD: v })),
          ),
        ]
      : []),
    ...(isDeferred(plan.env) || Object.keys(plan.env).length > 0
      ? [secretEnvFile("env-user-settings", "env.env", userEnv.secret)]
      : []),
    {
      id: "certificate",
      path: CONTAINER_PATHS.certificate,
      content: parts.certificates.certPem,
      secret: false,
      mode: FILE_MODES.certificate,
    },
    {
      id: "private-key",
      path: CONTAINER_PATHS.privateKey,
      content: pulumi.secret(parts.certificates.privateKeyPem),
      secret: true,
      mode: FILE_MODES.privateKey,
    },
    ...clientCas,
    // An anonymous cache has no auth: no htpasswd for it to read.
    ...(plan.auth
      ? [
          {
            id: "htpasswd",
            path: CONTAINER_PATHS.htpasswd,
            content: pulumi.secret(parts.users.htpasswd),
            secret: true,
            mode: FILE_MODES.htpasswd,
          },
        ]
      : []),
  ];
  return { env, files };
}

/**
 * Splits user `env` into entries for the container's `envs` (readable in previews) and entries
 * for a secret env file: an entry is secret when its key names a secret or its value is a Pulumi
 * secret. For a plain map, which values are secret is known without their values, so previews
 * show the same split. A map given as an Output is split once known; when that Output is itself
 * secret, every entry is. Values are unwrapped only to place the non-secret ones; secret ones never
 * reach `plain`.
 */
function splitSecretEnv(env: pulumi.Input<Record<string, pulumi.Input<string>>>): {
  plain: pulumi.Output<Record<string, string>>;
  secret: pulumi.Output<Record<string, string>>;
} {
  if (isDeferred(env)) {
    const map = pulumi.output(env);
    const split = pulumi.all([map, pulumi.isSecret(map)]).apply(([known, wholeSecret]) => {
      const plain: Record<string, string> = {};
      const secret: Record<string, string> = {};
      for (const key of Object.keys(known).sort()) {
        (wholeSecret || isSecretEnvKey(key) ? secret : plain)[key] = known[key];
      }
      return { plain, secret };
    });
    return {
      plain: pulumi.unsecret(split.apply((s) => s.plain)),
      secret: pulumi.secret(split.apply((s) => s.secret)),
    };
  }
  const entries = env as Record<string, pulumi.Input<string>>;
  const keys = Object.keys(entries).sort();
  const flags = pulumi.output(
    Promise.all(
      keys.map((key) =>
        isSecretEnvKey(key)
          ? true
          : pulumi.Output.isInstance(entries[key])
            ? pulumi.isSecret(entries[key] as pulumi.Output<string>)
            : false,
      ),
    ),
  );
  const pick = (wantSecret: boolean, values: string[], secretFlags: boolean[]) =>
    Object.fromEntries(
      keys.flatMap((key, i) => (secretFlags[i] === wantSecret ? [[key, values[i]]] : [])),
    ) as Record<string, string>;
  const revealed = keys.map((key) => pulumi.unsecret(pulumi.output(entries[key])));
  return {
    plain: pulumi.all([flags, pulumi.all(revealed)]).apply(([f, v]) => pick(false, v, f)),
    secret: pulumi.secret(
      pulumi
        .all([flags, pulumi.all(keys.map((key) => entries[key]))])
        .apply(([f, v]) => pick(true, v, f)),
    ),
  };
}
