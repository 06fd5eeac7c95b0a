"""Payroll statements on a real store: late work and late corrections become adjustments in the first open month,
a closed month's statements never move, and a listing pages through one position however much is recorded meanwhile.

Worked numbers (policies/example.toml 2026.1; service manager workload .40 service .35; o1 class A):
  before October closes
    e1  2026-10-15 customer_served 20        10       -> 3.5000  (service)
    e1  2026-10-20 counter_transaction 10    10       -> 4.0000  (workload)
    e2  2026-10-21 counter_transaction 5     5        -> 2.0000  (workload)
    e1  2026-11-02 customer_served 4         2        -> 0.7000  (service)
  October statements: e1 7.5000 (2 events), e2 2.0000 (1 event)
  after October closes (booked in November, from_period 2026-10)
    e1  2026-10-31 customer_served 6 (late)  3        -> 1.0500  (service)
    e1  reverse the 2026-10-20 counter work  -10      -> -4.0000 (workload)
    e2  amend 5 -> 8 counter transactions    -5 + 8   -> -2.0000 + 3.2000 = 1.2000 (workload)
  November statements: e1 work: service 2 (0.7000); adjustments: service 3 (1.0500), workload -10 (-4.0000);
                       total -2.2500
                       e2 work: none; adjustments: workload 3 (1.2000); total 1.2000
"""

from __future__ import annotations

from decimal import Decimal
from typing import TYPE_CHECKING

import pytest

from points.application.statements import StatementView
from points.application.points import PointsApplication
from points.application.results import DimensionBalance, WorkRecorded
from points.domain.errors import InvalidRequest
from points.server import PointsService
from tests.app.ledger_reads import all_statements, close_month, correct, explained_lines, statement_of
from tests.app.work_requests import settled_balance, work

if TYPE_CHECKING:
    from tests.conftest import Clock

pytestmark = pytest.mark.usefixtures("staffed_outlet")


@pytest.fixture
def october_closed(idle_service: PointsService, staffed_outlet: None) -> dict[str, WorkRecorded]:
    """The work before October closes (module docstring), then 2026-10 closed; returns the events by request id."""
    app = idle_service.app
    app.register_employee(employee_id="e2", role="service_manager", outlet_id="o1", effective_from="2026-01-01")
    recorded = {
        r.request_id: app.record_work_event(r)
        for r in (
            work("e1-oct-served", kind="customer_served", quantity="20", occurred_on="2026-10-15"),
            work("e1-oct-counter", quantity="10", occurred_on="2026-10-20"),
            work("e2-oct-counter", employee_id="e2", quantity="5", occurred_on="2026-10-21"),
            work("e1-nov-served", kind="customer_served", quantity="4", occurred_on="2026-11-02"),
        )
    }
    idle_service.projector.catch_up()
    close_month(idle_service, "2026-10", reason="October payroll run")
    return recorded


@pytest.fixture
def late_october_news(idle_service: PointsService, october_closed: dict[str, WorkRecorded]) -> None:
    """After the close: a late October event for e1, e1's October counter work reversed, e2's amended 5 -> 8."""
    app = idle_service.app
    app.record_work_event(work("e1-oct-late", kind="customer_served", quantity="6", occurred_on="2026-10-31"))
    correct(app, october_closed["e1-oct-counter"].event_id, "c-rev", reverse=True)
    correct(app, october_closed["e2-oct-counter"].event_id, "c-amend", employee_id="e2", quantity="8")


def dims(statement: StatementView) -> list[tuple[str, str, str]]:
    """The work of the month, per dimension (adjustments apart)."""
    return [(d.dimension, str(d.points), str(d.weighted_points)) for d in statement.work]


def adjustments(statement: StatementView) -> list[tuple[str, str, str, str]]:
    return [(a.from_period, a.dimension, str(a.points), str(a.weighted_points)) for a in statement.adjustments]


# -- adjustments --------------------------------------------------------------------------------


