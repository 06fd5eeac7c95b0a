"""Every call to a server with JWT authentication leaves exactly one access record, allowed or denied (SQLite and
PostgreSQL): who called, which RPC, the employee, outlet and period asked about, the decision and the final code.

Health checks are not recorded (probes carry no business data), by design.
"""

from __future__ import annotations

from datetime import timezone

import time
from collections.abc import Callable, Iterator
from typing import Any
from dataclasses import dataclass

import grpc
import pytest
from grpc_health.v1 import health_pb2, health_pb2_grpc

from points.domain.errors import InvalidRequest
from points.server import PointsService
from points.storage.access_records import AccessRecord
from points.v1 import audit_pb2, audit_pb2_grpc, balances_pb2, balances_pb2_grpc, directory_pb2
from tests.api.calls import staff_outlet, work
from tests.api.secured import Metadata, SigningKeys, plaintext_client, with_jwt
from tests.conftest import Client

ADMIN = "hq-admin"
RECORDER = "counter-north"  # a recorder for north-01 only
PAYROLL = "payroll-run"
AUDITOR = "auditor-1"
UNAUTHENTICATED = "unauthenticated"
WORK = "/points.v1.WorkEventService/"
DIRECTORY = "/points.v1.DirectoryService/"
BALANCES = "/points.v1.BalanceService/"
AUDIT = "/points.v1.AuditService/"

Record = tuple[str, str, str, str, str, str, str]  # caller, method, employee, outlet, period, decision, code


@dataclass(frozen=True)
class Session:
    """A client of a server that checks tokens, and the bearer metadata of each caller."""

    client: Client
    service: PointsService
    callers: dict[str, Metadata]

    def audit(self) -> audit_pb2_grpc.AuditServiceStub:
        return audit_pb2_grpc.AuditServiceStub(self.client.channel)


@pytest.fixture
def session(service: PointsService, keys: SigningKeys) -> Iterator[Session]:
    """A server verifying tokens signed by `keys`, on the test's store; an admin, a recorder for north-01, payroll, an auditor."""
    callers = {
        ADMIN: keys.bearer(ADMIN, ["admin"]),
        RECORDER: keys.bearer(RECORDER, ["recorder"], ["north-01"]),
        PAYROLL: keys.bearer(PAYROLL, ["payroll"]),
        AUDITOR: keys.bearer(AUDITOR, ["auditor"]),
        UNAUTHENTICATED: (),
    }
    with plaintext_client(service, with_jwt(keys)) as client:
        yield Session(client, service, callers)


def code_of(call: Callable[[], object]) -> str:
    """The final status code's name of one call."""
    try:
        call()
    except grpc.RpcError as error:
        return error.code().name  # type: ignore[no-any-return]
    return "OK"


def stored_records(session: Session, **request: object) -> list[audit_pb2.AccessRecord]:
    """Every access record so far, oldest first, in one ListAccessRecords call by the auditor after the log is flushed."""
    assert session.service.access_log is not None and session.service.access_log.flush()
    page = session.audit().ListAccessRecords(
        audit_pb2.ListAccessRecordsRequest(page_size=1000, **request), metadata=session.callers[AUDITOR], timeout=10  # type: ignore[arg-type]
    )
    assert page.next_page_token == ""
    return list(page.records)


def paged_records(session: Session, page_size: int, *, newest_first: bool = False) -> list[audit_pb2.AccessRecord]:
    """The records page by page; each page's own call is recorded too, so later pages may show earlier pages' calls."""
    assert session.service.access_log is not None and session.service.access_log.flush()
    found: list[audit_pb2.AccessRecord] = []
    token = ""
    while True:
        page = session.audit().ListAccessRecords(
            audit_pb2.ListAccessRecordsRequest(page_size=page_size, page_token=token, newest_first=newest_first),
            metadata=session.callers[AUDITOR], timeout=10,
        )  # fmt: skip
        assert len(page.records) <= page_size
        found += page.records
        token = page.next_page_token
        if not token:
            return found


