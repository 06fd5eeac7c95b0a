"""Publishing policy versions: effective dating, immutable versions, replays, refusals, and the retroactive-impact report.

The store starts with the example policy 2026.1 (from 2026-01-01) published on first start:
the policy book's Opened and Published are positions 1 and 2. The clock's today is 2026-11-28.
Worked numbers (service manager, workload weighted .40, service .35):
  counter_transaction x10 under 2026.1: 10 x 1 = 10 -> 4.0000; under 2026.2: 10 x 2 = 20 -> 8.0000
  counter_transaction x10, complexity high (both versions): 10 x 1.5 = 15 -> 6.0000
  customer_served x10 at class A (both versions): 10 x .5 = 5 -> 1.7500
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from decimal import Decimal

import pytest

from points.application.points import PointsApplication
from points.application.policies import AffectedBalance, RetroactiveImpact
from points.application.results import PolicyPublished, WorkRecorded
from points.domain.errors import AlreadyExists, FailedPrecondition, InvalidRequest, NotFound
from points.domain.policy import PolicyError
from points.server import PointsService
from tests.app.work_requests import log_size, settled_balance, work
from tests.support.policy_versions import EXAMPLE_VERSION, NOVEMBER_VERSION, version_of, without_rule

pytestmark = pytest.mark.usefixtures("staffed_outlet")


def publish(
    service: PointsService, document: str, *, effective_from: str = "", reason: str = "rate review", by: str = "hq"
) -> tuple[PolicyPublished, RetroactiveImpact]:
    return service.policies.publish(
        document=document, source="policy.toml", effective_from=effective_from, published_by=by, reason=reason
    )


def lines_of(recorded: WorkRecorded) -> list[tuple[str, str, str, str]]:
    return [(x.rule_id, x.policy_version, str(x.points), str(x.weighted_points)) for x in recorded.lines]


@pytest.fixture
def november_version(idle_service: PointsService) -> PolicyPublished:
    """2026.2, effective 2026-11-01, published (plain counter transactions earn 2 instead of 1)."""
    return publish(idle_service, NOVEMBER_VERSION)[0]


# -- effective dating ------------------------------------------------------------------


def test_the_first_start_published_the_example(app: PointsApplication) -> None:
    [initial] = app.policies().publications

    assert (initial.version, str(initial.effective_from), initial.book_version) == ("2026.1", "2026-01-01", 2)
    assert initial.published_by == "points serve (first start)"
    assert initial.document == EXAMPLE_VERSION


def test_publishing_a_version_appends_one_event_and_returns_its_position(
    idle_service: PointsService, app: PointsApplication
) -> None:
    before = log_size(app)

    published, _ = publish(idle_service, NOVEMBER_VERSION)

    assert (published.replayed, published.position) == (False, before + 1)
    assert (published.policy.version, str(published.policy.effective_from)) == ("2026.2", "2026-11-01")
    assert (published.policy.published_by, published.policy.reason) == ("hq", "rate review")
    assert log_size(app) == before + 1


@pytest.mark.usefixtures("november_version")
def test_an_event_is_scored_by_the_version_in_force_on_its_business_date(app: PointsApplication) -> None:
    last_of_october = app.record_work_event(work("oct-31", quantity="10", occurred_on="2026-10-31"))
    first_of_november = app.record_work_event(work("nov-01", quantity="10", occurred_on="2026-11-01"))

    assert lines_of(last_of_october) == [("sm-counter-transaction", "2026.1", "10.0000", "4.0000")]
    assert lines_of(first_of_november) == [("sm-counter-transaction", "2026.2", "20.0000", "8.0000")]


@pytest.mark.usefixtures("november_version")
def test_a_rule_the_new_version_keeps_is_scored_the_same_but_names_the_new_version(app: PointsApplication) -> None:
    served = app.record_work_event(work("nov-02", kind="customer_served", quantity="10", occurred_on="2026-11-02"))
    complex_work = replace(work("nov-03", quantity="10", occurred_on="2026-11-03"), attributes={"complexity": "high"})
    complex_counter = app.record_work_event(complex_work)

    assert lines_of(served) == [("sm-customer-served", "2026.2", "5.0000", "1.7500")]
    assert lines_of(complex_counter) == [("sm-counter-transaction-complex", "2026.2", "15.0000", "6.0000")]


@pytest.mark.usefixtures("november_version")
def test_the_booked_lines_name_the_version_that_scored_them(idle_service: PointsService) -> None:
    app = idle_service.app
    app.record_work_event(work("oct-31", quantity="10", occurred_on="2026-10-31"))
    app.record_work_event(work("nov-01", quantity="10", occurred_on="2026-11-01"))
    idle_service.projector.catch_up()

    explained = idle_service.balances.explain_balance(
        employee_id="e1", period="2026", min_position=0, page_size=0, page_token="", timeout=0
    )

    assert [(x.occurred_on, x.policy_version, x.points) for x in explained.lines] == [
        ("2026-10-31", "2026.1", 100_000),  # 10.0000
        ("2026-11-01", "2026.2", 200_000),  # 20.0000
    ]
    assert str(explained.balance.total) == "12.0000"  # 4 + 8


def test_a_version_published_by_one_service_scores_the_next_write_of_another(
    idle_service: PointsService, open_service: Callable[[], PointsService]
) -> None:
    other = open_service()  # another process on the same store, which has already read the book
    assert [p.version for p in other.app.policies().publications] == ["2026.1"]

    publish(idle_service, NOVEMBER_VERSION)
    recorded = other.app.record_work_event(work("nov-02", quantity="10", occurred_on="2026-11-02"))

    assert lines_of(recorded) == [("sm-counter-transaction", "2026.2", "20.0000", "8.0000")]


@pytest.mark.usefixtures("november_version")
@pytest.mark.parametrize(
    ("document", "effective_from"),
    [
        (version_of("2026.3", "2026-10-01"), ""),  # earlier than 2026.2
        (version_of("2026.3", "2026-11-01"), ""),  # the same day as 2026.2
        (version_of("2026.3", "2027-01-01"), "2026-06-01"),  # the override is what counts
        (version_of("2026.3", "2025-01-01"), ""),  # before even 2026.1
    ],
    ids=["earlier", "same-day", "earlier-override", "before-the-first"],
)
def test_a_version_that_does_not_take_effect_after_the_latest_is_refused(
    idle_service: PointsService, document: str, effective_from: str
) -> None:
    before = log_size(idle_service.app)

    with pytest.raises(FailedPrecondition) as refused:
        publish(idle_service, document, effective_from=effective_from)

    assert refused.value.reason == "EFFECTIVE_DATE_NOT_AFTER_LATEST"
    assert log_size(idle_service.app) == before
    assert [p.version for p in idle_service.app.policies().publications] == ["2026.1", "2026.2"]


# -- immutable versions ------------------------------------------------------------------


def test_the_same_publication_again_is_a_replay_with_the_original_position(
    idle_service: PointsService, november_version: PolicyPublished
) -> None:
    idle_service.app.record_work_event(work("w1"))  # the log moves on
    before = log_size(idle_service.app)

    again, impact = publish(idle_service, NOVEMBER_VERSION, reason="retry", by="someone else")

    assert (again.replayed, again.position) == (True, november_version.position)
    assert again.policy == november_version.policy  # the original who and why, not the retry's
    assert impact == RetroactiveImpact(0, (), False)
    assert log_size(idle_service.app) == before


def test_the_initial_example_published_again_is_a_replay(idle_service: PointsService) -> None:
    again, _ = publish(idle_service, EXAMPLE_VERSION)

    assert (again.replayed, again.position, again.policy.version) == (True, 2, "2026.1")


@pytest.mark.usefixtures("november_version")
@pytest.mark.parametrize(
    ("document", "effective_from"),
    [
        (NOVEMBER_VERSION + "# one more comment\n", ""),
        (version_of("2026.2", "2026-11-01", plain_counter_rate="3"), ""),
        (NOVEMBER_VERSION, "2026-12-01"),
    ],
    ids=["a-comment-more", "another-rate", "another-date"],
)
def test_the_same_version_with_other_content_already_exists(
    idle_service: PointsService, document: str, effective_from: str
) -> None:
    before = log_size(idle_service.app)

    with pytest.raises(AlreadyExists) as refused:
        publish(idle_service, document, effective_from=effective_from)

    assert refused.value.reason == "POLICY_VERSION_EXISTS"
    assert log_size(idle_service.app) == before


# -- refusals ------------------------------------------------------------------------------


def test_an_invalid_document_is_refused_and_nothing_is_stored(idle_service: PointsService) -> None:
    broken = NOVEMBER_VERSION.replace('dimension = "quality"', 'dimension = "qualty"', 1).replace(
        "A = 1.0, B = 1.1, C = 1.2", "A = 1.0, B = 1.1, D = 1.2"
    )
    before = log_size(idle_service.app)

    with pytest.raises(PolicyError) as refused:
        publish(idle_service, broken)

    assert [where for where, _ in refused.value.problems] == [
        "roles.operations_supervisor.rules[2].dimension",
        "roles.service_manager.rules[3].multiplier.D",
    ]
    assert log_size(idle_service.app) == before
    assert [p.version for p in idle_service.app.policies().publications] == ["2026.1"]


@pytest.mark.parametrize(
    ("reason", "by", "violations"),
    [
        ("", "hq", [("reason", "MISSING_REASON")]),
        ("  ", "hq", [("reason", "MISSING_REASON")]),
        ("rate review", "", [("published_by", "MISSING_PUBLISHED_BY")]),
        ("", "", [("published_by", "MISSING_PUBLISHED_BY"), ("reason", "MISSING_REASON")]),
    ],
)
def test_publishing_without_saying_who_and_why_is_an_invalid_request(
    idle_service: PointsService, reason: str, by: str, violations: list[tuple[str, str]]
) -> None:
    before = log_size(idle_service.app)

    with pytest.raises(InvalidRequest) as refused:
        publish(idle_service, NOVEMBER_VERSION, reason=reason, by=by)

    assert [(v.field, v.reason) for v in refused.value.violations] == violations
    assert log_size(idle_service.app) == before


@pytest.mark.parametrize(
    ("document", "effective_from", "violation"),
    [
        ("", "", ("document", "MISSING_DOCUMENT")),
        ("   \n", "", ("document", "MISSING_DOCUMENT")),
        (NOVEMBER_VERSION, "2026-11-31", ("effective_from", "MALFORMED_DATE")),
        (NOVEMBER_VERSION, "20261101", ("effective_from", "MALFORMED_DATE")),
        (NOVEMBER_VERSION + "#" * (256 * 1024), "", ("document", "POLICY_TOO_LARGE")),
    ],
    ids=["empty", "blank", "no-such-day", "basic-iso-form", "too-large"],
)
def test_a_missing_or_oversized_document_or_a_malformed_date_is_an_invalid_request(
    idle_service: PointsService, document: str, effective_from: str, violation: tuple[str, str]
) -> None:
    with pytest.raises(InvalidRequest) as refused:
        publish(idle_service, document, effective_from=effective_from)

    assert [(v.field, v.reason) for v in refused.value.violations] == [violation]


# -- reading versions -----------------------------------------------------------------------


@pytest.mark.usefixtures("november_version")
@pytest.mark.parametrize(
    ("version", "in_force_on", "found"),
    [
        ("2026.1", "", "2026.1"),
        ("2026.2", "", "2026.2"),
        ("", "2026-01-01", "2026.1"),
        ("", "2026-10-31", "2026.1"),
        ("", "2026-11-01", "2026.2"),
        ("", "2030-01-01", "2026.2"),
    ],
)
def test_a_version_is_found_by_name_or_by_the_day_it_is_in_force(
    app: PointsApplication, version: str, in_force_on: str, found: str
) -> None:
    publication, policy = app.get_policy(version=version, in_force_on=in_force_on)

    assert publication.version == policy.version == found


@pytest.mark.parametrize(("version", "in_force_on"), [("2027.9", ""), ("", "2025-12-31")])
def test_an_unknown_version_or_a_day_before_any_policy_is_not_found(
    app: PointsApplication, version: str, in_force_on: str
) -> None:
    with pytest.raises(NotFound) as missing:
        app.get_policy(version=version, in_force_on=in_force_on)

    assert missing.value.reason == "POLICY_NOT_FOUND"


@pytest.mark.parametrize(("version", "in_force_on"), [("", ""), ("2026.1", "2026-01-01")])
def test_get_policy_needs_exactly_one_selector(app: PointsApplication, version: str, in_force_on: str) -> None:
    with pytest.raises(InvalidRequest) as refused:
        app.get_policy(version=version, in_force_on=in_force_on)

    assert [(v.field, v.reason) for v in refused.value.violations] == [("version", "ONE_SELECTOR_REQUIRED")]


def test_versions_are_listed_oldest_first_a_page_at_a_time(idle_service: PointsService) -> None:
    publish(idle_service, NOVEMBER_VERSION)
    publish(idle_service, version_of("2027.1", "2027-01-01"))
    administration = idle_service.policies

    first, token = administration.list_policies(page_size=1, page_token="")
    second, token_2 = administration.list_policies(page_size=1, page_token=token)
    third, token_3 = administration.list_policies(page_size=1, page_token=token_2)

    assert [p.version for p in first + second + third] == ["2026.1", "2026.2", "2027.1"]
    assert "" not in (token, token_2) and token_3 == ""
    everything, no_token = administration.list_policies(page_size=0, page_token="")
    assert ([p.version for p in everything], no_token) == (["2026.1", "2026.2", "2027.1"], "")


def test_a_page_token_of_another_listing_is_refused(idle_service: PointsService) -> None:
    idle_service.app.record_work_event(work("w1"))
    idle_service.app.record_work_event(work("w2"))
    idle_service.projector.catch_up()
    explained = idle_service.balances.explain_balance(
        employee_id="e1", period="2026-11", min_position=0, page_size=1, page_token="", timeout=0
    )

    with pytest.raises(InvalidRequest) as refused:
        idle_service.policies.list_policies(page_size=1, page_token=explained.next_page_token)

    assert [(v.field, v.reason) for v in refused.value.violations] == [("page_token", "INVALID_PAGE_TOKEN")]


# -- retroactive publication ------------------------------------------------------------------


@pytest.fixture
def booked_november(idle_service: PointsService, staffed_outlet: None) -> None:
    """e1 and e2 (service managers at o1, class A) with work booked under 2026.1 in October and November."""
    app = idle_service.app
    app.register_employee(employee_id="e2", role="service_manager", outlet_id="o1", effective_from="2026-01-01")
    app.record_work_events(
        [
            work("e1-oct", quantity="10", occurred_on="2026-10-30"),  # 4.0000, before 2026.2
            work("e1-ct", quantity="10", occurred_on="2026-11-02"),  # 4.0000; 2026.2 would give 8.0000
            work("e1-cs", kind="customer_served", quantity="10", occurred_on="2026-11-03"),  # 1.7500 either way
            replace(work("e1-cx", quantity="10", occurred_on="2026-11-04"), attributes={"complexity": "high"}),  # 6.0000
            work("e2-cs", employee_id="e2", kind="customer_served", quantity="4", occurred_on="2026-11-05"),  # 0.7000
        ]
    )
    idle_service.projector.catch_up()


def explained(service: PointsService, employee_id: str, period: str) -> tuple[object, ...]:
    service.projector.catch_up()
    result = service.balances.explain_balance(
        employee_id=employee_id, period=period, min_position=0, page_size=1000, page_token="", timeout=0
    )
    return result.lines, result.balance.total, result.balance.dimensions


@pytest.mark.usefixtures("booked_november")
def test_a_retroactive_version_reports_the_balances_it_would_change(idle_service: PointsService) -> None:
    _, impact = publish(idle_service, NOVEMBER_VERSION)

    # November's four events were scored by 2026.1; only e1's November changes:
    # booked 4 + 1.75 + 6 = 11.75, rescored 8 + 1.75 + 6 = 15.75. e2's 0.70 stays 0.70.
    assert impact == RetroactiveImpact(
        events=4,
        balances=(AffectedBalance("e1", "2026-11", Decimal("11.7500"), Decimal("15.7500")),),
        truncated=False,
    )


@pytest.mark.usefixtures("booked_november")
def test_a_retroactive_version_rewrites_no_booked_line(idle_service: PointsService) -> None:
    before = {key: explained(idle_service, *key) for key in [("e1", "2026-11"), ("e1", "2026-10"), ("e2", "2026-11")]}
    balances_before = {key: settled_balance(idle_service, *key).total for key in before}

    publish(idle_service, NOVEMBER_VERSION)

    assert {key: explained(idle_service, *key) for key in before} == before
    assert {key: settled_balance(idle_service, *key).total for key in before} == balances_before
    assert balances_before[("e1", "2026-11")] == Decimal("11.7500")


@pytest.mark.usefixtures("booked_november")
def test_a_version_taking_effect_after_today_reports_no_impact(idle_service: PointsService) -> None:
    _, impact = publish(idle_service, version_of("2026.2", "2026-11-29", plain_counter_rate="2"))

    assert impact == RetroactiveImpact(0, (), False)


@pytest.mark.usefixtures("booked_november")
def test_a_retroactive_version_that_changes_nothing_booked_lists_no_balance(idle_service: PointsService) -> None:
    unchanged_rates = version_of("2026.2", "2026-11-01")  # only the name and date differ from 2026.1

    _, impact = publish(idle_service, unchanged_rates)

    assert impact == RetroactiveImpact(events=4, balances=(), truncated=False)


# -- what a version covers --------------------------------------------------------------------

OUTLET_HEAD_RULES = """
outlet_head = 2.00  # a point value, in the example's [pay.point_values] table, which ends it

