"""Rankings on a real store (SQLite and PostgreSQL): inputs from the directory and the ledger, publications that
never move, and what-ifs under a candidate policy.

Worked numbers (example policy 2026.1; service manager workload .40, service .35; operations supervisor
workload .40, compliance .30), all in October 2026, at class A outlet oA1 (north) unless said:

  service managers sm01..sm20 (20: one top place, one bottom place, floor of 5%)
    sm01  counter_transaction 100                 100 x .40                  = 40.0000   TOP
    sm02  customer_served 200                     200 x .5 = 100 x .35       = 35.0000
    sm03..sm18  counter_transaction 10..25        4.0000 .. 10.0000
    sm19  customer_served 2                       1 x .35                    =  0.3500   BOTTOM
    sm20  counter_transaction 1                                              =  0.4000
  A candidate policy that doubles customer_served (1 point a unit): sm02 70.0000 (TOP), sm19 0.7000, so
  sm20 (0.4000) is the bottom: exactly sm01 and sm19 leave their lines, sm02 and sm20 enter them.

  operations supervisors os01..os20 (tie-breaks at both lines)
    os01  duty_day 10                             100 x .40                  = 40.0000
    os02  duty_day 7, internal_control_check 8    28.0000 + 40 x .30 = 12    = 40.0000   TOP (40 compliance points against 0)
    os03..os18  duty_day 2.0, 2.1, .. 3.5         8.0000 .. 14.0000
    os19  duty_day 1, compliance_finding 1, internal_control_check 4
                                                  4.0000 - 6.0000 + 6.0000   =  4.0000   BOTTOM (compliance 0 = 0; one negative event)
    os20  duty_day 1                                                         =  4.0000
"""

from __future__ import annotations

import hashlib
import json
import sqlite3
from collections.abc import Callable
from datetime import date

import psycopg
import pytest

from points.application.points import PointsApplication, WorkFields
from points.application.rankings import Rankings
from points.application.ranking_requests import RankingPage
from points.domain.errors import FailedPrecondition, InvalidRequest, NotFound
from points.domain.policy import PolicyError
from points.domain.ranking import BOTTOM, TOP
from points.domain.ranking_snapshots import replay, snapshot_row
from points.server import PointsService, Settings, build_service
from points.storage.migrate import is_migrated, postgres_conninfo
from points.storage.settings import parse_database_url
from tests.support.policy_versions import EXAMPLE_VERSION

SM, OS = "service_manager", "operations_supervisor"
DOUBLED_CUSTOMER_SERVED = EXAMPLE_VERSION.replace('version = "2026.1"', 'version = "2027.candidate"').replace(
    'dimension = "service"\npoints_per_unit = 0.5\n', 'dimension = "service"\npoints_per_unit = 1\n'
)


def record(app: PointsApplication, request_id: str, employee: str, kind: str, quantity: str, day: str = "2026-10-05") -> None:
    app.record_work_event(WorkFields(request_id, employee, kind, quantity, day))


def staff(app: PointsApplication, role: str, prefix: str, count: int, outlet: str = "oA1") -> None:
    for i in range(1, count + 1):
        app.register_employee(employee_id=f"{prefix}{i:02d}", role=role, outlet_id=outlet, effective_from="2026-01-01")


@pytest.fixture
def outlets(app: PointsApplication) -> None:
    """oA1 (class A, north), oA2 (class A, south), oB1 (class B, south)."""
    app.register_outlet(outlet_id="oA1", outlet_class="A", region="north")
    app.register_outlet(outlet_id="oA2", outlet_class="A", region="south")
    app.register_outlet(outlet_id="oB1", outlet_class="B", region="south")


