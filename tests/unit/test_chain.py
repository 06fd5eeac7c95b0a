"""The hash chain's arithmetic (storage/chain.py): canonical bytes, links, and the verification of rows.

The expected hashes are computed here independently (struct + hashlib) from the format the
module documents: position (8 bytes, big-endian, signed), aggregate id (16), version (8),
topic length (4) and topic, state length (8) and state; h_n = SHA-256(h_{n-1} || that).
"""

from __future__ import annotations

import hashlib
import random
import struct
from typing import Any
from dataclasses import dataclass
from uuid import UUID

import pytest
from eventsourcing.persistence import StoredEvent

from points.storage.chain import GENESIS, LinkRow, Verification, canonical, link, links, verify_links

AGGREGATE = UUID("12345678-1234-5678-1234-567812345678")
TOPIC = "points.domain.work:WorkEvent.Recorded"
STATE = b'{"quantity":"10"}'
# SHA-256(32 zero bytes || canonical(7, AGGREGATE, 1, TOPIC, STATE)), computed once with hashlib and kept:
# stored chains depend on this format never changing.
FIRST_LINK_AT_7 = "eb53d7c2b22eeb1af3bee84c4dcab1b847d9e9397a1d36db9100eec4f39a7474"


def expected_canonical(position: int, originator_id: UUID, version: int, topic: str, state: bytes) -> bytes:
    topic_bytes = topic.encode("utf-8")
    return (
        struct.pack(">q", position) + originator_id.bytes + struct.pack(">q", version)
        + struct.pack(">I", len(topic_bytes)) + topic_bytes + struct.pack(">Q", len(state)) + state
    )  # fmt: skip


@dataclass(frozen=True)
class Event:
    position: int
    originator_id: UUID
    version: int
    topic: str
    state: bytes


