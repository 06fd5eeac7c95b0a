"""Peer-group rankings: live rankings, frozen publications, and what-ifs under a candidate policy.

The rules are the [ranking] table of the policy in force on the period's last day (its
defaults when the table is absent). Inputs: every employee with an assignment in the role
during the period (from the directory tables; those without points are ranked with 0) and
their comprehensive points booked in the period's pay months (the ledger view). A live
ranking is computed once per view position and kept for its later pages; a publication
freezes inputs, rules and result in the event log, where late events never reach it.

The live ranking is here; publications are in ranking_publications.py, what-ifs in
ranking_simulation.py, the parts they share in ranking_requests.py.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable, Hashable
from datetime import date, timedelta
from typing import Any, TypeVar
from uuid import UUID

from eventsourcing.application import AggregateNotFoundError

from points.application import pages
from points.application.pages import PageTokens
from points.application.points import PointsApplication
from points.application.ranking_publications import RankingPublications
from points.application.ranking_requests import (
    RankingPage,
    RankingRequest,
    RankingRow,
    RulesInForce,
    memberships,
    positions_of,
    ranking_changed,
    weighted_total,
)
from points.application.ranking_simulation import RankingSimulation
from points.domain.errors import FailedPrecondition, NotYetVisible, Violations
from points.domain.ranking import (
    GROUPINGS,
    ZERO,
    Candidate,
    Posting,
    Ranking,
    RankingPlan,
    RankingRules,
    TieBreakValuesMissing,
)
from points.domain.values import NAME, Period, check_text
from points.projections.projector import BalanceProjector
from points.projections.rankings import RankingReads, Totals

DEFAULT_WAIT = 10.0  # seconds a read waits for min_position when the caller sets no deadline
CACHED_RESULTS = 2  # live rankings and simulations kept for their later pages (about 200 MB each for 400,000 members)
T = TypeVar("T")


class _Results:
    """A few computed results, by the query and the view positions they reflect."""

    def __init__(self, size: int = CACHED_RESULTS) -> None:
        self._items: OrderedDict[Hashable, Any] = OrderedDict()
        self._lock = threading.Lock()
        self.size = size

    def get(self, key: Hashable) -> Any:
        with self._lock:
            if key in self._items:
                self._items.move_to_end(key)
                return self._items[key]
        return None

    def drop(self, key: Hashable) -> None:
        with self._lock:
            self._items.pop(key, None)

    def put(self, key: Hashable, value: T) -> T:
        with self._lock:
            self._items[key] = value
            while len(self._items) > self.size:
                self._items.popitem(last=False)
        return value


class Rankings(RankingPublications, RankingSimulation):
    """The ranking use cases; plain data out."""

    def __init__(self, *, app: PointsApplication, reads: RankingReads, projector: BalanceProjector, tokens: PageTokens) -> None:
        self.tokens = tokens
        self.app = app
        self.reads = reads
        self.projector = projector
        self._results = _Results()

    # -- live rankings -------------------------------------------------------------------------

    def get_ranking(
        self, *, period: str, role: str, grouping: str, group: str, page_size: int, page_token: str, min_position: int, timeout: float | None
    ) -> RankingPage:
        """A role's ranking for a month, quarter or year, by peer group; every page as of the first page's positions."""
        v = Violations()
        request = self._request(v, period, role, grouping)
        if min_position < 0:
            v.add("min_position", "NEGATIVE_POSITION", "min_position must be 0 or a position returned by a write")
        check_text(v, "group", group, limit=80)
        size = pages.page_size(v, page_size)
        query = {"ranking": period, "role": role, "grouping": request.grouping if request else grouping, "group": group}
        state = self.tokens.resume(v, page_token, query, {"p": int, "d": int, "o": int})
        v.raise_if_any()
        assert request is not None
        rules = self._rules_in_force(request)
        offset = int(state.get("o", 0)) if state else 0
        for attempt in range(3):
            if state is None:
                positions = (self._wait(min_position, timeout), self.reads.catch_up())
            else:
                positions = positions_of(state)
            ranking = self._live(request, rules, positions, resumed=state is not None)
            rows = [p for p in ranking.placings if not group or p.candidate.membership.group.text == group]
            chunk = rows[offset : offset + size]
            dimensions = self.reads.dimensions((p.candidate.employee_id for p in chunk), request.period.months)
            if all(weighted_total(dimensions.get(p.candidate.employee_id, ())) == p.candidate.total for p in chunk):
                break
            # The view moved on between reading the totals and the dimensions: the page would not add up.
            if state is not None:
                raise ranking_changed()
            self._results.drop(("ranking", request.period.text, request.role, request.grouping, rules.policy_version, positions))
        else:
            raise NotYetVisible("the balance view kept moving while the ranking was read; retry")
        token = ""
        if offset + size < len(rows):
            token = self.tokens.issue(query, {"p": positions[0], "d": positions[1], "o": offset + size})
        return RankingPage(
            period=request.period.text,
            role=role,
            grouping=request.grouping,
            rules=rules,
            groups=ranking.groups,
            rows=tuple(RankingRow(p, dimensions.get(p.candidate.employee_id, ())) for p in chunk),
            total_size=len(rows),
            next_page_token=token,
            position=positions[0],
        )

    def _live(self, request: RankingRequest, rules: RulesInForce, positions: tuple[int, int], *, resumed: bool) -> Ranking:
        key = ("ranking", request.period.text, request.role, request.grouping, rules.policy_version, positions)
        cached = self._results.get(key)
        if cached is not None:
            return cached  # type: ignore[no-any-return]
        if resumed and positions != (self.projector.position, self.reads.catch_up()):
            raise ranking_changed()
        return self._results.put(key, self.rank(request, rules.rules))

    def rank(
        self,
        request: RankingRequest,
        rules: RankingRules,
        *,
        postings: dict[str, list[Posting]] | None = None,
        totals: dict[str, Totals] | None = None,
    ) -> Ranking:
        """Ranks the role's employees by the points booked in the period's pay months (read here unless given)."""
        if postings is None:
            postings = self.reads.postings(request.role, request.first, request.last)
        if totals is None:
            totals = self.reads.totals(request.role, request.first, request.last, request.period.months, rules.tie_dimensions)
        none: Totals = (ZERO, {})
        candidates = [
            Candidate(employee, membership, *totals.get(employee, none))
            for employee, membership in memberships(request, postings, rules.business_days).items()
        ]
        return self._ranked(RankingPlan(candidates, rules, request.grouping), lambda ids: self.reads.negative_events(ids, request.period.months))

    @staticmethod
    def _ranked(plan: RankingPlan, negative_events: Callable[[set[str]], dict[str, int]]) -> Ranking:
        needed = plan.needs_negative_events()
        try:
            return plan.rank(negative_events(needed) if needed else {})
        except TieBreakValuesMissing:  # a line moved when the top flags were settled: look up every member of the role
            everyone = {c.employee_id for members in plan.members.values() for c in members}
            return plan.rank(negative_events(everyone))

    # -- publications ---------------------------------------------------------------------------








    # -- what-if ----------------------------------------------------------------------------------


    # -- shared ---------------------------------------------------------------------------------

    def _request(self, v: Violations, period: str, role: str, grouping: str) -> RankingRequest | None:
        parsed = Period.parse(v, "period", period)
        if not role:
            v.add("role", "MISSING_ROLE", "the role to rank is required")
        elif not NAME.fullmatch(role) or not self.app.policies().knows_role(role):
            known = ", ".join(self.app.policies().roles()) or "none"
            v.add("role", "UNKNOWN_ROLE", f"no published policy has role {role[:64]!r} (known: {known})")
        grouping = grouping or "class"
        if grouping not in GROUPINGS:
            v.add("peer_group", "UNKNOWN_PEER_GROUP", f"peer groups are by {' or '.join(GROUPINGS)}")
        if parsed is None or v:
            return None
        first = date.fromisoformat(parsed.months[0] + "-01")
        last_month = date.fromisoformat(parsed.months[-1] + "-01")
        last = (last_month.replace(day=28) + timedelta(days=4)).replace(day=1) - timedelta(days=1)
        return RankingRequest(parsed, role, grouping, first, last)

    def _rules_in_force(self, request: RankingRequest) -> RulesInForce:
        policy = self.app.policies().in_force(request.last)
        if policy is None:
            raise FailedPrecondition(
                f"no points policy is in force on {request.last.isoformat()}, the last day of {request.period.text}: "
                "its [ranking] rules decide the ranking",
                reason="NO_POLICY_IN_FORCE",
            )
        return RulesInForce(policy.ranking, policy.version, request.last)

    def _wait(self, min_position: int, timeout: float | None) -> int:
        if min_position and not self.projector.wait_for_read(min_position, DEFAULT_WAIT if timeout is None else timeout):
            raise NotYetVisible(f"the balances have reached position {self.projector.position}, not yet {min_position}; retry")
        return self.projector.position

    def _get(self, aggregate_id: UUID) -> Any:
        try:
            return self.app.repository.get(aggregate_id)
        except AggregateNotFoundError:
            return None


