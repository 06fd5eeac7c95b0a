"""Concurrent writers: the same request_id sent from several threads at once is stored exactly once."""

from __future__ import annotations

import threading
from collections import Counter
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import TypeVar

import pytest

from points.application.points import PointsApplication
from points.application.results import WorkRecorded
from points.domain.errors import PointsError
from points.projections.projector import RECORDED_TOPIC
from points.server import PointsService
from tests.app.work_requests import settled_balance, work

pytestmark = pytest.mark.usefixtures("staffed_outlet")

THREADS = 4
PER_THREAD = 50
SHARED_EVERY = 5  # every fifth request of each thread is one all threads send at the same moment

T = TypeVar("T")


def request_ids_of(thread: int) -> list[str]:
    """50 request ids: 10 shared by all threads (same slots, so they collide) and 40 of this thread's own."""
    return [f"shared-{i}" if i % SHARED_EVERY == 0 else f"own-{thread}-{i}" for i in range(PER_THREAD)]


DISTINCT = {rid for t in range(THREADS) for rid in request_ids_of(t)}  # 10 shared + 4 x 40 own = 170


def in_threads(run: Callable[[int], T]) -> list[T]:
    """Runs run(thread) in THREADS threads released together; re-raises the first failure."""
    start = threading.Barrier(THREADS)

    def released(thread: int) -> T:
        start.wait()
        return run(thread)

    with ThreadPoolExecutor(THREADS) as pool:
        return list(pool.map(released, range(THREADS)))


def stored_request_ids(app: PointsApplication) -> Counter[str]:
    notifications = app.recorder.select_notifications(start=None, limit=10_000, topics=[RECORDED_TOPIC])
    return Counter(app.mapper.to_domain_event(n).request_id for n in notifications)  # type: ignore[attr-defined]


def by_request_id(results: Sequence[tuple[str, WorkRecorded | PointsError]]) -> dict[str, list[WorkRecorded]]:
    grouped: dict[str, list[WorkRecorded]] = {}
    for request_id, result in results:
        assert isinstance(result, WorkRecorded), f"{request_id}: {result!r}"
        grouped.setdefault(request_id, []).append(result)
    return grouped


def test_single_writes_from_many_threads_store_each_request_once(idle_service: PointsService) -> None:
    app = idle_service.app
    assert len(DISTINCT) == 170

    def send(thread: int) -> list[tuple[str, WorkRecorded | PointsError]]:
        return [(rid, app.record_work_event(work(rid))) for rid in request_ids_of(thread)]

    grouped = by_request_id([r for thread in in_threads(send) for r in thread])

    assert stored_request_ids(app) == Counter(dict.fromkeys(DISTINCT, 1))
    for request_id, answers in grouped.items():
        assert [a.replayed for a in answers].count(False) == 1, request_id
        assert len({(a.event_id, a.position) for a in answers}) == 1, request_id
    balance = settled_balance(idle_service, "e1", "2026-11")  # 170 x 1 point x 0.40
    assert (str(balance.total), balance.event_count) == ("68.0000", 170)


def test_overlapping_batches_from_many_threads_store_each_request_once(idle_service: PointsService) -> None:
    app = idle_service.app

    def send(thread: int) -> list[tuple[str, WorkRecorded | PointsError]]:
        ids = request_ids_of(thread)
        answers: list[tuple[str, WorkRecorded | PointsError]] = []
        for chunk in (ids[i : i + 10] for i in range(0, PER_THREAD, 10)):
            answers += zip(chunk, app.record_work_events([work(rid) for rid in chunk]), strict=True)
        return answers

    grouped = by_request_id([r for thread in in_threads(send) for r in thread])

    assert stored_request_ids(app) == Counter(dict.fromkeys(DISTINCT, 1))
    for request_id, answers in grouped.items():
        assert [a.replayed for a in answers].count(False) == 1, request_id
        assert len({(a.event_id, a.position) for a in answers}) == 1, request_id
    balance = settled_balance(idle_service, "e1", "2026-11")
    assert (str(balance.total), balance.event_count) == ("68.0000", 170)


def test_one_transfer_sent_from_many_threads_is_stored_once(idle_service: PointsService) -> None:
    app = idle_service.app
    app.register_outlet(outlet_id="o2", outlet_class="B", region="south")

    def send(thread: int) -> tuple[bool, int]:
        written = app.transfer_employee(
            request_id="t-1", employee_id="e1", role="", outlet_id="o2", effective_from="2026-06-01"
        )
        return written.replayed, written.position

    answers = in_threads(send)

    assert sorted(replayed for replayed, _ in answers) == [False, True, True, True]
    assert len({position for _, position in answers}) == 1
    assert [a.outlet_id for a in app.get_employee("e1").history] == ["o1", "o2"]
