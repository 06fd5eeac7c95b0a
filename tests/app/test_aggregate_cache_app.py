"""The library's aggregate cache holds the directory and the policy book, not the work events read.

Work events read for a retry, a correction or a lookup used to be put in the cache: the soak
(tests/faults/soak.py) saw the API server's resident memory grow by about 2 MiB a minute until
the cache's 10,000 entries were full. They are read past the cache now.
"""

from __future__ import annotations

from typing import Any
from uuid import UUID

import pytest

from points.application.points import PointsApplication
from points.domain.work import WorkEvent
from tests.app.ledger_reads import correct
from tests.app.work_requests import work

pytestmark = pytest.mark.usefixtures("staffed_outlet")


def cached(app: PointsApplication) -> dict[Any, Any]:
    """The aggregates in the application's LRU cache, by id (the library keeps [prev, next, key, value] links)."""
    return {key: link[3] for key, link in app.repository.cache.cache.items()}  # type: ignore[union-attr]


def cached_work_events(app: PointsApplication) -> list[Any]:
    return [a for a in cached(app).values() if isinstance(a, WorkEvent)]


def test_retries_corrections_and_reads_of_work_events_leave_the_cache_as_it_was(app: PointsApplication) -> None:
    singles = [app.record_work_event(work(f"single-{n}")) for n in range(5)]
    batch = app.record_work_events([work(f"batch-{n}") for n in range(5)])
    before = set(cached(app))

    for n, recorded in enumerate(singles):
        again = app.record_work_event(work(f"single-{n}"))  # a retry: a replay of the same event
        assert again.replayed and again.event_id == recorded.event_id
    replays = app.record_work_events([work(f"batch-{n}") for n in range(5)])
    assert all(getattr(r, "replayed", False) for r in replays)
    for n, recorded in enumerate([*singles, *batch]):
        assert app.work_event(UUID(str(recorded.event_id))) is not None
        correct(app, str(recorded.event_id), f"undo-{n}", reverse=True)

    assert cached_work_events(app) == []
    assert set(cached(app)) == before  # nothing else came in either: the cache is bounded by the directory


def test_a_work_event_read_past_the_cache_is_the_stored_one(app: PointsApplication) -> None:
    recorded = app.record_work_event(work("w-1", quantity="3"))
    correct(app, str(recorded.event_id), "c-1", quantity="4")
    event = app.work_event(UUID(str(recorded.event_id)))
    assert event is not None and event.version == 2
    assert app.work_event(UUID("00000000-0000-0000-0000-000000000001")) is None
    again = app.record_work_event(work("w-1", quantity="3"))  # a retry after the correction: the original answer
    assert again.replayed and again.points == recorded.points
