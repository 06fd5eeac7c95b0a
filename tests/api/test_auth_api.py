"""Bearer tokens through a real server: only a well-formed, signed, current token for this service gets in.

The store does not matter here (SQLite); every refusal is UNAUTHENTICATED with one ErrorInfo
(tests.api.rich_status also checks that no message leaks internals).
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import datetime, timedelta, timezone
from pathlib import Path

import grpc
import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from grpc_health.v1 import health_pb2, health_pb2_grpc
from grpc_reflection.v1alpha import reflection_pb2, reflection_pb2_grpc
from grpc_reflection.v1alpha.proto_reflection_descriptor_database import ProtoReflectionDescriptorDatabase

from points.api.auth import load_jwks, load_pem_key
from points.server import PointsService
from points.storage.settings import SettingsError
from points.v1 import directory_pb2
from tests.api.rich_status import assert_rejected
from tests.api.secured import Metadata, SigningKeys, bearer, good_claims, plaintext_client, signing_keys, unsigned_token, with_jwt
from tests.conftest import Client

UNAUTHENTICATED = grpc.StatusCode.UNAUTHENTICATED
OUTLET = directory_pb2.RegisterOutletRequest(outlet_id="north-01", outlet_class=directory_pb2.OUTLET_CLASS_A, region="north")


@pytest.fixture
def secured(sqlite_service: PointsService, keys: SigningKeys) -> Iterator[Client]:
    """A server that verifies tokens signed by `keys` (Ed25519, issuer points-dev, audience points)."""
    with plaintext_client(sqlite_service, with_jwt(keys)) as client:
        yield client


def register(client: Client, metadata: Metadata) -> directory_pb2.RegisterOutletResponse:
    return client.directory.RegisterOutlet(OUTLET, metadata=metadata, timeout=10)  # type: ignore[no-any-return]


def signed(keys: SigningKeys, claims: dict[str, object]) -> str:
    """A token with exactly `claims`, properly signed (mint_token would refuse bad claims)."""
    return jwt.encode(claims, serialization.load_pem_private_key(keys.private_pem, None), algorithm="EdDSA")  # type: ignore[arg-type]


def test_an_admin_token_registers_an_outlet(secured: Client, keys: SigningKeys) -> None:
    registered = register(secured, keys.bearer("alice", ["admin"]))

    assert (registered.outlet.outlet_id, registered.replayed) == ("north-01", False)


def test_no_token_is_unauthenticated(secured: Client) -> None:
    with pytest.raises(grpc.RpcError) as caught:
        register(secured, ())

    assert_rejected(caught.value, UNAUTHENTICATED, "MISSING_TOKEN")


def test_an_expired_token_is_unauthenticated(secured: Client, keys: SigningKeys) -> None:
    # An hour old and 30 minutes expired: beyond the 30 s leeway.
    expired = keys.token("alice", ["admin"], ttl=timedelta(minutes=30), now=datetime.now(timezone.utc) - timedelta(hours=1))

    with pytest.raises(grpc.RpcError) as caught:
        register(secured, bearer(expired))

    assert_rejected(caught.value, UNAUTHENTICATED, "TOKEN_EXPIRED")


@pytest.mark.parametrize(
    "token_options",
    [{"audience": "someone-else"}, {"issuer": "https://evil.example"}],
    ids=["wrong-audience", "wrong-issuer"],
)
def test_a_token_for_another_service_is_unauthenticated(secured: Client, keys: SigningKeys, token_options: dict[str, str]) -> None:
    with pytest.raises(grpc.RpcError) as caught:
        register(secured, keys.bearer("alice", ["admin"], **token_options))

    assert_rejected(caught.value, UNAUTHENTICATED, "INVALID_TOKEN")


def test_alg_none_is_unauthenticated(secured: Client) -> None:
    token = unsigned_token({"alg": "none", "typ": "JWT"}, good_claims())

    with pytest.raises(grpc.RpcError) as caught:
        register(secured, bearer(token))

    assert_rejected(caught.value, UNAUTHENTICATED, "INVALID_TOKEN")


def test_hs256_signed_with_the_public_key_is_unauthenticated(secured: Client, keys: SigningKeys) -> None:
    """The classic algorithm confusion: the verifier's public key used as an HMAC secret."""
    token = unsigned_token({"alg": "HS256", "typ": "JWT"}, good_claims(), key=keys.public_pem)

    with pytest.raises(grpc.RpcError) as caught:
        register(secured, bearer(token))

    assert_rejected(caught.value, UNAUTHENTICATED, "INVALID_TOKEN")


def test_a_token_signed_by_another_key_is_unauthenticated(secured: Client, tmp_path: Path) -> None:
    other = signing_keys(tmp_path, "ed25519")

    with pytest.raises(grpc.RpcError) as caught:
        register(secured, other.bearer("alice", ["admin"]))

    assert_rejected(caught.value, UNAUTHENTICATED, "INVALID_TOKEN")


@pytest.mark.parametrize("missing", ["exp", "iss", "aud", "sub"])
def test_a_token_without_a_required_claim_is_unauthenticated(secured: Client, keys: SigningKeys, missing: str) -> None:
    token = signed(keys, good_claims(**{missing: None}))

    with pytest.raises(grpc.RpcError) as caught:
        register(secured, bearer(token))

    assert_rejected(caught.value, UNAUTHENTICATED, "INVALID_TOKEN")


@pytest.mark.parametrize(
    "claims",
    [{"roles": ["root"]}, {"roles": "admin"}, {"roles": []}, {"roles": ["recorder"]}, {"roles": ["recorder"], "outlets": ["bad outlet"]}],
    ids=["unknown-role", "roles-not-a-list", "no-roles", "recorder-without-outlets", "malformed-outlet"],
)
def test_a_token_with_unusable_claims_is_unauthenticated(secured: Client, keys: SigningKeys, claims: dict[str, object]) -> None:
    token = signed(keys, good_claims(**claims))

    with pytest.raises(grpc.RpcError) as caught:
        register(secured, bearer(token))

    assert_rejected(caught.value, UNAUTHENTICATED, "INVALID_TOKEN")


