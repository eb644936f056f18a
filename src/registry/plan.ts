/**
 * SecureRegistry's arguments checked and completed with defaults, before any resource exists.
 * The container (SecureRegistry) and other ways of running the registry build on the same plan.
 *
 * Every option is checked for its type and shape before use; the only error is InvalidInputError
 * naming the field path, the problem and the fix. Values that are Outputs are checked once known
 * (the failure then reaches the resource that consumes them).
 */
import * as pulumi from "@pulumi/pulumi";
import * as net from "net";
import { DEFAULT_USERS, HtpasswdUser } from "../auth/htpasswdUsers";
import { validateUsers } from "../auth/validate";
import {
  checkBoolean,
  checkList,
  checkObject,
  checkString,
  checkStringMap,
  componentLabel,
  describeValue,
  fail,
  isDeferred,
  whenKnown,
} from "../common/checks";
import { InvalidInputError } from "../common/errors";
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
  ARG_KEYS,
  REGISTRY_DEFAULTS,
  RegistryTlsOptions,
  SecureRegistryArgs,
  SecureRegistryTrustOptions,
} from "./args";
import { ClientAuthPlan, planClientAuth, withoutClientChoice } from "./clientAuth";
import { checkContainerOptions } from "./container";
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
  /** DNS names for the certificate (the hostname first, unless it is an IP address). */
  certHostnames: pulumi.Input<pulumi.Input<string>[]>;
  /** IP addresses for the certificate (the hostname first, when it is one). */
  certIps: pulumi.Input<pulumi.Input<string>[]>;
  port: pulumi.Input<number>;
  bindAddress: pulumi.Input<string>;
  image: pulumi.Input<string>;
  users: pulumi.Input<pulumi.Input<HtpasswdUser>[]>;
  /** False for an anonymous pull-through cache (`proxy.anonymousPulls`): no htpasswd auth. */
  auth: boolean;
  realm: pulumi.Input<string>;
  tls: RegistryTlsOptions;
  /** Client certificates the registry requires (mTLS); undefined: none. */
  clientAuth?: ClientAuthPlan;
  minimumVersion: pulumi.Input<string>;
  volumeName: pulumi.Input<string>;
  deleteEnabled: pulumi.Input<boolean>;
  /** Keep the data volume when the registry is destroyed (Pulumi's retainOnDelete). */
  retainOnDelete: boolean;
  /** S3 storage (`storage.s3`); undefined: the data volume. */
  s3?: S3Plan;
  proxy?: {
    remoteUrl: pulumi.Input<string>;
    username?: pulumi.Input<string>;
    password?: pulumi.Input<string>;
    anonymousPulls: boolean;
  };
  logLevel: pulumi.Input<string>;
  env: pulumi.Input<Record<string, pulumi.Input<string>>>;
  httpSecret?: pulumi.Input<string>;
  containerName: pulumi.Input<string>;
  /** docker.Container inputs the user tunes (`container`), and their process `envs`. */
  container: {
    inputs: Record<string, unknown>;
    envs?: pulumi.Input<pulumi.Input<string>[]>;
  };
  trust?: SecureRegistryTrustOptions;
}

/** `value`, or `fallback` when it is not given: only undefined means "not given" (null is checked). */
function orDefault<T>(value: T | undefined, fallback: T): T {
  return value === undefined ? fallback : value;
}

