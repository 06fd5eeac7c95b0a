"""Attack: forged and tampered page tokens (SQLite and PostgreSQL).

A page token is opaque to clients, but it used to be readable base64 JSON with a guessable query
tag: a client could forge one whose state (`{"after": "x"}`, a position past a 64-bit integer)
made the listing fail with INTERNAL. Tokens are now signed by the store's key; anything the server
did not issue for this query is INVALID_ARGUMENT INVALID_PAGE_TOKEN on `page_token`, and a real
token still pages, also on another server of the same store.
"""

from __future__ import annotations

import base64
import hashlib
import json
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import grpc
import pytest

from points.server import PointsService, Settings, build_service, create_server
from points.storage.page_keys import load_page_key
from points.v1 import (
    audit_pb2,
    audit_pb2_grpc,
    balances_pb2,
    balances_pb2_grpc,
    directory_pb2,
    directory_pb2_grpc,
    policies_pb2,
    policies_pb2_grpc,
    rankings_pb2,
    rankings_pb2_grpc,
    work_events_pb2_grpc,
)
from tests.api.calls import Staffed, work
from tests.api.rich_status import assert_rejected
from tests.conftest import Client

EXAMPLE_POLICY = (Path(__file__).parents[2] / "services/points/policies/example.toml").read_text()
HUGE = 10**30  # past any 64-bit column


def forged(query: dict[str, Any], state: dict[str, Any]) -> str:
    """A token as the server used to issue them: base64 JSON with the query's (guessable) tag."""
    tag = hashlib.sha256(json.dumps(query, sort_keys=True).encode()).hexdigest()[:16]
    payload = json.dumps({"q": tag, "s": state}, separators=(",", ":"), sort_keys=True)
    return base64.urlsafe_b64encode(payload.encode()).decode().rstrip("=")


def list_work_events(client: Client, token: str) -> Any:
    filters = dict.fromkeys(("employee_id", "outlet_id", "recorded_by", "kind", "occurred_from", "occurred_to", "recorded_from", "recorded_to"), "")
    token = token or forged({"audit": sorted(filters.items()), "newest_first": False}, {"after": "x"})
    return audit_pb2_grpc.AuditServiceStub(client.channel).ListWorkEvents(audit_pb2.ListWorkEventsRequest(page_token=token), timeout=10)


def list_access_records(client: Client, token: str) -> Any:
    token = token or forged({"access": ["", "", ""], "newest_first": False}, {"after": "x"})
    return audit_pb2_grpc.AuditServiceStub(client.channel).ListAccessRecords(audit_pb2.ListAccessRecordsRequest(page_token=token), timeout=10)


def list_policies(client: Client, token: str) -> Any:
    token = token or forged({"list": "policies"}, {"after": "x"})
    return policies_pb2_grpc.PolicyServiceStub(client.channel).ListPolicies(policies_pb2.ListPoliciesRequest(page_token=token), timeout=10)


def list_recalculations(client: Client, token: str) -> Any:
    token = token or forged({"list": "recalculations"}, {"after": "x"})
    stub = policies_pb2_grpc.PolicyServiceStub(client.channel)
    return stub.ListRecalculations(policies_pb2.ListRecalculationsRequest(page_token=token), timeout=10)


def explain_balance(client: Client, token: str) -> Any:
    token = token or forged({"explain": "os-1", "period": "2026-11"}, {"upto": HUGE, "after": [0, 0]})
    return client.balances.ExplainBalance(balances_pb2.ExplainBalanceRequest(employee_id="os-1", period="2026-11", page_token=token), timeout=10)


def list_statements(client: Client, token: str) -> Any:
    token = token or forged({"statements": "2026-11"}, {"upto": HUGE, "after": "", "close": 0})
    return client.balances.ListStatements(balances_pb2.ListStatementsRequest(period="2026-11", page_token=token), timeout=10)


def get_ranking(client: Client, token: str) -> Any:
    query = {"ranking": "2026-11", "role": "operations_supervisor", "grouping": "class", "group": ""}
    token = token or forged(query, {"p": 1, "d": 1, "o": "x"})
    request = rankings_pb2.GetRankingRequest(period="2026-11", role=directory_pb2.ROLE_OPERATIONS_SUPERVISOR, page_token=token)
    return rankings_pb2_grpc.RankingServiceStub(client.channel).GetRanking(request, timeout=10)


def simulate_ranking(client: Client, token: str) -> Any:
    digest = hashlib.sha256(EXAMPLE_POLICY.encode()).hexdigest()
    query = {"simulate": "2026-11", "role": "operations_supervisor", "grouping": "class", "policy": digest}
    token = token or forged(query, {"p": 1, "d": 1, "o": "x"})
    request = rankings_pb2.SimulateRankingRequest(
        period="2026-11", role=directory_pb2.ROLE_OPERATIONS_SUPERVISOR, candidate_policy=EXAMPLE_POLICY, page_token=token
    )
    return rankings_pb2_grpc.RankingServiceStub(client.channel).SimulateRanking(request, timeout=10)


