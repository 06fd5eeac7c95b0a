"""PeriodService through a real server: a calendar from the first booked month, closed in order by a proposer and a
different approver (named fields in development mode, tokens with authentication).

The fixture clock's today is 2026-11-28: October and earlier months have ended, November has not.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import grpc
import pytest

from points.application.points import WorkFields
from points.server import PointsService
from points.v1 import periods_pb2, periods_pb2_grpc
from tests.api.calls import Staffed, work
from tests.api.ledger_calls import close_period, periods_of
from tests.api.rich_status import assert_rejected
from tests.api.secured import SigningKeys, plaintext_client, with_jwt

if TYPE_CHECKING:
    from tests.conftest import Client, Clock

OPEN, CLOSED = periods_pb2.PERIOD_STATE_OPEN, periods_pb2.PERIOD_STATE_CLOSED
PENDING, WITHDRAWN = periods_pb2.PROPOSAL_STATE_PENDING, periods_pb2.PROPOSAL_STATE_WITHDRAWN


def propose(periods: periods_pb2_grpc.PeriodServiceStub, period: str, by: str = "", request_id: str = "", **call: object) -> periods_pb2.Proposal:
    request = periods_pb2.ProposePeriodCloseRequest(request_id=request_id or f"p-{period}", period=period, proposed_by=by, reason="paid")
    return periods.ProposePeriodClose(request, timeout=10, **call).proposal  # type: ignore[no-any-return]


def approve(periods: periods_pb2_grpc.PeriodServiceStub, proposal_id: str, by: str = "", **call: object) -> periods_pb2.PayPeriod:
    request = periods_pb2.ApprovePeriodCloseRequest(proposal_id=proposal_id, approved_by=by, reason="checked")
    return periods.ApprovePeriodClose(request, timeout=10, **call).period  # type: ignore[no-any-return]


def refused(call: object) -> grpc.RpcError:
    with pytest.raises(grpc.RpcError) as caught:
        call()  # type: ignore[operator]
    return caught.value


def listed(client: Client, page_size: int = 0, page_token: str = "") -> periods_pb2.ListPeriodsResponse:
    request = periods_pb2.ListPeriodsRequest(page_size=page_size, page_token=page_token)
    return periods_of(client).ListPeriods(request, timeout=10)  # type: ignore[no-any-return]


def state_of(client: Client, period: str) -> periods_pb2.PayPeriod:
    return periods_of(client).GetPeriod(periods_pb2.GetPeriodRequest(period=period), timeout=10).period  # type: ignore[no-any-return]


def book_months(client: Client, staffed: Staffed, *days: str) -> None:
    for day in days:
        client.work.RecordWorkEvent(work(f"w-{day}", staffed.manager_id, "counter_transaction", "1", day), timeout=10)


@pytest.fixture
def october_and_november(client: Client, staffed_outlet: Staffed) -> None:
    book_months(client, staffed_outlet, "2026-10-05", "2026-11-03")


# -- the calendar --------------------------------------------------------------------------


def test_with_nothing_booked_only_the_current_month_is_listed(client: Client) -> None:
    answer = listed(client)

    assert ([(p.period, p.state) for p in answer.periods], answer.next_to_close) == ([("2026-11", OPEN)], "")


@pytest.mark.usefixtures("october_and_november")
def test_list_periods_starts_at_the_first_booked_month_and_names_the_next_to_close(client: Client, clock: Clock) -> None:
    clock.advance(days=40)  # 2027-01-07

    answer = listed(client)

    assert [(p.period, p.state) for p in answer.periods] == [
        ("2026-10", OPEN), ("2026-11", OPEN), ("2026-12", OPEN), ("2027-01", OPEN),
    ]  # fmt: skip
    assert (answer.next_to_close, list(answer.skipped_periods)) == ("2026-10", [])


@pytest.mark.usefixtures("october_and_november")
def test_closing_november_first_is_refused_and_names_october(client: Client, clock: Clock) -> None:
    clock.advance(days=4)  # 2026-12-02

    error = refused(lambda: propose(periods_of(client), "2026-11", by="payroll p1"))

    assert_rejected(error, grpc.StatusCode.FAILED_PRECONDITION, "PERIODS_CLOSE_IN_ORDER")
    assert "2026-10" in error.details()  # type: ignore[attr-defined]


@pytest.mark.usefixtures("october_and_november")
def test_a_close_answers_with_the_closed_period_its_proposer_and_approver(client: Client, clock: Clock) -> None:
    closed = close_period(client, "2026-10", proposed_by="payroll p1", reason="October payroll run", approved_by="payroll p2")

    assert (closed.period, closed.state, closed.proposed_by, closed.closed_by, closed.reason) == (
        "2026-10", CLOSED, "payroll p1", "payroll p2", "October payroll run",
    )  # fmt: skip
    assert closed.close_time.ToDatetime().replace(tzinfo=clock().tzinfo) == clock()
    assert closed.close_position > 0
    assert state_of(client, "2026-10") == closed
    assert state_of(client, "2026-11").state == OPEN


@pytest.mark.usefixtures("october_and_november")
def test_an_open_month_shows_its_pending_proposal(client: Client) -> None:
    proposal = propose(periods_of(client), "2026-10", by="payroll p1")

    pending = state_of(client, "2026-10")

    assert (pending.state, pending.pending_close.proposal_id, pending.pending_close.state) == (OPEN, proposal.proposal_id, PENDING)
    assert (proposal.subject, proposal.proposed_by, proposal.position > 0) == ("2026-10", "payroll p1", True)


@pytest.mark.usefixtures("october_and_november")
def test_in_development_mode_the_named_approver_must_differ_from_the_proposer(client: Client) -> None:
    periods = periods_of(client)
    proposal = propose(periods, "2026-10", by="payroll p1")

    assert_rejected(refused(lambda: approve(periods, proposal.proposal_id, by="payroll p1")), grpc.StatusCode.PERMISSION_DENIED, "SELF_APPROVAL")
    assert state_of(client, "2026-10").state == OPEN
    assert approve(periods, proposal.proposal_id, by="payroll p2").state == CLOSED


@pytest.mark.usefixtures("october_and_november")
def test_a_withdrawn_proposal_cannot_be_approved(client: Client) -> None:
    periods = periods_of(client)
    proposal = propose(periods, "2026-10", by="payroll p1")

    withdrawn = periods.WithdrawPeriodClose(
        periods_pb2.WithdrawPeriodCloseRequest(proposal_id=proposal.proposal_id, withdrawn_by="payroll p1", reason="late feed"), timeout=10
    ).proposal

    assert (withdrawn.state, withdrawn.decided_by, withdrawn.decision_reason) == (WITHDRAWN, "payroll p1", "late feed")
    assert_rejected(refused(lambda: approve(periods, proposal.proposal_id, by="payroll p2")), grpc.StatusCode.FAILED_PRECONDITION, "PROPOSAL_WITHDRAWN")
    assert state_of(client, "2026-10").pending_close.proposal_id == ""


@pytest.mark.usefixtures("october_and_november")
def test_one_step_close_is_refused_while_four_eyes_are_on(client: Client) -> None:
    request = periods_pb2.ClosePeriodRequest(period="2026-10", closed_by="payroll p1", reason="alone")

    assert_rejected(refused(lambda: periods_of(client).ClosePeriod(request, timeout=10)), grpc.StatusCode.FAILED_PRECONDITION, "FOUR_EYES_REQUIRED")


@pytest.mark.parametrize(("period", "reason"), [("2026-Q4", "NOT_A_MONTH"), ("Oct 2026", "MALFORMED_PERIOD")])
def test_proposing_something_other_than_a_month_is_an_invalid_argument(client: Client, period: str, reason: str) -> None:
    bad = lambda: propose(periods_of(client), period, by="payroll p1", request_id="p-bad")  # noqa: E731
    assert_rejected(refused(bad), grpc.StatusCode.INVALID_ARGUMENT, reason, "period")


def test_list_periods_pages_without_gaps_or_repeats(client: Client, staffed_outlet: Staffed) -> None:
    book_months(client, staffed_outlet, "2026-07-01", "2026-08-01", "2026-09-01", "2026-10-01")
    for month in ("2026-07", "2026-08", "2026-09", "2026-10"):
        close_period(client, month)

    first = listed(client, page_size=2)
    second = listed(client, page_size=2, page_token=first.next_page_token)
    third = listed(client, page_size=2, page_token=second.next_page_token)

    assert [[p.period for p in r.periods] for r in (first, second, third)] == [["2026-07", "2026-08"], ["2026-09", "2026-10"], ["2026-11"]]
    assert [[p.state for p in r.periods] for r in (first, second, third)] == [[CLOSED, CLOSED], [CLOSED, CLOSED], [OPEN]]
    assert third.next_page_token == ""


# -- four eyes with authentication: proposer and approver are the callers ---------------------


def test_with_authentication_the_callers_token_names_proposer_and_approver(
    sqlite_service: PointsService, keys: SigningKeys, clock: Clock
) -> None:
    alice, bob = keys.bearer("alice", ["payroll"]), keys.bearer("bob", ["payroll"])
    app = sqlite_service.app  # the directory and October's work, staged in the store (not what is tested here)
    app.register_outlet(outlet_id="north-01", outlet_class="A", region="north")
    app.register_employee(employee_id="sm-1", role="service_manager", outlet_id="north-01", effective_from="2026-01-01")
    app.record_work_event(WorkFields("w-oct", "sm-1", "counter_transaction", "1", "2026-10-05"))
    with plaintext_client(sqlite_service, with_jwt(keys)) as client:
        periods = periods_pb2_grpc.PeriodServiceStub(client.channel)

        proposal = propose(periods, "2026-10", metadata=alice)
        assert proposal.proposed_by == "alice"
        assert_rejected(refused(lambda: approve(periods, proposal.proposal_id, metadata=alice)), grpc.StatusCode.PERMISSION_DENIED, "SELF_APPROVAL")
        assert_rejected(
            refused(lambda: approve(periods, proposal.proposal_id, by="bob", metadata=alice)), grpc.StatusCode.PERMISSION_DENIED, "APPROVED_BY_NOT_CALLER"
        )
        recorder_only = keys.bearer("feed", ["recorder"], ["north-01"])
        assert_rejected(refused(lambda: approve(periods, proposal.proposal_id, metadata=recorder_only)), grpc.StatusCode.PERMISSION_DENIED, "ROLE_NOT_ALLOWED")

        closed = approve(periods, proposal.proposal_id, metadata=bob)

        assert (closed.state, closed.proposed_by, closed.closed_by) == (CLOSED, "alice", "bob")