@pytest.fixture
def october_service_managers(idle_service: PointsService, outlets: None) -> None:
    """sm01..sm20 at oA1 with the October work in the module docstring, booked."""
    app = idle_service.app
    staff(app, SM, "sm", 20)
    record(app, "sm01", "sm01", "counter_transaction", "100")
    record(app, "sm02", "sm02", "customer_served", "200")
    for i in range(3, 19):
        record(app, f"sm{i:02d}", f"sm{i:02d}", "counter_transaction", str(7 + i))
    record(app, "sm19", "sm19", "customer_served", "2")
    record(app, "sm20", "sm20", "counter_transaction", "1")
    idle_service.projector.catch_up()


@pytest.fixture
def october_supervisors(idle_service: PointsService, outlets: None) -> None:
    """os01..os20 at oA1 with the October work in the module docstring (ties at both lines), booked."""
    app = idle_service.app
    staff(app, OS, "os", 20)
    record(app, "os01", "os01", "duty_day", "10")
    record(app, "os02-duty", "os02", "duty_day", "7")
    record(app, "os02-check", "os02", "internal_control_check", "8")
    for i in range(3, 19):
        record(app, f"os{i:02d}", f"os{i:02d}", "duty_day", f"{2 + (i - 3) / 10:.1f}")
    record(app, "os19-duty", "os19", "duty_day", "1")
    record(app, "os19-finding", "os19", "compliance_finding", "1")
    record(app, "os19-check", "os19", "internal_control_check", "4")
    record(app, "os20", "os20", "duty_day", "1")
    idle_service.projector.catch_up()


def ranking(service: PointsService, period: str = "2026-10", role: str = SM, grouping: str = "", **more: object) -> RankingPage:
    options: dict[str, object] = {"group": "", "page_size": 1000, "page_token": "", "min_position": 0, "timeout": 0}
    options.update(more)
    return service.rankings.get_ranking(period=period, role=role, grouping=grouping, **options)  # type: ignore[union-attr, arg-type]


def rows_by_id(page: RankingPage) -> dict[str, tuple[int, str, str]]:
    """employee -> (rank, flag, total)"""
    return {r.placing.candidate.employee_id: (r.placing.rank, r.placing.flag, str(r.placing.candidate.total)) for r in page.rows}


def publish(service: PointsService, request_id: str = "pub-1", **more: object) -> object:
    options: dict[str, object] = {"period": "2026-10", "role": SM, "grouping": "class", "supersede": False, "reason": "year-end committee", "published_by": "hr-admin"}
    options.update(more)
    return service.rankings.publish(request_id=request_id, **options)  # type: ignore[union-attr, arg-type]


# -- live rankings ----------------------------------------------------------------------------


@pytest.mark.usefixtures("october_service_managers")
def test_the_ranking_flags_one_member_at_each_end_of_a_group_of_twenty(idle_service: PointsService) -> None:
    page = ranking(idle_service)
    rows = rows_by_id(page)
    assert rows["sm01"] == (1, TOP, "40.0000")
    assert rows["sm02"] == (2, "", "35.0000")
    assert rows["sm19"] == (20, BOTTOM, "0.3500")
    assert rows["sm20"] == (19, "", "0.4000")
    assert (page.total_size, page.rules.policy_version, str(page.rules.in_force_on)) == (20, "2026.1", "2026-10-31")
    (group,) = page.groups
    assert (group.key.text, group.size, group.top_quota, str(group.top_line), str(group.bottom_line)) == ("A", 20, 1, "40.0000", "0.3500")
    first = page.rows[0]
    assert first.dimensions == (("workload", first.placing.candidate.total / 2 * 5, first.placing.candidate.total),)


@pytest.mark.usefixtures("october_supervisors")
def test_ties_at_both_lines_are_broken_by_compliance_points_then_negative_events(idle_service: PointsService) -> None:
    page = ranking(idle_service, role=OS)
    rows = rows_by_id(page)
    assert (rows["os01"], rows["os02"]) == ((1, "", "40.0000"), (1, TOP, "40.0000"))
    assert (rows["os19"], rows["os20"]) == ((19, BOTTOM, "4.0000"), (19, "", "4.0000"))
    negative = {r.placing.candidate.employee_id: r.placing.negative_events for r in page.rows}
    assert (negative["os19"], negative["os20"], negative["os05"]) == (1, 0, None)  # looked up for the tied only


