"""Work events: parsing a request, its fingerprint, scoring it against the directory, recording it.

Also here: the domain layer, of which work.py is the top, imports nothing of the outside world.
"""

from __future__ import annotations

import ast
import re
import subprocess
import sys
from collections.abc import Callable
from datetime import date, datetime, timedelta, timezone
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

import points.domain
from points.application.policy_file import load_policy, parse_policy
from points.domain.directory import Employee, Outlet, transfer_fingerprint
from points.domain.errors import AlreadyExists, InvalidRequest
from points.domain.identity import work_event_id_of
from points.domain.policy import Policy, PointsLine
from points.domain.policy_book import PolicyCatalog
from points.domain.work import WorkEvent
from points.domain.scoring import ScoredWork, score_work
from points.domain.work_request import WorkRequest
from tests.support.policy_versions import NOVEMBER_VERSION

TODAY = date(2026, 11, 28)
NOW = datetime(2026, 11, 28, 9, 30, tzinfo=timezone.utc)
SHANGHAI = timezone(timedelta(hours=8))  # the outlets' time zone in these tests


def parse(**overrides: Any) -> WorkRequest:
    fields: dict[str, Any] = {
        "request_id": "req-0001",
        "employee_id": "E1001",
        "kind": "counter_transaction",
        "quantity": "12",
        "occurred_on": "2026-05-14",
        "occurred_at": None,
        "outlet_id": "",
        "recorded_by": "supervisor S7",
        "source": "core-banking-feed",
        "attributes": {"complexity": "high", "channel": "counter"},
        "today": TODAY,
        "now": NOW,
        "zone": SHANGHAI,
    }
    fields.update(overrides)
    return WorkRequest.parse(**fields)


def violations_of(**overrides: Any) -> list[tuple[str, str]]:
    with pytest.raises(InvalidRequest) as caught:
        parse(**overrides)
    return [(v.field, v.reason) for v in caught.value.violations]


# -- parsing ------------------------------------------------------------------------


def test_valid_request_parses_into_typed_fields() -> None:
    request = parse(quantity="12.50", outlet_id="O-001")
    assert request.request_id == "req-0001"
    assert request.quantity == Decimal("12.5") and str(request.quantity) == "12.5"
    assert request.occurred_on == date(2026, 5, 14)
    assert request.outlet_id == "O-001"
    assert request.attributes == {"complexity": "high", "channel": "counter"}
    assert request.event_id == work_event_id_of("req-0001")


def test_parsed_request_keeps_its_own_copy_of_the_attributes() -> None:
    attributes = {"complexity": "high"}
    request = parse(attributes=attributes)
    attributes["complexity"] = "low"
    assert request.attributes == {"complexity": "high"}


def test_every_field_mistake_is_reported_at_once() -> None:
    assert violations_of(
        request_id="",
        employee_id="-E1",
        kind="Counter-Transaction",
        quantity="abc",
        occurred_on="2026-12-01",
        outlet_id="O 1",
        recorded_by="a\nb",
        source="s" * 257,
        attributes={"Bad-Name": "v\x00"},
    ) == [
        ("request_id", "MISSING_REQUEST_ID"),
        ("employee_id", "MALFORMED_EMPLOYEE_ID"),
        ("kind", "UNKNOWN_KIND"),
        ("quantity", "MALFORMED_QUANTITY"),
        ("occurred_on", "FUTURE_DATE"),
        ("outlet_id", "MALFORMED_OUTLET_ID"),
        ("recorded_by", "CONTROL_CHARACTERS"),
        ("source", "TEXT_TOO_LONG"),
        ("attributes['Bad-Name']", "MALFORMED_ATTRIBUTE"),
        ("attributes['Bad-Name']", "CONTROL_CHARACTERS"),
    ]


def test_the_error_reason_is_the_first_mistake() -> None:
    with pytest.raises(InvalidRequest) as caught:
        parse(request_id="", quantity="-1")
    assert caught.value.reason == "MISSING_REQUEST_ID"


def test_missing_required_fields_are_each_reported() -> None:
    assert violations_of(request_id="", employee_id="", kind="", quantity="", occurred_on="") == [
        ("request_id", "MISSING_REQUEST_ID"),
        ("employee_id", "MISSING_EMPLOYEE_ID"),
        ("kind", "MISSING_KIND"),
        ("quantity", "MISSING_QUANTITY"),
        ("occurred_on", "MISSING_DATE"),
    ]


