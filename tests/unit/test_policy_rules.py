"""Policy rules beyond points per unit: outlet-class multipliers, `when` attributes (most specific wins), caps carried on lines.

Worked numbers use policies/example.toml: points = quantity x points_per_unit x multiplier,
weighted = points x the dimension's weight (service manager: workload .40, service .35;
operations supervisor: workload .40), each rounded half-even to four places.
"""

from __future__ import annotations

from decimal import Decimal

import pytest

from points.application.policy_file import load_policy, parse_policy
from points.domain.policy import Policy, PolicyError

SM, OS = "service_manager", "operations_supervisor"


@pytest.fixture(scope="module")
def example_policy() -> Policy:
    return load_policy()


SCORES = [
    # role, kind, quantity, outlet class, attributes, rule, multiplier, points, weighted
    # customer_served: 0.5 per customer, x1.0 / x1.1 / x1.2 at classes A / B / C
    (SM, "customer_served", "10", "A", {}, "sm-customer-served", "1.0", "5.0000", "1.7500"),
    (SM, "customer_served", "10", "B", {}, "sm-customer-served", "1.1", "5.5000", "1.9250"),
    (SM, "customer_served", "10", "C", {}, "sm-customer-served", "1.2", "6.0000", "2.1000"),  # 10 x .5 x 1.2
    (SM, "customer_served", "7", "C", {}, "sm-customer-served", "1.2", "4.2000", "1.4700"),  # 4.2 x .35
    (SM, "customer_served", "10", "", {}, "sm-customer-served", "1", "5.0000", "1.7500"),  # no class: x1
    # duty_day: 10 per day, x1.1 only at class C
    (OS, "duty_day", "1", "A", {}, "os-duty-day", "1.0", "10.0000", "4.0000"),
    (OS, "duty_day", "1", "B", {}, "os-duty-day", "1.0", "10.0000", "4.0000"),
    (OS, "duty_day", "1", "C", {}, "os-duty-day", "1.1", "11.0000", "4.4000"),  # 10 x 1.1, x .40
    (OS, "duty_day", "21", "C", {}, "os-duty-day", "1.1", "231.0000", "92.4000"),
    # counter_transaction: 1 per unit, 1.5 when complexity = "high"; no multiplier at any class
    (SM, "counter_transaction", "10", "A", {"complexity": "high"}, "sm-counter-transaction-complex", "1", "15.0000", "6.0000"),
    (SM, "counter_transaction", "3", "C", {"complexity": "high"}, "sm-counter-transaction-complex", "1", "4.5000", "1.8000"),
    (SM, "counter_transaction", "10", "A", {"complexity": "low"}, "sm-counter-transaction", "1", "10.0000", "4.0000"),
    (SM, "counter_transaction", "10", "A", {"complexity": "HIGH"}, "sm-counter-transaction", "1", "10.0000", "4.0000"),
    (SM, "counter_transaction", "10", "A", {"channel": "counter"}, "sm-counter-transaction", "1", "10.0000", "4.0000"),
    (SM, "counter_transaction", "10", "C", {}, "sm-counter-transaction", "1", "10.0000", "4.0000"),
    (
        SM, "counter_transaction", "10", "A", {"complexity": "high", "channel": "counter"},
        "sm-counter-transaction-complex", "1", "15.0000", "6.0000",
    ),  # fmt: skip
]


@pytest.mark.parametrize(
    ("role", "kind", "quantity", "outlet_class", "attributes", "rule_id", "multiplier", "points", "weighted"),
    SCORES,
    ids=[f"{r[1]}x{r[2]}@{r[3] or '-'}{''.join(f'+{k}={v}' for k, v in r[4].items())}" for r in SCORES],
)
def test_example_policy_scores_multipliers_and_when_rules(
    example_policy: Policy,
    role: str,
    kind: str,
    quantity: str,
    outlet_class: str,
    attributes: dict[str, str],
    rule_id: str,
    multiplier: str,
    points: str,
    weighted: str,
) -> None:
    (line,) = example_policy.score(role, kind, Decimal(quantity), outlet_class=outlet_class, attributes=attributes)

    assert (line.rule_id, line.policy_version) == (rule_id, "2026.1")
    assert (str(line.multiplier), str(line.points), str(line.weighted_points)) == (multiplier, points, weighted)


