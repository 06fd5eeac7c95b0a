"""Benchmark: ranking 400,000 employees (3 outlet classes x 30 regions, a year of points) on PostgreSQL.

Run it with `python -m tests.bench.rankings` (`--help` for sizes). It is a benchmark, not a test:
nothing here asserts a speed. On a fresh schema it writes the read model's rows directly with
COPY (the directory tables and a year of `balance_dimensions`, one row per employee, pay month
and dimension): recording 400,000 x 12 months of work through gRPC would take hours and measure
the write path, which `tests/bench/record_events.py` already does. Then, through a real gRPC
server in this process, it times `GetRanking` (first page, computed afresh: each repetition
first registers an outlet, so the cached ranking no longer applies; then once from the cache;
then once by class and region, 90 groups) and `PublishRanking` (the whole role, frozen),
beside the bare SQL window-function query
(rank() over (partition by class order by total desc)) over the same tables, run just before
each timed call so that both meet the same load, and prints each figure with its ratio (of
medians); the figures are also written as JSON.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import random
import statistics
import sys
import tempfile
import time
import uuid
from pathlib import Path

import grpc
import psycopg

from points.application.policy_file import example_policy_path
from points.server import Settings, build_service, create_server
from points.storage.migrate import migrate
from points.storage.settings import parse_database_url
from points.v1 import directory_pb2, directory_pb2_grpc, rankings_pb2, rankings_pb2_grpc
from tests.support.pgserver import ensure_postgres

REPO = Path(__file__).resolve().parents[2]
YEAR = 2025
MONTHS = [f"{YEAR}-{m:02d}" for m in range(1, 13)]
CLASSES = ("A", "B", "C")
DIMENSIONS = (("workload", 40), ("quality", 15), ("service", 35), ("development", 10))  # service manager weights, in %
KEYS = (
    "machine", "employees", "groups", "balance_dimension_rows", "load_s", "get_ranking_first_page_s",
    "get_ranking_first_page_median_s", "get_ranking_cached_page_s", "get_ranking_class_region_first_page_s", "publish_ranking_s", "published_members",
    "sql_window_first_page_s", "sql_window_all_rows_s", "ratio_get_ranking_to_sql_first_page",
    "ratio_publish_to_sql_all_rows", "flagged_top", "flagged_bottom",
)  # fmt: skip


def load(conn: psycopg.Connection, schema: str, employees: int, regions: int, outlets_per_region: int, seed: int) -> int:
    """The directory tables and a year of balance_dimensions rows, by COPY; returns the balance row count."""
    rng = random.Random(seed)
    q = f'"{schema}"'
    outlets = [(f"{c}{r:02d}-{k}", c, f"region-{r:02d}") for c in CLASSES for r in range(regions) for k in range(outlets_per_region)]
    with conn.cursor() as cur:
        with cur.copy(f"COPY {q}.ranking_outlets (outlet_id, outlet_class, region) FROM STDIN") as copy:
            for row in outlets:
                copy.write_row(row)
        with cur.copy(f"COPY {q}.ranking_assignments (employee_id, effective_from, role, outlet_id, effective_until, aggregate_id) FROM STDIN") as copy:
            for i in range(employees):
                employee, home = f"E{i:07d}", outlets[i % len(outlets)][0]
                if i % 50 == 7:  # 2% moved mid-year to another outlet
                    moved = outlets[rng.randrange(len(outlets))][0]
                    copy.write_row((employee, f"{YEAR - 1}-01-01", "service_manager", home, f"{YEAR}-07-01", str(uuid.uuid4())))
                    copy.write_row((employee, f"{YEAR}-07-01", "service_manager", moved, "", str(uuid.uuid4())))
                else:
                    copy.write_row((employee, f"{YEAR - 1}-01-01", "service_manager", home, "", str(uuid.uuid4())))
        rows = 0
        with cur.copy(f"COPY {q}.balance_dimensions (employee_id, booked_month, dimension, point_value, points, weighted_points) FROM STDIN") as copy:
            block: list[str] = []
            for i in range(employees):
                employee = f"E{i:07d}"
                skill = rng.uniform(0.5, 1.5)
                for month in MONTHS:
                    for dimension, weight in DIMENSIONS:
                        points = int(rng.gauss(400, 120) * skill) * 100  # whole hundredths of a point, in 10^-4 units
                        block.append(f"{employee}\t{month}\t{dimension}\t1.00\t{points}\t{points * weight // 100}\n")
                        rows += 1
                if len(block) >= 50_000:
                    copy.write("".join(block))
                    block.clear()
            copy.write("".join(block))
        for table in ("ranking_outlets", "ranking_assignments", "balance_dimensions"):
            cur.execute(f"ANALYZE {q}.{table}")
    conn.commit()
    return rows


def bare_sql(conn: psycopg.Connection, schema: str, *, limit: int | None) -> float:
    """Seconds for the window-function ranking over the same tables (current assignment's class), fetched whole."""
    q = f'"{schema}"'
    months = ", ".join(f"'{m}'" for m in MONTHS)
    sql = (
        f"SELECT employee_id, outlet_class, total, rank() OVER (PARTITION BY outlet_class ORDER BY total DESC) AS rank FROM ("
        f"SELECT d.employee_id, o.outlet_class, sum(d.weighted_points) AS total FROM {q}.balance_dimensions d "
        f"JOIN {q}.ranking_assignments a ON a.employee_id = d.employee_id AND a.effective_until = '' "
        f"JOIN {q}.ranking_outlets o ON o.outlet_id = a.outlet_id WHERE d.booked_month IN ({months}) "
        "GROUP BY d.employee_id, o.outlet_class) t ORDER BY outlet_class, rank, employee_id"
        + (f" LIMIT {limit}" if limit else "")
    )
    started = time.perf_counter()
    with conn.cursor() as cur:
        cur.execute(sql)
        cur.fetchall()
    return time.perf_counter() - started


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--employees", type=int, default=400_000)
    parser.add_argument("--regions", type=int, default=30)
    parser.add_argument("--outlets-per-region", type=int, default=5)
    parser.add_argument("--repeat", type=int, default=3, help="fresh (uncached) GetRanking first pages")
    parser.add_argument("--seed", type=int, default=2025)
    parser.add_argument("--output", type=Path, default=REPO / "bench-results" / "rankings.json")
    parser.add_argument("--postgres-url", help="a server to use (default: POINTS_TEST_POSTGRES_URL, 127.0.0.1:5432, or a throwaway one)")
    args = parser.parse_args(argv)

    pg = ensure_postgres(args.postgres_url)
    schema = f"bench_rank_{uuid.uuid4().hex[:8]}"
    url = f"{pg.url}{'&' if '?' in pg.url else '?'}schema={schema}"
    results: dict[str, object] = {
        "machine": {"cpus": os.cpu_count(), "python": platform.python_version(), "platform": platform.platform()},
        "employees": args.employees,
        "groups": f"{len(CLASSES)} classes x {args.regions} regions: {len(CLASSES)} peer groups by class (the default), "
        f"{len(CLASSES) * args.regions} by class and region",
    }
    with tempfile.TemporaryDirectory() as scratch:
        policy = Path(scratch) / "policy.toml"
        policy.write_text(
            example_policy_path().read_text(encoding="utf-8").replace('effective_from = "2026-01-01"', f'effective_from = "{YEAR}-01-01"'),
            encoding="utf-8",
        )
        migrate(parse_database_url(url))
        with psycopg.connect(pg.url) as conn:
            started = time.perf_counter()
            results["balance_dimension_rows"] = load(conn, schema, args.employees, args.regions, args.outlets_per_region, args.seed)
            results["load_s"] = round(time.perf_counter() - started, 1)
        print(f"loaded {args.employees:,} employees, {results['balance_dimension_rows']:,} balance rows by COPY in {results['load_s']} s")

        service = build_service(Settings(database_url=url, policy_path=policy))
        server, port = create_server(service, "127.0.0.1", 0)
        server.start()
        channel = grpc.insecure_channel(f"127.0.0.1:{port}", options=[("grpc.max_receive_message_length", 64 * 1024 * 1024)])
        baseline = psycopg.connect(pg.url)  # the bare SQL runs just before each timed call, so both meet the same load
        sql_first: list[float] = []
        sql_all: list[float] = []
        try:
            rankings = rankings_pb2_grpc.RankingServiceStub(channel)
            directory = directory_pb2_grpc.DirectoryServiceStub(channel)
            request = rankings_pb2.GetRankingRequest(period=str(YEAR), role=directory_pb2.ROLE_SERVICE_MANAGER, page_size=100)
            fresh: list[float] = []
            for n in range(args.repeat):
                # A new outlet moves the log, so the ranking is computed afresh rather than read from the cache.
                written = directory.RegisterOutlet(
                    directory_pb2.RegisterOutletRequest(outlet_id=f"bench-{n}", outlet_class=directory_pb2.OUTLET_CLASS_A, region="r")
                )
                request.min_position = written.position  # as a client reading its own write would
                sql_first.append(bare_sql(baseline, schema, limit=100))
                started = time.perf_counter()
                first = rankings.GetRanking(request, timeout=600)
                fresh.append(time.perf_counter() - started)
            started = time.perf_counter()
            rankings.GetRanking(request, timeout=600)
            cached = time.perf_counter() - started
            by_region = rankings_pb2.GetRankingRequest(
                period=str(YEAR), role=directory_pb2.ROLE_SERVICE_MANAGER, page_size=100,
                peer_group=rankings_pb2.PEER_GROUPING_CLASS_REGION, min_position=request.min_position,
            )  # fmt: skip
            started = time.perf_counter()
            regional = rankings.GetRanking(by_region, timeout=600)
            results["get_ranking_class_region_first_page_s"] = round(time.perf_counter() - started, 3)
            print(f"GetRanking first page by class and region ({len(regional.groups)} groups): {results['get_ranking_class_region_first_page_s']:.2f} s")
            results["get_ranking_first_page_s"] = [round(t, 3) for t in fresh]
            results["get_ranking_first_page_median_s"] = round(statistics.median(fresh), 3)
            results["get_ranking_cached_page_s"] = round(cached, 4)
            results["flagged_top"] = sum(g.top_quota for g in first.groups)
            results["flagged_bottom"] = sum(g.bottom_quota for g in first.groups)
            print(f"GetRanking first page ({first.total_size:,} ranked): {', '.join(f'{t:.2f}' for t in fresh)} s computed; {cached * 1000:.1f} ms cached")

            sql_all.append(bare_sql(baseline, schema, limit=None))
            started = time.perf_counter()
            published = rankings.PublishRanking(
                rankings_pb2.PublishRankingRequest(
                    request_id=f"bench-{uuid.uuid4().hex[:6]}", period=str(YEAR), role=directory_pb2.ROLE_SERVICE_MANAGER,
                    reason="benchmark", published_by="bench",
                ),
                timeout=1800,
            )  # fmt: skip
            results["publish_ranking_s"] = round(time.perf_counter() - started, 2)
            results["published_members"] = published.ranking.members
            print(f"PublishRanking ({published.ranking.members:,} members frozen): {results['publish_ranking_s']} s")
            sql_all.append(bare_sql(baseline, schema, limit=None))
        finally:
            baseline.close()
            channel.close()
            server.stop(grace=None).wait()
            service.close()

    first_sql, all_sql = statistics.median(sql_first), statistics.median(sql_all)
    results["sql_window_first_page_s"] = [round(t, 3) for t in sql_first]
    results["sql_window_all_rows_s"] = [round(t, 3) for t in sql_all]
    results["ratio_get_ranking_to_sql_first_page"] = round(statistics.median(fresh) / first_sql, 2)
    results["ratio_publish_to_sql_all_rows"] = round(float(results["publish_ranking_s"]) / all_sql, 2)  # type: ignore[arg-type]
    print(f"baseline: bare SQL rank() over (partition by class), run beside each call: first 100 rows "
          f"{', '.join(f'{t:.2f}' for t in sql_first)} s; all rows {', '.join(f'{t:.2f}' for t in sql_all)} s")  # fmt: skip
    print(f"ratios: GetRanking first page {results['ratio_get_ranking_to_sql_first_page']}x the SQL first page; "
          f"PublishRanking {results['ratio_publish_to_sql_all_rows']}x the SQL over all rows")  # fmt: skip

    with psycopg.connect(pg.url, autocommit=True) as conn:
        conn.execute(f'DROP SCHEMA "{schema}" CASCADE')
    pg.stop()
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text(json.dumps(results, indent=2) + "\n")
    print(f"written {args.output}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
