"""Request builders and short calls shared by the API tests; the worked numbers use policies/example.toml."""

from __future__ import annotations

from dataclasses import dataclass

from points.v1 import balances_pb2, directory_pb2, work_events_pb2

OUTLET = "north-01"
SUPERVISOR = "os-1"  # operations_supervisor at OUTLET from 2026-01-01
MANAGER = "sm-1"  # service_manager at OUTLET from 2026-01-01
FIRST_DAY = "2026-01-01"
WORK_DAY = "2026-11-02"  # before the fixture clock's today, 2026-11-28


@dataclass(frozen=True)
class Staffed:
    """An outlet with one operations supervisor and one service manager; `position` is the last write."""

    outlet_id: str
    supervisor_id: str
    manager_id: str
    position: int


def work(request_id: str, employee_id: str, kind: str, quantity: str, occurred_on: str = WORK_DAY, **more: object) -> work_events_pb2.RecordWorkEventRequest:
    return work_events_pb2.RecordWorkEventRequest(
        request_id=request_id, employee_id=employee_id, kind=kind, quantity=quantity, occurred_on=occurred_on, **more
    )


def staff_outlet(directory: object) -> Staffed:
    """Registers OUTLET (class A) with SUPERVISOR and MANAGER through the DirectoryService stub."""
    directory.RegisterOutlet(  # type: ignore[attr-defined]
        directory_pb2.RegisterOutletRequest(outlet_id=OUTLET, outlet_class=directory_pb2.OUTLET_CLASS_A, region="north")
    )
    directory.RegisterEmployee(  # type: ignore[attr-defined]
        directory_pb2.RegisterEmployeeRequest(
            employee_id=SUPERVISOR, role=directory_pb2.ROLE_OPERATIONS_SUPERVISOR, outlet_id=OUTLET, effective_from=FIRST_DAY
        )
    )
    last = directory.RegisterEmployee(  # type: ignore[attr-defined]
        directory_pb2.RegisterEmployeeRequest(
            employee_id=MANAGER, role=directory_pb2.ROLE_SERVICE_MANAGER, outlet_id=OUTLET, effective_from=FIRST_DAY
        )
    )
    return Staffed(OUTLET, SUPERVISOR, MANAGER, last.position)


def balance(balances: object, employee_id: str, period: str = "2026-11", min_position: int = 0, timeout: float = 10) -> balances_pb2.GetBalanceResponse:
    return balances.GetBalance(  # type: ignore[attr-defined, no-any-return]
        balances_pb2.GetBalanceRequest(employee_id=employee_id, period=period, min_position=min_position), timeout=timeout
    )


def dimensions(response: balances_pb2.GetBalanceResponse) -> dict[str, tuple[str, str]]:
    """dimension -> (points, weighted points)"""
    return {d.dimension: (d.points, d.weighted_points) for d in response.balance.dimensions}
