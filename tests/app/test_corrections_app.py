"""Correcting work events on a real store: reversals and amendments in balances and explained lines, refusals, retries.

Worked numbers (policies/example.toml 2026.1; service manager service .35 workload .40; operations
supervisor workload .40; NOVEMBER_VERSION 2026.2 from 2026-11-01 pays 2 a plain counter transaction):
  e1 (service manager, o1 class A)
    customer_served 20            20 x .5 x 1.0 = 10     -> 3.5000
      amended to 25               25 x .5 x 1.0 = 12.5   -> 4.3750
    counter_transaction 10 on 2026-10-30 (2026.1)  10    -> 4.0000
      amended to 2026-11-02 (2026.2)               20    -> 8.0000
  e2 (operations supervisor, o1 class A)
    counter_authorisation 400     200, day cap 150: 150  -> 60.0000
    counter_authorisation 100 the same day, after the 400 was reversed: 50 -> 20.0000
"""

from __future__ import annotations

from datetime import timedelta
from typing import TYPE_CHECKING
from uuid import uuid4

import pytest

from points.application.points import PointsApplication
from points.application.results import EmployeeWritten, WorkRecorded
from points.domain.errors import AlreadyExists, FailedPrecondition, InvalidRequest, NotFound
from points.domain.identity import employee_id_of
from points.server import PointsService
from tests.app.ledger_reads import balance_as_known_at, correct, explained_lines, line_entry
from tests.app.work_requests import log_size, settled_balance, work
from tests.support.policy_versions import NOVEMBER_VERSION

if TYPE_CHECKING:
    from tests.conftest import Clock

pytestmark = pytest.mark.usefixtures("staffed_outlet")


@pytest.fixture
def served_twenty(app: PointsApplication) -> WorkRecorded:
    """e1 served 20 customers at o1 on 2026-11-02: 10.0000 points, 3.5000 weighted."""
    return app.record_work_event(work("served", kind="customer_served", quantity="20"))


@pytest.fixture
def capped_authorisations(app: PointsApplication) -> WorkRecorded:
    """Operations supervisor e2 at o1 authorised 400 counter transactions on 2026-11-02: 200 points, cut to 150 by the day cap."""
    app.register_employee(employee_id="e2", role="operations_supervisor", outlet_id="o1", effective_from="2026-01-01")
    return app.record_work_event(work("auth-400", employee_id="e2", kind="counter_authorisation", quantity="400"))


@pytest.fixture
def october_counter_work(idle_service: PointsService) -> WorkRecorded:
    """2026.2 published (from 2026-11-01); e1's 10 counter transactions on 2026-10-30, scored by 2026.1: 4.0000."""
    idle_service.policies.publish(document=NOVEMBER_VERSION, source="2026.2.toml", effective_from="", published_by="hq", reason="rates")
    return idle_service.app.record_work_event(work("oct-ct", quantity="10", occurred_on="2026-10-30"))


# -- what a correction books ----------------------------------------------------------------


def test_an_amendment_books_a_reversal_of_the_old_lines_and_the_new_lines_scored_afresh(
    idle_service: PointsService, served_twenty: WorkRecorded
) -> None:
    correct(idle_service.app, served_twenty.event_id, quantity="25")

    assert [line_entry(x) for x in explained_lines(idle_service, "e1", "2026-11")] == [
        ("recorded", "sm-customer-served", "20", "10.0000", "10.0000", "3.5000", "2026-11"),
        ("reversal", "sm-customer-served", "20", "-10.0000", "-10.0000", "-3.5000", "2026-11"),
        ("amended", "sm-customer-served", "25", "12.5000", "12.5000", "4.3750", "2026-11"),
    ]
    balance = settled_balance(idle_service, "e1", "2026-11")
    assert (str(balance.total), balance.event_count) == ("4.3750", 1)


def test_an_amendment_answers_with_the_new_lines_and_its_position(app: PointsApplication, served_twenty: WorkRecorded) -> None:
    corrected = correct(app, served_twenty.event_id, quantity="25")

    assert (corrected.event_id, corrected.reversed, corrected.replayed) == (served_twenty.event_id, False, False)
    assert [(x.rule_id, str(x.points), str(x.weighted_points)) for x in corrected.lines] == [("sm-customer-served", "12.5000", "4.3750")]
    assert corrected.position == log_size(app) > served_twenty.position


