"""Reading a schema's ledger view back, and rebuilding it from the log into another schema to compare."""

from __future__ import annotations

from typing import Any

import psycopg

from points.projections.ledger_rows import LINE_COLUMNS
from points.projections.projector import BalanceProjector
from points.server import Settings, build_service
from points.storage.migrate import APPLICATION_NAME, construct_view, migrate
from points.storage.settings import parse_database_url


def rebuild_elsewhere(source_url: str, target_url: str) -> int:
    """Projects the whole log of `source_url` into a fresh view in `target_url`; returns the events read."""
    target = parse_database_url(target_url)
    migrate(target)
    source = build_service(Settings(database_url=source_url, migrate=False), start_projector=False)
    view = construct_view(target, create_table=False)
    try:
        projector = BalanceProjector(recorder=source.app.recorder, mapper=source.app.mapper, view=view, application_name=APPLICATION_NAME)
        return projector.catch_up()
    finally:
        view.datastore.close()  # type: ignore[attr-defined]
        source.close()


def sums(server_url: str, schema: str) -> list[tuple[Any, ...]]:
    return _rows(server_url, f'SELECT employee_id, booked_month, dimension, points, weighted_points FROM "{schema}".balance_dimensions ORDER BY 1, 2, 3')


def lines(server_url: str, schema: str) -> list[tuple[Any, ...]]:
    return _rows(server_url, f'SELECT {", ".join(LINE_COLUMNS)} FROM "{schema}".balance_lines ORDER BY position, line_no')


def events_booked_twice(server_url: str, schema: str) -> list[tuple[Any, ...]]:
    """Work events whose recorded lines were booked at more than one log position (never, if each is applied once)."""
    return _rows(
        server_url,
        f"SELECT event_id, count(DISTINCT position) FROM \"{schema}\".balance_lines WHERE entry = 'recorded' "
        "GROUP BY event_id HAVING count(DISTINCT position) > 1",
    )


def scalar(server_url: str, sql: str) -> Any:
    return _rows(server_url, sql)[0][0]


def _rows(server_url: str, sql: str) -> list[tuple[Any, ...]]:
    with psycopg.connect(server_url, autocommit=True) as conn:
        return [tuple(row) for row in conn.execute(sql).fetchall()]  # type: ignore[arg-type]
