"""Builders for the application tier: work requests with sensible defaults, and settled balance reads."""

from __future__ import annotations

from points.application.points import PointsApplication, WorkFields
from points.application.results import BalanceView
from points.server import PointsService

ALL_MONTHS_2026 = tuple(f"2026-{m:02d}" for m in range(1, 13))


def work(
    request_id: str,
    *,
    employee_id: str = "e1",
    kind: str = "counter_transaction",
    quantity: str = "1",
    occurred_on: str = "2026-11-02",
) -> WorkFields:
    """A request to record work; by default one counter transaction by e1 (1.0000 points, 0.4000 weighted)."""
    return WorkFields(request_id, employee_id, kind, quantity, occurred_on)


def settled_balance(service: PointsService, employee_id: str, period: str) -> BalanceView:
    """The balance once the (hand-driven) projector has read the whole log."""
    service.projector.catch_up()
    return service.balances.get_balance(employee_id=employee_id, period=period, min_position=0, timeout=0)


def log_size(app: PointsApplication) -> int:
    return app.recorder.max_notification_id() or 0
