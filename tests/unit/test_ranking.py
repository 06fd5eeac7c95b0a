"""The ranking rules and the pure ranking: membership, competition ranks, percentiles, cut-offs, ties and pooling.

Every expected flag below is worked by hand from the rules in domain/ranking.py. Groups are
built with `group(...)`: totals are given highest first unless the test says otherwise, and
employees are named by their place in the list (a01, a02, ...), so a test can say who is who.
"""

from __future__ import annotations

import random
from collections.abc import Sequence
from datetime import date
from decimal import Decimal

import pytest

from points.application.policy_file import example_policy_path, parse_policy
from points.domain.policy import PolicyError
from points.domain.ranking import (
    BOTTOM,
    NO_FLAG,
    TOP,
    Candidate,
    GroupKey,
    Membership,
    Placing,
    Posting,
    Ranking,
    RankingPlan,
    RankingRules,
    TieBreakValuesMissing,
    business_days,
    place,
    rank_candidates,
    rules_in_words,
)

ROLE = "operations_supervisor"
EXAMPLE = example_policy_path().read_text(encoding="utf-8")


def policy_with(ranking_table: str):  # type: ignore[no-untyped-def]
    return parse_policy(EXAMPLE + "\n[ranking]\n" + ranking_table, "test.toml")


def member(employee_id: str, total: str, outlet_class: str = "A", region: str = "", compliance: str = "0") -> Candidate:
    key = GroupKey(ROLE, outlet_class, region)
    return Candidate(employee_id, Membership(key, ((key, 22),), "only"), Decimal(total), {"compliance": Decimal(compliance)})


def group(totals: Sequence[str | int], prefix: str = "a", outlet_class: str = "A", region: str = "") -> list[Candidate]:
    return [member(f"{prefix}{i + 1:02d}", str(t), outlet_class, region) for i, t in enumerate(totals)]


def ranked(candidates: Sequence[Candidate], rules: RankingRules = RankingRules(), grouping: str = "class", negative: dict[str, int] | None = None) -> Ranking:
    return rank_candidates(candidates, rules, grouping, lambda ids: {e: (negative or {}).get(e, 0) for e in ids})


def by_id(ranking: Ranking) -> dict[str, Placing]:
    return {p.candidate.employee_id: p for p in ranking.placings}


def flagged(ranking: Ranking, flag: str) -> set[str]:
    return {p.candidate.employee_id for p in ranking.placings if p.flag == flag}


# -- the rules in the policy ------------------------------------------------------------------


def test_a_policy_without_a_ranking_table_has_the_declared_defaults() -> None:
    rules = parse_policy(EXAMPLE).ranking
    assert rules == RankingRules()
    assert (rules.top_share, rules.bottom_share, rules.rounding, rules.min_group_size) == (Decimal("0.05"), Decimal("0.05"), "floor", 20)
    assert (rules.small_groups, rules.tie_break, rules.unresolved_ties, rules.declared) == (
        "no_flags", ("compliance", "fewer_negative_events"), "flag_none", False,
    )  # fmt: skip


def test_the_ranking_table_declares_every_rule() -> None:
    rules = policy_with(
        'top_share = 0.10\nbottom_share = 0.03\nrounding = "round_half_up"\nmin_group_size = 10\n'
        'small_groups = "pool_with_parent"\ntie_break = ["fewer_negative_events", "quality"]\n'
        'unresolved_ties = "flag_all"\nbusiness_days = "calendar_days"\n'
    ).ranking
    assert rules == RankingRules(
        Decimal("0.10"), Decimal("0.03"), "round_half_up", 10, "pool_with_parent", ("fewer_negative_events", "quality"), "flag_all", "calendar_days"
    )
    assert rules.declared


def test_a_partial_table_keeps_the_defaults_for_what_it_leaves_out() -> None:
    rules = policy_with("min_group_size = 5\n").ranking
    assert rules.min_group_size == 5 and rules.tie_break == ("compliance", "fewer_negative_events") and rules.declared


