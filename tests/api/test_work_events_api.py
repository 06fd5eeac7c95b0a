"""Recording work through a real server: batches with per-item results, and scoring by dated assignment."""

from __future__ import annotations

from typing import TYPE_CHECKING

import grpc
import pytest

from points.v1 import directory_pb2, work_events_pb2
from tests.api.calls import Staffed, balance, dimensions, work
from tests.api.rich_status import ERROR_DOMAIN, assert_rejected, rich_error_of_status

if TYPE_CHECKING:
    from tests.conftest import Client

MIXED_BATCH = [
    work("b-1", "sm-1", "counter_transaction", "10"),  # recorded: 10 x 1 x .40 = 4.0000
    work("b-2", "ghost", "counter_transaction", "1"),  # unknown employee
    work("b-3", "os-1", "training_given", "1.5"),  # recorded: 1.5 x 8 x .10 = 1.2000
    work("b-1", "sm-1", "counter_transaction", "10"),  # the same request again in the batch: a replay
    work("b-3", "os-1", "training_given", "2"),  # b-3 reused with other content
    work("b-6", "sm-1", "counter_transaction", "-2"),  # negative quantity
]


def outcomes(response: work_events_pb2.RecordWorkEventsResponse) -> list[tuple[str, ...]]:
    """Per item: ("recorded", points, replayed) or ("error", code, reason, violations)."""
    seen: list[tuple[str, ...]] = []
    for result in response.results:
        if result.WhichOneof("outcome") == "recorded":
            seen.append(("recorded", result.recorded.points, str(result.recorded.replayed)))
        else:
            rich = rich_error_of_status(result.error)
            assert rich.domain == ERROR_DOMAIN
            seen.append(("error", rich.code.name, rich.reason, *(f"{f}:{r}" for f, r in rich.violations)))
    return seen


EXPECTED_OUTCOMES = [
    ("recorded", "4.0000", "False"),
    ("error", "INVALID_ARGUMENT", "UNKNOWN_EMPLOYEE", "employee_id:UNKNOWN_EMPLOYEE"),
    ("recorded", "1.2000", "False"),
    ("recorded", "4.0000", "True"),
    ("error", "ALREADY_EXISTS", "REQUEST_ID_REUSED"),
    ("error", "INVALID_ARGUMENT", "NEGATIVE_QUANTITY", "quantity:NEGATIVE_QUANTITY"),
]


@pytest.fixture
def recorded_batch(client: Client, staffed_outlet: Staffed) -> work_events_pb2.RecordWorkEventsResponse:
    """MIXED_BATCH sent once."""
    return client.work.RecordWorkEvents(work_events_pb2.RecordWorkEventsRequest(requests=MIXED_BATCH))


def recorded_items(response: work_events_pb2.RecordWorkEventsResponse) -> dict[int, work_events_pb2.RecordWorkEventResponse]:
    return {i: r.recorded for i, r in enumerate(response.results) if r.WhichOneof("outcome") == "recorded"}


def test_a_batch_answers_each_item_in_order(recorded_batch: work_events_pb2.RecordWorkEventsResponse, staffed_outlet: Staffed) -> None:
    assert outcomes(recorded_batch) == EXPECTED_OUTCOMES
    items = recorded_items(recorded_batch)
    assert items[0].event_id == items[3].event_id != items[2].event_id
    assert items[0].position == items[3].position
    assert recorded_batch.position == max(r.position for r in items.values()) > staffed_outlet.position


def test_a_replayed_batch_is_all_replays_with_the_same_ids(client: Client, recorded_batch: work_events_pb2.RecordWorkEventsResponse) -> None:
    again = client.work.RecordWorkEvents(work_events_pb2.RecordWorkEventsRequest(requests=MIXED_BATCH))

    assert outcomes(again) == [(o[0], o[1], "True") if o[0] == "recorded" else o for o in EXPECTED_OUTCOMES]
    first, second = recorded_items(recorded_batch), recorded_items(again)
    assert {i: (r.event_id, r.position) for i, r in second.items()} == {i: (r.event_id, r.position) for i, r in first.items()}
    assert again.position == recorded_batch.position


