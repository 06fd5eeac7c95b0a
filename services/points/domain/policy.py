"""The points policy: per role, the dimensions and their weights, and one rule per kind of work.

A policy is data (a TOML document, see policies/example.toml). Scoring is exact decimal
arithmetic: each line's points are quantity x points_per_unit, rounded half-even to
POINTS_PLACES decimal places; its weighted points are points x the dimension's weight,
rounded the same way. The comprehensive total is the sum of weighted points, so it is exact and
replay-stable no matter how lines are grouped.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import ROUND_HALF_EVEN, Decimal, InvalidOperation
from typing import Any

from points.domain.errors import PointsError
from points.domain.values import NAME

POINTS_PLACES = 4  # every points figure in the service has four decimal places
POINTS_QUANTUM = Decimal(1).scaleb(-POINTS_PLACES)


class PolicyError(PointsError):
    """A policy document is invalid; `problems` names each place and what is wrong."""

    reason = "INVALID_POLICY"

    def __init__(self, source: str, problems: list[tuple[str, str]]) -> None:
        self.source = source
        self.problems = problems
        lines = "\n".join(f"  {source}: {where}: {what}" for where, what in problems)
        super().__init__(f"invalid policy {source}:\n{lines}")


@dataclass(frozen=True)
class PointsLine:
    """One rule's contribution to one work event: the lineage of its points."""

    rule_id: str
    policy_version: str
    dimension: str
    points: Decimal
    weighted_points: Decimal


@dataclass(frozen=True)
class Rule:
    rule_id: str
    kind: str
    dimension: str
    points_per_unit: Decimal


@dataclass(frozen=True)
class RolePolicy:
    role: str
    weights: dict[str, Decimal]
    rules: dict[str, Rule]  # by kind


@dataclass(frozen=True)
class Policy:
    version: str
    effective_from: date
    roles: dict[str, RolePolicy] = field(default_factory=dict)

    @staticmethod
    def rounded(value: Decimal) -> Decimal:
        return value.quantize(POINTS_QUANTUM, rounding=ROUND_HALF_EVEN)

    def knows_role(self, role: str) -> bool:
        return role in self.roles

    def rule_for(self, role: str, kind: str) -> Rule | None:
        role_policy = self.roles.get(role)
        return None if role_policy is None else role_policy.rules.get(kind)

    def kinds_for(self, role: str) -> list[str]:
        role_policy = self.roles.get(role)
        return sorted(role_policy.rules) if role_policy else []

    def score(self, role: str, kind: str, quantity: Decimal) -> tuple[PointsLine, ...]:
        """The points lines for `quantity` units of `kind` done by someone in `role`."""
        rule = self.rule_for(role, kind)
        if rule is None:
            raise KeyError((role, kind))
        weight = self.roles[role].weights[rule.dimension]
        points = self.rounded(quantity * rule.points_per_unit)
        return (
            PointsLine(
                rule_id=rule.rule_id,
                policy_version=self.version,
                dimension=rule.dimension,
                points=points,
                weighted_points=self.rounded(points * weight),
            ),
        )

    @classmethod
    def from_document(cls, doc: dict[str, Any], source: str = "<policy>") -> Policy:
        """Builds a policy from a parsed document, reporting every problem at once."""
        problems: list[tuple[str, str]] = []
        version = doc.get("version")
        if not isinstance(version, str) or not version.strip():
            problems.append(("version", "a non-empty string is required"))
            version = ""
        effective = doc.get("effective_from")
        if isinstance(effective, str):
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
        roles_doc = doc.get("roles")
        roles: dict[str, RolePolicy] = {}
        if not isinstance(roles_doc, dict) or not roles_doc:
            problems.append(("roles", "at least one role is required"))
        else:
            seen_rule_ids: set[str] = set()
            for role, role_doc in roles_doc.items():
                parsed = _role_from_document(role, role_doc, seen_rule_ids, problems)
                if parsed is not None:
                    roles[role] = parsed
        if problems:
            raise PolicyError(source, problems)
        return cls(version=version, effective_from=effective, roles=roles)


def _decimal(value: Any) -> Decimal | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, (int, Decimal, str)):
        try:
            number = Decimal(value)
        except InvalidOperation:
            return None
        return number if number.is_finite() else None
    return None


def _role_from_document(
    role: str, doc: Any, seen_rule_ids: set[str], problems: list[tuple[str, str]]
) -> RolePolicy | None:
    where = f"roles.{role}"
    if not NAME.fullmatch(role):
        problems.append((where, "role names are lower_snake_case"))
    if not isinstance(doc, dict):
        problems.append((where, "a table with 'dimensions' and 'rules' is required"))
        return None
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
    rules: dict[str, Rule] = {}
    rules_doc = doc.get("rules")
    if not isinstance(rules_doc, list) or not rules_doc:
        problems.append((f"{where}.rules", "at least one rule is required"))
        rules_doc = []
    for index, rule_doc in enumerate(rules_doc):
        here = f"{where}.rules[{index}]"
        if not isinstance(rule_doc, dict):
            problems.append((here, "a rule is a table"))
            continue
        rule_id, kind, dimension = rule_doc.get("id"), rule_doc.get("kind"), rule_doc.get("dimension")
        ppu = _decimal(rule_doc.get("points_per_unit"))
        ok = True
        if not isinstance(rule_id, str) or not rule_id:
            problems.append((f"{here}.id", "a rule id is required"))
            ok = False
        elif rule_id in seen_rule_ids:
            problems.append((f"{here}.id", f"duplicate rule id {rule_id!r}"))
            ok = False
        if not isinstance(kind, str) or not NAME.fullmatch(kind):
            problems.append((f"{here}.kind", "a lower_snake_case kind of work is required"))
            ok = False
        elif kind in rules:
            problems.append((f"{here}.kind", f"kind {kind!r} already has rule {rules[kind].rule_id!r} in this role"))
            ok = False
        if not isinstance(dimension, str) or dimension not in weights:
            problems.append((f"{here}.dimension", f"unknown dimension {dimension!r}; declare it under {where}.dimensions"))
            ok = False
        if ppu is None:
            problems.append((f"{here}.points_per_unit", "a decimal number is required"))
            ok = False
        if ok:
            seen_rule_ids.add(rule_id)
            rules[kind] = Rule(rule_id=rule_id, kind=kind, dimension=dimension, points_per_unit=ppu)
    return RolePolicy(role=role, weights=weights, rules=rules)
