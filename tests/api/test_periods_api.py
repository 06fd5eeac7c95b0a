"""PeriodService through a real server: closing pay months in order once they have ended; their states.

The fixture clock's today is 2026-11-28: October and earlier months have ended, November has not.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import grpc
import pytest

from points.v1 import periods_pb2
from tests.api.ledger_calls import close_period, periods_of
from tests.api.rich_status import assert_rejected

if TYPE_CHECKING:
    from tests.conftest import Client, Clock

OPEN, CLOSED = periods_pb2.PERIOD_STATE_OPEN, periods_pb2.PERIOD_STATE_CLOSED


def refused_close(client: Client, period: str) -> grpc.RpcError:
    with pytest.raises(grpc.RpcError) as refused:
        close_period(client, period)
    return refused.value


def listed(client: Client, page_size: int = 0, page_token: str = "") -> periods_pb2.ListPeriodsResponse:
    request = periods_pb2.ListPeriodsRequest(page_size=page_size, page_token=page_token)
    return periods_of(client).ListPeriods(request, timeout=10)  # type: ignore[no-any-return]


def state_of(client: Client, period: str) -> periods_pb2.PayPeriod:
    return periods_of(client).GetPeriod(periods_pb2.GetPeriodRequest(period=period), timeout=10).period  # type: ignore[no-any-return]


@pytest.fixture
def october_closed(client: Client) -> periods_pb2.PayPeriod:
    """2026-10 closed by payroll p1 (the first close)."""
    return close_period(client, "2026-10", reason="October payroll run")


def test_a_close_answers_with_the_closed_period_and_its_audit(client: Client, clock: Clock) -> None:
    closed = close_period(client, "2026-10", closed_by="payroll p1", reason="October payroll run")

    assert (closed.period, closed.state, closed.closed_by, closed.reason) == ("2026-10", CLOSED, "payroll p1", "October payroll run")
    assert closed.close_time.ToDatetime().replace(tzinfo=clock().tzinfo) == clock()
    assert closed.close_position > 0


@pytest.mark.usefixtures("october_closed")
def test_closing_a_month_before_the_last_closed_one_is_out_of_order(client: Client) -> None:
    assert_rejected(refused_close(client, "2026-09"), grpc.StatusCode.FAILED_PRECONDITION, "PERIODS_CLOSE_IN_ORDER")


@pytest.mark.usefixtures("october_closed")
def test_closing_december_before_november_is_out_of_order(client: Client, clock: Clock) -> None:
    clock.advance(days=40)  # 2027-01-07: both have ended

    assert_rejected(refused_close(client, "2026-12"), grpc.StatusCode.FAILED_PRECONDITION, "PERIODS_CLOSE_IN_ORDER")
    assert state_of(client, "2026-12").state == OPEN


@pytest.mark.usefixtures("october_closed")
def test_closing_a_closed_month_again_is_refused(client: Client) -> None:
    assert_rejected(refused_close(client, "2026-10"), grpc.StatusCode.FAILED_PRECONDITION, "PERIOD_ALREADY_CLOSED")


@pytest.mark.usefixtures("october_closed")
def test_closing_the_current_month_is_refused_until_it_has_ended(client: Client, clock: Clock) -> None:
    assert_rejected(refused_close(client, "2026-11"), grpc.StatusCode.FAILED_PRECONDITION, "PERIOD_NOT_ENDED")

    clock.advance(days=3)  # 2026-12-01

    assert close_period(client, "2026-11").state == CLOSED


@pytest.mark.parametrize(("period", "reason"), [("2026-Q4", "NOT_A_MONTH"), ("Oct 2026", "MALFORMED_PERIOD")])
def test_closing_something_other_than_a_month_is_an_invalid_argument(client: Client, period: str, reason: str) -> None:
    assert_rejected(refused_close(client, period), grpc.StatusCode.INVALID_ARGUMENT, reason, "period")


def test_get_period_shows_a_closed_month_with_its_audit_and_an_open_one_as_open(
    client: Client, october_closed: periods_pb2.PayPeriod
) -> None:
    assert state_of(client, "2026-10") == october_closed
    assert state_of(client, "2026-11") == periods_pb2.PayPeriod(period="2026-11", state=OPEN)


def test_list_periods_shows_closed_months_then_the_open_ones_up_to_the_current_month(client: Client, clock: Clock) -> None:
    assert [(p.period, p.state) for p in listed(client).periods] == [("2026-11", OPEN)]
    close_period(client, "2026-09")
    close_period(client, "2026-10")
    clock.advance(days=40)  # 2027-01-07

    assert [(p.period, p.state) for p in listed(client).periods] == [
        ("2026-09", CLOSED), ("2026-10", CLOSED), ("2026-11", OPEN), ("2026-12", OPEN), ("2027-01", OPEN),
    ]  # fmt: skip


def test_list_periods_pages_without_gaps_or_repeats(client: Client, clock: Clock) -> None:
    for month in ("2026-07", "2026-08", "2026-09", "2026-10"):
        close_period(client, month)

    first = listed(client, page_size=2)
    second = listed(client, page_size=2, page_token=first.next_page_token)
    third = listed(client, page_size=2, page_token=second.next_page_token)

    assert [[p.period for p in r.periods] for r in (first, second, third)] == [["2026-07", "2026-08"], ["2026-09", "2026-10"], ["2026-11"]]
    assert third.next_page_token == ""
