"""Runs a projection: reads the event log in pages after the tracked position and applies each page.

The library's ProjectionRunner commits one transaction per event and needs subscriptions,
which its SQLite recorder lacks; this loop reads pages through the same recorder API
(select_notifications, which honours the table lock's ordering on PostgreSQL) and writes
each page with its tracking position in one transaction. It runs in-process on both backends.
"""

from __future__ import annotations

import logging
import threading
import time

from eventsourcing.persistence import ApplicationRecorder, Mapper
from eventsourcing.utils import get_topic

from points.domain.periods import PayCalendar
from points.domain.work import WorkEvent
from points.projections.balances import BalanceView, ProjectionConflict
from points.projections.ledger import Page

log = logging.getLogger(__name__)

RECORDED_TOPIC = get_topic(WorkEvent.Recorded)
LEDGER_TOPICS = frozenset(
    {
        RECORDED_TOPIC,
        get_topic(WorkEvent.Rescored),
        get_topic(WorkEvent.Reversed),
        get_topic(WorkEvent.Amended),
        get_topic(PayCalendar.PeriodClosed),
    }
)


class BalanceProjector:
    """Keeps the balance view caught up with the event log of one application."""

    def __init__(
        self,
        *,
        recorder: ApplicationRecorder,
        mapper: Mapper,
        view: BalanceView,
        application_name: str,
        page_size: int = 1000,
        idle_wait: float = 0.1,
    ) -> None:
        self.recorder = recorder
        self.mapper = mapper
        self.view = view
        self.application_name = application_name
        self.page_size = page_size
        self.idle_wait = idle_wait
        self._position = view.position(application_name)
        self._changed = threading.Condition()
        self._wakeup = threading.Event()
        self._stopping = threading.Event()
        self._thread: threading.Thread | None = None
        self.work_events_booked = 0  # since this projector was made (a figure for operators)

    @property
    def position(self) -> int:
        """The position the view reflects (read from the view when no local loop keeps it)."""
        if not self.running:
            self._set_position(max(self._position, self.view.position(self.application_name)))
        return self._position

    def run_once(self) -> int:
        """Projects one page; returns how many events it read (0 when caught up)."""
        after = self._position
        notifications = self.recorder.select_notifications(
            start=after or None, limit=self.page_size, inclusive_of_start=False
        )
        if not notifications:
            return 0
        page = Page()
        for notification in notifications:
            if notification.topic in LEDGER_TOPICS:
                page.add(notification.id, self.mapper.to_domain_event(notification))  # type: ignore[arg-type]
        upto = notifications[-1].id
        self.work_events_booked += sum(1 for _, e in page.events if isinstance(e, WorkEvent.Recorded))
        try:
            self.view.apply(page, self.application_name, after=after, upto=upto)
        except ProjectionConflict:
            self._set_position(self.view.position(self.application_name))
            raise
        self._set_position(upto)
        return len(notifications)

    def catch_up(self) -> int:
        """Projects until no events are left; returns how many were read."""
        total = 0
        while count := self.run_once():
            total += count
        return total

    def rebuild(self) -> int:
        """Forgets the view and projects the whole log again."""
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