def test_a_reversal_takes_the_event_out_of_the_balance_and_its_count(idle_service: PointsService, served_twenty: WorkRecorded) -> None:
    corrected = correct(idle_service.app, served_twenty.event_id, reverse=True)

    assert (corrected.reversed, corrected.lines) == (True, ())
    assert [line_entry(x) for x in explained_lines(idle_service, "e1", "2026-11")] == [
        ("recorded", "sm-customer-served", "20", "10.0000", "10.0000", "3.5000", "2026-11"),
        ("reversal", "sm-customer-served", "20", "-10.0000", "-10.0000", "-3.5000", "2026-11"),
    ]
    balance = settled_balance(idle_service, "e1", "2026-11")
    assert (str(balance.total), balance.event_count) == ("0.0000", 0)


def test_a_reversal_negates_exactly_the_capped_points_that_were_booked(
    idle_service: PointsService, capped_authorisations: WorkRecorded
) -> None:
    correct(idle_service.app, capped_authorisations.event_id, employee_id="e2", reverse=True)

    assert [(line_entry(x), x.cap_applied) for x in explained_lines(idle_service, "e2", "2026-11")] == [
        (("recorded", "os-counter-authorisation", "400", "200.0000", "150.0000", "60.0000", "2026-11"), "day"),
        (("reversal", "os-counter-authorisation", "400", "-150.0000", "-150.0000", "-60.0000", "2026-11"), ""),
    ]
    assert str(settled_balance(idle_service, "e2", "2026-11").total) == "0.0000"


def test_a_reversal_gives_the_day_cap_room_back(idle_service: PointsService, capped_authorisations: WorkRecorded) -> None:
    correct(idle_service.app, capped_authorisations.event_id, employee_id="e2", reverse=True)
    idle_service.projector.catch_up()

    idle_service.app.record_work_event(work("auth-100", employee_id="e2", kind="counter_authorisation", quantity="100"))

    last = explained_lines(idle_service, "e2", "2026-11")[-1]
    assert (line_entry(last), last.cap_applied) == (
        ("recorded", "os-counter-authorisation", "100", "50.0000", "50.0000", "20.0000", "2026-11"), "",
    )  # fmt: skip
    assert str(settled_balance(idle_service, "e2", "2026-11").total) == "20.0000"


def test_a_reversal_of_an_amended_event_negates_the_amended_lines(idle_service: PointsService, served_twenty: WorkRecorded) -> None:
    correct(idle_service.app, served_twenty.event_id, "c-1", quantity="25")
    idle_service.projector.catch_up()

    correct(idle_service.app, served_twenty.event_id, "c-2", reverse=True)

    assert [line_entry(x) for x in explained_lines(idle_service, "e1", "2026-11")][3:] == [
        ("reversal", "sm-customer-served", "25", "-12.5000", "-12.5000", "-4.3750", "2026-11"),
    ]
    balance = settled_balance(idle_service, "e1", "2026-11")
    assert (str(balance.total), balance.event_count) == ("0.0000", 0)


def test_a_second_amendment_reverses_the_first_one_only(idle_service: PointsService, served_twenty: WorkRecorded) -> None:
    correct(idle_service.app, served_twenty.event_id, "c-1", quantity="25")
    idle_service.projector.catch_up()

    correct(idle_service.app, served_twenty.event_id, "c-2", quantity="30")  # 15 -> 5.2500

    assert [line_entry(x) for x in explained_lines(idle_service, "e1", "2026-11")][3:] == [
        ("reversal", "sm-customer-served", "25", "-12.5000", "-12.5000", "-4.3750", "2026-11"),
        ("amended", "sm-customer-served", "30", "15.0000", "15.0000", "5.2500", "2026-11"),
    ]
    balance = settled_balance(idle_service, "e1", "2026-11")
    assert (str(balance.total), balance.event_count) == ("5.2500", 1)


def test_amending_the_kind_moves_the_points_to_the_new_rule_and_dimension(idle_service: PointsService) -> None:
    recorded = idle_service.app.record_work_event(work("ct-10", quantity="10"))  # workload 10 -> 4.0000

    correct(idle_service.app, recorded.event_id, kind="customer_served")  # service 10 x .5 = 5 -> 1.7500

    assert [(x.entry, x.rule_id, x.dimension) for x in explained_lines(idle_service, "e1", "2026-11")] == [
        ("recorded", "sm-counter-transaction", "workload"),
        ("reversal", "sm-counter-transaction", "workload"),
        ("amended", "sm-customer-served", "service"),
    ]
    balance = settled_balance(idle_service, "e1", "2026-11")
    assert [(d.dimension, str(d.points), str(d.weighted_points)) for d in balance.dimensions] == [
        ("service", "5.0000", "1.7500"),
        ("workload", "0.0000", "0.0000"),
    ]
    assert str(balance.total) == "1.7500"


