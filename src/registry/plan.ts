/**
 * SecureRegistry's arguments checked and completed with defaults, before any resource exists.
 * The container (SecureRegistry) and other ways of running the registry build on the same plan.
 */
import * as pulumi from "@pulumi/pulumi";
import * as net from "net";
import { HtpasswdUser, DEFAULT_USERS } from "../auth/htpasswdUsers";
import { validateUsers } from "../auth/validate";
import { componentLabel, fail, isDeferred, whenKnown } from "../common/checks";
import {
  validateBindAddress,
  validateDockerName,
  validateHostname,
  validateHostOrIp,
  validateImageReference,
  validateIp,
  validatePort,
} from "../common/validators";
import { checkOwnCertificateFits, resolveCertificateOptions } from "../tls/registryCertificates";
import { validateRegistryClientTrustArgs } from "../trust/component";
import {
  REGISTRY_DEFAULTS,
  RegistryTlsOptions,
  SecureRegistryArgs,
  SecureRegistryTrustOptions,
} from "./args";
import { ClientAuthPlan, planClientAuth, withoutClientChoice } from "./clientAuth";
import { formatEndpoint } from "./render";
import { planS3Storage, S3Plan } from "./s3";
import {
  validateEnvKey,
  validateLogLevel,
  validateProxyCredentials,
  validateProxyUrl,
  validateRealm,
  validateSingleLine,
  validateTlsVersion,
} from "./validate";

/** Everything the constructor decides before declaring resources. */
export interface Plan {
  hostname: pulumi.Input<string>;
  certHostnames: pulumi.Input<string>[];
  certIps: pulumi.Input<string>[];
  port: pulumi.Input<number>;
  bindAddress: pulumi.Input<string>;
  image: pulumi.Input<string>;
  users: readonly HtpasswdUser[];
  realm: pulumi.Input<string>;
  tls: RegistryTlsOptions;
  /** Client certificates the registry requires (mTLS); undefined: none. */
  clientAuth?: ClientAuthPlan;
  minimumVersion: pulumi.Input<string>;
  volumeName: string;
  deleteEnabled: boolean;
  /** S3 storage (`storage.s3`); undefined: the data volume. */
  s3?: S3Plan;
  proxy?: {
    remoteUrl: pulumi.Input<string>;
    username?: pulumi.Input<string>;
    password?: pulumi.Input<string>;
  };
  logLevel: pulumi.Input<string>;
  env: Record<string, pulumi.Input<string>>;
  httpSecret?: pulumi.Input<string>;
  containerName: string;
  trust?: SecureRegistryTrustOptions;
}

/**
 * Validates SecureRegistry arguments and applies defaults. Throws InvalidInputError for any bad
 * plain value; Output values are checked when known. `kind` names the component in messages
 * (other ways of running the registry share these checks).
 */
