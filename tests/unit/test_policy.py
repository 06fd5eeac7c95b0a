"""The points policy: the shipped example's numbers, half-even rounding, and validation of documents."""

from __future__ import annotations

import copy
import tomllib
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from points.application.policy_file import example_policy_path, load_policy
from points.domain.policy import Policy, PolicyError

# -- the shipped example ------------------------------------------------------------


@pytest.fixture(scope="module")
def example_policy() -> Policy:
    return load_policy()


def test_example_policy_is_version_2026_1_effective_from_new_year(example_policy: Policy) -> None:
    assert example_policy.version == "2026.1"
    assert example_policy.effective_from == date(2026, 1, 1)
    assert sorted(example_policy.roles) == ["operations_supervisor", "service_manager"]


def test_example_policy_parses_the_same_from_the_document(example_policy: Policy) -> None:
    document = tomllib.loads(example_policy_path().read_text(encoding="utf-8"), parse_float=Decimal)
    assert Policy.from_document(document) == example_policy


def test_example_weights_are_exact_decimals(example_policy: Policy) -> None:
    # Binary floats would make 0.40 into 0.400000000000000022...: the weights must be exact.
    assert example_policy.roles["operations_supervisor"].weights == {
        "workload": Decimal("0.40"),
        "quality": Decimal("0.20"),
        "compliance": Decimal("0.30"),
        "development": Decimal("0.10"),
    }
    assert example_policy.roles["service_manager"].weights == {
        "workload": Decimal("0.40"),
        "quality": Decimal("0.15"),
        "service": Decimal("0.35"),
        "development": Decimal("0.10"),
    }


# Worked by hand from example.toml: points = quantity x points_per_unit, weighted = points x weight,
# each rounded half-even to four places.
EXAMPLE_SCORES = [
    # role, kind, quantity, rule id, dimension, points, weighted points
    ("operations_supervisor", "duty_day", "21", "os-duty-day", "workload", "210.0000", "84.0000"),
    ("operations_supervisor", "counter_authorisation", "37", "os-counter-authorisation", "workload", "18.5000", "7.4000"),
    ("operations_supervisor", "counter_review", "7", "os-counter-review", "quality", "2.1000", "0.4200"),
    ("operations_supervisor", "counter_review", "0.123456", "os-counter-review", "quality", "0.0370", "0.0074"),
    ("operations_supervisor", "internal_control_check", "3", "os-internal-control-check", "compliance", "15.0000", "4.5000"),
    ("operations_supervisor", "compliance_finding", "1", "os-compliance-finding", "compliance", "-20.0000", "-6.0000"),
    ("operations_supervisor", "risk_incident_caught", "2", "os-risk-incident-caught", "quality", "30.0000", "6.0000"),
    ("operations_supervisor", "training_given", "1.5", "os-training-given", "development", "12.0000", "1.2000"),
    ("service_manager", "counter_transaction", "143", "sm-counter-transaction", "workload", "143.0000", "57.2000"),
    ("service_manager", "smart_machine_review", "13", "sm-smart-machine-review", "quality", "5.2000", "0.7800"),
    ("service_manager", "customer_served", "61", "sm-customer-served", "service", "30.5000", "10.6750"),
    # 0.005 x 0.35 = 0.00175: exactly half, rounds to the even 0.0018
    ("service_manager", "customer_served", "0.01", "sm-customer-served", "service", "0.0050", "0.0018"),
    # 0.015 x 0.35 = 0.00525: exactly half, rounds to the even 0.0052 (half-up would give 0.0053)
    ("service_manager", "customer_served", "0.03", "sm-customer-served", "service", "0.0150", "0.0052"),
    ("service_manager", "online_migration", "4", "sm-online-migration", "service", "8.0000", "2.8000"),
    ("service_manager", "financial_education", "3", "sm-financial-education", "development", "15.0000", "1.5000"),
    ("service_manager", "customer_commendation", "1", "sm-customer-commendation", "service", "10.0000", "3.5000"),
    ("service_manager", "justified_complaint", "1", "sm-justified-complaint", "service", "-30.0000", "-10.5000"),
]


