"""The audit trail's history on a real store (SQLite and PostgreSQL): every work event with who, where, when, its
points lines and its corrections; paginated both ways; each filter narrowing the list exactly.

The history (clock from 2026-11-28 09:30 UTC, one minute per write; o1 class A, o2 class B):
  09:31 ct-1      e1 counter_transaction 10 on 2026-11-02 at o1, by counter-north from core-feed (at 08:15)
  09:32 served-1  e1 customer_served 20     on 2026-11-03 at o1, by os-north from manual
  09:33 review-1  e1 smart_machine_review 4 on 2026-11-05 at o2, by os-north from manual
  09:34 e2-ct     e2 counter_transaction 3  on 2026-11-04 at o2, by counter-south from core-feed
  09:35 ct-2      e1 counter_transaction 5  on 2026-11-06 at o1, by counter-north from core-feed
  09:40 rev-1     served-1 reversed by "supervisor s7": "recorded twice"
  09:45 amend-1   ct-1 amended to 12 by "supervisor s9": "miscounted at the counter"
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime, timezone
from typing import TYPE_CHECKING

import pytest

from points.application.points import PointsApplication
from points.domain.errors import InvalidRequest, NotFound
from points.projections.audit_reads import AuditRow
from points.server import PointsService
from tests.app.ledger_reads import correct, recalculate
from tests.app.work_requests import work
from tests.support.policy_versions import NOVEMBER_VERSION

if TYPE_CHECKING:
    from tests.conftest import Clock

pytestmark = pytest.mark.usefixtures("staffed_outlet")

E1_OLDEST_FIRST = ["ct-1", "served-1", "review-1", "ct-2"]


@dataclass(frozen=True)
class History:
    """The audited history above: event ids by request id, and the log position of the last write."""

    event_ids: dict[str, str]
    last_position: int


def recorded(app: PointsApplication, clock: Clock, request_id: str, **fields: object) -> tuple[str, int]:
    clock.advance(minutes=1)
    written = app.record_work_event(replace(work(request_id), **fields))  # type: ignore[arg-type]
    return written.event_id, written.position


@pytest.fixture
def audited_history(app: PointsApplication, clock: Clock, staffed_outlet: None) -> History:
    """The history in the module docstring: five events of e1 and e2, one reversal and one amendment."""
    app.register_outlet(outlet_id="o2", outlet_class="B", region="south")
    app.register_employee(employee_id="e2", role="service_manager", outlet_id="o2", effective_from="2026-01-01")
    north = {"recorded_by": "counter-north", "source": "core-feed"}
    manual = {"recorded_by": "os-north", "source": "manual"}
    writes = {
        "ct-1": recorded(app, clock, "ct-1", quantity="10", occurred_at=datetime(2026, 11, 2, 8, 15, tzinfo=timezone.utc), **north),
        "served-1": recorded(app, clock, "served-1", kind="customer_served", quantity="20", occurred_on="2026-11-03", **manual),
        "review-1": recorded(
            app, clock, "review-1", kind="smart_machine_review", quantity="4", occurred_on="2026-11-05", outlet_id="o2", **manual
        ),
        "e2-ct": recorded(
            app, clock, "e2-ct", employee_id="e2", quantity="3", occurred_on="2026-11-04", recorded_by="counter-south", source="core-feed"
        ),
        "ct-2": recorded(app, clock, "ct-2", quantity="5", occurred_on="2026-11-06", **north),
    }
    ids = {request_id: event_id for request_id, (event_id, _) in writes.items()}
    clock.advance(minutes=5)
    correct(app, ids["served-1"], "rev-1", reverse=True, reason="recorded twice", corrected_by="supervisor s7")
    clock.advance(minutes=5)
    amended = correct(app, ids["ct-1"], "amend-1", quantity="12", reason="miscounted at the counter", corrected_by="supervisor s9")
    return History(ids, amended.position)


def audit_page(service: PointsService, *, newest_first: bool = False, page_size: int = 0, page_token: str = "",
               **filters: str) -> tuple[list[AuditRow], str]:  # fmt: skip
    service.projector.catch_up()
    assert service.audit is not None
    return service.audit.list_work_events(
        filters=filters, newest_first=newest_first, page_size=page_size, page_token=page_token, min_position=0, timeout=0
    )


def pages_of(service: PointsService, *, newest_first: bool, page_size: int, **filters: str) -> list[list[str]]:
    """The request ids on each page, following the tokens to the end."""
    found: list[list[str]] = []
    rows, token = audit_page(service, newest_first=newest_first, page_size=page_size, **filters)
    found.append([r.request_id for r in rows])
    while token:
        rows, token = audit_page(service, newest_first=newest_first, page_size=page_size, page_token=token, **filters)
        found.append([r.request_id for r in rows])
    return found


def listed(service: PointsService, **filters: str) -> list[str]:
    return [request_id for page in pages_of(service, newest_first=False, page_size=1000, **filters) for request_id in page]


def audited(service: PointsService, request_id: str) -> AuditRow:
    (row,) = [r for r in audit_page(service, page_size=1000)[0] if r.request_id == request_id]
    return row


def lines_of(row: AuditRow) -> list[tuple[str, str, str, int]]:
    """(entry, kind, quantity, points in 10^-4) of each booked line."""
    return [(line.entry, line.kind, line.quantity, line.points) for line in row.lines]


def corrections_of(row: AuditRow) -> list[tuple[str, str, str, str, str, str, str, str]]:
    """(action, request id, reason, corrected by, recorded at, kind, quantity, occurred on) of each correction."""
    return [tuple(str(x) for x in c[2:]) for c in row.corrections]  # type: ignore[misc]


# -- the history of one employee, both ways ----------------------------------------------------


@pytest.mark.usefixtures("audited_history")
def test_an_employees_history_pages_oldest_first(idle_service: PointsService) -> None:
    assert pages_of(idle_service, newest_first=False, page_size=2, employee_id="e1") == [["ct-1", "served-1"], ["review-1", "ct-2"]]


@pytest.mark.usefixtures("audited_history")
def test_an_employees_history_pages_newest_first(idle_service: PointsService) -> None:
    assert pages_of(idle_service, newest_first=True, page_size=2, employee_id="e1") == [["ct-2", "review-1"], ["served-1", "ct-1"]]


@pytest.mark.usefixtures("audited_history")
def test_a_page_that_ends_the_list_has_no_token(idle_service: PointsService) -> None:
    rows, token = audit_page(idle_service, page_size=4, employee_id="e1")

    assert ([r.request_id for r in rows], token) == (E1_OLDEST_FIRST, "")


@pytest.mark.usefixtures("audited_history")
def test_each_item_shows_its_recorder_source_and_times(idle_service: PointsService) -> None:
    shown = {
        r.request_id: (r.recorded_by, r.source, r.occurred_on, r.occurred_at, r.recorded_at, r.outlet_id, r.role)
        for r in audit_page(idle_service, employee_id="e1")[0]
    }

    assert shown == {
        "ct-1": ("counter-north", "core-feed", "2026-11-02", "2026-11-02T08:15:00.000000+00:00", "2026-11-28T09:31:00.000000+00:00", "o1", "service_manager"),
        "served-1": ("os-north", "manual", "2026-11-03", "", "2026-11-28T09:32:00.000000+00:00", "o1", "service_manager"),
        "review-1": ("os-north", "manual", "2026-11-05", "", "2026-11-28T09:33:00.000000+00:00", "o2", "service_manager"),
        "ct-2": ("counter-north", "core-feed", "2026-11-06", "", "2026-11-28T09:35:00.000000+00:00", "o1", "service_manager"),
    }  # fmt: skip


@pytest.mark.usefixtures("audited_history")
def test_an_amended_event_shows_its_lines_and_the_amendment_with_reason_and_author(idle_service: PointsService) -> None:
    row = audited(idle_service, "ct-1")

    assert (row.status, row.kind, row.quantity) == ("amended", "counter_transaction", "10")  # as first recorded
    assert lines_of(row) == [
        ("recorded", "counter_transaction", "10", 100000),
        ("reversal", "counter_transaction", "10", -100000),
        ("amended", "counter_transaction", "12", 120000),
    ]
    assert corrections_of(row) == [
        ("amend", "amend-1", "miscounted at the counter", "supervisor s9", "2026-11-28T09:45:00.000000+00:00",
         "counter_transaction", "12", "2026-11-02"),
    ]  # fmt: skip


@pytest.mark.usefixtures("audited_history")
def test_a_reversed_event_shows_its_lines_and_the_reversal_with_reason_and_author(idle_service: PointsService) -> None:
    row = audited(idle_service, "served-1")

    assert row.status == "reversed"
    assert lines_of(row) == [("recorded", "customer_served", "20", 100000), ("reversal", "customer_served", "20", -100000)]
    assert corrections_of(row) == [
        ("reverse", "rev-1", "recorded twice", "supervisor s7", "2026-11-28T09:40:00.000000+00:00", "", "", ""),
    ]


@pytest.mark.usefixtures("audited_history")
def test_an_uncorrected_event_shows_its_recorded_lines_and_no_corrections(idle_service: PointsService) -> None:
    row = audited(idle_service, "ct-2")

    assert (row.status, lines_of(row), row.corrections) == ("recorded", [("recorded", "counter_transaction", "5", 50000)], [])


def test_every_item_on_every_page_carries_its_lines_and_corrections(idle_service: PointsService, audited_history: History) -> None:
    """Lines and corrections are joined per page: the second page's items have theirs too, in both directions."""
    for newest_first in (False, True):
        first, token = audit_page(idle_service, newest_first=newest_first, page_size=2, employee_id="e1")
        second, _ = audit_page(idle_service, newest_first=newest_first, page_size=2, page_token=token, employee_id="e1")
        counts = {r.request_id: (len(r.lines), len(r.corrections)) for r in first + second}

        assert counts == {"ct-1": (3, 1), "served-1": (2, 1), "review-1": (1, 0), "ct-2": (1, 0)}