def as_tuple(record: audit_pb2.AccessRecord) -> Record:
    return (record.caller, record.method, record.employee_id, record.outlet_id, record.period, record.decision, record.code)


def scripted_session(session: Session) -> list[Record]:
    """Calls as an admin, a recorder, payroll, an auditor and nobody, two of them refused by role or scope; the records expected."""
    c, as_ = session.client, session.callers
    health = health_pb2_grpc.HealthStub(c.channel)
    expected: list[Record] = []

    def call(caller: str, method: str, invoke: Callable[[Metadata], object], employee: str = "", outlet: str = "", period: str = "",
             decision: str = "allowed", code: str = "OK") -> None:  # fmt: skip
        assert code_of(lambda: invoke(as_[caller])) == code, f"{caller} {method}"
        expected.append((caller, method, employee, outlet, period, decision, code))

    def outlet(outlet_id: str) -> directory_pb2.RegisterOutletRequest:
        return directory_pb2.RegisterOutletRequest(outlet_id=outlet_id, outlet_class=directory_pb2.OUTLET_CLASS_A, region="north")

    call(ADMIN, DIRECTORY + "RegisterOutlet", lambda m: c.directory.RegisterOutlet(outlet("north-01"), metadata=m, timeout=10), outlet="north-01")
    call(ADMIN, DIRECTORY + "RegisterOutlet", lambda m: c.directory.RegisterOutlet(outlet("south-01"), metadata=m, timeout=10), outlet="south-01")
    employee = directory_pb2.RegisterEmployeeRequest(
        employee_id="sm-1", role=directory_pb2.ROLE_SERVICE_MANAGER, outlet_id="north-01", effective_from="2026-01-01"
    )
    call(ADMIN, DIRECTORY + "RegisterEmployee", lambda m: c.directory.RegisterEmployee(employee, metadata=m, timeout=10),
         employee="sm-1", outlet="north-01")  # fmt: skip
    served = work("served-1", "sm-1", "customer_served", "3")
    call(RECORDER, WORK + "RecordWorkEvent", lambda m: c.work.RecordWorkEvent(served, metadata=m, timeout=10), employee="sm-1")
    elsewhere = work("served-2", "sm-1", "customer_served", "3", outlet_id="south-01")
    call(RECORDER, WORK + "RecordWorkEvent", lambda m: c.work.RecordWorkEvent(elsewhere, metadata=m, timeout=10),
         employee="sm-1", outlet="south-01", decision="denied", code="PERMISSION_DENIED")  # fmt: skip
    balance = balances_pb2.GetBalanceRequest(employee_id="sm-1", period="2026-11")
    call(RECORDER, BALANCES + "GetBalance", lambda m: c.balances.GetBalance(balance, metadata=m, timeout=10),
         employee="sm-1", period="2026-11", decision="denied", code="PERMISSION_DENIED")  # fmt: skip
    assert health.Check(health_pb2.HealthCheckRequest(), timeout=10).status == health_pb2.HealthCheckResponse.SERVING  # not recorded
    call(UNAUTHENTICATED, BALANCES + "GetBalance", lambda m: c.balances.GetBalance(balance, metadata=m, timeout=10),
         employee="sm-1", period="2026-11", decision="denied", code="UNAUTHENTICATED")  # fmt: skip
    call(PAYROLL, BALANCES + "GetBalance", lambda m: c.balances.GetBalance(balance, metadata=m, timeout=10), employee="sm-1", period="2026-11")
    unknown = directory_pb2.GetEmployeeRequest(employee_id="nobody")
    call(PAYROLL, DIRECTORY + "GetEmployee", lambda m: c.directory.GetEmployee(unknown, metadata=m, timeout=10),
         employee="nobody", code="NOT_FOUND")  # fmt: skip
    bad_period = balances_pb2.GetBalanceRequest(employee_id="sm-1", period="2026-13")
    call(PAYROLL, BALANCES + "GetBalance", lambda m: c.balances.GetBalance(bad_period, metadata=m, timeout=10),
         employee="sm-1", period="2026-13", code="INVALID_ARGUMENT")  # fmt: skip
    call(AUDITOR, AUDIT + "VerifyLedger", lambda m: session.audit().VerifyLedger(audit_pb2.VerifyLedgerRequest(), metadata=m, timeout=10))
    history = audit_pb2.ListWorkEventsRequest(employee_id="sm-1")
    call(AUDITOR, AUDIT + "ListWorkEvents", lambda m: session.audit().ListWorkEvents(history, metadata=m, timeout=10), employee="sm-1")
    return expected


