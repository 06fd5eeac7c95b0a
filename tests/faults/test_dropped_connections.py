"""Dropped database connections: the service's backends are terminated in the middle of batch writes.

A real server (create_server, in this process) on a schema of the fault suite's own cluster
takes batches of 100 work events. For each of 50 batches a watcher polls pg_stat_activity and,
as soon as a backend of the service works on the log (the batch's lookups, its locked insert),
terminates it (`pg_terminate_backend`); every
EVERYTHING_EVERY-th time it terminates every backend of the service instead (the writer, the
projector's, the idle pooled ones), as a database restart or failover would. The watcher
keeps counting the batch's events in the log until the call ends. A failed batch is retried
with the same request_ids until it is recorded.

Promised: a batch is visible whole or not at all, at every moment; the library's own insert
retries (after a connection died, possibly after its commit) never store a second copy; the
balances equal the log's sums and a replay; every call ends within its deadline with OK or a
code a client may retry (UNAVAILABLE, ABORTED, DEADLINE_EXCEEDED), never INTERNAL.
"""

from __future__ import annotations

import random
import time
from collections import Counter
from collections.abc import Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field

import grpc
import psycopg
import pytest
from psycopg import sql

from points.domain.identity import work_event_id_of
from points.server import Settings, build_service, create_server
from points.v1 import directory_pb2_grpc, work_events_pb2, work_events_pb2_grpc
from tests.faults.budget import scaled, seed
from tests.faults.cluster import CrashableCluster
from tests.faults.ledger_check import log_balances, open_reader, replayed_view, stored_work, view_balances, wait_for_projection
from tests.faults.workload import RETRYABLE, random_work, staff

pytestmark = pytest.mark.postgres

BATCH = 100
DEADLINE = 5.0  # seconds, each call
LATE = 0.5  # seconds past the deadline a call may take to end (scheduling on a loaded machine)
RECOVERED_WITHIN = 1.0  # seconds from every connection of the service dying to a batch recorded again
EVERYTHING_EVERY = 16  # every 16th termination takes every backend of the service, not only the writer
WATCH_FOR = 3.0  # seconds the watcher waits for a write to start
MAX_ATTEMPTS = 10

_SERVICE_BACKENDS = (
    "FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid() AND backend_type = 'client backend'"
)
WRITING = sql.SQL(  # a backend working on the log: the batch's lookups of stored events, or its insert
    "SELECT pid " + _SERVICE_BACKENDS + " AND state IN ('active', 'idle in transaction') "
    "AND (query ILIKE '%points_events%' OR query ILIKE '%points_chain%')"
)
TERMINATE = sql.SQL("SELECT count(*) FILTER (WHERE pg_terminate_backend(pid)) " + _SERVICE_BACKENDS + " AND pid = ANY(%s)")
TERMINATE_ALL = sql.SQL("SELECT count(*) FILTER (WHERE pg_terminate_backend(pid)) " + _SERVICE_BACKENDS)


@dataclass(frozen=True)
class Outcome:
    code: str
    elapsed: float
    everything: bool  # the first call after every backend of the service was terminated


@dataclass
class Run:
    """What happened over all rounds, for the tests below to judge."""

    seed: int
    database_url: str
    rounds: int = 0
    mid_write: int = 0  # terminations that caught a backend writing the log
    everything: int = 0  # of which took every backend of the service
    recoveries: list[float] = field(default_factory=list)  # seconds from every backend dying to the batch recorded
    terminated: int = 0  # backends terminated in all
    outcomes: list[Outcome] = field(default_factory=list)
    samples: Counter[int] = field(default_factory=Counter)  # events of the batch in flight seen by the watcher -> times
    partial: list[str] = field(default_factory=list)
    sent: dict[str, work_events_pb2.RecordWorkEventRequest] = field(default_factory=dict)
    acked: dict[str, tuple[str, int]] = field(default_factory=dict)
    elapsed: float = 0.0


Sent = tuple[str, float, work_events_pb2.RecordWorkEventsResponse | None]


def send(stub: work_events_pb2_grpc.WorkEventServiceStub, requests: list[work_events_pb2.RecordWorkEventRequest]) -> Sent:
    """One call: (status code name, seconds, the response if every item was recorded)."""
    began = time.monotonic()
    try:
        response = stub.RecordWorkEvents(work_events_pb2.RecordWorkEventsRequest(requests=requests), timeout=DEADLINE)
    except grpc.RpcError as error:
        return error.code().name, time.monotonic() - began, None  # type: ignore[attr-defined]
    failed = [r.error.code for r in response.results if r.WhichOneof("outcome") == "error"]
    if failed:
        return next(c.name for c in grpc.StatusCode if c.value[0] == failed[0]) + " (item)", time.monotonic() - began, None
    return grpc.StatusCode.OK.name, time.monotonic() - began, response


def batch_count(watcher: psycopg.Connection, events: sql.Composed, ids: list[str]) -> int:
    row = watcher.execute(sql.SQL("SELECT count(*) FROM {} WHERE originator_id = ANY(%s::uuid[])").format(events), (ids,)).fetchone()
    return int(row[0]) if row else 0


def terminate_mid_write(watcher: psycopg.Connection, call: Future[Sent], run: Run, *, everything: bool) -> bool:
    """As soon as a backend writes the log, terminates it (or, with `everything`, every backend of the service)."""
    give_up = time.monotonic() + WATCH_FOR
    while time.monotonic() < give_up and not call.done():
        writers = [row[0] for row in watcher.execute(WRITING).fetchall()]
        if writers:
            row = watcher.execute(TERMINATE_ALL if everything else TERMINATE, () if everything else (writers,)).fetchone()
            run.terminated += int(row[0]) if row else 0
            run.mid_write += 1
            run.everything += everything
            return True
        time.sleep(0.001)
    return False


