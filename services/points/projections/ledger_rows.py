"""What the ledger books, as rows: a booked line and its lineage (who earned it where, what it is worth), the facts of a work event, a pay month's close, a version's pay rules; points as integer units of 10^-4."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import date, datetime, timezone
from decimal import Decimal
from typing import NamedTuple

from points.domain.pay import PayRules
from points.domain.policy import POINTS_PLACES, PointsLine
from points.domain.work import WorkEvent


def to_units(value: Decimal) -> int:
    units = _UNITS.get(value)
    if units is not None:
        return units
    scaled = value.scaleb(POINTS_PLACES)
    if scaled != scaled.to_integral_value():
        raise ValueError(f"{value} has more than {POINTS_PLACES} decimal places")
    if len(_UNITS) >= 4096:
        _UNITS.clear()
    _UNITS[value] = units = int(scaled)  # equal Decimals (5, 5.0000) have equal units
    return units


_UNITS: dict[Decimal, int] = {}


def from_units(units: int) -> Decimal:
    return Decimal(units).scaleb(-POINTS_PLACES).quantize(Decimal(1).scaleb(-POINTS_PLACES))


def instant_text(moment: datetime) -> str:
    """A UTC timestamp whose text order is its time order."""
    text = _INSTANTS.get(moment)
    if text is None:
        text = moment.astimezone(timezone.utc).isoformat(timespec="microseconds")
        if len(_INSTANTS) >= 1024:
            _INSTANTS.clear()
        _INSTANTS[moment] = text  # equal instants have equal UTC text (events of one batch share a timestamp)
    return text


_INSTANTS: dict[datetime, str] = {}


def attributes_text(attributes: dict[str, str]) -> str:
    return json.dumps(dict(sorted(attributes.items())), ensure_ascii=False) if attributes else "{}"


def month_of_day(day: date) -> str:
    return f"{day.year:04d}-{day.month:02d}"


class LineRow(NamedTuple):
    """One booked line, as the explain table stores it (points in units of 10^-4).

    `entry` says why it was booked: "recorded" (the event's own lines), "reversal"
    (undoing what was booked, before a recalculation or an amendment, or for a reversal),
    "rescored" (recalculated lines) or "amended" (lines of a corrected fact).

    A named tuple: it is its own row of values in LINE_COLUMNS order (no copy to write it).
    """

    position: int
    line_no: int
    event_id: str
    employee_id: str
    month: str
    occurred_on: str
    kind: str
    quantity: str
    rule_id: str
    policy_version: str
    dimension: str
    multiplier: str
    points_before_cap: int
    points: int
    weighted_points: int
    cap_applied: str
    entry: str
    booked_month: str
    recorded_at: str
    event_delta: int  # +1 on the first line of a recorded or amended fact, -1 on the first reversal line
    outlet_id: str  # where the work was done
    role: str  # the employee's role when they did it
    outlet_class: str
    point_value: str  # what one weighted point is worth ("": no value declared)


LINE_COLUMNS = LineRow._fields
LINE_SELECT = ", ".join(LINE_COLUMNS)  # the columns, as a select list


@dataclass(frozen=True)
class NetLine:
    """What is booked for one event and rule, net of earlier reversals (points in units)."""

    event_id: str
    employee_id: str
    month: str
    occurred_on: str
    kind: str
    quantity: str
    rule_id: str
    policy_version: str
    dimension: str
    multiplier: str
    outlet_id: str
    role: str
    outlet_class: str
    point_value: str
    points: int
    weighted_points: int


class LineFacts(NamedTuple):
    """A points line ready to book: its row's columns when no cap cuts it, made once per distinct line."""

    line: PointsLine
    capped: bool  # it has a cap per day or per period (then apply_caps decides its points)
    tail: tuple[str, str, str, str, int, int, int, str]  # rule_id .. cap_applied, as LINE_COLUMNS orders them


def line_facts(line: PointsLine) -> LineFacts:
    points = to_units(line.points)
    return LineFacts(
        line,
        line.cap_per_day is not None or line.cap_per_period is not None,
        (line.rule_id, line.policy_version, line.dimension, str(line.multiplier), points, points, to_units(line.weighted_points), ""),
    )


class WorkFacts(NamedTuple):
    """What the ledger books of a work event, as the view's text columns hold it.

    The projector's decoder builds these straight from a stored WorkEvent.Recorded (see
    decoding.py); work_facts() builds the same from a domain event. The first 13 fields are
    the audit trail's columns after `position`, in AUDIT_EVENT_COLUMNS order.
    """

    event_id: str
    employee_id: str
    outlet_id: str
    role: str
    kind: str
    quantity: str
    occurred_on: str
    occurred_at: str
    recorded_at: str
    recorded_by: str
    source: str
    request_id: str
    attributes: str
    month: str
    day: date
    lines: tuple[LineFacts, ...]
    outlet_class: str


def work_facts(event: WorkEvent.Recorded | WorkEvent.Rescored | WorkEvent.Amended) -> WorkFacts:
    """The facts of a domain event (a Rescored or an Amended event has no audit columns of its own: they are
    empty, but for the outlet, role and class of its lines, "" when the event does not say: then they stay)."""
    day = event.occurred_on
    recorded = isinstance(event, WorkEvent.Recorded)
    return WorkFacts(
        event_id=str(event.originator_id),
        employee_id=event.employee_id,
        outlet_id=event.outlet_id,
        role=event.role,
        kind=event.kind,
        quantity=str(event.quantity),
        occurred_on=day.isoformat(),
        occurred_at=instant_text(event.occurred_at) if recorded and event.occurred_at else "",
        recorded_at=instant_text(event.timestamp),
        recorded_by=event.recorded_by if recorded else "",
        source=event.source if recorded else "",
        request_id=event.request_id if recorded else "",
        attributes=attributes_text(event.attributes) if recorded else "{}",
        month=month_of_day(day),
        day=day,
        lines=tuple(line_facts(line) for line in event.lines),
        outlet_class=event.outlet_class,
    )


@dataclass(frozen=True)
class PeriodCloseRow:
    period: str
    position: int
    closed_at: str
    closed_by: str
    reason: str
    proposed_by: str = ""  # "" for a close without a proposal


@dataclass(frozen=True)
class PayRulesRow:
    """A published policy version's [pay] table, at its place in the log ("" rules: the version declares none)."""

    position: int
    version: str
    effective_from: str
    rules: str  # PayRules.to_json()

    def parsed(self) -> PayRules | None:
        return PayRules.from_json(self.rules) if self.rules else None


class PointValues:
    """What a weighted point is worth on a date, for a role and outlet class, under the versions published so far."""

    def __init__(self, rows: list[PayRulesRow]) -> None:
        self.schedule: list[tuple[str, PayRules | None]] = []  # (effective_from, rules), in publication (and date) order
        self._values: dict[tuple[str, str, str], str] = {}  # (day, role, class) -> value, for one schedule
        for row in rows:
            self.add(row)

    def add(self, row: PayRulesRow) -> None:
        self.schedule.append((row.effective_from, row.parsed()))
        self._values.clear()

    def value(self, occurred_on: str, role: str, outlet_class: str) -> str:
        key = (occurred_on, role, outlet_class)
        value = self._values.get(key)
        if value is None:
            rules = None
            for effective_from, published in self.schedule:  # in effective-date order: the last one on or before the day
                if effective_from <= occurred_on:
                    rules = published
            found = rules.value_of(role, outlet_class) if rules is not None else None
            value = self._values[key] = "" if found is None else str(found)
        return value


AUDIT_EVENT_COLUMNS = (
    "position", "event_id", "employee_id", "outlet_id", "role", "kind", "quantity", "occurred_on", "occurred_at",
    "recorded_at", "recorded_by", "source", "request_id", "attributes", "status",
)  # fmt: skip


CORRECTION_COLUMNS = (
    "position", "event_id", "action", "request_id", "reason", "corrected_by", "recorded_at", "kind", "quantity", "occurred_on",
)  # fmt: skip
