"""connect(): bearer tokens over loopback plaintext and over TLS, mutual TLS, and what it refuses (SQLite: the store does not matter here)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from points.server import PointsService, Settings, build_service
from points_client import PermissionDenied, PointsClient, RetryPolicy, Unauthenticated, Unavailable, connect
from tests.api.secured import CertificateAuthority, SigningKeys, running, signing_keys, with_jwt, write_pem
from tests.conftest import Clock

ONCE = RetryPolicy(max_attempts=1)


@pytest.fixture
def store(tmp_path: Path) -> Iterator[PointsService]:
    built = build_service(Settings(database_url=f"sqlite:///{tmp_path}/points.db", clock=Clock()))
    yield built
    built.close()


@pytest.fixture
def keys(tmp_path: Path) -> SigningKeys:
    return signing_keys(tmp_path)


def test_a_token_is_sent_on_every_call_over_loopback_plaintext_and_may_be_a_function(store: PointsService, keys: SigningKeys) -> None:
    with running(store, with_jwt(keys)) as (_, port):
        issued: list[str] = []

        def token() -> str:  # e.g. a refreshing token source: asked on every call
            issued.append(keys.token("payroll-1", ["payroll"]))
            return issued[-1]

        with connect(f"127.0.0.1:{port}", plaintext=True, token=token) as channel:
            client = PointsClient(channel, retry=ONCE)
            assert list(client.list_statements("2026-11")) == []
            with pytest.raises(PermissionDenied) as refused:
                client.register_outlet("north-01", "OUTLET_CLASS_A")  # payroll may read, not register
            assert refused.value.reason == "ROLE_NOT_ALLOWED"
        assert len(issued) == 2
        with connect(f"127.0.0.1:{port}", plaintext=True) as channel:
            with pytest.raises(Unauthenticated) as anonymous:
                list(PointsClient(channel, retry=ONCE).list_statements("2026-11"))
            assert anonymous.value.reason == "MISSING_TOKEN"


def test_tls_with_a_token_and_mutual_tls(store: PointsService, keys: SigningKeys, tmp_path: Path) -> None:
    ca = CertificateAuthority("points test CA")
    server = ca.issue("localhost", dns=["localhost"], ips=["127.0.0.1"], server=True)
    feed = ca.issue("feed", dns=["feed.bank.test"])
    security = with_jwt(
        keys,
        tls_cert=write_pem(tmp_path, "server.pem", server.cert_pem),
        tls_key=write_pem(tmp_path, "server-key.pem", server.key_pem),
        client_ca=write_pem(tmp_path, "client-ca.pem", ca.cert_pem),
    )
    token = keys.token("payroll-1", ["payroll"])
    with running(store, security) as (_, port):
        address = f"localhost:{port}"
        with connect(address, root_certificates=ca.cert_pem, certificate_chain=feed.cert_pem, private_key=feed.key_pem, token=token) as channel:
            assert list(PointsClient(channel, retry=ONCE).list_statements("2026-11")) == []
        with connect(address, root_certificates=ca.cert_pem, token=token) as channel:  # no client certificate: the handshake fails
            with pytest.raises(Unavailable):
                list(PointsClient(channel, retry=ONCE, timeout=5).list_statements("2026-11"))
        stranger = CertificateAuthority("someone else's CA")
        with connect(address, root_certificates=stranger.cert_pem, certificate_chain=feed.cert_pem, private_key=feed.key_pem, token=token) as channel:
            with pytest.raises(Unavailable):  # the server's certificate is not one the client trusts
                list(PointsClient(channel, retry=ONCE, timeout=5).list_statements("2026-11"))


@pytest.mark.parametrize("address", ["points.bank.internal:50051", "10.0.0.7:50051", "[2001:db8::1]:50051", "dns:///points:443"])
def test_a_token_never_goes_over_plaintext_beyond_loopback(address: str) -> None:
    with pytest.raises(ValueError, match="in clear"):
        connect(address, plaintext=True, token="t")


@pytest.mark.parametrize("address", ["127.0.0.1:50051", "localhost:50051", "[::1]:50051", "unix:/run/points.sock"])
def test_loopback_plaintext_may_carry_a_token(address: str) -> None:
    connect(address, plaintext=True, token="t").close()