def test_every_mistake_in_the_ranking_table_is_reported_at_once() -> None:
    with pytest.raises(PolicyError) as raised:
        policy_with(
            'top_share = 0.6\nbottom_share = "5%"\nrounding = "bankers"\nmin_group_size = 0\nsmall_groups = "merge"\n'
            'tie_break = ["seniority", "compliance", "compliance"]\nunresolved_ties = "coin"\nbusiness_days = "holidays"\ncolour = "red"\n'
        )
    places = sorted({where for where, _ in raised.value.problems})
    assert places == [
        "ranking.bottom_share", "ranking.business_days", "ranking.colour", "ranking.min_group_size", "ranking.rounding",
        "ranking.small_groups", "ranking.tie_break", "ranking.top_share", "ranking.unresolved_ties",
    ]  # fmt: skip
    assert sum(1 for where, _ in raised.value.problems if where == "ranking.tie_break") == 2  # unknown name, duplicate


def test_ranking_must_be_a_table() -> None:
    with pytest.raises(PolicyError) as raised:
        parse_policy(EXAMPLE.replace('weights_total = 1\n', 'weights_total = 1\nranking = 5\n'))
    assert [where for where, _ in raised.value.problems] == ["ranking"]


def test_the_rules_are_stated_in_words() -> None:
    words = " ".join(rules_in_words(RankingRules(), "class_region"))
    for phrase in ("same role and outlet class and region", "most business days", "later assignment", "1224",
                   "strictly fewer points", "rounded down", "fewer than 20", "higher compliance points, then fewer negative events",
                   "row order never decides", "these are the defaults"):  # fmt: skip
        assert phrase in words


# -- cut-off sizes ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("share", "size", "rounding", "quota"),
    [
        ("0.05", 19, "floor", 0), ("0.05", 19, "round_half_up", 1), ("0.05", 19, "ceil", 1),
        ("0.05", 20, "floor", 1), ("0.05", 20, "ceil", 1), ("0.05", 39, "floor", 1), ("0.05", 40, "floor", 2),
        ("0.05", 29, "round_half_up", 1), ("0.05", 30, "round_half_up", 2), ("0.05", 21, "ceil", 2), ("0", 100, "ceil", 0),
    ],  # fmt: skip
)
def test_the_quota_is_share_times_size_rounded_as_declared(share: str, size: int, rounding: str, quota: int) -> None:
    assert RankingRules(rounding=rounding).quota(Decimal(share), size) == quota


# -- membership -------------------------------------------------------------------------------


def posting(outlet_class: str, region: str, start: str, until: str | None = None, role: str = ROLE) -> Posting:
    return Posting(role, f"{outlet_class}-{region}", outlet_class, region, date.fromisoformat(start), date.fromisoformat(until) if until else None)


def test_business_days_are_weekdays_or_calendar_days() -> None:
    assert business_days(date(2026, 1, 1), date(2026, 1, 31), "weekdays") == 22
    assert business_days(date(2026, 1, 1), date(2026, 12, 31), "weekdays") == 261
    assert business_days(date(2026, 10, 3), date(2026, 10, 4), "weekdays") == 0  # a weekend
    assert business_days(date(2026, 1, 1), date(2026, 1, 31), "calendar_days") == 31
    assert business_days(date(2026, 2, 1), date(2026, 1, 31), "weekdays") == 0


OCTOBER = (date(2026, 10, 1), date(2026, 10, 31))  # 22 weekdays: 11 up to the 15th, 11 from the 16th


def test_an_employee_who_stayed_is_in_their_one_group() -> None:
    membership = place([posting("A", "north", "2025-03-01")], *OCTOBER, grouping="class_region", day_rule="weekdays")
    assert membership == Membership(GroupKey(ROLE, "A", "north"), ((GroupKey(ROLE, "A", "north"), 22),), "only")
    assert not membership.moved and membership.explain() == ""


def test_a_move_is_ranked_where_most_business_days_were_spent_not_where_the_employee_is_now() -> None:
    moved = [posting("A", "north", "2026-01-01", "2026-10-19"), posting("B", "south", "2026-10-19")]
    membership = place(moved, *OCTOBER, grouping="class_region", day_rule="weekdays")
    assert membership is not None
    assert membership.group == GroupKey(ROLE, "A", "north")  # 12 days (1st-16th) against 10 (19th-30th)
    assert membership.days == ((GroupKey(ROLE, "A", "north"), 12), (GroupKey(ROLE, "B", "south"), 10))
    assert membership.reason == "most_days"
    assert "12 business days in operations_supervisor A/north" in membership.explain()


def test_equal_business_days_go_to_the_later_assignment() -> None:
    moved = [posting("A", "north", "2026-01-01", "2026-10-16"), posting("B", "south", "2026-10-16")]
    membership = place(moved, *OCTOBER, grouping="class_region", day_rule="weekdays")
    assert membership is not None
    assert membership.days == ((GroupKey(ROLE, "A", "north"), 11), (GroupKey(ROLE, "B", "south"), 11))
    assert (membership.group, membership.reason) == (GroupKey(ROLE, "B", "south"), "later_assignment")
    assert "equal business days: the later assignment" in membership.explain()


