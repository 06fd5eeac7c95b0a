"""`points serve` and `points project` as real processes the fault tests can kill -9 and start again.

Each process keeps its port across restarts (clients reconnect to one address), appends to
one log file per process, and is waited for through gRPC health. Errors are RuntimeError,
not pytest failures, so the soak command can use this module too.
"""

from __future__ import annotations

import functools
import os
import signal
import socket
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path

import grpc
from grpc_health.v1 import health_pb2, health_pb2_grpc

POINTS = Path(__file__).resolve().parents[2] / ".venv" / "bin" / "points"
START_WITHIN = 30.0  # seconds until health says SERVING (a loaded 2-core machine, crash recovery under way)
STOP_WITHIN = 15.0


def points_env() -> dict[str, str]:
    """The caller's environment without stray POINTS_* settings; warnings and errors only."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("POINTS_")}
    env["POINTS_LOG_LEVEL"] = "WARNING"
    return env


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def run_points(*args: str, timeout: float = 120) -> subprocess.CompletedProcess[str]:
    return subprocess.run([str(POINTS), *args], env=points_env(), capture_output=True, text=True, timeout=timeout, check=False)


@functools.cache
def has_projector_command() -> bool:
    """True when this build has `points project` (and `serve --no-projector`): the projector as its own process."""
    return run_points("project", "--help", timeout=60).returncode == 0


def api_and_projector(database_url: str, log_dir: Path, servers: int) -> tuple[list[PointsProcess], list[PointsProcess]]:
    """`servers` API processes and the processes that project: one `points project` when this build has it,
    else the API processes themselves (each `points serve` then projects in-process)."""
    if has_projector_command():
        api = [PointsProcess.serve(f"serve-{n}", database_url, log_dir, "--no-migrate", "--no-projector") for n in range(1, servers + 1)]
        return api, [PointsProcess.project("project", database_url, log_dir)]
    api = [PointsProcess.serve(f"serve-{n}", database_url, log_dir, "--no-migrate") for n in range(1, servers + 1)]
    return api, api


@dataclass(eq=False)  # compared and hashed by identity: one object per process
class PointsProcess:
    """One `points` process (`serve` or `project`) on a fixed port; `start()` again after `kill()`."""

    name: str
    command: list[str]  # after `points`, e.g. ["serve", "--database", url, "--no-migrate"]
    log: Path
    port: int = field(default_factory=free_port)  # serve: the gRPC port; project: the health port
    process: subprocess.Popen[bytes] | None = None
    starts: int = 0
    kills: int = 0

    @classmethod
    def serve(cls, name: str, database_url: str, log_dir: Path, *options: str) -> PointsProcess:
        port = free_port()
        return cls(name, ["serve", "--port", str(port), "--database", database_url, *options], log_dir / f"{name}.log", port)

    @classmethod
    def project(cls, name: str, database_url: str, log_dir: Path, *options: str) -> PointsProcess:
        port = free_port()
        return cls(name, ["project", "--health-port", str(port), "--database", database_url, *options], log_dir / f"{name}.log", port)

    @property
    def address(self) -> str:
        return f"127.0.0.1:{self.port}"

    @property
    def pid(self) -> int | None:
        return None if self.process is None else self.process.pid

    @property
    def alive(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def start(self, *, wait: bool = True) -> None:
        if self.alive:
            raise RuntimeError(f"{self.name} is already running")
        with self.log.open("ab") as out:
            out.write(f"--- start {self.starts + 1}: points {' '.join(self.command)}\n".encode())
            out.flush()
            self.process = subprocess.Popen([str(POINTS), *self.command], env=points_env(), stdout=out, stderr=subprocess.STDOUT)
        self.starts += 1
        if wait:
            self.wait_until_serving()

    def wait_until_serving(self, within: float = START_WITHIN) -> None:
        deadline = time.monotonic() + within
        with grpc.insecure_channel(self.address) as channel:
            health = health_pb2_grpc.HealthStub(channel)
            while time.monotonic() < deadline:
                if not self.alive:
                    raise RuntimeError(f"{self.name} exited with {self.process and self.process.returncode}:\n{self.log_tail()}")
                try:
                    answer = health.Check(health_pb2.HealthCheckRequest(service=""), timeout=0.5, wait_for_ready=True)
                except grpc.RpcError:
                    continue
                if answer.status == health_pb2.HealthCheckResponse.SERVING:
                    return
                time.sleep(0.05)
        raise RuntimeError(f"{self.name} not SERVING within {within}s:\n{self.log_tail()}")

    def kill(self) -> None:
        """kill -9: no signal handler runs, nothing is flushed or handed over."""
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGKILL)
            self.process.wait(timeout=STOP_WITHIN)
            self.kills += 1

    def terminate(self) -> int | None:
        """SIGTERM and wait; kill -9 if it does not exit in time. Returns the exit code."""
        if self.process is None:
            return None
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=STOP_WITHIN)
            except subprocess.TimeoutExpired:
                self.kill()
        return self.process.returncode

    def rss_bytes(self) -> int:
        """Resident memory of the process now (Linux /proc)."""
        if self.process is None:
            return 0
        for line in Path(f"/proc/{self.process.pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * 1024
        return 0

    def log_tail(self, chars: int = 4000) -> str:
        return self.log.read_text(errors="replace")[-chars:] if self.log.exists() else "(no log)"
