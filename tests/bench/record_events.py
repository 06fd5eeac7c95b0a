"""Benchmark: recording work events through gRPC on PostgreSQL, beside raw baselines measured in the same run.

Run it with `make bench` (or `python -m tests.bench.record_events --help`). It starts a
`points serve` process on a fresh schema, writes through it from this process, and prints
each figure with its baseline and the ratio; the figures are also written as JSON. It is a
benchmark, not a test: nothing here asserts a speed.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import signal
import socket
import statistics
import subprocess
import sys
import threading
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import grpc
import psycopg
from grpc_health.v1 import health_pb2, health_pb2_grpc

from points.v1 import balances_pb2, balances_pb2_grpc, directory_pb2, directory_pb2_grpc, work_events_pb2, work_events_pb2_grpc
from tests.support.pgserver import ensure_postgres

REPO = Path(__file__).resolve().parents[2]
STATE_BYTES = 420  # about the size of a stored WorkEvent.Recorded


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def start_server(url: str, port: int) -> subprocess.Popen[bytes]:
    points = Path(sys.executable).parent / "points"
    process = subprocess.Popen(
        [str(points), "serve", "--port", str(port), "--database", url],
        env={**os.environ, "POINTS_LOG_LEVEL": "WARNING"},
        stdout=subprocess.DEVNULL,
    )
    channel = grpc.insecure_channel(f"127.0.0.1:{port}")
    health = health_pb2_grpc.HealthStub(channel)
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            if health.Check(health_pb2.HealthCheckRequest(), timeout=1).status == health_pb2.HealthCheckResponse.SERVING:
                return process
        except grpc.RpcError:
            time.sleep(0.2)
    process.kill()
    raise RuntimeError("points serve did not become healthy within 30 s")


def raw_copy_baseline(base_url: str, rows: int) -> float:
    """Rows/s of psycopg COPY into a table shaped like the event store, 1,000 rows per transaction."""
    state = b"x" * STATE_BYTES
    with psycopg.connect(base_url, autocommit=True) as conn:
        table = f"bench_copy_{uuid.uuid4().hex[:8]}"
        conn.execute(
            f"CREATE TABLE {table} (originator_id uuid, originator_version bigint, topic text, state bytea, "
            "notification_id bigserial, PRIMARY KEY (originator_id, originator_version))"
        )
        conn.execute(f"CREATE UNIQUE INDEX ON {table} (notification_id)")
        try:
            started = time.perf_counter()
            for start in range(0, rows, 1000):
                with conn.transaction(), conn.cursor() as cur:
                    with cur.copy(f"COPY {table} (originator_id, originator_version, topic, state) FROM STDIN") as copy:
                        for _ in range(min(1000, rows - start)):
                            copy.write_row((uuid.uuid4(), 1, "points.domain.work:WorkEvent.Recorded", state))
            return rows / (time.perf_counter() - started)
        finally:
            conn.execute(f"DROP TABLE {table}")


def raw_read_baseline(base_url: str, schema: str) -> float:
    """Rows/s of an ordered read of the event table, 1,000 rows per fetch."""
    with psycopg.connect(base_url) as conn, conn.cursor(name="bench_read") as cur:
        cur.itersize = 1000
        started = time.perf_counter()
        cur.execute(f'SELECT * FROM "{schema}".points_events ORDER BY notification_id')
        count = sum(1 for _ in cur)
        return count / (time.perf_counter() - started)


def request(employee: str, n: int, tag: str) -> work_events_pb2.RecordWorkEventRequest:
    return work_events_pb2.RecordWorkEventRequest(
        request_id=f"{tag}-{n}", employee_id=employee, kind="counter_transaction", quantity=str(1 + n % 5),
        occurred_on="2026-11-02", recorded_by="bench", source="bench",
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--events", type=int, default=20_000, help="events per batch-size run")
    parser.add_argument("--unary", type=int, default=2_000, help="events for the unary run")
    parser.add_argument("--employees", type=int, default=200)
    parser.add_argument("--output", type=Path, default=REPO / "bench-results" / "record_events.json")
    args = parser.parse_args(argv)

    pg = ensure_postgres()
    schema = f"bench_{uuid.uuid4().hex[:8]}"
    url = f"{pg.url}{'&' if '?' in pg.url else '?'}schema={schema}"
    port = free_port()
    server = start_server(url, port)
    results: dict[str, object] = {"machine": {"cpus": os.cpu_count(), "python": platform.python_version(), "platform": platform.platform()}}
    try:
        channel = grpc.insecure_channel(f"127.0.0.1:{port}")
        directory = directory_pb2_grpc.DirectoryServiceStub(channel)
        work = work_events_pb2_grpc.WorkEventServiceStub(channel)
        balances = balances_pb2_grpc.BalanceServiceStub(channel)
        directory.RegisterOutlet(directory_pb2.RegisterOutletRequest(outlet_id="bench", outlet_class=directory_pb2.OUTLET_CLASS_A, region="r"))
        employees = [f"e{i}" for i in range(args.employees)]
        for e in employees:
            directory.RegisterEmployee(directory_pb2.RegisterEmployeeRequest(employee_id=e, role=directory_pb2.ROLE_SERVICE_MANAGER, outlet_id="bench", effective_from="2026-01-01"))

        copy_rate = raw_copy_baseline(pg.url, args.events)
        results["raw_copy_rows_per_s"] = round(copy_rate)
        print(f"baseline: raw COPY, 1,000 rows/transaction: {copy_rate:,.0f} rows/s")

        last_position = 0
        for size in (100, 1000):
            tag = f"b{size}-{uuid.uuid4().hex[:6]}"
            started = time.perf_counter()
            for start in range(0, args.events, size):
                batch = [request(employees[n % len(employees)], n, tag) for n in range(start, min(start + size, args.events))]
                response = work.RecordWorkEvents(work_events_pb2.RecordWorkEventsRequest(requests=batch), timeout=60)
                assert all(r.HasField("recorded") for r in response.results)
                last_position = max(last_position, response.position)
            rate = args.events / (time.perf_counter() - started)
            results[f"record_work_events_{size}_per_call"] = {"events_per_s": round(rate), "ratio_to_raw_copy": round(rate / copy_rate, 3)}
            print(f"RecordWorkEvents, {size} per call: {rate:,.0f} events/s ({rate / copy_rate:.1%} of raw COPY)")

        for in_flight in (1, 16):
            tag = f"u{in_flight}-{uuid.uuid4().hex[:6]}"
            latencies: list[float] = []
            lock = threading.Lock()

            def one(n: int) -> int:
                t0 = time.perf_counter()
                position = work.RecordWorkEvent(request(employees[n % len(employees)], n, tag), timeout=30).position
                with lock:
                    latencies.append(time.perf_counter() - t0)
                return position

            started = time.perf_counter()
            with ThreadPoolExecutor(in_flight) as pool:
                last_position = max(last_position, *pool.map(one, range(args.unary)))
            rate = args.unary / (time.perf_counter() - started)
            q = statistics.quantiles(latencies, n=100)
            results[f"record_work_event_{in_flight}_in_flight"] = {"events_per_s": round(rate), "p50_ms": round(q[49] * 1000, 2), "p99_ms": round(q[98] * 1000, 2)}
            print(f"RecordWorkEvent, {in_flight} in flight: {rate:,.0f} events/s, p50 {q[49] * 1000:.1f} ms, p99 {q[98] * 1000:.1f} ms")

        started = time.perf_counter()
        balances.GetBalance(balances_pb2.GetBalanceRequest(employee_id=employees[0], period="2026-11", min_position=last_position), timeout=120)
        lag = time.perf_counter() - started
        results["projection_lag_after_writes_s"] = round(lag, 3)
        print(f"projection caught up {lag * 1000:.0f} ms after the last write")
    finally:
        server.send_signal(signal.SIGTERM)
        server.wait(30)

    read_rate = raw_read_baseline(pg.url, schema)
    rebuild = subprocess.run(
        [str(Path(sys.executable).parent / "points"), "projections", "rebuild", "--database", url],
        capture_output=True, text=True, check=True, env={**os.environ, "POINTS_LOG_LEVEL": "WARNING"},
    )
    rebuild_rate = float(rebuild.stdout.split("(")[-1].split(" events/s")[0].replace(",", ""))
    results["raw_ordered_read_rows_per_s"] = round(read_rate)
    results["projections_rebuild"] = {"events_per_s": round(rebuild_rate), "ratio_to_raw_read": round(rebuild_rate / read_rate, 3)}
    print(f"baseline: raw ordered read, 1,000 rows/fetch: {read_rate:,.0f} rows/s")
    print(f"points projections rebuild: {rebuild_rate:,.0f} events/s ({rebuild_rate / read_rate:.1%} of raw read)")

    with psycopg.connect(pg.url, autocommit=True) as conn:
        conn.execute(f'DROP SCHEMA "{schema}" CASCADE')
    pg.stop()
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text(json.dumps(results, indent=2) + "\n")
    print(f"written {args.output}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
