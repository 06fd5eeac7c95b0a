"""The points application: one event log for the directory and the work events.

One log means one position sequence: a client that writes anything can pass the
returned position to any read. Writes are idempotent: aggregates are named by uuid5
of their natural key (outlet, employee) or of the client's request_id (work event),
so a retry finds the stored aggregate and answers with the original result.
"""

from __future__ import annotations

import logging
from collections import Counter
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import date, datetime, tzinfo
from typing import Any, TypeVar
from uuid import UUID

from eventsourcing.application import AggregateNotFoundError, Application, ProcessingEvent, Recording, project_aggregate
from eventsourcing.domain import Aggregate
from eventsourcing.persistence import IntegrityError, JSONTranscoder

from points.application.results import (
    WorkRecorded,
)
from points.application.transcodings import register_domain_transcodings
from points.domain.directory import Employee, Outlet
from points.domain.errors import (
    AlreadyExists,
    FailedPrecondition,
    InvalidRequest,
    PointsError,
    Violations,
)
from points.domain.identity import employee_id_of, outlet_id_of, pay_calendar_id, policy_book_id
from points.domain.periods import PayCalendar, booking_month
from points.domain.policy import Policy
from points.domain.policy_book import PolicyCatalog
from points.domain.values import (
    month_of,
)
from points.domain.work import WorkEvent
from points.domain.scoring import ScoredWork, check_references, score_work, total_points
from points.domain.work_request import WorkRequest
from points.application.corrections import CorrectionUseCases
from points.application.directory import DirectoryUseCases
from points.application.latest import LatestAggregates
from points.application.policy_versions import PolicyVersions
from points.application.recorded_codec import CodecMismatch, RecordedCodec
from points.storage.event_index import event_index_for

A = TypeVar("A", bound=Aggregate)

log = logging.getLogger(__name__)

MAX_BATCH = 1000


def check_batch_size(size: int) -> None:
    """A RecordWorkEvents batch holds 1 to MAX_BATCH requests; checked before anything else is done with it."""
    v = Violations()
    if not size:
        v.add("requests", "EMPTY_BATCH", "give at least one request")
    elif size > MAX_BATCH:
        v.add("requests", "BATCH_TOO_LARGE", f"at most {MAX_BATCH} requests per call")
    v.raise_if_any()


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
    scope: str = ""  # the authenticated caller, whose request_ids these are; "" without authentication


