"""The resumable WatchLedger iterator: across a server restart and a dropped connection, no entry is lost or repeated."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

from points_client import LedgerWatch, PointsClient, RetryPolicy
from tests.clients.conftest import RestartableServer
from tests.clients.proxy import CuttingProxy

WORK_DAY = "2026-11-02"


def staff_and_work(client: PointsClient, quantities: range) -> list[int]:
    """north-01 with sm-1 and os-1, then a work event per quantity alternating between them; the events' positions."""
    client.register_outlet("north-01", "OUTLET_CLASS_A", "north")
    client.register_employee("sm-1", "ROLE_SERVICE_MANAGER", "north-01", "2026-01-01")
    client.register_employee("os-1", "ROLE_OPERATIONS_SUPERVISOR", "north-01", "2026-01-01")
    return work(client, quantities)


def work(client: PointsClient, quantities: range) -> list[int]:
    work_of = (("sm-1", "counter_transaction"), ("os-1", "counter_review"))
    return [client.record_work_event(*work_of[q % 2], str(q), WORK_DAY).position for q in quantities]


class Collector:
    """Reads a watch in a thread (a broken resume would block forever, not fail) until a position is reached."""

    def __init__(self, watch: LedgerWatch) -> None:
        self.watch = watch
        self.positions: list[int] = []
        self.error: BaseException | None = None
        self._changed = threading.Condition()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _run(self) -> None:
        try:
            for entry in self.watch:
                with self._changed:
                    self.positions.append(entry.position)
                    self._changed.notify_all()
        except BaseException as e:  # noqa: BLE001 - reported by wait_for
            self.error = e
            with self._changed:
                self._changed.notify_all()

    def wait_for(self, position: int, timeout: float = 30) -> list[int]:
        with self._changed:
            reached = self._changed.wait_for(lambda: self.error is not None or (self.positions and self.positions[-1] >= position), timeout)
        assert self.error is None, f"the watch failed: {self.error!r}"
        assert reached, f"the watch did not reach position {position} in {timeout} s: {self.positions}"
        return list(self.positions)

    def close(self) -> None:
        self.watch.close()
        self._thread.join(10)
        assert not self._thread.is_alive(), "close() ends the iteration"


def reference(client: PointsClient, until: int) -> list[int]:
    """The ledger's positions up to `until`, from one unbroken stream."""
    collector = Collector(client.watch_ledger(0))
    try:
        return [p for p in collector.wait_for(until) if p <= until]
    finally:
        collector.close()


def assert_no_gap_no_repeat(seen: list[int], expected: list[int]) -> None:
    assert seen == sorted(set(seen)), f"repeated or out of order: {seen}"
    assert seen == expected, f"lost entries: {sorted(set(expected) - set(seen))}"


def break_and_resume(client: PointsClient, breaking: Callable[[], None]) -> None:
    first = staff_and_work(client, range(1, 6))
    collector = Collector(client.watch_ledger(0))
    try:
        collector.wait_for(first[2])  # mid-way through what is there
        breaking()
        later = work(client, range(6, 11))  # booked while (or just after) the stream was broken
        seen = collector.wait_for(later[-1])
        assert collector.watch.reconnects >= 1, "the stream did break and was resumed"
        assert collector.watch.position == later[-1]
    finally:
        collector.close()
    assert_no_gap_no_repeat(seen, reference(client, later[-1]))
    assert set(first + later) <= set(seen)


def test_the_watch_resumes_after_the_server_restarts(points_client: PointsClient, points_server: RestartableServer) -> None:
    break_and_resume(points_client, points_server.restart)


def test_the_watch_resumes_after_a_dropped_connection(proxied_client: PointsClient, proxy: CuttingProxy) -> None:
    break_and_resume(proxied_client, proxy.cut_all)


def test_the_watch_resumes_after_the_last_entry_it_gave(proxied_client: PointsClient, proxy: CuttingProxy) -> None:
    # Broken after every few entries (each resume asks from the last position it yielded).
    positions = staff_and_work(proxied_client, range(1, 13))
    collector = Collector(proxied_client.watch_ledger(0))
    try:
        for target in positions[2::3]:
            collector.wait_for(target)
            proxy.cut_all()
        seen = collector.wait_for(positions[-1])
    finally:
        collector.close()
    assert collector.watch.reconnects >= 3
    assert_no_gap_no_repeat(seen, reference(proxied_client, positions[-1]))


def test_the_watch_gives_up_when_the_server_stays_away(points_client: PointsClient, points_server: RestartableServer) -> None:
    staff_and_work(points_client, range(1, 3))
    watch = points_client.watch_ledger(0, retry=RetryPolicy(max_attempts=3, initial_backoff=0.05, max_backoff=0.1))
    next(watch)
    points_server.stop()
    started = time.monotonic()
    try:
        for _ in watch:
            pass
    except Exception as e:  # noqa: BLE001 - checked below
        failed: BaseException | None = e
    else:
        failed = None
    assert type(failed).__name__ == "Unavailable", repr(failed)
    assert time.monotonic() - started < 10
