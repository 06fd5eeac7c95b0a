"""A simple in-memory model of the ledger, for the model-based test: what the balances must be after any history.

It knows the example policy's points for a few uncapped kinds (so it needs no policy code),
keeps the log's ledger entries in order with their positions, and books them the way the
README says: a fact's lines in its business month, unless that month is closed, then in the
first open month; a reversal takes back exactly what the fact had booked; an amendment is a
reversal plus the new lines; the pay calendar starts at the earliest booked month and its
periods close in order, each only once it has ended. Balances
"as of position P" replay the entries up to P, which is what a projector that has read up to
P must show.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date
from decimal import ROUND_HALF_EVEN, Decimal

ROLES = {"os-1": "operations_supervisor", "sm-1": "service_manager"}
WEIGHTS = {
    "operations_supervisor": {"workload": "0.40", "quality": "0.20", "compliance": "0.30", "development": "0.10"},
    "service_manager": {"workload": "0.40", "quality": "0.15", "service": "0.35", "development": "0.10"},
}
# kind -> (dimension, points per unit) in policies/example.toml, for an outlet of class A (multipliers 1.0)
KINDS = {
    "operations_supervisor": {
        "duty_day": ("workload", "10"),
        "counter_review": ("quality", "0.3"),
        "internal_control_check": ("compliance", "5"),
        "compliance_finding": ("compliance", "-20"),
        "training_given": ("development", "8"),
    },
    "service_manager": {
        "customer_served": ("service", "0.5"),
        "smart_machine_review": ("quality", "0.4"),
        "financial_education": ("development", "5"),
        "justified_complaint": ("service", "-30"),
        "customer_commendation": ("service", "10"),
    },
}
FOUR_PLACES = Decimal("0.0001")

Line = tuple[str, int, int]  # (dimension, points, weighted) in units of 10^-4


def month_of(day: date) -> str:
    return f"{day.year:04d}-{day.month:02d}"


def next_month(month: str) -> str:
    year, number = int(month[:4]), int(month[5:7])
    return f"{year + number // 12:04d}-{number % 12 + 1:02d}"


def lines_for(employee_id: str, kind: str, quantity: int) -> tuple[Line, ...]:
    role = ROLES[employee_id]
    dimension, per_unit = KINDS[role][kind]
    points = (Decimal(quantity) * Decimal(per_unit)).quantize(FOUR_PLACES, ROUND_HALF_EVEN)
    weighted = (points * Decimal(WEIGHTS[role][dimension])).quantize(FOUR_PLACES, ROUND_HALF_EVEN)
    return ((dimension, int(points.scaleb(4)), int(weighted.scaleb(4))),)


@dataclass
class Fact:
    """A recorded work event as the model knows it now."""

    request_id: str
    event_id: str
    position: int
    employee_id: str
    kind: str
    quantity: int
    day: date
    reversed: bool = False
    first: tuple[str, int, date] = ("", 0, date.min)  # (kind, quantity, day) as first recorded

    def __post_init__(self) -> None:
        if not self.first[0]:
            self.first = (self.kind, self.quantity, self.day)


@dataclass(frozen=True)
class Entry:
    """One ledger event of the log: recorded, reversed, amended or closed."""

    position: int
    action: str
    event_id: str = ""
    employee_id: str = ""
    day: date | None = None
    lines: tuple[Line, ...] = ()
    month: str = ""  # for "closed"


@dataclass
class ModelBalances:
    dimensions: dict[tuple[str, str, str], tuple[int, int]]
    events: dict[tuple[str, str], int]


@dataclass
class LedgerModel:
    facts: dict[str, Fact] = field(default_factory=dict)  # by request_id
    entries: list[Entry] = field(default_factory=list)
    closed: list[str] = field(default_factory=list)
    log_end: int = 0

    def wrote(self, position: int) -> None:
        assert position > self.log_end, f"position {position} is not after {self.log_end}"
        self.log_end = position

    def record(self, fact: Fact) -> None:
        self.facts[fact.request_id] = fact
        self.wrote(fact.position)
        self.entries.append(Entry(fact.position, "recorded", fact.event_id, fact.employee_id, fact.day, lines_for(fact.employee_id, fact.kind, fact.quantity)))

    def reverse(self, fact: Fact, position: int) -> None:
        fact.reversed = True
        self.wrote(position)
        self.entries.append(Entry(position, "reversed", fact.event_id, fact.employee_id))

    def amend(self, fact: Fact, position: int, *, kind: str, quantity: int, day: date) -> None:
        fact.kind, fact.quantity, fact.day = kind, quantity, day
        self.wrote(position)
        self.entries.append(Entry(position, "amended", fact.event_id, fact.employee_id, day, lines_for(fact.employee_id, kind, quantity)))

    def close_refusal(self, month: str, today: date) -> str:
        """The reason a close of `month` is refused, or "" when it closes: the calendar starts at the
        earliest month with bookings and its months close one after another, once ended."""
        if month in self.closed:
            return "PERIOD_ALREADY_CLOSED"
        upcoming = min([m for m in (self.first_booked(), *self.closed) if m], default="")
        while upcoming and upcoming in self.closed:
            upcoming = next_month(upcoming)
        if not upcoming:
            return "NOTHING_TO_CLOSE"
        if month < upcoming:
            return "PERIOD_BEFORE_CALENDAR"
        if month != upcoming:
            return "PERIODS_CLOSE_IN_ORDER"
        if month >= month_of(today):
            return "PERIOD_NOT_ENDED"
        return ""

    def first_booked(self) -> str:
        """The earliest pay month any line of the whole log is booked in ("" when none is)."""
        return min(self.booked_months_upto(self.log_end), default="")

    def close(self, month: str, position: int) -> None:
        self.closed.append(month)
        self.wrote(position)
        self.entries.append(Entry(position, "closed", month=month))

    def booked_months_upto(self, position: int) -> set[str]:
        return self._replay(position)[2]

    def balances_upto(self, position: int) -> ModelBalances:
        """What the view must hold once the projector has read the log up to `position`."""
        dimensions, events, _ = self._replay(position)
        return ModelBalances(
            {k: (v[0], v[1]) for k, v in dimensions.items() if v != [0, 0]}, {k: v for k, v in events.items() if v}
        )

    def _replay(self, position: int) -> tuple[dict[tuple[str, str, str], list[int]], dict[tuple[str, str], int], set[str]]:
        dimensions: dict[tuple[str, str, str], list[int]] = defaultdict(lambda: [0, 0])
        events: dict[tuple[str, str], int] = defaultdict(int)
        booked: dict[str, tuple[str, str, tuple[Line, ...]]] = {}  # event -> (employee, business month, lines)
        closed: set[str] = set()
        months: set[str] = set()

        def book_month(month: str) -> str:
            """Its own month while open; else the first open month after it (months before the first close count as closed)."""
            if not closed or (month >= min(closed) and month not in closed):
                return month
            month = max(month, min(closed))
            while month in closed:
                month = next_month(month)
            return month

        def book(employee: str, month: str, lines: tuple[Line, ...], sign: int) -> None:
            where = book_month(month)
            months.add(where)
            events[(employee, where)] += sign
            for dimension, points, weighted in lines:
                sums = dimensions[(employee, where, dimension)]
                sums[0] += sign * points
                sums[1] += sign * weighted

        for entry in self.entries:
            if entry.position > position:
                break
            if entry.action == "closed":
                closed.add(entry.month)
                continue
            if entry.action in ("reversed", "amended") and entry.event_id in booked:
                book(*booked.pop(entry.event_id), sign=-1)
            if entry.action in ("recorded", "amended"):
                assert entry.day is not None
                booked[entry.event_id] = (entry.employee_id, month_of(entry.day), entry.lines)
                book(entry.employee_id, month_of(entry.day), entry.lines, sign=+1)
        return dimensions, events, months
