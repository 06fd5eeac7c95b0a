"""Transport and authentication settings, and the rules for where a server may listen with them.

Without TLS a server listens on loopback only, unless `insecure` says otherwise; without
authentication it runs in development mode (every caller may do everything), again on
loopback only unless `insecure`.
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass, field
from pathlib import Path

import grpc

from points.api.auth import DEFAULT_AUDIENCE, DEFAULT_ISSUER, DEFAULT_LEEWAY, DEFAULT_MAX_LIFETIME, Authenticator, authenticator_from
from points.api.limits import LimitSettings
from points.storage.settings import SettingsError

DEVELOPMENT_MODE = "development mode: no authentication, every caller may do everything; for local use only"


@dataclass(frozen=True)
class SecuritySettings:
    tls_cert: Path | None = None  # PEM certificate chain of the server
    tls_key: Path | None = None  # PEM private key of the server
    client_ca: Path | None = None  # PEM CA bundle: mutual TLS, a client certificate is required
    insecure: bool = False  # allow plaintext and/or no authentication on a non-loopback address
    jwt_keys: Path | None = None  # PEM public key that signs bearer tokens
    jwks: Path | None = None  # or a JWKS file of such keys, by kid
    jwt_issuer: str = DEFAULT_ISSUER
    jwt_audience: str = DEFAULT_AUDIENCE
    jwt_leeway: float = DEFAULT_LEEWAY
    jwt_max_lifetime: float = DEFAULT_MAX_LIFETIME  # seconds; a token living longer (exp - iat) is refused
    client_roles: Path | None = None  # TOML: client certificate identity -> roles, outlets (needs client_ca)
    reflection: bool | None = None  # None: on without TLS, off with TLS
    limits: LimitSettings = field(default_factory=LimitSettings)

    @property
    def tls(self) -> bool:
        return self.tls_cert is not None

    @property
    def authenticates(self) -> bool:
        return self.jwt_keys is not None or self.jwks is not None or self.client_roles is not None

    @property
    def reflection_enabled(self) -> bool:
        return (not self.tls) if self.reflection is None else self.reflection

    def check(self, host: str) -> list[str]:
        """Refuses (SettingsError) what must not run; returns the warnings for what may, but should be said."""
        if (self.tls_cert is None) != (self.tls_key is None):
            raise SettingsError("TLS needs both --tls-cert and --tls-key")
        if self.client_ca is not None and not self.tls:
            raise SettingsError("--client-ca (mutual TLS) needs --tls-cert and --tls-key")
        if self.client_roles is not None and self.client_ca is None:
            raise SettingsError("--client-roles maps client certificates: it needs --client-ca")
        if not self.jwt_max_lifetime > 0:
            raise SettingsError("--jwt-max-lifetime must be a positive duration")
        warnings = []
        loopback = is_loopback(host)
        if not self.tls and not loopback:
            if not self.insecure:
                raise SettingsError(
                    f"refusing to serve plaintext on {host}, which is not loopback: "
                    "give --tls-cert and --tls-key, or --insecure to accept plaintext"
                )
            warnings.append(f"INSECURE: plaintext gRPC on {host}; credentials and data cross the network unencrypted")
        if not self.authenticates:
            if not loopback and not self.insecure:
                raise SettingsError(
                    f"refusing to serve {host}, which is not loopback, without authentication: "
                    "give --jwt-keys, --jwks or --client-roles, or --insecure to let anyone do anything"
                )
            warnings.append(DEVELOPMENT_MODE if loopback else f"INSECURE: {DEVELOPMENT_MODE}, yet listening on {host}")
        return warnings

    def authenticator(self) -> Authenticator | None:
        return authenticator_from(
            jwt_keys=self.jwt_keys,
            jwks=self.jwks,
            issuer=self.jwt_issuer,
            audience=self.jwt_audience,
            leeway=self.jwt_leeway,
            client_roles=self.client_roles,
            max_lifetime=self.jwt_max_lifetime,
        )

    def server_credentials(self) -> grpc.ServerCredentials | None:
        if self.tls_cert is None or self.tls_key is None:
            return None
        try:
            chain = self.tls_cert.read_bytes()
            key = self.tls_key.read_bytes()
            client_ca = self.client_ca.read_bytes() if self.client_ca is not None else None
        except OSError as e:
            raise SettingsError(f"cannot read TLS files: {e}") from None
        return grpc.ssl_server_credentials([(key, chain)], root_certificates=client_ca, require_client_auth=client_ca is not None)


def check_ops_host(host: str, *, public: bool) -> list[str]:
    """The metrics and health ports (plaintext, no authentication) follow the main port's rule: loopback only,
    unless `public` (--ops-public) allows another address, which is then said. They carry no business data."""
    if is_loopback(host):
        return []
    if not public:
        raise SettingsError(
            f"refusing to serve the metrics and health ports on {host}, which is not loopback: they are plaintext "
            "and answer anyone; give --ops-public to allow it (e.g. for probes and Prometheus in a container)"
        )
    return [f"PUBLIC: the metrics and health ports listen on {host}, plaintext, to anyone who can reach them (--ops-public)"]


def is_loopback(host: str) -> bool:
    """127.0.0.0/8, ::1 and `localhost`; any other name or a wildcard address is not."""
    if host.lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False
