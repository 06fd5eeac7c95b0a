"""Attacks on outlet scope: a recorder must not book work at an outlet it does not act for by backdating it.

An employee moved from south-01 to north-01 on 2026-11-16. North's recorder may credit their
work from then on (booked at north) but not their work before: that is booked at south, with
south's outlet class, so it is south's to record. South's recorder may still record the days
before the move (late feeds are normal) but not the days after. (The test clock's today is
2026-11-28.)
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import grpc
import pytest

from points.server import PointsService
from points.v1 import balances_pb2, directory_pb2, work_events_pb2
from tests.api.calls import work
from tests.api.rich_status import assert_rejected, rich_error
from tests.api.secured import Metadata, SigningKeys, plaintext_client, with_jwt
from tests.conftest import Client

DENIED = grpc.StatusCode.PERMISSION_DENIED


@dataclass
class Moved:
    client: Client
    north_recorder: Metadata
    south_recorder: Metadata
    payroll: Metadata
    north_supervisor: Metadata
    south_supervisor: Metadata


@pytest.fixture
def moved(service: PointsService, keys: SigningKeys) -> Iterator[Moved]:
    """sm-m: service manager at south-01 (class C) from 2026-01-01, transferred to north-01 (class A) on 2026-11-16."""
    with plaintext_client(service, with_jwt(keys)) as client:
        admin = keys.bearer("admin-1", ["admin"])
        for outlet, outlet_class in (("north-01", directory_pb2.OUTLET_CLASS_A), ("south-01", directory_pb2.OUTLET_CLASS_C)):
            client.directory.RegisterOutlet(directory_pb2.RegisterOutletRequest(outlet_id=outlet, outlet_class=outlet_class, region="r"), metadata=admin)
        client.directory.RegisterEmployee(
            directory_pb2.RegisterEmployeeRequest(
                employee_id="sm-m", role=directory_pb2.ROLE_SERVICE_MANAGER, outlet_id="south-01", effective_from="2026-01-01"
            ),
            metadata=admin,
        )
        client.directory.TransferEmployee(
            directory_pb2.TransferEmployeeRequest(request_id="move-1", employee_id="sm-m", outlet_id="north-01", effective_from="2026-11-16"),
            metadata=admin,
        )
        yield Moved(
            client=client,
            north_recorder=keys.bearer("counter-north", ["recorder"], ["north-01"]),
            south_recorder=keys.bearer("counter-south", ["recorder"], ["south-01"]),
            payroll=keys.bearer("payroll-system", ["payroll"]),
            north_supervisor=keys.bearer("os-north", ["supervisor"], ["north-01"]),
            south_supervisor=keys.bearer("os-south", ["supervisor"], ["south-01"]),
        )


def events_in(m: Moved, period: str, min_position: int = 0) -> int:
    return m.client.balances.GetBalance(
        balances_pb2.GetBalanceRequest(employee_id="sm-m", period=period, min_position=min_position), metadata=m.payroll, timeout=10
    ).balance.event_count


def test_a_recorder_cannot_backdate_work_to_when_the_employee_was_at_another_outlet(moved: Moved) -> None:
    with pytest.raises(grpc.RpcError) as caught:
        moved.client.work.RecordWorkEvent(work("back-1", "sm-m", "counter_transaction", "3", "2026-11-10"), metadata=moved.north_recorder)

    assert_rejected(caught.value, DENIED, "OUTLET_NOT_IN_SCOPE")
    assert "2026-11-10" in rich_error(caught.value).message
    later = moved.client.work.RecordWorkEvent(work("after-1", "sm-m", "counter_transaction", "1", "2026-11-20"), metadata=moved.north_recorder)
    assert events_in(moved, "2026-11", later.position) == 1  # the later one only: nothing was booked at south


def test_the_same_backdate_hidden_in_a_batch_denies_the_batch(moved: Moved) -> None:
    batch = work_events_pb2.RecordWorkEventsRequest(
        requests=[work("ok-1", "sm-m", "counter_transaction", "1", "2026-11-20"), work("back-2", "sm-m", "counter_transaction", "1", "2026-11-10")]
    )
    with pytest.raises(grpc.RpcError) as caught:
        moved.client.work.RecordWorkEvents(batch, metadata=moved.north_recorder)

    assert_rejected(caught.value, DENIED, "OUTLET_NOT_IN_SCOPE")


def test_each_outlet_records_the_work_done_while_the_employee_was_there(moved: Moved) -> None:
    before = moved.client.work.RecordWorkEvent(work("s-before", "sm-m", "counter_transaction", "2", "2026-11-10"), metadata=moved.south_recorder)
    after = moved.client.work.RecordWorkEvent(work("n-after", "sm-m", "counter_transaction", "2", "2026-11-20"), metadata=moved.north_recorder)
    with pytest.raises(grpc.RpcError) as caught:
        moved.client.work.RecordWorkEvent(work("s-after", "sm-m", "counter_transaction", "2", "2026-11-20"), metadata=moved.south_recorder)

    assert_rejected(caught.value, DENIED, "OUTLET_NOT_IN_SCOPE")
    assert before.replayed is False and after.replayed is False
    assert events_in(moved, "2026-11", max(before.position, after.position)) == 2


def correction(request_id: str, event_id: str, *, reverse: bool = False, occurred_on: str = "") -> work_events_pb2.CorrectWorkEventRequest:
    request = work_events_pb2.CorrectWorkEventRequest(request_id=request_id, event_id=event_id, employee_id="sm-m", reason="attack")
    if reverse:
        request.reverse = True
    else:
        request.amend.CopyFrom(work_events_pb2.Amendment(occurred_on=occurred_on))
    return request


def test_a_supervisor_cannot_correct_work_booked_at_the_outlet_the_employee_left(moved: Moved) -> None:
    """The employee is north's now, so north's supervisor passes the employee check; the event is south's."""
    at_south = moved.client.work.RecordWorkEvent(work("s-1", "sm-m", "counter_transaction", "4", "2026-11-10"), metadata=moved.south_recorder)

    with pytest.raises(grpc.RpcError) as caught:
        moved.client.work.CorrectWorkEvent(correction("c-1", at_south.event_id, reverse=True), metadata=moved.north_supervisor)
    assert_rejected(caught.value, DENIED, "OUTLET_NOT_IN_SCOPE")
    assert "south-01" in rich_error(caught.value).message
    assert events_in(moved, "2026-11", at_south.position) == 1  # still counted: nothing was reversed


def test_a_supervisor_cannot_move_work_into_another_outlets_days_by_amending_its_date(moved: Moved) -> None:
    at_north = moved.client.work.RecordWorkEvent(work("n-1", "sm-m", "counter_transaction", "4", "2026-11-20"), metadata=moved.north_recorder)

    with pytest.raises(grpc.RpcError) as caught:
        moved.client.work.CorrectWorkEvent(correction("c-2", at_north.event_id, occurred_on="2026-11-10"), metadata=moved.north_supervisor)
    assert_rejected(caught.value, DENIED, "OUTLET_NOT_IN_SCOPE")
    fixed = moved.client.work.CorrectWorkEvent(correction("c-3", at_north.event_id, occurred_on="2026-11-18"), metadata=moved.north_supervisor)
    assert fixed.replayed is False  # within north's days it is north's supervisor's to amend
