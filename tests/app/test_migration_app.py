"""Migrations: creating the tables is safe when several processes start on a fresh store at once."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace

import pytest

from points.server import Settings, build_service
from points.storage.migrate import is_migrated, migrate
from points.storage.settings import parse_database_url
from tests.app.work_requests import work


@pytest.mark.parametrize("database_url", [pytest.param("postgresql", marks=pytest.mark.postgres)], indirect=True)
def test_two_migrations_at_once_on_a_fresh_schema_both_succeed(database_url: str) -> None:
    store = parse_database_url(database_url)
    assert not is_migrated(store)
    start = threading.Barrier(2)

    def migrate_when_released() -> None:
        start.wait()
        migrate(store)

    with ThreadPoolExecutor(2) as pool:
        for finished in [pool.submit(migrate_when_released) for _ in range(2)]:
            finished.result()

    assert is_migrated(store)


def test_a_migrated_store_serves_a_replica_that_creates_nothing(settings: Settings) -> None:
    migrate(parse_database_url(settings.database_url))
    replica = build_service(replace(settings, migrate=False), start_projector=False)
    try:
        replica.app.register_outlet(outlet_id="o1", outlet_class="A", region="north")
        replica.app.register_employee(employee_id="e1", role="service_manager", outlet_id="o1", effective_from="2026-01-01")
        written = replica.app.record_work_event(work("r1"))
        replica.projector.catch_up()
        assert replica.projector.position == written.position
    finally:
        replica.close()
