"""Peer-group rankings: the declared rules (the policy's [ranking] table) and the pure ranking of a period.

Every choice that decides who is flagged is declared here and returned with each ranking:

- Membership: an employee is ranked in the one peer group (role, outlet class, and the region
  when grouping by region) where they spent the most business days of the period; equal days
  go to the later assignment. Business days are Monday to Friday (or every calendar day, as
  the rules say): the service keeps no outlet calendar.
- Ranks: competition ranking ("1224") on the comprehensive total; equal totals share a rank.
- Percentile: the share of the other members of the ranking group with strictly fewer points,
  in percent, two places rounded half up (100 for the top, 0 for the bottom, 100 when alone);
  that is 100 x SQL's PERCENT_RANK() over ascending points.
- Cut-offs: quota = share x group size, rounded as declared (floor, round_half_up, ceil). A
  group smaller than min_group_size flags no one, or is ranked within its parent group (same
  role and class across regions; then the same role across classes) when small_groups says
  pool_with_parent; its members then take their rank, percentile and flag from the parent's
  ranking of all its members.
- Ties: the tie-break decides only who of the members tied on points at a cut-off line is
  inside it (higher points in a named dimension; fewer negative events); members still equal
  on every key are all flagged or none (unresolved_ties), never by row order. Employee ids
  only order the display of equal rows.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from operator import attrgetter
from datetime import date, timedelta
from decimal import ROUND_CEILING, ROUND_FLOOR, ROUND_HALF_UP, Decimal
from typing import Any

from points.domain.values import NAME

ROUNDINGS = {"floor": ROUND_FLOOR, "round_half_up": ROUND_HALF_UP, "ceil": ROUND_CEILING}
ROUNDING_WORDS = {"floor": "down", "round_half_up": "half up", "ceil": "up"}
SMALL_GROUPS = ("no_flags", "pool_with_parent")
UNRESOLVED_TIES = ("flag_none", "flag_all")
BUSINESS_DAYS = ("weekdays", "calendar_days")
GROUPINGS = ("class", "class_region")
FEWER_NEGATIVE_EVENTS = "fewer_negative_events"
TOP, BOTTOM, NO_FLAG = "TOP", "BOTTOM", ""
MAX_SHARE = Decimal("0.5")
MAX_GROUP_SIZE = 1_000_000
HUNDRED = Decimal(100)
PERCENTILE_QUANTUM = Decimal("0.01")
ZERO = Decimal("0.0000")
RANKING_KEYS = (
    "top_share", "bottom_share", "rounding", "min_group_size", "small_groups", "tie_break", "unresolved_ties", "business_days",
)  # fmt: skip


class TieBreakValuesMissing(LookupError):
    """The ranking needed a tie-break value it was not given (call needs_negative_events first)."""


@dataclass(frozen=True)
class RankingRules:
    """How a peer group is ranked and where its lines fall; the defaults apply when the policy has no [ranking] table."""

    top_share: Decimal = Decimal("0.05")
    bottom_share: Decimal = Decimal("0.05")
    rounding: str = "floor"
    min_group_size: int = 20
    small_groups: str = "no_flags"
    tie_break: tuple[str, ...] = ("compliance", FEWER_NEGATIVE_EVENTS)
    unresolved_ties: str = "flag_none"
    business_days: str = "weekdays"
    declared: bool = field(default=False, compare=False)  # True when the policy has a [ranking] table

    def quota(self, share: Decimal, size: int) -> int:
        """How many members of a group of `size` a share covers, rounded as declared."""
        return int((share * size).to_integral_value(rounding=ROUNDINGS[self.rounding]))

    @property
    def tie_dimensions(self) -> tuple[str, ...]:
        return tuple(key for key in self.tie_break if key != FEWER_NEGATIVE_EVENTS)

    def as_document(self) -> dict[str, Any]:
        """The rules as plain data (what a snapshot stores, in a fixed key order)."""
        return {
            "top_share": str(self.top_share),
            "bottom_share": str(self.bottom_share),
            "rounding": self.rounding,
            "min_group_size": self.min_group_size,
            "small_groups": self.small_groups,
            "tie_break": list(self.tie_break),
            "unresolved_ties": self.unresolved_ties,
            "business_days": self.business_days,
            "declared": self.declared,
        }

    @classmethod
    def from_snapshot(cls, doc: Mapping[str, Any]) -> RankingRules:
        return cls(
            top_share=Decimal(doc["top_share"]),
            bottom_share=Decimal(doc["bottom_share"]),
            rounding=doc["rounding"],
            min_group_size=int(doc["min_group_size"]),
            small_groups=doc["small_groups"],
            tie_break=tuple(doc["tie_break"]),
            unresolved_ties=doc["unresolved_ties"],
            business_days=doc["business_days"],
            declared=bool(doc["declared"]),
        )


def ranking_rules_from_document(doc: Any, roles_doc: Any, problems: list[tuple[str, str]]) -> RankingRules:
    """The [ranking] table of a policy document (None: the defaults); problems are appended as (place, what)."""
    if doc is None:
        return RankingRules()
    if not isinstance(doc, dict):
        problems.append(("ranking", "a table of ranking rules is required"))
        return RankingRules()
    before = len(problems)
    for key in sorted(set(doc) - set(RANKING_KEYS)):
        problems.append((f"ranking.{key}", f"unknown key (known: {', '.join(sorted(RANKING_KEYS))})"))
    defaults = RankingRules()
    shares = {name: _share(doc, name, getattr(defaults, name), problems) for name in ("top_share", "bottom_share")}
    choices = {
        name: _choice(doc, name, getattr(defaults, name), options, problems)
        for name, options in (
            ("rounding", tuple(ROUNDINGS)),
            ("small_groups", SMALL_GROUPS),
            ("unresolved_ties", UNRESOLVED_TIES),
            ("business_days", BUSINESS_DAYS),
        )
    }
    size = doc.get("min_group_size", defaults.min_group_size)
    if isinstance(size, bool) or not isinstance(size, int) or not 1 <= size <= MAX_GROUP_SIZE:
        problems.append(("ranking.min_group_size", f"a whole number from 1 to {MAX_GROUP_SIZE} is required, got {size!r}"))
        size = defaults.min_group_size
    tie_break = defaults.tie_break
    if "tie_break" in doc:
        tie_break = _tie_break(doc["tie_break"], _declared_dimensions(roles_doc), problems)
    if len(problems) > before:
        return defaults
    return RankingRules(
        top_share=shares["top_share"],
        bottom_share=shares["bottom_share"],
        min_group_size=size,
        tie_break=tie_break,
        declared=True,
        **choices,
    )


def _share(doc: Mapping[str, Any], name: str, default: Decimal, problems: list[tuple[str, str]]) -> Decimal:
    raw = doc.get(name, default)
    if not isinstance(raw, bool) and isinstance(raw, (int, Decimal)) and Decimal(raw).is_finite() and 0 <= raw <= MAX_SHARE:
        return Decimal(raw)
    problems.append((f"ranking.{name}", f"a share from 0 to {MAX_SHARE} (e.g. 0.05 for 5%) is required, got {raw!r}"))
    return default


def _choice(doc: Mapping[str, Any], name: str, default: str, options: Sequence[str], problems: list[tuple[str, str]]) -> str:
    raw = doc.get(name, default)
    if raw in options:
        return str(raw)
    problems.append((f"ranking.{name}", f"one of {', '.join(repr(o) for o in options)} is required, got {raw!r}"))
    return default


def _declared_dimensions(roles_doc: Any) -> set[str]:
    if not isinstance(roles_doc, dict):
        return set()
    return {
        name
        for role_doc in roles_doc.values()
        if isinstance(role_doc, dict) and isinstance(role_doc.get("dimensions"), dict)
        for name in role_doc["dimensions"]
    }


def _tie_break(raw: Any, dimensions: set[str], problems: list[tuple[str, str]]) -> tuple[str, ...]:
    if not isinstance(raw, list) or not all(isinstance(k, str) for k in raw):
        problems.append(("ranking.tie_break", "a list of dimension names and/or 'fewer_negative_events' is required"))
        return ()
    for key in raw:
        if key != FEWER_NEGATIVE_EVENTS and (not NAME.fullmatch(key) or key not in dimensions):
            problems.append(
                ("ranking.tie_break", f"{key!r} is neither 'fewer_negative_events' nor a dimension a role declares")
            )
    if len(set(raw)) != len(raw):
        problems.append(("ranking.tie_break", "each tie-break key may appear once"))
    return tuple(raw)


# -- membership ------------------------------------------------------------------------------


def business_days(first: date, last: date, rule: str) -> int:
    """Days from `first` to `last` inclusive that count: Monday to Friday, or every day."""
    if last < first:
        return 0
    days = (last - first).days + 1
    if rule == "calendar_days":
        return days
    weeks, rest = divmod(days, 7)
    start = first.weekday()
    return weeks * 5 + sum(1 for i in range(rest) if (start + i) % 7 < 5)


@dataclass(frozen=True, order=True, slots=True)
class GroupKey:
    """A peer group: a role, and an outlet class ("" = every class) and region ("" = every region)."""

    role: str
    outlet_class: str = ""
    region: str = ""

    @property
    def text(self) -> str:
        if not self.outlet_class:
            return "all"
        return f"{self.outlet_class}/{self.region}" if self.region else self.outlet_class

    def parent(self) -> GroupKey | None:
        if self.region:
            return GroupKey(self.role, self.outlet_class)
        if self.outlet_class:
            return GroupKey(self.role)
        return None

    def contains(self, other: GroupKey) -> bool:
        return (
            self.role == other.role
            and self.outlet_class in ("", other.outlet_class)
            and self.region in ("", other.region)
        )


@dataclass(frozen=True, slots=True)
class Posting:
    """An assignment (from, until exclusive) with the class and region of its outlet."""

    role: str
    outlet_id: str
    outlet_class: str
    region: str
    effective_from: date
    effective_until: date | None = None

    def group(self, grouping: str) -> GroupKey:
        return GroupKey(self.role, self.outlet_class, self.region if grouping == "class_region" else "")


@dataclass(frozen=True, slots=True)
class Membership:
    """Where the membership rule put an employee, and the business days it counted per group."""

    group: GroupKey
    days: tuple[tuple[GroupKey, int], ...]  # in order of the first day counted
    reason: str  # "only": one group; "most_days"; "later_assignment": equal days, the later one

    @property
    def moved(self) -> bool:
        return len(self.days) > 1

    def explain(self) -> str:
        if not self.moved:
            return ""
        spent = ", ".join(f"{n} business days in {key.role} {key.text}" for key, n in self.days)
        why = "the most business days" if self.reason == "most_days" else "equal business days: the later assignment"
        return f"moved during the period ({spent}); ranked in {self.group.text} ({why})"


def place(postings: Iterable[Posting], first: date, last: date, *, grouping: str, day_rule: str) -> Membership | None:
    """The membership rule: the group with the most business days in [first, last]; equal days, the later.

    None when no assignment covers a business day of the period.
    """
    days: dict[GroupKey, int] = {}
    latest: dict[GroupKey, date] = {}
    for posting in sorted(postings, key=lambda p: p.effective_from):
        start = max(posting.effective_from, first)
        end = last if posting.effective_until is None else min(posting.effective_until - timedelta(days=1), last)
        counted = business_days(start, end, day_rule)
        if counted == 0:
            continue
        key = posting.group(grouping)
        days[key] = days.get(key, 0) + counted
        latest[key] = max(latest.get(key, date.min), start)
    if not days:
        return None
    best = max(days, key=lambda k: (days[k], latest[k]))
    equal = sum(1 for n in days.values() if n == days[best]) > 1
    reason = "only" if len(days) == 1 else ("later_assignment" if equal else "most_days")
    return Membership(best, tuple(days.items()), reason)


# -- ranking -----------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Candidate:
    """A member's inputs: where they belong, their comprehensive points, and the tie-break dimensions' points."""

    employee_id: str
    membership: Membership
    total: Decimal
    tie_points: Mapping[str, Decimal] = field(default_factory=dict)  # dimension -> points, for the tie-break


@dataclass(frozen=True, slots=True)
class Placing:
    """A member's result: the group that ranked them, rank, percentile and flag."""

    candidate: Candidate
    ranked_within: GroupKey
    group_size: int
    rank: int
    percentile: Decimal
    flag: str  # TOP, BOTTOM or NO_FLAG
    unresolved_tie: bool  # tied with others across a line after every tie-break key
    negative_events: int | None  # looked up only for members tied at a line


