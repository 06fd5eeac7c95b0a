"""The directory: outlets, employees and their dated assignments, transfers and deterministic ids."""

from __future__ import annotations

from datetime import date, datetime, timedelta, timezone
from uuid import UUID

import pytest

from points.domain.directory import Assignment, Employee, Outlet, transfer_fingerprint
from points.domain.errors import AlreadyExists, FailedPrecondition
from points.domain.identity import NAMESPACE, employee_id_of, outlet_id_of, work_event_id_of

REGISTERED_AT = datetime(2026, 1, 5, 8, 0, tzinfo=timezone.utc)
TRANSFERRED_AT = datetime(2026, 5, 20, 14, 30, tzinfo=timezone.utc)
JUNE_FIRST = date(2026, 6, 1)


def transfer(employee: Employee, request_id: str, role: str, outlet_id: str, effective_from: date, at: datetime) -> None:
    employee.transfer(
        request_id=request_id,
        fingerprint=transfer_fingerprint(role, outlet_id, effective_from),
        role=role,
        outlet_id=outlet_id,
        effective_from=effective_from,
        timestamp=at,
    )


@pytest.fixture
def service_manager_at_o1_since_new_year() -> Employee:
    return Employee.register(
        employee_id="E1001",
        role="service_manager",
        outlet_id="O-001",
        effective_from=date(2026, 1, 1),
        timestamp=REGISTERED_AT,
    )


@pytest.fixture
def transferred_to_supervisor_at_o2_in_june(service_manager_at_o1_since_new_year: Employee) -> Employee:
    employee = service_manager_at_o1_since_new_year
    transfer(employee, "T-1", "operations_supervisor", "O-002", JUNE_FIRST, TRANSFERRED_AT)
    return employee


# -- deterministic ids --------------------------------------------------------------


def test_identity_namespace_never_changes() -> None:
    assert NAMESPACE == UUID("5b0d7f52-4a53-4c3e-9a0e-6f1f4c2b9d10")


def test_ids_are_the_stored_uuids_of_their_natural_keys() -> None:
    # Hard-coded on purpose: if these change, every stored aggregate is orphaned.
    assert employee_id_of("E1001") == UUID("1a7584d0-5ccf-5851-90fe-b97e92598837")
    assert outlet_id_of("O-001") == UUID("03aa3e89-a425-597c-9fb9-9c67079ac062")
    assert work_event_id_of("req-0001") == UUID("c1b37768-823e-5ebb-8f15-0ac333a31359")


def test_ids_are_stable_and_distinct_per_kind_of_aggregate() -> None:
    assert employee_id_of("X1") == employee_id_of("X1")
    assert len({employee_id_of("X1"), outlet_id_of("X1"), work_event_id_of("X1")}) == 3
    assert employee_id_of("X1") != employee_id_of("X2")


# -- outlets ------------------------------------------------------------------------


def test_registered_outlet_is_named_by_its_outlet_id() -> None:
    outlet = Outlet.register(outlet_id="O-001", outlet_class="A", region="north", timestamp=REGISTERED_AT)
    assert outlet.id == outlet_id_of("O-001")
    assert (outlet.outlet_id, outlet.outlet_class, outlet.region) == ("O-001", "A", "north")
    assert outlet.version == 1


def test_outlet_registration_carries_the_timestamp_given() -> None:
    outlet = Outlet.register(outlet_id="O-001", outlet_class="A", region="north", timestamp=REGISTERED_AT)
    (registered,) = outlet.collect_events()
    assert isinstance(registered, Outlet.Registered)
    assert registered.timestamp == REGISTERED_AT
    assert outlet.created_on == REGISTERED_AT


def test_outlet_same_registration_compares_class_and_region() -> None:
    outlet = Outlet.register(outlet_id="O-001", outlet_class="B", region="north", timestamp=REGISTERED_AT)
    assert outlet.same_registration("B", "north")
    assert not outlet.same_registration("A", "north")
    assert not outlet.same_registration("B", "south")


# -- employees ----------------------------------------------------------------------


def test_registered_employee_has_one_open_assignment(service_manager_at_o1_since_new_year: Employee) -> None:
    employee = service_manager_at_o1_since_new_year
    assert employee.id == employee_id_of("E1001")
    assert employee.assignments == [Assignment("service_manager", "O-001", date(2026, 1, 1), None)]
    assert employee.current == employee.assignments[0]


