"""Business-rule errors. The API maps each class to one gRPC status code (api/errors.py)."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class FieldViolation:
    """One thing wrong with one request field."""

    field: str
    reason: str  # UPPER_SNAKE, stable: clients may branch on it
    description: str


class PointsError(Exception):
    """Base of every error a caller can cause. `reason` is UPPER_SNAKE and stable."""

    reason: str = "POINTS_ERROR"

    def __init__(self, message: str, *, reason: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        if reason is not None:
            self.reason = reason


class InvalidRequest(PointsError):
    """The request itself is wrong, whatever the state: bad fields."""

    def __init__(self, violations: list[FieldViolation]) -> None:
        if not violations:
            raise ValueError("InvalidRequest needs at least one violation")
        self.violations = list(violations)
        first = violations[0]
        summary = "; ".join(f"{v.field}: {v.description}" for v in violations)
        super().__init__(f"invalid request: {summary}", reason=first.reason)


class NotFound(PointsError):
    """The thing asked for does not exist."""


class AlreadyExists(PointsError):
    """The id or idempotency key is taken by different content."""


class FailedPrecondition(PointsError):
    """The request is well formed but the current state refuses it."""


class Forbidden(PointsError):
    """A business rule forbids this person doing this (e.g. approving their own proposal: four eyes)."""


class Violations:
    """Collects field violations so a request reports all its mistakes at once."""

    def __init__(self) -> None:
        self.items: list[FieldViolation] = []

    def add(self, field: str, reason: str, description: str) -> None:
        self.items.append(FieldViolation(field, reason, description))

    def __bool__(self) -> bool:
        return bool(self.items)

    def raise_if_any(self) -> None:
        if self.items:
            raise InvalidRequest(self.items)


class NotYetVisible(PointsError):
    """A read asked for a log position the projection has not reached within the deadline."""

    reason = "POSITION_NOT_YET_VISIBLE"


def replayed_version(seen: dict[str, tuple[str, int]], request_id: str, fingerprint: str, what: str) -> int | None:
    """The aggregate version an identical earlier request wrote, None if new; raises on a reused key.

    `seen` maps request_id -> (fingerprint, version) for requests an aggregate has handled.
    """
    earlier = seen.get(request_id)
    if earlier is None:
        return None
    if earlier[0] != fingerprint:
        raise AlreadyExists(f"request_id {request_id!r} was already used for a different {what}", reason="REQUEST_ID_REUSED")
    return earlier[1]
