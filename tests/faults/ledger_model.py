"""A simple in-memory model of the ledger, for the model-based test: what the balances must be after any history.

It knows the example policy's points for a few uncapped kinds (so it needs no policy code),
keeps the log's ledger entries in order with their positions, and books them the way the
README says: a fact's lines in its business month, unless that month is closed, then in the
first open month; a reversal takes back exactly what the fact had booked; an amendment is a
reversal plus the new lines; a period closes in order and only once it has ended. Balances
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
        """The reason a close of `month` is refused, or "" when it closes."""
        if month in self.closed:
            return "PERIOD_ALREADY_CLOSED"
        if self.closed and month != next_month(self.closed[-1]):
            return "PERIODS_CLOSE_IN_ORDER"
        if month >= month_of(today):
            return "PERIOD_NOT_ENDED"
        return ""

    def close(self, month: str, position: int) -> None:
        self.closed.append(month)
        self.wrote(position)
        self.entries.append(Entry(position, "closed", month=month))

    def balances_upto(self, position: int) -> ModelBalances:
        """What the view must hold once the projector has read the log up to `position`."""
        dimensions: dict[tuple[str, str, str], list[int]] = defaultdict(lambda: [0, 0])
        events: dict[tuple[str, str], int] = defaultdict(int)
        booked: dict[str, tuple[str, str, tuple[Line, ...]]] = {}  # event -> (employee, business month, lines)
        closed_through = ""

        def book_month(month: str) -> str:
            return next_month(closed_through) if closed_through and month <= closed_through else month

        def book(employee: str, month: str, lines: tuple[Line, ...], sign: int) -> None:
            where = book_month(month)
            events[(employee, where)] += sign
            for dimension, points, weighted in lines:
                sums = dimensions[(employee, where, dimension)]
                sums[0] += sign * points
                sums[1] += sign * weighted

        for entry in self.entries:
            if entry.position > position:
                break
            if entry.action == "closed":
                closed_through = entry.month
                continue
            if entry.action in ("reversed", "amended") and entry.event_id in booked:
                book(*booked.pop(entry.event_id), sign=-1)
            if entry.action in ("recorded", "amended"):
                assert entry.day is not None
                booked[entry.event_id] = (entry.employee_id, month_of(entry.day), entry.lines)
                book(entry.employee_id, month_of(entry.day), entry.lines, sign=+1)
        return ModelBalances(
            {k: (v[0], v[1]) for k, v in dimensions.items() if v != [0, 0]}, {k: v for k, v in events.items() if v}
        )
