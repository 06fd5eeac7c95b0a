"""Published ranking snapshots: the member lines round-trip, the digest covers the document, a replay reproduces
the result from the inputs alone, and the register makes a second publication an explicit supersede."""

from __future__ import annotations

import hashlib
import json
from datetime import date, datetime, timezone
from decimal import Decimal
from uuid import uuid4

import pytest

from points.domain.errors import AlreadyExists, FailedPrecondition
from points.domain.ranking import Candidate, GroupKey, Posting, RankingPlan, RankingRules, place
from points.domain.ranking_snapshots import (
    CHUNK_ROWS,
    PublishedRanking,
    RankingRegister,
    canonical,
    chunk_lines,
    digest_of,
    group_document,
    group_outcome,
    member_line,
    ranking_register_id,
    replay,
    snapshot_row,
)

NOW = datetime(2026, 11, 28, 9, 30, tzinfo=timezone.utc)
FIRST, LAST = date(2026, 10, 1), date(2026, 10, 31)
ROLE = "service_manager"


def postings_of(i: int) -> tuple[Posting, ...]:
    if i == 0:  # moved mid-month from A/north to B/south: 12 weekdays against 10
        return (
            Posting(ROLE, "n1", "A", "north", date(2026, 1, 1), date(2026, 10, 19)),
            Posting(ROLE, "s1", "B", "south", date(2026, 10, 19)),
        )
    return (Posting(ROLE, "n1", "A", "north", date(2026, 1, 1)),)


def worked() -> tuple[dict, list[str]]:  # type: ignore[type-arg]
    rules = RankingRules(min_group_size=5)
    postings = {f"e{i:02d}": postings_of(i) for i in range(8)}
    totals = ["50", "40", "40", "30", "20", "20", "10", "0"]
    candidates = []
    for i, (employee, held) in enumerate(postings.items()):
        membership = place(held, FIRST, LAST, grouping="class", day_rule=rules.business_days)
        assert membership is not None
        candidates.append(Candidate(employee, membership, Decimal(totals[i]), {"compliance": Decimal(i % 3)}))
    plan = RankingPlan(candidates, rules, "class")
    ranking = plan.rank({e: 1 for e in plan.needs_negative_events()})
    header = {"first_day": FIRST.isoformat(), "last_day": LAST.isoformat(), "grouping": "class", "rules": rules.as_document(),
              "groups": [group_document(g) for g in ranking.groups]}  # fmt: skip
    dims = (("workload", Decimal("12.5000"), Decimal("5.0000")),)
    lines = [member_line(p, dims, postings[p.candidate.employee_id]) for p in ranking.placings]
    return header, lines


def test_a_member_line_decodes_to_the_same_placing_balance_and_assignments() -> None:
    header, lines = worked()
    row = snapshot_row(lines[0])
    assert member_line(row.placing, row.dimensions, row.postings) == lines[0]
    assert row.dimensions == (("workload", Decimal("12.5000"), Decimal("5.0000")),)
    assert json.loads(lines[0]) == json.loads(canonical(json.loads(lines[0])))  # canonical: sorted keys, no spaces


def test_group_outcomes_round_trip() -> None:
    header, _ = worked()
    assert [group_document(group_outcome(g)) for g in header["groups"]] == header["groups"]


def test_a_replay_of_the_inputs_reproduces_the_stored_result() -> None:
    header, lines = worked()
    rows = [snapshot_row(line) for line in lines]
    assert [p for p in replay(header, rows).placings] == [r.placing for r in rows]


def test_the_moved_member_is_in_the_group_of_most_days_in_the_snapshot() -> None:
    _, lines = worked()
    moved = next(snapshot_row(line) for line in lines if json.loads(line)["employee_id"] == "e00")
    assert moved.placing.candidate.membership.group == GroupKey(ROLE, "A")
    assert moved.placing.candidate.membership.days == ((GroupKey(ROLE, "A"), 12), (GroupKey(ROLE, "B"), 10))


def test_the_digest_is_the_sha256_of_the_document_as_stored() -> None:
    header, lines = worked()
    header_line = canonical(header)
    chunks = chunk_lines(lines, size=3)
    assert [c.count("\n") for c in chunks] == [3, 3, 2]
    document = header_line + "\n" + "".join(line + "\n" for line in lines)
    assert digest_of(header_line, chunks) == hashlib.sha256(document.encode()).hexdigest()


def test_a_frozen_snapshot_holds_the_header_then_the_chunks_in_order() -> None:
    header, lines = worked()
    many = lines * (CHUNK_ROWS // len(lines) + 1)  # more than one chunk
    snapshot = PublishedRanking.freeze(ranking_id=uuid4(), header=canonical(header), lines=many, timestamp=NOW)
    assert (snapshot.members, snapshot.chunks, snapshot.version) == (len(many), 2, 3)
    assert "".join(snapshot.chunk_texts).splitlines() == many
    assert PublishedRanking.chunk_version(1) == 3


def test_the_register_numbers_publications_and_requires_an_explicit_supersede() -> None:
    register = RankingRegister.open(period="2026-10", role=ROLE, grouping="class", timestamp=NOW)
    assert register.id == ranking_register_id("2026-10", ROLE, "class")
    with pytest.raises(FailedPrecondition) as nothing:
        register.next_sequence(supersede=True)
    assert nothing.value.reason == "NOTHING_TO_SUPERSEDE"
    first = register.next_sequence(supersede=False)
    register.record(sequence=first, ranking_id=uuid4(), request_id="r1",
                    fingerprint="f1", published_by="hr", reason="year end", timestamp=NOW)  # fmt: skip
    with pytest.raises(FailedPrecondition) as again:
        register.next_sequence(supersede=False)
    assert again.value.reason == "RANKING_ALREADY_PUBLISHED"
    second = register.next_sequence(supersede=True)
    register.record(sequence=second, ranking_id=uuid4(), request_id="r2",
                    fingerprint="f2", published_by="hr", reason="a correction was late", timestamp=NOW)  # fmt: skip
    assert (register.current.sequence, register.current.supersedes) == (2, 1)  # type: ignore[union-attr]
    assert (register.superseded_by(1), register.superseded_by(2)) == (2, 0)
    assert register.entry(0) == register.entry(2) and register.entry(3) is None
    assert register.replayed("r1", "f1") == register.entry(1)
    with pytest.raises(AlreadyExists):
        register.replayed("r1", "other")
