"""Balance reads: validate, wait for the asked position, read the view, check the employee exists."""

from __future__ import annotations

from collections.abc import Callable
from decimal import Decimal

from points.application.results import BalanceView, DimensionBalance
from points.domain.errors import NotFound, NotYetVisible, Violations
from points.domain.values import Period, check_identifier
from points.projections.balances import BalanceView as BalanceStore
from points.projections.projector import BalanceProjector

DEFAULT_WAIT = 10.0  # seconds, when the caller sets no deadline


def check_min_position(v: Violations, min_position: int) -> None:
    if min_position < 0:
        v.add("min_position", "NEGATIVE_POSITION", "min_position must be 0 or a position returned by a write")


class BalanceQueries:
    def __init__(
        self,
        *,
        projector: BalanceProjector,
        store: BalanceStore,
        employee_exists: Callable[[str], bool],
    ) -> None:
        self.projector = projector
        self.store = store
        self.employee_exists = employee_exists

    def get_balance(self, *, employee_id: str, period: str, min_position: int, timeout: float | None) -> BalanceView:
        """An employee's points in a month, quarter or year, as of at least `min_position`."""
        v = Violations()
        check_identifier(v, "employee_id", employee_id, "employee")
        parsed = Period.parse(v, "period", period)
        check_min_position(v, min_position)
        v.raise_if_any()
        assert parsed is not None
        if min_position and not self.projector.wait_for(min_position, DEFAULT_WAIT if timeout is None else timeout):
            raise NotYetVisible(
                f"the balances have reached position {self.projector.position}, not yet {min_position}; retry"
            )
        position = self.projector.position
        if not self.employee_exists(employee_id):
            raise NotFound(f"no employee {employee_id!r}", reason="EMPLOYEE_NOT_FOUND")
        rows = self.store.read(employee_id, parsed.months)
        dimensions = tuple(DimensionBalance(d, p, w) for d, p, w in rows.dimensions)
        return BalanceView(
            employee_id=employee_id,
            period=parsed.text,
            total=sum((d.weighted_points for d in dimensions), Decimal("0.0000")),
            dimensions=dimensions,
            event_count=rows.event_count,
            position=position,
        )
