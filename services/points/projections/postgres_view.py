"""The ledger view on PostgreSQL: COPY for appended rows, one statement over arrays for each upsert, per-key probes that need no statistics, bulk loading for a rebuild."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Any

from eventsourcing.postgres import PostgresTrackingRecorder
from psycopg.rows import tuple_row

from points.projections.balances import (
    BOOKED_TAIL,
    DEFERRED_INDEXES,
    INDEXES,
    NET_KEY,
    TABLES,
    LedgerQueries,
)
from points.projections.ledger import Booking, CapKey
from points.projections.ledger_rows import (
    AUDIT_EVENT_COLUMNS,
    CORRECTION_COLUMNS,
    LINE_COLUMNS,
    LineRow,
)
from points.storage.literals import array_text, int_array_text

_ROW_FORMATS: dict[int, str] = {}


_COPY_ESCAPES = str.maketrans({"\\": "\\\\", "\t": "\\t", "\n": "\\n", "\r": "\\r"})


def copy_text(rows: Sequence[tuple[Any, ...]], width: int) -> bytes:
    """Rows (tuples of `width` values) in COPY's text format: tab between fields, a newline after each row,
    and \\, \\t, \\n, \\r escaped.

    Formatted without escaping first (one %-format per row: str() of each value, in C), then
    checked once as a whole: when the text holds no backslash or carriage return and exactly
    the tabs and newlines of its rows, no value held one and the text is right as it is (the
    usual case); otherwise each row is escaped.
    """
    row_format = _ROW_FORMATS.get(width) or _ROW_FORMATS.setdefault(width, "\t".join(["%s"] * width) + "\n")
    text = "".join([row_format % row for row in rows])
    if "\\" in text or "\r" in text or text.count("\n") != len(rows) or text.count("\t") != len(rows) * (width - 1):
        text = "".join(["\t".join([str(value).translate(_COPY_ESCAPES) for value in row]) + "\n" for row in rows])
    return text.encode()


class PostgresBalanceView(LedgerQueries, PostgresTrackingRecorder):
    P = "%s"

    def __init__(self, datastore: Any, **kwargs: Any) -> None:
        super().__init__(datastore, **kwargs)
        from psycopg.sql import SQL

        self.sql_create_statements += [SQL(statement) for statement in self.create_view_statements()]  # type: ignore[arg-type]

    def _t(self, name: str) -> str:
        return f'"{self.datastore.schema}"."{name}"'

    def tracking_name(self) -> str:
        return self.tracking_table_name

    @contextmanager
    def _cursor(self, *, commit: bool) -> Iterator[Any]:
        with self.datastore.transaction(commit=commit) as curs:
            yield curs

    def _rowcount(self, curs: Any) -> int:
        return int(curs.rowcount)

    def _one_statement(self, sql: str, params: Sequence[Any]) -> list[tuple[Any, ...]]:
        """A single statement needs no transaction around it (it reads one snapshot): no BEGIN, no COMMIT."""
        with self.datastore.get_connection() as conn, conn.cursor(row_factory=tuple_row) as curs:
            curs.execute(sql, params, prepare=True)
            return list(curs.fetchall())

    def booked_statement(self) -> str:
        """_booked_rows' query: one probe of balance_lines_by_event per event id, whatever the planner knows.

        The OFFSET 0 keeps the LATERAL subquery a probe per id. As `event_id IN (...)`, on a view
        PostgreSQL had no statistics for yet (a new schema, until autovacuum analyzes it), 50 ids
        or more made it read the whole of balance_lines: a page with corrections or rescores
        scanned every booked line (tests/app/test_plans_without_statistics.py)."""
        columns = f"{NET_KEY}, points, weighted_points, event_delta, position, line_no"
        return (
            f"SELECT {NET_KEY}, sum(points), sum(weighted_points) FROM unnest(%s::text[]) AS k(id) "
            f"CROSS JOIN LATERAL (SELECT {columns} FROM {self._t('balance_lines')} WHERE event_id = k.id OFFSET 0) AS l "
            f"GROUP BY {NET_KEY} {BOOKED_TAIL}"
        )

    def _booked_rows(self, curs: Any, ids: list[str]) -> list[tuple[Any, ...]]:
        return self._all(curs, self.booked_statement(), (array_text(ids),)) if ids else []

    def usage_statement(self) -> str:
        """_usage's query: one primary-key probe of balance_caps per cap key (see booked_statement)."""
        return (
            "SELECT c.employee_id, c.rule_id, c.scope, c.used FROM unnest(%s::text[], %s::text[], %s::text[]) AS k(e, r, s) "
            f"CROSS JOIN LATERAL (SELECT employee_id, rule_id, scope, used FROM {self._t('balance_caps')} "
            "WHERE employee_id = k.e AND rule_id = k.r AND scope = k.s OFFSET 0) AS c"
        )

    def _usage(self, curs: Any, keys: set[CapKey]) -> dict[CapKey, int]:
        if not keys:
            return {}
        employees, rules, scopes = zip(*keys)
        rows = self._all(curs, self.usage_statement(), (array_text(employees), array_text(rules), array_text(scopes)))
        return {(e, r, s): int(used) for e, r, s, used in rows}

    def _all(self, curs: Any, sql: str, params: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
        with curs.connection.cursor(row_factory=tuple_row) as tuples:  # same connection, same transaction
            tuples.execute(sql, params)
            return list(tuples.fetchall())

    @contextmanager
    def bulk_load(self) -> Iterator[None]:
        """For a rebuild: drops the secondary indexes that no page reads, and builds each once at the end.

        One sort per index is far cheaper than an index insert per row. If the rebuild dies
        half way, the indexes come back at the end anyway, or at the next migration (CREATE
        INDEX IF NOT EXISTS is among the view's create statements).
        """
        if not self._owns_view_tables():  # e.g. the deployed points_app role: rebuild row by row as before
            yield
            return
        with self._cursor(commit=True) as curs:
            for name in DEFERRED_INDEXES:
                curs.execute(f'DROP INDEX IF EXISTS "{self.datastore.schema}"."{name}"')
        try:
            yield
        finally:
            with self._cursor(commit=True) as curs:
                for name in DEFERRED_INDEXES:
                    table, columns = INDEXES[name].split(" ", 1)
                    curs.execute(f"CREATE INDEX IF NOT EXISTS {name} ON {self._t(table)} {columns}")

    def _owns_view_tables(self) -> bool:
        """Whether this role may drop and create the view's indexes and truncate its tables (it owns them)."""
        with self._cursor(commit=False) as curs:
            rows = self._all(
                curs,
                "SELECT count(*) = %s AND bool_and(pg_has_role(c.relowner, 'USAGE') AND has_table_privilege(c.oid, 'TRUNCATE')) "
                "FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname = %s AND c.relname = ANY(%s)",
                (len(TABLES), self.datastore.schema, list(TABLES)),
            )
        return bool(rows[0][0])

    def reset(self, application_name: str) -> None:
        """As on SQLite, in one transaction; TRUNCATE (for an owner) leaves no dead rows to slow the rebuild's writes."""
        if not self._owns_view_tables():
            super().reset(application_name)
            return
        with self._cursor(commit=True) as curs:
            curs.execute(f"DELETE FROM {self._t(self.tracking_name())} WHERE application_name = %s", (application_name,))
            curs.execute(f"TRUNCATE {', '.join(self._t(table) for table in TABLES)}")

    def _copy(self, curs: Any, table: str, columns: Sequence[str], rows: Sequence[tuple[Any, ...]]) -> None:
        """One COPY of `rows` (ints and strings, never NULL) into `table`, formatted here in one pass."""
        with curs.copy(f"COPY {self._t(table)} ({', '.join(columns)}) FROM STDIN") as copy:
            copy.write(copy_text(rows, len(columns)))

    def _insert_lines(self, curs: Any, lines: list[LineRow]) -> None:
        self._copy(curs, "balance_lines", LINE_COLUMNS, lines)  # a LineRow is its tuple of values

    def _write(self, curs: Any, booking: Booking) -> None:
        """COPY for the appended rows, one statement over arrays for each upsert (the SQLite path keeps executemany).

        The arrays go as text literals (array_text): PostgreSQL parses them in C, where psycopg
        would dump each element in Python."""
        if booking.lines:
            self._insert_lines(curs, booking.lines)
        if booking.dimensions:
            employees, months, dimensions, values, points, weighted = zip(*booking.dimensions)
            curs.execute(
                f"INSERT INTO {self._t('balance_dimensions')} AS t (employee_id, booked_month, dimension, point_value, points, "
                "weighted_points) SELECT * FROM unnest(%s::text[], %s::text[], %s::text[], %s::text[], %s::bigint[], %s::bigint[]) "
                "ON CONFLICT (employee_id, booked_month, dimension, point_value) DO UPDATE SET points = t.points + excluded.points, "
                "weighted_points = t.weighted_points + excluded.weighted_points",
                (array_text(employees), array_text(months), array_text(dimensions), array_text(values), int_array_text(points),
                 int_array_text(weighted)),
            )  # fmt: skip
        if booking.usage:
            employees, rules, scopes, used = zip(*booking.usage)
            curs.execute(
                f"INSERT INTO {self._t('balance_caps')} (employee_id, rule_id, scope, used) "
                "SELECT * FROM unnest(%s::text[], %s::text[], %s::text[], %s::bigint[]) "
                "ON CONFLICT (employee_id, rule_id, scope) DO UPDATE SET used = excluded.used",
                (array_text(employees), array_text(rules), array_text(scopes), int_array_text(used)),
            )
        if booking.audit_events:
            self._copy(curs, "audit_events", AUDIT_EVENT_COLUMNS, booking.audit_events)
        if booking.corrections:
            self._copy(curs, "audit_corrections", CORRECTION_COLUMNS, booking.corrections)
        if booking.statuses:
            statuses, event_ids = (list(c) for c in zip(*booking.statuses))
            curs.execute(  # in page order: a later status of one event wins, as row by row
                f"UPDATE {self._t('audit_events')} AS a SET status = s.status FROM (SELECT DISTINCT ON (event_id) status, event_id "
                "FROM unnest(%s::text[], %s::text[]) WITH ORDINALITY AS u(status, event_id, n) ORDER BY event_id, n DESC) AS s "
                "WHERE a.event_id = s.event_id",
                (statuses, event_ids),
            )
        if booking.closes:
            self._copy(
                curs, "pay_periods", ("period", "position", "closed_at", "closed_by", "reason", "proposed_by"),
                [(c.period, c.position, c.closed_at, c.closed_by, c.reason, c.proposed_by) for c in booking.closes],
            )  # fmt: skip
        self._write_pay_rules(curs, booking)
