"""Hostile input: requests generated from the protobuf descriptors of every RPC, and bytes no stub would send.

A real server (create_server, PostgreSQL, development mode so every RPC is reachable) with an
outlet and two employees, so that some generated values name things that exist. For every
method of every service in points.v1, Hypothesis sends requests built field by field from the
descriptors (tests/faults/hostile.py), then raw requests with a string field that is not
UTF-8, and bytes that are no message at all.

Promised: never INTERNAL or UNKNOWN; no stack trace, SQL or driver name in the message (or
in the error details); and a refused call stores nothing (the log's end does not move).
"""

from __future__ import annotations

import random
import re
import time
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field

import grpc
import pytest
from grpc_status import rpc_status
from hypothesis import HealthCheck, example, given, settings
from hypothesis import seed as hypothesis_seed

from points.server import Settings, build_service, create_server
from points.v1 import directory_pb2_grpc, work_events_pb2
from tests.api.calls import staff_outlet
from tests.conftest import drop_schema, new_postgres_schema_url
from tests.faults.budget import scaled, seed
from tests.faults.hostile import Generated, Rpc, fixed_requests, requests, shorten, rpc_methods, string_field_numbers, with_invalid_utf8
from tests.faults.ledger_check import log_size
from tests.support.pgserver import PostgresServer

pytestmark = pytest.mark.postgres

RPCS = rpc_methods()
KNOWN_BUGS: dict[str, pytest.MarkDecorator] = {}  # RPC -> xfail mark, for a bug found and not yet fixed
WRITES = re.compile(r"/(Register|Transfer|Record|Correct|Publish|Recalculate|Close)")
NEVER = {grpc.StatusCode.INTERNAL, grpc.StatusCode.UNKNOWN}
# Refusals: the call was answered and must have changed nothing. (DEADLINE_EXCEEDED and UNAVAILABLE are not answers.)
REFUSALS = {
    grpc.StatusCode.INVALID_ARGUMENT, grpc.StatusCode.NOT_FOUND, grpc.StatusCode.ALREADY_EXISTS,
    grpc.StatusCode.FAILED_PRECONDITION, grpc.StatusCode.OUT_OF_RANGE, grpc.StatusCode.PERMISSION_DENIED,
    grpc.StatusCode.RESOURCE_EXHAUSTED, grpc.StatusCode.UNIMPLEMENTED, grpc.StatusCode.UNAUTHENTICATED,
}  # fmt: skip
LEAKS = re.compile(r"Traceback|File \"|\bSELECT\b|\bINSERT\b|psycopg|sqlite|eventsourcing\.")
RECORD_BATCH = "/points.v1.WorkEventService/RecordWorkEvents"
READ_TIMEOUT = 0.3  # seconds: reads may wait for a position up to their deadline
WRITE_TIMEOUT = 5.0  # seconds: long enough that a write is never cut short (then it might land after our check)
INVALID_UTF8 = [b"\xff", b"\xc3\x28", b"\xed\xa0\x80", b"os-\x80", b"\xf4\x90\x80\x80"]


@dataclass
class Server:
    database_url: str
    channel: grpc.Channel
    seed: int
    codes: dict[str, Counter[str]] = field(default_factory=dict)  # rpc -> code -> calls


@pytest.fixture(scope="module")
def server(postgres_server: PostgresServer) -> Iterator[Server]:
    url, schema = new_postgres_schema_url(postgres_server)
    service = build_service(Settings(database_url=url))
    grpc_server, port = create_server(service, "127.0.0.1", 0)
    grpc_server.start()
    channel = grpc.insecure_channel(f"127.0.0.1:{port}", options=[("grpc.max_send_message_length", 8 * 1024 * 1024)])
    try:
        staff_outlet(directory_pb2_grpc.DirectoryServiceStub(channel))
        yield Server(url, channel, seed())
    finally:
        channel.close()
        grpc_server.stop(grace=None).wait()
        service.close()
        drop_schema(postgres_server, schema)


def call(server: Server, rpc: Rpc, request: bytes) -> tuple[grpc.StatusCode, str, str, bytes]:
    """Sends serialized `request`; returns (code, message, the rich status's text, the response)."""
    timeout = WRITE_TIMEOUT if WRITES.match(rpc.path) else READ_TIMEOUT
    try:
        if rpc.streams:
            stream = server.channel.unary_stream(rpc.path, request_serializer=None, response_deserializer=None)
            for count, _ in enumerate(stream(request, timeout=timeout)):
                if count >= 2:
                    break
            return grpc.StatusCode.OK, "", "", b""
        response = server.channel.unary_unary(rpc.path, request_serializer=None, response_deserializer=None)(request, timeout=timeout)
        return grpc.StatusCode.OK, "", "", response
    except grpc.RpcError as error:
        try:
            status = rpc_status.from_call(error)  # type: ignore[arg-type]
        except ValueError:  # the status details disagree with the code: gRPC cut an oversized call short itself
            status = None
        return error.code(), error.details() or "", str(status) if status else "", b""  # type: ignore[attr-defined]


