"""Opaque page tokens: where a listing stopped, bound to the query that issued them and signed.

A token is `base64url(state).base64url(mac)`, the mac an HMAC-SHA256 under the store's page key
over the query's digest and the state: a client can neither forge a state nor move a token to
another query. The key is the store's (storage/page_keys.py), so every server of one store
resumes the others' tokens. The mac is checked (in constant time) before the state is decoded,
and the state must then have the shape its listing issues.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
from collections.abc import Mapping
from typing import Any

from points.domain.errors import Violations

DEFAULT_PAGE_SIZE = 100
MAX_TOKEN_LENGTH = 1024  # characters; the longest token issued is under 200
MIN_KEY_BYTES = 32
INT_MAX = 2**63 - 1  # positions, offsets and ids are 64-bit columns
TEXT_MAX = 256

# What a state field holds: int (0 to INT_MAX), str (at most TEXT_MAX characters), or a tuple of
# those for a JSON array of that length and those types.
Shape = Mapping[str, Any]


def page_size(v: Violations, requested: int, *, default: int = DEFAULT_PAGE_SIZE, maximum: int = 1000) -> int:
    if requested < 0:
        v.add("page_size", "NEGATIVE_PAGE_SIZE", "page_size must not be negative")
        return default
    return min(requested or default, maximum)


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).decode().rstrip("=")


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def _fits(value: Any, shape: Any) -> bool:
    if shape is int:
        return type(value) is int and 0 <= value <= INT_MAX
    if shape is str:
        return type(value) is str and len(value) <= TEXT_MAX
    if isinstance(shape, tuple):
        return type(value) is list and len(value) == len(shape) and all(map(_fits, value, shape))
    raise TypeError(f"not a state shape: {shape!r}")


class PageTokens:
    """Issues and resumes page tokens under one key (the store's page key)."""

    def __init__(self, key: bytes) -> None:
        if len(key) < MIN_KEY_BYTES:
            raise ValueError(f"a page key has at least {MIN_KEY_BYTES} bytes")
        self._key = key

    def _mac(self, query: dict[str, Any], state: bytes) -> bytes:
        digest = hashlib.sha256(json.dumps(query, sort_keys=True).encode()).digest()
        return hmac.new(self._key, digest + state, hashlib.sha256).digest()

    def issue(self, query: dict[str, Any], state: dict[str, Any]) -> str:
        """A token to continue `query` from `state`."""
        body = json.dumps(state, separators=(",", ":"), sort_keys=True).encode()
        return f"{_b64(body)}.{_b64(self._mac(query, body))}"

    def resume(self, v: Violations, token: str, query: dict[str, Any], shape: Shape) -> dict[str, Any] | None:
        """The state in `token`, or None for the first page; records a violation for a token this store did not
        issue for `query`, or whose state lacks `shape`."""
        if not token:
            return None
        state = self._verified(token, query)
        if state is None or state.keys() != shape.keys() or not all(_fits(state[k], s) for k, s in shape.items()):
            v.add("page_token", "INVALID_PAGE_TOKEN", "page_token was not issued for this query; start again without it")
            return None
        return state

    def _verified(self, token: str, query: dict[str, Any]) -> dict[str, Any] | None:
        if len(token) > MAX_TOKEN_LENGTH or not token.isascii() or token.count(".") != 1:
            return None
        body_text, mac_text = token.split(".")
        try:
            body, mac = _unb64(body_text), _unb64(mac_text)
        except (ValueError, binascii.Error):
            return None
        if not hmac.compare_digest(mac, self._mac(query, body)):
            return None
        try:
            state = json.loads(body)
        except (ValueError, UnicodeDecodeError):
            return None
        return state if isinstance(state, dict) else None
