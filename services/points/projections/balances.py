"""The balance view: every booked points line, and sums per employee, month and dimension.

Points are stored as integers in units of 10^-POINTS_PLACES, so SQLite and PostgreSQL sum
them exactly. A page of events becomes its lines, the sums' increments, the cap usage and
one move of the tracking position, in one transaction: a crash leaves all of it or none,
so each event is counted exactly once. The move is a compare-and-set (UPDATE ... WHERE
position = expected), so two projectors on one view can never both apply the same events;
it comes first, so the row lock it takes also serialises the reading of cap usage.

The views subclass the library's tracking recorders: the tracking table, max_tracking_id
and has_tracking_id are the library's; the view tables and the page write are ours.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any, Protocol

from eventsourcing.persistence import IntegrityError
from eventsourcing.postgres import PostgresTrackingRecorder
from eventsourcing.sqlite import SQLiteTrackingRecorder
from psycopg.sql import SQL, Identifier

from points.projections.ledger import LINE_COLUMNS, Booking, CapKey, LineRow, NetLine, Page, book, from_units


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

    def read_lines(
        self, employee_id: str, months: Sequence[str], *, upto: int, after: tuple[int, int], limit: int
    ) -> list[LineRow]: ...

    def totals_upto(self, employee_id: str, months: Sequence[str], upto: int) -> BalanceRows: ...

    def events_scored_since(self, day: str, until: str, other_than_version: str, limit: int) -> list[tuple[str, str, str]]:
        """Events dated in [day, until) with booked lines of other policy versions (not yet reversed)."""

    def reset(self, application_name: str) -> None: ...


TABLES = {
    "balance_lines": (
        "position BIGINT NOT NULL, line_no INTEGER NOT NULL, event_id TEXT NOT NULL, employee_id TEXT NOT NULL, "
        "month TEXT NOT NULL, occurred_on TEXT NOT NULL, kind TEXT NOT NULL, quantity TEXT NOT NULL, "
        "rule_id TEXT NOT NULL, policy_version TEXT NOT NULL, dimension TEXT NOT NULL, multiplier TEXT NOT NULL, "
        "points_before_cap BIGINT NOT NULL, points BIGINT NOT NULL, weighted_points BIGINT NOT NULL, "
        "cap_applied TEXT NOT NULL, entry TEXT NOT NULL, PRIMARY KEY (position, line_no)"
    ),
    "balance_dimensions": (
        "employee_id TEXT NOT NULL, month TEXT NOT NULL, dimension TEXT NOT NULL, points BIGINT NOT NULL, "
        "weighted_points BIGINT NOT NULL, PRIMARY KEY (employee_id, month, dimension)"
    ),
    "balance_events": "employee_id TEXT NOT NULL, month TEXT NOT NULL, event_count BIGINT NOT NULL, PRIMARY KEY (employee_id, month)",
    "balance_caps": "employee_id TEXT NOT NULL, rule_id TEXT NOT NULL, scope TEXT NOT NULL, used BIGINT NOT NULL, PRIMARY KEY (employee_id, rule_id, scope)",
}
LINES_INDEX = "balance_lines_by_employee"
LINES_INDEX_COLUMNS = "(employee_id, month, position, line_no)"
TOTALS = "SELECT dimension, sum(points) AS points, sum(weighted_points) AS weighted FROM {} "
EXPLAIN_COLUMNS = ", ".join(LINE_COLUMNS)
NET_KEY = "event_id, employee_id, month, occurred_on, kind, quantity, rule_id, policy_version, dimension, multiplier"
# Events whose lines under versions other than the given one have not been reversed.
SCORED_SINCE = (
    "SELECT event_id, employee_id, month FROM {} WHERE occurred_on >= {p} AND occurred_on < {p} AND policy_version <> {p} "
    "GROUP BY event_id, employee_id, month, policy_version HAVING sum(points) <> 0 OR sum(weighted_points) <> 0 "
    "ORDER BY event_id LIMIT {p}"
)


def _rows(dimension_rows: Sequence[Sequence[Any]], event_count: Any) -> BalanceRows:
    return BalanceRows(
        dimensions=tuple((r[0], from_units(int(r[1])), from_units(int(r[2]))) for r in dimension_rows),
        event_count=int(event_count or 0),
    )


def _line(row: Sequence[Any]) -> LineRow:
    return LineRow(*row)


class PostgresBalanceView(PostgresTrackingRecorder):
    def __init__(self, datastore: Any, **kwargs: Any) -> None:
        super().__init__(datastore, **kwargs)
        schema = Identifier(self.datastore.schema)
        self.t = {name: SQL("{}.{}").format(schema, Identifier(name)) for name in TABLES}
        self.tracking_table = SQL("{}.{}").format(schema, Identifier(self.tracking_table_name))
        self.sql_create_statements += [
            SQL(f"CREATE TABLE IF NOT EXISTS {{}} ({columns})").format(self.t[name])  # noqa: S608 (our constants)
            for name, columns in TABLES.items()
        ]
        self.sql_create_statements.append(
            SQL(f"CREATE INDEX IF NOT EXISTS {{}} ON {{}} {LINES_INDEX_COLUMNS}").format(
                Identifier(LINES_INDEX), self.t["balance_lines"]
            )
        )

    def position(self, application_name: str) -> int:
        return self.max_tracking_id(application_name) or 0

    def apply(self, page: Page, application_name: str, *, after: int, upto: int) -> None:
        with self.datastore.transaction(commit=True) as curs:
            self._move_tracking(curs, application_name, after, upto)
            booked = self._booked(curs, page.rebooked_event_ids())
            booking = book(page, self._usage(curs, page.cap_keys(booked)), booked)
            self._write(curs, booking)

    def _booked(self, curs: Any, event_ids: set[str]) -> dict[str, list[NetLine]]:
        if not event_ids:
            return {}
        curs.execute(
            SQL(
                f"SELECT {NET_KEY}, sum(points) AS points, sum(weighted_points) AS weighted FROM {{}} "  # noqa: S608
                f"WHERE event_id = ANY(%s) GROUP BY {NET_KEY} ORDER BY min(position), min(line_no)"
            ).format(self.t["balance_lines"]),
            (sorted(event_ids),),
        )
        booked: dict[str, list[NetLine]] = {}
        for r in curs.fetchall():
            values = list(r.values())
            booked.setdefault(values[0], []).append(NetLine(*values[:10], int(values[10]), int(values[11])))
        return booked

    def _move_tracking(self, curs: Any, application_name: str, after: int, upto: int) -> None:
        if after == 0:
            curs.execute(
                SQL("INSERT INTO {} (application_name, notification_id) VALUES (%s, %s) ON CONFLICT DO NOTHING").format(
                    self.tracking_table
                ),
                (application_name, upto),
            )
        else:
            curs.execute(
                SQL("UPDATE {} SET notification_id = %s WHERE application_name = %s AND notification_id = %s").format(
                    self.tracking_table
                ),
                (upto, application_name, after),
            )
        if curs.rowcount != 1:
            raise ProjectionConflict(f"tracking of {application_name} is no longer at {after}")

    def _usage(self, curs: Any, keys: set[CapKey]) -> dict[CapKey, int]:
        if not keys:
            return {}
        columns = [list(c) for c in zip(*sorted(keys), strict=True)]
        curs.execute(
            SQL(
                "SELECT c.employee_id, c.rule_id, c.scope, c.used FROM {} c "
                "JOIN unnest(%s::text[], %s::text[], %s::text[]) AS k(e, r, s) "
                "ON c.employee_id = k.e AND c.rule_id = k.r AND c.scope = k.s"
            ).format(self.t["balance_caps"]),
            columns,
        )
        return {(r["employee_id"], r["rule_id"], r["scope"]): r["used"] for r in curs.fetchall()}

    def _write(self, curs: Any, booking: Booking) -> None:
        if booking.lines:
            with curs.copy(SQL("COPY {} ({}) FROM STDIN").format(self.t["balance_lines"], SQL(EXPLAIN_COLUMNS))) as copy:
                for line in booking.lines:
                    copy.write_row(line.values())
        if booking.dimensions:
            curs.execute(
                SQL(
                    "INSERT INTO {} AS t SELECT * FROM unnest(%s::text[], %s::text[], %s::text[], %s::bigint[], %s::bigint[]) "
                    "ON CONFLICT (employee_id, month, dimension) DO UPDATE SET points = t.points + EXCLUDED.points, "
                    "weighted_points = t.weighted_points + EXCLUDED.weighted_points"
                ).format(self.t["balance_dimensions"]),
                [list(c) for c in zip(*booking.dimensions, strict=True)],
            )
        if booking.events:
            curs.execute(
                SQL(
                    "INSERT INTO {} AS t SELECT * FROM unnest(%s::text[], %s::text[], %s::bigint[]) "
                    "ON CONFLICT (employee_id, month) DO UPDATE SET event_count = t.event_count + EXCLUDED.event_count"
                ).format(self.t["balance_events"]),
                [list(c) for c in zip(*booking.events, strict=True)],
            )
        if booking.usage:
            curs.execute(
                SQL(
                    "INSERT INTO {} AS t SELECT * FROM unnest(%s::text[], %s::text[], %s::text[], %s::bigint[]) "
                    "ON CONFLICT (employee_id, rule_id, scope) DO UPDATE SET used = EXCLUDED.used"
                ).format(self.t["balance_caps"]),
                [list(c) for c in zip(*booking.usage, strict=True)],
            )

    def read(self, employee_id: str, months: Sequence[str]) -> BalanceRows:
        with self.datastore.transaction(commit=False) as curs:
            curs.execute(
                SQL(TOTALS + "WHERE employee_id = %s AND month = ANY(%s) GROUP BY dimension ORDER BY dimension").format(
                    self.t["balance_dimensions"]
                ),
                (employee_id, list(months)),
            )
            dimension_rows = [tuple(r.values()) for r in curs.fetchall()]
            curs.execute(
                SQL("SELECT sum(event_count) AS n FROM {} WHERE employee_id = %s AND month = ANY(%s)").format(
                    self.t["balance_events"]
                ),
                (employee_id, list(months)),
            )
            row = curs.fetchone()
        return _rows(dimension_rows, row["n"] if row else 0)

    def read_lines(
        self, employee_id: str, months: Sequence[str], *, upto: int, after: tuple[int, int], limit: int
    ) -> list[LineRow]:
        with self.datastore.transaction(commit=False) as curs:
            curs.execute(
                SQL(
                    f"SELECT {EXPLAIN_COLUMNS} FROM {{}} WHERE employee_id = %s AND month = ANY(%s) "  # noqa: S608
                    "AND position <= %s AND (position, line_no) > (%s, %s) ORDER BY position, line_no LIMIT %s"
                ).format(self.t["balance_lines"]),
                (employee_id, list(months), upto, after[0], after[1], limit),
            )
            return [_line(tuple(r.values())) for r in curs.fetchall()]

    def totals_upto(self, employee_id: str, months: Sequence[str], upto: int) -> BalanceRows:
        with self.datastore.transaction(commit=False) as curs:
            curs.execute(
                SQL(
                    TOTALS + "WHERE employee_id = %s AND month = ANY(%s) AND position <= %s GROUP BY dimension ORDER BY dimension"
                ).format(self.t["balance_lines"]),
                (employee_id, list(months), upto),
            )
            dimension_rows = [tuple(r.values()) for r in curs.fetchall()]
            curs.execute(
                SQL(
                    "SELECT count(DISTINCT position) AS n FROM {} WHERE employee_id = %s AND month = ANY(%s) AND position <= %s"
                ).format(self.t["balance_lines"]),
                (employee_id, list(months), upto),
            )
            row = curs.fetchone()
        return _rows(dimension_rows, row["n"] if row else 0)

    def events_scored_since(self, day: str, until: str, other_than_version: str, limit: int) -> list[tuple[str, str, str]]:
        with self.datastore.transaction(commit=False) as curs:
            curs.execute(
                SQL(SCORED_SINCE.format("{}", p="%s")).format(self.t["balance_lines"]), (day, until, other_than_version, limit)
            )
            return list(dict.fromkeys((r["event_id"], r["employee_id"], r["month"]) for r in curs.fetchall()))

    def reset(self, application_name: str) -> None:
        with self.datastore.transaction(commit=True) as curs:
            curs.execute(SQL("DELETE FROM {} WHERE application_name = %s").format(self.tracking_table), (application_name,))
            for table in self.t.values():
                curs.execute(SQL("DELETE FROM {}").format(table))


class SQLiteBalanceView(SQLiteTrackingRecorder):
    def construct_create_table_statements(self) -> list[str]:
        return [
            *super().construct_create_table_statements(),
            *(f"CREATE TABLE IF NOT EXISTS {name} ({columns})" for name, columns in TABLES.items()),
            f"CREATE INDEX IF NOT EXISTS {LINES_INDEX} ON balance_lines {LINES_INDEX_COLUMNS}",
        ]

    def position(self, application_name: str) -> int:
        return self.max_tracking_id(application_name) or 0

    def apply(self, page: Page, application_name: str, *, after: int, upto: int) -> None:
        try:
            with self.datastore.transaction(commit=True) as curs:
                if after == 0:
                    curs.execute(
                        "INSERT INTO tracking (application_name, notification_id) VALUES (?, ?) ON CONFLICT DO NOTHING",
                        (application_name, upto),
                    )
                else:
                    curs.execute(
                        "UPDATE tracking SET notification_id = ? WHERE application_name = ? AND notification_id = ?",
                        (upto, application_name, after),
                    )
                curs.execute("SELECT changes()")
                if curs.fetchone()[0] != 1:
                    raise ProjectionConflict(f"tracking of {application_name} is no longer at {after}")
                booked = self._booked(curs, page.rebooked_event_ids())
                booking = book(page, self._usage(curs, page.cap_keys(booked)), booked)
                self._write(curs, booking)
        except IntegrityError as e:  # pragma: no cover - the compare-and-set above normally catches it
            raise ProjectionConflict(str(e)) from e

    @staticmethod
    def _booked(curs: Any, event_ids: set[str]) -> dict[str, list[NetLine]]:
        booked: dict[str, list[NetLine]] = {}
        for event_id in sorted(event_ids):
            curs.execute(
                f"SELECT {NET_KEY}, sum(points), sum(weighted_points) FROM balance_lines WHERE event_id = ? "  # noqa: S608
                f"GROUP BY {NET_KEY} ORDER BY min(position), min(line_no)",
                (event_id,),
            )
            for r in curs.fetchall():
                values = list(r)
                booked.setdefault(event_id, []).append(NetLine(*values[:10], int(values[10]), int(values[11])))
        return booked

    @staticmethod
    def _usage(curs: Any, keys: set[CapKey]) -> dict[CapKey, int]:
        usage: dict[CapKey, int] = {}
        for key in sorted(keys):
            curs.execute("SELECT used FROM balance_caps WHERE employee_id = ? AND rule_id = ? AND scope = ?", key)
            row = curs.fetchone()
            if row is not None:
                usage[key] = row[0]
        return usage

    @staticmethod
    def _write(curs: Any, booking: Booking) -> None:
        marks = ", ".join("?" for _ in LINE_COLUMNS)
        curs.executemany(f"INSERT INTO balance_lines ({EXPLAIN_COLUMNS}) VALUES ({marks})", [x.values() for x in booking.lines])  # noqa: S608
        curs.executemany(
            "INSERT INTO balance_dimensions VALUES (?, ?, ?, ?, ?) ON CONFLICT (employee_id, month, dimension) "
            "DO UPDATE SET points = points + excluded.points, weighted_points = weighted_points + excluded.weighted_points",
            booking.dimensions,
        )
        curs.executemany(
            "INSERT INTO balance_events VALUES (?, ?, ?) ON CONFLICT (employee_id, month) "
            "DO UPDATE SET event_count = event_count + excluded.event_count",
            booking.events,
        )
        curs.executemany(
            "INSERT INTO balance_caps VALUES (?, ?, ?, ?) ON CONFLICT (employee_id, rule_id, scope) DO UPDATE SET used = excluded.used",
            booking.usage,
        )

    def read(self, employee_id: str, months: Sequence[str]) -> BalanceRows:
        marks = ",".join("?" for _ in months)
        with self.datastore.transaction(commit=False) as curs:
            curs.execute(
                TOTALS.format("balance_dimensions") + f"WHERE employee_id = ? AND month IN ({marks}) GROUP BY dimension ORDER BY dimension",
                (employee_id, *months),
            )
            dimension_rows = [tuple(r) for r in curs.fetchall()]
            curs.execute(f"SELECT sum(event_count) FROM balance_events WHERE employee_id = ? AND month IN ({marks})", (employee_id, *months))  # noqa: S608
            row = curs.fetchone()
        return _rows(dimension_rows, row[0] if row else 0)

    def read_lines(
        self, employee_id: str, months: Sequence[str], *, upto: int, after: tuple[int, int], limit: int
    ) -> list[LineRow]:
        marks = ",".join("?" for _ in months)
        with self.datastore.transaction(commit=False) as curs:
            curs.execute(
                f"SELECT {EXPLAIN_COLUMNS} FROM balance_lines WHERE employee_id = ? AND month IN ({marks}) "  # noqa: S608
                "AND position <= ? AND (position, line_no) > (?, ?) ORDER BY position, line_no LIMIT ?",
                (employee_id, *months, upto, after[0], after[1], limit),
            )
            return [_line(tuple(r)) for r in curs.fetchall()]

    def totals_upto(self, employee_id: str, months: Sequence[str], upto: int) -> BalanceRows:
        marks = ",".join("?" for _ in months)
        with self.datastore.transaction(commit=False) as curs:
            curs.execute(
                TOTALS.format("balance_lines")
                + f"WHERE employee_id = ? AND month IN ({marks}) AND position <= ? GROUP BY dimension ORDER BY dimension",
                (employee_id, *months, upto),
            )
            dimension_rows = [tuple(r) for r in curs.fetchall()]
            curs.execute(
                f"SELECT count(DISTINCT position) FROM balance_lines WHERE employee_id = ? AND month IN ({marks}) AND position <= ?",  # noqa: S608
                (employee_id, *months, upto),
            )
            row = curs.fetchone()
        return _rows(dimension_rows, row[0] if row else 0)

    def events_scored_since(self, day: str, until: str, other_than_version: str, limit: int) -> list[tuple[str, str, str]]:
        with self.datastore.transaction(commit=False) as curs:
            curs.execute(SCORED_SINCE.format("balance_lines", p="?"), (day, until, other_than_version, limit))
            return list(dict.fromkeys((r[0], r[1], r[2]) for r in curs.fetchall()))

    def reset(self, application_name: str) -> None:
        with self.datastore.transaction(commit=True) as curs:
            curs.execute("DELETE FROM tracking WHERE application_name = ?", (application_name,))
            for table in TABLES:
                curs.execute(f"DELETE FROM {table}")  # noqa: S608