def test_everyone_assigned_in_the_period_is_ranked_even_without_points(idle_service: PointsService, october_service_managers: None) -> None:
    app = idle_service.app
    app.register_employee(employee_id="sm-new", role=SM, outlet_id="oA1", effective_from="2026-10-26")  # five weekdays
    app.register_employee(employee_id="sm-later", role=SM, outlet_id="oA1", effective_from="2026-11-02")  # not in October
    rows = rows_by_id(ranking(idle_service))
    assert rows["sm-new"][2] == "0.0000" and rows["sm-new"][0] == 21
    assert "sm-later" not in rows


def test_a_mid_period_transfer_is_ranked_where_the_membership_rule_says(idle_service: PointsService, october_service_managers: None) -> None:
    app = idle_service.app
    staff(app, SM, "mv", 2)
    # mv01 leaves class A on the 19th (12 weekdays in A, 10 in B): ranked in A although now in B.
    app.transfer_employee(request_id="mv01-to-b", employee_id="mv01", role="", outlet_id="oB1", effective_from="2026-10-19")
    # mv02 leaves on the 16th: 11 weekdays each, so the later assignment (B) decides.
    app.transfer_employee(request_id="mv02-to-b", employee_id="mv02", role="", outlet_id="oB1", effective_from="2026-10-16")
    record(app, "mv01-work", "mv01", "counter_transaction", "50", "2026-10-20")
    idle_service.projector.catch_up()
    page = ranking(idle_service)
    rows = {r.placing.candidate.employee_id: r for r in page.rows}
    assert rows["mv01"].placing.candidate.membership.group.text == "A"
    assert rows["mv01"].placing.candidate.total == 20  # its points count wherever they were earned
    assert "ranked in A (the most business days)" in rows["mv01"].placing.candidate.membership.explain()
    assert rows["mv02"].placing.candidate.membership.group.text == "B"
    assert "equal business days: the later assignment" in rows["mv02"].placing.candidate.membership.explain()
    assert {g.key.text: g.size for g in page.groups} == {"A": 21, "B": 1}


@pytest.mark.usefixtures("october_service_managers")
def test_grouping_by_region_and_filtering_one_group(idle_service: PointsService) -> None:
    staff(idle_service.app, SM, "so", 2, outlet="oA2")
    page = ranking(idle_service, grouping="class_region", group="A/south")
    assert {r.placing.candidate.employee_id for r in page.rows} == {"so01", "so02"}
    assert {g.key.text for g in page.groups} == {"A/north", "A/south"}
    assert all(not r.placing.flag and r.placing.rank == 1 for r in page.rows)  # 2 members: no flags, equal at 0


def test_the_policy_in_force_on_the_periods_last_day_decides_the_rules(idle_service: PointsService, october_service_managers: None) -> None:
    staff(idle_service.app, SM, "so", 2, outlet="oA2")
    pooling = EXAMPLE_VERSION.replace('version = "2026.1"', 'version = "2026.10"') + (
        '\n[ranking]\nmin_group_size = 5\nsmall_groups = "pool_with_parent"\nrounding = "ceil"\n'
    )
    idle_service.policies.publish(document=pooling, source="2026.10.toml", effective_from="2026-10-31", published_by="hq", reason="pooling")
    idle_service.projector.catch_up()
    october = ranking(idle_service, grouping="class_region")
    assert (october.rules.policy_version, october.rules.rules.small_groups, october.rules.rules.declared) == ("2026.10", "pool_with_parent", True)
    south = next(g for g in october.groups if g.key.text == "A/south")
    assert (south.ranked_within.text, south.ranked_within_size, south.top_quota) == ("A", 22, 2)  # ceil(1.1)
    september = ranking(idle_service, period="2026-09", grouping="class_region")
    assert (september.rules.policy_version, september.rules.rules.declared) == ("2026.1", False)