def test_work_done_today_is_accepted() -> None:
    assert parse(occurred_on="2026-11-28").occurred_on == TODAY


def test_work_dated_after_the_today_given_is_a_future_date() -> None:
    assert violations_of(occurred_on="2026-11-29") == [("occurred_on", "FUTURE_DATE")]
    # "Future" is relative to the argument, not to the machine's clock.
    assert parse(occurred_on="2026-11-29", today=date(2026, 11, 29), now=NOW + timedelta(days=1)).occurred_on == date(2026, 11, 29)


def test_occurred_at_after_today_is_a_future_date() -> None:
    tomorrow_morning = datetime(2026, 11, 29, 8, 0, tzinfo=timezone.utc)
    assert violations_of(occurred_on="2026-11-28", occurred_at=tomorrow_morning) == [("occurred_at", "FUTURE_DATE")]


def test_occurred_at_later_today_beyond_the_clock_skew_is_a_future_date() -> None:
    assert violations_of(occurred_on="2026-11-28", occurred_at=NOW + timedelta(minutes=6)) == [("occurred_at", "FUTURE_DATE")]
    assert parse(occurred_on="2026-11-28", occurred_at=NOW + timedelta(minutes=4)).occurred_at == NOW + timedelta(minutes=4)


@pytest.mark.parametrize(
    ("occurred_on", "occurred_at"),
    [
        ("2026-11-28", datetime(2026, 11, 27, 16, 0, tzinfo=timezone.utc)),  # 00:00 on the 28th in Shanghai
        ("2026-11-27", datetime(2026, 11, 27, 15, 59, 59, 999999, tzinfo=timezone.utc)),  # 23:59:59.999999 on the 27th
        ("2026-11-28", datetime(2026, 11, 28, 2, 0, tzinfo=timezone(timedelta(hours=-5)))),  # 15:00 on the 28th in Shanghai
    ],
)
def test_occurred_at_on_the_business_date_in_the_outlets_zone_is_accepted(occurred_on: str, occurred_at: datetime) -> None:
    assert parse(occurred_on=occurred_on, occurred_at=occurred_at).occurred_at == occurred_at


@pytest.mark.parametrize(
    ("occurred_on", "occurred_at"),
    [
        ("2026-11-27", datetime(2026, 11, 27, 16, 0, tzinfo=timezone.utc)),  # already the 28th in Shanghai
        ("2026-11-28", datetime(2026, 11, 27, 15, 59, tzinfo=timezone.utc)),  # still the 27th
        ("2026-11-13", datetime(2026, 11, 28, 8, 0, tzinfo=timezone.utc)),  # 15 days apart
    ],
)
def test_occurred_at_on_another_day_than_occurred_on_is_refused(occurred_on: str, occurred_at: datetime) -> None:
    assert violations_of(occurred_on=occurred_on, occurred_at=occurred_at) == [("occurred_at", "OCCURRED_AT_NOT_ON_OCCURRED_ON")]


def test_occurred_at_without_a_time_zone_is_malformed() -> None:
    assert violations_of(occurred_on="2026-11-28", occurred_at=datetime(2026, 11, 28, 8, 0)) == [("occurred_at", "MALFORMED_TIMESTAMP")]


@pytest.mark.parametrize("seconds_nanos", [(10**12, 0), (0, -5), (0, 10**9)])
def test_occurred_at_outside_the_timestamp_range_is_malformed(seconds_nanos: tuple[int, int]) -> None:
    assert violations_of(occurred_on="2026-11-28", occurred_at=seconds_nanos) == [("occurred_at", "MALFORMED_TIMESTAMP")]


@pytest.mark.parametrize("kind", ["CounterTransaction", "counter-transaction", "1st_kind", "counter transaction"])
def test_kind_that_is_not_lower_snake_case_is_refused(kind: str) -> None:
    assert violations_of(kind=kind) == [("kind", "UNKNOWN_KIND")]


