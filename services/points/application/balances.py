"""Balance reads: validate, wait for the asked position, read the view, check the employee exists."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal

from points.application import pages
from points.application.results import BalanceView, DimensionBalance
from points.domain.errors import NotFound, NotYetVisible, Violations
from points.domain.values import Period, check_identifier
from points.projections.balances import BalanceRows
from points.projections.balances import BalanceView as BalanceStore
from points.projections.ledger import LineRow
from points.projections.projector import BalanceProjector

DEFAULT_WAIT = 10.0  # seconds, when the caller sets no deadline


def check_min_position(v: Violations, min_position: int) -> None:
    if min_position < 0:
        v.add("min_position", "NEGATIVE_POSITION", "min_position must be 0 or a position returned by a write")


@dataclass(frozen=True)
class ExplainedBalance:
    balance: BalanceView
    lines: tuple[LineRow, ...]
    next_page_token: str


class BalanceQueries:
    def __init__(
        self,
        *,
        projector: BalanceProjector,
        store: BalanceStore,
        employee_exists: Callable[[str], bool],
    ) -> None:
        self.projector = projector
        self.store = store
        self.employee_exists = employee_exists

    def get_balance(self, *, employee_id: str, period: str, min_position: int, timeout: float | None) -> BalanceView:
        """An employee's points in a month, quarter or year, as of at least `min_position`."""
        v = Violations()
        check_identifier(v, "employee_id", employee_id, "employee")
        parsed = Period.parse(v, "period", period)
        check_min_position(v, min_position)
        v.raise_if_any()
        assert parsed is not None
        position = self._wait(min_position, timeout)
        self._check_employee(employee_id)
        return _balance(employee_id, parsed.text, self.store.read(employee_id, parsed.months), position)

    def explain_balance(
        self, *, employee_id: str, period: str, min_position: int, page_size: int, page_token: str, timeout: float | None
    ) -> ExplainedBalance:
        """Every booked line behind a balance, oldest first; all pages are as of the first page's position."""
        v = Violations()
        check_identifier(v, "employee_id", employee_id, "employee")
        parsed = Period.parse(v, "period", period)
        check_min_position(v, min_position)
        size = pages.page_size(v, page_size)
        query = {"explain": employee_id, "period": period}
        state = pages.resume(v, page_token, query)
        upto, after = 0, (0, -1)
        if state is not None:
            try:
                upto, after = int(state["upto"]), (int(state["after"][0]), int(state["after"][1]))
            except (KeyError, TypeError, ValueError, IndexError):
                v.add("page_token", "INVALID_PAGE_TOKEN", "page_token is damaged; start again without it")
        v.raise_if_any()
        assert parsed is not None
        if state is None:
            upto = self._wait(min_position, timeout)
        self._check_employee(employee_id)
        rows = self.store.read_lines(employee_id, parsed.months, upto=upto, after=after, limit=size + 1)
        token = ""
        if len(rows) > size:
            last = rows[size - 1]
            token = pages.issue(query, {"upto": upto, "after": [last.position, last.line_no]})
        totals = self.store.totals_upto(employee_id, parsed.months, upto)
        return ExplainedBalance(_balance(employee_id, parsed.text, totals, upto), tuple(rows[:size]), token)

    def _wait(self, min_position: int, timeout: float | None) -> int:
        if min_position and not self.projector.wait_for(min_position, DEFAULT_WAIT if timeout is None else timeout):
            raise NotYetVisible(
                f"the balances have reached position {self.projector.position}, not yet {min_position}; retry"
            )
        return self.projector.position

    def _check_employee(self, employee_id: str) -> None:
        if not self.employee_exists(employee_id):
            raise NotFound(f"no employee {employee_id!r}", reason="EMPLOYEE_NOT_FOUND")


def _balance(employee_id: str, period: str, rows: BalanceRows, position: int) -> BalanceView:
    dimensions = tuple(DimensionBalance(d, p, w) for d, p, w in rows.dimensions)
    return BalanceView(
        employee_id=employee_id,
        period=period,
        total=sum((d.weighted_points for d in dimensions), Decimal("0.0000")),
        dimensions=dimensions,
        event_count=rows.event_count,
        position=position,
    )
