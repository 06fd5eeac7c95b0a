"""The booking of today against the booking before the fast page path (tests/unit/ledger_reference.py).

Generated logs of recorded work (capped, uncapped and negative lines, attributes, instants,
awkward text), reversals, amendments, rescores and pay-period closes are booked page by page
by both, with the state a view carries between pages (cap usage, what is booked per event,
the last closed period) taken from the reference. Every output the reference has must be equal,
row for row; and booking WorkFacts (what the projector's decoder hands the ledger) instead of
the WorkEvent.Recorded events must change nothing either. What the reference does not book
(who earned each line where, and what a point of it is worth) is checked against the events.
"""

from __future__ import annotations

import random
from collections import defaultdict
from dataclasses import astuple
from datetime import date, datetime, timedelta, timezone
from decimal import Decimal
from typing import Any

import pytest

from points.application.policy_file import load_policy
from points.domain.periods import PayCalendar
from points.domain.work import WorkEvent, correction_fingerprint
from points.domain.scoring import ScoredWork
from points.domain.work_request import WorkRequest
from points.projections import ledger, ledger_rows
from tests.unit import ledger_reference as reference
from tests.unit.test_ledger import CAPS

EXAMPLE = load_policy()
T0 = datetime(2026, 12, 1, 8, 0, tzinfo=timezone.utc)
EMPLOYEES = {"sm-1": "service_manager", "sm-2": "service_manager", "os-1": "operations_supervisor"}
KINDS = {
    "service_manager": ("counter_transaction", "customer_served", "online_migration", "justified_complaint"),
    "operations_supervisor": ("counter_authorisation", "compliance_finding", "counter_review"),
}


def scorer(rng: random.Random, role: str, kind: str) -> Any:
    """One of the two policies (the example's caps are per period or per day; CAPS's are tighter) that scores `kind`."""
    return rng.choice([p for p in (EXAMPLE, CAPS) if role in p.roles and p.rule_for(role, kind, None) is not None])