def test_thirty_two_attributes_are_accepted_and_thirty_three_are_too_many() -> None:
    assert len(parse(attributes={f"a{i}": "x" for i in range(32)}).attributes) == 32
    assert violations_of(attributes={f"a{i}": "x" for i in range(33)}) == [("attributes", "TOO_MANY_ATTRIBUTES")]


@pytest.mark.parametrize("name", ["Complexity", "complexity-level", "_x", "9lives", "", "a b"])
def test_malformed_attribute_name_is_refused(name: str) -> None:
    assert violations_of(attributes={name: "high"}) == [(f"attributes[{name!r}]", "MALFORMED_ATTRIBUTE")]


def test_attribute_name_with_trailing_newline_is_refused() -> None:
    assert violations_of(attributes={"complexity\n": "high"}) == [("attributes['complexity\\n']", "MALFORMED_ATTRIBUTE")]


@pytest.mark.parametrize(("field", "value"), [("recorded_by", "S7\r\n"), ("source", "feed\x00"), ("attributes", {"note": "a\tb"})])
def test_control_characters_in_text_are_refused(field: str, value: Any) -> None:
    expected_field = "attributes['note']" if field == "attributes" else field
    assert violations_of(**{field: value}) == [(expected_field, "CONTROL_CHARACTERS")]


# -- fingerprints -------------------------------------------------------------------


def test_fingerprint_of_a_known_request_never_changes() -> None:
    # Fingerprints are stored with every work event; a changed hash would turn every retry of an
    # event recorded before the change into REQUEST_ID_REUSED. Hard-coded on purpose.
    assert parse().fingerprint == "1e4f7126a639af1279f49b49ea967a876ad2ba72b9cc308e1ff1a58dd870a676"


def test_fingerprint_ignores_the_request_id() -> None:
    assert parse(request_id="req-A").fingerprint == parse(request_id="req-B").fingerprint


def test_fingerprint_ignores_attribute_order() -> None:
    one = parse(attributes={"complexity": "high", "channel": "counter"})
    other = parse(attributes={"channel": "counter", "complexity": "high"})
    assert one.fingerprint == other.fingerprint


def test_fingerprint_treats_equal_quantities_as_the_same_fact() -> None:
    assert parse(quantity="3").fingerprint == parse(quantity="3.00").fingerprint
    assert parse(quantity="1.5").fingerprint == parse(quantity="1.500").fingerprint


@pytest.mark.parametrize(
    "change",
    [
        {"employee_id": "E1002"},
        {"kind": "customer_served"},
        {"quantity": "13"},
        {"quantity": "12.000001"},
        {"occurred_on": "2026-05-15"},
        {"occurred_at": datetime(2026, 5, 14, 10, 0, tzinfo=timezone.utc)},
        {"outlet_id": "O-001"},
        {"recorded_by": "supervisor S8"},
        {"source": "outlet-system"},
        {"attributes": {"complexity": "low", "channel": "counter"}},
        {"attributes": {"complexity": "high", "channel": "counter", "extra": "1"}},
        {"attributes": {}},
    ],
    ids=lambda change: next(iter(change)),
)
def test_fingerprint_changes_when_any_field_changes(change: dict[str, Any]) -> None:
    assert parse(**change).fingerprint != parse().fingerprint


def test_fingerprint_does_not_confuse_values_across_fields() -> None:
    # A naive concatenation would make these two requests look the same.
    one = parse(recorded_by="ab", source="c")
    other = parse(recorded_by="a", source="bc")
    assert one.fingerprint != other.fingerprint


# -- scoring against the directory --------------------------------------------------


@pytest.fixture(scope="module")
def example_policy() -> Policy:
    return load_policy()


@pytest.fixture
def outlets_o1_and_o2() -> dict[str, Outlet]:
    return {
        "O-001": Outlet.register(outlet_id="O-001", outlet_class="A", region="north", timestamp=NOW),
        "O-002": Outlet.register(outlet_id="O-002", outlet_class="B", region="south", timestamp=NOW),
    }


@pytest.fixture
def find_outlet(outlets_o1_and_o2: dict[str, Outlet]) -> Callable[[str], Outlet | None]:
    return outlets_o1_and_o2.get