# -- filters ------------------------------------------------------------------------------


@pytest.mark.usefixtures("audited_history")
@pytest.mark.parametrize(
    ("filters", "expected"),
    [
        ({}, ["ct-1", "served-1", "review-1", "e2-ct", "ct-2"]),
        ({"employee_id": "e2"}, ["e2-ct"]),
        ({"outlet_id": "o2"}, ["review-1", "e2-ct"]),
        ({"recorded_by": "os-north"}, ["served-1", "review-1"]),
        ({"kind": "counter_transaction"}, ["ct-1", "e2-ct", "ct-2"]),
        ({"occurred_from": "2026-11-03", "occurred_to": "2026-11-05"}, ["served-1", "review-1", "e2-ct"]),
        ({"occurred_from": "2026-11-05"}, ["review-1", "ct-2"]),
        ({"occurred_to": "2026-11-02"}, ["ct-1"]),
        ({"recorded_from": "2026-11-28T09:32:00Z", "recorded_to": "2026-11-28T09:34:00Z"}, ["served-1", "review-1", "e2-ct"]),
        ({"recorded_from": "2026-11-28T10:35:00+01:00"}, ["ct-2"]),  # 09:35 UTC: compared as an instant
        ({"recorded_to": "2026-11-28T09:31:00.000001+00:00"}, ["ct-1"]),
        ({"employee_id": "e1", "kind": "counter_transaction", "outlet_id": "o1"}, ["ct-1", "ct-2"]),
        ({"employee_id": "e1", "recorded_by": "counter-south"}, []),
        ({"kind": "duty_day"}, []),
    ],
    ids=[
        "none", "employee", "outlet", "recorder", "kind", "business-dates", "business-date-from", "business-date-to",
        "recorded-times", "recorded-from-with-offset", "recorded-to", "combined", "combined-empty", "kind-empty",
    ],
)  # fmt: skip
def test_a_filter_narrows_the_list_exactly(idle_service: PointsService, filters: dict[str, str], expected: list[str]) -> None:
    assert listed(idle_service, **filters) == expected