def test_registered_employee_is_not_assigned_before_the_start(service_manager_at_o1_since_new_year: Employee) -> None:
    employee = service_manager_at_o1_since_new_year
    assert employee.assignment_on(date(2025, 12, 31)) is None
    assert employee.assignment_on(date(2026, 1, 1)) == employee.assignments[0]
    assert employee.assignment_on(date(2040, 1, 1)) == employee.assignments[0]


def test_employee_registration_carries_the_timestamp_given(service_manager_at_o1_since_new_year: Employee) -> None:
    (registered,) = service_manager_at_o1_since_new_year.collect_events()
    assert isinstance(registered, Employee.Registered)
    assert registered.timestamp == REGISTERED_AT
    assert registered.effective_from == date(2026, 1, 1)


def test_same_registration_compares_the_first_assignment(transferred_to_supervisor_at_o2_in_june: Employee) -> None:
    employee = transferred_to_supervisor_at_o2_in_june
    assert employee.same_registration("service_manager", "O-001", date(2026, 1, 1))
    assert not employee.same_registration("operations_supervisor", "O-002", JUNE_FIRST)
    assert not employee.same_registration("service_manager", "O-001", date(2026, 1, 2))


@pytest.mark.parametrize(
    ("day", "role", "outlet_id"),
    [
        (date(2026, 5, 31), "service_manager", "O-001"),  # the day before the transfer
        (date(2026, 6, 1), "operations_supervisor", "O-002"),  # the transfer day itself
        (date(2026, 6, 2), "operations_supervisor", "O-002"),  # after
        (date(2026, 1, 1), "service_manager", "O-001"),  # the first day of all
    ],
)
def test_assignment_on_a_day_around_the_transfer(
    transferred_to_supervisor_at_o2_in_june: Employee, day: date, role: str, outlet_id: str
) -> None:
    assignment = transferred_to_supervisor_at_o2_in_june.assignment_on(day)
    assert assignment is not None
    assert (assignment.role, assignment.outlet_id) == (role, outlet_id)


def test_closed_assignment_covers_its_start_but_not_its_end() -> None:
    assignment = Assignment("service_manager", "O-001", date(2026, 1, 1), JUNE_FIRST)
    assert not assignment.covers(date(2025, 12, 31))
    assert assignment.covers(date(2026, 1, 1))
    assert assignment.covers(date(2026, 5, 31))
    assert not assignment.covers(JUNE_FIRST)


def test_open_assignment_covers_every_day_from_its_start() -> None:
    assignment = Assignment("service_manager", "O-001", date(2026, 1, 1))
    assert not assignment.covers(date(2025, 12, 31))
    assert assignment.covers(date(9999, 12, 31))


def test_transfer_closes_the_previous_assignment_on_its_start(transferred_to_supervisor_at_o2_in_june: Employee) -> None:
    assert transferred_to_supervisor_at_o2_in_june.assignments == [
        Assignment("service_manager", "O-001", date(2026, 1, 1), JUNE_FIRST),
        Assignment("operations_supervisor", "O-002", JUNE_FIRST, None),
    ]


def test_transfer_event_carries_the_timestamp_given(transferred_to_supervisor_at_o2_in_june: Employee) -> None:
    employee = transferred_to_supervisor_at_o2_in_june
    registered, transferred = employee.collect_events()
    assert registered.timestamp == REGISTERED_AT
    assert isinstance(transferred, Employee.Transferred)
    assert transferred.timestamp == TRANSFERRED_AT
    assert (transferred.request_id, transferred.role, transferred.outlet_id) == ("T-1", "operations_supervisor", "O-002")
    assert employee.modified_on == TRANSFERRED_AT
    assert employee.version == 2


def test_employee_rebuilt_from_its_events_has_the_same_history(transferred_to_supervisor_at_o2_in_june: Employee) -> None:
    events = transferred_to_supervisor_at_o2_in_june.collect_events()
    rebuilt: Employee | None = None
    for domain_event in events:
        rebuilt = domain_event.mutate(rebuilt)
    assert rebuilt is not None
    assert rebuilt.assignments == transferred_to_supervisor_at_o2_in_june.assignments
    assert rebuilt.transfers == transferred_to_supervisor_at_o2_in_june.transfers