# -- amending the date -----------------------------------------------------------------------


def test_amending_the_date_into_another_month_moves_the_points(idle_service: PointsService, served_twenty: WorkRecorded) -> None:
    correct(idle_service.app, served_twenty.event_id, occurred_on="2026-10-30")

    october, november = settled_balance(idle_service, "e1", "2026-10"), settled_balance(idle_service, "e1", "2026-11")
    assert (str(october.total), october.event_count) == ("3.5000", 1)
    assert (str(november.total), november.event_count) == ("0.0000", 0)
    assert [(x.entry, x.occurred_on, x.booked_month) for x in explained_lines(idle_service, "e1", "2026-10")] == [
        ("amended", "2026-10-30", "2026-10")
    ]
    assert str(settled_balance(idle_service, "e1", "2026-Q4").total) == "3.5000"


def test_amending_the_date_rescores_under_the_policy_in_force_on_the_new_date(
    idle_service: PointsService, october_counter_work: WorkRecorded
) -> None:
    corrected = correct(idle_service.app, october_counter_work.event_id, occurred_on="2026-11-02")

    assert [(x.policy_version, str(x.points)) for x in corrected.lines] == [("2026.2", "20.0000")]
    assert [(x.entry, x.policy_version, x.points) for x in explained_lines(idle_service, "e1", "2026-11")] == [
        ("amended", "2026.2", 200000)
    ]
    assert str(settled_balance(idle_service, "e1", "2026-10").total) == "0.0000"
    assert str(settled_balance(idle_service, "e1", "2026-11").total) == "8.0000"


def test_amending_the_date_rescores_in_the_role_held_on_the_new_date(
    idle_service: PointsService, transferred_employee: EmployeeWritten
) -> None:
    # e1 is a service manager until 2026-05-31 and an operations supervisor from 2026-06-01
    recorded = idle_service.app.record_work_event(work("may-ct", occurred_on="2026-05-29"))

    corrected = correct(idle_service.app, recorded.event_id, kind="duty_day", occurred_on="2026-06-02")

    # duty_day 1 = 10 points, operations supervisor workload .40 -> 4.0000
    assert [(x.rule_id, str(x.points), str(x.weighted_points)) for x in corrected.lines] == [("os-duty-day", "10.0000", "4.0000")]
    assert str(settled_balance(idle_service, "e1", "2026-05").total) == "0.0000"
    assert str(settled_balance(idle_service, "e1", "2026-06").total) == "4.0000"


def test_amending_the_date_rescores_at_the_outlet_of_the_assignment_on_the_new_date(app: PointsApplication) -> None:
    app.register_outlet(outlet_id="o3", outlet_class="C", region="south")
    app.transfer_employee(request_id="t-o3", employee_id="e1", role="", outlet_id="o3", effective_from="2026-06-01")
    recorded = app.record_work_event(work("may-served", kind="customer_served", quantity="10", occurred_on="2026-05-29"))
    assert [str(x.points) for x in recorded.lines] == ["5.0000"]  # at o1 (class A): 10 x .5 x 1.0

    corrected = correct(app, recorded.event_id, occurred_on="2026-06-02")

    # on 2026-06-02 e1 works at o3 (class C): 10 x .5 x 1.2 = 6, weighted .35 -> 2.1000
    assert [(str(x.multiplier), str(x.points), str(x.weighted_points)) for x in corrected.lines] == [("1.2", "6.0000", "2.1000")]


def test_a_date_whose_role_has_no_rule_for_the_kind_is_refused(app: PointsApplication, transferred_employee: EmployeeWritten) -> None:
    recorded = app.record_work_event(work("may-ct", occurred_on="2026-05-29"))
    size = log_size(app)

    with pytest.raises(InvalidRequest) as refused:
        correct(app, recorded.event_id, occurred_on="2026-06-02")  # an operations supervisor has no counter_transaction rule

    assert refused.value.reason == "UNKNOWN_KIND"
    assert log_size(app) == size


# -- refusals ---------------------------------------------------------------------------------


def test_a_reversed_event_cannot_be_reversed_again(app: PointsApplication, served_twenty: WorkRecorded) -> None:
    correct(app, served_twenty.event_id, "c-1", reverse=True)
    size = log_size(app)

    with pytest.raises(FailedPrecondition) as refused:
        correct(app, served_twenty.event_id, "c-2", reverse=True)

    assert refused.value.reason == "ALREADY_REVERSED"
    assert log_size(app) == size


