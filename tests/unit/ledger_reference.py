"""The ledger booking as it was before the fast page path (commit f0592fa): the reference that tests hold
the current booking to, row for row. Kept verbatim (only this docstring and the copy of that release's
booking_month, which the domain has since replaced, are new); never import it from services.
"""
from __future__ import annotations

import json
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date, datetime, timezone
from decimal import Decimal
from operator import attrgetter

from points.domain.periods import PayCalendar, next_month
from points.domain.policy import POINTS_PLACES, apply_caps, cap_keys
from points.domain.work import WorkEvent

CapKey = tuple[str, str, str]  # (employee, rule, "day:YYYY-MM-DD" | "month:YYYY-MM")


def booking_month(business_month: str, closed_through: str) -> str:
    """Where a line dated in `business_month` is booked when months up to `closed_through` are closed."""
    if closed_through and business_month <= closed_through:
        return next_month(closed_through)
    return business_month


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


@dataclass(frozen=True)
class LineRow:
    """One booked line, as the explain table stores it (points in units of 10^-4).

    `entry` says why it was booked: "recorded" (the event's own lines), "reversal"
    (undoing what was booked, before a recalculation or an amendment, or for a reversal),
    "rescored" (recalculated lines) or "amended" (lines of a corrected fact).
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
    event_delta: int = 0  # +1 on the first line of a recorded or amended fact, -1 on the first reversal line

    def values(self) -> tuple[object, ...]:
        return _line_values(self)  # type: ignore[no-any-return]


LINE_COLUMNS = (
    "position", "line_no", "event_id", "employee_id", "month", "occurred_on", "kind", "quantity", "rule_id",
    "policy_version", "dimension", "multiplier", "points_before_cap", "points", "weighted_points", "cap_applied",
    "entry", "booked_month", "recorded_at", "event_delta",
)  # fmt: skip
_line_values = attrgetter(*LINE_COLUMNS)


def new_line_row(fields: dict[str, object]) -> LineRow:
    """A LineRow from all its fields by name, without the frozen dataclass's per-field __setattr__ (5x faster)."""
    row = object.__new__(LineRow)
    object.__setattr__(row, "__dict__", fields)
    return row


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
    points: int
    weighted_points: int


CORRECTIONS = (WorkEvent.Rescored, WorkEvent.Reversed, WorkEvent.Amended)
WITH_LINES = (WorkEvent.Recorded, WorkEvent.Rescored, WorkEvent.Amended)
LedgerEvent = WorkEvent.Recorded | WorkEvent.Rescored | WorkEvent.Reversed | WorkEvent.Amended | PayCalendar.PeriodClosed


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
    dimensions: list[tuple[str, str, str, int, int]]  # employee, booked month, dimension, points, weighted
    usage: list[tuple[str, str, str, int]]  # employee, rule, scope, used (only keys this page touched)
    closes: list[PeriodCloseRow]
    audit_events: list[tuple[object, ...]] = field(default_factory=list)  # AUDIT_EVENT_COLUMNS
    corrections: list[tuple[object, ...]] = field(default_factory=list)  # CORRECTION_COLUMNS
    statuses: list[tuple[str, str]] = field(default_factory=list)  # (status, event_id)


