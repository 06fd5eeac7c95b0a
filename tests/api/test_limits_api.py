"""Limits through a real server: message size, concurrent calls, the per-caller write rate, the default deadline,
and what a caller sees when the database fails (INTERNAL, an incident id, nothing else).
"""

from __future__ import annotations

import re
import sqlite3
import time
from collections.abc import Iterator
from dataclasses import replace
from urllib.parse import parse_qs, urlparse

import grpc
import pytest
from google.rpc import error_details_pb2
from grpc_status import rpc_status

from points.api.limits import LimitSettings
from points.api.security import SecuritySettings
from points.server import PointsService
from points.v1 import balances_pb2, directory_pb2, work_events_pb2
from tests.api.calls import work
from tests.api.rich_status import assert_rejected, rich_error
from tests.api.secured import Metadata, SigningKeys, plaintext_client, with_jwt
from tests.conftest import Client, drop_schema

EXHAUSTED = grpc.StatusCode.RESOURCE_EXHAUSTED
FAR_AHEAD = 10**9  # a log position no test reaches: a balance read waits for it until its deadline


def limited(**limits: float) -> SecuritySettings:
    return SecuritySettings(limits=replace(LimitSettings(), **limits))  # type: ignore[arg-type]


def staff(client: Client, metadata: Metadata = ()) -> None:
    """north-01 with service manager sm-1."""
    client.directory.RegisterOutlet(
        directory_pb2.RegisterOutletRequest(outlet_id="north-01", outlet_class=directory_pb2.OUTLET_CLASS_A, region="north"), metadata=metadata
    )
    client.directory.RegisterEmployee(
        directory_pb2.RegisterEmployeeRequest(
            employee_id="sm-1", role=directory_pb2.ROLE_SERVICE_MANAGER, outlet_id="north-01", effective_from="2026-01-01"
        ),
        metadata=metadata,
    )


def waiting_read(client: Client, timeout: float | None, metadata: Metadata = ()) -> grpc.Future:
    return client.balances.GetBalance.future(  # type: ignore[no-any-return]
        balances_pb2.GetBalanceRequest(employee_id="sm-1", period="2026-11", min_position=FAR_AHEAD), timeout=timeout, metadata=metadata
    )


def test_an_oversized_message_is_resource_exhausted(sqlite_service: PointsService) -> None:
    with plaintext_client(sqlite_service, limited(max_message_bytes=2048)) as client:
        staff(client)
        client.work.RecordWorkEvent(work("small-1", "sm-1", "counter_transaction", "1", attributes={"note": "x" * 100}))
        with pytest.raises(grpc.RpcError) as caught:
            client.work.RecordWorkEvent(work("large-1", "sm-1", "counter_transaction", "1", attributes={"note": "x" * 4000}))

    assert_rejected(caught.value, EXHAUSTED, "MESSAGE_TOO_LARGE")  # refused (and recorded) before anything parses it


def test_a_message_over_the_receive_ceiling_is_refused_by_grpc_itself(sqlite_service: PointsService) -> None:
    with plaintext_client(sqlite_service, limited(max_message_bytes=2048)) as client:
        with pytest.raises(grpc.RpcError) as caught:
            client.work.RecordWorkEvent(work("huge-1", "sm-1", "counter_transaction", "1", attributes={"note": "x" * 9000}))

    assert caught.value.code() == EXHAUSTED  # over 4 x the setting: the gRPC core refuses it, before any handler
    assert "larger than max" in (caught.value.details() or "")


def occupy_both_slots(client: Client) -> list[grpc.Future]:
    """Two reads that wait, holding the server's two slots. The server frees a finished call's slot
    just after its answer reaches the client, so a read sent at once may still find the slot taken:
    such a read (refused at once) is sent again."""
    busy = [waiting_read(client, timeout=2) for _ in range(2)]
    for _ in range(20):
        time.sleep(0.05)
        refused = [i for i, call in enumerate(busy) if call.done() and call.code() == EXHAUSTED]
        if not refused:
            return busy
        for i in refused:
            busy[i] = waiting_read(client, timeout=2)
    raise AssertionError("the two slots never both became free for the waiting reads")


def test_too_many_concurrent_calls_are_resource_exhausted(sqlite_service: PointsService) -> None:
    with plaintext_client(sqlite_service, limited(max_concurrent_rpcs=2), max_workers=4) as client:
        staff(client)
        busy = occupy_both_slots(client)
        refused = None
        deadline = time.monotonic() + 1.5
        while refused is None and time.monotonic() < deadline:
            try:
                client.directory.GetOutlet(directory_pb2.GetOutletRequest(outlet_id="north-01"), timeout=2)
            except grpc.RpcError as error:
                refused = error
            else:
                time.sleep(0.02)  # the two reads are not both in flight yet
        for call in busy:
            assert call.exception() is not None and call.exception().code() == grpc.StatusCode.UNAVAILABLE  # type: ignore[union-attr]
        after = client.directory.GetOutlet(directory_pb2.GetOutletRequest(outlet_id="north-01"), timeout=2)

    assert refused is not None and refused.code() == EXHAUSTED
    assert after.outlet.outlet_id == "north-01"


