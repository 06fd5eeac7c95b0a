"""The one wiring point: settings -> store, application, projection, servicers, gRPC server."""

from __future__ import annotations

import logging
import signal
import sys
import threading
from collections.abc import Callable
from concurrent import futures
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from zoneinfo import ZoneInfo

import grpc
from grpc_health.v1 import health, health_pb2, health_pb2_grpc

from points.api.access import AccessInterceptor
from points.api.errors import ErrorInterceptor
from points.api.limits import ConcurrencyInterceptor, ConcurrencyLimiter, DefaultDeadlineInterceptor, WriteRateLimiter
from points.api.security import SecuritySettings, check_ops_host
from points.api.health import HealthServicer
from points.api.reflection import add_reflection
from points.api.servicers import BalanceServicer, DirectoryServicer, WorkEventServicer
from points.api.access_log import AccessAuditInterceptor
from points.api.bounds import RequestBoundsInterceptor
from points.api.audit import AuditServicer
from points.api.periods import PeriodServicer
from points.api.servicers import remaining_time
from points.application.audit import AuditQueries
from points.application.group_commit import GroupCommitter
from points.storage.access_records import AccessLog, AccessRecordStore
from points.storage.chain import ChainReader
from points.api.policies import PolicyServicer
from points.api.rankings import RankingServicer
from points.application.balances import BalanceQueries
from points.application.periods import PayPeriods
from points.application.policies import PolicyAdministration
from points.application.statements import Statements
from points.application.points import PointsApplication
from points.application.pages import PageTokens
from points.application.policy_file import parse_policy, read_policy_file
from points.application.rankings import Rankings
from points.projections.rankings import RankingReads
from points.observability import MeteredPointsApplication, Metrics, OperationsPorts, RequestMetricsInterceptor, projection_lag
from points.projections.leader import ProjectorElection, projection_lock_key
from points.projections.projector import BalanceProjector
from points.storage.page_keys import load_page_key
from points.storage.migrate import APPLICATION_NAME, VIEW_NAME, construct_view, is_migrated, migrate, postgres_conninfo
from points.storage.settings import DEFAULT_DATABASE_URL, SettingsError, StoreSettings, parse_database_url
from points.v1 import (
    audit_pb2,
    audit_pb2_grpc,
    balances_pb2,
    balances_pb2_grpc,
    directory_pb2,
    directory_pb2_grpc,
    periods_pb2,
    periods_pb2_grpc,
    policies_pb2,
    policies_pb2_grpc,
    rankings_pb2,
    rankings_pb2_grpc,
    work_events_pb2,
    work_events_pb2_grpc,
)

log = logging.getLogger(__name__)

RECEIVE_CEILING = 4  # gRPC itself refuses requests over this many times --max-message-bytes (unrecorded: docs/security.md)
GIL_SWITCH_INTERVAL = 0.001  # seconds (Python's default is 0.005); see serve()

SERVICE_NAMES = (
    directory_pb2.DESCRIPTOR.services_by_name["DirectoryService"].full_name,
    work_events_pb2.DESCRIPTOR.services_by_name["WorkEventService"].full_name,
    balances_pb2.DESCRIPTOR.services_by_name["BalanceService"].full_name,
    policies_pb2.DESCRIPTOR.services_by_name["PolicyService"].full_name,
    periods_pb2.DESCRIPTOR.services_by_name["PeriodService"].full_name,
    rankings_pb2.DESCRIPTOR.services_by_name["RankingService"].full_name,
    audit_pb2.DESCRIPTOR.services_by_name["AuditService"].full_name,
)


def system_clock() -> datetime:
    return datetime.now(timezone.utc)


def check_ops(settings: Settings) -> None:
    """The metrics and health ports, when on, listen on loopback unless --ops-public (SettingsError); said on stderr."""
    if settings.metrics_port or settings.health_port:
        for warning in check_ops_host(settings.ops_host, public=settings.ops_public):
            print(f"points: WARNING: {warning}", file=sys.stderr, flush=True)