@pytest.fixture
def service_manager_at_o1_then_supervisor_at_o2_from_june() -> Employee:
    employee = Employee.register(
        employee_id="E1001", role="service_manager", outlet_id="O-001", effective_from=date(2026, 1, 1), timestamp=NOW
    )
    employee.transfer(
        request_id="T-1",
        fingerprint=transfer_fingerprint("operations_supervisor", "O-002", date(2026, 6, 1)),
        role="operations_supervisor",
        outlet_id="O-002",
        effective_from=date(2026, 6, 1),
        timestamp=NOW,
    )
    return employee


def score_violations(request: WorkRequest, **kwargs: Any) -> list[tuple[str, str]]:
    with pytest.raises(InvalidRequest) as caught:
        score_work(request, **kwargs)
    return [(v.field, v.reason) for v in caught.value.violations]


def test_unknown_employee_is_refused(example_policy: Policy, find_outlet: Callable[[str], Outlet | None]) -> None:
    assert score_violations(parse(), employee=None, find_outlet=find_outlet, policies=PolicyCatalog.of(example_policy)) == [
        ("employee_id", "UNKNOWN_EMPLOYEE")
    ]


def test_work_before_the_first_assignment_is_refused(
    example_policy: Policy,
    find_outlet: Callable[[str], Outlet | None],
    service_manager_at_o1_then_supervisor_at_o2_from_june: Employee,
) -> None:
    assert score_violations(
        parse(occurred_on="2025-12-31"),
        employee=service_manager_at_o1_then_supervisor_at_o2_from_june,
        find_outlet=find_outlet,
        policies=PolicyCatalog.of(example_policy),
    ) == [("occurred_on", "NOT_ASSIGNED_ON_DATE")]


def test_work_at_an_unknown_outlet_is_refused(
    example_policy: Policy,
    find_outlet: Callable[[str], Outlet | None],
    service_manager_at_o1_then_supervisor_at_o2_from_june: Employee,
) -> None:
    assert score_violations(
        parse(outlet_id="O-404"),
        employee=service_manager_at_o1_then_supervisor_at_o2_from_june,
        find_outlet=find_outlet,
        policies=PolicyCatalog.of(example_policy),
    ) == [("outlet_id", "UNKNOWN_OUTLET")]


def test_kind_the_role_has_no_rule_for_is_refused(
    example_policy: Policy,
    find_outlet: Callable[[str], Outlet | None],
    service_manager_at_o1_then_supervisor_at_o2_from_june: Employee,
) -> None:
    assert score_violations(
        parse(kind="duty_day", occurred_on="2026-05-14"),
        employee=service_manager_at_o1_then_supervisor_at_o2_from_june,
        find_outlet=find_outlet,
        policies=PolicyCatalog.of(example_policy),
    ) == [("kind", "UNKNOWN_KIND")]


def test_unknown_outlet_and_unknown_kind_are_reported_together(
    example_policy: Policy,
    find_outlet: Callable[[str], Outlet | None],
    service_manager_at_o1_then_supervisor_at_o2_from_june: Employee,
) -> None:
    assert score_violations(
        parse(kind="no_such_kind", outlet_id="O-404"),
        employee=service_manager_at_o1_then_supervisor_at_o2_from_june,
        find_outlet=find_outlet,
        policies=PolicyCatalog.of(example_policy),
    ) == [("outlet_id", "UNKNOWN_OUTLET"), ("kind", "UNKNOWN_KIND")]


def test_work_before_the_transfer_scores_by_the_service_manager_rules(
    example_policy: Policy,
    find_outlet: Callable[[str], Outlet | None],
    service_manager_at_o1_then_supervisor_at_o2_from_june: Employee,
) -> None:
    scored = score_work(
        parse(kind="counter_transaction", quantity="12", occurred_on="2026-05-31"),
        employee=service_manager_at_o1_then_supervisor_at_o2_from_june,
        find_outlet=find_outlet,
        policies=PolicyCatalog.of(example_policy),
    )
    assert (scored.role, scored.outlet_id, scored.outlet_class) == ("service_manager", "O-001", "A")
    # The request says complexity = high, so the more specific rule applies:
    # 12 x 1.5 = 18.0000 points to workload; x 0.40 = 7.2000
    assert scored.lines == (
        PointsLine(
            "sm-counter-transaction-complex", "2026.1", "workload", Decimal("18.0000"), Decimal("7.2000"),
            multiplier=Decimal(1), weight=Decimal("0.40"), cap_per_period=Decimal(3000),
        ),
    )


