"""A write whose answer is lost is retried with the same request_id and answered as a replay: it counts once.

The loss is real: the client's connection goes through a proxy (tests/clients/proxy.py)
that drops it at the moment the server starts sending the answer, after the server's
handler returned, so after the write committed. The client sees UNAVAILABLE from gRPC,
exactly as when a network drops a connection, and cannot know whether the write happened.
"""

from __future__ import annotations

import threading

import pytest

from points_client import PointsClient, RetryPolicy, Unavailable, connect
from points_client.v1 import work_events_pb2
from tests.clients.conftest import PATIENT, RestartableServer
from tests.clients.proxy import CuttingProxy

WORK_DAY = "2026-11-02"


def staff(client: PointsClient) -> None:
    client.register_outlet("north-01", "OUTLET_CLASS_A", "north")
    client.register_employee("sm-1", "ROLE_SERVICE_MANAGER", "north-01", "2026-01-01")


def test_a_write_whose_answer_was_lost_is_retried_as_a_replay_and_counts_once(proxied_client: PointsClient, proxy: CuttingProxy) -> None:
    staff(proxied_client)
    proxy.cut_next_answers(1)

    recorded = proxied_client.record_work_event("sm-1", "counter_transaction", "12", WORK_DAY)  # no request_id: the client makes one

    assert proxy.cuts == 1, "the first answer was dropped"
    assert recorded.replayed, "the retry was answered from the first, committed, write"
    events = list(proxied_client.list_work_events(employee_id="sm-1"))
    assert len(events) == 1 and len(events[0].request_id) == 36, events  # one event, under the client's uuid4
    balance = proxied_client.get_balance("sm-1", "2026-11")
    assert (balance.balance.event_count, balance.balance.total) == (1, recorded.points) == (1, "4.8000")


def test_the_callers_request_id_is_the_one_retried(proxied_client: PointsClient, proxy: CuttingProxy) -> None:
    staff(proxied_client)
    proxy.cut_next_answers(2)  # the first two attempts lose their answers

    recorded = proxied_client.record_work_event("sm-1", "counter_transaction", "3", WORK_DAY, request_id="feed-7/1")

    assert proxy.cuts == 2 and recorded.replayed
    assert [e.request_id for e in proxied_client.list_work_events(employee_id="sm-1")] == ["feed-7/1"]


def test_without_retries_the_lost_answer_is_unavailable_and_the_write_did_happen(proxy: CuttingProxy) -> None:
    # The other tests' premise: the cut comes after the commit, so only a replay keeps the count right.
    channel = connect(proxy.address, plaintext=True)
    client = PointsClient(channel, retry=RetryPolicy(max_attempts=1))
    staff(client)
    proxy.cut_next_answers(1)

    with pytest.raises(Unavailable) as lost:
        client.record_work_event("sm-1", "counter_transaction", "12", WORK_DAY, request_id="feed-7/2")

    assert lost.value.reason == ""  # gRPC's own error: no server ErrorInfo came through
    # Sent again by hand, with retries: the channel may still try the dropped connection once
    # ("Stream removed", UNAVAILABLE) before it reconnects.
    patient = PointsClient(channel, retry=PATIENT)
    again = patient.record_work_event("sm-1", "counter_transaction", "12", WORK_DAY, request_id="feed-7/2")
    assert again.replayed
    assert patient.get_balance("sm-1", "2026-11").balance.event_count == 1
    channel.close()


def test_a_batch_whose_answer_was_lost_is_retried_with_the_same_ids(proxied_client: PointsClient, proxy: CuttingProxy) -> None:
    staff(proxied_client)
    events = [
        work_events_pb2.RecordWorkEventRequest(employee_id="sm-1", kind="counter_transaction", quantity=str(n), occurred_on=WORK_DAY)
        for n in (1, 2, 3)
    ]
    proxy.cut_next_answers(1)

    response = proxied_client.record_work_events(events)

    assert proxy.cuts == 1
    assert [r.recorded.replayed for r in response.results] == [True, True, True]
    assert proxied_client.get_balance("sm-1", "2026-11").balance.event_count == 3
    assert not any(e.request_id for e in events), "the caller's requests are left as they were"


def test_a_call_made_while_the_server_restarts_gets_through(points_client: PointsClient, points_server: RestartableServer) -> None:
    staff(points_client)
    points_server.stop()
    restart = threading.Timer(0.3, points_server.start)  # back on the same port while the client backs off
    restart.start()
    try:
        recorded = points_client.record_work_event("sm-1", "counter_transaction", "12", WORK_DAY)
    finally:
        restart.join()
    assert not recorded.replayed and recorded.points == "4.8000"
