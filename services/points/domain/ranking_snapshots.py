"""Published rankings: frozen snapshots of a ranking (inputs, rules, result, digest) that never change.

A snapshot is a JSON Lines document: a header line (period, role, grouping, the rules in
force, the view positions the inputs were read at, each group's lines, who published it and
why), then one line per member (their assignments and points: the inputs; their rank,
percentile and flag: the result). Its digest is the SHA-256 of the document's UTF-8 bytes,
so anyone holding it can check it, and `replay` reproduces the result from the inputs.

One aggregate per publication holds the document (a Published event with the header, then
the member lines in chunks, saved a few chunks per transaction so no write is huge); a
small register per period, role and grouping numbers the publications and keeps their
request ids, so a second publication is an explicit supersede. A snapshot becomes a
publication only when the register records it (last): one left by an interrupted
publication is never referenced, so never returned.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from typing import Any
from uuid import UUID, uuid5

from eventsourcing.domain import Aggregate

from points.domain.errors import AlreadyExists, FailedPrecondition
from points.domain.identity import NAMESPACE
from points.domain.ranking import (
    Candidate,
    GroupKey,
    GroupOutcome,
    Membership,
    Placing,
    Posting,
    Ranking,
    RankingPlan,
    RankingRules,
    place,
)

SNAPSHOT_FORMAT = "points.ranking.v1"
CHUNK_ROWS = 500  # member lines per stored event (about 200 kB)

Dimensions = tuple[tuple[str, Decimal, Decimal], ...]  # (dimension, points, weighted points)


def ranking_register_id(period: str, role: str, grouping: str) -> UUID:
    return uuid5(NAMESPACE, f"ranking-register/{period}/{role}/{grouping}")


def canonical(value: Any) -> str:
    """The one JSON text of a value: sorted keys, no spaces, UTF-8 characters as they are."""
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def digest_of(header_line: str, chunks: Iterable[str]) -> str:
    """SHA-256 of the document: the header line and every member line, each ending in a newline."""
    sha = hashlib.sha256((header_line + "\n").encode("utf-8"))
    for chunk in chunks:
        sha.update(chunk.encode("utf-8"))
    return sha.hexdigest()


# -- encoding -------------------------------------------------------------------------------------


def _key(key: GroupKey) -> list[str]:
    return [key.role, key.outlet_class, key.region]


def _group(data: Sequence[str]) -> GroupKey:
    return GroupKey(data[0], data[1], data[2])


def _text(value: Decimal | None) -> str | None:
    return None if value is None else str(value)


def group_document(outcome: GroupOutcome) -> dict[str, Any]:
    return {
        "group": _key(outcome.key),
        "size": outcome.size,
        "ranked_within": _key(outcome.ranked_within),
        "ranked_within_size": outcome.ranked_within_size,
        "flags_applied": outcome.flags_applied,
        "top_quota": outcome.top_quota,
        "bottom_quota": outcome.bottom_quota,
        "top_line": _text(outcome.top_line),
        "bottom_line": _text(outcome.bottom_line),
        "note": outcome.note,
    }


def group_outcome(doc: dict[str, Any]) -> GroupOutcome:
    return GroupOutcome(
        key=_group(doc["group"]),
        size=doc["size"],
        ranked_within=_group(doc["ranked_within"]),
        ranked_within_size=doc["ranked_within_size"],
        flags_applied=doc["flags_applied"],
        top_quota=doc["top_quota"],
        bottom_quota=doc["bottom_quota"],
        top_line=None if doc["top_line"] is None else Decimal(doc["top_line"]),
        bottom_line=None if doc["bottom_line"] is None else Decimal(doc["bottom_line"]),
        note=doc["note"],
    )


def member_line(placing: Placing, dimensions: Dimensions, postings: Sequence[Posting]) -> str:
    c = placing.candidate
    return canonical(
        {
            "employee_id": c.employee_id,
            "postings": [
                [p.role, p.outlet_id, p.outlet_class, p.region, p.effective_from.isoformat(), p.effective_until.isoformat() if p.effective_until else None]
                for p in sorted(postings, key=lambda p: p.effective_from)
            ],
            "membership": {
                "group": _key(c.membership.group),
                "days": [[*_key(key), n] for key, n in c.membership.days],
                "reason": c.membership.reason,
            },
            "total": str(c.total),
            "dimensions": [[d, str(p), str(w)] for d, p, w in dimensions],
            "tie_points": [[d, str(p)] for d, p in sorted(c.tie_points.items())],
            "negative_events": placing.negative_events,
            "ranked_within": _key(placing.ranked_within),
            "group_size": placing.group_size,
            "rank": placing.rank,
            "percentile": str(placing.percentile),
            "flag": placing.flag,
            "unresolved_tie": placing.unresolved_tie,
        }
    )


@dataclass(frozen=True)
class SnapshotRow:
    """One member line, decoded: the result, the balance, and the assignments it was computed from."""

    placing: Placing
    dimensions: Dimensions
    postings: tuple[Posting, ...]


def snapshot_row(line: str) -> SnapshotRow:
    doc = json.loads(line)
    membership = Membership(
        _group(doc["membership"]["group"]),
        tuple((_group(d[:3]), int(d[3])) for d in doc["membership"]["days"]),
        doc["membership"]["reason"],
    )
    candidate = Candidate(doc["employee_id"], membership, Decimal(doc["total"]), {d: Decimal(p) for d, p in doc["tie_points"]})
    placing = Placing(
        candidate=candidate,
        ranked_within=_group(doc["ranked_within"]),
        group_size=doc["group_size"],
        rank=doc["rank"],
        percentile=Decimal(doc["percentile"]),
        flag=doc["flag"],
        unresolved_tie=doc["unresolved_tie"],
        negative_events=doc["negative_events"],
    )
    postings = tuple(
        Posting(role, outlet, outlet_class, region, date.fromisoformat(start), date.fromisoformat(until) if until else None)
        for role, outlet, outlet_class, region, start, until in doc["postings"]
    )
    return SnapshotRow(placing, tuple((d, Decimal(p), Decimal(w)) for d, p, w in doc["dimensions"]), postings)


def chunk_lines(lines: Sequence[str], size: int = CHUNK_ROWS) -> list[str]:
    """The member lines in chunks of `size`, each line ending in a newline."""
    return ["".join(line + "\n" for line in lines[start : start + size]) for start in range(0, len(lines), size)]


def replay(header: dict[str, Any], rows: Sequence[SnapshotRow]) -> Ranking:
    """The ranking recomputed from a snapshot's inputs alone: assignments, points and the rules it declares.

    Equal to the stored result when the snapshot is what it says it is.
    """
    rules = RankingRules.from_snapshot(header["rules"])
    first, last = date.fromisoformat(header["first_day"]), date.fromisoformat(header["last_day"])
    candidates = []
    for row in rows:
        membership = place(row.postings, first, last, grouping=header["grouping"], day_rule=rules.business_days)
        assert membership is not None, row.placing.candidate.employee_id
        c = row.placing.candidate
        candidates.append(Candidate(c.employee_id, membership, c.total, c.tie_points))
    counts = {r.placing.candidate.employee_id: r.placing.negative_events for r in rows if r.placing.negative_events is not None}
    return RankingPlan(candidates, rules, header["grouping"]).rank(counts)  # type: ignore[arg-type]


# -- the aggregates -------------------------------------------------------------------------------


@dataclass(frozen=True)
class RegisterEntry:
    sequence: int
    ranking_id: UUID
    published_by: str
    reason: str
    supersedes: int
    published_at: datetime
    register_version: int


class RankingRegister(Aggregate):
    """The publications of one period, role and grouping, in order; the last one is in force."""

    class Opened(Aggregate.Created):
        period: str
        role: str
        grouping: str

    class Published(Aggregate.Event):
        sequence: int
        ranking_id: UUID
        request_id: str
        fingerprint: str
        published_by: str
        reason: str
        supersedes: int

        def apply(self, aggregate: RankingRegister) -> None:
            aggregate.entries.append(
                RegisterEntry(
                    self.sequence, self.ranking_id, self.published_by, self.reason, self.supersedes, self.timestamp, self.originator_version
                )
            )
            aggregate.requests[self.request_id] = (self.fingerprint, self.sequence)

    def __init__(self, period: str, role: str, grouping: str) -> None:
        self.period = period
        self.role = role
        self.grouping = grouping
        self.entries: list[RegisterEntry] = []
        self.requests: dict[str, tuple[str, int]] = {}

    @classmethod
    def open(cls, *, period: str, role: str, grouping: str, timestamp: datetime) -> RankingRegister:
        return cls._create(
            cls.Opened, id=ranking_register_id(period, role, grouping), period=period, role=role, grouping=grouping, timestamp=timestamp
        )

    @property
    def current(self) -> RegisterEntry | None:
        return self.entries[-1] if self.entries else None

    def entry(self, sequence: int) -> RegisterEntry | None:
        """A publication by number; 0 means the one in force."""
        if sequence == 0:
            return self.current
        return next((e for e in self.entries if e.sequence == sequence), None)

    def superseded_by(self, sequence: int) -> int:
        return next((e.sequence for e in self.entries if e.supersedes == sequence), 0)

    def replayed(self, request_id: str, fingerprint: str) -> RegisterEntry | None:
        """The earlier publication of this request, None if new; raises if the request id asked for something else."""
        seen = self.requests.get(request_id)
        if seen is None:
            return None
        if seen[0] != fingerprint:
            raise AlreadyExists(f"request_id {request_id!r} was used for a different publication", reason="REQUEST_ID_REUSED")
        return self.entry(seen[1])

    def next_sequence(self, *, supersede: bool) -> int:
        """The number of a new publication; a second one must say it supersedes the first."""
        current = self.current
        if current is not None and not supersede:
            raise FailedPrecondition(
                f"ranking {self.period} {self.role} ({self.grouping}) is already published (number {current.sequence}); "
                "publishing again supersedes it: set supersede and give the reason",
                reason="RANKING_ALREADY_PUBLISHED",
            )
        if current is None and supersede:
            raise FailedPrecondition(
                f"no ranking {self.period} {self.role} ({self.grouping}) is published: there is nothing to supersede",
                reason="NOTHING_TO_SUPERSEDE",
            )
        return 1 if current is None else current.sequence + 1

    def record(
        self, *, sequence: int, ranking_id: UUID, request_id: str, fingerprint: str, published_by: str, reason: str, timestamp: datetime
    ) -> None:
        self.trigger_event(
            self.Published,
            sequence=sequence,
            ranking_id=ranking_id,
            request_id=request_id,
            fingerprint=fingerprint,
            published_by=published_by,
            reason=reason,
            supersedes=self.current.sequence if self.current else 0,
            timestamp=timestamp,
        )


class PublishedRanking(Aggregate):
    """One frozen snapshot: the header, then the member lines in chunks; nothing is ever added after."""

    class Published(Aggregate.Created):
        header: str  # the header line (canonical JSON)
        digest: str
        members: int
        chunks: int

    class RowsFrozen(Aggregate.Event):
        chunk: int
        lines: str  # CHUNK_ROWS member lines, each ending in a newline

        def apply(self, aggregate: PublishedRanking) -> None:
            aggregate.chunk_texts.append(self.lines)

    def __init__(self, header: str, digest: str, members: int, chunks: int) -> None:
        self.header = header
        self.digest = digest
        self.members = members
        self.chunks = chunks
        self.chunk_texts: list[str] = []

    @classmethod
    def freeze(cls, *, ranking_id: UUID, header: str, lines: Sequence[str], timestamp: datetime) -> PublishedRanking:
        """The snapshot of `header` and the member `lines`, with its digest."""
        chunks = chunk_lines(lines)
        snapshot = cls._create(
            cls.Published,
            id=ranking_id,
            header=header,
            digest=digest_of(header, chunks),
            members=len(lines),
            chunks=len(chunks),
            timestamp=timestamp,
        )
        for index, text in enumerate(chunks):
            snapshot.trigger_event(cls.RowsFrozen, chunk=index, lines=text, timestamp=timestamp)
        return snapshot

    @staticmethod
    def chunk_version(chunk: int) -> int:
        """The aggregate version of the event holding chunk `chunk` (the header is version 1)."""
        return chunk + 2