@pytest.mark.parametrize("effective_from", [date(2026, 1, 1), date(2025, 12, 1)])
def test_transfer_not_after_the_current_start_is_refused(
    service_manager_at_o1_since_new_year: Employee, effective_from: date
) -> None:
    employee = service_manager_at_o1_since_new_year
    with pytest.raises(FailedPrecondition) as caught:
        transfer(employee, "T-1", "operations_supervisor", "O-002", effective_from, TRANSFERRED_AT)
    assert caught.value.reason == "TRANSFER_NOT_AFTER_CURRENT"
    assert employee.version == 1


def test_transfer_before_the_latest_transfer_is_refused(transferred_to_supervisor_at_o2_in_june: Employee) -> None:
    with pytest.raises(FailedPrecondition) as caught:
        transfer(transferred_to_supervisor_at_o2_in_june, "T-2", "service_manager", "O-003", date(2026, 3, 1), TRANSFERRED_AT)
    assert caught.value.reason == "TRANSFER_NOT_AFTER_CURRENT"


def test_transfer_to_the_current_role_and_outlet_is_refused(service_manager_at_o1_since_new_year: Employee) -> None:
    employee = service_manager_at_o1_since_new_year
    with pytest.raises(FailedPrecondition) as caught:
        transfer(employee, "T-1", "service_manager", "O-001", JUNE_FIRST, TRANSFERRED_AT)
    assert caught.value.reason == "TRANSFER_CHANGES_NOTHING"
    assert employee.version == 1


def test_transfer_of_outlet_only_keeps_the_role(service_manager_at_o1_since_new_year: Employee) -> None:
    employee = service_manager_at_o1_since_new_year
    transfer(employee, "T-1", "service_manager", "O-009", JUNE_FIRST, TRANSFERRED_AT)
    assert employee.current == Assignment("service_manager", "O-009", JUNE_FIRST, None)


def test_replayed_transfer_with_the_same_fingerprint_returns_its_version(
    transferred_to_supervisor_at_o2_in_june: Employee,
) -> None:
    employee = transferred_to_supervisor_at_o2_in_june
    fingerprint = transfer_fingerprint("operations_supervisor", "O-002", JUNE_FIRST)
    assert employee.replayed_transfer("T-1", fingerprint) == 2


def test_second_transfer_is_remembered_at_its_own_version(transferred_to_supervisor_at_o2_in_june: Employee) -> None:
    employee = transferred_to_supervisor_at_o2_in_june
    transfer(employee, "T-2", "service_manager", "O-003", date(2026, 9, 1), TRANSFERRED_AT + timedelta(days=90))
    assert employee.replayed_transfer("T-1", transfer_fingerprint("operations_supervisor", "O-002", JUNE_FIRST)) == 2
    assert employee.replayed_transfer("T-2", transfer_fingerprint("service_manager", "O-003", date(2026, 9, 1))) == 3


def test_unseen_transfer_request_is_not_a_replay(transferred_to_supervisor_at_o2_in_june: Employee) -> None:
    assert transferred_to_supervisor_at_o2_in_june.replayed_transfer("T-new", "anything") is None


def test_reused_transfer_request_id_with_other_content_is_refused(
    transferred_to_supervisor_at_o2_in_june: Employee,
) -> None:
    other = transfer_fingerprint("operations_supervisor", "O-003", JUNE_FIRST)
    with pytest.raises(AlreadyExists) as caught:
        transferred_to_supervisor_at_o2_in_june.replayed_transfer("T-1", other)
    assert caught.value.reason == "REQUEST_ID_REUSED"


def test_transfer_fingerprint_of_a_known_transfer_never_changes() -> None:
    # Stored with every Transferred event and compared on retry: hard-coded on purpose.
    assert transfer_fingerprint("operations_supervisor", "O-002", JUNE_FIRST) == (
        "5fa0c031a6339067997d8e7da989961f9372a1839f432a1179f557cc84a6a157"
    )


def test_transfer_fingerprint_depends_on_every_part() -> None:
    base = transfer_fingerprint("operations_supervisor", "O-002", JUNE_FIRST)
    assert base == transfer_fingerprint("operations_supervisor", "O-002", JUNE_FIRST)
    assert base != transfer_fingerprint("service_manager", "O-002", JUNE_FIRST)
    assert base != transfer_fingerprint("operations_supervisor", "O-003", JUNE_FIRST)
    assert base != transfer_fingerprint("operations_supervisor", "O-002", date(2026, 6, 2))
    # "keep the role" (empty) is a different request from naming the role explicitly
    assert base != transfer_fingerprint("", "O-002", JUNE_FIRST)
