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
    period: str
    points: Decimal
    lines: tuple[PointsLine, ...]


@dataclass(frozen=True)
class PolicyPublished(Written):
    policy: Publication


@dataclass(frozen=True)
class Corrected(Written):
    event_id: str
    lines: tuple[PointsLine, ...]
    reversed: bool


@dataclass(frozen=True)
class PeriodView:
    period: str
    closed: bool
    closed_at: datetime | None = None
    closed_by: str = ""
    reason: str = ""
    position: int = 0  # of the close


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
