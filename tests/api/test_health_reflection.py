"""Health checking and server reflection: a client that knows only the address can find and call the API.

Reflection answers under both grpc.reflection.v1 and v1alpha; the files it sends keep the protos'
comments (their source info), so tools such as `grpcurl describe` and `buf curl` can show them.
"""

from __future__ import annotations

import subprocess
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

import grpc
import pytest
from google.protobuf import descriptor_pb2, descriptor_pool, message_factory
from grpc_health.v1 import health_pb2, health_pb2_grpc
from grpc_reflection.v1alpha import reflection_pb2
from grpc_reflection.v1alpha.proto_reflection_descriptor_database import ProtoReflectionDescriptorDatabase

from points.api.security import SecuritySettings
from points.server import SERVICE_NAMES, PointsService
from tests.api.calls import Staffed
from tests.api.secured import Metadata, SigningKeys, plaintext_client, with_jwt
from tests.api.test_process import serving

if TYPE_CHECKING:
    from tests.conftest import Client

REPO = Path(__file__).resolve().parents[2]
BUF = REPO / ".venv" / "bin" / "buf"
DESCRIPTOR_SET = REPO / "services" / "points" / "v1" / "descriptors.binpb"
VERSIONS = ("v1", "v1alpha")
EVERY_SERVICE = {
    *SERVICE_NAMES,
    "grpc.health.v1.Health",
    "grpc.reflection.v1.ServerReflection",
    "grpc.reflection.v1alpha.ServerReflection",
}


@pytest.mark.parametrize("service_name", ["", "points.v1.WorkEventService", "points.v1.BalanceService", "points.v1.DirectoryService"])
def test_health_is_serving(client: Client, service_name: str) -> None:
    health = health_pb2_grpc.HealthStub(client.channel)

    answer = health.Check(health_pb2.HealthCheckRequest(service=service_name), timeout=5)

    assert answer.status == health_pb2.HealthCheckResponse.SERVING


def test_health_of_an_unknown_service_is_not_found(client: Client) -> None:
    with pytest.raises(grpc.RpcError) as caught:
        health_pb2_grpc.HealthStub(client.channel).Check(health_pb2.HealthCheckRequest(service="points.v1.Nothing"), timeout=5)

    assert caught.value.code() == grpc.StatusCode.NOT_FOUND


@pytest.fixture
def reflected_pool(client: Client) -> descriptor_pool.DescriptorPool:
    """A descriptor pool that knows only what the server's reflection service tells it."""
    return descriptor_pool.DescriptorPool(ProtoReflectionDescriptorDatabase(client.channel))


def test_reflection_lists_every_service(client: Client) -> None:
    services = set(ProtoReflectionDescriptorDatabase(client.channel).get_services())

    assert services == EVERY_SERVICE


def reflected_method(pool: descriptor_pool.DescriptorPool, full_name: str) -> Any:
    """`package.Service.Method`, looked up through its service (the pool asks reflection for services, not methods)."""
    service_name, _, method_name = full_name.rpartition(".")
    return pool.FindServiceByName(service_name).methods_by_name[method_name]


def test_reflection_resolves_a_method_and_its_types(reflected_pool: descriptor_pool.DescriptorPool) -> None:
    method = reflected_method(reflected_pool, "points.v1.WorkEventService.RecordWorkEvent")

    assert (method.input_type.full_name, method.output_type.full_name) == ("points.v1.RecordWorkEventRequest", "points.v1.RecordWorkEventResponse")
    assert {"request_id", "employee_id", "kind", "quantity", "occurred_on"} <= set(method.input_type.fields_by_name)
    assert method.input_type.fields_by_name["occurred_at"].message_type.full_name == "google.protobuf.Timestamp"


def call_reflected(channel: grpc.Channel, pool: descriptor_pool.DescriptorPool, method_name: str, **fields: Any) -> Any:
    """Calls `package.Service.Method` with a request built from reflected descriptors only."""
    method = reflected_method(pool, method_name)
    request_class = message_factory.GetMessageClass(method.input_type)
    response_class = message_factory.GetMessageClass(method.output_type)
    call = channel.unary_unary(
        f"/{method.containing_service.full_name}/{method.name}",
        request_serializer=request_class.SerializeToString,
        response_deserializer=response_class.FromString,
    )
    return call(request_class(**fields), timeout=10)


