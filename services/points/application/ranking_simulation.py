"""What-ifs: who would cross the top or bottom line if a candidate policy had scored the period's events (nothing is published)."""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from decimal import Decimal
from uuid import UUID

from points.application import pages
from points.application.policy_file import parse_policy
from points.application.policy_versions import MAX_POLICY_BYTES
from points.application.ranking_requests import (
    RankingRequest,
    RulesInForce,
    memberships,
    positions_of,
    ranking_changed,
)
from points.domain.errors import FailedPrecondition, Violations
from points.domain.policy import PointsLine, Policy, apply_caps
from points.domain.ranking import (
    ZERO,
    Candidate,
    GroupKey,
    Placing,
    Posting,
    Ranking,
    RankingPlan,
    RankingRules,
)
from points.domain.work import WorkEvent

SIMULATION_EVENTS_LIMIT = 200_000


@dataclass(frozen=True)
class Move:
    """An employee whose flag differs between the current and the candidate policy."""

    employee_id: str
    group: GroupKey
    before: Placing
    after: Placing
    crossings: tuple[str, ...]  # ENTERS_TOP, LEAVES_TOP, ENTERS_BOTTOM, LEAVES_BOTTOM


@dataclass(frozen=True)
class SimulationPage:
    period: str
    role: str
    grouping: str
    current: RulesInForce
    candidate: RulesInForce
    events: int
    members: int
    moves: tuple[Move, ...]
    total_moves: int
    notes: tuple[str, ...]
    next_page_token: str
    position: int


SIMULATION_NOTES = (
    "points are recomputed from the work events with lines booked in the period's pay months, each counted once with its current facts",
    "current: each event's stored lines (as scored by the versions in force on its date, or recalculated); candidate: the candidate policy's rules for every event",
    "caps are applied again in log order to the period's events only, on both sides",
    "the candidate's own [ranking] table (or the defaults) ranks the candidate side; membership counts days by the current rules on both sides",
)


@dataclass
class _Sums:
    totals: dict[str, Decimal]
    points: dict[tuple[str, str], Decimal]  # (employee, dimension) -> points
    negative: dict[str, int]  # employee -> events with negative points


def _rescored(events: Sequence[WorkEvent], lines_of: Callable[[WorkEvent], tuple[PointsLine, ...]]) -> _Sums:
    """Per employee, the weighted total, the points per dimension and the negative events, caps applied in log order."""
    usage: dict[tuple[str, str, str], Decimal] = {}
    sums = _Sums({}, {}, {})
    for event in events:
        employee, net = event.employee_id, Decimal(0)
        for line in lines_of(event):
            booked = apply_caps(employee, event.occurred_on, line, usage)
            sums.totals[employee] = sums.totals.get(employee, ZERO) + booked.weighted_points
            key = (employee, line.dimension)
            sums.points[key] = sums.points.get(key, ZERO) + booked.points
            net += booked.points
        if net < 0:
            sums.negative[employee] = sums.negative.get(employee, 0) + 1
    return sums


def _score(policy: Policy, event: WorkEvent) -> tuple[PointsLine, ...]:
    try:
        return policy.score(event.role, event.kind, event.quantity, outlet_class=event.outlet_class, attributes=event.attributes)
    except KeyError:
        return ()  # the candidate has no rule for this work: it earns nothing


def _crossings(before: str, after: str) -> tuple[str, ...]:
    crossed = []
    for flag, name in (("TOP", "TOP"), ("BOTTOM", "BOTTOM")):
        if before != flag and after == flag:
            crossed.append(f"ENTERS_{name}")
        elif before == flag and after != flag:
            crossed.append(f"LEAVES_{name}")
    return tuple(crossed)


