"""`points serve --processes 2` as real processes: one port, two workers, a parent that supervises them (PostgreSQL).

Which process answered a call is read from the workers' own /metrics: worker I serves its
request counters on --metrics-port + I, and each counts only the calls its process answered.
Each client channel uses a local subchannel pool, so it is its own TCP connection, which the
kernel hands to one of the two listening workers (SO_REUSEPORT).
"""

from __future__ import annotations

import os
import re
import signal
import socket
import subprocess
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import grpc
import pytest
from grpc_health.v1 import health_pb2, health_pb2_grpc

from points.v1 import balances_pb2_grpc, directory_pb2, directory_pb2_grpc, work_events_pb2, work_events_pb2_grpc
from tests.api.calls import OUTLET, balance, staff_outlet, work
from tests.conftest import drop_schema, new_postgres_schema_url
from tests.deploy.fleet import POINTS, free_port, points_env, run_points, sample, scrape, wait_until
from tests.deploy.ledgers import events_booked_twice, scalar
from tests.support.pgserver import PostgresServer

pytestmark = pytest.mark.postgres

RECORD = "/points.v1.WorkEventService/RecordWorkEvents"
GET_OUTLET = "/points.v1.DirectoryService/GetOutlet"
SERVING_LINE = "points: serving gRPC on "
START_WITHIN = 30.0
STOP_WITHIN = 8.0  # seconds from SIGTERM to the parent until it and every worker are gone
BATCH = 20
EMPLOYEES = (("os-1", ("duty_day", "counter_review")), ("sm-1", ("counter_transaction", "customer_served")))


@pytest.fixture
def store(postgres_server: PostgresServer) -> Iterator[tuple[str, str]]:
    """An empty schema: the parent migrates it once, before its workers start."""
    url, schema = new_postgres_schema_url(postgres_server)
    yield url, schema
    drop_schema(postgres_server, schema)


def free_port_run(count: int) -> int:
    """The first of `count` consecutive free ports (the workers' metrics ports)."""
    for _ in range(50):
        base = free_port()
        sockets = []
        try:
            for offset in range(count):
                s = socket.socket()
                sockets.append(s)
                s.bind(("127.0.0.1", base + offset))
            return base
        except OSError:
            continue
        finally:
            for s in sockets:
                s.close()
    raise AssertionError(f"no {count} consecutive free ports")


def children(pid: int) -> list[int]:
    """The live child processes of `pid` (Linux /proc)."""
    try:
        return [int(p) for p in Path(f"/proc/{pid}/task/{pid}/children").read_text().split()]
    except FileNotFoundError:
        return []


def alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (FileNotFoundError, IndexError):
        return False
    return state != "Z"


def connection(port: int) -> grpc.Channel:
    """A channel with its own TCP connection (no subchannel shared with other channels of this process)."""
    return grpc.insecure_channel(f"127.0.0.1:{port}", options=[("grpc.use_local_subchannel_pool", 1)])


@dataclass
class Parent:
    popen: subprocess.Popen[bytes]
    log: Path
    port: int
    metrics_port: int  # worker I: metrics_port + I
    health_port: int

    def output(self) -> str:
        return self.log.read_text(errors="replace")

    def workers(self) -> list[int]:
        return children(self.popen.pid)

    def requests(self, index: int, method: str = RECORD) -> float:
        """OK calls of `method` that worker `index` answered, from its own /metrics."""
        return sample(scrape(self.metrics_port + index), "points_grpc_requests_total", method=method, code="OK") or 0.0

    def wait_serving(self) -> None:
        deadline = time.monotonic() + START_WITHIN
        while SERVING_LINE not in self.output():
            if self.popen.poll() is not None:
                raise AssertionError(f"points serve --processes exited with {self.popen.returncode}:\n{self.output()}")
            if time.monotonic() > deadline:
                raise AssertionError(f"not serving within {START_WITHIN}s:\n{self.output()}")
            time.sleep(0.05)

    def health(self, port: int) -> str:
        with grpc.insecure_channel(f"127.0.0.1:{port}") as channel:
            try:
                answer = health_pb2_grpc.HealthStub(channel).Check(health_pb2.HealthCheckRequest(), timeout=1)
            except grpc.RpcError as e:
                return e.code().name  # type: ignore[attr-defined, no-any-return]
        return health_pb2.HealthCheckResponse.ServingStatus.Name(answer.status)


