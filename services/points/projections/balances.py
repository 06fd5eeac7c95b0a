"""The ledger view: every booked points line, sums per employee, pay month and dimension, pay-period closes.

Points are stored as integers in units of 10^-POINTS_PLACES, so SQLite and PostgreSQL sum
them exactly. A page of events becomes its lines, the sums' increments, the cap usage, the
period closes and one move of the tracking position, in one transaction: a crash leaves all
of it or none, so each event is booked exactly once. The move is a compare-and-set (UPDATE
... WHERE position = expected), so two projectors on one view can never both apply the same
events; it comes first, so the row lock it takes also serialises the reads that booking needs.

The views subclass the library's tracking recorders: the tracking table, max_tracking_id and
has_tracking_id are the library's; the view tables, the page write and the queries are ours,
written once (LedgerQueries) with the few differences between the two databases factored out:
the SQLite view here, the PostgreSQL one in postgres_view.py; payroll's and auditors' reads in
payroll_reads.py and audit_reads.py.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from decimal import Decimal
from typing import Any, Protocol

from eventsourcing.persistence import IntegrityError
from eventsourcing.sqlite import SQLiteTrackingRecorder

from points.projections.audit_reads import AuditReads
from points.projections.ledger import Booking, CapKey, Page, book
from points.projections.ledger_rows import (
    AUDIT_EVENT_COLUMNS,
    CORRECTION_COLUMNS,
    LINE_COLUMNS,
    LINE_SELECT,
    LineRow,
    NetLine,
    PayRulesRow,
    PeriodCloseRow,
    PointValues,
)
from points.projections.payroll_reads import (
    CLOSE_COLUMNS,
    PAY_RULES_COLUMNS,
    PayrollReads,
    StatementRows,
    units,
)
from points.projections.rankings import create_statements as ranking_create_statements
from points.storage.page_keys import TABLE as PAGE_KEY_TABLE
from points.storage.page_keys import create_statement as page_key_statement
from points.storage.access_records import AccessRecordStore


class ProjectionConflict(Exception):
    """Another projector moved the tracking position first; re-read it and carry on."""


@dataclass(frozen=True)
class BalanceRows:
    dimensions: tuple[tuple[str, Decimal, Decimal], ...]  # (dimension, points, weighted points)
    event_count: int


class BalanceView(Protocol):
    def position(self, application_name: str) -> int: ...

    def apply(self, page: Page, application_name: str, *, after: int, upto: int) -> None: ...

    def read(self, employee_id: str, months: Sequence[str]) -> BalanceRows: ...

    def read_at(self, employee_id: str, months: Sequence[str], application_name: str) -> tuple[BalanceRows, int]: ...

    def read_lines(
        self, employee_id: str, months: Sequence[str], *, upto: int, after: tuple[int, int], limit: int
    ) -> list[LineRow]: ...

    def totals_upto(self, employee_id: str, months: Sequence[str], upto: int, known_at: str = "") -> BalanceRows: ...

    def events_scored_since(self, day: str, until: str, other_than_version: str, limit: int) -> list[tuple[str, str, str]]:
        """Events dated in [day, until) with booked lines of other policy versions (not yet reversed)."""

    def statements(self, month: str, *, upto: int, after_employee: str, limit: int) -> list[StatementRows]: ...

    def valued_months(self, employee_ids: Sequence[str], before: str) -> dict[str, dict[str, list[tuple[str, Decimal]]]]:
        """Per employee and pay month before `before`: (point value, weighted points) as booked now."""

    def valued_lines(self, employee_ids: Sequence[str], months: Sequence[str], upto: int) -> dict[str, dict[str, list[tuple[str, Decimal]]]]:
        """Per employee and pay month in `months`: (point value, weighted points) of the lines booked up to position `upto`."""

    def closes(self) -> list[PeriodCloseRow]: ...

    def pay_rules(self) -> list[PayRulesRow]: ...

    def first_booked_month(self) -> str: ...

    def entries_after(self, position: int, limit: int) -> tuple[list[LineRow], list[PeriodCloseRow], list[PayRulesRow]]: ...

    def reset(self, application_name: str) -> None: ...


TABLES = {
    "balance_lines": (
        "position BIGINT NOT NULL, line_no INTEGER NOT NULL, event_id TEXT NOT NULL, employee_id TEXT NOT NULL, "
        "month TEXT NOT NULL, occurred_on TEXT NOT NULL, kind TEXT NOT NULL, quantity TEXT NOT NULL, "
        "rule_id TEXT NOT NULL, policy_version TEXT NOT NULL, dimension TEXT NOT NULL, multiplier TEXT NOT NULL, "
        "points_before_cap BIGINT NOT NULL, points BIGINT NOT NULL, weighted_points BIGINT NOT NULL, "
        "cap_applied TEXT NOT NULL, entry TEXT NOT NULL, booked_month TEXT NOT NULL, recorded_at TEXT NOT NULL, "
        "event_delta INTEGER NOT NULL, outlet_id TEXT NOT NULL, role TEXT NOT NULL, outlet_class TEXT NOT NULL, "
        "point_value TEXT NOT NULL, PRIMARY KEY (position, line_no)"
    ),
    "balance_dimensions": (
        "employee_id TEXT NOT NULL, booked_month TEXT NOT NULL, dimension TEXT NOT NULL, point_value TEXT NOT NULL, "
        "points BIGINT NOT NULL, weighted_points BIGINT NOT NULL, PRIMARY KEY (employee_id, booked_month, dimension, point_value)"
    ),
    "balance_caps": "employee_id TEXT NOT NULL, rule_id TEXT NOT NULL, scope TEXT NOT NULL, used BIGINT NOT NULL, PRIMARY KEY (employee_id, rule_id, scope)",
    "pay_periods": (
        "period TEXT PRIMARY KEY, position BIGINT NOT NULL, closed_at TEXT NOT NULL, closed_by TEXT NOT NULL, reason TEXT NOT NULL, "
        "proposed_by TEXT NOT NULL"
    ),
    "pay_rules": "position BIGINT PRIMARY KEY, version TEXT NOT NULL, effective_from TEXT NOT NULL, rules TEXT NOT NULL",
    "audit_events": (
        "position BIGINT PRIMARY KEY, event_id TEXT NOT NULL UNIQUE, employee_id TEXT NOT NULL, outlet_id TEXT NOT NULL, "
        "role TEXT NOT NULL, kind TEXT NOT NULL, quantity TEXT NOT NULL, occurred_on TEXT NOT NULL, occurred_at TEXT NOT NULL, "
        "recorded_at TEXT NOT NULL, recorded_by TEXT NOT NULL, source TEXT NOT NULL, request_id TEXT NOT NULL, "
        "attributes TEXT NOT NULL, status TEXT NOT NULL"
    ),
    "audit_corrections": (
        "position BIGINT PRIMARY KEY, event_id TEXT NOT NULL, action TEXT NOT NULL, request_id TEXT NOT NULL, "
        "reason TEXT NOT NULL, corrected_by TEXT NOT NULL, recorded_at TEXT NOT NULL, kind TEXT NOT NULL, "
        "quantity TEXT NOT NULL, occurred_on TEXT NOT NULL"
    ),
}
INDEXES = {
    "balance_lines_by_employee": "balance_lines (employee_id, booked_month, position, line_no)",
    "balance_lines_by_event": "balance_lines (event_id)",
    "balance_lines_by_pay_month": "balance_lines (booked_month, employee_id)",
    "audit_events_by_employee": "audit_events (employee_id, position)",
    "audit_corrections_by_event": "audit_corrections (event_id, position)",
}
# Read by queries but never while a page is booked (balance_lines_by_event is: corrections look up what was booked).
DEFERRED_INDEXES = ("balance_lines_by_employee", "balance_lines_by_pay_month", "audit_events_by_employee", "audit_corrections_by_event")
NET_KEY = (
    "event_id, employee_id, month, occurred_on, kind, quantity, rule_id, policy_version, dimension, multiplier, "
    "outlet_id, role, outlet_class, point_value"
)
NET_KEY_LENGTH = len(NET_KEY.split(","))
BOOKED_TAIL = "HAVING sum(points) <> 0 OR sum(weighted_points) <> 0 OR sum(event_delta) <> 0 ORDER BY min(position), min(line_no)"


class LedgerQueries(PayrollReads, AuditReads):
    """The view's writes and reads, written once for both databases."""

    P = "?"  # the placeholder

    # -- what each database supplies ---------------------------------------------------

    def _t(self, name: str) -> str:
        return name

    @contextmanager
    def _cursor(self, *, commit: bool) -> Iterator[Any]:
        raise NotImplementedError
        yield

    def _all(self, curs: Any, sql: str, params: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
        curs.execute(sql, params)
        return [tuple(r) for r in curs.fetchall()]

    def _rowcount(self, curs: Any) -> int:
        raise NotImplementedError

    def _insert_lines(self, curs: Any, lines: list[LineRow]) -> None:
        marks = ", ".join(self.P for _ in LINE_COLUMNS)
        curs.executemany(f"INSERT INTO {self._t('balance_lines')} ({LINE_SELECT}) VALUES ({marks})", lines)  # a LineRow is its row

    def _in(self, values: Sequence[Any]) -> str:
        return "(" + ", ".join(self.P for _ in values) + ")"

    def create_view_statements(self) -> list[str]:
        postgres = self.P == "%s"
        return [
            *(f"CREATE TABLE IF NOT EXISTS {self._t(name)} ({columns})" for name, columns in TABLES.items()),
            AccessRecordStore.create_statement(self._t("access_records"), postgres),  # not a view table: reset keeps it
            page_key_statement(self._t(PAGE_KEY_TABLE)),  # not a view table: reset keeps it (storage/page_keys.py)
            *(f"CREATE INDEX IF NOT EXISTS {name} ON {self._t(on.split(' ')[0])} {on.split(' ', 1)[1]}" for name, on in INDEXES.items()),
            *ranking_create_statements(self._t),  # the rankings read model (projections/rankings.py): reset keeps it
        ]

    # -- writing a page ----------------------------------------------------------------

    def apply(self, page: Page, application_name: str, *, after: int, upto: int) -> None:
        try:
            with self._cursor(commit=True) as curs:
                self._move_tracking(curs, application_name, after, upto)
                booked = self._booked(curs, page.rebooked_event_ids())
                usage = self._usage(curs, page.cap_keys(booked))
                closed = {r[0] for r in self._all(curs, f"SELECT period FROM {self._t('pay_periods')}")}
                values = PointValues(self._pay_rules(curs))
                self._write(curs, book(page, usage, booked, closed, values))
        except IntegrityError as e:
            raise ProjectionConflict(str(e)) from e

    def _move_tracking(self, curs: Any, application_name: str, after: int, upto: int) -> None:
        tracking, p = self._t(self.tracking_name()), self.P
        if after == 0:
            curs.execute(
                f"INSERT INTO {tracking} (application_name, notification_id) VALUES ({p}, {p}) ON CONFLICT DO NOTHING",
                (application_name, upto),
            )
        else:
            curs.execute(
                f"UPDATE {tracking} SET notification_id = {p} WHERE application_name = {p} AND notification_id = {p}",
                (upto, application_name, after),
            )
        if self._rowcount(curs) != 1:
            raise ProjectionConflict(f"tracking of {application_name} is no longer at {after}")

    def tracking_name(self) -> str:
        raise NotImplementedError

    def _booked(self, curs: Any, event_ids: set[str]) -> dict[str, list[NetLine]]:
        booked: dict[str, list[NetLine]] = {}
        for r in self._booked_rows(curs, sorted(event_ids)):
            booked.setdefault(r[0], []).append(NetLine(*r[:NET_KEY_LENGTH], int(r[NET_KEY_LENGTH]), int(r[NET_KEY_LENGTH + 1])))
        return booked

    def _booked_rows(self, curs: Any, ids: list[str]) -> list[tuple[Any, ...]]:
        """The net booked lines of these events: (NET_KEY..., points, weighted points), in booking order per event."""
        rows: list[tuple[Any, ...]] = []
        for start in range(0, len(ids), 400):
            chunk = ids[start : start + 400]
            rows += self._all(
                curs,
                f"SELECT {NET_KEY}, sum(points), sum(weighted_points) FROM {self._t('balance_lines')} "
                f"WHERE event_id IN {self._in(chunk)} GROUP BY {NET_KEY} {BOOKED_TAIL}",
                chunk,
            )
        return rows

    def _usage(self, curs: Any, keys: set[CapKey]) -> dict[CapKey, int]:
        """Cap usage for `keys`: read by employee and scope (two short IN lists), then matched exactly."""
        usage: dict[CapKey, int] = {}
        employees = sorted({key[0] for key in keys})
        scopes = sorted({key[2] for key in keys})
        for start in range(0, len(employees), 400):
            chunk = employees[start : start + 400]
            for e, r, s, used in self._all(
                curs,
                f"SELECT employee_id, rule_id, scope, used FROM {self._t('balance_caps')} "  # noqa: S608
                f"WHERE employee_id IN {self._in(chunk)} AND scope IN {self._in(scopes)}",
                [*chunk, *scopes],
            ):
                if (e, r, s) in keys:
                    usage[(e, r, s)] = int(used)
        return usage

    def _write(self, curs: Any, booking: Booking) -> None:
        p = self.P
        if booking.lines:
            self._insert_lines(curs, booking.lines)
        if booking.dimensions:
            curs.executemany(
                f"INSERT INTO {self._t('balance_dimensions')} AS t (employee_id, booked_month, dimension, point_value, points, "
                f"weighted_points) VALUES ({p}, {p}, {p}, {p}, {p}, {p}) "
                "ON CONFLICT (employee_id, booked_month, dimension, point_value) DO UPDATE SET points = t.points + excluded.points, "
                "weighted_points = t.weighted_points + excluded.weighted_points",
                booking.dimensions,
            )
        if booking.usage:
            curs.executemany(
                f"INSERT INTO {self._t('balance_caps')} VALUES ({p}, {p}, {p}, {p}) "
                "ON CONFLICT (employee_id, rule_id, scope) DO UPDATE SET used = excluded.used",
                booking.usage,
            )
        if booking.audit_events:
            marks = ", ".join(p for _ in AUDIT_EVENT_COLUMNS)
            curs.executemany(f"INSERT INTO {self._t('audit_events')} ({', '.join(AUDIT_EVENT_COLUMNS)}) VALUES ({marks})", booking.audit_events)
        if booking.corrections:
            marks = ", ".join(p for _ in CORRECTION_COLUMNS)
            curs.executemany(f"INSERT INTO {self._t('audit_corrections')} ({', '.join(CORRECTION_COLUMNS)}) VALUES ({marks})", booking.corrections)
        if booking.statuses:
            curs.executemany(f"UPDATE {self._t('audit_events')} SET status = {p} WHERE event_id = {p}", booking.statuses)
        if booking.closes:
            curs.executemany(
                f"INSERT INTO {self._t('pay_periods')} ({CLOSE_COLUMNS}) VALUES ({p}, {p}, {p}, {p}, {p}, {p})",
                [(c.period, c.position, c.closed_at, c.closed_by, c.reason, c.proposed_by) for c in booking.closes],
            )
        self._write_pay_rules(curs, booking)

    def _write_pay_rules(self, curs: Any, booking: Booking) -> None:
        if booking.pay_rules:
            p = self.P
            curs.executemany(
                f"INSERT INTO {self._t('pay_rules')} ({PAY_RULES_COLUMNS}) VALUES ({p}, {p}, {p}, {p})",
                [(r.position, r.version, r.effective_from, r.rules) for r in booking.pay_rules],
            )

    def _pay_rules(self, curs: Any) -> list[PayRulesRow]:
        return [PayRulesRow(*r) for r in self._all(curs, f"SELECT {PAY_RULES_COLUMNS} FROM {self._t('pay_rules')} ORDER BY position")]

    # -- reading -----------------------------------------------------------------------

    def _event_count(self, curs: Any, employee_id: str, months: Sequence[str], extra: str = "", params: Sequence[Any] = ()) -> int:
        rows = self._all(
            curs,
            f"SELECT sum(event_delta) FROM {self._t('balance_lines')} WHERE employee_id = {self.P} "
            f"AND booked_month IN {self._in(months)}{extra}",
            [employee_id, *months, *params],
        )
        return int(rows[0][0] or 0)

    def read_at(self, employee_id: str, months: Sequence[str], application_name: str) -> tuple[BalanceRows, int]:
        """The balance rows and the tracked position they reflect, from one statement: one snapshot,
        one round trip (GetBalance's hot path; `read` plus `position` would be two of each)."""
        p, months_in = self.P, self._in(months)
        rows = self._one_statement(
            f"SELECT 0, dimension, sum(points), sum(weighted_points) FROM {self._t('balance_dimensions')} "  # noqa: S608
            f"WHERE employee_id = {p} AND booked_month IN {months_in} GROUP BY dimension "
            f"UNION ALL SELECT 1, '', sum(event_delta), 0 FROM {self._t('balance_lines')} "
            f"WHERE employee_id = {p} AND booked_month IN {months_in} "
            f"UNION ALL SELECT 2, '', max(notification_id), 0 FROM {self._t(self.tracking_name())} WHERE application_name = {p} "
            "ORDER BY 1, 2",
            [employee_id, *months, employee_id, *months, application_name],
        )
        dimensions = [r[1:] for r in rows if r[0] == 0]
        events = next((int(r[2] or 0) for r in rows if r[0] == 1), 0)
        position = next((int(r[2] or 0) for r in rows if r[0] == 2), 0)
        return BalanceRows(units(dimensions), events), position

    def _one_statement(self, sql: str, params: Sequence[Any]) -> list[tuple[Any, ...]]:
        with self._cursor(commit=False) as curs:
            return self._all(curs, sql, params)

    def read(self, employee_id: str, months: Sequence[str]) -> BalanceRows:
        with self._cursor(commit=False) as curs:
            dimensions = self._all(
                curs,
                f"SELECT dimension, sum(points), sum(weighted_points) FROM {self._t('balance_dimensions')} "
                f"WHERE employee_id = {self.P} AND booked_month IN {self._in(months)} GROUP BY dimension ORDER BY dimension",
                [employee_id, *months],
            )
            return BalanceRows(units(dimensions), self._event_count(curs, employee_id, months))

    def totals_upto(self, employee_id: str, months: Sequence[str], upto: int, known_at: str = "") -> BalanceRows:
        """Sums of the lines booked up to position `upto` (and, if given, recorded by `known_at`)."""
        extra = f" AND position <= {self.P}" + (f" AND recorded_at <= {self.P}" if known_at else "")
        params = [upto, known_at] if known_at else [upto]
        with self._cursor(commit=False) as curs:
            dimensions = self._all(
                curs,
                f"SELECT dimension, sum(points), sum(weighted_points) FROM {self._t('balance_lines')} "
                f"WHERE employee_id = {self.P} AND booked_month IN {self._in(months)}{extra} GROUP BY dimension ORDER BY dimension",
                [employee_id, *months, *params],
            )
            return BalanceRows(units(dimensions), self._event_count(curs, employee_id, months, extra, params))

    def read_lines(
        self, employee_id: str, months: Sequence[str], *, upto: int, after: tuple[int, int], limit: int
    ) -> list[LineRow]:
        p = self.P
        with self._cursor(commit=False) as curs:
            rows = self._all(
                curs,
                f"SELECT {LINE_SELECT} FROM {self._t('balance_lines')} WHERE employee_id = {p} AND booked_month IN {self._in(months)} "
                f"AND position <= {p} AND (position > {p} OR (position = {p} AND line_no > {p})) "
                f"ORDER BY position, line_no LIMIT {p}",
                [employee_id, *months, upto, after[0], after[0], after[1], limit],
            )
        return [LineRow(*r) for r in rows]

    def events_scored_since(self, day: str, until: str, other_than_version: str, limit: int) -> list[tuple[str, str, str]]:
        p = self.P
        with self._cursor(commit=False) as curs:
            rows = self._all(
                curs,
                f"SELECT event_id, employee_id, month FROM {self._t('balance_lines')} WHERE occurred_on >= {p} "
                f"AND occurred_on < {p} AND policy_version <> {p} GROUP BY event_id, employee_id, month, policy_version "
                f"HAVING sum(points) <> 0 OR sum(weighted_points) <> 0 ORDER BY event_id LIMIT {p}",
                [day, until, other_than_version, limit],
            )
        return list(dict.fromkeys((r[0], r[1], r[2]) for r in rows))

    def reset(self, application_name: str) -> None:
        with self._cursor(commit=True) as curs:
            curs.execute(f"DELETE FROM {self._t(self.tracking_name())} WHERE application_name = {self.P}", (application_name,))
            for table in TABLES:
                curs.execute(f"DELETE FROM {self._t(table)}")

    def position(self, application_name: str) -> int:
        return self.max_tracking_id(application_name) or 0  # type: ignore[attr-defined]


class SQLiteBalanceView(LedgerQueries, SQLiteTrackingRecorder):
    def construct_create_table_statements(self) -> list[str]:
        return [*super().construct_create_table_statements(), *self.create_view_statements()]

    def tracking_name(self) -> str:
        return "tracking"

    @contextmanager
    def _cursor(self, *, commit: bool) -> Iterator[Any]:
        with self.datastore.transaction(commit=commit) as curs:
            yield curs

    def _rowcount(self, curs: Any) -> int:
        curs.execute("SELECT changes()")
        return int(curs.fetchone()[0])