@pytest.mark.usefixtures("audited_history")
def test_a_filtered_list_pages_within_the_filter(idle_service: PointsService) -> None:
    assert pages_of(idle_service, newest_first=True, page_size=2, kind="counter_transaction") == [["ct-2", "e2-ct"], ["ct-1"]]


@pytest.mark.usefixtures("audited_history")
def test_a_page_token_is_refused_for_another_query(idle_service: PointsService) -> None:
    _, token = audit_page(idle_service, page_size=2, employee_id="e1")

    with pytest.raises(InvalidRequest) as refused:
        audit_page(idle_service, page_size=2, page_token=token, employee_id="e2")

    assert ("page_token", "INVALID_PAGE_TOKEN") in [(v.field, v.reason) for v in refused.value.violations]


@pytest.mark.parametrize(
    ("filters", "field", "reason"),
    [
        ({"occurred_from": "2026-13-01"}, "occurred_from", None),
        ({"recorded_from": "2026-11-28T09:30:00"}, "recorded_from", "MALFORMED_TIMESTAMP"),
        ({"recorded_to": "yesterday"}, "recorded_to", "MALFORMED_TIMESTAMP"),
        ({"kind": "Counter Transaction"}, "kind", "UNKNOWN_KIND"),
    ],
    ids=["bad-date", "timestamp-without-zone", "not-a-timestamp", "bad-kind"],
)
def test_a_malformed_filter_is_refused_naming_it(idle_service: PointsService, filters: dict[str, str], field: str, reason: str | None) -> None:
    with pytest.raises(InvalidRequest) as refused:
        listed(idle_service, **filters)

    assert field in [v.field for v in refused.value.violations]
    if reason is not None:
        assert (field, reason) in [(v.field, v.reason) for v in refused.value.violations]