@pytest.mark.parametrize(
    ("role", "kind", "quantity", "rule_id", "dimension", "points", "weighted"),
    EXAMPLE_SCORES,
    ids=[f"{row[1]}x{row[2]}" for row in EXAMPLE_SCORES],
)
def test_example_policy_scores_each_kind_exactly(
    example_policy: Policy, role: str, kind: str, quantity: str, rule_id: str, dimension: str, points: str, weighted: str
) -> None:
    (line,) = example_policy.score(role, kind, Decimal(quantity))
    assert line.rule_id == rule_id
    assert line.policy_version == "2026.1"
    assert line.dimension == dimension
    # str() checks the value and the four-place spelling payroll sees.
    assert str(line.points) == points
    assert str(line.weighted_points) == weighted


@pytest.mark.parametrize("role", ["operations_supervisor", "service_manager"])
def test_example_score_table_covers_every_kind_of_the_role(example_policy: Policy, role: str) -> None:
    tabled = {kind for r, kind, *_ in EXAMPLE_SCORES if r == role}
    assert tabled == set(example_policy.kinds_for(role))


# Each kind of work shared/domain.md asks the example to cover, and the kind that covers it.
DOMAIN_KINDS: dict[str, dict[str, str]] = {
    "operations_supervisor": {
        "a day on duty at an open outlet": "duty_day",
        "authorisations of counter transactions": "counter_authorisation",
        "reviews of counter transactions": "counter_review",
        "internal-control checks completed": "internal_control_check",
        "compliance findings (negative points)": "compliance_finding",
        "risk incidents caught": "risk_incident_caught",
        "training given": "training_given",
    },
    "service_manager": {
        "counter transactions handled": "counter_transaction",
        "smart-machine transactions reviewed": "smart_machine_review",
        "customers served": "customer_served",
        "customers guided to online self-service": "online_migration",
        "financial-education outreach": "financial_education",
        "customer commendations (positive)": "customer_commendation",
        "justified complaints (negative)": "justified_complaint",
    },
}
NEGATIVE_KINDS = {"compliance_finding", "justified_complaint"}


@pytest.mark.parametrize("role", sorted(DOMAIN_KINDS))
def test_example_policy_covers_every_kind_of_work_domain_md_names(example_policy: Policy, role: str) -> None:
    missing = {phrase: kind for phrase, kind in DOMAIN_KINDS[role].items() if example_policy.rule_for(role, kind) is None}
    assert missing == {}


@pytest.mark.parametrize("role", sorted(DOMAIN_KINDS))
def test_example_negative_kinds_earn_negative_points_and_the_rest_positive(example_policy: Policy, role: str) -> None:
    for kind in DOMAIN_KINDS[role].values():
        rule = example_policy.rule_for(role, kind)
        assert rule is not None
        assert (rule.points_per_unit < 0) == (kind in NEGATIVE_KINDS), kind


def test_example_kinds_belong_to_their_role_only(example_policy: Policy) -> None:
    assert example_policy.rule_for("service_manager", "duty_day") is None
    assert example_policy.rule_for("operations_supervisor", "customer_served") is None
    assert example_policy.rule_for("outlet_head", "duty_day") is None
    assert example_policy.kinds_for("outlet_head") == []
    assert not example_policy.knows_role("outlet_head")


def test_scoring_a_kind_the_role_lacks_is_a_key_error(example_policy: Policy) -> None:
    with pytest.raises(KeyError):
        example_policy.score("service_manager", "duty_day", Decimal(1))


def test_zero_quantity_earns_zero_points(example_policy: Policy) -> None:
    (line,) = example_policy.score("operations_supervisor", "duty_day", Decimal(0))
    assert str(line.points) == "0.0000"
    assert str(line.weighted_points) == "0.0000"


# -- rounding -----------------------------------------------------------------------


def one_rule_policy(points_per_unit: str, weight: str = "1") -> Policy:
    return Policy.from_document(
        {
            "version": "t1",
            "effective_from": "2026-01-01",
            "roles": {
                "service_manager": {
                    "dimensions": {"workload": Decimal(weight)},
                    "rules": [
                        {"id": "t", "kind": "task", "dimension": "workload", "points_per_unit": Decimal(points_per_unit)}
                    ],
                }
            },
        }
    )


