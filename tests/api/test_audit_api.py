"""AuditService through a real server (SQLite and PostgreSQL): an employee's history with its corrections, the
ledger's verification and head, and `points audit head|verify` as real processes against it.

The history (clock from 2026-11-28 09:30 UTC, one minute per write; north-01 is staffed by os-1 and sm-1):
  09:31 ct-1      sm-1 counter_transaction 10    on 2026-11-02, by counter-north from core-feed (at 08:15 UTC)
  09:32 served-1  sm-1 customer_served 20        on 2026-11-03, by os-1 from manual
  09:33 auth-1    os-1 counter_authorisation 40  on 2026-11-03, by counter-north from core-feed
  09:34 served-2  sm-1 customer_served 4         on 2026-11-04, by os-1 from manual
  09:35 ct-2      sm-1 counter_transaction 5     on 2026-11-05, by counter-north from core-feed
  09:40 rev-1     served-1 reversed ("recorded twice", by supervisor s7)
  09:45 amend-1   ct-1 amended to 12 ("miscounted", by supervisor s7)
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timezone
from typing import TYPE_CHECKING

import grpc
import pytest
from google.protobuf.timestamp_pb2 import Timestamp

from points.server import PointsService
from points.v1 import audit_pb2, audit_pb2_grpc, directory_pb2
from tests.api.calls import MANAGER, SUPERVISOR, Staffed, work
from tests.api.ledger_calls import amendment, reversal
from tests.api.rich_status import assert_rejected
from tests.api.test_process import run_points
from tests.support.tampering import delete_event, relink, rewrite_event_state, stored_state

if TYPE_CHECKING:
    from tests.conftest import Client, Clock

SM_1_OLDEST_FIRST = ["ct-1", "served-1", "served-2", "ct-2"]


@dataclass(frozen=True)
class History:
    """Event ids and log positions by request id; `last` is the position of the last write."""

    event_ids: dict[str, str]
    positions: dict[str, int]
    last: int


def audit_of(client: Client) -> audit_pb2_grpc.AuditServiceStub:
    return audit_pb2_grpc.AuditServiceStub(client.channel)


@pytest.fixture
def corrected_history(client: Client, staffed_outlet: Staffed, clock: Clock) -> History:
    """The history in the module docstring, written through the server."""
    feed = {"recorded_by": "counter-north", "source": "core-feed"}
    manual = {"recorded_by": "os-1", "source": "manual"}
    at_0815 = Timestamp()
    at_0815.FromDatetime(datetime(2026, 11, 2, 8, 15, tzinfo=timezone.utc))
    requests = [
        work("ct-1", MANAGER, "counter_transaction", "10", occurred_at=at_0815, **feed),
        work("served-1", MANAGER, "customer_served", "20", "2026-11-03", **manual),
        work("auth-1", SUPERVISOR, "counter_authorisation", "40", "2026-11-03", **feed),
        work("served-2", MANAGER, "customer_served", "4", "2026-11-04", **manual),
        work("ct-2", MANAGER, "counter_transaction", "5", "2026-11-05", **feed),
    ]
    event_ids, positions = {}, {}
    for request in requests:
        clock.advance(minutes=1)
        written = client.work.RecordWorkEvent(request, timeout=10)
        event_ids[request.request_id], positions[request.request_id] = written.event_id, written.position
    clock.advance(minutes=5)
    client.work.CorrectWorkEvent(reversal("rev-1", event_ids["served-1"], MANAGER), timeout=10)
    clock.advance(minutes=5)
    last = client.work.CorrectWorkEvent(amendment("amend-1", event_ids["ct-1"], MANAGER, quantity="12"), timeout=10).position
    return History(event_ids, positions, last)


def list_page(client: Client, history: History, **request: object) -> audit_pb2.ListWorkEventsResponse:
    return audit_of(client).ListWorkEvents(  # type: ignore[no-any-return]
        audit_pb2.ListWorkEventsRequest(min_position=history.last, **request), timeout=10  # type: ignore[arg-type]
    )


def pages_of(client: Client, history: History, **request: object) -> list[list[str]]:
    """Request ids on each page, following next_page_token to the end."""
    response = list_page(client, history, **request)
    found = [[e.request_id for e in response.work_events]]
    while response.next_page_token:
        response = list_page(client, history, page_token=response.next_page_token, **request)
        found.append([e.request_id for e in response.work_events])
    return found


def listed(client: Client, history: History, request_id: str) -> audit_pb2.AuditedWorkEvent:
    (event,) = [e for e in list_page(client, history, page_size=1000).work_events if e.request_id == request_id]
    return event


def lines_of(event: audit_pb2.AuditedWorkEvent) -> list[tuple[str, str, str, str]]:
    return [(line.entry, line.kind, line.quantity, line.points) for line in event.lines]


def corrections_of(event: audit_pb2.AuditedWorkEvent) -> list[tuple[str, str, str, str, str, str]]:
    return [(c.action, c.request_id, c.reason, c.corrected_by, text_of(c.recorded_time), c.quantity) for c in event.corrections]


def text_of(stamp: Timestamp) -> str:
    """A Timestamp as ISO 8601 UTC text, "" when unset (the message's field is a Timestamp, never a string)."""
    return stamp.ToDatetime(tzinfo=timezone.utc).isoformat(timespec="microseconds") if stamp.ByteSize() else ""


def stamp(text: str) -> Timestamp:
    message = Timestamp()
    message.FromDatetime(datetime.fromisoformat(text))
    return message


# -- ListWorkEvents and GetWorkEvent ----------------------------------------------------------------


def test_an_employees_history_pages_oldest_first(client: Client, corrected_history: History) -> None:
    assert pages_of(client, corrected_history, employee_id=MANAGER, page_size=2) == [["ct-1", "served-1"], ["served-2", "ct-2"]]


def test_an_employees_history_pages_newest_first(client: Client, corrected_history: History) -> None:
    assert pages_of(client, corrected_history, employee_id=MANAGER, page_size=2, newest_first=True) == [
        ["ct-2", "served-2"],
        ["served-1", "ct-1"],
    ]


def test_a_listed_event_shows_who_recorded_it_from_where_and_when(client: Client, corrected_history: History) -> None:
    event = listed(client, corrected_history, "ct-1")

    assert (event.event_id, event.position) == (corrected_history.event_ids["ct-1"], corrected_history.positions["ct-1"])
    assert (event.employee_id, event.outlet_id, event.role, event.kind, event.quantity) == (
        MANAGER, "north-01", directory_pb2.ROLE_SERVICE_MANAGER, "counter_transaction", "10",
    )  # fmt: skip
    assert (event.recorded_by, event.source, event.occurred_on) == ("counter-north", "core-feed", "2026-11-02")
    assert (text_of(event.occurred_time), text_of(event.recorded_time)) == ("2026-11-02T08:15:00.000000+00:00", "2026-11-28T09:31:00.000000+00:00")


def test_an_amended_event_shows_its_lines_and_the_amendment_with_reason_and_author(client: Client, corrected_history: History) -> None:
    event = listed(client, corrected_history, "ct-1")

    assert event.status == "amended"
    assert lines_of(event) == [
        ("recorded", "counter_transaction", "10", "10.0000"),
        ("reversal", "counter_transaction", "10", "-10.0000"),
        ("amended", "counter_transaction", "12", "12.0000"),
    ]
    assert corrections_of(event) == [("amend", "amend-1", "miscounted", "supervisor s7", "2026-11-28T09:45:00.000000+00:00", "12")]


def test_a_reversed_event_shows_its_lines_and_the_reversal_with_reason_and_author(client: Client, corrected_history: History) -> None:
    event = listed(client, corrected_history, "served-1")

    assert (event.status, event.recorded_by, event.source, event.HasField("occurred_time")) == ("reversed", "os-1", "manual", False)
    assert lines_of(event) == [("recorded", "customer_served", "20", "10.0000"), ("reversal", "customer_served", "20", "-10.0000")]
    assert corrections_of(event) == [("reverse", "rev-1", "recorded twice", "supervisor s7", "2026-11-28T09:40:00.000000+00:00", "")]


@pytest.mark.parametrize(
    ("filters", "expected"),
    [
        ({"employee_id": SUPERVISOR}, ["auth-1"]),
        ({"outlet_id": "north-01"}, ["ct-1", "served-1", "auth-1", "served-2", "ct-2"]),
        ({"recorded_by": "os-1"}, ["served-1", "served-2"]),
        ({"kind": "customer_served"}, ["served-1", "served-2"]),
        ({"occurred_from": "2026-11-03", "occurred_to": "2026-11-04"}, ["served-1", "auth-1", "served-2"]),
        ({"recorded_from": stamp("2026-11-28T09:33:00Z"), "recorded_to": stamp("2026-11-28T09:34:00Z")}, ["auth-1", "served-2"]),
        ({"recorded_from": stamp("2026-11-28T10:33:00+01:00"), "recorded_to": stamp("2026-11-28T09:33:00.000001Z")}, ["auth-1"]),
        ({"employee_id": MANAGER, "recorded_by": "counter-north"}, ["ct-1", "ct-2"]),
    ],
    ids=["employee", "outlet", "recorder", "kind", "business-dates", "recorded-times", "recorded-instants", "employee-and-recorder"],
)
def test_a_filter_narrows_the_list_exactly(client: Client, corrected_history: History, filters: dict[str, object], expected: list[str]) -> None:
    assert [e.request_id for e in list_page(client, corrected_history, **filters).work_events] == expected


def test_one_event_reads_as_it_lists(client: Client, corrected_history: History) -> None:
    got = audit_of(client).GetWorkEvent(
        audit_pb2.GetWorkEventRequest(event_id=corrected_history.event_ids["served-1"], min_position=corrected_history.last), timeout=10
    )

    assert got.work_event == listed(client, corrected_history, "served-1")


def test_an_unknown_event_is_not_found(client: Client, corrected_history: History) -> None:
    with pytest.raises(grpc.RpcError) as caught:
        audit_of(client).GetWorkEvent(audit_pb2.GetWorkEventRequest(event_id="00000000-0000-0000-0000-000000000000"), timeout=10)

    assert_rejected(caught.value, grpc.StatusCode.NOT_FOUND, "WORK_EVENT_NOT_FOUND")


def test_a_recorded_time_beyond_the_timestamp_range_is_invalid(client: Client, corrected_history: History) -> None:
    with pytest.raises(grpc.RpcError) as caught:
        list_page(client, corrected_history, recorded_from=Timestamp(seconds=253402300800))  # 10000-01-01

    assert_rejected(caught.value, grpc.StatusCode.INVALID_ARGUMENT, "MALFORMED_TIMESTAMP", "recorded_from")


# -- VerifyLedger and GetLedgerHead -------------------------------------------------------------


def verify(client: Client, **request: int) -> audit_pb2.VerifyLedgerResponse:
    return audit_of(client).VerifyLedger(audit_pb2.VerifyLedgerRequest(**request), timeout=30)  # type: ignore[no-any-return]


def head_of(client: Client) -> audit_pb2.GetLedgerHeadResponse:
    return audit_of(client).GetLedgerHead(audit_pb2.GetLedgerHeadRequest(), timeout=10)  # type: ignore[no-any-return]


def test_an_unchanged_ledger_verifies_to_the_head_it_reports(client: Client, corrected_history: History) -> None:
    head = head_of(client)

    result = verify(client)

    assert (head.position, len(head.hash)) == (corrected_history.last, 64)
    assert (result.verified, result.checked, result.from_position, result.to_position) == (True, head.position, 1, head.position)
    assert (result.head_hash, result.first_bad_position, result.problem) == (head.hash, 0, "")


def test_a_changed_event_is_named_with_its_position_and_problem(client: Client, service: PointsService, corrected_history: History) -> None:
    changed = corrected_history.positions["served-2"]
    rewrite_event_state(service.store, changed, stored_state(service.store, changed).replace(b'"4"', b'"40"'))

    result = verify(client)

    assert (result.verified, result.first_bad_position, result.problem) == (False, changed, "the event or its link was changed")
    assert (result.checked, result.head_hash) == (changed - 1, "")


def test_a_deleted_event_is_named_with_its_position_and_problem(client: Client, service: PointsService, corrected_history: History) -> None:
    deleted = corrected_history.positions["auth-1"]
    delete_event(service.store, deleted)

    result = verify(client)

    assert (result.verified, result.first_bad_position, result.problem) == (False, deleted, "the event at this position is missing")


# -- `points audit head` and `points audit verify --expect-head` ---------------------------------------


def points_audit(client: Client, *args: str) -> tuple[int, str]:
    result = run_points("audit", *args, "--server", client.address)
    assert "Traceback" not in result.stderr, result.stderr
    return result.returncode, result.stdout


@pytest.fixture
def kept_head(client: Client, corrected_history: History) -> str:
    """`points audit head` as an auditor would run it and keep its output outside the database."""
    code, out = points_audit(client, "head")
    assert code == 0
    return out.strip()


def test_points_audit_head_prints_the_position_and_hash(client: Client, kept_head: str) -> None:
    head = head_of(client)

    assert kept_head == f"{head.position}:{head.hash}"


def test_verifying_against_a_kept_head_exits_0_while_nothing_changed(client: Client, kept_head: str) -> None:
    code, out = points_audit(client, "verify", "--expect-head", kept_head)

    assert code == 0, out
    assert out.startswith(f"verified {kept_head.split(':')[0]} events") and "events/s" in out


def test_verifying_against_a_head_kept_before_a_change_exits_1_naming_the_position(
    client: Client, service: PointsService, corrected_history: History, kept_head: str
) -> None:
    changed = corrected_history.positions["served-2"]
    rewrite_event_state(service.store, changed, stored_state(service.store, changed).replace(b'"4"', b'"40"'))

    code, out = points_audit(client, "verify", "--expect-head", kept_head)

    assert code == 1
    assert out.startswith(f"NOT VERIFIED at position {changed}: the event or its link was changed")


def test_verifying_against_a_head_kept_before_a_relinked_change_exits_1(
    client: Client, service: PointsService, corrected_history: History, kept_head: str
) -> None:
    """The chain was recomputed over the change, so it verifies in itself: only the kept head shows the rewrite."""
    changed = corrected_history.positions["served-2"]
    rewrite_event_state(service.store, changed, stored_state(service.store, changed).replace(b'"4"', b'"40"'))
    relink(service.store, changed)
    assert verify(client).verified

    code, out = points_audit(client, "verify", "--expect-head", kept_head)

    assert code == 1
    assert out.startswith(f"NOT VERIFIED: the chain verifies, but its hash at {kept_head.split(':')[0]} is ")
    assert out.strip().endswith(f"not the kept {kept_head.split(':')[1]}")


def test_verifying_after_an_event_was_deleted_exits_1(client: Client, service: PointsService, corrected_history: History) -> None:
    delete_event(service.store, corrected_history.positions["ct-2"])

    code, out = points_audit(client, "verify")

    assert (code, out.split(":")[0]) == (1, f"NOT VERIFIED at position {corrected_history.positions['ct-2']}")
