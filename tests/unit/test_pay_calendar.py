"""The pay calendar: it starts at the first booked month, months close strictly in order once ended,
a close takes a proposer and a different approver (four eyes), and where a late line is booked."""

from __future__ import annotations

from datetime import date, datetime, timezone

import pytest

from points.domain.approvals import APPROVED, PENDING, WITHDRAWN
from points.domain.errors import AlreadyExists, FailedPrecondition, Forbidden, InvalidRequest, NotFound, PointsError, Violations
from points.domain.periods import PayCalendar, booking_month, next_month, parse_month

TODAY = date(2026, 11, 28)
NOW = datetime(2026, 11, 28, 9, 30, tzinfo=timezone.utc)
FIRST = "2026-09"  # the earliest month with bookings, unless a test says otherwise


def closed(*periods: str, today: date = TODAY, first_booked: str = "") -> PayCalendar:
    """A calendar with `periods` closed in one step each, in the order given (bookings start at the first)."""
    calendar = PayCalendar.open(timestamp=NOW)
    for period in periods:
        calendar.close(
            period, first_booked=first_booked or periods[0], today=today, closed_by="payroll", reason=f"{period} paid", timestamp=NOW
        )
    return calendar


def refusal(calendar: PayCalendar, period: str, today: date = TODAY, first_booked: str = FIRST) -> str:
    with pytest.raises(FailedPrecondition) as caught:
        calendar.close(period, first_booked=first_booked, today=today, closed_by="payroll", reason="", timestamp=NOW)
    return caught.value.reason


def reason_of(call: object) -> str:
    with pytest.raises(PointsError) as caught:
        call()  # type: ignore[operator]
    return caught.value.reason


# -- where the calendar starts --------------------------------------------------------


def test_a_calendar_with_nothing_booked_has_nothing_to_close() -> None:
    calendar = closed()

    assert (calendar.start(""), calendar.next_to_close(""), calendar.closes) == ("", "", [])
    assert refusal(calendar, "2026-10", first_booked="") == "NOTHING_TO_CLOSE"


def test_the_first_booked_month_is_the_first_to_close() -> None:
    calendar = closed()

    assert calendar.next_to_close("2026-10") == "2026-10"
    assert refusal(calendar, "2026-11", first_booked="2026-10") == "PERIODS_CLOSE_IN_ORDER"
    assert refusal(calendar, "2026-09", first_booked="2026-10") == "PERIOD_BEFORE_CALENDAR"


def test_a_refusal_names_the_month_to_close_first() -> None:
    with pytest.raises(FailedPrecondition) as caught:
        closed().close("2026-11", first_booked="2026-10", today=TODAY, closed_by="p", reason="", timestamp=NOW)

    assert "close 2026-10 first" in caught.value.message


def test_a_close_records_who_why_when_and_the_calendar_version() -> None:
    calendar = closed("2026-10")

    close = calendar.close_of("2026-10")
    assert close is not None
    assert (close.period, close.closed_by, close.reason, close.closed_at, close.proposed_by) == ("2026-10", "payroll", "2026-10 paid", NOW, "")
    assert close.calendar_version == 2  # 1 is the calendar's opening
    assert calendar.closed_through == "2026-10"


def test_months_close_one_after_the_other_across_a_year_end() -> None:
    calendar = closed("2026-11", "2026-12", "2027-01", today=date(2027, 2, 1))

    assert [c.period for c in calendar.closes] == ["2026-11", "2026-12", "2027-01"]
    assert [c.calendar_version for c in calendar.closes] == [2, 3, 4]
    assert calendar.next_to_close("2026-11") == "2027-02"


def test_a_month_before_the_last_closed_one_is_before_the_calendar() -> None:
    assert refusal(closed("2026-10"), "2026-09", first_booked="2026-10") == "PERIOD_BEFORE_CALENDAR"


def test_skipping_a_month_is_out_of_order_even_once_both_have_ended() -> None:
    # 2026-11 is still open, so 2026-12 may not close first, whatever the date
    assert refusal(closed("2026-10"), "2026-12", today=date(2027, 1, 15), first_booked="2026-10") == "PERIODS_CLOSE_IN_ORDER"


def test_a_closed_month_cannot_close_again() -> None:
    calendar = closed("2026-09", "2026-10")

    assert refusal(calendar, "2026-10") == "PERIOD_ALREADY_CLOSED"
    assert refusal(calendar, "2026-09") == "PERIOD_ALREADY_CLOSED"


