"""The directory's use cases: outlets, and employees with their names and dated assignments (mixed into PointsApplication)."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from datetime import date

from eventsourcing.persistence import IntegrityError

from points.application.results import (
    AssignmentView,
    EmployeeView,
    EmployeeWritten,
    OutletView,
    OutletWritten,
)
from points.domain.directory import Employee, Outlet, transfer_fingerprint
from points.domain.errors import (
    AlreadyExists,
    FailedPrecondition,
    NotFound,
    Violations,
)
from points.domain.identity import employee_id_of, outlet_id_of
from points.domain.values import (
    OUTLET_CLASSES,
    check_identifier,
    check_request_id,
    check_text,
    parse_date,
)


NAME_MAX = 64


def _check_name(v: Violations, name: str, *, required: bool) -> None:
    """A person's name as they write it (Chinese or any other script): printable, at most NAME_MAX characters."""
    if not name.strip():
        if required or name:
            v.add("name", "MISSING_NAME", "a name is required")
        return
    if name != name.strip():
        v.add("name", "MALFORMED_NAME", "a name has no leading or trailing spaces")
    check_text(v, "name", name, limit=NAME_MAX)


def _check_region(v: Violations, region: str) -> None:
    if not region:
        v.add("region", "MISSING_REGION", "region is required")
    else:
        check_text(v, "region", region, limit=64)


def _outlet_view(outlet: Outlet) -> OutletView:
    return OutletView(outlet_id=outlet.outlet_id, outlet_class=outlet.outlet_class, region=outlet.region)


def _employee_view(employee: Employee) -> EmployeeView:
    return EmployeeView(
        employee_id=employee.employee_id,
        history=tuple(AssignmentView(a.role, a.outlet_id, a.effective_from, a.effective_until) for a in employee.assignments),
        name=employee.name,
    )


