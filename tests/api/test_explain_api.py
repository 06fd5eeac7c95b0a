"""BalanceService.ExplainBalance through a real server: lines that add up to the balance, pages, tokens, caps.

Worked numbers (policies/example.toml 2026.1; service manager workload .40 quality .15 service .35;
operations supervisor workload .40):
  sm-1  counter_transaction 12               12 x 1              = 12     -> 4.8000
        customer_served 7                    7 x .5              = 3.5    -> 1.2250
        smart_machine_review 2.5             2.5 x .4            = 1      -> 0.1500
        justified_complaint 1                -30                          -> -10.5000
        counter_transaction 10, high         10 x 1.5            = 15     -> 6.0000
                                                                  total       1.6750
  os-1  counter_authorisation 400            400 x .5 = 200, day cap 150  -> 60.0000
"""

from __future__ import annotations

from decimal import Decimal
from typing import TYPE_CHECKING

import grpc
import pytest

from points.v1 import balances_pb2, directory_pb2
from tests.api.calls import Staffed, balance, work
from tests.api.rich_status import assert_rejected

if TYPE_CHECKING:
    from tests.conftest import Client

MANAGER_WORK = [
    work("sm-a", "sm-1", "counter_transaction", "12"),
    work("sm-b", "sm-1", "customer_served", "7"),
    work("sm-c", "sm-1", "smart_machine_review", "2.5"),
    work("sm-d", "sm-1", "justified_complaint", "1"),
    work("sm-e", "sm-1", "counter_transaction", "10", attributes={"complexity": "high"}),
]


def explain(
    client: Client, employee_id: str = "sm-1", period: str = "2026-11", *, page_size: int = 0, page_token: str = "", min_position: int = 0
) -> balances_pb2.ExplainBalanceResponse:
    return client.balances.ExplainBalance(  # type: ignore[no-any-return]
        balances_pb2.ExplainBalanceRequest(
            employee_id=employee_id, period=period, page_size=page_size, page_token=page_token, min_position=min_position
        ),
        timeout=10,
    )


@pytest.fixture
def managers_month(client: Client, staffed_outlet: Staffed) -> list[int]:
    """sm-1's five November events recorded; returns their positions."""
    return [client.work.RecordWorkEvent(request).position for request in MANAGER_WORK]


def test_the_lines_add_up_to_the_balance_exactly(client: Client, managers_month: list[int]) -> None:
    read = balance(client.balances, "sm-1", min_position=managers_month[-1])

    explained = explain(client, min_position=managers_month[-1])

    assert sum(Decimal(x.weighted_points) for x in explained.lines) == Decimal(explained.balance.total)
    assert explained.balance.total == read.balance.total == "1.6750"
    assert explained.balance == read.balance
    assert explained.position >= managers_month[-1]


def test_each_line_names_its_event_rule_version_and_arithmetic(client: Client, managers_month: list[int]) -> None:
    lines = explain(client, min_position=managers_month[-1]).lines

    assert [
        (x.position, x.kind, x.quantity, x.rule_id, x.policy_version, x.dimension, x.multiplier, x.points, x.weighted_points)
        for x in lines
    ] == [
        (managers_month[0], "counter_transaction", "12", "sm-counter-transaction", "2026.1", "workload", "1", "12.0000", "4.8000"),
        (managers_month[1], "customer_served", "7", "sm-customer-served", "2026.1", "service", "1.0", "3.5000", "1.2250"),
        (managers_month[2], "smart_machine_review", "2.5", "sm-smart-machine-review", "2026.1", "quality", "1", "1.0000", "0.1500"),
        (managers_month[3], "justified_complaint", "1", "sm-justified-complaint", "2026.1", "service", "1", "-30.0000", "-10.5000"),
        (managers_month[4], "counter_transaction", "10", "sm-counter-transaction-complex", "2026.1", "workload", "1", "15.0000", "6.0000"),
    ]  # fmt: skip
    assert all(x.occurred_on == "2026-11-02" and x.cap_applied == "" and x.points_before_cap == x.points for x in lines)
    assert len({x.event_id for x in lines}) == 5


