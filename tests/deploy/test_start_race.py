"""Several processes started at the same moment on an empty PostgreSQL schema do not race.

Migrations hold an advisory lock, the first policy publication retries on a concurrent one,
and the projection is leader-elected, so two plain `points serve` (creating tables, with
their projector) both come up, and the store ends with one policy version and one projector.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from points.v1 import policies_pb2
from tests.api.calls import balance, staff_outlet, work
from tests.conftest import drop_schema, new_postgres_schema_url
from tests.deploy.fleet import fleet, run_points, sample
from tests.support.pgserver import PostgresServer

pytestmark = pytest.mark.postgres


@pytest.fixture
def empty_schema(postgres_server: PostgresServer) -> Iterator[str]:
    url, schema = new_postgres_schema_url(postgres_server)
    yield url
    drop_schema(postgres_server, schema)


def test_two_servers_started_together_on_an_empty_store_both_serve_one_policy_and_one_projector(empty_schema: str, tmp_path: Path) -> None:
    with fleet(empty_schema, tmp_path) as running:
        first, second = running.serve(), running.serve()  # both create tables and publish the first policy
        running.wait_ready(first, second)

        versions = first.policies.ListPolicies(policies_pb2.ListPoliciesRequest(), timeout=10).policies
        assert len(versions) == 1
        leaders = [sample(p.metrics(), "points_projection_leader", projection="balances") for p in (first, second)]
        assert sorted(leaders) == [0.0, 1.0]

        staff_outlet(first.directory)
        written = second.work.RecordWorkEvent(work("race-1", "sm-1", "customer_served", "10"), timeout=10)
        for server in (first, second):
            assert balance(server.balances, "sm-1", min_position=written.position).balance.total == "1.7500"
        assert (first.terminate(), second.terminate()) == (0, 0)


def test_replicas_that_do_not_migrate_refuse_an_empty_store_until_it_is_migrated(empty_schema: str, tmp_path: Path) -> None:
    with fleet(empty_schema, tmp_path) as running:
        early = running.project()
        assert early.popen.wait(timeout=30) == 2
        assert "points migrate" in early.output()

    assert run_points("migrate", "--database", empty_schema).returncode == 0
    with fleet(empty_schema, tmp_path) as running:
        replicas = [running.serve("--no-migrate", "--no-projector"), running.serve("--no-migrate", "--no-projector"), running.project()]
        running.wait_ready(*replicas)
        versions = replicas[0].policies.ListPolicies(policies_pb2.ListPoliciesRequest(), timeout=10).policies
        assert len(versions) == 1
