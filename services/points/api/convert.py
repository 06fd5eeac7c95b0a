"""Translations between protobuf messages and the application's plain data."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from points.application.results import AssignmentView, BalanceView, EmployeeView, OutletView, WorkRecorded
from points.projections.ledger import LineRow, from_units
from points.v1 import balances_pb2, directory_pb2, work_events_pb2

ROLE_PREFIX = "ROLE_"
CLASS_PREFIX = "OUTLET_CLASS_"


def role_name(value: int) -> str:
    """ROLE_SERVICE_MANAGER -> 'service_manager'; unspecified -> ''; an unknown number keeps its number."""
    if value == directory_pb2.ROLE_UNSPECIFIED:
        return ""
    try:
        return directory_pb2.Role.Name(value)[len(ROLE_PREFIX) :].lower()
    except ValueError:
        return f"role_{value}"


def role_value(name: str) -> int:
    try:
        return directory_pb2.Role.Value(ROLE_PREFIX + name.upper())
    except ValueError:
        return directory_pb2.ROLE_UNSPECIFIED


def outlet_class_name(value: int) -> str:
    if value == directory_pb2.OUTLET_CLASS_UNSPECIFIED:
        return ""
    try:
        return directory_pb2.OutletClass.Name(value)[len(CLASS_PREFIX) :]
    except ValueError:
        return f"class_{value}"


def outlet_class_value(name: str) -> int:
    return directory_pb2.OutletClass.Value(CLASS_PREFIX + name)


def iso(day: date | None) -> str:
    return day.isoformat() if day else ""


def decimal_text(value: Decimal) -> str:
    return format(value, "f")


def outlet_message(outlet: OutletView) -> directory_pb2.Outlet:
    return directory_pb2.Outlet(
        outlet_id=outlet.outlet_id, outlet_class=outlet_class_value(outlet.outlet_class), region=outlet.region
    )


def assignment_message(a: AssignmentView) -> directory_pb2.Assignment:
    return directory_pb2.Assignment(
        role=role_value(a.role), outlet_id=a.outlet_id, effective_from=iso(a.effective_from), effective_until=iso(a.effective_until)
    )


def employee_message(employee: EmployeeView) -> directory_pb2.Employee:
    return directory_pb2.Employee(
        employee_id=employee.employee_id,
        current=assignment_message(employee.current),
        history=[assignment_message(a) for a in employee.history],
    )


def recorded_message(result: WorkRecorded) -> work_events_pb2.RecordWorkEventResponse:
    return work_events_pb2.RecordWorkEventResponse(
        event_id=result.event_id,
        points=decimal_text(result.points),
        lines=[
            work_events_pb2.PointsLine(
                rule_id=line.rule_id,
                policy_version=line.policy_version,
                dimension=line.dimension,
                points=decimal_text(line.points),
                weighted_points=decimal_text(line.weighted_points),
            )
            for line in result.lines
        ],
        position=result.position,
        replayed=result.replayed,
        period=result.period,
    )


def balance_message(balance: BalanceView) -> balances_pb2.Balance:
    return balances_pb2.Balance(
        employee_id=balance.employee_id,
        period=balance.period,
        total=decimal_text(balance.total),
        dimensions=[
            balances_pb2.DimensionPoints(
                dimension=d.dimension, points=decimal_text(d.points), weighted_points=decimal_text(d.weighted_points)
            )
            for d in balance.dimensions
        ],
        event_count=balance.event_count,
    )


def explained_line_message(line: LineRow) -> balances_pb2.ExplainedLine:
    return balances_pb2.ExplainedLine(
        event_id=line.event_id,
        position=line.position,
        occurred_on=line.occurred_on,
        kind=line.kind,
        quantity=line.quantity,
        rule_id=line.rule_id,
        policy_version=line.policy_version,
        dimension=line.dimension,
        multiplier=line.multiplier,
        points_before_cap=decimal_text(from_units(line.points_before_cap)),
        cap_applied=line.cap_applied,
        points=decimal_text(from_units(line.points)),
        weighted_points=decimal_text(from_units(line.weighted_points)),
        entry=line.entry,
    )
