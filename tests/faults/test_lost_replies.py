"""Lost replies: writes commit, their answers are lost or late, clients retry with the same request_id.

The real server (create_server, PostgreSQL) sits behind a test-only hop whose interceptor,
from a printed seed, answers UNAVAILABLE after the write committed (30% of attempts) or holds
the answer past the caller's deadline (12%). Eight clients make 500 calls (one in ten a batch
of five), each retried with the same request_id until answered. Then: every request is stored
exactly once, under the event id and position its answer names; an answer is a replay only
when an earlier attempt of it was lost; the balances equal the stored events' sums; and the
same request_ids with another payload are ALREADY_EXISTS (REQUEST_ID_REUSED), storing nothing.
"""

from __future__ import annotations

import random
import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

import grpc
import pytest

from points.server import Settings, build_service, create_server
from points.v1 import directory_pb2_grpc, work_events_pb2, work_events_pb2_grpc
from tests.api.rich_status import rich_error, rich_error_of_status
from tests.conftest import drop_schema, new_postgres_schema_url
from tests.faults.budget import scaled
from tests.faults.ledger_check import log_balances, log_size, open_reader, stored_work, view_balances, wait_for_projection
from tests.faults.reply_faults import LOSE, STALL, ReplyFaults, start_faulty_hop
from tests.faults.workload import RETRYABLE, random_work, staff
from tests.support.pgserver import PostgresServer

pytestmark = pytest.mark.postgres

WRITES = frozenset({"/points.v1.WorkEventService/RecordWorkEvent", "/points.v1.WorkEventService/RecordWorkEvents"})
CLIENTS = 8
BATCH_EVERY, BATCH = 10, 5  # every tenth call is a batch of five
ATTEMPT_TIMEOUT = 0.3  # seconds: the deadline of each attempt (a stalled answer arrives after it)
MAX_ATTEMPTS = 40


@dataclass(frozen=True)
class Answered:
    request_id: str
    event_id: str
    position: int
    replayed: bool
    attempts: int  # 1 when the first attempt was answered


@pytest.fixture
def backend(postgres_server: PostgresServer) -> Iterator[tuple[str, str]]:
    """A real server on a fresh PostgreSQL schema, in this process: (database URL, address)."""
    url, schema = new_postgres_schema_url(postgres_server)
    service = build_service(Settings(database_url=url))
    server, port = create_server(service, "127.0.0.1", 0)
    server.start()
    try:
        yield url, f"127.0.0.1:{port}"
    finally:
        server.stop(grace=None).wait()
        service.close()
        drop_schema(postgres_server, schema)


def call_until_answered(stub: work_events_pb2_grpc.WorkEventServiceStub, requests: list[work_events_pb2.RecordWorkEventRequest]) -> tuple[object, int]:
    """The first non-retryable outcome (a response or an RpcError) and the number of attempts."""
    for attempt in range(1, MAX_ATTEMPTS + 1):
        try:
            if len(requests) == 1:
                return stub.RecordWorkEvent(requests[0], timeout=ATTEMPT_TIMEOUT), attempt
            return stub.RecordWorkEvents(work_events_pb2.RecordWorkEventsRequest(requests=requests), timeout=ATTEMPT_TIMEOUT), attempt
        except grpc.RpcError as error:
            if error.code() not in RETRYABLE:  # type: ignore[attr-defined]
                return error, attempt
    raise AssertionError(f"{requests[0].request_id}: no answer in {MAX_ATTEMPTS} attempts")


def record(stub: work_events_pb2_grpc.WorkEventServiceStub, requests: list[work_events_pb2.RecordWorkEventRequest]) -> list[Answered]:
    outcome, attempts = call_until_answered(stub, requests)
    assert not isinstance(outcome, grpc.RpcError), f"{requests[0].request_id}: {outcome.code()} {outcome.details()}"  # type: ignore[attr-defined]
    if isinstance(outcome, work_events_pb2.RecordWorkEventResponse):
        answers = [outcome]
    else:
        assert isinstance(outcome, work_events_pb2.RecordWorkEventsResponse)
        assert all(r.WhichOneof("outcome") == "recorded" for r in outcome.results), outcome
        answers = [r.recorded for r in outcome.results]
    return [Answered(q.request_id, a.event_id, a.position, a.replayed, attempts) for q, a in zip(requests, answers, strict=True)]


