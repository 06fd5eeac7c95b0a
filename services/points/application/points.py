"""The points application: one event log for the directory and the work events.

One log means one position sequence: a client that writes anything can pass the
returned position to any read. Writes are idempotent: aggregates are named by uuid5
of their natural key (outlet, employee) or of the client's request_id (work event),
so a retry finds the stored aggregate and answers with the original result.
"""

from __future__ import annotations

import logging
from collections import Counter
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import date, datetime, tzinfo
from pathlib import Path
from typing import Any, TypeVar
from uuid import UUID

from eventsourcing.application import AggregateNotFoundError, Application, ProcessingEvent, Recording, project_aggregate
from eventsourcing.domain import Aggregate
from eventsourcing.persistence import IntegrityError, JSONTranscoder

from points.application.policy_file import parse_policy
from points.application.results import (
    AssignmentView,
    Corrected,
    EmployeeView,
    EmployeeWritten,
    OutletView,
    OutletWritten,
    PolicyPublished,
    WorkRecorded,
)
from points.application.transcodings import register_domain_transcodings
from points.domain.directory import Employee, Outlet, transfer_fingerprint
from points.domain.errors import (
    AlreadyExists,
    FailedPrecondition,
    FieldViolation,
    InvalidRequest,
    NotFound,
    PointsError,
    Violations,
)
from points.domain.identity import employee_id_of, outlet_id_of, pay_calendar_id, policy_book_id
from points.domain.periods import PayCalendar, booking_month
from points.domain.policy import Policy
from points.domain.policy_book import PolicyBook, PolicyCatalog, Publication, document_digest
from points.domain.values import (
    NAME,
    OUTLET_CLASSES,
    check_identifier,
    check_request_id,
    check_text,
    month_of,
    parse_date,
    parse_quantity,
)
from points.domain.work import ScoredWork, WorkEvent, WorkRequest, correction_fingerprint, score_work, total_points
from points.application.latest import LatestAggregates
from points.application.recorded_codec import CodecMismatch, RecordedCodec
from points.storage.event_index import event_index_for

A = TypeVar("A", bound=Aggregate)

log = logging.getLogger(__name__)

MAX_BATCH = 1000
MAX_POLICY_BYTES = 256 * 1024


@dataclass(frozen=True)
class WorkFields:
    """The raw fields of one record-work request, as the API received them."""

    request_id: str
    employee_id: str
    kind: str
    quantity: str
    occurred_on: str
    occurred_at: datetime | tuple[int, int] | None = None  # or (seconds, nanos) since the epoch, unchecked
    outlet_id: str = ""
    recorded_by: str = ""
    source: str = ""
    attributes: Mapping[str, str] = field(default_factory=dict)