@contextmanager
def parent(database_url: str, logs: Path, processes: int = 2, metrics_port: int = 0) -> Iterator[Parent]:
    port, metrics_port, health_port = free_port(), metrics_port or free_port_run(processes), free_port()
    log = logs / "parent.log"
    with log.open("wb") as out:
        popen = subprocess.Popen(
            [str(POINTS), "serve", "--processes", str(processes), "--port", str(port), "--database", database_url,
             "--metrics-port", str(metrics_port), "--health-port", str(health_port)],
            env=points_env(), stdout=out, stderr=subprocess.STDOUT,
        )  # fmt: skip
    running = Parent(popen, log, port, metrics_port, health_port)
    seen: set[int] = set()
    try:
        yield running
    finally:
        seen.update(running.workers())
        if popen.poll() is None:
            popen.kill()
        popen.wait(timeout=10)
        for pid in seen:  # they stop by themselves once the parent is gone; don't wait for that here
            if alive(pid):
                try:
                    os.kill(pid, signal.SIGKILL)
                except ProcessLookupError:
                    pass


@dataclass
class Writer:
    """Writes batches over its own connection, retrying a batch with the same request ids when the connection is lost."""

    channel: grpc.Channel
    name: str
    batches: int
    stop: threading.Event = field(default_factory=threading.Event)
    event_ids: list[str] = field(default_factory=list)  # one per acknowledged request, in order
    calls: int = 0  # calls answered OK
    retries: int = 0
    last_position: int = 0
    errors: list[str] = field(default_factory=list)

    def run(self) -> None:
        stub = work_events_pb2_grpc.WorkEventServiceStub(self.channel)
        for n in range(self.batches):
            if self.stop.is_set():
                return
            requests = [self._request(n, i) for i in range(BATCH)]
            for attempt in range(30):
                try:
                    answer = stub.RecordWorkEvents(work_events_pb2.RecordWorkEventsRequest(requests=requests), timeout=20, wait_for_ready=True)
                    break
                except grpc.RpcError as e:
                    if e.code() != grpc.StatusCode.UNAVAILABLE:  # type: ignore[attr-defined]
                        self.errors.append(f"{self.name} batch {n}: {e.code().name} {e.details()}")  # type: ignore[attr-defined]
                        return
                    self.retries += 1
                    time.sleep(0.1)
            else:
                self.errors.append(f"{self.name} batch {n}: still UNAVAILABLE after 30 attempts")
                return
            self.calls += 1
            failed = [r.error.message for r in answer.results if r.HasField("error")]
            self.errors.extend(failed)
            self.event_ids.extend(r.recorded.event_id for r in answer.results if r.HasField("recorded"))
            self.last_position = max(self.last_position, answer.position)

    def _request(self, n: int, i: int) -> work_events_pb2.RecordWorkEventRequest:
        employee, kinds = EMPLOYEES[(n + i) % len(EMPLOYEES)]
        day = f"2026-11-{1 + (n * BATCH + i) % 20:02d}"
        return work(f"{self.name}-{n}-{i}", employee, kinds[i % 2], str(1 + i % 7), occurred_on=day)


def write(writers: list[Writer]) -> list[threading.Thread]:
    threads = [threading.Thread(target=w.run, name=w.name) for w in writers]
    for thread in threads:
        thread.start()
    return threads


