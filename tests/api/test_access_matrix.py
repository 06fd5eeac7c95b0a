"""The authorization matrix, generated from the access table: every RPC x every role x own / other outlet.

One server per backend holds two outlets (north-01, the callers' own; south-01, another) with
staff at each. Every caller has exactly one role and acts for north-01. A call the table allows
must get past access control (and, where the test knows a valid request, succeed); a call it
does not allow must be PERMISSION_DENIED for exactly the reason the table gives.
"""

from __future__ import annotations

import importlib
import pkgutil
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import grpc
import pytest
from google.protobuf import descriptor_pool, message_factory
from google.protobuf.descriptor import MethodDescriptor
from grpc_reflection.v1alpha.proto_reflection_descriptor_database import ProtoReflectionDescriptorDatabase

import points.v1
from points.api.access import RPC_TABLE, Rule
from points.api.auth import ROLES
from points.server import Settings, build_service
from points.v1 import balances_pb2, directory_pb2, work_events_pb2
from tests.api.calls import work
from tests.api.rich_status import rich_error
from tests.api.secured import SigningKeys, plaintext_client, signing_keys, with_jwt
from tests.conftest import Client, Clock, drop_schema, new_postgres_schema_url

OWN, OTHER = "north-01", "south-01"
STAFF = {OWN: "sm-n", OTHER: "sm-s"}  # a service manager at each outlet
MOVERS = {OWN: "mv-n", OTHER: "mv-s"}  # service managers whose role (not outlet) the admin changes
SCOPES = {"own": OWN, "other": OTHER}


def proto_methods() -> dict[str, MethodDescriptor]:
    """`/package.Service/Method` -> descriptor, for every RPC in the generated points.v1 modules that exist now."""
    methods = {}
    for module in pkgutil.iter_modules(points.v1.__path__):
        if module.name.endswith("_pb2"):
            generated = importlib.import_module(f"points.v1.{module.name}")
            for service in generated.DESCRIPTOR.services_by_name.values():
                for method in service.methods:
                    methods[f"/{service.full_name}/{method.name}"] = method
    return methods


PROTO_METHODS = proto_methods()


def test_every_rpc_in_the_protos_is_in_the_access_table() -> None:
    assert PROTO_METHODS, "no generated services found"
    assert sorted(set(PROTO_METHODS) - set(RPC_TABLE)) == []


def test_every_rpc_the_server_offers_is_in_the_access_table(client: Client) -> None:
    """Also health and reflection: what reflection (development mode) lists, the table must rule on."""
    database = ProtoReflectionDescriptorDatabase(client.channel)
    pool = descriptor_pool.DescriptorPool(database)
    offered = {f"/{name}/{m.name}" for name in database.get_services() for m in pool.FindServiceByName(name).methods}

    assert sorted(offered - set(RPC_TABLE)) == []


# -- the matrix ------------------------------------------------------------------------------

# Requests that succeed for an allowed caller, as often as they are sent (replays or new ids).
KNOWN_REQUESTS: dict[str, Callable[[str, str], Any]] = {
    "/points.v1.DirectoryService/RegisterOutlet": lambda outlet, tag: directory_pb2.RegisterOutletRequest(
        outlet_id=outlet, outlet_class=directory_pb2.OUTLET_CLASS_A if outlet == OWN else directory_pb2.OUTLET_CLASS_B, region=outlet[:5]
    ),
    "/points.v1.DirectoryService/RegisterEmployee": lambda outlet, tag: directory_pb2.RegisterEmployeeRequest(
        employee_id=STAFF[outlet], role=directory_pb2.ROLE_SERVICE_MANAGER, outlet_id=outlet, effective_from="2026-01-01"
    ),
    "/points.v1.DirectoryService/TransferEmployee": lambda outlet, tag: directory_pb2.TransferEmployeeRequest(
        request_id=f"move-{MOVERS[outlet]}", employee_id=MOVERS[outlet], role=directory_pb2.ROLE_OPERATIONS_SUPERVISOR, effective_from="2026-06-01"
    ),
    "/points.v1.DirectoryService/GetOutlet": lambda outlet, tag: directory_pb2.GetOutletRequest(outlet_id=outlet),
    "/points.v1.DirectoryService/GetEmployee": lambda outlet, tag: directory_pb2.GetEmployeeRequest(employee_id=STAFF[outlet]),
    "/points.v1.WorkEventService/RecordWorkEvent": lambda outlet, tag: work(f"w-{tag}", STAFF[outlet], "counter_transaction", "1"),
    "/points.v1.WorkEventService/RecordWorkEvents": lambda outlet, tag: work_events_pb2.RecordWorkEventsRequest(
        requests=[work(f"b-{tag}-{i}", STAFF[outlet], "customer_served", "2") for i in range(2)]
    ),
    "/points.v1.BalanceService/GetBalance": lambda outlet, tag: balances_pb2.GetBalanceRequest(employee_id=STAFF[outlet], period="2026-11"),
}


