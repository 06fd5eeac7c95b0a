"""A Python client for the points service.

    from points_client import PointsClient, connect

    client = PointsClient(connect("127.0.0.1:50051", plaintext=True))
    recorded = client.record_work_event("E1001", "counter_transaction", "12", "2026-11-02")
    print(client.get_balance("E1001", "2026-11").balance.total)  # reflects the write

The generated messages and stubs are in `points_client.v1` (the proto package `points.v1`).
"""

from points_client.channel import DEFAULT_OPTIONS, TokenSource, connect
from points_client.client import LedgerWatch, PointsClient, paginate
from points_client.errors import (
    AlreadyExists,
    Cancelled,
    DeadlineExceeded,
    FailedPrecondition,
    FieldViolation,
    Internal,
    InvalidArgument,
    NotFound,
    PermissionDenied,
    PointsError,
    ResourceExhausted,
    Unauthenticated,
    Unavailable,
    error_from_rpc_error,
    error_from_status,
)
from points_client.retry import RetryPolicy

__version__ = "0.1.0"

__all__ = [
    "DEFAULT_OPTIONS",
    "AlreadyExists",
    "Cancelled",
    "DeadlineExceeded",
    "FailedPrecondition",
    "FieldViolation",
    "Internal",
    "InvalidArgument",
    "LedgerWatch",
    "NotFound",
    "PermissionDenied",
    "PointsClient",
    "PointsError",
    "ResourceExhausted",
    "RetryPolicy",
    "TokenSource",
    "Unauthenticated",
    "Unavailable",
    "connect",
    "error_from_rpc_error",
    "error_from_status",
    "paginate",
]