def test_a_reversed_event_cannot_be_amended(app: PointsApplication, served_twenty: WorkRecorded) -> None:
    correct(app, served_twenty.event_id, "c-1", reverse=True)

    with pytest.raises(FailedPrecondition) as refused:
        correct(app, served_twenty.event_id, "c-2", quantity="25")

    assert refused.value.reason == "EVENT_REVERSED"


def test_an_amendment_that_changes_nothing_is_refused(app: PointsApplication, served_twenty: WorkRecorded) -> None:
    with pytest.raises(FailedPrecondition) as refused:
        correct(app, served_twenty.event_id, quantity="20.0", occurred_on="2026-11-02")

    assert refused.value.reason == "AMENDMENT_CHANGES_NOTHING"


@pytest.mark.parametrize("employee_id", ["e2", "nobody"])
def test_the_event_of_another_employee_is_not_found(app: PointsApplication, served_twenty: WorkRecorded, employee_id: str) -> None:
    app.register_employee(employee_id="e2", role="service_manager", outlet_id="o1", effective_from="2026-01-01")
    size = log_size(app)

    with pytest.raises(NotFound) as refused:
        correct(app, served_twenty.event_id, employee_id=employee_id, reverse=True)

    assert refused.value.reason == "WORK_EVENT_NOT_FOUND"
    assert log_size(app) == size


def test_an_id_that_names_no_work_event_is_not_found(app: PointsApplication) -> None:
    for event_id in (str(uuid4()), str(employee_id_of("e1"))):  # nothing; an employee, not a work event
        with pytest.raises(NotFound) as refused:
            correct(app, event_id, reverse=True)
        assert refused.value.reason == "WORK_EVENT_NOT_FOUND"


@pytest.mark.parametrize(
    ("changes", "violation"),
    [
        ({"reason": ""}, ("reason", "MISSING_REASON")),
        ({"reason": "   "}, ("reason", "MISSING_REASON")),
        ({"corrected_by": ""}, ("corrected_by", "MISSING_CORRECTED_BY")),
        ({"reverse": True, "quantity": "25"}, ("amend", "REVERSE_OR_AMEND")),
        ({}, ("amend", "MISSING_AMENDMENT")),
        ({"quantity": "-"}, ("amend.quantity", "MALFORMED_QUANTITY")),
        ({"occurred_on": "2026-11-29"}, ("amend.occurred_on", "FUTURE_DATE")),
        ({"event_id": "not-an-id", "reverse": True}, ("event_id", "MALFORMED_EVENT_ID")),
    ],
)
def test_a_malformed_correction_is_an_invalid_request_and_writes_nothing(
    app: PointsApplication, served_twenty: WorkRecorded, changes: dict[str, object], violation: tuple[str, str]
) -> None:
    fields: dict[str, object] = {"event_id": served_twenty.event_id, **changes}
    size = log_size(app)

    with pytest.raises(InvalidRequest) as refused:
        correct(app, **fields)  # type: ignore[arg-type]

    assert violation in [(v.field, v.reason) for v in refused.value.violations]
    assert log_size(app) == size


# -- retries ----------------------------------------------------------------------------------


@pytest.mark.parametrize("changes", [{"reverse": True}, {"quantity": "25"}, {"occurred_on": "2026-10-30"}])
def test_the_same_correction_again_is_a_replay_with_the_original_position(
    idle_service: PointsService, served_twenty: WorkRecorded, changes: dict[str, object]
) -> None:
    app = idle_service.app
    first = correct(app, served_twenty.event_id, **changes)  # type: ignore[arg-type]
    size = log_size(app)

    again = correct(app, served_twenty.event_id, **changes)  # type: ignore[arg-type]

    assert (again.position, again.replayed, again.event_id) == (first.position, True, first.event_id)
    assert (again.lines, again.reversed) == (first.lines, first.reversed)
    assert log_size(app) == size
    assert len(explained_lines(idle_service, "e1", "2026")) == 3 - first.reversed  # booked once


def test_a_retried_reversal_is_a_replay_not_a_double_reversal(app: PointsApplication, served_twenty: WorkRecorded) -> None:
    first = correct(app, served_twenty.event_id, "c-1", reverse=True)

    again = correct(app, served_twenty.event_id, "c-1", reverse=True)

    assert (again.position, again.replayed) == (first.position, True)


