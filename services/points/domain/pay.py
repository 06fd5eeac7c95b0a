"""What a point is worth: the policy's [pay] table, and a month's pay from the points booked in it.

A policy may declare, per role (and optionally per outlet class of the outlet where the work
was done), what one weighted point is worth in a currency. The ledger values each line when
it books it (the value in force on the line's business date, as published by then), so a
booked line's value never moves, like its points. A statement's pay is then

    exact   = sum over its lines of weighted points x the line's value
    gross   = exact rounded once, to the currency's minor unit, by the declared rule
    amount  = gross + what an earlier negative month carried in, floored at zero when the
              policy says "carry_forward" (the rest is carried to the next month), or paid as
              it is (negative too) when it says "pay_negative".
"""

from __future__ import annotations

import json
import re
import tomllib
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from decimal import ROUND_DOWN, ROUND_HALF_EVEN, ROUND_HALF_UP, Decimal, InvalidOperation
from typing import Any

from points.domain.values import DECIMAL_TEXT, OUTLET_CLASSES

ROUNDING = {"half_up": ROUND_HALF_UP, "half_even": ROUND_HALF_EVEN, "down": ROUND_DOWN}
CARRY_FORWARD, PAY_NEGATIVE = NEGATIVE_MONTHS = ("carry_forward", "pay_negative")
DEFAULT_CLASS = "default"  # a role's value for outlet classes it does not name
CURRENCY = re.compile(r"^[A-Z]{3}$")  # ISO 4217
MAX_POINT_VALUE = Decimal(1_000_000)
VALUE_PLACES = 6
PAY_KEYS = {"currency", "decimal_places", "rounding", "negative_months", "point_values"}


@dataclass(frozen=True)
class PayRules:
    """A policy version's [pay] table."""

    currency: str
    decimal_places: int
    rounding: str
    negative_months: str
    point_values: Mapping[str, Mapping[str, Decimal]] = field(default_factory=dict)  # role -> class or "default" -> value

    def value_of(self, role: str, outlet_class: str) -> Decimal | None:
        """What one weighted point of `role`'s work at an outlet of `outlet_class` is worth; None if not declared."""
        values = self.point_values.get(role)
        if values is None:
            return None
        value = values.get(outlet_class)
        return values.get(DEFAULT_CLASS) if value is None else value

    def round(self, amount: Decimal) -> Decimal:
        return amount.quantize(Decimal(1).scaleb(-self.decimal_places), rounding=ROUNDING[self.rounding])

    def to_json(self) -> str:
        """A canonical text of the rules (the view stores it; equal rules give equal text)."""
        values = {role: {c: str(v) for c, v in sorted(by_class.items())} for role, by_class in sorted(self.point_values.items())}
        return json.dumps(
            [self.currency, self.decimal_places, self.rounding, self.negative_months, values], separators=(",", ":"), ensure_ascii=False
        )

    @classmethod
    def from_json(cls, text: str) -> PayRules:
        currency, places, rounding, negative, values = json.loads(text)
        return cls(currency, int(places), rounding, negative, {r: {c: Decimal(v) for c, v in by.items()} for r, by in values.items()})


def pay_rules_from_document(doc: Any, roles: Iterable[str], problems: list[tuple[str, str]]) -> PayRules | None:
    """The [pay] table of a policy document (None when absent); every mistake is added to `problems`."""
    if doc is None:
        return None
    if not isinstance(doc, dict):
        problems.append(("pay", "a table with currency, decimal_places, rounding, negative_months and point_values is required"))
        return None
    before = len(problems)
    for key in sorted(set(doc) - PAY_KEYS):
        problems.append((f"pay.{key}", f"unknown key (known: {', '.join(sorted(PAY_KEYS))})"))
    currency = doc.get("currency")
    if not isinstance(currency, str) or not CURRENCY.fullmatch(currency):
        problems.append(("pay.currency", "an ISO 4217 currency code (three capital letters, e.g. CNY) is required"))
    places = doc.get("decimal_places", 2)
    if isinstance(places, bool) or not isinstance(places, int) or not 0 <= places <= 4:
        problems.append(("pay.decimal_places", f"a whole number from 0 to 4 is required, got {places!r}"))
    rounding = doc.get("rounding")
    if rounding not in ROUNDING:
        problems.append(("pay.rounding", f"one of {', '.join(ROUNDING)} is required, got {rounding!r}"))
    negative = doc.get("negative_months")
    if negative not in NEGATIVE_MONTHS:
        problems.append(
            ("pay.negative_months", f"one of {', '.join(NEGATIVE_MONTHS)} is required (what a month whose points are negative pays)")
        )
    values = _point_values(doc.get("point_values"), set(roles), problems)
    if len(problems) > before:
        return None
    assert isinstance(currency, str) and isinstance(places, int) and isinstance(rounding, str) and isinstance(negative, str)
    return PayRules(currency, places, rounding, negative, values)