def test_the_current_month_has_not_ended() -> None:
    assert refusal(closed("2026-10"), "2026-11", first_booked="2026-10") == "PERIOD_NOT_ENDED"
    assert refusal(closed(), "2026-11", first_booked="2026-11") == "PERIOD_NOT_ENDED"


def test_a_month_ends_on_its_last_day_and_closes_on_the_first_of_the_next() -> None:
    assert refusal(closed("2026-10"), "2026-11", today=date(2026, 11, 30), first_booked="2026-10") == "PERIOD_NOT_ENDED"

    assert closed("2026-10", "2026-11", today=date(2026, 12, 1)).closed_through == "2026-11"


def test_a_refused_close_records_nothing() -> None:
    calendar = closed("2026-10")
    calendar.collect_events()

    refusal(calendar, "2026-09", first_booked="2026-10")
    refusal(calendar, "2026-10", first_booked="2026-10")
    refusal(calendar, "2026-11", first_booked="2026-10")

    assert calendar.collect_events() == []
    assert calendar.closed_through == "2026-10"


def test_the_close_event_carries_the_period_who_and_why() -> None:
    calendar = closed("2026-10")

    opened, period_closed = calendar.collect_events()

    assert isinstance(opened, PayCalendar.Opened)
    assert isinstance(period_closed, PayCalendar.PeriodClosed)
    assert (period_closed.period, period_closed.closed_by, period_closed.reason) == ("2026-10", "payroll", "2026-10 paid")
    assert (period_closed.proposal_id, period_closed.proposed_by) == ("", "")


# -- a calendar that let a month be skipped -----------------------------------------


def test_a_month_booked_before_a_skipping_first_close_is_skipped_and_closes_next() -> None:
    calendar = closed("2026-10", first_booked="2026-10")  # as an older release allowed: 2026-08 and 09 were booked

    assert calendar.start("2026-08") == "2026-08"
    assert calendar.skipped("2026-08") == ["2026-08", "2026-09"]
    assert calendar.next_to_close("2026-08") == "2026-08"
    assert refusal(calendar, "2026-11", first_booked="2026-08") == "PERIODS_CLOSE_IN_ORDER"

    calendar.close("2026-08", first_booked="2026-08", today=TODAY, closed_by="ops", reason="repair", timestamp=NOW)
    calendar.close("2026-09", first_booked="2026-08", today=TODAY, closed_by="ops", reason="repair", timestamp=NOW)

    assert (calendar.skipped("2026-08"), calendar.next_to_close("2026-08"), calendar.closed_through) == ([], "2026-11", "2026-10")


# -- four eyes ------------------------------------------------------------------------


def proposed(period: str = "2026-10", proposal_id: str = "p-1", by: str = "alice") -> PayCalendar:
    calendar = PayCalendar.open(timestamp=NOW)
    calendar.propose(proposal_id, period, first_booked="2026-10", today=TODAY, proposed_by=by, reason="October paid", timestamp=NOW)
    return calendar


def approve(calendar: PayCalendar, by: str, proposal_id: str = "p-1", four_eyes: bool = True) -> None:
    calendar.approve(proposal_id, first_booked="2026-10", today=TODAY, approved_by=by, reason="checked", four_eyes=four_eyes, timestamp=NOW)


def test_a_proposal_closes_nothing_until_another_person_approves_it() -> None:
    calendar = proposed()

    assert calendar.close_of("2026-10") is None
    pending = calendar.pending("2026-10")
    assert pending is not None and (pending.proposed_by, pending.state, pending.reason) == ("alice", PENDING, "October paid")

    approve(calendar, "bob")

    close = calendar.close_of("2026-10")
    assert close is not None and (close.closed_by, close.proposed_by, close.proposal_id, close.reason) == ("bob", "alice", "p-1", "checked")
    assert calendar.proposals["p-1"].state == APPROVED and calendar.pending("2026-10") is None


def test_the_proposer_cannot_approve_their_own_proposal() -> None:
    calendar = proposed()
    calendar.collect_events()

    with pytest.raises(Forbidden) as caught:
        approve(calendar, "alice")

    assert caught.value.reason == "SELF_APPROVAL"
    assert calendar.collect_events() == [] and calendar.close_of("2026-10") is None


def test_with_four_eyes_off_the_proposer_may_approve() -> None:
    calendar = proposed()

    approve(calendar, "alice", four_eyes=False)

    assert calendar.closed_through == "2026-10"