class PointsApplication(Application[UUID]):
    name = "points"

    def __init__(
        self,
        env: Mapping[str, str],
        *,
        clock: Callable[[], datetime],
        business_timezone: tzinfo,
        on_saved: Callable[[int], None] = lambda position: None,
    ) -> None:
        super().__init__(dict(env))
        self._parsed: dict[tuple[str, date], Policy] = {}
        self._close_positions: dict[int, int] = {}  # pay calendar version -> log position (immutable once written)
        self._catalog = PolicyCatalog([], self._parse_publication)
        self._catalog_key: tuple[str, ...] = ()
        self.clock = clock
        self.business_timezone = business_timezone
        self.on_saved = on_saved
        self.index = event_index_for(self.recorder)
        self.latest = LatestAggregates(self.index, self.mapper)
        self.recorded_codec: RecordedCodec | None
        try:
            self.recorded_codec = RecordedCodec(self.mapper)
        except CodecMismatch as e:
            log.warning("new work events go the library's (slower) way: %s", e)
            self.recorded_codec = None

    def save(self, *objs: Any, **kwargs: Any) -> list[Recording[UUID]]:
        """The library's save() (collect, record, snapshot, notify), minus two runtime-protocol
        isinstance checks per object: on Python 3.11 they cost ~15 µs each, a tenth of a batch's
        time. Anything but our aggregates goes the library's way."""
        if not all(isinstance(obj, Aggregate) for obj in objs):
            return super().save(*objs, **kwargs)
        processing_event: ProcessingEvent[UUID] = ProcessingEvent()
        for aggregate in objs:
            processing_event.events.extend(aggregate.collect_events())
            processing_event.aggregates[aggregate.id] = aggregate
        processing_event.saved_kwargs.update(kwargs)
        recordings = self._record(processing_event)
        self._take_snapshots(processing_event)
        self._notify(recordings)
        self.notify(processing_event.events)
        return recordings

    def _notify(self, recordings: list[Recording[UUID]]) -> None:
        self._appended(Counter(type(r.domain_event).__qualname__ for r in recordings))

    def _appended(self, counts: Mapping[str, int]) -> None:
        """Called after every append with how many events of each type (qualified class name) it stored."""

    def register_transcodings(self, transcoder: JSONTranscoder) -> None:
        super().register_transcodings(transcoder)
        register_domain_transcodings(transcoder)

    # -- directory -------------------------------------------------------------------

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
            lambda: Outlet.register(outlet_id=outlet_id, outlet_class=outlet_class, region=region, timestamp=self._now()),
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
                employee_id=employee_id, role=role, outlet_id=outlet_id, effective_from=start, timestamp=self._now(), name=name
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
        for _ in range(5):  # a concurrent change of the same employee: reload and decide again
            employee = self._get(employee_id_of(employee_id))
            if employee is None:
                raise NotFound(f"no employee {employee_id!r}", reason="EMPLOYEE_NOT_FOUND")
            version = employee.replayed_transfer(request_id, fingerprint)
            if version is not None:
                position = self.index.positions([(employee.id, version)])[(employee.id, version)]
                return EmployeeWritten(position=position, replayed=True, employee=_employee_view(employee))
            employee.transfer(
                request_id=request_id,
                fingerprint=fingerprint,
                role=role or employee.current.role,
                outlet_id=outlet_id or employee.current.outlet_id,
                effective_from=start,
                timestamp=self._now(),
            )
            try:
                position = self._save(employee)
            except IntegrityError:
                continue
            return EmployeeWritten(position=position, replayed=False, employee=_employee_view(employee))
        raise FailedPrecondition("the employee is being changed concurrently; retry", reason="CONCURRENT_CHANGE")

    def rename_employee(self, *, employee_id: str, name: str) -> EmployeeWritten:
        """Gives an employee the name people read (a correction, or a first name); the same name again is a replay."""
        v = Violations()
        check_identifier(v, "employee_id", employee_id, "employee")
        _check_name(v, name, required=True)
        v.raise_if_any()
        for _ in range(5):  # a concurrent change of the same employee: reload and decide again
            employee = self._get(employee_id_of(employee_id))
            if employee is None:
                raise NotFound(f"no employee {employee_id!r}", reason="EMPLOYEE_NOT_FOUND")
            if not employee.rename(name, timestamp=self._now()):
                position = self.position_of(employee.id, employee.name_version)
                return EmployeeWritten(position=position, replayed=True, employee=_employee_view(employee))
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

    def policy_book(self) -> PolicyBook:
        book = self._get(policy_book_id())
        if book is None:
            raise NotFound("no policy has been published", reason="POLICY_NOT_FOUND")
        return book

    def position_of(self, aggregate_id: UUID, version: int) -> int:
        return self.index.positions([(aggregate_id, version)])[(aggregate_id, version)]

    def rescore_events(
        self, event_ids: list[UUID], policy: Policy, *, recalculation_id: str, reason: str, rescored_by: str
    ) -> int:
        """Rescores the given work events under `policy` in one transaction; returns how many changed."""
        events = [
            e for e in (self._work_event(i) for i in event_ids) if e is not None and not e.reversed and recalculation_id not in e.recalculations
        ]
        for event in events:
            try:
                lines = policy.score(
                    event.role, event.kind, event.quantity, outlet_class=event.outlet_class, attributes=event.attributes
                )
            except KeyError:
                lines = ()  # the version has no rule for this work any more: its points go
            event.rescore(lines, recalculation_id=recalculation_id, reason=reason, rescored_by=rescored_by, timestamp=self._now())
        if events:
            self._save(*events)
        return len(events)

    def record_recalculation(self, **fields: Any) -> int:
        book = self.policy_book()
        book.record_recalculation(**fields, timestamp=self._now())
        return self._save(book)

    def work_event(self, event_id: UUID) -> WorkEvent | None:
        return self._work_event(event_id)

    def _as_recorded(self, event: WorkEvent) -> WorkEvent:
        """The event as it was recorded: a retry is answered with the original result (lines,
        points, period), even after a correction changed them (CorrectWorkEvent tells those)."""
        if event.version == 1:
            return event
        return self.repository.get(event.id, version=1)  # type: ignore[no-any-return]

    def employee_exists(self, employee_id: str) -> bool:
        return bool(self.index.positions([(employee_id_of(employee_id), 1)]))

    def employee_outlets(self, employee_ids: Iterable[str]) -> dict[str, str]:
        """Each known employee's outlet today (their first one if they start later); unknown ids are left out."""
        today = self.today()
        outlets: dict[str, str] = {}
        for employee_id in set(employee_ids):
            employee = self._get(employee_id_of(employee_id))
            if employee is not None:
                outlets[employee_id] = (employee.assignment_on(today) or employee.assignments[0]).outlet_id
        return outlets

    # -- work events -----------------------------------------------------------------

    def record_work_event(self, fields: WorkFields) -> WorkRecorded:
        """Records and scores one work event; a retry with the same request_id is a replay."""
        request = self._parse(fields)
        event, position, replayed = self._create_once(
            request.event_id,
            lambda: WorkEvent.record(self._score(request, {}, {}), timestamp=self._now()),
            lambda existing: existing.check_replay_of(request),
            read=self._work_event,
        )
        recorded = _recorded(self._as_recorded(event) if replayed else event, position, replayed)
        return replace(recorded, booked_period=self.booked_periods([(recorded.period, position)])[0])

    def record_work_events(self, batch: Sequence[WorkFields]) -> list[WorkRecorded | PointsError]:
        """Records many work events in one transaction; each gets its own result or error."""
        v = Violations()
        if not batch:
            v.add("requests", "EMPTY_BATCH", "give at least one request")
        elif len(batch) > MAX_BATCH:
            v.add("requests", "BATCH_TOO_LARGE", f"at most {MAX_BATCH} requests per call")
        v.raise_if_any()

        results: list[WorkRecorded | PointsError | None] = [None] * len(batch)
        requests: dict[int, WorkRequest] = {}
        first_of: dict[str, int] = {}
        repeats: dict[int, int] = {}
        now = self._now()
        today = now.astimezone(self.business_timezone).date()
        for i, item in enumerate(batch):
            try:
                request = self._parse(item, now, today)
            except PointsError as e:
                results[i] = e
                continue
            first = first_of.setdefault(request.request_id, i)
            if first == i:
                requests[i] = request
            elif requests[first].fingerprint == request.fingerprint:
                repeats[i] = first
            else:
                results[i] = AlreadyExists(
                    f"request_id {request.request_id!r} appears twice in this batch with different content",
                    reason="REQUEST_ID_REUSED",
                )

        stored, employees, outlets, catalog = self._stored_and_directory(list(requests.values()))
        new: dict[int, ScoredWork] = {}
        memo: dict[Any, Any] = {}  # scored lines, for this batch and its one catalog only
        for i, request in requests.items():
            try:
                position = stored.get((request.event_id, 1))
                if position is not None:
                    existing = self._work_event(request.event_id)
                    assert existing is not None
                    existing.check_replay_of(request)
                    results[i] = _recorded(self._as_recorded(existing), position, replayed=True)
                else:
                    new[i] = self._score(request, employees, outlets, catalog, memo)
            except PointsError as e:
                results[i] = e

        if new:
            try:
                positions = self._append_recorded(list(new.values()), now)
            except IntegrityError:
                # Someone stored one of these meanwhile: go one by one, each as a retry would.
                for i in new:
                    try:
                        results[i] = self.record_work_event(batch[i])
                    except PointsError as e:
                        results[i] = e
            else:
                self.on_saved(max(positions))
                for (i, scored), position in zip(new.items(), positions, strict=True):
                    results[i] = _recorded_new(scored, position)

        self._say_where_booked(results)
        for i, first in repeats.items():
            original = results[first]
            if isinstance(original, WorkRecorded):
                results[i] = replace(original, replayed=True)
            else:
                results[i] = original
        return [r for r in results if r is not None]

    def _say_where_booked(self, results: list[WorkRecorded | PointsError | None]) -> None:
        """Sets each recorded result's booked_period (results built here default it to their business month)."""
        written = [(i, r) for i, r in enumerate(results) if isinstance(r, WorkRecorded)]
        booked = self.booked_periods([(r.period, r.position) for _, r in written])
        for (i, result), booked_period in zip(written, booked, strict=True):
            if result.booked_period != booked_period:
                results[i] = replace(result, booked_period=booked_period)

    def _append_recorded(self, batch: Sequence[ScoredWork], timestamp: datetime) -> list[int]:
        """Stores new work events in one transaction; returns their positions, in order. The stored
        bytes are the library's either way (see RecordedCodec); the direct way skips the aggregates."""
        if self.recorded_codec is None:
            events = [WorkEvent.record(scored, timestamp=timestamp) for scored in batch]
            positions = {r.domain_event.originator_id: r.notification.id for r in self.save(*events)}
            return [positions[event.id] for event in events]
        ids = self.recorder.insert_events(self.recorded_codec.stored_events(batch, timestamp))
        assert ids is not None and len(ids) == len(batch)
        self._appended({WorkEvent.Recorded.__qualname__: len(batch)})
        return list(ids)

    # -- corrections -----------------------------------------------------------------

    def correct_work_event(
        self,
        *,
        request_id: str,
        event_id: str,
        employee_id: str,
        reason: str,
        corrected_by: str,
        reverse: bool,
        kind: str = "",
        quantity: str = "",
        occurred_on: str = "",
    ) -> Corrected:
        """Reverses a work event, or amends its kind, quantity and/or date; the original stays."""
        v = Violations()
        check_request_id(v, "request_id", request_id)
        target = _parse_uuid(v, "event_id", event_id)
        check_identifier(v, "employee_id", employee_id, "employee")
        for name, value in (("reason", reason), ("corrected_by", corrected_by)):
            if not value.strip():
                v.add(name, f"MISSING_{name.upper()}", f"{name} is required: a correction is audited (who and why)")
            else:
                check_text(v, name, value, limit=1000)
        amount = day = None
        if reverse and (kind or quantity or occurred_on):
            v.add("amend", "REVERSE_OR_AMEND", "a correction either reverses the event or amends it, not both")
        elif not reverse:
            if not (kind or quantity or occurred_on):
                v.add("amend", "MISSING_AMENDMENT", "give reverse, or a new kind, quantity and/or occurred_on")
            if kind and not NAME.fullmatch(kind):
                v.add("amend.kind", "UNKNOWN_KIND", f"{kind[:64]!r} is not a kind of work")
            amount = parse_quantity(v, "amend.quantity", quantity) if quantity else None
            day = parse_date(v, "amend.occurred_on", occurred_on) if occurred_on else None
            if day is not None and day > self.today():
                v.add("amend.occurred_on", "FUTURE_DATE", f"{day.isoformat()} is after today ({self.today().isoformat()})")
        v.raise_if_any()
        assert target is not None
        action = "reverse" if reverse else "amend"
        fingerprint = correction_fingerprint(action, reason, kind, str(amount or ""), day.isoformat() if day else "")
        for _ in range(5):  # a concurrent correction of the same event: reload and decide again
            event = self._work_event(target)
            if not isinstance(event, WorkEvent) or event.employee_id != employee_id:
                raise NotFound(f"no work event {event_id} of employee {employee_id!r}", reason="WORK_EVENT_NOT_FOUND")
            version = event.replayed_correction(request_id, fingerprint)
            if version is not None:
                then = self.repository.get(event.id, version=version)
                before = self.repository.get(event.id, version=version - 1)
                return self._corrected(then, before.period, self.position_of(event.id, version), replayed=True)
            before_month = event.period
            now = self._now()
            if reverse:
                event.reverse(correction_id=request_id, fingerprint=fingerprint, reason=reason, corrected_by=corrected_by, timestamp=now)
            else:
                amended = event.amended_request(kind=kind, quantity=amount, occurred_on=day)
                try:
                    scored = self._score(amended, {}, {})
                except InvalidRequest as refused:  # name the request's fields: the amendment's, not a work event's
                    raise InvalidRequest(
                        [FieldViolation(f"amend.{v.field}", v.reason, v.description) for v in refused.violations]
                    ) from None
                event.amend(scored, correction_id=request_id, fingerprint=fingerprint, reason=reason, corrected_by=corrected_by, timestamp=now)
            try:
                position = self._save(event)
            except IntegrityError:
                continue
            return self._corrected(event, before_month, position, replayed=False)
        raise FailedPrecondition("the work event is being corrected concurrently; retry", reason="CONCURRENT_CHANGE")

    def _corrected(self, event: WorkEvent, before_month: str, position: int, *, replayed: bool) -> Corrected:
        """The outcome of a correction saved at `position`: the event as corrected, and where its lines land."""
        new_lines, reversal = self.booked_periods([(event.period, position), (before_month, position)])
        return Corrected(
            position=position, replayed=replayed, event_id=str(event.id), lines=tuple(event.lines), reversed=event.reversed,
            period=event.period, booked_period=reversal if event.reversed else new_lines, reversal_booked_period=reversal,
        )  # fmt: skip

    # -- pay periods (the use cases are in application/periods.py) ------------------

    def pay_calendar(self) -> PayCalendar | None:
        return self._get(pay_calendar_id())  # type: ignore[no-any-return]

    def booked_periods(self, written: Sequence[tuple[str, int]]) -> list[str]:
        """The pay month each (business month, log position) is booked in: its own, unless a close
        before that position closed it (then the first open month after). Reads the calendar only
        for months before the current one: the current month cannot be closed."""
        current = month_of(self.today())
        if all(month >= current for month, _ in written):
            return [month for month, _ in written]
        calendar = self.pay_calendar()
        if calendar is None:
            return [month for month, _ in written]
        closes = [(self._close_position(calendar, c.calendar_version), c.period) for c in calendar.closes]
        return [booking_month(month, {period for at, period in closes if at < position}) for month, position in written]

    def _close_position(self, calendar: PayCalendar, version: int) -> int:
        position = self._close_positions.get(version)
        if position is None:
            position = self._close_positions[version] = self.position_of(calendar.id, version)
        return position

    # -- helpers ---------------------------------------------------------------------

    def _now(self) -> datetime:
        now = self.clock()
        if now.tzinfo is None:
            raise ValueError("the clock must return timezone-aware datetimes")
        return now

    def now(self) -> datetime:
        """The instant now (the application's clock, timezone-aware)."""
        return self._now()

    def save_changes(self, *aggregates: Aggregate) -> int:
        """Stores the aggregates' new events in one transaction; returns the last one's position."""
        return self._save(*aggregates)

    def today(self) -> date:
        return self._now().astimezone(self.business_timezone).date()

    def _parse(self, f: WorkFields, now: datetime | None = None, today: date | None = None) -> WorkRequest:
        """Parses one request against the clock (a batch reads the clock, and takes today's date, once
        for all its items: `today` is then the business date of `now`)."""
        now = now or self._now()
        return WorkRequest.parse(
            request_id=f.request_id,
            employee_id=f.employee_id,
            kind=f.kind,
            quantity=f.quantity,
            occurred_on=f.occurred_on,
            occurred_at=f.occurred_at,
            outlet_id=f.outlet_id,
            recorded_by=f.recorded_by,
            source=f.source,
            attributes=f.attributes,
            today=today or now.astimezone(self.business_timezone).date(),
            now=now,
        )

    def _score(
        self,
        request: WorkRequest,
        employees: dict[str, Employee | None],
        outlets: dict[str, Outlet | None],
        policies: PolicyCatalog | None = None,
        memo: dict[Any, Any] | None = None,
    ) -> Any:
        """Scores one request; a batch passes its caches, the policy catalog it read once and its
        scoring memo (see score_work: kept for that one catalog, for the batch only)."""
        if request.employee_id not in employees:
            employees[request.employee_id] = self._get(employee_id_of(request.employee_id))

        def find_outlet(outlet_id: str) -> Outlet | None:
            if outlet_id not in outlets:
                outlets[outlet_id] = self._get(outlet_id_of(outlet_id))
            return outlets[outlet_id]

        return score_work(
            request,
            employee=employees[request.employee_id],
            find_outlet=find_outlet,
            policies=policies or self.policies(),
            memo=memo if policies is not None else None,
        )

    def _stored_and_directory(
        self, requests: Sequence[WorkRequest]
    ) -> tuple[dict[tuple[UUID, int], int], dict[str, Employee | None], dict[str, Outlet | None], PolicyCatalog]:
        """Which requests are stored already (their positions), and the employees, outlets and policy
        book the batch scores against, as stored now: one round trip, a second only when an employee
        has moved to an outlet this process has not read yet."""
        employee_uuids = {e: employee_id_of(e) for e in {r.employee_id for r in requests}}
        outlet_ids = {r.outlet_id for r in requests if r.outlet_id}
        # The outlets these employees were assigned to when last read: usually all the batch needs.
        for employee in self.latest.cached(list(employee_uuids.values())):
            outlet_ids |= {a.outlet_id for a in employee.assignments}
        wanted = [*employee_uuids.values(), *(outlet_id_of(o) for o in outlet_ids), policy_book_id()]
        stored, found = self.latest.get_many(wanted, positions_of=[(r.event_id, 1) for r in requests])
        employees: dict[str, Employee | None] = {e: found.get(u) for e, u in employee_uuids.items()}
        assigned = {a.outlet_id for employee in employees.values() if employee is not None for a in employee.assignments}
        missing = assigned - outlet_ids
        if missing:
            found |= self.latest.get_many([outlet_id_of(o) for o in missing])[1]
            outlet_ids |= missing
        outlets: dict[str, Outlet | None] = {o: found.get(outlet_id_of(o)) for o in outlet_ids}
        return stored, employees, outlets, self._catalog_of(found.get(policy_book_id()))

    def _check_role(self, v: Violations, field_name: str, role: str) -> None:
        if not role:
            v.add(field_name, "MISSING_ROLE", "a role is required")
            return
        catalog = self.policies()
        if not catalog.knows_role(role):
            known = ", ".join(catalog.roles()) or "none: no policy is published"
            v.add(field_name, "UNKNOWN_ROLE", f"no published policy has rules for role {role!r} (known: {known})")

    # -- policies --------------------------------------------------------------------

    def policies(self) -> PolicyCatalog:
        """Every published policy version, parsed (re-read when the book has changed)."""
        return self._catalog_of(self._get(policy_book_id()))

    def _catalog_of(self, book: PolicyBook | None) -> PolicyCatalog:
        publications = list(book.publications) if book is not None else []
        key = tuple(f"{p.version}/{p.digest}/{p.effective_from}" for p in publications)
        if key != self._catalog_key:
            self._catalog = PolicyCatalog(publications, self._parse_publication)
            self._catalog_key = key
        return self._catalog

    def _parse_publication(self, publication: Publication) -> Policy:
        key = (publication.digest, publication.effective_from)
        if key not in self._parsed:
            self._parsed[key] = parse_policy(
                publication.document,
                f"policy {publication.version}",
                effective_from=publication.effective_from.isoformat(),
            )
        return self._parsed[key]

    def publish_policy(
        self, *, document: str, source: str, effective_from: str, published_by: str, reason: str
    ) -> PolicyPublished:
        """Publishes a policy version (immutable; the same publication again is a replay)."""
        v = Violations()
        if not document.strip():
            v.add("document", "MISSING_DOCUMENT", "the policy document (TOML text) is required")
        elif len(document.encode("utf-8")) > MAX_POLICY_BYTES:
            v.add("document", "POLICY_TOO_LARGE", f"at most {MAX_POLICY_BYTES} bytes")
        if effective_from:
            parse_date(v, "effective_from", effective_from)
        for name, value in (("published_by", published_by), ("reason", reason)):
            if not value.strip():
                v.add(name, f"MISSING_{name.upper()}", f"{name} is required: publishing is audited (who and why)")
            else:
                check_text(v, name, value, limit=1000)
        v.raise_if_any()
        policy = parse_policy(document, source or "document", effective_from=effective_from or None)
        digest = document_digest(document)
        for _ in range(5):  # a concurrent publication: reload the book and decide again
            book = self._get(policy_book_id()) or PolicyBook.open(timestamp=self._now())
            existing = book.replayed(policy.version, policy.effective_from, digest)
            if existing is not None:
                position = self.index.positions([(book.id, existing.book_version)])[(book.id, existing.book_version)]
                return PolicyPublished(position=position, replayed=True, policy=existing)
            book.publish(policy=policy, document=document, published_by=published_by, reason=reason, timestamp=self._now())
            try:
                position = self._save(book)
            except IntegrityError:
                continue
            return PolicyPublished(position=position, replayed=False, policy=book.publications[-1])
        raise FailedPrecondition("policies are being published concurrently; retry", reason="CONCURRENT_CHANGE")

    def ensure_initial_policy(self, document: str, source: str) -> None:
        """On first start of an empty store, publishes the initial policy (the shipped example by default)."""
        if self.policies().empty:
            self.publish_policy(
                document=document,
                source=source,
                effective_from="",
                published_by="points serve (first start)",
                reason=f"initial policy {Path(source).name}, loaded on first start of an empty store",
            )

    def get_policy(self, *, version: str, in_force_on: str) -> tuple[Publication, Policy]:
        """One published version, by name or as in force on a date."""
        v = Violations()
        day = parse_date(v, "in_force_on", in_force_on) if in_force_on else None
        if bool(version) == bool(in_force_on):
            v.add("version", "ONE_SELECTOR_REQUIRED", "give exactly one of version or in_force_on")
        v.raise_if_any()
        catalog = self.policies()
        for publication, policy in zip(catalog.publications, catalog.policies, strict=True):
            if version and publication.version == version:
                return publication, policy
            if day is not None and policy is catalog.in_force(day):
                return publication, policy
        what = f"version {version!r}" if version else f"policy in force on {in_force_on}"
        raise NotFound(f"no {what}", reason="POLICY_NOT_FOUND")

    def _check_outlet_exists(self, outlet_id: str) -> None:
        if self._get(outlet_id_of(outlet_id)) is None:
            v = Violations()
            v.add("outlet_id", "UNKNOWN_OUTLET", f"no outlet {outlet_id!r} is registered")
            v.raise_if_any()

    def _get(self, aggregate_id: UUID) -> Any:
        """The aggregate as stored now, through the library's aggregate cache: for the directory, the
        policy book and the other few aggregates read again and again."""
        try:
            return self.repository.get(aggregate_id)
        except AggregateNotFoundError:
            return None

    def _work_event(self, event_id: UUID) -> Any:
        """A work event as stored now (None if there is none), rebuilt from its events and NOT put in the
        aggregate cache. Work events are many and each is read again rarely (a retry, a correction, a
        recalculation, a ranking): cached, every one read stayed until the cache's 10,000 entries were
        full (about 3 KB each, ~30 MB a process: the soak's "growing" memory), and a recalculation would
        evict the outlets and the policy book. A hit would save no round trip either: the library
        fast-forwards a cached aggregate from the store on every read."""
        return project_aggregate(None, self.repository.event_store.get(originator_id=event_id))

    def _save(self, *aggregates: Aggregate) -> int:
        recordings = self.save(*aggregates)
        position = max(r.notification.id for r in recordings)
        self.on_saved(position)
        return position

    def _create_once(
        self, aggregate_id: UUID, create: Callable[[], A], check_same: Callable[[A], None], *, read: Callable[[UUID], Any] | None = None
    ) -> tuple[A, int, bool]:
        """Creates an aggregate unless it exists; an existing one must be the same (a replay).
        `read` reads the existing one (default: through the aggregate cache)."""
        for _ in range(3):
            existing = (read or self._get)(aggregate_id)
            if existing is not None:
                check_same(existing)
                return existing, self.index.positions([(aggregate_id, 1)])[(aggregate_id, 1)], True
            aggregate = create()
            try:
                return aggregate, self._save(aggregate), False
            except IntegrityError:
                continue  # created concurrently (or our commit's reply was lost): compare with the stored one
        raise FailedPrecondition("the same id is being written concurrently; retry", reason="CONCURRENT_CHANGE")


def _parse_uuid(v: Violations, field_name: str, value: str) -> UUID | None:
    try:
        return UUID(value)
    except ValueError:
        v.add(field_name, "MALFORMED_EVENT_ID", "an event id as returned by RecordWorkEvent is required")
        return None


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


def _recorded_new(scored: ScoredWork, position: int) -> WorkRecorded:
    """The result of a work event just stored: what _recorded would say of its aggregate."""
    return WorkRecorded(
        position=position,
        replayed=False,
        event_id=str(scored.request.event_id),
        period=(period := month_of(scored.request.occurred_on)),
        points=total_points(scored.lines),
        lines=tuple(scored.lines),
        booked_period=period,
    )


def _recorded(event: WorkEvent, position: int, replayed: bool) -> WorkRecorded:
    return WorkRecorded(
        position=position,
        replayed=replayed,
        event_id=str(event.id),
        period=event.period,
        points=event.points,
        lines=tuple(event.lines),
        booked_period=event.period,
    )


__all__ = ["InvalidRequest", "PointsApplication", "WorkFields"]
