"""VerifyLedger's read path on a real store (SQLite and PostgreSQL), beyond the common events.

On PostgreSQL the server assembles each event's canonical bytes and Python only hashes them, so
events unlike the service's own (a non-ASCII topic, an empty or large state, a large version)
must still verify against the links the recorder computed in Python. When something is wrong,
the first problem in position order is named, whether it is a missing event or a changed one,
and a range verified in pieces gives what the whole range gives.
"""

from __future__ import annotations

import hashlib
from uuid import uuid4

import pytest
from eventsourcing.persistence import StoredEvent

from points.application.audit import AuditQueries
from points.application.points import PointsApplication
from points.server import PointsService
from points.storage.chain import Verification
from tests.support.tampering import delete_event, delete_link, rewrite_event_state, rewrite_link

ODD_EVENTS = [
    ("points.test:Événement.Noté", b'{"n":"\xc3\xa9"}', 1),  # a topic of multi-byte UTF-8 characters
    ("points.test:Empty", b"", 1),  # no state at all
    ("points.test:Large", bytes(range(256)) * 40, 1),  # 10,240 bytes: hashed in one piece all the same
    ("points.test:Versioned", b"{}", 2**40),  # a version beyond 32 bits
]


@pytest.fixture
def audit(idle_service: PointsService) -> AuditQueries:
    assert idle_service.audit is not None
    return idle_service.audit


@pytest.fixture
def odd_positions(app: PointsApplication) -> list[int]:
    """Twelve events (three rounds of ODD_EVENTS, each its own aggregate) stored through the chained recorder, after the store's own."""
    positions: list[int] = []
    for _ in range(3):
        for topic, state, version in ODD_EVENTS:
            ids = app.recorder.insert_events([StoredEvent(uuid4(), version, topic, state)])
            assert ids is not None
            positions += ids
    return positions


def found(result: Verification) -> tuple[bool, int, str, int, int]:
    return result.verified, result.first_bad_position, result.problem, result.checked, result.to_position


def verify(audit: AuditQueries, from_position: int = 0, to_position: int = 0) -> Verification:
    return audit.verify_ledger(from_position=from_position, to_position=to_position)


def test_events_unlike_the_services_own_verify_against_the_links_the_recorder_stored(
    audit: AuditQueries, odd_positions: list[int]
) -> None:
    head = audit.ledger_head()

    result = verify(audit)

    assert found(result) == (True, 0, "", odd_positions[-1], odd_positions[-1])
    assert (head.position, result.head_hash) == (odd_positions[-1], head.hash)


def test_a_range_verified_in_pieces_matches_the_whole(audit: AuditQueries, odd_positions: list[int]) -> None:
    whole = verify(audit)
    middle = odd_positions[5]

    first, second = verify(audit, 1, middle), verify(audit, middle + 1, odd_positions[-1])

    assert (first.verified, second.verified) == (True, True)
    assert first.checked + second.checked == whole.checked
    assert (second.to_position, second.head_hash) == (whole.to_position, whole.head_hash)
    assert first.head_hash == verify(audit, middle, middle).head_hash


@pytest.mark.parametrize("index", range(len(ODD_EVENTS)), ids=[t.split(":")[1] for t, _, _ in ODD_EVENTS])
def test_a_change_to_an_odd_event_is_named_at_its_position(
    idle_service: PointsService, audit: AuditQueries, odd_positions: list[int], index: int
) -> None:
    position = odd_positions[4 + index]
    rewrite_event_state(idle_service.store, position, b"changed")

    assert found(verify(audit)) == (False, position, "the event or its link was changed", position - 1, position)


def test_a_missing_event_before_a_changed_one_is_named_first(
    idle_service: PointsService, audit: AuditQueries, odd_positions: list[int]
) -> None:
    gone, changed = odd_positions[3], odd_positions[8]
    delete_event(idle_service.store, gone)
    rewrite_event_state(idle_service.store, changed, b"changed")

    assert found(verify(audit)) == (False, gone, "the event at this position is missing", gone - 1, gone)
    assert found(verify(audit, gone + 1)) == (False, changed, "the event or its link was changed", changed - gone - 1, changed)


def test_a_changed_event_before_a_missing_one_is_named_first(
    idle_service: PointsService, audit: AuditQueries, odd_positions: list[int]
) -> None:
    changed, gone = odd_positions[3], odd_positions[8]
    rewrite_event_state(idle_service.store, changed, b"changed")
    delete_event(idle_service.store, gone)

    assert found(verify(audit)) == (False, changed, "the event or its link was changed", changed - 1, changed)
    assert found(verify(audit, changed + 1)) == (False, gone, "the event at this position is missing", gone - changed - 1, gone)


def test_a_missing_event_before_a_missing_link_is_named_first(
    idle_service: PointsService, audit: AuditQueries, odd_positions: list[int]
) -> None:
    gone, unlinked = odd_positions[2], odd_positions[6]
    delete_event(idle_service.store, gone)
    delete_link(idle_service.store, unlinked)

    assert found(verify(audit)) == (False, gone, "the event at this position is missing", gone - 1, gone)
    assert found(verify(audit, gone + 1)) == (False, unlinked, "the event at this position is not in the chain", unlinked - gone - 1, unlinked)


def test_the_hash_reported_at_a_changed_link_is_the_recomputed_one(
    idle_service: PointsService, audit: AuditQueries, odd_positions: list[int]
) -> None:
    position = odd_positions[7]
    intact = verify(audit, 1, position)
    rewrite_link(idle_service.store, position, hashlib.sha256(b"forged").digest())

    result = verify(audit)

    assert found(result) == (False, position, "the event or its link was changed", position - 1, position)
    assert result.head_hash == intact.head_hash  # what the link should have been
    assert verify(audit, 1, position - 1).verified
