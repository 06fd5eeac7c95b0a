"""The issue 9 benchmark in a CI-sized run: end to end, every row measured beside its baseline, the correctness
check passed (never a speed)."""

from __future__ import annotations

import json
import math
import uuid
from pathlib import Path

import grpc
import psycopg
import pytest

from points.application.policy_file import example_policy_path
from points.v1 import work_events_pb2_grpc
from tests.bench.load_clients import employee_of, work_request
from tests.bench.record_events import RECORDED_TOPIC, ROWS, WITH_BASELINE, Sent, check_ledger, main, register_directory, start_server
from tests.support.pgserver import PostgresServer

TINY = ["--events", "200", "--unary", "50", "--late-events", "300", "--warmup", "100", "--employees", "20", "--resend", "20"]


def number(value: object) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value) and value > 0


@pytest.mark.postgres
def test_the_record_benchmark_measures_every_row_and_checks_the_ledger(postgres_server: PostgresServer, tmp_path: Path) -> None:
    output = tmp_path / "record_events.json"

    assert main([*TINY, "--output", str(output), "--postgres-url", postgres_server.url]) == 0

    results = json.loads(output.read_text())
    rows = results["rows"]
    assert sorted(rows) == sorted(ROWS)
    assert results["unmeasured"] == []
    for name in WITH_BASELINE:
        r = rows[name]
        assert number(r["figure"]) and number(r["baseline"]) and number(r["ratio"]), (name, r)
        assert r["ratio"] == pytest.approx(r["figure"] / r["baseline"], rel=1e-3), name
        assert isinstance(r["met"], bool) and r["goal"], name
    reads = rows["get_balance_during_writes"]
    assert number(reads["p50_ms"]) and number(reads["p99_ms"]) and reads["calls"] > 0 and reads["errors"] == 0
    assert rows["record_work_event_64_in_flight"]["p99_ms"] >= rows["record_work_event_64_in_flight"]["p50_ms"]
    idle = results["reads_idle"]
    assert idle["get_balance_calls"] > 0 and idle["get_balance_p99_ms"] >= idle["get_balance_p50_ms"] > 0
    paced = results["reads_below_saturation"]
    assert paced["target_events_per_s"] == round(rows["record_work_events_100_per_call"]["figure"] / 2)
    assert number(paced["events_per_s"]) and paced["get_balance_calls"] > 0
    assert paced["get_balance_p99_ms"] >= paced["get_balance_p50_ms"] > 0
    floor = results["database_floor"]
    assert floor["events_per_s"] > 0
    copy_rate = rows["record_work_events_100_per_call"]["baseline"]
    assert floor["ratio_to_raw_copy"] == pytest.approx(floor["events_per_s"] / copy_rate, rel=1e-2)
    for name in ("record_work_events_100_per_call", "record_work_events_1000_per_call"):
        assert rows[name]["database_floor_events_per_s"] == floor["events_per_s"]
        assert rows[name]["ratio_to_database_floor"] == pytest.approx(rows[name]["figure"] / floor["events_per_s"], rel=1e-2), name
    # the PostgreSQL here is local, so its backends' CPU is read (in ticks: a tiny run may read 0)
    assert isinstance(floor["postgres_backend_us_per_event"], (int, float)) and floor["postgres_backend_us_per_event"] >= 0

    correctness = results["correctness"]
    assert correctness["passed"] is True
    main_check, late_check = correctness["main"], correctness["late"]
    # warm-up 100 + 4 unary per client process (2), 2 batch sizes x 200, 2 concurrencies x 50 unary, the paced 200
    assert main_check["distinct_request_ids_sent"] == main_check["work_events_stored"] == 100 + 8 + 2 * 200 + 2 * 50 + 200
    assert late_check["distinct_request_ids_sent"] == late_check["work_events_stored"] == 300
    assert main_check["balances_compared"] > 0 and main_check["resent"] == 20 and main_check["problems"] == []


@pytest.mark.postgres
def test_the_correctness_check_fails_on_a_wrong_balance_and_on_a_request_stored_twice(postgres_server: PostgresServer, tmp_path: Path) -> None:
    """The check at the end of the benchmark can fail: a balance nudged in the view, then a work event stored twice."""
    schema = f"t_bench_{uuid.uuid4().hex[:8]}"
    url = f"{postgres_server.url}{'&' if '?' in postgres_server.url else '?'}schema={schema}"
    employees = 6
    server = start_server(url, tmp_path)
    try:
        register_directory(server.port, employees)
        sent = Sent(employees)
        with grpc.insecure_channel(f"127.0.0.1:{server.port}") as channel:
            work = work_events_pb2_grpc.WorkEventServiceStub(channel)
            for n in range(30):
                sent.positions[("t", n)] = work.RecordWorkEvent(work_request("t", n, employees), timeout=30).position

        def check() -> dict[str, object]:
            return check_ledger(server.port, url, postgres_server.url, schema, sent, example_policy_path(), resend=6, seed=1)

        assert check()["passed"] is True

        with psycopg.connect(postgres_server.url, autocommit=True) as conn:
            conn.execute(
                f'UPDATE "{schema}".balance_dimensions SET weighted_points = weighted_points + 1 '
                f'WHERE ctid = (SELECT ctid FROM "{schema}".balance_dimensions WHERE employee_id = %s LIMIT 1)',
                (employee_of(0, employees),),
            )
        nudged = check()
        assert nudged["passed"] is False
        assert any(f"GetBalance({employee_of(0, employees)}" in p for p in nudged["problems"]), nudged["problems"]  # type: ignore[union-attr]

        with psycopg.connect(postgres_server.url, autocommit=True) as conn:  # the first work event again, as another aggregate
            conn.execute(
                f'INSERT INTO "{schema}".points_events (originator_id, originator_version, topic, state) '
                f'SELECT %s, 1, topic, state FROM "{schema}".points_events WHERE topic = %s ORDER BY notification_id LIMIT 1',
                (uuid.uuid4(), RECORDED_TOPIC),
            )
        twice = check()
        assert twice["passed"] is False and twice["work_events_stored"] == 31 and twice["distinct_request_ids_sent"] == 30
        assert any("stored more than once" in p for p in twice["problems"]), twice["problems"]  # type: ignore[union-attr]
    finally:
        server.stop()
        with psycopg.connect(postgres_server.url, autocommit=True) as conn:
            conn.execute(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')
