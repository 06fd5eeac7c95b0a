"""The PostgreSQL write path: the library's recorder, with its inserts done by COPY.

The library appends with `INSERT ... SELECT FROM unnest(%s)` of a composite-type array, which
psycopg builds as text, value by value (about a third of a batch's time here). This recorder
keeps every guarantee of the library's path and changes only how the rows travel:

- the same `LOCK TABLE ... IN EXCLUSIVE MODE` (with the same lock timeout) is taken first, so
  positions are handed out and committed in one order: a reader asking for "after N" never
  passes an event that commits later;
- positions come from the table's own sequence (`nextval` under that lock, so they increase
  in the order of the events given), then the rows go in by binary COPY with their positions;
- the hash chain's links are computed from the head read under the same lock and written in the
  same transaction (storage/chain.py defines the links);
- a duplicate (aggregate id, version) fails the whole transaction with the library's
  IntegrityError, as before, and nothing of it is written;
- the same NOTIFY wakes subscribers, and the same retry covers a lost connection.

COPY costs two round trips of its own, so appends of at most SMALL events (the group commit's
batches of single writes) send their rows with one `INSERT ... SELECT FROM unnest(...)`, pipelined
with the chain's links and the COMMIT: two round trips in all instead of four.

It is plugged in by APPLICATION_RECORDER_TOPIC (storage/settings.py); nothing stored names it.
"""

from __future__ import annotations

from collections.abc import Sequence
from itertools import accumulate
from typing import Any
from uuid import UUID

from eventsourcing.persistence import InterfaceError, OperationalError, StoredEvent
from eventsourcing.utils import retry
from psycopg.pq import TransactionStatus
from psycopg.rows import tuple_row
from psycopg.sql import SQL, Identifier, Literal

from points.storage.chain import GENESIS, ChainedPostgresApplicationRecorder, links
from points.storage.literals import array_text, int_array_text


SMALL = 100  # events; larger appends go by COPY


class CopyPostgresApplicationRecorder(ChainedPostgresApplicationRecorder):
    def __init__(self, datastore: Any, *, events_table_name: str = "stored_events") -> None:
        super().__init__(datastore, events_table_name=events_table_name)
        schema = Identifier(self.datastore.schema)
        table = Identifier(self.events_table_name)
        qualified = f'"{self.datastore.schema}"."{self.events_table_name}"'
        # One simple-query round trip: begin, take the lock that orders the log, wake subscribers,
        # then (under the lock) the positions for n events and the chain's head. {n} is an int.
        self.sql_begin_reserve = SQL(
            "BEGIN; SET LOCAL lock_timeout = {timeout}; LOCK TABLE {schema}.{table} IN EXCLUSIVE MODE; NOTIFY {channel}; "
            "SELECT ARRAY(SELECT nextval(pg_get_serial_sequence({qualified}, 'notification_id')) FROM generate_series(1, "
        ).format(
            timeout=Literal(f"{self.datastore.lock_timeout}s"), schema=schema, table=table,
            channel=Identifier(self.channel_name), qualified=Literal(qualified),
        )  # fmt: skip
        self.sql_head = SQL(")), (SELECT hash FROM {} ORDER BY position DESC LIMIT 1)").format(self.chain_table)
        self.sql_copy_events = SQL(
            "COPY {schema}.{table} (originator_id, originator_version, topic, state, notification_id) FROM STDIN (FORMAT BINARY)"
        ).format(schema=schema, table=table)
        # Every column as one parameter that psycopg sends as it is (no list dumped item by item):
        # the ids and the states each as one bytea (16 bytes per id; the states one after another,
        # cut by their start and length), the rest as array literals.
        self.sql_insert_events = SQL(
            "INSERT INTO {schema}.{table} (originator_id, originator_version, topic, state, notification_id) "
            "SELECT encode(substring(%s::bytea FROM i::int * 16 - 15 FOR 16), 'hex')::uuid, version, topic, "
            "substring(%s::bytea FROM start FOR length), position "
            "FROM unnest(%s::bigint[], %s::text[], %s::int[], %s::int[], %s::bigint[]) "
            "WITH ORDINALITY AS k(version, topic, start, length, position, i)"
        ).format(schema=schema, table=table)
        # The links as two parameters, not two lists psycopg would dump item by item: the positions
        # as a bigint[] literal, the hashes (32 bytes each) one after the other in one bytea.
        self.sql_insert_chain = SQL(
            "INSERT INTO {} (position, hash) SELECT position, substring(%s::bytea FROM i::int * 32 - 31 FOR 32) "
            "FROM unnest(%s::bigint[]) WITH ORDINALITY AS k(position, i)"
        ).format(self.chain_table)

    @retry((InterfaceError, OperationalError), max_attempts=10, wait=0.2)
    def insert_events(self, stored_events: Sequence[StoredEvent], **kwargs: Any) -> Sequence[int] | None:
        if not stored_events:
            return []
        with self.datastore.get_connection() as conn:
            assert conn.autocommit  # the library's pool: we open and close the transaction ourselves
            try:
                return self._append(conn, stored_events)
            finally:
                if conn.pgconn.transaction_status in (TransactionStatus.INTRANS, TransactionStatus.INERROR):
                    conn.execute("ROLLBACK")  # failed part-way: nothing of it stays (a broken connection is the pool's)

    def _append(self, conn: Any, stored_events: Sequence[StoredEvent]) -> list[int]:
        """Begin-lock-reserve (one round trip); then the rows, the chain's links and the commit: pipelined
        in one round trip for a small append, after a COPY (two round trips) for a larger one."""
        with conn.cursor(row_factory=tuple_row) as curs:
            curs.execute(self.sql_begin_reserve + Literal(len(stored_events)) + self.sql_head)
            while curs.nextset():  # the results of BEGIN, SET, LOCK and NOTIFY come first
                pass
            row = curs.fetchone()
            assert row is not None
            positions: list[int] = row[0]
            head = bytes(row[1]) if row[1] is not None else GENESIS
            originators = [e.originator_id if isinstance(e.originator_id, UUID) else UUID(str(e.originator_id)) for e in stored_events]
            small = len(stored_events) <= SMALL
            if not small:
                with curs.copy(self.sql_copy_events) as copy:
                    copy.set_types(["uuid", "int8", "text", "bytea", "int8"])
                    for event, originator, position in zip(stored_events, originators, positions, strict=True):
                        copy.write_row((originator, event.originator_version, event.topic, event.state, position))
            chain = links(head, positions, stored_events)
            with conn.pipeline():
                if small:
                    states = [bytes(e.state) for e in stored_events]
                    lengths = [len(state) for state in states]
                    starts = list(accumulate(lengths[:-1], initial=1))
                    curs.execute(
                        self.sql_insert_events,
                        (
                            b"".join([o.bytes for o in originators]),
                            b"".join(states),
                            int_array_text([e.originator_version for e in stored_events]),
                            array_text([e.topic for e in stored_events]),
                            int_array_text(starts),
                            int_array_text(lengths),
                            int_array_text(positions),
                        ),
                    )
                curs.execute(self.sql_insert_chain, (b"".join([h for _, h in chain]), int_array_text([p for p, _ in chain])))
                curs.execute("COMMIT")
        return positions
