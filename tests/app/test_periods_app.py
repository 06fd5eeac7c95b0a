"""Pay periods on a real store: closing months in order once they have ended, audited; their states read back.

The fixture clock's today is 2026-11-28: October and earlier months have ended, November has not.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import pytest

from points.application.points import PointsApplication
from points.application.results import PeriodView
from points.domain.errors import FailedPrecondition, InvalidRequest
from points.server import PointsService
from tests.app.work_requests import log_size

if TYPE_CHECKING:
    from tests.conftest import Clock


def close(app: PointsApplication, period: str, closed_by: str = "payroll p1", reason: str = "paid") -> PeriodView:
    return app.close_period(period=period, closed_by=closed_by, reason=reason)


def refusal(app: PointsApplication, period: str) -> str:
    size = log_size(app)
    with pytest.raises(FailedPrecondition) as refused:
        close(app, period)
    assert log_size(app) == size, "a refused close wrote to the log"
    return refused.value.reason


def states(app: PointsApplication) -> list[tuple[str, bool]]:
    return [(p.period, p.closed) for p in app.list_periods()]


@pytest.fixture
def october_closed(app: PointsApplication) -> PeriodView:
    """2026-10 closed by payroll p1 on 2026-11-28 (the first close)."""
    return close(app, "2026-10", reason="October payroll run")


# -- closing ------------------------------------------------------------------------------


def test_a_close_is_audited_with_who_when_why_and_its_position(app: PointsApplication, clock: Clock) -> None:
    closed = close(app, "2026-10", closed_by="payroll p1", reason="October payroll run")

    assert (closed.period, closed.closed, closed.closed_by, closed.reason, closed.closed_at) == (
        "2026-10", True, "payroll p1", "October payroll run", clock(),
    )  # fmt: skip
    assert closed.position == log_size(app)


def test_the_next_month_closes_after_the_last_closed_one(app: PointsApplication, october_closed: PeriodView, clock: Clock) -> None:
    clock.advance(days=3)  # 2026-12-01: November has ended

    closed = close(app, "2026-11")

    assert (closed.closed, closed.position) == (True, log_size(app))
    assert closed.position > october_closed.position


@pytest.mark.usefixtures("october_closed")
def test_a_month_before_the_last_closed_one_is_refused_as_out_of_order(app: PointsApplication) -> None:
    assert refusal(app, "2026-09") == "PERIODS_CLOSE_IN_ORDER"


@pytest.mark.usefixtures("october_closed")
def test_a_month_after_the_next_open_one_is_refused_as_out_of_order(app: PointsApplication, clock: Clock) -> None:
    clock.advance(days=40)  # 2027-01-07: December has ended too, but November is still open

    assert refusal(app, "2026-12") == "PERIODS_CLOSE_IN_ORDER"


@pytest.mark.usefixtures("october_closed")
def test_a_closed_month_cannot_close_again(app: PointsApplication) -> None:
    assert refusal(app, "2026-10") == "PERIOD_ALREADY_CLOSED"


def test_the_current_month_cannot_close_before_it_ends(app: PointsApplication, clock: Clock) -> None:
    assert refusal(app, "2026-11") == "PERIOD_NOT_ENDED"
    close(app, "2026-10")
    clock.advance(days=2)  # 2026-11-30 09:30, still November
    assert refusal(app, "2026-11") == "PERIOD_NOT_ENDED"


def test_a_future_month_has_not_ended(app: PointsApplication) -> None:
    assert refusal(app, "2027-02") == "PERIOD_NOT_ENDED"


@pytest.mark.parametrize(
    ("period", "closed_by", "violation"),
    [
        ("2026-Q3", "payroll", ("period", "NOT_A_MONTH")),
        ("2026", "payroll", ("period", "NOT_A_MONTH")),
        ("2026-13", "payroll", ("period", "MALFORMED_PERIOD")),
        ("", "payroll", ("period", "MALFORMED_PERIOD")),
        ("2026-10", " ", ("closed_by", "MISSING_CLOSED_BY")),
    ],
)
def test_a_malformed_close_is_an_invalid_request(app: PointsApplication, period: str, closed_by: str, violation: tuple[str, str]) -> None:
    size = log_size(app)

    with pytest.raises(InvalidRequest) as refused:
        close(app, period, closed_by=closed_by)

    assert violation in [(v.field, v.reason) for v in refused.value.violations]
    assert log_size(app) == size


# -- reading states -----------------------------------------------------------------------------


def test_get_period_shows_a_closed_month_as_closed_with_its_audit(app: PointsApplication, october_closed: PeriodView) -> None:
    assert app.get_period("2026-10") == october_closed


@pytest.mark.usefixtures("october_closed")
@pytest.mark.parametrize("period", ["2026-11", "2026-12"])
def test_get_period_shows_a_month_not_closed_as_open(app: PointsApplication, period: str) -> None:
    assert app.get_period(period) == PeriodView(period=period, closed=False)


def test_get_period_refuses_a_quarter(app: PointsApplication) -> None:
    with pytest.raises(InvalidRequest) as refused:
        app.get_period("2026-Q4")

    assert refused.value.reason == "NOT_A_MONTH"


def test_with_nothing_closed_only_the_current_month_is_listed_as_open(app: PointsApplication) -> None:
    assert states(app) == [("2026-11", False)]


def test_closed_months_are_listed_then_the_open_ones_up_to_the_current_month(app: PointsApplication, clock: Clock) -> None:
    close(app, "2026-08")
    close(app, "2026-09")
    close(app, "2026-10")
    clock.advance(days=40)  # 2027-01-07

    assert states(app) == [
        ("2026-08", True), ("2026-09", True), ("2026-10", True), ("2026-11", False), ("2026-12", False), ("2027-01", False),
    ]  # fmt: skip
    assert [p.closed_by for p in app.list_periods()[:3]] == ["payroll p1"] * 3


def test_a_month_closed_by_one_service_is_closed_for_another_on_the_same_store(
    open_service: object, idle_service: PointsService
) -> None:
    close(idle_service.app, "2026-10")
    other = open_service()  # type: ignore[operator]

    assert other.app.get_period("2026-10").closed
    with pytest.raises(FailedPrecondition) as refused:
        close(other.app, "2026-10")
    assert refused.value.reason == "PERIOD_ALREADY_CLOSED"
