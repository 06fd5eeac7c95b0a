"""Tamper evidence on a real store (SQLite and PostgreSQL): VerifyLedger names the first position that was changed.

Each tamper test rewrites the store as only a superuser (PostgreSQL, with the triggers skipped
by session_replication_role = replica) or the file's owner (SQLite, triggers dropped) can:
tests/support/tampering.py.
"""

from __future__ import annotations

import hashlib
import threading
from collections.abc import Callable
from uuid import UUID

import pytest
from eventsourcing.persistence import IntegrityError, StoredEvent

from points.application.audit import AuditQueries
from points.application.points import PointsApplication
from points.application.results import WorkRecorded
from points.domain.errors import InvalidRequest
from points.server import PointsService
from points.storage.chain import Verification
from points.storage.migrate import migrate
from tests.app.work_requests import log_size, work
from tests.support.tampering import (
    append_unchained_copy,
    delete_event,
    delete_link,
    delete_links_from,
    relink,
    rewrite_event_state,
    rewrite_link,
    stored_state,
)

pytestmark = pytest.mark.usefixtures("staffed_outlet")


@pytest.fixture
def audit(idle_service: PointsService) -> AuditQueries:
    assert idle_service.audit is not None
    return idle_service.audit


@pytest.fixture
def recorded_work(app: PointsApplication, staffed_outlet: None) -> list[WorkRecorded]:
    """Six counter transactions of e1 (quantities 10..15), after the directory's four events: positions 5..10."""
    return [app.record_work_event(work(f"ct-{n}", quantity=str(10 + n))) for n in range(6)]


@pytest.fixture
def middle_event(recorded_work: list[WorkRecorded]) -> int:
    """The position of the third work event (quantity 12): events before and after it."""
    return recorded_work[2].position


def verify(audit: AuditQueries, from_position: int = 0, to_position: int = 0) -> Verification:
    return audit.verify_ledger(from_position=from_position, to_position=to_position)


def found(result: Verification) -> tuple[bool, int, str, int]:
    """(verified, first bad position, problem, events matched before it)"""
    return result.verified, result.first_bad_position, result.problem, result.checked


# -- an unchanged store --------------------------------------------------------------------


@pytest.mark.usefixtures("recorded_work")
def test_an_unchanged_store_verifies_every_event_up_to_the_head(audit: AuditQueries, app: PointsApplication) -> None:
    head = audit.ledger_head()

    result = verify(audit)

    assert found(result) == (True, 0, "", log_size(app))
    assert (result.from_position, result.to_position, result.head_hash) == (1, head.position, head.hash)


def test_a_store_with_only_its_directory_verifies(idle_service: PointsService) -> None:
    assert idle_service.audit is not None

    result = verify(idle_service.audit)

    assert result.verified and result.checked == log_size(idle_service.app)


@pytest.mark.usefixtures("recorded_work")
def test_a_head_kept_earlier_still_verifies_after_more_writes(audit: AuditQueries, app: PointsApplication) -> None:
    kept = audit.ledger_head()
    app.record_work_event(work("later", quantity="1"))

    result = verify(audit, to_position=kept.position)

    assert (result.verified, result.to_position, result.head_hash) == (True, kept.position, kept.hash)
    assert audit.ledger_head().position == kept.position + 1


# -- changes behind the service's back ------------------------------------------------------------


def test_a_changed_event_is_named_at_its_position(idle_service: PointsService, audit: AuditQueries, middle_event: int) -> None:
    state = stored_state(idle_service.store, middle_event)
    assert b'"12"' in state
    rewrite_event_state(idle_service.store, middle_event, state.replace(b'"12"', b'"99"'))

    assert found(verify(audit)) == (False, middle_event, "the event or its link was changed", middle_event - 1)


def test_a_deleted_event_is_named_at_its_position(idle_service: PointsService, audit: AuditQueries, middle_event: int) -> None:
    delete_event(idle_service.store, middle_event)

    assert found(verify(audit)) == (False, middle_event, "the event at this position is missing", middle_event - 1)


def test_a_deleted_last_event_is_named_at_its_position(
    idle_service: PointsService, audit: AuditQueries, recorded_work: list[WorkRecorded]
) -> None:
    last = recorded_work[-1].position
    delete_event(idle_service.store, last)

    assert found(verify(audit)) == (False, last, "the event at this position is missing", last - 1)


def test_a_changed_link_is_named_at_its_position(idle_service: PointsService, audit: AuditQueries, middle_event: int) -> None:
    rewrite_link(idle_service.store, middle_event, hashlib.sha256(b"forged").digest())

    assert found(verify(audit)) == (False, middle_event, "the event or its link was changed", middle_event - 1)


def test_a_deleted_link_is_named_at_its_position(idle_service: PointsService, audit: AuditQueries, middle_event: int) -> None:
    delete_link(idle_service.store, middle_event)

    assert found(verify(audit)) == (False, middle_event, "the event at this position is not in the chain", middle_event - 1)


