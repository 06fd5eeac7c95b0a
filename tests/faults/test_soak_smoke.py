"""The soak command, for a few seconds: it still runs and its checks still pass (the real soak is `make soak`)."""

from __future__ import annotations

import pytest

from tests.conftest import drop_schema, new_postgres_schema_url
from tests.faults import soak
from tests.support.pgserver import PostgresServer

pytestmark = pytest.mark.postgres


def test_a_few_seconds_of_soak_pass(postgres_server: PostgresServer) -> None:
    url, schema = new_postgres_schema_url(postgres_server)
    lines: list[str] = []
    try:
        # Memory over a few seconds says nothing (the processes are still warming up): only the real soak judges it.
        code = soak.main(["--database", url, "--seconds", "4", "--warmup", "2", "--rate", "50", "--max-growth", "1000"], out=lines.append)
    finally:
        drop_schema(postgres_server, schema)
    print("\n".join(lines))
    assert code == 0, "\n".join(lines)
    assert any(line.startswith("errors: 0 ") for line in lines)
