"""The ranking benchmark in a CI-sized run: it must run end to end and write every figure (never a speed)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.bench.rankings import KEYS, main
from tests.support.pgserver import PostgresServer


@pytest.mark.postgres
def test_the_ranking_benchmark_writes_every_figure(postgres_server: PostgresServer, tmp_path: Path) -> None:
    output = tmp_path / "rankings.json"
    argv = ["--employees", "400", "--regions", "3", "--outlets-per-region", "2", "--repeat", "1"]

    assert main([*argv, "--output", str(output), "--postgres-url", postgres_server.url]) == 0

    figures = json.loads(output.read_text())
    assert sorted(KEYS) == sorted(figures)
    assert (figures["employees"], figures["published_members"]) == (400, 400)