class DirectoryUseCases:
    """Register and read outlets and employees; transfer and rename employees. Mixed into PointsApplication: uses its _get, _save, _create_once, now, position_of and _check_role."""

    def register_outlet(self, *, outlet_id: str, outlet_class: str, region: str) -> OutletWritten:
        """Registers an outlet; the same registration again is a replay."""
        v = Violations()
        check_identifier(v, "outlet_id", outlet_id, "outlet")
        if not outlet_class:
            v.add("outlet_class", "MISSING_OUTLET_CLASS", "outlet_class is required: A, B or C")
        elif outlet_class not in OUTLET_CLASSES:
            v.add("outlet_class", "UNKNOWN_OUTLET_CLASS", f"{outlet_class!r} is not an outlet class: A, B or C")
        _check_region(v, region)
        v.raise_if_any()

        def same(existing: Outlet) -> None:
            if not existing.same_registration(outlet_class, region):
                raise AlreadyExists(
                    f"outlet {outlet_id!r} is already registered as class {existing.outlet_class} in {existing.region!r}",
                    reason="OUTLET_ALREADY_REGISTERED",
                )

        outlet, position, replayed = self._create_once(
            outlet_id_of(outlet_id),
            lambda: Outlet.register(outlet_id=outlet_id, outlet_class=outlet_class, region=region, timestamp=self.now()),
            same,
        )
        return OutletWritten(position=position, replayed=replayed, outlet=_outlet_view(outlet))

    def get_outlet(self, outlet_id: str) -> OutletView:
        v = Violations()
        check_identifier(v, "outlet_id", outlet_id, "outlet")
        v.raise_if_any()
        outlet = self._get(outlet_id_of(outlet_id))
        if outlet is None:
            raise NotFound(f"no outlet {outlet_id!r}", reason="OUTLET_NOT_FOUND")
        return _outlet_view(outlet)

    def register_employee(
        self, *, employee_id: str, role: str, outlet_id: str, effective_from: str, name: str = ""
    ) -> EmployeeWritten:
        """Registers an employee with a first assignment (and their name); the same registration again is a replay."""
        v = Violations()
        check_identifier(v, "employee_id", employee_id, "employee")
        self._check_role(v, "role", role)
        check_identifier(v, "outlet_id", outlet_id, "outlet")
        start = parse_date(v, "effective_from", effective_from)
        _check_name(v, name, required=False)
        v.raise_if_any()
        assert start is not None
        self._check_outlet_exists(outlet_id)

        def same(existing: Employee) -> None:
            if not existing.same_registration(role, outlet_id, start, name):
                raise AlreadyExists(
                    f"employee {employee_id!r} is already registered with another assignment",
                    reason="EMPLOYEE_ALREADY_REGISTERED",
                )

        employee, position, replayed = self._create_once(
            employee_id_of(employee_id),
            lambda: Employee.register(
                employee_id=employee_id, role=role, outlet_id=outlet_id, effective_from=start, timestamp=self.now(), name=name
            ),
            same,
        )
        return EmployeeWritten(position=position, replayed=replayed, employee=_employee_view(employee))

    def transfer_employee(
        self, *, request_id: str, employee_id: str, role: str, outlet_id: str, effective_from: str
    ) -> EmployeeWritten:
        """Moves an employee to a new role and/or outlet from a date; history is kept."""
        v = Violations()
        check_request_id(v, "request_id", request_id)
        check_identifier(v, "employee_id", employee_id, "employee")
        if role:
            self._check_role(v, "role", role)
        if outlet_id:
            check_identifier(v, "outlet_id", outlet_id, "outlet")
        start = parse_date(v, "effective_from", effective_from)
        if not role and not outlet_id:
            v.add("role", "TRANSFER_CHANGES_NOTHING", "give a new role, a new outlet_id, or both")
        v.raise_if_any()
        assert start is not None
        if outlet_id:
            self._check_outlet_exists(outlet_id)
        fingerprint = transfer_fingerprint(role, outlet_id, start)

        def transfer(employee: Employee) -> int | None:
            version = employee.replayed_transfer(request_id, fingerprint)
            if version is None:
                employee.transfer(
                    request_id=request_id,
                    fingerprint=fingerprint,
                    role=role or employee.current.role,
                    outlet_id=outlet_id or employee.current.outlet_id,
                    effective_from=start,
                    timestamp=self.now(),
                )
            return version

        return self._change_employee(employee_id, transfer)

    def rename_employee(self, *, employee_id: str, name: str) -> EmployeeWritten:
        """Gives an employee the name people read (a correction, or a first name); the same name again is a replay."""
        v = Violations()
        check_identifier(v, "employee_id", employee_id, "employee")
        _check_name(v, name, required=True)
        v.raise_if_any()
        return self._change_employee(
            employee_id, lambda employee: None if employee.rename(name, timestamp=self.now()) else employee.name_version
        )

    def _change_employee(self, employee_id: str, decide: Callable[[Employee], int | None]) -> EmployeeWritten:
        """Loads the employee, decides (the version of an identical earlier change, or None after recording
        a new one), saves; decides again when another writer changed the employee first."""
        for _ in range(5):
            employee = self._get(employee_id_of(employee_id))
            if employee is None:
                raise NotFound(f"no employee {employee_id!r}", reason="EMPLOYEE_NOT_FOUND")
            version = decide(employee)
            if version is not None:
                return EmployeeWritten(position=self.position_of(employee.id, version), replayed=True, employee=_employee_view(employee))
            try:
                position = self._save(employee)
            except IntegrityError:
                continue
            return EmployeeWritten(position=position, replayed=False, employee=_employee_view(employee))
        raise FailedPrecondition("the employee is being changed concurrently; retry", reason="CONCURRENT_CHANGE")

    def get_employee(self, employee_id: str) -> EmployeeView:
        v = Violations()
        check_identifier(v, "employee_id", employee_id, "employee")
        v.raise_if_any()
        employee = self._get(employee_id_of(employee_id))
        if employee is None:
            raise NotFound(f"no employee {employee_id!r}", reason="EMPLOYEE_NOT_FOUND")
        return _employee_view(employee)

    def employee_exists(self, employee_id: str) -> bool:
        return bool(self.index.positions([(employee_id_of(employee_id), 1)]))

    def employee_outlets(self, employee_ids: Iterable[str], on: date | None = None) -> dict[str, str]:
        """Each known employee's outlet on the business date `on` (default today; their first outlet
        if they start later); unknown ids are left out."""
        day = on or self.today()
        outlets: dict[str, str] = {}
        for employee_id in set(employee_ids):
            employee = self._get(employee_id_of(employee_id))
            if employee is not None:
                outlets[employee_id] = (employee.assignment_on(day) or employee.assignments[0]).outlet_id
        return outlets

    def _check_outlet_exists(self, outlet_id: str) -> None:
        if self._get(outlet_id_of(outlet_id)) is None:
            v = Violations()
            v.add("outlet_id", "UNKNOWN_OUTLET", f"no outlet {outlet_id!r} is registered")
            v.raise_if_any()
