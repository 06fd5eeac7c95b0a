"""Bounded retries with exponential backoff and full jitter."""

from __future__ import annotations

import random
from dataclasses import dataclass, field

import grpc

__all__ = ["RetryPolicy"]


@dataclass(frozen=True)
class RetryPolicy:
    """How often and how patiently a call is tried again.

    Only codes that say the call may not have happened, or may not have been answered, are
    retried: UNAVAILABLE (no connection, a dropped one, a server restarting, a read whose
    `min_position` is not yet visible) and DEADLINE_EXCEEDED. A write is retried with the same
    `request_id`, so a retry of a write that did commit is a replay (`replayed: true`), never a
    second count. `max_attempts` counts the first try.
    """

    max_attempts: int = 5
    initial_backoff: float = 0.1  # seconds, before the first retry
    max_backoff: float = 5.0
    multiplier: float = 2.0
    codes: frozenset[grpc.StatusCode] = field(
        default_factory=lambda: frozenset({grpc.StatusCode.UNAVAILABLE, grpc.StatusCode.DEADLINE_EXCEEDED})
    )

    def __post_init__(self) -> None:
        if self.max_attempts < 1:
            raise ValueError("max_attempts counts the first try: at least 1")

    def backoff(self, retry: int) -> float:
        """Seconds to wait before retry number `retry` (1, 2, ...): uniform up to the exponential bound.

        Full jitter: clients that lost the same server at the same moment do not all come
        back at the same moment.
        """
        bound = min(self.max_backoff, self.initial_backoff * self.multiplier ** (retry - 1))
        return random.uniform(0, bound)  # noqa: S311 - spreading retries, not a secret


NO_RETRY = RetryPolicy(max_attempts=1)
