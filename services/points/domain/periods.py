"""Pay periods: calendar months that close in order, from the first booked one; a closed month's numbers never move.

One small aggregate holds the closes, in order, and the proposals to close (four eyes). What
arrives for a closed month after its close is booked by the ledger in the first open month,
as an adjustment that carries the month it belongs to (see projections/ledger.py), so the
closed statement stays as paid.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass
from datetime import date, datetime

from eventsourcing.domain import Aggregate

from points.domain.approvals import APPROVED, PENDING, WITHDRAWN, Proposal, check_approval, check_withdrawal, proposal_fingerprint
from points.domain.approvals import proposal_to_decide, replayed_proposal
from points.domain.errors import FailedPrecondition, Violations
from points.domain.identity import pay_calendar_id
from points.domain.values import Period, month_of


def next_month(month: str) -> str:
    year, number = int(month[:4]), int(month[5:7])
    return f"{year + number // 12:04d}-{number % 12 + 1:02d}"


def booking_month(business_month: str, closed: Collection[str]) -> str:
    """The pay month a line dated in `business_month` is booked in, given the closed months.

    A line is booked in its own month while that month is open; otherwise in the first open
    month after it. Months before the calendar's first closed month count as closed: the
    calendar starts there, and what is dated earlier arrives late.
    """
    if not closed:
        return business_month
    start = min(closed)
    if business_month >= start and business_month not in closed:
        return business_month
    month = max(business_month, start)
    while month in closed:
        month = next_month(month)
    return month


def parse_month(v: Violations, field: str, value: str) -> str | None:
    period = Period.parse(v, field, value)
    if period is not None and len(period.months) != 1:
        v.add(field, "NOT_A_MONTH", "pay periods are calendar months: use YYYY-MM")
        return None
    return None if period is None else period.months[0]


@dataclass(frozen=True)
class Close:
    period: str
    closed_by: str  # who made it take effect: the approver, or the one closer where four eyes are off
    reason: str
    closed_at: datetime
    calendar_version: int
    proposal_id: str = ""  # the approved proposal ("" for a close without one)
    proposed_by: str = ""


class PayCalendar(Aggregate):
    """The pay months: which are closed, in order, and the proposals to close the next one (four eyes).

    The calendar starts at the earliest month with bookings (or the first closed month, if
    earlier) and months close strictly one after another from there. The earliest booked month
    comes from the ledger, so the deciding methods take it as an argument.
    """

    class Opened(Aggregate.Created):
        pass

    class PeriodClosed(Aggregate.Event):
        class_version = 2  # v2 added proposal_id and proposed_by (four eyes)

        @staticmethod
        def upcast_v1_v2(state: dict[str, object]) -> None:
            state["proposal_id"] = ""  # v1 closes were one step: no proposal
            state["proposed_by"] = ""

        period: str
        closed_by: str
        reason: str
        proposal_id: str
        proposed_by: str

        def apply(self, aggregate: PayCalendar) -> None:
            aggregate.closes.append(
                Close(self.period, self.closed_by, self.reason, self.timestamp, self.originator_version, self.proposal_id, self.proposed_by)
            )
            proposal = aggregate.proposals.get(self.proposal_id)
            if proposal is not None:
                aggregate.proposals[self.proposal_id] = proposal.decided(
                    APPROVED, self.closed_by, self.timestamp, self.reason, self.originator_version
                )

    class CloseProposed(Aggregate.Event):
        proposal_id: str
        period: str
        proposed_by: str
        reason: str
        fingerprint: str

        def apply(self, aggregate: PayCalendar) -> None:
            aggregate.proposals[self.proposal_id] = Proposal(
                self.proposal_id, self.period, self.proposed_by, self.reason, self.timestamp, self.fingerprint, self.originator_version
            )

    class CloseWithdrawn(Aggregate.Event):
        proposal_id: str
        withdrawn_by: str
        reason: str

        def apply(self, aggregate: PayCalendar) -> None:
            proposal = aggregate.proposals[self.proposal_id]
            aggregate.proposals[self.proposal_id] = proposal.decided(
                WITHDRAWN, self.withdrawn_by, self.timestamp, self.reason, self.originator_version
            )

    def __init__(self) -> None:
        self.closes: list[Close] = []
        self.proposals: dict[str, Proposal] = {}

    @classmethod
    def open(cls, *, timestamp: datetime) -> PayCalendar:
        return cls._create(cls.Opened, id=pay_calendar_id(), timestamp=timestamp)

    @property
    def closed_months(self) -> frozenset[str]:
        return frozenset(c.period for c in self.closes)

    @property
    def closed_through(self) -> str:
        """The latest closed month ("" when none is)."""
        return max((c.period for c in self.closes), default="")

    def close_of(self, period: str) -> Close | None:
        return next((c for c in self.closes if c.period == period), None)

    def start(self, first_booked: str) -> str:
        """The calendar's first month: the earliest booked or closed month ("" while there is neither)."""
        return min((m for m in (first_booked, min(self.closed_months, default="")) if m), default="")

    def next_to_close(self, first_booked: str) -> str:
        """The month that must close next: the earliest open month from the start ("" while nothing is booked)."""
        month = self.start(first_booked)
        closed = self.closed_months
        while month and month in closed:
            month = next_month(month)
        return month

    def skipped(self, first_booked: str) -> list[str]:
        """Open months before the latest closed one: left open by a calendar that let a month be skipped."""
        month, closed, through, skipped = self.start(first_booked), self.closed_months, self.closed_through, []
        while month and month < through:
            if month not in closed:
                skipped.append(month)
            month = next_month(month)
        return skipped

    def pending(self, period: str) -> Proposal | None:
        return next((p for p in self.proposals.values() if p.subject == period and p.state == PENDING), None)

    def check_closable(self, period: str, *, first_booked: str, today: date) -> None:
        """Raises unless `period` is the month to close next and has ended."""
        if self.close_of(period) is not None:
            raise FailedPrecondition(f"pay period {period} is already closed", reason="PERIOD_ALREADY_CLOSED")
        upcoming = self.next_to_close(first_booked)
        if not upcoming:
            raise FailedPrecondition(
                "nothing is booked yet: the pay calendar starts at the first month with bookings", reason="NOTHING_TO_CLOSE"
            )
        if period < upcoming:
            raise FailedPrecondition(
                f"{period} is before the pay calendar, which starts at {self.start(first_booked)}: nothing is booked in it",
                reason="PERIOD_BEFORE_CALENDAR",
            )
        if period != upcoming:
            raise FailedPrecondition(f"pay periods close in order: close {upcoming} first", reason="PERIODS_CLOSE_IN_ORDER")
        if period >= month_of(today):
            raise FailedPrecondition(f"pay period {period} has not ended (today is {today.isoformat()})", reason="PERIOD_NOT_ENDED")

    def close(self, period: str, *, first_booked: str, today: date, closed_by: str, reason: str, timestamp: datetime) -> None:
        """Closes `period` in one step: where four eyes are off, or to repair a calendar."""
        self.check_closable(period, first_booked=first_booked, today=today)
        self.trigger_event(
            self.PeriodClosed, period=period, closed_by=closed_by, reason=reason, proposal_id="", proposed_by="", timestamp=timestamp
        )

    def propose(
        self, proposal_id: str, period: str, *, first_booked: str, today: date, proposed_by: str, reason: str, timestamp: datetime
    ) -> Proposal:
        """Proposes closing `period` (the next month, once ended); a retry returns the same proposal."""
        fingerprint = proposal_fingerprint("close", period, proposed_by, reason)
        earlier = replayed_proposal(self.proposals, proposal_id, fingerprint)
        if earlier is not None:
            return earlier
        self.check_closable(period, first_booked=first_booked, today=today)
        pending = self.pending(period)
        if pending is not None:
            raise FailedPrecondition(
                f"closing {period} is already proposed ({pending.proposal_id!r} by {pending.proposed_by}): approve or withdraw it",
                reason="CLOSE_ALREADY_PROPOSED",
            )
        self.trigger_event(
            self.CloseProposed, proposal_id=proposal_id, period=period, proposed_by=proposed_by, reason=reason,
            fingerprint=fingerprint, timestamp=timestamp,
        )  # fmt: skip
        return self.proposals[proposal_id]

    def approve(
        self, proposal_id: str, *, first_booked: str, today: date, approved_by: str, reason: str, four_eyes: bool, timestamp: datetime
    ) -> Proposal:
        """Closes the proposal's month, approved by another person than the proposer (unless four eyes are off)."""
        proposal = proposal_to_decide(self.proposals, proposal_id, "approve")
        if check_approval(proposal, approved_by, four_eyes=four_eyes):
            return proposal
        self.check_closable(proposal.subject, first_booked=first_booked, today=today)
        self.trigger_event(
            self.PeriodClosed, period=proposal.subject, closed_by=approved_by, reason=reason or proposal.reason,
            proposal_id=proposal_id, proposed_by=proposal.proposed_by, timestamp=timestamp,
        )  # fmt: skip
        return self.proposals[proposal_id]

    def withdraw(self, proposal_id: str, *, withdrawn_by: str, reason: str, timestamp: datetime) -> Proposal:
        proposal = proposal_to_decide(self.proposals, proposal_id, "withdraw")
        if check_withdrawal(proposal, withdrawn_by):
            return proposal
        self.trigger_event(self.CloseWithdrawn, proposal_id=proposal_id, withdrawn_by=withdrawn_by, reason=reason, timestamp=timestamp)
        return self.proposals[proposal_id]