@pytest.mark.usefixtures("october_service_managers")
def test_pages_are_of_one_ranking_and_a_changed_one_is_refused(idle_service: PointsService) -> None:
    first = ranking(idle_service, page_size=8)
    second = ranking(idle_service, page_size=8, page_token=first.next_page_token)
    third = ranking(idle_service, page_size=8, page_token=second.next_page_token)
    assert [len(p.rows) for p in (first, second, third)] == [8, 8, 4] and not third.next_page_token
    assert [r.placing for p in (first, second, third) for r in p.rows] == [r.placing for r in ranking(idle_service).rows]

    record(idle_service.app, "late", "sm20", "counter_transaction", "30", "2026-10-21")
    idle_service.projector.catch_up()
    other_server = Rankings(app=idle_service.app, reads=idle_service.rankings.reads, projector=idle_service.projector, tokens=idle_service.rankings.tokens)  # type: ignore[union-attr]
    with pytest.raises(FailedPrecondition) as changed:
        other_server.get_ranking(period="2026-10", role=SM, grouping="", group="", page_size=8, page_token=first.next_page_token, min_position=0, timeout=0)
    assert changed.value.reason == "RANKING_CHANGED"


def test_bad_requests_name_every_field(idle_service: PointsService, outlets: None) -> None:
    with pytest.raises(InvalidRequest) as bad:
        ranking(idle_service, period="2026-13", role="teller", grouping="city", page_size=-1, page_token="junk")
    assert {v.field: v.reason for v in bad.value.violations} == {
        "period": "MALFORMED_PERIOD", "role": "UNKNOWN_ROLE", "peer_group": "UNKNOWN_PEER_GROUP",
        "page_size": "NEGATIVE_PAGE_SIZE", "page_token": "INVALID_PAGE_TOKEN",
    }  # fmt: skip
    with pytest.raises(FailedPrecondition) as no_policy:
        ranking(idle_service, period="2025")
    assert no_policy.value.reason == "NO_POLICY_IN_FORCE"


# -- publications -------------------------------------------------------------------------------


def published_pages(service: PointsService, sequence: int = 0, page_size: int = 7) -> list[object]:
    pages, token = [], ""
    while True:
        page = service.rankings.get_published(  # type: ignore[union-attr]
            period="2026-10", role=SM, grouping="class", sequence=sequence, page_size=page_size, page_token=token
        )
        pages.append(page)
        token = page.next_page_token
        if not token:
            return pages


@pytest.mark.usefixtures("october_service_managers")
def test_a_publication_never_moves_when_a_late_event_arrives_while_the_live_ranking_does(idle_service: PointsService) -> None:
    published = publish(idle_service)
    before_pages = published_pages(idle_service)
    before_document, digest = idle_service.rankings.snapshot_document("2026-10", SM, "class")  # type: ignore[union-attr]
    assert hashlib.sha256(before_document.encode()).hexdigest() == digest == published.ranking.digest  # type: ignore[attr-defined]

    record(idle_service.app, "late", "sm20", "counter_transaction", "200", "2026-10-21")  # 80.0000 more: sm20 to the top
    idle_service.projector.catch_up()

    assert rows_by_id(ranking(idle_service))["sm20"] == (1, TOP, "80.4000")
    assert published_pages(idle_service) == before_pages
    assert idle_service.rankings.snapshot_document("2026-10", SM, "class") == (before_document, digest)  # type: ignore[union-attr]
    frozen = {r.placing.candidate.employee_id: (r.placing.rank, r.placing.flag) for p in before_pages for r in p.rows}  # type: ignore[attr-defined]
    assert (frozen["sm20"], frozen["sm01"], len(frozen)) == ((19, ""), (1, TOP), 20)