@pytest.mark.parametrize(
    "other",
    [{"quantity": "26"}, {"reverse": True}, {"quantity": "25", "reason": "another reason"}, {"occurred_on": "2026-11-03"}],
)
def test_a_correction_request_id_reused_for_other_content_already_exists(
    app: PointsApplication, served_twenty: WorkRecorded, other: dict[str, object]
) -> None:
    correct(app, served_twenty.event_id, "c-1", quantity="25")
    size = log_size(app)

    with pytest.raises(AlreadyExists) as refused:
        correct(app, served_twenty.event_id, "c-1", **other)  # type: ignore[arg-type]

    assert refused.value.reason == "REQUEST_ID_REUSED"
    assert log_size(app) == size


# -- as known at --------------------------------------------------------------------------------


def test_a_balance_as_known_before_a_correction_leaves_the_correction_out(
    idle_service: PointsService, served_twenty: WorkRecorded, clock: Clock
) -> None:
    before = clock() + timedelta(minutes=30)
    clock.advance(hours=1)
    corrected_at = clock()
    correct(idle_service.app, served_twenty.event_id, quantity="25")

    as_then = balance_as_known_at(idle_service, "e1", "2026-11", before)
    as_now = balance_as_known_at(idle_service, "e1", "2026-11", corrected_at)

    assert (str(as_then.total), as_then.event_count) == ("3.5000", 1)
    assert (str(as_now.total), as_now.event_count) == ("4.3750", 1)
    assert as_now.total == balance_as_known_at(idle_service, "e1", "2026-11", None).total


def test_a_balance_as_known_before_a_reversal_still_counts_the_event(
    idle_service: PointsService, served_twenty: WorkRecorded, clock: Clock
) -> None:
    recorded_at = clock()
    clock.advance(days=1)
    correct(idle_service.app, served_twenty.event_id, reverse=True)

    as_then = balance_as_known_at(idle_service, "e1", "2026-11", recorded_at)
    as_now = balance_as_known_at(idle_service, "e1", "2026-11", clock())

    assert (str(as_then.total), as_then.event_count) == ("3.5000", 1)
    assert (str(as_now.total), as_now.event_count) == ("0.0000", 0)


def test_a_balance_as_known_before_anything_was_recorded_is_empty(
    idle_service: PointsService, served_twenty: WorkRecorded, clock: Clock
) -> None:
    earlier = balance_as_known_at(idle_service, "e1", "2026-11", clock() - timedelta(microseconds=1))

    assert (str(earlier.total), earlier.dimensions, earlier.event_count) == ("0.0000", (), 0)


def test_a_balance_as_known_before_a_date_amendment_keeps_the_points_in_the_old_month(
    idle_service: PointsService, served_twenty: WorkRecorded, clock: Clock
) -> None:
    before = clock()
    clock.advance(hours=2)
    correct(idle_service.app, served_twenty.event_id, occurred_on="2026-10-30")

    assert str(balance_as_known_at(idle_service, "e1", "2026-11", before).total) == "3.5000"
    assert str(balance_as_known_at(idle_service, "e1", "2026-10", before).total) == "0.0000"
    assert str(balance_as_known_at(idle_service, "e1", "2026-11", clock()).total) == "0.0000"
    assert str(balance_as_known_at(idle_service, "e1", "2026-10", clock()).total) == "3.5000"


@pytest.mark.parametrize("changes", [{"reverse": True}, {"quantity": "25"}, {"occurred_on": "2026-10-30"}])
def test_a_retried_recording_after_a_correction_answers_with_the_original_result(
    app: PointsApplication, served_twenty: WorkRecorded, changes: dict[str, object]
) -> None:
    corrected = correct(app, served_twenty.event_id, **changes)  # type: ignore[arg-type]
    size = log_size(app)

    again = app.record_work_event(work("served", kind="customer_served", quantity="20"))
    in_a_batch = app.record_work_events([work("served", kind="customer_served", quantity="20")])[0]

    original = (served_twenty.event_id, served_twenty.position, served_twenty.period, served_twenty.points, served_twenty.lines)
    assert (again.event_id, again.position, again.period, again.points, again.lines) == original
    assert isinstance(in_a_batch, WorkRecorded)
    assert (in_a_batch.event_id, in_a_batch.position, in_a_batch.period, in_a_batch.points, in_a_batch.lines) == original
    assert again.replayed and in_a_batch.replayed
    assert corrected.position > served_twenty.position and log_size(app) == size
