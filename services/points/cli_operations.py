"""The operations side of the `points` command: process roles (`project`), logs, metrics and health ports, `points health`."""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

import grpc
from grpc_health.v1 import health_pb2, health_pb2_grpc

LOG_FORMATS = ("text", "json")


def add_log_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--log-format",
        choices=LOG_FORMATS,
        default=os.environ.get("POINTS_LOG_FORMAT", "text"),
        help="text (development, default) or json (one object a line, with the call's request_id); env POINTS_LOG_FORMAT",
    )


def add_ops_options(parser: argparse.ArgumentParser) -> None:
    """Metrics and health ports of a long-running process; each also reads a POINTS_* variable."""
    ops = parser.add_argument_group("operations", "ports for Prometheus and probes; 0 turns one off")
    ops.add_argument("--metrics-port", type=int, default=int(os.environ.get("POINTS_METRICS_PORT", "0")), help="Prometheus /metrics over HTTP (default 0: off); env POINTS_METRICS_PORT")
    ops.add_argument("--health-port", type=int, default=int(os.environ.get("POINTS_HEALTH_PORT", "0")), help="plaintext gRPC health only, for Kubernetes gRPC probes (default 0: off); env POINTS_HEALTH_PORT")
    ops.add_argument("--ops-host", default=os.environ.get("POINTS_OPS_HOST", "127.0.0.1"), help="where those two ports listen (default 127.0.0.1; 0.0.0.0 in a container, with --ops-public); env POINTS_OPS_HOST")
    ops.add_argument(
        "--ops-public", action="store_true", default=os.environ.get("POINTS_OPS_PUBLIC", "").lower() in ("1", "on", "true", "yes"),
        help="allow --ops-host to be other than loopback (the two ports are plaintext and answer anyone; logged as a warning); env POINTS_OPS_PUBLIC=1",
    )
    add_log_option(parser)


def add_operations_commands(commands: argparse._SubParsersAction, database_option: object) -> None:  # type: ignore[type-arg]
    project = commands.add_parser("project", help="run the balance projection only (leader-elected on PostgreSQL: run as many as you like)")
    database_option(project)  # type: ignore[operator]
    project.add_argument("--timezone", default=os.environ.get("POINTS_TIMEZONE", "UTC"), help="the outlets' calendar (IANA name)")
    add_ops_options(project)

    check = commands.add_parser("health", help="ask a server's gRPC health service; exit 0 when SERVING (for HEALTHCHECK and probes)")
    check.add_argument("--server", default=os.environ.get("POINTS_HEALTH_SERVER", "127.0.0.1:50051"), help="host:port (e.g. the --health-port); env POINTS_HEALTH_SERVER")
    check.add_argument("--service", default="", help="a service name; default '': the whole server")
    check.add_argument("--ca", type=Path, help="CA certificate (PEM), to check a TLS port")
    check.add_argument("--timeout", type=float, default=3.0, help="seconds (default 3)")


def run_health(args: argparse.Namespace) -> int:
    credentials = grpc.ssl_channel_credentials(args.ca.read_bytes()) if args.ca else None
    channel = grpc.secure_channel(args.server, credentials) if credentials else grpc.insecure_channel(args.server)
    try:
        answer = health_pb2_grpc.HealthStub(channel).Check(health_pb2.HealthCheckRequest(service=args.service), timeout=args.timeout)
    except grpc.RpcError as error:
        print(f"points: {args.server}: {error.code().name}: {error.details()}", file=sys.stderr)  # type: ignore[attr-defined]
        return 1
    finally:
        channel.close()
    status = health_pb2.HealthCheckResponse.ServingStatus.Name(answer.status)
    print(f"{args.server}: {status}")
    return 0 if answer.status == health_pb2.HealthCheckResponse.SERVING else 1
