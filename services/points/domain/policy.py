"""The points policy: per role, the dimensions and their weights, and the rules for each kind of work.

A policy is data (a TOML document, see policies/example.toml). Scoring is exact decimal
arithmetic with POINTS_PLACES decimal places, rounded half-even:

    points          = round(quantity x points_per_unit x multiplier[outlet class])
    weighted points = round(points x weight[dimension])

A kind of work may have several rules that match the event's attributes (`when`); the
most specific matching rule (most `when` keys) decides, and validation refuses rules
that could tie. Caps (per employee and rule, per business day and per month) limit
positive points; they depend on the events before, so the ledger applies them in log
order (see `apply_caps`), which makes them stable under replay. The comprehensive total
is the sum of weighted points, so it is exact however lines are grouped.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import ROUND_HALF_EVEN, Decimal, InvalidOperation
from typing import Any

from points.domain.errors import PointsError
from points.domain.pay import PayRules, pay_rules_from_document
from points.domain.ranking import RankingRules, ranking_rules_from_document
from points.domain.values import DECIMAL_TEXT, ISO_DATE, NAME, OUTLET_CLASSES, ROLES

POINTS_PLACES = 4  # every points figure in the service has four decimal places
MAX_LINE_POINTS = Decimal(10) ** 10  # one line's points; the ledger sums exact integers of 10^-4 points in 64 bits
MAX_POINTS_PER_UNIT = Decimal(1_000_000)
MAX_MULTIPLIER = Decimal(100)
RULE_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.\-]{0,63}")
POINTS_QUANTUM = Decimal(1).scaleb(-POINTS_PLACES)
ONE = Decimal(1)


def rounded(value: Decimal) -> Decimal:
    return value.quantize(POINTS_QUANTUM, rounding=ROUND_HALF_EVEN)


class PolicyError(PointsError):
    """A policy document is invalid; `problems` names each place (and line, when known) and what is wrong."""

    reason = "INVALID_POLICY"

    def __init__(self, source: str, problems: list[tuple[str, str]]) -> None:
        self.source = source
        self.problems = problems
        lines = "\n".join(f"  {source}: {where}: {what}" for where, what in problems)
        super().__init__(f"invalid policy {source}:\n{lines}")


@dataclass(frozen=True)
class PointsLine:
    """One rule's contribution to one work event, before caps: the lineage of its points.

    It carries everything the ledger needs (weight, caps), so balances never need the
    policy again and a rebuild reproduces them exactly.
    """

    rule_id: str
    policy_version: str
    dimension: str
    points: Decimal
    weighted_points: Decimal
    multiplier: Decimal = ONE
    weight: Decimal = ONE
    cap_per_day: Decimal | None = None
    cap_per_period: Decimal | None = None


@dataclass(frozen=True)
class Rule:
    rule_id: str
    kind: str
    dimension: str
    points_per_unit: Decimal
    when: Mapping[str, str] = field(default_factory=dict)
    multipliers: Mapping[str, Decimal] = field(default_factory=dict)  # by outlet class
    cap_per_day: Decimal | None = None
    cap_per_period: Decimal | None = None

    def matches(self, attributes: Mapping[str, str]) -> bool:
        return all(attributes.get(key) == value for key, value in self.when.items())


@dataclass(frozen=True)
class RolePolicy:
    role: str
    weights: dict[str, Decimal]
    rules: dict[str, tuple[Rule, ...]]  # by kind, most specific first

    def rule_for(self, kind: str, attributes: Mapping[str, str]) -> Rule | None:
        return next((r for r in self.rules.get(kind, ()) if r.matches(attributes)), None)


@dataclass(frozen=True)
class Policy:
    version: str
    effective_from: date
    roles: dict[str, RolePolicy] = field(default_factory=dict)
    ranking: RankingRules = field(default_factory=RankingRules)  # the optional [ranking] table (domain/ranking.py)
    pay: PayRules | None = None  # the optional [pay] table: what a point is worth (domain/pay.py)

    @staticmethod
    def rounded(value: Decimal) -> Decimal:
        return rounded(value)

    def knows_role(self, role: str) -> bool:
        return role in self.roles

    def rule_for(self, role: str, kind: str, attributes: Mapping[str, str] | None = None) -> Rule | None:
        role_policy = self.roles.get(role)
        return None if role_policy is None else role_policy.rule_for(kind, attributes or {})

    def kinds_for(self, role: str) -> list[str]:
        role_policy = self.roles.get(role)
        return sorted(role_policy.rules) if role_policy else []

    def score(
        self,
        role: str,
        kind: str,
        quantity: Decimal,
        *,
        outlet_class: str = "",
        attributes: Mapping[str, str] | None = None,
    ) -> tuple[PointsLine, ...]:
        """The points lines (before caps) for `quantity` units of `kind` done in `role`."""
        rule = self.rule_for(role, kind, attributes)
        if rule is None:
            raise KeyError((role, kind))
        weight = self.roles[role].weights[rule.dimension]
        multiplier = rule.multipliers.get(outlet_class, ONE)
        points = rounded(quantity * rule.points_per_unit * multiplier)
        return (
            PointsLine(
                rule_id=rule.rule_id,
                policy_version=self.version,
                dimension=rule.dimension,
                points=points,
                weighted_points=rounded(points * weight),
                multiplier=multiplier,
                weight=weight,
                cap_per_day=rule.cap_per_day,
                cap_per_period=rule.cap_per_period,
            ),
        )

    @classmethod
    def from_document(cls, doc: dict[str, Any], source: str = "<policy>") -> Policy:
        """Builds a policy from a parsed document, reporting every problem at once."""
        problems: list[tuple[str, str]] = []
        known = {"version", "effective_from", "weights_total", "roles", "ranking", "pay"}
        for key in sorted(set(doc) - known):
            problems.append((key, f"unknown key (known: {', '.join(sorted(known))})"))
        version = doc.get("version")
        if not isinstance(version, str) or not version.strip() or len(version) > 64 or not version.isprintable():
            problems.append(("version", "a non-empty string of at most 64 printable characters is required"))
            version = ""
        effective = doc.get("effective_from")
        if isinstance(effective, str) and ISO_DATE.fullmatch(effective):
            try:
                effective = date.fromisoformat(effective)
            except ValueError:
                pass
        if effective is None:
            problems.append(("effective_from", "a date (YYYY-MM-DD) is required"))
            effective = date.min
        elif isinstance(effective, datetime) or not isinstance(effective, date):
            problems.append(("effective_from", f"{effective!r} is not a date (YYYY-MM-DD)"))
            effective = date.min
        weights_total = None
        if "weights_total" in doc:
            weights_total = _decimal(doc["weights_total"])
            if weights_total is None or weights_total <= 0:
                problems.append(("weights_total", "a positive number is required"))
        roles_doc = doc.get("roles")
        roles: dict[str, RolePolicy] = {}
        if not isinstance(roles_doc, dict) or not roles_doc:
            problems.append(("roles", "at least one role is required"))
        else:
            seen_rule_ids: set[str] = set()
            for role, role_doc in roles_doc.items():
                parsed = _role_from_document(role, role_doc, seen_rule_ids, problems)
                if parsed is None:
                    continue
                total = sum(parsed.weights.values(), Decimal(0))
                all_weights_valid = len(parsed.weights) == len(role_doc.get("dimensions") or {})
                if weights_total is not None and parsed.weights and all_weights_valid and total != weights_total:
                    problems.append(
                        (f"roles.{role}.dimensions", f"weights sum to {total}, but weights_total declares {weights_total}")
                    )
                roles[role] = parsed
        ranking = ranking_rules_from_document(doc.get("ranking"), roles_doc, problems)
        role_names = roles_doc.keys() if isinstance(roles_doc, dict) else ()
        pay = pay_rules_from_document(doc.get("pay"), role_names, problems)
        if problems:
            raise PolicyError(source, problems)
        return cls(version=version, effective_from=effective, roles=roles, ranking=ranking, pay=pay)


def _decimal(value: Any) -> Decimal | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, str) and not DECIMAL_TEXT.fullmatch(value):
        return None  # "1e3", "+5", " 2 ": a policy's numbers follow the API's one decimal grammar
    if isinstance(value, (int, Decimal, str)):
        try:
            number = Decimal(value)
        except InvalidOperation:
            return None
        return number if number.is_finite() else None
    return None


RULE_KEYS = {"id", "kind", "dimension", "points_per_unit", "when", "multiplier", "cap_per_day", "cap_per_period"}


def _role_from_document(
    role: str, doc: Any, seen_rule_ids: set[str], problems: list[tuple[str, str]]
) -> RolePolicy | None:
    where = f"roles.{role}"
    if not NAME.fullmatch(role):
        problems.append((where, "role names are lower_snake_case"))
    elif role not in ROLES:
        problems.append((where, f"unknown role (known: {', '.join(ROLES)})"))
    if not isinstance(doc, dict):
        problems.append((where, "a table with 'dimensions' and 'rules' is required"))
        return None
    for key in sorted(set(doc) - {"dimensions", "rules"}):
        problems.append((f"{where}.{key}", "unknown key (known: dimensions, rules)"))
    weights: dict[str, Decimal] = {}
    dims = doc.get("dimensions")
    if not isinstance(dims, dict) or not dims:
        problems.append((f"{where}.dimensions", "at least one dimension with its weight is required"))
        dims = {}
    for name, raw in dims.items():
        weight = _decimal(raw)
        if not NAME.fullmatch(name):
            problems.append((f"{where}.dimensions.{name}", "dimension names are lower_snake_case"))
        if weight is None or weight < 0:
            problems.append((f"{where}.dimensions.{name}", f"weight must be a non-negative number, got {raw!r}"))
            continue
        weights[name] = weight
    declared = {name for name in dims if isinstance(name, str)}  # so one bad weight doesn't also fail its rules
    rules: dict[str, list[Rule]] = {}
    rules_doc = doc.get("rules")
    if not isinstance(rules_doc, list) or not rules_doc:
        problems.append((f"{where}.rules", "at least one rule is required"))
        rules_doc = []
    for index, rule_doc in enumerate(rules_doc):
        rule = _rule_from_document(f"{where}.rules[{index}]", rule_doc, declared, seen_rule_ids, problems)
        if rule is None:
            continue
        clash = next((r for r in rules.get(rule.kind, []) if _could_tie(r, rule)), None)
        if clash is not None:
            problems.append(
                (
                    f"{where}.rules[{index}].when",
                    f"kind {rule.kind!r} already has rule {clash.rule_id!r} that an event could match equally: "
                    "rules of one kind with the same number of 'when' keys must test the same keys",
                )
            )
            continue
        rules.setdefault(rule.kind, []).append(rule)
    ordered = {kind: tuple(sorted(rs, key=lambda r: -len(r.when))) for kind, rs in rules.items()}
    return RolePolicy(role=role, weights=weights, rules=ordered)


def _could_tie(a: Rule, b: Rule) -> bool:
    """Two rules of one kind tie when an event could match both at the same specificity."""
    if len(a.when) != len(b.when):
        return False
    if set(a.when) != set(b.when):
        return True
    return dict(a.when) == dict(b.when)


def _rule_from_document(
    here: str, doc: Any, dimensions: set[str], seen_rule_ids: set[str], problems: list[tuple[str, str]]
) -> Rule | None:
    if not isinstance(doc, dict):
        problems.append((here, "a rule is a table"))
        return None
    before = len(problems)
    for key in sorted(set(doc) - RULE_KEYS):
        problems.append((f"{here}.{key}", f"unknown key (known: {', '.join(sorted(RULE_KEYS))})"))
    rule_id, kind, dimension = doc.get("id"), doc.get("kind"), doc.get("dimension")
    if not isinstance(rule_id, str) or not RULE_ID.fullmatch(rule_id):
        problems.append((f"{here}.id", "a rule id of 1-64 letters, digits, '-', '_' or '.' is required"))
    elif rule_id in seen_rule_ids:
        problems.append((f"{here}.id", f"duplicate rule id {rule_id!r}"))
    else:
        seen_rule_ids.add(rule_id)
    if not isinstance(kind, str) or not NAME.fullmatch(kind):
        problems.append((f"{here}.kind", "a lower_snake_case kind of work is required"))
    if not isinstance(dimension, str) or dimension not in dimensions:
        problems.append((f"{here}.dimension", f"unknown dimension {dimension!r}; declare it under the role's dimensions"))
    ppu = _decimal(doc.get("points_per_unit"))
    if ppu is None or abs(ppu) > MAX_POINTS_PER_UNIT:
        problems.append((f"{here}.points_per_unit", f"a decimal number between -{MAX_POINTS_PER_UNIT} and {MAX_POINTS_PER_UNIT} is required"))
        ppu = None
    when = doc.get("when", {})
    if not isinstance(when, dict) or not all(
        isinstance(k, str) and NAME.fullmatch(k) and isinstance(v, str) for k, v in when.items()
    ):
        problems.append((f"{here}.when", "a table of lower_snake_case attribute names to string values is required"))
        when = {}
    multipliers: dict[str, Decimal] = {}
    raw_multipliers = doc.get("multiplier", {})
    if not isinstance(raw_multipliers, dict):
        problems.append((f"{here}.multiplier", "a table of outlet class (A, B, C) to a positive number is required"))
        raw_multipliers = {}
    for outlet_class, raw in raw_multipliers.items():
        value = _decimal(raw)
        if outlet_class not in OUTLET_CLASSES:
            problems.append((f"{here}.multiplier.{outlet_class}", "outlet classes are A, B and C"))
        elif value is None or value <= 0 or value > MAX_MULTIPLIER:
            problems.append((f"{here}.multiplier.{outlet_class}", f"a positive number up to {MAX_MULTIPLIER} is required, got {raw!r}"))
        else:
            multipliers[outlet_class] = value
    caps: dict[str, Decimal | None] = {}
    for cap in ("cap_per_day", "cap_per_period"):
        caps[cap] = None
        if cap in doc:
            value = _decimal(doc[cap])
            if value is None or value <= 0:
                problems.append((f"{here}.{cap}", f"a positive number of points is required, got {doc[cap]!r}"))
            elif ppu is not None and ppu < 0:
                problems.append((f"{here}.{cap}", "caps limit positive points; this rule's points are negative"))
            else:
                caps[cap] = value
    if len(problems) > before:
        return None
    assert isinstance(rule_id, str) and isinstance(kind, str) and isinstance(dimension, str) and ppu is not None
    return Rule(
        rule_id=rule_id,
        kind=kind,
        dimension=dimension,
        points_per_unit=ppu,
        when=dict(when),
        multipliers=multipliers,
        cap_per_day=caps["cap_per_day"],
        cap_per_period=caps["cap_per_period"],
    )


@dataclass(frozen=True)
class CappedLine:
    """A line after caps: what the ledger books."""

    line: PointsLine
    points: Decimal
    weighted_points: Decimal
    cap_applied: str  # "", "day" or "period"


def cap_keys(employee_id: str, line: PointsLine, day: date) -> list[tuple[str, str, str]]:
    """The usage counters a line draws on: (employee, rule, scope)."""
    keys = []
    if line.cap_per_day is not None:
        keys.append((employee_id, line.rule_id, f"day:{day.isoformat()}"))
    if line.cap_per_period is not None:
        keys.append((employee_id, line.rule_id, f"month:{day.year:04d}-{day.month:02d}"))
    return keys


def apply_caps(employee_id: str, day: date, line: PointsLine, usage: dict[tuple[str, str, str], Decimal]) -> CappedLine:
    """Books `line` against the usage so far (updated in place); call in log order."""
    points = line.points
    applied = ""
    if points > 0:
        for key, cap, name in (
            (f"day:{day.isoformat()}", line.cap_per_day, "day"),
            (f"month:{day.year:04d}-{day.month:02d}", line.cap_per_period, "period"),
        ):
            if cap is None:
                continue
            room = max(cap - usage.get((employee_id, line.rule_id, key), Decimal(0)), Decimal(0))
            if points > room:
                points, applied = room, name
        for key in cap_keys(employee_id, line, day):
            usage[key] = usage.get(key, Decimal(0)) + points
    if not applied:
        return CappedLine(line, line.points, line.weighted_points, "")
    return CappedLine(line, points, rounded(points * line.weight), applied)