export function planSecureRegistry(
  name: string,
  args: SecureRegistryArgs,
  kind = "SecureRegistry",
): Plan {
  const label = componentLabel(kind, name);

  const hostname = args.hostname ?? REGISTRY_DEFAULTS.hostname;
  const hostnameIsIp = typeof hostname === "string" && net.isIP(hostname) !== 0;
  if (!isDeferred(hostname)) validateHostOrIp(label, "hostname", hostname);
  const additional = (args.additionalHostnames ?? []).map((h, i) =>
    whenKnown(h, (v) => validateHostname(label, `additionalHostnames[${i}]`, v)),
  );
  const ips = (args.ipAddresses ?? []).map((ip, i) =>
    whenKnown(ip, (v) => validateIp(label, `ipAddresses[${i}]`, v)),
  );
  const certHostnames = hostnameIsIp
    ? additional
    : [whenKnown(hostname, (v) => validateHostname(label, "hostname", v)), ...additional];
  const certIps = hostnameIsIp ? [hostname, ...ips] : ips;

  const port = whenKnown(args.port ?? REGISTRY_DEFAULTS.port, (v) =>
    validatePort(label, "port", v),
  );
  const bindAddress = whenKnown(args.bindAddress ?? REGISTRY_DEFAULTS.bindAddress, (v) =>
    validateBindAddress(label, "bindAddress", v),
  );
  const image = whenKnown(args.image ?? REGISTRY_DEFAULTS.image, (v) =>
    validateImageReference(label, "image", v),
  );

  const users = args.users ?? DEFAULT_USERS;
  validateUsers(label, "users", users);
  const realm = whenKnown(args.realm ?? REGISTRY_DEFAULTS.realm, (v) =>
    validateRealm(label, "realm", v),
  );

  const tls = args.tls ?? {};
  const { own } = resolveCertificateOptions(label, "tls.", tls);
  if (own) checkOwnCertificateFits(label, "tls.", tls, certHostnames, certIps);
  const clientAuth = planClientAuth(label, tls, own, args.trust);
  const minimumVersion = whenKnown(tls.minimumVersion ?? REGISTRY_DEFAULTS.minimumVersion, (v) =>
    validateTlsVersion(label, "tls.minimumVersion", v),
  );

  const volumeName = args.storage?.volumeName ?? `${name}-data`;
  validateDockerName(
    label,
    args.storage?.volumeName === undefined
      ? `the default storage.volumeName (from the component name)`
      : "storage.volumeName",
    volumeName,
  );
  const deleteEnabled = args.storage?.deleteEnabled ?? REGISTRY_DEFAULTS.deleteEnabled;
  if (typeof deleteEnabled !== "boolean") {
    fail(
      label,
      "storage.deleteEnabled",
      `storage.deleteEnabled ${JSON.stringify(deleteEnabled)} is not a boolean; use true or false.`,
    );
  }

  let proxy: Plan["proxy"];
  if (args.proxy !== undefined) {
    validateProxyCredentials(label, "proxy.", args.proxy);
    proxy = {
      remoteUrl: whenKnown(args.proxy.remoteUrl, (v) =>
        validateProxyUrl(label, "proxy.remoteUrl", v),
      ),
      username:
        args.proxy.username === undefined
          ? undefined
          : whenKnown(args.proxy.username, (v) => validateSingleLine(label, "proxy.username", v)),
      password:
        args.proxy.password === undefined
          ? undefined
          : whenKnown(args.proxy.password, (v) => validateSingleLine(label, "proxy.password", v)),
    };
  }

  const s3 = planS3Storage(label, args.storage, Object.keys(args.env ?? {}));

  const logLevel = whenKnown(args.logLevel ?? REGISTRY_DEFAULTS.logLevel, (v) =>
    validateLogLevel(label, "logLevel", v),
  );

  const env: Record<string, pulumi.Input<string>> = {};
  for (const [key, value] of Object.entries(args.env ?? {})) {
    validateEnvKey(label, "env", key);
    env[key] = whenKnown(value, (v) => validateSingleLine(label, `env.${key}`, v));
  }

  const httpSecret =
    args.httpSecret === undefined
      ? undefined
      : whenKnown(args.httpSecret, (v) => {
          validateSingleLine(label, "httpSecret", v);
          if (v.length < 16) {
            fail(
              label,
              "httpSecret",
              "httpSecret is shorter than 16 characters; use a long random value, or leave it out to have one generated.",
            );
          }
        });

  const containerName = args.containerName ?? name;
  validateDockerName(
    label,
    args.containerName === undefined
      ? `the default containerName (the component name)`
      : "containerName",
    containerName,
  );

  if (args.trust !== undefined) {
    const { login, ...options } = withoutClientChoice(args.trust);
    if (
      login !== undefined &&
      typeof login !== "boolean" &&
      (login === null || typeof login !== "object")
    ) {
      fail(
        label,
        "trust.login",
        `trust.login ${JSON.stringify(login)} is neither true/false nor { username, password }; use true to log in as the first user.`,
      );
    }
    const knownEndpoint =
      typeof hostname === "string" && typeof port === "number"
        ? formatEndpoint(hostname, port)
        : pulumi.output(hostname);
    // The CA comes from the certificates declared later: an unknown value skips its check here.
    validateRegistryClientTrustArgs(`${name}-trust (SecureRegistry trust)`, {
      ...options,
      endpoint: knownEndpoint,
      caCertPem: pulumi.output(""),
      login: typeof login === "boolean" ? undefined : login,
    });
  }

  return {
    hostname,
    certHostnames,
    certIps,
    port,
    bindAddress,
    image,
    users,
    realm,
    tls,
    clientAuth,
    minimumVersion,
    volumeName,
    deleteEnabled,
    s3,
    proxy,
    logLevel,
    env,
    httpSecret,
    containerName,
    trust: args.trust,
  };
}
