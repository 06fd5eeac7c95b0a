"""Short calls for the corrections, periods and statements tests: correct an event, read settled lines and statements."""

from __future__ import annotations

from datetime import datetime

from points.application.points import PointsApplication
from points.application.policies import Recalculation
from points.application.results import BalanceView, Corrected, PeriodView
from points.application.statements import StatementView
from points.projections.ledger_rows import LineRow, from_units
from points.server import PointsService

EVERYTHING = 2**62  # a position past any log


def correct(
    app: PointsApplication,
    event_id: str,
    request_id: str = "c-1",
    *,
    employee_id: str = "e1",
    reason: str = "miscounted at the counter",
    corrected_by: str = "supervisor s7",
    reverse: bool = False,
    kind: str = "",
    quantity: str = "",
    occurred_on: str = "",
) -> Corrected:
    """A reversal (reverse=True) or an amendment of the fields given, by a supervisor, with a reason."""
    return app.correct_work_event(
        request_id=request_id, event_id=event_id, employee_id=employee_id, reason=reason, corrected_by=corrected_by,
        reverse=reverse, kind=kind, quantity=quantity, occurred_on=occurred_on,
    )  # fmt: skip


def explained_lines(service: PointsService, employee_id: str, period: str) -> list[LineRow]:
    """Every line ExplainBalance shows for the period, once the projector has read the whole log."""
    service.projector.catch_up()
    explained = service.balances.explain_balance(
        employee_id=employee_id, period=period, min_position=0, page_size=1000, page_token="", timeout=0
    )
    assert explained.next_page_token == ""
    return list(explained.lines)


def line_entry(line: LineRow) -> tuple[str, str, str, str, str, str, str]:
    """(entry, rule, quantity, points before cap, points, weighted points, pay month) as decimal text."""
    return (
        line.entry, line.rule_id, line.quantity, str(from_units(line.points_before_cap)), str(from_units(line.points)),
        str(from_units(line.weighted_points)), line.booked_month,
    )  # fmt: skip


def balance_as_known_at(service: PointsService, employee_id: str, period: str, moment: datetime | None) -> BalanceView:
    service.projector.catch_up()
    return service.balances.get_balance(employee_id=employee_id, period=period, min_position=0, timeout=0, as_known_at=moment)


def all_statements(service: PointsService, period: str, page_size: int = 1000) -> list[StatementView]:
    """Every statement of a pay month, all pages, once the projector has read the whole log."""
    service.projector.catch_up()
    found: list[StatementView] = []
    token = ""
    while True:
        page, token, _ = service.statements.list_statements(period=period, page_size=page_size, page_token=token, min_position=0, timeout=0)
        found += page
        if not token:
            return found


def statement_of(service: PointsService, employee_id: str, period: str) -> StatementView:
    (statement,) = [s for s in all_statements(service, period) if s.employee_id == employee_id]
    return statement


def close_month(service: PointsService, period: str, *, reason: str = "paid") -> PeriodView:
    """Closes a pay month as payroll does: one person proposes, another approves (four eyes)."""
    service.projector.catch_up()
    proposal = service.periods.propose_close(request_id=f"close-{period}", period=period, proposed_by="payroll clerk", reason=reason)
    service.projector.catch_up()  # the approval waits for the view to book everything before it (the proposal too)
    return service.periods.approve_close(proposal_id=proposal.proposal_id, approved_by="payroll manager", reason="")


def recalculate(service: PointsService, recalculation_id: str, version: str, *, requested_by: str = "hq payroll", reason: str = "rates") -> Recalculation:
    """A recalculation as payroll makes one: `requested_by` proposes it, another person approves it and it runs."""
    service.policies.propose_recalculation(request_id=recalculation_id, version=version, proposed_by=requested_by, reason=reason)
    _, done = service.policies.approve_recalculation(proposal_id=recalculation_id, approved_by="payroll approver", reason="checked")
    return done
