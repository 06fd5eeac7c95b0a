"""The directory through a real server: registrations read back, idempotent, and transfers keep history."""

from __future__ import annotations

from typing import TYPE_CHECKING

import grpc
import pytest

from points.v1 import directory_pb2
from tests.api.calls import Staffed
from tests.api.rich_status import assert_rejected

if TYPE_CHECKING:
    from tests.conftest import Client


def history(employee: directory_pb2.Employee) -> list[tuple[str, str, str, str]]:
    return [(directory_pb2.Role.Name(a.role), a.outlet_id, a.effective_from, a.effective_until) for a in employee.history]


@pytest.fixture
def second_outlet(client: Client, staffed_outlet: Staffed) -> directory_pb2.RegisterOutletResponse:
    """south-07, class C in region south, beside the staffed outlet."""
    return client.directory.RegisterOutlet(
        directory_pb2.RegisterOutletRequest(outlet_id="south-07", outlet_class=directory_pb2.OUTLET_CLASS_C, region="south")
    )


def test_registrations_read_back(client: Client, staffed_outlet: Staffed) -> None:
    outlet = client.directory.GetOutlet(directory_pb2.GetOutletRequest(outlet_id="north-01")).outlet
    employee = client.directory.GetEmployee(directory_pb2.GetEmployeeRequest(employee_id="os-1")).employee

    assert (outlet.outlet_id, outlet.outlet_class, outlet.region) == ("north-01", directory_pb2.OUTLET_CLASS_A, "north")
    assert employee.employee_id == "os-1"
    assert history(employee) == [("ROLE_OPERATIONS_SUPERVISOR", "north-01", "2026-01-01", "")]
    assert employee.current == employee.history[-1]


def test_the_same_registration_again_is_a_replay(client: Client, staffed_outlet: Staffed) -> None:
    outlet = client.directory.RegisterOutlet(
        directory_pb2.RegisterOutletRequest(outlet_id="north-01", outlet_class=directory_pb2.OUTLET_CLASS_A, region="north")
    )
    employee = client.directory.RegisterEmployee(
        directory_pb2.RegisterEmployeeRequest(
            employee_id="sm-1", role=directory_pb2.ROLE_SERVICE_MANAGER, outlet_id="north-01", effective_from="2026-01-01"
        )
    )

    assert (outlet.replayed, employee.replayed) == (True, True)
    assert outlet.position < employee.position == staffed_outlet.position


@pytest.mark.parametrize(
    ("call", "request_message", "reason"),
    [
        (
            "RegisterOutlet",
            directory_pb2.RegisterOutletRequest(outlet_id="north-01", outlet_class=directory_pb2.OUTLET_CLASS_B, region="north"),
            "OUTLET_ALREADY_REGISTERED",
        ),
        (
            "RegisterEmployee",
            directory_pb2.RegisterEmployeeRequest(
                employee_id="sm-1", role=directory_pb2.ROLE_SERVICE_MANAGER, outlet_id="north-01", effective_from="2026-02-01"
            ),
            "EMPLOYEE_ALREADY_REGISTERED",
        ),
    ],
    ids=["outlet", "employee"],
)
def test_another_registration_under_a_taken_id_is_already_exists(
    client: Client, staffed_outlet: Staffed, call: str, request_message: object, reason: str
) -> None:
    with pytest.raises(grpc.RpcError) as caught:
        getattr(client.directory, call)(request_message)

    assert_rejected(caught.value, grpc.StatusCode.ALREADY_EXISTS, reason)
    employee = client.directory.GetEmployee(directory_pb2.GetEmployeeRequest(employee_id="sm-1")).employee
    outlet = client.directory.GetOutlet(directory_pb2.GetOutletRequest(outlet_id="north-01")).outlet
    assert outlet.outlet_class == directory_pb2.OUTLET_CLASS_A
    assert history(employee) == [("ROLE_SERVICE_MANAGER", "north-01", "2026-01-01", "")]


def test_a_transfer_keeps_the_history_and_replays_on_retry(
    client: Client, second_outlet: directory_pb2.RegisterOutletResponse
) -> None:
    transfer = directory_pb2.TransferEmployeeRequest(request_id="t-1", employee_id="sm-1", outlet_id="south-07", effective_from="2026-11-10")

    moved = client.directory.TransferEmployee(transfer)
    retried = client.directory.TransferEmployee(transfer)

    assert (moved.replayed, retried.replayed, retried.position) == (False, True, moved.position)
    assert moved.position > second_outlet.position
    expected = [
        ("ROLE_SERVICE_MANAGER", "north-01", "2026-01-01", "2026-11-10"),
        ("ROLE_SERVICE_MANAGER", "south-07", "2026-11-10", ""),
    ]
    assert history(moved.employee) == history(retried.employee) == expected
    read = client.directory.GetEmployee(directory_pb2.GetEmployeeRequest(employee_id="sm-1")).employee
    assert history(read) == expected and read.current.outlet_id == "south-07"


def test_a_transfer_request_id_reused_for_another_transfer_is_already_exists(
    client: Client, second_outlet: directory_pb2.RegisterOutletResponse
) -> None:
    client.directory.TransferEmployee(
        directory_pb2.TransferEmployeeRequest(request_id="t-1", employee_id="sm-1", outlet_id="south-07", effective_from="2026-11-10")
    )

    with pytest.raises(grpc.RpcError) as caught:
        client.directory.TransferEmployee(
            directory_pb2.TransferEmployeeRequest(request_id="t-1", employee_id="sm-1", outlet_id="south-07", effective_from="2026-11-11")
        )

    assert_rejected(caught.value, grpc.StatusCode.ALREADY_EXISTS, "REQUEST_ID_REUSED")
    read = client.directory.GetEmployee(directory_pb2.GetEmployeeRequest(employee_id="sm-1")).employee
    assert [a.effective_from for a in read.history] == ["2026-01-01", "2026-11-10"]
