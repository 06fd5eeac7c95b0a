"""SIGTERM finishes what is in flight: a server answers the call it is holding, a leading projector hands over."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import grpc
import pytest
from grpc_health.v1 import health_pb2, health_pb2_grpc

from points.v1 import balances_pb2
from tests.api.calls import staff_outlet, work
from tests.conftest import drop_schema, new_postgres_schema_url
from tests.deploy.fleet import fleet, run_points, wait_until
from tests.support.pgserver import PostgresServer

pytestmark = pytest.mark.postgres


def refuses_new_calls(port: int) -> bool:
    with grpc.insecure_channel(f"127.0.0.1:{port}") as channel:  # a new connection, as a new client would make
        try:
            health_pb2_grpc.HealthStub(channel).Check(health_pb2.HealthCheckRequest(), timeout=0.5)
        except grpc.RpcError:
            return True
    return False


@pytest.fixture
def migrated(postgres_server: PostgresServer) -> Iterator[str]:
    url, schema = new_postgres_schema_url(postgres_server)
    assert run_points("migrate", "--database", url).returncode == 0
    yield url
    drop_schema(postgres_server, schema)


def test_a_read_in_flight_at_sigterm_is_answered_and_the_leader_hands_over_on_sigterm(migrated: str, tmp_path: Path) -> None:
    with fleet(migrated, tmp_path) as running:
        server = running.serve("--no-migrate", "--no-projector")
        running.wait_ready(server)
        staff_outlet(server.directory)
        written = server.work.RecordWorkEvent(work("g-1", "sm-1", "customer_served", "10"), timeout=10)
        waiting = server.balances.GetBalance.future(
            balances_pb2.GetBalanceRequest(employee_id="sm-1", period="2026-11", min_position=written.position), timeout=10
        )  # no projector yet: the read waits for the position
        time.sleep(0.3)
        server.popen.terminate()
        assert wait_until(lambda: refuses_new_calls(server.port), 5) is not None  # stopping: no new calls

        first, second = running.project(), running.project()
        assert waiting.result(timeout=10).balance.total == "1.7500"  # answered while the server drained
        assert server.popen.wait(timeout=15) == 0

        running.wait_ready(first, second)
        assert wait_until(lambda: first.leading() or second.leading(), 10) is not None
        leader, standby = (first, second) if first.leading() else (second, first)
        started = time.monotonic()
        assert leader.terminate() == 0
        handover = wait_until(standby.leading, 5, interval=0.02)
        print(f"\nhandover after SIGTERM: {time.monotonic() - started:.2f}s (exit included)")
        assert handover is not None