@pytest.mark.usefixtures("late_october_news")
def test_late_work_and_late_corrections_are_adjustments_from_the_closed_month(idle_service: PointsService) -> None:
    e1, e2 = statement_of(idle_service, "e1", "2026-11"), statement_of(idle_service, "e2", "2026-11")

    assert adjustments(e1) == [("2026-10", "service", "3.0000", "1.0500"), ("2026-10", "workload", "-10.0000", "-4.0000")]
    assert adjustments(e2) == [("2026-10", "workload", "3.0000", "1.2000")]
    assert (dims(e1), dims(e2)) == ([("service", "2.0000", "0.7000")], [])
    assert (str(e1.total), str(e2.total)) == ("-2.2500", "1.2000")
    # events with lines booked in November: e1's November work, its late October work and its reversed October work;
    # e2's amended October work
    assert (e1.event_count, e2.event_count) == (3, 1)
    assert (e1.closed, e1.digest, e2.closed, e2.digest) == (False, "", False, "")


@pytest.mark.usefixtures("late_october_news")
def test_the_adjustments_count_in_the_first_open_months_balance_and_the_closed_one_stays(idle_service: PointsService) -> None:
    assert str(settled_balance(idle_service, "e1", "2026-10").total) == "7.5000"
    assert str(settled_balance(idle_service, "e1", "2026-11").total) == "-2.2500"
    assert str(settled_balance(idle_service, "e1", "2026-Q4").total) == "5.2500"  # 7.5 - 2.25: the quarter nets out
    assert str(settled_balance(idle_service, "e2", "2026-10").total) == "2.0000"
    assert str(settled_balance(idle_service, "e2", "2026-11").total) == "1.2000"


@pytest.mark.usefixtures("late_october_news")
def test_the_adjustment_lines_keep_their_business_month_and_name_the_pay_month(idle_service: PointsService) -> None:
    lines = explained_lines(idle_service, "e1", "2026-11")

    assert [(x.entry, x.occurred_on, x.booked_month) for x in lines] == [
        ("recorded", "2026-11-02", "2026-11"),
        ("recorded", "2026-10-31", "2026-11"),
        ("reversal", "2026-10-20", "2026-11"),
    ]
    assert [x.entry for x in explained_lines(idle_service, "e1", "2026-10")] == ["recorded", "recorded"]


def test_the_closed_months_statements_and_digests_do_not_move(idle_service: PointsService, october_closed: dict[str, WorkRecorded]) -> None:
    before = all_statements(idle_service, "2026-10")

    idle_service.app.record_work_event(work("e1-oct-late", kind="customer_served", quantity="6", occurred_on="2026-10-31"))
    correct(idle_service.app, october_closed["e1-oct-counter"].event_id, "c-rev", reverse=True)
    correct(idle_service.app, october_closed["e2-oct-counter"].event_id, "c-amend", employee_id="e2", quantity="8")
    correct(idle_service.app, october_closed["e1-nov-served"].event_id, "c-date", occurred_on="2026-10-29")

    after = all_statements(idle_service, "2026-10")
    assert after == before
    assert [(s.employee_id, str(s.total), s.event_count, s.closed) for s in after] == [("e1", "7.5000", 2, True), ("e2", "2.0000", 1, True)]
    assert all(len(s.digest) == 64 for s in after)


def test_an_amendment_into_the_closed_month_is_an_adjustment_in_the_open_one(
    idle_service: PointsService, october_closed: dict[str, WorkRecorded]
) -> None:
    correct(idle_service.app, october_closed["e1-nov-served"].event_id, occurred_on="2026-10-29")

    e1 = statement_of(idle_service, "e1", "2026-11")
    assert adjustments(e1) == [("2026-10", "service", "2.0000", "0.7000")]
    assert dims(e1) == [("service", "0.0000", "0.0000")]  # November's work: recorded, then reversed when its date moved
    assert str(settled_balance(idle_service, "e1", "2026-10").total) == "7.5000"


