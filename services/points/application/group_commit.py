"""Group commit: single-event writes that arrive together are stored in one transaction.

Appends are serialised by the lock that orders the log, so many small transactions queue
behind each other. Here one writer thread takes every request waiting at that moment (up
to a batch), records them with the batch path — one transaction, each request with its
own result or error, duplicates of a request_id recognised within the batch — and answers
each caller. A caller that stops waiting (its deadline) gets UNAVAILABLE; its write may
still land, and a retry with the same request_id replays it.
"""

from __future__ import annotations

import logging
import threading
from collections import deque
from collections.abc import Callable, Sequence
from concurrent.futures import Future
from concurrent.futures import TimeoutError as FutureTimeout

from points.application.points import WorkFields
from points.application.results import WorkRecorded
from points.domain.errors import PointsError

log = logging.getLogger(__name__)

RecordBatch = Callable[[Sequence[WorkFields]], list[WorkRecorded | PointsError]]


class WriteQueueTimeout(PointsError):
    """The caller's deadline passed while its write waited; retrying with the same request_id is safe."""

    reason = "WRITE_QUEUE_TIMEOUT"


class GroupCommitter:
    def __init__(self, record_batch: RecordBatch, *, max_batch: int = 500) -> None:
        self.record_batch = record_batch
        self.max_batch = max_batch
        self._waiting: deque[tuple[WorkFields, Future[WorkRecorded | PointsError]]] = deque()
        self._arrived = threading.Condition()
        self._stopping = False
        self._thread = threading.Thread(target=self._run, name="group-commit", daemon=True)
        self._thread.start()

    def record(self, fields: WorkFields, timeout: float | None = None) -> WorkRecorded:
        """Records one work event with whatever else is waiting; raises its own error."""
        future: Future[WorkRecorded | PointsError] = Future()
        with self._arrived:
            if self._stopping:
                raise WriteQueueTimeout("the service is shutting down; retry with the same request_id")
            self._waiting.append((fields, future))
            self._arrived.notify()
        try:
            outcome = future.result(timeout)
        except FutureTimeout:
            raise WriteQueueTimeout("the write did not complete before the deadline; retry with the same request_id") from None
        if isinstance(outcome, PointsError):
            raise outcome
        return outcome

    def close(self, timeout: float = 10.0) -> None:
        """Finishes the writes already queued, then stops."""
        with self._arrived:
            self._stopping = True
            self._arrived.notify()
        self._thread.join(timeout)

    def _take(self) -> list[tuple[WorkFields, Future[WorkRecorded | PointsError]]]:
        with self._arrived:
            while not self._waiting and not self._stopping:
                self._arrived.wait()
            batch = []
            while self._waiting and len(batch) < self.max_batch:
                batch.append(self._waiting.popleft())
            return batch

    def _run(self) -> None:
        while True:
            batch = self._take()
            if not batch:
                return  # stopping, and nothing left
            live = [(fields, future) for fields, future in batch if future.set_running_or_notify_cancel()]
            try:
                outcomes = self.record_batch([fields for fields, _ in live])
            except BaseException as error:  # e.g. the database is down: every caller in the batch gets it
                log.warning("group commit of %d writes failed: %s", len(live), error)
                for _, future in live:
                    future.set_exception(error)
                continue
            for (_, future), outcome in zip(live, outcomes, strict=True):
                future.set_result(outcome)