# -- one event ----------------------------------------------------------------------------


def test_one_event_reads_as_it_lists(idle_service: PointsService, audited_history: History) -> None:
    assert idle_service.audit is not None
    idle_service.projector.catch_up()

    row = idle_service.audit.get_work_event(event_id=audited_history.event_ids["served-1"], min_position=0, timeout=0)

    assert row == audited(idle_service, "served-1")


def test_an_unknown_event_is_not_found(idle_service: PointsService, audited_history: History) -> None:
    assert idle_service.audit is not None
    idle_service.projector.catch_up()

    with pytest.raises(NotFound) as refused:
        idle_service.audit.get_work_event(event_id="00000000-0000-0000-0000-000000000000", min_position=0, timeout=0)

    assert refused.value.reason == "WORK_EVENT_NOT_FOUND"


# -- later corrections ------------------------------------------------------------------------


def test_an_event_amended_then_reversed_shows_both_corrections_in_order_and_ends_reversed(
    idle_service: PointsService, audited_history: History, clock: Clock
) -> None:
    clock.advance(minutes=5)
    correct(idle_service.app, audited_history.event_ids["ct-1"], "rev-2", reverse=True, reason="not our outlet", corrected_by="supervisor s7")

    row = audited(idle_service, "ct-1")

    assert row.status == "reversed"
    assert [(c[0], c[1], c[2]) for c in corrections_of(row)] == [
        ("amend", "amend-1", "miscounted at the counter"),
        ("reverse", "rev-2", "not our outlet"),
    ]
    assert [line[0] for line in lines_of(row)] == ["recorded", "reversal", "amended", "reversal"]


def test_a_recalculation_shows_as_a_rescore_with_its_reason_and_author(idle_service: PointsService, audited_history: History) -> None:
    idle_service.policies.publish(document=NOVEMBER_VERSION, source="2026.2.toml", effective_from="", published_by="hq", reason="rates")
    idle_service.projector.start()  # the recalculation waits for the view after each batch
    try:
        recalculate(idle_service, "rc-1", "2026.2", requested_by="hq payroll", reason="November rates")
    finally:
        idle_service.projector.stop()

    row = audited(idle_service, "ct-2")

    # four eyes: "hq payroll" proposed it, the approver made it take effect and is the rescore's author
    assert [(c[0], c[2], c[3]) for c in corrections_of(row)] == [("rescore", "November rates", "payroll approver")]
    assert [(line[0], line[3]) for line in lines_of(row)] == [("recorded", 50000), ("reversal", -50000), ("rescored", 100000)]