/** A plain boolean option that decides which resources exist (no Output). */
function plainBoolean(label: string, field: string, value: unknown, fallback: boolean): boolean {
  if (value === undefined) return fallback;
  if (typeof value !== "boolean") {
    fail(
      label,
      field,
      `${field} is ${describeValue(value)}, not true or false` +
        (isDeferred(value) ? " known now (it decides which resources exist)." : "."),
    );
  }
  return value;
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
  checkObject(label, "", args, ARG_KEYS.args);

  const hostname =
    checkString(label, "hostname", args.hostname, { example: "registry.example.com" }) ??
    REGISTRY_DEFAULTS.hostname;
  if (!isDeferred(hostname)) validateHostOrIp(label, "hostname", hostname);
  const additional =
    checkList<string>(label, "additionalHostnames", args.additionalHostnames, (field, v) =>
      validateHostname(label, field, v),
    ) ?? [];
  const ips =
    checkList<string>(label, "ipAddresses", args.ipAddresses, (field, v) =>
      validateIp(label, field, v),
    ) ?? [];
  let certHostnames: Plan["certHostnames"];
  let certIps: Plan["certIps"];
  if (isDeferred(hostname) || isDeferred(additional) || isDeferred(ips)) {
    // The hostname's kind (name or address) is known only with its value.
    const sans = pulumi.all([hostname, additional, ips]).apply(([h, names, addresses]) => {
      validateHostOrIp(label, "hostname", h);
      const isIp = net.isIP(h) !== 0;
      return {
        names: isIp ? names : [h, ...names],
        addresses: isIp ? [h, ...addresses] : addresses,
      };
    });
    certHostnames = sans.apply((s) => s.names);
    certIps = sans.apply((s) => s.addresses);
  } else {
    const isIp = net.isIP(hostname as string) !== 0;
    certHostnames = isIp ? additional : [hostname, ...(additional as pulumi.Input<string>[])];
    certIps = isIp ? [hostname, ...(ips as pulumi.Input<string>[])] : ips;
  }

  const port = whenKnown(orDefault(args.port, REGISTRY_DEFAULTS.port), (v) =>
    validatePort(label, "port", v),
  );
  const bindAddress = whenKnown(orDefault(args.bindAddress, REGISTRY_DEFAULTS.bindAddress), (v) =>
    validateBindAddress(label, "bindAddress", v),
  );
  const image = whenKnown(orDefault(args.image, REGISTRY_DEFAULTS.image), (v) =>
    validateImageReference(label, "image", v),
  );

  const proxyArgs = checkObject(label, "proxy", args.proxy, ARG_KEYS.proxy);
  const anonymousPulls = plainBoolean(
    label,
    "proxy.anonymousPulls",
    proxyArgs?.anonymousPulls,
    false,
  );
  if (anonymousPulls && args.users !== undefined) {
    fail(
      label,
      "users",
      `users is given, but proxy.anonymousPulls turns authentication off (dockerd sends no ` +
        `credentials to registry mirrors); remove users, or proxy.anonymousPulls to require them.`,
    );
  }
  const users = args.users === undefined ? [...DEFAULT_USERS] : args.users;
  if (!isDeferred(users)) validateUsers(label, "users", users);
  const realm = whenKnown(orDefault(args.realm, REGISTRY_DEFAULTS.realm), (v) =>
    validateRealm(label, "realm", v),
  );

  const tls = (checkObject(label, "tls", args.tls, ARG_KEYS.tls) ?? {}) as RegistryTlsOptions;
  const { own, pems } = resolveCertificateOptions(label, "tls.", tls);
  if (own) checkOwnCertificateFits(label, "tls.", tls, certHostnames, certIps);
  const minimumVersion = whenKnown(
    orDefault(tls.minimumVersion, REGISTRY_DEFAULTS.minimumVersion),
    (v) => validateTlsVersion(label, "tls.minimumVersion", v),
  );

  const storage = checkObject(label, "storage", args.storage, ARG_KEYS.storage) ?? {};
  const volumeName = whenKnown(
    orDefault(storage.volumeName as pulumi.Input<string> | undefined, `${name}-data`),
    (v) =>
      validateDockerName(
        label,
        storage.volumeName === undefined
          ? `the default storage.volumeName (from the component name)`
          : "storage.volumeName",
        v,
      ),
  );
  const deleteEnabled =
    checkBoolean(label, "storage.deleteEnabled", storage.deleteEnabled) ??
    (REGISTRY_DEFAULTS.deleteEnabled && !anonymousPulls);
  if (anonymousPulls && storage.deleteEnabled !== undefined) {
    fail(
      label,
      "storage.deleteEnabled",
      `storage.deleteEnabled is set, but a cache with proxy.anonymousPulls never allows ` +
        `deletion (anyone could delete); remove storage.deleteEnabled.`,
    );
  }
  const retainOnDelete = plainBoolean(
    label,
    "storage.retainOnDelete",
    storage.retainOnDelete,
    REGISTRY_DEFAULTS.retainOnDelete,
  );

  let proxy: Plan["proxy"];
  if (proxyArgs !== undefined) {
    if (proxyArgs.remoteUrl === undefined) {
      fail(
        label,
        "proxy.remoteUrl",
        `proxy.remoteUrl is missing; give the upstream registry's URL, e.g. https://registry-1.docker.io.`,
      );
    }
    validateProxyCredentials(label, "proxy.", proxyArgs);
    const credential = (field: "username" | "password") =>
      proxyArgs[field] === undefined
        ? undefined
        : whenKnown(proxyArgs[field] as pulumi.Input<string>, (v) => {
            if (typeof v !== "string" || v === "") {
              fail(
                label,
                `proxy.${field}`,
                `proxy.${field} is ${v === "" ? "empty" : describeValue(v, field === "password")}; ` +
                  `give the upstream ${field}, or leave out both username and password for ` +
                  `anonymous pulls.`,
              );
            }
            validateSingleLine(label, `proxy.${field}`, v);
          });
    proxy = {
      remoteUrl: whenKnown(proxyArgs.remoteUrl as pulumi.Input<string>, (v) =>
        validateProxyUrl(label, "proxy.remoteUrl", v),
      ),
      username: credential("username"),
      password: credential("password"),
      anonymousPulls,
    };
  }

  const s3 = planS3Storage(label, storage, isDeferred(args.env) ? [] : Object.keys(args.env ?? {}));
  if (s3 !== undefined && storage.retainOnDelete !== undefined) {
    fail(
      label,
      "storage.retainOnDelete",
      "storage.retainOnDelete keeps the data volume, but with storage.s3 there is none (the " +
        "bucket is never deleted by this component); remove storage.retainOnDelete.",
    );
  }

  const logLevel = whenKnown(orDefault(args.logLevel, REGISTRY_DEFAULTS.logLevel), (v) =>
    validateLogLevel(label, "logLevel", v),
  );

  const env =
    checkStringMap(
      label,
      "env",
      args.env,
      (key) => validateEnvKey(label, "env", key),
      (field, v) => validateSingleLine(label, field, v),
    ) ?? {};

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

  const containerName = whenKnown(orDefault(args.containerName, name), (v) =>
    validateDockerName(
      label,
      args.containerName === undefined
        ? `the default containerName (the component name)`
        : "containerName",
      v,
    ),
  );
  const container = checkContainerOptions(label, args.container);

  const trust = checkTrust(label, name, args.trust, hostname, port);
  const clientAuth = planClientAuth(label, tls, own, trust);

  return {
    hostname,
    certHostnames,
    certIps,
    port,
    bindAddress,
    image,
    users,
    auth: !anonymousPulls,
    realm,
    tls: own ? { ...tls, ...pems } : tls,
    clientAuth,
    minimumVersion,
    volumeName,
    deleteEnabled,
    retainOnDelete,
    s3,
    proxy,
    logLevel,
    env,
    httpSecret,
    containerName,
    container,
    trust,
  };
}

