"""GetBalance's one-statement read: the same rows as the two-step read, and the position they reflect."""

from __future__ import annotations

import pytest

from points.projections.balances import BalanceRows
from points.server import PointsService
from tests.app.work_requests import work

pytestmark = pytest.mark.usefixtures("staffed_outlet")


def test_read_at_gives_the_rows_of_read_and_the_tracked_position(idle_service: PointsService) -> None:
    app, view, name = idle_service.app, idle_service.projector.view, idle_service.projector.application_name
    app.register_employee(employee_id="e2", role="service_manager", outlet_id="o1", effective_from="2026-01-01")
    app.record_work_events([work("r-1", quantity="3"), work("r-2", occurred_on="2026-10-05"), work("r-3", employee_id="e2", quantity="2")])
    idle_service.projector.catch_up()
    position = view.position(name)
    assert position > 0

    for employee, months in (("e1", ["2026-11"]), ("e1", ["2026-10", "2026-11", "2026-12"]), ("e2", ["2026-11"]), ("e2", ["2026-01"])):
        rows, at = view.read_at(employee, months, name)
        assert (rows, at) == (view.read(employee, months), position)
    assert view.read_at("e1", ["2026-11"], name)[0].event_count == 1
    assert view.read_at("nobody", ["2026-11"], name) == (BalanceRows((), 0), position)


def test_read_at_before_anything_was_projected_is_empty_at_position_zero(idle_service: PointsService) -> None:
    view = idle_service.projector.view
    assert view.read_at("e1", ["2026-11"], idle_service.projector.application_name) == (BalanceRows((), 0), 0)


def test_get_balance_reports_the_position_its_rows_reflect(idle_service: PointsService) -> None:
    written = idle_service.app.record_work_event(work("r-1", quantity="2"))
    idle_service.projector.catch_up()
    balance = idle_service.balances.get_balance(employee_id="e1", period="2026-11", min_position=0, timeout=0)
    assert balance.position == written.position and balance.event_count == 1

    idle_service.app.record_work_event(work("r-2"))  # not projected yet: the balance stays as of the earlier position
    again = idle_service.balances.get_balance(employee_id="e1", period="2026-11", min_position=0, timeout=0)
    assert (again.position, again.event_count, again.total) == (balance.position, 1, balance.total)
