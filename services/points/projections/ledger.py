"""Booking a page of the log into ledger rows: caps in log order, corrections, pay-period closes.

Pure: given the events of a page (in log order), the cap usage so far, what is booked for
the events the page corrects, the closed pay months and the point values published so far, it returns the rows to write.
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

from collections import defaultdict
from dataclasses import dataclass, field
from decimal import Decimal

from points.domain.pay import pay_rules_of_text
from points.domain.periods import PayCalendar, booking_month
from points.domain.policy import apply_caps, cap_keys
from points.domain.policy_book import PolicyBook
from points.domain.work import WorkEvent
from points.projections.ledger_rows import (
    LineRow,
    NetLine,
    PayRulesRow,
    PeriodCloseRow,
    PointValues,
    WorkFacts,
    from_units,
    instant_text,
    to_units,
    work_facts,
)

CapKey = tuple[str, str, str]  # (employee, rule, "day:YYYY-MM-DD" | "month:YYYY-MM")


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
