"""The client's main jobs against a real server on both stores: typed errors, pages, read-your-writes, batches, health."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from decimal import Decimal

import grpc
import pytest

from points.server import PointsService, Settings, build_service
from points_client import (
    AlreadyExists,
    InvalidArgument,
    NotFound,
    PointsClient,
    RetryPolicy,
    Unavailable,
    connect,
    error_from_status,
    paginate,
)
from points_client.v1 import audit_pb2, work_events_pb2
from tests.clients.conftest import RestartableServer

WORK_DAY = "2026-11-02"


def staff(client: PointsClient) -> int:
    client.register_outlet("north-01", "OUTLET_CLASS_A", "north")
    return client.register_employee("sm-1", "ROLE_SERVICE_MANAGER", "north-01", "2026-01-01").position


# -- typed errors ---------------------------------------------------------------------------


def test_a_bad_quantity_is_invalid_argument_with_its_reason_and_field(points_client: PointsClient) -> None:
    staff(points_client)
    with pytest.raises(InvalidArgument) as refused:
        points_client.record_work_event("sm-1", "counter_transaction", "-3", WORK_DAY)
    error = refused.value
    assert (error.code, error.reason, error.domain) == (grpc.StatusCode.INVALID_ARGUMENT, "NEGATIVE_QUANTITY", "points.v1")
    assert [(v.field, v.reason) for v in error.field_violations] == [("quantity", "NEGATIVE_QUANTITY")]
    assert isinstance(error.__cause__, grpc.RpcError), "the gRPC error stays reachable"


def test_an_unknown_employee_is_invalid_argument_on_employee_id(points_client: PointsClient) -> None:
    staff(points_client)
    with pytest.raises(InvalidArgument) as refused:
        points_client.record_work_event("nobody", "counter_transaction", "1", WORK_DAY)
    assert refused.value.reason == "UNKNOWN_EMPLOYEE"
    assert [(v.field, v.reason) for v in refused.value.field_violations] == [("employee_id", "UNKNOWN_EMPLOYEE")]
    assert "employee_id" in str(refused.value)


def test_every_violation_of_a_request_is_listed(points_client: PointsClient) -> None:
    staff(points_client)
    with pytest.raises(InvalidArgument) as refused:
        points_client.record_work_event("sm-1", "counter_transaction", "abc", "2026-12-30")  # the clock's today is 2026-11-28
    violations = {(v.field, v.reason) for v in refused.value.field_violations}
    assert violations == {("quantity", "MALFORMED_QUANTITY"), ("occurred_on", "FUTURE_DATE")}, violations


def test_not_found_and_already_exists_are_their_own_classes(points_client: PointsClient) -> None:
    staff(points_client)
    with pytest.raises(NotFound) as missing:
        points_client.get_employee("nobody")
    assert missing.value.reason == "EMPLOYEE_NOT_FOUND"
    with pytest.raises(AlreadyExists) as taken:
        points_client.register_outlet("north-01", "OUTLET_CLASS_B", "north")  # the same id, other content
    assert taken.value.reason == "OUTLET_ALREADY_REGISTERED"


def test_a_batch_answers_per_item_and_an_item_error_becomes_the_same_exception(points_client: PointsClient) -> None:
    staff(points_client)
    response = points_client.record_work_events(
        [
            work_events_pb2.RecordWorkEventRequest(employee_id="sm-1", kind="counter_transaction", quantity="2", occurred_on=WORK_DAY),
            work_events_pb2.RecordWorkEventRequest(employee_id="sm-1", kind="counter_transaction", quantity="-2", occurred_on=WORK_DAY),
        ]
    )
    good, bad = response.results
    assert good.WhichOneof("outcome") == "recorded" and points_client.position == response.position > 0
    error = error_from_status(bad.error)
    assert isinstance(error, InvalidArgument) and error.reason == "NEGATIVE_QUANTITY"
    assert [(v.field, v.reason) for v in error.field_violations] == [("quantity", "NEGATIVE_QUANTITY")]


def test_the_same_request_id_with_other_content_is_not_retried_into_success(points_client: PointsClient) -> None:
    staff(points_client)
    first = points_client.record_work_event("sm-1", "counter_transaction", "1", WORK_DAY, request_id="feed-1/1")
    again = points_client.record_work_event("sm-1", "counter_transaction", "1", WORK_DAY, request_id="feed-1/1")
    assert (first.replayed, again.replayed, again.event_id) == (False, True, first.event_id)
    with pytest.raises(AlreadyExists) as reused:
        points_client.record_work_event("sm-1", "counter_transaction", "2", WORK_DAY, request_id="feed-1/1")
    assert reused.value.reason == "REQUEST_ID_REUSED"


# -- pages ----------------------------------------------------------------------------------


def test_work_events_are_listed_across_pages(points_client: PointsClient) -> None:
    staff(points_client)
    ids = [points_client.record_work_event("sm-1", "counter_transaction", str(q), WORK_DAY, request_id=f"feed-2/{q}").event_id for q in range(1, 8)]

    listed = [e.event_id for e in points_client.list_work_events(employee_id="sm-1", page_size=2)]
    newest_first = [e.event_id for e in points_client.list_work_events(employee_id="sm-1", page_size=3, newest_first=True)]

    assert listed == ids and newest_first == ids[::-1]
    tokens: list[str] = []

    def page(request: audit_pb2.ListWorkEventsRequest) -> audit_pb2.ListWorkEventsResponse:
        tokens.append(request.page_token)
        return points_client.call(points_client.audit.ListWorkEvents, request)

    assert len(list(paginate(page, audit_pb2.ListWorkEventsRequest(employee_id="sm-1", page_size=2), "work_events"))) == 7
    assert len(tokens) == 4 and tokens[0] == "" and all(tokens[1:]) and len(set(tokens)) == 4  # 2 + 2 + 2 + 1, each page's token


def test_the_explained_lines_across_pages_add_up_to_the_balance(points_client: PointsClient) -> None:
    staff(points_client)
    for q in range(1, 6):
        points_client.record_work_event("sm-1", "counter_transaction", str(q), WORK_DAY)
    lines = list(points_client.explain_balance("sm-1", "2026-11", page_size=2))
    balance = points_client.get_balance("sm-1", "2026-11").balance
    assert len(lines) == 5 and len({line.event_id for line in lines}) == 5
    assert sum(Decimal(line.weighted_points) for line in lines) == Decimal(balance.total) == Decimal("6.0000")


# -- read-your-writes -----------------------------------------------------------------------


@pytest.fixture
def paused_projection(settings: Settings) -> Iterator[PointsService]:
    """A service whose balance projection does not run until the test starts it: writes commit, reads lag."""
    built = build_service(settings, start_projector=False)
    yield built
    built.close()


def test_reads_wait_for_the_clients_own_writes(paused_projection: PointsService) -> None:
    server = RestartableServer(paused_projection)
    channel = connect(server.address, plaintext=True)
    try:
        client = PointsClient(channel, retry=RetryPolicy(max_attempts=1))
        blind = PointsClient(channel, read_your_writes=False)
        staff(client)
        recorded = client.record_work_event("sm-1", "counter_transaction", "12", WORK_DAY)
        assert client.position == recorded.position and blind.position == 0

        # The projection has not run: a read that does not ask for the write does not see it.
        assert blind.get_balance("sm-1", "2026-11").balance.event_count == 0
        assert client.get_balance("sm-1", "2026-11", min_position=0).balance.event_count == 0

        # This client's read carries min_position = its last write, and waits for it.
        threading.Timer(0.5, paused_projection.projector.start).start()
        read = client.get_balance("sm-1", "2026-11")
        assert read.position >= recorded.position and (read.balance.event_count, read.balance.total) == (1, "4.8000")
    finally:
        channel.close()
        server.stop()


def test_a_read_waiting_for_a_position_no_write_reached_is_unavailable(points_client: PointsClient) -> None:
    staff(points_client)
    points_client.observe(10_000_000)  # e.g. a position another process wrote, on a server that has not got there
    impatient = PointsClient(points_client.channel, retry=RetryPolicy(max_attempts=1), timeout=0.5)
    impatient.observe(points_client.position)
    with pytest.raises(Unavailable) as waited:
        impatient.get_balance("sm-1", "2026-11")
    assert waited.value.reason == "POSITION_NOT_YET_VISIBLE"


# -- health ---------------------------------------------------------------------------------


def test_health(points_client: PointsClient) -> None:
    assert points_client.health_check() == "SERVING"
    assert points_client.health_check("points.v1.BalanceService") == "SERVING"
    with pytest.raises(NotFound):
        points_client.health_check("no.such.Service")
