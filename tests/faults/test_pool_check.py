"""The pool's connection check: no round trip for a healthy connection, a dead one never handed out.

libpq's protocol trace (PQtrace) shows what crosses the wire: nothing for a healthy pooled
connection, the empty query (and the failure) for one the server has terminated.
"""

from __future__ import annotations

import contextlib
import os
import select
import tempfile
import time
from collections.abc import Iterator

import psycopg
import pytest
from eventsourcing.persistence import Environment, InfrastructureFactory

from points.storage.postgres_factory import PointsPostgresFactory, SweepingCheck, check_if_readable, cheapen_pre_ping
from points.storage.settings import parse_database_url
from tests.conftest import drop_schema, new_postgres_schema_url
from tests.support.pgserver import PostgresServer

pytestmark = pytest.mark.postgres


def traced(conn: psycopg.Connection[object], action: object) -> str:
    """What libpq sent and received while `action()` ran."""
    with tempfile.TemporaryFile("w+") as trace:
        conn.pgconn.trace(trace.fileno())
        try:
            action()  # type: ignore[operator]
        finally:
            conn.pgconn.untrace()
        os.fsync(trace.fileno())
        trace.seek(0)
        return trace.read()


@pytest.fixture
def factory(postgres_server: PostgresServer) -> Iterator[PointsPostgresFactory]:
    url, schema = new_postgres_schema_url(postgres_server)
    factory = InfrastructureFactory.construct(Environment("points", parse_database_url(url).env(create_table=True)))
    assert isinstance(factory, PointsPostgresFactory)
    yield factory
    factory.datastore.close()
    drop_schema(postgres_server, schema)


def test_a_healthy_connection_is_checked_without_a_round_trip(postgres_server: PostgresServer) -> None:
    with psycopg.connect(postgres_server.url, autocommit=True) as conn:
        assert traced(conn, lambda: check_if_readable(conn)) == ""
        conn.execute("SELECT 1")  # still usable


def test_a_terminated_connection_fails_the_check(postgres_server: PostgresServer) -> None:
    with psycopg.connect(postgres_server.url, autocommit=True) as victim, psycopg.connect(postgres_server.url, autocommit=True) as admin:
        admin.execute("SELECT pg_terminate_backend(%s)", (victim.info.backend_pid,))
        for _ in range(100):  # the FATAL message and the end of the stream arrive at once, or nearly
            if select.select([victim.fileno()], [], [], 0.05)[0]:
                break
        with pytest.raises(psycopg.OperationalError):
            check_if_readable(victim)


def test_the_service_pool_uses_it_and_replaces_terminated_connections(factory: PointsPostgresFactory, postgres_server: PostgresServer) -> None:
    datastore = factory.datastore
    assert isinstance(datastore.pool._check, SweepingCheck)  # the library's PRE_PING check, cheapened
    with contextlib.ExitStack() as held:  # fill the pool: every connection it has is one of these
        conns = [held.enter_context(datastore.get_connection()) for _ in range(datastore.pool.min_size)]
        assert traced(conns[0], lambda: None) == ""
        pids = [c.info.backend_pid for c in conns]
    with psycopg.connect(postgres_server.url, autocommit=True) as admin:  # every pooled backend dies, as in a restart
        assert admin.execute("SELECT count(*) FILTER (WHERE pg_terminate_backend(pid)) FROM unnest(%s::int[]) AS pid", (pids,)).fetchone() == (len(pids),)
    time.sleep(0.2)  # the FATAL messages have arrived
    started = time.monotonic()
    for _ in range(len(pids) + 1):  # each statement gets a live connection: never an error
        with datastore.get_connection() as conn:
            assert conn.execute("SELECT 1 AS one").fetchone() == {"one": 1}
            assert conn.info.backend_pid not in pids
    # The stock loop met the dead connections one by one, sleeping 0 s, 1 s, 2 s... between them.
    assert time.monotonic() - started < 0.9


def test_a_pool_without_the_stock_check_keeps_its_own() -> None:
    class Pool:
        name = "other"
        _check = None

    pool = Pool()
    assert cheapen_pre_ping(pool) is False and pool._check is None