@dataclass(frozen=True)
class Settings:
    database_url: str = DEFAULT_DATABASE_URL
    host: str = "127.0.0.1"
    port: int = 50051
    policy_path: Path | None = None  # the initial policy of an empty store; None: the shipped example
    business_timezone: str = "UTC"
    max_workers: int = 16  # at least; the server runs a thread per admitted call (security.limits.max_concurrent_rpcs)
    migrate: bool = True  # create tables when the store has none
    run_projector: bool = True  # project in this process (leader-elected on PostgreSQL); False: API only
    metrics_port: int = 0  # Prometheus /metrics over HTTP; 0: off
    health_port: int = 0  # plaintext gRPC health only, for probes that cannot speak TLS; 0: off
    ops_host: str = "127.0.0.1"  # where the metrics and health ports listen
    ops_public: bool = False  # allow the metrics and health ports on a non-loopback ops_host
    clock: Callable[[], datetime] = field(default=system_clock, compare=False)
    security: SecuritySettings = field(default_factory=SecuritySettings)  # TLS, authentication, limits
    four_eyes: bool = True  # closing a month and recalculating take a proposer and a different approver


@dataclass
class PointsService:
    """Everything one process runs; close() releases it in order."""

    store: StoreSettings
    app: PointsApplication
    projector: BalanceProjector
    balances: BalanceQueries
    policies: PolicyAdministration
    periods: PayPeriods
    statements: Statements
    rankings: Rankings | None = None  # peer-group rankings (application/rankings.py)
    metrics: Metrics | None = None
    election: ProjectorElection | None = None  # set by start_projection on PostgreSQL
    audit: AuditQueries | None = None
    access_log: AccessLog | None = None
    committer: GroupCommitter | None = None

    def close(self) -> None:
        self.balances.close()  # ledger streams end before the store they read closes
        if self.committer is not None:
            self.committer.close()
        if self.access_log is not None:
            self.access_log.close()
        if self.election is not None:
            self.election.stop()
        self.projector.stop()
        self.projector.view.datastore.close()  # type: ignore[attr-defined]
        self.app.close()


def build_service(settings: Settings, *, start_projector: bool = True) -> PointsService:
    """Opens the store (creating tables if asked and missing), the application and the projection."""
    store = parse_database_url(settings.database_url)
    initial_policy, policy_source = read_policy_file(settings.policy_path)
    parse_policy(initial_policy, policy_source)  # refuse to start on an invalid policy file
    if not is_migrated(store):
        if not settings.migrate:
            raise SettingsError(
                f"the store {store.redacted_url} has no tables: run `points migrate --database ...` once "
                "(or start without --no-migrate)"
            )
        migrate(store)
    projector_ref: list[BalanceProjector] = []
    metrics = Metrics()
    app = MeteredPointsApplication(
        store.env(create_table=False),
        on_appended=metrics.count_appended,
        clock=settings.clock,
        business_timezone=ZoneInfo(settings.business_timezone),
        on_saved=lambda position: projector_ref[0].wake() if projector_ref else None,
    )
    app.ensure_initial_policy(initial_policy, policy_source)
    view = construct_view(store, create_table=False)
    projector = BalanceProjector(recorder=app.recorder, mapper=app.mapper, view=view, application_name=APPLICATION_NAME)
    projector_ref.append(projector)
    metrics.watch_projection(
        VIEW_NAME, lambda: projection_lag(app.recorder, app.mapper, lambda: view.position(APPLICATION_NAME), now=system_clock)
    )
    if start_projector:
        projector.start()
    if not settings.four_eyes:
        log.warning("four eyes are OFF: one person may close a pay month or recalculate points alone (--no-four-eyes)")
    tokens = PageTokens(load_page_key(view))  # the store's key: every server of this store resumes the others' page tokens
    balances = BalanceQueries(projector=projector, store=view, employee_exists=app.employee_exists, tokens=tokens)
    policies = PolicyAdministration(app=app, store=view, projector=projector, tokens=tokens, four_eyes=settings.four_eyes)
    periods = PayPeriods(app=app, store=view, projector=projector, tokens=tokens, four_eyes=settings.four_eyes)
    statements = Statements(app=app, store=view, projector=projector, period_of=periods.period, tokens=tokens)
    rankings = Rankings(app=app, reads=RankingReads(view=view, recorder=app.recorder, mapper=app.mapper), projector=projector, tokens=tokens)
    access = AccessRecordStore(view)
    audit = AuditQueries(store=view, projector=projector, chain=ChainReader(app.recorder), access=access, tokens=tokens)
    return PointsService(
        store=store, app=app, projector=projector, balances=balances, policies=policies, periods=periods, statements=statements,
        rankings=rankings, metrics=metrics,
        audit=audit, access_log=AccessLog(access), committer=GroupCommitter(app.record_work_events),
    )  # fmt: skip


