"""Attacks on the read audit (SQLite and PostgreSQL): fill the disk through it, make its pages unreadable, rewrite it,
and end calls in ways that used to leave a wrong record or none.

What must hold: a record keeps bounded request fields (a long one is cut and hashed), so a call costs the database a
bounded amount whatever it sends, and a default page fits a default client; the records are append-only by trigger;
every call that reaches the server leaves exactly one record with the outcome the caller saw (cancelled, out of time,
undecodable, over the message limit, over a field's maximum); a batch's record names its employees.
"""

from __future__ import annotations

import base64
import hashlib
import os
import sqlite3
import threading
import time
from collections.abc import Iterator
from contextlib import closing
from dataclasses import replace

import grpc
import psycopg
import pytest
from points.api.audit import access_record_message
from points.api.limits import LimitSettings
from points.server import PointsService, Settings, build_service
from points.storage.access_records import AccessRecord
from points.storage.migrate import migrate, postgres_conninfo
from points.storage.settings import parse_database_url
from points.v1 import (
    audit_pb2,
    balances_pb2,
    balances_pb2_grpc,
    directory_pb2,
    work_events_pb2,
)

from tests.api.calls import Staffed, work
from tests.api.secured import SigningKeys, plaintext_client, with_jwt
from tests.api.test_access_records_api import AUDITOR, PAYROLL, Session
from tests.app.test_append_only_app import AppRole, app_role, as_app_role  # noqa: F401  (fixture)
from tests.conftest import Client, Clock

MEGABYTE = 1024 * 1024
FAR_AHEAD = 10**9  # a log position no test reaches: a balance read waits for it until its deadline
GET_EMPLOYEE = "/points.v1.DirectoryService/GetEmployee"
GET_BALANCE = "/points.v1.BalanceService/GetBalance"
WATCH = "/points.v1.BalanceService/WatchLedger"
DEFAULT_CLIENT_LIMIT = 4 * MEGABYTE


@pytest.fixture
def session(service: PointsService, keys: SigningKeys) -> Iterator[Session]:
    """A server checking tokens signed by `keys`, on the test's store; payroll, an auditor, and nobody (no token)."""
    callers = {PAYROLL: keys.bearer(PAYROLL, ["payroll"]), AUDITOR: keys.bearer(AUDITOR, ["auditor"])}
    with plaintext_client(service, with_jwt(keys)) as client:
        yield Session(client, service, callers)


