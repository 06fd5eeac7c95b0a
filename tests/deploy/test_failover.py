"""Three API servers and two elected projectors on one PostgreSQL; the leading projector is killed with -9 mid-load.

Clients write through all three servers; the other projector must take over within a few
seconds and continue from the tracked position. At the end the view must equal a rebuild of
the whole log into another schema, and no event may have been booked twice.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import grpc
import pytest

from points.v1 import directory_pb2, work_events_pb2
from tests.api.calls import FIRST_DAY, OUTLET, balance, staff_outlet, work
from tests.conftest import drop_schema, new_postgres_schema_url
from tests.deploy.fleet import Process, fleet, run_points, sample, wait_until
from tests.deploy.ledgers import events_booked_twice, lines, rebuild_elsewhere, scalar, sums
from tests.support.pgserver import PostgresServer

pytestmark = pytest.mark.postgres

TAKEOVER_WITHIN = 5.0  # seconds from kill -9 to the other projector leading
BATCH = 25
MAX_BATCHES = 400  # per writer: the load is bounded even if the clock misbehaves
EMPLOYEES = (("os-1", ("duty_day", "counter_review")), ("sm-1", ("counter_transaction", "customer_served")),
             ("os-2", ("internal_control_check", "counter_review")), ("sm-2", ("smart_machine_review", "customer_served")))  # fmt: skip


@pytest.fixture
def two_schemas(postgres_server: PostgresServer) -> Iterator[tuple[str, str, str, str]]:
    """The store under test and an empty one to rebuild into."""
    url, schema = new_postgres_schema_url(postgres_server)
    rebuild_url, rebuild_schema = new_postgres_schema_url(postgres_server)
    yield url, schema, rebuild_url, rebuild_schema
    drop_schema(postgres_server, schema)
    drop_schema(postgres_server, rebuild_schema)


@dataclass
class Writer:
    """Writes batches through one server until told to stop; remembers what was acknowledged."""

    server: Process
    name: str
    stop: threading.Event
    acknowledged: int = 0
    last_position: int = 0
    errors: list[str] = field(default_factory=list)

    def run(self) -> None:
        for n in range(MAX_BATCHES):
            if self.stop.is_set():
                return
            requests = [self._request(n, i) for i in range(BATCH)]
            try:
                answer = self.server.work.RecordWorkEvents(work_events_pb2.RecordWorkEventsRequest(requests=requests), timeout=20)
            except grpc.RpcError as e:
                self.errors.append(f"{self.name} batch {n}: {e.code().name} {e.details()}")  # type: ignore[attr-defined]
                return
            failed = [r.error.message for r in answer.results if r.HasField("error")]
            self.errors.extend(failed)
            self.acknowledged += len(answer.results) - len(failed)
            self.last_position = max(self.last_position, answer.position)

    def _request(self, n: int, i: int) -> work_events_pb2.RecordWorkEventRequest:
        employee, kinds = EMPLOYEES[(n + i) % len(EMPLOYEES)]
        day = f"2026-11-{1 + (n * BATCH + i) % 20:02d}"
        return work(f"{self.name}-{n}-{i}", employee, kinds[i % 2], str(1 + i % 7), occurred_on=day)


def staff(server: Process) -> None:
    staff_outlet(server.directory)  # os-1 and sm-1
    for employee, role in (("os-2", directory_pb2.ROLE_OPERATIONS_SUPERVISOR), ("sm-2", directory_pb2.ROLE_SERVICE_MANAGER)):
        server.directory.RegisterEmployee(
            directory_pb2.RegisterEmployeeRequest(employee_id=employee, role=role, outlet_id=OUTLET, effective_from=FIRST_DAY)
        )


def the_leader(projectors: list[Process]) -> Process:
    """The one projector that leads (waiting up to 10 s for the election); fails if two ever do."""
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        leaders = [p for p in projectors if p.leading()]
        assert len(leaders) <= 1, "two projectors lead at once"
        if leaders:
            return leaders[0]
        time.sleep(0.05)
    raise AssertionError("no projector leads")


def lag_events(process: Process) -> float | None:
    return sample(process.metrics(), "points_projection_lag_events", projection="balances")


def test_killing_the_leading_projector_hands_over_and_books_every_event_once(two_schemas: tuple[str, str, str, str], tmp_path: Path) -> None:
    url, schema, rebuild_url, rebuild_schema = two_schemas
    server_url = url.split("?")[0]
    migrated = run_points("migrate", "--database", url)
    assert migrated.returncode == 0, migrated.stderr

    with fleet(url, tmp_path) as running:
        servers = [running.serve("--no-migrate", "--no-projector") for _ in range(3)]
        projectors = [running.project() for _ in range(2)]
        running.wait_ready(*servers, *projectors)
        staff(servers[0])
        leader = the_leader(projectors)
        survivor = next(p for p in projectors if p is not leader)

        stop = threading.Event()
        writers = [Writer(server, f"w{k}", stop) for k, server in enumerate(servers)]
        threads = [threading.Thread(target=w.run, name=w.name) for w in writers]
        for thread in threads:
            thread.start()
        try:
            time.sleep(1.5)
            position_before_kill = sample(survivor.metrics(), "points_projection_position", projection="balances")
            leader.kill9()
            takeover = wait_until(survivor.leading, TAKEOVER_WITHIN + 5, interval=0.02)
            print(f"\ntakeover after kill -9: {takeover:.2f}s" if takeover is not None else "\nno takeover")
            time.sleep(1.5)
        finally:
            stop.set()
            for thread in threads:
                thread.join(30)

        assert takeover is not None and takeover < TAKEOVER_WITHIN, f"takeover took {takeover}s:\n{survivor.output()}"
        assert [w.errors for w in writers] == [[], [], []]
        assert all(w.acknowledged > 0 for w in writers), [w.acknowledged for w in writers]
        assert wait_until(lambda: lag_events(survivor) == 0, 20, interval=0.1) is not None, f"lag stays {lag_events(survivor)}"
        assert (position_before_kill or 0) > 0  # the killed leader had projected: the survivor continued from there
        last = max(w.last_position for w in writers)
        for server in servers:  # every API replica reads the view the survivor keeps
            assert balance(server.balances, "sm-1", min_position=last).balance.event_count > 0
        assert [p.terminate() for p in (*servers, survivor)] == [0, 0, 0, 0]  # SIGTERM: a clean exit

    acknowledged = sum(w.acknowledged for w in writers)
    print(f"events written through 3 servers: {acknowledged}")
    assert scalar(server_url, f'SELECT sum(event_delta) FROM "{schema}".balance_lines') == acknowledged
    assert events_booked_twice(server_url, schema) == []
    rebuilt = rebuild_elsewhere(url, rebuild_url)
    assert rebuilt >= acknowledged
    assert sums(server_url, schema) == sums(server_url, rebuild_schema)
    assert lines(server_url, schema) == lines(server_url, rebuild_schema)

