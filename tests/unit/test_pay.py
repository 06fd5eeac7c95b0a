"""What a point is worth: the policy's [pay] table, and a month's pay (rounded once, negative months floored and carried or paid)."""

from __future__ import annotations

from datetime import datetime, timezone
from decimal import Decimal

import pytest

from points.application.policy_file import load_policy, parse_policy
from points.domain.errors import FailedPrecondition
from points.domain.pay import PayRules, month_pay, pay_history, pay_rules_of_text
from points.domain.policy import PolicyError
from points.domain.policy_book import PolicyBook
from tests.support.policy_versions import NOVEMBER_VERSION

NOW = datetime(2026, 11, 28, 9, 30, tzinfo=timezone.utc)
D = Decimal


def rules(rounding: str = "half_up", negative: str = "carry_forward", places: int = 2) -> PayRules:
    return PayRules("CNY", places, rounding, negative, {"service_manager": {"default": D("1.00")}})


def policy_with_pay(pay: str) -> str:
    """The example's 2026.2 (see tests/support/policy_versions.py) with its [pay] table replaced by `pay`."""
    return NOVEMBER_VERSION[: NOVEMBER_VERSION.index("[pay]")] + pay


# -- the [pay] table --------------------------------------------------------------------------


def test_the_example_policy_values_points_per_role_and_outlet_class() -> None:
    pay = load_policy().pay
    assert pay is not None

    assert (pay.currency, pay.decimal_places, pay.rounding, pay.negative_months) == ("CNY", 2, "half_up", "carry_forward")
    assert pay.value_of("operations_supervisor", "A") == pay.value_of("operations_supervisor", "C") == D("1.20")
    assert (pay.value_of("service_manager", "A"), pay.value_of("service_manager", "C")) == (D("1.00"), D("1.10"))
    assert pay.value_of("outlet_head", "A") is None


def test_rules_survive_their_canonical_text() -> None:
    pay = load_policy().pay
    assert pay is not None

    assert PayRules.from_json(pay.to_json()) == pay
    assert pay_rules_of_text(load_policy_text()) == pay


def load_policy_text() -> str:
    from points.application.policy_file import read_policy_file

    return read_policy_file()[0]


@pytest.mark.parametrize(
    ("pay", "where"),
    [
        ('[pay]\ncurrency = "yuan"\nrounding = "half_up"\nnegative_months = "pay_negative"\n[pay.point_values]\noperations_supervisor = 1\nservice_manager = 1\n', "pay.currency"),
        ('[pay]\ncurrency = "CNY"\nrounding = "bankers"\nnegative_months = "pay_negative"\n[pay.point_values]\noperations_supervisor = 1\nservice_manager = 1\n', "pay.rounding"),
        ('[pay]\ncurrency = "CNY"\nrounding = "down"\nnegative_months = "forget"\n[pay.point_values]\noperations_supervisor = 1\nservice_manager = 1\n', "pay.negative_months"),
        ('[pay]\ncurrency = "CNY"\nrounding = "down"\nnegative_months = "pay_negative"\n[pay.point_values]\noperations_supervisor = 1\n', "pay.point_values.service_manager"),
        ('[pay]\ncurrency = "CNY"\nrounding = "down"\nnegative_months = "pay_negative"\n[pay.point_values]\noperations_supervisor = -1\nservice_manager = 1\n', "pay.point_values.operations_supervisor"),
        ('[pay]\ncurrency = "CNY"\nrounding = "down"\nnegative_months = "pay_negative"\n[pay.point_values]\noperations_supervisor = 1\nservice_manager = { A = 1, B = 1 }\n', "pay.point_values.service_manager"),
        ('[pay]\ncurrency = "CNY"\nrounding = "down"\nnegative_months = "pay_negative"\n[pay.point_values]\noperations_supervisor = 1\nservice_manager = 1\nteller = 1\n', "pay.point_values.teller"),
        ('[pay]\ncurrency = "CNY"\nrounding = "down"\nnegative_months = "pay_negative"\ndecimal_places = 7\n[pay.point_values]\noperations_supervisor = 1\nservice_manager = 1\n', "pay.decimal_places"),
        ('[pay]\ncurrency = "CNY"\nrounding = "down"\nnegative_months = "pay_negative"\n[pay.point_values]\noperations_supervisor = 1.0000001\nservice_manager = 1\n', "pay.point_values.operations_supervisor"),
    ],
)
def test_a_wrong_pay_table_is_refused_naming_the_place_and_line(pay: str, where: str) -> None:
    text = policy_with_pay(pay)

    with pytest.raises(PolicyError) as refused:
        parse_policy(text, "p.toml")

    places = [place for place, _ in refused.value.problems]
    assert where in places
    assert all("line" in what for place, what in refused.value.problems if place == where)


