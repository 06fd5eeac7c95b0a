"""Soak: minutes of mixed load at a steady rate against real processes; zero errors, flat memory, no lag left.

    python -m tests.faults.soak --minutes 5          # or: make soak (SOAK_ARGS="--minutes 5 --rate 100")

Starts `points serve --no-projector` and `points project` (or one `points serve` that projects,
in a build without that command) on a fresh schema of the test
PostgreSQL (POINTS_TEST_POSTGRES_URL, else 127.0.0.1:5432, else a throwaway cluster), staffs
an outlet, warms up, then sends a steady mix: new work events (single and batches of ten),
retries of acknowledged ones (which must be replays of the same event), corrections, balance
reads that wait for the last write, explanations and payroll statements. At the end it
checks: no call failed; each process's resident memory grew less than --max-growth percent
from the end of the warm-up; the projection caught up with the log (lag back to zero).
Exits 0 when all hold, 1 otherwise; prints what it measured either way, with each process's
resident memory sampled through the run (every minute, or a tenth of a shorter run).
"""

from __future__ import annotations

import argparse
import random
import sys
import tempfile
import threading
import time
from collections import Counter, deque
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path

import grpc

from points.v1 import (
    balances_pb2,
    balances_pb2_grpc,
    directory_pb2_grpc,
    work_events_pb2,
    work_events_pb2_grpc,
)
from tests.faults.ledger_check import log_size, tracked_position, wait_for_projection
from tests.faults.processes import PointsProcess, api_and_projector, run_points
from tests.faults.workload import EMPLOYEES, random_work, staff, today

# The mix: operation -> share of the calls
MIX = {"record": 45, "replay": 10, "batch": 5, "correct": 5, "balance": 20, "explain": 10, "statements": 5}
CALL_TIMEOUT = 10.0


@dataclass
class Load:
    """What the load sent and what came back."""

    calls: Counter[str] = field(default_factory=Counter)
    errors: Counter[str] = field(default_factory=Counter)  # "op: CODE" -> count
    error_samples: list[str] = field(default_factory=list)
    latencies: dict[str, list[float]] = field(default_factory=dict)
    late_ticks: int = 0  # ticks when the previous calls still held every worker
    lock: threading.Lock = field(default_factory=threading.Lock)

    def record(self, op: str, seconds: float, error: str | None = None) -> None:
        with self.lock:
            self.calls[op] += 1
            self.latencies.setdefault(op, []).append(seconds)
            if error:
                self.errors[f"{op}: {error.split(' ', 1)[0]}"] += 1
                if len(self.error_samples) < 10:
                    self.error_samples.append(f"{op}: {error}")


class Traffic:
    """The operations of the mix, over one channel to the server."""

    def __init__(self, address: str, rng: random.Random) -> None:
        self.channel = grpc.insecure_channel(address)
        self.work = work_events_pb2_grpc.WorkEventServiceStub(self.channel)
        self.balances = balances_pb2_grpc.BalanceServiceStub(self.channel)
        self.rng = rng
        self.lock = threading.Lock()
        self.serial = 0
        self.acked: deque[tuple[work_events_pb2.RecordWorkEventRequest, work_events_pb2.RecordWorkEventResponse]] = deque(maxlen=2000)
        self.reversed: set[str] = set()
        self.last_position = 0

    def new_requests(self, count: int) -> list[work_events_pb2.RecordWorkEventRequest]:
        with self.lock:
            first = self.serial
            self.serial += count
            return [random_work(self.rng, f"soak-{n}") for n in range(first, first + count)]

    def _remember(self, request: work_events_pb2.RecordWorkEventRequest, answer: work_events_pb2.RecordWorkEventResponse) -> None:
        with self.lock:
            self.acked.append((request, answer))
            self.last_position = max(self.last_position, answer.position)

    def _pick(self) -> tuple[work_events_pb2.RecordWorkEventRequest, work_events_pb2.RecordWorkEventResponse] | None:
        with self.lock:
            return self.rng.choice(self.acked) if self.acked else None

    def record(self) -> None:
        (request,) = self.new_requests(1)
        self._remember(request, self.work.RecordWorkEvent(request, timeout=CALL_TIMEOUT))

    def batch(self) -> None:
        requests = self.new_requests(10)
        response = self.work.RecordWorkEvents(work_events_pb2.RecordWorkEventsRequest(requests=requests), timeout=CALL_TIMEOUT)
        for request, result in zip(requests, response.results, strict=True):
            if result.WhichOneof("outcome") != "recorded":
                raise AssertionError(f"batch item {request.request_id}: {result.error.message}")
            self._remember(request, result.recorded)

    def replay(self) -> None:
        picked = self._pick()
        if picked is None:
            return self.record()
        request, first = picked
        again = self.work.RecordWorkEvent(request, timeout=CALL_TIMEOUT)
        if not again.replayed or (again.event_id, again.position) != (first.event_id, first.position):
            raise AssertionError(f"retry of {request.request_id} was not a replay of the original")
        return None

    def correct(self) -> None:
        picked = self._pick()
        if picked is None:
            return self.record()
        request, answer = picked
        with self.lock:
            if answer.event_id in self.reversed:
                return None
            self.reversed.add(answer.event_id)
        corrected = self.work.CorrectWorkEvent(
            work_events_pb2.CorrectWorkEventRequest(
                request_id=f"undo-{request.request_id}", event_id=answer.event_id, employee_id=request.employee_id,
                reason="soak: recorded by mistake", corrected_by="soak", reverse=True,
            ),
            timeout=CALL_TIMEOUT,
        )  # fmt: skip
        with self.lock:
            self.last_position = max(self.last_position, corrected.position)
        return None

    def _employee_and_period(self) -> tuple[str, str]:
        with self.lock:
            day = today() - timedelta(days=self.rng.randint(1, 40))
            return self.rng.choice(sorted(EMPLOYEES)), f"{day.year:04d}-{day.month:02d}"

    def balance(self) -> None:
        employee_id, period = self._employee_and_period()
        self.balances.GetBalance(
            balances_pb2.GetBalanceRequest(employee_id=employee_id, period=period, min_position=self.last_position), timeout=CALL_TIMEOUT
        )

    def explain(self) -> None:
        employee_id, period = self._employee_and_period()
        self.balances.ExplainBalance(balances_pb2.ExplainBalanceRequest(employee_id=employee_id, period=period, page_size=50), timeout=CALL_TIMEOUT)

    def statements(self) -> None:
        _, period = self._employee_and_period()
        self.balances.ListStatements(balances_pb2.ListStatementsRequest(period=period, page_size=100), timeout=CALL_TIMEOUT)


