"""Opaque page tokens: where a listing stopped, bound to the query that issued them."""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
from typing import Any

from points.domain.errors import Violations

DEFAULT_PAGE_SIZE = 100


def page_size(v: Violations, requested: int, *, default: int = DEFAULT_PAGE_SIZE, maximum: int = 1000) -> int:
    if requested < 0:
        v.add("page_size", "NEGATIVE_PAGE_SIZE", "page_size must not be negative")
        return default
    return min(requested or default, maximum)


def _query_tag(query: dict[str, Any]) -> str:
    return hashlib.sha256(json.dumps(query, sort_keys=True).encode()).hexdigest()[:16]


def issue(query: dict[str, Any], state: dict[str, Any]) -> str:
    """A token to continue `query` from `state`."""
    payload = json.dumps({"q": _query_tag(query), "s": state}, separators=(",", ":"), sort_keys=True)
    return base64.urlsafe_b64encode(payload.encode()).decode().rstrip("=")


def resume(v: Violations, token: str, query: dict[str, Any]) -> dict[str, Any] | None:
    """The state in `token`, or None for the first page; records a violation for a bad token."""
    if not token:
        return None
    try:
        payload = json.loads(base64.urlsafe_b64decode(token + "=" * (-len(token) % 4)))
        if not isinstance(payload, dict) or payload.get("q") != _query_tag(query) or not isinstance(payload.get("s"), dict):
            raise ValueError
        return payload["s"]
    except (ValueError, binascii.Error, UnicodeDecodeError):
        v.add("page_token", "INVALID_PAGE_TOKEN", "page_token was not issued for this query; start again without it")
        return None
