"""Publishing policies, with the report of what a retroactive publication would change."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from decimal import Decimal
from uuid import UUID

from points.application import pages
from points.application.points import PointsApplication
from points.application.results import PolicyPublished
from points.domain.errors import Violations
from points.domain.policy import Policy
from points.domain.policy_book import Publication
from points.domain.work import WorkEvent
from points.projections.balances import BalanceView as BalanceStore

IMPACT_EVENTS_LIMIT = 10_000
IMPACT_BALANCES_LIMIT = 1_000


@dataclass(frozen=True)
class AffectedBalance:
    employee_id: str
    period: str
    booked_points: Decimal
    rescored_points: Decimal


@dataclass(frozen=True)
class RetroactiveImpact:
    """What recalculating would change; a publication itself never rewrites booked lines."""

    events: int
    balances: tuple[AffectedBalance, ...]
    truncated: bool


NO_IMPACT = RetroactiveImpact(0, (), False)


class PolicyAdministration:
    def __init__(self, *, app: PointsApplication, store: BalanceStore) -> None:
        self.app = app
        self.store = store

    def publish(
        self, *, document: str, source: str, effective_from: str, published_by: str, reason: str
    ) -> tuple[PolicyPublished, RetroactiveImpact]:
        """Publishes a version and reports the booked balances it would change (as of the view's position)."""
        published = self.app.publish_policy(
            document=document, source=source, effective_from=effective_from, published_by=published_by, reason=reason
        )
        if published.replayed or published.policy.effective_from > self.app.today():
            return published, NO_IMPACT
        return published, self.impact(published.policy)

    def impact(self, publication: Publication) -> RetroactiveImpact:
        policy = self.app.get_policy(version=publication.version, in_force_on="")[1]
        scored = self.store.events_scored_since(publication.effective_from.isoformat(), publication.version, IMPACT_EVENTS_LIMIT + 1)
        truncated = len(scored) > IMPACT_EVENTS_LIMIT
        sums: dict[tuple[str, str], list[Decimal]] = defaultdict(lambda: [Decimal(0), Decimal(0)])
        for event_id, employee_id, month in scored[:IMPACT_EVENTS_LIMIT]:
            event = self.app.work_event(UUID(event_id))
            if event is None:
                continue
            booked_and_rescored = sums[(employee_id, month)]
            booked_and_rescored[0] += event.points
            booked_and_rescored[1] += rescore(policy, event)
        changed = [
            AffectedBalance(employee, month, booked, rescored)
            for (employee, month), (booked, rescored) in sorted(sums.items())
            if booked != rescored
        ]
        return RetroactiveImpact(
            events=min(len(scored), IMPACT_EVENTS_LIMIT),
            balances=tuple(changed[:IMPACT_BALANCES_LIMIT]),
            truncated=truncated or len(changed) > IMPACT_BALANCES_LIMIT,
        )

    def list_policies(self, *, page_size: int, page_token: str) -> tuple[list[Publication], str]:
        """Published versions, oldest first."""
        v = Violations()
        size = pages.page_size(v, page_size, default=20, maximum=100)
        state = pages.resume(v, page_token, {"list": "policies"})
        v.raise_if_any()
        after = int(state.get("after", 0)) if state else 0
        remaining = [p for p in self.app.policies().publications if p.book_version > after]
        token = ""
        if len(remaining) > size:
            token = pages.issue({"list": "policies"}, {"after": remaining[size - 1].book_version})
        return remaining[:size], token


def rescore(policy: Policy, event: WorkEvent) -> Decimal:
    """The weighted points (before caps) that `policy` would give the stored event."""
    try:
        lines = policy.score(event.role, event.kind, event.quantity, outlet_class=event.outlet_class, attributes=event.attributes)
    except KeyError:
        return Decimal(0)  # the new version has no rule for this work
    return sum((line.weighted_points for line in lines), Decimal(0))