def run_load(traffic: Traffic, load: Load, *, rate: float, seconds: float, rng: random.Random) -> None:
    """Starts one call every 1/rate seconds (on a pool, so a slow call does not slow the rate) for `seconds`."""
    ops = list(MIX)
    weights = [MIX[op] for op in ops]
    workers = 16
    in_flight = threading.Semaphore(workers)
    interval = 1.0 / rate

    def one(op: str) -> None:
        began = time.monotonic()
        try:
            getattr(traffic, op)()
            load.record(op, time.monotonic() - began)
        except grpc.RpcError as error:
            load.record(op, time.monotonic() - began, f"{error.code().name} {error.details()}")  # type: ignore[attr-defined]
        except Exception as error:  # noqa: BLE001 (a failed check is an error of the run, reported with the rest)
            load.record(op, time.monotonic() - began, f"CHECK {error}")
        finally:
            in_flight.release()

    with ThreadPoolExecutor(workers) as pool:
        start = time.monotonic()
        tick = 0
        while (now := time.monotonic()) < start + seconds:
            due = start + tick * interval
            if due > now:
                time.sleep(due - now)
            if not in_flight.acquire(blocking=False):
                load.late_ticks += 1
                in_flight.acquire()
            pool.submit(one, rng.choices(ops, weights)[0])
            tick += 1


class MemorySampler:
    """Each process's resident memory every `every` seconds while the load runs: a curve, not two points,
    so that a bounded cache still filling (a rise that flattens) can be told from a leak (a steady climb)."""

    def __init__(self, processes: Sequence[PointsProcess], every: float = 60.0) -> None:
        self.processes = processes
        self.every = every
        self.samples: dict[str, list[int]] = {p.name: [] for p in processes}
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="soak-memory", daemon=True)

    def __enter__(self) -> MemorySampler:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()

    def _run(self) -> None:
        while not self._stop.wait(self.every):
            for p in self.processes:
                self.samples[p.name].append(p.rss_bytes())

    def lines(self) -> list[str]:
        if not any(self.samples.values()):
            return []
        return [
            f"memory every {self.every:g}s (RSS MiB): "
            + "; ".join(f"{name} " + " ".join(f"{v / 2**20:.1f}" for v in values) for name, values in self.samples.items())
        ]


def percentile(values: Sequence[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(share * len(ordered)))] if ordered else 0.0


@dataclass
class SoakResult:
    ok: bool
    lines: list[str]


