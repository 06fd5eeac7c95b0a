"""Corrections of a work event: a reversal or an amendment is a new event on it; the fact recorded first stays.

Worked numbers (policies/example.toml 2026.1): a service manager's customer_served at a class A
outlet earns 0.5 a unit (multiplier 1.0), weighted .35: 20 units -> 10.0000 (3.5000), 25 -> 12.5000 (4.3750).
"""

from __future__ import annotations

from datetime import date, datetime, timezone
from decimal import Decimal

import pytest

from points.application.policy_file import load_policy
from points.domain.errors import AlreadyExists, FailedPrecondition
from points.domain.policy import PointsLine
from points.domain.work import WorkEvent, correction_fingerprint
from points.domain.scoring import ScoredWork
from points.domain.work_request import WorkRequest

NOW = datetime(2026, 11, 28, 9, 30, tzinfo=timezone.utc)
LATER = datetime(2026, 11, 28, 10, 0, tzinfo=timezone.utc)
EXAMPLE = load_policy()
REVERSE = correction_fingerprint("reverse", "recorded twice")


def lines_for(kind: str, quantity: str) -> tuple[PointsLine, ...]:
    return EXAMPLE.score("service_manager", kind, Decimal(quantity), outlet_class="A")


def served_twenty() -> WorkEvent:
    """sm-1 served 20 customers at o1 (class A) on 2026-11-02: 10.0000 points, 3.5000 weighted."""
    request = WorkRequest("w-1", "sm-1", "customer_served", Decimal(20), date(2026, 11, 2), recorded_by="counter", source="feed")
    event = WorkEvent.record(ScoredWork(request, "service_manager", "o1", "A", lines_for("customer_served", "20")), timestamp=NOW)
    event.collect_events()
    return event


def reversed_event() -> WorkEvent:
    event = served_twenty()
    event.reverse(correction_id="c-1", fingerprint=REVERSE, reason="recorded twice", corrected_by="supervisor", timestamp=LATER)
    return event


def amended_to(event: WorkEvent, *, quantity: str = "", occurred_on: date | None = None, correction_id: str = "c-2") -> WorkEvent:
    request = event.amended_request(kind="", quantity=Decimal(quantity) if quantity else None, occurred_on=occurred_on)
    scored = ScoredWork(request, "service_manager", "o1", "A", lines_for(request.kind, str(request.quantity)))
    fingerprint = correction_fingerprint("amend", "miscounted", "", quantity, occurred_on.isoformat() if occurred_on else "")
    event.amend(
        scored, correction_id=correction_id, fingerprint=fingerprint, reason="miscounted", corrected_by="supervisor", timestamp=LATER
    )
    return event


# -- reversing ----------------------------------------------------------------------


def test_a_reversal_takes_the_points_away_but_keeps_the_fact() -> None:
    event = reversed_event()

    assert event.reversed
    assert (event.lines, event.points) == ([], Decimal(0))
    assert (event.kind, event.quantity, event.occurred_on, event.employee_id) == ("customer_served", Decimal(20), date(2026, 11, 2), "sm-1")


def test_a_reversal_is_a_new_event_saying_who_and_why() -> None:
    (reversal,) = reversed_event().collect_events()

    assert isinstance(reversal, WorkEvent.Reversed)
    assert (reversal.correction_id, reversal.reason, reversal.corrected_by, reversal.timestamp) == (
        "c-1", "recorded twice", "supervisor", LATER,
    )  # fmt: skip
    assert reversal.originator_version == 2


def test_a_reversed_event_cannot_be_reversed_again() -> None:
    event = reversed_event()

    with pytest.raises(FailedPrecondition) as caught:
        event.reverse(correction_id="c-9", fingerprint=REVERSE, reason="again", corrected_by="supervisor", timestamp=LATER)

    assert caught.value.reason == "ALREADY_REVERSED"
    assert event.collect_events()[1:] == []  # only the first reversal


def test_a_reversed_event_cannot_be_amended() -> None:
    with pytest.raises(FailedPrecondition) as caught:
        reversed_event().amended_request(kind="", quantity=Decimal(25), occurred_on=None)

    assert caught.value.reason == "EVENT_REVERSED"