/**
 * `trust`: only an object turns it on; undefined, null and false leave this host alone. Anything
 * else (true, "no", 0...) is refused rather than guessed. RegistryClientTrust's own checks run now,
 * so a bad option fails before the registry exists, reported under `trust`.
 */
function checkTrust(
  label: string,
  name: string,
  trust: unknown,
  hostname: pulumi.Input<string>,
  port: pulumi.Input<number>,
): SecureRegistryTrustOptions | undefined {
  if (trust === undefined || trust === null || trust === false) return undefined;
  if (typeof trust !== "object" || Array.isArray(trust) || isDeferred(trust)) {
    fail(
      label,
      "trust",
      `trust is ${describeValue(trust)}; pass an object such as { login: true } to make this ` +
        `host trust the registry, or leave trust out (or false) to leave this host unchanged.`,
    );
  }
  // Which issued client pair to install is SecureRegistry's choice, not a RegistryClientTrust option.
  const { login, ...options } = withoutClientChoice(trust as SecureRegistryTrustOptions);
  if (
    login !== undefined &&
    typeof login !== "boolean" &&
    (login === null || typeof login !== "object" || Array.isArray(login))
  ) {
    fail(
      label,
      "trust.login",
      `trust.login is ${describeValue(login, true)}; use true to log in as the first user, ` +
        `false for no login, or { username, password }.`,
    );
  }
  const knownEndpoint =
    typeof hostname === "string" && typeof port === "number"
      ? formatEndpoint(hostname, port)
      : pulumi.output(hostname);
  try {
    // The CA comes from the certificates declared later: an unknown value skips its check here.
    validateRegistryClientTrustArgs(`${name}-trust`, {
      ...options,
      endpoint: knownEndpoint,
      caCertPem: pulumi.output(""),
      login: typeof login === "boolean" ? undefined : login,
    });
  } catch (error) {
    const inner = error instanceof InvalidInputError ? error.field : "";
    const message = error instanceof Error ? error.message : String(error);
    throw new InvalidInputError(
      label,
      inner ? `trust.${inner}` : "trust",
      `trust: ${message.replace(/^[^:]*RegistryClientTrust[^:]*:\s*/, "")}`,
    );
  }
  return trust as SecureRegistryTrustOptions;
}
