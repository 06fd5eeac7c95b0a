"""The tamper-evident hash chain over the event log, written in the same transaction as the events.

h_n = SHA-256(h_{n-1} || canonical bytes of event n), in log order, with h_0 = 32 zero bytes.
The canonical bytes are the event's position, aggregate id, version, topic and stored state,
each length-prefixed, so no two different events share them. The recorders below are the
library's own, with one step added after the insert: under the same lock that orders the
log, they read the chain's head and append a link per new event. Anyone holding an earlier
head (GetLedgerHead) can later prove that nothing up to it changed (VerifyLedger).
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any
from uuid import UUID

from eventsourcing.persistence import StoredEvent
from eventsourcing.postgres import PostgresApplicationRecorder
from eventsourcing.sqlite import SQLiteApplicationRecorder
from psycopg.sql import SQL, Identifier

GENESIS = bytes(32)
CHAIN_TABLE = "points_chain"


def canonical(position: int, originator_id: UUID, version: int, topic: str, state: bytes) -> bytes:
    topic_bytes = topic.encode("utf-8")
    return b"".join(
        (
            position.to_bytes(8, "big", signed=True),
            originator_id.bytes,
            version.to_bytes(8, "big", signed=True),
            len(topic_bytes).to_bytes(4, "big"),
            topic_bytes,
            len(state).to_bytes(8, "big"),
            state,
        )
    )


def link(previous: bytes, position: int, originator_id: UUID, version: int, topic: str, state: bytes) -> bytes:
    return hashlib.sha256(previous + canonical(position, originator_id, version, topic, state)).digest()


def links(head: bytes, positions: Sequence[int], events: Sequence[StoredEvent]) -> list[tuple[int, bytes]]:
    """The chain rows for events just stored at `positions` (any order), after `head`."""
    rows = []
    for position, event in sorted(zip(positions, events, strict=True), key=lambda pair: pair[0]):
        originator = event.originator_id if isinstance(event.originator_id, UUID) else UUID(str(event.originator_id))
        head = link(head, position, originator, event.originator_version, event.topic, bytes(event.state))
        rows.append((position, head))
    return rows


class ChainedPostgresApplicationRecorder(PostgresApplicationRecorder):
    def __init__(self, datastore: Any, *, events_table_name: str = "stored_events") -> None:
        super().__init__(datastore, events_table_name=events_table_name)
        self.chain_table = SQL("{}.{}").format(Identifier(self.datastore.schema), Identifier(CHAIN_TABLE))
        self.sql_create_statements.append(
            SQL("CREATE TABLE IF NOT EXISTS {} (position bigint PRIMARY KEY, hash bytea NOT NULL)").format(self.chain_table)
        )

    def _fetch_ids_after_insert_events(self, curs: Any, stored_events: Sequence[StoredEvent], **kwargs: Any) -> Sequence[int] | None:
        ids = super()._fetch_ids_after_insert_events(curs, stored_events, **kwargs)
        if ids:
            # Still inside the insert's transaction, after its EXCLUSIVE table lock: no one else appends now.
            curs.execute(SQL("SELECT hash FROM {} ORDER BY position DESC LIMIT 1").format(self.chain_table))
            row = curs.fetchone()
            head = bytes(row["hash"]) if row else GENESIS
            curs.executemany(
                SQL("INSERT INTO {} (position, hash) VALUES (%s, %s)").format(self.chain_table), links(head, ids, stored_events)
            )
        return ids


class ChainedSQLiteApplicationRecorder(SQLiteApplicationRecorder):
    def construct_create_table_statements(self) -> list[str]:
        return [
            *super().construct_create_table_statements(),
            f"CREATE TABLE IF NOT EXISTS {CHAIN_TABLE} (position INTEGER PRIMARY KEY, hash BLOB NOT NULL)",
        ]

    def _insert_events(self, c: Any, stored_events: Sequence[StoredEvent], **kwargs: Any) -> Sequence[int] | None:
        ids = super()._insert_events(c, stored_events, **kwargs)
        if ids:  # SQLite writes one transaction at a time: the head cannot move under us
            c.execute(f"SELECT hash FROM {CHAIN_TABLE} ORDER BY position DESC LIMIT 1")  # noqa: S608
            row = c.fetchone()
            head = bytes(row[0]) if row else GENESIS
            c.executemany(f"INSERT INTO {CHAIN_TABLE} (position, hash) VALUES (?, ?)", links(head, ids, stored_events))  # noqa: S608
        return ids


@dataclass(frozen=True)
class Verification:
    """The outcome of recomputing the chain over a range of positions."""

    verified: bool
    checked: int
    from_position: int
    to_position: int  # the last position examined
    head_hash: bytes  # the recomputed hash at to_position (when verified)
    first_bad_position: int = 0
    problem: str = ""


ChainRow = tuple[int | None, Any, int | None, str | None, bytes | None, int | None, bytes | None]


def verify_rows(start_hash: bytes, rows: Iterable[ChainRow], from_position: int) -> Verification:
    """Recomputes links over rows (event position, id, version, topic, state, chain position, stored hash)."""
    head, checked, last = start_hash, 0, from_position - 1
    for event_position, originator_id, version, topic, state, chain_position, stored in rows:
        position = event_position if event_position is not None else chain_position
        assert position is not None
        if event_position is None:
            return Verification(False, checked, from_position, position, head, position, "the event at this position is missing")
        if chain_position is None or stored is None:
            return Verification(False, checked, from_position, position, head, position, "the event at this position is not in the chain")
        uuid = originator_id if isinstance(originator_id, UUID) else UUID(str(originator_id))
        head = link(head, position, uuid, int(version or 0), str(topic), bytes(state or b""))
        if head != bytes(stored):
            return Verification(False, checked, from_position, position, head, position, "the event or its link was changed")
        checked, last = checked + 1, position
    return Verification(True, checked, from_position, last, head)


VERIFY_PAGE = 5000


class ChainReader:
    """Reads the log and its chain for verification, in pages, on either backend."""

    def __init__(self, recorder: Any) -> None:
        self.recorder = recorder
        self.postgres = isinstance(recorder, PostgresApplicationRecorder)
        if self.postgres:
            schema = recorder.datastore.schema
            self.events = f'"{schema}"."{recorder.events_table_name}"'
            self.chain = f'"{schema}"."{CHAIN_TABLE}"'
            self.id_column, self.p = "notification_id", "%s"
        else:
            self.events, self.chain, self.id_column, self.p = recorder.events_table_name, CHAIN_TABLE, "rowid", "?"

    def _rows(self, sql: str, params: Sequence[Any]) -> list[tuple[Any, ...]]:
        if self.postgres:
            from psycopg.rows import tuple_row

            with self.recorder.datastore.get_connection() as conn, conn.cursor(row_factory=tuple_row) as curs:
                curs.execute(sql, params)
                return list(curs.fetchall())
        with self.recorder.datastore.transaction(commit=False) as curs:
            curs.execute(sql, params)
            return [tuple(r) for r in curs.fetchall()]

    def head(self) -> tuple[int, bytes]:
        rows = self._rows(f"SELECT position, hash FROM {self.chain} ORDER BY position DESC LIMIT 1", ())  # noqa: S608
        return (int(rows[0][0]), bytes(rows[0][1])) if rows else (0, GENESIS)

    def hash_before(self, position: int) -> bytes:
        rows = self._rows(f"SELECT hash FROM {self.chain} WHERE position < {self.p} ORDER BY position DESC LIMIT 1", (position,))  # noqa: S608
        return bytes(rows[0][0]) if rows else GENESIS

    def merged(self, from_position: int, to_position: int) -> Iterable[ChainRow]:
        """Events and chain links from `from_position` to `to_position`, matched by position."""
        p, cursor = self.p, from_position - 1
        while True:
            events = self._rows(
                f"SELECT {self.id_column}, originator_id, originator_version, topic, state FROM {self.events} "  # noqa: S608
                f"WHERE {self.id_column} > {p} AND {self.id_column} <= {p} ORDER BY {self.id_column} LIMIT {p}",
                (cursor, to_position, VERIFY_PAGE),
            )
            upto = int(events[-1][0]) if len(events) == VERIFY_PAGE else to_position
            chained = dict(
                self._rows(
                    f"SELECT position, hash FROM {self.chain} WHERE position > {p} AND position <= {p} ORDER BY position",  # noqa: S608
                    (cursor, upto),
                )
            )
            page: list[ChainRow] = []
            for position, originator_id, version, topic, state in events:
                stored = chained.pop(position, None)
                page.append((int(position), originator_id, int(version), topic, bytes(state), position if stored is not None else None, stored))
            page += [(None, None, None, None, None, int(position), bytes(stored)) for position, stored in chained.items()]  # event gone
            yield from sorted(page, key=lambda row: row[0] if row[0] is not None else row[5])  # type: ignore[arg-type, return-value]
            if len(events) < VERIFY_PAGE:
                return
            cursor = upto

    def verify(self, from_position: int, to_position: int) -> Verification:
        return verify_rows(self.hash_before(from_position), self.merged(from_position, to_position), from_position)
