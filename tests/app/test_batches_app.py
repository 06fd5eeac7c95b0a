"""Recording many work events in one call: one result per item, in order, new items in one transaction."""

from __future__ import annotations

from typing import Any

import pytest

from points.application.points import MAX_BATCH, PointsApplication
from points.application.results import WorkRecorded
from points.domain.errors import InvalidRequest, PointsError
from points.server import PointsService
from tests.app.work_requests import log_size, settled_balance, work

pytestmark = pytest.mark.usefixtures("staffed_outlet")


def outcome(result: WorkRecorded | PointsError) -> tuple[str, object]:
    if isinstance(result, WorkRecorded):
        return ("replayed" if result.replayed else "recorded", result.position)
    return (type(result).__name__, result.reason)


@pytest.fixture
def earlier_request(app: PointsApplication) -> WorkRecorded:
    """r-old: 2 counter transactions by e1 on 2026-11-01, stored before the batch."""
    return app.record_work_event(work("r-old", quantity="2", occurred_on="2026-11-01"))


@pytest.fixture
def saves(app: PointsApplication) -> list[int]:
    """How many events each append to the recorder wrote: one entry per write transaction."""
    sizes: list[int] = []
    insert_events = app.recorder.insert_events

    def counted_insert(stored_events: Any, **kwargs: Any) -> Any:
        positions = insert_events(stored_events, **kwargs)
        sizes.append(len(stored_events))
        return positions

    app.recorder.insert_events = counted_insert  # type: ignore[method-assign]
    return sizes


def test_a_mixed_batch_answers_each_item_in_order_and_writes_the_new_ones_at_once(
    idle_service: PointsService, earlier_request: WorkRecorded, saves: list[int]
) -> None:
    app = idle_service.app
    before = log_size(app)
    new = [before + 1, before + 2, before + 3]

    results = app.record_work_events(
        [
            work("b1", quantity="1"),
            work("b2", quantity="-1"),
            work("b3", employee_id="ghost"),
            work("b1", quantity="1"),  # the same again in this batch
            work("b1", quantity="5"),  # the same key, other content
            work("r-old", quantity="2", occurred_on="2026-11-01"),  # a retry of a stored request
            work("b4", kind="customer_served", quantity="4"),
            work("r-old", quantity="9", occurred_on="2026-11-01"),  # a stored key, other content
            work("b5", kind="financial_education", quantity="1"),
        ]
    )

    assert [outcome(r) for r in results] == [
        ("recorded", new[0]),
        ("InvalidRequest", "NEGATIVE_QUANTITY"),
        ("InvalidRequest", "UNKNOWN_EMPLOYEE"),
        ("replayed", new[0]),
        ("AlreadyExists", "REQUEST_ID_REUSED"),
        ("replayed", earlier_request.position),
        ("recorded", new[1]),
        ("AlreadyExists", "REQUEST_ID_REUSED"),
        ("recorded", new[2]),
    ]
    assert results[3].event_id == results[0].event_id  # type: ignore[union-attr]
    assert results[5].event_id == earlier_request.event_id  # type: ignore[union-attr]
    assert saves == [3]  # one write transaction for the three new events
    assert log_size(app) == before + 3
    # r-old 2 x 1 x 0.40 + b1 1 x 1 x 0.40 + b4 4 x 0.5 x 0.35 + b5 1 x 5 x 0.10
    balance = settled_balance(idle_service, "e1", "2026-11")
    assert (str(balance.total), balance.event_count) == ("2.4000", 4)


def test_a_batch_of_refused_items_writes_nothing(app: PointsApplication, saves: list[int]) -> None:
    before = log_size(app)

    results = app.record_work_events([work("x1", quantity="abc"), work("x2", occurred_on="2025-01-01")])

    assert [outcome(r) for r in results] == [
        ("InvalidRequest", "MALFORMED_QUANTITY"),
        ("InvalidRequest", "NOT_ASSIGNED_ON_DATE"),
    ]
    assert (saves, log_size(app)) == ([], before)


def test_a_batch_of_retries_replays_every_item_and_writes_nothing(
    app: PointsApplication, earlier_request: WorkRecorded, saves: list[int]
) -> None:
    before = log_size(app)

    results = app.record_work_events([work("r-old", quantity="2", occurred_on="2026-11-01")] * 2)

    assert [outcome(r) for r in results] == [("replayed", earlier_request.position)] * 2
    assert (saves, log_size(app)) == ([], before)


def test_an_empty_batch_is_refused(app: PointsApplication) -> None:
    before = log_size(app)

    with pytest.raises(InvalidRequest) as refused:
        app.record_work_events([])

    assert refused.value.reason == "EMPTY_BATCH"
    assert log_size(app) == before


def test_a_batch_over_the_limit_is_refused_whole(app: PointsApplication) -> None:
    before = log_size(app)

    with pytest.raises(InvalidRequest) as refused:
        app.record_work_events([work(f"big-{i}") for i in range(MAX_BATCH + 1)])

    assert refused.value.reason == "BATCH_TOO_LARGE"
    assert log_size(app) == before


def test_a_batch_at_the_limit_is_written_in_one_transaction_and_replays_whole(
    idle_service: PointsService, saves: list[int]
) -> None:
    app = idle_service.app
    before = log_size(app)
    batch = [work(f"big-{i}") for i in range(MAX_BATCH)]

    first = app.record_work_events(batch)
    again = app.record_work_events(batch)

    assert [r.position for r in first] == list(range(before + 1, before + MAX_BATCH + 1))  # type: ignore[union-attr]
    assert saves == [MAX_BATCH]
    assert [outcome(r) for r in again] == [("replayed", r.position) for r in first]  # type: ignore[union-attr]
    balance = settled_balance(idle_service, "e1", "2026-11")  # 1000 x 1 x 0.40
    assert (str(balance.total), balance.event_count) == ("400.0000", MAX_BATCH)
