"""Booking lines into the ledger: caps per day and per month, applied in log order; negative lines never capped.

The pages are built from real WorkEvent.Recorded events scored by CAPS (below): one point per
unit and a weight of 0.5, so every quantity is its points and half of it its weighted points.
"""

from __future__ import annotations

from datetime import date, datetime, timezone
from decimal import Decimal

import pytest

from points.application.policy_file import parse_policy
from points.domain.policy import CappedLine, Policy, PointsLine, apply_caps
from points.domain.work import WorkEvent
from points.domain.scoring import ScoredWork
from points.domain.work_request import WorkRequest
from points.projections.ledger import Booking, Page, book
from points.projections.ledger_rows import LineRow, from_units, to_units

NOW = datetime(2026, 12, 31, 12, 0, tzinfo=timezone.utc)

CAPS_TEXT = """
version = "caps.1"
effective_from = "2026-01-01"

[roles.service_manager.dimensions]
workload = 0.5
service = 0.5

[[roles.service_manager.rules]]
id = "daily"
kind = "counter_transaction"
dimension = "workload"
points_per_unit = 1
cap_per_day = 10

[[roles.service_manager.rules]]
id = "monthly"
kind = "customer_served"
dimension = "service"
points_per_unit = 1
cap_per_period = 25

[[roles.service_manager.rules]]
id = "both"
kind = "online_migration"
dimension = "service"
points_per_unit = 1
cap_per_day = 10
cap_per_period = 25

[[roles.service_manager.rules]]
id = "complaint"
kind = "justified_complaint"
dimension = "service"
points_per_unit = -30
"""
CAPS = parse_policy(CAPS_TEXT, "caps.toml")
DAILY, MONTHLY, BOTH, COMPLAINT = "counter_transaction", "customer_served", "online_migration", "justified_complaint"


def recorded(
    request_id: str, kind: str, quantity: str, day: str, *, employee_id: str = "e1", policy: Policy = CAPS
) -> WorkEvent.Recorded:
    """The Recorded event of `quantity` units of `kind` by a service manager on `day`, scored by `policy`."""
    request = WorkRequest(request_id, employee_id, kind, Decimal(quantity), date.fromisoformat(day))
    scored = ScoredWork(request, "service_manager", "o1", "A", policy.score("service_manager", kind, request.quantity))
    (event,) = WorkEvent.record(scored, timestamp=NOW).collect_events()
    assert isinstance(event, WorkEvent.Recorded)
    return event


def page_of(*events: WorkEvent.Recorded, first_position: int = 10) -> Page:
    page = Page()
    for offset, event in enumerate(events):
        page.add(first_position + offset, event)
    return page


def booked(line: LineRow) -> tuple[str, str, str, str]:
    """(request's day, points before cap, points booked, cap applied) of a line, points as decimals."""
    return line.occurred_on, str(from_units(line.points_before_cap)), str(from_units(line.points)), line.cap_applied


def totals(booking: Booking) -> dict[tuple[str, str, str], tuple[str, str]]:
    """(employee, month, dimension) -> (points, weighted points)"""
    sums: dict[tuple[str, str, str], list[int]] = {}
    for e, m, d, _value, p, w in booking.dimensions:  # summed over the point values the lines were booked at
        total = sums.setdefault((e, m, d), [0, 0])
        total[0] += p
        total[1] += w
    return {key: (str(from_units(p)), str(from_units(w))) for key, (p, w) in sums.items()}


# -- per day ------------------------------------------------------------------------