def assert_each_event_once(server_url: str, schema: str, writers: list[Writer], port: int) -> int:
    """Every acknowledged event is in the balances exactly once, read through the shared port with min_position."""
    acknowledged = [event_id for w in writers for event_id in w.event_ids]
    assert len(acknowledged) == len(set(acknowledged))  # a retried batch came back as the same events, not new ones
    last = max(w.last_position for w in writers)
    with connection(port) as channel:
        counted = sum(balance(balances_pb2_grpc.BalanceServiceStub(channel), employee, min_position=last).balance.event_count for employee, _ in EMPLOYEES)
    assert counted == len(acknowledged)
    assert scalar(server_url, f'SELECT sum(event_delta) FROM "{schema}".balance_lines') == len(acknowledged)
    assert scalar(server_url, f"SELECT count(DISTINCT event_id) FROM \"{schema}\".balance_lines WHERE entry = 'recorded'") == len(acknowledged)
    assert events_booked_twice(server_url, schema) == []
    return len(acknowledged)


def stop(running: Parent) -> float:
    """SIGTERM to the parent; the seconds until it exited 0 and no worker is left."""
    workers = running.workers()
    started = time.monotonic()
    running.popen.send_signal(signal.SIGTERM)
    assert running.popen.wait(timeout=STOP_WITHIN + 5) == 0, running.output()
    gone = wait_until(lambda: not any(alive(pid) for pid in workers), STOP_WITHIN)
    elapsed = time.monotonic() - started
    assert gone is not None and elapsed < STOP_WITHIN, f"workers {[p for p in workers if alive(p)]} still alive after {elapsed:.1f}s"
    return elapsed


def test_two_workers_share_the_port_and_book_each_write_once(store: tuple[str, str], tmp_path: Path) -> None:
    url, schema = store
    with parent(url, tmp_path) as running:
        running.wait_serving()
        output = running.output()
        ready = re.findall(r"points: worker (\d) \(pid (\d+)\) ready on ", output)
        assert sorted(index for index, _ in ready) == ["0", "1"], output  # both said ready ...
        assert output.index(SERVING_LINE) > max(output.index(f"worker {i} (pid") for i in "01")  # ... before the parent said serving
        workers = running.workers()
        assert len(workers) == 2 and sorted(workers) == sorted(int(pid) for _, pid in ready), (workers, ready)
        assert running.health(running.health_port) == "SERVING"

        with connection(running.port) as channel:
            staff_outlet(directory_pb2_grpc.DirectoryServiceStub(channel))
        channels = [connection(running.port) for _ in range(12)]
        try:
            writers = [Writer(channel, f"c{k}", batches=10) for k, channel in enumerate(channels)]
            for thread in write(writers):
                thread.join(60)
        finally:
            for channel in channels:
                channel.close()
        assert [w.errors for w in writers] == [[]] * len(writers)
        assert sum(w.retries for w in writers) == 0

        answered = [running.requests(0), running.requests(1)]
        calls = sum(w.calls for w in writers)
        print(f"\nRecordWorkEvents calls answered by worker 0 / worker 1: {answered[0]:.0f} / {answered[1]:.0f} of {calls}")
        assert sum(answered) == calls == 12 * 10  # each call was answered by exactly one of them ...
        assert min(answered) > 0  # ... and both answered some
        assert assert_each_event_once(url.split("?")[0], schema, writers, running.port) == 12 * 10 * BATCH

        elapsed = stop(running)
        print(f"SIGTERM to the parent: it and both workers gone after {elapsed:.2f}s")
        assert running.health(running.health_port) == "UNAVAILABLE"  # the parent's health port closed with it


def replacement_ready(output: str, victim: int) -> int | None:
    """The slot of the worker `victim` once the parent logged its death and a new worker of that slot said ready."""
    exited = re.search(rf"worker (\d) \(pid {victim}\) exited unexpectedly \(signal SIGKILL\)", output)
    if exited is None:
        return None
    index = int(exited.group(1))
    after = output.split(exited.group(0), 1)[1]
    return index if re.search(rf"points: worker {index} \(pid \d+\) ready on ", after) else None


