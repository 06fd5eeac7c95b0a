"""The directory use cases: outlets, employees and transfers, with idempotent replays."""

from __future__ import annotations

from datetime import date

import pytest

from points.application.points import PointsApplication
from points.application.results import AssignmentView, EmployeeWritten, OutletView
from points.domain.errors import AlreadyExists, InvalidRequest, NotFound
from tests.app.work_requests import log_size


def test_registering_an_outlet_stores_it_at_a_new_position(app: PointsApplication) -> None:
    written = app.register_outlet(outlet_id="o1", outlet_class="A", region="north")

    assert (written.replayed, written.position) == (False, log_size(app))
    assert written.outlet == OutletView("o1", "A", "north") == app.get_outlet("o1")


def test_registering_the_same_outlet_again_replays_the_original_position(app: PointsApplication) -> None:
    first = app.register_outlet(outlet_id="o1", outlet_class="A", region="north")
    app.register_outlet(outlet_id="o2", outlet_class="B", region="north")  # the log moves on
    size = log_size(app)

    again = app.register_outlet(outlet_id="o1", outlet_class="A", region="north")

    assert (again.replayed, again.position, again.outlet) == (True, first.position, first.outlet)
    assert log_size(app) == size


@pytest.mark.parametrize(("outlet_class", "region"), [("B", "north"), ("A", "south")])
def test_registering_an_outlet_with_other_content_is_refused(
    app: PointsApplication, outlet_class: str, region: str
) -> None:
    app.register_outlet(outlet_id="o1", outlet_class="A", region="north")

    with pytest.raises(AlreadyExists) as refused:
        app.register_outlet(outlet_id="o1", outlet_class=outlet_class, region=region)

    assert refused.value.reason == "OUTLET_ALREADY_REGISTERED"
    assert app.get_outlet("o1") == OutletView("o1", "A", "north")


def test_registering_an_employee_gives_a_first_assignment(app: PointsApplication) -> None:
    app.register_outlet(outlet_id="o1", outlet_class="A", region="north")

    written = app.register_employee(employee_id="e1", role="service_manager", outlet_id="o1", effective_from="2026-01-01")

    assert (written.replayed, written.position) == (False, log_size(app))
    assert written.employee.history == (AssignmentView("service_manager", "o1", date(2026, 1, 1), None),)
    assert app.get_employee("e1") == written.employee


@pytest.mark.usefixtures("staffed_outlet")
def test_registering_the_same_employee_again_replays_the_original_position(app: PointsApplication) -> None:
    original = app.register_employee(employee_id="e2", role="service_manager", outlet_id="o1", effective_from="2026-02-01")
    app.register_outlet(outlet_id="o9", outlet_class="C", region="east")  # the log moves on
    size = log_size(app)

    again = app.register_employee(employee_id="e2", role="service_manager", outlet_id="o1", effective_from="2026-02-01")

    assert (again.replayed, again.position, again.employee) == (True, original.position, original.employee)
    assert log_size(app) == size


@pytest.mark.usefixtures("staffed_outlet")
@pytest.mark.parametrize(
    ("role", "outlet_id", "effective_from"),
    [
        ("operations_supervisor", "o1", "2026-01-01"),
        ("service_manager", "o2", "2026-01-01"),
        ("service_manager", "o1", "2026-02-01"),
    ],
)
def test_registering_an_employee_with_other_content_is_refused(
    app: PointsApplication, role: str, outlet_id: str, effective_from: str
) -> None:
    app.register_outlet(outlet_id="o2", outlet_class="B", region="north")
    size = log_size(app)

    with pytest.raises(AlreadyExists) as refused:
        app.register_employee(employee_id="e1", role=role, outlet_id=outlet_id, effective_from=effective_from)

    assert refused.value.reason == "EMPLOYEE_ALREADY_REGISTERED"
    assert log_size(app) == size


def test_an_employee_at_an_unknown_outlet_is_refused(app: PointsApplication) -> None:
    size = log_size(app)
    with pytest.raises(InvalidRequest) as refused:
        app.register_employee(employee_id="e1", role="service_manager", outlet_id="nowhere", effective_from="2026-01-01")

    assert refused.value.reason == "UNKNOWN_OUTLET"
    assert [v.field for v in refused.value.violations] == ["outlet_id"]
    assert log_size(app) == size


@pytest.mark.usefixtures("staffed_outlet")
def test_an_employee_in_a_role_the_policy_does_not_know_is_refused(app: PointsApplication) -> None:
    size = log_size(app)

    with pytest.raises(InvalidRequest) as refused:
        app.register_employee(employee_id="e2", role="tea_maker", outlet_id="o1", effective_from="2026-01-01")

    assert refused.value.reason == "UNKNOWN_ROLE"
    assert [v.field for v in refused.value.violations] == ["role"]
    assert log_size(app) == size