def test_the_complex_counter_rule_is_chosen_without_looking_at_the_file_order(example_policy: Policy) -> None:
    # In example.toml the plain rule comes first; the one with a `when` key is still tried first.
    rules = example_policy.roles[SM].rules["counter_transaction"]

    assert [r.rule_id for r in rules] == ["sm-counter-transaction-complex", "sm-counter-transaction"]


def test_lines_carry_the_caps_of_their_rule(example_policy: Policy) -> None:
    (counter,) = example_policy.score(SM, "counter_transaction", Decimal(1), attributes={"complexity": "high"})
    (authorisation,) = example_policy.score(OS, "counter_authorisation", Decimal(1))
    (served,) = example_policy.score(SM, "customer_served", Decimal(1))

    assert (counter.cap_per_day, counter.cap_per_period) == (None, Decimal(3000))
    assert (authorisation.cap_per_day, authorisation.cap_per_period) == (Decimal(150), None)
    assert (served.cap_per_day, served.cap_per_period) == (None, None)


def test_lines_carry_the_weight_they_were_weighted_by(example_policy: Policy) -> None:
    (line,) = example_policy.score(SM, "customer_served", Decimal(10), outlet_class="C")

    assert (line.dimension, line.weight) == ("service", Decimal("0.35"))


# -- most specific wins -------------------------------------------------------------

LAYERED = """
version = "layers.1"
effective_from = "2026-01-01"

[roles.service_manager.dimensions]
workload = 1

[[roles.service_manager.rules]]
id = "two-keys"
kind = "counter_transaction"
when = { complexity = "high", channel = "branch" }
dimension = "workload"
points_per_unit = 3

[[roles.service_manager.rules]]
id = "plain"
kind = "counter_transaction"
dimension = "workload"
points_per_unit = 1

[[roles.service_manager.rules]]
id = "high"
kind = "counter_transaction"
when = { complexity = "high" }
dimension = "workload"
points_per_unit = 2

[[roles.service_manager.rules]]
id = "low"
kind = "counter_transaction"
when = { complexity = "low" }
dimension = "workload"
points_per_unit = 0.5
"""


@pytest.fixture(scope="module")
def layered_policy() -> Policy:
    """counter_transaction: plain 1, complexity=high 2, complexity=low 0.5, high at the branch 3 (in that file order: 3, 1, 2, 0.5)."""
    return parse_policy(LAYERED, "layered.toml")


@pytest.mark.parametrize(
    ("attributes", "rule_id", "points"),
    [
        ({}, "plain", "10.0000"),
        ({"channel": "branch"}, "plain", "10.0000"),
        ({"complexity": "high"}, "high", "20.0000"),
        ({"complexity": "low"}, "low", "5.0000"),
        ({"complexity": "low", "channel": "branch"}, "low", "5.0000"),
        ({"complexity": "high", "channel": "branch"}, "two-keys", "30.0000"),
        ({"complexity": "high", "channel": "branch", "shift": "late"}, "two-keys", "30.0000"),
        ({"complexity": "high", "channel": "online"}, "high", "20.0000"),
    ],
)
def test_the_most_specific_matching_rule_decides(
    layered_policy: Policy, attributes: dict[str, str], rule_id: str, points: str
) -> None:
    (line,) = layered_policy.score(SM, "counter_transaction", Decimal(10), attributes=attributes)

    assert (line.rule_id, str(line.points)) == (rule_id, points)


