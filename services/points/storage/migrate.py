"""Creates the tables, once, as an explicit step: `points migrate`, or `points serve` on an empty store.

Several processes creating the library's tables at once can fail (CREATE OR REPLACE
FUNCTION races), so on PostgreSQL migrations hold an advisory lock; replicas then
start with table creation off.
"""

from __future__ import annotations

import logging
import sqlite3
from contextlib import closing
from pathlib import Path
from uuid import UUID

import psycopg
from eventsourcing.persistence import InfrastructureFactory
from eventsourcing.utils import Environment

from points.projections.balances import TABLES as VIEW_TABLES
from points.projections.balances import SQLiteBalanceView
from points.projections.postgres_view import PostgresBalanceView
from points.storage.chain import CHAIN_TABLE, GENESIS, link
from points.storage.settings import StoreSettings

log = logging.getLogger(__name__)

MIGRATION_LOCK = 0x706F696E7473  # "points"
APPLICATION_NAME = "points"
VIEW_NAME = "balances"
REQUIRED_TABLES = (
    "points_events", "points_chain", "balance_lines", "balance_dimensions", "balance_caps", "pay_periods",
    "audit_events", "audit_corrections", "access_records", "ranking_outlets", "ranking_assignments", "ranking_directory",
    "pay_rules", "balances_tracking",
)  # fmt: skip
# A column of this release's view per table: a view without one is from an older release (see _drop_older_view).
VIEW_MARKERS = {"balance_lines": "point_value", "balance_dimensions": "point_value", "pay_periods": "proposed_by"}


def postgres_conninfo(store: StoreSettings) -> dict[str, str]:
    env = store.base_env
    return {
        "dbname": env["POSTGRES_DBNAME"],
        "host": env["POSTGRES_HOST"],
        "port": env["POSTGRES_PORT"],
        "user": env["POSTGRES_USER"],
        "password": env["POSTGRES_PASSWORD"],
        "connect_timeout": env["POSTGRES_CONNECT_TIMEOUT"],
    }