def test_a_day_cap_cuts_the_line_that_crosses_it_to_the_room_left() -> None:
    booking = book(
        page_of(
            recorded("a", DAILY, "7", "2026-11-02"),  # 7 of 10
            recorded("b", DAILY, "5", "2026-11-02"),  # 3 left: cut to 3
            recorded("c", DAILY, "2", "2026-11-02"),  # none left: 0
        ),
        {},
    )

    assert [booked(x) for x in booking.lines] == [
        ("2026-11-02", "7.0000", "7.0000", ""),
        ("2026-11-02", "5.0000", "3.0000", "day"),
        ("2026-11-02", "2.0000", "0.0000", "day"),
    ]
    # weighted: 7 x .5 = 3.5, 3 x .5 = 1.5, 0
    assert [str(from_units(x.weighted_points)) for x in booking.lines] == ["3.5000", "1.5000", "0.0000"]


def test_a_line_that_exactly_fills_the_day_is_not_marked_capped() -> None:
    booking = book(page_of(recorded("a", DAILY, "6", "2026-11-02"), recorded("b", DAILY, "4", "2026-11-02")), {})

    assert [x.cap_applied for x in booking.lines] == ["", ""]
    assert totals(booking) == {("e1", "2026-11", "workload"): ("10.0000", "5.0000")}


def test_the_day_cap_starts_again_the_next_day() -> None:
    booking = book(
        page_of(
            recorded("a", DAILY, "12", "2026-11-02"),  # cut to 10
            recorded("b", DAILY, "12", "2026-11-03"),  # a new day: cut to 10 again
            recorded("c", DAILY, "4", "2026-11-02"),  # back on the full day: 0
        ),
        {},
    )

    assert [booked(x) for x in booking.lines] == [
        ("2026-11-02", "12.0000", "10.0000", "day"),
        ("2026-11-03", "12.0000", "10.0000", "day"),
        ("2026-11-02", "4.0000", "0.0000", "day"),
    ]
    assert totals(booking) == {("e1", "2026-11", "workload"): ("20.0000", "10.0000")}


def test_each_employee_has_a_day_cap_of_their_own() -> None:
    booking = book(
        page_of(recorded("a", DAILY, "10", "2026-11-02"), recorded("b", DAILY, "10", "2026-11-02", employee_id="e2")), {}
    )

    assert [(x.employee_id, str(from_units(x.points)), x.cap_applied) for x in booking.lines] == [
        ("e1", "10.0000", ""),
        ("e2", "10.0000", ""),
    ]


def test_usage_booked_by_earlier_pages_counts_against_the_cap() -> None:
    earlier = book(page_of(recorded("a", DAILY, "8", "2026-11-02")), {})
    usage = {(e, r, s): used for e, r, s, used in earlier.usage}

    later = book(page_of(recorded("b", DAILY, "8", "2026-11-02"), first_position=20), usage)

    assert usage == {("e1", "daily", "day:2026-11-02"): to_units(Decimal(8))}
    assert [booked(x) for x in later.lines] == [("2026-11-02", "8.0000", "2.0000", "day")]
    assert later.usage == [("e1", "daily", "day:2026-11-02", to_units(Decimal(10)))]


# -- per period ----------------------------------------------------------------------


def test_a_period_cap_adds_up_the_days_of_a_month_and_starts_again_next_month() -> None:
    booking = book(
        page_of(
            recorded("a", MONTHLY, "10", "2026-11-02"),  # 10 of 25
            recorded("b", MONTHLY, "10", "2026-11-09"),  # 20 of 25
            recorded("c", MONTHLY, "10", "2026-11-16"),  # 5 left: cut to 5
            recorded("d", MONTHLY, "10", "2026-11-30"),  # none left: 0
            recorded("e", MONTHLY, "10", "2026-12-01"),  # December: 10 of a new 25
        ),
        {},
    )

    assert [booked(x) for x in booking.lines] == [
        ("2026-11-02", "10.0000", "10.0000", ""),
        ("2026-11-09", "10.0000", "10.0000", ""),
        ("2026-11-16", "10.0000", "5.0000", "period"),
        ("2026-11-30", "10.0000", "0.0000", "period"),
        ("2026-12-01", "10.0000", "10.0000", ""),
    ]
    assert totals(booking) == {
        ("e1", "2026-11", "service"): ("25.0000", "12.5000"),
        ("e1", "2026-12", "service"): ("10.0000", "5.0000"),
    }