def test_a_range_before_a_change_still_verifies(idle_service: PointsService, audit: AuditQueries, middle_event: int) -> None:
    rewrite_event_state(idle_service.store, middle_event, b"{}")

    assert found(verify(audit, 1, middle_event - 1)) == (True, 0, "", middle_event - 1)
    assert found(verify(audit, middle_event, middle_event)) == (False, middle_event, "the event or its link was changed", 0)


def test_a_rewrite_covered_by_recomputed_links_verifies_but_no_longer_matches_a_kept_head(
    idle_service: PointsService, audit: AuditQueries, middle_event: int
) -> None:
    """Why an auditor keeps the head outside the database: a forger who also relinks the chain is caught only by it."""
    kept = audit.ledger_head()
    state = stored_state(idle_service.store, middle_event)
    rewrite_event_state(idle_service.store, middle_event, state.replace(b'"12"', b'"99"'))
    relink(idle_service.store, middle_event)

    result = verify(audit, to_position=kept.position)

    assert (result.verified, result.to_position) == (True, kept.position)
    assert result.head_hash != kept.hash


def test_an_event_appended_around_the_recorder_is_named_at_its_position(
    idle_service: PointsService, audit: AuditQueries, recorded_work: list[WorkRecorded]
) -> None:
    appended = append_unchained_copy(idle_service.store, recorded_work[-1].position)

    assert found(verify(audit))[:3] == (False, appended, "the event at this position is not in the chain")


def test_an_event_appended_around_the_recorder_is_named_once_a_later_event_is_chained(
    idle_service: PointsService, audit: AuditQueries, app: PointsApplication, recorded_work: list[WorkRecorded]
) -> None:
    appended = append_unchained_copy(idle_service.store, recorded_work[-1].position)
    app.record_work_event(work("after-the-forgery", quantity="1"))

    assert found(verify(audit))[:3] == (False, appended, "the event at this position is not in the chain")


def test_a_position_skipped_by_a_refused_append_leaves_the_chain_verifiable(
    audit: AuditQueries, app: PointsApplication, recorded_work: list[WorkRecorded]
) -> None:
    """On PostgreSQL a rolled-back insert still takes a sequence number: the log has a gap, and the chain links across it."""
    first = recorded_work[0]
    duplicate = StoredEvent(UUID(first.event_id), 1, "points.domain.work:WorkEvent.Recorded", b"{}")
    with pytest.raises(IntegrityError):
        app.recorder.insert_events([duplicate])
    after = app.record_work_event(work("after-the-gap", quantity="1"))

    result = verify(audit)

    assert found(result) == (True, 0, "", len(app.recorder.select_notifications(1, 10_000)))
    assert (result.to_position, result.head_hash) == (after.position, audit.ledger_head().hash)


# -- stores written before the chain existed ------------------------------------------------------


@pytest.mark.parametrize("unlinked_from", [1, 7], ids=["no-chain", "chain-up-to-6"])
def test_migrate_links_events_stored_before_the_chain_as_the_recorder_would_have(
    idle_service: PointsService, audit: AuditQueries, recorded_work: list[WorkRecorded], unlinked_from: int
) -> None:
    written_online = audit.ledger_head()
    delete_links_from(idle_service.store, unlinked_from)
    assert audit.ledger_head().position == unlinked_from - 1

    migrate(idle_service.store)

    assert audit.ledger_head() == written_online
    assert found(verify(audit)) == (True, 0, "", written_online.position)


# -- the chain under concurrent writers --------------------------------------------------------


def test_writers_in_two_services_at_once_keep_one_unbroken_chain(
    open_service: Callable[[], PointsService], idle_service: PointsService, audit: AuditQueries
) -> None:
    """Two services on one store (as two processes would be), four threads each: every link follows the one before."""
    services = [idle_service, open_service()]
    errors: list[BaseException] = []

    def write(service: PointsService, thread: int) -> None:
        try:
            for n in range(15):
                service.app.record_work_event(work(f"w-{id(service)}-{thread}-{n}", quantity="1"))
        except BaseException as e:  # noqa: BLE001 - reported below
            errors.append(e)

    threads = [threading.Thread(target=write, args=(s, t)) for s in services for t in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)

    assert errors == []
    result = verify(audit)
    assert found(result) == (True, 0, "", log_size(idle_service.app))
    assert result.checked == 4 + 2 * 4 * 15


# -- refusals ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("from_position", "to_position", "field", "reason"),
    [(-1, 0, "from_position", "NEGATIVE_POSITION"), (0, -1, "to_position", "NEGATIVE_POSITION"), (5, 3, "to_position", "EMPTY_RANGE")],
    ids=["negative-from", "negative-to", "to-before-from"],
)
def test_a_bad_range_is_refused_naming_the_field(audit: AuditQueries, from_position: int, to_position: int, field: str, reason: str) -> None:
    with pytest.raises(InvalidRequest) as refused:
        verify(audit, from_position, to_position)

    assert [(v.field, v.reason) for v in refused.value.violations] == [(field, reason)]
