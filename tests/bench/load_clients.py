"""Client processes for the record_events benchmark: the load comes from several processes, not one GIL.

Each worker is a process started with the "spawn" method (never fork: gRPC's C core does not
survive a fork), holding one gRPC channel per server port. It obeys a two-step protocol over
a pipe: the parent sends a Job, the worker builds every request message it will send (so that
building them is not timed) and answers "ready"; once every worker is ready, the parent sends
one start instant (time.monotonic, the same clock in every process on Linux) and each worker
sleeps until it, runs its share with its threads, and answers a JobResult.

The requests are a pure function of (tag, n): the parent recomputes any of them to resend
it (an idempotent retry must be byte-for-byte the same request) or to know what it asked for.
"""

from __future__ import annotations

import multiprocessing
import threading
import time
import traceback
from collections.abc import Sequence
from dataclasses import dataclass, field
from multiprocessing.connection import Connection
from typing import Any

# Work the shipped example policy scores for a service manager WITHOUT caps (caps depend on the
# order events were booked, so an independent replay of uncapped work is a plain sum).
KINDS = ("customer_served", "online_migration", "smart_machine_review", "financial_education", "customer_commendation")
MONTHS = tuple(f"2026-{m:02d}" for m in range(1, 12))  # 2026-01 .. 2026-11, all in the past (the policy starts 2026-01-01)
OUTLETS = (("bench-a", "A"), ("bench-b", "B"), ("bench-c", "C"))


def employee_of(n: int, employees: int) -> str:
    return f"bench-e{n % employees:05d}"


def outlet_of_employee(index: int) -> tuple[str, str]:
    return OUTLETS[index % len(OUTLETS)]


