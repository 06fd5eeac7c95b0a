"""Frozen publications of a ranking: inputs, rules, result and digest in the event log, where late events never reach them."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any
from uuid import UUID, uuid4

from eventsourcing.persistence import IntegrityError

from points.application import pages
from points.application.ranking_requests import (
    RankingRequest,
    RankingRow,
    RulesInForce,
    totals_of,
)
from points.domain.errors import FailedPrecondition, NotFound, NotYetVisible, Violations
from points.domain.ranking import (
    GroupOutcome,
    RankingRules,
)
from points.domain.ranking_snapshots import (
    CHUNK_ROWS,
    SNAPSHOT_FORMAT,
    PublishedRanking,
    RankingRegister,
    RegisterEntry,
    canonical,
    group_document,
    group_outcome,
    member_line,
    ranking_register_id,
    snapshot_row,
)
from points.domain.values import check_request_id, check_text

VIEW_WAIT = 60.0  # seconds a publication waits for the view to book everything written before it


SAVE_BYTES = 400_000  # member lines per transaction when freezing a snapshot: large pipelined inserts can stall


@dataclass(frozen=True)
class PublishedView:
    """A publication's header: what was frozen, when, by whom and why."""

    ranking_id: str
    sequence: int
    period: str
    role: str
    grouping: str
    rules: RulesInForce
    groups: tuple[GroupOutcome, ...]
    members: int
    digest: str
    input_position: int
    published_by: str
    reason: str
    supersedes: int
    published_at: datetime


@dataclass(frozen=True)
class RankingPublished:
    position: int
    replayed: bool
    ranking: PublishedView


@dataclass(frozen=True)
class PublishedPage:
    ranking: PublishedView
    rows: tuple[RankingRow, ...]
    next_page_token: str
    superseded_by: int


def _save_batches(events: Sequence[Any]) -> list[list[Any]]:
    """A snapshot's events in order, in batches of about SAVE_BYTES of member lines."""
    batches: list[list[Any]] = [[]]
    size = 0
    for event in events:
        length = len(getattr(event, "lines", "")) + len(getattr(event, "header", ""))
        if batches[-1] and size + length > SAVE_BYTES:
            batches.append([])
            size = 0
        batches[-1].append(event)
        size += length
    return batches


