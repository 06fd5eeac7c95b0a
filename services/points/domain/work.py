"""Work events: one immutable fact of work, scored when it is recorded.

Each work event is its own aggregate, named by a uuid5 of its request_id, so an append
needs no read of the employee's history and a retry lands on the same id (a duplicate
is a key conflict, never a second copy). The event stores the points lines it earned,
so the balance projection only adds them up and a rebuild reproduces them bit for bit.
"""

from __future__ import annotations

import hashlib
import json
from datetime import date, datetime
from decimal import Decimal

from eventsourcing.domain import Aggregate

from points.domain.errors import AlreadyExists, FailedPrecondition, replayed_version
from points.domain.policy import PointsLine
from points.domain.values import (
    month_of,
)
from points.domain.work_request import WorkRequest
from points.domain.scoring import ScoredWork, total_points


def correction_fingerprint(action: str, reason: str, kind: str = "", quantity: str = "", occurred_on: str = "") -> str:
    """What a correction request asked for, to recognise its retries."""
    canonical = json.dumps([action, reason, kind, quantity, occurred_on], separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(canonical.encode()).hexdigest()


class WorkEvent(Aggregate):
    """One recorded fact of work and the points it earned."""

    class Recorded(Aggregate.Created):
        class_version = 2  # v2 added outlet_requested

        @staticmethod
        def upcast_v1_v2(state: dict[str, object]) -> None:
            state["outlet_requested"] = True  # v1 kept the outlet it resolved: keep it on amendment, as v1 did

        request_id: str
        fingerprint: str
        employee_id: str
        role: str
        outlet_id: str
        outlet_requested: bool  # the recorder named the outlet (else: the assignment's on occurred_on)
        outlet_class: str
        kind: str
        quantity: Decimal
        occurred_on: date
        occurred_at: datetime | None
        recorded_by: str
        source: str
        attributes: dict[str, str]
        lines: list[PointsLine]

    def __init__(
        self,
        request_id: str,
        fingerprint: str,
        employee_id: str,
        role: str,
        outlet_id: str,
        outlet_requested: bool,
        outlet_class: str,
        kind: str,
        quantity: Decimal,
        occurred_on: date,
        occurred_at: datetime | None,
        recorded_by: str,
        source: str,
        attributes: dict[str, str],
        lines: list[PointsLine],
    ) -> None:
        self.request_id = request_id
        self.fingerprint = fingerprint
        self.employee_id = employee_id
        self.role = role
        self.outlet_id = outlet_id
        self.outlet_requested = outlet_requested
        self.outlet_class = outlet_class
        self.kind = kind
        self.quantity = quantity
        self.occurred_on = occurred_on
        self.occurred_at = occurred_at
        self.recorded_by = recorded_by
        self.source = source
        self.attributes = attributes
        self.lines = list(lines)
        self.recalculations: list[str] = []
        self.reversed = False
        self.corrections: dict[str, tuple[str, int]] = {}  # request_id -> (fingerprint, version)

    @classmethod
    def record(cls, scored: ScoredWork, *, timestamp: datetime) -> WorkEvent:
        r = scored.request
        return cls._create(
            cls.Recorded,
            id=r.event_id,
            request_id=r.request_id,
            fingerprint=r.fingerprint,
            employee_id=r.employee_id,
            role=scored.role,
            outlet_id=scored.outlet_id,
            outlet_requested=bool(r.outlet_id),
            outlet_class=scored.outlet_class,
            kind=r.kind,
            quantity=r.quantity,
            occurred_on=r.occurred_on,
            occurred_at=r.occurred_at,
            recorded_by=r.recorded_by,
            source=r.source,
            attributes=dict(r.attributes),
            lines=list(scored.lines),
            timestamp=timestamp,
        )

    @property
    def period(self) -> str:
        return month_of(self.occurred_on)

    @property
    def points(self) -> Decimal:
        return total_points(self.lines)

    class Rescored(Aggregate.Event):
        """The event's points recalculated under another policy version: an explicit, audited act.

        It repeats who, when and what (employee, date, kind, quantity) so the ledger can book
        the difference without the aggregate: reverse what was booked, book the new lines.
        """

        class_version = 2  # v2 added role, outlet_id and outlet_class (the ledger values the lines by them)

        @staticmethod
        def upcast_v1_v2(state: dict[str, object]) -> None:
            state["role"] = ""  # the ledger keeps those of the lines booked before
            state["outlet_id"] = ""
            state["outlet_class"] = ""

        employee_id: str
        occurred_on: date
        kind: str
        quantity: Decimal
        lines: list[PointsLine]
        recalculation_id: str
        reason: str
        rescored_by: str
        role: str
        outlet_id: str
        outlet_class: str

        def apply(self, aggregate: WorkEvent) -> None:
            aggregate.lines = list(self.lines)
            aggregate.recalculations.append(self.recalculation_id)

    def rescore(
        self, lines: tuple[PointsLine, ...], *, recalculation_id: str, reason: str, rescored_by: str, timestamp: datetime
    ) -> None:
        """Replaces the event's points lines by `lines`, scored under a newer policy version."""
        self.trigger_event(
            self.Rescored,
            employee_id=self.employee_id,
            occurred_on=self.occurred_on,
            kind=self.kind,
            quantity=self.quantity,
            lines=list(lines),
            recalculation_id=recalculation_id,
            reason=reason,
            rescored_by=rescored_by,
            role=self.role,
            outlet_id=self.outlet_id,
            outlet_class=self.outlet_class,
            timestamp=timestamp,
        )

    class Reversed(Aggregate.Event):
        """A correction: the event did not happen (or not like this); its points go. The fact stays."""

        correction_id: str
        fingerprint: str
        reason: str
        corrected_by: str

        def apply(self, aggregate: WorkEvent) -> None:
            aggregate.reversed = True
            aggregate.lines = []
            aggregate.corrections[self.correction_id] = (self.fingerprint, self.originator_version)

    class Amended(Aggregate.Event):
        """A correction of quantity, kind and/or date, scored afresh (policy and role on the new date)."""

        correction_id: str
        fingerprint: str
        reason: str
        corrected_by: str
        class_version = 2  # v2 added outlet_id and outlet_class

        @staticmethod
        def upcast_v1_v2(state: dict[str, object]) -> None:
            state["outlet_id"] = ""  # v1 amendments kept the event's outlet
            state["outlet_class"] = ""

        employee_id: str
        role: str
        outlet_id: str
        outlet_class: str
        kind: str
        quantity: Decimal
        occurred_on: date
        lines: list[PointsLine]

        def apply(self, aggregate: WorkEvent) -> None:
            aggregate.role = self.role
            if self.outlet_id:
                aggregate.outlet_id = self.outlet_id
                aggregate.outlet_class = self.outlet_class
            aggregate.kind = self.kind
            aggregate.quantity = self.quantity
            aggregate.occurred_on = self.occurred_on
            aggregate.lines = list(self.lines)
            aggregate.corrections[self.correction_id] = (self.fingerprint, self.originator_version)

    def replayed_correction(self, correction_id: str, fingerprint: str) -> int | None:
        """The version of an earlier identical correction, None if new; raises on a reused key."""
        return replayed_version(self.corrections, correction_id, fingerprint, "correction of this event")

    def reverse(self, *, correction_id: str, fingerprint: str, reason: str, corrected_by: str, timestamp: datetime) -> None:
        if self.reversed:
            raise FailedPrecondition("the work event is already reversed", reason="ALREADY_REVERSED")
        self.trigger_event(
            self.Reversed,
            correction_id=correction_id,
            fingerprint=fingerprint,
            reason=reason,
            corrected_by=corrected_by,
            timestamp=timestamp,
        )

    def amended_request(self, *, kind: str, quantity: Decimal | None, occurred_on: date | None) -> WorkRequest:
        """The fact as it would read with the amendment (empty fields keep their value)."""
        if self.reversed:
            raise FailedPrecondition("a reversed work event cannot be amended", reason="EVENT_REVERSED")
        amended = WorkRequest(
            request_id=self.request_id,
            employee_id=self.employee_id,
            kind=kind or self.kind,
            quantity=self.quantity if quantity is None else quantity,
            occurred_on=occurred_on or self.occurred_on,
            outlet_id=self.outlet_id if self.outlet_requested else "",  # else: the assignment's on the new date
            attributes=dict(self.attributes),
        )
        if (amended.kind, amended.quantity, amended.occurred_on) == (self.kind, self.quantity, self.occurred_on):
            raise FailedPrecondition("the amendment changes nothing", reason="AMENDMENT_CHANGES_NOTHING")
        return amended

    def amend(
        self, scored: ScoredWork, *, correction_id: str, fingerprint: str, reason: str, corrected_by: str, timestamp: datetime
    ) -> None:
        r = scored.request
        self.trigger_event(
            self.Amended,
            correction_id=correction_id,
            fingerprint=fingerprint,
            reason=reason,
            corrected_by=corrected_by,
            employee_id=self.employee_id,
            role=scored.role,
            outlet_id=scored.outlet_id,
            outlet_class=scored.outlet_class,
            kind=r.kind,
            quantity=r.quantity,
            occurred_on=r.occurred_on,
            lines=list(scored.lines),
            timestamp=timestamp,
        )

    def check_replay_of(self, request: WorkRequest) -> None:
        """Accepts a retry of the same request; a reused request_id with other content raises."""
        if self.fingerprint != request.fingerprint:
            raise AlreadyExists(
                f"request_id {request.request_id!r} was already used for a different work event",
                reason="REQUEST_ID_REUSED",
            )


__all__ = ["WorkEvent", "correction_fingerprint"]
