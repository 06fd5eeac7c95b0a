"""The PeriodService servicer: proto -> application -> proto."""

from __future__ import annotations

import grpc
from google.protobuf.timestamp_pb2 import Timestamp

from points.api.auth import acting_caller
from points.application import pages
from points.application.points import PointsApplication
from points.application.results import PeriodView
from points.domain.errors import Violations
from points.v1 import periods_pb2, periods_pb2_grpc


def period_message(period: PeriodView) -> periods_pb2.PayPeriod:
    message = periods_pb2.PayPeriod(
        period=period.period,
        state=periods_pb2.PERIOD_STATE_CLOSED if period.closed else periods_pb2.PERIOD_STATE_OPEN,
        closed_by=period.closed_by,
        reason=period.reason,
        close_position=period.position,
    )
    if period.closed_at is not None:
        stamp = Timestamp()
        stamp.FromDatetime(period.closed_at)
        message.close_time.CopyFrom(stamp)
    return message


class PeriodServicer(periods_pb2_grpc.PeriodServiceServicer):
    def __init__(self, app: PointsApplication) -> None:
        self.app = app

    def ClosePeriod(self, request: periods_pb2.ClosePeriodRequest, context: grpc.ServicerContext) -> periods_pb2.ClosePeriodResponse:
        """Closes a pay month (the next in order, once ended)."""
        closed = self.app.close_period(
            period=request.period, closed_by=acting_caller(request.closed_by, "closed_by"), reason=request.reason
        )
        return periods_pb2.ClosePeriodResponse(period=period_message(closed))

    def GetPeriod(self, request: periods_pb2.GetPeriodRequest, context: grpc.ServicerContext) -> periods_pb2.GetPeriodResponse:
        """Returns a pay month's state."""
        return periods_pb2.GetPeriodResponse(period=period_message(self.app.get_period(request.period)))

    def ListPeriods(self, request: periods_pb2.ListPeriodsRequest, context: grpc.ServicerContext) -> periods_pb2.ListPeriodsResponse:
        """Lists closed months, then the open ones up to the current month."""
        v = Violations()
        size = pages.page_size(v, request.page_size, default=24, maximum=100)
        state = pages.resume(v, request.page_token, {"list": "periods"})
        v.raise_if_any()
        after = str(state.get("after", "")) if state else ""
        periods = [p for p in self.app.list_periods() if p.period > after]
        token = pages.issue({"list": "periods"}, {"after": periods[size - 1].period}) if len(periods) > size else ""
        return periods_pb2.ListPeriodsResponse(periods=[period_message(p) for p in periods[:size]], next_page_token=token)
