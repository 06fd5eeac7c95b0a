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
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import closing, contextmanager
from dataclasses import dataclass
from typing import Any
from uuid import UUID

from eventsourcing.persistence import StoredEvent
from eventsourcing.postgres import PostgresApplicationRecorder
from eventsourcing.sqlite import SQLiteApplicationRecorder
from psycopg.rows import tuple_row
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


# (position, canonical bytes of the event there or None if it is missing, its stored link or None)
LinkRow = tuple[int, bytes | None, bytes | None]

MISSING_EVENT = "the event at this position is missing"
NOT_CHAINED = "the event at this position is not in the chain"
CHANGED = "the event or its link was changed"


def verify_links(start_hash: bytes, rows: Iterable[LinkRow], from_position: int) -> Verification:
    """Recomputes links over rows (position, canonical event bytes, stored hash) in position order.

    The hot loop of verification: one SHA-256 of preassembled bytes and one comparison per row.
    """
    sha256 = hashlib.sha256
    head, checked, position = start_hash, 0, from_position - 1
    for position, event, stored in rows:  # noqa: B007 - the last position is kept
        if event is None or stored is None or (digest := sha256(head + event).digest()) != stored:
            if event is None:
                return Verification(False, checked, from_position, position, head, position, MISSING_EVENT)
            if stored is None:
                return Verification(False, checked, from_position, position, head, position, NOT_CHAINED)
            return Verification(False, checked, from_position, position, digest, position, CHANGED)
        head = digest
        checked += 1
    return Verification(True, checked, from_position, position, head)


VERIFY_PAGE = 2000  # rows per chunk of the PostgreSQL result stream

# PostgreSQL assembles each event's canonical bytes itself, in the layout of `canonical` (int8send
# and uuid_send are big-endian; the topic goes as UTF-8; a NULL topic is the text 'None' and a NULL
# state no bytes, as str() and `or b""` make them), so Python only hashes.
_PG_CANONICAL = (
    "int8send(e.notification_id) || uuid_send(e.originator_id) || int8send(e.originator_version::bigint)"
    " || int4send(octet_length(convert_to(coalesce(e.topic, 'None'), 'UTF8')))"
    " || convert_to(coalesce(e.topic, 'None'), 'UTF8')"
    " || int8send(octet_length(coalesce(e.state, ''::bytea))::bigint) || coalesce(e.state, ''::bytea)"
)
# For the one transaction that reads (one snapshot): ordered index scans and merge joins stream the
# rows without sorting them (a sort of the states spills to disk), whatever the table statistics say.
_PG_PLAN = (
    "SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY",
    "SET LOCAL enable_sort = off",
    "SET LOCAL enable_hashjoin = off",
    "SET LOCAL enable_nestloop = off",
    "SET LOCAL enable_bitmapscan = off",
    "SET LOCAL max_parallel_workers_per_gather = 0",
    "SET LOCAL jit = off",
)