def test_with_both_caps_the_tighter_one_cuts_and_is_named() -> None:
    booking = book(
        page_of(
            recorded("a", BOTH, "12", "2026-11-02"),  # day room 10: cut to 10 (month 10 of 25)
            recorded("b", BOTH, "12", "2026-11-03"),  # day room 10: cut to 10 (month 20 of 25)
            recorded("c", BOTH, "12", "2026-11-04"),  # day room 10, month room 5: cut to 5 by the period
            recorded("d", BOTH, "3", "2026-11-05"),  # month full: 0
        ),
        {},
    )

    assert [booked(x) for x in booking.lines] == [
        ("2026-11-02", "12.0000", "10.0000", "day"),
        ("2026-11-03", "12.0000", "10.0000", "day"),
        ("2026-11-04", "12.0000", "5.0000", "period"),
        ("2026-11-05", "3.0000", "0.0000", "period"),
    ]
    # usage counts what was booked, not what was asked
    assert booking.usage == [
        ("e1", "both", "day:2026-11-02", to_units(Decimal(10))),
        ("e1", "both", "day:2026-11-03", to_units(Decimal(10))),
        ("e1", "both", "day:2026-11-04", to_units(Decimal(5))),
        ("e1", "both", "day:2026-11-05", 0),
        ("e1", "both", "month:2026-11", to_units(Decimal(25))),
    ]


# -- negative lines -------------------------------------------------------------------


def test_negative_lines_are_booked_in_full_even_when_the_caps_are_used_up() -> None:
    booking = book(
        page_of(
            recorded("a", MONTHLY, "25", "2026-11-02"),  # the month's service cap is used up
            recorded("b", COMPLAINT, "2", "2026-11-02"),  # -60, uncapped
        ),
        {},
    )

    assert [booked(x) for x in booking.lines] == [
        ("2026-11-02", "25.0000", "25.0000", ""),
        ("2026-11-02", "-60.0000", "-60.0000", ""),
    ]
    # service: 25 - 60 = -35, weighted 12.5 - 30 = -17.5
    assert totals(booking) == {("e1", "2026-11", "service"): ("-35.0000", "-17.5000")}


def capped_rule_line(points: str) -> PointsLine:
    """A line of a rule with both caps (1 point a day, 1 a month), whatever its sign: policies refuse caps
    on negative rules, so this checks the ledger's own guard."""
    return PointsLine(
        rule_id="r", policy_version="t", dimension="d", points=Decimal(points), weighted_points=Decimal(points),
        cap_per_day=Decimal(1), cap_per_period=Decimal(1),
    )  # fmt: skip


def test_apply_caps_never_cuts_a_negative_line_nor_counts_it_as_usage() -> None:
    usage: dict[tuple[str, str, str], Decimal] = {}

    negative = apply_caps("e1", date(2026, 11, 2), capped_rule_line("-5"), usage)
    positive = apply_caps("e1", date(2026, 11, 2), capped_rule_line("3"), usage)

    assert negative == CappedLine(capped_rule_line("-5"), Decimal(-5), Decimal(-5), "")
    assert (positive.points, positive.cap_applied) == (Decimal(1), "day")  # 3 cut to the day's 1, which fits the month
    assert usage == {("e1", "r", "day:2026-11-02"): Decimal(1), ("e1", "r", "month:2026-11"): Decimal(1)}


# -- log order decides --------------------------------------------------------------------


def test_without_caps_reached_another_order_books_the_same_lines_per_event() -> None:
    a, b = recorded("a", DAILY, "4", "2026-11-02"), recorded("b", DAILY, "5", "2026-11-02")

    forward, backward = book(page_of(a, b), {}), book(page_of(b, a), {})

    per_event = {x.event_id: booked(x) for x in forward.lines}
    assert {x.event_id: booked(x) for x in backward.lines} == per_event
    assert all(x.cap_applied == "" for x in forward.lines)
    assert totals(forward) == totals(backward) == {("e1", "2026-11", "workload"): ("9.0000", "4.5000")}