def test_work_without_the_matching_attribute_scores_by_the_general_rule(
    example_policy: Policy,
    find_outlet: Callable[[str], Outlet | None],
    service_manager_at_o1_then_supervisor_at_o2_from_june: Employee,
) -> None:
    scored = score_work(
        parse(kind="counter_transaction", quantity="12", occurred_on="2026-05-31", attributes={"complexity": "low"}),
        employee=service_manager_at_o1_then_supervisor_at_o2_from_june,
        find_outlet=find_outlet,
        policies=PolicyCatalog.of(example_policy),
    )
    # 12 x 1 = 12.0000 points to workload; x 0.40 = 4.8000
    assert [(line.rule_id, line.points, line.weighted_points) for line in scored.lines] == [
        ("sm-counter-transaction", Decimal("12.0000"), Decimal("4.8000"))
    ]


def test_work_dated_before_any_policy_is_refused(
    example_policy: Policy,
    find_outlet: Callable[[str], Outlet | None],
) -> None:
    employee = Employee.register(
        employee_id="E1001", role="service_manager", outlet_id="O-001", effective_from=date(2025, 1, 1), timestamp=NOW
    )
    assert score_violations(
        parse(occurred_on="2025-12-31"), employee=employee, find_outlet=find_outlet, policies=PolicyCatalog.of(example_policy)
    ) == [("occurred_on", "NO_POLICY_IN_FORCE")]


def test_work_from_the_transfer_day_scores_by_the_operations_supervisor_rules(
    example_policy: Policy,
    find_outlet: Callable[[str], Outlet | None],
    service_manager_at_o1_then_supervisor_at_o2_from_june: Employee,
) -> None:
    scored = score_work(
        parse(kind="duty_day", quantity="1", occurred_on="2026-06-01"),
        employee=service_manager_at_o1_then_supervisor_at_o2_from_june,
        find_outlet=find_outlet,
        policies=PolicyCatalog.of(example_policy),
    )
    assert (scored.role, scored.outlet_id, scored.outlet_class) == ("operations_supervisor", "O-002", "B")
    # 1 x 10 x 1.0 (class B) = 10.0000 points to workload; x 0.40 = 4.0000
    assert scored.lines == (
        PointsLine("os-duty-day", "2026.1", "workload", Decimal("10.0000"), Decimal("4.0000"), multiplier=Decimal(1), weight=Decimal("0.4")),
    )


def test_a_service_manager_kind_after_the_transfer_is_unknown(
    example_policy: Policy,
    find_outlet: Callable[[str], Outlet | None],
    service_manager_at_o1_then_supervisor_at_o2_from_june: Employee,
) -> None:
    assert score_violations(
        parse(kind="counter_transaction", occurred_on="2026-06-01"),
        employee=service_manager_at_o1_then_supervisor_at_o2_from_june,
        find_outlet=find_outlet,
        policies=PolicyCatalog.of(example_policy),
    ) == [("kind", "UNKNOWN_KIND")]


def test_an_outlet_named_in_the_request_overrides_the_assigned_outlet(
    example_policy: Policy,
    find_outlet: Callable[[str], Outlet | None],
    service_manager_at_o1_then_supervisor_at_o2_from_june: Employee,
) -> None:
    scored = score_work(
        parse(outlet_id="O-002", occurred_on="2026-05-14"),
        employee=service_manager_at_o1_then_supervisor_at_o2_from_june,
        find_outlet=find_outlet,
        policies=PolicyCatalog.of(example_policy),
    )
    assert (scored.role, scored.outlet_id) == ("service_manager", "O-002")


# -- recording ----------------------------------------------------------------------


@pytest.fixture
def scored_counter_work_in_may(
    example_policy: Policy,
    find_outlet: Callable[[str], Outlet | None],
    service_manager_at_o1_then_supervisor_at_o2_from_june: Employee,
) -> ScoredWork:
    return score_work(
        parse(kind="customer_served", quantity="61", occurred_on="2026-05-14"),
        employee=service_manager_at_o1_then_supervisor_at_o2_from_june,
        find_outlet=find_outlet,
        policies=PolicyCatalog.of(example_policy),
    )