LISTINGS: dict[str, Callable[[Client, str], Any]] = {
    "ListWorkEvents": list_work_events,
    "ListAccessRecords": list_access_records,
    "ListPolicies": list_policies,
    "ListRecalculations": list_recalculations,
    "ExplainBalance": explain_balance,
    "ListStatements": list_statements,
    "GetRanking": get_ranking,
    "SimulateRanking": simulate_ranking,
}


@pytest.mark.parametrize("rpc", LISTINGS)
def test_a_forged_token_is_invalid_argument_not_internal(rpc: str, client: Client, staffed_outlet: Staffed) -> None:
    with pytest.raises(grpc.RpcError) as caught:
        LISTINGS[rpc](client, "")
    assert_rejected(caught.value, grpc.StatusCode.INVALID_ARGUMENT, "INVALID_PAGE_TOKEN", "page_token")


def work_events(client: Client, token: str = "", min_position: int = 0) -> audit_pb2.ListWorkEventsResponse:
    stub = audit_pb2_grpc.AuditServiceStub(client.channel)
    request = audit_pb2.ListWorkEventsRequest(page_size=1, page_token=token, min_position=min_position)
    return stub.ListWorkEvents(request, timeout=10)  # type: ignore[no-any-return]


@pytest.fixture
def three_events(client: Client, staffed_outlet: Staffed) -> int:
    """Three work events; the position of the last."""
    last = 0
    for n in range(3):
        last = client.work.RecordWorkEvent(work(f"served-{n}", staffed_outlet.manager_id, "customer_served", str(n + 1))).position
    return last


def test_a_real_token_with_its_state_altered_is_refused(client: Client, three_events: int) -> None:
    token = work_events(client, min_position=three_events).next_page_token
    assert token
    body, _, signature = token.partition(".")
    state = json.loads(base64.urlsafe_b64decode(body + "=" * (-len(body) % 4)))
    state["after"] = 1  # an earlier position: the listing from the start again, or any other
    altered = base64.urlsafe_b64encode(json.dumps(state).encode()).decode().rstrip("=") + "." + signature
    for bad in (altered, token[:-2], token + "x", "\u00e9t\u00e9", token.replace(".", "..")):
        with pytest.raises(grpc.RpcError) as caught:
            work_events(client, bad)
        assert_rejected(caught.value, grpc.StatusCode.INVALID_ARGUMENT, "INVALID_PAGE_TOKEN", "page_token")
    with pytest.raises(grpc.RpcError) as caught:  # over the field's bound: refused before it is read at all
        work_events(client, "x" * 10_000)
    assert_rejected(caught.value, grpc.StatusCode.INVALID_ARGUMENT, "FIELD_TOO_LONG", "page_token")


def test_a_token_for_one_query_is_refused_by_another(client: Client, three_events: int) -> None:
    token = work_events(client, min_position=three_events).next_page_token
    with pytest.raises(grpc.RpcError) as caught:
        list_policies(client, token)
    assert_rejected(caught.value, grpc.StatusCode.INVALID_ARGUMENT, "INVALID_PAGE_TOKEN", "page_token")


@pytest.fixture
def second_server(service: PointsService, database_url: str) -> Iterator[Client]:
    """Another process's view of the same store: its own service, server and channel (as behind a load balancer)."""
    other = build_service(Settings(database_url=database_url, migrate=False), start_projector=False)
    server, port = create_server(other, "127.0.0.1", 0)
    server.start()
    channel = grpc.insecure_channel(f"127.0.0.1:{port}")
    yield Client(
        channel, f"127.0.0.1:{port}", directory_pb2_grpc.DirectoryServiceStub(channel),
        work_events_pb2_grpc.WorkEventServiceStub(channel), balances_pb2_grpc.BalanceServiceStub(channel),
    )  # fmt: skip
    channel.close()
    server.stop(grace=None).wait()
    other.close()


def test_a_real_token_pages_on_this_server_and_on_another_of_the_same_store(
    client: Client, second_server: Client, three_events: int
) -> None:
    page = work_events(client, min_position=three_events)
    seen = [e.quantity for e in page.work_events]
    for hop in range(1, 10):
        if not page.next_page_token:
            break
        page = work_events(second_server if hop % 2 else client, page.next_page_token)
        seen += [e.quantity for e in page.work_events]
    assert seen == ["1", "2", "3"]


def test_a_store_migrated_before_page_keys_gets_one_on_start(service: PointsService, database_url: str) -> None:
    view = service.projector.view
    with view._cursor(commit=True) as curs:  # as an older release left it
        curs.execute(f"DROP TABLE {view._t('page_key')}")
    older = build_service(Settings(database_url=database_url, migrate=False), start_projector=False)
    try:
        assert len(load_page_key(older.projector.view)) == 32
        assert load_page_key(older.projector.view) == load_page_key(service.projector.view)  # one key per store
    finally:
        older.close()