@dataclass(frozen=True, slots=True)
class GroupOutcome:
    """A peer group and its lines: the quota of the group that ranked it, and the points at each line."""

    key: GroupKey
    size: int
    ranked_within: GroupKey
    ranked_within_size: int
    flags_applied: bool
    top_quota: int
    bottom_quota: int
    top_line: Decimal | None  # the total of the last member inside the top quota
    bottom_line: Decimal | None
    note: str


@dataclass(frozen=True)
class Ranking:
    rules: RankingRules
    grouping: str
    groups: tuple[GroupOutcome, ...]
    placings: tuple[Placing, ...]  # by group, rank, flag (TOP first), employee id


@dataclass
class _Lines:
    """One ranking group's flags: who is inside each line and who is tied across one."""

    flags: dict[str, str] = field(default_factory=dict)
    unresolved: set[str] = field(default_factory=set)
    top_line: Decimal | None = None
    bottom_line: Decimal | None = None
    tied: set[str] = field(default_factory=set)  # tied on points across a line: the tie-break decides


class RankingPlan:
    """The groups of a role's candidates, ordered; `needs_negative_events` then `rank`.

    Split in two so the negative-event counts (a costlier read) are looked up only for the
    few members tied on points at a line.
    """

    def __init__(self, candidates: Iterable[Candidate], rules: RankingRules, grouping: str) -> None:
        self.rules = rules
        self.grouping = grouping
        leaves: dict[GroupKey, list[Candidate]] = {}
        for candidate in candidates:
            leaves.setdefault(candidate.membership.group, []).append(candidate)
        self.leaves = {key: _ordered(members) for key, members in sorted(leaves.items())}
        self.ranked_within = {key: self._ranking_group(key) for key in self.leaves}
        self.members: dict[GroupKey, list[Candidate]] = {}
        for key, within in self.ranked_within.items():
            if within not in self.members:
                self.members[within] = self.leaves[within] if within in self.leaves else _ordered(
                    c for leaf, members in self.leaves.items() if within.contains(leaf) for c in members
                )
        self._tied: set[str] | None = None

    def _size(self, key: GroupKey) -> int:
        return sum(len(members) for leaf, members in self.leaves.items() if key.contains(leaf))

    def _ranking_group(self, leaf: GroupKey) -> GroupKey:
        if len(self.leaves[leaf]) >= self.rules.min_group_size or self.rules.small_groups != "pool_with_parent":
            return leaf
        parent = leaf.parent()
        while parent is not None:
            if self._size(parent) >= self.rules.min_group_size:
                return parent
            parent = parent.parent()
        return leaf

    def flags_apply(self, within: GroupKey) -> bool:
        return len(self.members[within]) >= self.rules.min_group_size

    def needs_negative_events(self) -> set[str]:
        """The members whose negative-event count the tie-break may read: those tied on points at a line."""
        if FEWER_NEGATIVE_EVENTS not in self.rules.tie_break:
            return set()
        if self._tied is None:
            self._tied = set()
            for within, members in self.members.items():
                if self.flags_apply(within):
                    self._tied |= self._lines(members, None).tied
        return set(self._tied)

    def rank(self, negative_events: Mapping[str, int] | None = None) -> Ranking:
        """Ranks every group; raises TieBreakValuesMissing if a needed negative-event count is absent."""
        counts = dict(negative_events or {})
        lines = {w: self._lines(m, counts) if self.flags_apply(w) else _Lines() for w, m in self.members.items()}
        standings = {w: _standings(m) for w, m in self.members.items()}
        groups: list[GroupOutcome] = []
        placings: list[Placing] = []
        order = {TOP: 0, NO_FLAG: 1, BOTTOM: 2}
        for leaf, members in self.leaves.items():
            within = self.ranked_within[leaf]
            line, standing, size = lines[within], standings[within], len(self.members[within])
            applied = self.flags_apply(within)
            groups.append(self._outcome(leaf, len(members), within, size, applied, line))
            placed = []
            for candidate in members:  # by points, then id: by rank already
                rank, percentile = standing[candidate.employee_id]
                employee = candidate.employee_id
                placed.append(
                    Placing(
                        candidate, within, size, rank, percentile, line.flags.get(employee, NO_FLAG),
                        employee in line.unresolved, counts.get(employee) if employee in line.tied else None,
                    )
                )  # fmt: skip
            if line.tied:  # a rank split by a line: its flagged members first (a stable sort keeps the rest)
                placed.sort(key=lambda p: (p.rank, order[p.flag]))
            placings += placed
        return Ranking(self.rules, self.grouping, tuple(groups), tuple(placings))

    def _outcome(self, leaf: GroupKey, size: int, within: GroupKey, within_size: int, applied: bool, line: _Lines) -> GroupOutcome:
        rules = self.rules
        top = rules.quota(rules.top_share, within_size) if applied else 0
        bottom = rules.quota(rules.bottom_share, within_size) if applied else 0
        if within != leaf:
            note = f"{size} members, fewer than {rules.min_group_size}: ranked within {within.text} ({within_size} members)"
        elif not applied:
            pooled = " and no parent group is large enough" if rules.small_groups == "pool_with_parent" else ""
            note = f"{size} members, fewer than {rules.min_group_size}{pooled}: no one is flagged"
        else:
            note = ""
        return GroupOutcome(leaf, size, within, within_size, applied, top, bottom, line.top_line, line.bottom_line, note)

    def _lines(self, ordered: list[Candidate], counts: Mapping[str, int] | None) -> _Lines:
        """Flags of one ranking group (members by points, highest first); counts None: only find the ties."""
        rules, lines = self.rules, _Lines()
        size = len(ordered)
        top = min(rules.quota(rules.top_share, size), size)
        inside, unresolved, lines.top_line, tied = self._inside(ordered, top, counts, best_first=True)
        lines.flags.update((e, TOP) for e in inside)
        lines.unresolved |= unresolved
        lines.tied |= tied
        rest = _lowest(ordered, rules.quota(rules.bottom_share, size), lines.flags)
        bottom = min(rules.quota(rules.bottom_share, size), len(rest))
        inside, unresolved, lines.bottom_line, tied = self._inside(rest, bottom, counts, best_first=False)
        lines.flags.update((e, BOTTOM) for e in inside)
        lines.unresolved |= unresolved
        lines.tied |= tied
        return lines

    def _inside(
        self, ordered: list[Candidate], quota: int, counts: Mapping[str, int] | None, *, best_first: bool
    ) -> tuple[set[str], set[str], Decimal | None, set[str]]:
        """Who is inside a line of `quota` members counted from the start of `ordered` (the line's end).

        Returns (inside, unresolved, the points at the line, tied on points across the line).
        """
        if quota == 0:
            return set(), set(), None, set()
        line = ordered[quota - 1].total
        start, end = quota - 1, quota  # the run of members with the line's points: ordered[start:end]
        while start > 0 and ordered[start - 1].total == line:
            start -= 1
        while end < len(ordered) and ordered[end].total == line:
            end += 1
        beyond, at_line = ordered[:start], ordered[start:end]  # strictly past the line's points; at it
        slots = quota - len(beyond)
        inside = {c.employee_id for c in beyond}
        if len(at_line) <= slots:
            return inside | {c.employee_id for c in at_line}, set(), line, set()
        tied = {c.employee_id for c in at_line}
        if counts is None:
            return inside, set(), line, tied
        keyed = sorted(((self._tie_key(c, counts), c.employee_id) for c in at_line), reverse=best_first)
        last_in = keyed[slots - 1][0]
        winners = {e for k, e in keyed if (k > last_in if best_first else k < last_in)}
        equal = {e for k, e in keyed if k == last_in}
        if len(winners) + len(equal) == slots:
            return inside | winners | equal, set(), line, tied
        if self.rules.unresolved_ties == "flag_all":
            return inside | winners | equal, equal, line, tied
        return inside | winners, equal, line, tied

    def _tie_key(self, candidate: Candidate, counts: Mapping[str, int]) -> tuple[Decimal, ...]:
        """Higher is better on every key: dimension points, and minus the negative-event count."""
        key: list[Decimal] = []
        for name in self.rules.tie_break:
            if name == FEWER_NEGATIVE_EVENTS:
                if candidate.employee_id not in counts:
                    raise TieBreakValuesMissing(f"no negative-event count for {candidate.employee_id!r}")
                key.append(Decimal(-counts[candidate.employee_id]))
            else:
                key.append(candidate.tie_points.get(name, ZERO))
        return tuple(key)