@pytest.mark.parametrize(
    ("quantity", "points"),
    [
        ("1", "0.0000"),  # 0.00005: half, rounds to the even 0.0000 (half-up: 0.0001)
        ("3", "0.0002"),  # 0.00015: half, rounds to the even 0.0002
        ("5", "0.0002"),  # 0.00025: half, rounds to the even 0.0002 (half-up: 0.0003)
        ("7", "0.0004"),  # 0.00035: half, rounds to the even 0.0004
        ("2", "0.0001"),  # 0.00010: exact
    ],
)
def test_points_round_half_even_to_four_places(quantity: str, points: str) -> None:
    (line,) = one_rule_policy("0.00005").score("service_manager", "task", Decimal(quantity))
    assert str(line.points) == points


@pytest.mark.parametrize(("quantity", "points"), [("1", "-0.0000"), ("3", "-0.0002"), ("5", "-0.0002")])
def test_negative_points_round_half_even_symmetrically(quantity: str, points: str) -> None:
    (line,) = one_rule_policy("-0.00005").score("service_manager", "task", Decimal(quantity))
    assert line.points == Decimal(points)


@pytest.mark.parametrize(("quantity", "weighted"), [("1", "0.0000"), ("3", "0.0002"), ("5", "0.0002")])
def test_weighted_points_round_half_even_to_four_places(quantity: str, weighted: str) -> None:
    # points 0.0001 x quantity, weight 0.5: 0.00005, 0.00015, 0.00025
    (line,) = one_rule_policy("0.0001", weight="0.5").score("service_manager", "task", Decimal(quantity))
    assert str(line.weighted_points) == weighted


def test_weighted_points_come_from_the_rounded_points() -> None:
    # 0.00004 points round to 0.0000, so 0.0000 x 10 = 0.0000; the unrounded 0.00004 x 10 would give 0.0004.
    (line,) = one_rule_policy("0.00004", weight="10").score("service_manager", "task", Decimal(1))
    assert str(line.points) == "0.0000"
    assert str(line.weighted_points) == "0.0000"


# -- validation of documents ----------------------------------------------------------


def valid_document() -> dict[str, Any]:
    return {
        "version": "v1",
        "effective_from": "2026-01-01",
        "roles": {
            "operations_supervisor": {
                "dimensions": {"workload": Decimal("0.6"), "quality": Decimal("0.4")},
                "rules": [
                    {"id": "os-duty", "kind": "duty_day", "dimension": "workload", "points_per_unit": 10},
                    {"id": "os-review", "kind": "counter_review", "dimension": "quality", "points_per_unit": Decimal("0.3")},
                ],
            },
            "service_manager": {
                "dimensions": {"service": Decimal("1")},
                "rules": [{"id": "sm-served", "kind": "customer_served", "dimension": "service", "points_per_unit": "0.5"}],
            },
        },
    }


def problems_of(document: dict[str, Any]) -> list[tuple[str, str]]:
    with pytest.raises(PolicyError) as caught:
        Policy.from_document(document, source="test.toml")
    assert caught.value.reason == "INVALID_POLICY"
    return caught.value.problems


def places(problems: list[tuple[str, str]]) -> list[str]:
    return [where for where, _ in problems]


def test_valid_document_builds_a_policy() -> None:
    policy = Policy.from_document(valid_document())
    assert policy.version == "v1"
    assert policy.effective_from == date(2026, 1, 1)
    assert policy.kinds_for("operations_supervisor") == ["counter_review", "duty_day"]
    rule = policy.rule_for("service_manager", "customer_served")
    assert rule is not None and rule.points_per_unit == Decimal("0.5") and rule.rule_id == "sm-served"


def test_effective_from_may_be_a_toml_date() -> None:
    document = valid_document()
    document["effective_from"] = date(2026, 7, 1)
    assert Policy.from_document(document).effective_from == date(2026, 7, 1)


def test_rule_with_unknown_dimension_is_named() -> None:
    document = valid_document()
    document["roles"]["operations_supervisor"]["rules"][1]["dimension"] = "qualty"
    problems = problems_of(document)
    assert places(problems) == ["roles.operations_supervisor.rules[1].dimension"]
    assert "qualty" in problems[0][1]


