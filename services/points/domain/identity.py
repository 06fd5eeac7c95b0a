"""Deterministic aggregate ids: the same natural key or idempotency key always names the same aggregate.

These namespaces are part of the stored data: never change them.
"""

from __future__ import annotations

from uuid import UUID, uuid5

NAMESPACE = UUID("5b0d7f52-4a53-4c3e-9a0e-6f1f4c2b9d10")


def outlet_id_of(outlet_id: str) -> UUID:
    return uuid5(NAMESPACE, f"outlet/{outlet_id}")


def employee_id_of(employee_id: str) -> UUID:
    return uuid5(NAMESPACE, f"employee/{employee_id}")


def work_event_id_of(request_id: str) -> UUID:
    return uuid5(NAMESPACE, f"work-event/{request_id}")


def policy_book_id() -> UUID:
    return uuid5(NAMESPACE, "policy-book")


def pay_calendar_id() -> UUID:
    return uuid5(NAMESPACE, "pay-calendar")
