"""Reads the rich error model of a failed call: code, message, ErrorInfo and BadRequest violations."""

from __future__ import annotations

import re
from dataclasses import dataclass

import grpc
from google.protobuf import any_pb2
from google.rpc import error_details_pb2, status_pb2
from grpc_status import rpc_status

ERROR_DOMAIN = "points.v1"
LEAKS = re.compile(r"\b(SELECT|INSERT|UPDATE|DELETE|WHERE|JOIN)\b|Traceback|psycopg|sqlite3|File \"")


@dataclass(frozen=True)
class RichError:
    code: grpc.StatusCode
    message: str
    reason: str
    domain: str
    violations: tuple[tuple[str, str], ...]  # (field, reason)


def _unpacked(details: list[any_pb2.Any], message_type: type) -> list:
    found = []
    for packed in details:
        if packed.Is(message_type.DESCRIPTOR):
            message = message_type()
            packed.Unpack(message)
            found.append(message)
    return found


def rich_error_of_status(status: status_pb2.Status) -> RichError:
    """The parts of a google.rpc.Status; exactly one ErrorInfo is required."""
    infos = _unpacked(list(status.details), error_details_pb2.ErrorInfo)
    assert len(infos) == 1, f"expected one ErrorInfo, got {infos!r}"
    bad_requests = _unpacked(list(status.details), error_details_pb2.BadRequest)
    violations = tuple((v.field, v.reason) for b in bad_requests for v in b.field_violations)
    assert not LEAKS.search(status.message), f"error message leaks internals: {status.message!r}"
    code = next(c for c in grpc.StatusCode if c.value[0] == status.code)
    return RichError(code, status.message, infos[0].reason, infos[0].domain, violations)


def rich_error(error: grpc.RpcError) -> RichError:
    """The rich error of a failed call (its grpc-status-details-bin trailer)."""
    status = rpc_status.from_call(error)  # type: ignore[arg-type]
    assert status is not None, f"no rich status on {error.code()}: {error.details()!r}"
    assert status.code == error.code().value[0] and status.message == error.details()
    return rich_error_of_status(status)


def assert_rejected(error: grpc.RpcError, code: grpc.StatusCode, reason: str, field: str | None = None) -> RichError:
    """Checks code, ErrorInfo (reason, domain) and, for bad input, the field violation."""
    rich = rich_error(error)
    assert (rich.code, rich.reason, rich.domain) == (code, reason, ERROR_DOMAIN), rich
    if field is not None:
        assert (field, reason) in rich.violations, rich
    return rich
