"""Balances through a real server: the issue's scenario, read-your-writes, idempotent retries, periods.

Worked numbers (policies/example.toml, weights: supervisor workload .40 quality .20 compliance .30;
manager workload .40 quality .15 service .35):
  os-1  duty_day 2              workload   20 x .40 =  8.0000
        internal_control_check 3 compliance 15 x .30 =  4.5000
        compliance_finding 1    compliance -20 x .30 = -6.0000
        counter_review 7        quality   2.1 x .20 =  0.4200   -> total 6.9200
  sm-1  counter_transaction 12  workload   12 x .40 =  4.8000
        customer_served 7       service   3.5 x .35 =  1.2250
        smart_machine_review 2.5 quality  1.0 x .15 =  0.1500   -> total 6.1750
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING

import grpc
import pytest

from tests.api.calls import Staffed, balance, dimensions, work
from tests.api.rich_status import assert_rejected

if TYPE_CHECKING:
    from tests.conftest import Client

SUPERVISOR_WORK = [
    ("os-a", "duty_day", "2"),
    ("os-b", "internal_control_check", "3"),
    ("os-c", "compliance_finding", "1"),
    ("os-d", "counter_review", "7"),
]
MANAGER_WORK = [
    ("sm-a", "counter_transaction", "12"),
    ("sm-b", "customer_served", "7"),
    ("sm-c", "smart_machine_review", "2.5"),
]


def record_all(client: Client, employee_id: str, items: list[tuple[str, str, str]]) -> int:
    return max(client.work.RecordWorkEvent(work(r, employee_id, k, q)).position for r, k, q in items)


@pytest.fixture
def worked_month(client: Client, staffed_outlet: Staffed) -> int:
    """Both employees' November work recorded; returns the position of the last write."""
    record_all(client, staffed_outlet.supervisor_id, SUPERVISOR_WORK)
    return record_all(client, staffed_outlet.manager_id, MANAGER_WORK)


def test_a_recorded_event_shows_its_rule_and_points(client: Client, staffed_outlet: Staffed) -> None:
    recorded = client.work.RecordWorkEvent(work("os-a", "os-1", "duty_day", "2"))

    assert (recorded.points, recorded.period, recorded.replayed) == ("8.0000", "2026-11", False)
    assert [(x.rule_id, x.policy_version, x.dimension, x.points, x.weighted_points) for x in recorded.lines] == [
        ("os-duty-day", "2026.1", "workload", "20.0000", "8.0000")
    ]
    assert recorded.position > staffed_outlet.position


def test_two_roles_read_their_own_writes(client: Client, worked_month: int) -> None:
    supervisor = balance(client.balances, "os-1", min_position=worked_month)
    manager = balance(client.balances, "sm-1", min_position=worked_month)

    assert supervisor.position >= worked_month and manager.position >= worked_month
    assert (supervisor.balance.total, supervisor.balance.event_count) == ("6.9200", 4)
    assert dimensions(supervisor) == {
        "compliance": ("-5.0000", "-1.5000"),
        "quality": ("2.1000", "0.4200"),
        "workload": ("20.0000", "8.0000"),
    }
    assert (manager.balance.total, manager.balance.event_count) == ("6.1750", 3)
    assert [d.dimension for d in manager.balance.dimensions] == ["quality", "service", "workload"]
    assert dimensions(manager) == {
        "quality": ("1.0000", "0.1500"),
        "service": ("3.5000", "1.2250"),
        "workload": ("12.0000", "4.8000"),
    }


def test_a_replayed_request_is_marked_and_counted_once(client: Client, staffed_outlet: Staffed) -> None:
    first = client.work.RecordWorkEvent(work("sm-a", "sm-1", "counter_transaction", "12"))
    again = client.work.RecordWorkEvent(work("sm-a", "sm-1", "counter_transaction", "12"))
    same_amount = client.work.RecordWorkEvent(work("sm-a", "sm-1", "counter_transaction", "12.000"))

    assert (first.replayed, again.replayed, same_amount.replayed) == (False, True, True)
    assert {(r.event_id, r.position, r.points) for r in (first, again, same_amount)} == {(first.event_id, first.position, "4.8000")}
    read = balance(client.balances, "sm-1", min_position=again.position)
    assert (read.balance.total, read.balance.event_count) == ("4.8000", 1)


def test_a_reused_request_id_with_other_content_is_already_exists(client: Client, staffed_outlet: Staffed) -> None:
    first = client.work.RecordWorkEvent(work("sm-a", "sm-1", "counter_transaction", "12"))

    with pytest.raises(grpc.RpcError) as caught:
        client.work.RecordWorkEvent(work("sm-a", "sm-1", "counter_transaction", "13"))

    rejected = assert_rejected(caught.value, grpc.StatusCode.ALREADY_EXISTS, "REQUEST_ID_REUSED")
    assert rejected.violations == ()
    read = balance(client.balances, "sm-1", min_position=first.position)
    assert (read.balance.total, read.balance.event_count) == ("4.8000", 1)


def test_quarter_and_year_add_up_months_by_business_date(client: Client, worked_month: int) -> None:
    october = client.work.RecordWorkEvent(work("sm-z", "sm-1", "justified_complaint", "1", occurred_on="2026-10-30"))
    assert (october.period, october.points) == ("2026-10", "-10.5000")

    by_period = {p: balance(client.balances, "sm-1", p, october.position).balance for p in ("2026-10", "2026-11", "2026-Q4", "2026", "2026-Q3", "2025")}

    assert {p: (b.total, b.event_count) for p, b in by_period.items()} == {
        "2026-10": ("-10.5000", 1),
        "2026-11": ("6.1750", 3),
        "2026-Q4": ("-4.3250", 4),
        "2026": ("-4.3250", 4),
        "2026-Q3": ("0.0000", 0),
        "2025": ("0.0000", 0),
    }
    assert by_period["2026-Q4"].period == "2026-Q4"
    assert [(d.dimension, d.points) for d in by_period["2026-Q4"].dimensions] == [
        ("quality", "1.0000"), ("service", "-26.5000"), ("workload", "12.0000")
    ]


def test_an_employee_without_work_has_a_zero_balance(client: Client, staffed_outlet: Staffed) -> None:
    read = balance(client.balances, "os-1", min_position=staffed_outlet.position)

    assert (read.balance.employee_id, read.balance.total, read.balance.event_count, len(read.balance.dimensions)) == ("os-1", "0.0000", 0, 0)


def test_a_position_beyond_the_log_is_unavailable_within_the_deadline(client: Client, worked_month: int) -> None:
    started = time.monotonic()
    with pytest.raises(grpc.RpcError) as caught:
        balance(client.balances, "sm-1", min_position=worked_month + 1_000_000, timeout=0.5)

    assert_rejected(caught.value, grpc.StatusCode.UNAVAILABLE, "POSITION_NOT_YET_VISIBLE")
    assert str(worked_month + 1_000_000) in caught.value.details()
    assert time.monotonic() - started > 0.3  # it waited for the projection, most of the deadline