def _ordered(members: Iterable[Candidate]) -> list[Candidate]:
    """Highest points first; the employee id only fixes the order of equal members (it decides nothing).

    Two stable sorts by attribute (ids, then points descending) rather than one by a built key:
    the same order, without a key object per member (400,000 of them at a large bank).
    """
    return sorted(sorted(members, key=_EMPLOYEE_ID), key=_TOTAL, reverse=True)


def _lowest(ordered: list[Candidate], quota: int, flagged: Mapping[str, str]) -> list[Candidate]:
    """The members not in `flagged`, lowest points first, as far as the bottom line's run of equal points reaches."""
    found: list[Candidate] = []
    for candidate in reversed(ordered):
        if len(found) >= quota and (not found or candidate.total != found[-1].total):
            break
        if candidate.employee_id not in flagged:
            found.append(candidate)
    return found


_EMPLOYEE_ID = attrgetter("employee_id")
_TOTAL = attrgetter("total")


def _standings(ordered: list[Candidate]) -> dict[str, tuple[int, Decimal]]:
    """Competition rank ("1224") and percentile of each member of one ranking group."""
    size = len(ordered)
    standings: dict[str, tuple[int, Decimal]] = {}
    start = 0
    while start < size:
        end = start
        while end + 1 < size and ordered[end + 1].total == ordered[start].total:
            end += 1
        fewer = size - end - 1
        percentile = HUNDRED if size == 1 else (HUNDRED * fewer / (size - 1)).quantize(PERCENTILE_QUANTUM, ROUND_HALF_UP)
        for candidate in ordered[start : end + 1]:
            standings[candidate.employee_id] = (start + 1, percentile)
        start = end + 1
    return standings


