"""Policy files: each kind of mistake is named by its place and the line it is written on.

Every test writes a small policy inline (VALID, below, with its line numbers in the margin),
breaks one thing, and checks that the problem's "line N" is the line of the offending key.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from points.application.policy_file import example_policy_path, load_policy, locate, parse_policy
from points.domain.policy import PolicyError

VALID_LINES = [
    'version = "t.1"',  # 1
    'effective_from = "2026-01-01"',  # 2
    "weights_total = 1",  # 3
    "",  # 4
    "[roles.service_manager.dimensions]",  # 5
    "workload = 0.6",  # 6
    "service = 0.4",  # 7
    "",  # 8
    "[[roles.service_manager.rules]]",  # 9
    'id = "sm-ct"',  # 10
    'kind = "counter_transaction"',  # 11
    'dimension = "workload"',  # 12
    "points_per_unit = 1",  # 13
    "cap_per_day = 100",  # 14
    "",  # 15
    "[[roles.service_manager.rules]]",  # 16
    'id = "sm-cs"',  # 17
    'kind = "customer_served"',  # 18
    'dimension = "service"',  # 19
    "points_per_unit = 0.5",  # 20
    "multiplier = { A = 1.0, C = 1.2 }",  # 21
]
VALID = "\n".join(VALID_LINES) + "\n"


def edited(line: int, new_text: str, text: str = VALID) -> str:
    """`text` with its 1-based `line` replaced by `new_text` (which may span lines)."""
    lines = text.splitlines()
    lines[line - 1] = new_text
    return "\n".join(lines) + "\n"


def problems_of(text: str, source: str = "t.toml") -> list[tuple[str, str]]:
    with pytest.raises(PolicyError) as caught:
        parse_policy(text, source)
    assert caught.value.reason == "INVALID_POLICY"
    return caught.value.problems


def line_of(what: str) -> int | None:
    found = re.match(r"line (\d+): ", what)
    return int(found[1]) if found else None


def located(text: str) -> list[tuple[str, int | None]]:
    """(place, line) of every problem in `text`."""
    return [(where, line_of(what)) for where, what in problems_of(text)]


def test_the_valid_text_parses() -> None:
    policy = parse_policy(VALID, "t.toml")

    assert (policy.version, str(policy.effective_from)) == ("t.1", "2026-01-01")
    assert policy.kinds_for("service_manager") == ["counter_transaction", "customer_served"]


def test_the_shipped_example_is_valid() -> None:
    policy = load_policy(example_policy_path())

    assert policy.version == "2026.1"


def test_a_rule_with_an_unknown_dimension_is_named_at_its_dimension_line() -> None:
    text = edited(19, 'dimension = "servise"')

    [(where, what)] = problems_of(text)

    assert (where, line_of(what)) == ("roles.service_manager.rules[1].dimension", 19)
    assert "servise" in what


def test_a_negative_weight_is_named_at_its_line() -> None:
    text = edited(7, "service = -0.4")

    problems = dict(problems_of(text))

    assert line_of(problems["roles.service_manager.dimensions.service"]) == 7
    assert "-0.4" in problems["roles.service_manager.dimensions.service"]


def test_a_negative_weight_is_not_also_reported_as_a_wrong_sum() -> None:
    text = edited(7, "service = -0.4")

    assert located(text) == [("roles.service_manager.dimensions.service", 7)]


def test_a_duplicate_rule_id_is_named_at_the_second_id_line() -> None:
    text = edited(17, 'id = "sm-ct"')

    [(where, what)] = problems_of(text)

    assert (where, line_of(what)) == ("roles.service_manager.rules[1].id", 17)
    assert "'sm-ct'" in what


@pytest.mark.parametrize("bad_role", ["Service-Manager", "serviceManager", "1st_line"])
def test_a_badly_spelled_role_is_named_at_its_first_table(bad_role: str) -> None:
    text = VALID.replace("roles.service_manager", f"roles.{bad_role}")

    [(where, what)] = problems_of(text)

    assert (where, line_of(what)) == (f"roles.{bad_role}", 5)  # [roles.<bad>.dimensions]
    assert "lower_snake_case" in what


def test_a_quoted_role_name_is_named_at_its_first_table() -> None:
    text = VALID.replace("roles.service_manager", 'roles."service manager"')

    assert located(text) == [("roles.service manager", 5)]


def test_weights_that_do_not_add_up_to_weights_total_are_named_at_the_dimensions_table() -> None:
    text = edited(7, "service = 0.5")

    [(where, what)] = problems_of(text)

    # 0.6 + 0.5 = 1.1, against weights_total = 1
    assert (where, line_of(what)) == ("roles.service_manager.dimensions", 5)
    assert "1.1" in what and "weights_total" in what


@pytest.mark.parametrize("effective_from", ['"2026-02-30"', '"2026-1-5"', '"next monday"', "20260101"])
def test_a_malformed_effective_from_is_named_at_its_line(effective_from: str) -> None:
    text = edited(2, f"effective_from = {effective_from}")

    assert located(text) == [("effective_from", 2)]


def test_an_unknown_top_level_key_is_named_at_its_line() -> None:
    text = edited(3, "weights_total = 1\nowner = \"head office\"")  # owner on line 4

    [(where, what)] = problems_of(text)

    assert (where, line_of(what)) == ("owner", 4)
    assert "unknown key" in what


def test_an_unknown_rule_key_is_named_at_its_line() -> None:
    text = edited(14, "cap_per_day = 100\ncolour = \"red\"")  # colour on line 15

    [(where, what)] = problems_of(text)

    assert (where, line_of(what)) == ("roles.service_manager.rules[0].colour", 15)
    assert "unknown key" in what


def test_an_unknown_role_key_is_named_at_its_line() -> None:
    text = edited(4, "\n[roles.service_manager]\nbonus = 1\n")  # [roles.service_manager] on 5, bonus on 6

    assert located(text) == [("roles.service_manager.bonus", 6)]


def test_a_multiplier_for_class_d_is_named_at_the_multiplier_line() -> None:
    text = edited(21, "multiplier = { A = 1.0, D = 1.2 }")

    [(where, what)] = problems_of(text)

    assert (where, line_of(what)) == ("roles.service_manager.rules[1].multiplier.D", 21)
    assert "A, B and C" in what


def test_a_cap_on_a_negative_rule_is_named_at_the_cap_line() -> None:
    text = edited(13, "points_per_unit = -1")

    [(where, what)] = problems_of(text)

    assert (where, line_of(what)) == ("roles.service_manager.rules[0].cap_per_day", 14)
    assert "negative" in what


TWO_WHEN_RULES = """
[[roles.service_manager.rules]]
id = "sm-ct-high"
kind = "counter_transaction"
when = { complexity = "high" }
dimension = "workload"
points_per_unit = 1.5

