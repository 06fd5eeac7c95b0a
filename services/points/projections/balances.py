"""The balance view: points per employee, month and dimension, summed from recorded work events.

Points are stored as integers in units of 10^-POINTS_PLACES, so SQLite and PostgreSQL sum
them exactly. A batch of events becomes one set of row increments plus one move of the
tracking position, in one transaction: a crash leaves either all of it or none, so each
event is counted exactly once. The move is a compare-and-set (UPDATE ... WHERE position =
expected), so two projectors on one view can never both apply the same events.

The views subclass the library's tracking recorders: the tracking table, max_tracking_id
and has_tracking_id are the library's; the view tables and the batch write are ours.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any, Protocol

from eventsourcing.persistence import IntegrityError
from eventsourcing.postgres import PostgresTrackingRecorder
from eventsourcing.sqlite import SQLiteTrackingRecorder
from psycopg.sql import SQL, Identifier

from points.domain.policy import POINTS_PLACES
from points.domain.work import WorkEvent

SCALE = 10**POINTS_PLACES


def to_units(value: Decimal) -> int:
    units = value.scaleb(POINTS_PLACES)
    if units != units.to_integral_value():
        raise ValueError(f"{value} has more than {POINTS_PLACES} decimal places")
    return int(units)


def from_units(units: int) -> Decimal:
    return Decimal(units).scaleb(-POINTS_PLACES).quantize(Decimal(1).scaleb(-POINTS_PLACES))


class ProjectionConflict(Exception):
    """Another projector moved the tracking position first; re-read it and carry on."""


@dataclass
class BalanceDelta:
    """What a batch of events adds to the view."""

    dimensions: dict[tuple[str, str, str], list[int]] = field(default_factory=lambda: defaultdict(lambda: [0, 0]))
    events: dict[tuple[str, str], int] = field(default_factory=lambda: defaultdict(int))

    def add(self, recorded: WorkEvent.Recorded) -> None:
        month = f"{recorded.occurred_on.year:04d}-{recorded.occurred_on.month:02d}"
        self.events[(recorded.employee_id, month)] += 1
        for line in recorded.lines:
            sums = self.dimensions[(recorded.employee_id, month, line.dimension)]
            sums[0] += to_units(line.points)
            sums[1] += to_units(line.weighted_points)

    def dimension_rows(self) -> list[tuple[str, str, str, int, int]]:
        return [(e, m, d, p, w) for (e, m, d), (p, w) in sorted(self.dimensions.items())]

    def event_rows(self) -> list[tuple[str, str, int]]:
        return [(e, m, n) for (e, m), n in sorted(self.events.items())]


@dataclass(frozen=True)
class BalanceRows:
    dimensions: tuple[tuple[str, Decimal, Decimal], ...]  # (dimension, points, weighted points)
    event_count: int


class BalanceView(Protocol):
    def position(self, application_name: str) -> int: ...

    def apply(self, delta: BalanceDelta, application_name: str, *, after: int, upto: int) -> None: ...

    def read(self, employee_id: str, months: Sequence[str]) -> BalanceRows: ...

    def reset(self, application_name: str) -> None: ...


def _rows(dimension_rows: Iterable[Any], event_count: Any) -> BalanceRows:
    return BalanceRows(
        dimensions=tuple((r[0], from_units(int(r[1])), from_units(int(r[2]))) for r in dimension_rows),
        event_count=int(event_count or 0),
    )


class PostgresBalanceView(PostgresTrackingRecorder):
    def __init__(self, datastore: Any, **kwargs: Any) -> None:
        super().__init__(datastore, **kwargs)
        schema = Identifier(self.datastore.schema)
        self.dimensions_table = SQL("{}.{}").format(schema, Identifier("balance_dimensions"))
        self.events_table = SQL("{}.{}").format(schema, Identifier("balance_events"))
        self.tracking_table = SQL("{}.{}").format(schema, Identifier(self.tracking_table_name))
        self.sql_create_statements += [
            SQL(
                "CREATE TABLE IF NOT EXISTS {} (employee_id text NOT NULL, month text NOT NULL, "
                "dimension text NOT NULL, points bigint NOT NULL, weighted_points bigint NOT NULL, "
                "PRIMARY KEY (employee_id, month, dimension))"
            ).format(self.dimensions_table),
            SQL(
                "CREATE TABLE IF NOT EXISTS {} (employee_id text NOT NULL, month text NOT NULL, "
                "event_count bigint NOT NULL, PRIMARY KEY (employee_id, month))"
            ).format(self.events_table),
        ]

    def position(self, application_name: str) -> int:
        return self.max_tracking_id(application_name) or 0

    def apply(self, delta: BalanceDelta, application_name: str, *, after: int, upto: int) -> None:
        dims, events = delta.dimension_rows(), delta.event_rows()
        with self.datastore.transaction(commit=True) as curs:
            _move_tracking_pg(curs, self.tracking_table, application_name, after, upto)
            if dims:
                curs.execute(
                    SQL(
                        "INSERT INTO {} AS t SELECT * FROM unnest(%s::text[], %s::text[], %s::text[], "
                        "%s::bigint[], %s::bigint[]) ON CONFLICT (employee_id, month, dimension) DO UPDATE SET "
                        "points = t.points + EXCLUDED.points, weighted_points = t.weighted_points + EXCLUDED.weighted_points"
                    ).format(self.dimensions_table),
                    [list(col) for col in zip(*dims, strict=True)],
                )
            if events:
                curs.execute(
                    SQL(
                        "INSERT INTO {} AS t SELECT * FROM unnest(%s::text[], %s::text[], %s::bigint[]) "
                        "ON CONFLICT (employee_id, month) DO UPDATE SET event_count = t.event_count + EXCLUDED.event_count"
                    ).format(self.events_table),
                    [list(col) for col in zip(*events, strict=True)],
                )

    def read(self, employee_id: str, months: Sequence[str]) -> BalanceRows:
        with self.datastore.transaction(commit=False) as curs:
            curs.execute(
                SQL(
                    "SELECT dimension, sum(points) AS points, sum(weighted_points) AS weighted FROM {} "
                    "WHERE employee_id = %s AND month = ANY(%s) GROUP BY dimension ORDER BY dimension"
                ).format(self.dimensions_table),
                (employee_id, list(months)),
            )
            dimension_rows = [tuple(r.values()) for r in curs.fetchall()]
            curs.execute(
                SQL("SELECT sum(event_count) AS n FROM {} WHERE employee_id = %s AND month = ANY(%s)").format(
                    self.events_table
                ),
                (employee_id, list(months)),
            )
            row = curs.fetchone()
        return _rows(dimension_rows, row["n"] if row else 0)

    def reset(self, application_name: str) -> None:
        with self.datastore.transaction(commit=True) as curs:
            curs.execute(SQL("DELETE FROM {} WHERE application_name = %s").format(self.tracking_table), (application_name,))
            curs.execute(SQL("DELETE FROM {}").format(self.dimensions_table))
            curs.execute(SQL("DELETE FROM {}").format(self.events_table))


def _move_tracking_pg(curs: Any, table: Any, application_name: str, after: int, upto: int) -> None:
    if after == 0:
        curs.execute(
            SQL("INSERT INTO {} (application_name, notification_id) VALUES (%s, %s) ON CONFLICT DO NOTHING").format(table),
            (application_name, upto),
        )
    else:
        curs.execute(
            SQL("UPDATE {} SET notification_id = %s WHERE application_name = %s AND notification_id = %s").format(table),
            (upto, application_name, after),
        )
    if curs.rowcount != 1:
        raise ProjectionConflict(f"tracking of {application_name} is no longer at {after}")


class SQLiteBalanceView(SQLiteTrackingRecorder):
    DIMENSIONS = "balance_dimensions"
    EVENTS = "balance_events"

    def construct_create_table_statements(self) -> list[str]:
        return [
            *super().construct_create_table_statements(),
            f"CREATE TABLE IF NOT EXISTS {self.DIMENSIONS} (employee_id TEXT NOT NULL, month TEXT NOT NULL, "
            "dimension TEXT NOT NULL, points INTEGER NOT NULL, weighted_points INTEGER NOT NULL, "
            "PRIMARY KEY (employee_id, month, dimension))",
            f"CREATE TABLE IF NOT EXISTS {self.EVENTS} (employee_id TEXT NOT NULL, month TEXT NOT NULL, "
            "event_count INTEGER NOT NULL, PRIMARY KEY (employee_id, month))",
        ]

    def position(self, application_name: str) -> int:
        return self.max_tracking_id(application_name) or 0

    def apply(self, delta: BalanceDelta, application_name: str, *, after: int, upto: int) -> None:
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
                curs.executemany(
                    f"INSERT INTO {self.DIMENSIONS} VALUES (?, ?, ?, ?, ?) ON CONFLICT (employee_id, month, dimension) "
                    "DO UPDATE SET points = points + excluded.points, weighted_points = weighted_points + excluded.weighted_points",
                    delta.dimension_rows(),
                )
                curs.executemany(
                    f"INSERT INTO {self.EVENTS} VALUES (?, ?, ?) ON CONFLICT (employee_id, month) "
                    "DO UPDATE SET event_count = event_count + excluded.event_count",
                    delta.event_rows(),
                )
        except IntegrityError as e:  # pragma: no cover - the compare-and-set above normally catches it
            raise ProjectionConflict(str(e)) from e

    def read(self, employee_id: str, months: Sequence[str]) -> BalanceRows:
        marks = ",".join("?" for _ in months)
        with self.datastore.transaction(commit=False) as curs:
            curs.execute(
                f"SELECT dimension, sum(points), sum(weighted_points) FROM {self.DIMENSIONS} "  # noqa: S608
                f"WHERE employee_id = ? AND month IN ({marks}) GROUP BY dimension ORDER BY dimension",
                (employee_id, *months),
            )
            dimension_rows = [tuple(r) for r in curs.fetchall()]
            curs.execute(
                f"SELECT sum(event_count) FROM {self.EVENTS} WHERE employee_id = ? AND month IN ({marks})",  # noqa: S608
                (employee_id, *months),
            )
            row = curs.fetchone()
        return _rows(dimension_rows, row[0] if row else 0)

    def reset(self, application_name: str) -> None:
        with self.datastore.transaction(commit=True) as curs:
            curs.execute("DELETE FROM tracking WHERE application_name = ?", (application_name,))
            curs.execute(f"DELETE FROM {self.DIMENSIONS}")  # noqa: S608
            curs.execute(f"DELETE FROM {self.EVENTS}")  # noqa: S608
