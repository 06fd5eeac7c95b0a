"""What the ranking use cases share: a parsed request (period, role, peer grouping), the rules in force, a ranked row and page, memberships, and the sums of a member's points."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Any

from points.domain.errors import FailedPrecondition, Violations
from points.domain.ranking import (
    ZERO,
    GroupOutcome,
    Membership,
    Placing,
    Posting,
    RankingRules,
    place,
)
from points.domain.ranking_snapshots import (
    Dimensions,
)
from points.domain.values import Period
from points.projections.rankings import Totals


@dataclass(frozen=True)
class RulesInForce:
    """The ranking rules, and the policy version (in force on `in_force_on`, the period's last day) that declares them."""

    rules: RankingRules
    policy_version: str
    in_force_on: date


@dataclass(frozen=True)
class RankingRow:
    placing: Placing
    dimensions: Dimensions


@dataclass(frozen=True)
class RankingPage:
    period: str
    role: str
    grouping: str
    rules: RulesInForce
    groups: tuple[GroupOutcome, ...]
    rows: tuple[RankingRow, ...]
    total_size: int  # rows of the whole listing (all pages)
    next_page_token: str
    position: int


@dataclass(frozen=True)
class RankingRequest:
    period: Period
    role: str
    grouping: str
    first: date
    last: date


def memberships(request: RankingRequest, postings: dict[str, list[Posting]], day_rule: str) -> dict[str, Membership]:
    """The membership rule for every employee who held the role, for those it places in the role.

    Employees with the same assignments (most of them: one outlet all year) share one decision.
    """
    decided: dict[tuple[Posting, ...], Membership | None] = {}
    members: dict[str, Membership] = {}
    for employee, held in postings.items():
        key = tuple(held)
        if key not in decided:
            decided[key] = place(key, request.first, request.last, grouping=request.grouping, day_rule=day_rule)
        membership = decided[key]
        if membership is not None and membership.group.role == request.role:
            members[employee] = membership
    return members


def totals_of(dimensions: Dimensions, tie_dimensions: Sequence[str]) -> Totals:
    return weighted_total(dimensions), {d: p for d, p, _ in dimensions if d in tie_dimensions and p}


def weighted_total(dimensions: Dimensions) -> Decimal:
    return sum((w for _, _, w in dimensions), ZERO)


def positions_of(state: dict[str, Any]) -> tuple[int, int]:
    try:
        return int(state["p"]), int(state["d"])
    except (KeyError, TypeError, ValueError):
        v = Violations()
        v.add("page_token", "INVALID_PAGE_TOKEN", "page_token is damaged; start again without it")
        v.raise_if_any()
        raise AssertionError("unreachable") from None


def ranking_changed() -> FailedPrecondition:
    return FailedPrecondition(
        "the ranking changed since the first page (new points were booked): start again from the first page, "
        "or read a published ranking, which never changes",
        reason="RANKING_CHANGED",
    )
