"""The one place where errors become gRPC statuses, each with an ErrorInfo and, for bad input, a BadRequest."""

from __future__ import annotations

import logging
import sqlite3
import uuid
from collections.abc import Callable, Iterator
from typing import Any, NoReturn

import grpc
import psycopg
from google.protobuf import any_pb2, duration_pb2
from google.rpc import code_pb2, error_details_pb2, status_pb2
from grpc_status import rpc_status
from psycopg_pool import PoolTimeout

from points.domain.errors import (
    AlreadyExists,
    FailedPrecondition,
    FieldViolation,
    Forbidden,
    InvalidRequest,
    NotFound,
    NotYetVisible,
    PointsError,
)
from points.application.group_commit import WriteQueueTimeout
from points.domain.policy import PolicyError

log = logging.getLogger(__name__)

ERROR_DOMAIN = "points.v1"


class Unauthenticated(PointsError):
    """No credentials, or credentials this server does not accept (reasons MISSING_TOKEN, INVALID_TOKEN, TOKEN_EXPIRED)."""

    reason = "INVALID_TOKEN"


class PermissionDenied(PointsError):
    """A known caller asked for something their roles or outlets do not allow (ROLE_NOT_ALLOWED, OUTLET_NOT_IN_SCOPE, ...)."""

    reason = "ROLE_NOT_ALLOWED"


class ResourceExhausted(PointsError):
    """A limit refused the call (RATE_LIMITED); `retry_after` seconds, when known, becomes a google.rpc.RetryInfo."""

    reason = "RATE_LIMITED"

    def __init__(self, message: str, *, reason: str | None = None, retry_after: float | None = None) -> None:
        super().__init__(message, reason=reason)
        self.retry_after = retry_after


CODES: dict[type[PointsError], int] = {
    InvalidRequest: code_pb2.INVALID_ARGUMENT,
    PolicyError: code_pb2.INVALID_ARGUMENT,
    NotFound: code_pb2.NOT_FOUND,
    AlreadyExists: code_pb2.ALREADY_EXISTS,
    FailedPrecondition: code_pb2.FAILED_PRECONDITION,
    NotYetVisible: code_pb2.UNAVAILABLE,
    WriteQueueTimeout: code_pb2.UNAVAILABLE,
    Unauthenticated: code_pb2.UNAUTHENTICATED,
    PermissionDenied: code_pb2.PERMISSION_DENIED,
    Forbidden: code_pb2.PERMISSION_DENIED,
    ResourceExhausted: code_pb2.RESOURCE_EXHAUSTED,
}


def _packed(message: Any) -> any_pb2.Any:
    packed = any_pb2.Any()
    packed.Pack(message)
    return packed


def status_of(error: PointsError) -> status_pb2.Status:
    """The google.rpc.Status for a business error; also used per item in batch responses."""
    code = next((c for cls, c in CODES.items() if isinstance(error, cls)), code_pb2.FAILED_PRECONDITION)
    details = [_packed(error_details_pb2.ErrorInfo(reason=error.reason, domain=ERROR_DOMAIN))]
    if isinstance(error, InvalidRequest):
        details.append(
            _packed(
                error_details_pb2.BadRequest(
                    field_violations=[
                        error_details_pb2.BadRequest.FieldViolation(field=v.field, description=v.description, reason=v.reason)
                        for v in error.violations
                    ]
                )
            )
        )
    elif isinstance(error, PolicyError):
        details.append(
            _packed(
                error_details_pb2.BadRequest(
                    field_violations=[
                        error_details_pb2.BadRequest.FieldViolation(field=where, description=what, reason="INVALID_POLICY")
                        for where, what in error.problems
                    ]
                )
            )
        )
    elif isinstance(error, ResourceExhausted) and error.retry_after is not None:
        delay = duration_pb2.Duration()
        delay.FromNanoseconds(max(1, int(error.retry_after * 1e9)))
        details.append(_packed(error_details_pb2.RetryInfo(retry_delay=delay)))
    return status_pb2.Status(code=code, message=error.message, details=details)


def abort_with(context: grpc.ServicerContext, error: PointsError) -> NoReturn:
    """Ends a call with the status of a business error (for handlers this module does not wrap, e.g. streams)."""
    context.abort_with_status(rpc_status.to_status(status_of(error)))
    raise AssertionError("abort_with_status returned")  # pragma: no cover


