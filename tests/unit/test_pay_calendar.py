"""Pay periods: months close in order and only once they have ended; where a line dated in a closed month is booked."""

from __future__ import annotations

from datetime import date, datetime, timezone

import pytest

from points.domain.errors import FailedPrecondition, InvalidRequest, Violations
from points.domain.periods import PayCalendar, booking_month, next_month, parse_month

TODAY = date(2026, 11, 28)
NOW = datetime(2026, 11, 28, 9, 30, tzinfo=timezone.utc)


def closed(*periods: str, today: date = TODAY) -> PayCalendar:
    """A calendar with `periods` closed, in the order given."""
    calendar = PayCalendar.open(timestamp=NOW)
    for period in periods:
        calendar.close(period, today=today, closed_by="payroll", reason=f"{period} paid", timestamp=NOW)
    return calendar


def refusal(calendar: PayCalendar, period: str, today: date = TODAY) -> str:
    with pytest.raises(FailedPrecondition) as caught:
        calendar.close(period, today=today, closed_by="payroll", reason="", timestamp=NOW)
    return caught.value.reason


# -- closing ------------------------------------------------------------------------


def test_a_new_calendar_has_nothing_closed() -> None:
    calendar = closed()

    assert (calendar.closed_through, calendar.closes, calendar.close_of("2026-10")) == ("", [], None)


def test_a_close_records_who_why_when_and_the_calendar_version() -> None:
    calendar = closed("2026-10")

    close = calendar.close_of("2026-10")
    assert close is not None
    assert (close.period, close.closed_by, close.reason, close.closed_at) == ("2026-10", "payroll", "2026-10 paid", NOW)
    assert close.calendar_version == 2  # 1 is the calendar's opening
    assert calendar.closed_through == "2026-10"


def test_the_first_close_may_be_any_month_that_has_ended() -> None:
    assert closed("2025-03").closed_through == "2025-03"


def test_months_close_one_after_the_other_across_a_year_end() -> None:
    calendar = closed("2026-11", "2026-12", "2027-01", today=date(2027, 2, 1))

    assert [c.period for c in calendar.closes] == ["2026-11", "2026-12", "2027-01"]
    assert [c.calendar_version for c in calendar.closes] == [2, 3, 4]


def test_a_month_before_the_last_closed_one_is_out_of_order() -> None:
    assert refusal(closed("2026-10"), "2026-09") == "PERIODS_CLOSE_IN_ORDER"


def test_skipping_a_month_is_out_of_order_even_once_both_have_ended() -> None:
    # 2026-11 is still open, so 2026-12 may not close first, whatever the date
    assert refusal(closed("2026-10"), "2026-12", today=date(2027, 1, 15)) == "PERIODS_CLOSE_IN_ORDER"


def test_a_closed_month_cannot_close_again() -> None:
    calendar = closed("2026-09", "2026-10")

    assert refusal(calendar, "2026-10") == "PERIOD_ALREADY_CLOSED"
    assert refusal(calendar, "2026-09") == "PERIOD_ALREADY_CLOSED"


def test_the_current_month_has_not_ended() -> None:
    assert refusal(closed("2026-10"), "2026-11") == "PERIOD_NOT_ENDED"
    assert refusal(closed(), "2026-11") == "PERIOD_NOT_ENDED"


def test_a_month_ends_on_its_last_day_and_closes_on_the_first_of_the_next() -> None:
    assert refusal(closed("2026-10"), "2026-11", today=date(2026, 11, 30)) == "PERIOD_NOT_ENDED"

    assert closed("2026-10", "2026-11", today=date(2026, 12, 1)).closed_through == "2026-11"


def test_a_future_month_has_not_ended() -> None:
    assert refusal(closed(), "2027-03") == "PERIOD_NOT_ENDED"


def test_a_refused_close_records_nothing() -> None:
    calendar = closed("2026-10")
    calendar.collect_events()

    refusal(calendar, "2026-09")
    refusal(calendar, "2026-10")
    refusal(calendar, "2026-11")

    assert calendar.collect_events() == []
    assert calendar.closed_through == "2026-10"


def test_the_close_event_carries_the_period_who_and_why() -> None:
    calendar = closed("2026-10")

    opened, period_closed = calendar.collect_events()

    assert isinstance(opened, PayCalendar.Opened)
    assert isinstance(period_closed, PayCalendar.PeriodClosed)
    assert (period_closed.period, period_closed.closed_by, period_closed.reason) == ("2026-10", "payroll", "2026-10 paid")


# -- the months ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("month", "following"), [("2026-10", "2026-11"), ("2026-11", "2026-12"), ("2026-12", "2027-01"), ("2027-01", "2027-02")]
)
def test_next_month(month: str, following: str) -> None:
    assert next_month(month) == following


@pytest.mark.parametrize(
    ("business_month", "closed_through", "booked"),
    [
        ("2026-11", "", "2026-11"),  # nothing closed: its own month
        ("2026-11", "2026-10", "2026-11"),  # its own month is open
        ("2026-10", "2026-10", "2026-11"),  # its month closed: the first open month
        ("2026-09", "2026-10", "2026-11"),  # an older month: the first open month too
        ("2025-12", "2026-10", "2026-11"),  # even a year back
        ("2026-12", "2026-12", "2027-01"),  # across the year end
    ],
)
def test_booking_month(business_month: str, closed_through: str, booked: str) -> None:
    assert booking_month(business_month, closed_through) == booked


@pytest.mark.parametrize("value", ["2026-Q4", "2026"])
def test_a_pay_period_is_a_single_month(value: str) -> None:
    v = Violations()

    assert parse_month(v, "period", value) is None
    with pytest.raises(InvalidRequest) as caught:
        v.raise_if_any()
    assert [(x.field, x.reason) for x in caught.value.violations] == [("period", "NOT_A_MONTH")]


def test_a_malformed_month_is_refused_as_a_malformed_period() -> None:
    v = Violations()

    assert parse_month(v, "period", "2026-13") is None
    assert [(x.field, x.reason) for x in v.items] == [("period", "MALFORMED_PERIOD")]
    assert parse_month(Violations(), "period", "2026-10") == "2026-10"
