"""The PeriodService servicer: proto -> application -> proto."""

from __future__ import annotations

import grpc

from points.api.auth import acting_caller
from points.api.convert import proposal_message, timestamp
from points.application import pages
from points.application.periods import PayPeriods
from points.application.results import PeriodView
from points.domain.errors import Violations
from points.v1 import periods_pb2, periods_pb2_grpc


def period_message(period: PeriodView) -> periods_pb2.PayPeriod:
    return periods_pb2.PayPeriod(
        period=period.period,
        state=periods_pb2.PERIOD_STATE_CLOSED if period.closed else periods_pb2.PERIOD_STATE_OPEN,
        close_time=timestamp(period.closed_at),
        closed_by=period.closed_by,
        reason=period.reason,
        close_position=period.position,
        proposed_by=period.proposed_by,
        pending_close=proposal_message(period.pending) if period.pending else None,
    )


class PeriodServicer(periods_pb2_grpc.PeriodServiceServicer):
    def __init__(self, periods: PayPeriods) -> None:
        self.periods = periods

    def ProposePeriodClose(
        self, request: periods_pb2.ProposePeriodCloseRequest, context: grpc.ServicerContext
    ) -> periods_pb2.ProposePeriodCloseResponse:
        """Proposes closing the next pay month (four eyes: another person approves)."""
        proposal = self.periods.propose_close(
            request_id=request.request_id,
            period=request.period,
            proposed_by=acting_caller(request.proposed_by, "proposed_by"),
            reason=request.reason,
        )
        return periods_pb2.ProposePeriodCloseResponse(proposal=proposal_message(proposal))

    def ApprovePeriodClose(
        self, request: periods_pb2.ApprovePeriodCloseRequest, context: grpc.ServicerContext
    ) -> periods_pb2.ApprovePeriodCloseResponse:
        """Approves a proposed close, which closes the month."""
        closed = self.periods.approve_close(
            proposal_id=request.proposal_id, approved_by=acting_caller(request.approved_by, "approved_by"), reason=request.reason
        )
        return periods_pb2.ApprovePeriodCloseResponse(period=period_message(closed))

    def WithdrawPeriodClose(
        self, request: periods_pb2.WithdrawPeriodCloseRequest, context: grpc.ServicerContext
    ) -> periods_pb2.WithdrawPeriodCloseResponse:
        """Withdraws a pending proposal to close a month."""
        proposal = self.periods.withdraw_close(
            proposal_id=request.proposal_id, withdrawn_by=acting_caller(request.withdrawn_by, "withdrawn_by"), reason=request.reason
        )
        return periods_pb2.WithdrawPeriodCloseResponse(proposal=proposal_message(proposal))

    def ClosePeriod(self, request: periods_pb2.ClosePeriodRequest, context: grpc.ServicerContext) -> periods_pb2.ClosePeriodResponse:
        """Closes the next pay month in one step (only with four eyes off)."""
        closed = self.periods.close(period=request.period, closed_by=acting_caller(request.closed_by, "closed_by"), reason=request.reason)
        return periods_pb2.ClosePeriodResponse(period=period_message(closed))

    def GetPeriod(self, request: periods_pb2.GetPeriodRequest, context: grpc.ServicerContext) -> periods_pb2.GetPeriodResponse:
        """Returns a pay month's state."""
        return periods_pb2.GetPeriodResponse(period=period_message(self.periods.get_period(request.period)))

    def ListPeriods(self, request: periods_pb2.ListPeriodsRequest, context: grpc.ServicerContext) -> periods_pb2.ListPeriodsResponse:
        """Lists the calendar's months, from its start to the current month, and the month to close next."""
        v = Violations()
        size = pages.page_size(v, request.page_size, default=24, maximum=100)
        state = self.periods.tokens.resume(v, request.page_token, {"list": "periods"}, {"after": str})
        v.raise_if_any()
        after = str(state.get("after", "")) if state else ""
        calendar = self.periods.calendar()
        periods = [p for p in calendar.periods if p.period > after]
        token = self.periods.tokens.issue({"list": "periods"}, {"after": periods[size - 1].period}) if len(periods) > size else ""
        return periods_pb2.ListPeriodsResponse(
            periods=[period_message(p) for p in periods[:size]],
            next_page_token=token,
            next_to_close=calendar.next_to_close,
            skipped_periods=calendar.skipped,
        )