def test_calendar_days_can_decide_otherwise() -> None:
    moved = [posting("A", "north", "2026-01-01", "2026-10-16"), posting("B", "south", "2026-10-16")]
    membership = place(moved, *OCTOBER, grouping="class_region", day_rule="calendar_days")
    assert membership is not None and membership.group == GroupKey(ROLE, "B", "south")  # 16 days against 15
    assert membership.reason == "most_days"


def test_a_move_between_regions_of_one_class_is_no_move_when_grouping_by_class() -> None:
    moved = [posting("A", "north", "2026-01-01", "2026-10-19"), posting("A", "south", "2026-10-19")]
    membership = place(moved, *OCTOBER, grouping="class", day_rule="weekdays")
    assert membership == Membership(GroupKey(ROLE, "A"), ((GroupKey(ROLE, "A"), 22),), "only")


def test_a_change_of_role_counts_days_per_role() -> None:
    moved = [posting("A", "north", "2026-01-01", "2026-10-28", role="service_manager"), posting("A", "north", "2026-10-28")]
    membership = place(moved, *OCTOBER, grouping="class", day_rule="weekdays")
    assert membership is not None and membership.group.role == "service_manager"  # 19 days against 3


def test_no_business_day_in_the_period_is_no_membership() -> None:
    assert place([posting("A", "north", "2026-11-02")], *OCTOBER, grouping="class", day_rule="weekdays") is None
    assert place([posting("A", "north", "2026-10-31")], *OCTOBER, grouping="class", day_rule="weekdays") is None  # a Saturday


# -- ranks and percentiles --------------------------------------------------------------------


def test_equal_points_share_a_competition_rank_and_a_percentile() -> None:
    result = by_id(ranked(group([50, 40, 40, 30, 20])))
    assert [(result[e].rank, str(result[e].percentile)) for e in ("a01", "a02", "a03", "a04", "a05")] == [
        (1, "100.00"), (2, "50.00"), (2, "50.00"), (4, "25.00"), (5, "0.00"),
    ]  # fmt: skip


def test_percentiles_are_rounded_half_up_to_two_places() -> None:
    result = by_id(ranked(group(range(7, 0, -1))))  # 7 members: k/6 x 100
    assert [str(result[f"a{i:02d}"].percentile) for i in range(1, 8)] == ["100.00", "83.33", "66.67", "50.00", "33.33", "16.67", "0.00"]


def test_a_member_alone_is_at_the_hundredth_percentile() -> None:
    (alone,) = ranked(group([3])).placings
    assert (alone.rank, alone.percentile, alone.flag) == (1, Decimal(100), NO_FLAG)


# -- the 5% lines -----------------------------------------------------------------------------


def test_a_group_of_19_flags_no_one_and_a_group_of_20_flags_one_at_each_end() -> None:
    nineteen = ranked(group(range(19, 0, -1)))
    assert flagged(nineteen, TOP) == flagged(nineteen, BOTTOM) == set()
    (outcome,) = nineteen.groups
    assert (outcome.flags_applied, outcome.top_quota, outcome.top_line) == (False, 0, None)
    assert "19 members, fewer than 20" in outcome.note and "no one is flagged" in outcome.note

    twenty = ranked(group(range(20, 0, -1)))
    assert (flagged(twenty, TOP), flagged(twenty, BOTTOM)) == ({"a01"}, {"a20"})
    (outcome,) = twenty.groups
    assert (outcome.flags_applied, outcome.top_quota, outcome.bottom_quota) == (True, 1, 1)
    assert (outcome.top_line, outcome.bottom_line) == (Decimal(20), Decimal(1))


def test_with_round_half_up_a_group_of_19_flags_one_if_the_minimum_allows() -> None:
    rules = RankingRules(rounding="round_half_up", min_group_size=10)
    result = ranked(group(range(19, 0, -1)), rules)  # 0.95 -> 1
    assert (flagged(result, TOP), flagged(result, BOTTOM)) == ({"a01"}, {"a19"})