def watch_visibility(watcher: psycopg.Connection, call: Future[Sent], events: sql.Composed, ids: list[str], run: Run, name: str) -> None:
    """Counts the batch's events in the log until the call ends, and once more after: 0 or all, never some."""
    while True:
        done = call.done()
        seen = batch_count(watcher, events, ids)
        run.samples[seen] += 1
        if seen not in (0, len(ids)):
            run.partial.append(f"{name}: {seen} of {len(ids)} visible")
        if done:
            return
        time.sleep(0.002)


@pytest.fixture(scope="module")
def dropped(crash_cluster: CrashableCluster) -> Iterator[Run]:
    """Runs every round once for the module's tests; the server goes at the end."""
    if not crash_cluster.up:
        crash_cluster.start()
    run = Run(seed=seed(), database_url=f"{crash_cluster.url}?schema=drop_{random.SystemRandom().getrandbits(40):x}")
    rng = random.Random(run.seed)
    service = build_service(Settings(database_url=run.database_url))
    server, port = create_server(service, "127.0.0.1", 0)
    server.start()
    channel = grpc.insecure_channel(f"127.0.0.1:{port}")
    watcher = psycopg.connect(crash_cluster.url, autocommit=True)
    started = time.monotonic()
    try:
        staff(directory_pb2_grpc.DirectoryServiceStub(channel))
        stub = work_events_pb2_grpc.WorkEventServiceStub(channel)
        events = sql.SQL("{}.points_events").format(sql.Identifier(service.store.schema))
        with ThreadPoolExecutor(1) as pool:
            for number in range(scaled(50)):
                requests = [random_work(rng, f"dc-{number}/{j}") for j in range(BATCH)]
                run.sent.update((r.request_id, r) for r in requests)
                ids = [str(work_event_id_of(r.request_id)) for r in requests]
                everything = number % EVERYTHING_EVERY == EVERYTHING_EVERY - 1
                terminated_at = 0.0
                for attempt in range(MAX_ATTEMPTS):
                    call = pool.submit(send, stub, requests)
                    hit = attempt == 0 and terminate_mid_write(watcher, call, run, everything=everything)
                    terminated_at = time.monotonic() if hit else terminated_at
                    watch_visibility(watcher, call, events, ids, run, f"dc-{number}")
                    code, elapsed, response = call.result()
                    run.outcomes.append(Outcome(code, elapsed, everything=hit and everything))
                    if response is not None:
                        answers = zip(requests, response.results, strict=True)
                        run.acked.update((r.request_id, (a.recorded.event_id, a.recorded.position)) for r, a in answers)
                        if everything and terminated_at:
                            run.recoveries.append(time.monotonic() - terminated_at)
                        break
                    time.sleep(0.05)
                run.rounds += 1
        run.elapsed = time.monotonic() - started
        yield run
    finally:
        watcher.close()
        channel.close()
        server.stop(grace=None).wait()
        service.close()


def summary(run: Run) -> str:
    slowest = max(o.elapsed for o in run.outcomes)
    return (
        f"seed {run.seed}: {run.rounds} batches of {BATCH} in {len(run.outcomes)} calls; {run.mid_write} terminations "
        f"mid-write ({run.everything} of every backend; {run.terminated} backends); outcomes "
        f"{dict(Counter(o.code for o in run.outcomes))}, slowest {slowest:.2f}s; after every backend died, first call "
        f"{[(o.code, round(o.elapsed, 2)) for o in run.outcomes if o.everything]} and batch recorded after "
        f"{[round(r, 2) for r in run.recoveries]}s; {run.elapsed:.1f}s"
    )


def test_no_partial_batch_is_ever_visible_and_no_retry_stores_a_second_copy(dropped: Run) -> None:
    tracked, end = wait_for_projection(dropped.database_url, within=30)
    reader = open_reader(dropped.database_url)
    try:
        stored = stored_work(reader)
        before = view_balances(dropped.database_url)
        replayed = replayed_view(reader, dropped.database_url)
    finally:
        reader.close()
    print(
        f"{summary(dropped)}; batch visibility samples (events seen -> times) {dict(dropped.samples)}; "
        f"acknowledged {len(dropped.acked)}, stored {sum(len(c) for c in stored.values())}; log {end}, projected to {tracked}"
    )

    assert dropped.mid_write >= dropped.rounds * 0.8, "most terminations should catch a write in flight"
    assert dropped.partial == []
    assert {rid: len(copies) for rid, copies in stored.items() if len(copies) != 1} == {}, "a retry stored a second copy"
    assert set(stored) == set(dropped.sent) == set(dropped.acked)
    assert {rid: (c[0].event_id, c[0].position) for rid, c in stored.items()} == dropped.acked
    assert tracked == end
    assert before == log_balances(stored) == replayed


def test_every_call_ends_within_its_deadline_with_ok_or_a_retryable_code(dropped: Run) -> None:
    allowed = {grpc.StatusCode.OK.name, *(c.name for c in RETRYABLE)}
    print(summary(dropped))
    assert [o for o in dropped.outcomes if o.elapsed > DEADLINE + LATE] == []
    assert [o for o in dropped.outcomes if o.code not in allowed] == []


def test_writes_recover_within_a_second_once_every_connection_died(dropped: Run) -> None:
    print(summary(dropped))
    assert dropped.recoveries, "no round terminated every backend mid-write"
    assert [r for r in dropped.recoveries if r > RECOVERED_WITHIN] == []