def test_negative_weight_is_named() -> None:
    document = valid_document()
    document["roles"]["service_manager"]["dimensions"]["service"] = Decimal("-0.1")
    # Only the weight: the rule that uses the declared (if badly weighted) dimension is not blamed too.
    assert places(problems_of(document)) == ["roles.service_manager.dimensions.service"]


def test_duplicate_rule_id_across_roles_is_named() -> None:
    document = valid_document()
    document["roles"]["service_manager"]["rules"][0]["id"] = "os-duty"
    problems = problems_of(document)
    assert places(problems) == ["roles.service_manager.rules[0].id"]
    assert "os-duty" in problems[0][1]


def test_duplicate_kind_within_a_role_is_named() -> None:
    document = valid_document()
    document["roles"]["operations_supervisor"]["rules"][1]["kind"] = "duty_day"
    problems = problems_of(document)
    assert places(problems) == ["roles.operations_supervisor.rules[1].when"]
    assert "os-duty" in problems[0][1]  # names the rule that already has the kind


def test_same_kind_in_two_roles_is_allowed() -> None:
    document = valid_document()
    document["roles"]["service_manager"]["rules"][0]["kind"] = "duty_day"
    assert Policy.from_document(document).rule_for("service_manager", "duty_day") is not None


@pytest.mark.parametrize("roles", [None, {}, "operations_supervisor"])
def test_missing_roles_are_named(roles: Any) -> None:
    document = valid_document()
    if roles is None:
        del document["roles"]
    else:
        document["roles"] = roles
    assert places(problems_of(document)) == ["roles"]


@pytest.mark.parametrize("effective_from", ["2026-13-01", "first of January", ""])
def test_malformed_effective_from_is_named(effective_from: str) -> None:
    document = valid_document()
    document["effective_from"] = effective_from
    problems = problems_of(document)
    assert places(problems) == ["effective_from"]


def test_missing_effective_from_is_named() -> None:
    document = valid_document()
    del document["effective_from"]
    assert places(problems_of(document)) == ["effective_from"]


@pytest.mark.parametrize("effective_from", [20260101, datetime(2026, 1, 1, 0, 0)], ids=["integer", "datetime"])
def test_effective_from_of_the_wrong_type_is_named(effective_from: object) -> None:
    document = valid_document()
    document["effective_from"] = effective_from
    assert places(problems_of(document)) == ["effective_from"]


@pytest.mark.parametrize("version", [None, "", "  ", Decimal("2026.1")])
def test_missing_or_non_string_version_is_named(version: Any) -> None:
    document = valid_document()
    if version is None:
        del document["version"]
    else:
        document["version"] = version
    assert places(problems_of(document)) == ["version"]


@pytest.mark.parametrize("value", ["ten", "NaN", "Infinity", True, 0.5, None, [1]])
def test_non_numeric_points_per_unit_is_named(value: Any) -> None:
    # A binary float (0.5 without parse_float=Decimal) is refused too: points are exact decimals.
    document = valid_document()
    if value is None:
        del document["roles"]["operations_supervisor"]["rules"][0]["points_per_unit"]
    else:
        document["roles"]["operations_supervisor"]["rules"][0]["points_per_unit"] = value
    assert places(problems_of(document)) == ["roles.operations_supervisor.rules[0].points_per_unit"]


@pytest.mark.parametrize("role", ["Service_Manager", "service-manager", "1st_role", "service manager"])
def test_bad_role_name_is_named(role: str) -> None:
    document = valid_document()
    document["roles"][role] = document["roles"].pop("service_manager")
    assert places(problems_of(document)) == [f"roles.{role}"]


def test_bad_dimension_name_is_named() -> None:
    document = valid_document()
    document["roles"]["service_manager"]["dimensions"]["Service"] = Decimal("1")
    assert places(problems_of(document)) == ["roles.service_manager.dimensions.Service"]


def test_bad_kind_name_is_named() -> None:
    document = valid_document()
    document["roles"]["service_manager"]["rules"][0]["kind"] = "Customer-Served"
    assert places(problems_of(document)) == ["roles.service_manager.rules[0].kind"]


def test_role_without_dimensions_or_rules_is_named() -> None:
    document = valid_document()
    document["roles"]["service_manager"] = {"dimensions": {}, "rules": []}
    assert places(problems_of(document)) == [
        "roles.service_manager.dimensions",
        "roles.service_manager.rules",
    ]