def test_after_november_closes_late_october_work_is_booked_in_december(
    idle_service: PointsService, october_closed: dict[str, WorkRecorded], clock: Clock
) -> None:
    clock.advance(days=3)  # 2026-12-01
    close_month(idle_service, "2026-11", reason="November payroll run")

    idle_service.app.record_work_event(work("e1-oct-very-late", kind="customer_served", quantity="6", occurred_on="2026-10-31"))

    assert adjustments(statement_of(idle_service, "e1", "2026-12")) == [("2026-10", "service", "3.0000", "1.0500")]
    assert str(statement_of(idle_service, "e1", "2026-11").total) == "0.7000"


# -- digests ------------------------------------------------------------------------------------


@pytest.mark.usefixtures("october_closed")
def test_only_a_closed_months_statements_carry_a_digest(idle_service: PointsService) -> None:
    october, november = all_statements(idle_service, "2026-10"), all_statements(idle_service, "2026-11")

    assert [(s.closed, len(s.digest)) for s in october] == [(True, 64), (True, 64)]
    assert [(s.employee_id, s.closed, s.digest) for s in november] == [("e1", False, "")]
    assert october[0].digest != october[1].digest


def test_a_closed_statement_is_listed_as_of_the_close(idle_service: PointsService, october_closed: dict[str, WorkRecorded]) -> None:
    close_position = idle_service.periods.get_period("2026-10").position
    idle_service.projector.catch_up()

    statements, token, position = idle_service.statements.list_statements(
        period="2026-10", page_size=0, page_token="", min_position=0, timeout=0
    )

    assert position >= close_position
    assert (token, [s.employee_id for s in statements]) == ("", ["e1", "e2"])


@pytest.mark.parametrize(("period", "reason"), [("2026-Q4", "NOT_A_MONTH"), ("2026-1", "MALFORMED_PERIOD")])
def test_statements_are_listed_for_one_month(idle_service: PointsService, period: str, reason: str) -> None:
    with pytest.raises(InvalidRequest) as refused:
        idle_service.statements.list_statements(period=period, page_size=0, page_token="", min_position=0, timeout=0)

    assert refused.value.reason == reason


# -- paging while work is recorded ------------------------------------------------------------------


@pytest.fixture
def ten_employees_in_november(idle_service: PointsService, staffed_outlet: None) -> dict[str, Decimal]:
    """Service managers m00..m09 at o1, m{i} with i+1 counter transactions in November (weighted 0.4 x (i+1));
    returns each one's expected November total."""
    app = idle_service.app
    expected = {}
    for i in range(10):
        employee_id = f"m{i:02d}"
        app.register_employee(employee_id=employee_id, role="service_manager", outlet_id="o1", effective_from="2026-01-01")
        app.record_work_event(work(f"{employee_id}-1", employee_id=employee_id, quantity=str(i + 1)))
        expected[employee_id] = Decimal("0.4") * (i + 1)
    idle_service.projector.catch_up()
    return expected


def page(service: PointsService, token: str) -> tuple[list[StatementView], str, int]:
    return service.statements.list_statements(period="2026-11", page_size=3, page_token=token, min_position=0, timeout=0)


def test_statements_page_through_one_position_while_work_is_recorded(
    idle_service: PointsService, ten_employees_in_november: dict[str, Decimal]
) -> None:
    app = idle_service.app
    interleaved = iter(
        [
            ("a-new", "m00"),  # a newcomer before the cursor, and more work for one already listed
            ("m045", "m05"),  # a newcomer between listed ids, more work for one not yet listed
            ("z-new", "m09"),  # a newcomer after every id, more work for the last one
        ]
    )
    listed: list[StatementView] = []
    statements, token, first_position = page(idle_service, "")
    listed += statements
    n = 0
    while token:
        newcomer, existing = next(interleaved)
        app.register_employee(employee_id=newcomer, role="service_manager", outlet_id="o1", effective_from="2026-01-01")
        app.record_work_event(work(f"{newcomer}-1", employee_id=newcomer, quantity="100"))
        app.record_work_event(work(f"{existing}-more-{n}", employee_id=existing, quantity="100"))
        idle_service.projector.catch_up()
        n += 1
        statements, token, position = page(idle_service, token)
        assert position == first_position
        listed += statements

    assert n == 3  # 10 employees, 3 a page: four pages
    assert [s.employee_id for s in listed] == sorted(ten_employees_in_november)
    assert {s.employee_id: s.total for s in listed} == ten_employees_in_november
    # a new listing sees the newcomers (e1 has no November work)
    assert [s.employee_id for s in all_statements(idle_service, "2026-11")] == [
        "a-new", "m00", "m01", "m02", "m03", "m04", "m045", "m05", "m06", "m07", "m08", "m09", "z-new",
    ]  # fmt: skip


