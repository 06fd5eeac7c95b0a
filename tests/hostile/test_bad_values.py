"""Attacks with bad values that used to reach INTERNAL or be taken for something else (SQLite and PostgreSQL).

Years past 9998 in ranking periods (the month after overflowed the calendar), TOML nested past
the interpreter's recursion limit, NUL in a filter (PostgreSQL's text cannot hold it), health
`List`, and digits that are not ASCII (`١٢` was read as 12).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

import grpc
import pytest
from google.protobuf import message_factory
from google.protobuf.descriptor import FieldDescriptor
from grpc_health.v1 import health_pb2, health_pb2_grpc

from points.server import SERVICE_NAMES
from points.v1 import (
    audit_pb2,
    audit_pb2_grpc,
    balances_pb2,
    directory_pb2,
    policies_pb2,
    policies_pb2_grpc,
    rankings_pb2,
    rankings_pb2_grpc,
)
from tests.api.calls import Staffed, work
from tests.api.rich_status import assert_rejected
from tests.conftest import Client
from tests.faults.hostile import rpc_methods
from tests.hostile.test_page_tokens import EXAMPLE_POLICY

ROLE = directory_pb2.ROLE_OPERATIONS_SUPERVISOR
NEVER = {grpc.StatusCode.INTERNAL, grpc.StatusCode.UNKNOWN}


def rankings(client: Client) -> rankings_pb2_grpc.RankingServiceStub:
    return rankings_pb2_grpc.RankingServiceStub(client.channel)


RANKING_CALLS: dict[str, Callable[[Client, str], Any]] = {
    "GetRanking": lambda c, p: rankings(c).GetRanking(rankings_pb2.GetRankingRequest(period=p, role=ROLE), timeout=10),
    "SimulateRanking": lambda c, p: rankings(c).SimulateRanking(
        rankings_pb2.SimulateRankingRequest(period=p, role=ROLE, candidate_policy=EXAMPLE_POLICY), timeout=10
    ),
    "PublishRanking": lambda c, p: rankings(c).PublishRanking(
        rankings_pb2.PublishRankingRequest(request_id="pub-1", period=p, role=ROLE, reason="year end", published_by="hq"), timeout=10
    ),
    "GetPublishedRanking": lambda c, p: rankings(c).GetPublishedRanking(rankings_pb2.GetPublishedRankingRequest(period=p, role=ROLE), timeout=10),
}


@pytest.mark.parametrize("period", ["9999", "9999-12", "9999-Q4"])
@pytest.mark.parametrize("rpc", RANKING_CALLS)
def test_a_ranking_period_in_year_9999_is_invalid_argument(rpc: str, period: str, client: Client, staffed_outlet: Staffed) -> None:
    with pytest.raises(grpc.RpcError) as caught:
        RANKING_CALLS[rpc](client, period)
    assert_rejected(caught.value, grpc.StatusCode.INVALID_ARGUMENT, "MALFORMED_PERIOD", "period")


def test_dates_and_periods_outside_1900_to_9998_are_invalid_argument(client: Client, staffed_outlet: Staffed) -> None:
    for period in ("9999", "9999-12", "1899-12"):
        with pytest.raises(grpc.RpcError) as caught:
            client.balances.GetBalance(balances_pb2.GetBalanceRequest(employee_id="os-1", period=period), timeout=10)
        assert_rejected(caught.value, grpc.StatusCode.INVALID_ARGUMENT, "MALFORMED_PERIOD", "period")
    policies = policies_pb2_grpc.PolicyServiceStub(client.channel)
    for day in ("9999-12-31", "1899-12-31"):
        with pytest.raises(grpc.RpcError) as caught:
            policies.GetPolicy(policies_pb2.GetPolicyRequest(in_force_on=day), timeout=10)
        assert_rejected(caught.value, grpc.StatusCode.INVALID_ARGUMENT, "MALFORMED_DATE", "in_force_on")


def nested(depth: int) -> str:
    return EXAMPLE_POLICY + "\nextra = " + "[" * depth + "]" * depth + "\n"


def test_a_policy_nested_900_deep_is_invalid_argument_without_a_traceback(
    client: Client, staffed_outlet: Staffed, caplog: pytest.LogCaptureFixture
) -> None:
    policies = policies_pb2_grpc.PolicyServiceStub(client.channel)
    caplog.set_level(logging.DEBUG)
    for document in (nested(900), EXAMPLE_POLICY + "\nextra = " + "{a=" * 900 + "1" + "}" * 900 + "\n"):
        with pytest.raises(grpc.RpcError) as caught:
            policies.PublishPolicy(policies_pb2.PublishPolicyRequest(document=document, reason="r", published_by="hq"), timeout=10)
        rich = assert_rejected(caught.value, grpc.StatusCode.INVALID_ARGUMENT, "INVALID_POLICY")
        assert "nested" in rich.message
        with pytest.raises(grpc.RpcError) as caught:
            rankings(client).SimulateRanking(
                rankings_pb2.SimulateRankingRequest(period="2026-11", role=ROLE, candidate_policy=document), timeout=10
            )
        assert_rejected(caught.value, grpc.StatusCode.INVALID_ARGUMENT, "INVALID_POLICY")
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR or r.exc_info], "a refused document must not be logged as an error"
    assert sum(r.getMessage().count("\n") + 1 for r in caplog.records) < 50


def test_nesting_within_the_limit_is_only_the_policy_s_business(client: Client) -> None:
    policies = policies_pb2_grpc.PolicyServiceStub(client.channel)
    with pytest.raises(grpc.RpcError) as caught:
        policies.PublishPolicy(policies_pb2.PublishPolicyRequest(document=nested(20), reason="r", published_by="hq"), timeout=10)
    rich = assert_rejected(caught.value, grpc.StatusCode.INVALID_ARGUMENT, "INVALID_POLICY")
    assert "nested" not in rich.message and "extra" in rich.message  # an unknown key, not a nesting refusal
    strings = EXAMPLE_POLICY + '\nnote = "' + "[" * 100 + '"\n'  # brackets in a string are not nesting
    with pytest.raises(grpc.RpcError) as caught:
        policies.PublishPolicy(policies_pb2.PublishPolicyRequest(document=strings, reason="r", published_by="hq"), timeout=10)
    assert "nested" not in caught.value.details()


def string_fields(descriptor: Any) -> list[str]:
    return [f.name for f in descriptor.fields if f.type == FieldDescriptor.TYPE_STRING and not f.is_repeated]


NUL_CASES = [(rpc, name) for rpc in rpc_methods() for name in string_fields(rpc.method.input_type)]


@pytest.mark.parametrize(("rpc", "field"), NUL_CASES, ids=[f"{rpc}.{name}" for rpc, name in NUL_CASES])
def test_nul_in_any_string_field_is_never_internal(rpc: Any, field: str, client: Client, staffed_outlet: Staffed) -> None:
    request = message_factory.GetMessageClass(rpc.method.input_type)(**{field: "os\x00-1"})
    parse = message_factory.GetMessageClass(rpc.method.output_type).FromString
    try:
        if rpc.streams:
            call = client.channel.unary_stream(rpc.path, request_serializer=lambda m: m.SerializeToString(), response_deserializer=parse)
            for _ in call(request, timeout=2):
                pass
        else:
            client.channel.unary_unary(rpc.path, request_serializer=lambda m: m.SerializeToString(), response_deserializer=parse)(
                request, timeout=5
            )
    except grpc.RpcError as error:
        assert error.code() not in NEVER, (rpc.path, field, error.code(), error.details())


def test_nul_in_the_work_event_filters_is_a_field_violation(client: Client) -> None:
    audit = audit_pb2_grpc.AuditServiceStub(client.channel)
    with pytest.raises(grpc.RpcError) as caught:
        audit.ListWorkEvents(audit_pb2.ListWorkEventsRequest(recorded_by="a\x00b"), timeout=10)
    assert_rejected(caught.value, grpc.StatusCode.INVALID_ARGUMENT, "CONTROL_CHARACTERS", "recorded_by")
    for name in ("caller", "method"):
        with pytest.raises(grpc.RpcError) as caught:
            audit.ListAccessRecords(audit_pb2.ListAccessRecordsRequest(**{name: "a\x00b"}), timeout=10)
        assert_rejected(caught.value, grpc.StatusCode.INVALID_ARGUMENT, "CONTROL_CHARACTERS", name)


def test_health_list_answers_every_service(client: Client) -> None:
    listed = health_pb2_grpc.HealthStub(client.channel).List(health_pb2.HealthListRequest(), timeout=10)
    assert dict(listed.statuses).keys() == {"", *SERVICE_NAMES}
    assert {s.status for s in listed.statuses.values()} == {health_pb2.HealthCheckResponse.SERVING}


def test_a_quantity_in_other_digits_is_malformed(client: Client, staffed_outlet: Staffed) -> None:
    for n, quantity in enumerate(("١٢", "１２", "12\u0660")):
        with pytest.raises(grpc.RpcError) as caught:
            client.work.RecordWorkEvent(work(f"q-{n}", staffed_outlet.manager_id, "customer_served", quantity), timeout=10)
        assert_rejected(caught.value, grpc.StatusCode.INVALID_ARGUMENT, "MALFORMED_QUANTITY", "quantity")


def test_a_period_or_date_in_other_digits_is_malformed(client: Client, staffed_outlet: Staffed) -> None:
    for period in ("٢٠٢٦", "٢٠٢٦-١١", "２０２６-Q4"):
        with pytest.raises(grpc.RpcError) as caught:
            client.balances.GetBalance(balances_pb2.GetBalanceRequest(employee_id="os-1", period=period), timeout=10)
        assert_rejected(caught.value, grpc.StatusCode.INVALID_ARGUMENT, "MALFORMED_PERIOD", "period")
    with pytest.raises(grpc.RpcError) as caught:
        client.work.RecordWorkEvent(work("d-1", staffed_outlet.manager_id, "customer_served", "1", occurred_on="٢٠٢٦-١١-٠٢"), timeout=10)
    assert_rejected(caught.value, grpc.StatusCode.INVALID_ARGUMENT, "MALFORMED_DATE", "occurred_on")
