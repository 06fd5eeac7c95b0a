"""Booking a page of the log into ledger rows: caps in log order, corrections, pay-period closes.

Pure: given the events of a page (in log order), the cap usage so far, what is booked for
the events the page corrects, and the last closed pay period, it returns the rows to write.
The views do the reading and writing, in one transaction.

Every row carries two months: `month`, the business month of the work, and `booked_month`,
the pay period it is booked in. They differ only for adjustments: a line whose business
month is already closed is booked in the first open month, so a closed period never moves.

Every row also says who earned it where (employee, outlet, role, outlet class) and what one
of its weighted points is worth (`point_value`): the value the policy in force on its
business date declares, as published when the line is booked (policy publications are in
the log, so a rebuild values every line as it was valued first). A reversal undoes a line
at the value it was booked with, so money, like points, nets out exactly.
"""

from __future__ import annotations

import json
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date, datetime, timezone
from decimal import Decimal
from typing import NamedTuple

from points.domain.pay import PayRules, pay_rules_of_text
from points.domain.periods import PayCalendar, booking_month
from points.domain.policy import POINTS_PLACES, PointsLine, apply_caps, cap_keys
from points.domain.policy_book import PolicyBook
from points.domain.work import WorkEvent

CapKey = tuple[str, str, str]  # (employee, rule, "day:YYYY-MM-DD" | "month:YYYY-MM")


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


CORRECTIONS = (WorkEvent.Rescored, WorkEvent.Reversed, WorkEvent.Amended)
WITH_LINES = (WorkEvent.Recorded, WorkEvent.Rescored, WorkEvent.Amended)
LedgerEvent = (
    WorkFacts | WorkEvent.Recorded | WorkEvent.Rescored | WorkEvent.Reversed | WorkEvent.Amended | PayCalendar.PeriodClosed
    | PolicyBook.Published
)  # fmt: skip


@dataclass
class Page:
    """The ledger's events of one page of the log, in log order."""

    events: list[tuple[int, LedgerEvent]] = field(default_factory=list)

    def add(self, position: int, event: LedgerEvent) -> None:
        self.events.append((position, event))

    def rebooked_event_ids(self) -> set[str]:
        return {str(e.originator_id) for _, e in self.events if isinstance(e, CORRECTIONS)}

    def cap_keys(self, booked: dict[str, list[NetLine]]) -> set[CapKey]:
        """Usage counters the page may draw on or give back."""
        keys = {
            key
            for _, event in self.events
            if isinstance(event, WITH_LINES)
            for line in event.lines
            for key in cap_keys(event.employee_id, line, event.occurred_on)
        }
        keys.update(
            key
            for _, event in self.events
            if type(event) is WorkFacts
            for facts in event.lines
            if facts.capped
            for key in cap_keys(event.employee_id, facts.line, event.day)
        )
        for lines in booked.values():
            for net in lines:
                keys |= {(net.employee_id, net.rule_id, f"day:{net.occurred_on}"), (net.employee_id, net.rule_id, f"month:{net.month}")}
        return keys


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


@dataclass
class Booking:
    lines: list[LineRow]
    dimensions: list[tuple[str, str, str, str, int, int]]  # employee, booked month, dimension, point value, points, weighted
    usage: list[tuple[str, str, str, int]]  # employee, rule, scope, used (only keys this page touched)
    closes: list[PeriodCloseRow]
    pay_rules: list[PayRulesRow] = field(default_factory=list)
    audit_events: list[tuple[object, ...]] = field(default_factory=list)  # AUDIT_EVENT_COLUMNS
    corrections: list[tuple[object, ...]] = field(default_factory=list)  # CORRECTION_COLUMNS
    statuses: list[tuple[str, str]] = field(default_factory=list)  # (status, event_id)


