"""gRPC health with `List` answered: grpcio-health-checking's servicer leaves it unimplemented (it raised, so INTERNAL)."""

from __future__ import annotations

import grpc
from grpc_health.v1 import health, health_pb2


class HealthServicer(health.HealthServicer):
    """The library's Check and Watch, and List: every service's status, as Check would answer it."""

    def List(self, request: health_pb2.HealthListRequest, context: grpc.ServicerContext) -> health_pb2.HealthListResponse:
        """Every service's status (a snapshot)."""
        with self._lock:  # the library's own table and lock: List agrees with Check, graceful shutdown included
            listed = dict(self._server_status)
        return health_pb2.HealthListResponse(statuses={name: health_pb2.HealthCheckResponse(status=s) for name, s in listed.items()})
