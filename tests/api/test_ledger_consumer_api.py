"""A payroll system that only reads WatchLedger rebuilds every statement: points, adjustments, counts and pay.

The consumer knows nothing but the stream: booked lines (who, where, which months, what a point is worth),
period closes and published pay rules. It groups the lines by employee and pay month, values them, rounds each
month once by the rules in force on its last day as published before its close (or by now, while open), carries
negative months, and must arrive at what ListStatements says, field for field (the employee's name, outlet and role
come from the directory, not the stream, and are left out).
"""

from __future__ import annotations

import calendar
from collections import defaultdict
from dataclasses import dataclass, field
from decimal import ROUND_DOWN, ROUND_HALF_EVEN, ROUND_HALF_UP, Decimal
from typing import TYPE_CHECKING

from points.v1 import balances_pb2, policies_pb2, work_events_pb2
from tests.api.calls import Staffed, work
from tests.api.ledger_calls import amendment, close_period, every_statement, reversal
from tests.support.policy_versions import version_of

if TYPE_CHECKING:
    from tests.conftest import Client, Clock

ROUNDING = {"half_up": ROUND_HALF_UP, "half_even": ROUND_HALF_EVEN, "down": ROUND_DOWN}


@dataclass
class Month:
    work: dict[str, list[Decimal]] = field(default_factory=lambda: defaultdict(lambda: [Decimal(0), Decimal(0)]))
    adjustments: dict[tuple[str, str], list[Decimal]] = field(default_factory=lambda: defaultdict(lambda: [Decimal(0), Decimal(0)]))
    events: set[str] = field(default_factory=set)
    valued: list[tuple[str, Decimal]] = field(default_factory=list)


class Consumer:
    """Everything it knows came off the stream."""

    def __init__(self) -> None:
        self.months: dict[tuple[str, str], Month] = defaultdict(Month)  # (employee, pay month)
        self.closes: dict[str, int] = {}  # pay month -> position of its close
        self.rules: list[tuple[int, str, balances_pb2.PayRulesPublished]] = []  # (position, effective_from, entry)
        self.position = 0

    def take(self, entry: balances_pb2.WatchLedgerResponse) -> None:
        self.position = entry.position
        if entry.HasField("period_closed"):
            self.closes[entry.period_closed.period] = entry.position
        if entry.HasField("pay_rules_published"):
            self.rules.append((entry.position, entry.pay_rules_published.effective_from, entry.pay_rules_published))
        for line in entry.lines:
            month = self.months[(line.employee_id, line.booked_period)]
            row = month.work[line.dimension] if line.period == line.booked_period else month.adjustments[(line.period, line.dimension)]
            row[0] += Decimal(line.points)
            row[1] += Decimal(line.weighted_points)
            month.events.add(line.event_id)
            month.valued.append((line.point_value, Decimal(line.weighted_points)))

    def rules_for(self, pay_month: str) -> policies_pb2.PayRules | None:
        year, number = int(pay_month[:4]), int(pay_month[5:])
        last_day = f"{pay_month}-{calendar.monthrange(year, number)[1]:02d}"
        bound = self.closes.get(pay_month, self.position)
        in_force = None
        for position, effective_from, entry in self.rules:
            if position <= bound and effective_from <= last_day:
                in_force = entry
        return in_force.rules if in_force is not None and in_force.HasField("rules") else None

    def statement(self, employee_id: str, pay_month: str) -> balances_pb2.Statement:
        month = self.months[(employee_id, pay_month)]
        total = sum((w for _, w in month.work.values()), Decimal("0.0000")) + sum((w for _, w in month.adjustments.values()), Decimal(0))
        statement = balances_pb2.Statement(
            employee_id=employee_id,
            period=pay_month,
            total=f"{total:.4f}",
            work=[balances_pb2.DimensionPoints(dimension=d, points=f"{p:.4f}", weighted_points=f"{w:.4f}") for d, (p, w) in sorted(month.work.items())],
            adjustments=[
                balances_pb2.Adjustment(from_period=m, dimension=d, points=f"{p:.4f}", weighted_points=f"{w:.4f}")
                for (m, d), (p, w) in sorted(month.adjustments.items())
            ],
            event_count=len(month.events),
            closed=pay_month in self.closes,
        )
        pay = self.pay(employee_id, pay_month)
        if pay is not None:
            statement.pay.CopyFrom(pay)
        return statement

    def pay(self, employee_id: str, pay_month: str) -> balances_pb2.StatementPay | None:
        carried, found = Decimal(0), None
        for (employee, month_key), month in sorted(self.months.items(), key=lambda item: item[0][1]):
            if employee != employee_id or month_key > pay_month:
                continue
            rules = self.rules_for(month_key)
            if rules is None:
                continue
            quantum = Decimal(1).scaleb(-rules.decimal_places)
            exact = sum((w * Decimal(v) for v, w in month.valued if v), Decimal(0))
            gross = exact.quantize(quantum, rounding=ROUNDING[rules.rounding])
            net = gross + carried
            amount, carry = (max(net, Decimal(0)), min(net, Decimal(0))) if rules.negative_months == "carry_forward" else (net, Decimal(0))
            unvalued = sum((w for v, w in month.valued if not v), Decimal("0.0000"))
            found = balances_pb2.StatementPay(
                currency=rules.currency, exact_amount=str(exact), gross_amount=str(gross), carried_in=str(carried.quantize(quantum)),
                amount=str(amount.quantize(quantum)), carried_forward=str(carry.quantize(quantum)), unvalued_points=str(unvalued),
                decimal_places=rules.decimal_places, rounding=rules.rounding, negative_months=rules.negative_months,
            )  # fmt: skip
            carried = carry
        return found if found is not None and self._has(employee_id, pay_month) else None

    def _has(self, employee_id: str, pay_month: str) -> bool:
        return (employee_id, pay_month) in self.months