class _Ledger:
    def __init__(
        self, usage_units: dict[CapKey, int], booked: dict[str, list[NetLine]], closed: set[str], values: PointValues
    ) -> None:
        self.usage = {key: from_units(units) for key, units in usage_units.items()}
        self.touched: set[CapKey] = set()
        # What is booked per event: NetLines read from the view, or this page's LineRows (same field names).
        self.net: dict[str, list[NetLine] | list[LineRow]] = {event_id: list(lines) for event_id, lines in booked.items()}
        self.closed = set(closed)
        self._booked_in: dict[str, str] = {}  # business month -> pay month, while the closed months stay as they are
        self.values = values
        self.lines: list[LineRow] = []
        self.dimensions: dict[tuple[str, str, str, str], list[int]] = defaultdict(lambda: [0, 0])
        self.closes: list[PeriodCloseRow] = []
        self.pay_rules: list[PayRulesRow] = []
        self.audit_events: list[tuple[object, ...]] = []
        self.corrections: list[tuple[object, ...]] = []
        self.statuses: list[tuple[str, str]] = []

    def booked_in(self, month: str) -> str:
        booked = self._booked_in.get(month)
        if booked is None:
            booked = self._booked_in[month] = booking_month(month, self.closed)
        return booked

    def row(self, row: LineRow) -> None:
        self.lines.append(row)
        sums = self.dimensions[(row.employee_id, row.booked_month, row.dimension, row.point_value)]
        sums[0] += row.points
        sums[1] += row.weighted_points

    def book_lines(
        self, position: int, facts: WorkFacts, first_line_no: int, entry: str, counts: int, before: NetLine | LineRow | None = None
    ) -> None:
        """Books the fact's lines; `before` is a line booked for the event earlier, whose outlet, role and
        class stand where the fact does not say (a rescore, an amendment recorded before they were kept)."""
        event_id, employee_id, recorded_at, month = facts.event_id, facts.employee_id, facts.recorded_at, facts.month
        head = (event_id, employee_id, month, facts.occurred_on, facts.kind, facts.quantity)
        booked_month = self.booked_in(month)
        outlet_id, role, outlet_class = facts.outlet_id, facts.role, facts.outlet_class
        if before is not None:
            outlet_id, role = outlet_id or before.outlet_id, role or before.role
            outlet_class = outlet_class or before.outlet_class
        who = (outlet_id, role, outlet_class, self.values.value(facts.occurred_on, role, outlet_class))
        booked = []
        for offset, line in enumerate(facts.lines):
            tail = line.tail
            if line.capped:
                self.touched.update(cap_keys(employee_id, line.line, facts.day))
                capped = apply_caps(employee_id, facts.day, line.line, self.usage)
                tail = (*tail[:5], to_units(capped.points), to_units(capped.weighted_points), capped.cap_applied)
            row = tuple.__new__(
                LineRow,
                (position, first_line_no + offset, *head, *tail, entry, booked_month, recorded_at, counts if offset == 0 else 0, *who),
            )
            self.row(row)
            booked.append(row)
        self.net[event_id] = booked

    def reverse(self, position: int, event: LedgerEvent, counts: int) -> int:
        """Books the negation of what is booked for the event; gives back its cap usage. Returns lines written."""
        reversed_lines = self.net.pop(str(event.originator_id), [])
        for line_no, net in enumerate(reversed_lines):
            self.row(
                LineRow(
                    position=position, line_no=line_no, event_id=net.event_id, employee_id=net.employee_id,
                    month=net.month, occurred_on=net.occurred_on, kind=net.kind, quantity=net.quantity,
                    rule_id=net.rule_id, policy_version=net.policy_version, dimension=net.dimension,
                    multiplier=net.multiplier, points_before_cap=-net.points, points=-net.points,
                    weighted_points=-net.weighted_points, cap_applied="", entry="reversal",
                    booked_month=self.booked_in(net.month), recorded_at=instant_text(event.timestamp),
                    event_delta=counts if line_no == 0 else 0, outlet_id=net.outlet_id, role=net.role,
                    outlet_class=net.outlet_class, point_value=net.point_value,
                )  # fmt: skip
            )
            if net.points > 0:
                for key in ((net.employee_id, net.rule_id, f"day:{net.occurred_on}"), (net.employee_id, net.rule_id, f"month:{net.month}")):
                    if key in self.usage:
                        self.usage[key] = max(self.usage[key] - from_units(net.points), Decimal(0))
                        self.touched.add(key)
        return len(reversed_lines)

    def audit(self, position: int, event: WorkEvent.Reversed | WorkEvent.Amended | WorkEvent.Rescored) -> None:
        """The audit trail's rows of a correction: who and why (a recorded event's row is its facts: see take)."""
        event_id, at = str(event.originator_id), instant_text(event.timestamp)
        if isinstance(event, WorkEvent.Reversed):
            self.corrections.append((position, event_id, "reverse", event.correction_id, event.reason, event.corrected_by, at, "", "", ""))
            self.statuses.append(("reversed", event_id))
        elif isinstance(event, WorkEvent.Amended):
            self.corrections.append(
                (position, event_id, "amend", event.correction_id, event.reason, event.corrected_by, at, event.kind,
                 str(event.quantity), event.occurred_on.isoformat())  # fmt: skip
            )
            self.statuses.append(("amended", event_id))
        elif isinstance(event, WorkEvent.Rescored):
            self.corrections.append(
                (position, event_id, "rescore", event.recalculation_id, event.reason, event.rescored_by, at, "", "", "")
            )

    def close(self, position: int, event: PayCalendar.PeriodClosed) -> None:
        self.closed.add(event.period)
        self._booked_in.clear()
        self.closes.append(
            PeriodCloseRow(event.period, position, instant_text(event.timestamp), event.closed_by, event.reason, event.proposed_by)
        )

    def publish(self, position: int, event: PolicyBook.Published) -> None:
        rules = pay_rules_of_text(event.document)
        row = PayRulesRow(position, event.version, event.effective_from.isoformat(), rules.to_json() if rules else "")
        self.pay_rules.append(row)
        self.values.add(row)

    def take(self, position: int, event: LedgerEvent) -> None:
        if type(event) is WorkEvent.Recorded:
            event = work_facts(event)
        if type(event) is WorkFacts:
            self.audit_events.append((position, *event[:13], "recorded"))
            self.book_lines(position, event, 0, "recorded", counts=+1)
        elif isinstance(event, PayCalendar.PeriodClosed):
            self.close(position, event)
        elif isinstance(event, PolicyBook.Published):
            self.publish(position, event)
        elif isinstance(event, WorkEvent.Reversed):
            self.audit(position, event)
            self.reverse(position, event, counts=-1)
        else:  # rescored or amended: the event's count moves to its new lines with the points
            self.audit(position, event)
            before = self.net.get(str(event.originator_id)) or [None]
            entry = "rescored" if isinstance(event, WorkEvent.Rescored) else "amended"
            self.book_lines(position, work_facts(event), self.reverse(position, event, counts=-1), entry, counts=+1, before=before[0])


def book(
    page: Page,
    usage_units: dict[CapKey, int],
    booked: dict[str, list[NetLine]] | None = None,
    closed: set[str] | frozenset[str] = frozenset(),
    values: PointValues | None = None,
) -> Booking:
    """Books every event of the page, in log order.

    `booked` holds, for each event the page corrects, what was booked for it before; `closed`
    the pay months closed before the page; `values` the point values published before it.
    """
    ledger = _Ledger(usage_units, booked or {}, set(closed), values or PointValues([]))
    for position, event in page.events:
        ledger.take(position, event)
    return Booking(
        lines=ledger.lines,
        dimensions=[(e, m, d, v, p, w) for (e, m, d, v), (p, w) in sorted(ledger.dimensions.items())],
        usage=[(e, r, s, to_units(ledger.usage[(e, r, s)])) for (e, r, s) in sorted(ledger.touched) if (e, r, s) in ledger.usage],
        closes=ledger.closes,
        pay_rules=ledger.pay_rules,
        audit_events=ledger.audit_events,
        corrections=ledger.corrections,
        statuses=ledger.statuses,
    )