def test_a_tie_at_the_top_line_is_decided_by_compliance_points_not_by_row_order() -> None:
    members = group([100, 100, *range(90, 72, -1)])  # 20 members; a01 and a02 tie for the one top place
    members[0] = member("a01", "100", compliance="5")
    members[1] = member("a02", "100", compliance="12")
    result = ranked(members)
    assert flagged(result, TOP) == {"a02"}
    assert by_id(result)["a01"].rank == by_id(result)["a02"].rank == 1  # the tie-break does not touch ranks
    assert by_id(result)["a03"].rank == 3


def test_equal_compliance_falls_to_fewer_negative_events() -> None:
    members = group([100, 100, *range(90, 72, -1)])
    plan = RankingPlan(members, RankingRules(), "class")
    assert plan.needs_negative_events() == {"a01", "a02"}  # only those tied at a line are looked up
    result = plan.rank({"a01": 0, "a02": 2})
    assert flagged(result, TOP) == {"a01"}
    assert (by_id(result)["a01"].negative_events, by_id(result)["a02"].negative_events) == (0, 2)
    assert by_id(result)["a03"].negative_events is None  # not tied at a line: never looked up


def test_members_equal_on_every_key_are_not_flagged_unless_the_rules_say_all() -> None:
    members = group([100, 100, *range(90, 72, -1)])
    none = ranked(members)
    assert flagged(none, TOP) == set()
    assert {p.candidate.employee_id for p in none.placings if p.unresolved_tie} == {"a01", "a02"}
    every = ranked(members, RankingRules(unresolved_ties="flag_all"))
    assert flagged(every, TOP) == {"a01", "a02"}
    assert by_id(every)["a01"].unresolved_tie


def test_a_tie_that_fits_inside_the_line_needs_no_tie_break() -> None:
    members = group([100, 100, *range(90, 52, -1)])  # 40 members: two top places, two tied members
    plan = RankingPlan(members, RankingRules(), "class")
    assert plan.needs_negative_events() == set()
    assert flagged(plan.rank({}), TOP) == {"a01", "a02"}


def test_a_tie_across_the_line_is_broken_among_the_tied_only() -> None:
    members = group([100, 90, 90, 90, *range(80, 44, -1)])  # 40 members: a01 is in; one place for three 90s
    members[1] = member("a02", "90", compliance="1")
    members[2] = member("a03", "90", compliance="3")
    members[3] = member("a04", "90", compliance="2")
    result = ranked(members)
    assert flagged(result, TOP) == {"a01", "a03"}
    assert [by_id(result)[e].rank for e in ("a01", "a02", "a03", "a04", "a05")] == [1, 2, 2, 2, 5]


def test_the_bottom_line_flags_the_worse_of_the_tied() -> None:
    members = group([*range(100, 82, -1), 10, 10])  # 20 members; a19 and a20 tie for the one bottom place
    members[18] = member("a19", "10", compliance="0")
    members[19] = member("a20", "10", compliance="-20")  # a compliance finding
    result = ranked(members)
    assert flagged(result, BOTTOM) == {"a20"}
    worse_record = ranked(group([*range(100, 82, -1), 10, 10]), negative={"a19": 3, "a20": 1})
    assert flagged(worse_record, BOTTOM) == {"a19"}


def test_no_one_is_both_top_and_bottom() -> None:
    everyone_equal = ranked(group([0] * 20))
    assert flagged(everyone_equal, TOP) == flagged(everyone_equal, BOTTOM) == set()
    assert all(p.unresolved_tie and p.rank == 1 for p in everyone_equal.placings)
    tiny = ranked(group([3, 2, 1]), RankingRules(top_share=Decimal("0.5"), bottom_share=Decimal("0.5"), rounding="ceil", min_group_size=1))
    assert (flagged(tiny, TOP), flagged(tiny, BOTTOM)) == ({"a01", "a02"}, {"a03"})


def test_the_order_of_the_input_never_changes_the_result() -> None:
    members = group([100, 100, 90, 90, 90, *range(80, 45, -1)])
    members[0] = member("a01", "100", compliance="4")
    members[1] = member("a02", "100", compliance="4")
    expected = ranked(members, negative={"a01": 1, "a02": 1})
    for seed in range(10):
        shuffled = members[:]
        random.Random(seed).shuffle(shuffled)
        assert ranked(shuffled, negative={"a01": 1, "a02": 1}) == expected


def test_a_missing_tie_break_value_is_an_error_not_a_guess() -> None:
    plan = RankingPlan(group([100, 100, *range(90, 72, -1)]), RankingRules(), "class")
    with pytest.raises(TieBreakValuesMissing):
        plan.rank({})


