"""The metrics endpoint of real processes: request counts and latencies, events appended, leader status, projection lag.

An API-only server with no projector lets the lag grow; a `points project` started later
brings it back to zero, as the server's own /metrics shows.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import grpc
import pytest

from points.v1 import directory_pb2, work_events_pb2
from tests.api.calls import staff_outlet, work
from tests.conftest import drop_schema, new_postgres_schema_url
from tests.deploy.fleet import fleet, free_port, run_points, sample, wait_until
from tests.support.pgserver import PostgresServer

pytestmark = pytest.mark.postgres

WRITES = 40
RECORD = "/points.v1.WorkEventService/RecordWorkEvents"
GET_EMPLOYEE = "/points.v1.DirectoryService/GetEmployee"


@pytest.fixture
def migrated(postgres_server: PostgresServer) -> Iterator[str]:
    url, schema = new_postgres_schema_url(postgres_server)
    assert run_points("migrate", "--database", url).returncode == 0
    yield url
    drop_schema(postgres_server, schema)


def test_metrics_count_calls_and_appends_and_the_lag_returns_to_zero_once_a_projector_runs(migrated: str, tmp_path: Path) -> None:
    with fleet(migrated, tmp_path) as running:
        health_port = free_port()
        server = running.serve("--no-migrate", "--no-projector", "--health-port", str(health_port))
        running.wait_ready(server)
        probed = run_points("health", "--server", f"127.0.0.1:{health_port}")
        assert (probed.returncode, probed.stdout.strip()) == (0, f"127.0.0.1:{health_port}: SERVING")
        staff_outlet(server.directory)
        batch = [work(f"m-{i}", "sm-1", "customer_served", "2") for i in range(WRITES)]
        server.work.RecordWorkEvents(work_events_pb2.RecordWorkEventsRequest(requests=batch), timeout=10)
        with pytest.raises(grpc.RpcError) as missing:
            server.directory.GetEmployee(directory_pb2.GetEmployeeRequest(employee_id="nobody"), timeout=10)
        assert missing.value.code() == grpc.StatusCode.NOT_FOUND

        behind = server.metrics()
        assert sample(behind, "points_grpc_requests_total", method=RECORD, code="OK") == 1.0
        assert sample(behind, "points_grpc_requests_total", method=GET_EMPLOYEE, code="NOT_FOUND") == 1.0
        assert sample(behind, "points_grpc_request_duration_seconds_count", method=RECORD) == 1.0
        assert sample(behind, "points_grpc_request_duration_seconds_bucket", method=RECORD, le="+Inf") == 1.0
        assert sample(behind, "points_events_appended_total", event="WorkEvent.Recorded") == WRITES
        assert (sample(behind, "points_projection_lag_events", projection="balances") or 0) >= WRITES
        assert (sample(behind, "points_projection_lag_seconds", projection="balances") or 0) > 0
        assert sample(behind, "points_projection_leader", projection="balances") is None  # this process never projects

        projector_health = free_port()
        projector = running.project("--health-port", str(projector_health))
        running.wait_ready(projector)
        assert run_points("health", "--server", f"127.0.0.1:{projector_health}").returncode == 0
        caught_up = wait_until(lambda: sample(server.metrics(), "points_projection_lag_events", projection="balances") == 0, 15, 0.1)
        assert caught_up is not None, server.metrics()
        after = server.metrics()
        assert sample(after, "points_projection_lag_seconds", projection="balances") == 0.0
        assert sample(after, "points_projection_position", projection="balances") == sample(after, "points_log_position", projection="balances")
        assert sample(projector.metrics(), "points_projection_leader", projection="balances") == 1.0
        assert server.terminate() == 0 and projector.terminate() == 0
        assert run_points("health", "--server", f"127.0.0.1:{health_port}", "--timeout", "1").returncode == 1  # gone