def test_a_reflection_only_client_records_and_reads_a_balance(
    client: Client, staffed_outlet: Staffed, reflected_pool: descriptor_pool.DescriptorPool
) -> None:
    recorded = call_reflected(
        client.channel, reflected_pool, "points.v1.WorkEventService.RecordWorkEvent",
        request_id="refl-1", employee_id="sm-1", kind="customer_served", quantity="4", occurred_on="2026-11-20",
    )
    read = call_reflected(
        client.channel, reflected_pool, "points.v1.BalanceService.GetBalance",
        employee_id="sm-1", period="2026-11", min_position=recorded.position,
    )

    assert type(recorded).DESCRIPTOR.file.pool is reflected_pool
    assert (recorded.points, recorded.replayed) == ("0.7000", False)  # 4 x 0.5 = 2 service points x .35
    assert (read.balance.total, read.balance.event_count) == ("0.7000", 1)
    assert [(d.dimension, d.points) for d in read.balance.dimensions] == [("service", "2.0000")]


# -- reflection v1 and v1alpha, with comments ---------------------------------------------------


@pytest.fixture
def dev_client(sqlite_service: PointsService) -> Iterator[Client]:
    """A development-mode server on SQLite: what reflection says does not depend on the store."""
    with plaintext_client(sqlite_service, SecuritySettings()) as client:
        yield client


def reflect(channel: grpc.Channel, version: str, *requests: Any, metadata: Metadata | None = None) -> list[Any]:
    """The answers of one ServerReflectionInfo stream of `version` (the two versions' messages are the same on the wire)."""
    call = channel.stream_stream(
        f"/grpc.reflection.{version}.ServerReflection/ServerReflectionInfo",
        request_serializer=reflection_pb2.ServerReflectionRequest.SerializeToString,
        response_deserializer=reflection_pb2.ServerReflectionResponse.FromString,
    )
    return list(call(iter(requests), metadata=metadata, timeout=10))


def asking(**field: Any) -> Any:
    return reflection_pb2.ServerReflectionRequest(**field)


def sent_files(answer: Any) -> list[descriptor_pb2.FileDescriptorProto]:
    assert answer.WhichOneof("message_response") == "file_descriptor_response", answer
    return [descriptor_pb2.FileDescriptorProto.FromString(data) for data in answer.file_descriptor_response.file_descriptor_proto]


def pool_of(files: Iterable[descriptor_pb2.FileDescriptorProto]) -> descriptor_pool.DescriptorPool:
    """A pool of the files, each added after its imports: fails if one of them is missing."""
    pool = descriptor_pool.DescriptorPool()
    waiting = {file.name: file for file in files}
    added: set[str] = set()
    while waiting:
        ready = [name for name, file in waiting.items() if set(file.dependency) <= added]
        assert ready, f"imports not sent: {sorted({d for f in waiting.values() for d in f.dependency} - added - set(waiting))}"
        for name in ready:
            pool.Add(waiting.pop(name))
            added.add(name)
    return pool


def leading_comments(file: descriptor_pb2.FileDescriptorProto) -> dict[str, str]:
    """Full name -> leading comment of the file's services, methods, messages and fields, read from its source info."""
    by_path = {tuple(location.path): location.leading_comments.strip() for location in file.source_code_info.location}
    found: dict[str, str] = {}
    for i, service in enumerate(file.service):
        found[f"{file.package}.{service.name}"] = by_path.get((6, i), "")
        for j, method in enumerate(service.method):
            found[f"{file.package}.{service.name}.{method.name}"] = by_path.get((6, i, 2, j), "")

    def messages(declared: Iterable[descriptor_pb2.DescriptorProto], path: tuple[int, ...], scope: str) -> None:
        for i, message in enumerate(declared):
            name, here = f"{scope}.{message.name}", (*path, i)
            found[name] = by_path.get(here, "")
            for j, message_field in enumerate(message.field):
                found[f"{name}.{message_field.name}"] = by_path.get((*here, 2, j), "")
            messages(message.nested_type, (*here, 3), name)

    messages(file.message_type, (4,), file.package)
    return found