def reuse_with_other_payload(
    stub: work_events_pb2_grpc.WorkEventServiceStub, requests: list[work_events_pb2.RecordWorkEventRequest]
) -> list[tuple[str, str]]:
    """Sends the same request_ids with another quantity; returns each one's (code, reason)."""
    changed = [work_events_pb2.RecordWorkEventRequest() for _ in requests]
    for new, old in zip(changed, requests, strict=True):
        new.CopyFrom(old)
        new.quantity = str(int(old.quantity) + 1)
    outcome, _ = call_until_answered(stub, changed)
    if isinstance(outcome, grpc.RpcError):
        rich = rich_error(outcome)
        return [(rich.code.name, rich.reason)]
    if isinstance(outcome, work_events_pb2.RecordWorkEventResponse):
        return [("OK", "")]
    assert isinstance(outcome, work_events_pb2.RecordWorkEventsResponse)
    results = []
    for result in outcome.results:
        if result.WhichOneof("outcome") == "error":
            rich = rich_error_of_status(result.error)
            results.append((rich.code.name, rich.reason))
        else:
            results.append(("OK", ""))
    return results


def test_lost_and_late_replies_never_count_a_write_twice(backend: tuple[str, str], rng: random.Random) -> None:
    started = time.monotonic()
    database_url, address = backend
    faults = ReplyFaults(rng.getrandbits(32), lose=0.30, stall=0.12)
    hop, hop_address, upstream = start_faulty_hop(address, faults, WRITES)
    channel = grpc.insecure_channel(hop_address)
    try:
        staff(directory_pb2_grpc.DirectoryServiceStub(channel))  # directory calls are not faulted
        stub = work_events_pb2_grpc.WorkEventServiceStub(channel)
        calls = scaled(500)
        work = random.Random(rng.getrandbits(32))
        plan = [
            [random_work(work, f"lr-{i}/{j}") for j in range(BATCH)] if i % BATCH_EVERY == BATCH_EVERY - 1 else [random_work(work, f"lr-{i}")]
            for i in range(calls)
        ]
        lock = threading.Lock()
        answered: list[Answered] = []
        attempts: list[int] = []

        def client(number: int) -> None:
            for requests in plan[number::CLIENTS]:
                answers = record(stub, requests)
                with lock:
                    answered.extend(answers)
                    attempts.append(answers[0].attempts)

        with ThreadPoolExecutor(CLIENTS) as pool:
            for done in [pool.submit(client, n) for n in range(CLIENTS)]:
                done.result()

        tracked, end = wait_for_projection(database_url, within=30)
        reused = [requests for requests in plan if requests[0].request_id.endswith(("1", "4", "7"))][: scaled(50)]
        before_reuse = log_size(database_url)
        reuse_answers = [answer for requests in reused for answer in reuse_with_other_payload(stub, requests)]
        after_reuse = log_size(database_url)
    finally:
        channel.close()
        hop.stop(grace=None).wait()
        upstream.close()

    reader = open_reader(database_url)
    try:
        stored = stored_work(reader)
    finally:
        reader.close()
    sent = {r.request_id: r for requests in plan for r in requests}
    by_id = {a.request_id: a for a in answered}
    replays = [a for a in answered if a.replayed]
    print(
        f"{calls} calls ({len(sent)} work events) in {sum(attempts)} attempts; replies {dict(faults.counts)}, "
        f"lost or late after a commit {dict(faults.after_ok)}; answered as replays {len(replays)}; "
        f"stored {sum(len(c) for c in stored.values())}; log {end} events, projected to {tracked}; "
        f"same key, other payload: {len(reuse_answers)} answers {sorted(set(reuse_answers))}, log {before_reuse} -> {after_reuse}; "
        f"{time.monotonic() - started:.1f}s"
    )

    assert faults.after_ok[LOSE] > 0 and faults.after_ok[STALL] > 0, "no committed write lost its reply: the test proved nothing"
    assert set(by_id) == set(sent)
    assert {rid: len(copies) for rid, copies in stored.items() if len(copies) != 1} == {}, "stored more than once"
    assert set(stored) == set(sent)
    assert {rid: (c[0].event_id, c[0].position) for rid, c in stored.items()} == {rid: (a.event_id, a.position) for rid, a in by_id.items()}
    assert [a.request_id for a in replays if a.attempts == 1] == [], "a first attempt was answered as a replay"
    assert replays, "no retry was answered as a replay"
    assert view_balances(database_url) == log_balances(stored), "the balances count some work twice (or not at all)"
    assert sum(view_balances(database_url).events.values()) == len(sent)
    assert set(reuse_answers) == {("ALREADY_EXISTS", "REQUEST_ID_REUSED")}
    assert after_reuse == before_reuse, "a refused reuse of a key stored something"
