"""The pay calendar on a real store: it starts at the first booked month, months close strictly in order, a close
takes a proposer and a different approver, late work lands in the first open month, and a skipped calendar is repaired.

The fixture clock's today is 2026-11-28: October and earlier months have ended, November has not.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import pytest

from points.application.points import PointsApplication
from points.application.results import PeriodView
from points.domain.errors import FailedPrecondition, Forbidden, InvalidRequest, NotFound
from points.domain.periods import PayCalendar
from points.server import PointsService, Settings, build_service
from tests.app.ledger_reads import close_month, correct, statement_of
from tests.app.work_requests import log_size, work

if TYPE_CHECKING:
    from tests.conftest import Clock

pytestmark = pytest.mark.usefixtures("staffed_outlet")


def propose(service: PointsService, period: str, by: str = "payroll clerk", request_id: str = "") -> str:
    service.projector.catch_up()
    return service.periods.propose_close(request_id=request_id or f"close-{period}", period=period, proposed_by=by, reason="paid").proposal_id


def approve(service: PointsService, proposal_id: str, by: str = "payroll manager") -> PeriodView:
    service.projector.catch_up()
    return service.periods.approve_close(proposal_id=proposal_id, approved_by=by, reason="checked")


def refusal(service: PointsService, period: str) -> str:
    service.projector.catch_up()
    size = log_size(service.app)
    with pytest.raises(FailedPrecondition) as refused:
        service.periods.propose_close(request_id=f"try-{period}", period=period, proposed_by="payroll clerk", reason="")
    assert log_size(service.app) == size, "a refused proposal wrote to the log"
    return refused.value.reason


def states(service: PointsService) -> list[tuple[str, bool]]:
    service.projector.catch_up()
    return [(p.period, p.closed) for p in service.periods.calendar().periods]


@pytest.fixture
def october_and_november(idle_service: PointsService, staffed_outlet: None) -> None:
    """Work in October and November 2026 for e1 (the first bookings: the calendar starts in October)."""
    idle_service.app.record_work_event(work("oct", occurred_on="2026-10-05"))
    idle_service.app.record_work_event(work("nov", occurred_on="2026-11-03"))
    idle_service.projector.catch_up()


# -- where the calendar starts -----------------------------------------------------------------


def test_with_nothing_booked_only_the_current_month_is_listed_and_nothing_can_close(idle_service: PointsService) -> None:
    assert states(idle_service) == [("2026-11", False)]
    assert idle_service.periods.calendar().next_to_close == ""
    assert refusal(idle_service, "2026-10") == "NOTHING_TO_CLOSE"


@pytest.mark.usefixtures("october_and_november")
def test_the_calendar_lists_every_month_from_the_first_booking_and_names_the_next_to_close(idle_service: PointsService, clock: Clock) -> None:
    clock.advance(days=40)  # 2027-01-07

    assert states(idle_service) == [("2026-10", False), ("2026-11", False), ("2026-12", False), ("2027-01", False)]
    assert idle_service.periods.calendar().next_to_close == "2026-10"


@pytest.mark.usefixtures("october_and_november")
def test_closing_november_before_october_is_refused_naming_october(idle_service: PointsService, clock: Clock) -> None:
    clock.advance(days=4)  # 2026-12-02: both months have ended

    with pytest.raises(FailedPrecondition) as refused:
        idle_service.periods.propose_close(request_id="p-nov", period="2026-11", proposed_by="payroll clerk", reason="")

    assert refused.value.reason == "PERIODS_CLOSE_IN_ORDER"
    assert "close 2026-10 first" in refused.value.message


@pytest.mark.usefixtures("october_and_november")
def test_months_close_in_order_and_late_october_work_lands_in_the_first_open_month(idle_service: PointsService, clock: Clock) -> None:
    app = idle_service.app
    close_month(idle_service, "2026-10")
    while_november_open = app.record_work_event(work("late-1", occurred_on="2026-10-20"))
    assert (while_november_open.period, while_november_open.booked_period) == ("2026-10", "2026-11")

    clock.advance(days=4)  # 2026-12-02
    close_month(idle_service, "2026-11")
    after_november = app.record_work_event(work("late-2", occurred_on="2026-10-21"))

    assert (after_november.period, after_november.booked_period) == ("2026-10", "2026-12")
    assert states(idle_service) == [("2026-10", True), ("2026-11", True), ("2026-12", False)]
    assert [(a.from_period, str(a.weighted_points)) for a in statement_of(idle_service, "e1", "2026-11").adjustments] == [
        ("2026-10", "0.4000")
    ]
    assert [(a.from_period, str(a.weighted_points)) for a in statement_of(idle_service, "e1", "2026-12").adjustments] == [
        ("2026-10", "0.4000")
    ]


@pytest.mark.usefixtures("october_and_november")
def test_a_batch_and_a_correction_say_where_their_lines_are_booked(idle_service: PointsService, clock: Clock) -> None:
    app = idle_service.app
    before = app.record_work_event(work("sep-before-close", occurred_on="2026-10-30"))
    close_month(idle_service, "2026-10")

    current, late = app.record_work_events([work("b-nov", occurred_on="2026-11-20"), work("b-oct", occurred_on="2026-10-31")])
    retry = app.record_work_event(work("sep-before-close", occurred_on="2026-10-30"))  # booked before the close: still October
    moved = correct(app, current.event_id, "c-date", occurred_on="2026-10-12")  # November work dated into closed October
    reversed_ = correct(app, before.event_id, "c-rev", reverse=True)  # October work booked in October, reversed in November

    assert [(r.period, r.booked_period) for r in (current, late)] == [("2026-11", "2026-11"), ("2026-10", "2026-11")]
    assert (retry.replayed, retry.booked_period) == (True, "2026-10")
    assert (moved.period, moved.booked_period, moved.reversal_booked_period) == ("2026-10", "2026-11", "2026-11")
    assert (reversed_.period, reversed_.booked_period, reversed_.reversal_booked_period) == ("2026-10", "2026-11", "2026-11")
    assert correct(app, current.event_id, "c-date", occurred_on="2026-10-12").booked_period == "2026-11"  # a retry says the same


# -- four eyes ------------------------------------------------------------------------------


@pytest.mark.usefixtures("october_and_november")
def test_a_proposal_closes_the_month_only_when_another_person_approves_it(idle_service: PointsService, clock: Clock) -> None:
    proposal_id = propose(idle_service, "2026-10", by="payroll clerk")
    pending = idle_service.periods.get_period("2026-10")
    assert (pending.closed, pending.pending and pending.pending.proposed_by) == (False, "payroll clerk")

    closed = approve(idle_service, proposal_id, by="payroll manager")

    assert (closed.closed, closed.proposed_by, closed.closed_by, closed.reason, closed.closed_at) == (
        True, "payroll clerk", "payroll manager", "checked", clock(),
    )  # fmt: skip
    assert closed.position == log_size(idle_service.app) and closed.pending is None


@pytest.mark.usefixtures("october_and_november")
def test_the_proposer_cannot_approve_and_nothing_is_written(idle_service: PointsService) -> None:
    proposal_id = propose(idle_service, "2026-10", by="payroll clerk")
    size = log_size(idle_service.app)

    with pytest.raises(Forbidden) as refused:
        approve(idle_service, proposal_id, by="payroll clerk")

    assert refused.value.reason == "SELF_APPROVAL"
    assert log_size(idle_service.app) == size and not idle_service.periods.get_period("2026-10").closed


@pytest.mark.usefixtures("october_and_november")
def test_a_withdrawn_proposal_cannot_be_approved_and_a_new_one_can(idle_service: PointsService) -> None:
    first = propose(idle_service, "2026-10", request_id="p-1")
    withdrawn = idle_service.periods.withdraw_close(proposal_id=first, withdrawn_by="payroll clerk", reason="a late feed is due")
    assert (withdrawn.state, withdrawn.decided_by, withdrawn.decision_reason) == ("withdrawn", "payroll clerk", "a late feed is due")

    with pytest.raises(FailedPrecondition) as refused:
        approve(idle_service, first)
    assert refused.value.reason == "PROPOSAL_WITHDRAWN"

    assert approve(idle_service, propose(idle_service, "2026-10", request_id="p-2")).closed


@pytest.mark.usefixtures("october_and_november")
def test_retries_of_a_proposal_and_an_approval_write_nothing_twice(idle_service: PointsService) -> None:
    proposal_id = propose(idle_service, "2026-10")
    assert propose(idle_service, "2026-10") == proposal_id
    closed = approve(idle_service, proposal_id)
    size = log_size(idle_service.app)

    assert approve(idle_service, proposal_id) == closed
    assert log_size(idle_service.app) == size


def test_an_unknown_proposal_is_not_found(idle_service: PointsService) -> None:
    with pytest.raises(NotFound) as refused:
        approve(idle_service, "nope")

    assert refused.value.reason == "PROPOSAL_NOT_FOUND"


@pytest.mark.usefixtures("october_and_november")
def test_one_step_closing_needs_four_eyes_off(idle_service: PointsService, settings: Settings) -> None:
    with pytest.raises(FailedPrecondition) as refused:
        idle_service.periods.close(period="2026-10", closed_by="payroll clerk", reason="alone")
    assert refused.value.reason == "FOUR_EYES_REQUIRED"

    alone = build_service(Settings(database_url=settings.database_url, clock=settings.clock, four_eyes=False), start_projector=False)
    try:
        alone.projector.catch_up()
        closed = alone.periods.close(period="2026-10", closed_by="payroll clerk", reason="alone")
        assert (closed.closed, closed.closed_by, closed.proposed_by) == (True, "payroll clerk", "")
    finally:
        alone.close()


@pytest.mark.usefixtures("october_and_november")
def test_with_four_eyes_off_the_proposer_may_approve(idle_service: PointsService, settings: Settings) -> None:
    alone = build_service(Settings(database_url=settings.database_url, clock=settings.clock, four_eyes=False), start_projector=False)
    try:
        assert approve(alone, propose(alone, "2026-10", by="payroll clerk"), by="payroll clerk").closed
    finally:
        alone.close()


@pytest.mark.parametrize(
    ("period", "proposed_by", "violation"),
    [
        ("2026-Q3", "payroll", ("period", "NOT_A_MONTH")),
        ("2026", "payroll", ("period", "NOT_A_MONTH")),
        ("2026-13", "payroll", ("period", "MALFORMED_PERIOD")),
        ("", "payroll", ("period", "MALFORMED_PERIOD")),
        ("2026-10", " ", ("proposed_by", "MISSING_PROPOSED_BY")),
    ],
)
def test_a_malformed_proposal_is_an_invalid_request(
    idle_service: PointsService, period: str, proposed_by: str, violation: tuple[str, str]
) -> None:
    size = log_size(idle_service.app)

    with pytest.raises(InvalidRequest) as refused:
        idle_service.periods.propose_close(request_id="p", period=period, proposed_by=proposed_by, reason="")

    assert violation in [(v.field, v.reason) for v in refused.value.violations]
    assert log_size(idle_service.app) == size


# -- states ---------------------------------------------------------------------------------


@pytest.mark.usefixtures("october_and_november")
def test_other_refusals(idle_service: PointsService, clock: Clock) -> None:
    assert refusal(idle_service, "2026-11") == "PERIODS_CLOSE_IN_ORDER"  # October first (and November has not ended)
    assert refusal(idle_service, "2026-09") == "PERIOD_BEFORE_CALENDAR"
    close_month(idle_service, "2026-10")
    assert refusal(idle_service, "2026-10") == "PERIOD_ALREADY_CLOSED"
    assert refusal(idle_service, "2026-11") == "PERIOD_NOT_ENDED"
    clock.advance(days=40)  # 2027-01-07: December has ended too, but November is still open
    assert refusal(idle_service, "2026-12") == "PERIODS_CLOSE_IN_ORDER"


def test_get_period_refuses_a_quarter(idle_service: PointsService) -> None:
    with pytest.raises(InvalidRequest) as refused:
        idle_service.periods.get_period("2026-Q4")

    assert refused.value.reason == "NOT_A_MONTH"


@pytest.mark.usefixtures("october_and_november")
def test_a_month_closed_by_one_service_is_closed_for_another_on_the_same_store(
    open_service: object, idle_service: PointsService
) -> None:
    close_month(idle_service, "2026-10")
    other: PointsService = open_service()  # type: ignore[operator]

    assert other.periods.get_period("2026-10").closed
    assert refusal(other, "2026-10") == "PERIOD_ALREADY_CLOSED"


# -- a calendar an older release let skip a month ------------------------------------------------


def skip_october_as_an_older_release_did(app: PointsApplication) -> None:
    """Closes 2026-11 while 2026-10 has bookings, writing the close event the old rules allowed (first close: any month)."""
    calendar = app.pay_calendar() or PayCalendar.open(timestamp=app.now())
    calendar.trigger_event(
        PayCalendar.PeriodClosed, period="2026-11", closed_by="payroll p1", reason="closed first by mistake", proposal_id="",
        proposed_by="", timestamp=app.now(),
    )  # fmt: skip
    app.save_changes(calendar)


@pytest.fixture
def skipped_october(idle_service: PointsService, staffed_outlet: None, clock: Clock) -> dict[str, str]:
    """October and November work, November closed first (October skipped), then late October work and a correction."""
    app = idle_service.app
    october = app.record_work_event(work("oct", occurred_on="2026-10-05"))
    app.record_work_event(work("nov", occurred_on="2026-11-03", quantity="2"))
    clock.advance(days=4)  # 2026-12-02
    skip_october_as_an_older_release_did(app)
    late = app.record_work_event(work("oct-late", occurred_on="2026-10-30", quantity="3"))
    idle_service.projector.catch_up()
    return {"october": october.event_id, "late": late.booked_period}


def test_a_skipped_month_is_listed_open_and_closes_next(idle_service: PointsService, skipped_october: dict[str, str]) -> None:
    calendar = idle_service.periods.calendar()

    assert skipped_october["late"] == "2026-12"  # the old booking: past the closed November, never into October
    assert [(p.period, p.closed) for p in calendar.periods] == [("2026-10", False), ("2026-11", True), ("2026-12", False)]
    assert (calendar.next_to_close, calendar.skipped) == ("2026-10", ("2026-10",))
    assert refusal(idle_service, "2026-12") == "PERIODS_CLOSE_IN_ORDER"


def test_the_repair_closes_the_skipped_months_in_order_and_moves_no_paid_line(
    idle_service: PointsService, skipped_october: dict[str, str]
) -> None:
    before = {m: statement_of(idle_service, "e1", m) for m in ("2026-10", "2026-11", "2026-12")}
    assert idle_service.periods.repair(closed_by="ops o1", reason="dry run", dry_run=True) == ["2026-10"]
    assert not idle_service.periods.get_period("2026-10").closed

    repaired = idle_service.periods.repair(closed_by="ops o1", reason="October was skipped")
    idle_service.projector.catch_up()

    assert repaired == ["2026-10"]
    october = idle_service.periods.get_period("2026-10")
    assert (october.closed, october.closed_by, october.reason) == (True, "ops o1", "calendar repair: October was skipped")
    after = {m: statement_of(idle_service, "e1", m) for m in ("2026-10", "2026-11", "2026-12")}
    for month in before:  # every line stays where it was booked: the same points in the same months
        assert (after[month].work, after[month].adjustments, after[month].total) == (before[month].work, before[month].adjustments, before[month].total)
    assert (after["2026-10"].closed, len(after["2026-10"].digest)) == (True, 64)
    assert idle_service.periods.calendar().next_to_close == "2026-12"
    assert idle_service.periods.repair(closed_by="ops o1", reason="again") == []  # nothing left to repair
    late = idle_service.app.record_work_event(work("oct-later", occurred_on="2026-10-31"))
    assert late.booked_period == "2026-12"


def test_points_periods_repair_closes_the_skipped_months_on_the_store(
    idle_service: PointsService, skipped_october: dict[str, str], database_url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    from points.cli import main

    assert main(["periods", "repair", "--database", database_url, "--by", "ops o1", "--reason", "skipped", "--dry-run"]) == 0
    assert "would close, in order: 2026-10" in capsys.readouterr().out
    assert not idle_service.periods.get_period("2026-10").closed

    assert main(["periods", "repair", "--database", database_url, "--by", "ops o1", "--reason", "skipped"]) == 0

    assert "closed, in order: 2026-10; no booked line moved" in capsys.readouterr().out
    assert idle_service.periods.get_period("2026-10").closed_by == "ops o1"