@pytest.fixture
def slow_writer(sqlite_service: PointsService, keys: SigningKeys) -> Iterator[tuple[Client, SigningKeys]]:
    """A secured server allowing each caller one write per second after a burst of 1,000."""
    security = with_jwt(keys, limits=replace(LimitSettings(), write_rate=1.0, write_burst=1000))
    with plaintext_client(sqlite_service, security) as client:
        staff(client, keys.bearer("admin-1", ["admin"]))
        yield client, keys


def test_a_caller_over_its_write_rate_is_resource_exhausted(slow_writer: tuple[Client, SigningKeys]) -> None:
    client, keys = slow_writer
    recorder = keys.bearer("counter-north", ["recorder", "supervisor"], ["north-01"])
    burst = work_events_pb2.RecordWorkEventsRequest(requests=[work(f"u-{i}", "sm-1", "teleportation", "1") for i in range(1000)])
    answered = client.work.RecordWorkEvents(burst, metadata=recorder)  # 1,000 writes' worth, each refused by validation
    assert {r.WhichOneof("outcome") for r in answered.results} == {"error"}

    with pytest.raises(grpc.RpcError) as caught:
        client.work.RecordWorkEvent(work("over-1", "sm-1", "counter_transaction", "1"), metadata=recorder)

    rejected = assert_rejected(caught.value, EXHAUSTED, "RATE_LIMITED")
    assert "per second" in rejected.message
    retry = retry_info(caught.value)
    assert retry is not None and 0 < retry.retry_delay.ToTimedelta().total_seconds() <= 1.5
    # Reads are not limited, and another caller has its own budget; the refused write stored nothing.
    assert client.balances.GetBalance(balances_pb2.GetBalanceRequest(employee_id="sm-1", period="2026-11"), metadata=recorder).balance.event_count == 0
    other = keys.bearer("feed-north", ["recorder"], ["north-01"])
    assert client.work.RecordWorkEvent(work("over-1", "sm-1", "counter_transaction", "1"), metadata=other).replayed is False


def retry_info(error: grpc.RpcError) -> error_details_pb2.RetryInfo | None:
    status = rpc_status.from_call(error)  # type: ignore[arg-type]
    for detail in status.details if status else ():
        if detail.Is(error_details_pb2.RetryInfo.DESCRIPTOR):
            info = error_details_pb2.RetryInfo()
            detail.Unpack(info)
            return info
    return None


def test_a_call_without_a_deadline_gets_the_default(sqlite_service: PointsService) -> None:
    with plaintext_client(sqlite_service, limited(default_deadline=0.5)) as client:
        staff(client)
        started = time.monotonic()
        no_deadline = waiting_read(client, timeout=None)
        with pytest.raises(grpc.RpcError) as caught:
            no_deadline.result(timeout=10)
        waited = time.monotonic() - started
        started = time.monotonic()
        own_deadline = waiting_read(client, timeout=1.5)
        with pytest.raises(grpc.RpcError):
            own_deadline.result(timeout=10)
        waited_own = time.monotonic() - started

    assert_rejected(caught.value, grpc.StatusCode.UNAVAILABLE, "POSITION_NOT_YET_VISIBLE")
    assert 0.3 < waited < 3.0
    assert waited_own > 1.2  # a deadline the client set is kept, even when longer than the default


def break_the_store(database_url: str, request: pytest.FixtureRequest) -> None:
    """Drops every table (SQLite) or the whole schema (PostgreSQL) under the running service."""
    parsed = urlparse(database_url)
    if parsed.scheme == "sqlite":
        with sqlite3.connect(parsed.path[1:] if parsed.path.startswith("//") else parsed.path) as conn:
            for (name,) in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'").fetchall():
                conn.execute(f'DROP TABLE "{name}"')
        return
    drop_schema(request.getfixturevalue("postgres_server"), parse_qs(parsed.query)["schema"][0])


INTERNAL_MESSAGE = re.compile(r"^internal error; quote incident ([0-9a-f]{12}) to the operators$")


def test_a_database_failure_is_internal_with_an_incident_id_only(
    service: PointsService, database_url: str, keys: SigningKeys, request: pytest.FixtureRequest
) -> None:
    with plaintext_client(service, with_jwt(keys)) as client:
        staff(client, keys.bearer("admin-1", ["admin"]))
        break_the_store(database_url, request)
        failures = []
        for call, request, caller in (
            (client.directory.GetEmployee, directory_pb2.GetEmployeeRequest(employee_id="sm-1"), keys.bearer("auditor-1", ["auditor"])),
            (client.work.RecordWorkEvent, work("f-1", "sm-1", "counter_transaction", "1"), keys.bearer("rec-1", ["recorder"], ["north-01"])),
        ):
            with pytest.raises(grpc.RpcError) as caught:
                call(request, metadata=caller, timeout=10)
            failures.append(caught.value)

    for failure in failures:
        refused = rich_error(failure)  # also: no SQL, no traceback, no driver name in the message
        incident = INTERNAL_MESSAGE.fullmatch(refused.message)
        assert (refused.code, refused.reason, incident is not None) == (grpc.StatusCode.INTERNAL, "INTERNAL", True), refused
        assert failure.trailing_metadata() is not None and "Traceback" not in str(failure.trailing_metadata())
