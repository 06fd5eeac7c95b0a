"""Booking corrections and pay-period closes: reversal lines, amended lines, and adjustments for closed months.

Pages are built from real domain events (WorkEvent.Recorded/Reversed/Amended, PayCalendar.PeriodClosed),
scored by policies/example.toml 2026.1:
  sm-1 (service manager, class A) customer_served: 0.5 a unit, weighted .35
      20 -> 10.0000 (3.5000)   8 -> 4.0000 (1.4000)   6 -> 3.0000 (1.0500)   25 -> 12.5000 (4.3750)
  os-1 (operations supervisor, class A) counter_authorisation: 0.5 a unit, 150 a day, weighted .40
      400 -> 200, cut to 150 by the day cap (60.0000)   100 -> 50 (20.0000)
"""

from __future__ import annotations

from datetime import date, datetime, timezone
from decimal import Decimal

from points.application.policy_file import load_policy
from points.domain.periods import PayCalendar
from points.domain.work import WorkEvent, correction_fingerprint
from points.domain.scoring import ScoredWork
from points.domain.work_request import WorkRequest
from points.projections.ledger import Booking, LedgerEvent, Page, book
from points.projections.ledger_rows import LineRow, NetLine, from_units, to_units
from tests.unit.test_ledger import totals  # (employee, pay month, dimension) -> (points, weighted points)

NOW = datetime(2026, 11, 28, 9, 30, tzinfo=timezone.utc)
EXAMPLE = load_policy()
ROLES = {"sm-1": "service_manager", "os-1": "operations_supervisor"}


def recorded(request_id: str, quantity: str, day: str, *, employee_id: str = "sm-1", kind: str = "customer_served") -> WorkEvent:
    """The work event aggregate (its Recorded event still pending)."""
    role = ROLES[employee_id]
    request = WorkRequest(request_id, employee_id, kind, Decimal(quantity), date.fromisoformat(day))
    lines = EXAMPLE.score(role, kind, request.quantity, outlet_class="A")
    return WorkEvent.record(ScoredWork(request, role, "o1", "A", lines), timestamp=NOW)


def reversal_of(event: WorkEvent) -> WorkEvent.Reversed:
    event.collect_events()
    event.reverse(
        correction_id=f"{event.request_id}/rev", fingerprint=correction_fingerprint("reverse", "wrong"),
        reason="wrong", corrected_by="supervisor", timestamp=NOW,
    )  # fmt: skip
    (reversal,) = event.collect_events()
    assert isinstance(reversal, WorkEvent.Reversed)
    return reversal


def amendment_of(event: WorkEvent, *, quantity: str = "", day: str = "") -> WorkEvent.Amended:
    event.collect_events()
    request = event.amended_request(
        kind="", quantity=Decimal(quantity) if quantity else None, occurred_on=date.fromisoformat(day) if day else None
    )
    lines = EXAMPLE.score(event.role, request.kind, request.quantity, outlet_class="A")
    event.amend(
        ScoredWork(request, event.role, "o1", "A", lines), correction_id=f"{event.request_id}/amend",
        fingerprint=correction_fingerprint("amend", "miscounted", "", quantity, day), reason="miscounted",
        corrected_by="supervisor", timestamp=NOW,
    )  # fmt: skip
    (amended,) = event.collect_events()
    assert isinstance(amended, WorkEvent.Amended)
    return amended


def first_recorded(event: WorkEvent) -> WorkEvent.Recorded:
    (created,) = event.collect_events()
    assert isinstance(created, WorkEvent.Recorded)
    return created


def close_of(*periods: str, today: date = date(2026, 11, 28)) -> list[PayCalendar.PeriodClosed]:
    calendar = PayCalendar.open(timestamp=NOW)
    for period in periods:
        calendar.close(period, first_booked=periods[0], today=today, closed_by="payroll", reason="paid", timestamp=NOW)
    return [e for e in calendar.collect_events() if isinstance(e, PayCalendar.PeriodClosed)]


def page_of(*events: LedgerEvent, first_position: int = 10) -> Page:
    page = Page()
    for offset, event in enumerate(events):
        page.add(first_position + offset, event)
    return page


def entry(line: LineRow) -> tuple[int, str, str, str, str, str, int]:
    """(position, business month, pay month, entry, points, weighted, event delta)"""
    return (
        line.position, line.month, line.booked_month, line.entry, str(from_units(line.points)),
        str(from_units(line.weighted_points)), line.event_delta,
    )  # fmt: skip


