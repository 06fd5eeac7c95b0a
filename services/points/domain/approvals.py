"""Four eyes: an act that moves money (closing a pay month, recalculating points) is proposed by one
person and takes effect only when another approves it. A proposal can be withdrawn until then.

The proposal is a value held by the aggregate it acts on (the pay calendar, the policy book);
these rules are the same for every such act.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, replace
from datetime import datetime

from points.domain.errors import AlreadyExists, FailedPrecondition, Forbidden, NotFound

PENDING, APPROVED, WITHDRAWN = "pending", "approved", "withdrawn"


def proposal_fingerprint(*fields: str) -> str:
    """What a proposal asked for, to recognise its retries."""
    return hashlib.sha256(json.dumps(list(fields), separators=(",", ":"), ensure_ascii=False).encode()).hexdigest()


@dataclass(frozen=True)
class Proposal:
    proposal_id: str  # the proposer's request_id
    subject: str  # what it acts on: a pay month, or a policy version
    proposed_by: str
    reason: str
    proposed_at: datetime
    fingerprint: str
    version: int  # the aggregate version of the proposal event
    state: str = PENDING
    decided_by: str = ""  # who approved or withdrew it
    decided_at: datetime | None = None
    decision_reason: str = ""
    decision_version: int = 0

    def decided(self, state: str, by: str, at: datetime, reason: str, version: int) -> Proposal:
        return replace(self, state=state, decided_by=by, decided_at=at, decision_reason=reason, decision_version=version)


def replayed_proposal(proposals: dict[str, Proposal], proposal_id: str, fingerprint: str) -> Proposal | None:
    """The earlier identical proposal (a retry), None if new; a reused id with other content raises."""
    earlier = proposals.get(proposal_id)
    if earlier is not None and earlier.fingerprint != fingerprint:
        raise AlreadyExists(f"request_id {proposal_id!r} was already used for a different proposal", reason="REQUEST_ID_REUSED")
    return earlier


def proposal_to_decide(proposals: dict[str, Proposal], proposal_id: str, what: str) -> Proposal:
    proposal = proposals.get(proposal_id)
    if proposal is None:
        raise NotFound(f"no proposal {proposal_id!r} to {what}", reason="PROPOSAL_NOT_FOUND")
    return proposal


def check_approval(proposal: Proposal, approved_by: str, *, four_eyes: bool) -> bool:
    """True when the proposal is already approved by this person (a retry); raises when it may not be approved."""
    if proposal.state == APPROVED:
        if proposal.decided_by == approved_by:
            return True
        raise FailedPrecondition(f"proposal {proposal.proposal_id!r} is already approved by {proposal.decided_by}", reason="PROPOSAL_DECIDED")
    if proposal.state == WITHDRAWN:
        raise FailedPrecondition(f"proposal {proposal.proposal_id!r} was withdrawn by {proposal.decided_by}", reason="PROPOSAL_WITHDRAWN")
    if four_eyes and approved_by == proposal.proposed_by:
        raise Forbidden(
            f"four eyes: {approved_by} proposed {proposal.proposal_id!r} and cannot approve it; another person must",
            reason="SELF_APPROVAL",
        )
    return False


def check_withdrawal(proposal: Proposal, withdrawn_by: str) -> bool:
    """True when the proposal is already withdrawn by this person (a retry); raises when it cannot be withdrawn."""
    if proposal.state == WITHDRAWN and proposal.decided_by == withdrawn_by:
        return True
    if proposal.state != PENDING:
        raise FailedPrecondition(
            f"proposal {proposal.proposal_id!r} is already {proposal.state} (by {proposal.decided_by})", reason="PROPOSAL_DECIDED"
        )
    return False
