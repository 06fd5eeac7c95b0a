"""BalanceService.WatchLedger through a real server: entries in log order, resuming after a disconnect, live entries.

The history (policies/example.toml 2026.1; north-01 class A), one ledger entry per write, after the
entry of the policy published at first start (its pay rules: what a point is worth):
  1 sm-1 2026-10-05 counter_transaction 12        12      -> 4.8000   booked 2026-10
  2 os-1 2026-10-06 duty_day 1                    10      -> 4.0000   booked 2026-10
  3 sm-1 2026-11-02 customer_served 20            10      -> 3.5000   booked 2026-11
  4 2026-10 closed                                (a period close: no lines)
  5 sm-1 2026-10-31 customer_served 6 (late)      3       -> 1.0500   booked 2026-11
  6 reversal of 1                                 -12     -> -4.8000  booked 2026-11
  7 amendment of 3 to 25                          -10, +12.5          booked 2026-11
"""

from __future__ import annotations

from datetime import datetime, timezone

from typing import TYPE_CHECKING

import grpc
import pytest

from points.v1 import balances_pb2, work_events_pb2
from tests.api.calls import Staffed, work
from tests.api.ledger_calls import amendment, close_period, reversal
from tests.api.rich_status import assert_rejected

if TYPE_CHECKING:
    from tests.conftest import Client, Clock

Entry = balances_pb2.WatchLedgerResponse


def watch(client: Client, from_position: int) -> grpc.Future:
    """An open WatchLedger stream (with a deadline, so a test that waits for an entry that never comes fails)."""
    return client.balances.WatchLedger(balances_pb2.WatchLedgerRequest(from_position=from_position), timeout=20)


def read(client: Client, from_position: int, count: int) -> list[Entry]:
    """`count` entries from `from_position`, then a disconnect (the stream is cancelled mid-stream)."""
    stream = watch(client, from_position)
    entries = [next(stream) for _ in range(count)]
    stream.cancel()
    return entries


def summary(entry: Entry) -> tuple[str, ...]:
    if entry.HasField("period_closed"):
        return ("closed", entry.period_closed.period)
    return tuple(f"{x.entry} {x.points} {x.booked_period}" for x in entry.lines)


@pytest.fixture
def initial_rules(client: Client) -> int:
    """The position of the first entry: the pay rules of the policy the server published on its first start."""
    (first,) = read(client, 0, 1)
    assert first.HasField("pay_rules_published") and not first.lines
    assert (first.pay_rules_published.policy_version, first.pay_rules_published.rules.currency) == ("2026.1", "CNY")
    return first.position


@pytest.fixture
def booked_history(client: Client, staffed_outlet: Staffed) -> list[int]:
    """The seven writes of the module docstring; returns their positions, in order."""
    w = client.work
    first = w.RecordWorkEvent(work("sm-oct", "sm-1", "counter_transaction", "12", "2026-10-05"))
    positions = [first.position, w.RecordWorkEvent(work("os-oct", "os-1", "duty_day", "1", "2026-10-06")).position]
    served = w.RecordWorkEvent(work("sm-nov", "sm-1", "customer_served", "20", "2026-11-02"))
    positions += [served.position, close_period(client, "2026-10").close_position]
    positions.append(w.RecordWorkEvent(work("sm-late", "sm-1", "customer_served", "6", "2026-10-31")).position)
    positions.append(w.CorrectWorkEvent(reversal("c-rev", first.event_id, "sm-1")).position)
    positions.append(w.CorrectWorkEvent(amendment("c-amend", served.event_id, "sm-1", quantity="25")).position)
    return positions