def net_lines(booking: Booking, event: WorkEvent) -> list[NetLine]:
    """What `booking` left booked for `event`, as the view hands it to the next page."""
    return [
        NetLine(x.event_id, x.employee_id, x.month, x.occurred_on, x.kind, x.quantity, x.rule_id, x.policy_version,
                x.dimension, x.multiplier, x.outlet_id, x.role, x.outlet_class, x.point_value, x.points, x.weighted_points)  # fmt: skip
        for x in booking.lines
        if x.event_id == str(event.id)
    ]


# -- a close in the middle of a page ---------------------------------------------------------


def test_events_before_a_close_book_into_their_month_and_after_it_into_the_next_open_month() -> None:
    october_early, november = recorded("a", "20", "2026-10-30"), recorded("b", "8", "2026-11-02")
    october_late = recorded("c", "6", "2026-10-31")
    (close,) = close_of("2026-10")

    booking = book(page_of(first_recorded(october_early), first_recorded(november), close, first_recorded(october_late)), {})

    assert [entry(x) for x in booking.lines] == [
        (10, "2026-10", "2026-10", "recorded", "10.0000", "3.5000", 1),
        (11, "2026-11", "2026-11", "recorded", "4.0000", "1.4000", 1),
        (13, "2026-10", "2026-11", "recorded", "3.0000", "1.0500", 1),  # late: an adjustment in November
    ]
    assert totals(booking) == {
        ("sm-1", "2026-10", "service"): ("10.0000", "3.5000"),
        ("sm-1", "2026-11", "service"): ("7.0000", "2.4500"),  # 4 + 3, 1.4 + 1.05
    }


def test_the_close_is_booked_with_its_position_who_and_why() -> None:
    (close,) = close_of("2026-10")

    booking = book(page_of(first_recorded(recorded("a", "20", "2026-10-30")), close), {})

    assert [(c.period, c.position, c.closed_by, c.reason) for c in booking.closes] == [("2026-10", 11, "payroll", "paid")]
    assert booking.closes[0].closed_at == "2026-11-28T09:30:00.000000+00:00"


def test_corrections_after_a_close_book_into_the_first_open_month() -> None:
    october, november = recorded("a", "20", "2026-10-30"), recorded("b", "8", "2026-11-02")
    page = page_of(first_recorded(october), first_recorded(november))
    (close,) = close_of("2026-10")
    page.add(12, close)
    page.add(13, reversal_of(october))
    page.add(14, amendment_of(november, day="2026-10-15"))  # moved into the closed month

    booking = book(page, {})

    assert [entry(x) for x in booking.lines[2:]] == [
        (13, "2026-10", "2026-11", "reversal", "-10.0000", "-3.5000", -1),
        (14, "2026-11", "2026-11", "reversal", "-4.0000", "-1.4000", -1),
        (14, "2026-10", "2026-11", "amended", "4.0000", "1.4000", 1),
    ]
    # October stays as closed; November: 4 - 10 - 4 + 4 = -6, weighted 1.4 - 3.5 - 1.4 + 1.4 = -2.1
    assert totals(booking) == {
        ("sm-1", "2026-10", "service"): ("10.0000", "3.5000"),
        ("sm-1", "2026-11", "service"): ("-6.0000", "-2.1000"),
    }


def test_a_month_closed_before_the_page_books_its_late_events_in_the_next_month() -> None:
    booking = book(page_of(first_recorded(recorded("a", "20", "2026-10-30"))), {}, closed={"2026-10"})

    assert [entry(x) for x in booking.lines] == [(10, "2026-10", "2026-11", "recorded", "10.0000", "3.5000", 1)]


def test_two_closes_in_one_page_move_late_work_past_both() -> None:
    october, november = close_of("2026-10", "2026-11", today=date(2026, 12, 3))
    late = recorded("a", "20", "2026-10-30")

    booking = book(page_of(october, first_recorded(recorded("b", "6", "2026-11-30")), november, first_recorded(late)), {})

    assert [(x.month, x.booked_month) for x in booking.lines] == [("2026-11", "2026-11"), ("2026-10", "2026-12")]
    assert [c.period for c in booking.closes] == ["2026-10", "2026-11"]


def test_a_close_after_every_event_of_the_page_moves_none_of_them() -> None:
    (close,) = close_of("2026-10")

    booking = book(page_of(first_recorded(recorded("a", "20", "2026-10-30")), first_recorded(recorded("b", "6", "2026-10-31")), close), {})

    assert [x.booked_month for x in booking.lines] == ["2026-10", "2026-10"]


# -- reversal and amended lines -----------------------------------------------------------------


