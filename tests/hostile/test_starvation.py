"""Attack: one caller takes every slot of the server with reads that wait for a position no write will reach.

Before the per-caller limit, 64 GetBalance calls by one supervisor waiting on an unreachable
`min_position` with a long deadline took all of gRPC's slots: every other caller, health
`Check` included, got RESOURCE_EXHAUSTED until that caller's deadline (which had no cap).
Now a caller holds at most its share of the admitted calls (a quarter by default), health
`Check` takes no slot and always has a thread, and a read waits for its `min_position` at most
`max_read_wait` seconds whatever its deadline. Bounds are generous: the machine is small and shared.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from dataclasses import replace

import grpc
import pytest
from grpc_health.v1 import health_pb2, health_pb2_grpc

from points.api.limits import LimitSettings
from points.server import PointsService
from points.v1 import balances_pb2, directory_pb2
from tests.api.rich_status import assert_rejected
from tests.api.secured import Metadata, SigningKeys, plaintext_client, with_jwt
from tests.conftest import Client

FAR_AHEAD = 10**9  # a log position no test reaches
GREEDY_CALLS = 64  # the whole of gRPC's old limit
LONG = 60.0  # the greedy caller's deadline, seconds
ANSWER_WITHIN = 10.0  # seconds the other callers' calls may take (they take milliseconds)
READ_WAIT = 2.0  # the server's cap on a min_position wait, for this test


@pytest.fixture
def crowded(service: PointsService, keys: SigningKeys) -> Iterator[tuple[Client, SigningKeys]]:
    """A secured server with the default limits (64 calls, 16 per caller) but a 2 s read wait; north-01 with sm-1."""
    limits = replace(LimitSettings(), max_read_wait=READ_WAIT)
    with plaintext_client(service, with_jwt(keys, limits=limits)) as client:
        admin = keys.bearer("admin-1", ["admin"])
        client.directory.RegisterOutlet(
            directory_pb2.RegisterOutletRequest(outlet_id="north-01", outlet_class=directory_pb2.OUTLET_CLASS_A, region="north"), metadata=admin
        )
        client.directory.RegisterEmployee(
            directory_pb2.RegisterEmployeeRequest(
                employee_id="sm-1", role=directory_pb2.ROLE_SERVICE_MANAGER, outlet_id="north-01", effective_from="2026-01-01"
            ),
            metadata=admin,
        )
        yield client, keys


def waiting_read(client: Client, metadata: Metadata) -> grpc.Future:
    return client.balances.GetBalance.future(  # type: ignore[no-any-return]
        balances_pb2.GetBalanceRequest(employee_id="sm-1", period="2026-11", min_position=FAR_AHEAD), timeout=LONG, metadata=metadata
    )


def test_one_caller_cannot_starve_the_others_or_the_health_check(crowded: tuple[Client, SigningKeys]) -> None:
    client, keys = crowded
    greedy = keys.bearer("greedy-supervisor", ["supervisor"], ["north-01"])
    payroll = keys.bearer("payroll-1", ["payroll"])
    started = time.monotonic()
    flood = [waiting_read(client, greedy) for _ in range(GREEDY_CALLS)]
    time.sleep(0.5)  # let the flood arrive

    health = health_pb2_grpc.HealthStub(client.channel)
    for _ in range(5):  # while the greedy caller's admitted reads are still waiting
        assert health.Check(health_pb2.HealthCheckRequest(service=""), timeout=ANSWER_WITHIN).status == health_pb2.HealthCheckResponse.SERVING
        answer = client.balances.GetBalance(
            balances_pb2.GetBalanceRequest(employee_id="sm-1", period="2026-11"), metadata=payroll, timeout=ANSWER_WITHIN
        )
        assert answer.balance.employee_id == "sm-1"
    assert time.monotonic() - started < READ_WAIT  # all that happened while the flood held its slots

    outcomes = [call.exception(timeout=LONG) for call in flood]
    ended = time.monotonic() - started
    refused = [e for e in outcomes if e is not None and e.code() == grpc.StatusCode.RESOURCE_EXHAUSTED]
    waited = [e for e in outcomes if e is not None and e.code() == grpc.StatusCode.UNAVAILABLE]
    assert len(waited) == LimitSettings().per_caller == 16  # its share, each until the read-wait cap
    assert len(refused) == GREEDY_CALLS - 16
    assert_rejected(refused[0], grpc.StatusCode.RESOURCE_EXHAUSTED, "TOO_MANY_CONCURRENT_CALLS")
    assert_rejected(waited[0], grpc.StatusCode.UNAVAILABLE, "POSITION_NOT_YET_VISIBLE")
    assert ended < LONG / 2, f"the waiting reads ended after {ended:.1f}s, not at the {READ_WAIT:g}s cap"


def test_a_read_waits_for_its_position_no_longer_than_the_server_allows(crowded: tuple[Client, SigningKeys]) -> None:
    client, keys = crowded
    started = time.monotonic()
    with pytest.raises(grpc.RpcError) as caught:
        waiting_read(client, keys.bearer("auditor-1", ["auditor"])).result(timeout=LONG)
    waited = time.monotonic() - started

    assert_rejected(caught.value, grpc.StatusCode.UNAVAILABLE, "POSITION_NOT_YET_VISIBLE")
    assert READ_WAIT - 0.5 < waited < LONG / 2  # the cap, not the caller's 60 s deadline
