"""Payroll statements: per employee and pay month, the work of the month, each adjustment, one total, and the pay.

A statement reconciles by construction: its work rows are the lines of work done in the
month, its adjustment rows the lines of earlier months booked in it, each line in exactly
one row, and the total is their sum (the sum of the weighted points of every line booked in
the month). The pay comes from the same lines: each valued as booked (domain/pay.py), added,
rounded once by the rules in force on the month's last day as published by the month's close
(or by now, while it is open), then carried from earlier negative months.
"""

from __future__ import annotations

import calendar
import hashlib
import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from datetime import date
from decimal import Decimal

from points.application import pages
from points.application.pages import PageTokens
from points.application.balances import check_min_position, wait_for_position
from points.application.points import PointsApplication
from points.application.results import DimensionBalance, PeriodView
from points.domain.errors import Violations
from points.domain.identity import employee_id_of, outlet_id_of
from points.domain.pay import MonthPay, PayRules, pay_history
from points.domain.periods import parse_month
from points.projections.balances import BalanceView as BalanceStore
from points.projections.payroll_reads import StatementRows
from points.projections.ledger_rows import PayRulesRow
from points.projections.projector import BalanceProjector



@dataclass(frozen=True)
class StatementEmployee:
    """Who the statement is for, as the directory says on the month's last day (for people to read: not in the digest)."""

    name: str
    outlet_id: str
    outlet_class: str
    role: str


@dataclass(frozen=True)
class Adjustment:
    from_period: str  # the business month of the work
    dimension: str
    points: Decimal
    weighted_points: Decimal


@dataclass(frozen=True)
class StatementView:
    employee_id: str
    period: str
    employee: StatementEmployee
    work: tuple[DimensionBalance, ...]  # work done in the month, per dimension
    adjustments: tuple[Adjustment, ...]  # earlier months' work booked in this one
    total: Decimal  # the comprehensive points booked in the month: work and adjustments
    event_count: int  # work events with lines booked in the month
    closed: bool
    digest: str  # of a closed month's statement (points and pay); never changes
    pay: MonthPay | None  # None when no policy in force declares what a point is worth


def last_day(month: str) -> date:
    year, number = int(month[:4]), int(month[5:7])
    return date(year, number, calendar.monthrange(year, number)[1])


def rules_for(month: str, rows: Sequence[PayRulesRow], upto: int) -> PayRules | None:
    """The pay rules in force on the month's last day, among the versions published at or before position `upto`."""
    day = last_day(month).isoformat()
    in_force = None
    for row in rows:  # in publication order, which is effective-date order
        if row.position <= upto and row.effective_from <= day:
            in_force = row
    return in_force.parsed() if in_force is not None else None