def _point_values(doc: Any, roles: set[str], problems: list[tuple[str, str]]) -> dict[str, dict[str, Decimal]]:
    if not isinstance(doc, dict) or not doc:
        problems.append(("pay.point_values", "a value per role is required: a number, or a table by outlet class (A, B, C, default)"))
        return {}
    values: dict[str, dict[str, Decimal]] = {}
    for role in sorted(roles - set(doc)):
        problems.append((f"pay.point_values.{role}", f"role {role} has rules but no point value"))
    for role, raw in doc.items():
        where = f"pay.point_values.{role}"
        if role not in roles:
            problems.append((where, f"no role {role!r} in this policy"))
            continue
        by_class = raw if isinstance(raw, dict) else {DEFAULT_CLASS: raw}
        parsed: dict[str, Decimal] = {}
        for outlet_class, value in by_class.items():
            number = _value(value)
            if outlet_class not in (*OUTLET_CLASSES, DEFAULT_CLASS):
                problems.append((f"{where}.{outlet_class}", "outlet classes are A, B and C (or default)"))
            elif number is None:
                problems.append(
                    (f"{where}.{outlet_class}" if isinstance(raw, dict) else where,
                     f"a number from 0 to {MAX_POINT_VALUE} with at most {VALUE_PLACES} decimal places is required, got {value!r}")
                )  # fmt: skip
            else:
                parsed[outlet_class] = number
        if isinstance(raw, dict) and DEFAULT_CLASS not in by_class and not set(OUTLET_CLASSES) <= set(by_class):
            missing = ", ".join(c for c in OUTLET_CLASSES if c not in by_class)
            problems.append((where, f"no value for outlet class {missing}: name every class or give a default"))
        values[role] = parsed
    return values


def _value(raw: Any) -> Decimal | None:
    if isinstance(raw, bool) or not isinstance(raw, (int, Decimal, str)):
        return None
    if isinstance(raw, str) and not DECIMAL_TEXT.fullmatch(raw):  # the one decimal grammar: no "1e3", "+5", "١٢"
        return None
    try:
        number = Decimal(raw)
    except InvalidOperation:
        return None
    if not number.is_finite() or number < 0 or number > MAX_POINT_VALUE or number.as_tuple().exponent < -VALUE_PLACES:  # type: ignore[operator]
        return None
    return number


def pay_rules_of_text(document: str) -> PayRules | None:
    """The [pay] table of a published policy document (checked when it was published); None when it has none."""
    doc = tomllib.loads(document, parse_float=Decimal)
    if "pay" not in doc:
        return None
    problems: list[tuple[str, str]] = []
    rules = pay_rules_from_document(doc["pay"], doc.get("roles", {}).keys(), problems)
    if rules is None:
        raise ValueError(f"a published policy's [pay] table is invalid: {problems}")
    return rules


# -- a month's pay ---------------------------------------------------------------------------


@dataclass(frozen=True)
class MonthPay:
    """One employee's pay for one pay month (amounts in the rules' currency, rounded)."""

    month: str
    rules: PayRules
    exact: Decimal  # the value of the month's points before rounding
    gross: Decimal
    carried_in: Decimal  # <= 0: what earlier negative months left to recover
    amount: Decimal  # what to pay
    carried_forward: Decimal  # <= 0: left to recover from the next months
    unvalued_points: Decimal  # weighted points booked with no declared value (worth nothing here)


# What one pay month holds for the pay: (point value as booked, "" for none; weighted points) pairs.
ValuedPoints = Sequence[tuple[str, Decimal]]


def month_pay(month: str, booked: ValuedPoints, rules: PayRules, carried_in: Decimal) -> MonthPay:
    """The pay of one month from its booked points, the rules in force for it and what was carried in."""
    exact = sum((points * Decimal(value) for value, points in booked if value), Decimal(0))
    unvalued = sum((points for value, points in booked if not value), Decimal("0.0000"))
    gross = rules.round(exact)
    net = gross + carried_in
    if rules.negative_months == CARRY_FORWARD:
        amount, carried = max(net, Decimal(0)), min(net, Decimal(0))
    else:
        amount, carried = net, Decimal(0)
    return MonthPay(month, rules, exact, gross, rules.round(carried_in), rules.round(amount), rules.round(carried), unvalued)


def pay_history(months: Sequence[tuple[str, ValuedPoints, PayRules | None]]) -> dict[str, MonthPay]:
    """The pay of each month (in month order) of one employee, each carrying into the next.

    A month with no rules in force (no [pay] table) has no pay, and what was carried passes through it.
    """
    carried = Decimal(0)
    result: dict[str, MonthPay] = {}
    for month, booked, rules in sorted(months, key=lambda m: m[0]):
        if rules is None:
            continue
        pay = month_pay(month, booked, rules, carried)
        carried = pay.carried_forward
        result[month] = pay
    return result
