"""Creates the tables, once, as an explicit step: `points migrate`, or `points serve` on an empty store.

Several processes creating the library's tables at once can fail (CREATE OR REPLACE
FUNCTION races), so on PostgreSQL migrations hold an advisory lock; replicas then
start with table creation off.
"""

from __future__ import annotations

import sqlite3
from contextlib import closing
from pathlib import Path

import psycopg
from eventsourcing.persistence import InfrastructureFactory
from eventsourcing.utils import Environment

from points.projections.balances import PostgresBalanceView, SQLiteBalanceView
from points.storage.settings import StoreSettings

MIGRATION_LOCK = 0x706F696E7473  # "points"
APPLICATION_NAME = "points"
VIEW_NAME = "balances"
REQUIRED_TABLES = ("points_events", "balance_lines", "balance_dimensions", "balance_caps", "pay_periods", "balances_tracking")


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
        return {"stored_events", "tracking", "balance_lines", "balance_dimensions", "balance_caps", "pay_periods"} <= names
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
                construct_view(store, create_table=True).datastore.close()
            finally:
                conn.execute("SELECT pg_advisory_unlock(%s)", (MIGRATION_LOCK,))
    else:
        _create_event_store(store)
        construct_view(store, create_table=True).datastore.close()


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