def consume(client: Client, upto: int) -> Consumer:
    consumer = Consumer()
    stream = client.balances.WatchLedger(balances_pb2.WatchLedgerRequest(from_position=0), timeout=30)
    for entry in stream:
        consumer.take(entry)
        if entry.position >= upto:
            break
    stream.cancel()
    return consumer


def test_a_consumer_of_the_ledger_alone_rebuilds_every_statement(client: Client, staffed_outlet: Staffed, clock: Clock) -> None:
    w = client.work
    sm, os_ = staffed_outlet.manager_id, staffed_outlet.supervisor_id
    october = w.RecordWorkEvent(work("sm-oct", sm, "counter_transaction", "12", "2026-10-05"))
    w.RecordWorkEvent(work("os-oct", os_, "duty_day", "1", "2026-10-06"))
    w.RecordWorkEvent(work("sm-complaint", sm, "justified_complaint", "1", "2026-10-07"))  # a negative October for sm
    served = w.RecordWorkEvent(work("sm-nov", sm, "customer_served", "20", "2026-11-02"))
    close_period(client, "2026-10")
    # service managers' points worth 1.25 from 2026-11-10 (and the rounding goes down)
    dearer = version_of("2026.2", "2026-11-10").replace("service_manager = { default = 1.00, C = 1.10 }", "service_manager = 1.25")
    from points.v1 import policies_pb2_grpc

    policies_pb2_grpc.PolicyServiceStub(client.channel).PublishPolicy(
        policies_pb2.PublishPolicyRequest(document=dearer.replace('rounding = "half_up"', 'rounding = "down"'), reason="rates", published_by="hq"),
        timeout=30,
    )
    w.RecordWorkEvent(work("sm-late", sm, "customer_served", "7", "2026-10-31"))  # late: November, at October's 1.00
    w.CorrectWorkEvent(reversal("c-rev", october.event_id, sm))
    w.CorrectWorkEvent(amendment("c-amend", served.event_id, sm, quantity="33", occurred_on="2026-11-12"))  # now under 1.25
    w.RecordWorkEvents(
        work_events_pb2.RecordWorkEventsRequest(requests=[work(f"os-{i}", os_, "counter_review", "3", f"2026-11-{10 + i:02d}") for i in range(5)])
    )
    clock.advance(days=4)  # 2026-12-02
    close_period(client, "2026-11")
    last = w.RecordWorkEvent(work("sm-nov-late", sm, "counter_transaction", "3", "2026-11-29")).position  # December

    consumer = consume(client, last)

    compared = 0
    for month in ("2026-10", "2026-11", "2026-12"):
        listed = every_statement(client, month, min_position=last)
        assert listed, month
        for statement in listed:
            rebuilt = consumer.statement(statement.employee_id, month)
            rebuilt.employee.CopyFrom(statement.employee)  # the directory's words, not the stream's
            rebuilt.statement_digest = statement.statement_digest  # a digest of what is compared field for field
            assert rebuilt == statement, f"{statement.employee_id} {month}"
            compared += 1
    assert compared >= 5
    november_sm = consumer.statement(sm, "2026-11")
    assert november_sm.adjustments and november_sm.pay.carried_in != "0.00"  # adjustments and a carried negative October
