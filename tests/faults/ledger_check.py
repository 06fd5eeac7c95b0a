"""What the fault tests check after the dust settles, read straight from the store.

- `stored_work`: every WorkEvent.Recorded in the log, by request_id (decoded by the
  application's own mapper), to compare with what clients sent and were acknowledged.
- `view_balances` / `log_balances`: the balance view as stored, and the same sums computed
  here from the lines stored with each event (no caps, no corrections: the fault tests use
  uncapped kinds of work and record only), in units of 10^-4 points.
- `replayed_view`: the view after the projector has forgotten it and projected the whole log.
"""

from __future__ import annotations

import time
from collections import Counter, defaultdict
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Any

import psycopg
from psycopg import sql

from points.projections.ledger_rows import to_units
from points.projections.projector import RECORDED_TOPIC
from points.server import PointsService, Settings, build_service
from points.storage.migrate import APPLICATION_NAME, postgres_conninfo
from points.storage.settings import parse_database_url

# Kinds of work with no caps in the shipped example policy, per role: a balance is then the plain
# sum of the lines stored with the events, which these checks compute independently of the ledger.
UNCAPPED_KINDS = {
    "operations_supervisor": ("duty_day", "counter_review", "internal_control_check", "training_given", "risk_incident_caught"),
    "service_manager": ("customer_served", "smart_machine_review", "online_migration", "financial_education", "customer_commendation"),
}

Units = tuple[int, int]  # (points, weighted points) in 10^-4


@dataclass(frozen=True)
class StoredWork:
    request_id: str
    event_id: str
    position: int
    employee_id: str
    kind: str
    quantity: Decimal
    occurred_on: date
    lines: tuple[tuple[str, int, int], ...]  # (dimension, points, weighted) in units


@dataclass(frozen=True)
class Balances:
    """Per (employee, booked month, dimension) the sums, and per (employee, booked month) the event count."""

    dimensions: dict[tuple[str, str, str], Units]
    events: dict[tuple[str, str], int]

    def without_zeros(self) -> Balances:
        return Balances({k: v for k, v in self.dimensions.items() if v != (0, 0)}, {k: v for k, v in self.events.items() if v})


@contextmanager
def store_connection(database_url: str) -> Iterator[tuple[psycopg.Connection[Any], str]]:
    """An autocommit connection to the PostgreSQL store of `database_url`, and its schema."""
    store = parse_database_url(database_url)
    with psycopg.connect(**postgres_conninfo(store), autocommit=True) as conn:
        yield conn, store.schema


def _table(schema: str, name: str) -> sql.Composed:
    return sql.SQL("{}.{}").format(sql.Identifier(schema), sql.Identifier(name))


def log_size(database_url: str) -> int:
    with store_connection(database_url) as (conn, schema):
        row = conn.execute(sql.SQL("SELECT max(notification_id) FROM {}").format(_table(schema, "points_events"))).fetchone()
    return int(row[0] or 0) if row else 0


def tracked_position(database_url: str) -> int:
    with store_connection(database_url) as (conn, schema):
        row = conn.execute(
            sql.SQL("SELECT max(notification_id) FROM {} WHERE application_name = %s").format(_table(schema, "balances_tracking")),
            (APPLICATION_NAME,),
        ).fetchone()
    return int(row[0] or 0) if row else 0


def wait_for_projection(database_url: str, within: float) -> tuple[int, int]:
    """Waits until the view's tracked position reaches the log's end; returns (tracked, log size)."""
    deadline = time.monotonic() + within
    while True:
        end, tracked = log_size(database_url), tracked_position(database_url)
        if tracked >= end or time.monotonic() > deadline:
            return tracked, end
        time.sleep(0.1)


def open_reader(database_url: str) -> PointsService:
    """A service on the store with no projector running and no tables created: for reading and replaying."""
    return build_service(Settings(database_url=database_url, migrate=False), start_projector=False)


def stored_work(service: PointsService) -> dict[str, list[StoredWork]]:
    """Every recorded work event in the log, grouped by request_id (a list, so duplicates would show)."""
    app = service.app
    found: dict[str, list[StoredWork]] = defaultdict(list)
    after: int | None = None
    while True:
        page = app.recorder.select_notifications(start=after, limit=1000, topics=[RECORDED_TOPIC], inclusive_of_start=False)
        if not page:
            return dict(found)
        for notification in page:
            event: Any = app.mapper.to_domain_event(notification)
            found[event.request_id].append(
                StoredWork(
                    request_id=event.request_id,
                    event_id=str(event.originator_id),
                    position=notification.id,
                    employee_id=event.employee_id,
                    kind=event.kind,
                    quantity=event.quantity,
                    occurred_on=event.occurred_on,
                    lines=tuple((line.dimension, to_units(line.points), to_units(line.weighted_points)) for line in event.lines),
                )
            )
        after = page[-1].id


def log_balances(stored: dict[str, list[StoredWork]]) -> Balances:
    """The balances the log implies, summed here from each stored event's own lines."""
    dimensions: dict[tuple[str, str, str], list[int]] = defaultdict(lambda: [0, 0])
    events: Counter[tuple[str, str]] = Counter()
    for copies in stored.values():
        for work in copies:
            month = f"{work.occurred_on.year:04d}-{work.occurred_on.month:02d}"
            events[(work.employee_id, month)] += 1
            for dimension, points, weighted in work.lines:
                sums = dimensions[(work.employee_id, month, dimension)]
                sums[0] += points
                sums[1] += weighted
    return Balances({k: (v[0], v[1]) for k, v in dimensions.items()}, dict(events)).without_zeros()


def view_balances(database_url: str) -> Balances:
    """The balance view as stored: its per-dimension sums and its per-month event counts."""
    with store_connection(database_url) as (conn, schema):
        dimensions = conn.execute(
            sql.SQL("SELECT employee_id, booked_month, dimension, points, weighted_points FROM {}").format(
                _table(schema, "balance_dimensions")
            )
        ).fetchall()
        events = conn.execute(
            sql.SQL("SELECT employee_id, booked_month, sum(event_delta) FROM {} GROUP BY employee_id, booked_month").format(
                _table(schema, "balance_lines")
            )
        ).fetchall()
    return Balances(
        {(e, m, d): (int(p), int(w)) for e, m, d, p, w in dimensions}, {(e, m): int(n) for e, m, n in events}
    ).without_zeros()


def replayed_view(service: PointsService, database_url: str) -> Balances:
    """The view after forgetting it and projecting the whole log again (run with no other projector)."""
    service.projector.rebuild()
    return view_balances(database_url)