def is_migrated(store: StoreSettings) -> bool:
    """True when every table the service needs exists."""
    if store.backend == "sqlite":
        if not Path(store.sqlite_path).exists():
            return False
        with closing(sqlite3.connect(f"file:{store.sqlite_path}?mode=ro", uri=True)) as conn:
            names = {row[0] for row in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
        return {"stored_events", "points_chain", "tracking", *REQUIRED_TABLES[2:-1]} <= names
    with psycopg.connect(**postgres_conninfo(store), autocommit=True) as conn:
        for table in REQUIRED_TABLES:
            row = conn.execute("SELECT to_regclass(%s)", (f"{store.schema}.{table}",)).fetchone()
            if row is None or row[0] is None:
                return False
    return True


def migrate(store: StoreSettings) -> None:
    """Creates the event store, the view tables and the tracking table if missing."""
    if store.backend == "postgresql":
        with psycopg.connect(**postgres_conninfo(store), autocommit=True) as conn:
            conn.execute("SELECT pg_advisory_lock(%s)", (MIGRATION_LOCK,))
            try:
                conn.execute(psycopg.sql.SQL("CREATE SCHEMA IF NOT EXISTS {}").format(psycopg.sql.Identifier(store.schema)))
                _create_event_store(store)
                _protect_postgres(conn, store.schema)
                _backfill_chain_postgres(conn, store.schema)
                _drop_older_view_postgres(conn, store.schema)
                construct_view(store, create_table=True).datastore.close()
                _protect_access_records_postgres(conn, store.schema)
            finally:
                conn.execute("SELECT pg_advisory_unlock(%s)", (MIGRATION_LOCK,))
    else:
        _create_event_store(store)
        _protect_and_backfill_sqlite(store.sqlite_path)
        _drop_older_view_sqlite(store.sqlite_path)
        construct_view(store, create_table=True).datastore.close()
        _protect_access_records_sqlite(store.sqlite_path)


APPEND_ONLY_TABLES = ("points_events", CHAIN_TABLE)
ACCESS_RECORDS = "access_records"  # append-only as well, by its own triggers (the read audit)
OLDER_VIEW = (
    "the balance view was made by an older release (it lacks columns this one books: who earned each line where, "
    "what a point is worth, who proposed a close); dropped it: the projector rebuilds it from the event log"
)


def _drop_older_view_postgres(conn: psycopg.Connection, schema: str) -> None:
    """Drops the view tables when they lack this release's columns (derived data: the projector books them again)."""
    older = False
    for table, column in VIEW_MARKERS.items():
        exists = conn.execute("SELECT to_regclass(%s)", (f'"{schema}"."{table}"',)).fetchone()
        if exists is None or exists[0] is None:
            continue
        found = conn.execute(
            "SELECT 1 FROM information_schema.columns WHERE table_schema = %s AND table_name = %s AND column_name = %s",
            (schema, table, column),
        ).fetchone()
        older = older or found is None
    if not older:
        return
    with conn.transaction():
        for table in VIEW_TABLES:
            conn.execute(f'DROP TABLE IF EXISTS "{schema}"."{table}"')
        if conn.execute("SELECT to_regclass(%s)", (f'"{schema}"."{VIEW_NAME}_tracking"',)).fetchone()[0] is not None:  # type: ignore[index]
            conn.execute(f'DELETE FROM "{schema}"."{VIEW_NAME}_tracking" WHERE application_name = %s', (APPLICATION_NAME,))
    log.warning("%s", OLDER_VIEW)


def _drop_older_view_sqlite(path: str) -> None:
    with closing(sqlite3.connect(path, isolation_level=None)) as conn:
        tables = {row[0] for row in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
        older = any(
            table in tables and column not in {row[1] for row in conn.execute(f"PRAGMA table_info({table})")}
            for table, column in VIEW_MARKERS.items()
        )
        if not older:
            return
        conn.execute("BEGIN IMMEDIATE")
        for table in VIEW_TABLES:
            conn.execute(f"DROP TABLE IF EXISTS {table}")
        if "tracking" in tables:
            conn.execute("DELETE FROM tracking WHERE application_name = ?", (APPLICATION_NAME,))
        conn.execute("COMMIT")
    log.warning("%s", OLDER_VIEW)


def _protect_postgres(conn: psycopg.Connection, schema: str) -> None:
    """Triggers that refuse UPDATE, DELETE and TRUNCATE on the log and its chain, whoever asks.

    The library's insert lock (LOCK TABLE ... EXCLUSIVE) needs the service's role to hold
    UPDATE on the table, so privileges alone cannot make it append-only: these triggers,
    owned by the migrating role, can (see deploy/README.md for the two roles).
    """
    q = f'"{schema}"'
    conn.execute(
        f"CREATE OR REPLACE FUNCTION {q}.points_append_only() RETURNS trigger LANGUAGE plpgsql AS $$ "
        "BEGIN RAISE EXCEPTION 'points: % on %.% is refused: the event log is append-only', "
        "TG_OP, TG_TABLE_SCHEMA, TG_TABLE_NAME USING ERRCODE = '42501'; END $$"
    )
    for table in APPEND_ONLY_TABLES:
        conn.execute(
            f'CREATE OR REPLACE TRIGGER points_append_only BEFORE UPDATE OR DELETE ON {q}."{table}" '
            f"FOR EACH ROW EXECUTE FUNCTION {q}.points_append_only()"
        )
        conn.execute(
            f'CREATE OR REPLACE TRIGGER points_append_only_truncate BEFORE TRUNCATE ON {q}."{table}" '
            f"FOR EACH STATEMENT EXECUTE FUNCTION {q}.points_append_only()"
        )


def _protect_access_records_postgres(conn: psycopg.Connection, schema: str) -> None:
    """The read audit's records are append-only too: the service's role holds UPDATE on every table (roles.sql), so a trigger refuses it."""
    q = f'"{schema}"'
    conn.execute(
        f"CREATE OR REPLACE FUNCTION {q}.points_access_records_append_only() RETURNS trigger LANGUAGE plpgsql AS $$ "
        "BEGIN RAISE EXCEPTION 'points: % on %.% is refused: the access records are append-only', "
        "TG_OP, TG_TABLE_SCHEMA, TG_TABLE_NAME USING ERRCODE = '42501'; END $$"
    )
    conn.execute(
        f'CREATE OR REPLACE TRIGGER points_append_only BEFORE UPDATE OR DELETE ON {q}."{ACCESS_RECORDS}" '
        f"FOR EACH ROW EXECUTE FUNCTION {q}.points_access_records_append_only()"
    )
    conn.execute(
        f'CREATE OR REPLACE TRIGGER points_append_only_truncate BEFORE TRUNCATE ON {q}."{ACCESS_RECORDS}" '
        f"FOR EACH STATEMENT EXECUTE FUNCTION {q}.points_access_records_append_only()"
    )


def _protect_access_records_sqlite(path: str) -> None:
    with closing(sqlite3.connect(path, isolation_level=None)) as conn:
        for operation in ("UPDATE", "DELETE"):
            conn.execute(
                f"CREATE TRIGGER IF NOT EXISTS {ACCESS_RECORDS}_append_only_{operation.lower()} BEFORE {operation} ON {ACCESS_RECORDS} "
                "BEGIN SELECT RAISE(ABORT, 'points: the access records are append-only'); END"
            )


def _backfill_chain_postgres(conn: psycopg.Connection, schema: str) -> None:
    """Links events stored before the chain existed (a store from an older release)."""
    q = f'"{schema}"'
    with conn.transaction():
        conn.execute(f'LOCK TABLE {q}."points_events" IN EXCLUSIVE MODE')
        row = conn.execute(f'SELECT position, hash FROM {q}."{CHAIN_TABLE}" ORDER BY position DESC LIMIT 1').fetchone()
        position, head = (row[0], bytes(row[1])) if row else (0, GENESIS)
        events = conn.execute(
            f'SELECT notification_id, originator_id, originator_version, topic, state FROM {q}."points_events" '
            "WHERE notification_id > %s ORDER BY notification_id",
            (position,),
        ).fetchall()
        rows = []
        for notification_id, originator_id, version, topic, state in events:
            head = link(head, notification_id, originator_id, version, topic, bytes(state))
            rows.append((notification_id, head))
        if rows:
            with conn.cursor() as curs:
                curs.executemany(f'INSERT INTO {q}."{CHAIN_TABLE}" (position, hash) VALUES (%s, %s)', rows)


def _protect_and_backfill_sqlite(path: str) -> None:
    with closing(sqlite3.connect(path, isolation_level=None)) as conn:
        conn.execute("BEGIN IMMEDIATE")
        for table in ("stored_events", CHAIN_TABLE):
            for operation in ("UPDATE", "DELETE"):
                conn.execute(
                    f"CREATE TRIGGER IF NOT EXISTS {table}_append_only_{operation.lower()} BEFORE {operation} ON {table} "
                    "BEGIN SELECT RAISE(ABORT, 'points: the event log is append-only'); END"
                )
        row = conn.execute(f"SELECT position, hash FROM {CHAIN_TABLE} ORDER BY position DESC LIMIT 1").fetchone()  # noqa: S608
        position, head = (row[0], bytes(row[1])) if row else (0, GENESIS)
        events = conn.execute(
            "SELECT rowid, originator_id, originator_version, topic, state FROM stored_events WHERE rowid > ? ORDER BY rowid",
            (position,),
        ).fetchall()
        for rowid, originator_id, version, topic, state in events:
            head = link(head, rowid, UUID(originator_id), version, topic, bytes(state))
            conn.execute(f"INSERT INTO {CHAIN_TABLE} (position, hash) VALUES (?, ?)", (rowid, head))  # noqa: S608
        conn.execute("COMMIT")


def _create_event_store(store: StoreSettings) -> None:
    factory = InfrastructureFactory.construct(Environment(APPLICATION_NAME, store.env(create_table=True)))
    try:
        factory.application_recorder()
    finally:
        factory.close()


def construct_view(store: StoreSettings, *, create_table: bool) -> PostgresBalanceView | SQLiteBalanceView:
    factory = InfrastructureFactory.construct(Environment(VIEW_NAME, store.env(create_table=create_table)))
    view_class = PostgresBalanceView if store.backend == "postgresql" else SQLiteBalanceView
    return factory.tracking_recorder(view_class)  # type: ignore[arg-type]
