"""The event log and its hash chain are append-only in the database itself, whoever asks.

On both stores the triggers refuse UPDATE and DELETE even to the store's owner; on PostgreSQL
they also refuse TRUNCATE. The service's own PostgreSQL role (deploy/postgres/roles.sql:
SELECT, INSERT, UPDATE on the tables, USAGE on the sequences and the schema, owning nothing)
can append, and the service runs as it, but it can neither rewrite, delete nor truncate the
log, nor switch off or skip the triggers.
"""

from __future__ import annotations

import sqlite3
import uuid
from collections.abc import Iterator
from contextlib import closing
from dataclasses import dataclass
from urllib.parse import urlsplit, urlunsplit

import psycopg
import pytest
from psycopg import errors
from psycopg.conninfo import make_conninfo

from points.server import PointsService, Settings, build_service
from points.storage.migrate import migrate, postgres_conninfo
from points.storage.settings import parse_database_url
from tests.app.work_requests import work
from tests.conftest import Clock, drop_schema, new_postgres_schema_url
from tests.support.pgserver import PostgresServer

APPEND_ONLY = ["points_events", "points_chain"]
APPEND_ONLY_REFUSAL = "the event log is append-only"


@pytest.fixture
def recorded_event(idle_service: PointsService) -> int:
    """Outlet o1, service manager e1 and one of e1's counter transactions; its position."""
    app = idle_service.app
    app.register_outlet(outlet_id="o1", outlet_class="A", region="north")
    app.register_employee(employee_id="e1", role="service_manager", outlet_id="o1", effective_from="2026-01-01")
    return app.record_work_event(work("ct-1", quantity="10")).position


def log_table(service: PointsService, table: str) -> tuple[str, str]:
    """(the table's name in this store, its position column) for points_events or points_chain."""
    if table == "points_chain":
        return (f'"{service.store.schema}".points_chain' if service.store.backend == "postgresql" else "points_chain"), "position"
    return (f'"{service.store.schema}".points_events', "notification_id") if service.store.backend == "postgresql" else ("stored_events", "rowid")


def as_store_owner(service: PointsService, statement: str, params: tuple[object, ...]) -> None:
    """Runs one statement as the role (PostgreSQL) or the process (SQLite) that created the store; `?` marks parameters."""
    store = service.store
    if store.backend == "postgresql":
        with psycopg.connect(make_conninfo("", **postgres_conninfo(store)), autocommit=True) as conn:
            conn.execute(statement.replace("?", "%s"), params)  # type: ignore[arg-type]
        return
    with closing(sqlite3.connect(store.sqlite_path)) as db, db:
        db.execute(statement, params)


def refusal_of(service: PointsService, statement: str, params: tuple[object, ...] = ()) -> str:
    with pytest.raises((errors.InsufficientPrivilege, sqlite3.IntegrityError)) as refused:
        as_store_owner(service, statement, params)
    return str(refused.value)


# -- the owner too: both stores --------------------------------------------------------------


@pytest.mark.parametrize("table", APPEND_ONLY)
def test_updating_the_log_is_refused_even_to_the_stores_owner(idle_service: PointsService, recorded_event: int, table: str) -> None:
    name, key = log_table(idle_service, table)
    column = "state" if table == "points_events" else "hash"

    refusal = refusal_of(idle_service, f"UPDATE {name} SET {column} = ? WHERE {key} = ?", (b"{}", recorded_event))

    assert APPEND_ONLY_REFUSAL in refusal


@pytest.mark.parametrize("table", APPEND_ONLY)
def test_deleting_from_the_log_is_refused_even_to_the_stores_owner(idle_service: PointsService, recorded_event: int, table: str) -> None:
    name, key = log_table(idle_service, table)

    refusal = refusal_of(idle_service, f"DELETE FROM {name} WHERE {key} = ?", (recorded_event,))

    assert APPEND_ONLY_REFUSAL in refusal