def test_a_withdrawn_proposal_cannot_be_approved_and_the_month_can_be_proposed_again() -> None:
    calendar = proposed()
    calendar.withdraw("p-1", withdrawn_by="alice", reason="numbers not final", timestamp=NOW)

    assert calendar.proposals["p-1"].state == WITHDRAWN and calendar.pending("2026-10") is None
    assert reason_of(lambda: approve(calendar, "bob")) == "PROPOSAL_WITHDRAWN"

    calendar.propose("p-2", "2026-10", first_booked="2026-10", today=TODAY, proposed_by="carol", reason="now", timestamp=NOW)
    approve(calendar, "bob", proposal_id="p-2")
    assert calendar.close_of("2026-10") is not None


def test_one_pending_proposal_per_month() -> None:
    calendar = proposed()

    with pytest.raises(FailedPrecondition) as caught:
        calendar.propose("p-2", "2026-10", first_booked="2026-10", today=TODAY, proposed_by="carol", reason="", timestamp=NOW)

    assert caught.value.reason == "CLOSE_ALREADY_PROPOSED" and "p-1" in caught.value.message


def test_a_proposal_must_name_the_month_to_close_next() -> None:
    calendar = PayCalendar.open(timestamp=NOW)

    with pytest.raises(FailedPrecondition) as caught:
        calendar.propose("p-1", "2026-11", first_booked="2026-10", today=date(2026, 12, 2), proposed_by="a", reason="", timestamp=NOW)

    assert caught.value.reason == "PERIODS_CLOSE_IN_ORDER" and "2026-10" in caught.value.message


def test_retries_of_a_proposal_an_approval_and_a_withdrawal_record_nothing_again() -> None:
    calendar = proposed()
    calendar.collect_events()

    again = calendar.propose("p-1", "2026-10", first_booked="2026-10", today=TODAY, proposed_by="alice", reason="October paid", timestamp=NOW)
    assert again.proposal_id == "p-1" and calendar.collect_events() == []
    approve(calendar, "bob")
    assert len(calendar.collect_events()) == 1
    approve(calendar, "bob")
    assert calendar.collect_events() == []
    assert reason_of(lambda: approve(calendar, "carol")) == "PROPOSAL_DECIDED"
    assert reason_of(lambda: calendar.withdraw("p-1", withdrawn_by="alice", reason="", timestamp=NOW)) == "PROPOSAL_DECIDED"


def test_a_proposal_id_reused_for_another_month_or_reason_is_refused() -> None:
    calendar = proposed()

    with pytest.raises(AlreadyExists) as caught:
        calendar.propose("p-1", "2026-10", first_booked="2026-10", today=TODAY, proposed_by="alice", reason="other", timestamp=NOW)

    assert caught.value.reason == "REQUEST_ID_REUSED"


def test_an_unknown_proposal_is_not_found() -> None:
    with pytest.raises(NotFound) as caught:
        approve(PayCalendar.open(timestamp=NOW), "bob", proposal_id="nope")

    assert caught.value.reason == "PROPOSAL_NOT_FOUND"


def test_an_approval_checks_the_order_again() -> None:
    """A month booked earlier than the proposal's (a late event raced it) must close first."""
    calendar = proposed()

    with pytest.raises(FailedPrecondition) as caught:
        calendar.approve("p-1", first_booked="2026-09", today=TODAY, approved_by="bob", reason="", four_eyes=True, timestamp=NOW)

    assert caught.value.reason == "PERIODS_CLOSE_IN_ORDER"


# -- the months ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("month", "following"), [("2026-10", "2026-11"), ("2026-11", "2026-12"), ("2026-12", "2027-01"), ("2027-01", "2027-02")]
)
def test_next_month(month: str, following: str) -> None:
    assert next_month(month) == following


@pytest.mark.parametrize(
    ("business_month", "closed", "booked"),
    [
        ("2026-11", set(), "2026-11"),  # nothing closed: its own month
        ("2026-11", {"2026-10"}, "2026-11"),  # its own month is open
        ("2026-10", {"2026-10"}, "2026-11"),  # its month closed: the first open month
        ("2026-09", {"2026-10"}, "2026-11"),  # before the calendar's first month: the first open month too
        ("2025-12", {"2026-10"}, "2026-11"),  # even a year back
        ("2026-12", {"2026-11", "2026-12"}, "2027-01"),  # across the year end
        ("2026-09", {"2026-09", "2026-10", "2026-11"}, "2026-12"),  # past every closed month
        ("2026-08", {"2026-09", "2026-11"}, "2026-10"),  # a skipped month is open: the first open month after
    ],
)
def test_booking_month(business_month: str, closed: set[str], booked: str) -> None:
    assert booking_month(business_month, closed) == booked


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
