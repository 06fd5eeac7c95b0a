"""RankingService through a real server, and `points ranking export` as a real process: CSV that re-imports to the
same rows, and an HTML report whose chart a real (headless) browser draws with its cut-off lines.

The work is the application tier's October fixture (tests/app/test_rankings_app.py), sent over gRPC: 20 service
managers at north-01 (class A: sm01 TOP at 40.0000, sm19 BOTTOM at 0.3500) and 3 at south-01 (class B: too
small to flag anyone).
"""

from __future__ import annotations

import csv
import io
from decimal import Decimal
from pathlib import Path

import grpc
import pytest

from points.v1 import directory_pb2, rankings_pb2, rankings_pb2_grpc
from tests.api.calls import work
from tests.api.rich_status import rich_error
from tests.api.test_process import run_points
from tests.app.test_rankings_app import DOUBLED_CUSTOMER_SERVED
from tests.conftest import Client
from tests.support.browser import elements, rendered_dom

SM = directory_pb2.ROLE_SERVICE_MANAGER
TOP, BOTTOM, NONE = rankings_pb2.RANKING_FLAG_TOP, rankings_pb2.RANKING_FLAG_BOTTOM, rankings_pb2.RANKING_FLAG_NONE
OCTOBER_WORK = [
    ("sm01", "counter_transaction", "100"), ("sm02", "customer_served", "200"),
    *((f"sm{i:02d}", "counter_transaction", str(7 + i)) for i in range(3, 19)),
    ("sm19", "customer_served", "2"), ("sm20", "counter_transaction", "1"),
    ("sb01", "counter_transaction", "30"), ("sb02", "counter_transaction", "20"),
]  # fmt: skip


@pytest.fixture
def rankings(client: Client) -> rankings_pb2_grpc.RankingServiceStub:
    return rankings_pb2_grpc.RankingServiceStub(client.channel)


@pytest.fixture
def october(client: Client) -> int:
    """The module docstring's outlets, staff and October work; returns the last write's position."""
    for outlet, outlet_class, region in (("north-01", directory_pb2.OUTLET_CLASS_A, "north"), ("south-01", directory_pb2.OUTLET_CLASS_B, "south")):
        client.directory.RegisterOutlet(directory_pb2.RegisterOutletRequest(outlet_id=outlet, outlet_class=outlet_class, region=region))
    staff = [(f"sm{i:02d}", "north-01") for i in range(1, 21)] + [(f"sb{i:02d}", "south-01") for i in range(1, 4)]
    for employee, outlet in staff:
        client.directory.RegisterEmployee(
            directory_pb2.RegisterEmployeeRequest(employee_id=employee, role=SM, outlet_id=outlet, effective_from="2026-01-01")
        )
    position = 0
    for employee, kind, quantity in OCTOBER_WORK:
        position = client.work.RecordWorkEvent(work(f"oct-{employee}", employee, kind, quantity, "2026-10-05")).position
    return position


def get_ranking(rankings: rankings_pb2_grpc.RankingServiceStub, period: str = "2026-10", **more: object) -> rankings_pb2.GetRankingResponse:
    return rankings.GetRanking(rankings_pb2.GetRankingRequest(period=period, role=SM, **more), timeout=30)  # type: ignore[arg-type]


def all_rows(rankings: rankings_pb2_grpc.RankingServiceStub, period: str, min_position: int) -> list[rankings_pb2.RankingRow]:
    rows, token = [], ""
    while True:
        page = get_ranking(rankings, period, min_position=min_position, page_size=9, page_token=token)
        rows += page.rows
        token = page.next_page_token
        if not token:
            return rows


def published_bytes(rankings: rankings_pb2_grpc.RankingServiceStub) -> list[bytes]:
    """Every page of the publication in force, serialised."""
    pages, token = [], ""
    while True:
        page = rankings.GetPublishedRanking(
            rankings_pb2.GetPublishedRankingRequest(period="2026-10", role=SM, page_size=6, page_token=token), timeout=30
        )
        pages.append(page.SerializeToString(deterministic=True))
        token = page.next_page_token
        if not token:
            return pages


