"""Peer-group rankings: live rankings, frozen publications, and what-ifs under a candidate policy.

The rules are the [ranking] table of the policy in force on the period's last day (its
defaults when the table is absent). Inputs: every employee with an assignment in the role
during the period (from the directory tables; those without points are ranked with 0) and
their comprehensive points booked in the period's pay months (the ledger view). A live
ranking is computed once per view position and kept for its later pages; a publication
freezes inputs, rules and result in the event log, where late events never reach it.
"""

from __future__ import annotations

import hashlib
import json
import threading
from collections import OrderedDict
from collections.abc import Callable, Hashable, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Any, TypeVar
from uuid import UUID, uuid4

from eventsourcing.application import AggregateNotFoundError
from eventsourcing.persistence import IntegrityError

from points.application import pages
from points.application.points import PointsApplication
from points.application.policy_versions import MAX_POLICY_BYTES
from points.application.policy_file import parse_policy
from points.domain.errors import FailedPrecondition, NotFound, NotYetVisible, Violations
from points.domain.policy import Policy, PointsLine, apply_caps
from points.domain.ranking import (
    GROUPINGS,
    ZERO,
    Candidate,
    GroupKey,
    GroupOutcome,
    Membership,
    Placing,
    Posting,
    Ranking,
    RankingPlan,
    RankingRules,
    TieBreakValuesMissing,
    place,
)
from points.domain.ranking_snapshots import (
    CHUNK_ROWS,
    SNAPSHOT_FORMAT,
    Dimensions,
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
from points.domain.values import NAME, Period, check_request_id, check_text
from points.domain.work import WorkEvent
from points.projections.projector import BalanceProjector
from points.projections.rankings import RankingReads, Totals

DEFAULT_WAIT = 10.0  # seconds a read waits for min_position when the caller sets no deadline
VIEW_WAIT = 60.0  # seconds a publication waits for the view to book everything written before it
CACHED_RESULTS = 2  # live rankings and simulations kept for their later pages (about 200 MB each for 400,000 members)
SIMULATION_EVENTS_LIMIT = 200_000
SAVE_BYTES = 400_000  # member lines per transaction when freezing a snapshot: large pipelined inserts can stall
T = TypeVar("T")


@dataclass(frozen=True)
class RulesInForce:
    """The ranking rules, and the policy version (in force on `in_force_on`, the period's last day) that declares them."""

    rules: RankingRules
    policy_version: str
    in_force_on: date


@dataclass(frozen=True)
class RankingRow:
    placing: Placing
    dimensions: Dimensions


@dataclass(frozen=True)
class RankingPage:
    period: str
    role: str
    grouping: str
    rules: RulesInForce
    groups: tuple[GroupOutcome, ...]
    rows: tuple[RankingRow, ...]
    total_size: int  # rows of the whole listing (all pages)
    next_page_token: str
    position: int


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


@dataclass(frozen=True)
class Move:
    """An employee whose flag differs between the current and the candidate policy."""

    employee_id: str
    group: GroupKey
    before: Placing
    after: Placing
    crossings: tuple[str, ...]  # ENTERS_TOP, LEAVES_TOP, ENTERS_BOTTOM, LEAVES_BOTTOM


@dataclass(frozen=True)
class SimulationPage:
    period: str
    role: str
    grouping: str
    current: RulesInForce
    candidate: RulesInForce
    events: int
    members: int
    moves: tuple[Move, ...]
    total_moves: int
    notes: tuple[str, ...]
    next_page_token: str
    position: int


SIMULATION_NOTES = (
    "points are recomputed from the work events with lines booked in the period's pay months, each counted once with its current facts",
    "current: each event's stored lines (as scored by the versions in force on its date, or recalculated); candidate: the candidate policy's rules for every event",
    "caps are applied again in log order to the period's events only, on both sides",
    "the candidate's own [ranking] table (or the defaults) ranks the candidate side; membership counts days by the current rules on both sides",
)


@dataclass(frozen=True)
class _Request:
    period: Period
    role: str
    grouping: str
    first: date
    last: date


class _Results:
    """A few computed results, by the query and the view positions they reflect."""

    def __init__(self, size: int = CACHED_RESULTS) -> None:
        self._items: OrderedDict[Hashable, Any] = OrderedDict()
        self._lock = threading.Lock()
        self.size = size

    def get(self, key: Hashable) -> Any:
        with self._lock:
            if key in self._items:
                self._items.move_to_end(key)
                return self._items[key]
        return None

    def drop(self, key: Hashable) -> None:
        with self._lock:
            self._items.pop(key, None)

    def put(self, key: Hashable, value: T) -> T:
        with self._lock:
            self._items[key] = value
            while len(self._items) > self.size:
                self._items.popitem(last=False)
        return value


class Rankings:
    """The ranking use cases; plain data out."""

    def __init__(self, *, app: PointsApplication, reads: RankingReads, projector: BalanceProjector) -> None:
        self.app = app
        self.reads = reads
        self.projector = projector
        self._results = _Results()

    # -- live rankings -------------------------------------------------------------------------

    def get_ranking(
        self, *, period: str, role: str, grouping: str, group: str, page_size: int, page_token: str, min_position: int, timeout: float | None
    ) -> RankingPage:
        """A role's ranking for a month, quarter or year, by peer group; every page as of the first page's positions."""
        v = Violations()
        request = self._request(v, period, role, grouping)
        if min_position < 0:
            v.add("min_position", "NEGATIVE_POSITION", "min_position must be 0 or a position returned by a write")
        check_text(v, "group", group, limit=80)
        size = pages.page_size(v, page_size)
        query = {"ranking": period, "role": role, "grouping": request.grouping if request else grouping, "group": group}
        state = pages.resume(v, page_token, query)
        v.raise_if_any()
        assert request is not None
        rules = self._rules_in_force(request)
        offset = int(state.get("o", 0)) if state else 0
        for attempt in range(3):
            if state is None:
                positions = (self._wait(min_position, timeout), self.reads.catch_up())
            else:
                positions = _positions_of(state)
            ranking = self._live(request, rules, positions, resumed=state is not None)
            rows = [p for p in ranking.placings if not group or p.candidate.membership.group.text == group]
            chunk = rows[offset : offset + size]
            dimensions = self.reads.dimensions((p.candidate.employee_id for p in chunk), request.period.months)
            if all(_weighted(dimensions.get(p.candidate.employee_id, ())) == p.candidate.total for p in chunk):
                break
            # The view moved on between reading the totals and the dimensions: the page would not add up.
            if state is not None:
                raise _changed()
            self._results.drop(("ranking", request.period.text, request.role, request.grouping, rules.policy_version, positions))
        else:
            raise NotYetVisible("the balance view kept moving while the ranking was read; retry")
        token = ""
        if offset + size < len(rows):
            token = pages.issue(query, {"p": positions[0], "d": positions[1], "o": offset + size})
        return RankingPage(
            period=request.period.text,
            role=role,
            grouping=request.grouping,
            rules=rules,
            groups=ranking.groups,
            rows=tuple(RankingRow(p, dimensions.get(p.candidate.employee_id, ())) for p in chunk),
            total_size=len(rows),
            next_page_token=token,
            position=positions[0],
        )

    def _live(self, request: _Request, rules: RulesInForce, positions: tuple[int, int], *, resumed: bool) -> Ranking:
        key = ("ranking", request.period.text, request.role, request.grouping, rules.policy_version, positions)
        cached = self._results.get(key)
        if cached is not None:
            return cached  # type: ignore[no-any-return]
        if resumed and positions != (self.projector.position, self.reads.catch_up()):
            raise _changed()
        return self._results.put(key, self.rank(request, rules.rules))

    def rank(
        self,
        request: _Request,
        rules: RankingRules,
        *,
        postings: dict[str, list[Posting]] | None = None,
        totals: dict[str, Totals] | None = None,
    ) -> Ranking:
        """Ranks the role's employees by the points booked in the period's pay months (read here unless given)."""
        if postings is None:
            postings = self.reads.postings(request.role, request.first, request.last)
        if totals is None:
            totals = self.reads.totals(request.role, request.first, request.last, request.period.months, rules.tie_dimensions)
        none: Totals = (ZERO, {})
        candidates = [
            Candidate(employee, membership, *totals.get(employee, none))
            for employee, membership in _memberships(request, postings, rules.business_days).items()
        ]
        return self._ranked(RankingPlan(candidates, rules, request.grouping), lambda ids: self.reads.negative_events(ids, request.period.months))

    @staticmethod
    def _ranked(plan: RankingPlan, negative_events: Callable[[set[str]], dict[str, int]]) -> Ranking:
        needed = plan.needs_negative_events()
        try:
            return plan.rank(negative_events(needed) if needed else {})
        except TieBreakValuesMissing:  # a line moved when the top flags were settled: look up every member of the role
            everyone = {c.employee_id for members in plan.members.values() for c in members}
            return plan.rank(negative_events(everyone))

    # -- publications ---------------------------------------------------------------------------

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
        self, request: _Request, *, sequence: int, published_by: str, reason: str, supersedes: RegisterEntry | None
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
        totals = {e: _totals_of(d, rules.rules.tie_dimensions) for e, d in dimensions.items()}
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
        state = pages.resume(v, page_token, query)
        v.raise_if_any()
        offset = int(state.get("o", 0)) if state else 0
        header = self._header(entry)
        lines = self._frozen_lines(entry.ranking_id, offset, min(size, max(header.members - offset, 0)))
        token = pages.issue(query, {"o": offset + size}) if offset + size < header.members else ""
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

    # -- what-if ----------------------------------------------------------------------------------

    def simulate(
        self, *, period: str, role: str, grouping: str, candidate_policy: str, source: str, page_size: int, page_token: str,
        min_position: int, timeout: float | None,
    ) -> SimulationPage:  # fmt: skip
        """Who would cross the top or bottom line if a candidate policy had scored the period's events (nothing is published)."""
        v = Violations()
        request = self._request(v, period, role, grouping)
        if not candidate_policy.strip():
            v.add("candidate_policy", "MISSING_DOCUMENT", "the candidate policy document (TOML text) is required")
        elif len(candidate_policy.encode("utf-8")) > MAX_POLICY_BYTES:
            v.add("candidate_policy", "POLICY_TOO_LARGE", f"at most {MAX_POLICY_BYTES} bytes")
        size = pages.page_size(v, page_size)
        document_digest = hashlib.sha256(candidate_policy.encode("utf-8")).hexdigest()
        query = {"simulate": period, "role": role, "grouping": request.grouping if request else grouping, "policy": document_digest}
        state = pages.resume(v, page_token, query)
        v.raise_if_any()
        assert request is not None
        candidate = parse_policy(candidate_policy, source or "candidate policy")
        current = self._rules_in_force(request)
        proposed = RulesInForce(candidate.ranking, candidate.version, request.last)
        if state is None:
            positions, offset = (self._wait(min_position, timeout), self.reads.catch_up()), 0
        else:
            positions, offset = _positions_of(state), int(state.get("o", 0))
        key = ("simulation", request.period.text, role, request.grouping, current.policy_version, document_digest, positions)
        result = self._results.get(key)
        if result is None:
            if state is not None and positions != (self.projector.position, self.reads.catch_up()):
                raise _changed()
            result = self._results.put(key, self._simulated(request, current.rules, candidate))
        events, members, moves = result
        token = pages.issue(query, {"p": positions[0], "d": positions[1], "o": offset + size}) if offset + size < len(moves) else ""
        return SimulationPage(
            period=request.period.text, role=role, grouping=request.grouping, current=current, candidate=proposed,
            events=events, members=members, moves=tuple(moves[offset : offset + size]), total_moves=len(moves),
            notes=SIMULATION_NOTES, next_page_token=token, position=positions[0],
        )  # fmt: skip

    def _simulated(self, request: _Request, rules: RankingRules, candidate: Policy) -> tuple[int, int, list[Move]]:
        event_ids = self.reads.booked_events(request.role, request.first, request.last, request.period.months)
        if len(event_ids) > SIMULATION_EVENTS_LIMIT:
            raise FailedPrecondition(
                f"the period has {len(event_ids)} work events; a simulation rescores at most {SIMULATION_EVENTS_LIMIT}: "
                "simulate a shorter period",
                reason="SIMULATION_TOO_LARGE",
            )
        events = [e for e in (self.app.work_event(UUID(i)) for i in event_ids) if e is not None and not e.reversed]
        before = _rescored(events, lambda e: tuple(e.lines))
        after = _rescored(events, lambda e: _score(candidate, e))
        postings = self.reads.postings(request.role, request.first, request.last)
        current = self._rank_sums(request, rules, postings, before, day_rule=rules.business_days)
        proposed = self._rank_sums(request, candidate.ranking, postings, after, day_rule=rules.business_days)
        placed = {p.candidate.employee_id: p for p in proposed.placings}
        moves = [
            Move(p.candidate.employee_id, p.candidate.membership.group, p, placed[p.candidate.employee_id], crossings)
            for p in current.placings
            if (crossings := _crossings(p.flag, placed[p.candidate.employee_id].flag))
        ]
        return len(events), len(current.placings), moves

    def _rank_sums(
        self, request: _Request, rules: RankingRules, postings: dict[str, list[Posting]], sums: _Sums, *, day_rule: str
    ) -> Ranking:
        candidates = []
        for employee, membership in _memberships(request, postings, day_rule).items():
            ties = {d: sums.points.get((employee, d), ZERO) for d in rules.tie_dimensions}
            candidates.append(Candidate(employee, membership, sums.totals.get(employee, ZERO), ties))
        plan = RankingPlan(candidates, rules, request.grouping)
        return self._ranked(plan, lambda ids: {e: sums.negative.get(e, 0) for e in ids})

    # -- shared ---------------------------------------------------------------------------------

    def _request(self, v: Violations, period: str, role: str, grouping: str) -> _Request | None:
        parsed = Period.parse(v, "period", period)
        if not role:
            v.add("role", "MISSING_ROLE", "the role to rank is required")
        elif not NAME.fullmatch(role) or not self.app.policies().knows_role(role):
            known = ", ".join(self.app.policies().roles()) or "none"
            v.add("role", "UNKNOWN_ROLE", f"no published policy has role {role[:64]!r} (known: {known})")
        grouping = grouping or "class"
        if grouping not in GROUPINGS:
            v.add("peer_group", "UNKNOWN_PEER_GROUP", f"peer groups are by {' or '.join(GROUPINGS)}")
        if parsed is None or v:
            return None
        first = date.fromisoformat(parsed.months[0] + "-01")
        last_month = date.fromisoformat(parsed.months[-1] + "-01")
        last = (last_month.replace(day=28) + timedelta(days=4)).replace(day=1) - timedelta(days=1)
        return _Request(parsed, role, grouping, first, last)

    def _rules_in_force(self, request: _Request) -> RulesInForce:
        policy = self.app.policies().in_force(request.last)
        if policy is None:
            raise FailedPrecondition(
                f"no points policy is in force on {request.last.isoformat()}, the last day of {request.period.text}: "
                "its [ranking] rules decide the ranking",
                reason="NO_POLICY_IN_FORCE",
            )
        return RulesInForce(policy.ranking, policy.version, request.last)

    def _wait(self, min_position: int, timeout: float | None) -> int:
        if min_position and not self.projector.wait_for(min_position, DEFAULT_WAIT if timeout is None else timeout):
            raise NotYetVisible(f"the balances have reached position {self.projector.position}, not yet {min_position}; retry")
        return self.projector.position

    def _get(self, aggregate_id: UUID) -> Any:
        try:
            return self.app.repository.get(aggregate_id)
        except AggregateNotFoundError:
            return None


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


def _memberships(request: _Request, postings: dict[str, list[Posting]], day_rule: str) -> dict[str, Membership]:
    """The membership rule for every employee who held the role, for those it places in the role.

    Employees with the same assignments (most of them: one outlet all year) share one decision.
    """
    decided: dict[tuple[Posting, ...], Membership | None] = {}
    members: dict[str, Membership] = {}
    for employee, held in postings.items():
        key = tuple(held)
        if key not in decided:
            decided[key] = place(key, request.first, request.last, grouping=request.grouping, day_rule=day_rule)
        membership = decided[key]
        if membership is not None and membership.group.role == request.role:
            members[employee] = membership
    return members


@dataclass
class _Sums:
    totals: dict[str, Decimal]
    points: dict[tuple[str, str], Decimal]  # (employee, dimension) -> points
    negative: dict[str, int]  # employee -> events with negative points


def _rescored(events: Sequence[WorkEvent], lines_of: Callable[[WorkEvent], tuple[PointsLine, ...]]) -> _Sums:
    """Per employee, the weighted total, the points per dimension and the negative events, caps applied in log order."""
    usage: dict[tuple[str, str, str], Decimal] = {}
    sums = _Sums({}, {}, {})
    for event in events:
        employee, net = event.employee_id, Decimal(0)
        for line in lines_of(event):
            booked = apply_caps(employee, event.occurred_on, line, usage)
            sums.totals[employee] = sums.totals.get(employee, ZERO) + booked.weighted_points
            key = (employee, line.dimension)
            sums.points[key] = sums.points.get(key, ZERO) + booked.points
            net += booked.points
        if net < 0:
            sums.negative[employee] = sums.negative.get(employee, 0) + 1
    return sums


def _score(policy: Policy, event: WorkEvent) -> tuple[PointsLine, ...]:
    try:
        return policy.score(event.role, event.kind, event.quantity, outlet_class=event.outlet_class, attributes=event.attributes)
    except KeyError:
        return ()  # the candidate has no rule for this work: it earns nothing


def _crossings(before: str, after: str) -> tuple[str, ...]:
    crossed = []
    for flag, name in (("TOP", "TOP"), ("BOTTOM", "BOTTOM")):
        if before != flag and after == flag:
            crossed.append(f"ENTERS_{name}")
        elif before == flag and after != flag:
            crossed.append(f"LEAVES_{name}")
    return tuple(crossed)


def _totals_of(dimensions: Dimensions, tie_dimensions: Sequence[str]) -> Totals:
    return _weighted(dimensions), {d: p for d, p, _ in dimensions if d in tie_dimensions and p}


def _weighted(dimensions: Dimensions) -> Decimal:
    return sum((w for _, _, w in dimensions), ZERO)


def _positions_of(state: dict[str, Any]) -> tuple[int, int]:
    try:
        return int(state["p"]), int(state["d"])
    except (KeyError, TypeError, ValueError):
        v = Violations()
        v.add("page_token", "INVALID_PAGE_TOKEN", "page_token is damaged; start again without it")
        v.raise_if_any()
        raise AssertionError("unreachable") from None


def _changed() -> FailedPrecondition:
    return FailedPrecondition(
        "the ranking changed since the first page (new points were booked): start again from the first page, "
        "or read a published ranking, which never changes",
        reason="RANKING_CHANGED",
    )
