"""What operators see: Prometheus metrics, a request id on every call, and a health-only port for probes.

Metrics live in one registry per process, made by the wiring point (nothing is registered at
import time); the gRPC interceptor is the outermost one, so it counts every call with its
final status code, after the error mapping and the access checks.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterator, Mapping
from concurrent import futures
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import grpc
from eventsourcing.persistence import ApplicationRecorder, Mapper
from grpc_health.v1 import health_pb2, health_pb2_grpc
from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, start_http_server
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector

from points.api.health import HealthServicer
from points.application.points import PointsApplication
from points.logs import REQUEST_ID, request_id_from

log = logging.getLogger(__name__)

LATENCY_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0)


# -- metrics ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class ProjectionLag:
    log_position: int  # the highest position in the event log
    view_position: int  # the position the view reflects
    seconds: float  # age of the oldest event not yet in the view (0 when caught up)

    @property
    def events(self) -> int:
        return max(0, self.log_position - self.view_position)


def projection_lag(
    recorder: ApplicationRecorder, mapper: Mapper, view_position: Callable[[], int], *, now: Callable[[], datetime]
) -> ProjectionLag:
    """Reads the log's end, the view's position and, when behind, the timestamp of the first event not projected."""
    projected = view_position()
    newest = recorder.max_notification_id() or 0
    seconds = 0.0
    if newest > projected:
        pending = recorder.select_notifications(start=projected or None, limit=1, inclusive_of_start=False)
        if pending:
            recorded_at = getattr(mapper.to_domain_event(pending[0]), "timestamp", None)
            if isinstance(recorded_at, datetime):
                seconds = max(0.0, (now() - recorded_at).total_seconds())
    return ProjectionLag(log_position=newest, view_position=projected, seconds=seconds)


class _ProjectionLagCollector(Collector):
    """Computes the lag when scraped, from the database, so every process (leader or not) reports the same."""

    def __init__(self, projection: str, read: Callable[[], ProjectionLag]) -> None:
        self.projection = projection
        self.read = read

    def collect(self) -> Iterator[GaugeMetricFamily]:
        try:
            lag = self.read()
        except Exception as e:  # a scrape must still answer (with the other metrics) while the database is away
            log.warning("cannot read the lag of projection %s: %s", self.projection, e)
            return
        families = (
            ("points_projection_lag_events", "events in the log not yet in the view (log position - tracked position)", lag.events),
            ("points_projection_lag_seconds", "age of the oldest event not yet in the view; 0 when caught up", lag.seconds),
            ("points_projection_position", "the log position the view reflects", lag.view_position),
            ("points_log_position", "the highest position in the event log", lag.log_position),
        )
        for name, documentation, value in families:
            family = GaugeMetricFamily(name, documentation, labels=["projection"])
            family.add_metric([self.projection], float(value))
            yield family


class Metrics:
    """This process's metrics, in a registry of its own."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        self.requests = Counter(
            "points_grpc_requests", "gRPC calls finished, by method and status code", ["method", "code"], registry=self.registry
        )
        self.latency = Histogram(
            "points_grpc_request_duration_seconds", "gRPC call latency, by method", ["method"], buckets=LATENCY_BUCKETS, registry=self.registry
        )
        self.events_appended = Counter(
            "points_events_appended", "events this process appended to the event log, by event type", ["event"], registry=self.registry
        )
        self.leader = Gauge(
            "points_projection_leader", "1 while this process holds a projection's lease and runs it", ["projection"], registry=self.registry
        )

    def watch_projection(self, projection: str, read: Callable[[], ProjectionLag]) -> None:
        self.registry.register(_ProjectionLagCollector(projection, read))

    def count_appended(self, counts: Mapping[str, int]) -> None:
        for event_type, n in counts.items():
            self.events_appended.labels(event_type).inc(n)

    def serve(self, host: str, port: int) -> Callable[[], None]:
        """Serves /metrics over HTTP on a thread; returns the function that stops it."""
        server, thread = start_http_server(port, addr=host, registry=self.registry)

        def stop() -> None:
            server.shutdown()
            server.server_close()
            thread.join(5)

        return stop


class MeteredPointsApplication(PointsApplication):
    """The application, counting what it appends through the library's post-save hook."""

    name = PointsApplication.name  # the library derives table and environment names from it

    def __init__(self, *args: Any, on_appended: Callable[[Mapping[str, int]], None], **kwargs: Any) -> None:
        self.on_appended = on_appended
        super().__init__(*args, **kwargs)

    def _appended(self, counts: Mapping[str, int]) -> None:
        self.on_appended(counts)


# -- the gRPC interceptor --------------------------------------------------------------------