@pytest.mark.usefixtures("recorded_event")
def test_a_refused_rewrite_leaves_the_ledger_verified(idle_service: PointsService) -> None:
    refusal_of(idle_service, f"UPDATE {log_table(idle_service, 'points_events')[0]} SET state = ?", (b"{}",))
    refusal_of(idle_service, f"DELETE FROM {log_table(idle_service, 'points_chain')[0]}", ())
    assert idle_service.audit is not None

    assert idle_service.audit.verify_ledger(from_position=0, to_position=0).verified


@pytest.mark.postgres
@pytest.mark.parametrize("table", APPEND_ONLY)
def test_truncating_the_log_is_refused_even_to_a_superuser(postgres_server: PostgresServer, table: str) -> None:
    url, schema = new_postgres_schema_url(postgres_server)
    try:
        migrate(parse_database_url(url))
        with psycopg.connect(postgres_server.url, autocommit=True) as conn, pytest.raises(errors.InsufficientPrivilege) as refused:
            conn.execute(f'TRUNCATE "{schema}".{table}')
    finally:
        drop_schema(postgres_server, schema)

    assert APPEND_ONLY_REFUSAL in str(refused.value) and "TRUNCATE" in str(refused.value)


# -- the service's own role (PostgreSQL) ----------------------------------------------------------


@dataclass(frozen=True)
class AppRole:
    """A schema migrated by the superuser (its owner) and a LOGIN role with the service's grants; URLs for both."""

    role: str
    schema: str
    owner_url: str
    role_url: str  # the service's database URL, as the role
    role_dsn: str  # a plain connection, as the role
    position: int  # of a work event recorded by the owner


def url_as(url: str, user: str) -> str:
    parts = urlsplit(url)
    return urlunsplit(parts._replace(netloc=f"{user}@{parts.hostname}:{parts.port}"))


def drop_role(server: PostgresServer, role: str) -> None:
    with psycopg.connect(server.url, autocommit=True) as conn:
        conn.execute(f'DROP OWNED BY "{role}"')
        conn.execute(f'DROP ROLE IF EXISTS "{role}"')


@pytest.fixture(scope="module")
def app_role(postgres_server: PostgresServer) -> Iterator[AppRole]:
    """Grants as deploy/postgres/roles.sql gives points_app: SELECT, INSERT, UPDATE on tables; USAGE on sequences and schema."""
    owner_url, schema = new_postgres_schema_url(postgres_server)
    role = f"points_app_{uuid.uuid4().hex[:10]}"
    owner = build_service(Settings(database_url=owner_url, clock=Clock()), start_projector=False)
    try:
        owner.app.register_outlet(outlet_id="o1", outlet_class="A", region="north")
        owner.app.register_employee(employee_id="e1", role="service_manager", outlet_id="o1", effective_from="2026-01-01")
        position = owner.app.record_work_event(work("by-owner", quantity="10")).position
    finally:
        owner.close()
    with psycopg.connect(postgres_server.url, autocommit=True) as conn:
        conn.execute(f'CREATE ROLE "{role}" LOGIN')
        conn.execute(f'GRANT USAGE ON SCHEMA "{schema}" TO "{role}"')
        conn.execute(f'GRANT SELECT, INSERT, UPDATE ON ALL TABLES IN SCHEMA "{schema}" TO "{role}"')
        conn.execute(f'GRANT USAGE, SELECT ON ALL SEQUENCES IN SCHEMA "{schema}" TO "{role}"')
    try:
        yield AppRole(role, schema, owner_url, url_as(owner_url, role), url_as(postgres_server.url, role), position)
    finally:
        drop_schema(postgres_server, schema)
        drop_role(postgres_server, role)


def as_app_role(app_role: AppRole, statement: str, params: tuple[object, ...] = ()) -> None:
    with psycopg.connect(app_role.role_dsn, autocommit=True) as conn:
        conn.execute(f'SET search_path TO "{app_role.schema}"')
        conn.execute(statement, params)  # type: ignore[arg-type]


def refused_to_app_role(app_role: AppRole, statement: str, params: tuple[object, ...] = ()) -> errors.InsufficientPrivilege:
    with pytest.raises(errors.InsufficientPrivilege) as refused:
        as_app_role(app_role, statement, params)
    return refused.value