def test_recorded_work_event_stores_the_fact_and_its_lines(scored_counter_work_in_may: ScoredWork) -> None:
    event = WorkEvent.record(scored_counter_work_in_may, timestamp=NOW)
    assert event.id == work_event_id_of("req-0001")
    assert (event.employee_id, event.role, event.outlet_id) == ("E1001", "service_manager", "O-001")
    assert (event.kind, event.quantity, event.occurred_on) == ("customer_served", Decimal("61"), date(2026, 5, 14))
    assert (event.recorded_by, event.source) == ("supervisor S7", "core-banking-feed")
    assert event.attributes == {"complexity": "high", "channel": "counter"}
    assert event.fingerprint == scored_counter_work_in_may.request.fingerprint
    # 61 x 0.5 x 1.0 (class A) = 30.5000 service points; x 0.35 = 10.6750
    assert event.lines == [
        PointsLine("sm-customer-served", "2026.1", "service", Decimal("30.5000"), Decimal("10.6750"), Decimal(1), Decimal("0.35"))
    ]
    assert event.outlet_class == "A"
    assert event.points == Decimal("10.6750")
    assert event.period == "2026-05"


def test_recorded_work_event_carries_the_timestamp_given(scored_counter_work_in_may: ScoredWork) -> None:
    event = WorkEvent.record(scored_counter_work_in_may, timestamp=NOW)
    (recorded,) = event.collect_events()
    assert isinstance(recorded, WorkEvent.Recorded)
    assert recorded.timestamp == NOW


def test_work_event_rebuilt_from_its_event_has_the_same_points(scored_counter_work_in_may: ScoredWork) -> None:
    (recorded,) = WorkEvent.record(scored_counter_work_in_may, timestamp=NOW).collect_events()
    rebuilt = recorded.mutate(None)
    assert rebuilt is not None
    assert rebuilt.lines == list(scored_counter_work_in_may.lines)
    assert str(rebuilt.points) == "10.6750"


def test_work_event_points_are_the_sum_of_weighted_points(scored_counter_work_in_may: ScoredWork) -> None:
    two_lines = ScoredWork(
        request=scored_counter_work_in_may.request,
        role="service_manager",
        outlet_id="O-001",
        outlet_class="A",
        lines=(
            PointsLine("r1", "v", "service", Decimal("30.5000"), Decimal("10.6750")),
            PointsLine("r2", "v", "quality", Decimal("-2.0000"), Decimal("-0.3000")),
        ),
    )
    event = WorkEvent.record(two_lines, timestamp=NOW)
    assert event.points == Decimal("10.3750")  # 10.6750 - 0.3000, not 30.5 - 2


def test_work_event_with_no_lines_has_zero_points(scored_counter_work_in_may: ScoredWork) -> None:
    no_lines = ScoredWork(
        request=scored_counter_work_in_may.request, role="service_manager", outlet_id="O-001", outlet_class="A", lines=()
    )
    assert WorkEvent.record(no_lines, timestamp=NOW).points == Decimal(0)


def test_replay_of_the_same_request_is_accepted(scored_counter_work_in_may: ScoredWork) -> None:
    event = WorkEvent.record(scored_counter_work_in_may, timestamp=NOW)
    event.check_replay_of(parse(kind="customer_served", quantity="61.000", occurred_on="2026-05-14"))


def test_reused_request_id_with_other_content_is_refused(scored_counter_work_in_may: ScoredWork) -> None:
    event = WorkEvent.record(scored_counter_work_in_may, timestamp=NOW)
    with pytest.raises(AlreadyExists) as caught:
        event.check_replay_of(parse(kind="customer_served", quantity="62", occurred_on="2026-05-14"))
    assert caught.value.reason == "REQUEST_ID_REUSED"


# -- the domain is pure -------------------------------------------------------------

DOMAIN_DIR = Path(points.domain.__file__).parent
DOMAIN_FILES = sorted(DOMAIN_DIR.glob("*.py"))
FORBIDDEN_ROOTS = {"grpc", "google", "psycopg", "psycopg_pool", "sqlite3", "time"}
CLOCK_CALLS = re.compile(r"\b(datetime\.(now|utcnow|today)|date\.today|time\.(time|time_ns|monotonic)|\.utcnow)\b")