def test_a_kind_whose_rules_all_have_when_keys_has_no_rule_for_an_event_without_them() -> None:
    only_when_rules = LAYERED.split('[[roles.service_manager.rules]]\nid = "plain"')[0] + (
        '[[roles.service_manager.rules]]\nid = "high"\nkind = "counter_transaction"\n'
        'when = { complexity = "high" }\ndimension = "workload"\npoints_per_unit = 2\n'
    )  # "two-keys" and "high" only
    policy = parse_policy(only_when_rules, "t.toml")

    assert policy.rule_for(SM, "counter_transaction", {}) is None
    assert policy.rule_for(SM, "counter_transaction", {"channel": "branch"}) is None
    with pytest.raises(KeyError):
        policy.score(SM, "counter_transaction", Decimal(1), attributes={"complexity": "low"})


@pytest.mark.parametrize(
    "clashing_when",
    [
        'when = { channel = "branch" }',  # one key like "high", another key: both match high+branch
        'when = { complexity = "high" }',  # exactly the same condition as "high"
    ],
    ids=["other-key-same-count", "same-condition"],
)
def test_rules_that_an_event_could_match_equally_are_refused(clashing_when: str) -> None:
    text = LAYERED + (
        '\n[[roles.service_manager.rules]]\nid = "clash"\nkind = "counter_transaction"\n'
        f'{clashing_when}\ndimension = "workload"\npoints_per_unit = 9\n'
    )

    with pytest.raises(PolicyError) as caught:
        parse_policy(text, "t.toml")

    [(where, what)] = caught.value.problems
    assert where == "roles.service_manager.rules[4].when"
    assert "'high'" in what


def test_two_plain_rules_of_one_kind_are_refused() -> None:
    text = LAYERED + (
        '\n[[roles.service_manager.rules]]\nid = "plain-again"\nkind = "counter_transaction"\n'
        'dimension = "workload"\npoints_per_unit = 9\n'
    )

    with pytest.raises(PolicyError) as caught:
        parse_policy(text, "t.toml")

    assert [where for where, _ in caught.value.problems] == ["roles.service_manager.rules[4].when"]


@pytest.mark.parametrize(
    "bad_when",
    ['when = { Complexity = "high" }', "when = { complexity = 3 }", 'when = "high"'],
    ids=["capitalised-key", "number-value", "not-a-table"],
)
def test_a_malformed_when_is_named(bad_when: str) -> None:
    text = LAYERED.replace('when = { complexity = "low" }', bad_when)

    with pytest.raises(PolicyError) as caught:
        parse_policy(text, "t.toml")

    assert [where for where, _ in caught.value.problems] == ["roles.service_manager.rules[3].when"]


@pytest.mark.parametrize(
    ("multiplier", "place"),
    [
        ("{ A = 0 }", "multiplier.A"),
        ("{ B = -1.1 }", "multiplier.B"),
        ('{ C = "x" }', "multiplier.C"),
        ("{ a = 1.1 }", "multiplier.a"),
        ("1.1", "multiplier"),
    ],
)
def test_a_bad_multiplier_is_named(multiplier: str, place: str) -> None:
    text = LAYERED.replace('id = "plain"', f'id = "plain"\nmultiplier = {multiplier}')

    with pytest.raises(PolicyError) as caught:
        parse_policy(text, "t.toml")

    assert [where for where, _ in caught.value.problems] == [f"roles.service_manager.rules[1].{place}"]


@pytest.mark.parametrize("cap", ["cap_per_day = 0", "cap_per_period = -5", 'cap_per_day = "lots"'])
def test_a_cap_that_is_not_a_positive_number_is_named(cap: str) -> None:
    text = LAYERED.replace('id = "plain"', f'id = "plain"\n{cap}')

    with pytest.raises(PolicyError) as caught:
        parse_policy(text, "t.toml")

    assert [where for where, _ in caught.value.problems] == [f"roles.service_manager.rules[1].{cap.split(' ')[0]}"]