class PointsApplication(DirectoryUseCases, CorrectionUseCases, PolicyVersions, Application[UUID]):
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

    # -- reading the log (the directory, corrections and policy versions are in directory.py,
    #    corrections.py and policy_versions.py; the pay calendar's use cases in periods.py) ------

    def position_of(self, aggregate_id: UUID, version: int) -> int:
        return self.index.positions([(aggregate_id, version)])[(aggregate_id, version)]

    def work_event(self, event_id: UUID) -> WorkEvent | None:
        return self._work_event(event_id)

    def _as_recorded(self, event: WorkEvent) -> WorkEvent:
        """The event as it was recorded: a retry is answered with the original result (lines,
        points, period), even after a correction changed them (CorrectWorkEvent tells those)."""
        if event.version == 1:
            return event
        return self.repository.get(event.id, version=1)  # type: ignore[no-any-return]

    # -- work events -----------------------------------------------------------------

    def record_work_event(self, fields: WorkFields) -> WorkRecorded:
        """Records and scores one work event; a retry with the same request_id is a replay."""
        try:
            request = self._parse(fields)
        except InvalidRequest as error:
            raise self._with_references(fields, error, {}, {}, self.policies()) from None
        earlier = self._unscoped_replay(request)
        if earlier is not None:
            return earlier
        event, position, replayed = self._create_once(
            request.event_id,
            lambda: WorkEvent.record(self._score(request, {}, {}), timestamp=self.now()),
            lambda existing: existing.check_replay_of(request),
            read=self._work_event,
        )
        recorded = _recorded(self._as_recorded(event) if replayed else event, position, replayed)
        return replace(recorded, booked_period=self.booked_periods([(recorded.period, position)])[0])

    def record_work_events(self, batch: Sequence[WorkFields]) -> list[WorkRecorded | PointsError]:
        """Records many work events in one transaction; each gets its own result or error."""
        check_batch_size(len(batch))

        results: list[WorkRecorded | PointsError | None] = [None] * len(batch)
        requests: dict[int, WorkRequest] = {}
        first_of: dict[UUID, int] = {}
        repeats: dict[int, int] = {}
        now = self.now()
        today = now.astimezone(self.business_timezone).date()
        malformed: dict[int, InvalidRequest] = {}
        for i, item in enumerate(batch):
            try:
                request = self._parse(item, now, today)
            except InvalidRequest as e:
                malformed[i] = e
                continue
            except PointsError as e:
                results[i] = e
                continue
            first = first_of.setdefault(request.event_id, i)
            if first == i:
                requests[i] = request
            elif requests[first].fingerprint == request.fingerprint:
                repeats[i] = first
            else:
                results[i] = AlreadyExists(
                    f"request_id {request.request_id!r} appears twice in this batch with different content",
                    reason="REQUEST_ID_REUSED",
                )

        stored, employees, outlets, catalog = self._stored_and_directory(
            list(requests.values()),
            also_employees={batch[i].employee_id for i, e in malformed.items() if _well_formed(e, "employee_id", batch[i].employee_id)},
            also_outlets={batch[i].outlet_id for i, e in malformed.items() if _well_formed(e, "outlet_id", batch[i].outlet_id)},
        )
        for i, error in malformed.items():
            results[i] = self._with_references(batch[i], error, employees, outlets, catalog)
        new: dict[int, ScoredWork] = {}
        memo: dict[Any, Any] = {}  # scored lines, for this batch and its one catalog only
        for i, request in requests.items():
            try:
                position = stored.get((request.event_id, 1))
                earlier = self._unscoped_replay(request, stored) if position is None and request.scope else None
                if position is not None:
                    existing = self._work_event(request.event_id)
                    assert existing is not None
                    existing.check_replay_of(request)
                    results[i] = _recorded(self._as_recorded(existing), position, replayed=True)
                elif earlier is not None:
                    results[i] = earlier
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

    # -- where lines are booked --------------------------------------------------------

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

    def now(self) -> datetime:
        """The instant now (the application's clock, timezone-aware)."""
        now = self.clock()
        if now.tzinfo is None:
            raise ValueError("the clock must return timezone-aware datetimes")
        return now

    def save_changes(self, *aggregates: Aggregate) -> int:
        """Stores the aggregates' new events in one transaction; returns the last one's position."""
        return self._save(*aggregates)

    def today(self) -> date:
        return self.now().astimezone(self.business_timezone).date()

    def _parse(self, f: WorkFields, now: datetime | None = None, today: date | None = None) -> WorkRequest:
        """Parses one request against the clock (a batch reads the clock, and takes today's date, once
        for all its items: `today` is then the business date of `now`)."""
        now = now or self.now()
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
            zone=self.business_timezone,
            scope=f.scope,
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
        self, requests: Sequence[WorkRequest], *, also_employees: set[str] = frozenset(), also_outlets: set[str] = frozenset()  # type: ignore[assignment]
    ) -> tuple[dict[tuple[UUID, int], int], dict[str, Employee | None], dict[str, Outlet | None], PolicyCatalog]:
        """Which requests are stored already (their positions), and the employees, outlets and policy
        book the batch scores against, as stored now: one round trip, a second only when an employee
        has moved to an outlet this process has not read yet. `also_*`: the well-formed ids of the
        batch's malformed items, looked up in the same round trip so their answers name every mistake."""
        employee_uuids = {e: employee_id_of(e) for e in {r.employee_id for r in requests} | also_employees}
        outlet_ids = {r.outlet_id for r in requests if r.outlet_id} | also_outlets
        # The outlets these employees were assigned to when last read: usually all the batch needs.
        for employee in self.latest.cached(list(employee_uuids.values())):
            outlet_ids |= {a.outlet_id for a in employee.assignments}
        wanted = [*employee_uuids.values(), *(outlet_id_of(o) for o in outlet_ids), policy_book_id()]
        unscoped = [(r.unscoped_event_id, 1) for r in requests if r.scope]  # see _unscoped_replay
        stored, found = self.latest.get_many(wanted, positions_of=[(r.event_id, 1) for r in requests] + unscoped)
        employees: dict[str, Employee | None] = {e: found.get(u) for e, u in employee_uuids.items()}
        assigned = {a.outlet_id for employee in employees.values() if employee is not None for a in employee.assignments}
        missing = assigned - outlet_ids
        if missing:
            found |= self.latest.get_many([outlet_id_of(o) for o in missing])[1]
            outlet_ids |= missing
        outlets: dict[str, Outlet | None] = {o: found.get(outlet_id_of(o)) for o in outlet_ids}
        return stored, employees, outlets, self._catalog_of(found.get(policy_book_id()))

    def _with_references(
        self,
        fields: WorkFields,
        error: InvalidRequest,
        employees: dict[str, Employee | None],
        outlets: dict[str, Outlet | None],
        policies: PolicyCatalog,
    ) -> InvalidRequest:
        """`error` (the request's format mistakes) with the directory and policy mistakes of its
        well-formed fields added: one answer names them all. The caches are the batch's (or empty)."""
        v = Violations()
        v.items = list(error.violations)
        employee_id = fields.employee_id if _well_formed(error, "employee_id", fields.employee_id) else None
        if employee_id is not None and employee_id not in employees:
            employees[employee_id] = self._get(employee_id_of(employee_id))

        def find_outlet(outlet_id: str) -> Outlet | None:
            if outlet_id not in outlets:
                outlets[outlet_id] = self._get(outlet_id_of(outlet_id))
            return outlets[outlet_id]

        check_references(
            v,
            employee_id=employee_id,
            employee=employees.get(employee_id) if employee_id is not None else None,
            occurred_on=date.fromisoformat(fields.occurred_on) if _well_formed(error, "occurred_on", fields.occurred_on) else None,
            kind=fields.kind if _well_formed(error, "kind", fields.kind) else None,
            outlet_id=None if _has_violation(error, "outlet_id") else fields.outlet_id,
            find_outlet=find_outlet,
            policies=policies,
        )
        return InvalidRequest(v.items)

    def _unscoped_replay(self, request: WorkRequest, stored: Mapping[tuple[UUID, int], int] | None = None) -> WorkRecorded | None:
        """A retry of a write this caller made before request_ids were scoped by caller: the event
        stored under the request_id alone, if this caller recorded it (else it is another's key, and
        this request gets its own event). `stored`: the batch's positions, read with its others."""
        if not request.scope:
            return None
        key = (request.unscoped_event_id, 1)
        if stored is not None:
            if key not in stored:
                return None
            position = stored[key]
        else:
            position = self.index.positions([key]).get(key)  # type: ignore[assignment]
            if position is None:
                return None
        existing = self._work_event(request.unscoped_event_id)
        if existing is None or existing.recorded_by != request.scope:
            return None
        existing.check_replay_of(request)
        recorded = _recorded(self._as_recorded(existing), position, replayed=True)
        return replace(recorded, booked_period=self.booked_periods([(recorded.period, position)])[0])

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


def _has_violation(error: InvalidRequest, field: str) -> bool:
    return any(v.field == field for v in error.violations)


def _well_formed(error: InvalidRequest, field: str, value: str) -> bool:
    """The request gave `field` and its format passed (so it can be looked up)."""
    return bool(value) and not _has_violation(error, field)
