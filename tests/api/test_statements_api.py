"""BalanceService.ListStatements through a real server: adjustments for a closed month, frozen closed statements,
and pages as of one position while work is being recorded.

Worked numbers (policies/example.toml 2026.1; north-01 class A; service manager workload .40 service .35;
operations supervisor workload .40):
  before October closes
    sm-1  2026-10-15 customer_served 20      10      -> 3.5000
    sm-1  2026-10-20 counter_transaction 10  10      -> 4.0000
    os-1  2026-10-21 duty_day 1              10      -> 4.0000
    sm-1  2026-11-02 customer_served 4       2       -> 0.7000
  October statements: os-1 4.0000, sm-1 7.5000
  after the close, booked in November as adjustments from 2026-10
    sm-1  2026-10-31 customer_served 6 (late)        3      -> 1.0500
    sm-1  reversal of the 2026-10-20 counter work    -10    -> -4.0000
    os-1  duty_day amended 1 -> 2                    -10 + 20 = 10 -> 4.0000
  November statements: os-1 workload 10 (4.0000); sm-1 service 2 + 3 = 5 (1.7500), workload -10 (-4.0000): -2.2500
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from typing import TYPE_CHECKING

import pytest

from points.v1 import balances_pb2, directory_pb2, work_events_pb2
from tests.api.calls import Staffed, balance, work
from tests.api.ledger_calls import amendment, close_period, every_statement, reversal, statement_for, statements_page

if TYPE_CHECKING:
    from tests.conftest import Client

Recorded = dict[str, work_events_pb2.RecordWorkEventResponse]


@pytest.fixture
def october_closed(client: Client, staffed_outlet: Staffed) -> Recorded:
    """The work before October closes (module docstring), then 2026-10 closed; returns the events by request id."""
    recorded = {
        r.request_id: client.work.RecordWorkEvent(r)
        for r in (
            work("sm-oct-served", "sm-1", "customer_served", "20", "2026-10-15"),
            work("sm-oct-counter", "sm-1", "counter_transaction", "10", "2026-10-20"),
            work("os-oct-duty", "os-1", "duty_day", "1", "2026-10-21"),
            work("sm-nov-served", "sm-1", "customer_served", "4", "2026-11-02"),
        )
    }
    close_period(client, "2026-10")
    return recorded


def late_october_news(client: Client, october_closed: Recorded) -> int:
    """A late October event, a reversal and an amendment of October events; returns the last position."""
    client.work.RecordWorkEvent(work("sm-oct-late", "sm-1", "customer_served", "6", "2026-10-31"))
    client.work.CorrectWorkEvent(reversal("c-rev", october_closed["sm-oct-counter"].event_id, "sm-1"))
    return client.work.CorrectWorkEvent(amendment("c-amend", october_closed["os-oct-duty"].event_id, "os-1", quantity="2")).position


def adjustments(statement: balances_pb2.Statement) -> list[tuple[str, str, str, str]]:
    return [(a.from_period, a.dimension, a.points, a.weighted_points) for a in statement.adjustments]


def test_late_work_and_corrections_are_adjustments_from_the_closed_month(client: Client, october_closed: Recorded) -> None:
    position = late_october_news(client, october_closed)

    os_1, sm_1 = every_statement(client, "2026-11", min_position=position)

    assert (os_1.employee_id, os_1.total, adjustments(os_1)) == ("os-1", "4.0000", [("2026-10", "workload", "10.0000", "4.0000")])
    assert (sm_1.employee_id, sm_1.total, adjustments(sm_1)) == (
        "sm-1", "-2.2500", [("2026-10", "service", "3.0000", "1.0500"), ("2026-10", "workload", "-10.0000", "-4.0000")],
    )  # fmt: skip
    assert [(d.dimension, d.points, d.weighted_points) for d in sm_1.work] == [("service", "2.0000", "0.7000")]  # November's own work
    assert (sm_1.closed, sm_1.statement_digest) == (False, "")
    assert (sm_1.employee.outlet_id, sm_1.employee.outlet_class, sm_1.employee.role) == (
        "north-01", directory_pb2.OUTLET_CLASS_A, directory_pb2.ROLE_SERVICE_MANAGER,
    )  # fmt: skip
    # a negative month pays nothing and carries the rest (example policy: 1.00 CNY a service manager's point, carry_forward)
    assert (sm_1.pay.currency, sm_1.pay.gross_amount, sm_1.pay.amount, sm_1.pay.carried_forward) == ("CNY", "-2.25", "0.00", "-2.25")
    assert (os_1.pay.gross_amount, os_1.pay.amount) == ("4.80", "4.80")  # 4.0000 x 1.20


def test_the_closed_months_statements_stay_byte_for_byte(client: Client, october_closed: Recorded) -> None:
    before = [s.SerializeToString(deterministic=True) for s in every_statement(client, "2026-10")]

    position = late_october_news(client, october_closed)

    after = every_statement(client, "2026-10", min_position=position)
    assert [s.SerializeToString(deterministic=True) for s in after] == before
    assert [(s.employee_id, s.total, s.closed, len(s.statement_digest)) for s in after] == [
        ("os-1", "4.0000", True, 64),
        ("sm-1", "7.5000", True, 64),
    ]


def test_the_closed_months_balance_stays_and_the_adjustments_count_in_the_open_one(client: Client, october_closed: Recorded) -> None:
    position = late_october_news(client, october_closed)

    assert balance(client.balances, "sm-1", "2026-10", min_position=position).balance.total == "7.5000"
    assert balance(client.balances, "sm-1", "2026-11", min_position=position).balance.total == "-2.2500"
    assert balance(client.balances, "os-1", "2026-10", min_position=position).balance.total == "4.0000"
    assert balance(client.balances, "os-1", "2026-11", min_position=position).balance.total == "4.0000"


def test_a_closed_months_listing_reflects_at_least_the_close(client: Client, october_closed: Recorded) -> None:
    response = statements_page(client, "2026-10")

    assert response.position >= max(r.position for r in october_closed.values())
    assert [s.employee_id for s in response.statements] == ["os-1", "sm-1"]


# -- paging while work is recorded ------------------------------------------------------------------


def register_manager(client: Client, employee_id: str) -> None:
    client.directory.RegisterEmployee(
        directory_pb2.RegisterEmployeeRequest(
            employee_id=employee_id, role=directory_pb2.ROLE_SERVICE_MANAGER, outlet_id="north-01", effective_from="2026-01-01"
        )
    )


@dataclass(frozen=True)
class Listed:
    totals: dict[str, str]  # employee -> expected November total
    position: int  # of the last write


@pytest.fixture
def ten_managers_in_november(client: Client, staffed_outlet: Staffed) -> Listed:
    """Service managers p00..p09 at north-01, p0{i} with i+1 counter transactions in November (0.4 x (i+1) weighted).
    sm-1 and os-1 have no November work."""
    totals, position = {}, 0
    for i in range(10):
        employee_id = f"p{i:02d}"
        register_manager(client, employee_id)
        position = client.work.RecordWorkEvent(work(f"{employee_id}-1", employee_id, "counter_transaction", str(i + 1))).position
        totals[employee_id] = str(Decimal("0.4000") * (i + 1))
    return Listed(totals, position)


def test_statements_page_as_of_one_position_while_work_is_recorded(client: Client, ten_managers_in_november: Listed) -> None:
    interleaved = iter([("a-new", "p00"), ("p035", "p04"), ("z-new", "p09")])  # newcomers before, between, after; more work
    response = statements_page(client, "2026-11", page_size=3, min_position=ten_managers_in_november.position)
    pages = [response]
    while response.next_page_token:
        newcomer, existing = next(interleaved)
        register_manager(client, newcomer)
        client.work.RecordWorkEvent(work(f"{newcomer}-1", newcomer, "counter_transaction", "100"))
        last = client.work.RecordWorkEvent(work(f"{existing}-{newcomer}", existing, "counter_transaction", "100")).position
        balance(client.balances, existing, min_position=last)  # booked before the next page is read
        response = statements_page(client, "2026-11", page_size=3, page_token=response.next_page_token)
        pages.append(response)

    listed = [s for p in pages for s in p.statements]
    assert [len(p.statements) for p in pages] == [3, 3, 3, 1]
    assert {p.position for p in pages} == {pages[0].position}
    assert [s.employee_id for s in listed] == sorted(ten_managers_in_november.totals)
    assert {s.employee_id: s.total for s in listed} == ten_managers_in_november.totals
    assert [s.employee_id for s in every_statement(client, "2026-11", min_position=last)] == [
        "a-new", "p00", "p01", "p02", "p03", "p035", "p04", "p05", "p06", "p07", "p08", "p09", "z-new",
    ]  # fmt: skip


def test_an_open_months_statement_has_no_digest(client: Client, staffed_outlet: Staffed) -> None:
    recorded = client.work.RecordWorkEvent(work("sm-a", "sm-1", "counter_transaction", "12"))

    statement = statement_for(client, "sm-1", "2026-11", min_position=recorded.position)

    assert (statement.total, statement.event_count, statement.closed, statement.statement_digest) == ("4.8000", 1, False, "")
