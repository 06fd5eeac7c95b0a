"""Work events: one immutable fact of work, scored when it is recorded.

Each work event is its own aggregate, named by a uuid5 of its request_id, so an append
needs no read of the employee's history and a retry lands on the same id (a duplicate
is a key conflict, never a second copy). The event stores the points lines it earned,
so the balance projection only adds them up and a rebuild reproduces them bit for bit.
"""

from __future__ import annotations

import hashlib
import json
from json.encoder import encode_basestring as _json_string  # how json.dumps(ensure_ascii=False) writes a str
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any, Generic, TypeVar
from uuid import UUID
from datetime import date, datetime, timedelta
from decimal import Decimal

from eventsourcing.domain import Aggregate

from points.domain.directory import Employee, Outlet
from points.domain.errors import AlreadyExists, FailedPrecondition, InvalidRequest, Violations, replayed_version
from points.domain.identity import work_event_id_of
from points.domain.policy import MAX_LINE_POINTS, PointsLine
from points.domain.policy_book import PolicyCatalog
from points.domain.values import (
    ATTRIBUTES_MAX,
    NAME,
    check_identifier,
    check_request_id,
    check_text,
    month_of,
    parse_date,
    parse_instant,
    parse_quantity,
)


CLOCK_SKEW = timedelta(minutes=5)  # how far ahead of our clock a recorder's clock may run

T = TypeVar("T")


class _computed_once(Generic[T]):
    """functools.cached_property without its per-access lock (Python 3.11): the value is a pure
    function of a frozen instance, stored in the instance's __dict__ on first access."""

    def __init__(self, compute: Callable[[Any], T]) -> None:
        self.compute = compute
        self.name = compute.__name__
        self.__doc__ = compute.__doc__

    def __set_name__(self, owner: type, name: str) -> None:
        self.name = name

    def __get__(self, instance: Any, owner: type | None = None) -> T:
        if instance is None:
            return self  # type: ignore[return-value]
        value = instance.__dict__[self.name] = self.compute(instance)
        return value


@dataclass(frozen=True)
class WorkRequest:
    """A syntactically valid request to record work (not yet checked against the directory)."""

    request_id: str
    employee_id: str
    kind: str
    quantity: Decimal
    occurred_on: date
    occurred_at: datetime | None = None
    outlet_id: str = ""
    recorded_by: str = ""
    source: str = ""
    attributes: Mapping[str, str] = field(default_factory=dict)

    @_computed_once
    def event_id(self) -> UUID:
        return work_event_id_of(self.request_id)

    @_computed_once
    def fingerprint(self) -> str:
        """A hash of everything but the request_id: equal fingerprints mean the same request."""
        # Exactly json.dumps([employee_id, kind, str(quantity), occurred_on, occurred_at or "",
        # outlet_id, recorded_by, source, sorted(attributes.items())], separators=(",", ":"),
        # ensure_ascii=False): the stored fingerprints depend on it, byte for byte.
        texts = (
            self.employee_id,
            self.kind,
            str(self.quantity),
            self.occurred_on.isoformat(),
            self.occurred_at.isoformat() if self.occurred_at else "",
            self.outlet_id,
            self.recorded_by,
            self.source,
        )
        pairs = ",".join(f"[{_json_string(k)},{_json_string(v)}]" for k, v in sorted(self.attributes.items()))
        canonical = f"[{','.join(map(_json_string, texts))},[{pairs}]]"
        return hashlib.sha256(canonical.encode()).hexdigest()

    @classmethod
    def parse(
        cls,
        *,
        request_id: str,
        employee_id: str,
        kind: str,
        quantity: str,
        occurred_on: str,
        occurred_at: datetime | tuple[int, int] | None,
        outlet_id: str,
        recorded_by: str,
        source: str,
        attributes: Mapping[str, str],
        today: date,
        now: datetime,
    ) -> WorkRequest:
        """Checks every field on its own; raises InvalidRequest listing all mistakes.

        `today` is the business date now (in the outlets' calendar), `now` the instant.
        """
        v = Violations()
        check_request_id(v, "request_id", request_id)
        check_identifier(v, "employee_id", employee_id, "employee")
        if not kind:
            v.add("kind", "MISSING_KIND", "kind is required")
        elif not NAME.fullmatch(kind):
            v.add("kind", "UNKNOWN_KIND", f"{kind[:64]!r} is not a kind of work (kinds are lower_snake_case)")
        amount = parse_quantity(v, "quantity", quantity)
        day = parse_date(v, "occurred_on", occurred_on)
        if day is not None and day > today:
            v.add("occurred_on", "FUTURE_DATE", f"{day.isoformat()} is after today ({today.isoformat()})")
        if isinstance(occurred_at, tuple):
            occurred_at = parse_instant(v, "occurred_at", *occurred_at)
        if occurred_at is not None and occurred_at.tzinfo is None:
            v.add("occurred_at", "MALFORMED_TIMESTAMP", "occurred_at must carry a time zone")
        elif occurred_at is not None and occurred_at > now + CLOCK_SKEW:
            v.add("occurred_at", "FUTURE_DATE", f"occurred_at {occurred_at.isoformat()} is in the future")
        if outlet_id:
            check_identifier(v, "outlet_id", outlet_id, "outlet")
        if recorded_by:  # empty text is never too long and has no control characters
            check_text(v, "recorded_by", recorded_by)
        if source:
            check_text(v, "source", source)
        if len(attributes) > ATTRIBUTES_MAX:
            v.add("attributes", "TOO_MANY_ATTRIBUTES", f"at most {ATTRIBUTES_MAX} attributes")
        for key, value in attributes.items():
            if not NAME.fullmatch(key):
                v.add(f"attributes[{key[:64]!r}]", "MALFORMED_ATTRIBUTE", "attribute names are lower_snake_case")
            check_text(v, f"attributes[{key[:64]!r}]", value)
        v.raise_if_any()
        assert amount is not None and day is not None  # guaranteed by the checks above
        return cls(
            request_id=request_id,
            employee_id=employee_id,
            kind=kind,
            quantity=amount,
            occurred_on=day,
            occurred_at=occurred_at,
            outlet_id=outlet_id,
            recorded_by=recorded_by,
            source=source,
            attributes=dict(attributes),
        )


