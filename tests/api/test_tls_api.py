"""TLS and mutual TLS through a real server, with a CA and certificates made in the test.

Also: where a server may listen without TLS or without authentication (loopback only, unless --insecure).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, replace
from pathlib import Path
from uuid import UUID

import grpc
import pytest

from points.api.security import DEVELOPMENT_MODE, SecuritySettings, is_loopback
from points.server import PointsService
from points.storage.settings import SettingsError
from points.v1 import balances_pb2, directory_pb2
from tests.api.calls import work
from tests.api.rich_status import assert_rejected
from tests.api.secured import CertificateAuthority, Issued, Metadata, SigningKeys, running, stubs, with_jwt, write_pem
from tests.api.test_auth_api import reflection_services
from tests.conftest import Client

UNAVAILABLE = grpc.StatusCode.UNAVAILABLE


@dataclass(frozen=True)
class Pki:
    """A CA with a server certificate for 127.0.0.1/localhost and client certificates; a stranger CA's client too."""

    directory: Path
    ca: CertificateAuthority
    server: Issued
    payroll: Issued  # CN payroll-system, SAN payroll.bank.test (mapped to payroll)
    stray: Issued  # CN stray, SAN stray.bank.test (signed by the CA, mapped to nothing)
    cn_only: Issued  # CN north-feed, no SAN (mapped to a recorder at north-01)
    stranger: Issued  # signed by another CA

    def tls(self, keys: SigningKeys, **changes: object) -> SecuritySettings:
        settings = with_jwt(
            keys,
            tls_cert=write_pem(self.directory, "server.pem", self.server.cert_pem),
            tls_key=write_pem(self.directory, "server-key.pem", self.server.key_pem),
        )
        return replace(settings, **changes)  # type: ignore[arg-type]

    def mutual(self, keys: SigningKeys, **changes: object) -> SecuritySettings:
        return self.tls(keys, client_ca=write_pem(self.directory, "client-ca.pem", self.ca.cert_pem), **changes)

    def credentials(self, client: Issued | None) -> grpc.ChannelCredentials:
        if client is None:
            return grpc.ssl_channel_credentials(root_certificates=self.ca.cert_pem)
        return grpc.ssl_channel_credentials(root_certificates=self.ca.cert_pem, private_key=client.key_pem, certificate_chain=client.cert_pem)


@pytest.fixture(scope="module")
def pki(tmp_path_factory: pytest.TempPathFactory) -> Pki:
    ca, stranger_ca = CertificateAuthority("points test CA"), CertificateAuthority("someone else's CA")
    return Pki(
        directory=tmp_path_factory.mktemp("pki"),
        ca=ca,
        server=ca.issue("localhost", dns=["localhost"], ips=["127.0.0.1"], server=True),
        payroll=ca.issue("payroll-system", dns=["payroll.bank.test"]),
        stray=ca.issue("stray", dns=["stray.bank.test"]),
        cn_only=ca.issue("north-feed"),
        stranger=stranger_ca.issue("payroll-system", dns=["payroll.bank.test"]),
    )


@contextmanager
def tls_client(service: PointsService, security: SecuritySettings, credentials: grpc.ChannelCredentials) -> Iterator[Client]:
    with running(service, security) as (_, port):
        address = f"127.0.0.1:{port}"
        channel = grpc.secure_channel(address, credentials)
        try:
            yield stubs(channel, address)
        finally:
            channel.close()


def get_outlet(client: Client, metadata: Metadata = ()) -> directory_pb2.GetOutletResponse:
    return client.directory.GetOutlet(directory_pb2.GetOutletRequest(outlet_id="north-01"), metadata=metadata, timeout=5)  # type: ignore[no-any-return]


def register_outlet(client: Client, keys: SigningKeys) -> None:
    client.directory.RegisterOutlet(
        directory_pb2.RegisterOutletRequest(outlet_id="north-01", outlet_class=directory_pb2.OUTLET_CLASS_A, region="north"),
        metadata=keys.bearer("admin-1", ["admin"]),
        timeout=5,
    )


def test_tls_with_a_token_works_and_reflection_is_off(sqlite_service: PointsService, keys: SigningKeys, pki: Pki) -> None:
    with tls_client(sqlite_service, pki.tls(keys), pki.credentials(None)) as client:
        register_outlet(client, keys)
        assert get_outlet(client, keys.bearer("auditor-1", ["auditor"])).outlet.region == "north"
        with pytest.raises(grpc.RpcError) as caught:
            reflection_services(client.channel, keys.bearer("auditor-1", ["auditor"]))

    assert caught.value.code() == grpc.StatusCode.UNIMPLEMENTED


def test_reflection_with_tls_when_asked_for(sqlite_service: PointsService, keys: SigningKeys, pki: Pki) -> None:
    with tls_client(sqlite_service, pki.tls(keys, reflection=True), pki.credentials(None)) as client:
        assert "points.v1.BalanceService" in reflection_services(client.channel, keys.bearer("auditor-1", ["auditor"]))


def test_a_plaintext_client_cannot_talk_to_a_tls_server(sqlite_service: PointsService, keys: SigningKeys, pki: Pki) -> None:
    with running(sqlite_service, pki.tls(keys)) as (_, port), grpc.insecure_channel(f"127.0.0.1:{port}") as channel:
        with pytest.raises(grpc.RpcError) as caught:
            get_outlet(stubs(channel, ""), keys.bearer("auditor-1", ["auditor"]))

    assert caught.value.code() == UNAVAILABLE


