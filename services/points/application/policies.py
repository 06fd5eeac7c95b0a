"""Publishing policies, with the report of what a retroactive publication would change."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from decimal import Decimal
from uuid import UUID

from points.application import pages
from points.application.points import PointsApplication
from points.application.results import PolicyPublished
from points.domain.errors import AlreadyExists, NotYetVisible, Violations
from points.domain.values import check_request_id
from points.domain.policy import Policy
from points.domain.policy_book import Publication
from points.domain.work import WorkEvent
from points.projections.balances import BalanceView as BalanceStore
from points.projections.projector import BalanceProjector

IMPACT_EVENTS_LIMIT = 10_000
RECALCULATION_BATCH = 500
VIEW_WAIT = 60.0  # seconds
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


@dataclass(frozen=True)
class Recalculation:
    events: int
    position: int
    replayed: bool


class PolicyAdministration:
    def __init__(self, *, app: PointsApplication, store: BalanceStore, projector: BalanceProjector) -> None:
        self.app = app
        self.store = store
        self.projector = projector

    def _view_caught_up(self) -> None:
        """Waits until the view has booked everything written so far (the recalculation reads it)."""
        target = self.app.recorder.max_notification_id() or 0
        self.projector.wake()
        if not self.projector.wait_for(target, VIEW_WAIT):
            raise NotYetVisible(f"the balance view has not reached position {target}; retry the recalculation")

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
        until = self.app.policy_book().until(publication.version).isoformat()
        scored = self.store.events_scored_since(
            publication.effective_from.isoformat(), until, publication.version, IMPACT_EVENTS_LIMIT + 1
        )
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

    def recalculate(self, *, recalculation_id: str, version: str, requested_by: str, reason: str) -> Recalculation:
        """Rescores under `version` every booked event in its reach that older versions scored.

        An explicit, audited act: each event gets a Rescored event (the ledger reverses what
        it booked and books the new lines), and the book records the recalculation. Events
        are saved in batches; a retry with the same recalculation_id continues where a
        failed run stopped, and a finished one is a replay.
        """
        v = Violations()
        check_request_id(v, "request_id", recalculation_id)
        if not version:
            v.add("version", "MISSING_VERSION", "the policy version to recalculate under is required")
        for name, value in (("requested_by", requested_by), ("reason", reason)):
            if not value.strip():
                v.add(name, f"MISSING_{name.upper()}", f"{name} is required: a recalculation is audited (who and why)")
        v.raise_if_any()
        publication, policy = self.app.get_policy(version=version, in_force_on="")
        book = self.app.policy_book()
        done = book.recalculations.get(recalculation_id)
        if done is not None:
            if done[0] != version:
                raise AlreadyExists(f"recalculation {recalculation_id!r} was made under version {done[0]}", reason="REQUEST_ID_REUSED")
            return Recalculation(events=done[1], position=self.app.position_of(book.id, done[2]), replayed=True)
        self._view_caught_up()
        start, until = publication.effective_from.isoformat(), book.until(version).isoformat()
        total = 0
        while scored := self.store.events_scored_since(start, until, version, RECALCULATION_BATCH):
            total += self.app.rescore_events(
                [UUID(event_id) for event_id, _, _ in scored],
                policy,
                recalculation_id=recalculation_id,
                reason=reason,
                rescored_by=requested_by,
            )
            self._view_caught_up()
        position = self.app.record_recalculation(
            recalculation_id=recalculation_id, version=version, events=total, requested_by=requested_by, reason=reason
        )
        return Recalculation(events=total, position=position, replayed=False)

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
