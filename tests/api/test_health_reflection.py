"""Health checking and server reflection: a client that knows only the address can find and call the API."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import grpc
import pytest
from google.protobuf import descriptor_pool, message_factory
from grpc_health.v1 import health_pb2, health_pb2_grpc
from grpc_reflection.v1alpha.proto_reflection_descriptor_database import ProtoReflectionDescriptorDatabase

from tests.api.calls import Staffed

if TYPE_CHECKING:
    from tests.conftest import Client


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

    assert {
        "points.v1.DirectoryService",
        "points.v1.WorkEventService",
        "points.v1.BalanceService",
        "grpc.health.v1.Health",
        "grpc.reflection.v1alpha.ServerReflection",
    } <= services


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
