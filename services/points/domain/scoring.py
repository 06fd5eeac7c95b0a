"""Scoring a work request: who did it in which role, where, under which policy version, and the points lines it earns."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import date
from typing import Any
from decimal import Decimal


from points.domain.directory import Employee, Outlet
from points.domain.errors import Violations
from points.domain.policy import MAX_LINE_POINTS, PointsLine
from points.domain.policy_book import PolicyCatalog
from points.domain.work_request import WorkRequest


@dataclass(frozen=True)
class ScoredWork:
    """A request checked against the directory and scored by the policy in force on its date."""

    request: WorkRequest
    role: str
    outlet_id: str
    outlet_class: str
    lines: tuple[PointsLine, ...]


def total_points(lines: Iterable[PointsLine]) -> Decimal:
    """What a work event's lines earn together (weighted, before the ledger's caps)."""
    return sum((line.weighted_points for line in lines), Decimal(0))


def score_work(
    request: WorkRequest,
    *,
    employee: Employee | None,
    find_outlet: Callable[[str], Outlet | None],
    policies: PolicyCatalog,
    memo: dict[Any, tuple[PointsLine, ...]] | None = None,
) -> ScoredWork:
    """Decides who did the work in which role, where, under which policy, and what it earns.

    Raises InvalidRequest naming every field that cannot be scored.

    `memo` (optional) is a dict the caller keeps for one batch scored against this one catalog:
    it holds the lines already scored for (policy in force on the date, role, kind, attributes,
    quantity, outlet class), everything the policy's choice of rule and its arithmetic depend
    on, so a hit gives the lines a full scoring would (PointsLine is immutable, so sharing it
    is safe; the policies are the catalog's, alive as long as the memo, so their ids name them).
    Only successes are kept: a request that fails is checked in full, with the same message.
    """
    v = Violations()
    if employee is None:
        v.add("employee_id", "UNKNOWN_EMPLOYEE", f"no employee {request.employee_id!r} is registered")
        v.raise_if_any()
    assert employee is not None
    assignment = employee.assignment_on(request.occurred_on)
    if assignment is None:
        v.add(
            "occurred_on",
            "NOT_ASSIGNED_ON_DATE",
            f"employee {request.employee_id!r} has no assignment on {request.occurred_on.isoformat()} "
            f"(first assignment starts {employee.assignments[0].effective_from.isoformat()})",
        )
        v.raise_if_any()
    assert assignment is not None
    outlet_id = request.outlet_id or assignment.outlet_id
    outlet = find_outlet(outlet_id)
    policy = policies.in_force(request.occurred_on)
    key = None
    if memo is not None and outlet is not None and policy is not None:
        attributes = request.attributes
        key = (
            id(policy),  # the policy in force on the date: scoring depends on the date only through it
            assignment.role,
            request.kind,
            tuple(attributes.items()) if attributes else (),
            request.quantity,  # normalised by parse_quantity; lines are quantized, whatever its exponent
            outlet.outlet_class,
        )
        known = memo.get(key)
        if known is not None:
            return ScoredWork(
                request=request, role=assignment.role, outlet_id=outlet_id, outlet_class=outlet.outlet_class, lines=known
            )
    if outlet is None:
        v.add("outlet_id", "UNKNOWN_OUTLET", f"no outlet {outlet_id!r} is registered")
    if policy is None:
        v.add("occurred_on", "NO_POLICY_IN_FORCE", f"no points policy is in force on {request.occurred_on.isoformat()}")
    elif policy.rule_for(assignment.role, request.kind, request.attributes) is None:
        known = ", ".join(policy.kinds_for(assignment.role)) or "none"
        v.add(
            "kind",
            "UNKNOWN_KIND",
            f"policy {policy.version} has no rule for kind {request.kind!r} in role {assignment.role} (known: {known})",
        )
    v.raise_if_any()
    assert policy is not None and outlet is not None
    lines = policy.score(
        assignment.role, request.kind, request.quantity, outlet_class=outlet.outlet_class, attributes=request.attributes
    )
    if any(abs(line.points) > MAX_LINE_POINTS for line in lines):
        v.add("quantity", "POINTS_TOO_LARGE", f"this work would earn more than {MAX_LINE_POINTS} points on one line")
        v.raise_if_any()
    if key is not None:
        memo[key] = lines  # type: ignore[index]
    return ScoredWork(
        request=request,
        role=assignment.role,
        outlet_id=outlet_id,
        outlet_class=outlet.outlet_class,
        lines=lines,
    )


def check_references(
    v: Violations,
    *,
    employee_id: str | None,
    employee: Employee | None,
    occurred_on: date | None,
    kind: str | None,
    outlet_id: str | None,
    find_outlet: Callable[[str], Outlet | None],
    policies: PolicyCatalog,
) -> None:
    """The directory and policy checks score_work makes, for a request whose format is wrong
    elsewhere, so that one answer names every mistake (format and reference together).

    A field passed as None had a format mistake (already in `v`) and is not looked up; `outlet_id`
    is "" when the request named none (the employee's outlet on the date is checked then).
    """
    if employee_id is not None and employee is None:
        v.add("employee_id", "UNKNOWN_EMPLOYEE", f"no employee {employee_id!r} is registered")
    assignment = employee.assignment_on(occurred_on) if employee is not None and occurred_on is not None else None
    if employee is not None and occurred_on is not None and assignment is None:
        v.add("occurred_on", "NOT_ASSIGNED_ON_DATE", f"employee {employee_id!r} has no assignment on {occurred_on.isoformat()}")
    where = outlet_id or (assignment.outlet_id if assignment is not None and outlet_id is not None else "")
    if where and find_outlet(where) is None:
        v.add("outlet_id", "UNKNOWN_OUTLET", f"no outlet {where!r} is registered")
    if (employee_id is not None and employee is None) or (employee is not None and occurred_on is not None and assignment is None):
        return  # as score_work: no role on the date, so no policy question to ask
    policy = policies.in_force(occurred_on) if occurred_on is not None else None
    if occurred_on is not None and policy is None:
        v.add("occurred_on", "NO_POLICY_IN_FORCE", f"no points policy is in force on {occurred_on.isoformat()}")
    elif policy is not None and assignment is not None and kind is not None and kind not in policy.kinds_for(assignment.role):
        known = ", ".join(policy.kinds_for(assignment.role)) or "none"
        v.add("kind", "UNKNOWN_KIND", f"policy {policy.version} has no rule for kind {kind!r} in role {assignment.role} (known: {known})")