def statement_digest(statement: StatementView) -> str:
    """SHA-256 of the canonical statement: its points and its pay, not the directory's words."""
    pay = statement.pay
    canonical = {
        "employee_id": statement.employee_id,
        "period": statement.period,
        "work": [[d.dimension, str(d.points), str(d.weighted_points)] for d in statement.work],
        "adjustments": [[a.from_period, a.dimension, str(a.points), str(a.weighted_points)] for a in statement.adjustments],
        "total": str(statement.total),
        "event_count": statement.event_count,
        "pay": None
        if pay is None
        else [pay.rules.currency, str(pay.gross), str(pay.carried_in), str(pay.amount), str(pay.carried_forward), str(pay.unvalued_points)],
    }
    return hashlib.sha256(json.dumps(canonical, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()).hexdigest()


class Statements:
    def __init__(
        self,
        *,
        app: PointsApplication,
        store: BalanceStore,
        projector: BalanceProjector,
        period_of: Callable[[str], PeriodView],
        tokens: PageTokens,
    ) -> None:
        self.tokens = tokens
        self.app = app
        self.store = store
        self.projector = projector
        self.period_of = period_of

    def list_statements(
        self, *, period: str, page_size: int, page_token: str, min_position: int, timeout: float | None
    ) -> tuple[list[StatementView], str, int]:
        """Payroll statements of a pay month, a page at a time, all pages as of one position."""
        v = Violations()
        month = parse_month(v, "period", period)
        check_min_position(v, min_position)
        size = pages.page_size(v, page_size)
        query = {"statements": period}
        state = self.tokens.resume(v, page_token, query, {"upto": int, "after": str, "close": int})
        v.raise_if_any()
        assert month is not None
        if state is not None:  # every page as of the first: its position, and the month's close as it was then
            upto, after, close = state["upto"], state["after"], state["close"]
        else:
            state_of = self.period_of(month)
            close = state_of.position if state_of.closed else 0
            upto, after = wait_for_position(self.projector, max(min_position, close), timeout), ""
        rows = self.store.statements(month, upto=upto, after_employee=after, limit=size + 1)
        token = self.tokens.issue(query, {"upto": upto, "after": rows[size - 1].employee_id, "close": close}) if len(rows) > size else ""
        return self.statements(month, rows[:size], upto=upto, close=close), token, upto

    def statements(self, month: str, rows: Sequence[StatementRows], *, upto: int, close: int) -> list[StatementView]:
        """The statements of `rows` (one pay month, as of position `upto`; `close` the month's close position, 0 if open)."""
        employees = [r.employee_id for r in rows]
        rules = self.store.pay_rules()
        closes = {c.period: c.position for c in self.store.closes()}
        earlier = self.store.valued_months(employees, month)
        still_open = sorted({m for booked in earlier.values() for m in booked if m not in closes})
        if still_open:  # an earlier month still open: its lines as of `upto`, like this month's (a listing is one snapshot)
            as_of = self.store.valued_lines(employees, still_open, upto)
            for employee_id in employees:
                for m in still_open:
                    if m in earlier.get(employee_id, {}) or m in as_of.get(employee_id, {}):
                        earlier.setdefault(employee_id, {})[m] = as_of.get(employee_id, {}).get(m, [])
        directory = self._directory(employees, last_day(month))
        statements = []
        for row in rows:
            months: list[tuple[str, Sequence[tuple[str, Decimal]], PayRules | None]] = [
                (m, booked, rules_for(m, rules, closes.get(m, upto))) for m, booked in earlier.get(row.employee_id, {}).items()
            ]
            months.append((month, row.valued, rules_for(month, rules, close or upto)))
            work = tuple(DimensionBalance(d, p, w) for d, p, w in row.work)
            adjustments = tuple(Adjustment(m, d, p, w) for m, d, p, w in row.adjustments)
            total = sum((d.weighted_points for d in work), Decimal("0.0000")) + sum((a.weighted_points for a in adjustments), Decimal(0))
            statement = StatementView(
                employee_id=row.employee_id, period=month, employee=directory[row.employee_id], work=work, adjustments=adjustments,
                total=total, event_count=row.event_count, closed=bool(close), digest="", pay=pay_history(months).get(month),
            )  # fmt: skip
            statements.append(statement if not close else _with_digest(statement))
        return statements

    def _directory(self, employee_ids: Sequence[str], day: date) -> dict[str, StatementEmployee]:
        """Each employee's name, and their assignment (role, outlet, its class) on `day` (or their first, if later)."""
        _, employees = self.app.latest.get_many([employee_id_of(e) for e in employee_ids])
        assignments = {}
        for employee in employees.values():
            assignment = employee.assignment_on(day) or employee.assignments[0]
            assignments[employee.employee_id] = (employee.name, assignment)
        _, outlets = self.app.latest.get_many({outlet_id_of(a.outlet_id) for _, a in assignments.values()})
        found = {}
        for employee_id in employee_ids:
            name, assignment = assignments.get(employee_id, ("", None))
            if assignment is None:
                found[employee_id] = StatementEmployee("", "", "", "")
                continue
            outlet = outlets.get(outlet_id_of(assignment.outlet_id))
            found[employee_id] = StatementEmployee(name, assignment.outlet_id, outlet.outlet_class if outlet else "", assignment.role)
        return found



def _with_digest(statement: StatementView) -> StatementView:
    return replace(statement, digest=statement_digest(statement))
