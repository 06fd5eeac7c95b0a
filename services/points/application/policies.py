"""Publishing policies, with the report of what a retroactive publication would change."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from decimal import Decimal
from uuid import UUID

from collections.abc import Callable
from typing import Any

from eventsourcing.persistence import IntegrityError

from points.application import pages
from points.application.pages import PageTokens
from points.application.periods import check_actor, proposal_view, view_caught_up
from points.application.points import PointsApplication
from points.application.results import PolicyPublished, ProposalView
from points.domain.errors import AlreadyExists, FailedPrecondition, Violations
from points.domain.policy_book import PolicyBook
from points.domain.values import check_request_id, check_text
from points.domain.policy import Policy
from points.domain.policy_book import Publication
from points.domain.work import WorkEvent
from points.projections.balances import BalanceView as BalanceStore
from points.projections.projector import BalanceProjector

IMPACT_EVENTS_LIMIT = 10_000
RECALCULATION_BATCH = 500
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
    def __init__(
        self, *, app: PointsApplication, store: BalanceStore, projector: BalanceProjector, tokens: PageTokens, four_eyes: bool = True
    ) -> None:
        self.tokens = tokens
        self.app = app
        self.store = store
        self.projector = projector
        self.four_eyes = four_eyes

    def _view_caught_up(self) -> None:
        """Waits until the view has booked everything written so far (the recalculation reads it)."""
        view_caught_up(self.app, self.projector, "the recalculation")

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
        """Rescores under `version` in one step: only where four eyes are turned off (else propose, then approve)."""
        if self.four_eyes:
            raise FailedPrecondition(
                "four eyes: a recalculation is proposed by one person and approved by another "
                "(ProposeRecalculation, then ApproveRecalculation)",
                reason="FOUR_EYES_REQUIRED",
            )
        v = Violations()
        check_request_id(v, "request_id", recalculation_id)
        if not version:
            v.add("version", "MISSING_VERSION", "the policy version to recalculate under is required")
        for name, value in (("requested_by", requested_by), ("reason", reason)):
            if not value.strip():
                v.add(name, f"MISSING_{name.upper()}", f"{name} is required: a recalculation is audited (who and why)")
        v.raise_if_any()
        return self._run(recalculation_id, version, requested_by=requested_by, rescored_by=requested_by, reason=reason)

    def propose_recalculation(self, *, request_id: str, version: str, proposed_by: str, reason: str) -> ProposalView:
        """Proposes rescoring under `version`; it runs when another person approves it (four eyes)."""
        v = Violations()
        check_request_id(v, "request_id", request_id)
        if not version:
            v.add("version", "MISSING_VERSION", "the policy version to recalculate under is required")
        check_actor(v, "proposed_by", proposed_by, "proposing a recalculation")
        if not reason.strip():
            v.add("reason", "MISSING_REASON", "reason is required: a recalculation is audited (who and why)")
        check_text(v, "reason", reason, limit=1000)
        v.raise_if_any()
        self.app.get_policy(version=version, in_force_on="")  # NOT_FOUND for an unknown version
        return self._decide(
            lambda book: book.propose_recalculation(request_id, version=version, proposed_by=proposed_by, reason=reason, timestamp=self.app.now())
        )

    def approve_recalculation(self, *, proposal_id: str, approved_by: str, reason: str) -> tuple[ProposalView, Recalculation]:
        """Approves a proposed recalculation (by another person than the proposer) and runs it; the
        approver may retry to continue a run that stopped, and a finished one is a replay."""
        v = Violations()
        check_request_id(v, "proposal_id", proposal_id)
        check_actor(v, "approved_by", approved_by, "approving a recalculation")
        check_text(v, "reason", reason, limit=1000)
        v.raise_if_any()
        approved = self._decide(
            lambda book: book.approve_recalculation(
                proposal_id, approved_by=approved_by, reason=reason, four_eyes=self.four_eyes, timestamp=self.app.now()
            )
        )
        result = self._run(proposal_id, approved.subject, requested_by=approved.proposed_by, rescored_by=approved_by, reason=approved.reason)
        return approved, result

    def withdraw_recalculation(self, *, proposal_id: str, withdrawn_by: str, reason: str) -> ProposalView:
        v = Violations()
        check_request_id(v, "proposal_id", proposal_id)
        check_actor(v, "withdrawn_by", withdrawn_by, "withdrawing a proposal")
        check_text(v, "reason", reason, limit=1000)
        v.raise_if_any()
        return self._decide(
            lambda book: book.withdraw_recalculation(proposal_id, withdrawn_by=withdrawn_by, reason=reason, timestamp=self.app.now())
        )

    def recalculations(self) -> list[tuple[ProposalView, int | None]]:
        """Every proposed recalculation, oldest first, with the events it rescored once finished (None before)."""
        book = self.app.policy_book()
        return [
            (proposal_view(self.app, book.id, p), book.recalculations[p.proposal_id][1] if p.proposal_id in book.recalculations else None)
            for p in sorted(book.proposals.values(), key=lambda p: p.version)
        ]

    def _decide(self, decide: Callable[[PolicyBook], Any]) -> ProposalView:
        for _ in range(5):  # another writer changed the book first: reload and decide again
            book = self.app.policy_book()
            proposal = decide(book)
            if book.pending_events:
                try:
                    self.app.save_changes(book)
                except IntegrityError:
                    continue
            return proposal_view(self.app, book.id, proposal)
        raise FailedPrecondition("the policy book is being changed concurrently; retry", reason="CONCURRENT_CHANGE")

    def _run(self, recalculation_id: str, version: str, *, requested_by: str, rescored_by: str, reason: str) -> Recalculation:
        """Rescores under `version` every booked event in its reach that older versions scored.

        Each event gets a Rescored event (the ledger reverses what it booked and books the new
        lines), and the book records the recalculation. Events are saved in batches; a retry
        with the same recalculation_id continues where a failed run stopped, and a finished one
        is a replay.
        """
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
                rescored_by=rescored_by,
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
        state = self.tokens.resume(v, page_token, {"list": "policies"}, {"after": int})
        v.raise_if_any()
        after = int(state.get("after", 0)) if state else 0
        remaining = [p for p in self.app.policies().publications if p.book_version > after]
        token = ""
        if len(remaining) > size:
            token = self.tokens.issue({"list": "policies"}, {"after": remaining[size - 1].book_version})
        return remaining[:size], token


def rescore(policy: Policy, event: WorkEvent) -> Decimal:
    """The weighted points (before caps) that `policy` would give the stored event."""
    try:
        lines = policy.score(event.role, event.kind, event.quantity, outlet_class=event.outlet_class, attributes=event.attributes)
    except KeyError:
        return Decimal(0)  # the new version has no rule for this work
    return sum((line.weighted_points for line in lines), Decimal(0))