def generic_request(method: MethodDescriptor, outlet: str) -> Any:
    """For an RPC this file has no request for: the fields access control reads (employee_id, outlet_id), set."""
    request = message_factory.GetMessageClass(method.input_type)()
    fields = method.input_type.fields_by_name
    if "employee_id" in fields:
        request.employee_id = STAFF[outlet]
    if "outlet_id" in fields:
        request.outlet_id = outlet
    if "period" in fields:
        request.period = "2026-11"
    return request


def expected_refusal(rule: Rule, role: str, scope: str) -> str | None:
    """What the table says: None (allowed), or the PERMISSION_DENIED reason."""
    if role not in rule.roles:
        return "ROLE_NOT_ALLOWED"
    if role in rule.scoped and scope != "own":
        return "OUTLET_NOT_IN_SCOPE"
    return None


CASES = [
    pytest.param(rpc, role, scope, id=f"{rpc.rsplit('/', 1)[1]}-{role}-{scope}")
    for rpc in sorted(PROTO_METHODS)
    for role in ROLES
    for scope in SCOPES
]


class Matrix:
    """A secured server with the two outlets staffed, and a token per role (each acting for north-01)."""

    def __init__(self, client: Client, keys: SigningKeys) -> None:
        self.client = client
        self.tokens = {role: keys.bearer(f"{role}-1", [role], [OWN]) for role in ROLES}

    def call(self, rpc: str, request: Any, role: str) -> Any:
        """The response of `rpc` called as `role`; raises grpc.RpcError when it fails."""
        call = self.client.channel.unary_unary(
            rpc,
            request_serializer=lambda m: m.SerializeToString(),
            response_deserializer=message_factory.GetMessageClass(PROTO_METHODS[rpc].output_type).FromString,
        )
        return call(request, metadata=self.tokens[role], timeout=10)


def staff(client: Client, admin: Any) -> None:
    for outlet in (OWN, OTHER):
        client.directory.RegisterOutlet(KNOWN_REQUESTS["/points.v1.DirectoryService/RegisterOutlet"](outlet, ""), metadata=admin)
        for employee in (STAFF[outlet], MOVERS[outlet]):
            client.directory.RegisterEmployee(
                directory_pb2.RegisterEmployeeRequest(
                    employee_id=employee, role=directory_pb2.ROLE_SERVICE_MANAGER, outlet_id=outlet, effective_from="2026-01-01"
                ),
                metadata=admin,
            )


@pytest.fixture(scope="module", params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def matrix(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Matrix]:
    directory: Path = tmp_path_factory.mktemp("matrix")
    schema = None
    if request.param == "sqlite":
        url = f"sqlite:///{directory}/points.db"
    else:
        postgres = request.getfixturevalue("postgres_server")
        url, schema = new_postgres_schema_url(postgres)
    keys = signing_keys(directory)
    service = build_service(Settings(database_url=url, clock=Clock()))
    try:
        with plaintext_client(service, with_jwt(keys)) as client:
            staff(client, keys.bearer("admin-1", ["admin"]))
            yield Matrix(client, keys)
    finally:
        service.close()
        if schema is not None:
            drop_schema(request.getfixturevalue("postgres_server"), schema)


@pytest.mark.parametrize(("rpc", "role", "scope"), CASES)
def test_the_table_decides(matrix: Matrix, rpc: str, role: str, scope: str) -> None:
    outlet = SCOPES[scope]
    known = KNOWN_REQUESTS.get(rpc)
    request = known(outlet, f"{role}-{scope}") if known else generic_request(PROTO_METHODS[rpc], outlet)
    refusal = expected_refusal(RPC_TABLE[rpc], role, scope)

    try:
        matrix.call(rpc, request, role)
    except grpc.RpcError as error:
        if error.code() == grpc.StatusCode.UNIMPLEMENTED:
            pytest.skip(f"{rpc} is in the protos but no servicer serves it yet")
        outcome: grpc.RpcError | None = error
    else:
        outcome = None

    if refusal is None:
        if known:
            assert outcome is None, rich_error(outcome)
        else:
            assert outcome is None or outcome.code() not in (grpc.StatusCode.PERMISSION_DENIED, grpc.StatusCode.UNAUTHENTICATED)
        return
    assert outcome is not None, f"{role} at {scope} outlet was let through"
    refused = rich_error(outcome)
    assert (refused.code, refused.reason) == (grpc.StatusCode.PERMISSION_DENIED, refusal)