@pytest.mark.parametrize("version", VERSIONS)
def test_both_reflection_versions_list_every_service(dev_client: Client, version: str) -> None:
    [answer] = reflect(dev_client.channel, version, asking(list_services=""))

    assert sorted(s.name for s in answer.list_services_response.service) == sorted(EVERY_SERVICE)


@pytest.mark.parametrize("version", VERSIONS)
def test_both_reflection_versions_describe_every_service_with_its_imports(dev_client: Client, version: str) -> None:
    answers = reflect(dev_client.channel, version, *(asking(file_containing_symbol=name) for name in sorted(EVERY_SERVICE)))

    for name, answer in zip(sorted(EVERY_SERVICE), answers, strict=True):
        pool = pool_of(sent_files(answer))
        assert pool.FindServiceByName(name).methods, name


def comment_above(proto: Path, declaration: str) -> str:
    """The `//` lines right above the line that starts with `declaration`, as protoc keeps them (text after `//`)."""
    lines = proto.read_text().splitlines()
    at = next(i for i, line in enumerate(lines) if line.strip().startswith(declaration))
    above: list[str] = []
    for line in reversed(lines[:at]):
        if not line.strip().startswith("//"):
            break
        above.insert(0, line.strip().removeprefix("//"))
    return "\n".join(above).strip()


@pytest.mark.parametrize("version", VERSIONS)
def test_the_protos_comments_reach_the_client(dev_client: Client, version: str) -> None:
    proto = REPO / "protos" / "points" / "v1" / "work_events.proto"
    [answer] = reflect(dev_client.channel, version, asking(file_containing_symbol="points.v1.WorkEventService"))
    work_events = sent_files(answer)[0]
    comments = leading_comments(work_events)

    assert work_events.name == "points/v1/work_events.proto"
    assert comments["points.v1.WorkEventService.RecordWorkEvent"] == comment_above(proto, "rpc RecordWorkEvent(")
    assert comments["points.v1.RecordWorkEventRequest.quantity"] == comment_above(proto, "string quantity = ")
    assert comments["points.v1.RecordWorkEventRequest.quantity"].startswith("How much work")


@pytest.mark.parametrize("version", VERSIONS)
def test_every_points_service_is_sent_as_protoc_wrote_it(dev_client: Client, version: str) -> None:
    """Byte for byte the committed descriptor set's file, source info and all; and each service says what it is for."""
    committed = {f.name: f for f in descriptor_pb2.FileDescriptorSet.FromString(DESCRIPTOR_SET.read_bytes()).file}
    ours = sorted(name for name in EVERY_SERVICE if not name.endswith((".Health", "v1alpha.ServerReflection")))
    answers = reflect(dev_client.channel, version, *(asking(file_containing_symbol=name) for name in ours))

    for name, answer in zip(ours, answers, strict=True):
        sent = sent_files(answer)
        assert sent == [committed[file.name] for file in sent], name
        assert name.startswith("grpc.") or leading_comments(sent[0])[name], f"{name} has no comment"


