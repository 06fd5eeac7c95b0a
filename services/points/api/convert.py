"""Translations between protobuf messages and the application's plain data."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, datetime
from decimal import Decimal

from google.protobuf.message import Message

from google.protobuf.timestamp_pb2 import Timestamp

from points.application.balances import LedgerEntry
from points.application.results import (
    AssignmentView,
    BalanceView,
    DimensionBalance,
    EmployeeView,
    OutletView,
    ProposalView,
    WorkRecorded,
)
from points.application.statements import StatementView
from points.domain.errors import Violations
from points.domain.pay import PayRules
from points.domain.policy import PointsLine
from points.domain.values import parse_instant
from points.projections.ledger_rows import LineRow, PayRulesRow, from_units
from points.v1 import balances_pb2, directory_pb2, periods_pb2, policies_pb2, work_events_pb2

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
    """'A' -> OUTLET_CLASS_A; '' (or a class the API does not name) -> OUTLET_CLASS_UNSPECIFIED."""
    try:
        return directory_pb2.OutletClass.Value(CLASS_PREFIX + name) if name else directory_pb2.OUTLET_CLASS_UNSPECIFIED
    except ValueError:
        return directory_pb2.OUTLET_CLASS_UNSPECIFIED


def timestamp(moment: datetime | None) -> Timestamp | None:
    if moment is None:
        return None
    stamp = Timestamp()
    stamp.FromDatetime(moment)
    return stamp


def timestamp_of_text(text: str) -> Timestamp | None:
    """A stored ISO 8601 instant ("2026-11-28T09:30:00.000000+00:00") as a Timestamp; empty -> unset."""
    return timestamp(datetime.fromisoformat(text)) if text else None


def text_of_timestamp(message: Message, field: str) -> str:
    """A Timestamp field of a request as ISO 8601 UTC text for a filter; unset -> ""."""
    moment = instant_or_none(message, field)
    return moment.isoformat() if moment is not None else ""


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
        name=employee.name,
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
    message.booked_period = result.booked_period


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
        employee_id=line.employee_id,
        outlet_id=line.outlet_id,
        role=role_value(line.role),
        outlet_class=outlet_class_value(line.outlet_class),
        point_value=line.point_value,
        period=line.month,
    )


def dimension_messages(dimensions: Sequence[DimensionBalance]) -> list[balances_pb2.DimensionPoints]:
    return [
        balances_pb2.DimensionPoints(dimension=d.dimension, points=decimal_text(d.points), weighted_points=decimal_text(d.weighted_points))
        for d in dimensions
    ]


def statement_message(statement: StatementView) -> balances_pb2.Statement:
    employee = statement.employee
    message = balances_pb2.Statement(
        employee_id=statement.employee_id,
        period=statement.period,
        total=decimal_text(statement.total),
        work=dimension_messages(statement.work),
        adjustments=[
            balances_pb2.Adjustment(
                from_period=a.from_period, dimension=a.dimension, points=decimal_text(a.points), weighted_points=decimal_text(a.weighted_points)
            )
            for a in statement.adjustments
        ],
        event_count=statement.event_count,
        closed=statement.closed,
        statement_digest=statement.digest,
        employee=balances_pb2.StatementEmployee(
            name=employee.name, outlet_id=employee.outlet_id, outlet_class=outlet_class_value(employee.outlet_class),
            role=role_value(employee.role),
        ),
    )  # fmt: skip
    pay = statement.pay
    if pay is not None:
        message.pay.CopyFrom(
            balances_pb2.StatementPay(
                currency=pay.rules.currency, exact_amount=decimal_text(pay.exact), gross_amount=decimal_text(pay.gross),
                carried_in=decimal_text(pay.carried_in), amount=decimal_text(pay.amount),
                carried_forward=decimal_text(pay.carried_forward), unvalued_points=decimal_text(pay.unvalued_points),
                decimal_places=pay.rules.decimal_places, rounding=pay.rules.rounding, negative_months=pay.rules.negative_months,
            )  # fmt: skip
        )
    return message


def pay_rules_message(rules: PayRules) -> policies_pb2.PayRules:
    return policies_pb2.PayRules(
        currency=rules.currency,
        decimal_places=rules.decimal_places,
        rounding=rules.rounding,
        negative_months=rules.negative_months,
        point_values=[
            policies_pb2.PayRules.PointValue(role=role_value(role), outlet_class=outlet_class, value=decimal_text(value))
            for role, by_class in sorted(rules.point_values.items())
            for outlet_class, value in sorted(by_class.items())
        ],
    )


def pay_rules_published_message(row: PayRulesRow) -> balances_pb2.PayRulesPublished:
    message = balances_pb2.PayRulesPublished(policy_version=row.version, effective_from=row.effective_from)
    rules = row.parsed()
    if rules is not None:
        message.rules.CopyFrom(pay_rules_message(rules))
    return message


def ledger_entry_message(entry: LedgerEntry) -> balances_pb2.WatchLedgerResponse:
    message = balances_pb2.WatchLedgerResponse(position=entry.position, lines=[explained_line_message(x) for x in entry.lines])
    if entry.close is not None:
        close = entry.close
        message.period_closed.CopyFrom(
            balances_pb2.PeriodClosed(
                period=close.period, closed_by=close.closed_by, close_time=timestamp_of_text(close.closed_at), proposed_by=close.proposed_by,
                reason=close.reason,
            )  # fmt: skip
        )
    if entry.pay_rules is not None:
        message.pay_rules_published.CopyFrom(pay_rules_published_message(entry.pay_rules))
    return message


PROPOSAL_STATES = {
    "pending": periods_pb2.PROPOSAL_STATE_PENDING,
    "approved": periods_pb2.PROPOSAL_STATE_APPROVED,
    "withdrawn": periods_pb2.PROPOSAL_STATE_WITHDRAWN,
}


def proposal_message(proposal: ProposalView) -> periods_pb2.Proposal:
    return periods_pb2.Proposal(
        proposal_id=proposal.proposal_id,
        subject=proposal.subject,
        state=PROPOSAL_STATES[proposal.state],
        proposed_by=proposal.proposed_by,
        propose_time=timestamp(proposal.proposed_at),
        reason=proposal.reason,
        decided_by=proposal.decided_by,
        decide_time=timestamp(proposal.decided_at),
        decision_reason=proposal.decision_reason,
        position=proposal.position,
        decision_position=proposal.decision_position,
    )