def test_a_page_token_of_another_month_is_refused(idle_service: PointsService, ten_employees_in_november: dict[str, Decimal]) -> None:
    _, token, _ = page(idle_service, "")

    with pytest.raises(InvalidRequest) as refused:
        idle_service.statements.list_statements(period="2026-10", page_size=3, page_token=token, min_position=0, timeout=0)

    assert refused.value.reason == "INVALID_PAGE_TOKEN"


def test_a_month_closed_while_paging_stays_open_for_the_rest_of_the_listing(idle_service: PointsService) -> None:
    # the later page shows the statement as of the first page's position, before the close: it must not present
    # itself as the closed statement (with a digest of lines the frozen statement does not have)
    app = idle_service.app
    app.register_employee(employee_id="e2", role="service_manager", outlet_id="o1", effective_from="2026-01-01")
    app.record_work_event(work("e1-oct", quantity="10", occurred_on="2026-10-02"))  # 4.0000
    app.record_work_event(work("e2-oct", employee_id="e2", quantity="10", occurred_on="2026-10-02"))  # 4.0000
    idle_service.projector.catch_up()
    first, token, _ = idle_service.statements.list_statements(period="2026-10", page_size=1, page_token="", min_position=0, timeout=0)
    app.record_work_event(work("e2-oct-more", employee_id="e2", quantity="5", occurred_on="2026-10-03"))  # +2.0000 before the close
    close_month(idle_service, "2026-10", reason="")
    idle_service.projector.catch_up()

    (second,), _, _ = idle_service.statements.list_statements(period="2026-10", page_size=1, page_token=token, min_position=0, timeout=0)

    assert [(s.employee_id, str(s.total), s.closed, s.digest) for s in (*first, second)] == [
        ("e1", "4.0000", False, ""),
        ("e2", "4.0000", False, ""),
    ]
    frozen = statement_of(idle_service, "e2", "2026-10")
    assert (str(frozen.total), frozen.closed, len(frozen.digest)) == ("6.0000", True, 64)


def test_statements_list_every_dimension_sorted(idle_service: PointsService) -> None:
    app = idle_service.app
    app.record_work_event(work("a", kind="financial_education"))  # development 5 -> 0.5000
    app.record_work_event(work("b", kind="smart_machine_review", quantity="10"))  # quality 4 -> 0.6000
    app.record_work_event(work("c"))  # workload 1 -> 0.4000

    statement = statement_of(idle_service, "e1", "2026-11")

    assert statement.work == (
        DimensionBalance("development", Decimal("5.0000"), Decimal("0.5000")),
        DimensionBalance("quality", Decimal("4.0000"), Decimal("0.6000")),
        DimensionBalance("workload", Decimal("1.0000"), Decimal("0.4000")),
    )
    assert (str(statement.total), statement.event_count, statement.adjustments) == ("1.5000", 3, ())


def test_recording_work_to_a_closed_month_is_not_refused(app: PointsApplication, idle_service: PointsService) -> None:
    on_time = app.record_work_event(work("on-time", occurred_on="2026-10-02"))
    close_month(idle_service, "2026-10", reason="")

    late = app.record_work_event(work("late", occurred_on="2026-10-05"))

    assert (on_time.period, on_time.booked_period) == ("2026-10", "2026-10")
    assert (late.period, late.booked_period, str(late.points)) == ("2026-10", "2026-11", "0.4000")  # the event keeps its business month
    assert adjustments(statement_of(idle_service, "e1", "2026-11")) == [("2026-10", "workload", "1.0000", "0.4000")]