def outside_imports(source: str) -> list[str]:
    """Every module the source imports that a pure domain must not: the outside world, or layers above it."""
    found = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names = [node.module]
        else:
            continue
        for name in names:
            root = name.split(".")[0]
            if root in FORBIDDEN_ROOTS or (root == "points" and not name.startswith("points.domain")):
                found.append(name)
    return found


def test_the_import_check_would_catch_an_outside_import() -> None:
    source = "import grpc\nfrom google.protobuf import timestamp_pb2\nimport time\nfrom points.application import x\n"
    assert outside_imports(source) == ["grpc", "google.protobuf", "time", "points.application"]
    assert outside_imports("from datetime import date\nfrom points.domain.errors import Violations\n") == []


def test_the_clock_check_would_catch_a_clock_read() -> None:
    for call in ["datetime.now(timezone.utc)", "date.today()", "time.time()", "datetime.utcnow()"]:
        assert CLOCK_CALLS.search(call), call
    assert not CLOCK_CALLS.search("def check(today: date) -> None: ...")


def test_domain_modules_are_all_checked() -> None:
    names = {f.name for f in DOMAIN_FILES}
    assert {"errors.py", "values.py", "identity.py", "policy.py", "directory.py", "work.py"} <= names


@pytest.mark.parametrize("module", DOMAIN_FILES, ids=lambda f: f.name)
def test_domain_module_imports_nothing_of_the_outside_world(module: Path) -> None:
    assert outside_imports(module.read_text(encoding="utf-8")) == []


@pytest.mark.parametrize("module", DOMAIN_FILES, ids=lambda f: f.name)
def test_domain_module_reads_no_clock(module: Path) -> None:
    assert CLOCK_CALLS.findall(module.read_text(encoding="utf-8")) == []


def test_importing_the_domain_loads_no_grpc_protobuf_or_database_driver() -> None:
    # A fresh interpreter, because this test process has loaded grpc already (tests/conftest.py).
    modules = ", ".join(f"'points.domain.{f.stem}'" for f in DOMAIN_FILES if f.stem != "__init__")
    code = (
        "import importlib, sys\n"
        f"for name in [{modules}]: importlib.import_module(name)\n"
        "bad = sorted(m for m in sys.modules if m.split('.')[0] in ('grpc', 'psycopg', 'psycopg_pool', 'sqlite3')"
        " or m.startswith('google.protobuf'))\n"
        "print(','.join(bad))\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=DOMAIN_DIR.parent.parent
    )
    assert result.stdout.strip() == ""


# -- fast paths give what the plain computation gives --------------------------------


@pytest.mark.parametrize(
    "text",
    ["plain", "", 'quote " and backslash \\', "line\nbreak\ttab\x00nul\x1f\x7f\x85", "é 日本 \u2028\u2029 😀"],
)
def test_fingerprint_is_the_sha256_of_the_canonical_json_dump(text: str) -> None:
    # The fingerprint is built without json.dumps; it must stay byte for byte what json.dumps gives.
    import dataclasses
    import hashlib
    import json

    def reference(r: WorkRequest) -> str:
        canonical = json.dumps(
            [
                r.employee_id, r.kind, str(r.quantity), r.occurred_on.isoformat(),
                r.occurred_at.isoformat() if r.occurred_at else "", r.outlet_id, r.recorded_by, r.source,
                sorted(r.attributes.items()),
            ],
            separators=(",", ":"),
            ensure_ascii=False,
        )
        return hashlib.sha256(canonical.encode()).hexdigest()

    request = WorkRequest(
        request_id="req-1",
        employee_id=f"E{text}",
        kind="counter_transaction",
        quantity=Decimal("1.5"),
        occurred_on=date(2026, 5, 14),
        occurred_at=datetime(2026, 5, 14, 10, 0, tzinfo=timezone.utc),
        outlet_id="O-001",
        recorded_by=text,
        source=f"{text}{text}",
        attributes={f"k{text}": text, "a": "b", "z": ""},
    )
    assert request.fingerprint == reference(request)
    bare = dataclasses.replace(request, occurred_at=None, attributes={})
    assert bare.fingerprint == reference(bare)