def incompressible(size: int) -> str:
    """Random text (PostgreSQL compresses a repeated character to nothing)."""
    return base64.b64encode(os.urandom(size * 3 // 4)).decode()[:size]


def records(service: PointsService, method: str = "") -> list[AccessRecord]:
    assert service.access_log is not None and service.access_log.flush()
    assert service.audit is not None
    found, _ = service.audit.list_access_records(caller="", method=method, decision="", newest_first=False, page_size=1000, page_token="")
    return found


def eventually(service: PointsService, method: str, count: int = 1, within: float = 20.0) -> list[AccessRecord]:
    """The records of `method` once there are `count` (the server queues a record when the call ends)."""
    deadline = time.monotonic() + within
    while True:
        found = records(service, method)
        if len(found) >= count or time.monotonic() > deadline:
            return found
        time.sleep(0.1)


def access_table_bytes(service: PointsService) -> int:
    """What the access records take on disk: the table with its indexes and TOAST (PostgreSQL), or the file's pages (SQLite)."""
    store = service.store
    if store.backend == "postgresql":
        with psycopg.connect(**postgres_conninfo(store), autocommit=True) as conn:
            row = conn.execute("SELECT pg_total_relation_size(%s)", (f'"{store.schema}".access_records',)).fetchone()
        return int(row[0]) if row else 0
    with closing(sqlite3.connect(store.sqlite_path)) as conn:
        pages = conn.execute("PRAGMA page_count").fetchone()[0]
        size = conn.execute("PRAGMA page_size").fetchone()[0]
    return int(pages * size)


def as_store_owner(service: PointsService, statement: str, params: tuple[object, ...] = ()) -> None:
    """One statement on the access records as the store's owner (PostgreSQL) or process (SQLite); `{}` is the table, `?` a parameter."""
    store = service.store
    if store.backend == "postgresql":
        with psycopg.connect(**postgres_conninfo(store), autocommit=True) as conn:
            conn.execute(statement.format(f'"{store.schema}".access_records').replace("?", "%s"), params)  # type: ignore[arg-type]
        return
    with closing(sqlite3.connect(store.sqlite_path)) as conn, conn:
        conn.execute(statement.format("access_records"), params)


# -- the disk and the pages ---------------------------------------------------------------


def test_ten_megabyte_employee_ids_without_a_token_grow_the_store_by_a_bounded_amount(session: Session) -> None:
    records(session.service)  # the table exists and the writer is idle
    before = access_table_bytes(session.service)

    for _ in range(10):
        with pytest.raises(grpc.RpcError):
            session.client.directory.GetEmployee(directory_pb2.GetEmployeeRequest(employee_id=incompressible(MEGABYTE)), timeout=30)
    stored = records(session.service, GET_EMPLOYEE)
    grown = access_table_bytes(session.service) - before

    assert len(stored) == 10
    assert grown < 100_000, grown  # was 10 MB (PostgreSQL) and 20 MB (SQLite)
    assert all(len(r.employee_id) <= 64 for r in stored)


def test_a_long_field_is_kept_as_its_start_and_a_hash_of_the_whole(session: Session) -> None:
    sent = incompressible(MEGABYTE)

    with pytest.raises(grpc.RpcError) as refused:
        session.client.directory.GetEmployee(directory_pb2.GetEmployeeRequest(employee_id=sent), timeout=30)
    (record,) = records(session.service, GET_EMPLOYEE)

    assert refused.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert (record.caller, record.decision, record.code) == ("unauthenticated", "denied", "INVALID_ARGUMENT")
    start, digest = record.employee_id.split("…sha256:")
    assert sent.startswith(start) and digest == hashlib.sha256(sent.encode()).hexdigest()[:16]


def test_the_default_page_fits_a_default_client_after_twenty_megabyte_attempts(session: Session) -> None:
    for _ in range(20):
        with pytest.raises(grpc.RpcError):
            session.client.directory.GetEmployee(directory_pb2.GetEmployeeRequest(employee_id=incompressible(MEGABYTE)), timeout=30)
    assert session.service.access_log is not None and session.service.access_log.flush()

    page = session.audit().ListAccessRecords(audit_pb2.ListAccessRecordsRequest(), metadata=session.callers[AUDITOR], timeout=30)
    largest = session.audit().ListAccessRecords(
        audit_pb2.ListAccessRecordsRequest(page_size=1000), metadata=session.callers[AUDITOR], timeout=30
    )

    assert len(page.records) == 20 and page.ByteSize() < DEFAULT_CLIENT_LIMIT // 100
    assert largest.ByteSize() < DEFAULT_CLIENT_LIMIT // 100


def test_records_stored_whole_by_an_older_release_are_read_bounded(service: PointsService) -> None:
    huge = "x" * MEGABYTE
    as_store_owner(  # as an older release stored them, whole
        service, "INSERT INTO {} (at, caller, method, employee_id, outlet_id, period, decision, code) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
        ("2026-11-28T09:30:00.000000+00:00", huge, GET_EMPLOYEE, huge, huge, huge, huge, huge),  # the time was always the server's
    )  # fmt: skip

    (record,) = records(service, GET_EMPLOYEE)
    message = access_record_message(record)  # as ListAccessRecords answers

    assert message.ByteSize() < 2048  # a page of 1,000 such records is under 2 MB
    assert "…sha256:" in record.employee_id


# -- append-only ----------------------------------------------------------------------------


def test_the_records_cannot_be_rewritten_or_deleted_in_the_store(session: Session) -> None:
    with pytest.raises(grpc.RpcError):
        session.client.directory.GetEmployee(directory_pb2.GetEmployeeRequest(employee_id="e-1"), timeout=10)
    (record,) = records(session.service, GET_EMPLOYEE)
    refused: list[BaseException] = []
    for statement in ("UPDATE {} SET decision = 'allowed' WHERE id = ?", "DELETE FROM {} WHERE id = ?"):
        try:
            as_store_owner(session.service, statement, (record.id,))
        except (psycopg.errors.InsufficientPrivilege, sqlite3.IntegrityError) as error:
            refused.append(error)

    assert len(refused) == 2 and all("the access records are append-only" in str(e) for e in refused)
    assert [(r.id, r.decision) for r in records(session.service, GET_EMPLOYEE)] == [(record.id, "denied")]


@pytest.mark.postgres
@pytest.mark.parametrize("statement", ["UPDATE access_records SET decision = 'allowed'", "DELETE FROM access_records",
                                       "TRUNCATE access_records"], ids=["update", "delete", "truncate"])  # fmt: skip
def test_the_service_role_cannot_rewrite_the_records(app_role: AppRole, statement: str) -> None:  # noqa: F811
    as_app_role(app_role, "INSERT INTO access_records (at, caller, method, employee_id, outlet_id, period, decision, code) "
                          "VALUES ('t', 'c', 'm', '', '', '', 'denied', 'UNAUTHENTICATED')")  # fmt: skip  (appending is allowed)

    with pytest.raises(psycopg.errors.InsufficientPrivilege):
        as_app_role(app_role, statement)


def test_a_store_migrated_before_the_triggers_gets_them_on_migrate(tmp_path: object, clock: Clock) -> None:
    url = f"sqlite:///{tmp_path}/points.db"
    build_service(Settings(database_url=url, clock=clock)).close()
    path = f"{tmp_path}/points.db"
    with closing(sqlite3.connect(path)) as conn, conn:
        conn.execute("DROP TRIGGER access_records_append_only_update")
        conn.execute("DROP TRIGGER access_records_append_only_delete")
        conn.execute("INSERT INTO access_records (at, caller, method, employee_id, outlet_id, period, decision, code) "
                     "VALUES ('t', 'c', 'm', '', '', '', 'denied', 'UNAUTHENTICATED')")  # fmt: skip

    migrate(parse_database_url(url))

    with closing(sqlite3.connect(path)) as conn, pytest.raises(sqlite3.IntegrityError, match="append-only"):
        conn.execute("UPDATE access_records SET decision = 'allowed'")


# -- one record per call, with the outcome the caller saw -----------------------------------------


def test_a_cancelled_read_is_recorded_once_as_cancelled(session: Session) -> None:
    read = session.client.balances.GetBalance.future(
        balances_pb2.GetBalanceRequest(employee_id="sm-1", period="2026-11", min_position=FAR_AHEAD),
        metadata=session.callers[PAYROLL], timeout=3,
    )  # fmt: skip
    time.sleep(1)  # the handler is waiting for the position (a call cancelled before its handler runs is never seen)
    read.cancel()

    (record,) = eventually(session.service, GET_BALANCE)
    time.sleep(4)  # the handler has given up waiting (its deadline was 3 s): still one record
    after = records(session.service, GET_BALANCE)

    assert (record.caller, record.decision, record.code) == (PAYROLL, "allowed", "CANCELLED")
    assert [r.id for r in after] == [record.id]


def test_a_cancelled_watch_is_recorded_once_as_cancelled(session: Session) -> None:
    stream = balances_pb2_grpc.BalanceServiceStub(session.client.channel).WatchLedger(
        balances_pb2.WatchLedgerRequest(), metadata=session.callers[PAYROLL], timeout=30
    )
    reader = threading.Thread(target=lambda: [None for _ in iter_quietly(stream)], daemon=True)
    reader.start()
    time.sleep(1)  # the stream's handler is running
    stream.cancel()
    reader.join(10)

    found = eventually(session.service, WATCH)
    time.sleep(1)

    assert [(r.caller, r.decision, r.code) for r in found] == [(PAYROLL, "allowed", "CANCELLED")]
    assert len(records(session.service, WATCH)) == 1


def iter_quietly(stream: Iterator[object]) -> Iterator[object]:
    try:
        yield from stream
    except grpc.RpcError:
        return


def test_a_watch_that_ran_out_of_time_is_recorded_as_deadline_exceeded(session: Session) -> None:
    stream = balances_pb2_grpc.BalanceServiceStub(session.client.channel).WatchLedger(
        balances_pb2.WatchLedgerRequest(), metadata=session.callers[PAYROLL], timeout=1
    )
    with pytest.raises(grpc.RpcError) as ended:
        list(stream)

    found = eventually(session.service, WATCH)

    assert ended.value.code() == grpc.StatusCode.DEADLINE_EXCEEDED
    assert [(r.caller, r.decision, r.code) for r in found] == [(PAYROLL, "allowed", "DEADLINE_EXCEEDED")]


def test_an_undecodable_request_without_a_token_is_recorded_as_denied(session: Session) -> None:
    raw = session.client.channel.unary_unary(GET_BALANCE)  # no serializers: the bytes go as they are

    with pytest.raises(grpc.RpcError) as refused:
        raw(b"\x0a\x02\xff\xfe", timeout=10)  # field 1 (employee_id), two bytes that are not UTF-8

    (record,) = records(session.service, GET_BALANCE)
    assert refused.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert (record.caller, record.decision, record.code) == ("unauthenticated", "denied", "INVALID_ARGUMENT")


def test_a_request_over_the_message_limit_is_refused_and_recorded(service: PointsService, keys: SigningKeys) -> None:
    security = with_jwt(keys, limits=replace(LimitSettings(), max_message_bytes=2048))
    with plaintext_client(service, security) as client, pytest.raises(grpc.RpcError) as refused:
        client.work.RecordWorkEvent(work("large-1", "sm-1", "counter_transaction", "1", attributes={"note": "x" * 4000}), timeout=10)

    (record,) = records(service, "/points.v1.WorkEventService/RecordWorkEvent")

    assert refused.value.code() == grpc.StatusCode.RESOURCE_EXHAUSTED
    assert (record.caller, record.decision, record.code, record.employee_id) == ("unauthenticated", "denied", "RESOURCE_EXHAUSTED", "")


# -- batches ------------------------------------------------------------------------------------


def test_a_batch_record_names_its_distinct_employees(client: Client, service: PointsService, staffed_outlet: Staffed) -> None:
    items = [work(f"b-{i}", employee, "counter_transaction", "1") for i, employee in enumerate(["sm-1", "os-1", "sm-1"])]
    client.work.RecordWorkEvents(work_events_pb2.RecordWorkEventsRequest(requests=items), timeout=30)

    (record,) = records(service, "/points.v1.WorkEventService/RecordWorkEvents")

    assert record.employee_id == "sm-1 os-1"


def test_a_large_batch_record_names_ten_employees_and_counts_the_rest(client: Client, service: PointsService) -> None:
    items = [work(f"b-{i}", f"e-{i % 30}", "counter_transaction", "1") for i in range(1000)]
    client.work.RecordWorkEvents(work_events_pb2.RecordWorkEventsRequest(requests=items), timeout=60)

    (record,) = records(service, "/points.v1.WorkEventService/RecordWorkEvents")

    assert record.employee_id == " ".join(f"e-{i}" for i in range(10)) + " +20 more"

