"""PointsClient: the main jobs of an integrator, with request ids, safe retries, read-your-writes, pages and a resumable ledger watch."""

from __future__ import annotations

import logging
import threading
import time
import uuid
from collections.abc import Callable, Iterable, Iterator
from typing import Any, TypeVar

import grpc
from google.protobuf.message import Message
from grpc_health.v1 import health_pb2, health_pb2_grpc

from points_client.errors import PointsError, error_from_rpc_error
from points_client.retry import RetryPolicy
from points_client.v1 import (
    audit_pb2,
    audit_pb2_grpc,
    balances_pb2,
    balances_pb2_grpc,
    directory_pb2,
    directory_pb2_grpc,
    work_events_pb2,
    work_events_pb2_grpc,
)

__all__ = ["LedgerWatch", "PointsClient", "paginate"]

log = logging.getLogger("points_client")

Req = TypeVar("Req", bound=Message)
Resp = TypeVar("Resp", bound=Message)


def _call_with_retry(rpc: Callable[..., Resp], request: Req, policy: RetryPolicy, timeout: float | None) -> Resp:
    """One unary call, tried again (the very same request) on the policy's codes; errors as PointsError."""
    attempt = 1
    while True:
        try:
            return rpc(request, timeout=timeout)
        except grpc.RpcError as e:
            code = e.code()  # every RpcError gRPC raises for a call is also a grpc.Call: it has a code
            if code not in policy.codes or attempt >= policy.max_attempts:
                raise error_from_rpc_error(e) from e
            delay = policy.backoff(attempt)
            log.info("points_client: %s after %s (attempt %d of %d); again in %.2f s", type(request).__name__, code.name, attempt, policy.max_attempts, delay)
            time.sleep(delay)
            attempt += 1


def paginate(call: Callable[[Req], Resp], request: Req, items: str) -> Iterator[Any]:
    """Yields the repeated field `items` of every page, following `next_page_token` until it is empty.

    `call` answers one page (e.g. `lambda r: client.call(client.audit.ListAccessRecords, r)`);
    the request is copied, never changed.
    """
    page = type(request)()
    page.CopyFrom(request)
    while True:
        response = call(page)
        yield from getattr(response, items)
        token = response.next_page_token  # type: ignore[attr-defined]
        if not token:
            return
        page.page_token = token  # type: ignore[attr-defined]