def test_a_ranking_carries_its_rules_groups_and_flags(rankings: rankings_pb2_grpc.RankingServiceStub, october: int) -> None:
    page = get_ranking(rankings, min_position=october)
    rows = {r.employee_id: r for r in page.rows}
    assert (rows["sm01"].rank, rows["sm01"].flag, rows["sm01"].percentile, rows["sm01"].total) == (1, TOP, "100.00", "40.0000")
    assert (rows["sm19"].rank, rows["sm19"].flag, rows["sm19"].percentile) == (20, BOTTOM, "0.00")
    assert (rows["sm02"].flag, [(d.dimension, d.points, d.weighted_points) for d in rows["sm02"].dimensions]) == (
        NONE, [("service", "100.0000", "35.0000")],
    )  # fmt: skip
    assert (rows["sb03"].total, rows["sb03"].flag, rows["sb03"].peer_group.key) == ("0.0000", NONE, "B")
    a, b = page.groups
    assert (a.group.key, a.size, a.flags_applied, a.top_line, a.bottom_line) == ("A", 20, True, "40.0000", "0.3500")
    assert (b.group.key, b.size, b.flags_applied, b.top_line) == ("B", 3, False, "")
    assert "fewer than 20" in b.note
    assert (page.rules.top_share, page.rules.rounding, page.rules.min_group_size, page.rules.policy_version) == ("0.05", "floor", 20, "2026.1")
    assert list(page.rules.tie_break) == ["compliance", "fewer_negative_events"]
    assert any("most business days" in s for s in page.rules.statements)
    assert (page.total_size, page.peer_group, page.position >= october) == (23, rankings_pb2.PEER_GROUPING_CLASS, True)


def test_a_published_ranking_is_the_same_bytes_after_a_late_event(client: Client, rankings: rankings_pb2_grpc.RankingServiceStub, october: int) -> None:
    published = rankings.PublishRanking(
        rankings_pb2.PublishRankingRequest(request_id="oct-pub", period="2026-10", role=SM, reason="year-end committee", published_by="hr"),
        timeout=60,
    )
    assert (published.ranking.sequence, published.ranking.members, len(published.ranking.digest)) == (1, 23, 64)
    before = published_bytes(rankings)
    live_before = [(r.employee_id, r.rank, r.flag) for r in all_rows(rankings, "2026-10", october)]

    late = client.work.RecordWorkEvent(work("late-sm20", "sm20", "counter_transaction", "200", "2026-10-21")).position

    live_after = [(r.employee_id, r.rank, r.flag) for r in all_rows(rankings, "2026-10", late)]
    assert ("sm20", 1, TOP) in live_after and live_after != live_before
    assert published_bytes(rankings) == before
    again = rankings.GetPublishedRanking(rankings_pb2.GetPublishedRankingRequest(period="2026-10", role=SM), timeout=30)
    assert (again.ranking.digest, again.superseded_by) == (published.ranking.digest, 0)
    assert {r.employee_id for r in again.rows if r.flag == TOP} == {"sm01"}


def test_a_second_publication_must_say_it_supersedes(rankings: rankings_pb2_grpc.RankingServiceStub, october: int) -> None:
    request = rankings_pb2.PublishRankingRequest(request_id="a", period="2026-10", role=SM, reason="first", published_by="hr")
    rankings.PublishRanking(request, timeout=60)
    with pytest.raises(grpc.RpcError) as refused:
        rankings.PublishRanking(rankings_pb2.PublishRankingRequest(request_id="b", period="2026-10", role=SM, reason="again", published_by="hr"), timeout=60)
    assert (rich_error(refused.value).code, rich_error(refused.value).reason) == (grpc.StatusCode.FAILED_PRECONDITION, "RANKING_ALREADY_PUBLISHED")
    second = rankings.PublishRanking(
        rankings_pb2.PublishRankingRequest(request_id="b", period="2026-10", role=SM, reason="again", published_by="hr", supersede=True), timeout=60
    )
    assert (second.ranking.sequence, second.ranking.supersedes, second.replayed) == (2, 1, False)
    old = rankings.GetPublishedRanking(rankings_pb2.GetPublishedRankingRequest(period="2026-10", role=SM, sequence=1), timeout=30)
    assert old.superseded_by == 2


def test_simulation_lists_who_crosses_a_line(rankings: rankings_pb2_grpc.RankingServiceStub, october: int) -> None:
    simulated = rankings.SimulateRanking(
        rankings_pb2.SimulateRankingRequest(period="2026-10", role=SM, candidate_policy=DOUBLED_CUSTOMER_SERVED, min_position=october),
        timeout=60,
    )
    moves = {m.employee_id: (list(m.crossings), m.total_before, m.total_after) for m in simulated.moves}
    assert moves == {
        "sm01": ([rankings_pb2.LINE_CROSSING_LEAVES_TOP], "40.0000", "40.0000"),
        "sm02": ([rankings_pb2.LINE_CROSSING_ENTERS_TOP], "35.0000", "70.0000"),
        "sm19": ([rankings_pb2.LINE_CROSSING_LEAVES_BOTTOM], "0.3500", "0.7000"),
        "sm20": ([rankings_pb2.LINE_CROSSING_ENTERS_BOTTOM], "0.4000", "0.4000"),
    }
    assert (simulated.candidate_rules.policy_version, simulated.current_rules.policy_version, simulated.total_moves) == ("2027.candidate", "2026.1", 4)


