"""`points ranking export ...`: a role's ranking from a running server, as CSV or a self-contained HTML report."""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

import grpc

from points.cli_client import open_channel, print_error, server_options
from points.ranking_report import to_csv, to_html
from points.v1 import directory_pb2, rankings_pb2, rankings_pb2_grpc

PEER_GROUPINGS = {"class": rankings_pb2.PEER_GROUPING_CLASS, "class_region": rankings_pb2.PEER_GROUPING_CLASS_REGION}


def add_ranking_commands(commands: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    ranking = commands.add_parser("ranking", help="peer-group rankings")
    ranking_commands = ranking.add_subparsers(dest="ranking_command", required=True)
    export = ranking_commands.add_parser("export", help="a role's ranking for a period as CSV or an HTML report with charts")
    export.add_argument("period", help="YYYY-MM, YYYY-Qn or YYYY")
    export.add_argument("--role", required=True, help="e.g. service_manager")
    export.add_argument("--peer-group", choices=sorted(PEER_GROUPINGS), default="class", help="group by class (default) or class and region")
    export.add_argument("--format", choices=("csv", "html"), default="csv")
    export.add_argument("--output", type=Path, help="file to write (default: standard output)")
    server_options(export)


def run_ranking(args: argparse.Namespace) -> int | None:
    """Runs a ranking command; None when `args` is not one."""
    if args.command != "ranking":
        return None
    role = role_value(args.role)
    if role is None:
        known = ", ".join(n.removeprefix("ROLE_").lower() for n in directory_pb2.Role.keys() if n != "ROLE_UNSPECIFIED")
        print(f"points: unknown role {args.role!r} (known: {known})", file=sys.stderr)
        return 2
    channel = open_channel(args)
    metadata = (("authorization", f"Bearer {args.token}"),) if args.token else ()
    try:
        pages = fetch_ranking(rankings_pb2_grpc.RankingServiceStub(channel), args.period, role, args.peer_group, metadata)
    except grpc.RpcError as error:
        print_error(error)
        return 1
    finally:
        channel.close()
    text = to_html(pages) if args.format == "html" else to_csv(pages)
    if args.output:
        args.output.write_text(text, encoding="utf-8")
        rows = sum(len(p.rows) for p in pages)
        print(f"points: wrote {rows} members of {len(pages[0].groups)} peer groups to {args.output}", file=sys.stderr)
    else:
        sys.stdout.write(text)
    return 0


def role_value(name: str) -> int | None:
    try:
        return directory_pb2.Role.Value("ROLE_" + name.upper())
    except ValueError:
        return None


def fetch_ranking(
    stub: rankings_pb2_grpc.RankingServiceStub, period: str, role: int, peer_group: str, metadata: tuple  # type: ignore[type-arg]
) -> list[rankings_pb2.GetRankingResponse]:
    """Every page of the ranking, all as of the first page's position."""
    pages: list[rankings_pb2.GetRankingResponse] = []
    token = ""
    while True:
        page = stub.GetRanking(
            rankings_pb2.GetRankingRequest(
                period=period, role=role, peer_group=PEER_GROUPINGS[peer_group], page_size=1000, page_token=token
            ),
            metadata=metadata,
            timeout=float(os.environ.get("POINTS_RANKING_TIMEOUT", "120")),
        )
        pages.append(page)
        token = page.next_page_token
        if not token:
            return pages
