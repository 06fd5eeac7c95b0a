"""Correcting a work event: reverse it, or amend its kind, quantity or date; the original stays (mixed into PointsApplication)."""

from __future__ import annotations

from datetime import date
from uuid import UUID

from eventsourcing.persistence import IntegrityError

from points.application.results import (
    Corrected,
)
from points.domain.errors import (
    FailedPrecondition,
    Forbidden,
    FieldViolation,
    InvalidRequest,
    NotFound,
    Violations,
)
from points.domain.values import (
    NAME,
    check_identifier,
    check_request_id,
    check_text,
    parse_date,
    parse_quantity,
)
from points.domain.work import WorkEvent, correction_fingerprint


def _parse_uuid(v: Violations, field_name: str, value: str) -> UUID | None:
    try:
        return UUID(value)
    except ValueError:
        v.add(field_name, "MALFORMED_EVENT_ID", "an event id as returned by RecordWorkEvent is required")
        return None


class CorrectionUseCases:
    """Corrections of recorded work. Mixed into PointsApplication: uses its _work_event, _score, _save, now, today, position_of and booked_periods."""

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
        outlets: frozenset[str] | None = None,
    ) -> Corrected:
        """Reverses a work event, or amends its kind, quantity and/or date; the original stays.

        `outlets`: the only outlets a scoped caller may correct at (None: any). The event's outlet
        and, for an amendment, the outlet it is booked at after it must both be among them."""
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
            if outlets is not None:
                _check_outlet_in(outlets, event.outlet_id or self._outlet_on(employee_id, event.occurred_on), "was booked at")
            version = event.replayed_correction(request_id, fingerprint)
            if version is not None:
                then = self.repository.get(event.id, version=version)
                before = self.repository.get(event.id, version=version - 1)
                return self._corrected(then, before.period, self.position_of(event.id, version), replayed=True)
            before_month = event.period
            now = self.now()
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
                if outlets is not None:
                    _check_outlet_in(outlets, scored.outlet_id, "would be booked at")
                event.amend(scored, correction_id=request_id, fingerprint=fingerprint, reason=reason, corrected_by=corrected_by, timestamp=now)
            try:
                position = self._save(event)
            except IntegrityError:
                continue
            return self._corrected(event, before_month, position, replayed=False)
        raise FailedPrecondition("the work event is being corrected concurrently; retry", reason="CONCURRENT_CHANGE")

    def _outlet_on(self, employee_id: str, day: date) -> str:
        return self.employee_outlets([employee_id], day).get(employee_id, "")  # type: ignore[attr-defined,no-any-return]

    def _corrected(self, event: WorkEvent, before_month: str, position: int, *, replayed: bool) -> Corrected:
        """The outcome of a correction saved at `position`: the event as corrected, and where its lines land."""
        new_lines, reversal = self.booked_periods([(event.period, position), (before_month, position)])
        return Corrected(
            position=position, replayed=replayed, event_id=str(event.id), lines=tuple(event.lines), reversed=event.reversed,
            period=event.period, booked_period=reversal if event.reversed else new_lines, reversal_booked_period=reversal,
        )  # fmt: skip


def _check_outlet_in(outlets: frozenset[str], outlet_id: str, booked: str) -> None:
    if outlet_id not in outlets:
        raise Forbidden(f"the work event {booked} outlet {outlet_id!r}, which you do not act for", reason="OUTLET_NOT_IN_SCOPE")