def test_a_transfer_closes_the_current_assignment_and_keeps_the_history(
    app: PointsApplication, transferred_employee: EmployeeWritten
) -> None:
    assert (transferred_employee.replayed, transferred_employee.position) == (False, log_size(app))
    assert app.get_employee("e1").history == (
        AssignmentView("service_manager", "o1", date(2026, 1, 1), date(2026, 6, 1)),
        AssignmentView("operations_supervisor", "o2", date(2026, 6, 1), None),
    )


def test_a_transfer_retried_with_its_request_id_replays_the_original_position(
    app: PointsApplication, transferred_employee: EmployeeWritten
) -> None:
    app.transfer_employee(request_id="t-2", employee_id="e1", role="", outlet_id="o1", effective_from="2026-09-01")
    size = log_size(app)

    again = app.transfer_employee(
        request_id="t-1", employee_id="e1", role="operations_supervisor", outlet_id="o2", effective_from="2026-06-01"
    )

    assert (again.replayed, again.position) == (True, transferred_employee.position)
    assert log_size(app) == size
    assert len(app.get_employee("e1").history) == 3


def test_a_request_id_reused_for_another_transfer_is_refused(
    app: PointsApplication, transferred_employee: EmployeeWritten
) -> None:
    size = log_size(app)

    with pytest.raises(AlreadyExists) as refused:
        app.transfer_employee(
            request_id="t-1", employee_id="e1", role="operations_supervisor", outlet_id="o2", effective_from="2026-07-01"
        )

    assert refused.value.reason == "REQUEST_ID_REUSED"
    assert log_size(app) == size


def test_an_unknown_employee_is_not_found(app: PointsApplication) -> None:
    with pytest.raises(NotFound) as missing:
        app.get_employee("ghost")

    assert missing.value.reason == "EMPLOYEE_NOT_FOUND"


@pytest.mark.usefixtures("staffed_outlet")
def test_transferring_an_unknown_employee_is_not_found(app: PointsApplication) -> None:
    with pytest.raises(NotFound) as missing:
        app.transfer_employee(request_id="t-9", employee_id="ghost", role="", outlet_id="o1", effective_from="2026-06-01")

    assert missing.value.reason == "EMPLOYEE_NOT_FOUND"


def test_an_unknown_outlet_is_not_found(app: PointsApplication) -> None:
    with pytest.raises(NotFound) as missing:
        app.get_outlet("nowhere")

    assert missing.value.reason == "OUTLET_NOT_FOUND"


# -- names ------------------------------------------------------------------------------------------------


def test_an_employee_is_registered_with_a_name_and_renamed_with_history_kept(app: PointsApplication) -> None:
    app.register_outlet(outlet_id="o9", outlet_class="B", region="east")
    registered = app.register_employee(employee_id="n1", role="service_manager", outlet_id="o9", effective_from="2026-01-01", name="张伟")
    again = app.register_employee(employee_id="n1", role="service_manager", outlet_id="o9", effective_from="2026-01-01", name="张伟")
    assert (registered.employee.name, again.replayed, again.position) == ("张伟", True, registered.position)

    renamed = app.rename_employee(employee_id="n1", name="张伟明")
    retried = app.rename_employee(employee_id="n1", name="张伟明")

    assert (renamed.replayed, renamed.position > registered.position) == (False, True)
    assert (retried.replayed, retried.position) == (True, renamed.position)
    assert app.get_employee("n1").name == "张伟明"


@pytest.mark.parametrize(("name", "reason"), [("", "MISSING_NAME"), (" 张伟", "MALFORMED_NAME"), ("x" * 65, "TEXT_TOO_LONG"), ("a\tb", "CONTROL_CHARACTERS")])
def test_a_bad_name_is_refused(app: PointsApplication, name: str, reason: str) -> None:
    app.register_outlet(outlet_id="o9", outlet_class="B", region="east")
    app.register_employee(employee_id="n1", role="service_manager", outlet_id="o9", effective_from="2026-01-01")

    with pytest.raises(InvalidRequest) as refused:
        app.rename_employee(employee_id="n1", name=name)

    assert [(v.field, v.reason) for v in refused.value.violations] == [("name", reason)]


def test_registering_again_under_another_name_is_refused(app: PointsApplication) -> None:
    app.register_outlet(outlet_id="o9", outlet_class="B", region="east")
    app.register_employee(employee_id="n1", role="service_manager", outlet_id="o9", effective_from="2026-01-01", name="张伟")

    with pytest.raises(AlreadyExists) as refused:
        app.register_employee(employee_id="n1", role="service_manager", outlet_id="o9", effective_from="2026-01-01", name="李娜")

    assert refused.value.reason == "EMPLOYEE_ALREADY_REGISTERED"