def rank_candidates(
    candidates: Iterable[Candidate], rules: RankingRules, grouping: str, negative_events: Callable[[set[str]], Mapping[str, int]]
) -> Ranking:
    """Ranks `candidates`, asking `negative_events` only for the members the tie-break may need."""
    plan = RankingPlan(candidates, rules, grouping)
    needed = plan.needs_negative_events()
    return plan.rank(negative_events(needed) if needed else {})


def _percent(share: Decimal) -> str:
    return f"{(share * HUNDRED).normalize():f}%"


def rules_in_words(rules: RankingRules, grouping: str) -> list[str]:
    """The rules as sentences, returned with every ranking so its reader knows how it was formed."""
    groups = "role and outlet class" + (" and region" if grouping == "class_region" else "")
    days = "Monday to Friday" if rules.business_days == "weekdays" else "every calendar day"
    keys = [f"higher {k} points" if k != FEWER_NEGATIVE_EVENTS else "fewer negative events" for k in rules.tie_break]
    small = (
        "it is ranked within its parent group (same role and class across regions, then the same role across classes), "
        "and its members are flagged by the parent's lines; if no parent is large enough, no one in it is flagged"
        if rules.small_groups == "pool_with_parent"
        else "no one in it is flagged"
    )
    return [
        f"Peer groups: same {groups}.",
        "Membership: an employee is ranked in the group where they spent the most business days of the period "
        f"(business days: {days}); equal days go to the later assignment.",
        "Points: the comprehensive total (weighted points of every dimension) booked in the period's pay months; "
        "an employee assigned in the period without points has 0.",
        "Ranks: equal points share a rank (competition ranking, 1224).",
        "Percentile: the share of the other members of the ranking group with strictly fewer points, in percent, "
        "two places rounded half up (100 for the top, 0 for the bottom).",
        f"Cut-offs: the top {_percent(rules.top_share)} and the bottom {_percent(rules.bottom_share)} of each group "
        f"(share x size, rounded {ROUNDING_WORDS[rules.rounding]}).",
        f"Small groups: a group of fewer than {rules.min_group_size} members: {small}.",
        "Ties at a line: " + (", then ".join(keys) if keys else "no tie-break key")
        + " decide who is inside it; members equal on every key are "
        + ("all flagged" if rules.unresolved_ties == "flag_all" else "not flagged")
        + ". The tie-break decides nothing else, and row order never decides.",
        "Rules: the [ranking] table of the policy in force on the period's last day"
        + ("." if rules.declared else " (it has none: these are the defaults)."),
    ]
