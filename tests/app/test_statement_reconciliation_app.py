"""Property: whatever is recorded, corrected and closed, every statement reconciles with the lines booked in its month.

Random histories (work of two employees over August to November, reversals, amendments, point values changed by a
retroactive version, months closed in order by a proposer and an approver) are applied to a fresh store; then for every
pay month and employee:
  - each work row is the lines of work done in the month, each adjustment row the lines of one earlier month, per
    dimension: every booked line in exactly one row;
  - the total is the sum of the weighted points of every line booked in the month, and of the rows;
  - event_count is the number of work events with lines booked in the month (never negative);
  - the pay's exact amount is the sum of weighted points x each line's point value;
  - the CSV export's rows sum, column by column, to the statements' totals and amounts (nothing counted twice);
  - a closed month's statement (and digest) is the same after everything that came later.
"""

from __future__ import annotations

import uuid
from collections import defaultdict
from datetime import date, datetime, timedelta, timezone
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from points.api.convert import statement_message
from points.cli_payroll import statement_rows
from points.projections.ledger_rows import from_units
from points.server import PointsService, Settings, build_service
from tests.app.ledger_reads import all_statements, close_month, correct, explained_lines
from tests.app.work_requests import work
from tests.conftest import Clock, drop_schema, new_postgres_schema_url
from tests.faults.budget import scaled
from tests.support.policy_versions import version_of

EMPLOYEES = {"e1": "service_manager", "e2": "operations_supervisor"}
KINDS = {"service_manager": ("counter_transaction", "customer_served", "justified_complaint"), "operations_supervisor": ("duty_day", "compliance_finding")}
START = datetime(2026, 9, 10, 9, 0, tzinfo=timezone.utc)
MONTHS = ("2026-08", "2026-09", "2026-10", "2026-11")

day_offsets = st.integers(0, 100)  # days after 2026-08-01, never after today
record = st.tuples(st.just("record"), st.sampled_from(sorted(EMPLOYEES)), st.integers(0, 2), st.integers(1, 30), day_offsets)
close = st.tuples(st.just("close"))
advance = st.tuples(st.just("advance"), st.integers(5, 25))
steps = st.lists(
    st.one_of(
        record, record, record, record,  # mostly work
        st.tuples(st.just("reverse"), st.integers(0, 50)),
        st.tuples(st.just("amend"), st.integers(0, 50), st.integers(1, 30), day_offsets),
        close, close, advance, advance,
        st.tuples(st.just("reprice")),
    ),
    min_size=20,
    max_size=45,
)


def day_of(offset: int, today: date) -> str:
    return min(date(2026, 8, 1) + timedelta(days=offset), today).isoformat()


class History:
    def __init__(self, service: PointsService, clock: Clock) -> None:
        self.service, self.clock = service, clock
        self.events: list[tuple[str, str]] = []  # (event id, employee)
        self.frozen: dict[str, list[Any]] = {}  # closed month -> its statements when it closed
        self.serial = 0
        self.repriced = False

    def today(self) -> date:
        return self.clock().date()

    def apply(self, step: tuple[Any, ...]) -> None:
        app = self.service.app
        self.serial += 1
        kind = step[0]
        if kind == "record":
            _, employee, which, quantity, offset = step
            kinds = KINDS[EMPLOYEES[employee]]
            recorded = app.record_work_event(
                work(f"w{self.serial}", employee_id=employee, kind=kinds[which % len(kinds)], quantity=str(quantity), occurred_on=day_of(offset, self.today()))
            )
            self.events.append((recorded.event_id, employee))
        elif kind in ("reverse", "amend") and self.events:
            event_id, employee = self.events[step[1] % len(self.events)]
            try:
                if kind == "reverse":
                    correct(app, event_id, f"c{self.serial}", employee_id=employee, reverse=True)
                else:
                    correct(app, event_id, f"c{self.serial}", employee_id=employee, quantity=str(step[2]), occurred_on=day_of(step[3], self.today()))
            except Exception as refused:  # noqa: BLE001 - reversed already, or the amendment changes nothing
                assert getattr(refused, "reason", "") in ("ALREADY_REVERSED", "EVENT_REVERSED", "AMENDMENT_CHANGES_NOTHING"), refused
        elif kind == "close":
            self.service.projector.catch_up()
            upcoming = self.service.periods.calendar().next_to_close
            if upcoming and upcoming < self.today().strftime("%Y-%m"):
                close_month(self.service, upcoming)
                self.frozen[upcoming] = all_statements(self.service, upcoming)
        elif kind == "advance" and self.today() + timedelta(days=step[1]) < date(2026, 12, 1):
            self.clock.advance(days=step[1])
        elif kind == "reprice" and not self.repriced:  # a retroactive version: service managers' points worth 1.35 from 2026-09-01
            document = version_of("2026.2", "2026-09-01").replace("service_manager = { default = 1.00, C = 1.10 }", "service_manager = 1.35")
            self.service.policies.publish(document=document, source="p.toml", effective_from="", published_by="hq", reason="rates")
            self.repriced = True