[roles.outlet_head.dimensions]
results = 1

[[roles.outlet_head.rules]]
id = "oh-branch-review"
kind = "branch_review"
dimension = "results"
points_per_unit = 4
"""


def test_a_role_a_later_version_adds_is_scored_from_its_effective_date(idle_service: PointsService) -> None:
    app = idle_service.app
    publish(idle_service, NOVEMBER_VERSION + OUTLET_HEAD_RULES)
    app.register_employee(employee_id="h1", role="outlet_head", outlet_id="o1", effective_from="2026-10-01")

    recorded = app.record_work_event(work("h1-nov", employee_id="h1", kind="branch_review", quantity="3", occurred_on="2026-11-02"))
    with pytest.raises(InvalidRequest) as before_it:
        app.record_work_event(work("h1-oct", employee_id="h1", kind="branch_review", occurred_on="2026-10-30"))

    assert lines_of(recorded) == [("oh-branch-review", "2026.2", "12.0000", "12.0000")]  # 3 x 4, weight 1
    assert [(v.field, v.reason) for v in before_it.value.violations] == [("kind", "UNKNOWN_KIND")]
    assert "policy 2026.1 has no rule" in before_it.value.message


def test_a_kind_a_later_version_drops_is_unknown_from_its_effective_date(idle_service: PointsService) -> None:
    app = idle_service.app
    publish(idle_service, without_rule(NOVEMBER_VERSION, "sm-online-migration"))

    october = app.record_work_event(work("oct", kind="online_migration", occurred_on="2026-10-30"))
    with pytest.raises(InvalidRequest) as refused:
        app.record_work_event(work("nov", kind="online_migration", occurred_on="2026-11-02"))

    assert lines_of(october) == [("sm-online-migration", "2026.1", "2.0000", "0.7000")]
    assert [(v.field, v.reason) for v in refused.value.violations] == [("kind", "UNKNOWN_KIND")]


def test_work_dated_before_the_first_version_has_no_policy_in_force(idle_service: PointsService) -> None:
    app = idle_service.app
    app.register_employee(employee_id="e0", role="service_manager", outlet_id="o1", effective_from="2025-06-01")

    with pytest.raises(InvalidRequest) as refused:
        app.record_work_event(work("old", employee_id="e0", occurred_on="2025-12-31"))

    assert [(v.field, v.reason) for v in refused.value.violations] == [("occurred_on", "NO_POLICY_IN_FORCE")]
