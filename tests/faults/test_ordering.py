"""Ordering: while one write holds its transaction open, the projection never moves past it.

The log's order comes from the library's table lock: a position commits only after every
lower one, so "events after position N" never passes over one that commits later. This test
holds one real write open inside its transaction, after its row has a position: a test-only
trigger on the events table makes the insert of one marked event wait on an advisory lock the
test holds. Other clients then write through the service's own paths (batches, and single
writes that the server groups), on the same server and on a second one (another replica),
while the test watches the projection for a while; then it lets the held write commit.

Promised: while the held write is open the projection stays below its position (whatever the
other writers managed to commit: with the table lock, nothing), and once it commits the
projection catches up and counts every event once. The test holds the write with a trigger,
not with the library's code, so it guards any faster write path that replaces the lock too.
"""

from __future__ import annotations

import random
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

import grpc
import psycopg
import pytest
from psycopg import sql

from points.domain.identity import work_event_id_of
from points.server import PointsService, Settings, build_service, create_server
from points.v1 import directory_pb2_grpc, work_events_pb2, work_events_pb2_grpc
from tests.conftest import drop_schema, new_postgres_schema_url
from tests.faults.ledger_check import log_balances, open_reader, stored_work, store_connection, view_balances, wait_for_projection
from tests.faults.workload import random_work, staff
from tests.support.pgserver import PostgresServer

pytestmark = pytest.mark.postgres

HOLD = 1.5  # seconds the marked write stays open (under the library's 5 s lock timeout)
WRITERS = 4
HELD_REQUEST = "held-1"


@dataclass
class Served:
    service: PointsService  # the first server's: its projector is the one watched
    database_url: str
    address: str
    replica_address: str  # a second server on the same store, as another replica of the API


@pytest.fixture
def served(postgres_server: PostgresServer) -> Iterator[Served]:
    """Two real servers on a fresh PostgreSQL schema; the first runs the projector."""
    url, schema = new_postgres_schema_url(postgres_server)
    service = build_service(Settings(database_url=url))
    replica = build_service(Settings(database_url=url, migrate=False), start_projector=False)
    servers = [create_server(s, "127.0.0.1", 0) for s in (service, replica)]
    for server, _ in servers:
        server.start()
    try:
        yield Served(service, url, *(f"127.0.0.1:{port}" for _, port in servers))
    finally:
        for server, _ in servers:
            server.stop(grace=None).wait()
        replica.close()
        service.close()
        drop_schema(postgres_server, schema)


def install_hold(conn: psycopg.Connection, schema: str, lock_key: int) -> None:
    """A trigger that makes the insert of HELD_REQUEST's event wait for advisory lock `lock_key` (test-only)."""
    function = sql.Identifier(schema, "hold_marked_insert")
    conn.execute(
        sql.SQL(
            "CREATE FUNCTION {function}() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN "
            "IF NEW.originator_id = {marked}::uuid THEN PERFORM pg_advisory_xact_lock({key}); END IF; "
            "RETURN NEW; END $$"
        ).format(function=function, marked=sql.Literal(str(work_event_id_of(HELD_REQUEST))), key=sql.Literal(lock_key))
    )
    conn.execute(
        sql.SQL("CREATE TRIGGER hold_marked AFTER INSERT ON {} FOR EACH ROW EXECUTE FUNCTION {}()").format(
            sql.Identifier(schema, "points_events"), function
        )
    )


def wait_until_held(conn: psycopg.Connection, lock_key: int, within: float = 10.0) -> None:
    deadline = time.monotonic() + within
    query = "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND NOT granted AND objid = (%s::bigint & 4294967295)"
    while time.monotonic() < deadline:
        row = conn.execute(query, (lock_key,)).fetchone()
        if row and row[0]:
            return
        time.sleep(0.01)
    raise AssertionError("the marked write never reached its hold")


