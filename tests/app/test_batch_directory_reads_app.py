"""A batch scores against the directory and policy as stored now, even when another process changed them.

Batches read employees, outlets and the policy book for all their items at once (one query,
not one per aggregate) and keep what they read; these tests change the directory and the
policy through a second service on the same store (as another replica would) and check the
next batch of the first one sees every change.
"""

from __future__ import annotations

from collections.abc import Callable
from uuid import UUID

import pytest

from points.application.results import WorkRecorded
from points.server import PointsService
from tests.app.work_requests import work
from tests.support.policy_versions import NOVEMBER_VERSION



def where(service: PointsService, result: WorkRecorded) -> tuple[str, str]:
    """The outlet and role the stored event was scored at."""
    event = service.app.work_event(UUID(result.event_id))
    assert event is not None
    return event.outlet_id, event.role


def recorded(result: object) -> WorkRecorded:
    assert isinstance(result, WorkRecorded), result
    return result


@pytest.fixture
def two_replicas(open_service: Callable[[], PointsService]) -> tuple[PointsService, PointsService]:
    first = open_service()
    first.app.register_outlet(outlet_id="o1", outlet_class="A", region="north")
    first.app.register_outlet(outlet_id="o2", outlet_class="B", region="south")
    first.app.register_employee(employee_id="e1", role="service_manager", outlet_id="o1", effective_from="2026-01-01")
    return first, open_service()


def test_a_transfer_by_another_replica_is_seen_by_the_next_batch(two_replicas: tuple[PointsService, PointsService]) -> None:
    writer, other = two_replicas
    before = recorded(writer.app.record_work_events([work("b-1", occurred_on="2026-11-02")])[0])
    assert where(writer, before) == ("o1", "service_manager")  # the batch has now read (and kept) e1

    other.app.transfer_employee(request_id="t-1", employee_id="e1", role="", outlet_id="o2", effective_from="2026-11-01")

    after = recorded(writer.app.record_work_events([work("b-2", occurred_on="2026-11-03")])[0])
    assert where(writer, after) == ("o2", "service_manager")
    earlier = recorded(writer.app.record_work_events([work("b-3", occurred_on="2026-10-30")])[0])
    assert where(writer, earlier) == ("o1", "service_manager")


def test_an_employee_registered_by_another_replica_can_be_scored_at_once(two_replicas: tuple[PointsService, PointsService]) -> None:
    writer, other = two_replicas
    unknown = writer.app.record_work_events([work("n-1", employee_id="e2")])[0]
    assert not isinstance(unknown, WorkRecorded) and unknown.reason == "UNKNOWN_EMPLOYEE"

    other.app.register_employee(employee_id="e2", role="service_manager", outlet_id="o2", effective_from="2026-01-01")

    known = recorded(writer.app.record_work_events([work("n-2", employee_id="e2")])[0])
    assert where(writer, known) == ("o2", "service_manager")


def test_a_policy_published_by_another_replica_scores_the_next_batch(two_replicas: tuple[PointsService, PointsService]) -> None:
    writer, other = two_replicas
    old = recorded(writer.app.record_work_events([work("p-1", quantity="2")])[0])

    other.policies.publish(document=NOVEMBER_VERSION, source="policy.toml", effective_from="", published_by="hq", reason="rate review")

    new = recorded(writer.app.record_work_events([work("p-2", quantity="2")])[0])
    assert [line.policy_version for line in old.lines] == ["2026.1"]
    assert [line.policy_version for line in new.lines] == ["2026.2"]
    assert new.points == 2 * old.points  # counter transactions earn 2 instead of 1
