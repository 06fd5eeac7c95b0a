"""Crash under load: clients keep recording while the servers, the projector and PostgreSQL die at random.

Real processes on a PostgreSQL cluster of the test's own: two `points serve --no-projector`
(the API) and one `points project` (the projector; in a build without that command, the two
servers project in-process and a projector fault kills both). Four clients record
work (three one event per call, one in batches), each retrying a request with the same
request_id and payload until it is acknowledged, switching server when one fails. Meanwhile
the test, from a printed seed, kills -9 an API server, kills -9 the projector, or stops
PostgreSQL immediately (no checkpoint; crash recovery on start) and starts each again:
20 faults in CI (POINTS_FAULTS_SCALE multiplies them).

Afterwards: every acknowledged request is stored exactly once, under the acknowledged event id
and position; nothing is stored that was never sent, and what is stored is what was sent;
the balance view equals the sums of the stored events' lines and a replay of the whole log;
the audit hash chain verifies.
"""

from __future__ import annotations

import random
import threading
import time
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import grpc
import pytest

from points.v1 import audit_pb2, audit_pb2_grpc, directory_pb2_grpc, work_events_pb2, work_events_pb2_grpc
from tests.faults.budget import scaled
from tests.faults.cluster import CrashableCluster
from tests.faults.ledger_check import (
    log_balances,
    open_reader,
    replayed_view,
    stored_work,
    view_balances,
    wait_for_projection,
)
from tests.faults.processes import PointsProcess, api_and_projector, run_points
from tests.faults.workload import RETRYABLE, random_work, retrying, staff

pytestmark = pytest.mark.postgres

FAULT_KINDS = ("server", "projector", "postgres")
UNARY_CLIENTS = 3
BATCH_CLIENTS = 1
BATCH = 5
CALL_TIMEOUT = 3.0  # seconds per attempt
GIVE_UP_AFTER = 90.0  # seconds of retrying one request before counting it unacknowledged
GAP = (0.05, 0.5)  # seconds between faults
POSTGRES_DOWN = (0.05, 0.5)  # seconds PostgreSQL stays down
RESEND_ACKED = 0.1  # share of acknowledged requests a client sends once more (a duplicate delivery)
THINK = 0.005  # seconds a client waits between requests: load, without a log too long to check quickly


@dataclass
class Tally:
    """What one client sent and what it was told."""

    sent: dict[str, work_events_pb2.RecordWorkEventRequest] = field(default_factory=dict)
    acked: dict[str, tuple[str, int]] = field(default_factory=dict)  # request_id -> (event_id, position)
    attempts: int = 0
    retried: Counter[str] = field(default_factory=Counter)  # status code name -> retries
    duplicates: int = 0  # acknowledged requests sent again on purpose
    recovered: int = 0  # acknowledged as a replay after a failed attempt: that attempt committed, its reply was lost
    bad_replays: list[str] = field(default_factory=list)
    unacknowledged: list[str] = field(default_factory=list)
    answers: list[str] = field(default_factory=list)  # non-retryable errors: each fails the test


