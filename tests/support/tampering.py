"""Rewriting a stored event log behind the service's back, as only a superuser or the file's owner can: for the tamper tests.

PostgreSQL: the append-only triggers fire in the default session_replication_role
('origin'); a superuser's session set to 'replica' skips them. SQLite: whoever holds the
file can drop the triggers; they are put back afterwards, as they were.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator, Sequence
from contextlib import closing, contextmanager
from typing import Any, Protocol
from uuid import UUID, uuid4

import psycopg
from psycopg.conninfo import make_conninfo

from points.storage.chain import CHAIN_TABLE, link
from points.storage.migrate import postgres_conninfo
from points.storage.settings import StoreSettings


class Execute(Protocol):
    def __call__(self, sql: str, params: Sequence[Any] = ...) -> list[tuple[Any, ...]]: ...


@contextmanager
def _bypassing_triggers(store: StoreSettings) -> Iterator[tuple[Execute, str, str, str]]:
    """(execute, events table, chain table, position column), with the append-only triggers not in the way.

    SQL given to `execute` uses `?` for parameters on both backends.
    """
    if store.backend == "postgresql":
        with psycopg.connect(make_conninfo("", **postgres_conninfo(store))) as conn:
            conn.execute("SET LOCAL session_replication_role = replica")  # superuser only: triggers do not fire

            def execute_pg(sql: str, params: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
                cursor = conn.execute(sql.replace("?", "%s"), params)  # type: ignore[arg-type]
                return list(cursor.fetchall()) if cursor.description else []

            yield execute_pg, f'"{store.schema}".points_events', f'"{store.schema}".{CHAIN_TABLE}', "notification_id"
        return
    with closing(sqlite3.connect(store.sqlite_path, isolation_level=None)) as db:
        db.execute("BEGIN IMMEDIATE")
        triggers = db.execute("SELECT name, sql FROM sqlite_master WHERE type = 'trigger'").fetchall()
        for name, _ in triggers:
            db.execute(f"DROP TRIGGER {name}")

        def execute_sqlite(sql: str, params: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
            return db.execute(sql, params).fetchall()

        yield execute_sqlite, "stored_events", CHAIN_TABLE, "rowid"
        for _, sql in triggers:
            db.execute(sql)
        db.execute("COMMIT")


def stored_state(store: StoreSettings, position: int) -> bytes:
    with _bypassing_triggers(store) as (execute, events, _, column):
        ((state,),) = execute(f"SELECT state FROM {events} WHERE {column} = ?", (position,))  # noqa: S608
    return bytes(state)


def rewrite_event_state(store: StoreSettings, position: int, state: bytes) -> None:
    """Replaces the stored bytes of the event at `position`; its chain link stays as it was."""
    with _bypassing_triggers(store) as (execute, events, _, column):
        execute(f"UPDATE {events} SET state = ? WHERE {column} = ?", (state, position))  # noqa: S608


def delete_event(store: StoreSettings, position: int) -> None:
    with _bypassing_triggers(store) as (execute, events, _, column):
        execute(f"DELETE FROM {events} WHERE {column} = ?", (position,))  # noqa: S608


def rewrite_link(store: StoreSettings, position: int, digest: bytes) -> None:
    with _bypassing_triggers(store) as (execute, _, chain, _column):
        execute(f"UPDATE {chain} SET hash = ? WHERE position = ?", (digest, position))  # noqa: S608


def delete_link(store: StoreSettings, position: int) -> None:
    with _bypassing_triggers(store) as (execute, _, chain, _column):
        execute(f"DELETE FROM {chain} WHERE position = ?", (position,))  # noqa: S608


def delete_links_from(store: StoreSettings, from_position: int) -> None:
    """Removes the chain from `from_position` on: what a store written before the chain existed looks like."""
    with _bypassing_triggers(store) as (execute, _, chain, _column):
        execute(f"DELETE FROM {chain} WHERE position >= ?", (from_position,))  # noqa: S608


def relink(store: StoreSettings, from_position: int) -> None:
    """Recomputes every link from `from_position` on: a forger covering a rewrite, so only a kept head can tell."""
    with _bypassing_triggers(store) as (execute, events, chain, column):
        before = execute(f"SELECT hash FROM {chain} WHERE position < ? ORDER BY position DESC LIMIT 1", (from_position,))  # noqa: S608
        head = bytes(before[0][0]) if before else bytes(32)
        rows = execute(
            f"SELECT {column}, originator_id, originator_version, topic, state FROM {events} WHERE {column} >= ? ORDER BY {column}",  # noqa: S608
            (from_position,),
        )
        for position, originator_id, version, topic, state in rows:
            uuid = originator_id if isinstance(originator_id, UUID) else UUID(str(originator_id))
            head = link(head, position, uuid, version, topic, bytes(state))
            execute(f"UPDATE {chain} SET hash = ? WHERE position = ?", (head, position))  # noqa: S608


def append_unchained_copy(store: StoreSettings, position: int) -> int:
    """Appends a copy of the event at `position` (under a new aggregate id) by plain INSERT, around the recorder.

    No trigger stops an INSERT, and the service's own role may INSERT: this is what stolen
    application credentials can do. Returns the new event's position.
    """
    with _bypassing_triggers(store) as (execute, events, _, column):
        ((version, topic, state),) = execute(
            f"SELECT originator_version, topic, state FROM {events} WHERE {column} = ?", (position,)  # noqa: S608
        )
        originator = uuid4() if store.backend == "postgresql" else uuid4().hex
        execute(
            f"INSERT INTO {events} (originator_id, originator_version, topic, state) VALUES (?, ?, ?, ?)",  # noqa: S608
            (originator, version, topic, bytes(state)),
        )
        ((appended,),) = execute(f"SELECT max({column}) FROM {events}")  # noqa: S608
    return int(appended)