def test_a_capped_line_shows_the_points_before_the_cap_and_the_cap(client: Client, staffed_outlet: Staffed) -> None:
    recorded = client.work.RecordWorkEvent(work("os-a", "os-1", "counter_authorisation", "400"))

    [line] = explain(client, "os-1", min_position=recorded.position).lines

    assert (recorded.points, line.points_before_cap, line.cap_applied, line.points, line.weighted_points) == (
        "80.0000", "200.0000", "day", "150.0000", "60.0000",
    )  # fmt: skip  # the write answers before caps: 200 x .40 = 80
    assert balance(client.balances, "os-1", min_position=recorded.position).balance.total == "60.0000"


def test_a_class_c_outlet_shows_its_multiplier(client: Client, staffed_outlet: Staffed) -> None:
    client.directory.RegisterOutlet(
        directory_pb2.RegisterOutletRequest(outlet_id="south-09", outlet_class=directory_pb2.OUTLET_CLASS_C, region="south")
    )
    recorded = client.work.RecordWorkEvent(work("sm-c1", "sm-1", "customer_served", "10", outlet_id="south-09"))

    [line] = explain(client, min_position=recorded.position).lines

    # 10 x .5 x 1.2 = 6, x .35 = 2.1
    assert (line.multiplier, line.points, line.weighted_points) == ("1.2", "6.0000", "2.1000")


def test_pages_of_two_give_every_line_once_in_position_order(client: Client, managers_month: list[int]) -> None:
    pages = [explain(client, page_size=2, min_position=managers_month[-1])]
    while pages[-1].next_page_token:
        pages.append(explain(client, page_size=2, page_token=pages[-1].next_page_token))

    assert [len(p.lines) for p in pages] == [2, 2, 1]
    assert [x.position for p in pages for x in p.lines] == managers_month
    assert {p.position for p in pages} == {pages[0].position}
    assert {p.balance.total for p in pages} == {"1.6750"}


def test_pages_stay_as_of_the_first_page_while_work_is_recorded(client: Client, managers_month: list[int]) -> None:
    first = explain(client, page_size=2, min_position=managers_month[-1])
    late = client.work.RecordWorkEvent(work("sm-late", "sm-1", "counter_transaction", "100"))  # +40.0000
    balance(client.balances, "sm-1", min_position=late.position)  # booked before the next pages are read

    rest = [explain(client, page_size=2, page_token=first.next_page_token)]
    while rest[-1].next_page_token:
        rest.append(explain(client, page_size=2, page_token=rest[-1].next_page_token))

    assert [x.position for p in [first, *rest] for x in p.lines] == managers_month
    assert {p.balance.total for p in [first, *rest]} == {"1.6750"}
    assert {p.position for p in rest} == {first.position}
    assert explain(client, min_position=late.position).balance.total == "41.6750"


@pytest.mark.parametrize(("employee_id", "period"), [("os-1", "2026-11"), ("sm-1", "2026-10"), ("sm-1", "2026")])
def test_a_page_token_for_another_employee_or_period_is_invalid_argument(
    client: Client, managers_month: list[int], employee_id: str, period: str
) -> None:
    token = explain(client, page_size=2, min_position=managers_month[-1]).next_page_token

    with pytest.raises(grpc.RpcError) as refused:
        explain(client, employee_id, period, page_size=2, page_token=token)

    assert_rejected(refused.value, grpc.StatusCode.INVALID_ARGUMENT, "INVALID_PAGE_TOKEN", field="page_token")


@pytest.mark.parametrize(
    ("employee_id", "period", "code", "reason"),
    [
        ("ghost", "2026-11", grpc.StatusCode.NOT_FOUND, "EMPLOYEE_NOT_FOUND"),
        ("sm-1", "2026-13", grpc.StatusCode.INVALID_ARGUMENT, "MALFORMED_PERIOD"),
        ("sm-1", "November", grpc.StatusCode.INVALID_ARGUMENT, "MALFORMED_PERIOD"),
    ],
)
def test_explain_refusals(client: Client, staffed_outlet: Staffed, employee_id: str, period: str, code: grpc.StatusCode, reason: str) -> None:
    with pytest.raises(grpc.RpcError) as refused:
        explain(client, employee_id, period)

    assert_rejected(refused.value, code, reason)


def test_a_negative_page_size_is_invalid_argument(client: Client, staffed_outlet: Staffed) -> None:
    with pytest.raises(grpc.RpcError) as refused:
        explain(client, page_size=-1)

    assert_rejected(refused.value, grpc.StatusCode.INVALID_ARGUMENT, "NEGATIVE_PAGE_SIZE", field="page_size")