def start_projection(service: PointsService) -> None:
    """Runs the projector in this process: on PostgreSQL only while it holds the projection's advisory lock."""
    if service.store.backend != "postgresql":
        service.projector.start()  # embedded: one process owns the file
        return
    metrics = service.metrics or Metrics()
    metrics.leader.labels(VIEW_NAME).set(0)
    service.election = ProjectorElection(
        service.projector,
        conninfo=postgres_conninfo(service.store),
        lock_key=projection_lock_key(service.store.schema, VIEW_NAME),
        projection=VIEW_NAME,
        channel=getattr(service.app.recorder, "channel_name", ""),
        on_change=lambda leading: metrics.leader.labels(VIEW_NAME).set(1 if leading else 0),
    )
    service.election.start()


def _grpc_server(service: PointsService, security: SecuritySettings, max_workers: int) -> grpc.Server:
    """The server with its limits and interceptors: errors outermost, then the default deadline, access, concurrency."""
    limits = security.limits
    interceptors: list[grpc.ServerInterceptor] = [
        ErrorInterceptor(),
        RequestBoundsInterceptor(limits.max_message_bytes),  # before anything reads the request; the audit records the refusal
        DefaultDeadlineInterceptor(limits.default_deadline),
    ]
    authenticator = security.authenticator()
    if service.access_log is not None:  # outside the error mapping: records every call's final code
        interceptors.insert(0, AccessAuditInterceptor(service.access_log, service.app.clock, authenticated=authenticator is not None))
    if service.metrics is not None:
        interceptors.insert(0, RequestMetricsInterceptor(service.metrics))  # outermost: sees every call's final code
    if authenticator is not None:
        limiter = WriteRateLimiter(limits.write_rate, limits.write_burst)
        interceptors.append(AccessInterceptor(authenticator, service.app.employee_outlets, limiter))
    # After the access check, which names the caller; without authentication there is one caller.
    per_caller = limits.per_caller if authenticator is not None else limits.max_concurrent_rpcs
    interceptors.append(ConcurrencyInterceptor(ConcurrencyLimiter(limits.max_concurrent_rpcs, per_caller)))
    service.projector.max_read_wait = limits.max_read_wait
    # A thread for every call gRPC lets in: most calls wait (for the group commit, for
    # min_position) rather than compute, and a waiting call must hold up neither a read nor
    # the group commit's next batch. 16 threads under 64 writes in flight: ~820 writes/s here;
    # a thread per admitted call: ~1,160/s. gRPC's own limit is the admitted calls plus
    # headroom, so a health Check always finds a thread (LimitSettings.grpc_ceiling).
    threads = max(max_workers, limits.grpc_ceiling)
    return grpc.server(
        futures.ThreadPoolExecutor(max_workers=threads),
        interceptors=interceptors,
        maximum_concurrent_rpcs=limits.grpc_ceiling,
        # SO_REUSEPORT (grpcio's default on Linux, said here): `points serve --processes N` binds one port N times
        # gRPC's own limit is a ceiling above the setting: RequestBoundsInterceptor refuses (and the audit records) what is between
        options=[("grpc.max_receive_message_length", RECEIVE_CEILING * limits.max_message_bytes), ("grpc.so_reuseport", 1)],
    )


