"""Runs a projection: reads the event log in pages after the tracked position and applies each page.

The library's ProjectionRunner commits one transaction per event and needs subscriptions,
which its SQLite recorder lacks; this loop reads pages of the log in id order (on SQLite through
the recorder's select_notifications; on PostgreSQL by one prepared query on the same table,
whose writers' lock commits ids in order) and writes each page with its tracking position in
one transaction. It runs in-process on both backends. On PostgreSQL, while a full page is
written, the next one is read and decoded in a second thread (the database works while Python does).
"""

from __future__ import annotations

import logging
import threading
import time
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import nullcontext
from dataclasses import dataclass
from typing import Any

from eventsourcing.persistence import ApplicationRecorder, Mapper
from eventsourcing.postgres import PostgresApplicationRecorder
from eventsourcing.utils import get_topic
from psycopg.rows import tuple_row
from psycopg.sql import SQL, Identifier

from points.domain.periods import PayCalendar
from points.domain.policy_book import PolicyBook
from points.domain.work import WorkEvent
from points.projections.balances import BalanceView, ProjectionConflict
from points.projections.decoding import EventDecoder
from points.projections.ledger import Page
from points.projections.ledger_rows import WorkFacts

log = logging.getLogger(__name__)

RECORDED_TOPIC = get_topic(WorkEvent.Recorded)
LEDGER_TOPICS = frozenset(
    {
        RECORDED_TOPIC,
        get_topic(WorkEvent.Rescored),
        get_topic(WorkEvent.Reversed),
        get_topic(WorkEvent.Amended),
        get_topic(PayCalendar.PeriodClosed),
        get_topic(PolicyBook.Published),  # its [pay] table values the lines booked after it
    }
)
POSTGRES_PAGE_SIZE = 5000  # events per page (and transaction) on PostgreSQL: fewer round trips and commits
DEFAULT_MAX_READ_WAIT = 5.0  # seconds a read may wait for its min_position (server setting: LimitSettings.max_read_wait)


@dataclass
class _Prepared:
    """A page read and decoded, ready to apply."""

    upto: int  # the last position read
    rows: int  # events read (ledger events or not)
    page: Page
    work: int  # work events recorded among them