@dataclass(frozen=True)
class ScoredWork:
    """A request checked against the directory and scored by the policy in force on its date."""

    request: WorkRequest
    role: str
    outlet_id: str
    outlet_class: str
    lines: tuple[PointsLine, ...]


def total_points(lines: Iterable[PointsLine]) -> Decimal:
    """What a work event's lines earn together (weighted, before the ledger's caps)."""
    return sum((line.weighted_points for line in lines), Decimal(0))


def correction_fingerprint(action: str, reason: str, kind: str = "", quantity: str = "", occurred_on: str = "") -> str:
    """What a correction request asked for, to recognise its retries."""
    canonical = json.dumps([action, reason, kind, quantity, occurred_on], separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(canonical.encode()).hexdigest()


def score_work(
    request: WorkRequest,
    *,
    employee: Employee | None,
    find_outlet: Callable[[str], Outlet | None],
    policies: PolicyCatalog,
    memo: dict[Any, tuple[PointsLine, ...]] | None = None,
) -> ScoredWork:
    """Decides who did the work in which role, where, under which policy, and what it earns.

    Raises InvalidRequest naming every field that cannot be scored.

    `memo` (optional) is a dict the caller keeps for one batch scored against this one catalog:
    it holds the lines already scored for (policy in force on the date, role, kind, attributes,
    quantity, outlet class), everything the policy's choice of rule and its arithmetic depend
    on, so a hit gives the lines a full scoring would (PointsLine is immutable, so sharing it
    is safe; the policies are the catalog's, alive as long as the memo, so their ids name them).
    Only successes are kept: a request that fails is checked in full, with the same message.
    """
    v = Violations()
    if employee is None:
        v.add("employee_id", "UNKNOWN_EMPLOYEE", f"no employee {request.employee_id!r} is registered")
        v.raise_if_any()
    assert employee is not None
    assignment = employee.assignment_on(request.occurred_on)
    if assignment is None:
        v.add(
            "occurred_on",
            "NOT_ASSIGNED_ON_DATE",
            f"employee {request.employee_id!r} has no assignment on {request.occurred_on.isoformat()} "
            f"(first assignment starts {employee.assignments[0].effective_from.isoformat()})",
        )
        v.raise_if_any()
    assert assignment is not None
    outlet_id = request.outlet_id or assignment.outlet_id
    outlet = find_outlet(outlet_id)
    policy = policies.in_force(request.occurred_on)
    key = None
    if memo is not None and outlet is not None and policy is not None:
        attributes = request.attributes
        key = (
            id(policy),  # the policy in force on the date: scoring depends on the date only through it
            assignment.role,
            request.kind,
            tuple(attributes.items()) if attributes else (),
            request.quantity,  # normalised by parse_quantity; lines are quantized, whatever its exponent
            outlet.outlet_class,
        )
        known = memo.get(key)
        if known is not None:
            return ScoredWork(
                request=request, role=assignment.role, outlet_id=outlet_id, outlet_class=outlet.outlet_class, lines=known
            )
    if outlet is None:
        v.add("outlet_id", "UNKNOWN_OUTLET", f"no outlet {outlet_id!r} is registered")
    if policy is None:
        v.add("occurred_on", "NO_POLICY_IN_FORCE", f"no points policy is in force on {request.occurred_on.isoformat()}")
    elif policy.rule_for(assignment.role, request.kind, request.attributes) is None:
        known = ", ".join(policy.kinds_for(assignment.role)) or "none"
        v.add(
            "kind",
            "UNKNOWN_KIND",
            f"policy {policy.version} has no rule for kind {request.kind!r} in role {assignment.role} (known: {known})",
        )
    v.raise_if_any()
    assert policy is not None and outlet is not None
    lines = policy.score(
        assignment.role, request.kind, request.quantity, outlet_class=outlet.outlet_class, attributes=request.attributes
    )
    if any(abs(line.points) > MAX_LINE_POINTS for line in lines):
        v.add("quantity", "POINTS_TOO_LARGE", f"this work would earn more than {MAX_LINE_POINTS} points on one line")
        v.raise_if_any()
    if key is not None:
        memo[key] = lines  # type: ignore[index]
    return ScoredWork(
        request=request,
        role=assignment.role,
        outlet_id=outlet_id,
        outlet_class=outlet.outlet_class,
        lines=lines,
    )


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


__all__ = ["InvalidRequest", "ScoredWork", "WorkEvent", "WorkRequest", "score_work"]
