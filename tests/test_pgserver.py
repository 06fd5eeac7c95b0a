"""Tests for tests/support/pgserver.py against real PostgreSQL binaries (no mocks)."""

from __future__ import annotations

import psycopg
import pytest

from tests.support.pgserver import ensure_postgres


@pytest.mark.postgres
def test_force_new_starts_a_usable_throwaway_cluster_and_stop_shuts_it_down() -> None:
    server = ensure_postgres(force_new=True)
    try:
        assert server.started_here is True
        with psycopg.connect(server.url, connect_timeout=5, autocommit=True) as conn:
            conn.execute("create table pgserver_check (id int primary key, name text not null)")
            conn.execute("insert into pgserver_check (id, name) values (%s, %s)", (1, "alice"))
            rows = conn.execute("select id, name from pgserver_check").fetchall()
        assert rows == [(1, "alice")]
    finally:
        server.stop()

    server.stop()  # idempotent: the atexit safety net calls it again
    with pytest.raises(psycopg.OperationalError):
        psycopg.connect(server.url, connect_timeout=3).close()


@pytest.mark.postgres
def test_default_returns_a_connectable_url() -> None:
    server = ensure_postgres()
    try:
        with psycopg.connect(server.url, connect_timeout=5) as conn:
            assert conn.execute("select current_database()").fetchone() == ("test",)
    finally:
        server.stop()
