"""PostgreSQL appends take one of two paths by size (COPY, or one pipelined INSERT for at most SMALL
events): both must store the same rows, chain them, and refuse a duplicate as a whole."""

from __future__ import annotations

import pytest
from eventsourcing.persistence import IntegrityError, StoredEvent

from points.application.points import PointsApplication
from points.domain.identity import work_event_id_of
from points.storage import copy_recorder
from points.storage.chain import ChainReader
from tests.app.work_requests import log_size

pytestmark = pytest.mark.usefixtures("staffed_outlet")


TOPICS = ["points.tests:Append", 'odd "topic", {with} \\ and,commas', "NULL", ""]


def stored(tag: str, n: int, version: int = 1) -> list[StoredEvent]:
    """Events of varied topics (quotes, backslashes, braces, commas, NULL) and sizes (empty included)."""
    return [
        StoredEvent(
            work_event_id_of(f"{tag}-{i}"), version, TOPICS[i % len(TOPICS)],
            b"" if i % 7 == 3 else f'{{"n":{i},"t":"{tag}","é":"\\u0000\'","pad":"{"x" * (i * 37 % 500)}"}}'.encode(),
        )  # fmt: skip
        for i in range(n)
    ]


@pytest.mark.postgres
@pytest.mark.parametrize("database_url", ["postgresql"], indirect=True)
def test_both_paths_store_the_same_rows_in_order_and_chain_them(app: PointsApplication) -> None:
    assert isinstance(app.recorder, copy_recorder.CopyPostgresApplicationRecorder)
    before = log_size(app)
    small, large = stored("s", copy_recorder.SMALL), stored("l", copy_recorder.SMALL + 1)
    small_positions = app.recorder.insert_events(small)
    large_positions = app.recorder.insert_events(large)
    assert list(small_positions) == list(range(before + 1, before + 1 + len(small)))  # type: ignore[arg-type]
    assert list(large_positions) == list(range(before + 1 + len(small), before + 1 + len(small) + len(large)))  # type: ignore[arg-type]
    notifications = app.recorder.select_notifications(start=before + 1, limit=1000)
    assert [(n.id, n.originator_id, n.originator_version, n.topic, n.state) for n in notifications] == [
        (p, e.originator_id, e.originator_version, e.topic, e.state)
        for p, e in zip([*small_positions, *large_positions], [*small, *large], strict=True)  # type: ignore[misc]
    ]
    report = ChainReader(app.recorder).verify(1, log_size(app))
    assert report.verified and report.checked == len(app.recorder.select_notifications(start=1, limit=10_000)), report


@pytest.mark.postgres
@pytest.mark.parametrize("database_url", ["postgresql"], indirect=True)
@pytest.mark.parametrize("size", [3, copy_recorder.SMALL + 5])
def test_a_duplicate_fails_the_whole_append_on_either_path(app: PointsApplication, size: int) -> None:
    first = stored("d", 1)
    app.recorder.insert_events(first)
    before = log_size(app)
    with pytest.raises(IntegrityError):
        app.recorder.insert_events([*stored("n", size - 1), *first])
    assert log_size(app) == before  # nothing of it stays, on either path
    positions = list(app.recorder.insert_events(stored("n", size - 1)) or [])
    assert positions == sorted(positions) and len(positions) == size - 1 and positions[0] > before  # a sequence leaves a gap
    report = ChainReader(app.recorder).verify(1, log_size(app))
    assert report.verified and report.checked == len(app.recorder.select_notifications(start=1, limit=10_000)), report