# -- rounding and negative months -------------------------------------------------------------


@pytest.mark.parametrize(
    ("rounding", "exact", "gross"),
    [
        ("half_up", "10.125", "10.13"), ("half_even", "10.125", "10.12"), ("down", "10.129", "10.12"),
        ("half_up", "-10.125", "-10.13"), ("down", "-10.129", "-10.12"),
    ],
)  # fmt: skip
def test_a_month_is_rounded_once_by_the_declared_rule(rounding: str, exact: str, gross: str) -> None:
    pay = month_pay("2026-11", [("1.00", D(exact))], rules(rounding=rounding, negative="pay_negative"), D(0))

    assert (pay.exact, str(pay.gross), str(pay.amount)) == (D(exact), gross, gross)


def test_lines_are_valued_before_the_month_is_rounded_not_one_by_one() -> None:
    # three lines of 0.3333 points at 1.00: each rounds to 0.33 (0.99), the month to 1.00
    pay = month_pay("2026-11", [("1.00", D("0.3333"))] * 3, rules(), D(0))

    assert (str(pay.exact), str(pay.gross)) == ("0.999900", "1.00")


def test_points_without_a_value_are_worth_nothing_and_reported() -> None:
    pay = month_pay("2026-11", [("2.50", D("4.0000")), ("", D("3.0000"))], rules(), D(0))

    assert (str(pay.gross), str(pay.unvalued_points)) == ("10.00", "3.0000")


def test_carry_forward_floors_a_negative_month_and_recovers_the_rest_from_the_next() -> None:
    history = pay_history(
        [
            ("2026-09", [("1.00", D("10"))], rules()),
            ("2026-10", [("1.00", D("-25"))], rules()),  # -25: pays 0, carries -25
            ("2026-11", [("1.00", D("10"))], rules()),  # 10 - 25: pays 0, carries -15
            ("2026-12", [("1.00", D("40"))], rules()),  # 40 - 15: pays 25
        ]
    )

    assert [(m, str(p.gross), str(p.carried_in), str(p.amount), str(p.carried_forward)) for m, p in history.items()] == [
        ("2026-09", "10.00", "0.00", "10.00", "0.00"),
        ("2026-10", "-25.00", "0.00", "0.00", "-25.00"),
        ("2026-11", "10.00", "-25.00", "0.00", "-15.00"),
        ("2026-12", "40.00", "-15.00", "25.00", "0.00"),
    ]


def test_pay_negative_pays_a_negative_month_as_it_is() -> None:
    history = pay_history([("2026-10", [("1.00", D("-25"))], rules(negative="pay_negative")), ("2026-11", [("1.00", D("10"))], rules(negative="pay_negative"))])

    assert [(str(p.amount), str(p.carried_forward)) for p in history.values()] == [("-25.00", "0.00"), ("10.00", "0.00")]


def test_a_month_without_rules_has_no_pay_and_what_was_carried_passes_through() -> None:
    history = pay_history([("2026-09", [("1.00", D("-5"))], rules()), ("2026-10", [("", D("7"))], None), ("2026-11", [("1.00", D("8"))], rules())])

    assert sorted(history) == ["2026-09", "2026-11"]
    assert (str(history["2026-11"].carried_in), str(history["2026-11"].amount)) == ("-5.00", "3.00")


# -- across versions ---------------------------------------------------------------------------


def published(*texts: str) -> PolicyBook:
    book = PolicyBook.open(timestamp=NOW)
    for text in texts:
        book.publish(policy=parse_policy(text, "p.toml"), document=text, published_by="hq", reason="rates", timestamp=NOW)
    return book


def test_once_a_version_declares_point_values_every_later_one_must() -> None:
    without = NOVEMBER_VERSION[: NOVEMBER_VERSION.index("[pay]")]

    with pytest.raises(FailedPrecondition) as refused:
        published(load_policy_text(), without)

    assert refused.value.reason == "PAY_RULES_REQUIRED"


def test_a_later_version_cannot_pay_in_another_currency() -> None:
    dollars = NOVEMBER_VERSION.replace('currency = "CNY"', 'currency = "USD"')

    with pytest.raises(FailedPrecondition) as refused:
        published(load_policy_text(), dollars)

    assert refused.value.reason == "PAY_CURRENCY_CHANGED"


def test_a_later_version_may_change_the_values() -> None:
    dearer = NOVEMBER_VERSION.replace("operations_supervisor = 1.20", "operations_supervisor = 1.50")

    book = published(load_policy_text(), dearer)

    assert [pay_rules_of_text(p.document).value_of("operations_supervisor", "A") for p in book.publications] == [D("1.20"), D("1.50")]  # type: ignore[union-attr]
