"""The read audit's interceptor: every call, allowed or denied, leaves one access record."""

from __future__ import annotations

import contextvars
from collections.abc import Callable, Iterator
from datetime import datetime, timezone
from typing import Any

import grpc

from points.storage.access_records import AccessLog, AccessRecord

# The access check notes who the caller is here, once authenticated, so that a denied call
# is recorded with its caller too (the check itself runs deeper in the interceptor chain).
ADMITTED: contextvars.ContextVar[list[str] | None] = contextvars.ContextVar("admitted", default=None)
DENIED_CODES = {grpc.StatusCode.UNAUTHENTICATED, grpc.StatusCode.PERMISSION_DENIED, grpc.StatusCode.RESOURCE_EXHAUSTED}
UNAUDITED = ("/grpc.health.v1.Health/", "/grpc.reflection.")  # probes and tooling: no business data


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
            note: list[str] = []
            token = ADMITTED.set(note)
            failed = True
            try:
                response = behaviour(request, context)
                failed = False
                return response
            finally:
                ADMITTED.reset(token)
                self._record(method, request, context, note, failed)

        return handler

    def _stream(self, method: str, behaviour: Callable[[Any, grpc.ServicerContext], Iterator[Any]]) -> Callable[[Any, grpc.ServicerContext], Iterator[Any]]:
        def handler(request: Any, context: grpc.ServicerContext) -> Iterator[Any]:
            note: list[str] = []
            token = ADMITTED.set(note)  # kept while the stream runs: its access check runs on the first item
            failed = True
            try:
                yield from behaviour(request, context)
                failed = False
            finally:
                ADMITTED.reset(token)
                self._record(method, request, context, note, failed)

        return handler

    def _record(self, method: str, request: Any, context: grpc.ServicerContext, note: list[str], failed: bool) -> None:
        code = context.code() if hasattr(context, "code") else None  # type: ignore[attr-defined]
        if code is None:
            code = grpc.StatusCode.UNKNOWN if failed else grpc.StatusCode.OK
        caller = note[0] if note else ("unauthenticated" if self.authenticated else "development (no authentication)")
        self.log.record(
            AccessRecord(
                at=self.clock().astimezone(timezone.utc).isoformat(timespec="microseconds"),
                caller=caller,
                method=method,
                employee_id=str(getattr(request, "employee_id", "") or ""),
                outlet_id=str(getattr(request, "outlet_id", "") or ""),
                period=str(getattr(request, "period", "") or ""),
                decision="denied" if code in DENIED_CODES else "allowed",
                code=code.name,
            )
        )