def test_scoring_with_a_batch_memo_gives_the_lines_of_a_full_scoring(
    example_policy: Policy,
    find_outlet: Callable[[str], Outlet | None],
    service_manager_at_o1_then_supervisor_at_o2_from_june: Employee,
) -> None:
    # One memo across requests that differ in each thing the lines depend on: a key that left one
    # out would hand a later request an earlier request's lines.
    catalog = PolicyCatalog.of(example_policy)
    memo: dict[Any, Any] = {}
    variants = [
        {},
        {"quantity": "13"},
        {"quantity": "12.5"},
        {"attributes": {}},
        {"attributes": {"complexity": "low"}},
        {"outlet_id": "O-002"},
        {"kind": "customer_served"},
        {"occurred_on": "2026-06-01", "kind": "duty_day"},
        {"occurred_on": "2026-06-01", "kind": "duty_day", "outlet_id": "O-001"},
        {"request_id": "req-other"},
    ]
    for _ in range(2):  # the second round is answered from the memo
        for change in variants:
            request = parse(**change)
            kwargs: dict[str, Any] = {
                "employee": service_manager_at_o1_then_supervisor_at_o2_from_june,
                "find_outlet": find_outlet,
                "policies": catalog,
            }
            assert score_work(request, memo=memo, **kwargs) == score_work(request, **kwargs), change
    assert len(memo) == len(variants) - 1  # all but the request_id change were scored afresh
    # Refusals are never remembered: the same refusal, in full, every time.
    for _ in range(2):
        assert score_violations(
            parse(kind="no_such_kind"), memo=memo, **kwargs
        ) == [("kind", "UNKNOWN_KIND")]


def test_a_batch_memo_tells_apart_the_policies_in_force_on_different_dates(
    example_policy: Policy, find_outlet: Callable[[str], Outlet | None]
) -> None:
    # The memo is keyed by the policy in force on the date, not the date: the same work either side of
    # 2026.2's effective date (a plain counter transaction earns 2 per unit from November, 1 before)
    # must get each policy's lines, and two dates under one policy share one entry.
    november = parse_policy(NOVEMBER_VERSION, "november.toml")
    catalog = PolicyCatalog.of(example_policy, november)
    memo: dict[Any, Any] = {}
    kwargs: dict[str, Any] = {
        "employee": Employee.register(employee_id="E1001", role="service_manager", outlet_id="O-001", effective_from=date(2026, 1, 1), timestamp=NOW),
        "find_outlet": find_outlet,
        "policies": catalog,
    }
    plain = {"attributes": {}}
    for _ in range(2):
        for day in ("2026-10-30", "2026-10-31", "2026-11-01", "2026-11-02"):
            request = parse(occurred_on=day, **plain)
            assert score_work(request, memo=memo, **kwargs) == score_work(request, **kwargs), day
    october, later = (score_work(parse(occurred_on=d, **plain), memo=memo, **kwargs).lines for d in ("2026-10-31", "2026-11-01"))
    assert [(line.policy_version, line.points) for line in october] == [("2026.1", Decimal("12.0000"))]
    assert [(line.policy_version, line.points) for line in later] == [("2026.2", Decimal("24.0000"))]
    assert len(memo) == 2


# -- the cached fields of a request (domain/work_request.py's _computed_once, Python-version sensitive) ------------------


def test_a_requests_event_id_and_fingerprint_are_computed_once_and_kept_on_the_instance(monkeypatch: pytest.MonkeyPatch) -> None:
    from points.domain import work_request as work_module

    calls: list[str] = []
    original = work_module.work_event_id_of
    monkeypatch.setattr(work_module, "work_event_id_of", lambda request_id: calls.append(request_id) or original(request_id))
    request = parse()

    first, second = request.event_id, request.event_id

    assert first == second == original(request.request_id) and calls == [request.request_id]
    fingerprint = request.fingerprint
    assert request.__dict__["event_id"] == first and request.__dict__["fingerprint"] == fingerprint
    assert isinstance(WorkRequest.__dict__["event_id"], work_module._computed_once)  # the descriptor, read on the class
    assert WorkRequest.event_id is WorkRequest.__dict__["event_id"]