def check(server: Server, rpc: Rpc, request: bytes, shown: str) -> None:
    """One call: never INTERNAL/UNKNOWN, nothing leaked, nothing stored when refused."""
    before = log_size(server.database_url)
    code, message, details, response = call(server, rpc, request)
    server.codes.setdefault(str(rpc), Counter())[code.name] += 1
    assert code not in NEVER, f"{rpc} answered {code.name} ({shorten(message)!r}) to {shown}"
    for text in (message, details):
        leaked = [m for m in LEAKS.findall(text) if m not in shown]  # an echo of our own input is no leak
        assert not leaked, f"{rpc} leaked {leaked} in {shorten(text)[:300]!r}"
    if code in REFUSALS:
        assert log_size(server.database_url) == before, f"{rpc} refused with {code.name} yet stored something: {shown}"
    if code == grpc.StatusCode.OK and rpc.path == RECORD_BATCH:  # items refused one by one store nothing either
        results = work_events_pb2.RecordWorkEventsResponse.FromString(response).results
        new = sum(1 for r in results if r.WhichOneof("outcome") == "recorded" and not r.recorded.replayed)
        assert log_size(server.database_url) - before == new, f"{rpc} stored more than the {new} items it recorded: {shown}"


@pytest.mark.parametrize("rpc", [pytest.param(r, marks=KNOWN_BUGS.get(str(r), ())) for r in RPCS], ids=str)
def test_generated_requests_are_refused_cleanly(server: Server, rpc: Rpc) -> None:
    started = time.monotonic()

    @hypothesis_seed(server.seed)
    @settings(max_examples=scaled(12), deadline=None, database=None, suppress_health_check=list(HealthCheck), print_blob=True)
    @given(request=requests(rpc))
    def sends(request: Generated) -> None:
        check(server, rpc, request.message.SerializeToString(), repr(request))

    for fixed in fixed_requests(rpc):  # sent first, every run
        sends = example(request=fixed)(sends)
    sends()
    print(f"{rpc}: {dict(server.codes.get(str(rpc), {}))} in {time.monotonic() - started:.1f}s")


@dataclass(frozen=True)
class RawOutcome:
    rpc: str
    sent: str
    code: grpc.StatusCode
    message: str
    stored: int  # events the log grew by during the call


def raw_requests(rpc: Rpc, rng: random.Random) -> list[tuple[bytes, str]]:
    """Each string field (up to three) holding bytes that are not UTF-8; an invalid wire type; random bytes."""
    made = [
        (with_invalid_utf8(b"", number, payload), f"field {number} = {payload!r}")
        for number, payload in zip(string_field_numbers(rpc.method.input_type)[:3], INVALID_UTF8, strict=False)
    ]
    made.append((b"\xff\xff\xff", "bytes b'\\xff\\xff\\xff' (wire type 7)"))
    for _ in range(scaled(3)):
        garbage = bytes(rng.getrandbits(8) for _ in range(rng.randint(1, 48)))
        made.append((garbage, f"bytes {garbage!r}"))
    return made


@pytest.fixture(scope="module")
def raw_outcomes(server: Server) -> list[RawOutcome]:
    """Every RPC sent bytes no stub would send, once for the module's tests."""
    rng = random.Random(server.seed)
    outcomes = []
    for rpc in RPCS:
        for request, shown in raw_requests(rpc, rng):
            before = log_size(server.database_url)
            code, message, _, _ = call(server, rpc, request)
            outcomes.append(RawOutcome(str(rpc), shown, code, message, log_size(server.database_url) - before))
    print(f"raw requests: {len(outcomes)} to {len(RPCS)} RPCs, answered {dict(Counter(o.code.name for o in outcomes))}")
    return outcomes


def test_bytes_that_are_not_a_valid_request_store_nothing_and_leak_nothing(raw_outcomes: list[RawOutcome]) -> None:
    assert [o for o in raw_outcomes if o.code != grpc.StatusCode.OK and o.stored] == []
    assert [o for o in raw_outcomes if LEAKS.search(o.message)] == []


def test_bytes_that_are_not_a_valid_request_are_invalid_argument(raw_outcomes: list[RawOutcome]) -> None:
    wrong = [o for o in raw_outcomes if o.code in NEVER]
    print(f"{len(wrong)} of {len(raw_outcomes)} raw requests answered INTERNAL or UNKNOWN, e.g. {wrong[:1]}")
    assert wrong == []
