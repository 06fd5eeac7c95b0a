"""Recording one work event: scoring by the policy, idempotent retries, and the date rules."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta
from typing import TYPE_CHECKING

import pytest

from points.application.points import PointsApplication, WorkFields
from points.application.results import EmployeeWritten, WorkRecorded
from points.domain.errors import AlreadyExists, InvalidRequest
from points.server import PointsService
from tests.app.work_requests import log_size, settled_balance, work

if TYPE_CHECKING:
    from tests.conftest import Clock

pytestmark = pytest.mark.usefixtures("staffed_outlet")


def lines_of(recorded: WorkRecorded) -> list[tuple[str, str, str, str, str]]:
    return [(x.rule_id, x.policy_version, x.dimension, str(x.points), str(x.weighted_points)) for x in recorded.lines]


def test_recording_scores_the_work_and_returns_its_position(app: PointsApplication) -> None:
    before = log_size(app)

    recorded = app.record_work_event(work("r1", quantity="3"))

    # 3 counter transactions x 1 point, workload weighted 0.40 for a service manager
    assert lines_of(recorded) == [("sm-counter-transaction", "2026.1", "workload", "3.0000", "1.2000")]
    assert (str(recorded.points), recorded.period, recorded.replayed) == ("1.2000", "2026-11", False)
    assert recorded.position == log_size(app) == before + 1


def test_a_retry_replays_the_original_and_the_balance_counts_it_once(idle_service: PointsService) -> None:
    app = idle_service.app
    first = app.record_work_event(work("r1", quantity="3"))
    app.register_outlet(outlet_id="o2", outlet_class="B", region="north")  # the log moves on
    size = log_size(app)

    retry = app.record_work_event(work("r1", quantity="3"))

    assert (retry.replayed, retry.event_id, retry.position) == (True, first.event_id, first.position)
    assert (retry.points, retry.lines) == (first.points, first.lines)
    assert log_size(app) == size
    balance = settled_balance(idle_service, "e1", "2026-11")
    assert (str(balance.total), balance.event_count) == ("1.2000", 1)


@pytest.mark.parametrize("same_quantity", ["3.0", "3.000000", "03"])
def test_the_same_quantity_written_differently_is_the_same_request(app: PointsApplication, same_quantity: str) -> None:
    first = app.record_work_event(work("r1", quantity="3"))

    retry = app.record_work_event(work("r1", quantity=same_quantity))

    assert (retry.replayed, retry.position) == (True, first.position)


@pytest.mark.parametrize(
    "changed",
    [
        work("r1", quantity="4"),
        work("r1", quantity="3", occurred_on="2026-11-03"),
        work("r1", quantity="3", kind="customer_served"),
    ],
    ids=["quantity", "occurred_on", "kind"],
)
def test_a_request_id_reused_for_other_work_is_refused_and_stores_nothing(
    idle_service: PointsService, changed: WorkFields
) -> None:
    app = idle_service.app
    app.record_work_event(work("r1", quantity="3"))
    size = log_size(app)

    with pytest.raises(AlreadyExists) as refused:
        app.record_work_event(changed)

    assert refused.value.reason == "REQUEST_ID_REUSED"
    assert log_size(app) == size
    assert str(settled_balance(idle_service, "e1", "2026-11").total) == "1.2000"


@pytest.mark.parametrize(
    ("occurred_on", "kind", "quantity", "rule", "dimension", "points", "weighted"),
    [
        # the last day as service manager: 2 x 1 point, workload weight 0.40
        ("2026-05-31", "counter_transaction", "2", "sm-counter-transaction", "workload", "2.0000", "0.8000"),
        # the first day as operations supervisor: 1 x 10 points, workload weight 0.40
        ("2026-06-01", "duty_day", "1", "os-duty-day", "workload", "10.0000", "4.0000"),
        # 3 x 0.3 points, quality weight 0.20
        ("2026-06-02", "counter_review", "3", "os-counter-review", "quality", "0.9000", "0.1800"),
    ],
)
def test_work_is_scored_by_the_role_in_force_on_its_date(
    app: PointsApplication,
    transferred_employee: EmployeeWritten,
    occurred_on: str,
    kind: str,
    quantity: str,
    rule: str,
    dimension: str,
    points: str,
    weighted: str,
) -> None:
    recorded = app.record_work_event(work("r1", kind=kind, quantity=quantity, occurred_on=occurred_on))

    assert lines_of(recorded) == [(rule, "2026.1", dimension, points, weighted)]


@pytest.mark.parametrize(("occurred_on", "kind"), [("2026-06-01", "counter_transaction"), ("2026-05-31", "duty_day")])
def test_work_of_a_kind_the_role_in_force_lacks_is_refused(
    app: PointsApplication, transferred_employee: EmployeeWritten, occurred_on: str, kind: str
) -> None:
    with pytest.raises(InvalidRequest) as refused:
        app.record_work_event(work("r1", kind=kind, occurred_on=occurred_on))

    assert refused.value.reason == "UNKNOWN_KIND"


def test_work_before_the_first_assignment_is_refused(app: PointsApplication) -> None:
    size = log_size(app)

    with pytest.raises(InvalidRequest) as refused:
        app.record_work_event(work("r1", occurred_on="2025-12-31"))

    assert refused.value.reason == "NOT_ASSIGNED_ON_DATE"
    assert log_size(app) == size


def test_work_by_an_unknown_employee_is_refused(app: PointsApplication) -> None:
    with pytest.raises(InvalidRequest) as refused:
        app.record_work_event(work("r1", employee_id="ghost"))

    assert refused.value.reason == "UNKNOWN_EMPLOYEE"


def test_work_dated_today_is_accepted(app: PointsApplication) -> None:
    assert app.record_work_event(work("r1", occurred_on="2026-11-28")).period == "2026-11"


def test_work_dated_after_today_is_refused_until_that_day_comes(app: PointsApplication, clock: Clock) -> None:
    size = log_size(app)

    with pytest.raises(InvalidRequest) as refused:
        app.record_work_event(work("r1", occurred_on="2026-11-29"))
    assert refused.value.reason == "FUTURE_DATE"
    assert log_size(app) == size

    clock.advance(days=1)
    recorded = app.record_work_event(work("r1", occurred_on="2026-11-29"))

    assert (recorded.replayed, recorded.position) == (False, size + 1)


def test_an_occurred_at_later_today_is_refused(app: PointsApplication, clock: Clock) -> None:
    later_today = clock() + timedelta(hours=3)  # 2026-11-28 12:30 UTC, as the API passes it (aware, UTC)
    size = log_size(app)

    with pytest.raises(InvalidRequest) as refused:
        app.record_work_event(replace(work("r1", occurred_on="2026-11-28"), occurred_at=later_today))

    assert refused.value.reason == "FUTURE_DATE"
    assert log_size(app) == size
