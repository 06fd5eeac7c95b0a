"""VerifyLedger over 100,000 events on PostgreSQL: it verifies every one, and the rate is printed (no speed asserted).

The events are written fast, 1,000 per transaction through the application's batch write
(what RecordWorkEvents calls), with the projector off; the verification is one real
VerifyLedger call through a real server.
"""

from __future__ import annotations

import time
from collections.abc import Iterator

import grpc
import pytest

from points.application.results import WorkRecorded
from points.server import PointsService, Settings, build_service, create_server
from points.v1 import audit_pb2, audit_pb2_grpc
from tests.app.work_requests import log_size, work
from tests.conftest import Clock, drop_schema, new_postgres_schema_url
from tests.support.pgserver import PostgresServer

pytestmark = pytest.mark.postgres  # required by the audit issue: runs in CI like every PostgreSQL test

EVENTS = 100_000
BATCH = 1000


@pytest.fixture
def large_log(postgres_server: PostgresServer) -> Iterator[PointsService]:
    """A fresh schema with outlet o1, service manager e1 and 100,000 of e1's work events."""
    url, schema = new_postgres_schema_url(postgres_server)
    service = build_service(Settings(database_url=url, clock=Clock()), start_projector=False)
    try:
        app = service.app
        app.register_outlet(outlet_id="o1", outlet_class="A", region="north")
        app.register_employee(employee_id="e1", role="service_manager", outlet_id="o1", effective_from="2026-01-01")
        for start in range(0, EVENTS, BATCH):
            results = app.record_work_events([work(f"bulk-{n}", quantity="1") for n in range(start, start + BATCH)])
            assert all(isinstance(r, WorkRecorded) for r in results), [r for r in results if not isinstance(r, WorkRecorded)][:1]
        yield service
    finally:
        service.close()
        drop_schema(postgres_server, schema)


def test_verify_ledger_checks_100000_events_and_prints_its_rate(large_log: PointsService, capsys: pytest.CaptureFixture[str]) -> None:
    server, port = create_server(large_log, "127.0.0.1", 0)
    server.start()
    try:
        with grpc.insecure_channel(f"127.0.0.1:{port}") as channel:
            started = time.perf_counter()
            result = audit_pb2_grpc.AuditServiceStub(channel).VerifyLedger(audit_pb2.VerifyLedgerRequest(), timeout=120)
            elapsed = time.perf_counter() - started
    finally:
        server.stop(grace=None).wait()

    assert (result.verified, result.checked, result.to_position) == (True, log_size(large_log.app), log_size(large_log.app))
    assert result.checked >= EVENTS
    with capsys.disabled():
        print(f"\nVerifyLedger: {result.checked:,} events in {elapsed:.2f} s = {result.checked / elapsed:,.0f} events/s (PostgreSQL)")