class RecordingClient(threading.Thread):
    """Records new work until told to stop, retrying each request with the same request_id until acknowledged."""

    def __init__(self, number: int, addresses: list[str], seed: int, stop: threading.Event, batch: int) -> None:
        super().__init__(name=f"client-{number}", daemon=True)
        self.number, self.batch, self.stop = number, batch, stop
        self.rng = random.Random(seed)
        self.channels = [grpc.insecure_channel(a) for a in addresses]
        self.stubs = [work_events_pb2_grpc.WorkEventServiceStub(c) for c in self.channels]
        self.tally = Tally()
        self.turn = number

    def run(self) -> None:
        try:
            serial = 0
            while not self.stop.is_set():
                requests = [random_work(self.rng, f"c{self.number}-{serial + i}") for i in range(self.batch)]
                serial += self.batch
                for r in requests:
                    self.tally.sent[r.request_id] = r
                first = self.send_until_acked(requests)
                if first and self.rng.random() < RESEND_ACKED:
                    self.tally.duplicates += 1
                    self.send_until_acked(requests, expect=first)
                time.sleep(THINK)
        except Exception as error:  # noqa: BLE001 (reported, and fails the test, rather than dying unseen)
            self.tally.answers.append(f"client {self.number} crashed: {error!r}")
        finally:
            for channel in self.channels:
                channel.close()

    def send_until_acked(
        self, requests: list[work_events_pb2.RecordWorkEventRequest], expect: dict[str, tuple[str, int]] | None = None
    ) -> dict[str, tuple[str, int]]:
        deadline = time.monotonic() + GIVE_UP_AFTER
        delay = 0.05
        failed = 0
        while time.monotonic() < deadline:
            stub = self.stubs[self.turn % len(self.stubs)]
            self.tally.attempts += 1
            try:
                answers = self.call(stub, requests)
            except grpc.RpcError as error:
                code = error.code()  # type: ignore[attr-defined]
                if code not in RETRYABLE:
                    self.tally.answers.append(f"{requests[0].request_id}: {code.name} {error.details()}")  # type: ignore[attr-defined]
                    return {}
                self.tally.retried[code.name] += 1
                failed += 1
                self.turn += 1  # try the other server next
                time.sleep(delay)
                delay = min(delay * 2, 1.0)
                continue
            if expect is not None:
                if any(not a.replayed or (a.event_id, a.position) != expect[r.request_id] for r, a in zip(requests, answers, strict=True)):
                    self.tally.bad_replays.append(requests[0].request_id)
                return expect
            acked = {r.request_id: (a.event_id, a.position) for r, a in zip(requests, answers, strict=True)}
            if failed:
                self.tally.recovered += sum(a.replayed for a in answers)
            self.tally.acked.update(acked)
            return acked
        self.tally.unacknowledged += [r.request_id for r in requests]
        return {}

    def call(
        self, stub: work_events_pb2_grpc.WorkEventServiceStub, requests: list[work_events_pb2.RecordWorkEventRequest]
    ) -> list[work_events_pb2.RecordWorkEventResponse]:
        if len(requests) == 1:
            return [stub.RecordWorkEvent(requests[0], timeout=CALL_TIMEOUT)]
        response = stub.RecordWorkEvents(work_events_pb2.RecordWorkEventsRequest(requests=requests), timeout=CALL_TIMEOUT)
        failed = [r.error for r in response.results if r.WhichOneof("outcome") == "error"]
        if failed:  # an item that failed on its own: retry the whole batch (the others replay)
            raise _ItemFailed(failed[0])
        return [r.recorded for r in response.results]


class _ItemFailed(grpc.RpcError):
    def __init__(self, status: object) -> None:
        self.status = status

    def code(self) -> grpc.StatusCode:
        return next(c for c in grpc.StatusCode if c.value[0] == self.status.code)  # type: ignore[attr-defined]

    def details(self) -> str:
        return str(self.status.message)  # type: ignore[attr-defined]


@dataclass
class Deployment:
    cluster: CrashableCluster
    database_url: str
    servers: list[PointsProcess]
    projectors: list[PointsProcess]  # `points project`, or the servers themselves in a build without it

    def everything(self) -> list[PointsProcess]:
        return list(dict.fromkeys([*self.servers, *self.projectors]))


@pytest.fixture
def deployment(crash_cluster: CrashableCluster, tmp_path: Path) -> Iterator[Deployment]:
    """Two API servers and a projector on a fresh schema of the test's own cluster; all killed at the end."""
    if not crash_cluster.up:
        crash_cluster.start()
    database_url = f"{crash_cluster.url}?schema=crash_{random.SystemRandom().getrandbits(40):x}"
    migrated = run_points("migrate", "--database", database_url)
    assert migrated.returncode == 0, migrated.stderr
    servers, projectors = api_and_projector(database_url, tmp_path, servers=2)
    deployed = Deployment(crash_cluster, database_url, servers, projectors)
    try:
        for process in deployed.everything():
            process.start(wait=False)
        for process in deployed.everything():
            process.wait_until_serving()
        yield deployed
    finally:
        for process in deployed.everything():
            process.kill()
        if not crash_cluster.up:
            crash_cluster.start()


def inject(deployed: Deployment, kind: str, rng: random.Random) -> str:
    """One fault; returns what was done. Everything is running again when it returns."""
    if kind == "server":
        victim = rng.choice(deployed.servers)
        victim.kill()
        victim.start()
        return f"kill -9 {victim.name}"
    if kind == "projector":  # every process that projects dies at once
        for process in deployed.projectors:
            process.kill()
        for process in deployed.projectors:
            process.start(wait=False)
        for process in deployed.projectors:
            process.wait_until_serving()
        return "kill -9 " + " and ".join(p.name for p in deployed.projectors)
    down = rng.uniform(*POSTGRES_DOWN)
    deployed.cluster.crash()
    time.sleep(down)
    deployed.cluster.start()
    return f"postgres stop -m immediate, {down:.2f}s down"


