"""Short calls for the pay-period, statement and ledger-feed API tests."""

from __future__ import annotations

from typing import TYPE_CHECKING

from points.v1 import balances_pb2, periods_pb2, periods_pb2_grpc, work_events_pb2

if TYPE_CHECKING:
    from tests.conftest import Client


def periods_of(client: Client) -> periods_pb2_grpc.PeriodServiceStub:
    return periods_pb2_grpc.PeriodServiceStub(client.channel)


def close_period(
    client: Client, period: str, proposed_by: str = "payroll p1", reason: str = "payroll run", approved_by: str = "payroll p2"
) -> periods_pb2.PayPeriod:
    """Closes a month as payroll does: `proposed_by` proposes, `approved_by` approves (four eyes)."""
    periods = periods_of(client)
    proposal = periods.ProposePeriodClose(
        periods_pb2.ProposePeriodCloseRequest(request_id=f"close-{period}", period=period, proposed_by=proposed_by, reason=reason),
        timeout=10,
    ).proposal
    return periods.ApprovePeriodClose(  # type: ignore[no-any-return]
        periods_pb2.ApprovePeriodCloseRequest(proposal_id=proposal.proposal_id, approved_by=approved_by), timeout=10
    ).period


def reversal(request_id: str, event_id: str, employee_id: str, reason: str = "recorded twice") -> work_events_pb2.CorrectWorkEventRequest:
    return work_events_pb2.CorrectWorkEventRequest(
        request_id=request_id, event_id=event_id, employee_id=employee_id, reason=reason, corrected_by="supervisor s7", reverse=True
    )


def amendment(request_id: str, event_id: str, employee_id: str, **amend: str) -> work_events_pb2.CorrectWorkEventRequest:
    return work_events_pb2.CorrectWorkEventRequest(
        request_id=request_id, event_id=event_id, employee_id=employee_id, reason="miscounted", corrected_by="supervisor s7",
        amend=work_events_pb2.Amendment(**amend),
    )  # fmt: skip


def statements_page(
    client: Client, period: str, *, page_size: int = 0, page_token: str = "", min_position: int = 0
) -> balances_pb2.ListStatementsResponse:
    return client.balances.ListStatements(  # type: ignore[no-any-return]
        balances_pb2.ListStatementsRequest(period=period, page_size=page_size, page_token=page_token, min_position=min_position),
        timeout=10,
    )


def every_statement(client: Client, period: str, min_position: int = 0) -> list[balances_pb2.Statement]:
    """All pages of a month's statements (the first page waits for `min_position`)."""
    response = statements_page(client, period, min_position=min_position)
    found = list(response.statements)
    while response.next_page_token:
        response = statements_page(client, period, page_token=response.next_page_token)
        found += response.statements
    return found


def statement_for(client: Client, employee_id: str, period: str, min_position: int = 0) -> balances_pb2.Statement:
    (statement,) = [s for s in every_statement(client, period, min_position) if s.employee_id == employee_id]
    return statement