def test_a_batch_position_shows_every_recorded_item_once(client: Client, recorded_batch: work_events_pb2.RecordWorkEventsResponse) -> None:
    client.work.RecordWorkEvents(work_events_pb2.RecordWorkEventsRequest(requests=MIXED_BATCH))

    manager = balance(client.balances, "sm-1", min_position=recorded_batch.position)
    supervisor = balance(client.balances, "os-1", min_position=recorded_batch.position)
    assert (manager.balance.total, manager.balance.event_count, dimensions(manager)) == ("4.0000", 1, {"workload": ("10.0000", "4.0000")})
    assert (supervisor.balance.total, supervisor.balance.event_count, dimensions(supervisor)) == (
        "1.2000", 1, {"development": ("12.0000", "1.2000")}
    )


def test_a_batch_replays_an_event_recorded_singly(client: Client, staffed_outlet: Staffed) -> None:
    single = client.work.RecordWorkEvent(work("b-1", "sm-1", "counter_transaction", "10"))

    batch = client.work.RecordWorkEvents(work_events_pb2.RecordWorkEventsRequest(requests=MIXED_BATCH[:1]))

    assert (batch.results[0].recorded.event_id, batch.results[0].recorded.replayed, batch.position) == (single.event_id, True, single.position)


@pytest.mark.parametrize(
    ("size", "reason"), [(0, "EMPTY_BATCH"), (1001, "BATCH_TOO_LARGE")], ids=["empty", "too-large"]
)
def test_a_batch_of_the_wrong_size_fails_as_a_whole(client: Client, staffed_outlet: Staffed, size: int, reason: str) -> None:
    requests = [work(f"r-{i}", "sm-1", "counter_transaction", "1") for i in range(size)]
    with pytest.raises(grpc.RpcError) as caught:
        client.work.RecordWorkEvents(work_events_pb2.RecordWorkEventsRequest(requests=requests))

    assert_rejected(caught.value, grpc.StatusCode.INVALID_ARGUMENT, reason, "requests")


@pytest.fixture
def manager_turned_supervisor(client: Client, staffed_outlet: Staffed) -> directory_pb2.TransferEmployeeResponse:
    """sm-1 becomes an operations supervisor (same outlet) from 2026-11-10."""
    return client.directory.TransferEmployee(
        directory_pb2.TransferEmployeeRequest(
            request_id="t-1", employee_id="sm-1", role=directory_pb2.ROLE_OPERATIONS_SUPERVISOR, effective_from="2026-11-10"
        )
    )


def test_work_is_scored_by_the_role_held_on_its_date(client: Client, manager_turned_supervisor: directory_pb2.TransferEmployeeResponse) -> None:
    before = client.work.RecordWorkEvent(work("d-1", "sm-1", "counter_transaction", "5", occurred_on="2026-11-05"))
    after = client.work.RecordWorkEvent(work("d-2", "sm-1", "duty_day", "1", occurred_on="2026-11-12"))
    with pytest.raises(grpc.RpcError) as caught:
        client.work.RecordWorkEvent(work("d-3", "sm-1", "counter_transaction", "1", occurred_on="2026-11-12"))

    assert [(r.lines[0].rule_id, r.points) for r in (before, after)] == [("sm-counter-transaction", "2.0000"), ("os-duty-day", "4.0000")]
    assert_rejected(caught.value, grpc.StatusCode.INVALID_ARGUMENT, "UNKNOWN_KIND", "kind")
    read = balance(client.balances, "sm-1", min_position=after.position)
    assert (read.balance.total, read.balance.event_count, dimensions(read)) == ("6.0000", 2, {"workload": ("15.0000", "6.0000")})