# -- amending -----------------------------------------------------------------------


def test_an_amended_request_changes_only_the_fields_given() -> None:
    event = served_twenty()

    request = event.amended_request(kind="", quantity=Decimal(25), occurred_on=None)

    # The recorder did not name the outlet, so the amended fact takes the assignment's outlet on its date ("").
    assert (request.request_id, request.employee_id, request.kind, request.quantity, request.occurred_on, request.outlet_id) == (
        "w-1", "sm-1", "customer_served", Decimal(25), date(2026, 11, 2), "",
    )  # fmt: skip


def test_an_amendment_to_the_same_values_changes_nothing_and_is_refused() -> None:
    event = served_twenty()

    with pytest.raises(FailedPrecondition) as caught:
        event.amended_request(kind="customer_served", quantity=Decimal("20.0"), occurred_on=date(2026, 11, 2))

    assert caught.value.reason == "AMENDMENT_CHANGES_NOTHING"


def test_an_amendment_replaces_the_lines_by_lines_scored_afresh() -> None:
    event = amended_to(served_twenty(), quantity="25")

    assert (event.quantity, event.points, event.reversed) == (Decimal(25), Decimal("4.3750"), False)
    assert [(x.rule_id, x.points, x.weighted_points) for x in event.lines] == [
        ("sm-customer-served", Decimal("12.5000"), Decimal("4.3750"))
    ]


def test_an_amendment_of_the_date_moves_the_event_to_the_new_month() -> None:
    event = amended_to(served_twenty(), occurred_on=date(2026, 10, 30))

    assert (event.occurred_on, event.period) == (date(2026, 10, 30), "2026-10")


def test_the_amended_event_repeats_the_employee_and_carries_the_new_fact() -> None:
    (amended,) = amended_to(served_twenty(), quantity="25").collect_events()

    assert isinstance(amended, WorkEvent.Amended)
    assert (amended.employee_id, amended.role, amended.kind, amended.quantity, amended.occurred_on) == (
        "sm-1", "service_manager", "customer_served", Decimal(25), date(2026, 11, 2),
    )  # fmt: skip
    assert (amended.reason, amended.corrected_by) == ("miscounted", "supervisor")


def test_an_amended_event_can_still_be_reversed() -> None:
    event = amended_to(served_twenty(), quantity="25")

    event.reverse(correction_id="c-3", fingerprint=REVERSE, reason="recorded twice", corrected_by="supervisor", timestamp=LATER)

    assert event.reversed and event.lines == []


# -- retries ------------------------------------------------------------------------


def test_a_new_correction_id_is_no_replay() -> None:
    assert served_twenty().replayed_correction("c-1", REVERSE) is None


def test_the_same_correction_again_is_a_replay_of_its_version() -> None:
    event = amended_to(served_twenty(), quantity="25", correction_id="c-2")
    event.reverse(correction_id="c-3", fingerprint=REVERSE, reason="recorded twice", corrected_by="supervisor", timestamp=LATER)

    amend = correction_fingerprint("amend", "miscounted", "", "25", "")
    assert event.replayed_correction("c-2", amend) == 2
    assert event.replayed_correction("c-3", REVERSE) == 3


def test_a_correction_id_reused_for_other_content_already_exists() -> None:
    event = reversed_event()

    with pytest.raises(AlreadyExists) as caught:
        event.replayed_correction("c-1", correction_fingerprint("reverse", "another reason"))

    assert caught.value.reason == "REQUEST_ID_REUSED"


@pytest.mark.parametrize(
    "other",
    [
        ("amend", "recorded twice", "", "", ""),
        ("reverse", "recorded twice.", "", "", ""),
        ("reverse", "recorded twice", "customer_served", "", ""),
        ("reverse", "recorded twice", "", "20", ""),
        ("reverse", "recorded twice", "", "", "2026-11-02"),
    ],
)
def test_the_correction_fingerprint_tells_every_field_apart(other: tuple[str, str, str, str, str]) -> None:
    assert correction_fingerprint(*other) != REVERSE


def test_the_correction_fingerprint_is_stable() -> None:
    assert correction_fingerprint("reverse", "recorded twice") == REVERSE
