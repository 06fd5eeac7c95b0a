"""Outlet scope through a real server on both stores: a recorder credits only employees of its own outlets.

The employee's outlet is looked up by the server, never taken from the request; an employee
out of scope and one that does not exist get the same answer; a refused write stores nothing.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from uuid import UUID

import grpc
import pytest

from points.server import PointsService
from points.v1 import balances_pb2, directory_pb2, work_events_pb2
from tests.api.calls import WORK_DAY, work
from tests.api.rich_status import assert_rejected, rich_error
from tests.api.secured import Metadata, SigningKeys, plaintext_client, with_jwt
from tests.conftest import Client

DENIED = grpc.StatusCode.PERMISSION_DENIED


@dataclass
class Outlets:
    """Two staffed outlets and callers: recorders and supervisors at each, payroll, an admin."""

    client: Client
    keys: SigningKeys
    admin: Metadata
    payroll: Metadata
    north_recorder: Metadata
    south_recorder: Metadata
    north_supervisor: Metadata


@pytest.fixture
def outlets(service: PointsService, keys: SigningKeys) -> Iterator[Outlets]:
    """north-01 with sm-n, south-01 with sm-s (both service managers from 2026-01-01)."""
    with plaintext_client(service, with_jwt(keys)) as client:
        admin = keys.bearer("admin-1", ["admin"])
        for outlet, employee, outlet_class in (("north-01", "sm-n", directory_pb2.OUTLET_CLASS_A), ("south-01", "sm-s", directory_pb2.OUTLET_CLASS_C)):
            client.directory.RegisterOutlet(directory_pb2.RegisterOutletRequest(outlet_id=outlet, outlet_class=outlet_class, region="r"), metadata=admin)
            client.directory.RegisterEmployee(
                directory_pb2.RegisterEmployeeRequest(
                    employee_id=employee, role=directory_pb2.ROLE_SERVICE_MANAGER, outlet_id=outlet, effective_from="2026-01-01"
                ),
                metadata=admin,
            )
        yield Outlets(
            client=client,
            keys=keys,
            admin=admin,
            payroll=keys.bearer("payroll-system", ["payroll"]),
            north_recorder=keys.bearer("counter-north", ["recorder"], ["north-01"]),
            south_recorder=keys.bearer("counter-south", ["recorder"], ["south-01"]),
            north_supervisor=keys.bearer("os-north", ["supervisor"], ["north-01"]),
        )


def event_count(o: Outlets, employee_id: str, min_position: int = 0) -> int:
    return balance_as(o, employee_id, min_position).balance.event_count


def balance_as(o: Outlets, employee_id: str, min_position: int = 0, caller: Metadata | None = None) -> balances_pb2.GetBalanceResponse:
    """The November balance, read as payroll unless another caller is given."""
    return o.client.balances.GetBalance(
        balances_pb2.GetBalanceRequest(employee_id=employee_id, period="2026-11", min_position=min_position), metadata=caller or o.payroll, timeout=10
    )


def test_a_recorder_credits_its_own_outlets_employee(outlets: Outlets) -> None:
    recorded = outlets.client.work.RecordWorkEvent(work("n-1", "sm-n", "counter_transaction", "3"), metadata=outlets.north_recorder)

    assert recorded.replayed is False
    assert event_count(outlets, "sm-n", recorded.position) == 1


def test_a_recorder_crediting_another_outlets_employee_is_denied_and_nothing_is_stored(outlets: Outlets) -> None:
    with pytest.raises(grpc.RpcError) as caught:
        outlets.client.work.RecordWorkEvent(work("x-1", "sm-s", "counter_transaction", "3"), metadata=outlets.north_recorder)

    assert_rejected(caught.value, DENIED, "OUTLET_NOT_IN_SCOPE")
    later = outlets.client.work.RecordWorkEvent(work("x-1", "sm-s", "customer_served", "1"), metadata=outlets.south_recorder)
    assert later.replayed is False  # the request_id was never taken
    assert event_count(outlets, "sm-s", later.position) == 1


def test_an_unknown_employee_looks_exactly_like_one_out_of_scope(outlets: Outlets) -> None:
    answers = []
    for employee_id in ("sm-s", "nobody"):
        with pytest.raises(grpc.RpcError) as caught:
            outlets.client.work.RecordWorkEvent(work("probe-1", employee_id, "counter_transaction", "1"), metadata=outlets.north_recorder)
        refused = rich_error(caught.value)
        answers.append((refused.code, refused.reason, refused.message.replace(repr(employee_id), "<id>")))

    assert answers[0] == answers[1] == (DENIED, "OUTLET_NOT_IN_SCOPE", f"employee <id> was not at an outlet you act for on {WORK_DAY}")


@pytest.mark.parametrize("read", ["GetEmployee", "GetBalance"])
def test_a_supervisor_reads_only_its_outlets_employees(outlets: Outlets, read: str) -> None:
    def call(employee_id: str) -> object:
        if read == "GetEmployee":
            return outlets.client.directory.GetEmployee(directory_pb2.GetEmployeeRequest(employee_id=employee_id), metadata=outlets.north_supervisor)
        return balance_as(outlets, employee_id, caller=outlets.north_supervisor)

    assert call("sm-n") is not None
    for employee_id in ("sm-s", "nobody"):
        with pytest.raises(grpc.RpcError) as caught:
            call(employee_id)
        assert_rejected(caught.value, DENIED, "OUTLET_NOT_IN_SCOPE")


def test_payroll_sees_every_outlet_and_a_true_not_found(outlets: Outlets) -> None:
    assert event_count(outlets, "sm-s") == 0
    with pytest.raises(grpc.RpcError) as caught:
        balance_as(outlets, "nobody")

    assert_rejected(caught.value, grpc.StatusCode.NOT_FOUND, "EMPLOYEE_NOT_FOUND")


def test_a_batch_with_one_employee_out_of_scope_is_denied_whole(outlets: Outlets) -> None:
    batch = work_events_pb2.RecordWorkEventsRequest(
        requests=[work("b-1", "sm-n", "counter_transaction", "1"), work("b-2", "sm-s", "counter_transaction", "1")]
    )

    with pytest.raises(grpc.RpcError) as caught:
        outlets.client.work.RecordWorkEvents(batch, metadata=outlets.north_recorder)

    assert_rejected(caught.value, DENIED, "OUTLET_NOT_IN_SCOPE")
    later = outlets.client.work.RecordWorkEvent(work("b-1", "sm-n", "customer_served", "1"), metadata=outlets.north_recorder)
    assert later.replayed is False
    assert event_count(outlets, "sm-n", later.position) == 1


def test_naming_another_outlet_as_where_the_work_was_done_is_denied(outlets: Outlets) -> None:
    """`outlet_id` can change the points (multipliers by outlet class), so it must be in scope too."""
    with pytest.raises(grpc.RpcError) as caught:
        outlets.client.work.RecordWorkEvent(work("o-1", "sm-n", "counter_transaction", "1", outlet_id="south-01"), metadata=outlets.north_recorder)

    assert_rejected(caught.value, DENIED, "OUTLET_NOT_IN_SCOPE")


def test_recorded_by_is_the_caller(outlets: Outlets, service: PointsService) -> None:
    recorded = outlets.client.work.RecordWorkEvent(work("r-1", "sm-n", "counter_transaction", "1"), metadata=outlets.north_recorder)
    same = outlets.client.work.RecordWorkEvent(work("r-2", "sm-n", "counter_transaction", "1", recorded_by="counter-north"), metadata=outlets.north_recorder)

    assert [service.app.work_event(UUID(r.event_id)).recorded_by for r in (recorded, same)] == ["counter-north"] * 2  # type: ignore[union-attr]
    with pytest.raises(grpc.RpcError) as caught:
        outlets.client.work.RecordWorkEvent(work("r-3", "sm-n", "counter_transaction", "1", recorded_by="someone-else"), metadata=outlets.north_recorder)
    assert_rejected(caught.value, DENIED, "RECORDED_BY_NOT_CALLER")


def test_after_a_transfer_the_scope_follows_the_employee(outlets: Outlets) -> None:
    outlets.client.directory.TransferEmployee(
        directory_pb2.TransferEmployeeRequest(request_id="t-1", employee_id="sm-n", outlet_id="south-01", effective_from="2026-11-10"),
        metadata=outlets.admin,
    )

    with pytest.raises(grpc.RpcError) as caught:
        outlets.client.work.RecordWorkEvent(work("t-n", "sm-n", "counter_transaction", "1", occurred_on="2026-11-20"), metadata=outlets.north_recorder)
    assert_rejected(caught.value, DENIED, "OUTLET_NOT_IN_SCOPE")
    recorded = outlets.client.work.RecordWorkEvent(work("t-s", "sm-n", "counter_transaction", "1", occurred_on="2026-11-20"), metadata=outlets.south_recorder)
    assert recorded.replayed is False


def test_an_unscoped_role_lifts_the_scope_of_a_scoped_one(outlets: Outlets) -> None:
    both = outlets.keys.bearer("os-north-payroll", ["supervisor", "payroll"], ["north-01"])

    read = outlets.client.directory.GetEmployee(directory_pb2.GetEmployeeRequest(employee_id="sm-s"), metadata=both)

    assert read.employee.current.outlet_id == "south-01"


def test_a_role_that_may_not_write_is_denied_before_anything_is_stored(outlets: Outlets) -> None:
    with pytest.raises(grpc.RpcError) as caught:
        outlets.client.work.RecordWorkEvent(work("p-1", "sm-n", "counter_transaction", "1"), metadata=outlets.payroll)

    assert_rejected(caught.value, DENIED, "ROLE_NOT_ALLOWED")
    later = outlets.client.work.RecordWorkEvent(work("p-1", "sm-n", "customer_served", "1"), metadata=outlets.north_recorder)
    assert later.replayed is False
    assert event_count(outlets, "sm-n", later.position) == 1