def test_log_order_decides_which_event_the_cap_cuts() -> None:
    a, b = recorded("a", DAILY, "8", "2026-11-02"), recorded("b", DAILY, "5", "2026-11-02")

    a_first, b_first = book(page_of(a, b), {}), book(page_of(b, a), {})

    def by_request(booking: Booking) -> dict[str, tuple[str, str]]:
        ids = {str(a.originator_id): "a", str(b.originator_id): "b"}
        return {ids[x.event_id]: (str(from_units(x.points)), x.cap_applied) for x in booking.lines}

    assert by_request(a_first) == {"a": ("8.0000", ""), "b": ("2.0000", "day")}  # 10 - 8 = 2 left for b
    assert by_request(b_first) == {"a": ("5.0000", "day"), "b": ("5.0000", "")}  # 10 - 5 = 5 left for a
    # one rule, one weight: the day's total is min(8 + 5, 10) in either order
    assert totals(a_first) == totals(b_first) == {("e1", "2026-11", "workload"): ("10.0000", "5.0000")}


NOVEMBER_15 = parse_policy(
    CAPS_TEXT.replace('version = "caps.1"', 'version = "caps.2"')
    .replace('effective_from = "2026-01-01"', 'effective_from = "2026-11-15"')
    .replace("service = 0.5", "service = 0.8")
    .replace("workload = 0.5", "workload = 0.2"),
    "caps-2.toml",
)  # the same rules (and rule ids), service weighted 0.8 from 2026-11-15


def test_when_a_capped_rule_changes_weight_mid_month_log_order_decides_the_total() -> None:
    early = recorded("early", MONTHLY, "20", "2026-11-10")  # caps.1: weight .5
    late = recorded("late", MONTHLY, "20", "2026-11-20", policy=NOVEMBER_15)  # caps.2: weight .8

    early_first, late_first = book(page_of(early, late), {}), book(page_of(late, early), {})

    # early first: 20 x .5 = 10, then the 5 left x .8 = 4   -> 25 points, 14 weighted
    # late first:  20 x .8 = 16, then the 5 left x .5 = 2.5 -> 25 points, 18.5 weighted
    assert totals(early_first) == {("e1", "2026-11", "service"): ("25.0000", "14.0000")}
    assert totals(late_first) == {("e1", "2026-11", "service"): ("25.0000", "18.5000")}
    assert [(x.policy_version, x.cap_applied) for x in early_first.lines] == [("caps.1", ""), ("caps.2", "period")]


def test_a_booked_line_names_its_event_rule_version_and_multiplier() -> None:
    event = recorded("a", DAILY, "3", "2026-11-02")

    (line,) = book(page_of(event, first_position=42), {}).lines

    assert (line.position, line.line_no, line.event_id, line.employee_id, line.month) == (
        42, 0, str(event.originator_id), "e1", "2026-11",
    )  # fmt: skip
    assert (line.kind, line.quantity, line.rule_id, line.policy_version, line.dimension, line.multiplier) == (
        DAILY, "3", "daily", "caps.1", "workload", "1",
    )  # fmt: skip


@pytest.mark.parametrize(("value", "units"), [("1.2345", 12345), ("-0.0001", -1), ("0", 0), ("3000", 30_000_000)])
def test_points_are_stored_as_whole_units_of_a_ten_thousandth(value: str, units: int) -> None:
    assert to_units(Decimal(value)) == units
    assert from_units(units) == Decimal(value)


def test_more_than_four_places_cannot_be_stored() -> None:
    with pytest.raises(ValueError):
        to_units(Decimal("0.00001"))