@pytest.mark.parametrize("version", VERSIONS)
def test_reflection_answers_every_kind_of_request_in_order(dev_client: Client, version: str) -> None:
    questions = [
        asking(file_by_filename="points/v1/audit.proto"),
        asking(file_containing_symbol="points.v1.WorkEventService.RecordWorkEvent"),
        asking(file_containing_symbol="points.v1.RecordWorkEventRequest"),
        asking(file_containing_symbol="grpc.health.v1.HealthCheckRequest"),  # not in the set: from the process's own descriptors
        asking(all_extension_numbers_of_type="points.v1.RecordWorkEventRequest"),
        asking(file_containing_symbol="points.v1.Nothing"),
        asking(file_by_filename="points/v1/nothing.proto"),
        asking(file_containing_extension=reflection_pb2.ExtensionRequest(containing_type="points.v1.RecordWorkEventRequest", extension_number=100)),
        asking(all_extension_numbers_of_type="points.v1.Nothing"),
        asking(host="only a host"),
    ]
    answers = reflect(dev_client.channel, version, *questions)

    assert [a.original_request for a in answers] == questions
    audit, method, message, health = (sent_files(a) for a in answers[:4])
    assert audit[0].name == "points/v1/audit.proto"  # the file asked for first, then its imports, direct or not
    assert sorted(f.name for f in audit[1:]) == [
        "google/protobuf/timestamp.proto", "points/v1/balances.proto", "points/v1/directory.proto",
        "points/v1/periods.proto", "points/v1/policies.proto",
    ]  # fmt: skip
    assert [f.name for f in method][0] == [f.name for f in message][0] == "points/v1/work_events.proto"
    assert [f.name for f in health] == ["grpc_health/v1/health.proto"]  # as grpcio-health-checking names it
    assert answers[4].all_extension_numbers_response == reflection_pb2.ExtensionNumberResponse(base_type_name="points.v1.RecordWorkEventRequest")
    assert [(a.error_response.error_code, a.error_response.error_message) for a in answers[5:]] == [
        (grpc.StatusCode.NOT_FOUND.value[0], "not found: file_containing_symbol 'points.v1.Nothing'"),
        (grpc.StatusCode.NOT_FOUND.value[0], "not found: file_by_filename 'points/v1/nothing.proto'"),
        (grpc.StatusCode.NOT_FOUND.value[0], "not found: extension 100 of 'points.v1.RecordWorkEventRequest'"),
        (grpc.StatusCode.NOT_FOUND.value[0], "not found: all_extension_numbers_of_type 'points.v1.Nothing'"),
        (grpc.StatusCode.INVALID_ARGUMENT.value[0], "no request set: ask for one of the message_request fields"),
    ]


@pytest.mark.parametrize("version", VERSIONS)
def test_reflection_of_either_version_needs_a_token_and_turns_off(sqlite_service: PointsService, keys: SigningKeys, version: str) -> None:
    with plaintext_client(sqlite_service, with_jwt(keys)) as client:
        with pytest.raises(grpc.RpcError) as anonymous:
            reflect(client.channel, version, asking(list_services=""))
        [answer] = reflect(client.channel, version, asking(list_services=""), metadata=keys.bearer("carol", ["committee"]))
    with plaintext_client(sqlite_service, with_jwt(keys, reflection=False)) as client:
        with pytest.raises(grpc.RpcError) as off:
            reflect(client.channel, version, asking(list_services=""), metadata=keys.bearer("alice", ["admin"]))

    assert anonymous.value.code() == grpc.StatusCode.UNAUTHENTICATED
    assert "points.v1.WorkEventService" in {s.name for s in answer.list_services_response.service}
    assert off.value.code() == grpc.StatusCode.UNIMPLEMENTED


def every_method() -> list[str]:
    """`package.Service/Method` for every service the server offers, from the descriptors the process has loaded."""
    pool = descriptor_pool.Default()
    offered = [f"{name}/{m.name}" for name in EVERY_SERVICE - {"grpc.reflection.v1.ServerReflection"} for m in pool.FindServiceByName(name).methods]
    return sorted([*offered, "grpc.reflection.v1.ServerReflection/ServerReflectionInfo"])


@pytest.mark.parametrize("protocol", ["grpc-v1", "grpc-v1alpha"])
def test_buf_curl_lists_every_method_of_a_points_serve_process(tmp_path: Path, protocol: str) -> None:
    with serving(f"sqlite:///{tmp_path}/points.db", tmp_path) as served:
        port = served.process.args[3]  # type: ignore[index]  # points serve --port PORT ...
        listed = subprocess.run(
            [str(BUF), "curl", "--protocol", "grpc", "--http2-prior-knowledge", "--reflect-protocol", protocol,
             "--list-methods", f"http://127.0.0.1:{port}"],
            capture_output=True, text=True, timeout=60, check=False,
        )  # fmt: skip

    assert listed.returncode == 0, listed.stderr
    assert listed.stdout.split() == every_method()
