"""Request ids in the logs and request metrics, through a real server on port 0 (SQLite: the store does not matter)."""

from __future__ import annotations

import io
import json
import logging
import re
from collections.abc import Iterator
from pathlib import Path

import grpc
import pytest

from points.api.security import SecuritySettings
from points.logs import JsonFormatter, RequestIdFilter, TextFormatter
from points.server import PointsService, Settings, build_service, start_projection
from points.v1 import directory_pb2
from tests.api.secured import plaintext_client, signing_keys
from tests.conftest import Clock

UNAUTHENTICATED_CALL = "/points.v1.DirectoryService/GetOutlet"


@pytest.fixture
def sqlite_service(tmp_path: Path) -> Iterator[PointsService]:
    built = build_service(Settings(database_url=f"sqlite:///{tmp_path}/points.db", clock=Clock()))
    yield built
    built.close()


@pytest.fixture
def json_log() -> Iterator[io.StringIO]:
    """What the `points` loggers write at INFO, as the JSON format writes it."""
    out = io.StringIO()
    handler = logging.StreamHandler(out)
    handler.addFilter(RequestIdFilter())
    handler.setFormatter(JsonFormatter())
    logger = logging.getLogger("points")
    previous = logger.level
    logger.addHandler(handler)
    logger.setLevel(logging.INFO)
    yield out
    logger.removeHandler(handler)
    logger.setLevel(previous)


def refused_call(client: object, request_id: str | None) -> None:
    metadata = (("x-request-id", request_id),) if request_id else ()
    with pytest.raises(grpc.RpcError) as refused:
        client.directory.GetOutlet(directory_pb2.GetOutletRequest(outlet_id="o1"), metadata=metadata, timeout=5)  # type: ignore[attr-defined]
    assert refused.value.code() == grpc.StatusCode.UNAUTHENTICATED


def test_a_log_line_written_during_a_call_carries_the_callers_request_id_and_the_call_is_counted(
    sqlite_service: PointsService, json_log: io.StringIO, tmp_path: Path
) -> None:
    security = SecuritySettings(jwt_keys=signing_keys(tmp_path).public_path)
    with plaintext_client(sqlite_service, security) as client:
        refused_call(client, "feed-42/abc")
        refused_call(client, None)

    entries = [json.loads(line) for line in json_log.getvalue().splitlines()]
    refusals = [e for e in entries if e["message"].startswith("refused")]
    assert [e["request_id"] for e in refusals][0] == "feed-42/abc"
    assert re.fullmatch(r"[0-9a-f]{32}", refusals[1]["request_id"])  # none given: one is made
    assert {"time", "level", "logger", "message"} <= set(refusals[0])
    assert sqlite_service.metrics is not None
    count = sqlite_service.metrics.registry.get_sample_value(
        "points_grpc_requests_total", {"method": UNAUTHENTICATED_CALL, "code": "UNAUTHENTICATED"}
    )
    assert count == 2.0


def test_the_text_format_shows_the_request_id_only_inside_a_call() -> None:
    record = logging.LogRecord("points.api", logging.INFO, __file__, 1, "refused %s", ("GetOutlet",), None)
    record.request_id = "r-1"
    assert TextFormatter().format(record).endswith("INFO points.api [r-1]: refused GetOutlet")
    record.request_id = ""
    assert TextFormatter().format(record).endswith("INFO points.api: refused GetOutlet")


def test_an_embedded_store_projects_in_process_without_an_election(sqlite_service: PointsService) -> None:
    sqlite_service.projector.stop()
    start_projection(sqlite_service)
    assert sqlite_service.election is None and sqlite_service.projector.running
