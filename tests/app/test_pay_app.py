"""Points become pay, on a real store: each line valued when booked by the version in force on its date, a statement's
value rounded once by the rules in force on its month's last day (as published by the month's close), negative months
carried.

e1 is a service manager at o1 (class A): the example policy 2026.1 values a point at 1.00 CNY, rounds half up and carries
negative months forward. Counter transactions earn 1 point a unit, weighted 0.40; a justified complaint -30, weighted -10.5.
The fixture clock's today is 2026-11-28.
"""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from points.server import PointsService, Settings, build_service
from tests.app.ledger_reads import close_month, correct, explained_lines, recalculate, statement_of
from tests.app.work_requests import work
from tests.support.policy_versions import version_of

if TYPE_CHECKING:
    from tests.conftest import Clock


SM_VALUE = "service_manager = { default = 1.00, C = 1.10 }"


def version_with(version: str, effective_from: str, *, sm_value: str = "1.00", negative: str = "carry_forward") -> str:
    text = version_of(version, effective_from)
    assert SM_VALUE in text, "example.toml changed: update SM_VALUE"
    return text.replace(SM_VALUE, f"service_manager = {sm_value}").replace(
        'negative_months = "carry_forward"', f'negative_months = "{negative}"'
    )


def publish(service: PointsService, document: str) -> None:
    service.policies.publish(document=document, source="p.toml", effective_from="", published_by="hq", reason="rates")


def values(service: PointsService, period: str) -> list[tuple[str, str, str]]:
    return [(x.occurred_on, x.entry, x.point_value) for x in explained_lines(service, "e1", period)]


@pytest.mark.usefixtures("staffed_outlet")
def test_each_line_is_valued_by_the_version_in_force_on_its_date_as_published_when_booked(idle_service: PointsService) -> None:
    app = idle_service.app
    app.record_work_event(work("before", quantity="10", occurred_on="2026-11-20"))  # booked before 2026.2 exists: 1.00
    idle_service.projector.catch_up()
    publish(idle_service, version_with("2026.2", "2026-11-15", sm_value="2.00"))
    after = app.record_work_event(work("after", quantity="10", occurred_on="2026-11-20"))  # under 2026.2: 2.00
    app.record_work_event(work("earlier-day", quantity="10", occurred_on="2026-11-10"))  # 2026.1's reach: 1.00

    assert values(idle_service, "2026-11") == [("2026-11-20", "recorded", "1.00"), ("2026-11-20", "recorded", "2.00"), ("2026-11-10", "recorded", "1.00")]
    pay = statement_of(idle_service, "e1", "2026-11").pay
    assert pay is not None and (pay.exact, str(pay.gross), str(pay.unvalued_points)) == (Decimal(16), "16.00", "0.0000")  # 4 x 1.00 + 4 x 2.00 + 4 x 1.00
    assert after.booked_period == "2026-11"


@pytest.mark.usefixtures("staffed_outlet")
def test_a_recalculation_revalues_the_lines_it_rescores_and_a_reversal_undoes_a_line_at_its_own_value(idle_service: PointsService) -> None:
    app = idle_service.app
    early = app.record_work_event(work("early", quantity="10", occurred_on="2026-11-20"))
    idle_service.projector.catch_up()
    publish(idle_service, version_with("2026.2", "2026-11-15", sm_value="2.00"))
    idle_service.projector.start()
    try:
        recalculate(idle_service, "rc-1", "2026.2")
    finally:
        idle_service.projector.stop()

    assert values(idle_service, "2026-11") == [
        ("2026-11-20", "recorded", "1.00"), ("2026-11-20", "reversal", "1.00"), ("2026-11-20", "rescored", "2.00"),
    ]  # fmt: skip
    assert str(statement_of(idle_service, "e1", "2026-11").pay.gross) == "8.00"  # type: ignore[union-attr]

    correct(app, early.event_id, "c-rev", reverse=True)
    assert values(idle_service, "2026-11")[-1] == ("2026-11-20", "reversal", "2.00")
    assert str(statement_of(idle_service, "e1", "2026-11").pay.gross) == "0.00"  # type: ignore[union-attr]


@pytest.mark.usefixtures("staffed_outlet")
def test_a_closed_months_pay_keeps_the_rules_it_closed_under(idle_service: PointsService, clock: Clock) -> None:
    app = idle_service.app
    app.record_work_event(work("complaint", kind="justified_complaint", occurred_on="2026-10-05"))  # -10.5000
    close_month(idle_service, "2026-10")
    october = statement_of(idle_service, "e1", "2026-10")
    assert october.pay is not None
    assert (str(october.pay.gross), str(october.pay.amount), str(october.pay.carried_forward)) == ("-10.50", "0.00", "-10.50")

    # a version that reaches back into October (from the 20th) and pays negative months as they are
    publish(idle_service, version_with("2026.2", "2026-10-20", negative="pay_negative"))
    app.record_work_event(work("november", quantity="50", occurred_on="2026-11-03"))  # 20.0000 -> 20.00

    assert statement_of(idle_service, "e1", "2026-10") == october  # closed under carry_forward: unchanged, digest too
    november = statement_of(idle_service, "e1", "2026-11").pay
    assert november is not None
    assert (november.rules.negative_months, str(november.carried_in), str(november.amount)) == ("pay_negative", "-10.50", "9.50")


def test_a_store_whose_policy_declares_no_values_has_statements_without_pay(database_url: str, clock: Clock, tmp_path: Path) -> None:
    text = version_of("2026.1", "2026-01-01")
    unpaid = tmp_path / "unpaid.toml"
    unpaid.write_text(text[: text.index("# What a point is worth")], encoding="utf-8")
    service = build_service(Settings(database_url=database_url, clock=clock, policy_path=unpaid), start_projector=False)
    try:
        service.app.register_outlet(outlet_id="o1", outlet_class="A", region="north")
        service.app.register_employee(employee_id="e1", role="service_manager", outlet_id="o1", effective_from="2026-01-01")
        service.app.record_work_event(work("w", quantity="5", occurred_on="2026-11-02"))

        statement = statement_of(service, "e1", "2026-11")

        assert (statement.pay, str(statement.total)) == (None, "2.0000")
        assert [x.point_value for x in explained_lines(service, "e1", "2026-11")] == [""]
    finally:
        service.close()