def test_a_reversal_negates_exactly_the_capped_points_that_were_booked_and_gives_the_room_back() -> None:
    event = recorded("a", "400", "2026-11-02", employee_id="os-1", kind="counter_authorisation")
    first = book(page_of(first_recorded(event)), {})
    usage = {(e, r, s): used for e, r, s, used in first.usage}

    same_day = recorded("b", "100", "2026-11-02", employee_id="os-1", kind="counter_authorisation")

    later = book(page_of(reversal_of(event), first_recorded(same_day), first_position=20), usage, {str(event.id): net_lines(first, event)})

    assert [(x.points_before_cap, x.points, x.cap_applied) for x in first.lines] == [
        (to_units(Decimal(200)), to_units(Decimal(150)), "day")
    ]
    assert [(entry(x), str(from_units(x.points_before_cap)), x.cap_applied) for x in later.lines] == [
        ((20, "2026-11", "2026-11", "reversal", "-150.0000", "-60.0000", -1), "-150.0000", ""),
        ((21, "2026-11", "2026-11", "recorded", "50.0000", "20.0000", 1), "50.0000", ""),  # the whole day's 150 is free again
    ]
    assert later.usage == [("os-1", "os-counter-authorisation", "day:2026-11-02", to_units(Decimal(50)))]


def test_a_reversal_in_the_same_page_as_its_event_negates_what_the_page_booked() -> None:
    event = recorded("a", "400", "2026-11-02", employee_id="os-1", kind="counter_authorisation")

    booking = book(page_of(first_recorded(event), reversal_of(event)), {})

    assert [entry(x) for x in booking.lines] == [
        (10, "2026-11", "2026-11", "recorded", "150.0000", "60.0000", 1),
        (11, "2026-11", "2026-11", "reversal", "-150.0000", "-60.0000", -1),
    ]
    assert totals(booking) == {("os-1", "2026-11", "workload"): ("0.0000", "0.0000")}
    assert booking.usage == [("os-1", "os-counter-authorisation", "day:2026-11-02", 0)]


def test_an_amendment_reverses_the_booked_lines_and_books_the_new_ones_scored_afresh() -> None:
    event = recorded("a", "20", "2026-11-02")

    booking = book(page_of(first_recorded(event), amendment_of(event, quantity="25")), {})

    assert [(entry(x), x.quantity) for x in booking.lines] == [
        ((10, "2026-11", "2026-11", "recorded", "10.0000", "3.5000", 1), "20"),
        ((11, "2026-11", "2026-11", "reversal", "-10.0000", "-3.5000", -1), "20"),
        ((11, "2026-11", "2026-11", "amended", "12.5000", "4.3750", 1), "25"),
    ]
    assert [x.line_no for x in booking.lines] == [0, 0, 1]
    assert totals(booking) == {("sm-1", "2026-11", "service"): ("12.5000", "4.3750")}


def test_an_amendment_of_the_date_moves_the_points_between_months() -> None:
    event = recorded("a", "20", "2026-11-02")

    booking = book(page_of(first_recorded(event), amendment_of(event, day="2026-10-30")), {})

    assert totals(booking) == {
        ("sm-1", "2026-10", "service"): ("10.0000", "3.5000"),
        ("sm-1", "2026-11", "service"): ("0.0000", "0.0000"),
    }
    assert [(x.month, x.occurred_on, x.event_delta) for x in booking.lines] == [
        ("2026-11", "2026-11-02", 1),
        ("2026-11", "2026-11-02", -1),
        ("2026-10", "2026-10-30", 1),
    ]


def test_an_amendment_booked_in_a_later_page_reverses_what_the_earlier_page_booked() -> None:
    event = recorded("a", "20", "2026-11-02")
    first = book(page_of(first_recorded(event)), {})

    later = book(page_of(amendment_of(event, quantity="25"), first_position=30), {}, {str(event.id): net_lines(first, event)})

    assert [entry(x) for x in later.lines] == [
        (30, "2026-11", "2026-11", "reversal", "-10.0000", "-3.5000", -1),
        (30, "2026-11", "2026-11", "amended", "12.5000", "4.3750", 1),
    ]


def test_the_page_lists_the_events_it_corrects() -> None:
    a, b = recorded("a", "20", "2026-11-02"), recorded("b", "8", "2026-11-02")
    (close,) = close_of("2026-10")

    page = page_of(first_recorded(a), first_recorded(b), close, reversal_of(a), amendment_of(b, quantity="9"))

    assert page.rebooked_event_ids() == {str(a.id), str(b.id)}