class RankingSimulation:
    """SimulateRanking. Mixed into Rankings: uses its app, reads, projector, tokens, _results, _request, _rules_in_force, _wait and _ranked."""

    def simulate(
        self, *, period: str, role: str, grouping: str, candidate_policy: str, source: str, page_size: int, page_token: str,
        min_position: int, timeout: float | None,
    ) -> SimulationPage:  # fmt: skip
        """Who would cross the top or bottom line if a candidate policy had scored the period's events (nothing is published)."""
        v = Violations()
        request = self._request(v, period, role, grouping)
        if not candidate_policy.strip():
            v.add("candidate_policy", "MISSING_DOCUMENT", "the candidate policy document (TOML text) is required")
        elif len(candidate_policy.encode("utf-8")) > MAX_POLICY_BYTES:
            v.add("candidate_policy", "POLICY_TOO_LARGE", f"at most {MAX_POLICY_BYTES} bytes")
        size = pages.page_size(v, page_size)
        document_digest = hashlib.sha256(candidate_policy.encode("utf-8")).hexdigest()
        query = {"simulate": period, "role": role, "grouping": request.grouping if request else grouping, "policy": document_digest}
        state = self.tokens.resume(v, page_token, query, {"p": int, "d": int, "o": int})
        v.raise_if_any()
        assert request is not None
        candidate = parse_policy(candidate_policy, source or "candidate policy")
        current = self._rules_in_force(request)
        proposed = RulesInForce(candidate.ranking, candidate.version, request.last)
        if state is None:
            positions, offset = (self._wait(min_position, timeout), self.reads.catch_up()), 0
        else:
            positions, offset = positions_of(state), int(state.get("o", 0))
        key = ("simulation", request.period.text, role, request.grouping, current.policy_version, document_digest, positions)
        result = self._results.get(key)
        if result is None:
            if state is not None and positions != (self.projector.position, self.reads.catch_up()):
                raise ranking_changed()
            result = self._results.put(key, self._simulated(request, current.rules, candidate))
        events, members, moves = result
        token = self.tokens.issue(query, {"p": positions[0], "d": positions[1], "o": offset + size}) if offset + size < len(moves) else ""
        return SimulationPage(
            period=request.period.text, role=role, grouping=request.grouping, current=current, candidate=proposed,
            events=events, members=members, moves=tuple(moves[offset : offset + size]), total_moves=len(moves),
            notes=SIMULATION_NOTES, next_page_token=token, position=positions[0],
        )  # fmt: skip

    def _simulated(self, request: RankingRequest, rules: RankingRules, candidate: Policy) -> tuple[int, int, list[Move]]:
        event_ids = self.reads.booked_events(request.role, request.first, request.last, request.period.months)
        if len(event_ids) > SIMULATION_EVENTS_LIMIT:
            raise FailedPrecondition(
                f"the period has {len(event_ids)} work events; a simulation rescores at most {SIMULATION_EVENTS_LIMIT}: "
                "simulate a shorter period",
                reason="SIMULATION_TOO_LARGE",
            )
        events = [e for e in (self.app.work_event(UUID(i)) for i in event_ids) if e is not None and not e.reversed]
        before = _rescored(events, lambda e: tuple(e.lines))
        after = _rescored(events, lambda e: _score(candidate, e))
        postings = self.reads.postings(request.role, request.first, request.last)
        current = self._rank_sums(request, rules, postings, before, day_rule=rules.business_days)
        proposed = self._rank_sums(request, candidate.ranking, postings, after, day_rule=rules.business_days)
        placed = {p.candidate.employee_id: p for p in proposed.placings}
        moves = [
            Move(p.candidate.employee_id, p.candidate.membership.group, p, placed[p.candidate.employee_id], crossings)
            for p in current.placings
            if (crossings := _crossings(p.flag, placed[p.candidate.employee_id].flag))
        ]
        return len(events), len(current.placings), moves

    def _rank_sums(
        self, request: RankingRequest, rules: RankingRules, postings: dict[str, list[Posting]], sums: _Sums, *, day_rule: str
    ) -> Ranking:
        candidates = []
        for employee, membership in memberships(request, postings, day_rule).items():
            ties = {d: sums.points.get((employee, d), ZERO) for d in rules.tie_dimensions}
            candidates.append(Candidate(employee, membership, sums.totals.get(employee, ZERO), ties))
        plan = RankingPlan(candidates, rules, request.grouping)
        return self._ranked(plan, lambda ids: {e: sums.negative.get(e, 0) for e in ids})