def events(count: int) -> list[Event]:
    """Events at positions 1..count, two versions per aggregate."""
    return [
        Event(n, UUID(int=(n + 1) // 2), 2 - n % 2, f"points.domain.work:WorkEvent.E{n}", f'{{"n":{n}}}'.encode())
        for n in range(1, count + 1)
    ]


# (event position, aggregate id, version, topic, state, chain position, stored link): an event and
# its link matched by position, either side None when missing, so a test can damage any field.
ChainRow = tuple[int | None, Any, int | None, str | None, bytes | None, int | None, bytes | None]


def verify_rows(start_hash: bytes, rows: list[ChainRow], from_position: int) -> Verification:
    """verify_links over the rows, each event turned into its canonical bytes as the readers do."""
    return verify_links(start_hash, [link_row(row) for row in rows], from_position)


def link_row(row: ChainRow) -> LinkRow:
    event_position, originator_id, version, topic, state, chain_position, stored = row
    if event_position is None:
        assert chain_position is not None
        return chain_position, None, stored
    event = canonical(event_position, originator_id, int(version or 0), str(topic), bytes(state or b""))
    return event_position, event, None if chain_position is None else stored


def intact_rows(chain: list[Event], start: bytes = GENESIS) -> list[ChainRow]:
    """Each event with the link the recorder stored."""
    rows: list[ChainRow] = []
    head = start
    for e in chain:
        head = link(head, e.position, e.originator_id, e.version, e.topic, e.state)
        rows.append((e.position, e.originator_id, e.version, e.topic, e.state, e.position, head))
    return rows


# -- canonical bytes and links ----------------------------------------------------------------


def test_the_first_link_of_a_fixed_event_is_a_known_sha256() -> None:
    assert link(GENESIS, 7, AGGREGATE, 1, TOPIC, STATE).hex() == FIRST_LINK_AT_7


def test_canonical_bytes_are_the_length_prefixed_fields_in_order() -> None:
    assert canonical(7, AGGREGATE, 1, TOPIC, STATE) == expected_canonical(7, AGGREGATE, 1, TOPIC, STATE)


def test_a_link_is_the_sha256_of_the_previous_hash_and_the_canonical_event() -> None:
    previous = hashlib.sha256(b"an earlier head").digest()

    digest = link(previous, 8, AGGREGATE, 2, TOPIC, b'{"reason":"recorded twice"}')

    expected = hashlib.sha256(previous + expected_canonical(8, AGGREGATE, 2, TOPIC, b'{"reason":"recorded twice"}')).digest()
    assert digest == expected


def test_the_same_event_links_to_the_same_hash_every_time() -> None:
    assert {link(GENESIS, 7, AGGREGATE, 1, TOPIC, STATE) for _ in range(3)} == {bytes.fromhex(FIRST_LINK_AT_7)}
    assert canonical(7, AGGREGATE, 1, TOPIC, STATE) == canonical(7, UUID(str(AGGREGATE)), 1, TOPIC, bytes(STATE))


@pytest.mark.parametrize(
    "changed",
    [
        {"position": 8},
        {"originator_id": UUID(int=AGGREGATE.int + 1)},
        {"version": 2},
        {"topic": TOPIC + "x"},
        {"state": STATE.replace(b"10", b"11")},
        {"previous": b"\x01" + GENESIS[1:]},
    ],
    ids=lambda changed: next(iter(changed)),
)
def test_changing_any_input_changes_the_link(changed: dict[str, object]) -> None:
    fields: dict[str, object] = {"position": 7, "originator_id": AGGREGATE, "version": 1, "topic": TOPIC, "state": STATE}
    previous = changed.pop("previous", GENESIS)
    fields.update(changed)

    assert link(previous, **fields).hex() != FIRST_LINK_AT_7  # type: ignore[arg-type]


def test_length_prefixes_keep_the_topic_apart_from_the_state() -> None:
    assert canonical(1, AGGREGATE, 1, "topic.a", b"bc") != canonical(1, AGGREGATE, 1, "topic.ab", b"c")


def test_links_chain_the_new_events_in_position_order_whatever_order_they_come_in() -> None:
    chain = events(5)
    shuffled = chain[:]
    random.Random(6).shuffle(shuffled)
    stored = [StoredEvent(e.originator_id, e.version, e.topic, e.state) for e in shuffled]

    rows = links(GENESIS, [e.position for e in shuffled], stored)

    assert rows == [(position, digest) for position, *_, digest in intact_rows(chain)]


def test_links_continue_from_the_head_they_are_given() -> None:
    chain = events(4)
    first_two = intact_rows(chain[:2])
    head = first_two[-1][6]
    assert head is not None
    stored = [StoredEvent(e.originator_id, e.version, e.topic, e.state) for e in chain[2:]]

    rows = links(head, [3, 4], stored)

    assert rows == [(r[0], r[6]) for r in intact_rows(chain)[2:]]


# -- verify_links -------------------------------------------------------------------------


def test_an_intact_chain_verifies_up_to_its_last_position_with_its_head_hash() -> None:
    rows = intact_rows(events(6))

    result = verify_rows(GENESIS, rows, 1)

    assert (result.verified, result.checked, result.from_position, result.to_position) == (True, 6, 1, 6)
    assert (result.head_hash, result.first_bad_position, result.problem) == (rows[-1][6], 0, "")


def test_part_of_an_intact_chain_verifies_from_the_hash_before_it() -> None:
    rows = intact_rows(events(6))

    result = verify_rows(rows[2][6], rows[3:], 4)  # type: ignore[arg-type]

    assert (result.verified, result.checked, result.to_position, result.head_hash) == (True, 3, 6, rows[-1][6])


def test_an_empty_range_verifies_with_nothing_checked() -> None:
    result = verify_rows(GENESIS, [], 1)

    assert (result.verified, result.checked, result.head_hash) == (True, 0, GENESIS)


def test_a_changed_state_is_found_at_its_position() -> None:
    rows = intact_rows(events(6))
    position, originator, version, topic, state, chain_position, stored = rows[3]
    rows[3] = (position, originator, version, topic, state.replace(b"4", b"5"), chain_position, stored)  # type: ignore[union-attr]

    result = verify_rows(GENESIS, rows, 1)

    assert (result.verified, result.first_bad_position, result.checked) == (False, 4, 3)
    assert result.problem == "the event or its link was changed"


@pytest.mark.parametrize("field", [1, 2, 3], ids=["aggregate-id", "version", "topic"])
def test_a_changed_event_header_is_found_at_its_position(field: int) -> None:
    rows = intact_rows(events(4))
    row = list(rows[1])
    row[field] = {1: UUID(int=99), 2: 7, 3: "points.domain.work:WorkEvent.Other"}[field]
    rows[1] = tuple(row)  # type: ignore[assignment]

    result = verify_rows(GENESIS, rows, 1)

    assert (result.verified, result.first_bad_position) == (False, 2)


def test_a_missing_event_is_found_at_its_position() -> None:
    rows = intact_rows(events(6))
    rows[2] = (None, None, None, None, None, 3, rows[2][6])  # its link remains, the event is gone

    result = verify_rows(GENESIS, rows, 1)

    assert (result.verified, result.first_bad_position, result.checked) == (False, 3, 2)
    assert result.problem == "the event at this position is missing"


def test_an_event_without_a_link_is_found_at_its_position() -> None:
    rows = intact_rows(events(6))
    rows[4] = (*rows[4][:5], None, None)

    result = verify_rows(GENESIS, rows, 1)

    assert (result.verified, result.first_bad_position, result.checked) == (False, 5, 4)
    assert result.problem == "the event at this position is not in the chain"


def test_a_changed_link_is_found_at_its_position() -> None:
    rows = intact_rows(events(6))
    rows[1] = (*rows[1][:6], hashlib.sha256(b"forged").digest())

    result = verify_rows(GENESIS, rows, 1)

    assert (result.verified, result.first_bad_position) == (False, 2)
    assert result.problem == "the event or its link was changed"


def test_a_wrong_starting_hash_fails_at_the_first_position() -> None:
    rows = intact_rows(events(3))

    result = verify_rows(hashlib.sha256(b"not the head before 1").digest(), rows, 1)

    assert (result.verified, result.first_bad_position, result.checked) == (False, 1, 0)
