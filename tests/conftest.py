"""Fixtures shared by every tier: the two stores, a controllable clock, a service and a real gRPC server.

Every storage test runs on SQLite (a temporary file) and on PostgreSQL (a fresh schema in
the `test` database of a real server, started from the installed binaries if none runs).
"""

from __future__ import annotations

import os
import threading
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from pathlib import Path

import grpc
import psycopg
import pytest

from points.server import PointsService, Settings, build_service, create_server
from points.v1 import balances_pb2_grpc, directory_pb2_grpc, work_events_pb2_grpc
from tests.support.pgserver import PostgresServer, ensure_postgres

TODAY = datetime(2026, 11, 28, 9, 30, tzinfo=timezone.utc)


class Clock:
    """A clock the test moves by hand."""

    def __init__(self, now: datetime = TODAY) -> None:
        self.now = now
        self._lock = threading.Lock()

    def __call__(self) -> datetime:
        with self._lock:
            return self.now

    def advance(self, **delta: float) -> None:
        with self._lock:
            self.now += timedelta(**delta)


@pytest.fixture(scope="session")
def postgres_server() -> Iterator[PostgresServer]:
    try:
        server = ensure_postgres()
    except RuntimeError as e:
        pytest.fail(f"PostgreSQL is required for these tests and none could be reached or started:\n{e}", pytrace=False)
    yield server
    server.stop()


def new_postgres_schema_url(server: PostgresServer) -> tuple[str, str]:
    schema = f"t_{uuid.uuid4().hex[:12]}"
    separator = "&" if "?" in server.url else "?"
    return f"{server.url}{separator}schema={schema}", schema


def drop_schema(server: PostgresServer, schema: str) -> None:
    with psycopg.connect(server.url, autocommit=True) as conn:
        conn.execute(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A fresh, empty store: a SQLite file, or a new schema on the PostgreSQL server."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path}/points.db"
        return
    server: PostgresServer = request.getfixturevalue("postgres_server")
    url, schema = new_postgres_schema_url(server)
    yield url
    drop_schema(server, schema)


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def settings(database_url: str, clock: Clock) -> Settings:
    return Settings(database_url=database_url, clock=clock)


@pytest.fixture
def service(settings: Settings) -> Iterator[PointsService]:
    built = build_service(settings)
    yield built
    built.close()


@dataclass
class Client:
    """Stubs over one real channel to a real server."""

    channel: grpc.Channel
    address: str
    directory: directory_pb2_grpc.DirectoryServiceStub
    work: work_events_pb2_grpc.WorkEventServiceStub
    balances: balances_pb2_grpc.BalanceServiceStub


@pytest.fixture
def client(service: PointsService) -> Iterator[Client]:
    server, port = create_server(service, "127.0.0.1", 0)
    server.start()
    address = f"127.0.0.1:{port}"
    channel = grpc.insecure_channel(address)
    yield Client(
        channel=channel,
        address=address,
        directory=directory_pb2_grpc.DirectoryServiceStub(channel),
        work=work_events_pb2_grpc.WorkEventServiceStub(channel),
        balances=balances_pb2_grpc.BalanceServiceStub(channel),
    )
    channel.close()
    server.stop(grace=None).wait()


def pytest_report_header(config: pytest.Config) -> str:
    return f"points tests: CI={os.environ.get('CI', '')!r}; PostgreSQL from POINTS_TEST_POSTGRES_URL or 127.0.0.1:5432"
