"""The book of published policy versions: immutable, effective-dated, each publication an event.

One small aggregate holds every publication (who, when, why, the document and its digest),
so loading the whole policy history is one indexed read. Effective dates only move
forward: a new version must take effect after the latest one, so the version in force on
any date is unambiguous. An event is scored by the version in force on its business date.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime

from eventsourcing.domain import Aggregate

from points.domain.approvals import APPROVED, WITHDRAWN, Proposal, check_approval, check_withdrawal, proposal_fingerprint
from points.domain.approvals import proposal_to_decide, replayed_proposal
from points.domain.errors import AlreadyExists, FailedPrecondition
from points.domain.identity import policy_book_id
from points.domain.pay import pay_rules_of_text
from points.domain.policy import Policy


def document_digest(document: str) -> str:
    return hashlib.sha256(document.encode("utf-8")).hexdigest()


@dataclass(frozen=True)
class Publication:
    version: str
    effective_from: date
    document: str
    digest: str
    published_by: str
    reason: str
    published_at: datetime
    book_version: int  # the aggregate version of the Published event (its place in the book)


class PolicyBook(Aggregate):
    class Opened(Aggregate.Created):
        pass

    class Published(Aggregate.Event):
        version: str
        effective_from: date
        document: str
        digest: str
        published_by: str
        reason: str

        def apply(self, aggregate: PolicyBook) -> None:
            aggregate.publications.append(
                Publication(
                    version=self.version,
                    effective_from=self.effective_from,
                    document=self.document,
                    digest=self.digest,
                    published_by=self.published_by,
                    reason=self.reason,
                    published_at=self.timestamp,
                    book_version=self.originator_version,
                )
            )

    class Recalculated(Aggregate.Event):
        """An explicit recalculation under one version finished: who, why, how many events."""

        recalculation_id: str
        version: str
        events: int
        requested_by: str
        reason: str

        def apply(self, aggregate: PolicyBook) -> None:
            aggregate.recalculations[self.recalculation_id] = (self.version, self.events, self.originator_version)

    class RecalculationProposed(Aggregate.Event):
        """A recalculation asked for, to take effect when another person approves it (four eyes)."""

        proposal_id: str
        version: str
        proposed_by: str
        reason: str
        fingerprint: str

        def apply(self, aggregate: PolicyBook) -> None:
            aggregate.proposals[self.proposal_id] = Proposal(
                self.proposal_id, self.version, self.proposed_by, self.reason, self.timestamp, self.fingerprint, self.originator_version
            )

    class RecalculationApproved(Aggregate.Event):
        """Approved: the rescoring runs now (a retry of the approval continues a run that stopped)."""

        proposal_id: str
        approved_by: str
        reason: str

        def apply(self, aggregate: PolicyBook) -> None:
            proposal = aggregate.proposals[self.proposal_id]
            aggregate.proposals[self.proposal_id] = proposal.decided(
                APPROVED, self.approved_by, self.timestamp, self.reason, self.originator_version
            )

    class RecalculationWithdrawn(Aggregate.Event):
        proposal_id: str
        withdrawn_by: str
        reason: str

        def apply(self, aggregate: PolicyBook) -> None:
            proposal = aggregate.proposals[self.proposal_id]
            aggregate.proposals[self.proposal_id] = proposal.decided(
                WITHDRAWN, self.withdrawn_by, self.timestamp, self.reason, self.originator_version
            )

    def __init__(self) -> None:
        self.publications: list[Publication] = []
        self.recalculations: dict[str, tuple[str, int, int]] = {}  # id -> (version, events, book version)
        self.proposals: dict[str, Proposal] = {}  # recalculations proposed (four eyes), by proposal id

    def propose_recalculation(self, proposal_id: str, *, version: str, proposed_by: str, reason: str, timestamp: datetime) -> Proposal:
        """Proposes rescoring under `version`; a retry returns the same proposal."""
        fingerprint = proposal_fingerprint("recalculate", version, proposed_by, reason)
        earlier = replayed_proposal(self.proposals, proposal_id, fingerprint)
        if earlier is not None:
            return earlier
        if proposal_id in self.recalculations:
            raise AlreadyExists(f"request_id {proposal_id!r} names a finished recalculation", reason="REQUEST_ID_REUSED")
        self.trigger_event(
            self.RecalculationProposed, proposal_id=proposal_id, version=version, proposed_by=proposed_by, reason=reason,
            fingerprint=fingerprint, timestamp=timestamp,
        )  # fmt: skip
        return self.proposals[proposal_id]

    def approve_recalculation(self, proposal_id: str, *, approved_by: str, reason: str, four_eyes: bool, timestamp: datetime) -> Proposal:
        """Approves a proposed recalculation (by another person, unless four eyes are off); a retry by the approver is allowed."""
        proposal = proposal_to_decide(self.proposals, proposal_id, "approve")
        if not check_approval(proposal, approved_by, four_eyes=four_eyes):
            self.trigger_event(self.RecalculationApproved, proposal_id=proposal_id, approved_by=approved_by, reason=reason, timestamp=timestamp)
        return self.proposals[proposal_id]

    def withdraw_recalculation(self, proposal_id: str, *, withdrawn_by: str, reason: str, timestamp: datetime) -> Proposal:
        proposal = proposal_to_decide(self.proposals, proposal_id, "withdraw")
        if not check_withdrawal(proposal, withdrawn_by):
            self.trigger_event(self.RecalculationWithdrawn, proposal_id=proposal_id, withdrawn_by=withdrawn_by, reason=reason, timestamp=timestamp)
        return self.proposals[proposal_id]

    def record_recalculation(
        self, *, recalculation_id: str, version: str, events: int, requested_by: str, reason: str, timestamp: datetime
    ) -> None:
        self.trigger_event(
            self.Recalculated,
            recalculation_id=recalculation_id,
            version=version,
            events=events,
            requested_by=requested_by,
            reason=reason,
            timestamp=timestamp,
        )

    def until(self, version: str) -> date:
        """The day the version after `version` takes effect (exclusive end of its reach)."""
        later = [p.effective_from for p in self.publications if p.version != version and p.effective_from > self._date_of(version)]
        return min(later, default=date.max)

    def _date_of(self, version: str) -> date:
        publication = self.find(version)
        return publication.effective_from if publication else date.max

    @classmethod
    def open(cls, *, timestamp: datetime) -> PolicyBook:
        return cls._create(cls.Opened, id=policy_book_id(), timestamp=timestamp)

    def find(self, version: str) -> Publication | None:
        return next((p for p in self.publications if p.version == version), None)

    def replayed(self, version: str, effective_from: date, digest: str) -> Publication | None:
        """The earlier identical publication, None if new; raises if the version exists with other content."""
        existing = self.find(version)
        if existing is None:
            return None
        if (existing.effective_from, existing.digest) != (effective_from, digest):
            raise AlreadyExists(
                f"policy version {version!r} is already published with other content or date; versions are immutable",
                reason="POLICY_VERSION_EXISTS",
            )
        return existing

    def publish(
        self, *, policy: Policy, document: str, published_by: str, reason: str, timestamp: datetime
    ) -> None:
        latest = self.publications[-1] if self.publications else None
        if latest is not None and policy.effective_from <= latest.effective_from:
            raise FailedPrecondition(
                f"policy {policy.version} takes effect on {policy.effective_from.isoformat()}, not after the latest "
                f"version {latest.version} ({latest.effective_from.isoformat()}); effective dates only move forward",
                reason="EFFECTIVE_DATE_NOT_AFTER_LATEST",
            )
        if latest is not None:
            self._check_pay_continues(latest, policy)
        self.trigger_event(
            self.Published,
            version=policy.version,
            effective_from=policy.effective_from,
            document=document,
            digest=document_digest(document),
            published_by=published_by,
            reason=reason,
            timestamp=timestamp,
        )


    @staticmethod
    def _check_pay_continues(latest: Publication, policy: Policy) -> None:
        """Once a version declares what a point is worth, every later one does, in the same currency
        (a statement adds values of lines booked under several versions; a carried remainder crosses them)."""
        before = pay_rules_of_text(latest.document)
        if before is None:
            return
        if policy.pay is None:
            raise FailedPrecondition(
                f"policy {latest.version} declares point values ([pay]); every later version must too", reason="PAY_RULES_REQUIRED"
            )
        if policy.pay.currency != before.currency:
            raise FailedPrecondition(
                f"points are paid in {before.currency} (policy {latest.version}); a later version cannot pay in {policy.pay.currency}",
                reason="PAY_CURRENCY_CHANGED",
            )


class PolicyCatalog:
    """The parsed versions of a book, answering "which policy is in force on this date"."""

    def __init__(self, publications: list[Publication], parse: Callable[[Publication], Policy]) -> None:
        self.publications = publications
        self.policies = [parse(p) for p in publications]

    @classmethod
    def of(cls, *policies: Policy) -> PolicyCatalog:
        """A catalog of unpublished policies (for scoring what-ifs and tests)."""
        publications = [
            Publication(p.version, p.effective_from, "", "", "", "", datetime.min, i + 2) for i, p in enumerate(policies)
        ]
        by_version = {p.version: p for p in policies}
        return cls(publications, lambda publication: by_version[publication.version])

    @property
    def empty(self) -> bool:
        return not self.policies

    def in_force(self, day: date) -> Policy | None:
        found = None
        for policy in self.policies:  # in publication order, so in effective-date order
            if policy.effective_from <= day:
                found = policy
        return found

    def latest(self) -> Policy | None:
        return self.policies[-1] if self.policies else None

    def knows_role(self, role: str) -> bool:
        return any(p.knows_role(role) for p in self.policies)

    def roles(self) -> list[str]:
        return sorted({r for p in self.policies for r in p.roles})
