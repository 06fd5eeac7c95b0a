"""Leader election for a projection: of any number of processes, the one holding a PostgreSQL advisory lock projects.

The lock is session-level, taken with pg_try_advisory_lock on a dedicated autocommit
connection and held for as long as the process leads, so PostgreSQL releases it when that
session ends: on exit, on kill -9 (the server sees the socket close), or when the network
drops (TCP keepalives and tcp_user_timeout bound how long that takes to notice). The leader
checks its connection every `check_interval` and stops projecting at once when it fails;
followers try for the lock every `retry_interval`. The same connection LISTENs on the event
table's channel, so a write on any replica wakes the leader at once.

The view's compare-and-set on the tracking position stays the second line of defence: in the
moment between a leader losing its lock and noticing, it cannot apply a page its successor
applied (one of the two moves fails and rolls back).
"""

from __future__ import annotations

import hashlib
import logging
import threading
import time
from collections.abc import Callable, Mapping
from typing import Any, Protocol

import psycopg
from psycopg import sql

log = logging.getLogger(__name__)

# How long a dead peer or network may go unnoticed on the lock connection (libpq parameters).
STOP_POLL = 0.2  # seconds: how soon a shutting-down leader notices, and so how soon it hands over
KEEPALIVES = {"keepalives": "1", "keepalives_idle": "5", "keepalives_interval": "1", "keepalives_count": "3", "tcp_user_timeout": "5000"}


class Projector(Protocol):
    """What the election drives: BalanceProjector fits."""

    @property
    def position(self) -> int: ...

    @property
    def running(self) -> bool: ...

    def start(self) -> None: ...

    def stop(self, timeout: float = 10.0) -> None: ...

    def wake(self) -> None: ...


def projection_lock_key(schema: str, projection: str) -> int:
    """The advisory lock of one projection in one schema (advisory locks are per database, not per schema)."""
    digest = hashlib.sha256(f"points projection {schema}.{projection}".encode()).digest()
    return int.from_bytes(digest[:8], "big", signed=True)


class ProjectorElection:
    """Runs `projector` only while this process holds the projection's advisory lock."""

    def __init__(
        self,
        projector: Projector,
        *,
        conninfo: Mapping[str, str],
        lock_key: int,
        projection: str,
        channel: str = "",
        check_interval: float = 1.0,
        retry_interval: float = 0.5,
        on_change: Callable[[bool], None] = lambda leading: None,
    ) -> None:
        self.projector = projector
        self.conninfo = {**conninfo, **KEEPALIVES, "application_name": f"points-projector-{projection}"}
        self.lock_key = lock_key
        self.projection = projection
        self.channel = channel
        self.check_interval = check_interval
        self.retry_interval = retry_interval
        self.on_change = on_change
        self._leading = False
        self._stopping = threading.Event()
        self._thread: threading.Thread | None = None

    @property
    def leading(self) -> bool:
        return self._leading

    def start(self) -> None:
        self._stopping.clear()
        self._thread = threading.Thread(target=self._run, name=f"election-{self.projection}", daemon=True)
        self._thread.start()

    def stop(self, timeout: float = 15.0) -> None:
        """Stops projecting (finishing the page in hand) and gives the lock up, so a follower takes over at once."""
        self._stopping.set()
        if self._thread is not None:
            self._thread.join(timeout)
            self._thread = None

    def _run(self) -> None:
        while not self._stopping.is_set():
            try:
                with psycopg.connect(**self.conninfo, autocommit=True) as conn:  # type: ignore[arg-type]
                    self._campaign(conn)
            except psycopg.Error as e:
                log.warning("projection %s: election connection failed (%s); retrying", self.projection, str(e).strip())
            except Exception:
                log.exception("projection %s: election failed; retrying", self.projection)
            finally:
                self._resign()  # after a lost connection: the lock is already gone
            self._stopping.wait(self.retry_interval)

    def _campaign(self, conn: psycopg.Connection[Any]) -> None:
        """Tries for the lock every retry_interval; leads while it holds it."""
        while not self._stopping.is_set():
            row = conn.execute("SELECT pg_try_advisory_lock(%s)", (self.lock_key,)).fetchone()
            if row is not None and row[0]:
                self._lead(conn)
                self._resign()  # stop projecting before the lock goes (when the connection closes)
                return
            self._stopping.wait(self.retry_interval)

    def _lead(self, conn: psycopg.Connection[Any]) -> None:
        if self.channel:
            conn.execute(sql.SQL("LISTEN {}").format(sql.Identifier(self.channel)))
        from_position = self.projector.position  # re-read from the view: the last leader moved it
        self.projector.start()
        self._set_leading(True)
        log.info("projection %s: leading (advisory lock %d), continuing from position %d", self.projection, self.lock_key, from_position)
        checked = time.monotonic()
        while not self._stopping.is_set():
            remaining = min(max(0.0, checked + self.check_interval - time.monotonic()), STOP_POLL)
            if self.channel:
                for _ in conn.notifies(timeout=remaining, stop_after=1):
                    self.projector.wake()
            else:
                self._stopping.wait(remaining)
            if time.monotonic() - checked >= self.check_interval:
                conn.execute("SELECT 1")  # raises when the session (and with it the lock) is gone
                checked = time.monotonic()

    def _resign(self) -> None:
        if not self._leading:
            return
        self.projector.stop()
        self._set_leading(False)
        if self._stopping.is_set():
            log.info("projection %s: stopped leading (shutting down)", self.projection)
        else:
            log.warning("projection %s: lost the lock's connection; stopped projecting", self.projection)

    def _set_leading(self, leading: bool) -> None:
        self._leading = leading
        self.on_change(leading)
