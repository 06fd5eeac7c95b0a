"""The read audit's interceptor: every call, allowed or denied, leaves one access record.

Exactly one: the record is made when the handler ends or, if gRPC ends the call first (the
client cancelled, the deadline passed), when gRPC says so, whichever comes first. Its
fields are bounded (storage/access_records.py `bounded`); a batch names its employees.
"""

from __future__ import annotations

import contextvars
import threading
from collections.abc import Callable, Iterator
from datetime import datetime, timezone
from typing import Any

import grpc

from points.api.errors import UNDECODABLE
from points.storage.access_records import CALLER_KEEP, FIELD_KEEP, AccessLog, AccessRecord, bounded

# The access check notes who the caller is here, once authenticated, so that a denied call
# is recorded with its caller too (the check itself runs deeper in the interceptor chain).
ADMITTED: contextvars.ContextVar[list[str] | None] = contextvars.ContextVar("admitted", default=None)
DENIED_CODES = {grpc.StatusCode.UNAUTHENTICATED, grpc.StatusCode.PERMISSION_DENIED, grpc.StatusCode.RESOURCE_EXHAUSTED}
UNAUDITED = ("/grpc.health.v1.Health/", "/grpc.reflection.")  # probes and tooling: no business data
UNAUTHENTICATED = "unauthenticated"
BATCH_EMPLOYEES = 10  # employees a batch's record names; then "+N more"


def note_caller(subject: str) -> None:
    """Called by the access check with the authenticated subject."""
    note = ADMITTED.get()
    if note is not None:
        note.append(subject)


class AccessAuditInterceptor(grpc.ServerInterceptor):
    """Wraps every business RPC; after it ends, queues one AccessRecord with the final status."""

    def __init__(self, log: AccessLog, clock: Callable[[], datetime], *, authenticated: bool) -> None:
        self.log = log
        self.clock = clock
        self.authenticated = authenticated

    def intercept_service(self, continuation: Any, details: grpc.HandlerCallDetails) -> Any:
        handler = continuation(details)
        method = details.method
        if handler is None or method.startswith(UNAUDITED):
            return handler
        if handler.unary_unary is not None:
            return grpc.unary_unary_rpc_method_handler(
                self._unary(method, handler.unary_unary),
                request_deserializer=handler.request_deserializer,
                response_serializer=handler.response_serializer,
            )
        if handler.unary_stream is not None:
            return grpc.unary_stream_rpc_method_handler(
                self._stream(method, handler.unary_stream),
                request_deserializer=handler.request_deserializer,
                response_serializer=handler.response_serializer,
            )
        return handler

    def _unary(self, method: str, behaviour: Callable[[Any, grpc.ServicerContext], Any]) -> Callable[[Any, grpc.ServicerContext], Any]:
        def handler(request: Any, context: grpc.ServicerContext) -> Any:
            call = _Call(self, method, request, context)
            token = ADMITTED.set(call.note)
            failed = True
            try:
                response = behaviour(request, context)
                failed = False
                return response
            finally:
                ADMITTED.reset(token)
                call.record(failed)

        return handler

    def _stream(self, method: str, behaviour: Callable[[Any, grpc.ServicerContext], Iterator[Any]]) -> Callable[[Any, grpc.ServicerContext], Iterator[Any]]:
        def handler(request: Any, context: grpc.ServicerContext) -> Iterator[Any]:
            call = _Call(self, method, request, context)
            token = ADMITTED.set(call.note)  # kept while the stream runs: its access check runs on the first item
            failed = True
            try:
                yield from behaviour(request, context)
                failed = False
            finally:
                ADMITTED.reset(token)
                call.record(failed)

        return handler

    def _record(self, method: str, request: Any, context: grpc.ServicerContext, note: list[str], failed: bool) -> None:
        code = _final_code(context, failed)
        admitted = bool(note)
        if note:
            caller = note[0]
        else:  # refused before the access check knew the caller (a bound, an undecodable request), or no authentication
            caller = UNAUTHENTICATED if self.authenticated else "development (no authentication)"
        denied = code in DENIED_CODES or (self.authenticated and not admitted) or request is UNDECODABLE
        self.log.record(
            AccessRecord(
                at=self.clock().astimezone(timezone.utc).isoformat(timespec="microseconds"),
                caller=bounded(caller, CALLER_KEEP),
                method=bounded(method, CALLER_KEEP),
                employee_id=_employees(request),
                outlet_id=_field(request, "outlet_id"),
                period=_field(request, "period"),
                decision="denied" if denied else "allowed",
                code=code.name,
            )
        )


class _Call:
    """One call's record, made once: by the handler as it ends, or by gRPC's callback if the call ends first."""

    def __init__(self, audit: AccessAuditInterceptor, method: str, request: Any, context: grpc.ServicerContext) -> None:
        self.audit = audit
        self.method = method
        self.request = request
        self.context = context
        self.note: list[str] = []
        self._lock = threading.Lock()
        self._recorded = False
        context.add_callback(lambda: self.record(failed=True))  # cancelled or out of time while the handler still runs

    def record(self, failed: bool) -> None:
        with self._lock:
            if self._recorded:
                return
            self._recorded = True
        self.audit._record(self.method, self.request, self.context, self.note, failed)  # noqa: SLF001


def _final_code(context: grpc.ServicerContext, failed: bool) -> grpc.StatusCode:
    """The code the caller sees: the one set on the context, or the end gRPC gave the call (cancelled, deadline)."""
    code = context.code() if hasattr(context, "code") else None  # type: ignore[attr-defined]
    if code is not None:
        return code  # type: ignore[no-any-return]
    if not context.is_active():
        remaining = context.time_remaining()
        return grpc.StatusCode.DEADLINE_EXCEEDED if remaining is not None and remaining <= 0 else grpc.StatusCode.CANCELLED
    return grpc.StatusCode.UNKNOWN if failed else grpc.StatusCode.OK


def _field(request: Any, name: str) -> str:
    return bounded(str(getattr(request, name, "") or ""), FIELD_KEEP)


def _employees(request: Any) -> str:
    """The employee asked about; for a batch, its distinct employees in order, up to BATCH_EMPLOYEES, then "+N more"."""
    items = getattr(request, "requests", None)
    if items is None:
        return _field(request, "employee_id")
    distinct = list(dict.fromkeys(item.employee_id for item in items if item.employee_id))
    named = " ".join(bounded(e, FIELD_KEEP) for e in distinct[:BATCH_EMPLOYEES])
    return f"{named} +{len(distinct) - BATCH_EMPLOYEES} more" if len(distinct) > BATCH_EMPLOYEES else named