class PointsClient:
    """The points API for integrators, over a channel from `points_client.connect`.

    - Writes get a `request_id` (uuid4) when none is given, and every call is retried by
      `retry` on UNAVAILABLE and DEADLINE_EXCEEDED with the same request: a write that did
      commit before the connection broke answers the retry as a replay and counts once.
    - Read-your-writes: the client keeps the highest `position` its writes returned
      (`position`) and sends it as `min_position` on reads, so a read sees them. Pass
      `read_your_writes=False` to stop, or `min_position=` on a read to choose.
    - Errors are `PointsError` subclasses (`InvalidArgument`, `NotFound`, ...).
    - `timeout` is each attempt's deadline in seconds.

    The generated stubs are there for everything else: `directory`, `work_events`,
    `balances`, `audit`, and `call(stub_method, request)` gives them the retries and errors.
    """

    def __init__(
        self,
        channel: grpc.Channel,
        *,
        retry: RetryPolicy | None = None,
        timeout: float | None = 10.0,
        read_your_writes: bool = True,
    ) -> None:
        self.channel = channel
        self.retry = retry or RetryPolicy()
        self.timeout = timeout
        self.read_your_writes = read_your_writes
        self.directory = directory_pb2_grpc.DirectoryServiceStub(channel)
        self.work_events = work_events_pb2_grpc.WorkEventServiceStub(channel)
        self.balances = balances_pb2_grpc.BalanceServiceStub(channel)
        self.audit = audit_pb2_grpc.AuditServiceStub(channel)
        self.health = health_pb2_grpc.HealthStub(channel)
        self._position = 0
        self._lock = threading.Lock()

    # -- positions --------------------------------------------------------------------------

    @property
    def position(self) -> int:
        """The highest log position this client wrote (or was told of by `observe`)."""
        with self._lock:
            return self._position

    def observe(self, position: int) -> None:
        """Makes later reads wait for `position` too (e.g. a write another process made)."""
        with self._lock:
            self._position = max(self._position, position)

    def _min_position(self, explicit: int | None) -> int:
        if explicit is not None:
            return explicit
        return self.position if self.read_your_writes else 0

    def call(self, rpc: Callable[[Req], Resp], request: Req) -> Resp:
        """Any unary RPC of the stubs with this client's retries, deadline and errors.

        Retrying is safe for reads and for the writes the server keys (a `request_id`, an
        outlet or employee id); set the key yourself on such a write so a retry replays it.
        """
        response = _call_with_retry(rpc, request, self.retry, self.timeout)
        fields = response.DESCRIPTOR.fields_by_name
        if "replayed" in fields and "position" in fields:  # a write's answer (every write has both): reads should see it
            self.observe(response.position)  # type: ignore[attr-defined]
        return response

    def _call_as(self, rpc: Callable[..., Any], request: Message, answer: type[Resp]) -> Resp:
        """`call`, typed: the generated stubs carry no annotations, so the answer's type is checked here."""
        response = self.call(rpc, request)
        if not isinstance(response, answer):
            raise TypeError(f"{type(request).__name__} was answered by {type(response).__name__}, not {answer.__name__}")
        return response

    # -- directory --------------------------------------------------------------------------

    def register_outlet(self, outlet_id: str, outlet_class: int | str, region: str = "") -> directory_pb2.RegisterOutletResponse:
        """Registers an outlet (`outlet_class`: e.g. "OUTLET_CLASS_A"); the same content again is a replay."""
        request = directory_pb2.RegisterOutletRequest(outlet_id=outlet_id, outlet_class=outlet_class, region=region)  # type: ignore[arg-type]
        return self._call_as(self.directory.RegisterOutlet, request, directory_pb2.RegisterOutletResponse)

    def register_employee(self, employee_id: str, role: int | str, outlet_id: str, effective_from: str, **more: Any) -> directory_pb2.RegisterEmployeeResponse:
        """Registers an employee (`role`: e.g. "ROLE_SERVICE_MANAGER") at an outlet from a date; `more`: other request fields (`name`)."""
        request = directory_pb2.RegisterEmployeeRequest(employee_id=employee_id, role=role, outlet_id=outlet_id, effective_from=effective_from, **more)  # type: ignore[arg-type]
        return self._call_as(self.directory.RegisterEmployee, request, directory_pb2.RegisterEmployeeResponse)

    def get_employee(self, employee_id: str, *, min_position: int | None = None) -> directory_pb2.GetEmployeeResponse:
        request = directory_pb2.GetEmployeeRequest(employee_id=employee_id, min_position=self._min_position(min_position))
        return self._call_as(self.directory.GetEmployee, request, directory_pb2.GetEmployeeResponse)

    # -- work events ------------------------------------------------------------------------

    @staticmethod
    def _with_request_id(request: work_events_pb2.RecordWorkEventRequest) -> work_events_pb2.RecordWorkEventRequest:
        if request.request_id:
            return request
        filled = work_events_pb2.RecordWorkEventRequest()
        filled.CopyFrom(request)
        filled.request_id = str(uuid.uuid4())  # chosen once, before the first attempt: every retry sends it again
        return filled

    def record_work_event(
        self, employee_id: str, kind: str, quantity: str, occurred_on: str, *, request_id: str = "", **more: Any
    ) -> work_events_pb2.RecordWorkEventResponse:
        """Records one work event; `more`: the request's other fields (outlet_id, recorded_by, source, attributes, ...).

        Without a `request_id` one is made (uuid4). Keep your own when the work could be sent
        again by a later run (a feed's line number, say): only the same id makes it a replay.
        """
        request = work_events_pb2.RecordWorkEventRequest(
            request_id=request_id, employee_id=employee_id, kind=kind, quantity=quantity, occurred_on=occurred_on, **more
        )
        return self._call_as(self.work_events.RecordWorkEvent, self._with_request_id(request), work_events_pb2.RecordWorkEventResponse)

    def record_work_events(self, events: Iterable[work_events_pb2.RecordWorkEventRequest]) -> work_events_pb2.RecordWorkEventsResponse:
        """Records up to 1,000 events in one call; each result is `recorded` or an `error`
        (a google.rpc.Status: `points_client.error_from_status` makes it an exception).
        Events without a request_id get one; the whole batch is retried with the same ids."""
        request = work_events_pb2.RecordWorkEventsRequest(requests=[self._with_request_id(e) for e in events])
        # Not `call`: the batch's answer has no `replayed` (each item has its own); its position is the highest.
        response: work_events_pb2.RecordWorkEventsResponse = _call_with_retry(self.work_events.RecordWorkEvents, request, self.retry, self.timeout)
        self.observe(response.position)
        return response

    # -- balances ---------------------------------------------------------------------------

    def get_balance(self, employee_id: str, period: str, *, min_position: int | None = None) -> balances_pb2.GetBalanceResponse:
        """The employee's points for "YYYY-MM", "YYYY-Qn" or "YYYY", reflecting this client's writes."""
        request = balances_pb2.GetBalanceRequest(employee_id=employee_id, period=period, min_position=self._min_position(min_position))
        return self._call_as(self.balances.GetBalance, request, balances_pb2.GetBalanceResponse)

    def explain_balance(
        self, employee_id: str, period: str, *, page_size: int = 0, min_position: int | None = None
    ) -> Iterator[balances_pb2.ExplainedLine]:
        """Every points line behind the balance, oldest first, across pages."""
        request = balances_pb2.ExplainBalanceRequest(
            employee_id=employee_id, period=period, page_size=page_size, min_position=self._min_position(min_position)
        )
        return paginate(lambda r: self.call(self.balances.ExplainBalance, r), request, "lines")

    def list_statements(self, period: str, *, page_size: int = 0, min_position: int | None = None) -> Iterator[balances_pb2.Statement]:
        """The payroll statements of a pay month, in employee id order, across pages."""
        request = balances_pb2.ListStatementsRequest(period=period, page_size=page_size, min_position=self._min_position(min_position))
        return paginate(lambda r: self.call(self.balances.ListStatements, r), request, "statements")

    def list_work_events(self, *, page_size: int = 0, min_position: int | None = None, **filters: Any) -> Iterator[audit_pb2.AuditedWorkEvent]:
        """Work events as audited (recorder, times, lines, corrections), across pages;
        `filters`: the request's fields (employee_id, outlet_id, kind, occurred_from, newest_first, ...)."""
        request = audit_pb2.ListWorkEventsRequest(page_size=page_size, min_position=self._min_position(min_position), **filters)
        return paginate(lambda r: self.call(self.audit.ListWorkEvents, r), request, "work_events")

    def watch_ledger(self, from_position: int = 0, *, retry: RetryPolicy | None = None) -> LedgerWatch:
        """The ledger's entries after `from_position`, then new ones as they are booked, resumed
        across disconnects (see LedgerWatch). Close it (or use `with`) to stop."""
        return LedgerWatch(self.balances, from_position, retry or self.retry)

    # -- health -----------------------------------------------------------------------------

    def health_check(self, service: str = "") -> str:
        """The server's health ("SERVING", "NOT_SERVING", ...) for `service` ("" is the server; or e.g. "points.v1.BalanceService")."""
        response = self.call(self.health.Check, health_pb2.HealthCheckRequest(service=service))
        return str(health_pb2.HealthCheckResponse.ServingStatus.Name(response.status))