@pytest.mark.usefixtures("october_service_managers")
def test_a_snapshot_holds_its_inputs_and_rules_and_replays_to_its_result(idle_service: PointsService) -> None:
    publish(idle_service)
    document, _ = idle_service.rankings.snapshot_document("2026-10", SM, "class")  # type: ignore[union-attr]
    header_line, *member_lines = document.splitlines()
    header = json.loads(header_line)
    assert (header["period"], header["role"], header["grouping"], header["rules_policy_version"], header["members"]) == ("2026-10", SM, "class", "2026.1", 20)
    assert header["rules"]["top_share"] == "0.05" and header["inputs"]["balance_position"] > 0
    rows = [snapshot_row(line) for line in member_lines]
    assert all(r.postings and r.postings[0].outlet_class == "A" for r in rows)
    assert [p for p in replay(header, rows).placings] == [r.placing for r in rows]


@pytest.mark.usefixtures("october_service_managers")
def test_a_second_publication_is_an_explicit_supersede_and_both_stay_readable(idle_service: PointsService) -> None:
    first = publish(idle_service)
    assert publish(idle_service) == first.__class__(first.position, True, first.ranking)  # type: ignore[attr-defined]  # same request id: replay
    with pytest.raises(FailedPrecondition) as again:
        publish(idle_service, "pub-2")
    assert again.value.reason == "RANKING_ALREADY_PUBLISHED"

    record(idle_service.app, "late", "sm20", "counter_transaction", "200", "2026-10-21")
    idle_service.projector.catch_up()
    second = publish(idle_service, "pub-2", supersede=True, reason="late counter feed for sm20")
    assert (second.ranking.sequence, second.ranking.supersedes, second.ranking.reason) == (2, 1, "late counter feed for sm20")  # type: ignore[attr-defined]
    assert second.ranking.digest != first.ranking.digest  # type: ignore[attr-defined]

    old = published_pages(idle_service, sequence=1, page_size=100)[0]
    current = published_pages(idle_service, page_size=100)[0]
    assert (old.superseded_by, old.ranking.digest, current.superseded_by, current.ranking.sequence) == (2, first.ranking.digest, 0, 2)  # type: ignore[attr-defined]
    assert {r.placing.candidate.employee_id for r in current.rows if r.placing.flag == TOP} == {"sm20"}  # type: ignore[attr-defined]


@pytest.mark.usefixtures("october_service_managers")
def test_publishing_needs_an_ended_period_a_reason_and_an_author(idle_service: PointsService) -> None:
    with pytest.raises(FailedPrecondition) as running:
        publish(idle_service, period="2026-11")
    assert running.value.reason == "PERIOD_NOT_ENDED"
    with pytest.raises(InvalidRequest) as bad:
        publish(idle_service, "", reason=" ", published_by="")
    assert {v.reason for v in bad.value.violations} == {"MISSING_REQUEST_ID", "MISSING_REASON", "MISSING_PUBLISHED_BY"}
    with pytest.raises(NotFound):
        published_pages(idle_service)
    with pytest.raises(FailedPrecondition) as nothing:
        publish(idle_service, supersede=True)
    assert nothing.value.reason == "NOTHING_TO_SUPERSEDE"


# -- what-if ------------------------------------------------------------------------------------