@pytest.mark.parametrize(
    "metadata",
    [(("authorization", "Basic YWxpY2U6c2VjcmV0"),), (("authorization", "Bearer"),), (("authorization", "Bearer not.a.jwt"),)],
    ids=["basic", "empty-bearer", "garbage"],
)
def test_a_malformed_authorization_is_unauthenticated(secured: Client, metadata: Metadata) -> None:
    with pytest.raises(grpc.RpcError) as caught:
        register(secured, metadata)

    assert_rejected(caught.value, UNAUTHENTICATED, "INVALID_TOKEN")


@pytest.mark.parametrize("key_type", ["ec", "rsa"])
def test_es256_and_rs256_keys_work_too(sqlite_service: PointsService, tmp_path: Path, key_type: str) -> None:
    keys = signing_keys(tmp_path, key_type)

    with plaintext_client(sqlite_service, with_jwt(keys)) as client:
        assert register(client, keys.bearer("alice", ["admin"])).outlet.outlet_id == "north-01"


def jwks_file(tmp_path: Path, *public_pems: tuple[str, bytes]) -> Path:
    keys = []
    for kid, pem in public_pems:
        jwk = json.loads(jwt.algorithms.OKPAlgorithm.to_jwk(serialization.load_pem_public_key(pem)))  # type: ignore[arg-type]
        keys.append({**jwk, "kid": kid, "use": "sig"})
    path = tmp_path / "jwks.json"
    path.write_text(json.dumps({"keys": keys}))
    return path


def test_a_jwks_picks_the_key_by_kid(sqlite_service: PointsService, tmp_path: Path) -> None:
    (tmp_path / "old").mkdir()
    old, new = signing_keys(tmp_path / "old"), signing_keys(tmp_path)
    jwks = jwks_file(tmp_path, ("2026-old", old.public_pem), ("2026-new", new.public_pem))

    with plaintext_client(sqlite_service, with_jwt(new, jwt_keys=None, jwks=jwks)) as client:
        assert register(client, old.bearer("alice", ["admin"], kid="2026-old")).outlet.outlet_id == "north-01"
        assert register(client, new.bearer("alice", ["admin"], kid="2026-new")).replayed
        for token in (new.token("alice", ["admin"], kid="2026-old"), new.token("alice", ["admin"], kid="unknown"), new.token("alice", ["admin"])):
            with pytest.raises(grpc.RpcError) as caught:
                register(client, bearer(token))
            assert_rejected(caught.value, UNAUTHENTICATED, "INVALID_TOKEN")


@pytest.mark.parametrize(
    ("key_type", "problem"),
    [("hmac", "cannot read a PEM public key"), ("rsa-1024", "at least 2048 bits"), ("p384", "only P-256")],
)
def test_weak_or_symmetric_keys_are_refused_at_start(tmp_path: Path, key_type: str, problem: str) -> None:
    path = tmp_path / "key.pem"
    if key_type == "hmac":
        path.write_bytes(b"a shared secret is not a public key")
    else:
        private = rsa.generate_private_key(public_exponent=65537, key_size=1024) if key_type == "rsa-1024" else ec.generate_private_key(ec.SECP384R1())
        path.write_bytes(private.public_key().public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo))

    with pytest.raises(SettingsError, match=problem):
        load_pem_key(path)


def test_a_jwks_with_a_symmetric_key_is_refused_at_start(tmp_path: Path) -> None:
    path = tmp_path / "jwks.json"
    path.write_text(json.dumps({"keys": [{"kty": "oct", "k": "c2VjcmV0", "kid": "s"}]}))

    with pytest.raises(SettingsError, match="only public RSA, EC or OKP keys"):
        load_jwks(path)


def test_health_answers_without_a_token(secured: Client) -> None:
    answer = health_pb2_grpc.HealthStub(secured.channel).Check(health_pb2.HealthCheckRequest(service=""), timeout=5)

    assert answer.status == health_pb2.HealthCheckResponse.SERVING
    assert answer.ListFields() == [(health_pb2.HealthCheckResponse.DESCRIPTOR.fields_by_name["status"], answer.status)]


def test_reflection_needs_a_token(secured: Client, keys: SigningKeys) -> None:
    anonymous = ProtoReflectionDescriptorDatabase(secured.channel)
    with pytest.raises(grpc.RpcError) as caught:
        anonymous.get_services()
    assert caught.value.code() == UNAUTHENTICATED

    reflected = reflection_services(secured.channel, keys.bearer("carol", ["committee"]))
    assert "points.v1.WorkEventService" in reflected


def test_reflection_can_be_turned_off(sqlite_service: PointsService, keys: SigningKeys) -> None:
    with plaintext_client(sqlite_service, with_jwt(keys, reflection=False)) as client:
        with pytest.raises(grpc.RpcError) as caught:
            reflection_services(client.channel, keys.bearer("alice", ["admin"]))

    assert caught.value.code() == grpc.StatusCode.UNIMPLEMENTED


def reflection_services(channel: grpc.Channel, metadata: Metadata) -> list[str]:
    """The services the reflection API lists, asked with `metadata`."""
    stub = reflection_pb2_grpc.ServerReflectionStub(channel)
    answers = stub.ServerReflectionInfo(iter([reflection_pb2.ServerReflectionRequest(list_services="")]), metadata=metadata, timeout=5)
    return [s.name for answer in answers for s in answer.list_services_response.service]
