"""Benchmark for issue 9: the write path, the projection, the reads and the verification on PostgreSQL,
each beside a raw baseline measured in the same run, then a correctness check of what was written.

Run it with `make bench` (or `python -m tests.bench.record_events --help`). It is a benchmark,
not a test: nothing here asserts a speed. Each row prints its figure, its baseline, the ratio
and the goal of issue 9 with "met" or "NOT met"; everything is also written as JSON
(bench-results/record_events.json). The one thing that fails the run (exit status 1) is the
correctness check at the end: it is about what was stored, not how fast.

What runs, in order (a real `points serve` process on a real port, on a fresh schema):

1. Registration (3 outlets, classes A/B/C; --employees service managers) and a warm-up write.
2. Baselines measured before the writes: grpc.health.v1 Health/Check on the same server
   at 16 and 64 calls in flight (the unary writes' baseline: the same process, port, thread
   pool and interceptor chain, minus the access-record interceptor, which skips health
   probes), and psycopg binary COPY of rows like the stored ones (topic and state bytes
   copied from the warm-up's stored events) into a table like the event table (same
   columns and indexes, no triggers), 1,000 rows per transaction, one connection (median
   of 3). Then a reference that is not one of issue 9's baselines, the database floor: the
   same kind of COPY of every row one work event makes the service write, the projection's
   included (raw_floor_rate). The RecordWorkEvents rows also give their ratio to it, which
   separates what the data model costs the database from what the service's code costs.
3. The write phases, back to back: RecordWorkEvents with 100, then 1,000 events per call
   (--batch-in-flight calls in flight), then RecordWorkEvent at 16, then 64 calls in
   flight. A reader thread issues GetBalance for random employees and months throughout,
   --reads-per-second of them (default 50; one call at a time, each due at a fixed
   interval, its latency taken from when it was due); its p50/p99 is the GetBalance row.
   (Until 2026-11-29 the reader called back to back, ~100-250 calls/s: a load the Health
   baseline did not carry, about a third of the server's CPU in the unary phases.)
   Before them, a reference: the reader alone for 3 s, nothing else running ("GetBalance with
   nothing else running").
   Then a reference that is not one of issue 9's rows: RecordWorkEvents (100 per call) paced
   at half the rate the 100-per-call phase reached, so that the machine is below saturation,
   with the reader's p50/p99 during it ("GetBalance below saturation"; its requests are in the
   correctness check like every other).
4. Projection catch-up, live: from the end of the last write phase until GetBalance with
   min_position = the last written position answers; events projected / seconds counted
   from the first write of the run.
5. VerifyLedger over the whole log (AuditService), median of 3, beside the raw ordered read
   of the event table (server-side cursor, 1,000 rows per fetch, median of 3) that is also
   the baseline of both catch-ups and the rebuild.
6. The correctness check (see check_ledger), then the server stops and
   `points projections rebuild` runs on the schema.
7. Catch-up by a late projector: a second fresh schema and a server with --no-projector;
   --late-events are written (1,000 per call), then a `points project` process starts and
   the time until its tracked position (balances_tracking) reaches the log head is taken
   from its launch (process start-up included; the figure without it is in the JSON).
   The check runs again on that schema, through the --no-projector server.

The load comes from --client-processes spawned processes (tests/bench/load_clients.py), so
one client GIL is not the bottleneck; but client, server and PostgreSQL share this machine's
cores, which the output says.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import random
import re
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import tomllib
import uuid
from collections import Counter, defaultdict
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from decimal import ROUND_HALF_EVEN, Decimal
from pathlib import Path
from typing import Any

import grpc
import psycopg
from grpc_health.v1 import health_pb2, health_pb2_grpc

from points.application.policy_file import example_policy_path
from points.v1 import audit_pb2, audit_pb2_grpc, balances_pb2, balances_pb2_grpc, directory_pb2, directory_pb2_grpc
from points.v1 import work_events_pb2, work_events_pb2_grpc
from tests.bench.load_clients import MONTHS, OUTLETS, ClientPool, Job, JobResult, chunked, employee_of, request_fields, work_request
from tests.support.pgserver import ensure_postgres

REPO = Path(__file__).resolve().parents[2]
POINTS = Path(sys.executable).parent / "points"
ENV = {**os.environ, "POINTS_LOG_LEVEL": "WARNING"}
QUANTUM = Decimal("0.0001")
RECORDED_TOPIC = "points.domain.work:WorkEvent.Recorded"
# Row names of the JSON "rows", in the order of the table in issue 9.
ROWS = (
    "record_work_events_100_per_call",
    "record_work_events_1000_per_call",
    "record_work_event_16_in_flight",
    "record_work_event_64_in_flight",
    "projection_catch_up_live",
    "projection_catch_up_late_projector",
    "projections_rebuild",
    "get_balance_during_writes",
    "verify_ledger",
)
WITH_BASELINE = tuple(r for r in ROWS if r != "get_balance_during_writes")


def connect(url: str, **kwargs: Any) -> psycopg.Connection[Any]:
    """psycopg.connect, retried for up to 30 s while the server has no free connection slot (a shared server may be busy)."""
    deadline = time.monotonic() + 30
    while True:
        try:
            return psycopg.connect(url, **kwargs)
        except psycopg.OperationalError as e:
            if "too many clients" not in str(e) or time.monotonic() > deadline:
                raise
            time.sleep(0.5)


# -- the server ------------------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def serve_supports_processes() -> bool:
    text = subprocess.run([str(POINTS), "serve", "--help"], capture_output=True, text=True, env=ENV, check=False).stdout
    return "--processes" in text


@dataclass
class Server:
    process: subprocess.Popen[bytes]
    port: int
    log: Path

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(30)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()


def start_server(url: str, log_dir: Path, *extra: str) -> Server:
    port = free_port()
    log = log_dir / f"serve-{port}.log"
    command = [str(POINTS), "serve", "--port", str(port), "--database", url, "--policy", str(example_policy_path()), *extra]
    with log.open("wb") as out:
        process = subprocess.Popen(command, env=ENV, stdout=out, stderr=subprocess.STDOUT)
    channel = grpc.insecure_channel(f"127.0.0.1:{port}")
    health = health_pb2_grpc.HealthStub(channel)
    deadline = time.monotonic() + 60
    try:
        while time.monotonic() < deadline:
            if process.poll() is not None:
                break
            try:
                if health.Check(health_pb2.HealthCheckRequest(), timeout=1).status == health_pb2.HealthCheckResponse.SERVING:
                    return Server(process, port, log)
            except grpc.RpcError:
                time.sleep(0.2)
    finally:
        channel.close()
    process.kill()
    raise RuntimeError(f"`{' '.join(command)}` did not become healthy; its output:\n{log.read_text(errors='replace')[-3000:]}")


def register_directory(port: int, employees: int) -> None:
    with grpc.insecure_channel(f"127.0.0.1:{port}") as channel:
        directory = directory_pb2_grpc.DirectoryServiceStub(channel)
        for outlet_id, outlet_class in OUTLETS:
            directory.RegisterOutlet(
                directory_pb2.RegisterOutletRequest(outlet_id=outlet_id, outlet_class=directory_pb2.OutletClass.Value(f"OUTLET_CLASS_{outlet_class}"), region="bench"),
                timeout=30,
            )

        def register(i: int) -> None:
            directory.RegisterEmployee(
                directory_pb2.RegisterEmployeeRequest(
                    employee_id=employee_of(i, employees), role=directory_pb2.ROLE_SERVICE_MANAGER,
                    outlet_id=OUTLETS[i % len(OUTLETS)][0], effective_from="2026-01-01",
                ),
                timeout=30,
            )  # fmt: skip

        with ThreadPoolExecutor(8) as pool:
            list(pool.map(register, range(employees)))


# -- raw baselines ---------------------------------------------------------------------------------


def log_head(base_url: str, schema: str) -> int:
    with connect(base_url) as conn:
        row = conn.execute(f'SELECT coalesce(max(notification_id), 0) FROM "{schema}".points_events').fetchone()
        return int(row[0]) if row else 0


def copy_event_rows(cur: psycopg.Cursor[Any], table: str, rows: Sequence[tuple[str, bytes]], first_position: int) -> None:
    """Binary COPY of (topic, state) rows into an event-like table, each as a new aggregate at its own position."""
    with cur.copy(f"COPY {table} (originator_id, originator_version, topic, state, notification_id) FROM STDIN (FORMAT BINARY)") as copy:
        copy.set_types(["uuid", "int8", "text", "bytea", "int8"])
        for k, (topic, state) in enumerate(rows):
            copy.write_row((uuid.uuid4(), 1, topic, state, first_position + k))


def raw_copy_rate(base_url: str, schema: str, rows: int) -> tuple[float, float | None]:
    """(rows/s, PostgreSQL CPU µs per row or None) of binary COPY of rows like the stored work events into a table like the event table, 1,000 rows per transaction."""
    with connect(base_url, autocommit=True) as conn:
        templates = conn.execute(
            f'SELECT topic, state FROM "{schema}".points_events WHERE topic = %s ORDER BY notification_id LIMIT 1000', (RECORDED_TOPIC,)
        ).fetchall()
        assert templates, "the warm-up stored no work events"
        table = f'"{schema}".bench_raw_copy_{uuid.uuid4().hex[:8]}'
        conn.execute(f'CREATE TABLE {table} (LIKE "{schema}".points_events INCLUDING INDEXES INCLUDING CONSTRAINTS)')
        try:
            position = 10_000_000
            cpu0 = backend_cpu(conn)
            started = time.perf_counter()
            for start in range(0, rows, 1000):
                chosen = [templates[(start + k) % len(templates)] for k in range(min(1000, rows - start))]
                with conn.transaction(), conn.cursor() as cur:
                    copy_event_rows(cur, table, chosen, position + start)
            return rows / (time.perf_counter() - started), per_item_us(cpu0, backend_cpu(conn), rows)
        finally:
            conn.execute(f"DROP TABLE {table}")


FLOOR_TABLES = ("points_events", "points_chain", "balance_lines", "audit_events", "balance_dimensions")


def raw_floor_rate(base_url: str, schema: str, events: int) -> tuple[float, float | None]:
    """(events/s, PostgreSQL CPU µs per event or None) of binary COPY of every row one recorded work event makes the service write, 1,000 events per transaction.

    The rows are the warm-up's own (event, hash-chain link, ledger lines, audit row; then one
    upsert of the balances' dimension sums per transaction, as the projector does per page),
    copied into tables like the service's (same columns and indexes, no triggers) by one
    connection, with no domain work at all. It is what the database alone costs for what the
    service stores and projects: no implementation of the service's tables can go faster on
    one connection. The service splits this work over two connections (the append, the
    projector), so it is a reference, not a strict ceiling.
    """
    with connect(base_url, autocommit=True) as conn:
        templates: list[tuple[Any, ...]] = []
        deadline = time.monotonic() + 30
        while len(templates) < 50 and time.monotonic() < deadline:  # the projector may still be booking the warm-up
            templates = conn.execute(
                f'SELECT e.notification_id, e.topic, e.state FROM "{schema}".points_events e '
                f'JOIN "{schema}".audit_events a ON a.position = e.notification_id WHERE e.topic = %s ORDER BY e.notification_id LIMIT 1000',
                (RECORDED_TOPIC,),
            ).fetchall()  # fmt: skip
            if len(templates) < 50:
                time.sleep(0.2)
        assert len(templates) >= 50, "the projector booked fewer than 50 of the warm-up's work events in 30 s"
        positions = [t[0] for t in templates]
        link = conn.execute(f'SELECT hash FROM "{schema}".points_chain ORDER BY position LIMIT 1').fetchone()
        assert link is not None, "the warm-up stored no chain link"
        lines: dict[int, list[list[Any]]] = defaultdict(list)
        for r in conn.execute(f'SELECT * FROM "{schema}".balance_lines WHERE position = ANY(%s) ORDER BY position, line_no', (positions,)):
            lines[r[0]].append(list(r))
        audit = {r[0]: list(r) for r in conn.execute(f'SELECT * FROM "{schema}".audit_events WHERE position = ANY(%s)', (positions,))}

        def columns(table: str) -> tuple[list[str], list[str]]:
            found = conn.execute(
                "SELECT column_name, udt_name FROM information_schema.columns WHERE table_schema = %s AND table_name = %s ORDER BY ordinal_position",
                (schema, table),
            ).fetchall()  # fmt: skip
            return [f'"{c}"' for c, _ in found], [t for _, t in found]

        suffix = uuid.uuid4().hex[:8]
        tables = {t: f'"{schema}".bench_floor_{t}_{suffix}' for t in FLOOR_TABLES}
        for t, name in tables.items():
            conn.execute(f'CREATE TABLE {name} (LIKE "{schema}".{t} INCLUDING INDEXES INCLUDING CONSTRAINTS)')
        line_cols, line_types = columns("balance_lines")
        audit_cols, audit_types = columns("audit_events")
        at = {c.strip('"'): i for i, c in enumerate(line_cols)}  # SELECT * gives the columns in this order
        assert line_cols[:2] == ['"position"', '"line_no"'] and audit_cols[:2] == ['"position"', '"event_id"'], "the view's columns moved"
        dims = tables["balance_dimensions"]
        upsert = (
            f"INSERT INTO {dims} (employee_id, booked_month, dimension, point_value, points, weighted_points) "
            "SELECT * FROM unnest(%s::text[], %s::text[], %s::text[], %s::text[], %s::int8[], %s::int8[]) "
            f"ON CONFLICT (employee_id, booked_month, dimension, point_value) DO UPDATE SET points = {dims}.points + excluded.points, "
            f"weighted_points = {dims}.weighted_points + excluded.weighted_points"
        )  # fmt: skip
        try:
            position = 10_000_000
            cpu0 = backend_cpu(conn)
            started = time.perf_counter()
            for start in range(0, events, 1000):
                count = min(1000, events - start)
                chosen = [templates[(start + k) % len(templates)] for k in range(count)]
                with conn.transaction(), conn.cursor() as cur:
                    copy_event_rows(cur, tables["points_events"], [(topic, state) for _, topic, state in chosen], position)
                    with cur.copy(f'COPY {tables["points_chain"]} ("position", hash) FROM STDIN (FORMAT BINARY)') as copy:
                        copy.set_types(["int8", "bytea"])
                        for k in range(count):
                            copy.write_row((position + k, link[0]))
                    sums: dict[tuple[str, str, str, str], list[int]] = defaultdict(lambda: [0, 0])
                    with cur.copy(f"COPY {tables['balance_lines']} ({', '.join(line_cols)}) FROM STDIN (FORMAT BINARY)") as copy:
                        copy.set_types(line_types)
                        for k, (source, _, _) in enumerate(chosen):
                            for line in lines[source]:
                                copy.write_row([position + k, *line[1:]])
                                total = sums[(line[at["employee_id"]], line[at["booked_month"]], line[at["dimension"]], line[at["point_value"]])]
                                total[0] += line[at["points"]]
                                total[1] += line[at["weighted_points"]]
                    with cur.copy(f"COPY {tables['audit_events']} ({', '.join(audit_cols)}) FROM STDIN (FORMAT BINARY)") as copy:
                        copy.set_types(audit_types)
                        for k, (source, _, _) in enumerate(chosen):
                            copy.write_row([position + k, str(uuid.uuid4()), *audit[source][2:]])
                    keys = list(sums)
                    cur.execute(
                        upsert,
                        ([k[0] for k in keys], [k[1] for k in keys], [k[2] for k in keys], [k[3] for k in keys], [sums[k][0] for k in keys],
                         [sums[k][1] for k in keys]),
                    )  # fmt: skip
                position += count
            return events / (time.perf_counter() - started), per_item_us(cpu0, backend_cpu(conn), events)
        finally:
            for name in tables.values():
                conn.execute(f"DROP TABLE {name}")


def per_item_us(cpu0: float | None, cpu1: float | None, items: int) -> float | None:
    return None if cpu0 is None or cpu1 is None else (cpu1 - cpu0) * 1e6 / items


def median_run(n: int, measure: Any) -> tuple[float, Any]:
    """The (rate, extra) of the run with the median rate among n."""
    runs = sorted((measure() for _ in range(n)), key=lambda r: r[0])
    return runs[len(runs) // 2]


def raw_read_rate(base_url: str, schema: str) -> tuple[float, int]:
    """(rows/s, rows) of an ordered read of the whole event table, server-side cursor, 1,000 rows per fetch."""
    with connect(base_url) as conn, conn.cursor(name=f"bench_read_{uuid.uuid4().hex[:6]}") as cur:
        cur.itersize = 1000
        started = time.perf_counter()
        cur.execute(f'SELECT * FROM "{schema}".points_events ORDER BY notification_id')
        count = sum(1 for _ in cur)
        return count / (time.perf_counter() - started), count


# -- CPU: is the client the bottleneck? ----------------------------------------------------------


TICK = os.sysconf("SC_CLK_TCK")


def _proc_cpu(pid: int) -> float:
    """CPU seconds (user + system) of one process, 0 if it is gone."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / TICK


