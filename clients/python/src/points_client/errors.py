"""Typed exceptions for failed calls, read from the server's rich status (google.rpc.Status).

Every error the points server sends carries a `google.rpc.ErrorInfo` (domain `points.v1`,
an UPPER_SNAKE `reason`), and bad input a `google.rpc.BadRequest` listing every field
violation at once. gRPC itself only gives a code and a message; the rest is in the
`grpc-status-details-bin` trailer, which `grpc_status.rpc_status.from_call` decodes.
Errors made by gRPC (a dropped connection, a deadline) have no trailer: they become the
same exception classes with an empty `reason`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import grpc
from google.protobuf import any_pb2
from google.rpc import error_details_pb2, status_pb2
from grpc_status import rpc_status

__all__ = [
    "AlreadyExists",
    "Cancelled",
    "DeadlineExceeded",
    "FailedPrecondition",
    "FieldViolation",
    "Internal",
    "InvalidArgument",
    "NotFound",
    "PermissionDenied",
    "PointsError",
    "ResourceExhausted",
    "Unauthenticated",
    "Unavailable",
    "error_from_rpc_error",
    "error_from_status",
]


@dataclass(frozen=True)
class FieldViolation:
    """One bad field of a request: its path (`requests[3].quantity`) and the server's reason for it."""

    field: str
    reason: str
    description: str


class PointsError(Exception):
    """A call the server (or gRPC) refused. Subclasses name the gRPC code; `reason` is the server's.

    Attributes: `code` (grpc.StatusCode), `message`, `reason` and `domain` (from ErrorInfo,
    empty when the error has none), `metadata` (ErrorInfo's map), `field_violations`
    (from BadRequest) and `retry_delay` (seconds, from RetryInfo, or None).
    """

    code: grpc.StatusCode = grpc.StatusCode.UNKNOWN

    def __init__(
        self,
        message: str,
        *,
        code: grpc.StatusCode | None = None,
        reason: str = "",
        domain: str = "",
        metadata: dict[str, str] | None = None,
        field_violations: tuple[FieldViolation, ...] = (),
        retry_delay: float | None = None,
    ) -> None:
        super().__init__(message)
        if code is not None:
            self.code = code
        self.message = message
        self.reason = reason
        self.domain = domain
        self.metadata = dict(metadata or {})
        self.field_violations = field_violations
        self.retry_delay = retry_delay

    def __str__(self) -> str:
        said = f"{self.code.name}: {self.message}"
        if self.reason:
            said += f" [{self.reason}]"
        if self.field_violations:
            said += " (" + ", ".join(f"{v.field}: {v.reason or v.description}" for v in self.field_violations) + ")"
        return said

    def __repr__(self) -> str:
        return f"{type(self).__name__}({str(self)!r})"


class Cancelled(PointsError):
    code = grpc.StatusCode.CANCELLED


class InvalidArgument(PointsError):
    code = grpc.StatusCode.INVALID_ARGUMENT


class DeadlineExceeded(PointsError):
    code = grpc.StatusCode.DEADLINE_EXCEEDED


class NotFound(PointsError):
    code = grpc.StatusCode.NOT_FOUND


class AlreadyExists(PointsError):
    code = grpc.StatusCode.ALREADY_EXISTS


class PermissionDenied(PointsError):
    code = grpc.StatusCode.PERMISSION_DENIED


class ResourceExhausted(PointsError):
    code = grpc.StatusCode.RESOURCE_EXHAUSTED


class FailedPrecondition(PointsError):
    code = grpc.StatusCode.FAILED_PRECONDITION


class Internal(PointsError):
    code = grpc.StatusCode.INTERNAL


class Unavailable(PointsError):
    code = grpc.StatusCode.UNAVAILABLE


class Unauthenticated(PointsError):
    code = grpc.StatusCode.UNAUTHENTICATED


_BY_CODE: dict[grpc.StatusCode, type[PointsError]] = {
    cls.code: cls
    for cls in (
        Cancelled,
        InvalidArgument,
        DeadlineExceeded,
        NotFound,
        AlreadyExists,
        PermissionDenied,
        ResourceExhausted,
        FailedPrecondition,
        Internal,
        Unavailable,
        Unauthenticated,
    )
}
_CODE_BY_NUMBER = {c.value[0]: c for c in grpc.StatusCode}


def _unpacked(details: Any, message_type: Any) -> list[Any]:
    found = []
    for packed in details:
        if isinstance(packed, any_pb2.Any) and packed.Is(message_type.DESCRIPTOR):
            message = message_type()
            packed.Unpack(message)
            found.append(message)
    return found


def _make(code: grpc.StatusCode, message: str, details: Any) -> PointsError:
    infos = _unpacked(details, error_details_pb2.ErrorInfo)
    violations = tuple(
        FieldViolation(v.field, v.reason, v.description)
        for bad in _unpacked(details, error_details_pb2.BadRequest)
        for v in bad.field_violations
    )
    retries = _unpacked(details, error_details_pb2.RetryInfo)
    info = infos[0] if infos else None
    return _BY_CODE.get(code, PointsError)(
        message,
        code=code,
        reason=info.reason if info else "",
        domain=info.domain if info else "",
        metadata=dict(info.metadata) if info else None,
        field_violations=violations,
        retry_delay=retries[0].retry_delay.ToTimedelta().total_seconds() if retries else None,
    )


def error_from_status(status: status_pb2.Status) -> PointsError:
    """The exception for a google.rpc.Status, e.g. one item's `error` in a RecordWorkEvents answer."""
    return _make(_CODE_BY_NUMBER.get(status.code, grpc.StatusCode.UNKNOWN), status.message, status.details)


def error_from_rpc_error(error: grpc.RpcError) -> PointsError:
    """The exception for a failed call: its rich status when it has one, else its code and details."""
    code = error.code() if hasattr(error, "code") else grpc.StatusCode.UNKNOWN
    message = (error.details() if hasattr(error, "details") else None) or ""
    try:
        status = rpc_status.from_call(error) if hasattr(error, "trailing_metadata") else None  # type: ignore[arg-type]
    except ValueError:  # a trailer that disagrees with the call's code: trust the code gRPC gave
        status = None
    if status is not None:
        return _make(code, status.message, status.details)
    return _make(code, message, ())
