"""Booking a page of recorded work into ledger rows: caps applied in log order, sums per dimension.

Pure: given the events of a page (in log order) and the cap usage so far, it returns the
rows to write and the new usage. The views do the reading and writing, in one transaction.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from decimal import Decimal

from points.domain.policy import POINTS_PLACES, apply_caps, cap_keys
from points.domain.work import WorkEvent

CapKey = tuple[str, str, str]  # (employee, rule, "day:YYYY-MM-DD" | "month:YYYY-MM")


def to_units(value: Decimal) -> int:
    units = value.scaleb(POINTS_PLACES)
    if units != units.to_integral_value():
        raise ValueError(f"{value} has more than {POINTS_PLACES} decimal places")
    return int(units)


def from_units(units: int) -> Decimal:
    return Decimal(units).scaleb(-POINTS_PLACES).quantize(Decimal(1).scaleb(-POINTS_PLACES))


@dataclass(frozen=True)
class LineRow:
    """One booked line, as the explain table stores it (points in units of 10^-4).

    `entry` says why it was booked: "recorded" (the event's own lines), "reversal" (undoing
    what was booked before a recalculation) or "rescored" (the recalculated lines).
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
    entry: str = "recorded"

    def values(self) -> tuple[object, ...]:
        return (
            self.position, self.line_no, self.event_id, self.employee_id, self.month, self.occurred_on, self.kind,
            self.quantity, self.rule_id, self.policy_version, self.dimension, self.multiplier,
            self.points_before_cap, self.points, self.weighted_points, self.cap_applied, self.entry,
        )  # fmt: skip


LINE_COLUMNS = (
    "position", "line_no", "event_id", "employee_id", "month", "occurred_on", "kind", "quantity", "rule_id",
    "policy_version", "dimension", "multiplier", "points_before_cap", "points", "weighted_points", "cap_applied", "entry",
)  # fmt: skip


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


Booked = WorkEvent.Recorded | WorkEvent.Rescored


@dataclass
class Page:
    """The work events of one page of the log (recorded or rescored), in log order."""

    events: list[tuple[int, Booked]] = field(default_factory=list)

    def add(self, position: int, event: Booked) -> None:
        self.events.append((position, event))

    def rebooked_event_ids(self) -> set[str]:
        return {str(e.originator_id) for _, e in self.events if isinstance(e, WorkEvent.Rescored)}

    def cap_keys(self, booked: dict[str, list[NetLine]]) -> set[CapKey]:
        """Usage counters the page may draw on or give back."""
        keys = {
            key
            for _, event in self.events
            for line in event.lines
            for key in cap_keys(event.employee_id, line, event.occurred_on)
        }
        for lines in booked.values():
            for net in lines:
                keys |= {(net.employee_id, net.rule_id, f"day:{net.occurred_on}"), (net.employee_id, net.rule_id, f"month:{net.month}")}
        return keys


@dataclass
class Booking:
    lines: list[LineRow]
    dimensions: list[tuple[str, str, str, int, int]]  # employee, month, dimension, points, weighted
    events: list[tuple[str, str, int]]  # employee, month, count
    usage: list[tuple[str, str, str, int]]  # employee, rule, scope, used (only keys this page touched)


class _Ledger:
    def __init__(self, usage_units: dict[CapKey, int], booked: dict[str, list[NetLine]]) -> None:
        self.usage = {key: from_units(units) for key, units in usage_units.items()}
        self.touched: set[CapKey] = set()
        self.net = {event_id: list(lines) for event_id, lines in booked.items()}
        self.lines: list[LineRow] = []
        self.dimensions: dict[tuple[str, str, str], list[int]] = defaultdict(lambda: [0, 0])
        self.events: dict[tuple[str, str], int] = defaultdict(int)

    def row(self, row: LineRow) -> None:
        self.lines.append(row)
        sums = self.dimensions[(row.employee_id, row.month, row.dimension)]
        sums[0] += row.points
        sums[1] += row.weighted_points

    def book_lines(self, position: int, event: Booked, first_line_no: int, entry: str) -> list[NetLine]:
        day = event.occurred_on
        month = f"{day.year:04d}-{day.month:02d}"
        event_id = str(event.originator_id)
        booked = []
        for offset, line in enumerate(event.lines):
            keys = cap_keys(event.employee_id, line, day)
            self.touched.update(keys)
            capped = apply_caps(event.employee_id, day, line, self.usage)
            row = LineRow(
                position=position,
                line_no=first_line_no + offset,
                event_id=event_id,
                employee_id=event.employee_id,
                month=month,
                occurred_on=day.isoformat(),
                kind=event.kind,
                quantity=str(event.quantity),
                rule_id=line.rule_id,
                policy_version=line.policy_version,
                dimension=line.dimension,
                multiplier=str(line.multiplier),
                points_before_cap=to_units(line.points),
                points=to_units(capped.points),
                weighted_points=to_units(capped.weighted_points),
                cap_applied=capped.cap_applied,
                entry=entry,
            )
            self.row(row)
            booked.append(
                NetLine(event_id, row.employee_id, month, row.occurred_on, row.kind, row.quantity, row.rule_id,
                        row.policy_version, row.dimension, row.multiplier, row.points, row.weighted_points)  # fmt: skip
            )
        return booked

    def reverse(self, position: int, event_id: str) -> int:
        """Books the negation of what is booked for the event; gives back its cap usage. Returns lines written."""
        reversed_lines = [n for n in self.net.pop(event_id, []) if n.points or n.weighted_points]
        for line_no, net in enumerate(reversed_lines):
            self.row(
                LineRow(
                    position=position, line_no=line_no, event_id=net.event_id, employee_id=net.employee_id,
                    month=net.month, occurred_on=net.occurred_on, kind=net.kind, quantity=net.quantity,
                    rule_id=net.rule_id, policy_version=net.policy_version, dimension=net.dimension,
                    multiplier=net.multiplier, points_before_cap=-net.points, points=-net.points,
                    weighted_points=-net.weighted_points, cap_applied="", entry="reversal",
                )  # fmt: skip
            )
            if net.points > 0:
                for key in ((net.employee_id, net.rule_id, f"day:{net.occurred_on}"), (net.employee_id, net.rule_id, f"month:{net.month}")):
                    if key in self.usage:
                        self.usage[key] = max(self.usage[key] - from_units(net.points), Decimal(0))
                        self.touched.add(key)
        return len(reversed_lines)


def book(page: Page, usage_units: dict[CapKey, int], booked: dict[str, list[NetLine]] | None = None) -> Booking:
    """Books every event of the page against the caps, in log order.

    `booked` holds, for each event the page rescores, what was booked for it before.
    """
    ledger = _Ledger(usage_units, booked or {})
    for position, event in page.events:
        event_id = str(event.originator_id)
        if isinstance(event, WorkEvent.Rescored):
            written = ledger.reverse(position, event_id)
            ledger.net[event_id] = ledger.book_lines(position, event, written, "rescored")
        else:
            month = f"{event.occurred_on.year:04d}-{event.occurred_on.month:02d}"
            ledger.events[(event.employee_id, month)] += 1
            ledger.net[event_id] = ledger.book_lines(position, event, 0, "recorded")
    return Booking(
        lines=ledger.lines,
        dimensions=[(e, m, d, p, w) for (e, m, d), (p, w) in sorted(ledger.dimensions.items())],
        events=[(e, m, n) for (e, m), n in sorted(ledger.events.items())],
        usage=[(e, r, s, to_units(ledger.usage[(e, r, s)])) for (e, r, s) in sorted(ledger.touched) if (e, r, s) in ledger.usage],
    )