class ChainReader:
    """Reads the log and its chain for verification, in ordered streams of rows, on either backend."""

    def __init__(self, recorder: Any) -> None:
        self.recorder = recorder
        self.postgres = isinstance(recorder, PostgresApplicationRecorder)
        if self.postgres:
            schema = recorder.datastore.schema
            e = self.events = f'"{schema}"."{recorder.events_table_name}"'
            c = self.chain = f'"{schema}"."{CHAIN_TABLE}"'
            self.p = "%s"
            # Every event with its link, or None if it has none: (position, canonical bytes, link).
            self.events_sql = (  # parameters: the range (after, upto]
                f"SELECT e.notification_id, {_PG_CANONICAL}, c.hash FROM {e} e "  # noqa: S608
                f"LEFT JOIN {c} c ON c.position = e.notification_id AND c.position > %(after)s AND c.position <= %(upto)s "
                "WHERE e.notification_id > %(after)s AND e.notification_id <= %(upto)s ORDER BY e.notification_id"
            )
            self.count_sql = f"SELECT count(*) FROM {c} WHERE position > %(after)s AND position <= %(upto)s"  # noqa: S608
            # The same, plus each link whose event is gone with a NULL event: a FULL OUTER JOIN on position.
            self.links_sql = (
                f"({self.events_sql}) UNION ALL (SELECT c.position, NULL::bytea, c.hash FROM {c} c "  # noqa: S608
                "WHERE c.position > %(after)s AND c.position <= %(upto)s "
                f"AND NOT EXISTS (SELECT FROM {e} e WHERE e.notification_id = c.position) ORDER BY c.position) ORDER BY 1"
            )
        else:
            e, c = self.events, self.chain = recorder.events_table_name, CHAIN_TABLE
            self.p = "?"
            self.events_sql = (  # parameters: the range (after, upto]
                f"SELECT e.rowid, 1, e.originator_id, e.originator_version, e.topic, e.state, c.hash FROM {e} e "  # noqa: S608
                f"LEFT JOIN {c} c ON c.position = e.rowid WHERE e.rowid > :after AND e.rowid <= :upto ORDER BY e.rowid"
            )
            self.count_sql = f"SELECT count(*) FROM {c} WHERE position > :after AND position <= :upto"  # noqa: S608
            self.links_sql = (
                f"SELECT e.rowid, 1, e.originator_id, e.originator_version, e.topic, e.state, c.hash FROM {e} e "  # noqa: S608
                f"LEFT JOIN {c} c ON c.position = e.rowid WHERE e.rowid > :after AND e.rowid <= :upto "
                f"UNION ALL SELECT c.position, 0, NULL, NULL, NULL, NULL, c.hash FROM {c} c WHERE c.position > :after AND c.position <= :upto "
                f"AND NOT EXISTS (SELECT 1 FROM {e} e WHERE e.rowid = c.position) ORDER BY 1"
            )

    def _rows(self, sql: str, params: Sequence[Any]) -> list[tuple[Any, ...]]:
        if self.postgres:
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

    def verify(self, from_position: int, to_position: int) -> Verification:
        """Recomputes the chain from `from_position` to `to_position`: every event and every link, matched by position."""
        start = self.hash_before(from_position)
        with self._reading() as (count, stream):
            # The common case in one pass over the events: each has its link and every link in the
            # range belongs to one of them (the count), so no event is missing.
            links = count(from_position - 1, to_position)
            result = stream(self.events_sql, start, from_position, to_position)
            if result.verified and result.checked == links:
                return result
            # Otherwise the first problem in position order, events and links merged: a link whose
            # event is gone may come before the first bad event.
            upto = to_position if result.verified else result.first_bad_position
            return stream(self.links_sql, start, from_position, upto)

    @contextmanager
    def _reading(self) -> Iterator[tuple[Callable[[int, int], int], Callable[[str, bytes, int, int], Verification]]]:
        """(count of links in a range, verification of a query's rows over a range), in one read transaction."""
        if self.postgres:
            with self.recorder.datastore.get_connection() as conn, conn.transaction(force_rollback=True):
                for setting in _PG_PLAN:
                    conn.execute(setting)
                with conn.cursor(row_factory=tuple_row) as curs:

                    def count_pg(after: int, upto: int) -> int:
                        curs.execute(self.count_sql, {"after": after, "upto": upto})
                        return int(curs.fetchone()[0])  # type: ignore[index]

                    def stream_pg(sql: str, start: bytes, from_position: int, upto: int) -> Verification:
                        params = {"after": from_position - 1, "upto": upto}
                        with closing(curs.stream(sql, params, binary=True, size=VERIFY_PAGE)) as rows:
                            return verify_links(start, rows, from_position)  # type: ignore[arg-type]

                    yield count_pg, stream_pg
            return
        with self.recorder.datastore.transaction(commit=False) as curs:

            def count_sqlite(after: int, upto: int) -> int:
                curs.execute(self.count_sql, {"after": after, "upto": upto})
                return int(curs.fetchone()[0])

            def stream_sqlite(sql: str, start: bytes, from_position: int, upto: int) -> Verification:
                curs.execute(sql, {"after": from_position - 1, "upto": upto})
                return verify_links(start, map(_sqlite_link_row, iter(curs.fetchone, None)), from_position)

            yield count_sqlite, stream_sqlite


def _sqlite_link_row(row: tuple[Any, ...]) -> LinkRow:
    position, present, originator_id, version, topic, state, stored = row
    stored = None if stored is None else bytes(stored)
    if not present:
        return position, None, stored
    return position, canonical(position, UUID(str(originator_id)), int(version or 0), str(topic), bytes(state or b"")), stored