def test_every_call_of_a_scripted_session_leaves_exactly_one_record_in_order(session: Session) -> None:
    expected = scripted_session(session)

    assert [as_tuple(r) for r in stored_records(session)] == expected


def test_records_have_increasing_ids_and_the_time_of_the_call(session: Session) -> None:
    scripted_session(session)

    records = stored_records(session)

    assert [r.id for r in records] == sorted({r.id for r in records})
    assert {r.time.ToDatetime(tzinfo=timezone.utc).isoformat() for r in records} == {"2026-11-28T09:30:00+00:00"}  # the test's clock


def test_reading_the_records_is_itself_recorded(session: Session) -> None:
    expected = scripted_session(session)
    stored_records(session)

    after = [as_tuple(r) for r in stored_records(session)]

    assert after == [*expected, (AUDITOR, AUDIT + "ListAccessRecords", "", "", "", "allowed", "OK")]


def test_the_records_page_oldest_first(session: Session) -> None:
    expected = scripted_session(session)

    paged = [as_tuple(r) for r in paged_records(session, 3)]

    assert paged[: len(expected)] == expected
    assert set(paged[len(expected) :]) <= {(AUDITOR, AUDIT + "ListAccessRecords", "", "", "", "allowed", "OK")}


def test_the_records_filter_by_decision_caller_and_method(session: Session) -> None:
    expected = scripted_session(session)

    denied = [as_tuple(r) for r in stored_records(session, decision="denied")]
    by_recorder = [as_tuple(r) for r in stored_records(session, caller=RECORDER)]
    balances = [as_tuple(r) for r in stored_records(session, method=BALANCES + "GetBalance")]

    assert denied == [r for r in expected if r[5] == "denied"] and len(denied) == 3
    assert by_recorder == [r for r in expected if r[0] == RECORDER]
    assert balances == [r for r in expected if r[1] == BALANCES + "GetBalance"]


def test_the_records_page_newest_first(session: Session) -> None:
    expected = scripted_session(session)

    paged = [as_tuple(r) for r in paged_records(session, 3, newest_first=True)]

    assert paged == expected[::-1]  # a page's own record comes after the records it reads: never on a later page


def test_only_auditors_and_admins_read_the_records_and_the_refusal_is_recorded(session: Session) -> None:
    code = code_of(
        lambda: session.audit().ListAccessRecords(audit_pb2.ListAccessRecordsRequest(), metadata=session.callers[PAYROLL], timeout=10)
    )

    assert code == "PERMISSION_DENIED"
    assert [as_tuple(r) for r in stored_records(session)] == [(PAYROLL, AUDIT + "ListAccessRecords", "", "", "", "denied", code)]


# -- streaming calls ----------------------------------------------------------------------


def watch_record(session: Session) -> Record:
    """The one WatchLedger record, once the server has ended the stream and queued it."""
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        assert session.service.access_log is not None and session.service.access_log.flush()
        records = [r for r in stored_records(session) if r.method == BALANCES + "WatchLedger"]
        if records:
            (record,) = records
            return as_tuple(record)
        time.sleep(0.1)
    pytest.fail("no WatchLedger access record within 10 s")


def test_a_watch_of_the_ledger_is_recorded_with_its_caller(session: Session) -> None:
    stream = balances_pb2_grpc.BalanceServiceStub(session.client.channel).WatchLedger(
        balances_pb2.WatchLedgerRequest(), metadata=session.callers[PAYROLL], timeout=1
    )
    assert code_of(lambda: list(stream)) == "DEADLINE_EXCEEDED"  # nothing booked: the watch waits until the deadline

    caller, method, *_, decision, _ = watch_record(session)

    assert (caller, method, decision) == (PAYROLL, BALANCES + "WatchLedger", "allowed")


