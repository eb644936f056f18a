"""A private Docker registry with TLS, htpasswd users and this host's trust, from Python.

The same registry as examples/basic, declared through the SDK that `pulumi package add` generates
from the component package's schema (schema.json at the repository root).
"""

import pulumi
import pulumi_secure_registry as secure_registry

config = pulumi.Config()
hostname = config.get("hostname") or "localhost"
port = config.get_int("port") or 5000

registry = secure_registry.SecureRegistry(
    "registry",
    hostname=hostname,
    port=port,
    users=[
        secure_registry.HtpasswdUserArgs(username="ci"),
        secure_registry.HtpasswdUserArgs(username="developer"),
    ],
    tls=secure_registry.RegistryTlsOptionsArgs(
        key_algorithm=secure_registry.KeyAlgorithm.ECDSA,
        minimum_version=secure_registry.TlsVersion.TLS13,
        validity_days=90,
    ),
    log_level=secure_registry.LogLevel.INFO,
    # This host trusts the registry's CA (/etc/docker/certs.d/<endpoint>/ca.crt) and its docker
    # client logs in as the first user ("ci"): `login: true` in TypeScript.
    trust=secure_registry.SecureRegistryTrustOptionsArgs(login_as_first_user=True),
)

pulumi.export("endpoint", registry.endpoint)
pulumi.export("url", registry.url)
pulumi.export("ca_cert_pem", registry.ca_cert_pem)
pulumi.export("credentials", registry.credentials)  # secret
pulumi.export("docker_config_json", registry.docker_config_json)  # secret
