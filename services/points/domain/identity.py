"""Deterministic aggregate ids: the same natural key or idempotency key always names the same aggregate.

These namespaces are part of the stored data: never change them.
"""

from __future__ import annotations

from hashlib import sha1
from uuid import UUID, SafeUUID

NAMESPACE = UUID("5b0d7f52-4a53-4c3e-9a0e-6f1f4c2b9d10")

# uuid.uuid5(NAMESPACE, name), computed as uuid5 does (SHA-1 of the namespace's bytes and the
# name's UTF-8, version 5, RFC 4122 variant) without its per-call conversions and checks: a
# batch of 1,000 writes names 1,000 work events. tests/unit/test_identity.py compares the two.
_CLEAR = ~((0xC000 << 48) | (0xF000 << 64))
_VERSION_5 = (0x8000 << 48) | (5 << 76)
_PREFIXES = {kind: NAMESPACE.bytes + f"{kind}/".encode() for kind in ("outlet", "employee", "work-event")}


def _uuid5(prefix: bytes, name: str) -> UUID:
    value = (int.from_bytes(sha1(prefix + name.encode()).digest()[:16], "big") & _CLEAR) | _VERSION_5
    named = object.__new__(UUID)
    object.__setattr__(named, "int", value)  # what UUID.__init__ sets (UUID is immutable, with slots)
    object.__setattr__(named, "is_safe", SafeUUID.unknown)
    return named


def outlet_id_of(outlet_id: str) -> UUID:
    return _uuid5(_PREFIXES["outlet"], outlet_id)


def employee_id_of(employee_id: str) -> UUID:
    return _uuid5(_PREFIXES["employee"], employee_id)


def work_event_id_of(request_id: str) -> UUID:
    return _uuid5(_PREFIXES["work-event"], request_id)


def policy_book_id() -> UUID:
    return _uuid5(NAMESPACE.bytes, "policy-book")


def pay_calendar_id() -> UUID:
    return _uuid5(NAMESPACE.bytes, "pay-calendar")
