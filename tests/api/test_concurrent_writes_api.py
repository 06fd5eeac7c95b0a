"""Concurrent clients through a real server: retries racing each other still count once, and every
writer reads its own write."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from typing import TYPE_CHECKING

from points.v1 import work_events_pb2
from tests.api.calls import Staffed, balance, work

if TYPE_CHECKING:
    from tests.conftest import Client

CLIENTS = 8


def test_racing_retries_of_one_request_record_it_once(client: Client, staffed_outlet: Staffed) -> None:
    with ThreadPoolExecutor(CLIENTS) as pool:
        answers = list(pool.map(lambda _: client.work.RecordWorkEvent(work("race-1", "sm-1", "online_migration", "3"), timeout=30), range(CLIENTS)))

    assert sorted(a.replayed for a in answers) == [False] + [True] * (CLIENTS - 1)
    assert {(a.event_id, a.position, a.points) for a in answers} == {(answers[0].event_id, answers[0].position, "2.1000")}
    read = balance(client.balances, "sm-1", min_position=answers[0].position)
    assert (read.balance.total, read.balance.event_count) == ("2.1000", 1)  # 3 x 2 = 6 service points x .35


def test_racing_overlapping_batches_record_each_item_once(client: Client, staffed_outlet: Staffed) -> None:
    items = [work(f"ob-{i}", "sm-1", "counter_transaction", "1") for i in range(20)]
    batches = [items[start : start + 10] for start in (0, 5, 10)] * 3  # each item in up to six racing batches

    with ThreadPoolExecutor(CLIENTS) as pool:
        answers = list(pool.map(lambda b: client.work.RecordWorkEvents(work_events_pb2.RecordWorkEventsRequest(requests=b), timeout=30), batches))

    assert all(r.WhichOneof("outcome") == "recorded" for a in answers for r in a.results)
    first_time = [r.recorded.event_id for a in answers for r in a.results if not r.recorded.replayed]
    assert len(first_time) == len(set(first_time)) == 20
    read = balance(client.balances, "sm-1", min_position=max(a.position for a in answers))
    assert (read.balance.total, read.balance.event_count) == ("8.0000", 20)


def test_each_concurrent_writer_reads_its_own_write(client: Client, staffed_outlet: Staffed) -> None:
    def write_then_read(i: int) -> int:
        recorded = client.work.RecordWorkEvent(work(f"ryw-{i}", "os-1", "duty_day", "1"), timeout=30)
        return balance(client.balances, "os-1", min_position=recorded.position).balance.event_count

    with ThreadPoolExecutor(CLIENTS) as pool:
        counts = list(pool.map(write_then_read, range(4 * CLIENTS)))

    assert min(counts) >= 1 and max(counts) == 4 * CLIENTS
