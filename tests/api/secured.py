"""Helpers for the security tests: signing keys, tokens, servers with TLS or authentication, and certificates.

Everything is generated in the test (keys with `cryptography`, tokens with points.devtokens);
nothing secret is committed.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, replace
from datetime import datetime, timedelta, timezone
from ipaddress import ip_address
from pathlib import Path

import grpc
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from points.api.auth import DEFAULT_AUDIENCE, DEFAULT_ISSUER
from points.api.security import SecuritySettings
from points.devtokens import generate_key_pair, mint_token
from points.server import PointsService, create_server
from points.v1 import balances_pb2_grpc, directory_pb2_grpc, work_events_pb2_grpc
from tests.conftest import Client

Metadata = tuple[tuple[str, str], ...]


@dataclass(frozen=True)
class SigningKeys:
    """A development key pair; `public_path` is what the server is given (--jwt-keys)."""

    private_pem: bytes
    public_pem: bytes
    public_path: Path

    def token(self, subject: str, roles: Sequence[str], outlets: Sequence[str] = (), **options: object) -> str:
        return mint_token(self.private_pem, subject=subject, roles=roles, outlets=outlets, **options)  # type: ignore[arg-type]

    def bearer(self, subject: str, roles: Sequence[str], outlets: Sequence[str] = (), **options: object) -> Metadata:
        return bearer(self.token(subject, roles, outlets, **options))


def signing_keys(directory: Path, key_type: str = "ed25519") -> SigningKeys:
    private_pem, public_pem = generate_key_pair(key_type)
    public_path = directory / f"{key_type}-public.pem"
    public_path.write_bytes(public_pem)
    return SigningKeys(private_pem, public_pem, public_path)


def bearer(token: str) -> Metadata:
    return (("authorization", f"Bearer {token}"),)


def unsigned_token(header: dict[str, object], claims: dict[str, object], key: bytes | None = None) -> str:
    """A JWT built by hand: `alg=none` with no signature, or HS256 with `key` as the HMAC secret."""

    def part(data: dict[str, object]) -> str:
        return base64.urlsafe_b64encode(json.dumps(data).encode()).rstrip(b"=").decode()

    signing_input = f"{part(header)}.{part(claims)}"
    if key is None:
        return f"{signing_input}."
    signature = hmac.new(key, signing_input.encode(), hashlib.sha256).digest()
    return f"{signing_input}.{base64.urlsafe_b64encode(signature).rstrip(b'=').decode()}"


def good_claims(**changes: object) -> dict[str, object]:
    now = datetime.now(timezone.utc)
    claims: dict[str, object] = {
        "iss": DEFAULT_ISSUER,
        "aud": DEFAULT_AUDIENCE,
        "sub": "mallory",
        "iat": int(now.timestamp()),
        "exp": int((now + timedelta(hours=1)).timestamp()),
        "roles": ["admin"],
    }
    claims.update(changes)
    return {k: v for k, v in claims.items() if v is not None}


def stubs(channel: grpc.Channel, address: str) -> Client:
    return Client(
        channel=channel,
        address=address,
        directory=directory_pb2_grpc.DirectoryServiceStub(channel),
        work=work_events_pb2_grpc.WorkEventServiceStub(channel),
        balances=balances_pb2_grpc.BalanceServiceStub(channel),
    )


@contextmanager
def running(service: PointsService, security: SecuritySettings, *, max_workers: int = 16) -> Iterator[tuple[grpc.Server, int]]:
    server, port = create_server(service, "127.0.0.1", 0, max_workers=max_workers, security=security)
    server.start()
    try:
        yield server, port
    finally:
        server.stop(grace=None).wait()


@contextmanager
def plaintext_client(service: PointsService, security: SecuritySettings, *, max_workers: int = 16) -> Iterator[Client]:
    """A real server on port 0 with `security` (no TLS) and stubs over a channel to it."""
    with running(service, security, max_workers=max_workers) as (_, port):
        address = f"127.0.0.1:{port}"
        channel = grpc.insecure_channel(address)
        try:
            yield stubs(channel, address)
        finally:
            channel.close()


def with_jwt(keys: SigningKeys, **changes: object) -> SecuritySettings:
    return replace(SecuritySettings(jwt_keys=keys.public_path), **changes)  # type: ignore[arg-type]


# -- certificates ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Issued:
    """A certificate and its key, as PEM."""

    cert_pem: bytes
    key_pem: bytes


class CertificateAuthority:
    """A throwaway CA that issues server and client certificates (P-256, a day long)."""

    def __init__(self, name: str) -> None:
        self.key = ec.generate_private_key(ec.SECP256R1())
        self.name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)])
        now = datetime.now(timezone.utc)
        self.cert = (
            x509.CertificateBuilder()
            .subject_name(self.name)
            .issuer_name(self.name)
            .public_key(self.key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - timedelta(minutes=5))
            .not_valid_after(now + timedelta(days=1))
            .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
            .sign(self.key, hashes.SHA256())
        )
        self.cert_pem = self.cert.public_bytes(serialization.Encoding.PEM)

    def issue(self, common_name: str, *, dns: Sequence[str] = (), ips: Sequence[str] = (), server: bool = False) -> Issued:
        key = ec.generate_private_key(ec.SECP256R1())
        now = datetime.now(timezone.utc)
        names: list[x509.GeneralName] = [x509.DNSName(d) for d in dns] + [x509.IPAddress(ip_address(i)) for i in ips]
        usage = x509.ExtendedKeyUsageOID.SERVER_AUTH if server else x509.ExtendedKeyUsageOID.CLIENT_AUTH
        builder = (
            x509.CertificateBuilder()
            .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)]))
            .issuer_name(self.name)
            .public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - timedelta(minutes=5))
            .not_valid_after(now + timedelta(days=1))
            .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
            .add_extension(x509.ExtendedKeyUsage([usage]), critical=False)
        )
        if names:
            builder = builder.add_extension(x509.SubjectAlternativeName(names), critical=False)
        cert = builder.sign(self.key, hashes.SHA256())
        key_pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
        return Issued(cert.public_bytes(serialization.Encoding.PEM), key_pem)


def write_pem(directory: Path, name: str, data: bytes) -> Path:
    path = directory / name
    path.write_bytes(data)
    return path
