/**
 * Which schema properties hold secrets. The component analyser has no notion of secrets, so the
 * provider marks these `secret: true` in the schema it serves: SDKs then wrap the inputs as
 * secrets before they leave the program, and treat the outputs as secrets. (The components make
 * every one of them secret themselves too; this is so other languages see it in their types.)
 */

/** A schema (the part this module reads and marks). */
export interface PackageSchema {
  resources: Record<
    string,
    {
      inputProperties?: Record<string, SchemaProperty>;
      properties?: Record<string, SchemaProperty>;
    }
  >;
  types: Record<string, { properties?: Record<string, SchemaProperty> }>;
  [key: string]: unknown;
}

export interface SchemaProperty {
  secret?: boolean;
  description?: string;
  [key: string]: unknown;
}

/** Secret inputs and outputs of each component (by class name). */
export const SECRET_RESOURCE_PROPERTIES: Record<string, { inputs?: string[]; outputs?: string[] }> =
  {
    SecureRegistry: {
      inputs: ["httpSecret"],
      outputs: ["credentials", "htpasswd", "dockerConfigJson", "clientCertificates"],
    },
    SecureRegistryService: {
      inputs: ["httpSecret"],
      outputs: ["credentials", "htpasswd", "dockerConfigJson", "clientCertificates"],
    },
    RegistryCertificates: {
      inputs: ["privateKeyPem"],
      outputs: ["privateKeyPem", "caPrivateKeyPem"],
    },
    RegistryClientCertificates: { inputs: ["caPrivateKeyPem"], outputs: ["certificates"] },
    HtpasswdUsers: { outputs: ["credentials", "htpasswd"] },
    RegistryClientTrust: { inputs: ["clientKeyPem"] },
  };

/** Secret properties of the object types (by type name), wherever they are used. */
export const SECRET_TYPE_PROPERTIES: Record<string, string[]> = {
  HtpasswdUser: ["password"],
  Credential: ["password"],
  RegistryProxyOptions: ["password"],
  RegistryTlsOptions: ["privateKeyPem"],
  RegistryClientLogin: ["password"],
  RegistryClientConnection: ["password", "privateKey", "privateKeyPassword"],
  SecureRegistryTrustOptions: ["clientKeyPem"],
  ClientCertificate: ["privateKeyPem"],
  RegistryLogin: ["password"],
  RegistryAccess: ["password", "credentials"],
  // The component keeps both in secret env files / Swarm secrets.
  S3StorageOptions: ["accessKey", "secretKey"],
  ServiceRedisOptions: ["password"],
};

/**
 * Marks the listed properties secret in `schema` (a package named `pkg`), in place. Throws when
 * a listed property is missing: a rename must not silently unmark a secret.
 */
export function markSecrets(schema: PackageSchema, pkg: string): PackageSchema {
  const missing: string[] = [];
  for (const [component, { inputs = [], outputs = [] }] of Object.entries(
    SECRET_RESOURCE_PROPERTIES,
  )) {
    const resource = schema.resources[`${pkg}:index:${component}`];
    for (const [list, where] of [
      [inputs, resource?.inputProperties],
      [outputs, resource?.properties],
    ] as const) {
      for (const name of list) {
        const property = where?.[name];
        if (property === undefined) missing.push(`${component}.${name}`);
        else property.secret = true;
      }
    }
  }
  for (const [type, names] of Object.entries(SECRET_TYPE_PROPERTIES)) {
    const properties = schema.types[`${pkg}:index:${type}`]?.properties;
    for (const name of names) {
      const property = properties?.[name];
      if (property === undefined) missing.push(`${type}.${name}`);
      else property.secret = true;
    }
  }
  if (missing.length > 0) {
    throw new Error(
      `secret properties missing from the generated schema: ${missing.join(", ")}. Update ` +
        "src/plugin/secrets.ts to the components' current names.",
    );
  }
  return schema;
}