def test_a_refused_watch_of_the_ledger_is_recorded_with_its_caller(session: Session) -> None:
    stream = balances_pb2_grpc.BalanceServiceStub(session.client.channel).WatchLedger(
        balances_pb2.WatchLedgerRequest(), metadata=session.callers[RECORDER], timeout=5
    )
    assert code_of(lambda: list(stream)) == "PERMISSION_DENIED"

    assert watch_record(session) == (RECORDER, BALANCES + "WatchLedger", "", "", "", "denied", "PERMISSION_DENIED")


def test_without_authentication_calls_are_recorded_as_the_development_caller(client: Client, service: PointsService) -> None:
    staff_outlet(client.directory)
    assert service.access_log is not None and service.access_log.flush()
    assert service.audit is not None

    records, _ = service.audit.list_access_records(caller="", method="", decision="", newest_first=False, page_size=100, page_token="")

    development = "development (no authentication)"
    assert [(r.caller, r.method, r.employee_id, r.decision, r.code) for r in records] == [
        (development, DIRECTORY + "RegisterOutlet", "", "allowed", "OK"),
        (development, DIRECTORY + "RegisterEmployee", "os-1", "allowed", "OK"),
        (development, DIRECTORY + "RegisterEmployee", "sm-1", "allowed", "OK"),
    ]


def test_a_nul_in_a_request_is_recorded_as_u_fffd_and_loses_no_record(client: Client, service: PointsService) -> None:
    # PostgreSQL's text cannot hold NUL: refused, such a record used to fail its whole batch of records.
    balances = balances_pb2_grpc.BalanceServiceStub(client.channel)
    for employee_id in ("a\x00b", "plain"):
        with pytest.raises(grpc.RpcError):
            balances.GetBalance(balances_pb2.GetBalanceRequest(employee_id=employee_id, period="2026-11"), timeout=10)
    assert service.access_log is not None and service.access_log.flush()
    assert service.audit is not None
    method = BALANCES + "GetBalance"
    for caller_filter in ("", "development (no authentication)"):
        records, _ = service.audit.list_access_records(
            caller=caller_filter, method=method, decision="", newest_first=False, page_size=100, page_token=""
        )
        assert [r.employee_id for r in records] == ["a\ufffdb", "plain"]
    records, _ = service.audit.list_access_records(caller="\ufffd", method="", decision="", newest_first=False, page_size=100, page_token="")
    assert records == []
    with pytest.raises(InvalidRequest):  # a filter holding NUL is refused (issue 17)
        service.audit.list_access_records(caller="\x00", method="", decision="", newest_first=False, page_size=100, page_token="")


def test_a_trickle_of_calls_is_stored_in_a_few_transactions_not_one_per_call(service: PointsService) -> None:
    # Each call leaves one record; stored one transaction (one commit) per record, the audit cost the
    # server more CPU than the calls themselves. Records arriving within the writer's interval share one.
    log = service.access_log
    assert log is not None and log.flush()
    appends: list[int] = []
    append = log.store.append

    def counted(records: Any) -> None:
        append(records)
        appends.append(len(records))

    log.store.append = counted  # type: ignore[method-assign]
    started = time.monotonic()
    for i in range(40):
        log.record(AccessRecord(at=f"2026-11-28T10:00:{i:02d}Z", caller="trickle", method="m", employee_id="", outlet_id="", period="",
                                decision="allowed", code="OK"))  # fmt: skip
        time.sleep(0.002)
    assert log.flush()
    elapsed = time.monotonic() - started
    assert sum(appends) == 40
    assert len(appends) <= elapsed / log.interval + 2, (appends, elapsed)  # one per interval (~0.05 s), not one per record
    records, _ = service.audit.list_access_records(caller="trickle", method="", decision="", newest_first=False, page_size=100, page_token="")  # type: ignore[union-attr]
    assert [r.at for r in records] == [f"2026-11-28T10:00:{i:02d}Z" for i in range(40)]