[[roles.service_manager.rules]]
id = "sm-ct-branch"
kind = "counter_transaction"
when = { channel = "branch" }
dimension = "workload"
points_per_unit = 1.2
"""


def test_two_rules_of_one_kind_that_could_tie_are_named_at_the_second_when_line() -> None:
    # VALID ends on line 21; the added text starts with a blank line 22, so the second rule's
    # header is line 30 and its `when` line 33. An event with complexity=high and channel=branch
    # matches both with one key each: neither is more specific.
    text = VALID + TWO_WHEN_RULES

    [(where, what)] = problems_of(text)

    assert (where, line_of(what)) == ("roles.service_manager.rules[3].when", 33)
    assert "'sm-ct-high'" in what


def test_rules_of_one_kind_with_the_same_when_keys_and_other_values_are_allowed() -> None:
    text = VALID + TWO_WHEN_RULES.replace('when = { channel = "branch" }', 'when = { complexity = "low" }')

    policy = parse_policy(text, "t.toml")

    rule = policy.rule_for("service_manager", "counter_transaction", {"complexity": "low"})
    assert rule is not None and rule.rule_id == "sm-ct-branch"


def test_a_toml_syntax_error_names_the_file_and_line(tmp_path: Path) -> None:
    file = tmp_path / "broken.toml"
    file.write_text(edited(16, "[[roles.service_manager.rules]"), encoding="utf-8")

    with pytest.raises(PolicyError) as caught:
        load_policy(file)

    [(where, what)] = caught.value.problems
    assert where == "syntax"
    assert "line 16" in what
    assert str(file) in str(caught.value)


def test_every_problem_is_reported_at_once_each_with_its_line() -> None:
    text = edited(21, "multiplier = { D = 1.2 }", edited(17, 'id = "sm-ct"', edited(12, 'dimension = "workloud"')))

    assert located(text) == [
        ("roles.service_manager.rules[0].dimension", 12),
        ("roles.service_manager.rules[1].id", 17),
        ("roles.service_manager.rules[1].multiplier.D", 21),
    ]


def test_the_message_names_the_source_place_and_line() -> None:
    text = edited(19, 'dimension = "servise"')

    with pytest.raises(PolicyError) as caught:
        parse_policy(text, "policies/2027.toml")

    assert "policies/2027.toml: roles.service_manager.rules[1].dimension: line 19: unknown dimension" in str(caught.value)


def test_locate_finds_the_key_of_the_indexed_rule_only() -> None:
    # Both rules have an `id`; the second one's is on line 17, not the first one's line 10.
    assert locate(VALID, "roles.service_manager.rules[1].id") == 17
    assert locate(VALID, "roles.service_manager.rules[0].id") == 10
    assert locate(VALID, "roles.service_manager.rules[2].id") is None  # there is no third rule


@pytest.mark.parametrize("effective_from", ['"20260101"', '"2026-W01-4"'])
def test_an_effective_from_in_another_iso_form_is_named_at_its_line(effective_from: str) -> None:
    text = edited(2, f"effective_from = {effective_from}")

    assert located(text) == [("effective_from", 2)]


def test_a_malformed_effective_from_override_is_not_blamed_on_the_documents_line() -> None:
    with pytest.raises(PolicyError) as caught:
        parse_policy(VALID, "t.toml", effective_from="2026-13-01")

    [(where, what)] = caught.value.problems
    assert where == "effective_from"
    assert line_of(what) is None  # line 2 says "2026-01-01": the mistake is in the override


@pytest.mark.parametrize(
    ("line", "text", "place"),
    [(1, 'version = "t.1\\n"', "version"), (10, 'id = "sm\\tct"', "roles.service_manager.rules[0].id")],
    ids=["version-with-newline", "rule-id-with-tab"],
)
def test_names_with_control_characters_are_refused(line: int, text: str, place: str) -> None:
    assert located(edited(line, text)) == [(place, line)]
