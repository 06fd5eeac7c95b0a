"""The directory: outlets, and employees with their dated assignments to a role and an outlet.

Aggregates are created through class methods that take the time as an argument (the
domain reads no clock). An employee is a small aggregate (a registration and a handful of transfers), so loading
one to check a work event is cheap; work events are separate aggregates (domain/work.py).
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from datetime import date, datetime

from eventsourcing.domain import Aggregate, event

from points.domain.errors import FailedPrecondition, replayed_version
from points.domain.identity import employee_id_of, outlet_id_of


class Outlet(Aggregate):
    """A branch office with a class (A, B or C) and a region."""

    class Registered(Aggregate.Created):
        outlet_id: str
        outlet_class: str
        region: str

    def __init__(self, outlet_id: str, outlet_class: str, region: str) -> None:
        self.outlet_id = outlet_id
        self.outlet_class = outlet_class
        self.region = region

    @classmethod
    def register(cls, *, outlet_id: str, outlet_class: str, region: str, timestamp: datetime) -> Outlet:
        return cls._create(
            cls.Registered,
            id=outlet_id_of(outlet_id),
            outlet_id=outlet_id,
            outlet_class=outlet_class,
            region=region,
            timestamp=timestamp,
        )

    def same_registration(self, outlet_class: str, region: str) -> bool:
        return (self.outlet_class, self.region) == (outlet_class, region)


@dataclass(frozen=True)
class Assignment:
    """From `effective_from` (inclusive) until `effective_until` (exclusive, None = open)."""

    role: str
    outlet_id: str
    effective_from: date
    effective_until: date | None = None

    def covers(self, day: date) -> bool:
        return self.effective_from <= day and (self.effective_until is None or day < self.effective_until)


def transfer_fingerprint(role: str, outlet_id: str, effective_from: date) -> str:
    """What a transfer request asked for (empty role/outlet = keep), to recognise retries."""
    canonical = json.dumps([role, outlet_id, effective_from.isoformat()], separators=(",", ":"))
    return hashlib.sha256(canonical.encode()).hexdigest()


class Employee(Aggregate):
    """A member of staff and the history of their assignments."""

    class Registered(Aggregate.Created):
        class_version = 2  # v2 added name

        @staticmethod
        def upcast_v1_v2(state: dict[str, object]) -> None:
            state["name"] = ""  # registered before names were kept

        employee_id: str
        role: str
        outlet_id: str
        effective_from: date
        name: str

    class Renamed(Aggregate.Event):
        """The employee's name as people read it (on statements, in the console), corrected or first given."""

        name: str

        def apply(self, aggregate: Employee) -> None:
            aggregate.name = self.name
            aggregate.name_version = self.originator_version

    class Transferred(Aggregate.Event):
        request_id: str
        fingerprint: str
        role: str
        outlet_id: str
        effective_from: date

    def __init__(self, employee_id: str, role: str, outlet_id: str, effective_from: date, name: str) -> None:
        self.employee_id = employee_id
        self.name = name
        self.name_version = 1  # the version of the event that gave the name
        self.assignments: list[Assignment] = [Assignment(role, outlet_id, effective_from)]
        self.transfers: dict[str, tuple[str, int]] = {}  # request_id -> (fingerprint, version)

    @classmethod
    def register(
        cls, *, employee_id: str, role: str, outlet_id: str, effective_from: date, timestamp: datetime, name: str = ""
    ) -> Employee:
        return cls._create(
            cls.Registered,
            id=employee_id_of(employee_id),
            employee_id=employee_id,
            role=role,
            outlet_id=outlet_id,
            effective_from=effective_from,
            name=name,
            timestamp=timestamp,
        )

    def rename(self, name: str, *, timestamp: datetime) -> bool:
        """Gives the employee `name`; False when it is their name already (nothing to record)."""
        if name == self.name:
            return False
        self.trigger_event(self.Renamed, name=name, timestamp=timestamp)
        return True

    @property
    def current(self) -> Assignment:
        return self.assignments[-1]

    def assignment_on(self, day: date) -> Assignment | None:
        for assignment in reversed(self.assignments):
            if assignment.covers(day):
                return assignment
        return None

    def same_registration(self, role: str, outlet_id: str, effective_from: date, name: str = "") -> bool:
        """A registration repeated (a retry); the name counts only when one is given (RenameEmployee changes it)."""
        first = self.assignments[0]
        same = (first.role, first.outlet_id, first.effective_from) == (role, outlet_id, effective_from)
        return same and (not name or name == self.name)

    def replayed_transfer(self, request_id: str, fingerprint: str) -> int | None:
        """The version of an earlier identical transfer, None if new; raises on a reused key."""
        return replayed_version(self.transfers, request_id, fingerprint, f"transfer of {self.employee_id}")

    def transfer(
        self,
        *,
        request_id: str,
        fingerprint: str,
        role: str,
        outlet_id: str,
        effective_from: date,
        timestamp: datetime,
    ) -> None:
        """Moves the employee to `role` at `outlet_id` (either may be unchanged) from `effective_from`."""
        current = self.current
        if effective_from <= current.effective_from:
            raise FailedPrecondition(
                f"a transfer must take effect after the current assignment's start "
                f"({current.effective_from.isoformat()})",
                reason="TRANSFER_NOT_AFTER_CURRENT",
            )
        if (role, outlet_id) == (current.role, current.outlet_id):
            raise FailedPrecondition(
                "the transfer changes neither role nor outlet", reason="TRANSFER_CHANGES_NOTHING"
            )
        self.trigger_event(
            self.Transferred,
            request_id=request_id,
            fingerprint=fingerprint,
            role=role,
            outlet_id=outlet_id,
            effective_from=effective_from,
            timestamp=timestamp,
        )

    @event(Transferred)
    def _transferred(
        self, request_id: str, fingerprint: str, role: str, outlet_id: str, effective_from: date
    ) -> None:
        last = self.assignments[-1]
        self.assignments[-1] = Assignment(last.role, last.outlet_id, last.effective_from, effective_from)
        self.assignments.append(Assignment(role, outlet_id, effective_from))
        self.transfers[request_id] = (fingerprint, self.version + 1)