def test_refusals_carry_their_reason(rankings: rankings_pb2_grpc.RankingServiceStub, october: int) -> None:
    with pytest.raises(grpc.RpcError) as unknown_role:
        rankings.GetRanking(rankings_pb2.GetRankingRequest(period="2026-10", role=directory_pb2.ROLE_OUTLET_HEAD), timeout=30)
    assert rich_error(unknown_role.value).violations == (("role", "UNKNOWN_ROLE"),)
    with pytest.raises(grpc.RpcError) as running:
        rankings.PublishRanking(rankings_pb2.PublishRankingRequest(request_id="x", period="2026", role=SM, reason="r", published_by="p"), timeout=30)
    assert rich_error(running.value).reason == "PERIOD_NOT_ENDED"
    with pytest.raises(grpc.RpcError) as none:
        rankings.GetPublishedRanking(rankings_pb2.GetPublishedRankingRequest(period="2026-09", role=SM), timeout=30)
    assert (rich_error(none.value).code, rich_error(none.value).reason) == (grpc.StatusCode.NOT_FOUND, "RANKING_NOT_PUBLISHED")


# -- points ranking export ----------------------------------------------------------------------


def export(client: Client, tmp_path: Path, fmt: str) -> Path:
    output = tmp_path / f"ranking.{fmt}"
    result = run_points("ranking", "export", "2026", "--role", "service_manager", "--format", fmt, "--output", str(output), "--server", client.address)
    assert result.returncode == 0, result.stderr
    assert "23 members of 2 peer groups" in result.stderr
    return output


def test_the_csv_export_reimports_to_the_same_rows(client: Client, rankings: rankings_pb2_grpc.RankingServiceStub, october: int, tmp_path: Path) -> None:
    rows = all_rows(rankings, "2026", october)
    reimported = list(csv.DictReader(io.StringIO(export(client, tmp_path, "csv").read_text(encoding="utf-8"))))

    def dims(row: rankings_pb2.RankingRow) -> dict[str, str]:
        found = {f"{d.dimension}_{x}": getattr(d, p) for d in row.dimensions for x, p in (("points", "points"), ("weighted", "weighted_points"))}
        return {f"{d}_{x}": found.get(f"{d}_{x}", "") for d in ("service", "workload") for x in ("points", "weighted")}

    expected = [
        {
            "period": "2026", "role": "service_manager", "peer_grouping": "class", "peer_group": r.peer_group.key,
            "ranked_within": r.ranked_within.key, "group_size": str(r.group_size), "rank": str(r.rank), "percentile": r.percentile,
            "employee_id": r.employee_id, "total": r.total, "flag": {TOP: "TOP", BOTTOM: "BOTTOM"}.get(r.flag, ""),
            "unresolved_tie": "yes" if r.unresolved_tie else "", "membership": r.membership,
            "negative_events": str(r.negative_events) if r.HasField("negative_events") else "", **dims(r),
        }
        for r in rows
    ]  # fmt: skip
    assert reimported == expected
    assert sum(Decimal(r["total"]) for r in reimported) == sum(Decimal(r.total) for r in rows)


def test_the_html_report_draws_each_chart_with_its_cut_off_lines_in_a_real_browser(client: Client, october: int, tmp_path: Path) -> None:
    report = export(client, tmp_path, "html")
    assert "http" not in report.read_text(encoding="utf-8").replace("http://www.w3.org/2000/svg", "")  # self-contained

    found = elements(rendered_dom(report))

    body = next(attrs for tag, attrs in found if tag == "body")
    assert body.get("data-charts-drawn") == "2"
    charts = {attrs["data-group"]: attrs for tag, attrs in found if tag == "svg"}
    assert set(charts) == {"A", "B"} and all(c.get("data-drawn") == "yes" for c in charts.values())
    bars = [attrs for tag, attrs in found if tag == "rect" and attrs.get("class") == "bar"]
    assert len(bars) == 40 and sum(int(b["data-count"]) for b in bars) == 23
    lines = {attrs["id"]: attrs for tag, attrs in found if tag == "line" and "cutoff" in attrs.get("class", "")}
    assert set(lines) == {"cutoff-top-A", "cutoff-bottom-A"}  # class B is too small: no lines
    top, bottom = lines["cutoff-top-A"], lines["cutoff-bottom-A"]
    assert (top["data-points"], bottom["data-points"]) == ("40", "0.35")
    for line in (top, bottom):  # laid out by the browser inside the plot area (x 48..704, plus the 1 px border), as tall as it
        assert 48 <= float(line["data-rendered-x"]) <= 706 and float(line["data-rendered-height"]) > 100
    assert float(top["data-rendered-x"]) > float(bottom["data-rendered-x"]) + 400  # 40 points is far right of 0.35
    table_rows = [attrs for tag, attrs in found if tag == "tr" and attrs.get("class") in ("TOP", "BOTTOM")]
    assert len(table_rows) == 2
