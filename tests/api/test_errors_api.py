"""Bad input through a real server: the right code, one ErrorInfo, a field violation, and nothing stored.

Every error is parsed by tests.api.rich_status, which also checks that no message leaks SQL or a traceback.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import grpc
import pytest
from google.protobuf.timestamp_pb2 import Timestamp

from points.v1 import balances_pb2, directory_pb2, work_events_pb2
from tests.api.calls import Staffed, balance, work
from tests.api.rich_status import assert_rejected, rich_error, rich_error_of_status

if TYPE_CHECKING:
    from tests.conftest import Client

INVALID = grpc.StatusCode.INVALID_ARGUMENT
NOT_FOUND = grpc.StatusCode.NOT_FOUND


def assert_no_work_stored(client: Client, request_id: str) -> None:
    """The rejected request_id is still free, and a read after a later write shows only that write."""
    later = client.work.RecordWorkEvent(work(request_id, "sm-1", "counter_transaction", "1"))
    assert later.replayed is False
    seen = [balance(client.balances, e, "2026", later.position).balance for e in ("os-1", "sm-1")]
    assert [(b.event_count, b.total) for b in seen] == [(0, "0.0000"), (1, "0.4000")]


@pytest.mark.parametrize(
    ("changes", "field", "reason"),
    [
        ({"employee_id": "nobody"}, "employee_id", "UNKNOWN_EMPLOYEE"),
        ({"employee_id": "no body"}, "employee_id", "MALFORMED_EMPLOYEE_ID"),
        ({"kind": "teleportation"}, "kind", "UNKNOWN_KIND"),
        ({"kind": "duty_day"}, "kind", "UNKNOWN_KIND"),  # a supervisor's kind, not a service manager's
        ({"kind": "Counter Transaction"}, "kind", "UNKNOWN_KIND"),
        ({"kind": ""}, "kind", "MISSING_KIND"),
        ({"quantity": "-1"}, "quantity", "NEGATIVE_QUANTITY"),
        ({"quantity": "three"}, "quantity", "MALFORMED_QUANTITY"),
        ({"quantity": "NaN"}, "quantity", "MALFORMED_QUANTITY"),
        ({"quantity": "1e3"}, "quantity", "MALFORMED_QUANTITY"),
        ({"quantity": "1_000"}, "quantity", "MALFORMED_QUANTITY"),
        ({"quantity": " 12 "}, "quantity", "MALFORMED_QUANTITY"),
        ({"quantity": "+5"}, "quantity", "MALFORMED_QUANTITY"),
        ({"quantity": "1E-2"}, "quantity", "MALFORMED_QUANTITY"),
        ({"quantity": "0.0000001"}, "quantity", "QUANTITY_TOO_PRECISE"),
        ({"quantity": ""}, "quantity", "MISSING_QUANTITY"),
        ({"occurred_on": "2026-11-29"}, "occurred_on", "FUTURE_DATE"),
        ({"occurred_on": "2026-02-30"}, "occurred_on", "MALFORMED_DATE"),
        ({"occurred_on": "02/11/2026"}, "occurred_on", "MALFORMED_DATE"),
        ({"occurred_on": "2025-12-31"}, "occurred_on", "NOT_ASSIGNED_ON_DATE"),
        ({"occurred_at": Timestamp(seconds=1_795_914_000)}, "occurred_at", "FUTURE_DATE"),  # 2026-11-29T01:00Z
        ({"occurred_at": Timestamp(seconds=1_794_902_400)}, "occurred_at", "OCCURRED_AT_NOT_ON_OCCURRED_ON"),  # 2026-11-17, not 11-02
        ({"outlet_id": "nowhere"}, "outlet_id", "UNKNOWN_OUTLET"),
        ({"request_id": ""}, "request_id", "MISSING_REQUEST_ID"),
        ({"request_id": "has space"}, "request_id", "MALFORMED_REQUEST_ID"),
        ({"attributes": {"Complexity": "high"}}, "attributes['Complexity']", "MALFORMED_ATTRIBUTE"),
        ({"recorded_by": "bell\x07"}, "recorded_by", "CONTROL_CHARACTERS"),
    ],
)
def test_a_bad_work_event_is_rejected_and_not_stored(
    client: Client, staffed_outlet: Staffed, changes: dict[str, object], field: str, reason: str
) -> None:
    fields: dict[str, object] = {"request_id": "bad-1", "employee_id": "sm-1", "kind": "counter_transaction", "quantity": "1"}
    fields.update(changes)

    with pytest.raises(grpc.RpcError) as caught:
        client.work.RecordWorkEvent(work(**fields))  # type: ignore[arg-type]

    assert_rejected(caught.value, INVALID, reason, field)
    assert_no_work_stored(client, "bad-1")


def test_today_is_not_the_future(client: Client, staffed_outlet: Staffed) -> None:
    recorded = client.work.RecordWorkEvent(work("today-1", "sm-1", "counter_transaction", "1", occurred_on="2026-11-28"))

    assert (recorded.replayed, recorded.period, recorded.points) == (False, "2026-11", "0.4000")


def test_every_mistake_of_a_request_is_reported_at_once(client: Client, staffed_outlet: Staffed) -> None:
    with pytest.raises(grpc.RpcError) as caught:
        client.work.RecordWorkEvent(work("", "sm-1", "counter_transaction", "-1", occurred_on="2026-11-29"))

    rejected = assert_rejected(caught.value, INVALID, "MISSING_REQUEST_ID", "request_id")
    assert rejected.violations == (
        ("request_id", "MISSING_REQUEST_ID"),
        ("quantity", "NEGATIVE_QUANTITY"),
        ("occurred_on", "FUTURE_DATE"),
    )


@pytest.mark.parametrize(
    ("request_message", "code", "reason", "field"),
    [
        (balances_pb2.GetBalanceRequest(employee_id="sm-1", period="2026-13"), INVALID, "MALFORMED_PERIOD", "period"),
        (balances_pb2.GetBalanceRequest(employee_id="sm-1", period="November"), INVALID, "MALFORMED_PERIOD", "period"),
        (balances_pb2.GetBalanceRequest(employee_id="sm-1", period="2026-Q5"), INVALID, "MALFORMED_PERIOD", "period"),
        (balances_pb2.GetBalanceRequest(employee_id="sm-1", period=""), INVALID, "MALFORMED_PERIOD", "period"),
        (balances_pb2.GetBalanceRequest(employee_id="sm-1", period="2026", min_position=-1), INVALID, "NEGATIVE_POSITION", "min_position"),
        (balances_pb2.GetBalanceRequest(employee_id="", period="2026"), INVALID, "MISSING_EMPLOYEE_ID", "employee_id"),
        (balances_pb2.GetBalanceRequest(employee_id="ghost", period="2026"), NOT_FOUND, "EMPLOYEE_NOT_FOUND", None),
    ],
    ids=["month-13", "words", "quarter-5", "empty", "negative-position", "no-employee", "unknown-employee"],
)
def test_a_bad_balance_read_is_rejected(
    client: Client, staffed_outlet: Staffed, request_message: balances_pb2.GetBalanceRequest, code: grpc.StatusCode, reason: str, field: str | None
) -> None:
    with pytest.raises(grpc.RpcError) as caught:
        client.balances.GetBalance(request_message, timeout=10)

    rejected = assert_rejected(caught.value, code, reason, field)
    if field is None:
        assert rejected.violations == ()


@pytest.mark.parametrize(
    ("call", "request_message", "reason"),
    [
        ("GetEmployee", directory_pb2.GetEmployeeRequest(employee_id="ghost"), "EMPLOYEE_NOT_FOUND"),
        ("GetOutlet", directory_pb2.GetOutletRequest(outlet_id="nowhere"), "OUTLET_NOT_FOUND"),
        (
            "TransferEmployee",
            directory_pb2.TransferEmployeeRequest(request_id="t-1", employee_id="ghost", outlet_id="north-01", effective_from="2026-11-10"),
            "EMPLOYEE_NOT_FOUND",
        ),
    ],
    ids=["employee", "outlet", "transfer"],
)
def test_an_unknown_id_is_not_found(client: Client, staffed_outlet: Staffed, call: str, request_message: object, reason: str) -> None:
    with pytest.raises(grpc.RpcError) as caught:
        getattr(client.directory, call)(request_message)

    assert assert_rejected(caught.value, NOT_FOUND, reason).violations == ()


def test_an_unknown_outlet_class_is_rejected_and_not_stored(client: Client) -> None:
    with pytest.raises(grpc.RpcError) as caught:
        client.directory.RegisterOutlet(directory_pb2.RegisterOutletRequest(outlet_id="o-99", outlet_class=99, region="north"))

    assert_rejected(caught.value, INVALID, "UNKNOWN_OUTLET_CLASS", "outlet_class")
    with pytest.raises(grpc.RpcError) as lookup:
        client.directory.GetOutlet(directory_pb2.GetOutletRequest(outlet_id="o-99"))
    assert_rejected(lookup.value, NOT_FOUND, "OUTLET_NOT_FOUND")


@pytest.mark.parametrize(
    ("changes", "field", "reason"),
    [
        ({"role": 99}, "role", "UNKNOWN_ROLE"),
        ({"role": directory_pb2.ROLE_OUTLET_HEAD}, "role", "UNKNOWN_ROLE"),  # in the API, not in the example policy
        ({"role": directory_pb2.ROLE_UNSPECIFIED}, "role", "MISSING_ROLE"),
        ({"effective_from": "2026/01/01"}, "effective_from", "MALFORMED_DATE"),
        ({"effective_from": ""}, "effective_from", "MISSING_DATE"),
        ({"outlet_id": "nowhere"}, "outlet_id", "UNKNOWN_OUTLET"),
        ({"employee_id": "-leading-dash"}, "employee_id", "MALFORMED_EMPLOYEE_ID"),
    ],
)
def test_a_bad_employee_registration_is_rejected_and_not_stored(
    client: Client, staffed_outlet: Staffed, changes: dict[str, object], field: str, reason: str
) -> None:
    fields: dict[str, object] = {"employee_id": "new-1", "role": directory_pb2.ROLE_SERVICE_MANAGER, "outlet_id": "north-01", "effective_from": "2026-01-01"}
    fields.update(changes)

    with pytest.raises(grpc.RpcError) as caught:
        client.directory.RegisterEmployee(directory_pb2.RegisterEmployeeRequest(**fields))  # type: ignore[arg-type]

    assert_rejected(caught.value, INVALID, reason, field)
    with pytest.raises(grpc.RpcError) as lookup:
        client.directory.GetEmployee(directory_pb2.GetEmployeeRequest(employee_id="new-1"))
    assert_rejected(lookup.value, NOT_FOUND, "EMPLOYEE_NOT_FOUND")


@pytest.mark.parametrize(
    ("effective_from", "outlet_id", "code", "reason", "field"),
    [
        ("2026-01-01", "south-07", grpc.StatusCode.FAILED_PRECONDITION, "TRANSFER_NOT_AFTER_CURRENT", None),
        ("2025-06-01", "south-07", grpc.StatusCode.FAILED_PRECONDITION, "TRANSFER_NOT_AFTER_CURRENT", None),
        ("2026-11-10", "north-01", grpc.StatusCode.FAILED_PRECONDITION, "TRANSFER_CHANGES_NOTHING", None),
        ("2026-11-10", "nowhere", INVALID, "UNKNOWN_OUTLET", "outlet_id"),
        ("2026-13-10", "south-07", INVALID, "MALFORMED_DATE", "effective_from"),
    ],
    ids=["same-day", "earlier", "no-change", "unknown-outlet", "malformed-date"],
)
def test_a_refused_transfer_leaves_the_history_unchanged(
    client: Client, staffed_outlet: Staffed, effective_from: str, outlet_id: str, code: grpc.StatusCode, reason: str, field: str | None
) -> None:
    client.directory.RegisterOutlet(directory_pb2.RegisterOutletRequest(outlet_id="south-07", outlet_class=directory_pb2.OUTLET_CLASS_C, region="south"))
    before = client.directory.GetEmployee(directory_pb2.GetEmployeeRequest(employee_id="sm-1")).employee

    with pytest.raises(grpc.RpcError) as caught:
        client.directory.TransferEmployee(
            directory_pb2.TransferEmployeeRequest(request_id="t-1", employee_id="sm-1", outlet_id=outlet_id, effective_from=effective_from)
        )

    assert_rejected(caught.value, code, reason, field)
    assert client.directory.GetEmployee(directory_pb2.GetEmployeeRequest(employee_id="sm-1")).employee == before
    assert len(before.history) == 1


def test_a_transfer_without_request_id_is_rejected(client: Client, staffed_outlet: Staffed) -> None:
    with pytest.raises(grpc.RpcError) as caught:
        client.directory.TransferEmployee(
            directory_pb2.TransferEmployeeRequest(employee_id="sm-1", role=directory_pb2.ROLE_OPERATIONS_SUPERVISOR, effective_from="2026-11-10")
        )

    assert_rejected(caught.value, INVALID, "MISSING_REQUEST_ID", "request_id")


@pytest.mark.parametrize("occurred_at", [Timestamp(seconds=10**12), Timestamp(seconds=0, nanos=-5)], ids=["year-33658", "negative-nanos"])
def test_an_out_of_range_occurred_at_is_invalid_argument(client: Client, staffed_outlet: Staffed, occurred_at: Timestamp) -> None:
    with pytest.raises(grpc.RpcError) as caught:
        client.work.RecordWorkEvent(work("ts-1", "sm-1", "counter_transaction", "1", occurred_at=occurred_at))

    rejected = rich_error(caught.value)
    assert (rejected.code, [field for field, _ in rejected.violations]) == (INVALID, ["occurred_at"])


# "-0" was once stored with its sign; it is now refused (a quantity has no sign), and the spellings
# of one number that the grammar allows ("0", "0.000") are one fact.
def test_minus_zero_is_refused_and_zeros_are_one_quantity(client: Client, staffed_outlet: Staffed) -> None:
    zero = client.work.RecordWorkEvent(work("z-1", "sm-1", "counter_transaction", "0"))
    with pytest.raises(grpc.RpcError) as caught:
        client.work.RecordWorkEvent(work("z-2", "sm-1", "counter_transaction", "-0"))

    assert_rejected(caught.value, grpc.StatusCode.INVALID_ARGUMENT, "NEGATIVE_QUANTITY", "quantity")
    assert [line.points for line in zero.lines] == ["0.0000"]
    assert client.work.RecordWorkEvent(work("z-1", "sm-1", "counter_transaction", "0.000")).replayed


# -- every violation at once: format and reference checks together ----------------------------------


@pytest.mark.parametrize(
    ("changes", "expected"),
    [
        ({"employee_id": "nobody", "quantity": "1e3"}, [("quantity", "MALFORMED_QUANTITY"), ("employee_id", "UNKNOWN_EMPLOYEE")]),
        ({"kind": "teleportation", "request_id": ""}, [("request_id", "MISSING_REQUEST_ID"), ("kind", "UNKNOWN_KIND")]),
        ({"outlet_id": "nowhere", "occurred_on": "2026-13-01"}, [("occurred_on", "MALFORMED_DATE"), ("outlet_id", "UNKNOWN_OUTLET")]),
        ({"occurred_on": "2025-12-31", "recorded_by": "bell\x07"}, [("recorded_by", "CONTROL_CHARACTERS"), ("occurred_on", "NOT_ASSIGNED_ON_DATE")]),
        # A field whose format is wrong is not looked up as well: one violation each.
        ({"employee_id": "no body", "kind": "Teleport"}, [("employee_id", "MALFORMED_EMPLOYEE_ID"), ("kind", "UNKNOWN_KIND")]),
    ],
    ids=["quantity+employee", "request-id+kind", "date+outlet", "text+assignment", "formats-only"],
)
def test_a_format_mistake_and_a_reference_mistake_are_reported_in_one_answer(
    client: Client, staffed_outlet: Staffed, changes: dict[str, object], expected: list[tuple[str, str]]
) -> None:
    request = work("both-1", "sm-1", "counter_transaction", "3")
    for name, value in changes.items():
        setattr(request, name, value)

    with pytest.raises(grpc.RpcError) as caught:
        client.work.RecordWorkEvent(request)

    assert list(rich_error(caught.value).violations) == expected


def test_a_batch_item_reports_its_format_and_reference_mistakes_together(client: Client, staffed_outlet: Staffed) -> None:
    batch = work_events_pb2.RecordWorkEventsRequest(
        requests=[work("both-b1", "nobody", "counter_transaction", "+5"), work("both-b2", "sm-1", "counter_transaction", "2")]
    )

    results = client.work.RecordWorkEvents(batch).results

    error = rich_error_of_status(results[0].error)
    assert list(error.violations) == [("quantity", "MALFORMED_QUANTITY"), ("employee_id", "UNKNOWN_EMPLOYEE")]
    assert results[1].WhichOneof("outcome") == "recorded"
