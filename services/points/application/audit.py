"""The audit trail: work events with their history, the hash chain's verification, and the access records."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any
from uuid import UUID

from points.application import pages
from points.application.pages import PageTokens
from points.application.balances import check_min_position
from points.domain.errors import NotFound, NotYetVisible, Violations
from points.domain.values import NAME, check_identifier, check_text, parse_date
from points.projections.audit_reads import AuditRow
from points.projections.balances import BalanceView as LedgerStore
from points.projections.ledger_rows import instant_text
from points.projections.projector import BalanceProjector
from points.storage.access_records import AccessRecord, AccessRecordStore
from points.storage.chain import ChainReader, Verification

DEFAULT_WAIT = 10.0


@dataclass(frozen=True)
class LedgerHead:
    position: int
    hash: bytes


class AuditQueries:
    def __init__(
        self, *, store: LedgerStore, projector: BalanceProjector, chain: ChainReader, access: AccessRecordStore, tokens: PageTokens
    ) -> None:
        self.tokens = tokens
        self.store = store
        self.projector = projector
        self.chain = chain
        self.access = access

    def list_work_events(self, *, filters: dict[str, str], newest_first: bool, page_size: int, page_token: str,
                         min_position: int, timeout: float | None) -> tuple[list[AuditRow], str]:
        """Work events matching every given filter, with their lines and corrections."""
        v = Violations()
        where: list[tuple[str, str, Any]] = []
        for field in ("employee_id", "outlet_id"):
            if filters.get(field):
                check_identifier(v, field, filters[field], field.split("_")[0])
                where.append((field, "=", filters[field]))
        if filters.get("recorded_by"):
            check_text(v, "recorded_by", filters["recorded_by"])  # no NUL: PostgreSQL's text cannot hold it
            where.append(("recorded_by", "=", filters["recorded_by"]))
        if filters.get("kind"):
            if not NAME.fullmatch(filters["kind"]):
                v.add("kind", "UNKNOWN_KIND", "kinds are lower_snake_case")
            where.append(("kind", "=", filters["kind"]))
        for field, operator in (("occurred_from", ">="), ("occurred_to", "<=")):
            if filters.get(field):
                day = parse_date(v, field, filters[field])
                if day is not None:
                    where.append(("occurred_on", operator, day.isoformat()))
        for field, operator in (("recorded_from", ">="), ("recorded_to", "<=")):
            if filters.get(field):
                moment = _instant(v, field, filters[field])
                if moment is not None:
                    where.append(("recorded_at", operator, instant_text(moment)))
        check_min_position(v, min_position)
        size = pages.page_size(v, page_size)
        query = {"audit": sorted(filters.items()), "newest_first": newest_first}
        state = self.tokens.resume(v, page_token, query, {"after": int})
        v.raise_if_any()
        after = state["after"] if state else 0
        if state is None:
            self._wait(min_position, timeout)
        rows = self.store.work_events(where, newest_first=newest_first, after=after, limit=size + 1)  # type: ignore[attr-defined]
        token = self.tokens.issue(query, {"after": rows[size - 1].position}) if len(rows) > size else ""
        return rows[:size], token

    def get_work_event(self, *, event_id: str, min_position: int, timeout: float | None) -> AuditRow:
        v = Violations()
        try:
            event_id = str(UUID(event_id))
        except ValueError:
            v.add("event_id", "MALFORMED_EVENT_ID", "an event id as returned by RecordWorkEvent is required")
        check_min_position(v, min_position)
        v.raise_if_any()
        self._wait(min_position, timeout)
        rows = self.store.work_events([("event_id", "=", event_id)], newest_first=False, after=0, limit=1)  # type: ignore[attr-defined]
        if not rows:
            raise NotFound(f"no work event {event_id}", reason="WORK_EVENT_NOT_FOUND")
        return rows[0]

    def verify_ledger(self, *, from_position: int, to_position: int) -> Verification:
        """Recomputes the hash chain from `from_position` (default 1) to `to_position` (default: the head)."""
        v = Violations()
        if from_position < 0 or to_position < 0:
            v.add("from_position" if from_position < 0 else "to_position", "NEGATIVE_POSITION", "positions are 0 or more")
        elif to_position and to_position < max(from_position, 1):
            v.add("to_position", "EMPTY_RANGE", "to_position must not be before from_position")
        v.raise_if_any()
        head_position, _ = self.chain.head()
        logged = self.chain.recorder.max_notification_id() or 0  # an event stored around the chain is examined too
        return self.chain.verify(max(from_position, 1), to_position or max(head_position, logged))

    def ledger_head(self) -> LedgerHead:
        position, digest = self.chain.head()
        return LedgerHead(position, digest)

    def list_access_records(self, *, caller: str, method: str, decision: str, newest_first: bool, page_size: int,
                            page_token: str) -> tuple[list[AccessRecord], str]:
        v = Violations()
        for name, value in (("caller", caller), ("method", method)):
            check_text(v, name, value)
        if decision and decision not in ("allowed", "denied"):
            v.add("decision", "UNKNOWN_DECISION", "decision is 'allowed' or 'denied'")
        size = pages.page_size(v, page_size)
        query = {"access": [caller, method, decision], "newest_first": newest_first}
        state = self.tokens.resume(v, page_token, query, {"after": int})
        v.raise_if_any()
        where = [(c, value) for c, value in (("caller", caller), ("method", method), ("decision", decision)) if value]
        rows = self.access.list(where, newest_first=newest_first, after=int(state.get("after", 0)) if state else 0, limit=size + 1)
        token = self.tokens.issue(query, {"after": rows[size - 1].id}) if len(rows) > size else ""
        return rows[:size], token

    def _wait(self, min_position: int, timeout: float | None) -> None:
        if min_position and not self.projector.wait_for_read(min_position, DEFAULT_WAIT if timeout is None else timeout):
            raise NotYetVisible(f"the audit view has reached position {self.projector.position}, not yet {min_position}; retry")


def _instant(v: Violations, field: str, text: str) -> datetime | None:
    try:
        moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        moment = None
    if moment is None or moment.tzinfo is None:
        v.add(field, "MALFORMED_TIMESTAMP", "an RFC 3339 timestamp with a time zone is required, e.g. 2026-11-28T09:30:00Z")
        return None
    return moment
