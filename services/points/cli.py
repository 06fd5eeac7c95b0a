"""The `points` command: serve, project, migrate, projections rebuild, health, token (development tokens)."""

from __future__ import annotations

import argparse
import os
import sys
import time
from collections.abc import Sequence
from pathlib import Path

from points.cli_security import add_serve_options, add_token_command, run_token, security_settings
from points.cli_client import add_client_commands, run_client
from points.cli_payroll import add_payroll_commands, run_payroll
from points.cli_rankings import add_ranking_commands, run_ranking
from points.cli_operations import add_log_option, add_operations_commands, add_ops_options, run_health
from points.domain.errors import PointsError
from points.storage.settings import DEFAULT_DATABASE_URL, SettingsError


def _database_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--database",
        default=os.environ.get("POINTS_DATABASE_URL", DEFAULT_DATABASE_URL),
        help="sqlite:///path/points.db (default) or postgresql://user@host:port/db[?schema=name]; env POINTS_DATABASE_URL",
    )


def parser() -> argparse.ArgumentParser:
    root = argparse.ArgumentParser(prog="points", description="Comprehensive evaluation points service")
    commands = root.add_subparsers(dest="command", required=True)

    serve = commands.add_parser("serve", help="run the gRPC server (and the balance projection)")
    serve.add_argument("--host", default=os.environ.get("POINTS_HOST", "127.0.0.1"))
    serve.add_argument("--port", type=int, default=int(os.environ.get("POINTS_PORT", "50051")))
    _database_option(serve)
    serve.add_argument("--policy", type=Path, default=os.environ.get("POINTS_POLICY") or None, help="the initial policy of an empty store, a TOML file (default: the shipped example)")
    serve.add_argument("--timezone", default=os.environ.get("POINTS_TIMEZONE", "UTC"), help="the outlets' calendar, for business dates (IANA name)")
    serve.add_argument("--no-migrate", action="store_true", help="never create tables (replicas; run `points migrate` once instead)")
    serve.add_argument("--no-projector", action="store_true", help="API only: leave the projection to `points project` (reads still wait for min_position)")
    serve.add_argument(
        "--processes", type=int, default=int(os.environ.get("POINTS_PROCESSES", "1")), metavar="N",
        help="serve the one --port from N processes (SO_REUSEPORT), one core each; N > 1 needs PostgreSQL. The parent "
        "migrates once, starts N workers, replaces one that dies and forwards SIGTERM. Worker I serves metrics on "
        "--metrics-port + I (scrape each); --health-port is the parent's: SERVING once all are ready, while any serves "
        "(default 1: one process); env POINTS_PROCESSES",
    )  # fmt: skip
    serve.add_argument(
        "--no-four-eyes", action="store_true", default=os.environ.get("POINTS_FOUR_EYES", "on").lower() in ("off", "0", "false", "no"),
        help="let one person close a pay month or recalculate points alone (logged as a warning; default: a proposer and "
        "a different approver); env POINTS_FOUR_EYES=off",
    )  # fmt: skip
    serve.add_argument("--worker", help=argparse.SUPPRESS)  # internal: INDEX:FD, a worker of --processes N (points/workers.py)
    add_serve_options(serve)
    add_ops_options(serve)

    migrate = commands.add_parser("migrate", help="create or upgrade the tables, then exit")
    _database_option(migrate)
    add_log_option(migrate)

    projections = commands.add_parser("projections", help="manage projections")
    projection_commands = projections.add_subparsers(dest="projection_command", required=True)
    rebuild = projection_commands.add_parser("rebuild", help="forget the balance view and project the whole log again")
    _database_option(rebuild)
    add_client_commands(commands)
    add_payroll_commands(commands, _database_option)
    add_ranking_commands(commands)
    add_token_command(commands)
    add_operations_commands(commands, _database_option)
    return root


def main(argv: Sequence[str] | None = None) -> int:
    args = parser().parse_args(argv)
    from points.logs import configure_logging

    configure_logging(getattr(args, "log_format", "text"), os.environ.get("POINTS_LOG_LEVEL", "INFO"))
    try:
        return _run(args, argv=list(sys.argv[1:] if argv is None else argv))
    except (SettingsError, PointsError) as e:
        print(f"points: {e}", file=sys.stderr)
        return 2


def _run(args: argparse.Namespace, argv: Sequence[str] = ()) -> int:
    from points.server import Settings, build_service, serve
    from points.storage.migrate import migrate
    from points.storage.settings import parse_database_url

    if args.command == "serve":
        settings = Settings(
            database_url=args.database,
            host=args.host,
            port=args.port,
            policy_path=args.policy,
            business_timezone=args.timezone,
            migrate=not args.no_migrate,
            run_projector=not args.no_projector,
            metrics_port=args.metrics_port,
            health_port=args.health_port,
            ops_host=args.ops_host,
            ops_public=args.ops_public,
            security=security_settings(args),
            four_eyes=not args.no_four_eyes,
        )
        if args.worker:  # one of the N processes of a parent `points serve --processes N`
            from points.workers import parse_worker, run_worker

            run_worker(settings, *parse_worker(args.worker))
            return 0
        if args.processes < 1:
            raise SettingsError(f"--processes must be at least 1, not {args.processes}")
        if args.processes > 1:
            from points.workers import serve_processes

            return serve_processes(settings, args.processes, argv)
        serve(settings)
        return 0
    if args.command == "project":
        from points.server import project

        project(
            Settings(
                database_url=args.database,
                business_timezone=args.timezone,
                migrate=False,
                metrics_port=args.metrics_port,
                health_port=args.health_port,
                ops_host=args.ops_host,
                ops_public=args.ops_public,
            )
        )
        return 0
    if args.command == "health":
        return run_health(args)
    if args.command == "token":
        return run_token(args)
    ranking_result = run_ranking(args)
    if ranking_result is not None:
        return ranking_result
    payroll_result = run_payroll(args)
    if payroll_result is not None:
        return payroll_result
    client_result = run_client(args)
    if client_result is not None:
        return client_result
    if args.command == "migrate":
        store = parse_database_url(args.database)
        migrate(store)
        print(f"points: tables ready in {store.redacted_url}")
        return 0
    if args.command == "projections" and args.projection_command == "rebuild":
        service = build_service(Settings(database_url=args.database, migrate=False), start_projector=False)
        try:
            started = time.perf_counter()
            count = service.projector.rebuild()
            elapsed = time.perf_counter() - started
        finally:
            service.close()
        rate = count / elapsed if elapsed > 0 else 0.0
        work = service.projector.work_events_booked
        print(f"points: rebuilt balances from {work} work events ({count} events in the log) in {elapsed:.2f}s ({rate:,.0f} events/s)")
        return 0
    raise AssertionError(f"unhandled command {args.command}")


if __name__ == "__main__":
    sys.exit(main())
