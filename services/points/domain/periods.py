"""Pay periods: calendar months that close in order; a closed month's numbers never move.

One small aggregate holds the closes, in order. What arrives for a closed month after its
close is booked by the ledger in the first open month, as an adjustment that carries the
month it belongs to (see projections/ledger.py), so the closed statement stays as paid.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

from eventsourcing.domain import Aggregate

from points.domain.errors import FailedPrecondition, Violations
from points.domain.identity import pay_calendar_id
from points.domain.values import Period, month_of


def next_month(month: str) -> str:
    year, number = int(month[:4]), int(month[5:7])
    return f"{year + number // 12:04d}-{number % 12 + 1:02d}"


def booking_month(business_month: str, closed_through: str) -> str:
    """Where a line dated in `business_month` is booked when months up to `closed_through` are closed."""
    if closed_through and business_month <= closed_through:
        return next_month(closed_through)
    return business_month


def parse_month(v: Violations, field: str, value: str) -> str | None:
    period = Period.parse(v, field, value)
    if period is not None and len(period.months) != 1:
        v.add(field, "NOT_A_MONTH", "pay periods are calendar months: use YYYY-MM")
        return None
    return None if period is None else period.months[0]


@dataclass(frozen=True)
class Close:
    period: str
    closed_by: str
    reason: str
    closed_at: datetime
    calendar_version: int


class PayCalendar(Aggregate):
    class Opened(Aggregate.Created):
        pass

    class PeriodClosed(Aggregate.Event):
        period: str
        closed_by: str
        reason: str

        def apply(self, aggregate: PayCalendar) -> None:
            aggregate.closes.append(Close(self.period, self.closed_by, self.reason, self.timestamp, self.originator_version))

    def __init__(self) -> None:
        self.closes: list[Close] = []

    @classmethod
    def open(cls, *, timestamp: datetime) -> PayCalendar:
        return cls._create(cls.Opened, id=pay_calendar_id(), timestamp=timestamp)

    @property
    def closed_through(self) -> str:
        return self.closes[-1].period if self.closes else ""

    def close_of(self, period: str) -> Close | None:
        return next((c for c in self.closes if c.period == period), None)

    def close(self, period: str, *, today: date, closed_by: str, reason: str, timestamp: datetime) -> None:
        """Closes `period`: the next month after the last closed one, and only once it has ended."""
        if self.close_of(period) is not None:
            raise FailedPrecondition(f"pay period {period} is already closed", reason="PERIOD_ALREADY_CLOSED")
        if self.closes and period != next_month(self.closed_through):
            raise FailedPrecondition(
                f"pay periods close in order: the next to close is {next_month(self.closed_through)}, not {period}",
                reason="PERIODS_CLOSE_IN_ORDER",
            )
        if period >= month_of(today):
            raise FailedPrecondition(f"pay period {period} has not ended (today is {today.isoformat()})", reason="PERIOD_NOT_ENDED")
        self.trigger_event(self.PeriodClosed, period=period, closed_by=closed_by, reason=reason, timestamp=timestamp)