def backend_cpu(conn: psycopg.Connection[Any]) -> float | None:
    """CPU seconds used so far by this connection's PostgreSQL backend, if it runs on this machine (None if not)."""
    pid = conn.info.backend_pid
    try:
        if not Path(f"/proc/{pid}/cmdline").read_bytes().startswith(b"postgres"):
            return None
    except OSError:
        return None
    return _proc_cpu(pid)


def _descendants(pid: int) -> list[int]:
    children: dict[int, list[int]] = defaultdict(list)
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                ppid = int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1])
            except (OSError, IndexError, ValueError):
                continue
            children[ppid].append(int(entry.name))
    found, todo = [], [pid]
    while todo:
        p = todo.pop()
        found.append(p)
        todo.extend(children.get(p, []))
    return found


def _machine_jiffies() -> tuple[int, int]:
    """(busy, total) jiffies of all CPUs since boot."""
    values = [int(v) for v in Path("/proc/stat").read_text().splitlines()[0].split()[1:]]
    idle = values[3] + (values[4] if len(values) > 4 else 0)
    total = sum(values[:8])
    return total - idle, total


class CpuMeter:
    """CPU used by the server (with its worker processes), by the client processes, and by the whole machine, over a window."""

    def __init__(self, server_pid: int, client_pids: list[int]) -> None:
        self.server_pid, self.client_pids = server_pid, client_pids
        self._start: tuple[float, float, float, tuple[int, int]] | None = None

    def _sample(self) -> tuple[float, float, float, tuple[int, int]]:
        server = sum(_proc_cpu(p) for p in _descendants(self.server_pid))
        clients = sum(_proc_cpu(p) for p in self.client_pids)
        return time.monotonic(), server, clients, _machine_jiffies()

    def start(self) -> None:
        self._start = self._sample()

    def stop(self) -> dict[str, float]:
        assert self._start is not None
        t0, s0, c0, (b0, a0) = self._start
        t1, s1, c1, (b1, a1) = self._sample()
        wall = max(t1 - t0, 1e-9)
        cpus = os.cpu_count() or 1
        machine = (b1 - b0) / max(a1 - a0, 1) * cpus  # cores busy
        return {
            "server_cores": round((s1 - s0) / wall, 2), "client_cores": round((c1 - c0) / wall, 2),
            "machine_cores_busy": round(machine, 2), "other_cores": round(max(0.0, machine - (s1 - s0 + c1 - c0) / wall), 2),
        }  # fmt: skip


