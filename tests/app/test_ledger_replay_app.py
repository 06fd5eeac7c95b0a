"""Replaying the log: after corrections, late work, caps and a pay-period close, a rebuild reproduces the ledger.

The live projector books every write as its own page (the test catches up after each); the rebuild
books the whole log in one page, so a difference in how pages carry state shows up as a difference.

The work (policies/example.toml 2026.1, NOVEMBER_VERSION 2026.2 from 2026-11-01: 2 a plain counter transaction):
  e1 (service manager, o1 class A)
    2026-10-15 customer_served 20           10                      -> 3.5000
    2026-10-20 counter_transaction 10       10 (2026.1)             -> 4.0000
    2026-11-02 counter_transaction 1000     2000 of 3000 a month    -> 800.0000, later reversed
    2026-11-03 counter_transaction 600      1200, cut to 1000       -> 400.0000 "period"
    2026-11-04 counter_transaction 100      200, room given back by the reversal -> 80.0000
    2026-11-05 customer_served 4            2, later dated 2026-10-29 (after October closed)
  e2 (operations supervisor, o1 class A)
    2026-11-02 counter_authorisation 400    200, cut to 150 a day, amended to 200 units: 100
  October closes; then e1's late 2026-10-31 customer_served 6, e1's October counter work reversed.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from points.application.statements import StatementView
from points.application.points import WorkFields
from points.application.results import BalanceView, WorkRecorded
from points.projections.ledger_rows import LineRow, PeriodCloseRow
from points.server import PointsService
from tests.app.ledger_reads import all_statements, close_month, correct, explained_lines, recalculate
from tests.app.work_requests import settled_balance, work
from tests.support.policy_versions import NOVEMBER_VERSION

EMPLOYEES = ("e1", "e2")
PERIODS = ("2026-10", "2026-11", "2026-Q4", "2026")
PAY_MONTHS = ("2026-10", "2026-11")

pytestmark = pytest.mark.usefixtures("staffed_outlet")


def one_page_each(service: PointsService) -> Callable[..., Any]:
    """Wraps an application call so the projector books what it wrote as a page of its own."""

    def call(method: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
        result = method(*args, **kwargs)
        service.projector.catch_up()
        return result

    return call


@pytest.fixture
def corrected_and_closed_autumn(idle_service: PointsService, staffed_outlet: None) -> None:
    """The work in the module docstring, each write booked as its own page."""
    app, step = idle_service.app, one_page_each(idle_service)
    step(app.register_employee, employee_id="e2", role="operations_supervisor", outlet_id="o1", effective_from="2026-01-01")
    step(publish_november_rates, idle_service)

    def record(fields: WorkFields) -> WorkRecorded:
        return step(app.record_work_event, fields)  # type: ignore[no-any-return]

    record(work("e1-oct-served", kind="customer_served", quantity="20", occurred_on="2026-10-15"))
    oct_counter = record(work("e1-oct-counter", quantity="10", occurred_on="2026-10-20"))
    big = record(work("e1-nov-1000", quantity="1000", occurred_on="2026-11-02"))
    record(work("e1-nov-600", quantity="600", occurred_on="2026-11-03"))
    step(correct, app, big.event_id, "c-big", reverse=True)
    record(work("e1-nov-100", quantity="100", occurred_on="2026-11-04"))
    nov_served = record(work("e1-nov-served", kind="customer_served", quantity="4", occurred_on="2026-11-05"))
    auth = record(work("e2-auth", employee_id="e2", kind="counter_authorisation", quantity="400"))
    step(correct, app, auth.event_id, "c-auth", employee_id="e2", quantity="200")
    step(close_month, idle_service, "2026-10", reason="October payroll run")
    record(work("e1-oct-late", kind="customer_served", quantity="6", occurred_on="2026-10-31"))
    step(correct, app, oct_counter.event_id, "c-oct", reverse=True)
    step(correct, app, nov_served.event_id, "c-date", occurred_on="2026-10-29")


def publish_november_rates(service: PointsService) -> None:
    service.policies.publish(document=NOVEMBER_VERSION, source="2026.2.toml", effective_from="", published_by="hq", reason="rates")


def balances(service: PointsService) -> dict[tuple[str, str], BalanceView]:
    return {(e, p): settled_balance(service, e, p) for e in EMPLOYEES for p in PERIODS}


def statements(service: PointsService) -> dict[str, list[StatementView]]:
    return {m: all_statements(service, m, page_size=1) for m in PAY_MONTHS}


def lines(service: PointsService) -> dict[str, list[LineRow]]:
    return {e: explained_lines(service, e, "2026") for e in EMPLOYEES}


def closes(service: PointsService) -> list[PeriodCloseRow]:
    return service.projector.view.closes()


@pytest.mark.usefixtures("corrected_and_closed_autumn")
def test_the_live_ledger_has_the_worked_numbers(idle_service: PointsService) -> None:
    # e1 October: 3.5 + 4.0 = 7.5000
    # e1 November: 800 + 400 - 800 (reversed) + 80 = 480; + 0.7 - 0.7 (the served work moved to October) + 0.7 (booked back
    #   here as an October adjustment) + 1.05 (late October work) - 4 (October counter work reversed) = 477.7500
    # e2 November: 60 - 60 + 40 = 40.0000
    assert str(settled_balance(idle_service, "e1", "2026-10").total) == "7.5000"
    assert str(settled_balance(idle_service, "e1", "2026-11").total) == "477.7500"
    assert str(settled_balance(idle_service, "e2", "2026-11").total) == "40.0000"
    (october,) = [s for s in all_statements(idle_service, "2026-11") if s.employee_id == "e1"]
    assert [(a.from_period, a.dimension, str(a.points)) for a in october.adjustments] == [
        ("2026-10", "service", "5.0000"), ("2026-10", "workload", "-10.0000"),
    ]  # fmt: skip


@pytest.mark.usefixtures("corrected_and_closed_autumn")
def test_a_rebuild_reproduces_every_balance(idle_service: PointsService) -> None:
    live = balances(idle_service)

    idle_service.projector.rebuild()

    assert balances(idle_service) == live


@pytest.mark.usefixtures("corrected_and_closed_autumn")
def test_a_rebuild_reproduces_every_statement_and_its_digest(idle_service: PointsService) -> None:
    live = statements(idle_service)
    assert [s.digest != "" for s in live["2026-10"]] == [True]  # only e1 worked in October

    idle_service.projector.rebuild()

    assert statements(idle_service) == live


@pytest.mark.usefixtures("corrected_and_closed_autumn")
def test_a_rebuild_reproduces_every_explained_line(idle_service: PointsService) -> None:
    live = lines(idle_service)
    assert [x.entry for x in live["e2"]] == ["recorded", "reversal", "amended"]

    idle_service.projector.rebuild()

    assert lines(idle_service) == live


@pytest.mark.usefixtures("corrected_and_closed_autumn")
def test_a_rebuild_reproduces_the_period_closes(idle_service: PointsService) -> None:
    live = closes(idle_service)
    assert [(c.period, c.proposed_by, c.closed_by) for c in live] == [("2026-10", "payroll clerk", "payroll manager")]

    idle_service.projector.rebuild()

    assert closes(idle_service) == live


@pytest.mark.usefixtures("corrected_and_closed_autumn")
def test_a_second_rebuild_changes_nothing(idle_service: PointsService) -> None:
    idle_service.projector.rebuild()
    first = (balances(idle_service), statements(idle_service), lines(idle_service))

    idle_service.projector.rebuild()

    assert (balances(idle_service), statements(idle_service), lines(idle_service)) == first


def test_a_rebuild_reproduces_the_lines_of_a_reversal_after_a_recalculation(idle_service: PointsService, staffed_outlet: None) -> None:
    app, step = idle_service.app, one_page_each(idle_service)
    recorded = step(app.record_work_event, work("e1-ct", quantity="10", occurred_on="2026-11-02"))  # 2026.1: 10 -> 4.0000
    step(publish_november_rates, idle_service)
    idle_service.projector.start()  # the recalculation waits for the view after each batch
    try:
        recalculate(idle_service, "rc-1", "2026.2", requested_by="hq", reason="November rates")
    finally:
        idle_service.projector.stop()
    step(correct, app, recorded.event_id, "c-rev", reverse=True)
    live = explained_lines(idle_service, "e1", "2026-11")
    # recorded 10 (2026.1), reversed and rescored 20 (2026.2), then the reversal of the 20 only
    assert [(x.entry, x.policy_version, x.points, x.event_delta) for x in live] == [
        ("recorded", "2026.1", 100000, 1),
        ("reversal", "2026.1", -100000, -1),
        ("rescored", "2026.2", 200000, 1),
        ("reversal", "2026.2", -200000, -1),
    ]
    balance = settled_balance(idle_service, "e1", "2026-11")
    assert (str(balance.total), balance.event_count) == ("0.0000", 0)

    idle_service.projector.rebuild()

    assert explained_lines(idle_service, "e1", "2026-11") == live
