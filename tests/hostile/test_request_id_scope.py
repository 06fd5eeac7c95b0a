"""Attacks on idempotency keys: one caller's request_ids can neither block nor reveal another's.

request_ids are scoped by the authenticated caller: north's feed using an id that south's feed
sends later gets its own event, south gets its own too (not ALREADY_EXISTS), and each caller's
retry still replays its own. Writes made before keys were scoped (stored under the request_id
alone) are still replayed for the caller who made them.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import pytest

from points.application.points import WorkFields
from points.server import PointsService
from points.v1 import balances_pb2, work_events_pb2
from tests.api.calls import WORK_DAY, Staffed, staff_outlet, work
from tests.api.secured import Metadata, SigningKeys, plaintext_client, with_jwt
from tests.conftest import Client


@dataclass
class Feeds:
    client: Client
    staffed: Staffed
    north: Metadata
    south: Metadata
    payroll: Metadata


@pytest.fixture
def feeds(service: PointsService, keys: SigningKeys) -> Iterator[Feeds]:
    """Two recorder feeds acting for the same outlet (the staffed one), and payroll to read balances."""
    with plaintext_client(service, with_jwt(keys)) as client:
        admin = keys.bearer("admin-1", ["admin"])
        staffed = staff_outlet(_Authorised(client.directory, admin))
        outlet = staffed.outlet_id
        yield Feeds(
            client=client,
            staffed=staffed,
            north=keys.bearer("feed-north", ["recorder"], [outlet]),
            south=keys.bearer("feed-south", ["recorder"], [outlet]),
            payroll=keys.bearer("payroll-system", ["payroll"]),
        )


class _Authorised:
    """A directory stub whose calls carry the admin's token (staff_outlet calls it without metadata)."""

    def __init__(self, stub: object, metadata: Metadata) -> None:
        self.stub, self.metadata = stub, metadata

    def __getattr__(self, name: str) -> object:
        method = getattr(self.stub, name)
        return lambda request, **kw: method(request, metadata=self.metadata, **kw)


def event_count(f: Feeds, employee_id: str, min_position: int) -> int:
    period = WORK_DAY[:7]
    return f.client.balances.GetBalance(
        balances_pb2.GetBalanceRequest(employee_id=employee_id, period=period, min_position=min_position), metadata=f.payroll, timeout=10
    ).balance.event_count


def test_one_feed_cannot_take_an_id_another_feed_sends_later(feeds: Feeds) -> None:
    manager = feeds.staffed.manager_id
    squatted = feeds.client.work.RecordWorkEvent(work("shared-7", manager, "counter_transaction", "1"), metadata=feeds.north)
    theirs = feeds.client.work.RecordWorkEvent(work("shared-7", manager, "counter_transaction", "5"), metadata=feeds.south)

    assert not squatted.replayed and not theirs.replayed  # south was neither blocked nor told the id was in use
    assert theirs.event_id != squatted.event_id
    assert event_count(feeds, manager, theirs.position) == 2


def test_each_feed_still_replays_its_own_retry(feeds: Feeds) -> None:
    manager = feeds.staffed.manager_id
    first = {who: feeds.client.work.RecordWorkEvent(work("r-1", manager, "counter_transaction", "2"), metadata=md) for who, md in (("n", feeds.north), ("s", feeds.south))}
    again = {who: feeds.client.work.RecordWorkEvent(work("r-1", manager, "counter_transaction", "2"), metadata=md) for who, md in (("n", feeds.north), ("s", feeds.south))}
    batch = feeds.client.work.RecordWorkEvents(
        work_events_pb2.RecordWorkEventsRequest(requests=[work("r-1", manager, "counter_transaction", "2")]), metadata=feeds.south
    )

    assert all(again[w].replayed and again[w].event_id == first[w].event_id for w in "ns")
    assert batch.results[0].recorded.replayed and batch.results[0].recorded.event_id == first["s"].event_id
    assert event_count(feeds, manager, max(r.position for r in first.values())) == 2


def test_two_feeds_with_one_id_in_the_same_group_commit_are_two_events(feeds: Feeds) -> None:
    manager = feeds.staffed.manager_id
    futures = [
        feeds.client.work.RecordWorkEvent.future(work("same-time", manager, "counter_transaction", "1"), metadata=md) for md in (feeds.north, feeds.south)
    ]
    results = [f.result(timeout=10) for f in futures]

    assert {r.replayed for r in results} == {False} and results[0].event_id != results[1].event_id


def test_a_write_made_before_keys_were_scoped_is_replayed_for_its_caller_only(service: PointsService, feeds: Feeds) -> None:
    """Stored as the release before scopes stored it: under the request_id alone, recorded_by the caller."""
    manager = feeds.staffed.manager_id
    fields = WorkFields(request_id="old-1", employee_id=manager, kind="counter_transaction", quantity="3", occurred_on=WORK_DAY, recorded_by="feed-north")
    before = service.app.record_work_event(fields)

    retried = feeds.client.work.RecordWorkEvent(work("old-1", manager, "counter_transaction", "3"), metadata=feeds.north)
    in_batch = feeds.client.work.RecordWorkEvents(
        work_events_pb2.RecordWorkEventsRequest(requests=[work("old-1", manager, "counter_transaction", "3")]), metadata=feeds.north
    ).results[0].recorded
    others = feeds.client.work.RecordWorkEvent(work("old-1", manager, "counter_transaction", "3"), metadata=feeds.south)

    assert retried.replayed and retried.event_id == before.event_id and retried.position == before.position
    assert in_batch.replayed and in_batch.event_id == before.event_id
    assert not others.replayed and others.event_id != before.event_id
    assert event_count(feeds, manager, others.position) == 2