def test_acknowledged_work_survives_crashes_of_servers_projector_and_postgres(
    deployment: Deployment, rng: random.Random
) -> None:
    started = time.monotonic()
    addresses = [s.address for s in deployment.servers]
    with grpc.insecure_channel(addresses[0]) as channel:
        staff(directory_pb2_grpc.DirectoryServiceStub(channel))

    stop = threading.Event()
    clients = [
        RecordingClient(n, addresses, rng.getrandbits(32), stop, batch=BATCH if n >= UNARY_CLIENTS else 1)
        for n in range(UNARY_CLIENTS + BATCH_CLIENTS)
    ]
    faults = scaled(20)
    kinds = [FAULT_KINDS[i % len(FAULT_KINDS)] for i in range(faults)]
    rng.shuffle(kinds)
    for client in clients:
        client.start()
    try:
        for number, kind in enumerate(kinds, 1):
            time.sleep(rng.uniform(*GAP))
            print(f"fault {number:3d} at {time.monotonic() - started:6.1f}s: {inject(deployment, kind, rng)}")
    finally:
        stop.set()
        for client in clients:
            client.join(timeout=GIVE_UP_AFTER + 30)
    assert not any(c.is_alive() for c in clients), "a client did not finish"

    tracked, end = wait_for_projection(deployment.database_url, within=60)
    assert tracked == end, f"the projector did not catch up: tracked {tracked} of {end}"
    with grpc.insecure_channel(addresses[0]) as channel:
        audit = audit_pb2_grpc.AuditServiceStub(channel)
        chain = retrying(lambda: audit.VerifyLedger(audit_pb2.VerifyLedgerRequest(), timeout=30))
    for process in deployment.everything():
        process.terminate()

    tallies = [c.tally for c in clients]
    sent = {rid: r for t in tallies for rid, r in t.sent.items()}
    acked = {rid: a for t in tallies for rid, a in t.acked.items()}
    reader = open_reader(deployment.database_url)
    try:
        stored = stored_work(reader)
        before = view_balances(deployment.database_url)
        from_log = log_balances(stored)
        replayed = replayed_view(reader, deployment.database_url)
    finally:
        reader.close()

    retried = sum((t.retried for t in tallies), Counter())
    print(
        f"faults {dict(Counter(kinds))}; sent {len(sent)} requests in {sum(t.attempts for t in tallies)} attempts "
        f"(retries by code {dict(retried)}); acknowledged {len(acked)}, of which {sum(t.recovered for t in tallies)} as replays "
        f"of an attempt whose reply was lost; sent again after ack {sum(t.duplicates for t in tallies)}; "
        f"unacknowledged {sum(len(t.unacknowledged) for t in tallies)}; stored {sum(len(v) for v in stored.values())} "
        f"({len(set(stored) - set(acked))} never acknowledged); log {end} events, projected to {tracked}; "
        f"balances {len(before.dimensions)} rows, equal to the log's sums: {before == from_log}, to a replay: {replayed == before}; "
        f"chain verified {chain.verified} over {chain.checked} events; {time.monotonic() - started:.1f}s"
    )

    assert [a for t in tallies for a in t.answers] == []
    assert [b for t in tallies for b in t.bad_replays] == [], "a duplicate was not answered as a replay of the original"
    assert {rid: len(copies) for rid, copies in stored.items() if len(copies) != 1} == {}, "stored more than once"
    assert set(acked) <= set(stored), f"acknowledged but lost: {sorted(set(acked) - set(stored))[:10]}"
    assert {rid: (stored[rid][0].event_id, stored[rid][0].position) for rid in acked} == acked
    assert set(stored) <= set(sent), f"stored but never sent: {sorted(set(stored) - set(sent))[:10]}"
    for rid, (work,) in stored.items():
        request = sent[rid]
        assert (work.employee_id, work.kind, str(work.quantity), work.occurred_on.isoformat()) == (
            request.employee_id, request.kind, request.quantity, request.occurred_on,
        ), rid  # fmt: skip
    assert before == from_log, "the balance view differs from the sums of the stored events"
    assert replayed == before, "a replay of the log gives other balances"
    assert (chain.verified, chain.problem) == (True, ""), f"audit chain broken at {chain.first_bad_position}: {chain.problem}"
    assert chain.to_position == end