def test_the_projection_never_passes_a_write_still_open(served: Served, rng: random.Random) -> None:
    service, database_url = served.service, served.database_url
    lock_key = rng.getrandbits(31)
    channel = grpc.insecure_channel(served.address)
    replica = grpc.insecure_channel(served.replica_address)
    holder = psycopg.connect(database_url.split("?")[0], autocommit=True)
    try:
        staff(directory_pb2_grpc.DirectoryServiceStub(channel))
        stub = work_events_pb2_grpc.WorkEventServiceStub(channel)
        for i in range(20):
            stub.RecordWorkEvent(random_work(rng, f"before-{i}"), timeout=10)
        with store_connection(database_url) as (conn, schema):
            install_hold(conn, schema, lock_key)
        holder.execute("SELECT pg_advisory_lock(%s)", (lock_key,))

        with ThreadPoolExecutor(1 + WRITERS) as pool:
            held = pool.submit(stub.RecordWorkEvent, random_work(rng, HELD_REQUEST), timeout=30)
            wait_until_held(holder, lock_key)
            with store_connection(database_url) as (conn, schema):
                sequence = conn.execute("SELECT pg_get_serial_sequence(%s, 'notification_id')", (f'"{schema}".points_events',)).fetchone()
                held_position = int(conn.execute(sql.SQL("SELECT last_value FROM {}").format(sql.SQL(sequence[0]))).fetchone()[0])
                stubs = [stub, work_events_pb2_grpc.WorkEventServiceStub(replica)]
                later = [
                    pool.submit(write_some, stubs[n % 2], random.Random(rng.getrandbits(32)), f"w{n}") for n in range(WRITERS)
                ]
                projected: list[int] = []
                committed_after: list[int] = []
                until = time.monotonic() + HOLD
                while time.monotonic() < until:
                    projected.append(service.projector.position)
                    row = conn.execute(
                        sql.SQL("SELECT count(*) FROM {} WHERE notification_id > %s").format(sql.Identifier(schema, "points_events")),
                        (held_position,),
                    ).fetchone()
                    committed_after.append(int(row[0]))
                    time.sleep(0.02)
            held_open = not held.done()
            holder.execute("SELECT pg_advisory_unlock(%s)", (lock_key,))
            answer = held.result(timeout=30)
            written = [r for f in later for r in f.result(timeout=30)]
        tracked, end = wait_for_projection(database_url, within=30)
    finally:
        holder.close()
        channel.close()
        replica.close()

    reader = open_reader(database_url)
    try:
        stored = stored_work(reader)
    finally:
        reader.close()
    print(
        f"held write at position {held_position} open for {HOLD}s: projection seen at {min(projected)}..{max(projected)} "
        f"in {len(projected)} looks; events committed after it meanwhile: up to {max(committed_after)}; "
        f"then {len(written)} more written; log {end}, projected to {tracked}; stored {len(stored)} work events"
    )

    assert held_open, "the held write finished before it was released"
    assert answer.position == held_position
    assert max(projected) < held_position, "the projection passed a write that had not committed"
    assert tracked == end >= max(w.position for w in written)
    assert {rid: len(c) for rid, c in stored.items() if len(c) != 1} == {}
    assert len(stored) == 20 + 1 + len(written)
    assert view_balances(database_url) == log_balances(stored)


def write_some(
    stub: work_events_pb2_grpc.WorkEventServiceStub, rng: random.Random, prefix: str
) -> list[work_events_pb2.RecordWorkEventResponse]:
    """A batch of five, then three single writes (grouped by the server's writer), through the service's own paths."""
    batch = work_events_pb2.RecordWorkEventsRequest(requests=[random_work(rng, f"{prefix}-b{i}") for i in range(5)])
    answers = [r.recorded for r in stub.RecordWorkEvents(batch, timeout=30).results]
    return answers + [stub.RecordWorkEvent(random_work(rng, f"{prefix}-{i}"), timeout=30) for i in range(3)]
