"""A request to record work, checked field by field (before the directory and the policy): what the client sent, parsed."""

from __future__ import annotations

import hashlib
from json.encoder import encode_basestring as _json_string  # how json.dumps(ensure_ascii=False) writes a str
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Generic, TypeVar
from uuid import UUID
from datetime import date, datetime, timedelta, tzinfo
from decimal import Decimal


from points.domain.errors import Violations
from points.domain.identity import work_event_id_of
from points.domain.values import (
    ATTRIBUTES_MAX,
    NAME,
    check_identifier,
    check_request_id,
    check_text,
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
    scope: str = ""  # whose request_ids these are: the authenticated caller; "" without authentication

    @_computed_once
    def event_id(self) -> UUID:
        """The work event's id: named by the request_id within its scope, so one caller's keys can
        neither block nor reveal another's. A request_id has no spaces, so "<scope> <request_id>"
        names one (scope, request_id) pair; the empty scope keeps the name used before scopes."""
        return work_event_id_of(f"{self.scope} {self.request_id}" if self.scope else self.request_id)

    @_computed_once
    def unscoped_event_id(self) -> UUID:
        """The id this request_id named before idempotency keys were scoped by caller: a retry of a
        write made then is found there (if it was this caller's: the event's recorded_by)."""
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
        zone: tzinfo,
        scope: str = "",
    ) -> WorkRequest:
        """Checks every field on its own; raises InvalidRequest listing all mistakes.

        `today` is the business date now (in the outlets' calendar), `now` the instant, `zone`
        the outlets' time zone, in which `occurred_at` must fall on `occurred_on`.
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
        elif occurred_at is not None and day is not None and (local := occurred_at.astimezone(zone)).date() != day:
            v.add(
                "occurred_at",
                "OCCURRED_AT_NOT_ON_OCCURRED_ON",
                f"occurred_at is {local.isoformat()} in the outlets' time zone, not on the business date {day.isoformat()}",
            )
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
            scope=scope,
        )
