"""The book of published policy versions: immutable, effective-dated, each publication an event.

One small aggregate holds every publication (who, when, why, the document and its digest),
so loading the whole policy history is one indexed read. Effective dates only move
forward: a new version must take effect after the latest one, so the version in force on
any date is unambiguous. An event is scored by the version in force on its business date.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime

from eventsourcing.domain import Aggregate

from points.domain.errors import AlreadyExists, FailedPrecondition
from points.domain.identity import policy_book_id
from points.domain.policy import Policy


def document_digest(document: str) -> str:
    return hashlib.sha256(document.encode("utf-8")).hexdigest()


@dataclass(frozen=True)
class Publication:
    version: str
    effective_from: date
    document: str
    digest: str
    published_by: str
    reason: str
    published_at: datetime
    book_version: int  # the aggregate version of the Published event (its place in the book)


class PolicyBook(Aggregate):
    class Opened(Aggregate.Created):
        pass

    class Published(Aggregate.Event):
        version: str
        effective_from: date
        document: str
        digest: str
        published_by: str
        reason: str

        def apply(self, aggregate: PolicyBook) -> None:
            aggregate.publications.append(
                Publication(
                    version=self.version,
                    effective_from=self.effective_from,
                    document=self.document,
                    digest=self.digest,
                    published_by=self.published_by,
                    reason=self.reason,
                    published_at=self.timestamp,
                    book_version=self.originator_version,
                )
            )

    class Recalculated(Aggregate.Event):
        """An explicit recalculation under one version finished: who, why, how many events."""

        recalculation_id: str
        version: str
        events: int
        requested_by: str
        reason: str

        def apply(self, aggregate: PolicyBook) -> None:
            aggregate.recalculations[self.recalculation_id] = (self.version, self.events, self.originator_version)

    def __init__(self) -> None:
        self.publications: list[Publication] = []
        self.recalculations: dict[str, tuple[str, int, int]] = {}  # id -> (version, events, book version)

    def record_recalculation(
        self, *, recalculation_id: str, version: str, events: int, requested_by: str, reason: str, timestamp: datetime
    ) -> None:
        self.trigger_event(
            self.Recalculated,
            recalculation_id=recalculation_id,
            version=version,
            events=events,
            requested_by=requested_by,
            reason=reason,
            timestamp=timestamp,
        )

    def until(self, version: str) -> date:
        """The day the version after `version` takes effect (exclusive end of its reach)."""
        later = [p.effective_from for p in self.publications if p.version != version and p.effective_from > self._date_of(version)]
        return min(later, default=date.max)

    def _date_of(self, version: str) -> date:
        publication = self.find(version)
        return publication.effective_from if publication else date.max

    @classmethod
    def open(cls, *, timestamp: datetime) -> PolicyBook:
        return cls._create(cls.Opened, id=policy_book_id(), timestamp=timestamp)

    def find(self, version: str) -> Publication | None:
        return next((p for p in self.publications if p.version == version), None)

    def replayed(self, version: str, effective_from: date, digest: str) -> Publication | None:
        """The earlier identical publication, None if new; raises if the version exists with other content."""
        existing = self.find(version)
        if existing is None:
            return None
        if (existing.effective_from, existing.digest) != (effective_from, digest):
            raise AlreadyExists(
                f"policy version {version!r} is already published with other content or date; versions are immutable",
                reason="POLICY_VERSION_EXISTS",
            )
        return existing

    def publish(
        self, *, policy: Policy, document: str, published_by: str, reason: str, timestamp: datetime
    ) -> None:
        latest = self.publications[-1] if self.publications else None
        if latest is not None and policy.effective_from <= latest.effective_from:
            raise FailedPrecondition(
                f"policy {policy.version} takes effect on {policy.effective_from.isoformat()}, not after the latest "
                f"version {latest.version} ({latest.effective_from.isoformat()}); effective dates only move forward",
                reason="EFFECTIVE_DATE_NOT_AFTER_LATEST",
            )
        self.trigger_event(
            self.Published,
            version=policy.version,
            effective_from=policy.effective_from,
            document=document,
            digest=document_digest(document),
            published_by=published_by,
            reason=reason,
            timestamp=timestamp,
        )


class PolicyCatalog:
    """The parsed versions of a book, answering "which policy is in force on this date"."""

    def __init__(self, publications: list[Publication], parse: Callable[[Publication], Policy]) -> None:
        self.publications = publications
        self.policies = [parse(p) for p in publications]

    @classmethod
    def of(cls, *policies: Policy) -> PolicyCatalog:
        """A catalog of unpublished policies (for scoring what-ifs and tests)."""
        publications = [
            Publication(p.version, p.effective_from, "", "", "", "", datetime.min, i + 2) for i, p in enumerate(policies)
        ]
        by_version = {p.version: p for p in policies}
        return cls(publications, lambda publication: by_version[publication.version])

    @property
    def empty(self) -> bool:
        return not self.policies

    def in_force(self, day: date) -> Policy | None:
        found = None
        for policy in self.policies:  # in publication order, so in effective-date order
            if policy.effective_from <= day:
                found = policy
        return found

    def latest(self) -> Policy | None:
        return self.policies[-1] if self.policies else None

    def knows_role(self, role: str) -> bool:
        return any(p.knows_role(role) for p in self.policies)

    def roles(self) -> list[str]:
        return sorted({r for p in self.policies for r in p.roles})