class LedgerWatch(Iterator[balances_pb2.WatchLedgerResponse]):
    """A WatchLedger stream that survives disconnects.

    It remembers the position of the last entry it yielded (`position`). When the stream
    breaks with one of the retry policy's codes (a dropped connection, a restarting server:
    UNAVAILABLE) or ends, it calls WatchLedger again from that position: the server sends
    the entries *after* it, so none is lost and none is repeated. It gives up, raising the
    error, after `max_attempts` reconnections in a row without an entry; an entry resets
    the count. Other errors (PERMISSION_DENIED, ...) are raised at once.
    """

    def __init__(self, stub: balances_pb2_grpc.BalanceServiceStub, from_position: int, retry: RetryPolicy) -> None:
        self._stub = stub
        self._retry = retry
        self.position = from_position
        self.reconnects = 0  # how often the stream was resumed, for logs and tests
        self._call: Any = None
        self._closed = False
        self._lock = threading.Lock()

    def __iter__(self) -> LedgerWatch:
        return self

    def _open(self) -> Any:
        with self._lock:
            if self._closed:
                raise StopIteration
            self._call = self._stub.WatchLedger(balances_pb2.WatchLedgerRequest(from_position=self.position))
            return self._call

    def __next__(self) -> balances_pb2.WatchLedgerResponse:
        failures = 0
        while True:
            call = self._call or self._open()
            try:
                entry = next(call)
            except StopIteration:
                error: grpc.RpcError | None = None  # the server ended the stream (shutting down): resume too
            except grpc.RpcError as e:
                error = e
            else:
                self.position = entry.position
                return entry  # type: ignore[no-any-return]
            self._call = None
            if self._closed:
                raise StopIteration
            code = error.code() if error is not None else grpc.StatusCode.OK
            if error is not None and code not in self._retry.codes:
                raise error_from_rpc_error(error) from error
            failures += 1
            if failures >= self._retry.max_attempts:
                if error is not None:
                    raise error_from_rpc_error(error) from error
                raise PointsError("WatchLedger kept ending without an entry", code=grpc.StatusCode.UNAVAILABLE)
            delay = self._retry.backoff(failures)
            log.info("points_client: WatchLedger broke (%s) after position %d; resuming in %.2f s", code.name, self.position, delay)
            time.sleep(delay)
            self.reconnects += 1

    def close(self) -> None:
        """Ends the watch: a `next` waiting in another thread ends the iteration."""
        with self._lock:
            self._closed = True
            if self._call is not None:
                self._call.cancel()

    def __enter__(self) -> LedgerWatch:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