def test_a_worker_killed_with_9_is_replaced_and_no_write_is_lost_or_doubled(store: tuple[str, str], tmp_path: Path) -> None:
    url, schema = store
    with parent(url, tmp_path) as running:
        running.wait_serving()
        with connection(running.port) as channel:
            staff_outlet(directory_pb2_grpc.DirectoryServiceStub(channel))
        channels = [connection(running.port) for _ in range(8)]
        try:
            writers = [Writer(channel, f"k{k}", batches=400) for k, channel in enumerate(channels)]
            threads = write(writers)
            try:
                time.sleep(1.0)
                before = running.workers()
                victim = before[1]
                acknowledged_at_kill = sum(len(w.event_ids) for w in writers)
                os.kill(victim, signal.SIGKILL)
                replaced = wait_until(lambda: len(running.workers()) == 2 and victim not in running.workers(), 10, interval=0.05)
                assert replaced is not None, running.output()
                assert running.health(running.health_port) == "SERVING"  # the other worker serves while the replacement starts
                ready = wait_until(lambda: replacement_ready(running.output(), victim), START_WITHIN, interval=0.05)
                assert ready is not None, running.output()
                print(f"\nworker pid {victim} killed with -9: a replacement started after {replaced:.2f}s, ready after {ready + replaced:.2f}s")
                time.sleep(1.0)
            finally:
                for w in writers:
                    w.stop.set()
                for thread in threads:
                    thread.join(60)
        finally:
            for channel in channels:
                channel.close()

        index = replacement_ready(running.output(), victim)
        assert index is not None, running.output()
        assert running.popen.poll() is None  # the parent carries on
        assert [w.errors for w in writers] == [[]] * len(writers)
        total = sum(len(w.event_ids) for w in writers)
        assert total > acknowledged_at_kill  # writes went on after the kill
        print(f"events acknowledged: {total} ({acknowledged_at_kill} before the kill), batches retried after a lost connection: {sum(w.retries for w in writers)}")

        # The replacement listens on the shared port too: new connections reach it.
        served_before = running.requests(index, GET_OUTLET)
        fresh = [connection(running.port) for _ in range(16)]
        try:
            for channel in fresh:
                directory_pb2_grpc.DirectoryServiceStub(channel).GetOutlet(directory_pb2.GetOutletRequest(outlet_id=OUTLET), timeout=10)
        finally:
            for channel in fresh:
                channel.close()
        assert running.requests(index, GET_OUTLET) > served_before

        assert assert_each_event_once(url.split("?")[0], schema, writers, running.port) == total
        stop(running)


def test_more_than_one_process_on_sqlite_is_refused(tmp_path: Path) -> None:
    answer = run_points("serve", "--processes", "2", "--port", str(free_port()), "--database", f"sqlite:///{tmp_path}/points.db")
    assert answer.returncode == 2, answer
    assert "--processes 2 needs PostgreSQL" in answer.stderr
    assert not (tmp_path / "points.db").exists()  # refused before anything was opened


def test_a_port_in_use_is_refused_rather_than_shared(store: tuple[str, str]) -> None:
    url, schema = store
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        answer = run_points("serve", "--processes", "2", "--port", str(port), "--database", url)
    assert answer.returncode == 2, answer
    assert f"cannot listen on 127.0.0.1:{port}: it is in use" in answer.stderr


def test_a_worker_that_cannot_start_stops_the_others_and_the_parent_exits_1(store: tuple[str, str], tmp_path: Path) -> None:
    url, _ = store
    metrics_port = free_port_run(2)
    with socket.socket() as taken:  # worker 1's metrics port (--metrics-port + 1) is someone else's
        taken.bind(("127.0.0.1", metrics_port + 1))
        taken.listen()
        with parent(url, tmp_path, metrics_port=metrics_port) as running:
            workers: set[int] = set()
            deadline = time.monotonic() + START_WITHIN
            while running.popen.poll() is None and time.monotonic() < deadline:
                workers.update(running.workers())
                time.sleep(0.05)
            assert running.popen.poll() == 1, running.output()  # no endless restarts of a worker that cannot start
            assert "points: worker 1 exited while the workers were starting" in running.output()
            assert SERVING_LINE not in running.output()
            assert len(workers) == 2 and not any(alive(pid) for pid in workers)  # worker 0 was stopped too
