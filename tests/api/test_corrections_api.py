"""WorkEventService.CorrectWorkEvent through a real server: what balances and ExplainBalance show, refusals, retries.

Worked numbers (policies/example.toml 2026.1; north-01 is class A; service manager service .35 workload .40;
operations supervisor workload .40):
  sm-1  customer_served 20 on 2026-11-02    20 x .5 x 1.0 = 10     -> 3.5000
        amended to 25                       25 x .5 x 1.0 = 12.5   -> 4.3750
  os-1  counter_authorisation 400           400 x .5 = 200, day cap 150  -> 60.0000
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import TYPE_CHECKING

import grpc
import pytest
from google.protobuf.timestamp_pb2 import Timestamp

from points.v1 import balances_pb2, work_events_pb2
from tests.api.calls import Staffed, balance, work
from tests.api.rich_status import assert_rejected

if TYPE_CHECKING:
    from tests.conftest import Client, Clock


def correction(
    request_id: str,
    event_id: str,
    *,
    employee_id: str = "sm-1",
    reason: str = "miscounted at the counter",
    corrected_by: str = "supervisor s7",
    reverse: bool = False,
    **amend: str,
) -> work_events_pb2.CorrectWorkEventRequest:
    """A reversal (reverse=True) or an amendment of the fields given (kind, quantity, occurred_on)."""
    request = work_events_pb2.CorrectWorkEventRequest(
        request_id=request_id, event_id=event_id, employee_id=employee_id, reason=reason, corrected_by=corrected_by
    )
    if reverse:
        request.reverse = True
    if amend:
        request.amend.CopyFrom(work_events_pb2.Amendment(**amend))
    return request


def explain(client: Client, employee_id: str, period: str, min_position: int) -> balances_pb2.ExplainBalanceResponse:
    return client.balances.ExplainBalance(  # type: ignore[no-any-return]
        balances_pb2.ExplainBalanceRequest(employee_id=employee_id, period=period, min_position=min_position), timeout=10
    )


def explained(response: balances_pb2.ExplainBalanceResponse) -> list[tuple[str, str, str, str, str, str]]:
    """(entry, quantity, points before cap, cap, points, weighted points) of each line."""
    return [(x.entry, x.quantity, x.points_before_cap, x.cap_applied, x.points, x.weighted_points) for x in response.lines]


def balance_known_at(client: Client, employee_id: str, period: str, moment: datetime, min_position: int) -> balances_pb2.GetBalanceResponse:
    stamp = Timestamp()
    stamp.FromDatetime(moment)
    return client.balances.GetBalance(  # type: ignore[no-any-return]
        balances_pb2.GetBalanceRequest(employee_id=employee_id, period=period, min_position=min_position, as_known_at=stamp),
        timeout=10,
    )


@pytest.fixture
def served_twenty(client: Client, staffed_outlet: Staffed) -> work_events_pb2.RecordWorkEventResponse:
    """sm-1 served 20 customers at north-01 on 2026-11-02: 10.0000 points, 3.5000 weighted."""
    return client.work.RecordWorkEvent(work("served-20", "sm-1", "customer_served", "20"))


# -- what the balance shows ----------------------------------------------------------------------


def test_an_amendment_shows_as_a_reversal_and_lines_scored_afresh(
    client: Client, served_twenty: work_events_pb2.RecordWorkEventResponse
) -> None:
    corrected = client.work.CorrectWorkEvent(correction("c-1", served_twenty.event_id, quantity="25"))

    assert (corrected.event_id, corrected.replayed, corrected.reversed) == (served_twenty.event_id, False, False)
    assert [(x.rule_id, x.points, x.weighted_points) for x in corrected.lines] == [("sm-customer-served", "12.5000", "4.3750")]
    response = explain(client, "sm-1", "2026-11", corrected.position)
    assert explained(response) == [
        ("recorded", "20", "10.0000", "", "10.0000", "3.5000"),
        ("reversal", "20", "-10.0000", "", "-10.0000", "-3.5000"),
        ("amended", "25", "12.5000", "", "12.5000", "4.3750"),
    ]
    assert [x.position for x in response.lines] == [served_twenty.position, corrected.position, corrected.position]
    assert (response.balance.total, response.balance.event_count) == ("4.3750", 1)
    assert balance(client.balances, "sm-1", min_position=corrected.position).balance == response.balance


def test_a_reversal_negates_exactly_the_capped_points_booked(client: Client, staffed_outlet: Staffed) -> None:
    recorded = client.work.RecordWorkEvent(work("auth-400", "os-1", "counter_authorisation", "400"))

    corrected = client.work.CorrectWorkEvent(correction("c-1", recorded.event_id, employee_id="os-1", reverse=True))

    assert (corrected.reversed, list(corrected.lines)) == (True, [])
    response = explain(client, "os-1", "2026-11", corrected.position)
    assert explained(response) == [
        ("recorded", "400", "200.0000", "day", "150.0000", "60.0000"),
        ("reversal", "400", "-150.0000", "", "-150.0000", "-60.0000"),
    ]
    assert (response.balance.total, response.balance.event_count) == ("0.0000", 0)


def test_amending_the_date_into_another_month_moves_the_points(
    client: Client, served_twenty: work_events_pb2.RecordWorkEventResponse
) -> None:
    corrected = client.work.CorrectWorkEvent(correction("c-1", served_twenty.event_id, occurred_on="2026-10-30"))

    october = balance(client.balances, "sm-1", "2026-10", min_position=corrected.position).balance
    november = balance(client.balances, "sm-1", "2026-11", min_position=corrected.position).balance
    assert (october.total, october.event_count, november.total, november.event_count) == ("3.5000", 1, "0.0000", 0)
    assert [(x.entry, x.occurred_on, x.booked_period) for x in explain(client, "sm-1", "2026-10", corrected.position).lines] == [
        ("amended", "2026-10-30", "2026-10")
    ]


def test_a_balance_as_known_before_and_after_a_correction(
    client: Client, served_twenty: work_events_pb2.RecordWorkEventResponse, clock: Clock
) -> None:
    between = clock() + timedelta(minutes=30)
    clock.advance(hours=1)
    corrected = client.work.CorrectWorkEvent(correction("c-1", served_twenty.event_id, quantity="25"))

    then = balance_known_at(client, "sm-1", "2026-11", between, corrected.position)
    now = balance_known_at(client, "sm-1", "2026-11", clock(), corrected.position)

    assert (then.balance.total, now.balance.total) == ("3.5000", "4.3750")
    assert then.position >= corrected.position


# -- refusals -------------------------------------------------------------------------------------


def test_a_second_reversal_is_a_failed_precondition(client: Client, served_twenty: work_events_pb2.RecordWorkEventResponse) -> None:
    client.work.CorrectWorkEvent(correction("c-1", served_twenty.event_id, reverse=True))

    with pytest.raises(grpc.RpcError) as refused:
        client.work.CorrectWorkEvent(correction("c-2", served_twenty.event_id, reverse=True))

    assert_rejected(refused.value, grpc.StatusCode.FAILED_PRECONDITION, "ALREADY_REVERSED")


def test_amending_a_reversed_event_is_a_failed_precondition(client: Client, served_twenty: work_events_pb2.RecordWorkEventResponse) -> None:
    client.work.CorrectWorkEvent(correction("c-1", served_twenty.event_id, reverse=True))

    with pytest.raises(grpc.RpcError) as refused:
        client.work.CorrectWorkEvent(correction("c-2", served_twenty.event_id, quantity="25"))

    assert_rejected(refused.value, grpc.StatusCode.FAILED_PRECONDITION, "EVENT_REVERSED")


def test_the_same_correction_again_is_a_replay_with_the_original_position(
    client: Client, served_twenty: work_events_pb2.RecordWorkEventResponse
) -> None:
    first = client.work.CorrectWorkEvent(correction("c-1", served_twenty.event_id, quantity="25"))

    again = client.work.CorrectWorkEvent(correction("c-1", served_twenty.event_id, quantity="25"))

    assert (again.position, again.replayed, list(again.lines)) == (first.position, True, list(first.lines))
    assert len(explain(client, "sm-1", "2026-11", first.position).lines) == 3  # booked once


def test_a_correction_request_id_reused_for_other_content_already_exists(
    client: Client, served_twenty: work_events_pb2.RecordWorkEventResponse
) -> None:
    client.work.CorrectWorkEvent(correction("c-1", served_twenty.event_id, quantity="25"))

    with pytest.raises(grpc.RpcError) as refused:
        client.work.CorrectWorkEvent(correction("c-1", served_twenty.event_id, quantity="30"))

    assert_rejected(refused.value, grpc.StatusCode.ALREADY_EXISTS, "REQUEST_ID_REUSED")


def test_the_event_under_another_employee_is_not_found(client: Client, served_twenty: work_events_pb2.RecordWorkEventResponse) -> None:
    with pytest.raises(grpc.RpcError) as refused:
        client.work.CorrectWorkEvent(correction("c-1", served_twenty.event_id, employee_id="os-1", reverse=True))

    assert_rejected(refused.value, grpc.StatusCode.NOT_FOUND, "WORK_EVENT_NOT_FOUND")
    assert balance(client.balances, "sm-1", min_position=served_twenty.position).balance.total == "3.5000"


@pytest.mark.parametrize(
    ("changes", "field", "reason"),
    [
        ({"reason": ""}, "reason", "MISSING_REASON"),
        ({"corrected_by": ""}, "corrected_by", "MISSING_CORRECTED_BY"),
        ({}, "amend", "MISSING_AMENDMENT"),
        ({"event_id": "E-42", "reverse": True}, "event_id", "MALFORMED_EVENT_ID"),
    ],
)
def test_a_malformed_correction_is_an_invalid_argument(
    client: Client, served_twenty: work_events_pb2.RecordWorkEventResponse, changes: dict[str, object], field: str, reason: str
) -> None:
    fields: dict[str, object] = {"event_id": served_twenty.event_id, **changes}

    with pytest.raises(grpc.RpcError) as refused:
        client.work.CorrectWorkEvent(correction("c-1", **fields))  # type: ignore[arg-type]

    assert_rejected(refused.value, grpc.StatusCode.INVALID_ARGUMENT, reason, field)


@pytest.mark.parametrize(
    ("amend", "field", "reason"),
    [
        ({"quantity": "lots"}, "amend.quantity", "MALFORMED_QUANTITY"),
        ({"occurred_on": "2025-12-31"}, "amend.occurred_on", "NOT_ASSIGNED_ON_DATE"),  # before sm-1's first assignment
    ],
)
def test_a_bad_amendment_names_the_amend_field_of_the_request(
    client: Client, served_twenty: work_events_pb2.RecordWorkEventResponse, amend: dict[str, str], field: str, reason: str
) -> None:
    with pytest.raises(grpc.RpcError) as refused:
        client.work.CorrectWorkEvent(correction("c-1", served_twenty.event_id, **amend))

    assert_rejected(refused.value, grpc.StatusCode.INVALID_ARGUMENT, reason, field)