class BalanceProjector:
    """Keeps the balance view caught up with the event log of one application."""

    def __init__(
        self,
        *,
        recorder: ApplicationRecorder,
        mapper: Mapper,
        view: BalanceView,
        application_name: str,
        page_size: int | None = None,
        idle_wait: float = 0.1,
        max_read_wait: float = DEFAULT_MAX_READ_WAIT,
    ) -> None:
        self.recorder = recorder
        self.mapper = mapper
        self.decoder = EventDecoder(mapper)
        self.view = view
        self.application_name = application_name
        self._read_rows = self._postgres_reader(recorder)
        self.page_size = page_size or (POSTGRES_PAGE_SIZE if self._read_rows is not None else 1000)
        self.idle_wait = idle_wait
        self.max_read_wait = max_read_wait
        self._position = view.position(application_name)
        self._changed = threading.Condition()
        self._wakeup = threading.Event()
        self._stopping = threading.Event()
        self._thread: threading.Thread | None = None
        self.work_events_booked = 0  # since this projector was made (a figure for operators)
        self._ahead: tuple[int, Future[_Prepared | None]] | None = None  # (position, the page after it being prepared)
        self._ahead_pool: ThreadPoolExecutor | None = None

    @property
    def position(self) -> int:
        """The position the view reflects (read from the view when no local loop keeps it)."""
        if not self.running:
            self._set_position(max(self._position, self.view.position(self.application_name)))
        return self._position

    def run_once(self) -> int:
        """Projects one page; returns how many events it read (0 when caught up).

        After a full page on PostgreSQL, the next page is read and decoded in a second thread
        while this one is written (the log is append-only, so a page read early is still the
        log after its position); a page prepared for another position is dropped unread.
        """
        after = self._position
        prepared = self._prefetched(after) or self._prepare(after)
        if prepared is None:
            return 0
        if prepared.rows == self.page_size and self._read_rows is not None:
            self._prefetch(prepared.upto)  # a full page: more is likely waiting
        try:
            self.view.apply(prepared.page, self.application_name, after=after, upto=prepared.upto)
        except ProjectionConflict:
            self._set_position(self.view.position(self.application_name))
            raise
        self.work_events_booked += prepared.work
        self._set_position(prepared.upto)
        return prepared.rows

    def _prepare(self, after: int) -> _Prepared | None:
        """The page after `after`, read and decoded (None when there is none)."""
        rows = self._read(after)
        if not rows:
            return None
        page = Page()
        decode, work = self.decoder.decode, 0
        for position, originator_id, originator_version, topic, state in rows:
            if topic in LEDGER_TOPICS:
                event = decode(topic, originator_id, originator_version, state)
                page.add(position, event)
                work += type(event) is WorkFacts or type(event) is WorkEvent.Recorded
        return _Prepared(upto=rows[-1][0], rows=len(rows), page=page, work=work)

    def _prefetch(self, after: int) -> None:
        if self._ahead_pool is None:
            self._ahead_pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="balance-prefetch")
        self._ahead = (after, self._ahead_pool.submit(self._prepare, after))

    def _prefetched(self, after: int) -> _Prepared | None:
        """The page prepared ahead for `after`, if any (waits for it: one page is decoded at a time)."""
        if self._ahead is None:
            return None
        (ahead_of, future), self._ahead = self._ahead, None
        try:
            prepared = future.result()
        except Exception:  # noqa: BLE001 - the caller reads the page again and meets the error itself
            return None
        return prepared if ahead_of == after else None

    def _read(self, after: int) -> list[tuple[int, Any, int, str, bytes | None]]:
        """The next page of the log after `after`: (id, originator id, version, topic, state) in id order.

        Ids may have gaps (a failed insert still takes a sequence value). On PostgreSQL the
        writers' table lock commits ids in order, so any snapshot sees a prefix of the log.
        """
        if self._read_rows is not None:
            return self._read_rows(after)
        return [
            (n.id, n.originator_id, n.originator_version, n.topic, n.state)
            for n in self.recorder.select_notifications(start=after or None, limit=self.page_size, inclusive_of_start=False)
        ]

    def _postgres_reader(self, recorder: ApplicationRecorder) -> Any:
        """On PostgreSQL, one prepared query that fetches only the columns (and states) the ledger needs.

        The originator id comes as text: it is what the view stores, and the decoder makes a UUID
        only for the events that go through the mapper.
        """
        if not isinstance(recorder, PostgresApplicationRecorder):
            return None
        statement = SQL(
            "SELECT notification_id, originator_id::text, originator_version, topic, "
            "CASE WHEN topic = ANY(%s) THEN state END FROM {schema}.{table} "
            "WHERE notification_id > %s ORDER BY notification_id LIMIT %s"
        ).format(schema=Identifier(recorder.datastore.schema), table=Identifier(recorder.events_table_name))
        topics = sorted(LEDGER_TOPICS)

        def read(after: int) -> list[tuple[int, Any, int, str, bytes | None]]:
            with recorder.datastore.get_connection() as conn, conn.cursor(row_factory=tuple_row) as curs:
                curs.execute(statement, (topics, after, self.page_size), prepare=True, binary=True)  # states as raw bytes, not hex
                return curs.fetchall()

        return read

    def catch_up(self) -> int:
        """Projects until no events are left; returns how many were read."""
        total = 0
        while count := self.run_once():
            total += count
        return total

    def rebuild(self) -> int:
        """Forgets the view and projects the whole log again (in bulk-load mode where the view has one)."""
        bulk_load = getattr(self.view, "bulk_load", None)
        with bulk_load() if bulk_load is not None else nullcontext():
            self.view.reset(self.application_name)
            self._set_position(0)
            return self.catch_up()

    def wake(self) -> None:
        """Called after a local write: project now rather than at the next poll."""
        self._wakeup.set()

    def wait_for(self, position: int, timeout: float) -> bool:
        """Blocks until the view reflects `position` or `timeout` seconds pass."""
        deadline = time.monotonic() + timeout
        with self._changed:
            while self._position < position:
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    return False
                if not self.running and self.position >= position:
                    break
                self._changed.wait(min(remaining, 0.05))
        return True

    def wait_for_read(self, position: int, timeout: float) -> bool:
        """wait_for, for a position a reader asked for (min_position): at most `max_read_wait` seconds, whatever its deadline.

        A caller may ask for a position that no write has reached; its read then answers (not
        yet visible) when the cap ends, not at its own, possibly far, deadline.
        """
        return self.wait_for(position, min(timeout, self.max_read_wait))

    @property
    def running(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    def start(self) -> None:
        self._stopping.clear()
        self._thread = threading.Thread(target=self._run, name="balance-projector", daemon=True)
        self._thread.start()

    def stop(self, timeout: float = 10.0) -> None:
        self._stopping.set()
        self._wakeup.set()
        if self._thread is not None:
            self._thread.join(timeout)
            self._thread = None
        if self._ahead_pool is not None:
            self._ahead, pool, self._ahead_pool = None, self._ahead_pool, None
            pool.shutdown(wait=True)

    def _set_position(self, position: int) -> None:
        with self._changed:
            self._position = position
            self._changed.notify_all()

    def _run(self) -> None:
        backoff = 0.1
        while not self._stopping.is_set():
            try:
                self._wakeup.clear()
                if self.run_once():
                    backoff = 0.1
                    continue
            except ProjectionConflict:
                log.warning("another projector moved %s; continuing from %s", self.application_name, self._position)
                continue
            except Exception:
                log.exception("balance projection failed at position %s; retrying in %.1fs", self._position, backoff)
                self._stopping.wait(backoff)
                backoff = min(backoff * 2, 5.0)
                continue
            self._wakeup.wait(self.idle_wait)