class RequestMetricsInterceptor(grpc.ServerInterceptor):
    """Outermost: sets the call's request id for its log lines, then counts and times the call by its final code."""

    def __init__(self, metrics: Metrics) -> None:
        self.metrics = metrics

    def intercept_service(self, continuation: Any, handler_call_details: grpc.HandlerCallDetails) -> Any:
        handler = continuation(handler_call_details)
        if handler is None:
            return None
        method: str = handler_call_details.method  # type: ignore[attr-defined]
        request_id = request_id_from(handler_call_details.invocation_metadata)  # type: ignore[attr-defined]
        kinds = (
            ("unary_unary", grpc.unary_unary_rpc_method_handler, False),
            ("unary_stream", grpc.unary_stream_rpc_method_handler, True),
            ("stream_unary", grpc.stream_unary_rpc_method_handler, False),
            ("stream_stream", grpc.stream_stream_rpc_method_handler, True),
        )
        for kind, make, streams in kinds:
            behaviour = getattr(handler, kind)
            if behaviour is not None:
                wrap = self._streaming if streams else self._unary
                return make(
                    wrap(behaviour, method, request_id),
                    request_deserializer=handler.request_deserializer,
                    response_serializer=handler.response_serializer,
                )
        return handler

    def _finish(self, method: str, context: grpc.ServicerContext, started: float, failed: bool) -> None:
        code = context.code()  # type: ignore[attr-defined]
        if code is None:
            code = grpc.StatusCode.UNKNOWN if failed else grpc.StatusCode.OK
        self.metrics.requests.labels(method, code.name).inc()
        self.metrics.latency.labels(method).observe(time.perf_counter() - started)

    def _unary(self, behaviour: Callable[..., Any], method: str, request_id: str) -> Callable[..., Any]:
        def handler(request: Any, context: grpc.ServicerContext) -> Any:
            token = REQUEST_ID.set(request_id)
            started, failed = time.perf_counter(), True
            try:
                response = behaviour(request, context)
                failed = False
                return response
            finally:
                self._finish(method, context, started, failed)
                REQUEST_ID.reset(token)

        return handler

    def _streaming(self, behaviour: Callable[..., Iterator[Any]], method: str, request_id: str) -> Callable[..., Iterator[Any]]:
        def handler(request: Any, context: grpc.ServicerContext) -> Iterator[Any]:
            token = REQUEST_ID.set(request_id)
            started, failed = time.perf_counter(), True
            try:
                yield from behaviour(request, context)
                failed = False
            finally:
                self._finish(method, context, started, failed)
                REQUEST_ID.reset(token)

        return handler


# -- a health-only port for probes -----------------------------------------------------------


class HealthPort:
    """A plaintext gRPC server with only grpc.health.v1, for probes that cannot speak TLS (Kubernetes' gRPC probes)."""

    def __init__(self, host: str, port: int) -> None:
        self.servicer = HealthServicer()  # List answered too (api/health.py)
        self.server = grpc.server(futures.ThreadPoolExecutor(max_workers=2, thread_name_prefix="health"), maximum_concurrent_rpcs=8)
        health_pb2_grpc.add_HealthServicer_to_server(self.servicer, self.server)
        self.port = self.server.add_insecure_port(f"{host}:{port}")
        if self.port == 0:
            raise OSError(f"cannot listen on {host}:{port} for health checks")

    def start(self) -> None:
        """Listens, saying NOT_SERVING until set_serving(True)."""
        self.set_serving(False)
        self.server.start()

    def set_serving(self, serving: bool) -> None:
        status = health_pb2.HealthCheckResponse.SERVING if serving else health_pb2.HealthCheckResponse.NOT_SERVING
        self.servicer.set("", status)

    def stop(self) -> None:
        self.set_serving(False)
        self.server.stop(grace=1).wait()


class OperationsPorts:
    """One process's metrics and health ports (each off when its port is 0)."""

    def __init__(self, metrics: Metrics | None, host: str, *, metrics_port: int, health_port: int) -> None:
        self.metrics = metrics if metrics_port else None
        self.host = host
        self.metrics_port = metrics_port
        self.health = HealthPort(host, health_port) if health_port else None
        self._stop_metrics: Callable[[], None] | None = None

    def start(self) -> None:
        if self.metrics is not None:
            self._stop_metrics = self.metrics.serve(self.host, self.metrics_port)
        if self.health is not None:
            self.health.start()

    def ready(self) -> None:
        """Probes see SERVING from now on."""
        if self.health is not None:
            self.health.set_serving(True)

    def draining(self) -> None:
        """Probes see NOT_SERVING from now on: the process is shutting down."""
        if self.health is not None:
            self.health.set_serving(False)

    def stop(self) -> None:
        if self.health is not None:
            self.health.stop()
        if self._stop_metrics is not None:
            self._stop_metrics()