# -- load ------------------------------------------------------------------------------------------


def aligned_split(numbers: list[int], parts: int, align: int) -> list[list[int]]:
    """numbers in `parts` slices of whole chunks of `align` (so that batches are whole), some maybe empty."""
    chunks = chunked(numbers, align)
    return [[n for chunk in chunks[p::parts] for n in chunk] for p in range(parts)]


@dataclass
class Phase:
    wall: float
    calls: int
    latencies: list[float]
    positions: dict[int, int]
    started: float
    finished: float
    cpu: dict[str, float]


def run_phase(
    pool: ClientPool, kind: str, port: int, numbers: list[int], *, in_flight: int, batch_size: int = 1, tag: str = "", employees: int = 1,
    cpu: CpuMeter | None = None, calls_per_second: float = 0.0,
) -> Phase:
    """Spreads `in_flight` threads over the client processes; every request must be recorded fresh.

    With calls_per_second, the calls are due at that steady rate (at most `in_flight` at once)
    and each latency counts from when its call was due; without, every thread calls back to back."""
    processes = min(len(pool), in_flight)
    shares = aligned_split(numbers, processes, batch_size)
    threads = [in_flight // processes + (1 if p < in_flight % processes else 0) for p in range(processes)]
    jobs: list[Job | None] = [
        Job(kind=kind, port=port, tag=tag, numbers=shares[p], batch_size=batch_size, threads=threads[p], employees=employees,
            rate=calls_per_second, threads_before=sum(threads[:p]), threads_total=in_flight) if shares[p] else None
        for p in range(processes)
    ]  # fmt: skip
    start_at, results = pool.run(jobs + [None] * (len(pool) - processes), on_start=cpu.start if cpu else None)
    usage = cpu.stop() if cpu else {}
    failures = [f for r in results for f in r.failures]
    if failures:
        raise RuntimeError(f"{kind} phase: {len(failures)} requests failed, e.g. {failures[:5]}")
    finished = max(r.finished for r in results)
    positions: dict[int, int] = {}
    for r in results:
        positions.update(r.positions)
    return Phase(
        wall=finished - start_at, calls=sum(r.calls for r in results), latencies=[x for r in results for x in r.latencies],
        positions=positions, started=start_at, finished=finished, cpu=usage,
    )  # fmt: skip


def quantiles_ms(latencies: list[float]) -> tuple[float, float]:
    if len(latencies) < 2:
        value = latencies[0] * 1000 if latencies else float("nan")
        return value, value
    q = statistics.quantiles(latencies, n=100, method="inclusive")
    return q[49] * 1000, q[98] * 1000


class BalanceReader(threading.Thread):
    """GetBalance for random employees and months at a steady rate, one call at a time, while `active` is set.

    Calls are due every 1/rate seconds (an open loop, as payroll and supervisors' screens read,
    not a tight loop whose load would depend on its own latency); each latency is taken from
    when the call was due, so a call that had to wait behind a slow one counts its wait.
    """

    def __init__(self, port: int, employees: int, seed: int, rate: float) -> None:
        super().__init__(daemon=True)
        self.port, self.employees, self.rng, self.interval = port, employees, random.Random(seed), 1.0 / rate
        self.active = threading.Event()
        self.stopped = threading.Event()
        self.latencies: dict[str, list[float]] = defaultdict(list)
        self.errors: list[str] = []
        self.label = ""

    def during(self, label: str) -> None:
        self.label = label
        self.active.set()

    def run(self) -> None:
        with grpc.insecure_channel(f"127.0.0.1:{self.port}") as channel:
            balances = balances_pb2_grpc.BalanceServiceStub(channel)
            due = None
            while not self.stopped.is_set():
                if not self.active.wait(0.05):
                    due = None
                    continue
                now = time.perf_counter()
                due = now if due is None else due + self.interval
                if due > now:
                    time.sleep(due - now)
                label = self.label
                request = balances_pb2.GetBalanceRequest(
                    employee_id=employee_of(self.rng.randrange(self.employees), self.employees), period=self.rng.choice(MONTHS)
                )
                try:
                    balances.GetBalance(request, timeout=10)
                except grpc.RpcError as e:
                    self.errors.append(f"{e.code().name}: {e.details()}")
                    continue
                self.latencies[label].append(time.perf_counter() - due)

    def stop(self) -> None:
        self.active.clear()
        self.stopped.set()
        self.join(30)


# -- correctness -----------------------------------------------------------------------------------


@dataclass
class Sent:
    """Every request the run sent and had recorded: (tag, n) -> the position its first send answered."""

    employees: int
    positions: dict[tuple[str, int], int] = field(default_factory=dict)

    def add(self, tag: str, phase: Phase) -> None:
        for n, position in phase.positions.items():
            self.positions[(tag, n)] = position


def expected_lines(policy_path: Path, fields: dict[str, Any], outlet_class: str) -> list[tuple[str, Decimal, Decimal]]:
    """(dimension, points, weighted points) of a request, computed from the policy file alone (not the service's code):
    quantity x points_per_unit x the outlet class's multiplier, and that times the dimension's weight, each rounded
    half-even to 4 places, as the policy file says. Only the uncapped kinds of load_clients.KINDS are sent."""
    policy = _policy(policy_path)["roles"]["service_manager"]
    (rule,) = [r for r in policy["rules"] if r["kind"] == fields["kind"] and "when" not in r]
    assert "cap_per_day" not in rule and "cap_per_period" not in rule, f"{rule['id']} is capped: the replay would need the caps"
    multiplier = Decimal(str(rule.get("multiplier", {}).get(outlet_class, 1)))
    points = (Decimal(fields["quantity"]) * Decimal(str(rule["points_per_unit"])) * multiplier).quantize(QUANTUM, ROUND_HALF_EVEN)
    weighted = (points * Decimal(str(policy["dimensions"][rule["dimension"]]))).quantize(QUANTUM, ROUND_HALF_EVEN)
    return [(rule["dimension"], points, weighted)]


_POLICIES: dict[Path, dict[str, Any]] = {}


def _policy(path: Path) -> dict[str, Any]:
    if path not in _POLICIES:
        _POLICIES[path] = tomllib.loads(path.read_text())
    return _POLICIES[path]


def stored_work_events(url: str, base_url: str, schema: str) -> list[tuple[int, Any]]:
    """(position, WorkEvent.Recorded) of every stored work event, read from the event table and decoded with the
    application's mapper (its transcodings, compression and cipher, as configured by the store URL)."""
    from datetime import datetime, timezone
    from zoneinfo import ZoneInfo

    from eventsourcing.persistence import StoredEvent

    from points.application.points import PointsApplication
    from points.storage.settings import parse_database_url

    app = PointsApplication(
        parse_database_url(url).env(create_table=False), clock=lambda: datetime.now(timezone.utc), business_timezone=ZoneInfo("UTC")
    )
    try:
        found = []
        with connect(base_url) as conn, conn.cursor(name="bench_decode") as cur:
            cur.itersize = 1000
            cur.execute(
                f'SELECT notification_id, originator_id, originator_version, topic, state FROM "{schema}".points_events '
                "WHERE topic = %s ORDER BY notification_id",
                (RECORDED_TOPIC,),
            )
            for position, originator_id, version, topic, state in cur:
                event = app.mapper.to_domain_event(StoredEvent(originator_id, version, topic, bytes(state)))
                found.append((position, event))
        return found
    finally:
        app.close()


def check_ledger(
    port: int, url: str, base_url: str, schema: str, sent: Sent, policy_path: Path, *, resend: int, seed: int
) -> dict[str, Any]:
    """Does the service's every balance equal an independent replay of the log, and was every request stored once?

    The replay is independent of the live projection (the thing under test): the event table is
    read back with SQL and decoded with the application's mapper, and the replay is plain sums of
    the stored lines per employee and business month (no caps are in play, no month is closed,
    nothing is corrected, so booked month = business month); the projection's code, tables and
    tracking position are not used. The stored lines are also compared, request by request,
    with what the policy FILE says each request earns (expected_lines: computed here without
    the service's code), so a scoring bug would show too. Then:

    - every (employee, month) the run wrote: GetBalance (min_position = the head) must equal
      both, in total, per dimension and in event count;
    - duplicates: the number of stored work events must equal the number of distinct request
      ids sent; every sent request id must be stored exactly once and nothing else stored;
    - retries: a sample of the requests is sent again, half through RecordWorkEvent and half
      in one RecordWorkEvents call; each must answer replayed=True with the position of the
      stored event (which is also the position its first send answered), and the count
      must not change.
    """
    problems: list[str] = []
    rng = random.Random(seed)
    keys = sorted(sent.positions)
    sample = rng.sample(keys, min(resend, len(keys)))
    head_before = log_head(base_url, schema)

    with grpc.insecure_channel(f"127.0.0.1:{port}") as channel:
        work = work_events_pb2_grpc.WorkEventServiceStub(channel)
        balances = balances_pb2_grpc.BalanceServiceStub(channel)
        half = len(sample) // 2
        replies: list[tuple[tuple[str, int], bool, int]] = []
        for tag, n in sample[:half]:
            r = work.RecordWorkEvent(work_request(tag, n, sent.employees), timeout=30)
            replies.append(((tag, n), r.replayed, r.position))
        if sample[half:]:
            batch = work.RecordWorkEvents(
                work_events_pb2.RecordWorkEventsRequest(requests=[work_request(tag, n, sent.employees) for tag, n in sample[half:]]), timeout=60
            )
            for key, item in zip(sample[half:], batch.results, strict=True):
                if not item.HasField("recorded"):
                    problems.append(f"resend of {key[0]}-{key[1]} failed: {item.error.message}")
                    continue
                replies.append((key, item.recorded.replayed, item.recorded.position))

        stored = stored_work_events(url, base_url, schema)
        by_request: dict[str, list[int]] = defaultdict(list)
        replay: dict[tuple[str, str], dict[str, list[Decimal]]] = defaultdict(lambda: defaultdict(lambda: [Decimal(0), Decimal(0)]))
        events_in: Counter[tuple[str, str]] = Counter()
        stored_lines: dict[str, list[tuple[str, Decimal, Decimal]]] = {}
        for position, event in stored:
            by_request[event.request_id].append(position)
            key = (event.employee_id, event.occurred_on.isoformat()[:7])
            events_in[key] += 1
            lines = [(line.dimension, line.points, line.weighted_points) for line in event.lines]
            stored_lines[event.request_id] = lines
            for dimension, points, weighted in lines:
                replay[key][dimension][0] += points
                replay[key][dimension][1] += weighted

        sent_ids = {f"{tag}-{n}": (tag, n) for tag, n in keys}
        twice = {rid: ps for rid, ps in by_request.items() if len(ps) > 1}
        missing = sorted(set(sent_ids) - set(by_request))
        extra = sorted(set(by_request) - set(sent_ids))
        if len(stored) != len(sent_ids):
            problems.append(f"{len(stored)} work events stored for {len(sent_ids)} distinct request ids sent")
        if twice:
            problems.append(f"{len(twice)} request ids stored more than once, e.g. {sorted(twice.items())[:3]}")
        if missing:
            problems.append(f"{len(missing)} request ids sent and recorded but not stored, e.g. {missing[:3]}")
        if extra:
            problems.append(f"{len(extra)} work events stored that the run did not send, e.g. {extra[:3]}")
        if log_head(base_url, schema) != head_before:
            problems.append(f"resending {len(sample)} requests moved the log head from {head_before} to {log_head(base_url, schema)}")
        for (tag, n), replayed, position in replies:
            original = by_request.get(f"{tag}-{n}", [None])[0]
            if not replayed or position != original or position != sent.positions[(tag, n)]:
                problems.append(
                    f"resend of {tag}-{n}: replayed={replayed} position {position}; stored at {original}, first answered {sent.positions[(tag, n)]}"
                )

        # What the policy file says, request by request, and summed: independent of the service's scoring.
        expected: dict[tuple[str, str], dict[str, list[Decimal]]] = defaultdict(lambda: defaultdict(lambda: [Decimal(0), Decimal(0)]))
        mismatched_lines = 0
        for rid, (tag, n) in sent_ids.items():
            fields = request_fields(tag, n, sent.employees)
            lines = expected_lines(policy_path, fields, OUTLETS[n % sent.employees % len(OUTLETS)][1])
            if rid in stored_lines and stored_lines[rid] != lines:
                mismatched_lines += 1
                if mismatched_lines <= 3:
                    problems.append(f"{rid}: stored lines {stored_lines[rid]}, the policy file gives {lines}")
            for dimension, points, weighted in lines:
                key = (fields["employee_id"], fields["occurred_on"][:7])
                expected[key][dimension][0] += points
                expected[key][dimension][1] += weighted
        if mismatched_lines:
            problems.append(f"{mismatched_lines} stored events' lines differ from the policy file's")
        if {k: {d: v for d, v in dims.items()} for k, dims in replay.items()} != {k: {d: v for d, v in dims.items()} for k, dims in expected.items()}:
            problems.append("the replay of the stored events differs from the sums the policy file gives for what was sent")

        head = log_head(base_url, schema)

        def compare(key: tuple[str, str]) -> str | None:
            employee, month = key
            answer = balances.GetBalance(balances_pb2.GetBalanceRequest(employee_id=employee, period=month, min_position=head), timeout=120)
            b = answer.balance
            got = {d.dimension: [Decimal(d.points), Decimal(d.weighted_points)] for d in b.dimensions}
            want = {d: v for d, v in replay[key].items()}
            total = sum((v[1] for v in want.values()), Decimal(0))
            if got != want or Decimal(b.total) != total or b.event_count != events_in[key]:
                return f"GetBalance({employee}, {month}): total {b.total}, {b.event_count} events, {got}; replay: total {total}, {events_in[key]} events, {want}"
            return None

        wrong = [p for p in ThreadPoolExecutor(8).map(compare, sorted(expected)) if p]
        problems.extend(wrong[:5])
        if wrong:
            problems.append(f"{len(wrong)} of {len(expected)} balances differ from the replay")

    return {
        "passed": not problems,
        "balances_compared": len(expected),
        "work_events_stored": len(stored),
        "distinct_request_ids_sent": len(sent_ids),
        "resent": len(replies),
        "problems": problems,
    }


# -- the benchmark ---------------------------------------------------------------------------------


def row(figure: float, unit: str, baseline: float | None, baseline_name: str, goal: str, met: bool | None, **extra: Any) -> dict[str, Any]:
    return {
        "figure": round(figure, 3), "unit": unit,
        "baseline": None if baseline is None else round(baseline, 3), "baseline_name": baseline_name,
        "ratio": None if not baseline else figure / baseline, "goal": goal, "met": met, **extra,
    }  # fmt: skip


def failed_row(error: Exception, server: Server | None) -> dict[str, Any]:
    """A row that could not be measured: the error (and the server's last log lines) instead of figures."""
    text = f"{type(error).__name__}: {error}"
    if isinstance(error, grpc.RpcError):
        text = f"{error.code().name}: {error.details()}"  # type: ignore[attr-defined]
    log_tail = server.log.read_text(errors="replace")[-2000:] if server is not None and server.log.exists() else ""
    print(f"error: {text}" + (f"\n  server log, last lines:\n{log_tail}" if log_tail else ""), file=sys.stderr, flush=True)
    return {"figure": None, "unit": "", "baseline": None, "baseline_name": "", "ratio": None, "goal": "", "met": None, "error": text}


def measure_verify_ledger(port: int, log_rows: int) -> tuple[float, int]:
    """(events/s, events checked) of VerifyLedger over the whole log, median of 3."""
    rates: list[float] = []
    with grpc.insecure_channel(f"127.0.0.1:{port}") as channel:
        audit = audit_pb2_grpc.AuditServiceStub(channel)
        for _ in range(3):
            t0 = time.perf_counter()
            verified = audit.VerifyLedger(audit_pb2.VerifyLedgerRequest(), timeout=600)
            elapsed = time.perf_counter() - t0
            if not verified.verified or verified.checked < log_rows:
                raise RuntimeError(f"VerifyLedger did not verify the whole log ({log_rows} events): {verified}")
            rates.append(verified.checked / elapsed)
    return statistics.median(rates), verified.checked


def measure_rebuild(url: str) -> tuple[float, str]:
    """(events/s, its output) of `points projections rebuild`, as it reports them (the rebuild alone, not process start-up)."""
    rebuild = subprocess.run([str(POINTS), "projections", "rebuild", "--database", url], capture_output=True, text=True, env=ENV, check=False)
    match = re.search(r"\(([\d,]+) events/s\)", rebuild.stdout)
    if rebuild.returncode != 0 or match is None:
        raise RuntimeError(f"points projections rebuild failed ({rebuild.returncode}):\n{rebuild.stdout}\n{rebuild.stderr[-2000:]}")
    return float(match.group(1).replace(",", "")), rebuild.stdout.strip()


def wait_for_tracking(base_url: str, schema: str, head: int, process: subprocess.Popen[bytes], timeout: float) -> tuple[float, float | None]:
    """Polls the late projector's tracking row until it reaches head: (instant reached, instant it first moved)."""
    deadline = time.monotonic() + timeout
    first_move = None
    with connect(base_url, autocommit=True) as conn:
        while time.monotonic() < deadline:
            row_ = conn.execute(f'SELECT max(notification_id) FROM "{schema}".balances_tracking').fetchone()
            position = int(row_[0]) if row_ and row_[0] is not None else 0
            now = time.monotonic()
            if position > 0 and first_move is None:
                first_move = now
            if position >= head:
                return now, first_move
            if process.poll() is not None:
                stderr = process.stderr.read().decode(errors="replace")[-2000:] if process.stderr else ""
                raise RuntimeError(f"`points project` exited with {process.returncode} at position {position} of {head}:\n{stderr}")
            time.sleep(0.005)
    raise RuntimeError(f"`points project` did not reach position {head} within {timeout:.0f} s")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--events", type=int, default=20_000, help="events per RecordWorkEvents run (each batch size)")
    parser.add_argument("--unary", type=int, default=2_000, help="calls per RecordWorkEvent run and per Health/Check baseline run")
    parser.add_argument("--late-events", type=int, default=20_000, help="events written before the late projector starts")
    parser.add_argument("--warmup", type=int, default=1_000, help="events written before anything is timed")
    parser.add_argument("--employees", type=int, default=200)
    parser.add_argument("--client-processes", type=int, default=2, help="processes sending the load")
    parser.add_argument("--batch-in-flight", type=int, default=2, help="RecordWorkEvents calls in flight")
    parser.add_argument("--server-processes", type=int, default=1, help="N > 1 passes --processes N to `points serve`")
    parser.add_argument(
        "--projector", choices=("separate", "in-process"), default="separate",
        help="separate (default, as deployed: `points serve --no-projector` beside a `points project` process) "
        "or in-process (`points serve` projects in a thread, as `make run` does)",
    )  # fmt: skip
    parser.add_argument("--reads-per-second", type=float, default=50.0, help="GetBalance calls due per second during the write phases")
    parser.add_argument("--resend", type=int, default=200, help="requests resent by the correctness check")
    parser.add_argument("--seed", type=int, default=9)
    parser.add_argument("--output", type=Path, default=REPO / "bench-results" / "record_events.json")
    parser.add_argument("--postgres-url", help="a server to use (default: POINTS_TEST_POSTGRES_URL, 127.0.0.1:5432, or a throwaway one)")
    parser.add_argument("--keep-schemas", action="store_true", help="leave the two bench schemas for inspection")
    args = parser.parse_args(argv)

    serve_extra = ["--max-concurrent-rpcs", "256"]  # 64 writes + the reader in flight must not meet the default limit of 64
    main_extra = ["--no-projector"] if args.projector == "separate" else []
    if args.server_processes > 1:
        if not serve_supports_processes():
            print(
                f"error: --server-processes {args.server_processes} needs `points serve --processes N`, "
                "and this `points serve --help` does not offer it (not implemented yet?)",
                file=sys.stderr,
            )
            return 2
        serve_extra += ["--processes", str(args.server_processes)]

    pg = ensure_postgres(args.postgres_url)
    schemas = {"main": f"bench_{uuid.uuid4().hex[:8]}", "late": f"bench_late_{uuid.uuid4().hex[:8]}"}
    sep = "&" if "?" in pg.url else "?"
    urls = {k: f"{pg.url}{sep}schema={s}" for k, s in schemas.items()}
    policy_path = example_policy_path()
    cpus = os.cpu_count() or 0
    machine = {
        "cpus": cpus, "python": platform.python_version(), "platform": platform.platform(),
        "client_processes": args.client_processes, "server_processes": args.server_processes, "projector": args.projector,
        "note": f"{cpus} CPUs shared by the {args.client_processes} client processes, the server, "
        f"{'its `points project` process, ' if args.projector == 'separate' else ''}and PostgreSQL (and whatever else runs here)",
    }  # fmt: skip
    b0, a0 = _machine_jiffies()
    time.sleep(1.0)
    b1, a1 = _machine_jiffies()
    machine["background_cores_busy"] = round((b1 - b0) / max(a1 - a0, 1) * cpus, 2)  # before anything of ours runs: other users' load
    sizes = {k: getattr(args, k) for k in ("events", "unary", "late_events", "warmup", "employees", "batch_in_flight", "resend", "reads_per_second")}
    print(f"machine: {machine['note']}; figures and baselines compete for the same cores; "
          f"{machine['background_cores_busy']:.2f} of {cpus} cores were busy with other work in the second before the run", flush=True)  # fmt: skip
    rows: dict[str, dict[str, Any]] = {}
    checks: dict[str, dict[str, Any]] = {}
    log_dir = Path(tempfile.mkdtemp(prefix="points-bench-"))
    pool = ClientPool(args.client_processes)
    servers: list[Server] = []
    project: subprocess.Popen[bytes] | None = None
    main_project: subprocess.Popen[bytes] | None = None
    try:
        # 1. The main server (and its projector process, as deployed), its directory, a warm-up.
        server = start_server(urls["main"], log_dir, *serve_extra, *main_extra)
        servers.append(server)
        if args.projector == "separate":
            main_project = subprocess.Popen([str(POINTS), "project", "--database", urls["main"]], env=ENV, stdout=subprocess.DEVNULL)
        register_directory(server.port, args.employees)
        sent = Sent(args.employees)
        cpu = CpuMeter(server.process.pid, pool.pids())
        phase = lambda kind, tag, numbers, **kw: run_phase(pool, kind, server.port, numbers, tag=tag, employees=args.employees, cpu=cpu, **kw)  # noqa: E731
        warm = phase("batch", "warm", list(range(args.warmup)), in_flight=args.batch_in_flight, batch_size=100)
        sent.add("warm", warm)
        warm_unary = phase("unary", "warm-u", list(range(4 * len(pool))), in_flight=len(pool))
        sent.add("warm-u", warm_unary)
        phase("health", "", list(range(100)), in_flight=len(pool))

        # 2. Baselines before the writes.
        health: dict[int, Phase] = {}
        for c in (16, 64):
            health[c] = phase("health", "", list(range(args.unary)), in_flight=c)
            print(f"baseline: Health/Check, {c} in flight: {args.unary / health[c].wall:,.0f} calls/s", flush=True)
        copy_meter = CpuMeter(server.process.pid, [os.getpid()])
        copy_meter.start()
        copy_rate, copy_db_us = median_run(3, lambda: raw_copy_rate(pg.url, schemas["main"], args.events))
        copy_cpu = copy_meter.stop()
        print(f"baseline: raw COPY, 1,000 rows/transaction, one connection: {copy_rate:,.0f} rows/s", flush=True)
        floor_rate, floor_db_us = median_run(3, lambda: raw_floor_rate(pg.url, schemas["main"], args.events))
        floor = {
            "events_per_s": round(floor_rate), "ratio_to_raw_copy": floor_rate / copy_rate,
            "postgres_backend_us_per_event": None if floor_db_us is None else round(floor_db_us, 1),
            "raw_copy_postgres_backend_us_per_row": None if copy_db_us is None else round(copy_db_us, 1),
        }  # fmt: skip
        print(f"reference: database floor (raw COPY of the rows one work event writes, 1,000 events/transaction, one connection): "
              f"{floor_rate:,.0f} events/s = {floor_rate / copy_rate:.1%} of raw COPY", flush=True)  # fmt: skip

        # A reference: GetBalance with nothing else running (the reader alone, for a few seconds).
        reader = BalanceReader(server.port, args.employees, args.seed, args.reads_per_second)
        reader.start()
        reader.during("idle")
        time.sleep(3.0)
        r50, r99 = quantiles_ms(reader.latencies["idle"])
        idle_reads = {"get_balance_calls": len(reader.latencies["idle"]), "get_balance_p50_ms": round(r50, 2), "get_balance_p99_ms": round(r99, 2)}

        # 3. The write phases, back to back, with the reader.
        first_position = log_head(pg.url, schemas["main"])
        writes: dict[str, Phase] = {}
        for size in (100, 1000):
            name = f"record_work_events_{size}_per_call"
            reader.during(name)
            writes[name] = phase("batch", f"b{size}", list(range(args.events)), in_flight=args.batch_in_flight, batch_size=size)
            sent.add(f"b{size}", writes[name])
            rate = args.events / writes[name].wall
            p50, p99 = quantiles_ms(writes[name].latencies)
            rows[name] = row(rate, "events/s", copy_rate, "raw COPY rows/s", ">= 50%", rate / copy_rate >= 0.5,
                             calls_in_flight=args.batch_in_flight, call_p50_ms=round(p50, 2), call_p99_ms=round(p99, 2),
                             cpu=writes[name].cpu, baseline_cpu=copy_cpu, database_floor_events_per_s=round(floor_rate),
                             ratio_to_database_floor=rate / floor_rate)  # fmt: skip
        for c in (16, 64):
            name = f"record_work_event_{c}_in_flight"
            reader.during(name)
            writes[name] = phase("unary", f"u{c}", list(range(args.unary)), in_flight=c)
            sent.add(f"u{c}", writes[name])
            rate = args.unary / writes[name].wall
            baseline = args.unary / health[c].wall
            p50, p99 = quantiles_ms(writes[name].latencies)
            hp50, hp99 = quantiles_ms(health[c].latencies)
            rows[name] = row(rate, "events/s", baseline, f"Health/Check calls/s at {c} in flight", ">= 60%, p99 <= 15 ms",
                             rate / baseline >= 0.6 and p99 <= 15, p50_ms=round(p50, 2), p99_ms=round(p99, 2),
                             baseline_p50_ms=round(hp50, 2), baseline_p99_ms=round(hp99, 2), cpu=writes[name].cpu, baseline_cpu=health[c].cpu)  # fmt: skip
        # 3b. A reference, not a row of issue 9: GetBalance while RecordWorkEvents (100 per call) run paced at half
        # the rate the 100-per-call phase reached, i.e. with the machine below saturation.
        paced_events = (args.events // 100) * 100
        paced_rate = 0.5 * rows["record_work_events_100_per_call"]["figure"]
        reader.during("paced")
        paced = phase("batch", "p100", list(range(paced_events)), in_flight=8, batch_size=100, calls_per_second=paced_rate / 100)
        sent.add("p100", paced)
        writes["paced"] = paced
        p50, p99 = quantiles_ms(paced.latencies)
        reads_paced = list(reader.latencies["paced"])
        r50, r99 = quantiles_ms(reads_paced)
        below_saturation = {
            "target_events_per_s": round(paced_rate), "events_per_s": round(paced_events / paced.wall), "call_p50_ms": round(p50, 2),
            "call_p99_ms": round(p99, 2), "get_balance_calls": len(reads_paced), "get_balance_p50_ms": round(r50, 2),
            "get_balance_p99_ms": round(r99, 2), "cpu": paced.cpu,
        }  # fmt: skip
        last_position = max(max(p.positions.values()) for p in writes.values())
        end_of_writes = max(p.finished for p in writes.values())
        first_write = writes["record_work_events_100_per_call"].started
        reader.active.clear()

        # 4. Live catch-up.
        with grpc.insecure_channel(f"127.0.0.1:{server.port}") as channel:
            balances_pb2_grpc.BalanceServiceStub(channel).GetBalance(
                balances_pb2.GetBalanceRequest(employee_id=employee_of(0, args.employees), period=MONTHS[0], min_position=last_position), timeout=600
            )
        caught_up = time.monotonic()
        reader.stop()
        projected = last_position - first_position

        # 5. Raw read, VerifyLedger.
        read_rate, log_rows = median_run(3, lambda: raw_read_rate(pg.url, schemas["main"]))
        print(f"baseline: raw ordered read, 1,000 rows/fetch: {read_rate:,.0f} rows/s ({log_rows:,} rows)", flush=True)
        live_rate = projected / (caught_up - first_write)
        rows["projection_catch_up_live"] = row(
            live_rate, "events/s", read_rate, "raw ordered read rows/s", ">= 35%", live_rate / read_rate >= 0.35,
            events=projected, lag_after_last_write_s=round(caught_up - end_of_writes, 3), seconds_from_first_write=round(caught_up - first_write, 3),
        )  # fmt: skip
        try:
            verify_rate, checked = measure_verify_ledger(server.port, log_rows)
            rows["verify_ledger"] = row(verify_rate, "events/s", read_rate, "raw ordered read rows/s", ">= 50% and >= 200,000 events/s",
                                        verify_rate / read_rate >= 0.5 and verify_rate >= 200_000, events=checked)  # fmt: skip
        except Exception as e:  # noqa: BLE001 - recorded as the row's failure; the run goes on to the correctness check
            rows["verify_ledger"] = failed_row(e, server)

        all_reads = [x for label, xs in reader.latencies.items() if label not in ("idle", "paced") for x in xs]  # references, reported apart
        p50, p99 = quantiles_ms(all_reads)
        per_phase = {k: dict(zip(("p50_ms", "p99_ms"), map(lambda v: round(v, 2), quantiles_ms(v))), calls=len(v)) for k, v in reader.latencies.items()}
        rows["get_balance_during_writes"] = row(p99, "ms (p99)", None, "-", "p99 <= 5 ms", p99 <= 5, p50_ms=round(p50, 2), p99_ms=round(p99, 2),
                                                calls=len(all_reads), errors=len(reader.errors), by_phase=per_phase)  # fmt: skip
        if reader.errors:
            print(f"warning: {len(reader.errors)} GetBalance calls failed during the writes, e.g. {reader.errors[:3]}", flush=True)

        # 6. Correctness of the main schema, then the rebuild.
        print("checking the main schema's balances and request ids against an independent replay ...", flush=True)
        checks["main"] = check_ledger(server.port, urls["main"], pg.url, schemas["main"], sent, policy_path, resend=args.resend, seed=args.seed)
        server.stop()
        if main_project is not None:
            main_project.send_signal(signal.SIGTERM)
            main_project.wait(30)
        try:
            rebuild_rate, output = measure_rebuild(urls["main"])
            rows["projections_rebuild"] = row(rebuild_rate, "events/s", read_rate, "raw ordered read rows/s", ">= 35%",
                                              rebuild_rate / read_rate >= 0.35, output=output)  # fmt: skip
        except Exception as e:  # noqa: BLE001
            rows["projections_rebuild"] = failed_row(e, None)

        # 7. The late projector, on a second schema.
        late = start_server(urls["late"], log_dir, *serve_extra, "--no-projector")
        servers.append(late)
        register_directory(late.port, args.employees)
        late_sent = Sent(args.employees)
        late_phase = run_phase(pool, "batch", late.port, list(range(args.late_events)), in_flight=args.batch_in_flight, batch_size=1000, tag="late", employees=args.employees)
        late_sent.add("late", late_phase)
        head = log_head(pg.url, schemas["late"])
        late_read, _ = median_run(3, lambda: raw_read_rate(pg.url, schemas["late"]))
        try:
            launched = time.monotonic()
            project = subprocess.Popen([str(POINTS), "project", "--database", urls["late"]], env=ENV, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
            project_meter = CpuMeter(project.pid, [])
            project_meter.start()
            reached, first_move = wait_for_tracking(pg.url, schemas["late"], head, project, timeout=600)
            project_cpu = project_meter.stop()
            late_rate = head / (reached - launched)
            rows["projection_catch_up_late_projector"] = row(
                late_rate, "events/s", late_read, "raw ordered read rows/s", ">= 35%", late_rate / late_read >= 0.35, events=head,
                seconds_from_launch=round(reached - launched, 3),
                events_per_s_from_first_progress=round(head / (reached - first_move)) if first_move and reached > first_move else None,
                cpu={"project_process_cores": project_cpu["server_cores"], "machine_cores_busy": project_cpu["machine_cores_busy"]},
            )  # fmt: skip
        except Exception as e:  # noqa: BLE001
            rows["projection_catch_up_late_projector"] = failed_row(e, None)
        print("checking the late schema's balances (projected by `points project`) ...", flush=True)
        checks["late"] = check_ledger(late.port, urls["late"], pg.url, schemas["late"], late_sent, policy_path, resend=min(args.resend, 50), seed=args.seed)
    except BaseException:
        for s in servers:
            if s.log.exists():
                print(f"`points serve` on port {s.port}, last log lines:\n{s.log.read_text(errors='replace')[-3000:]}", file=sys.stderr)
        raise
    finally:
        if main_project is not None and main_project.poll() is None:
            main_project.kill()
            main_project.wait()
        if project is not None and project.poll() is None:
            project.send_signal(signal.SIGTERM)
            try:
                project.wait(30)
            except subprocess.TimeoutExpired:
                project.kill()
        for s in servers:
            s.stop()
        pool.close()
        if not args.keep_schemas:
            with connect(pg.url, autocommit=True) as conn:
                for schema in schemas.values():
                    conn.execute(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')
        pg.stop()

    shutil.rmtree(log_dir, ignore_errors=True)  # kept (and its tail printed) only when the run broke off
    passed = all(c["passed"] for c in checks.values())
    unmeasured = [name for name in ROWS if rows[name].get("error")]
    report(rows, checks, machine, floor, idle_reads, below_saturation)
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text(
        json.dumps({"machine": machine, "sizes": sizes, "rows": rows, "database_floor": floor, "reads_idle": idle_reads, "reads_below_saturation": below_saturation, "unmeasured": unmeasured, "correctness": {"passed": passed, **checks}}, indent=2) + "\n"
    )
    print(f"written {args.output}")
    if unmeasured:
        print(f"error: could not measure {', '.join(unmeasured)} (see above)", file=sys.stderr)
    return 0 if passed and not unmeasured else 1


def report(
    rows: dict[str, dict[str, Any]], checks: dict[str, dict[str, Any]], machine: dict[str, Any], floor: dict[str, Any],
    idle: dict[str, Any], paced: dict[str, Any],
) -> None:
    print()
    print(f"issue 9 figures ({machine['note']}):")
    print(f"{'path':<38} {'figure':>16} {'baseline':>16} {'ratio':>8}  goal")
    for name in ROWS:
        r = rows[name]
        if r.get("error"):
            print(f"{name:<38} {'FAILED':>16} {'':>16} {'':>8}  could not be measured: {r['error'][:200]}")
            continue
        verdict = "met" if r["met"] else "NOT met"
        baseline = f"{r['baseline']:,.0f}" if r["baseline"] is not None else "-"
        ratio = f"{r['ratio']:.1%}" if r["ratio"] is not None else "-"
        figure = f"{r['figure']:,.2f} ms" if r["unit"].startswith("ms") else f"{r['figure']:,.0f}/s"
        extra = ""
        if "p99_ms" in r:
            extra = f"  (p50 {r['p50_ms']:.1f} ms, p99 {r['p99_ms']:.1f} ms)"
        print(f"{name:<38} {figure:>16} {baseline:>16} {ratio:>8}  {r['goal']}: {verdict}{extra}")
    live, late = rows["projection_catch_up_live"], rows["projection_catch_up_late_projector"]
    print(f"  live catch-up: {live['lag_after_last_write_s']:.3f} s after the last write, {live['seconds_from_first_write']:.2f} s from the first write "
          f"for {live['events']:,} events")  # fmt: skip
    if not late.get("error"):
        without = late["events_per_s_from_first_progress"]
        print(f"  late projector: {late['seconds_from_launch']:.2f} s from launching `points project` for {late['events']:,} events"
              + (f" ({without:,}/s from its first progress, start-up excluded)" if without else ""))  # fmt: skip
    reached = ", ".join(f"{rows[n]['ratio_to_database_floor']:.0%} at {n.split('_')[3]}/call" for n in ROWS[:2] if not rows[n].get("error"))
    db, raw = floor["postgres_backend_us_per_event"], floor["raw_copy_postgres_backend_us_per_row"]
    cpu = f"; its PostgreSQL backend used {db:.0f} µs of CPU per event, against {raw:.0f} µs per raw COPY row" if db and raw else ""
    print(f"  database floor: raw COPY of the rows one work event writes (event, chain link, ledger lines, audit row; one dimension "
          f"upsert per 1,000 events), one connection, no domain work: {floor['events_per_s']:,}/s = {floor['ratio_to_raw_copy']:.1%} of raw COPY"
          f"{cpu}. RecordWorkEvents reached {reached} of the floor")  # fmt: skip
    print(f"  GetBalance with nothing else running: p50 {idle['get_balance_p50_ms']:.1f} ms, p99 {idle['get_balance_p99_ms']:.1f} ms "
          f"over {idle['get_balance_calls']} calls")  # fmt: skip
    print(f"  GetBalance below saturation: RecordWorkEvents (100/call) paced at {paced['target_events_per_s']:,} events/s (half the "
          f"100/call figure; reached {paced['events_per_s']:,}/s, call p99 {paced['call_p99_ms']:.1f} ms, machine {paced['cpu'].get('machine_cores_busy', 0):.2f} "
          f"cores busy): GetBalance p50 {paced['get_balance_p50_ms']:.1f} ms, p99 {paced['get_balance_p99_ms']:.1f} ms over {paced['get_balance_calls']} calls")  # fmt: skip
    print(f"  CPU during each run, in cores of {machine['cpus']} (server = `points serve` and its workers; other = PostgreSQL and the rest; 'µs per event' is the server's CPU over the row's figure, "
          "the reader's calls included):")  # fmt: skip
    for name in ROWS:
        r = rows[name]
        if "cpu" in r and "server_cores" in r["cpu"]:
            c, b = r["cpu"], r.get("baseline_cpu", {})
            per_call = f" ({c['server_cores'] / r['figure'] * 1e6:.0f} µs per event)" if r["figure"] else ""
            base = f"; its baseline: server {b['server_cores']:.2f}, clients {b['client_cores']:.2f}, other {b['other_cores']:.2f}" if b else ""
            if b and r["baseline_name"].startswith("Health") and r["baseline"]:
                base += f" ({b['server_cores'] / r['baseline'] * 1e6:.0f} µs of server CPU per call)"
            print(f"    {name}: server {c['server_cores']:.2f}{per_call}, clients {c['client_cores']:.2f}, other {c['other_cores']:.2f}{base}")
    print(f"  baselines: RecordWorkEvents vs raw COPY (1,000 rows/transaction, one connection); RecordWorkEvent vs Health/Check at the same "
          "concurrency on the same server; catch-ups, rebuild and VerifyLedger vs the raw ordered read (1,000 rows/fetch)")  # fmt: skip
    print()
    for name, check in checks.items():
        outcome = "PASSED" if check["passed"] else "FAILED"
        print(f"correctness ({name} schema): {outcome}: {check['balances_compared']} balances (employee x month) compared with the "
              f"independent replay; {check['work_events_stored']} work events stored for {check['distinct_request_ids_sent']} distinct "
              f"request ids sent; {check['resent']} requests resent (each must answer replayed=True at its original position)")  # fmt: skip
        for problem in check["problems"]:
            print(f"  problem: {problem}")


if __name__ == "__main__":
    sys.exit(main())