@pytest.mark.usefixtures("october_service_managers")
def test_doubling_one_kind_moves_exactly_the_expected_employees(idle_service: PointsService) -> None:
    simulated = idle_service.rankings.simulate(  # type: ignore[union-attr]
        period="2026-10", role=SM, grouping="", candidate_policy=DOUBLED_CUSTOMER_SERVED, source="candidate.toml",
        page_size=100, page_token="", min_position=0, timeout=0,
    )  # fmt: skip
    moves = {m.employee_id: (m.crossings, str(m.before.candidate.total), str(m.after.candidate.total)) for m in simulated.moves}
    assert moves == {
        "sm01": (("LEAVES_TOP",), "40.0000", "40.0000"),
        "sm02": (("ENTERS_TOP",), "35.0000", "70.0000"),
        "sm19": (("LEAVES_BOTTOM",), "0.3500", "0.7000"),
        "sm20": (("ENTERS_BOTTOM",), "0.4000", "0.4000"),
    }
    assert (simulated.events, simulated.members, simulated.candidate.policy_version) == (20, 20, "2027.candidate")
    assert any("caps" in note for note in simulated.notes)
    assert idle_service.app.policies().latest().version == "2026.1"  # type: ignore[union-attr]  # nothing published


@pytest.mark.usefixtures("october_service_managers")
def test_the_current_policy_as_candidate_moves_no_one(idle_service: PointsService) -> None:
    simulated = idle_service.rankings.simulate(  # type: ignore[union-attr]
        period="2026-10", role=SM, grouping="", candidate_policy=EXAMPLE_VERSION, source="same.toml",
        page_size=100, page_token="", min_position=0, timeout=0,
    )  # fmt: skip
    assert (simulated.total_moves, simulated.moves) == (0, ())


def test_an_invalid_candidate_policy_is_refused_with_its_problems(idle_service: PointsService, outlets: None) -> None:
    with pytest.raises(PolicyError):
        idle_service.rankings.simulate(  # type: ignore[union-attr]
            period="2026-10", role=SM, grouping="", candidate_policy=EXAMPLE_VERSION + "\n[ranking]\ntop_share = 2\n",
            source="bad.toml", page_size=10, page_token="", min_position=0, timeout=0,
        )  # fmt: skip


def test_the_directory_tables_follow_the_log_once(idle_service: PointsService, open_service: Callable[[], PointsService], outlets: None) -> None:
    staff(idle_service.app, SM, "sm", 3)
    reads = idle_service.rankings.reads  # type: ignore[union-attr]
    position = reads.catch_up()
    assert position == reads.catch_up() == idle_service.app.recorder.max_notification_id()
    second = open_service()  # another server on the same store: nothing is applied twice
    idle_service.app.transfer_employee(request_id="t", employee_id="sm01", role="", outlet_id="oB1", effective_from="2026-10-01")
    assert second.rankings.reads.catch_up() == reads.catch_up()  # type: ignore[union-attr]
    postings = reads.postings(SM, date(2026, 1, 1), date(2026, 12, 31))
    assert [(p.outlet_id, str(p.effective_from), str(p.effective_until)) for p in postings["sm01"]] == [
        ("oA1", "2026-01-01", "2026-10-01"), ("oB1", "2026-10-01", "None"),
    ]  # fmt: skip


def test_a_store_from_before_rankings_gets_the_directory_tables_and_ranks_its_history(settings: Settings, outlets: None, idle_service: PointsService) -> None:
    """A store made by a release without rankings: the next start migrates, and the directory tables catch up from the log."""
    staff(idle_service.app, SM, "sm", 2)
    idle_service.close()
    store = parse_database_url(settings.database_url)
    tables = ("ranking_outlets", "ranking_assignments", "ranking_directory")
    if store.backend == "sqlite":
        with sqlite3.connect(store.sqlite_path) as conn:
            for table in tables:
                conn.execute(f"DROP TABLE {table}")
    else:
        with psycopg.connect(**postgres_conninfo(store), autocommit=True) as conn:
            for table in tables:
                conn.execute(f'DROP TABLE "{store.schema}"."{table}"')
    assert not is_migrated(store)

    upgraded = build_service(settings, start_projector=False)
    try:
        assert is_migrated(store)
        assert {r.placing.candidate.employee_id for r in ranking(upgraded).rows} == {"sm01", "sm02"}
    finally:
        upgraded.close()
