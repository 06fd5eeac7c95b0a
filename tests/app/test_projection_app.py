"""The balance projection: exactly once across restarts and rival projectors, and reads that wait for a write."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor

import pytest

from points.application.points import PointsApplication
from points.domain.errors import NotYetVisible
from points.projections.balances import BalanceRows, ProjectionConflict
from points.projections.projector import BalanceProjector
from points.server import PointsService
from tests.app.work_requests import ALL_MONTHS_2026, log_size, settled_balance, work

EMPLOYEES = ("e1", "e2")

# (employee, period) -> (total, event count) for the work in `record_two_months_of_work`
EXPECTED = {
    ("e1", "2026-10"): ("1.7500", 1),  # 10 customers served x 0.5 x 0.35
    ("e1", "2026-11"): ("4.8000", 6),  # 6 x 2 counter transactions x 1 x 0.40
    ("e1", "2026"): ("6.5500", 7),
    ("e2", "2026-10"): ("16.0000", 4),  # 4 duty days x 10 x 0.40
    ("e2", "2026-11"): ("0.0000", 0),
}


def record_two_months_of_work(app: PointsApplication) -> None:
    """Outlet o1, service manager e1 and operations supervisor e2, then 11 work events."""
    app.register_outlet(outlet_id="o1", outlet_class="A", region="north")
    app.register_employee(employee_id="e1", role="service_manager", outlet_id="o1", effective_from="2026-01-01")
    app.register_employee(employee_id="e2", role="operations_supervisor", outlet_id="o1", effective_from="2026-01-01")
    for day in range(1, 7):
        app.record_work_event(work(f"e1-ct-{day}", quantity="2", occurred_on=f"2026-11-{day:02d}"))
    app.record_work_event(work("e1-cs", kind="customer_served", quantity="10", occurred_on="2026-10-15"))
    for day in range(1, 5):
        app.record_work_event(work(f"e2-dd-{day}", employee_id="e2", kind="duty_day", occurred_on=f"2026-10-{day:02d}"))


def totals(service: PointsService) -> dict[tuple[str, str], tuple[str, int]]:
    balances = {key: settled_balance(service, *key) for key in EXPECTED}
    return {key: (str(b.total), b.event_count) for key, b in balances.items()}


def view_rows(service: PointsService) -> dict[tuple[str, str], BalanceRows]:
    """Every row of the view, per employee and month of 2026."""
    return {(e, m): service.projector.view.read(e, [m]) for e in EMPLOYEES for m in ALL_MONTHS_2026}


def test_a_restarted_projector_resumes_where_it_stopped_and_counts_each_event_once(
    open_service: Callable[[], PointsService],
) -> None:
    first = open_service()
    record_two_months_of_work(first.app)
    first.projector.page_size = 3
    first.projector.run_once()
    first.projector.run_once()
    stopped_at = first.projector.position
    assert 0 < stopped_at < log_size(first.app)
    first.close()

    restarted = open_service()
    assert restarted.projector.position == stopped_at
    restarted.projector.catch_up()

    assert totals(restarted) == EXPECTED
    caught_up = view_rows(restarted)
    restarted.projector.rebuild()
    assert view_rows(restarted) == caught_up
    assert restarted.projector.position == log_size(restarted.app)


def test_two_projectors_on_one_view_never_count_an_event_twice(open_service: Callable[[], PointsService]) -> None:
    writer, rival = open_service(), open_service()
    writer.app.register_outlet(outlet_id="o1", outlet_class="A", region="north")
    writer.app.register_employee(employee_id="e1", role="service_manager", outlet_id="o1", effective_from="2026-01-01")
    writer.app.record_work_events([work(f"r{i}") for i in range(60)])
    end = log_size(writer.app)
    start = threading.Barrier(2)
    applied = {writer.projector: 0, rival.projector: 0}

    def drain(projector: BalanceProjector) -> None:
        projector.page_size = 3
        start.wait()
        deadline = time.monotonic() + 30
        while projector.position < end and time.monotonic() < deadline:
            try:
                applied[projector] += projector.run_once()
            except ProjectionConflict:
                continue  # the rival moved first; run_once re-read the tracked position

    with ThreadPoolExecutor(2) as pool:
        for finished in [pool.submit(drain, p) for p in applied]:
            finished.result()  # re-raises anything but a conflict

    assert (writer.projector.position, rival.projector.position) == (end, end)
    notifications = len(writer.app.recorder.select_notifications(start=None, limit=10_000))
    assert sum(applied.values()) == notifications  # each one applied by exactly one of them
    for service in (writer, rival):
        balance = service.balances.get_balance(employee_id="e1", period="2026-11", min_position=end, timeout=0)
        assert (str(balance.total), balance.event_count) == ("24.0000", 60)  # 60 x 1 x 0.40


def test_a_read_waits_for_the_projector_to_reach_the_asked_position(idle_service: PointsService) -> None:
    app = idle_service.app
    app.register_outlet(outlet_id="o1", outlet_class="A", region="north")
    app.register_employee(employee_id="e1", role="service_manager", outlet_id="o1", effective_from="2026-01-01")
    written = app.record_work_event(work("r1", quantity="3"))
    late_start = threading.Timer(0.3, idle_service.projector.start)
    late_start.start()

    began = time.monotonic()
    balance = idle_service.balances.get_balance(employee_id="e1", period="2026-11", min_position=written.position, timeout=10)

    late_start.join()
    assert time.monotonic() - began >= 0.25
    assert balance.position >= written.position
    assert (str(balance.total), balance.event_count) == ("1.2000", 1)


def test_a_read_with_a_running_projector_sees_the_write_it_names(service: PointsService) -> None:
    app = service.app
    app.register_outlet(outlet_id="o1", outlet_class="A", region="north")
    app.register_employee(employee_id="e1", role="service_manager", outlet_id="o1", effective_from="2026-01-01")
    app.record_work_events([work(f"r{i}") for i in range(200)])
    written = app.record_work_event(work("last", quantity="3"))

    balance = service.balances.get_balance(employee_id="e1", period="2026-11", min_position=written.position, timeout=10)

    assert balance.position >= written.position
    assert (str(balance.total), balance.event_count) == ("81.2000", 201)  # (200 x 1 + 3) x 0.40


def test_a_read_of_a_position_beyond_the_log_gives_up_at_its_deadline(service: PointsService) -> None:
    app = service.app
    app.register_outlet(outlet_id="o1", outlet_class="A", region="north")
    app.register_employee(employee_id="e1", role="service_manager", outlet_id="o1", effective_from="2026-01-01")
    beyond = log_size(app) + 100

    began = time.monotonic()
    with pytest.raises(NotYetVisible) as late:
        service.balances.get_balance(employee_id="e1", period="2026-11", min_position=beyond, timeout=0.2)

    assert 0.2 <= time.monotonic() - began < 2
    assert late.value.reason == "POSITION_NOT_YET_VISIBLE"
