"""Work events stored by an earlier release can still be retried and corrected.

Commit d32a586 added WorkEvent.Recorded.outlet_requested and WorkEvent.Amended.outlet_id/outlet_class.
Events in a store written before it lack those fields; these tests write such events (the current
events with those fields left out of the stored state) and then use them.

Worked numbers (policies/example.toml 2026.1): e1, service manager at o1 (class A), customer_served 20 on
2026-11-02: 10 (3.5000); amended to 25: 12.5 (4.3750).
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest
from eventsourcing.domain import DomainEvent
from eventsourcing.persistence import StoredEvent

from points.application.points import PointsApplication
from points.domain.work import WorkEvent, correction_fingerprint
from points.domain.scoring import ScoredWork
from points.domain.work_request import WorkRequest
from points.server import PointsService
from tests.app.ledger_reads import correct, explained_lines, line_entry
from tests.app.work_requests import settled_balance, work

pytestmark = [
    pytest.mark.usefixtures("staffed_outlet"),
]


def store_as_before(app: PointsApplication, event: DomainEvent, *left_out: str) -> None:
    """Appends `event` to the log as the earlier release stored it: without the fields in `left_out`."""
    stored = app.mapper.to_stored_event(event)
    state = app.mapper.transcoder.decode(stored.state)
    for name in left_out:
        del state[name]
    state.pop("class_version", None)  # the earlier release's classes were all version 1
    app.recorder.insert_events(
        [StoredEvent(stored.originator_id, stored.originator_version, stored.topic, app.mapper.transcoder.encode(state))]
    )


def served_twenty(app: PointsApplication) -> WorkEvent:
    """e1's customer_served 20 on 2026-11-02 at o1, scored as RecordWorkEvent scores it (its events still pending)."""
    request = WorkRequest("old-served", "e1", "customer_served", Decimal(20), date(2026, 11, 2))
    policy = app.policies().in_force(request.occurred_on)
    assert policy is not None
    lines = policy.score("service_manager", "customer_served", Decimal(20), outlet_class="A")
    return WorkEvent.record(ScoredWork(request, "service_manager", "o1", "A", lines), timestamp=app.clock())


@pytest.fixture
def recorded_before(app: PointsApplication) -> WorkEvent:
    """e1's customer_served 20, recorded by the earlier release (no outlet_requested)."""
    event = served_twenty(app)
    (recorded,) = event.collect_events()
    store_as_before(app, recorded, "outlet_requested")
    return event


def test_a_work_event_stored_before_can_be_amended(idle_service: PointsService, recorded_before: WorkEvent) -> None:
    correct(idle_service.app, str(recorded_before.id), quantity="25")

    assert [line_entry(x)[0] for x in explained_lines(idle_service, "e1", "2026-11")] == ["recorded", "reversal", "amended"]
    assert str(settled_balance(idle_service, "e1", "2026-11").total) == "4.3750"


def test_a_work_event_stored_before_can_be_retried(app: PointsApplication, recorded_before: WorkEvent) -> None:
    again = app.record_work_event(work("old-served", kind="customer_served", quantity="20"))

    assert (again.replayed, again.event_id) == (True, str(recorded_before.id))


def test_an_amendment_stored_before_can_be_reversed(idle_service: PointsService) -> None:
    app = idle_service.app
    event = served_twenty(app)
    store_as_before(app, event.collect_events()[0])  # recorded by this release
    amended = event.amended_request(kind="", quantity=Decimal(25), occurred_on=None)
    policy = app.policies().in_force(amended.occurred_on)
    assert policy is not None
    lines = policy.score("service_manager", "customer_served", Decimal(25), outlet_class="A")
    event.amend(
        ScoredWork(amended, "service_manager", "o1", "A", lines), correction_id="c-old",
        fingerprint=correction_fingerprint("amend", "miscounted", "", "25", ""), reason="miscounted", corrected_by="s7",
        timestamp=app.clock(),
    )  # fmt: skip
    store_as_before(app, event.collect_events()[0], "outlet_id", "outlet_class")  # amended by the earlier release

    correct(app, str(event.id), "c-rev", reverse=True)

    assert str(settled_balance(idle_service, "e1", "2026-11").total) == "0.0000"
