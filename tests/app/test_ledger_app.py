"""The ledger on a real store: caps booked in log order, a rebuild that reproduces every line, and explained balances.

Worked numbers (example policy 2026.1; 2026.2 from 2026-11-01 doubles the plain counter rate;
service manager workload .40 service .35; operations supervisor workload .40):
  e1 (service manager, o1 class A)
    2026-10-30 counter_transaction 10          2026.1  10                 -> 4.0000
    2026-10-31 customer_served 10 at o3 (C)     2026.1  10 x .5 x 1.2 = 6  -> 2.1000
    2026-11-02 counter_transaction 1000        2026.2  2000 (of 3000/month)  -> 800.0000
    2026-11-03 counter_transaction 600         2026.2  1200, 1000 left: 1000 "period" -> 400.0000
    2026-11-04 counter_transaction 10, high    2026.2  15 (its own rule and cap) -> 6.0000
    2026-11-05 justified_complaint 1           2026.2  -30                -> -10.5000
  e2 (operations supervisor, o1 class A)
    2026-11-02 counter_authorisation 200       100 (of 150/day)           -> 40.0000
    2026-11-02 counter_authorisation 200       100, 50 left: 50 "day"     -> 20.0000
    2026-11-03 counter_authorisation 100       50, a new day              -> 20.0000
    2026-11-04 duty_day 1 at o3 (C)            10 x 1.1 = 11              -> 4.4000
  e1 2026-10: 6.1000; e1 2026-11: 800 + 400 + 6 - 10.5 = 1195.5000; e2 2026-11: 84.4000
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from decimal import Decimal

import pytest

from points.application.balances import ExplainedBalance
from points.application.points import PointsApplication
from points.domain.errors import InvalidRequest, NotFound, NotYetVisible, PointsError
from points.projections.balances import BalanceRows
from points.projections.ledger_rows import LineRow, from_units
from points.server import PointsService
from tests.app.work_requests import ALL_MONTHS_2026, log_size, settled_balance, work
from tests.support.policy_versions import NOVEMBER_VERSION, version_of
from tests.app.ledger_reads import recalculate

pytestmark = pytest.mark.usefixtures("staffed_outlet")

EVERYTHING = 2**62  # a position past any log


@pytest.fixture
def worked_autumn(idle_service: PointsService, staffed_outlet: None) -> None:
    """The work in the module docstring, under 2026.1 and 2026.2, with a day cap and a period cap reached."""
    app = idle_service.app
    app.register_outlet(outlet_id="o3", outlet_class="C", region="south")
    app.register_employee(employee_id="e2", role="operations_supervisor", outlet_id="o1", effective_from="2026-01-01")
    idle_service.policies.publish(
        document=NOVEMBER_VERSION, source="2026.2.toml", effective_from="", published_by="hq", reason="rates"
    )
    app.record_work_event(work("e1-oct-ct", quantity="10", occurred_on="2026-10-30"))
    app.record_work_event(replace(work("e1-oct-cs", kind="customer_served", quantity="10", occurred_on="2026-10-31"), outlet_id="o3"))
    app.record_work_events(
        [
            work("e1-ct-1", quantity="1000", occurred_on="2026-11-02"),
            work("e2-ca-1", employee_id="e2", kind="counter_authorisation", quantity="200", occurred_on="2026-11-02"),
            work("e1-ct-2", quantity="600", occurred_on="2026-11-03"),
            work("e2-ca-2", employee_id="e2", kind="counter_authorisation", quantity="200", occurred_on="2026-11-02"),
        ]
    )
    app.record_work_event(replace(work("e1-cx", quantity="10", occurred_on="2026-11-04"), attributes={"complexity": "high"}))
    app.record_work_event(work("e1-complaint", kind="justified_complaint", occurred_on="2026-11-05"))
    app.record_work_event(work("e2-ca-3", employee_id="e2", kind="counter_authorisation", quantity="100", occurred_on="2026-11-03"))
    app.record_work_event(replace(work("e2-dd", employee_id="e2", kind="duty_day", occurred_on="2026-11-04"), outlet_id="o3"))


def explain(
    service: PointsService, employee_id: str, period: str, *, page_size: int = 0, page_token: str = "", min_position: int = 0
) -> ExplainedBalance:
    return service.balances.explain_balance(
        employee_id=employee_id, period=period, min_position=min_position, page_size=page_size, page_token=page_token, timeout=0
    )


def booked(line: LineRow) -> tuple[str, str, str, str, str, str, str]:
    """(day, rule, version, points before cap, cap, points, weighted) as decimals."""
    return (
        line.occurred_on, line.rule_id, line.policy_version, str(from_units(line.points_before_cap)), line.cap_applied,
        str(from_units(line.points)), str(from_units(line.weighted_points)),
    )  # fmt: skip


def all_lines(service: PointsService) -> list[LineRow]:
    """Every row of balance_lines, for every employee and month of 2026."""
    view = service.projector.view
    return [
        line
        for employee_id in ("e1", "e2")
        for line in view.read_lines(employee_id, ALL_MONTHS_2026, upto=EVERYTHING, after=(0, -1), limit=10_000)
    ]


def all_sums(service: PointsService) -> dict[tuple[str, str], BalanceRows]:
    return {(e, m): service.projector.view.read(e, [m]) for e in ("e1", "e2") for m in ALL_MONTHS_2026}


# -- caps in log order ------------------------------------------------------------------


@pytest.mark.usefixtures("worked_autumn")
def test_the_period_cap_cuts_the_line_that_crosses_it(idle_service: PointsService) -> None:
    idle_service.projector.catch_up()

    assert [booked(x) for x in explain(idle_service, "e1", "2026-11").lines] == [
        ("2026-11-02", "sm-counter-transaction", "2026.2", "2000.0000", "", "2000.0000", "800.0000"),
        ("2026-11-03", "sm-counter-transaction", "2026.2", "1200.0000", "period", "1000.0000", "400.0000"),
        ("2026-11-04", "sm-counter-transaction-complex", "2026.2", "15.0000", "", "15.0000", "6.0000"),
        ("2026-11-05", "sm-justified-complaint", "2026.2", "-30.0000", "", "-30.0000", "-10.5000"),
    ]


@pytest.mark.usefixtures("worked_autumn")
def test_the_day_cap_cuts_the_second_authorisation_of_the_day_only(idle_service: PointsService) -> None:
    idle_service.projector.catch_up()

    assert [booked(x) for x in explain(idle_service, "e2", "2026-11").lines] == [
        ("2026-11-02", "os-counter-authorisation", "2026.2", "100.0000", "", "100.0000", "40.0000"),
        ("2026-11-02", "os-counter-authorisation", "2026.2", "100.0000", "day", "50.0000", "20.0000"),
        ("2026-11-03", "os-counter-authorisation", "2026.2", "50.0000", "", "50.0000", "20.0000"),
        ("2026-11-04", "os-duty-day", "2026.2", "11.0000", "", "11.0000", "4.4000"),
    ]


@pytest.mark.usefixtures("worked_autumn")
def test_multipliers_by_outlet_class_are_booked_with_the_line(idle_service: PointsService) -> None:
    idle_service.projector.catch_up()

    served = [x for x in explain(idle_service, "e1", "2026-10").lines if x.kind == "customer_served"]

    assert [(x.multiplier, *booked(x)[1:3], str(from_units(x.points))) for x in served] == [
        ("1.2", "sm-customer-served", "2026.1", "6.0000")
    ]


@pytest.mark.usefixtures("worked_autumn")
@pytest.mark.parametrize(
    ("employee_id", "period", "total", "event_count"),
    [("e1", "2026-10", "6.1000", 2), ("e1", "2026-11", "1195.5000", 4), ("e2", "2026-11", "84.4000", 4), ("e1", "2026-Q4", "1201.6000", 6)],
)
def test_balances_count_the_capped_points(
    idle_service: PointsService, employee_id: str, period: str, total: str, event_count: int
) -> None:
    balance = settled_balance(idle_service, employee_id, period)

    assert (str(balance.total), balance.event_count) == (total, event_count)


# -- replay -------------------------------------------------------------------------------


@pytest.mark.usefixtures("worked_autumn")
def test_a_rebuild_reproduces_every_booked_line_and_sum(idle_service: PointsService) -> None:
    idle_service.projector.catch_up()
    lines, sums, position = all_lines(idle_service), all_sums(idle_service), idle_service.projector.position

    idle_service.projector.rebuild()

    assert len(lines) == 10  # 6 events of e1 and 4 of e2, one line each
    assert all_lines(idle_service) == lines
    assert all_sums(idle_service) == sums
    assert idle_service.projector.position == position == log_size(idle_service.app)


@pytest.mark.usefixtures("worked_autumn")
@pytest.mark.parametrize("page_size", [1, 2, 3])
def test_caps_booked_over_many_small_pages_equal_caps_booked_in_one_page(idle_service: PointsService, page_size: int) -> None:
    idle_service.projector.catch_up()  # one page of 1,000
    in_one_page = all_lines(idle_service)

    idle_service.projector.page_size = page_size  # the cap usage must carry over from page to page
    idle_service.projector.rebuild()

    assert all_lines(idle_service) == in_one_page


def test_a_rebuild_on_a_second_service_reproduces_the_lines_of_the_first(
    idle_service: PointsService, open_service: Callable[[], PointsService]
) -> None:
    app = idle_service.app
    app.record_work_events([work(f"w{i}", quantity="700", occurred_on=f"2026-11-{i + 1:02d}") for i in range(6)])
    idle_service.projector.catch_up()  # 5 x 700 = 3500: the fifth is cut to 200, the sixth to 0
    lines = all_lines(idle_service)

    other = open_service()
    other.projector.rebuild()

    assert all_lines(other) == lines
    assert [(x.cap_applied, str(from_units(x.points))) for x in lines][-3:] == [
        ("", "700.0000"),
        ("period", "200.0000"),
        ("period", "0.0000"),
    ]


# -- explained balances ----------------------------------------------------------------------


@pytest.mark.usefixtures("worked_autumn")
@pytest.mark.parametrize(("employee_id", "period"), [("e1", "2026-11"), ("e2", "2026-11"), ("e1", "2026-Q4"), ("e1", "2026")])
def test_the_lines_add_up_to_the_balance_exactly(idle_service: PointsService, employee_id: str, period: str) -> None:
    balance = settled_balance(idle_service, employee_id, period)

    explained = explain(idle_service, employee_id, period)

    assert explained.next_page_token == ""
    assert sum(from_units(x.weighted_points) for x in explained.lines) == explained.balance.total == balance.total
    assert explained.balance.dimensions == balance.dimensions
    assert explained.balance.event_count == balance.event_count


@pytest.fixture
def five_events(idle_service: PointsService, staffed_outlet: None) -> list[int]:
    """Five counter transactions of e1 in November (1..5 units), booked; returns their positions."""
    positions = [
        idle_service.app.record_work_event(work(f"c{n}", quantity=str(n), occurred_on=f"2026-11-{n:02d}")).position
        for n in range(1, 6)
    ]
    idle_service.projector.catch_up()
    return positions


def test_pages_of_two_give_every_line_once_in_log_order(idle_service: PointsService, five_events: list[int]) -> None:
    pages = [explain(idle_service, "e1", "2026-11", page_size=2)]
    while pages[-1].next_page_token:
        pages.append(explain(idle_service, "e1", "2026-11", page_size=2, page_token=pages[-1].next_page_token))

    assert [len(p.lines) for p in pages] == [2, 2, 1]
    assert [x.position for p in pages for x in p.lines] == five_events
    assert [x.quantity for p in pages for x in p.lines] == ["1", "2", "3", "4", "5"]
    # 1 + 2 + 3 + 4 + 5 = 15 points, x .40 = 6.0000, on every page
    assert {str(p.balance.total) for p in pages} == {"6.0000"}


def test_a_quarter_lists_lines_in_log_order_not_month_order(idle_service: PointsService) -> None:
    november = idle_service.app.record_work_event(work("nov", occurred_on="2026-11-02")).position
    october = idle_service.app.record_work_event(work("oct", occurred_on="2026-10-02")).position
    idle_service.projector.catch_up()

    lines = explain(idle_service, "e1", "2026-Q4").lines

    assert [(x.position, x.month) for x in lines] == [(november, "2026-11"), (october, "2026-10")]


def test_later_pages_stay_as_of_the_first_pages_position(idle_service: PointsService, five_events: list[int]) -> None:
    first = explain(idle_service, "e1", "2026-11", page_size=2)
    late = idle_service.app.record_work_event(work("late", quantity="100", occurred_on="2026-11-06"))
    idle_service.projector.catch_up()

    second = explain(idle_service, "e1", "2026-11", page_size=2, page_token=first.next_page_token)
    third = explain(idle_service, "e1", "2026-11", page_size=2, page_token=second.next_page_token)

    assert [x.position for x in first.lines + second.lines + third.lines] == five_events
    assert third.next_page_token == ""
    assert second.balance == third.balance == first.balance  # 6.0000 as of five_events[-1]
    fresh = explain(idle_service, "e1", "2026-11")
    assert [x.position for x in fresh.lines] == [*five_events, late.position]
    assert str(fresh.balance.total) == "46.0000"  # (15 + 100) x .40


@pytest.mark.parametrize(("employee_id", "period"), [("e2", "2026-11"), ("e1", "2026-10"), ("e1", "2026-Q4")])
def test_a_page_token_for_another_employee_or_period_is_refused(
    idle_service: PointsService, five_events: list[int], employee_id: str, period: str
) -> None:
    idle_service.app.register_employee(employee_id="e2", role="service_manager", outlet_id="o1", effective_from="2026-01-01")
    token = explain(idle_service, "e1", "2026-11", page_size=2).next_page_token

    with pytest.raises(InvalidRequest) as refused:
        explain(idle_service, employee_id, period, page_size=2, page_token=token)

    assert [(v.field, v.reason) for v in refused.value.violations] == [("page_token", "INVALID_PAGE_TOKEN")]


@pytest.mark.parametrize("token", ["not-a-token", "eyJxIjoiMTIzIn0", "=" * 8])
def test_a_damaged_page_token_is_refused(idle_service: PointsService, five_events: list[int], token: str) -> None:
    with pytest.raises(InvalidRequest) as refused:
        explain(idle_service, "e1", "2026-11", page_size=2, page_token=token)

    assert [(v.field, v.reason) for v in refused.value.violations] == [("page_token", "INVALID_PAGE_TOKEN")]


def test_a_negative_page_size_is_refused(idle_service: PointsService) -> None:
    with pytest.raises(InvalidRequest) as refused:
        explain(idle_service, "e1", "2026-11", page_size=-1)

    assert [(v.field, v.reason) for v in refused.value.violations] == [("page_size", "NEGATIVE_PAGE_SIZE")]


def test_explaining_an_unknown_employee_is_not_found(idle_service: PointsService) -> None:
    with pytest.raises(NotFound) as missing:
        explain(idle_service, "ghost", "2026-11")

    assert missing.value.reason == "EMPLOYEE_NOT_FOUND"


def test_explaining_a_position_not_yet_booked_is_not_yet_visible(idle_service: PointsService, app: PointsApplication) -> None:
    recorded = app.record_work_event(work("w1"))  # nobody runs the projector

    with pytest.raises(NotYetVisible):
        explain(idle_service, "e1", "2026-11", min_position=recorded.position)

    idle_service.projector.catch_up()
    assert [x.position for x in explain(idle_service, "e1", "2026-11", min_position=recorded.position).lines] == [
        recorded.position
    ]


def test_an_employee_without_work_has_no_lines_and_a_zero_total(idle_service: PointsService) -> None:
    explained = explain(idle_service, "e1", "2026-11")

    assert (explained.lines, explained.balance.total, explained.next_page_token) == ((), Decimal("0.0000"), "")


def test_work_too_large_for_the_ledger_is_refused_or_booked_never_left_to_stall_it(
    idle_service: PointsService, staffed_outlet: None
) -> None:
    huge_rate = version_of("2026.2", "2026-11-01", plain_counter_rate="1000000")  # the largest rate a policy may declare
    idle_service.policies.publish(document=huge_rate, source="typo.toml", effective_from="", published_by="hq", reason="r")
    try:
        idle_service.app.record_work_event(work("huge", quantity="999999999", occurred_on="2026-11-02"))
    except PointsError:
        return  # refused at the door: the ledger stays healthy
    idle_service.app.record_work_event(work("small", quantity="1", occurred_on="2026-11-03"))

    idle_service.projector.catch_up()

    assert [x.quantity for x in explain(idle_service, "e1", "2026-11").lines] == ["999999999", "1"]


def test_after_a_recalculation_the_lines_still_add_up_to_the_balance_and_count_each_event_once(service: PointsService) -> None:
    app = service.app  # this service's projector runs by itself: a recalculation waits for the view
    app.register_outlet(outlet_id="o1", outlet_class="A", region="north")
    app.register_employee(employee_id="e1", role="service_manager", outlet_id="o1", effective_from="2026-01-01")
    app.record_work_event(work("ct", quantity="10", occurred_on="2026-11-02"))  # 2026.1: 4.0000; 2026.2: 8.0000
    app.record_work_event(work("cs", kind="customer_served", quantity="10", occurred_on="2026-11-03"))  # 1.7500
    service.policies.publish(document=NOVEMBER_VERSION, source="2026.2.toml", effective_from="", published_by="hq", reason="r")
    done = recalculate(service, "recalc-1", "2026.2", requested_by="hq", reason="r")

    read = service.balances.get_balance(employee_id="e1", period="2026-11", min_position=done.position, timeout=10)
    explained = explain(service, "e1", "2026-11", min_position=done.position)

    assert str(read.total) == "9.7500"  # 8 + 1.75
    assert sum(from_units(x.weighted_points) for x in explained.lines) == explained.balance.total == read.total
    assert explained.balance.event_count == read.event_count == 2
