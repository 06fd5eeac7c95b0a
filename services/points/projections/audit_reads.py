"""The ledger view's reads for auditors: work events as recorded, with their corrections and every line booked for them.

A mixin of the view (LedgerQueries), written once for both databases with its connection helpers.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from points.projections.ledger_rows import (
    AUDIT_EVENT_COLUMNS,
    CORRECTION_COLUMNS,
    LINE_SELECT,
    LineRow,
)


@dataclass
class AuditRow:
    """A work event as recorded, with its corrections and every line booked for it."""

    position: int
    event_id: str
    employee_id: str
    outlet_id: str
    role: str
    kind: str
    quantity: str
    occurred_on: str
    occurred_at: str
    recorded_at: str
    recorded_by: str
    source: str
    request_id: str
    attributes: str
    status: str
    corrections: list[tuple[Any, ...]] = field(default_factory=list)  # CORRECTION_COLUMNS
    lines: list[LineRow] = field(default_factory=list)


class AuditReads:
    """Auditors' reads of the view (mixed into LedgerQueries: uses its _cursor, _all, _in and P)."""

    def work_events(self, where: Sequence[tuple[str, str, Any]], *, newest_first: bool, after: int, limit: int) -> list[AuditRow]:
        """Audit rows matching every (column, operator, value) filter, in log order, after a keyset position."""
        p = self.P
        clauses = [f"{column} {operator} {p}" for column, operator, _ in where]
        params = [value for _, _, value in where]
        if after:
            clauses.append(f"position {'<' if newest_first else '>'} {p}")
            params.append(after)
        condition = " AND ".join(clauses) or "1 = 1"
        with self._cursor(commit=False) as curs:
            rows = self._all(
                curs,
                f"SELECT {', '.join(AUDIT_EVENT_COLUMNS)} FROM {self._t('audit_events')} WHERE {condition} "  # noqa: S608
                f"ORDER BY position {'DESC' if newest_first else 'ASC'} LIMIT {p}",
                [*params, limit],
            )
            events = [AuditRow(*r) for r in rows]
            if not events:
                return []
            ids = [e.event_id for e in events]
            corrections = self._all(
                curs,
                f"SELECT {', '.join(CORRECTION_COLUMNS)} FROM {self._t('audit_corrections')} WHERE event_id IN {self._in(ids)} ORDER BY position",  # noqa: S608
                ids,
            )
            lines = self._all(
                curs, f"SELECT {LINE_SELECT} FROM {self._t('balance_lines')} WHERE event_id IN {self._in(ids)} ORDER BY position, line_no", ids  # noqa: S608
            )
        for event in events:
            event.corrections.extend(c for c in corrections if c[1] == event.event_id)
            event.lines.extend(LineRow(*line) for line in lines if line[2] == event.event_id)
        return events