def create_server(
    service: PointsService, host: str = "127.0.0.1", port: int = 0, *, max_workers: int = 16, security: SecuritySettings | None = None
) -> tuple[grpc.Server, int]:
    """A started-ready (not started) gRPC server with health and reflection; port 0 picks a free one.

    `security` chooses TLS, authentication, reflection and limits; the default is development
    mode (no TLS, no authentication), which listens on loopback only.
    """
    security = security or SecuritySettings()
    for warning in security.check(host):
        log.warning("%s", warning)
    server = _grpc_server(service, security, max_workers)
    directory_pb2_grpc.add_DirectoryServiceServicer_to_server(DirectoryServicer(service.app), server)
    work_events_pb2_grpc.add_WorkEventServiceServicer_to_server(WorkEventServicer(service.app, service.committer), server)
    balances_pb2_grpc.add_BalanceServiceServicer_to_server(BalanceServicer(service.balances, service.statements), server)
    policies_pb2_grpc.add_PolicyServiceServicer_to_server(PolicyServicer(service.policies), server)
    periods_pb2_grpc.add_PeriodServiceServicer_to_server(PeriodServicer(service.periods), server)
    if service.rankings is not None:
        rankings_pb2_grpc.add_RankingServiceServicer_to_server(RankingServicer(service.rankings), server)
    if service.audit is not None:
        audit_pb2_grpc.add_AuditServiceServicer_to_server(AuditServicer(service.audit, remaining_time), server)

    health_servicer = HealthServicer()  # List answered too (api/health.py)
    health_pb2_grpc.add_HealthServicer_to_server(health_servicer, server)
    for name in ("", *SERVICE_NAMES):
        health_servicer.set(name, health_pb2.HealthCheckResponse.SERVING)
    if security.reflection_enabled:
        add_reflection(server, (*SERVICE_NAMES, health.SERVICE_NAME))  # v1 and v1alpha, with the protos' comments

    credentials = security.server_credentials()
    address = f"{host}:{port}"
    bound = server.add_secure_port(address, credentials) if credentials else server.add_insecure_port(address)
    if bound == 0:
        raise OSError(f"cannot listen on {host}:{port}")
    return server, bound


def serve(settings: Settings, *, on_serving: Callable[[str], None] | None = None) -> None:
    """Runs until SIGINT or SIGTERM, then finishes in-flight calls and closes the store.

    `on_serving` is told "host:port (transport, store ...)" once the server answers, instead of
    the "serving" line on stdout (a worker of `--processes N` tells its parent: points/workers.py).
    """
    # Hand the GIL over every 1 ms, not 5: a short call (GetBalance) waits for the GIL at each
    # step while a big batch computes, and this cut its p99 under batch writes by half here
    # (26-33 ms against 56-68 ms), with no loss of write throughput measured.
    sys.setswitchinterval(GIL_SWITCH_INTERVAL)
    security = settings.security
    for warning in security.check(settings.host):  # refuse before opening the store; say it where it is seen
        print(f"points: WARNING: {warning}", file=sys.stderr, flush=True)
    check_ops(settings)
    service = build_service(settings, start_projector=False)
    ports = OperationsPorts(service.metrics, settings.ops_host, metrics_port=settings.metrics_port, health_port=settings.health_port)
    try:
        server, port = create_server(service, settings.host, settings.port, max_workers=settings.max_workers, security=security)
        ports.start()
    except BaseException:
        service.close()
        raise
    if settings.run_projector:
        start_projection(service)
    server.start()
    transport = ("mutual TLS" if security.client_ca else "TLS") if security.tls else "plaintext"
    log.info("points serving on %s:%d (%s), store %s", settings.host, port, transport, service.store.redacted_url)
    ports.ready()
    serving = f"{settings.host}:{port} ({transport}, store {service.store.redacted_url})"
    if on_serving is None:
        print(f"points: serving gRPC on {serving}", flush=True)
    else:
        on_serving(serving)
    _wait_for_signal()
    ports.draining()
    server.stop(grace=10).wait()
    service.close()
    ports.stop()


def project(settings: Settings) -> None:
    """`points project`: the projector alone, leader-elected on PostgreSQL; until SIGINT or SIGTERM, then hands over."""
    check_ops(settings)
    service = build_service(settings, start_projector=False)
    ports = OperationsPorts(service.metrics, settings.ops_host, metrics_port=settings.metrics_port, health_port=settings.health_port)
    try:
        ports.start()
    except BaseException:
        service.close()
        raise
    start_projection(service)
    elected = "leader-elected" if service.election is not None else "embedded, no election"
    log.info("points projecting %s (%s), store %s", VIEW_NAME, elected, service.store.redacted_url)
    print(f"points: projecting {VIEW_NAME} ({elected}, store {service.store.redacted_url})", flush=True)
    ports.ready()
    _wait_for_signal()
    ports.draining()
    service.close()  # finishes the page in hand and gives up the lock: a follower takes over at once
    ports.stop()


def _wait_for_signal() -> None:
    stopped = threading.Event()

    def on_signal(signum: int, frame: object) -> None:
        stopped.set()

    signal.signal(signal.SIGINT, on_signal)
    signal.signal(signal.SIGTERM, on_signal)
    stopped.wait()