def test_the_feed_has_one_entry_per_write_in_log_order(client: Client, booked_history: list[int], initial_rules: int) -> None:
    entries = read(client, initial_rules, len(booked_history))

    assert [e.position for e in entries] == booked_history
    assert [summary(e) for e in entries] == [
        ("recorded 12.0000 2026-10",),
        ("recorded 10.0000 2026-10",),
        ("recorded 10.0000 2026-11",),
        ("closed", "2026-10"),
        ("recorded 3.0000 2026-11",),
        ("reversal -12.0000 2026-11",),
        ("reversal -10.0000 2026-11", "amended 12.5000 2026-11"),
    ]


def test_a_history_longer_than_a_feed_page_streams_every_entry_in_log_order(
    client: Client, staffed_outlet: Staffed, initial_rules: int
) -> None:
    # the server reads the ledger 200 positions at a time; the close comes after 250 events
    written = client.work.RecordWorkEvents(
        work_events_pb2.RecordWorkEventsRequest(
            requests=[work(f"sm-{i}", "sm-1", "counter_transaction", "1", "2026-10-05") for i in range(250)]
        )
    )
    closed = close_period(client, "2026-10")
    late = client.work.RecordWorkEvent(work("sm-late", "sm-1", "counter_transaction", "1", "2026-10-06"))

    entries = read(client, initial_rules, 252)

    assert [e.position for e in entries] == [r.recorded.position for r in written.results] + [closed.close_position, late.position]
    assert [e.lines[0].booked_period for e in (entries[0], entries[249], entries[251])] == ["2026-10", "2026-10", "2026-11"]


def test_a_period_close_is_an_entry_of_its_own(client: Client, booked_history: list[int]) -> None:
    close = read(client, booked_history[2], 1)[0]

    assert close.position == booked_history[3]
    closed = close.period_closed
    assert (closed.period, closed.proposed_by, closed.closed_by, closed.reason, list(close.lines)) == (
        "2026-10", "payroll p1", "payroll p2", "payroll run", [],
    )  # fmt: skip
    assert close.period_closed.close_time.ToDatetime(tzinfo=timezone.utc) == datetime(2026, 11, 28, 9, 30, tzinfo=timezone.utc)


def test_resuming_after_a_disconnect_misses_and_repeats_nothing(client: Client, booked_history: list[int], initial_rules: int) -> None:
    everything = read(client, initial_rules, len(booked_history))

    for cut in range(1, len(booked_history)):
        before = read(client, initial_rules, cut)
        after = read(client, before[-1].position, len(booked_history) - cut)
        assert before + after == everything, f"disconnected after {cut} entries"


def test_a_feed_from_a_position_starts_after_it(client: Client, booked_history: list[int]) -> None:
    entries = read(client, booked_history[4], 2)

    assert [e.position for e in entries] == booked_history[5:]


def test_work_recorded_while_watching_arrives_on_the_open_stream(client: Client, booked_history: list[int], initial_rules: int) -> None:
    stream = watch(client, initial_rules)
    caught_up = [next(stream) for _ in booked_history]

    recorded = client.work.RecordWorkEvent(work("sm-new", "os-1", "counter_review", "10"))  # 3 points

    arrived = next(stream)
    stream.cancel()
    assert caught_up[-1].position == booked_history[-1]
    assert arrived.position == recorded.position
    assert [(x.event_id, x.kind, x.points, x.entry) for x in arrived.lines] == [(recorded.event_id, "counter_review", "3.0000", "recorded")]


def test_a_close_while_watching_arrives_on_the_open_stream(client: Client, booked_history: list[int], clock: Clock) -> None:
    stream = watch(client, booked_history[-1])
    clock.advance(days=3)  # 2026-12-01

    closed = close_period(client, "2026-11")

    arrived = next(stream)
    stream.cancel()
    assert (arrived.position, arrived.period_closed.period) == (closed.close_position, "2026-11")


def test_a_negative_position_is_an_invalid_argument(client: Client) -> None:
    with pytest.raises(grpc.RpcError) as refused:
        next(watch(client, -1))

    assert_rejected(refused.value, grpc.StatusCode.INVALID_ARGUMENT, "NEGATIVE_POSITION", "from_position")