class RankingPublications:
    """PublishRanking, GetPublishedRanking and the snapshot document. Mixed into Rankings: uses its app, reads, projector, tokens, _request, _rules_in_force, _wait, _get and rank."""

    def publish(
        self, *, request_id: str, period: str, role: str, grouping: str, supersede: bool, reason: str, published_by: str
    ) -> RankingPublished:
        """Freezes the ranking of an ended period: inputs, rules, result and digest; a second one must supersede."""
        v = Violations()
        check_request_id(v, "request_id", request_id)
        request = self._request(v, period, role, grouping)
        for name, value in (("published_by", published_by), ("reason", reason)):
            if not value.strip():
                v.add(name, f"MISSING_{name.upper()}", f"{name} is required: publishing a ranking is audited (who and why)")
            else:
                check_text(v, name, value, limit=1000)
        v.raise_if_any()
        assert request is not None
        if request.last >= self.app.today():
            raise FailedPrecondition(
                f"period {request.period.text} ends on {request.last.isoformat()}: only an ended period's ranking is published",
                reason="PERIOD_NOT_ENDED",
            )
        fingerprint = hashlib.sha256(canonical([request.period.text, role, request.grouping, supersede, reason, published_by]).encode()).hexdigest()
        register_id = ranking_register_id(request.period.text, role, request.grouping)
        for _ in range(5):  # a concurrent publication: read the register again and decide again
            register = self._get(register_id) or RankingRegister.open(
                period=request.period.text, role=role, grouping=request.grouping, timestamp=self.app.clock()
            )
            existing = register.replayed(request_id, fingerprint)
            if existing is not None:
                return RankingPublished(self.app.position_of(register.id, existing.register_version), True, self._header(existing))
            sequence = register.next_sequence(supersede=supersede)
            ranking_id = uuid4()  # not derived from the sequence: an interrupted attempt's snapshot must not block a retry
            header, lines = self._snapshot(request, sequence=sequence, published_by=published_by, reason=reason, supersedes=register.current)
            now = self.app.clock()
            snapshot = PublishedRanking.freeze(ranking_id=ranking_id, header=header, lines=lines, timestamp=now)
            for batch in _save_batches(snapshot.collect_events()):
                self.app.save(*batch)
            register.record(
                sequence=sequence, ranking_id=ranking_id, request_id=request_id, fingerprint=fingerprint,
                published_by=published_by, reason=reason, timestamp=now,
            )  # fmt: skip
            try:
                recordings = self.app.save(register)  # the act of publishing: only now is the snapshot referenced
            except IntegrityError:
                continue  # another publication took this number: decide again (this snapshot stays unreferenced)
            position = max(r.notification.id for r in recordings)
            self.app.on_saved(position)
            return RankingPublished(position, False, self._header(register.entries[-1]))
        raise FailedPrecondition("the ranking is being published concurrently; retry", reason="CONCURRENT_CHANGE")

    def _snapshot(
        self, request: RankingRequest, *, sequence: int, published_by: str, reason: str, supersedes: RegisterEntry | None
    ) -> tuple[str, list[str]]:
        """The header line and member lines of the ranking as of everything written so far."""
        target = self.app.recorder.max_notification_id() or 0
        self.projector.wake()
        if not self.projector.wait_for(target, VIEW_WAIT):
            raise NotYetVisible(f"the balance view has not reached position {target}; retry the publication")
        rules = self._rules_in_force(request)
        position, directory = self.projector.position, self.reads.catch_up()
        postings = self.reads.postings(request.role, request.first, request.last)
        # One read of every member's dimensions gives both the balances stored and the totals ranked: they agree.
        dimensions = self.reads.role_dimensions(request.role, request.first, request.last, request.period.months)
        totals = {e: totals_of(d, rules.rules.tie_dimensions) for e, d in dimensions.items()}
        ranking = self.rank(request, rules.rules, postings=postings, totals=totals)
        header = {
            "format": SNAPSHOT_FORMAT,
            "period": request.period.text,
            "months": list(request.period.months),
            "first_day": request.first.isoformat(),
            "last_day": request.last.isoformat(),
            "role": request.role,
            "grouping": request.grouping,
            "rules": rules.rules.as_document(),
            "rules_policy_version": rules.policy_version,
            "rules_in_force_on": rules.in_force_on.isoformat(),
            "inputs": {"balance_position": position, "directory_position": directory},
            "groups": [group_document(g) for g in ranking.groups],
            "members": len(ranking.placings),
            "sequence": sequence,
            "published_by": published_by,
            "reason": reason,
            "supersedes": supersedes.sequence if supersedes else 0,
        }
        lines = [
            member_line(p, dimensions.get(p.candidate.employee_id, ()), postings[p.candidate.employee_id]) for p in ranking.placings
        ]
        return canonical(header), lines

    def get_published(
        self, *, period: str, role: str, grouping: str, sequence: int, page_size: int, page_token: str
    ) -> PublishedPage:
        """A publication (the one in force, or by number) exactly as frozen, a page of members at a time."""
        v = Violations()
        request = self._request(v, period, role, grouping)
        if sequence < 0:
            v.add("sequence", "NEGATIVE_SEQUENCE", "sequence is a publication's number, or 0 for the one in force")
        size = pages.page_size(v, page_size)
        v.raise_if_any()
        assert request is not None
        register = self._get(ranking_register_id(request.period.text, role, request.grouping))
        entry = register.entry(sequence) if register is not None else None
        if register is None or entry is None:
            which = f"number {sequence}" if sequence else "any"
            raise NotFound(f"no published ranking ({which}) for {request.period.text} {role} ({request.grouping})", reason="RANKING_NOT_PUBLISHED")
        query = {"published": str(entry.ranking_id)}
        state = self.tokens.resume(v, page_token, query, {"o": int})
        v.raise_if_any()
        offset = int(state.get("o", 0)) if state else 0
        header = self._header(entry)
        lines = self._frozen_lines(entry.ranking_id, offset, min(size, max(header.members - offset, 0)))
        token = self.tokens.issue(query, {"o": offset + size}) if offset + size < header.members else ""
        rows = tuple(RankingRow(row.placing, row.dimensions) for row in map(snapshot_row, lines))
        return PublishedPage(header, rows, token, register.superseded_by(entry.sequence))

    def snapshot_document(self, period: str, role: str, grouping: str, sequence: int = 0) -> tuple[str, str]:
        """(the JSON Lines document, the stored digest) of a publication, to check or replay it."""
        v = Violations()
        request = self._request(v, period, role, grouping)
        v.raise_if_any()
        assert request is not None
        register = self._get(ranking_register_id(request.period.text, role, request.grouping))
        entry = register.entry(sequence) if register is not None else None
        if entry is None:
            raise NotFound("no such published ranking", reason="RANKING_NOT_PUBLISHED")
        published = self._stored(entry.ranking_id, 0, 1)[0]
        chunks = [e.lines for e in self._stored(entry.ranking_id, 1, published.chunks + 1)]
        return published.header + "\n" + "".join(chunks), published.digest

    def _header(self, entry: RegisterEntry) -> PublishedView:
        published = self._stored(entry.ranking_id, 0, 1)[0]
        doc = json.loads(published.header)
        return PublishedView(
            ranking_id=str(entry.ranking_id),
            sequence=doc["sequence"],
            period=doc["period"],
            role=doc["role"],
            grouping=doc["grouping"],
            rules=RulesInForce(
                RankingRules.from_snapshot(doc["rules"]), doc["rules_policy_version"], date.fromisoformat(doc["rules_in_force_on"])
            ),
            groups=tuple(group_outcome(g) for g in doc["groups"]),
            members=doc["members"],
            digest=published.digest,
            input_position=doc["inputs"]["balance_position"],
            published_by=doc["published_by"],
            reason=doc["reason"],
            supersedes=doc["supersedes"],
            published_at=published.timestamp,
        )

    def _frozen_lines(self, ranking_id: UUID, offset: int, count: int) -> list[str]:
        """Member lines [offset, offset + count) of a snapshot, reading only the chunks that hold them."""
        if count <= 0:
            return []
        first, last = offset // CHUNK_ROWS, (offset + count - 1) // CHUNK_ROWS
        events = self._stored(ranking_id, PublishedRanking.chunk_version(first) - 1, PublishedRanking.chunk_version(last))
        lines = [line for event in events for line in event.lines.splitlines()]
        start = offset - first * CHUNK_ROWS
        return lines[start : start + count]

    def _stored(self, aggregate_id: UUID, after_version: int, upto_version: int) -> list[Any]:
        stored = self.app.recorder.select_events(aggregate_id, gt=after_version or None, lte=upto_version)
        return [self.app.mapper.to_domain_event(s) for s in stored]
