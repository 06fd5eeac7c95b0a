"""Real `points` processes for the deployment tests: servers and projectors on one store, each with a metrics port.

A Fleet is a context manager: every process it started is killed when it exits, whatever happened.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import grpc
from grpc_health.v1 import health_pb2, health_pb2_grpc
from prometheus_client.parser import text_string_to_metric_families

from points.v1 import balances_pb2_grpc, directory_pb2_grpc, policies_pb2_grpc, work_events_pb2_grpc

POINTS = Path(__file__).resolve().parents[2] / ".venv" / "bin" / "points"
START_WITHIN = 20.0  # seconds until a process answers (several start at once on 2 cores)
STOP_WITHIN = 15.0


def points_env(**extra: str) -> dict[str, str]:
    """The caller's environment without stray POINTS_* settings; quiet logs unless asked."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("POINTS_")}
    env["POINTS_LOG_LEVEL"] = "WARNING"
    env.update(extra)
    return env


def run_points(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([str(POINTS), *args], env=points_env(), capture_output=True, text=True, timeout=60, check=False)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


Samples = dict[tuple[str, tuple[tuple[str, str], ...]], float]


def scrape(metrics_port: int, timeout: float = 2.0) -> Samples:
    """Every sample of a /metrics page: (name, sorted labels) -> value."""
    with urllib.request.urlopen(f"http://127.0.0.1:{metrics_port}/metrics", timeout=timeout) as answer:
        text = answer.read().decode()
    return {
        (sample.name, tuple(sorted(sample.labels.items()))): sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
    }


def sample(samples: Samples, name: str, **labels: str) -> float | None:
    return samples.get((name, tuple(sorted(labels.items()))))


@dataclass
class Process:
    role: str
    popen: subprocess.Popen[bytes]
    log: Path
    metrics_port: int
    port: int = 0  # the gRPC port of a server
    channel: grpc.Channel | None = None

    def metrics(self) -> Samples:
        return scrape(self.metrics_port)

    def leading(self) -> bool:
        try:
            return sample(self.metrics(), "points_projection_leader", projection="balances") == 1.0
        except OSError:
            return False

    @property
    def directory(self) -> directory_pb2_grpc.DirectoryServiceStub:
        return directory_pb2_grpc.DirectoryServiceStub(self.channel)

    @property
    def work(self) -> work_events_pb2_grpc.WorkEventServiceStub:
        return work_events_pb2_grpc.WorkEventServiceStub(self.channel)

    @property
    def balances(self) -> balances_pb2_grpc.BalanceServiceStub:
        return balances_pb2_grpc.BalanceServiceStub(self.channel)

    @property
    def policies(self) -> policies_pb2_grpc.PolicyServiceStub:
        return policies_pb2_grpc.PolicyServiceStub(self.channel)

    def kill9(self) -> None:
        self.popen.send_signal(signal.SIGKILL)
        self.popen.wait(timeout=STOP_WITHIN)

    def terminate(self) -> int:
        self.popen.send_signal(signal.SIGTERM)
        return self.popen.wait(timeout=STOP_WITHIN)

    def output(self) -> str:
        return self.log.read_text(errors="replace")


@dataclass
class Fleet:
    database_url: str
    logs: Path
    processes: list[Process] = field(default_factory=list)

    def serve(self, *options: str, env: dict[str, str] | None = None) -> Process:
        port = free_port()
        return self._start("serve", ["serve", "--port", str(port), *options], port=port, env=env)

    def project(self, *options: str) -> Process:
        return self._start("project", ["project", *options])

    def _start(self, role: str, args: list[str], *, port: int = 0, env: dict[str, str] | None = None) -> Process:
        metrics_port = free_port()
        log = self.logs / f"{role}-{len(self.processes)}.log"
        with log.open("wb") as out:
            popen = subprocess.Popen(
                [str(POINTS), *args, "--database", self.database_url, "--metrics-port", str(metrics_port)],
                env=points_env(**(env or {})), stdout=out, stderr=subprocess.STDOUT,
            )
        process = Process(role, popen, log, metrics_port, port, grpc.insecure_channel(f"127.0.0.1:{port}") if port else None)
        self.processes.append(process)
        return process

    def wait_ready(self, *processes: Process) -> None:
        """Servers until health says SERVING, projectors until their metrics answer."""
        deadline = time.monotonic() + START_WITHIN
        for process in processes:
            while not _ready(process):
                if process.popen.poll() is not None:
                    raise AssertionError(f"{process.role} exited with {process.popen.returncode}:\n{process.output()}")
                if time.monotonic() > deadline:
                    raise AssertionError(f"{process.role} not ready within {START_WITHIN}s:\n{process.output()}")
                time.sleep(0.1)

    def close(self) -> None:
        for process in self.processes:
            if process.channel is not None:
                process.channel.close()
            if process.popen.poll() is None:
                process.popen.kill()
            process.popen.wait(timeout=STOP_WITHIN)


def _ready(process: Process) -> bool:
    if process.channel is None:
        try:
            process.metrics()
        except OSError:
            return False
        return True
    try:
        answer = health_pb2_grpc.HealthStub(process.channel).Check(health_pb2.HealthCheckRequest(service=""), timeout=0.5)
    except grpc.RpcError:
        return False
    return answer.status == health_pb2.HealthCheckResponse.SERVING


@contextmanager
def fleet(database_url: str, logs: Path) -> Iterator[Fleet]:
    running = Fleet(database_url, logs)
    try:
        yield running
    finally:
        running.close()


def wait_until(condition: object, timeout: float, interval: float = 0.05) -> float | None:
    """Polls `condition()` until true; returns the seconds it took, or None on timeout."""
    started = time.monotonic()
    while time.monotonic() - started < timeout:
        if condition():  # type: ignore[operator]
            return time.monotonic() - started
        time.sleep(interval)
    return None
