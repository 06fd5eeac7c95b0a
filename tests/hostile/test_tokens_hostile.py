"""Attacks on credentials: long-lived tokens, key ids, and certificates whose other SANs copy a mapped DNS name.

Before: a single PEM key refused every token carrying a `kid` (so an identity provider that
always sends one could not be used) while a token could live for years; and a client
certificate with a URI or email SAN equal to a mapped DNS name took that name's roles.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime, timedelta, timezone
from pathlib import Path

import grpc
import jwt
import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.serialization import load_pem_public_key
from cryptography.x509.oid import NameOID

from points.api.auth import DEFAULT_AUDIENCE, DEFAULT_ISSUER, key_id
from points.api.security import SecuritySettings
from points.server import PointsService
from points.v1 import directory_pb2
from tests.api.rich_status import assert_rejected
from tests.api.secured import CertificateAuthority, Issued, SigningKeys, bearer, plaintext_client, running, stubs, with_jwt, write_pem

UNAUTHENTICATED = grpc.StatusCode.UNAUTHENTICATED


def get_outlet(client: object, metadata: object) -> object:
    return client.directory.GetOutlet(directory_pb2.GetOutletRequest(outlet_id="nowhere"), metadata=metadata, timeout=5)  # type: ignore[attr-defined]


def refused(client: object, metadata: object) -> grpc.RpcError:
    with pytest.raises(grpc.RpcError) as caught:
        get_outlet(client, metadata)
    return caught.value


def not_found(client: object, metadata: object) -> bool:
    """Authenticated and allowed: the outlet simply does not exist."""
    with pytest.raises(grpc.RpcError) as caught:
        get_outlet(client, metadata)
    return caught.value.code() == grpc.StatusCode.NOT_FOUND


# -- token lifetime ------------------------------------------------------------------------------


def test_a_token_living_longer_than_the_maximum_is_refused(sqlite_service: PointsService, keys: SigningKeys) -> None:
    with plaintext_client(sqlite_service, with_jwt(keys)) as client:  # the default maximum: 24 h
        year_long = refused(client, keys.bearer("auditor-1", ["auditor"], ttl=timedelta(days=365)))
        assert not_found(client, keys.bearer("auditor-1", ["auditor"], ttl=timedelta(hours=24)))

    assert_rejected(year_long, UNAUTHENTICATED, "TOKEN_LIFETIME_TOO_LONG")


def test_without_iat_the_lifetime_counts_from_now(sqlite_service: PointsService, keys: SigningKeys) -> None:
    private = serialization.load_pem_private_key(keys.private_pem, password=None)

    def without_iat(lifetime: timedelta) -> tuple[tuple[str, str], ...]:
        claims = {"iss": DEFAULT_ISSUER, "aud": DEFAULT_AUDIENCE, "sub": "auditor-1", "roles": ["auditor"], "exp": datetime.now(timezone.utc) + lifetime}
        return bearer(jwt.encode(claims, private, algorithm="EdDSA"))  # type: ignore[arg-type]

    with plaintext_client(sqlite_service, with_jwt(keys, jwt_max_lifetime=3600.0)) as client:
        long = refused(client, without_iat(timedelta(hours=5)))
        assert not_found(client, without_iat(timedelta(minutes=50)))
        shorter_max = refused(client, keys.bearer("auditor-1", ["auditor"], ttl=timedelta(hours=2)))

    assert_rejected(long, UNAUTHENTICATED, "TOKEN_LIFETIME_TOO_LONG")
    assert_rejected(shorter_max, UNAUTHENTICATED, "TOKEN_LIFETIME_TOO_LONG")


# -- key ids ---------------------------------------------------------------------------------------


def test_a_single_pem_key_accepts_its_own_kid_and_refuses_any_other(sqlite_service: PointsService, keys: SigningKeys) -> None:
    own = key_id(load_pem_public_key(keys.public_pem))
    with plaintext_client(sqlite_service, with_jwt(keys)) as client:
        assert not_found(client, keys.bearer("auditor-1", ["auditor"], kid=own))
        assert not_found(client, keys.bearer("auditor-1", ["auditor"]))  # no kid: the one key
        other = refused(client, keys.bearer("auditor-1", ["auditor"], kid="another-key"))

    assert_rejected(other, UNAUTHENTICATED, "INVALID_TOKEN")


def test_the_key_id_is_the_rfc7638_thumbprint() -> None:
    # RFC 7638 section 3.1's example RSA key and its thumbprint.
    n = (
        "0vx7agoebGcQSuuPiLJXZptN9nndrQmbXEps2aiAFbWhM78LhWx4cbbfAAtVT86zwu1RK7aPFFxuhDR1L6tSoc_BJECPebWKRXjBZCiFV4n3oknjhMs"
        "tn64tZ_2W-5JsGY4Hc5n9yBXArwl93lqt7_RN5w6Cf0h4QyQ5v-65YGjQR0_FDW2QvzqY368QQMicAtaSqzs8KJZgnYb9c7d0zgdAZHzu6qMQvRL5hajrn1n91CbOpbI"
        "SD08qNLyrdkt-bFTWhAI4vMQFh6WeZu0fM4lFd2NcRwr3XPksINHaQ-G_xBniIqbw0Ls1jF44-csFCur-kEgU8awapJzKnqDKgw"
    )
    public = jwt.PyJWK({"kty": "RSA", "n": n, "e": "AQAB"}).key
    assert key_id(public) == "NzbLsXh8uDCcd-6MNwXF4W_7noWXFZAfHkxZsRGC9Xs"


# -- client certificate names ---------------------------------------------------------------------


def issue_with_names(ca: CertificateAuthority, common_name: str, names: list[x509.GeneralName]) -> Issued:
    """A client certificate with exactly these subject alternative names (any type)."""
    key = ec.generate_private_key(ec.SECP256R1())
    now = datetime.now(timezone.utc)
    cert = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)]))
        .issuer_name(ca.name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(minutes=5))
        .not_valid_after(now + timedelta(days=1))
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(x509.ExtendedKeyUsage([x509.ExtendedKeyUsageOID.CLIENT_AUTH]), critical=False)
        .add_extension(x509.SubjectAlternativeName(names), critical=False)
        .sign(ca.key, hashes.SHA256())
    )
    key_pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    return Issued(cert.public_bytes(serialization.Encoding.PEM), key_pem)


@pytest.mark.parametrize(
    "names",
    [
        [x509.UniformResourceIdentifier("payroll.bank.test")],
        [x509.RFC822Name("payroll.bank.test")],
        [x509.UniformResourceIdentifier("spiffe://bank/payroll"), x509.RFC822Name("payroll.bank.test")],
    ],
    ids=["uri-san", "email-san", "uri-and-email"],
)
def test_only_a_dns_san_maps_to_a_role(sqlite_service: PointsService, keys: SigningKeys, tmp_path: Path, names: list[x509.GeneralName]) -> None:
    ca = CertificateAuthority("points test CA")
    server = ca.issue("localhost", dns=["localhost"], ips=["127.0.0.1"], server=True)
    roles = tmp_path / "client-roles.toml"
    roles.write_text('[[client]]\nidentity = "payroll.bank.test"\nroles = ["payroll"]\n')
    security = replace(
        with_jwt(keys),
        tls_cert=write_pem(tmp_path, "server.pem", server.cert_pem),
        tls_key=write_pem(tmp_path, "server-key.pem", server.key_pem),
        client_ca=write_pem(tmp_path, "ca.pem", ca.cert_pem),
        client_roles=roles,
    )
    impostor = issue_with_names(ca, "payroll.bank.test", names)  # the CN copies the name too: it has SANs, so no CN
    genuine = ca.issue("payroll-system", dns=["payroll.bank.test"])

    def call_with(issued: Issued, port: int) -> grpc.RpcError:
        credentials = grpc.ssl_channel_credentials(root_certificates=ca.cert_pem, private_key=issued.key_pem, certificate_chain=issued.cert_pem)
        channel = grpc.secure_channel(f"127.0.0.1:{port}", credentials)
        try:
            return refused(stubs(channel, f"127.0.0.1:{port}"), ())
        finally:
            channel.close()

    with running(sqlite_service, security) as (_, port):
        by_impostor = call_with(impostor, port)
        by_genuine = call_with(genuine, port)

    assert_rejected(by_impostor, UNAUTHENTICATED, "MISSING_TOKEN")  # a certificate that maps to no one
    assert by_genuine.code() == grpc.StatusCode.NOT_FOUND  # the DNS SAN maps to payroll, which may read outlets


def test_settings_refuse_a_non_positive_lifetime() -> None:
    from points.storage.settings import SettingsError

    with pytest.raises(SettingsError):
        SecuritySettings(jwt_max_lifetime=0).check("127.0.0.1")