def soak(database_url: str, *, seconds: float, rate: float, warmup: float, max_growth: float, seed: int, log_dir: Path) -> SoakResult:
    rng = random.Random(seed)
    migrated = run_points("migrate", "--database", database_url)
    if migrated.returncode != 0:
        return SoakResult(False, [f"points migrate failed: {migrated.stderr}"])
    api, projectors = api_and_projector(database_url, log_dir, servers=1)
    server = api[0]
    processes = tuple(dict.fromkeys([server, *projectors]))
    lines = [f"soak: seed {seed}, {rate:g} calls/s for {seconds:g}s after {warmup:g}s of warm-up; logs in {log_dir}"]
    try:
        for process in processes:
            process.start()
        with grpc.insecure_channel(server.address) as channel:
            staff(directory_pb2_grpc.DirectoryServiceStub(channel))
        traffic = Traffic(server.address, random.Random(rng.getrandbits(32)))
        run_load(traffic, Load(), rate=rate, seconds=warmup, rng=rng)  # its errors count too: below, with the rest
        baseline = {p.name: p.rss_bytes() for p in processes}
        load = Load()
        started = time.monotonic()
        with MemorySampler(processes, every=min(60.0, max(1.0, seconds / 10))) as memory:
            run_load(traffic, load, rate=rate, seconds=seconds, rng=rng)
        took = time.monotonic() - started
        end_rss = {p.name: p.rss_bytes() for p in processes}
        lag_at_stop = log_size(database_url) - tracked_position(database_url)
        caught_up_at = time.monotonic()
        tracked, end = wait_for_projection(database_url, within=60)
        caught_up_in = time.monotonic() - caught_up_at
    finally:
        for process in processes:
            process.terminate()
    total = sum(load.calls.values())
    growth = {name: 100.0 * (end_rss[name] - baseline[name]) / baseline[name] for name in baseline}
    lines += [
        f"calls: {total} in {took:.1f}s ({total / took:.1f}/s; {load.late_ticks} ticks waited for a free worker): {dict(load.calls)}",
        "latency p50/p99 ms: " + ", ".join(
            f"{op} {1000 * percentile(v, 0.5):.1f}/{1000 * percentile(v, 0.99):.1f}" for op, v in sorted(load.latencies.items())
        ),
        f"errors: {sum(load.errors.values())} {dict(load.errors)} {load.error_samples[:3]}",
        "memory (RSS MiB, end of warm-up -> end): " + ", ".join(
            f"{name} {baseline[name] / 2**20:.1f} -> {end_rss[name] / 2**20:.1f} ({growth[name]:+.1f}%)" for name in baseline
        ),
        *memory.lines(),
        f"projection: {lag_at_stop} events behind when the load stopped, caught up in {caught_up_in:.2f}s ({tracked} of {end})",
    ]
    failures = []
    if load.errors:
        failures.append("calls failed")
    if any(g >= max_growth for g in growth.values()):
        failures.append(f"memory grew {max(growth.values()):.1f}% (limit {max_growth:g}%)")
    if tracked != end:
        failures.append(f"projection still {end - tracked} events behind")
    lines.append("soak: " + ("PASS" if not failures else "FAIL: " + "; ".join(failures)))
    return SoakResult(not failures, lines)


def main(argv: Sequence[str] | None = None, *, out: Callable[[str], None] = print) -> int:
    parser = argparse.ArgumentParser(prog="python -m tests.faults.soak", description=__doc__.split("\n\n")[0])
    parser.add_argument("--minutes", type=float, default=5.0, help="how long the measured load runs (default 5)")
    parser.add_argument("--seconds", type=float, help="the same in seconds (overrides --minutes)")
    parser.add_argument("--rate", type=float, default=100.0, help="calls started per second (default 100)")
    parser.add_argument("--warmup", type=float, help="seconds of load before memory is first measured (default: a tenth, 10-60 s)")
    parser.add_argument("--max-growth", type=float, default=10.0, help="largest resident-memory growth allowed, percent (default 10)")
    parser.add_argument("--database", help="a PostgreSQL URL with ?schema= to use (default: a fresh schema, dropped at the end)")
    parser.add_argument("--seed", type=int, default=random.SystemRandom().randrange(2**32))
    args = parser.parse_args(argv)
    seconds = args.seconds if args.seconds is not None else args.minutes * 60
    warmup = args.warmup if args.warmup is not None else min(60.0, max(10.0, seconds / 10))

    from tests.conftest import drop_schema, new_postgres_schema_url
    from tests.support.pgserver import ensure_postgres

    server = None
    schema = None
    database_url = args.database
    if database_url is None:
        server = ensure_postgres()
        database_url, schema = new_postgres_schema_url(server)
    try:
        logs = Path(tempfile.mkdtemp(prefix="points-soak-"))  # kept: the servers' logs, for a failed run
        result = soak(database_url, seconds=seconds, rate=args.rate, warmup=warmup, max_growth=args.max_growth, seed=args.seed, log_dir=logs)
        for line in result.lines:
            out(line)
    finally:
        if server is not None and schema is not None:
            drop_schema(server, schema)
            server.stop()
    return 0 if result.ok else 1


if __name__ == "__main__":
    sys.exit(main())