def test_without_the_negative_events_key_nothing_is_looked_up() -> None:
    plan = RankingPlan(group([100, 100, *range(90, 72, -1)]), RankingRules(tie_break=("compliance",)), "class")
    assert plan.needs_negative_events() == set()
    assert flagged(plan.rank({}), TOP) == set()


# -- small groups -------------------------------------------------------------------------------


def regions(north: int, south: int, outlet_class: str = "A") -> list[Candidate]:
    """`north` members of outlet_class/north with totals 1000, 999, ...; `south` members with 995.5, 994.5, ..."""
    return [member(f"{outlet_class}n{i:02d}", str(1000 - i), outlet_class, "north") for i in range(north)] + [
        member(f"{outlet_class}s{i:02d}", str(Decimal("995.5") - i), outlet_class, "south") for i in range(south)
    ]


def test_small_groups_flag_no_one_by_default() -> None:
    result = ranked(regions(25, 5), grouping="class_region")
    north, south = result.groups
    assert (north.key.text, north.flags_applied, north.top_quota) == ("A/north", True, 1)
    assert (south.key.text, south.flags_applied, south.ranked_within.text) == ("A/south", False, "A/south")
    assert not any(p.flag for p in result.placings if p.candidate.membership.group.region == "south")
    assert flagged(result, TOP) == {"An00"} and flagged(result, BOTTOM) == {"An24"}


def test_a_small_group_is_ranked_within_its_parent_when_the_policy_pools() -> None:
    rules = RankingRules(small_groups="pool_with_parent")
    result = by_id(ranked(regions(25, 5), rules, "class_region"))
    # A/south's five are ranked among all 30 of class A: 995.5 comes after 1000..996 (five members), so rank 6.
    assert (result["As00"].ranked_within.text, result["As00"].group_size, result["As00"].rank) == ("A", 30, 6)
    # The parent's lines (30 members: one at each end) decide only the pooled members' flags: A's bottom is An24
    # (976) against A/south's lowest, 991.5; so no one in A/south is flagged, and A/north keeps its own lines.
    assert not any(result[f"As{i:02d}"].flag for i in range(5))
    assert (result["An00"].flag, result["An24"].flag, result["An00"].ranked_within.text) == (TOP, BOTTOM, "A/north")


def test_a_pooled_member_beyond_the_parents_line_is_flagged() -> None:
    rules = RankingRules(small_groups="pool_with_parent")
    members = regions(25, 4) + [member("As-low", "1", "A", "south")]
    result = ranked(members, rules, "class_region")
    assert by_id(result)["As-low"].flag == BOTTOM  # the lowest of all 30 in class A
    assert by_id(result)["An24"].flag == BOTTOM  # A/north's own bottom line still applies to A/north
    south = next(g for g in result.groups if g.key.text == "A/south")
    assert (south.ranked_within.text, south.ranked_within_size, south.flags_applied, south.bottom_line) == ("A", 30, True, Decimal(1))
    assert "ranked within A (30 members)" in south.note


def test_pooling_climbs_until_a_parent_is_large_enough() -> None:
    rules = RankingRules(small_groups="pool_with_parent")
    members = regions(25, 5, "A") + regions(6, 5, "B")  # class B has 11: its groups go to the whole role (41)
    result = {g.key.text: g for g in ranked(members, rules, "class_region").groups}
    assert (result["B/north"].ranked_within.text, result["B/north"].ranked_within_size, result["B/north"].top_quota) == ("all", 41, 2)
    assert result["A/south"].ranked_within.text == "A"


def test_when_no_parent_is_large_enough_no_one_is_flagged() -> None:
    rules = RankingRules(small_groups="pool_with_parent")
    result = ranked(regions(10, 5), rules, "class_region")
    assert not any(p.flag for p in result.placings)
    assert all("no parent group is large enough" in g.note for g in result.groups)


def test_grouping_by_class_pools_into_the_whole_role() -> None:
    rules = RankingRules(small_groups="pool_with_parent")
    members = group(range(100, 75, -1), "a", "A") + group(["50", "40", "0.5"], "c", "C")
    result = ranked(members, rules)
    c = next(g for g in result.groups if g.key.text == "C")
    assert (c.ranked_within.text, c.ranked_within_size, c.bottom_quota) == ("all", 28, 1)
    assert flagged(result, BOTTOM) == {"a25", "c03"}  # A's own bottom line, and the role's for class C