class _Ledger:
    def __init__(self, usage_units: dict[CapKey, int], booked: dict[str, list[NetLine]], closed_through: str) -> None:
        self.usage = {key: from_units(units) for key, units in usage_units.items()}
        self.touched: set[CapKey] = set()
        # What is booked per event: NetLines read from the view, or this page's LineRows (same field names).
        self.net: dict[str, list[NetLine] | list[LineRow]] = {event_id: list(lines) for event_id, lines in booked.items()}
        self.closed_through = closed_through
        self.lines: list[LineRow] = []
        self.dimensions: dict[tuple[str, str, str], list[int]] = defaultdict(lambda: [0, 0])
        self.closes: list[PeriodCloseRow] = []
        self.audit_events: list[tuple[object, ...]] = []
        self.corrections: list[tuple[object, ...]] = []
        self.statuses: list[tuple[str, str]] = []

    def row(self, row: LineRow) -> None:
        self.lines.append(row)
        sums = self.dimensions[(row.employee_id, row.booked_month, row.dimension)]
        sums[0] += row.points
        sums[1] += row.weighted_points

    def book_lines(
        self, position: int, event: WorkEvent.Recorded | WorkEvent.Rescored | WorkEvent.Amended, first_line_no: int, entry: str, counts: int
    ) -> None:
        day = event.occurred_on
        month = month_of_day(day)
        event_id = str(event.originator_id)
        booked = []
        employee_id, occurred_on, kind, quantity = event.employee_id, day.isoformat(), event.kind, str(event.quantity)
        booked_month, recorded_at = booking_month(month, self.closed_through), instant_text(event.timestamp)
        for offset, line in enumerate(event.lines):
            self.touched.update(cap_keys(employee_id, line, day))
            capped = apply_caps(employee_id, day, line, self.usage)
            row = new_line_row(
                {
                    "position": position,
                    "line_no": first_line_no + offset,
                    "event_id": event_id,
                    "employee_id": employee_id,
                    "month": month,
                    "occurred_on": occurred_on,
                    "kind": kind,
                    "quantity": quantity,
                    "rule_id": line.rule_id,
                    "policy_version": line.policy_version,
                    "dimension": line.dimension,
                    "multiplier": str(line.multiplier),
                    "points_before_cap": to_units(line.points),
                    "points": to_units(capped.points),
                    "weighted_points": to_units(capped.weighted_points),
                    "cap_applied": capped.cap_applied,
                    "entry": entry,
                    "booked_month": booked_month,
                    "recorded_at": recorded_at,
                    "event_delta": counts if offset == 0 else 0,
                }
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
                    booked_month=booking_month(net.month, self.closed_through),
                    recorded_at=instant_text(event.timestamp), event_delta=counts if line_no == 0 else 0,
                )  # fmt: skip
            )
            if net.points > 0:
                for key in ((net.employee_id, net.rule_id, f"day:{net.occurred_on}"), (net.employee_id, net.rule_id, f"month:{net.month}")):
                    if key in self.usage:
                        self.usage[key] = max(self.usage[key] - from_units(net.points), Decimal(0))
                        self.touched.add(key)
        return len(reversed_lines)

    def audit(self, position: int, event: LedgerEvent) -> None:
        """The audit trail's rows: each work event as recorded, each correction with who and why."""
        event_id, at = str(event.originator_id), instant_text(event.timestamp)
        if isinstance(event, WorkEvent.Recorded):
            self.audit_events.append(
                (
                    position, event_id, event.employee_id, event.outlet_id, event.role, event.kind, str(event.quantity),
                    event.occurred_on.isoformat(), instant_text(event.occurred_at) if event.occurred_at else "", at,
                    event.recorded_by, event.source, event.request_id,
                    attributes_text(event.attributes), "recorded",
                )  # fmt: skip
            )
        elif isinstance(event, WorkEvent.Reversed):
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

    def take(self, position: int, event: LedgerEvent) -> None:
        self.audit(position, event)
        if isinstance(event, PayCalendar.PeriodClosed):
            self.closed_through = event.period
            self.closes.append(PeriodCloseRow(event.period, position, instant_text(event.timestamp), event.closed_by, event.reason))
        elif isinstance(event, WorkEvent.Recorded):
            self.book_lines(position, event, 0, "recorded", counts=+1)
        elif isinstance(event, WorkEvent.Rescored):  # the event's count moves to its new lines with the points
            self.book_lines(position, event, self.reverse(position, event, counts=-1), "rescored", counts=+1)
        elif isinstance(event, WorkEvent.Reversed):
            self.reverse(position, event, counts=-1)
        else:
            self.book_lines(position, event, self.reverse(position, event, counts=-1), "amended", counts=+1)


def book(
    page: Page, usage_units: dict[CapKey, int], booked: dict[str, list[NetLine]] | None = None, closed_through: str = ""
) -> Booking:
    """Books every event of the page, in log order.

    `booked` holds, for each event the page corrects, what was booked for it before;
    `closed_through` is the last closed pay period before the page.
    """
    ledger = _Ledger(usage_units, booked or {}, closed_through)
    for position, event in page.events:
        ledger.take(position, event)
    return Booking(
        lines=ledger.lines,
        dimensions=[(e, m, d, p, w) for (e, m, d), (p, w) in sorted(ledger.dimensions.items())],
        usage=[(e, r, s, to_units(ledger.usage[(e, r, s)])) for (e, r, s) in sorted(ledger.touched) if (e, r, s) in ledger.usage],
        closes=ledger.closes,
        audit_events=ledger.audit_events,
        corrections=ledger.corrections,
        statuses=ledger.statuses,
    )
