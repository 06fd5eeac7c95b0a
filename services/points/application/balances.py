"""Balance reads: validate, wait for the asked position, read the view, check the employee exists."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from points.application import pages
from points.application.pages import PageTokens
from points.application.results import BalanceView, DimensionBalance
from points.domain.errors import NotFound, NotYetVisible, Violations
from points.domain.values import Period, check_identifier
from points.projections.balances import BalanceRows
from points.projections.balances import BalanceView as BalanceStore
from points.projections.ledger_rows import LineRow, PayRulesRow, PeriodCloseRow, instant_text
from points.projections.projector import BalanceProjector

DEFAULT_WAIT = 10.0  # seconds, when the caller sets no deadline
KNOWN_EMPLOYEES_MAX = 100_000  # ids remembered as registered (a set of short strings: a few MB)


def wait_for_position(projector: BalanceProjector, min_position: int, timeout: float | None) -> int:
    """Waits (up to `timeout`, DEFAULT_WAIT without one) until the view reflects `min_position`; returns its position."""
    if min_position and not projector.wait_for_read(min_position, DEFAULT_WAIT if timeout is None else timeout):
        raise NotYetVisible(f"the balances have reached position {projector.position}, not yet {min_position}; retry")
    return projector.position


def check_min_position(v: Violations, min_position: int) -> None:
    if min_position < 0:
        v.add("min_position", "NEGATIVE_POSITION", "min_position must be 0 or a position returned by a write")


WATCH_PAGE = 200  # log positions per read
WATCH_POLL = 0.2  # seconds between checks that the caller (and the service) is still there


@dataclass(frozen=True)
class LedgerEntry:
    """One log position's entry in the ledger: the lines it booked, a pay month's close, or a policy's pay rules."""

    position: int
    lines: tuple[LineRow, ...] = ()
    close: PeriodCloseRow | None = None
    pay_rules: PayRulesRow | None = None


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
        tokens: PageTokens,
    ) -> None:
        self.tokens = tokens
        self.projector = projector
        self.store = store
        self.employee_exists = employee_exists
        self._known_employees: set[str] = set()
        self._closing = threading.Event()
        self._streams = threading.Condition()
        self._streaming = 0

    def get_balance(
        self,
        *,
        employee_id: str,
        period: str,
        min_position: int,
        timeout: float | None,
        as_known_at: datetime | None = None,
    ) -> BalanceView:
        """An employee's points booked in a month, quarter or year, as of at least `min_position`.

        With `as_known_at`, as the service knew it then: lines recorded later are left out.
        """
        v = Violations()
        check_identifier(v, "employee_id", employee_id, "employee")
        parsed = Period.parse(v, "period", period)
        check_min_position(v, min_position)
        v.raise_if_any()
        assert parsed is not None
        if min_position:
            self._wait(min_position, timeout)
        self._check_employee(employee_id)
        if as_known_at is not None:
            position = self.projector.position
            rows = self.store.totals_upto(employee_id, parsed.months, position, known_at=instant_text(as_known_at))
        else:  # the rows and the position they reflect, read together
            rows, position = self.store.read_at(employee_id, parsed.months, self.projector.application_name)
        return _balance(employee_id, parsed.text, rows, position)

    def watch(self, from_position: int, is_active: Callable[[], bool]) -> Iterator[LedgerEntry]:
        """The ledger's entries after `from_position`, then new ones as they are booked, until not active."""
        v = Violations()
        if from_position < 0:
            v.add("from_position", "NEGATIVE_POSITION", "from_position must be 0 or a position from an earlier entry")
        v.raise_if_any()
        return self._entries_from(from_position, is_active)

    def _entries_from(self, cursor: int, is_active: Callable[[], bool]) -> Iterator[LedgerEntry]:
        with self._streams:
            self._streaming += 1
        try:
            while is_active() and not self._closing.is_set():
                lines, closes, rules = self.store.entries_after(cursor, WATCH_PAGE)
                entries = _entries(lines, closes, rules)
                if not entries:
                    self.projector.wait_for(max(cursor, self.projector.position) + 1, WATCH_POLL)
                    continue
                for entry in entries:
                    yield entry
                    cursor = entry.position
        finally:
            with self._streams:
                self._streaming -= 1
                self._streams.notify_all()

    def close(self, timeout: float = 5.0) -> None:
        """Ends the ledger streams (they stop at their next check) and waits for them, before the store closes."""
        self._closing.set()
        with self._streams:
            self._streams.wait_for(lambda: self._streaming == 0, timeout)

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
        state = self.tokens.resume(v, page_token, query, {"upto": int, "after": (int, int)})
        upto, after = 0, (0, -1)
        if state is not None:
            upto, after = state["upto"], (state["after"][0], state["after"][1])
        v.raise_if_any()
        assert parsed is not None
        if state is None:
            upto = self._wait(min_position, timeout)
        self._check_employee(employee_id)
        rows = self.store.read_lines(employee_id, parsed.months, upto=upto, after=after, limit=size + 1)
        token = ""
        if len(rows) > size:
            last = rows[size - 1]
            token = self.tokens.issue(query, {"upto": upto, "after": [last.position, last.line_no]})
        totals = self.store.totals_upto(employee_id, parsed.months, upto)
        return ExplainedBalance(_balance(employee_id, parsed.text, totals, upto), tuple(rows[:size]), token)

    def _wait(self, min_position: int, timeout: float | None) -> int:
        return wait_for_position(self.projector, min_position, timeout)

    def _check_employee(self, employee_id: str) -> None:
        if employee_id in self._known_employees:
            return  # employees are never removed: once seen, known for good
        if not self.employee_exists(employee_id):
            raise NotFound(f"no employee {employee_id!r}", reason="EMPLOYEE_NOT_FOUND")
        if len(self._known_employees) >= KNOWN_EMPLOYEES_MAX:
            self._known_employees.clear()
        self._known_employees.add(employee_id)


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


def _entries(lines: list[LineRow], closes: list[PeriodCloseRow], rules: list[PayRulesRow]) -> list[LedgerEntry]:
    by_position: dict[int, list[LineRow]] = {}
    for line in lines:
        by_position.setdefault(line.position, []).append(line)
    entries = [LedgerEntry(position, tuple(rows)) for position, rows in by_position.items()]
    entries += [LedgerEntry(c.position, close=c) for c in closes]
    entries += [LedgerEntry(r.position, pay_rules=r) for r in rules]
    return sorted(entries, key=lambda e: e.position)