@pytest.mark.parametrize("client_certificate", [None, "stranger"], ids=["no-client-certificate", "another-cas-certificate"])
def test_mutual_tls_refuses_the_handshake_without_a_trusted_client_certificate(
    sqlite_service: PointsService, keys: SigningKeys, pki: Pki, client_certificate: str | None
) -> None:
    credentials = pki.credentials(None if client_certificate is None else pki.stranger)

    with tls_client(sqlite_service, pki.mutual(keys), credentials) as client:
        with pytest.raises(grpc.RpcError) as caught:
            get_outlet(client, keys.bearer("auditor-1", ["auditor"]))

    assert caught.value.code() == UNAVAILABLE


@pytest.fixture
def client_roles(pki: Pki) -> Path:
    path = pki.directory / "client-roles.toml"
    path.write_text(
        '[[client]]\nidentity = "payroll.bank.test"\nroles = ["payroll"]\n\n'
        '[[client]]\nidentity = "north-feed"\nroles = ["recorder"]\noutlets = ["north-01"]\n'
    )
    return path


def test_a_mapped_client_certificate_stands_in_for_a_token(sqlite_service: PointsService, keys: SigningKeys, pki: Pki, client_roles: Path) -> None:
    security = pki.mutual(keys, client_roles=client_roles)
    with tls_client(sqlite_service, security, pki.credentials(pki.payroll)) as payroll:
        register_outlet(payroll, keys)  # a token, when sent, decides (here: an admin)
        payroll.directory.RegisterEmployee(
            directory_pb2.RegisterEmployeeRequest(employee_id="sm-1", role=directory_pb2.ROLE_SERVICE_MANAGER, outlet_id="north-01", effective_from="2026-01-01"),
            metadata=keys.bearer("admin-1", ["admin"]),
        )
        read = payroll.balances.GetBalance(balances_pb2.GetBalanceRequest(employee_id="sm-1", period="2026-11"), timeout=5)
        with pytest.raises(grpc.RpcError) as denied:
            payroll.work.RecordWorkEvent(work("c-1", "sm-1", "counter_transaction", "1"), timeout=5)
    with tls_client(sqlite_service, security, pki.credentials(pki.cn_only)) as feed:
        recorded = feed.work.RecordWorkEvent(work("c-1", "sm-1", "counter_transaction", "1"), timeout=5)

    assert read.balance.event_count == 0
    assert_rejected(denied.value, grpc.StatusCode.PERMISSION_DENIED, "ROLE_NOT_ALLOWED")
    assert recorded.replayed is False
    assert sqlite_service.app.work_event(UUID(recorded.event_id)).recorded_by == "north-feed"  # type: ignore[union-attr]


def test_an_unmapped_client_certificate_still_needs_a_token(sqlite_service: PointsService, keys: SigningKeys, pki: Pki, client_roles: Path) -> None:
    with tls_client(sqlite_service, pki.mutual(keys, client_roles=client_roles), pki.credentials(pki.stray)) as client:
        with pytest.raises(grpc.RpcError) as caught:
            get_outlet(client)
        register_outlet(client, keys)
        with_token = get_outlet(client, keys.bearer("auditor-1", ["auditor"]))

    assert_rejected(caught.value, grpc.StatusCode.UNAUTHENTICATED, "MISSING_TOKEN")
    assert with_token.outlet.outlet_id == "north-01"


# -- where a server may listen -------------------------------------------------------------------


@pytest.mark.parametrize("host", ["127.0.0.1", "127.0.0.2", "localhost", "::1", "[::1]"])
def test_loopback_hosts(host: str) -> None:
    assert is_loopback(host)


@pytest.mark.parametrize("host", ["0.0.0.0", "::", "[::]", "", "10.1.2.3", "points.bank.internal"])
def test_other_hosts_are_not_loopback(host: str) -> None:
    assert not is_loopback(host)


def test_development_mode_on_loopback_is_allowed_and_said() -> None:
    assert SecuritySettings().check("127.0.0.1") == [DEVELOPMENT_MODE]


@pytest.mark.parametrize(
    ("changes", "problem"),
    [
        ({}, "refusing to serve plaintext on 0.0.0.0"),
        ({"jwt_keys": Path("k.pem")}, "refusing to serve plaintext on 0.0.0.0"),
        ({"tls_cert": Path("c.pem"), "tls_key": Path("k.pem")}, "without authentication"),
        ({"tls_cert": Path("c.pem")}, "needs both --tls-cert and --tls-key"),
        ({"client_ca": Path("ca.pem"), "jwt_keys": Path("k.pem")}, "--client-ca (mutual TLS) needs"),
        ({"tls_cert": Path("c.pem"), "tls_key": Path("k.pem"), "client_roles": Path("r.toml")}, "needs --client-ca"),
    ],
    ids=["plaintext-no-auth", "plaintext-with-auth", "tls-without-auth", "half-tls", "client-ca-without-tls", "roles-without-client-ca"],
)
def test_a_non_loopback_server_without_tls_or_authentication_is_refused(changes: dict[str, object], problem: str) -> None:
    with pytest.raises(SettingsError) as refused:
        replace(SecuritySettings(), **changes).check("0.0.0.0")  # type: ignore[arg-type]

    assert problem in str(refused.value)


def test_insecure_allows_it_but_says_so() -> None:
    warnings = SecuritySettings(insecure=True).check("0.0.0.0")

    assert [w.split(":")[0] for w in warnings] == ["INSECURE", "INSECURE"]
