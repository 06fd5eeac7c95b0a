"""Aggregate ids are uuid5 of fixed namespaced names: stored data depends on every bit of them."""

from __future__ import annotations

import pickle
import random
import uuid

import pytest

from points.domain.identity import NAMESPACE, employee_id_of, outlet_id_of, pay_calendar_id, policy_book_id, work_event_id_of

NAMES = ["", "w-1", "E1001", "é東\U0001f600", "a" * 300, "with space/and/slashes"]


@pytest.mark.parametrize(
    ("named", "prefix"), [(work_event_id_of, "work-event/"), (employee_id_of, "employee/"), (outlet_id_of, "outlet/")]
)
def test_ids_are_the_standard_uuid5_of_their_namespaced_names(named: object, prefix: str) -> None:
    rng = random.Random(5)
    names = NAMES + ["".join(chr(rng.randint(32, 0x2FFF)) for _ in range(rng.randint(1, 40))) for _ in range(500)]
    for name in names:
        ours, standard = named(name), uuid.uuid5(NAMESPACE, prefix + name)  # type: ignore[operator]
        assert (ours, str(ours), hash(ours), ours.bytes, ours.version, ours.variant) == (
            standard, str(standard), hash(standard), standard.bytes, 5, uuid.RFC_4122
        )  # fmt: skip
        assert pickle.loads(pickle.dumps(ours)) == standard and ours.is_safe is uuid.SafeUUID.unknown


def test_the_singletons_keep_their_ids() -> None:
    # Stored in every log: literal values (as uuid.uuid5 gave them), so no change to the namespace or the
    # computation can pass unnoticed.
    assert str(policy_book_id()) == "a40e2316-bff8-5ab2-b9fa-6bba5a101363"
    assert str(pay_calendar_id()) == "5a12f2b0-0baf-5873-b7a5-a8dc7bcce3aa"
    assert str(work_event_id_of("w-1")) == "556e645d-2768-5207-93df-0d046e9b498e"
