"""The `points` command as real processes: serve, SIGTERM, restart on the same store, migrate, rebuild.

Each server runs on a free port with its own log file; every process is killed in a finally block.
The server uses the real clock, so work is dated in the past (2026-11-02).
"""

from __future__ import annotations

import os
import re
import signal
import socket
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import grpc
import pytest
from grpc_health.v1 import health_pb2, health_pb2_grpc

from points.v1 import balances_pb2_grpc, directory_pb2_grpc, work_events_pb2_grpc
from tests.api.calls import balance, staff_outlet, work

POINTS = Path(__file__).resolve().parents[2] / ".venv" / "bin" / "points"
START_WITHIN = 15.0  # seconds until health says SERVING
STOP_WITHIN = 15.0  # seconds from SIGTERM to exit


def points_env() -> dict[str, str]:
    """The caller's environment without stray POINTS_* settings; quiet logs."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("POINTS_")}
    env["POINTS_LOG_LEVEL"] = "WARNING"
    return env


def run_points(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([str(POINTS), *args], env=points_env(), capture_output=True, text=True, timeout=60, check=False)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class Served:
    """A running `points serve` process and stubs over a channel to it."""

    process: subprocess.Popen[bytes]
    log: Path
    directory: directory_pb2_grpc.DirectoryServiceStub
    work: work_events_pb2_grpc.WorkEventServiceStub
    balances: balances_pb2_grpc.BalanceServiceStub

    def terminate(self) -> int:
        """SIGTERM, then the exit code (fails if it takes longer than STOP_WITHIN)."""
        self.process.send_signal(signal.SIGTERM)
        return self.process.wait(timeout=STOP_WITHIN)


def wait_until_serving(process: subprocess.Popen[bytes], channel: grpc.Channel, log: Path) -> None:
    health = health_pb2_grpc.HealthStub(channel)
    deadline = time.monotonic() + START_WITHIN
    while time.monotonic() < deadline:
        if process.poll() is not None:
            pytest.fail(f"points serve exited with {process.returncode}:\n{log.read_text()}")
        try:
            answer = health.Check(health_pb2.HealthCheckRequest(service=""), timeout=0.5, wait_for_ready=True)
        except grpc.RpcError:
            continue  # not listening yet: wait_for_ready already waited up to the timeout
        if answer.status == health_pb2.HealthCheckResponse.SERVING:
            return
    pytest.fail(f"points serve not SERVING within {START_WITHIN}s:\n{log.read_text()}")


@contextmanager
def serving(database_url: str, tmp_path: Path, *options: str) -> Iterator[Served]:
    port = free_port()
    log = tmp_path / f"serve-{port}.log"
    with log.open("wb") as out:
        process = subprocess.Popen(
            [str(POINTS), "serve", "--port", str(port), "--database", database_url, *options],
            env=points_env(), stdout=out, stderr=subprocess.STDOUT,
        )
    channel = grpc.insecure_channel(f"127.0.0.1:{port}")
    try:
        wait_until_serving(process, channel, log)
        yield Served(
            process, log,
            directory_pb2_grpc.DirectoryServiceStub(channel),
            work_events_pb2_grpc.WorkEventServiceStub(channel),
            balances_pb2_grpc.BalanceServiceStub(channel),
        )
    finally:
        channel.close()
        if process.poll() is None:
            process.kill()
        process.wait(timeout=STOP_WITHIN)


def totals(served: Served, employee_id: str, min_position: int) -> tuple[str, int]:
    read = balance(served.balances, employee_id, min_position=min_position).balance
    return read.total, read.event_count


def test_a_balance_survives_sigterm_and_restart(database_url: str, tmp_path: Path) -> None:
    with serving(database_url, tmp_path) as first:
        staff_outlet(first.directory)
        duty = first.work.RecordWorkEvent(work("p-1", "os-1", "duty_day", "3"))  # 30 x .40
        assert totals(first, "os-1", duty.position) == ("12.0000", 1)
        assert first.terminate() == 0

    with serving(database_url, tmp_path) as second:
        assert totals(second, "os-1", duty.position) == ("12.0000", 1)
        replay = second.work.RecordWorkEvent(work("p-1", "os-1", "duty_day", "3"))
        review = second.work.RecordWorkEvent(work("p-2", "os-1", "counter_review", "10"))  # 3 x .20
        assert (replay.replayed, replay.event_id, replay.position) == (True, duty.event_id, duty.position)
        assert totals(second, "os-1", review.position) == ("12.6000", 2)
        assert second.terminate() == 0


def test_migrate_then_serve_without_migrating(database_url: str, tmp_path: Path) -> None:
    migrated = run_points("migrate", "--database", database_url)
    assert migrated.returncode == 0, migrated.stderr
    assert "tables ready" in migrated.stdout

    with serving(database_url, tmp_path, "--no-migrate") as served:
        staff_outlet(served.directory)
        served_customers = served.work.RecordWorkEvent(work("m-1", "sm-1", "customer_served", "10"))  # 5 x .35
        assert totals(served, "sm-1", served_customers.position) == ("1.7500", 1)
        assert served.terminate() == 0


def test_a_rebuilt_projection_keeps_the_balances(database_url: str, tmp_path: Path) -> None:
    with serving(database_url, tmp_path) as served:
        staff_outlet(served.directory)  # 3 events: the outlet and two employees
        served.work.RecordWorkEvent(work("r-1", "sm-1", "counter_transaction", "12"))  # 4.8000
        last = served.work.RecordWorkEvent(work("r-2", "sm-1", "justified_complaint", "1"))  # -10.5000
        before = totals(served, "sm-1", last.position)
        assert served.terminate() == 0

    rebuilt = run_points("projections", "rebuild", "--database", database_url)

    assert rebuilt.returncode == 0, rebuilt.stderr
    assert re.search(r"rebuilt balances from 2 work events \(\d+ events in the log\)", rebuilt.stdout), rebuilt.stdout
    with serving(database_url, tmp_path) as restarted:
        assert totals(restarted, "sm-1", last.position) == before == ("-5.7000", 2)
        assert restarted.terminate() == 0


def test_an_unsupported_database_exits_2_with_a_message() -> None:
    result = run_points("serve", "--port", str(free_port()), "--database", "mysql://x")

    assert result.returncode == 2
    assert "unsupported database URL 'mysql://x'" in result.stderr
    assert "Traceback" not in result.stderr


def test_serving_an_unmigrated_store_without_migrating_exits_2_naming_migrate(database_url: str) -> None:
    result = run_points("serve", "--port", str(free_port()), "--no-migrate", "--database", database_url)

    assert (result.returncode, "Traceback" in result.stderr) == (2, False)
    assert "points migrate" in result.stderr