def request_fields(tag: str, n: int, employees: int) -> dict[str, Any]:
    """The fields of request n of a run: deterministic, so it can be resent or replayed independently."""
    month = MONTHS[(n // employees) % len(MONTHS)]
    return {
        "request_id": f"{tag}-{n}",
        "employee_id": employee_of(n, employees),
        "kind": KINDS[(n * 7 + n // employees) % len(KINDS)],
        "quantity": f"{1 + n % 5}" if n % 3 else f"{n % 7}.5",
        "occurred_on": f"{month}-{1 + n % 27:02d}",
        "recorded_by": "bench",
        "source": "bench",
    }


def work_request(tag: str, n: int, employees: int) -> Any:
    from points.v1 import work_events_pb2

    return work_events_pb2.RecordWorkEventRequest(**request_fields(tag, n, employees))


@dataclass(frozen=True)
class Job:
    kind: str  # "batch" (RecordWorkEvents), "unary" (RecordWorkEvent) or "health" (grpc.health.v1 Health/Check)
    port: int
    tag: str = ""
    numbers: Sequence[int] = ()  # the request numbers n this worker sends (batch, unary), or range(calls) for health
    batch_size: int = 1
    threads: int = 1
    employees: int = 1
    timeout: float = 60.0
    # Paced (an open loop) when > 0: this worker's threads are threads_before..threads_before+threads-1 of
    # threads_total, and call k of thread j is due at start + (k * threads_total + j) / rate; else back to back.
    rate: float = 0.0
    threads_before: int = 0
    threads_total: int = 1


@dataclass
class JobResult:
    started: float = 0.0
    finished: float = 0.0
    calls: int = 0
    latencies: list[float] = field(default_factory=list)  # seconds, one per call
    positions: dict[int, int] = field(default_factory=dict)  # n -> position answered for request n
    failures: list[str] = field(default_factory=list)  # one line per request that was not recorded fresh


def chunked(numbers: Sequence[int], size: int) -> list[list[int]]:
    return [list(numbers[i : i + size]) for i in range(0, len(numbers), size)]


class _Worker:
    def __init__(self) -> None:
        import grpc

        self.grpc = grpc
        self.channels: dict[int, Any] = {}

    def channel(self, port: int) -> Any:
        if port not in self.channels:
            self.channels[port] = self.grpc.insecure_channel(f"127.0.0.1:{port}")
        return self.channels[port]

    def prepare(self, job: Job) -> list[tuple[list[int], Any]]:
        """(request numbers, message) per call, built before the clock starts."""
        from grpc_health.v1 import health_pb2
        from points.v1 import work_events_pb2

        if job.kind == "health":
            return [([n], health_pb2.HealthCheckRequest()) for n in job.numbers]
        if job.kind == "unary":
            return [([n], work_request(job.tag, n, job.employees)) for n in job.numbers]
        calls = []
        for chunk in chunked(job.numbers, job.batch_size):
            message = work_events_pb2.RecordWorkEventsRequest(requests=[work_request(job.tag, n, job.employees) for n in chunk])
            calls.append((chunk, message))
        return calls

    def run(self, job: Job, calls: list[tuple[list[int], Any]], start_at: float) -> JobResult:
        from grpc_health.v1 import health_pb2_grpc
        from points.v1 import work_events_pb2_grpc

        channel = self.channel(job.port)
        if job.kind == "health":
            method = health_pb2_grpc.HealthStub(channel).Check
        elif job.kind == "unary":
            method = work_events_pb2_grpc.WorkEventServiceStub(channel).RecordWorkEvent
        else:
            method = work_events_pb2_grpc.WorkEventServiceStub(channel).RecordWorkEvents
        result = JobResult()
        lock = threading.Lock()

        def loop(mine: list[tuple[list[int], Any]], thread: int) -> None:
            latencies: list[float] = []
            positions: dict[int, int] = {}
            failures: list[str] = []
            begun = time.perf_counter()
            for k, (numbers, message) in enumerate(mine):
                if job.rate > 0:  # paced: the latency counts from when the call was due
                    t0 = begun + (k * job.threads_total + job.threads_before + thread) / job.rate
                    time.sleep(max(0.0, t0 - time.perf_counter()))
                else:
                    t0 = time.perf_counter()
                try:
                    response = method(message, timeout=job.timeout)
                except self.grpc.RpcError as e:
                    failures.append(f"{job.kind} {numbers[0]}..: {e.code().name} {e.details()}")
                    continue
                latencies.append(time.perf_counter() - t0)
                if job.kind == "unary":
                    positions[numbers[0]] = response.position
                    if response.replayed:
                        failures.append(f"{job.tag}-{numbers[0]}: replayed on its first send")
                elif job.kind == "batch":
                    for n, item in zip(numbers, response.results, strict=True):
                        if not item.HasField("recorded"):
                            failures.append(f"{job.tag}-{n}: {item.error.message}")
                        elif item.recorded.replayed:
                            failures.append(f"{job.tag}-{n}: replayed on its first send")
                        else:
                            positions[n] = item.recorded.position
            with lock:
                result.latencies.extend(latencies)
                result.positions.update(positions)
                result.failures.extend(failures)

        shares = [calls[i :: job.threads] for i in range(job.threads)]
        threads = [threading.Thread(target=loop, args=(share, j)) for j, share in enumerate(shares) if share]
        time.sleep(max(0.0, start_at - time.monotonic()))
        result.started = time.monotonic()
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        result.finished = time.monotonic()
        result.calls = len(calls)
        return result


def worker_main(conn: Connection) -> None:
    worker = _Worker()
    while True:
        message = conn.recv()
        if message is None:
            break
        job: Job = message
        try:
            calls = worker.prepare(job)
            conn.send("ready")
            start_at = conn.recv()
            conn.send(worker.run(job, calls, start_at))
        except BaseException:  # report it: the parent raises it with the worker's traceback
            conn.send(RuntimeError(f"client worker failed:\n{traceback.format_exc()}"))
    for channel in worker.channels.values():
        channel.close()


class ClientPool:
    """N client processes; run() gives each one job and starts them all at one instant."""

    def __init__(self, processes: int) -> None:
        ctx = multiprocessing.get_context("spawn")
        self.pipes: list[Connection] = []
        self.processes = []
        for _ in range(processes):
            parent, child = ctx.Pipe()
            process = ctx.Process(target=worker_main, args=(child,), daemon=True)
            process.start()
            self.pipes.append(parent)
            self.processes.append(process)

    def __len__(self) -> int:
        return len(self.pipes)

    def pids(self) -> list[int]:
        return [p.pid for p in self.processes if p.pid is not None]

    def run(self, jobs: Sequence[Job | None], on_start: Any = None) -> tuple[float, list[JobResult]]:
        """Runs jobs[i] on worker i (None: that worker sits out); returns the common start instant and the results.

        on_start() is called once every worker is ready, just before the start instant is sent."""
        active = [(pipe, job) for pipe, job in zip(self.pipes, jobs) if job is not None]
        for pipe, job in active:
            pipe.send(job)
        for pipe, _ in active:
            answer = pipe.recv()
            if isinstance(answer, BaseException):
                raise answer
        if on_start is not None:
            on_start()
        start_at = time.monotonic() + 0.05
        for pipe, _ in active:
            pipe.send(start_at)
        results = []
        for pipe, _ in active:
            answer = pipe.recv()
            if isinstance(answer, BaseException):
                raise answer
            results.append(answer)
        return start_at, results

    def close(self) -> None:
        for pipe in self.pipes:
            try:
                pipe.send(None)
            except OSError:
                pass
        for process in self.processes:
            process.join(10)
            if process.is_alive():
                process.kill()