def internal_status(incident: str) -> status_pb2.Status:
    info = error_details_pb2.ErrorInfo(reason="INTERNAL", domain=ERROR_DOMAIN, metadata={"incident": incident})
    return status_pb2.Status(
        code=code_pb2.INTERNAL,
        message=f"internal error; quote incident {incident} to the operators",
        details=[_packed(info)],
    )


def translating_errors(behaviour: Callable[[Any, grpc.ServicerContext], Any]) -> Callable[[Any, grpc.ServicerContext], Any]:
    """Wraps a unary handler: business errors become their status, anything else INTERNAL (logged, never shown)."""

    def handler(request: Any, context: grpc.ServicerContext) -> Any:
        try:
            refuse_undecodable(request)
            return behaviour(request, context)
        except PointsError as error:
            status = status_of(error)
        except Exception as error:
            status = unexpected_status(error)
        context.abort_with_status(rpc_status.to_status(status))
        raise AssertionError("abort_with_status returned")  # pragma: no cover

    return handler


class Undecodable:
    """Stands for a request gRPC could not parse (not this method's message, or a string that is not UTF-8)."""


UNDECODABLE = Undecodable()


def tolerant(deserializer: Callable[[bytes], Any] | None) -> Callable[[bytes], Any] | None:
    """A deserializer that hands bad bytes on as UNDECODABLE, so they get INVALID_ARGUMENT, not gRPC's INTERNAL."""
    if deserializer is None:
        return None

    def parse(data: bytes) -> Any:
        try:
            return deserializer(data)
        except Exception:
            return UNDECODABLE

    return parse


def refuse_undecodable(request: Any) -> None:
    if request is UNDECODABLE:
        raise InvalidRequest(
            [FieldViolation("", "UNDECODABLE_REQUEST", "the request is not a valid message for this method (strings must be UTF-8)")]
        )


def _retryable(error: BaseException) -> bool:
    """A lost or busy database (the caller may retry), as opposed to a defect."""
    seen: BaseException | None = error
    while seen is not None:
        if isinstance(seen, (psycopg.OperationalError, psycopg.InterfaceError, PoolTimeout)):
            return True
        if isinstance(seen, sqlite3.OperationalError) and "locked" in str(seen):
            return True
        seen = seen.__cause__ or seen.__context__
    return False


def unexpected_status(error: BaseException) -> status_pb2.Status:
    """Anything not a business error: logged with an incident id; the caller sees only the id."""
    incident = uuid.uuid4().hex[:12]
    if _retryable(error):
        log.warning("database unavailable, incident %s: %s", incident, error)
        info = error_details_pb2.ErrorInfo(reason="DATABASE_UNAVAILABLE", domain=ERROR_DOMAIN, metadata={"incident": incident})
        return status_pb2.Status(
            code=code_pb2.UNAVAILABLE,
            message=f"the database is unavailable; retry (with the same request_id for writes); incident {incident}",
            details=[_packed(info)],
        )
    log.exception("unexpected error, incident %s", incident)
    return internal_status(incident)


def translating_stream_errors(behaviour: Callable[[Any, grpc.ServicerContext], Iterator[Any]]) -> Callable[[Any, grpc.ServicerContext], Iterator[Any]]:
    """The same for a server-streaming handler, including errors raised while streaming."""

    def handler(request: Any, context: grpc.ServicerContext) -> Iterator[Any]:
        try:
            refuse_undecodable(request)
            yield from behaviour(request, context)
            return
        except PointsError as error:
            status = status_of(error)
        except Exception as error:
            if context.code() not in (None, grpc.StatusCode.OK):  # type: ignore[attr-defined]
                raise  # the call was already ended with its status (an abort below us)
            status = unexpected_status(error)
        context.abort_with_status(rpc_status.to_status(status))

    return handler


class ErrorInterceptor(grpc.ServerInterceptor):
    """Applies translating_errors to every unary-unary method, translating_stream_errors to server streams."""

    def intercept_service(self, continuation: Any, handler_call_details: grpc.HandlerCallDetails) -> Any:
        handler = continuation(handler_call_details)
        if handler is not None and handler.unary_stream is not None:
            return grpc.unary_stream_rpc_method_handler(
                translating_stream_errors(handler.unary_stream),
                request_deserializer=tolerant(handler.request_deserializer),
                response_serializer=handler.response_serializer,
            )
        if handler is None or handler.unary_unary is None:
            return handler
        return grpc.unary_unary_rpc_method_handler(
            translating_errors(handler.unary_unary),
            request_deserializer=tolerant(handler.request_deserializer),
            response_serializer=handler.response_serializer,
        )