@pytest.mark.postgres
def test_the_app_role_may_append_an_event_and_a_link(app_role: AppRole) -> None:
    with psycopg.connect(app_role.role_dsn) as conn:
        conn.execute(f'SET search_path TO "{app_role.schema}"')
        appended = conn.execute(
            "INSERT INTO points_events (originator_id, originator_version, topic, state) VALUES (%s, 1, 'test:Appended', %s) "
            "RETURNING notification_id",
            (uuid.uuid4(), b"{}"),
        ).fetchone()
        conn.execute("INSERT INTO points_chain (position, hash) VALUES (%s, %s)", (appended[0] if appended else 0, bytes(32)))
        conn.rollback()  # allowed; not kept, so the store stays as the other tests expect

    assert appended is not None and appended[0] > app_role.position


@pytest.mark.postgres
@pytest.mark.parametrize(
    ("table", "change"), [("points_events", "state = '\\x7b7d'::bytea"), ("points_chain", "hash = '\\x00'::bytea")], ids=APPEND_ONLY
)
def test_the_app_role_cannot_update_the_log(app_role: AppRole, table: str, change: str) -> None:
    """The role holds UPDATE (the library's table lock needs it): the trigger is what refuses."""
    key = "notification_id" if table == "points_events" else "position"

    refusal = refused_to_app_role(app_role, f"UPDATE {table} SET {change} WHERE {key} = %s", (app_role.position,))

    assert APPEND_ONLY_REFUSAL in str(refusal)


@pytest.mark.postgres
@pytest.mark.parametrize("table", APPEND_ONLY)
def test_the_app_role_cannot_delete_from_the_log(app_role: AppRole, table: str) -> None:
    refusal = refused_to_app_role(app_role, f"DELETE FROM {table}")

    assert f"permission denied for table {table}" in str(refusal)


@pytest.mark.postgres
@pytest.mark.parametrize("table", APPEND_ONLY)
def test_the_app_role_cannot_truncate_the_log(app_role: AppRole, table: str) -> None:
    refusal = refused_to_app_role(app_role, f"TRUNCATE {table}")

    assert f"permission denied for table {table}" in str(refusal)


@pytest.mark.postgres
@pytest.mark.parametrize("table", APPEND_ONLY)
@pytest.mark.parametrize("statement", ["ALTER TABLE {} DISABLE TRIGGER points_append_only", "ALTER TABLE {} DISABLE TRIGGER ALL",
                                       "DROP TRIGGER points_append_only ON {}"], ids=["disable", "disable-all", "drop"])  # fmt: skip
def test_the_app_role_cannot_switch_the_trigger_off(app_role: AppRole, table: str, statement: str) -> None:
    refusal = refused_to_app_role(app_role, statement.format(table))

    assert "must be owner of" in str(refusal) and table in str(refusal)  # "table" or "relation", by statement


@pytest.mark.postgres
def test_the_app_role_cannot_skip_the_triggers_as_a_replica(app_role: AppRole) -> None:
    refusal = refused_to_app_role(app_role, "SET session_replication_role = replica")

    assert 'permission denied to set parameter "session_replication_role"' in str(refusal)


@pytest.mark.postgres
def test_the_service_runs_as_the_app_role_and_its_appends_are_chained(app_role: AppRole) -> None:
    service = build_service(Settings(database_url=app_role.role_url, migrate=False, clock=Clock()), start_projector=False)
    try:
        recorded = service.app.record_work_event(work("by-app-role", quantity="3"))
        service.projector.catch_up()
        balance = service.balances.get_balance(employee_id="e1", period="2026-11", min_position=recorded.position, timeout=5)
        assert service.audit is not None
        verification = service.audit.verify_ledger(from_position=0, to_position=0)
    finally:
        service.close()

    assert recorded.position > app_role.position
    assert balance.event_count == 2 and balance.position >= recorded.position
    assert (verification.verified, verification.to_position) == (True, recorded.position)