def check_reconciles(service: PointsService, frozen: dict[str, list[Any]]) -> int:
    checked = 0
    for month in MONTHS:
        statements = all_statements(service, month)
        if month in frozen:
            assert statements == frozen[month], f"closed {month} moved"
        for statement in statements:
            lines = explained_lines(service, statement.employee_id, month)
            work_rows: dict[str, list[int]] = defaultdict(lambda: [0, 0])
            adjustment_rows: dict[tuple[str, str], list[int]] = defaultdict(lambda: [0, 0])
            for line in lines:
                assert line.booked_month == month
                row = work_rows[line.dimension] if line.month == month else adjustment_rows[(line.month, line.dimension)]
                row[0] += line.points
                row[1] += line.weighted_points
            assert {d.dimension: (d.points, d.weighted_points) for d in statement.work} == {
                d: (from_units(p), from_units(w)) for d, (p, w) in work_rows.items()
            }
            assert {(a.from_period, a.dimension): (a.points, a.weighted_points) for a in statement.adjustments} == {
                k: (from_units(p), from_units(w)) for k, (p, w) in adjustment_rows.items()
            }
            total = from_units(sum(line.weighted_points for line in lines))
            rows = sum((d.weighted_points for d in statement.work), Decimal(0)) + sum((a.weighted_points for a in statement.adjustments), Decimal(0))
            assert statement.total == total == rows
            assert statement.event_count == len({line.event_id for line in lines}) >= 0
            assert statement.pay is not None
            exact = sum((from_units(line.weighted_points) * Decimal(line.point_value) for line in lines if line.point_value), Decimal(0))
            assert statement.pay.exact == exact
            csv_rows = list(statement_rows(statement_message(statement)))
            assert sum((Decimal(r["weighted_points"]) for r in csv_rows if r.get("weighted_points")), Decimal(0)) == statement.total
            assert [Decimal(r["total_points"]) for r in csv_rows if r.get("total_points")] == [statement.total]
            assert [Decimal(r["amount"]) for r in csv_rows if r.get("amount")] == [statement.pay.amount]
            checked += 1
    return checked


@pytest.mark.parametrize("backend", ["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def test_every_statement_reconciles_with_its_booked_lines(backend: str, request: pytest.FixtureRequest, tmp_path: Path) -> None:
    server = request.getfixturevalue("postgres_server") if backend == "postgresql" else None
    checked: list[int] = []
    closed: list[int] = []

    @settings(max_examples=scaled(8), deadline=None, database=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])
    @given(history=steps)
    def reconciles(history: list[tuple[Any, ...]]) -> None:
        if server is None:
            url, cleanup = f"sqlite:///{tmp_path}/{uuid.uuid4().hex[:12]}.db", lambda: None
        else:
            url, schema = new_postgres_schema_url(server)
            cleanup = lambda: drop_schema(server, schema)  # noqa: E731
        clock = Clock(START)
        service = build_service(Settings(database_url=url, clock=clock), start_projector=False)
        try:
            app = service.app
            app.register_outlet(outlet_id="o1", outlet_class="C", region="north")
            for employee, role in EMPLOYEES.items():
                app.register_employee(employee_id=employee, role=role, outlet_id="o1", effective_from="2026-01-01")
            run = History(service, clock)
            for step in history:
                run.apply(step)
            service.projector.catch_up()
            checked.append(check_reconciles(service, run.frozen))
            closed.append(len(run.frozen))
        finally:
            service.close()
            cleanup()

    reconciles()
    print(f"{backend}: {sum(checked)} statements checked, {sum(closed)} months closed, over {len(checked)} histories")
    assert sum(checked) > 0 and sum(closed) > 0, "no statement was checked, or no month closed"
