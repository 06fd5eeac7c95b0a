"""Plain data returned by the application: no aggregates leave it."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal

from points.domain.policy import PointsLine
from points.domain.policy_book import Publication


@dataclass(frozen=True)
class OutletView:
    outlet_id: str
    outlet_class: str
    region: str


@dataclass(frozen=True)
class AssignmentView:
    role: str
    outlet_id: str
    effective_from: date
    effective_until: date | None


@dataclass(frozen=True)
class EmployeeView:
    employee_id: str
    history: tuple[AssignmentView, ...]
    name: str = ""

    @property
    def current(self) -> AssignmentView:
        return self.history[-1]


@dataclass(frozen=True)
class Written:
    """The outcome of a write: what is stored, where in the log, and whether this was a retry."""

    position: int
    replayed: bool


@dataclass(frozen=True)
class OutletWritten(Written):
    outlet: OutletView


@dataclass(frozen=True)
class EmployeeWritten(Written):
    employee: EmployeeView


@dataclass(frozen=True)
class WorkRecorded(Written):
    event_id: str
    period: str  # the business month of the work
    points: Decimal
    lines: tuple[PointsLine, ...]
    booked_period: str = ""  # the pay month its lines are booked in (the business month unless that was closed)


@dataclass(frozen=True)
class PolicyPublished(Written):
    policy: Publication


@dataclass(frozen=True)
class Corrected(Written):
    event_id: str
    lines: tuple[PointsLine, ...]
    reversed: bool
    period: str = ""  # the business month of the event, as corrected
    booked_period: str = ""  # the pay month the correction's new lines (or, for a reversal, its reversing lines) are booked in
    reversal_booked_period: str = ""  # the pay month the lines it undoes are reversed in


@dataclass(frozen=True)
class ProposalView:
    """A four-eyes proposal: a pay month's close, or a recalculation under a policy version."""

    proposal_id: str
    subject: str  # the pay month, or the policy version
    state: str  # pending, approved or withdrawn
    proposed_by: str
    proposed_at: datetime
    reason: str
    decided_by: str = ""
    decided_at: datetime | None = None
    decision_reason: str = ""
    position: int = 0  # of the proposal
    decision_position: int = 0  # of the approval or withdrawal


@dataclass(frozen=True)
class PeriodView:
    period: str
    closed: bool
    closed_at: datetime | None = None
    closed_by: str = ""  # who made the close take effect (the approver, under four eyes)
    reason: str = ""
    position: int = 0  # of the close
    proposed_by: str = ""  # who proposed the close ("" for a close made in one step)
    pending: ProposalView | None = None  # a proposal to close it, waiting for approval


@dataclass(frozen=True)
class CalendarView:
    """The pay calendar: every month from its start to the current one, and which must close next."""

    periods: tuple[PeriodView, ...]
    next_to_close: str  # "" while nothing is booked
    skipped: tuple[str, ...] = ()  # open months before the latest closed one (see `points periods repair`)


@dataclass(frozen=True)
class DimensionBalance:
    dimension: str
    points: Decimal
    weighted_points: Decimal


@dataclass(frozen=True)
class BalanceView:
    employee_id: str
    period: str
    total: Decimal
    dimensions: tuple[DimensionBalance, ...]
    event_count: int
    position: int
