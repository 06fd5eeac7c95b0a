"""The rankings read model: the directory (outlets, employees' assignments) as tables, and reads of the ledger view.

Rankings need every employee of a role with their assignments and outlets, 400,000 of them
at a large bank, so the directory is kept as two tables beside the ledger view. They are
caught up on read: a ranking first reads the directory events (topic-filtered) after the
position the tables reflect, up to the log's last position, and applies them with the new
position in one transaction (a compare-and-set, so two servers never apply one twice). On
PostgreSQL the library's insert lock makes ids commit in order, so nothing below the last
position can still appear. The points come from the ledger view's tables (balance_dimensions
per pay month, balance_lines for negative events); these queries share its connection helpers.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable, Sequence
from datetime import date
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from eventsourcing.persistence import ApplicationRecorder, Mapper, Notification
from eventsourcing.utils import get_topic

from points.domain.directory import Employee, Outlet
from points.domain.ranking import Posting
from points.domain.policy import POINTS_PLACES

if TYPE_CHECKING:
    from points.projections.balances import LedgerQueries

TABLES = {
    "ranking_outlets": "outlet_id TEXT PRIMARY KEY, outlet_class TEXT NOT NULL, region TEXT NOT NULL",
    "ranking_assignments": (
        "employee_id TEXT NOT NULL, effective_from TEXT NOT NULL, role TEXT NOT NULL, outlet_id TEXT NOT NULL, "
        "effective_until TEXT NOT NULL, aggregate_id TEXT NOT NULL, PRIMARY KEY (employee_id, effective_from)"
    ),
    "ranking_directory": "name TEXT PRIMARY KEY, position BIGINT NOT NULL",
}
INDEXES = {
    "ranking_assignments_by_role": "ranking_assignments (role, effective_from)",
    "ranking_assignments_by_aggregate": "ranking_assignments (aggregate_id)",
}
DIRECTORY_TOPICS = [get_topic(Outlet.Registered), get_topic(Employee.Registered), get_topic(Employee.Transferred)]
DIRECTORY = "points"  # the application whose log the tables follow
PAGE = 5000
CHUNK = 500  # ids per IN (...) list
OPEN = ""  # effective_until of an open assignment


def create_statements(table: Callable[[str], str]) -> list[str]:
    """CREATE statements for the directory tables (run with the ledger view's)."""
    return [
        *(f"CREATE TABLE IF NOT EXISTS {table(name)} ({columns})" for name, columns in TABLES.items()),
        *(f"CREATE INDEX IF NOT EXISTS {name} ON {table(on.split(' ')[0])} {on.split(' ', 1)[1]}" for name, on in INDEXES.items()),
    ]


# An employee's comprehensive total in a set of pay months, and the points of the tie-break dimensions
# (only those other than zero: a dimension missing from the mapping has none).
Totals = tuple[Decimal, dict[str, Decimal]]


class RankingReads:
    """Catches up the directory tables and reads a role's postings and points for a period."""

    def __init__(self, *, view: LedgerQueries, recorder: ApplicationRecorder, mapper: Mapper) -> None:
        self.view = view
        self.recorder = recorder
        self.mapper = mapper
        self._lock = threading.Lock()

    # -- the directory tables ----------------------------------------------------------------

    def catch_up(self) -> int:
        """Applies the directory events up to the log's last position; returns the position the tables reflect."""
        with self._lock:
            for _ in range(5):  # another server moved the position first: read it again
                stop = self.recorder.max_notification_id() or 0
                position = self.position()
                try:
                    while position < stop:
                        page = self.recorder.select_notifications(
                            start=position, limit=PAGE, stop=stop, topics=DIRECTORY_TOPICS, inclusive_of_start=False
                        )
                        upto = page[-1].id if len(page) == PAGE else stop
                        self._apply(page, after=position, upto=upto)
                        position = upto
                except _Moved:
                    continue
                return position
            return self.position()

    def position(self) -> int:
        v = self.view
        with v._cursor(commit=False) as curs:
            rows = v._all(curs, f"SELECT position FROM {v._t('ranking_directory')} WHERE name = {v.P}", [DIRECTORY])
        return int(rows[0][0]) if rows else 0

    def _apply(self, page: Sequence[Notification], *, after: int, upto: int) -> None:
        v, p = self.view, self.view.P
        with v._cursor(commit=True) as curs:
            curs.execute(
                f"INSERT INTO {v._t('ranking_directory')} (name, position) VALUES ({p}, 0) ON CONFLICT DO NOTHING", (DIRECTORY,)
            )
            curs.execute(
                f"UPDATE {v._t('ranking_directory')} SET position = {p} WHERE name = {p} AND position = {p}", (upto, DIRECTORY, after)
            )
            if v._rowcount(curs) != 1:
                raise _Moved
            names: dict[str, str] = {}
            for notification in page:
                self._apply_event(curs, self.mapper.to_domain_event(notification), names)

    def _apply_event(self, curs: Any, event: Any, names: dict[str, str]) -> None:
        v, p = self.view, self.view.P
        assignments = v._t("ranking_assignments")
        if isinstance(event, Outlet.Registered):
            curs.execute(
                f"INSERT INTO {v._t('ranking_outlets')} VALUES ({p}, {p}, {p}) ON CONFLICT DO NOTHING",
                (event.outlet_id, event.outlet_class, event.region),
            )
        elif isinstance(event, Employee.Registered):
            names[str(event.originator_id)] = event.employee_id
            curs.execute(
                f"INSERT INTO {assignments} VALUES ({p}, {p}, {p}, {p}, {p}, {p}) ON CONFLICT DO NOTHING",
                (event.employee_id, event.effective_from.isoformat(), event.role, event.outlet_id, OPEN, str(event.originator_id)),
            )
        elif isinstance(event, Employee.Transferred):
            aggregate = str(event.originator_id)
            if aggregate not in names:
                found = v._all(curs, f"SELECT employee_id FROM {assignments} WHERE aggregate_id = {p} LIMIT 1", [aggregate])
                names[aggregate] = found[0][0]
            day = event.effective_from.isoformat()
            curs.execute(
                f"UPDATE {assignments} SET effective_until = {p} WHERE aggregate_id = {p} AND effective_until = {p}", (day, aggregate, OPEN)
            )
            curs.execute(
                f"INSERT INTO {assignments} VALUES ({p}, {p}, {p}, {p}, {p}, {p})",
                (names[aggregate], day, event.role, event.outlet_id, OPEN, aggregate),
            )

    # -- a role's postings and points for a period --------------------------------------------

    def _in_role(self, role: str, first: date, last: date) -> tuple[str, list[Any]]:
        """A subquery of the employees with an assignment in `role` overlapping [first, last]."""
        p = self.view.P
        return (
            f"SELECT employee_id FROM {self.view._t('ranking_assignments')} WHERE role = {p} AND effective_from <= {p} "
            f"AND (effective_until = {p} OR effective_until > {p})",
            [role, last.isoformat(), OPEN, first.isoformat()],
        )

    def postings(self, role: str, first: date, last: date) -> dict[str, list[Posting]]:
        """Every assignment overlapping [first, last] of the employees who held `role` in it, with its outlet."""
        v, p = self.view, self.view.P
        members, params = self._in_role(role, first, last)
        with v._cursor(commit=False) as curs:
            rows = v._all(
                curs,
                f"SELECT a.employee_id, a.role, a.outlet_id, o.outlet_class, o.region, a.effective_from, a.effective_until "
                f"FROM {v._t('ranking_assignments')} a JOIN {v._t('ranking_outlets')} o ON o.outlet_id = a.outlet_id "
                f"WHERE a.effective_from <= {p} AND (a.effective_until = {p} OR a.effective_until > {p}) "
                f"AND a.employee_id IN ({members})",
                [last.isoformat(), OPEN, first.isoformat(), *params],
            )
        postings: dict[str, list[Posting]] = {}
        shared: dict[tuple[Any, ...], Posting] = {}  # most employees share an outlet and dates: one object each
        for employee, *fields in rows:
            key = tuple(fields)
            posting = shared.get(key)
            if posting is None:
                held, outlet, outlet_class, region, start, until = fields
                until_day = date.fromisoformat(until) if until != OPEN else None
                posting = shared[key] = Posting(held, outlet, outlet_class, region, date.fromisoformat(start), until_day)
            postings.setdefault(employee, []).append(posting)
        return postings

    def totals(self, role: str, first: date, last: date, months: Sequence[str], tie_dimensions: Sequence[str]) -> dict[str, Totals]:
        """Each employee of the role's comprehensive total in pay months `months`, with the tie-break dimensions' points.

        One statement, so the totals and the tie-break points are of one state of the view.
        """
        v, p = self.view, self.view.P
        members, params = self._in_role(role, first, last)
        ties = "".join(f", sum(CASE WHEN dimension = {p} THEN points ELSE 0 END)" for _ in tie_dimensions)
        with v._cursor(commit=False) as curs:
            rows = v._all(
                curs,
                f"SELECT employee_id, sum(weighted_points){ties} FROM {v._t('balance_dimensions')} "
                f"WHERE booked_month IN {v._in(months)} AND employee_id IN ({members}) GROUP BY employee_id",
                [*tie_dimensions, *months, *params],
            )
        none: dict[str, Decimal] = {}  # shared by every employee without tie-break points (most of them)
        return {r[0]: (_points(r[1]), {d: _points(x) for d, x in zip(tie_dimensions, r[2:], strict=True) if x} or none) for r in rows}

    def dimensions(self, employee_ids: Iterable[str], months: Sequence[str]) -> dict[str, tuple[tuple[str, Decimal, Decimal], ...]]:
        """(dimension, points, weighted points) per employee in pay months `months`, by dimension name."""
        v = self.view
        found: dict[str, list[tuple[str, Decimal, Decimal]]] = {}
        ids = sorted(set(employee_ids))
        with v._cursor(commit=False) as curs:
            for start in range(0, len(ids), CHUNK):
                chunk = ids[start : start + CHUNK]
                rows = v._all(
                    curs,
                    f"SELECT employee_id, dimension, sum(points), sum(weighted_points) FROM {v._t('balance_dimensions')} "
                    f"WHERE employee_id IN {v._in(chunk)} AND booked_month IN {v._in(months)} "
                    "GROUP BY employee_id, dimension ORDER BY employee_id, dimension",
                    [*chunk, *months],
                )
                for employee, dimension, points, weighted in rows:
                    found.setdefault(employee, []).append((dimension, _points(points), _points(weighted)))
        return {e: tuple(d) for e, d in found.items()}

    def role_dimensions(self, role: str, first: date, last: date, months: Sequence[str]) -> dict[str, tuple[tuple[str, Decimal, Decimal], ...]]:
        """`dimensions` for every employee of the role, in one statement (for a snapshot)."""
        v = self.view
        members, params = self._in_role(role, first, last)
        with v._cursor(commit=False) as curs:
            rows = v._all(
                curs,
                f"SELECT employee_id, dimension, sum(points), sum(weighted_points) FROM {v._t('balance_dimensions')} "
                f"WHERE booked_month IN {v._in(months)} AND employee_id IN ({members}) GROUP BY employee_id, dimension "
                "ORDER BY employee_id, dimension",
                [*months, *params],
            )
        found: dict[str, list[tuple[str, Decimal, Decimal]]] = {}
        for employee, dimension, points, weighted in rows:
            found.setdefault(employee, []).append((dimension, _points(points), _points(weighted)))
        return {e: tuple(d) for e, d in found.items()}

    def negative_events(self, employee_ids: Iterable[str], months: Sequence[str]) -> dict[str, int]:
        """Per employee, the work events whose net booked points in pay months `months` are below zero."""
        v = self.view
        ids = sorted(set(employee_ids))
        counts = dict.fromkeys(ids, 0)
        with v._cursor(commit=False) as curs:
            for start in range(0, len(ids), CHUNK):
                chunk = ids[start : start + CHUNK]
                rows = v._all(
                    curs,
                    f"SELECT employee_id, count(*) FROM (SELECT employee_id, event_id FROM {v._t('balance_lines')} "
                    f"WHERE employee_id IN {v._in(chunk)} AND booked_month IN {v._in(months)} "
                    "GROUP BY employee_id, event_id HAVING sum(points) < 0) negative GROUP BY employee_id",
                    [*chunk, *months],
                )
                counts.update((employee, int(n)) for employee, n in rows)
        return counts

    def booked_events(self, role: str, first: date, last: date, months: Sequence[str]) -> list[str]:
        """The work events with lines booked in pay months `months` for employees of the role, in log order."""
        v = self.view
        members, params = self._in_role(role, first, last)
        with v._cursor(commit=False) as curs:
            rows = v._all(
                curs,
                f"SELECT event_id, min(position) FROM {v._t('balance_lines')} WHERE booked_month IN {v._in(months)} "
                f"AND employee_id IN ({members}) GROUP BY event_id ORDER BY min(position)",
                [*months, *params],
            )
        return [r[0] for r in rows]


class _Moved(Exception):
    """Another server moved the directory position between our read and our write."""


def _points(units: Any) -> Decimal:
    """Units of 10^-4 points as a four-place decimal (what ledger.from_units gives, without a quantize)."""
    return Decimal(int(units)).scaleb(-POINTS_PLACES)
