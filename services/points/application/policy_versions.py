"""Published policy versions: publishing, reading and parsing them, and the rescoring a recalculation saves (mixed into PointsApplication)."""

from __future__ import annotations

from pathlib import Path
from typing import Any
from uuid import UUID

from eventsourcing.persistence import IntegrityError

from points.application.policy_file import parse_policy
from points.application.results import (
    PolicyPublished,
)
from points.domain.errors import (
    FailedPrecondition,
    NotFound,
    Violations,
)
from points.domain.identity import policy_book_id
from points.domain.policy import Policy
from points.domain.policy_book import PolicyBook, PolicyCatalog, Publication, document_digest
from points.domain.values import (
    check_text,
    parse_date,
)


MAX_POLICY_BYTES = 256 * 1024


class PolicyVersions:
    """The policy book's use cases. Mixed into PointsApplication: uses its _get, _save, now, today, _work_event, index and the parse caches its __init__ makes (_parsed, _catalog, _catalog_key)."""

    def policy_book(self) -> PolicyBook:
        book = self._get(policy_book_id())
        if book is None:
            raise NotFound("no policy has been published", reason="POLICY_NOT_FOUND")
        return book

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
            event.rescore(lines, recalculation_id=recalculation_id, reason=reason, rescored_by=rescored_by, timestamp=self.now())
        if events:
            self._save(*events)
        return len(events)

    def record_recalculation(self, **fields: Any) -> int:
        book = self.policy_book()
        book.record_recalculation(**fields, timestamp=self.now())
        return self._save(book)

    def _check_role(self, v: Violations, field_name: str, role: str) -> None:
        if not role:
            v.add(field_name, "MISSING_ROLE", "a role is required")
            return
        catalog = self.policies()
        if not catalog.knows_role(role):
            known = ", ".join(catalog.roles()) or "none: no policy is published"
            v.add(field_name, "UNKNOWN_ROLE", f"no published policy has rules for role {role!r} (known: {known})")

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
            book = self._get(policy_book_id()) or PolicyBook.open(timestamp=self.now())
            existing = book.replayed(policy.version, policy.effective_from, digest)
            if existing is not None:
                position = self.index.positions([(book.id, existing.book_version)])[(book.id, existing.book_version)]
                return PolicyPublished(position=position, replayed=True, policy=existing)
            book.publish(policy=policy, document=document, published_by=published_by, reason=reason, timestamp=self.now())
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
