"""The latest state of many aggregates at once, for a batch of writes.

Scoring a batch reads the employees, outlets and policy book it names. The library's
repository reads them one at a time (a round trip each, even from its cache, which it
fast-forwards from the store so writes by other processes are seen). Here one query per
call fetches, for every aggregate asked for, the events stored after the version this cache
holds, and applies them: the same answer as the repository's, in one round trip.

Cached aggregates are never changed in place: a newer one replaces them (copy, then apply),
so a caller still holding the previous state is not disturbed. The cache is bounded (emptied
when full): a miss costs no extra round trip, only the aggregate's few events in the same query.
"""

from __future__ import annotations

import threading
from collections.abc import Iterable, Sequence
from copy import deepcopy
from itertools import groupby
from typing import Any
from uuid import UUID

from eventsourcing.persistence import Mapper

from points.storage.event_index import EventIndex, Key


class LatestAggregates:
    def __init__(self, index: EventIndex, mapper: Mapper[UUID], *, maxsize: int = 20_000) -> None:
        self.index = index
        self.mapper = mapper
        self.maxsize = maxsize
        self._cache: dict[UUID, Any] = {}
        self._lock = threading.Lock()

    def cached(self, aggregate_ids: Iterable[UUID]) -> list[Any]:
        """The aggregates held now, as last read (maybe stale): hints for what else to read."""
        with self._lock:
            return [a for a in (self._cache.get(i) for i in aggregate_ids) if a is not None]

    def get_many(self, aggregate_ids: Iterable[UUID], *, positions_of: Sequence[Key] = ()) -> tuple[dict[Key, int], dict[UUID, Any]]:
        """Each aggregate as stored now (ids with no events are left out) and, in the same round
        trip, the log positions of the stored (aggregate id, version) pairs in `positions_of`."""
        with self._lock:
            held = {aggregate_id: self._cache.get(aggregate_id) for aggregate_id in set(aggregate_ids)}
        positions, newer = self.index.lookup(positions_of, [(i, a.version if a is not None else 0) for i, a in held.items()])
        updated: dict[UUID, Any] = {}
        for aggregate_id, stored in groupby(newer, key=lambda e: e.originator_id):
            current = held[aggregate_id]
            aggregate = deepcopy(current) if current is not None else None
            for event in stored:
                aggregate = self.mapper.to_domain_event(event).mutate(aggregate)  # type: ignore[attr-defined]
            updated[aggregate_id] = aggregate
        if updated:
            with self._lock:
                if len(self._cache) + len(updated) > self.maxsize:
                    self._cache.clear()
                for aggregate_id, aggregate in updated.items():
                    cached = self._cache.get(aggregate_id)
                    if aggregate is not None and (cached is None or cached.version < aggregate.version):
                        self._cache[aggregate_id] = aggregate
        found = {aggregate_id: updated.get(aggregate_id, current) for aggregate_id, current in held.items()}
        return positions, {aggregate_id: a for aggregate_id, a in found.items() if a is not None}