def test_every_problem_is_reported_at_once() -> None:
    document = valid_document()
    del document["version"]
    document["roles"]["operations_supervisor"]["rules"][0]["points_per_unit"] = "ten"
    document["roles"]["service_manager"]["dimensions"]["service"] = Decimal("-1")
    document["roles"]["service_manager"]["rules"][0]["id"] = "os-review"
    assert places(problems_of(document)) == [
        "version",
        "roles.operations_supervisor.rules[0].points_per_unit",
        "roles.service_manager.dimensions.service",
        "roles.service_manager.rules[0].id",
    ]


def test_policy_error_message_names_the_source_and_each_place() -> None:
    document = valid_document()
    document["roles"]["operations_supervisor"]["rules"][1]["dimension"] = "qualty"
    with pytest.raises(PolicyError) as caught:
        Policy.from_document(document, source="policies/2027.toml")
    assert caught.value.source == "policies/2027.toml"
    assert "policies/2027.toml: roles.operations_supervisor.rules[1].dimension:" in str(caught.value)


def test_validation_does_not_change_the_document() -> None:
    document = valid_document()
    before = copy.deepcopy(document)
    Policy.from_document(document)
    assert document == before


# -- policy files -------------------------------------------------------------------


def test_load_policy_reports_a_toml_syntax_error_with_file_and_line(tmp_path: Path) -> None:
    file = tmp_path / "broken.toml"
    file.write_text('version = "v1"\neffective_from = "2026-01-01"\n[roles.service_manager\n', encoding="utf-8")
    with pytest.raises(PolicyError) as caught:
        load_policy(file)
    assert caught.value.source == str(file)
    [(where, what)] = caught.value.problems
    assert where == "syntax"
    assert "line 3" in what
    assert str(file) in str(caught.value)


def test_load_policy_reports_an_unreadable_file(tmp_path: Path) -> None:
    missing = tmp_path / "missing.toml"
    with pytest.raises(PolicyError) as caught:
        load_policy(missing)
    assert caught.value.source == str(missing)
    assert places(caught.value.problems) == ["file"]


def test_load_policy_reads_decimals_exactly_from_a_file(tmp_path: Path) -> None:
    file = tmp_path / "policy.toml"
    file.write_text(
        'version = "v2"\neffective_from = 2027-01-01\n'
        "[roles.service_manager.dimensions]\nservice = 0.35\n"
        '[[roles.service_manager.rules]]\nid = "sm"\nkind = "customer_served"\n'
        'dimension = "service"\npoints_per_unit = 0.1\n',
        encoding="utf-8",
    )
    policy = load_policy(file)
    assert policy.effective_from == date(2027, 1, 1)
    # 3 x 0.1 = 0.3 exactly (a float would give 0.30000000000000004); 0.3 x 0.35 = 0.105 -> 0.1050
    (line,) = policy.score("service_manager", "customer_served", Decimal(3))
    assert str(line.points) == "0.3000"
    assert str(line.weighted_points) == "0.1050"




def test_a_role_no_employee_can_hold_is_refused() -> None:
    """Employees hold one of the API's Role values; a policy for another role could never score anything."""
    document = valid_document()
    document["roles"]["teller"] = document["roles"].pop("service_manager")

    assert ("roles.teller", "unknown role (known: operations_supervisor, service_manager, outlet_head, customer_manager)") in problems_of(document)


@pytest.mark.parametrize("text", ["1e3", "+0.5", " 0.5", "0_5", "\u0663", "Infinity", ".5"])
def test_a_decimal_written_as_text_follows_the_one_grammar(text: str) -> None:
    """The API's decimal grammar holds in a policy's strings too; Decimal() alone accepts every one of these."""
    document = valid_document()
    document["roles"]["service_manager"]["rules"][0]["points_per_unit"] = text

    assert "roles.service_manager.rules[0].points_per_unit" in places(problems_of(document))


def test_a_negative_decimal_text_is_read_where_negative_makes_sense() -> None:
    document = valid_document()
    document["roles"]["service_manager"]["rules"][0]["points_per_unit"] = "-0.25"

    assert Policy.from_document(document).roles["service_manager"].rules["customer_served"][0].points_per_unit == Decimal("-0.25")
