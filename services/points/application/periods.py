"""The pay calendar's use cases: list it, propose and approve (four eyes) or withdraw a month's close, repair a skipped one.

The calendar starts at the earliest month with bookings, which the ledger view knows: a
decision first waits until the view has booked everything written so far, then reads it.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from eventsourcing.persistence import IntegrityError

from points.application.pages import PageTokens
from points.application.points import PointsApplication
from points.application.results import CalendarView, PeriodView, ProposalView
from points.domain.approvals import Proposal
from points.domain.errors import FailedPrecondition, NotYetVisible, Violations
from points.domain.periods import PayCalendar, next_month, parse_month
from points.domain.values import check_request_id, check_text, month_of
from points.projections.balances import BalanceView as BalanceStore
from points.projections.projector import BalanceProjector

log = logging.getLogger(__name__)

VIEW_WAIT = 60.0  # seconds a decision waits for the view to book what was written before it
LIST_WAIT = 5.0  # seconds a listing waits for it
ATTEMPTS = 5  # load, decide, save: again when another writer changed the calendar first


def view_caught_up(app: PointsApplication, projector: BalanceProjector, what: str) -> None:
    """Waits until the view has booked everything written so far (a decision about to read it)."""
    target = app.recorder.max_notification_id() or 0
    projector.wake()
    if not projector.wait_for(target, VIEW_WAIT):
        raise NotYetVisible(f"the balance view has not reached position {target}; retry {what}")


def check_actor(v: Violations, field: str, value: str, what: str) -> None:
    if not value.strip():
        v.add(field, f"MISSING_{field.upper()}", f"{field} is required: {what} is audited (who and why)")
    else:
        check_text(v, field, value)


class PayPeriods:
    def __init__(
        self, *, app: PointsApplication, store: BalanceStore, projector: BalanceProjector, tokens: PageTokens, four_eyes: bool = True
    ) -> None:
        self.tokens = tokens  # ListPeriods' (api/periods.py)
        self.app = app
        self.store = store
        self.projector = projector
        self.four_eyes = four_eyes

    # -- reading ---------------------------------------------------------------------

    def calendar(self) -> CalendarView:
        """Every month from the calendar's start (the earliest booked or closed month) to the current one.

        Reads the view once it has booked what was written before the call (or after LIST_WAIT
        seconds, as far as it has got): a month booked just before shows up."""
        self.projector.wake()
        self.projector.wait_for(self.app.recorder.max_notification_id() or 0, LIST_WAIT)
        calendar = self.app.pay_calendar() or PayCalendar.open(timestamp=self.app.now())
        first_booked = self.store.first_booked_month()
        current = month_of(self.app.today())
        month = calendar.start(first_booked) or current
        periods = []
        while month <= max(current, calendar.closed_through):
            periods.append(self._view(calendar, month))
            month = next_month(month)
        return CalendarView(tuple(periods), calendar.next_to_close(first_booked), tuple(calendar.skipped(first_booked)))

    def period(self, month: str) -> PeriodView:
        return self._view(self.app.pay_calendar() or PayCalendar.open(timestamp=self.app.now()), month)

    def get_period(self, period: str) -> PeriodView:
        v = Violations()
        month = parse_month(v, "period", period)
        v.raise_if_any()
        assert month is not None
        return self.period(month)

    def _view(self, calendar: PayCalendar, month: str) -> PeriodView:
        close = calendar.close_of(month)
        if close is None:
            pending = calendar.pending(month)
            return PeriodView(period=month, closed=False, pending=self._proposal(calendar, pending) if pending else None)
        return PeriodView(
            period=month,
            closed=True,
            closed_at=close.closed_at,
            closed_by=close.closed_by,
            reason=close.reason,
            position=self.app.position_of(calendar.id, close.calendar_version),
            proposed_by=close.proposed_by,
        )

    def _proposal(self, calendar: PayCalendar, proposal: Proposal) -> ProposalView:
        return proposal_view(self.app, calendar.id, proposal)

    # -- deciding --------------------------------------------------------------------

    def propose_close(self, *, request_id: str, period: str, proposed_by: str, reason: str) -> ProposalView:
        """Proposes closing the next pay month; it closes when another person approves (four eyes)."""
        v = Violations()
        check_request_id(v, "request_id", request_id)
        month = parse_month(v, "period", period)
        check_actor(v, "proposed_by", proposed_by, "proposing a close")
        check_text(v, "reason", reason, limit=1000)
        v.raise_if_any()
        assert month is not None
        calendar, proposal = self._decide(
            lambda c, first: c.propose(
                request_id, month, first_booked=first, today=self.app.today(), proposed_by=proposed_by, reason=reason,
                timestamp=self.app.now(),
            )
        )  # fmt: skip
        return self._proposal(calendar, proposal)

    def approve_close(self, *, proposal_id: str, approved_by: str, reason: str) -> PeriodView:
        """Closes the proposed month: approved by someone other than the proposer (unless four eyes are off)."""
        v = Violations()
        check_request_id(v, "proposal_id", proposal_id)
        check_actor(v, "approved_by", approved_by, "approving a close")
        check_text(v, "reason", reason, limit=1000)
        v.raise_if_any()
        calendar, proposal = self._decide(
            lambda c, first: c.approve(
                proposal_id, first_booked=first, today=self.app.today(), approved_by=approved_by, reason=reason,
                four_eyes=self.four_eyes, timestamp=self.app.now(),
            )
        )  # fmt: skip
        return self._view(calendar, proposal.subject)

    def withdraw_close(self, *, proposal_id: str, withdrawn_by: str, reason: str) -> ProposalView:
        v = Violations()
        check_request_id(v, "proposal_id", proposal_id)
        check_actor(v, "withdrawn_by", withdrawn_by, "withdrawing a proposal")
        check_text(v, "reason", reason, limit=1000)
        v.raise_if_any()
        calendar, proposal = self._decide(
            lambda c, first: c.withdraw(proposal_id, withdrawn_by=withdrawn_by, reason=reason, timestamp=self.app.now()),
            needs_view=False,
        )
        return self._proposal(calendar, proposal)

    def close(self, *, period: str, closed_by: str, reason: str) -> PeriodView:
        """Closes the next pay month in one step: only where four eyes are turned off."""
        if self.four_eyes:
            raise FailedPrecondition(
                "four eyes: a close is proposed by one person and approved by another (ProposePeriodClose, then ApprovePeriodClose)",
                reason="FOUR_EYES_REQUIRED",
            )
        v = Violations()
        month = parse_month(v, "period", period)
        check_actor(v, "closed_by", closed_by, "closing a period")
        check_text(v, "reason", reason, limit=1000)
        v.raise_if_any()
        assert month is not None
        calendar, _ = self._decide(
            lambda c, first: c.close(
                month, first_booked=first, today=self.app.today(), closed_by=closed_by, reason=reason, timestamp=self.app.now()
            )
        )
        return self._view(calendar, month)

    def repair(self, *, closed_by: str, reason: str, dry_run: bool = False) -> list[str]:
        """Closes, in order, the months a calendar that allowed skipping left open before its latest close.

        Their lines stay where they are booked: each skipped month's statement is closed as it
        stands, and nothing already paid moves. An operator's act on the store (audited as the
        close's `closed_by` and `reason`), not a four-eyes decision.
        """
        v = Violations()
        check_actor(v, "closed_by", closed_by, "repairing the calendar")
        if not reason.strip():
            v.add("reason", "MISSING_REASON", "reason is required: a repair is audited")
        v.raise_if_any()
        view_caught_up(self.app, self.projector, "the repair")
        calendar = self.app.pay_calendar()
        skipped = calendar.skipped(self.store.first_booked_month()) if calendar else []
        if dry_run or not skipped:
            return skipped
        for month in skipped:
            self._decide(
                lambda c, first, month=month: c.close(
                    month, first_booked=first, today=self.app.today(), closed_by=closed_by, reason=f"calendar repair: {reason}",
                    timestamp=self.app.now(),
                )
            )  # fmt: skip
            log.warning("pay calendar repaired: %s closed by %s (%s)", month, closed_by, reason)
        return skipped

    def _decide(self, decide: Callable[[PayCalendar, str], Any], *, needs_view: bool = True) -> tuple[PayCalendar, Any]:
        """Loads the calendar, decides (given the earliest booked month), saves; again if another writer came first."""
        first_booked = ""
        if needs_view:
            view_caught_up(self.app, self.projector, "the decision")
            first_booked = self.store.first_booked_month()
        for _ in range(ATTEMPTS):
            calendar = self.app.pay_calendar() or PayCalendar.open(timestamp=self.app.now())
            outcome = decide(calendar, first_booked)
            if not calendar.pending_events:
                return calendar, outcome  # a retry of a decision already made
            try:
                self.app.save_changes(calendar)
            except IntegrityError:
                continue
            return calendar, outcome
        raise FailedPrecondition("the pay calendar is being changed concurrently; retry", reason="CONCURRENT_CHANGE")


def proposal_view(app: PointsApplication, aggregate_id: Any, proposal: Proposal) -> ProposalView:
    return ProposalView(
        proposal_id=proposal.proposal_id,
        subject=proposal.subject,
        state=proposal.state,
        proposed_by=proposal.proposed_by,
        proposed_at=proposal.proposed_at,
        reason=proposal.reason,
        decided_by=proposal.decided_by,
        decided_at=proposal.decided_at,
        decision_reason=proposal.decision_reason,
        position=app.position_of(aggregate_id, proposal.version),
        decision_position=app.position_of(aggregate_id, proposal.decision_version) if proposal.decision_version else 0,
    )