def generated_log(seed: int, size: int) -> list[Any]:
    """A log of ledger events in order: mostly recorded work, some corrections, closes of Oct and Nov 2026."""
    rng = random.Random(seed)
    events: list[Any] = []
    work: list[WorkEvent] = []
    calendar = PayCalendar.open(timestamp=T0)
    calendar.collect_events()
    closes = ["2026-10", "2026-11"]
    for n in range(size):
        at = T0 + timedelta(seconds=n // 3)  # events of a batch share a timestamp
        roll = rng.random()
        if roll < 0.1 and work:
            event = rng.choice(work)
            if event.reversed:
                continue
            action = rng.choice(("reverse", "amend", "rescore"))
            if action == "reverse":
                event.reverse(correction_id=f"c{n}", fingerprint=correction_fingerprint("reverse", "x"), reason="wrong\tline",
                              corrected_by="sup", timestamp=at)  # fmt: skip
            elif action == "amend":
                quantity = Decimal(rng.choice([q for q in ("1", "7", "2.5", "400") if Decimal(q) != event.quantity]))
                request = event.amended_request(kind="", quantity=quantity, occurred_on=None)
                lines = scorer(rng, event.role, event.kind).score(event.role, request.kind, request.quantity, outlet_class="A")
                event.amend(ScoredWork(request, event.role, "o1", "A", lines), correction_id=f"c{n}",
                            fingerprint=correction_fingerprint("amend", "miscounted"), reason="miscounted", corrected_by="sup",
                            timestamp=at)  # fmt: skip
            else:
                lines = scorer(rng, event.role, event.kind).score(event.role, event.kind, event.quantity, outlet_class="A")
                event.rescore(tuple(lines), recalculation_id=f"r{n}", reason="policy", rescored_by="ops", timestamp=at)
            events.extend(event.collect_events())
        elif roll < 0.12 and closes:
            calendar.close(closes.pop(0), first_booked="2026-10", today=date(2026, 12, 15), closed_by="payroll", reason="paid", timestamp=at)
            events.extend(calendar.collect_events())
        else:
            employee = rng.choice(sorted(EMPLOYEES))
            role = EMPLOYEES[employee]
            kind = rng.choice(KINDS[role])
            quantity = Decimal(rng.choice(("1", "3", "0.5", "12", "90", "400", "2.25")))
            request = WorkRequest(
                f"w{n}", employee, kind, quantity, date(2026, rng.choice((10, 11, 12)), rng.randint(1, 28)),
                occurred_at=rng.choice((None, at - timedelta(hours=3), (at - timedelta(hours=1)).astimezone(timezone(timedelta(hours=2))))),
                recorded_by=rng.choice(("desk", 'back\\slash "q" é')), source=rng.choice(("api", "")),
                attributes=rng.choice(({}, {"complexity": "high", "branch": "zoë"}, {"b": "1", "a": "2"})),
            )  # fmt: skip
            lines = scorer(rng, role, kind).score(role, kind, quantity, outlet_class=rng.choice(("A", "B")))
            event = WorkEvent.record(ScoredWork(request, role, "o1", "A", lines), timestamp=at)
            work.append(event)
            events.extend(event.collect_events())
    return events


NET_KEY = ("event_id", "employee_id", "month", "occurred_on", "kind", "quantity", "rule_id", "policy_version", "dimension", "multiplier")
NEW_KEY = (*NET_KEY, "outlet_id", "role", "outlet_class", "point_value")


def net_lines(lines: list[Any], event_ids: set[str], key_fields: tuple[str, ...] = NET_KEY, make: Any = reference.NetLine) -> dict[str, list[Any]]:
    """What the view's _booked query returns: lines per (event, rule, ...) summed, non-zero, in booking order."""
    sums: dict[tuple[Any, ...], list[int]] = defaultdict(lambda: [0, 0, 0, 10**18, 10**18])
    for line in lines:
        if line.event_id in event_ids:
            key = tuple(getattr(line, f) for f in key_fields)
            s = sums[key]
            s[0] += line.points
            s[1] += line.weighted_points
            s[2] += line.event_delta
            s[3:] = min((s[3], s[4]), (line.position, line.line_no))
    booked: dict[str, list[ledger_rows.NetLine]] = {}
    for key, s in sorted(sums.items(), key=lambda item: (item[1][3], item[1][4])):
        if s[0] or s[1] or s[2]:
            booked.setdefault(key[0], []).append(make(*key, s[0], s[1]))
    return booked


def as_rows(booking: Any) -> tuple[Any, ...]:
    """The booking in the reference's columns (the new dimensions summed over the point values lines were booked at)."""
    dimensions: dict[tuple[str, str, str], list[int]] = {}
    for row in booking.dimensions:
        sums = dimensions.setdefault(row[:3], [0, 0])
        sums[0] += row[-2]
        sums[1] += row[-1]
    return (
        [tuple(getattr(line, c) for c in reference.LINE_COLUMNS) for line in booking.lines],
        sorted((*key, p, w) for key, (p, w) in dimensions.items()), booking.usage, [astuple(c)[:5] for c in booking.closes],
        booking.audit_events, booking.corrections, booking.statuses,
    )  # fmt: skip


VALUES = ledger_rows.PointValues([ledger_rows.PayRulesRow(1, EXAMPLE.version, "2026-01-01", EXAMPLE.pay.to_json())])  # type: ignore[union-attr]
VALUE_OF = {"service_manager": "1.00", "operations_supervisor": "1.20"}  # the example policy's, at class A outlets


@pytest.mark.parametrize("seed", range(6))
@pytest.mark.parametrize("as_facts", [False, True])
def test_pages_book_exactly_as_the_reference_booking(seed: int, as_facts: bool) -> None:
    events = generated_log(seed, 400)
    assert {type(e).__name__ for e in events} >= {"Recorded", "Reversed", "Amended", "Rescored", "PeriodClosed"}
    rng = random.Random(seed)
    usage: dict[Any, int] = {}
    all_lines: list[Any] = []
    new_lines: list[Any] = []
    closed = ""
    position, capped, compared = 1, 0, 0
    while position <= len(events):
        size = rng.choice((1, 2, 7, 50, 200))
        chunk = list(enumerate(events[position - 1 : position - 1 + size], start=position))
        position += len(chunk)
        old_page, new_page = reference.Page(), ledger.Page()
        for p, event in chunk:
            old_page.add(p, event)
            new_page.add(p, ledger_rows.work_facts(event) if as_facts and type(event) is WorkEvent.Recorded else event)
        booked = net_lines(all_lines, old_page.rebooked_event_ids())
        new_booked = net_lines(new_lines, new_page.rebooked_event_ids(), NEW_KEY, ledger_rows.NetLine)
        assert new_page.rebooked_event_ids() == old_page.rebooked_event_ids()
        keys = old_page.cap_keys(booked)
        assert new_page.cap_keys(new_booked) == keys
        page_usage = {k: v for k, v in usage.items() if k in keys}
        old = reference.book(old_page, page_usage, booked, closed)
        closed_months = {m for m in ("2026-10", "2026-11") if closed and m <= closed}
        new = ledger.book(new_page, page_usage, new_booked, closed_months, VALUES)
        assert as_rows(new) == as_rows(old)
        for line in new.lines:  # who earned it where, and what a point of it is worth, as the events say
            assert (line.outlet_id, line.role, line.outlet_class) == ("o1", EMPLOYEES[line.employee_id], "A")
            assert line.point_value == VALUE_OF[line.role]
        all_lines.extend(old.lines)
        new_lines.extend(new.lines)
        usage.update({(e, r, s): u for e, r, s, u in old.usage})
        closed = max([closed, *(c.period for c in old.closes)])
        capped += sum(1 for line in old.lines if line.cap_applied)
        compared += len(old.lines)
    assert capped > 0 and compared > 300  # the caps did cut lines, and there was something to compare
