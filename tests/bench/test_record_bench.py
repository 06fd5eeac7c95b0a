"""The issue 9 benchmark in a CI-sized run: end to end, every row measured beside its baseline, the correctness
check passed (never a speed)."""

from __future__ import annotations

import json
import math
from pathlib import Path

import pytest

from tests.bench.record_events import ROWS, WITH_BASELINE, main
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

    correctness = results["correctness"]
    assert correctness["passed"] is True
    main_check, late_check = correctness["main"], correctness["late"]
    # warm-up 100 + 4 unary per client process (2), 2 batch sizes x 200, 2 concurrencies x 50 unary
    assert main_check["distinct_request_ids_sent"] == main_check["work_events_stored"] == 100 + 8 + 2 * 200 + 2 * 50
    assert late_check["distinct_request_ids_sent"] == late_check["work_events_stored"] == 300
    assert main_check["balances_compared"] > 0 and main_check["resent"] == 20 and main_check["problems"] == []
