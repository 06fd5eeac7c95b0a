"""Balance reads: months add up to quarters and years, per dimension, and only the asked period counts."""

from __future__ import annotations

from typing import TYPE_CHECKING

import pytest

from points.application.points import PointsApplication
from points.domain.errors import NotFound
from points.server import PointsService
from tests.app.work_requests import settled_balance, work

if TYPE_CHECKING:
    from tests.conftest import Clock


@pytest.fixture
def year_of_work(app: PointsApplication, clock: Clock) -> None:
    """Service manager e1 at o1 with five work events in 2026 and one in January 2027; e2 with none."""
    app.register_outlet(outlet_id="o1", outlet_class="A", region="north")
    app.register_employee(employee_id="e1", role="service_manager", outlet_id="o1", effective_from="2026-01-01")
    app.register_employee(employee_id="e2", role="service_manager", outlet_id="o1", effective_from="2026-01-01")
    clock.advance(days=40)  # 2027-01-07
    app.record_work_events(
        [
            work("jan", kind="justified_complaint", occurred_on="2026-01-15"),  # service -30 -> -10.5000
            work("sep", quantity="5", occurred_on="2026-09-30"),  # workload 5 -> 2.0000
            work("oct", quantity="10", occurred_on="2026-10-05"),  # workload 10 -> 4.0000
            work("nov-1", kind="customer_served", quantity="4", occurred_on="2026-11-02"),  # service 2 -> 0.7000
            work("nov-2", kind="financial_education", occurred_on="2026-11-03"),  # development 5 -> 0.5000
            work("next-year", quantity="100", occurred_on="2027-01-02"),  # workload 100 -> 40.0000
        ]
    )


def dimensions(service: PointsService, period: str) -> list[tuple[str, str, str]]:
    balance = settled_balance(service, "e1", period)
    return [(d.dimension, str(d.points), str(d.weighted_points)) for d in balance.dimensions]


@pytest.mark.usefixtures("year_of_work")
@pytest.mark.parametrize(
    ("period", "total", "event_count"),
    [
        ("2026-11", "1.2000", 2),
        ("2026-Q4", "5.2000", 3),
        ("2026-Q3", "2.0000", 1),
        ("2026-Q2", "0.0000", 0),
        ("2026-Q1", "-10.5000", 1),
        ("2026", "-3.3000", 5),
        ("2027", "40.0000", 1),
        ("2027-Q1", "40.0000", 1),
    ],
)
def test_a_period_sums_the_weighted_points_of_its_months(
    idle_service: PointsService, period: str, total: str, event_count: int
) -> None:
    balance = settled_balance(idle_service, "e1", period)

    assert (balance.period, str(balance.total), balance.event_count) == (period, total, event_count)


@pytest.mark.usefixtures("year_of_work")
def test_a_quarter_keeps_each_dimension_apart(idle_service: PointsService) -> None:
    assert dimensions(idle_service, "2026-Q4") == [
        ("development", "5.0000", "0.5000"),
        ("service", "2.0000", "0.7000"),
        ("workload", "10.0000", "4.0000"),
    ]


@pytest.mark.usefixtures("year_of_work")
def test_a_year_nets_negative_points_within_a_dimension(idle_service: PointsService) -> None:
    assert dimensions(idle_service, "2026") == [
        ("development", "5.0000", "0.5000"),
        ("service", "-28.0000", "-9.8000"),
        ("workload", "15.0000", "6.0000"),
    ]


@pytest.mark.usefixtures("year_of_work")
def test_an_employee_without_work_has_a_zero_balance(idle_service: PointsService) -> None:
    balance = settled_balance(idle_service, "e2", "2026")

    assert (str(balance.total), balance.dimensions, balance.event_count) == ("0.0000", (), 0)


@pytest.mark.usefixtures("year_of_work")
def test_the_balance_of_an_unknown_employee_is_not_found(idle_service: PointsService) -> None:
    with pytest.raises(NotFound) as missing:
        settled_balance(idle_service, "ghost", "2026")

    assert missing.value.reason == "EMPLOYEE_NOT_FOUND"
