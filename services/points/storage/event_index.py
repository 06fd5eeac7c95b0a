"""Two lookups the library's recorders don't offer, each one indexed query for many aggregates.

The library answers "events of one aggregate" and "events after position N". A retried write
also needs "where is this event in the log" (positions), so it can answer with the original
position; and a batch of writes needs the latest state of many aggregates at once (the
employees, outlets and policy book it scores against): `events_after` reads every aggregate's
events newer than the version a cache holds, in one round trip instead of one per aggregate.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Protocol
from uuid import UUID

from eventsourcing.persistence import ApplicationRecorder, StoredEvent
from eventsourcing.postgres import PostgresApplicationRecorder
from eventsourcing.sqlite import SQLiteApplicationRecorder
from psycopg.sql import SQL, Identifier

from points.storage.literals import int_array_text

Key = tuple[UUID, int]


class EventIndex(Protocol):
    def positions(self, keys: Sequence[Key]) -> dict[Key, int]:
        """The position of each stored (aggregate id, version); absent keys are left out."""

    def events_after(self, keys: Sequence[Key]) -> list[StoredEvent]:
        """Each aggregate's stored events with a version above the given one, by aggregate then version."""

    def lookup(self, position_keys: Sequence[Key], after_keys: Sequence[Key]) -> tuple[dict[Key, int], list[StoredEvent]]:
        """positions(position_keys) and events_after(after_keys), read together (one round trip where it can)."""


class PostgresEventIndex:
    """The keys go as two parameters whatever their number: the ids as one bytea of 16 bytes each,
    the versions as one array literal. (As uuid[] and bigint[] lists, psycopg dumped them item by
    item in Python: a tenth of a 1,000-event batch's CPU.)"""

    def __init__(self, recorder: PostgresApplicationRecorder) -> None:
        self.datastore = recorder.datastore
        keys = (
            "(SELECT encode(substring(%s::bytea FROM i::int * 16 - 15 FOR 16), 'hex')::uuid AS id, version "
            "FROM unnest(%s::bigint[]) WITH ORDINALITY AS v(version, i)) AS k"
        )
        # One primary-key probe per key, whatever the planner thinks of the table: the OFFSET 0 keeps
        # each LATERAL subquery a subquery run per key. Without it the planner pulls the subquery up into
        # a join, and on a table it has no statistics for yet (a new schema, until autovacuum analyzes it)
        # it chose a hash join over a sequential scan of the whole log: every write batch read the log
        # (13 ms at 51,000 events, growing with it). tests/app/test_plans_without_statistics.py.
        self.statement = SQL(
            "SELECT e.originator_id, e.originator_version, e.notification_id FROM " + keys + " "
            "CROSS JOIN LATERAL (SELECT originator_id, originator_version, notification_id FROM {schema}.{table} "
            "WHERE originator_id = k.id AND originator_version = k.version OFFSET 0) e"
        ).format(schema=Identifier(recorder.datastore.schema), table=Identifier(recorder.events_table_name))
        self.newer_statement = SQL(
            "SELECT e.originator_id, e.originator_version, e.topic, e.state FROM " + keys + " "
            "CROSS JOIN LATERAL (SELECT originator_id, originator_version, topic, state FROM {schema}.{table} "
            "WHERE originator_id = k.id AND originator_version > k.version OFFSET 0) e "
            "ORDER BY e.originator_id, e.originator_version"
        ).format(schema=Identifier(recorder.datastore.schema), table=Identifier(recorder.events_table_name))

    def positions(self, keys: Sequence[Key]) -> dict[Key, int]:
        if not keys:
            return {}
        with self.datastore.get_connection() as conn, conn.cursor() as curs:
            curs.execute(self.statement, _key_params(keys))
            return {(row["originator_id"], row["originator_version"]): row["notification_id"] for row in curs.fetchall()}

    def events_after(self, keys: Sequence[Key]) -> list[StoredEvent]:
        return self.lookup((), keys)[1]

    def lookup(self, position_keys: Sequence[Key], after_keys: Sequence[Key]) -> tuple[dict[Key, int], list[StoredEvent]]:
        if not position_keys and not after_keys:
            return {}, []
        with self.datastore.get_connection() as conn, conn.pipeline(), conn.cursor() as found, conn.cursor() as newer:
            # Both queries go out before either answer is awaited: one round trip.
            found.execute(self.statement, _key_params(position_keys), prepare=True)
            newer.execute(self.newer_statement, _key_params(after_keys), prepare=True)
            positions = {(row["originator_id"], row["originator_version"]): row["notification_id"] for row in found.fetchall()}
            events = [
                StoredEvent(row["originator_id"], row["originator_version"], row["topic"], bytes(row["state"]))
                for row in newer.fetchall()
            ]
            return positions, events


def _key_params(keys: Sequence[Key]) -> tuple[bytes, str]:
    """(the ids' 16 bytes each, one after the other; the versions as a bigint[] literal)."""
    return b"".join([k[0].bytes for k in keys]), int_array_text([k[1] for k in keys])


class SQLiteEventIndex:
    CHUNK = 400  # stays under SQLite's limit on bound parameters

    def __init__(self, recorder: SQLiteApplicationRecorder) -> None:
        self.datastore = recorder.datastore
        self.table = recorder.events_table_name

    def positions(self, keys: Sequence[Key]) -> dict[Key, int]:
        rows = self._select(
            keys,
            "SELECT originator_id, originator_version, rowid FROM {table} WHERE (originator_id, originator_version) IN (VALUES {values})",
        )
        return {(UUID(row[0]), row[1]): row[2] for row in rows}

    def lookup(self, position_keys: Sequence[Key], after_keys: Sequence[Key]) -> tuple[dict[Key, int], list[StoredEvent]]:
        return self.positions(position_keys), self.events_after(after_keys)  # an embedded file: no round trips to save

    def events_after(self, keys: Sequence[Key]) -> list[StoredEvent]:
        rows = self._select(
            keys,
            "WITH k(id, version) AS (VALUES {values}) SELECT e.originator_id, e.originator_version, e.topic, e.state FROM k "
            "JOIN {table} e ON e.originator_id = k.id AND e.originator_version > k.version ORDER BY e.originator_id, e.originator_version",
        )
        return [StoredEvent(UUID(row[0]), row[1], row[2], bytes(row[3])) for row in rows]

    def _select(self, keys: Sequence[Key], template: str) -> list[Any]:
        """Runs `template` for the keys, CHUNK at a time, as (id, version) VALUES rows; all rows in one transaction."""
        rows: list[Any] = []
        with self.datastore.transaction(commit=False) as curs:
            for start in range(0, len(keys), self.CHUNK):
                chunk = keys[start : start + self.CHUNK]
                params: list[object] = []
                for aggregate_id, version in chunk:
                    params += [aggregate_id.hex, version]
                values = ",".join("(?,?)" for _ in chunk)
                curs.execute(template.format(table=self.table, values=values), params)
                rows += curs.fetchall()
        return rows


def event_index_for(recorder: ApplicationRecorder) -> EventIndex:
    if isinstance(recorder, PostgresApplicationRecorder):
        return PostgresEventIndex(recorder)
    if isinstance(recorder, SQLiteApplicationRecorder):
        return SQLiteEventIndex(recorder)
    raise TypeError(f"no event index for {type(recorder).__name__}")
