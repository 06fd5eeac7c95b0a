"""Translations between protobuf messages and the application's plain data."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, datetime
from decimal import Decimal

from google.protobuf.message import Message

from points.application.balances import LedgerEntry, StatementView
from points.application.results import AssignmentView, BalanceView, DimensionBalance, EmployeeView, OutletView, WorkRecorded
from points.domain.errors import Violations
from points.domain.policy import PointsLine
from points.domain.values import parse_instant
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


def points_line_message(line: PointsLine) -> work_events_pb2.PointsLine:
    return work_events_pb2.PointsLine(
        rule_id=line.rule_id,
        policy_version=line.policy_version,
        dimension=line.dimension,
        points=decimal_text(line.points),
        weighted_points=decimal_text(line.weighted_points),
    )


def instant_or_none(message: Message, field: str) -> datetime | None:
    """A Timestamp field as an aware datetime; out-of-range values are bad input, not a crash."""
    if not message.HasField(field):
        return None
    stamp = getattr(message, field)
    v = Violations()
    moment = parse_instant(v, field, stamp.seconds, stamp.nanos)
    v.raise_if_any()
    return moment


def recorded_message(result: WorkRecorded) -> work_events_pb2.RecordWorkEventResponse:
    message = work_events_pb2.RecordWorkEventResponse()
    fill_recorded(message, result, {})
    return message


def fill_recorded(
    message: work_events_pb2.RecordWorkEventResponse, result: WorkRecorded, line_messages: dict[int, work_events_pb2.PointsLine]
) -> None:
    """Fills an empty message with one recorded result (RecordWorkEvent's answer, or one result of a batch).

    `line_messages` holds the message of each PointsLine already converted for this response, by the
    line's id(): the caller keeps every result (so every line) alive while the dict lives, so an id
    names one line throughout. The events of a batch scored alike share their (immutable) lines.
    """
    message.event_id = result.event_id
    message.points = decimal_text(result.points)
    lines = message.lines
    for line in result.lines:
        line_message = line_messages.get(id(line))
        if line_message is None:
            line_message = line_messages[id(line)] = points_line_message(line)
        lines.append(line_message)  # appends a copy
    message.position = result.position
    message.replayed = result.replayed
    message.period = result.period


def balance_message(balance: BalanceView) -> balances_pb2.Balance:
    return balances_pb2.Balance(
        employee_id=balance.employee_id,
        period=balance.period,
        total=decimal_text(balance.total),
        dimensions=dimension_messages(balance.dimensions),
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
        booked_period=line.booked_month,
    )


def dimension_messages(dimensions: Sequence[DimensionBalance]) -> list[balances_pb2.DimensionPoints]:
    return [
        balances_pb2.DimensionPoints(dimension=d.dimension, points=decimal_text(d.points), weighted_points=decimal_text(d.weighted_points))
        for d in dimensions
    ]


def statement_message(statement: StatementView) -> balances_pb2.Statement:
    return balances_pb2.Statement(
        employee_id=statement.employee_id,
        period=statement.period,
        total=decimal_text(statement.total),
        dimensions=dimension_messages(statement.dimensions),
        adjustments=[
            balances_pb2.Adjustment(from_period=m, dimension=d, points=decimal_text(p), weighted_points=decimal_text(w))
            for m, d, p, w in statement.adjustments
        ],
        event_count=statement.event_count,
        closed=statement.closed,
        statement_digest=statement.digest,
    )


def ledger_entry_message(entry: LedgerEntry) -> balances_pb2.WatchLedgerResponse:
    message = balances_pb2.WatchLedgerResponse(position=entry.position, lines=[explained_line_message(x) for x in entry.lines])
    if entry.close is not None:
        message.period_closed.CopyFrom(
            balances_pb2.PeriodClosed(period=entry.close.period, closed_by=entry.close.closed_by, close_time=entry.close.closed_at)
        )
    return message
