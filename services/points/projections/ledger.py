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
    """One booked line, as the explain table stores it (points in units of 10^-4)."""

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

    def values(self) -> tuple[object, ...]:
        return (
            self.position, self.line_no, self.event_id, self.employee_id, self.month, self.occurred_on, self.kind,
            self.quantity, self.rule_id, self.policy_version, self.dimension, self.multiplier,
            self.points_before_cap, self.points, self.weighted_points, self.cap_applied,
        )  # fmt: skip


LINE_COLUMNS = (
    "position", "line_no", "event_id", "employee_id", "month", "occurred_on", "kind", "quantity", "rule_id",
    "policy_version", "dimension", "multiplier", "points_before_cap", "points", "weighted_points", "cap_applied",
)  # fmt: skip


@dataclass
class Page:
    """The recorded work events of one page of the log, in log order."""

    events: list[tuple[int, WorkEvent.Recorded]] = field(default_factory=list)

    def add(self, position: int, recorded: WorkEvent.Recorded) -> None:
        self.events.append((position, recorded))

    def cap_keys(self) -> set[CapKey]:
        return {
            key
            for _, recorded in self.events
            for line in recorded.lines
            for key in cap_keys(recorded.employee_id, line, recorded.occurred_on)
        }


@dataclass
class Booking:
    lines: list[LineRow]
    dimensions: list[tuple[str, str, str, int, int]]  # employee, month, dimension, points, weighted
    events: list[tuple[str, str, int]]  # employee, month, count
    usage: list[tuple[str, str, str, int]]  # employee, rule, scope, used (only keys this page touched)


def book(page: Page, usage_units: dict[CapKey, int]) -> Booking:
    """Books every line of the page against the caps, in log order."""
    usage = {key: from_units(units) for key, units in usage_units.items()}
    lines: list[LineRow] = []
    dimensions: dict[tuple[str, str, str], list[int]] = defaultdict(lambda: [0, 0])
    events: dict[tuple[str, str], int] = defaultdict(int)
    for position, recorded in page.events:
        day = recorded.occurred_on
        month = f"{day.year:04d}-{day.month:02d}"
        events[(recorded.employee_id, month)] += 1
        for line_no, line in enumerate(recorded.lines):
            capped = apply_caps(recorded.employee_id, day, line, usage)
            points, weighted = to_units(capped.points), to_units(capped.weighted_points)
            sums = dimensions[(recorded.employee_id, month, line.dimension)]
            sums[0] += points
            sums[1] += weighted
            lines.append(
                LineRow(
                    position=position,
                    line_no=line_no,
                    event_id=str(recorded.originator_id),
                    employee_id=recorded.employee_id,
                    month=month,
                    occurred_on=day.isoformat(),
                    kind=recorded.kind,
                    quantity=str(recorded.quantity),
                    rule_id=line.rule_id,
                    policy_version=line.policy_version,
                    dimension=line.dimension,
                    multiplier=str(line.multiplier),
                    points_before_cap=to_units(line.points),
                    points=points,
                    weighted_points=weighted,
                    cap_applied=capped.cap_applied,
                )
            )
    touched = page.cap_keys()
    return Booking(
        lines=lines,
        dimensions=[(e, m, d, p, w) for (e, m, d), (p, w) in sorted(dimensions.items())],
        events=[(e, m, n) for (e, m), n in sorted(events.items())],
        usage=[(e, r, s, to_units(usage[(e, r, s)])) for (e, r, s) in sorted(touched) if (e, r, s) in usage],
    )
