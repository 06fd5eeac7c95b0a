"""Limits on what one call or one caller may take: a default deadline and a per-caller write rate.

Message size and concurrent calls are limited by gRPC itself (server options in create_server);
those refusals are RESOURCE_EXHAUSTED from the gRPC core, without an ErrorInfo.
"""

from __future__ import annotations

import math
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import grpc

from points.api.errors import ResourceExhausted
from points.api.handlers import Behaviour, wrapped
from points.application.points import MAX_BATCH
from points.storage.settings import SettingsError

NO_DEADLINE = 10 * 365 * 24 * 3600.0  # gRPC reports "no deadline" as centuries remaining


@dataclass(frozen=True)
class LimitSettings:
    """Defaults fit one server process with 16 workers; every field is a CLI option and an env variable."""

    max_message_bytes: int = 4 * 1024 * 1024  # largest request accepted (gRPC's own default)
    max_concurrent_rpcs: int = 64  # calls running or queued; more are refused at once
    default_deadline: float = 10.0  # seconds, for calls that set no deadline
    write_rate: float = 500.0  # writes (work events, directory changes) per second, per caller
    write_burst: int = 5000  # writes a caller may make at once after a quiet spell (at least one full batch)

    def __post_init__(self) -> None:
        if self.max_message_bytes < 1024:
            raise SettingsError("max message size must be at least 1024 bytes")
        if self.max_concurrent_rpcs < 1:
            raise SettingsError("max concurrent RPCs must be at least 1")
        if not (0 < self.default_deadline < NO_DEADLINE):
            raise SettingsError("the default deadline must be a positive number of seconds")
        if not (self.write_rate > 0 and math.isfinite(self.write_rate)):
            raise SettingsError("the write rate must be a positive number per second")
        if self.write_burst < MAX_BATCH:
            raise SettingsError(f"the write burst must be at least {MAX_BATCH}, one full RecordWorkEvents batch")


# -- the default deadline ------------------------------------------------------------------


class _DefaultDeadlineContext:
    """A ServicerContext whose time_remaining() counts down from the default when the client set no deadline."""

    def __init__(self, context: grpc.ServicerContext, default: float, clock: Callable[[], float]) -> None:
        self._context = context
        self._clock = clock
        self._expires = clock() + default

    def time_remaining(self) -> float:
        remaining = self._context.time_remaining()
        if remaining is not None and remaining < NO_DEADLINE:
            return float(remaining)
        return max(0.0, self._expires - self._clock())

    def __getattr__(self, name: str) -> Any:
        return getattr(self._context, name)


class DefaultDeadlineInterceptor(grpc.ServerInterceptor):
    """Unary calls without a deadline behave as if they had set `default` seconds (waits end by then)."""

    def __init__(self, default: float, clock: Callable[[], float] = time.monotonic) -> None:
        self.default = default
        self.clock = clock

    def intercept_service(self, continuation: Any, handler_call_details: grpc.HandlerCallDetails) -> Any:
        return wrapped(continuation(handler_call_details), self._with_default)

    def _with_default(self, behaviour: Behaviour) -> Behaviour:
        def handler(request: Any, context: grpc.ServicerContext) -> Any:
            return behaviour(request, _DefaultDeadlineContext(context, self.default, self.clock))

        return handler


# -- the write rate ----------------------------------------------------------------------


class TokenBucket:
    """`burst` tokens, refilled at `rate` per second; a write takes one token per item written."""

    def __init__(self, rate: float, burst: int, now: float) -> None:
        self.rate = rate
        self.burst = float(burst)
        self.tokens = float(burst)
        self.updated = now

    def take(self, cost: int, now: float) -> float:
        """Takes `cost` tokens and returns 0, or takes none and returns the seconds until there are enough."""
        self.tokens = min(self.burst, self.tokens + (now - self.updated) * self.rate)
        self.updated = now
        if self.tokens >= cost:
            self.tokens -= cost
            return 0.0
        return (cost - self.tokens) / self.rate

    def is_full(self, now: float) -> bool:
        return self.tokens + (now - self.updated) * self.rate >= self.burst


class WriteRateLimiter:
    """One token bucket per caller subject; a refused write raises RESOURCE_EXHAUSTED with RATE_LIMITED."""

    PRUNE_ABOVE = 10_000  # callers tracked before idle (full) buckets are forgotten

    def __init__(self, rate: float, burst: int, clock: Callable[[], float] = time.monotonic) -> None:
        self.rate = rate
        self.burst = burst
        self.clock = clock
        self._buckets: dict[str, TokenBucket] = {}
        self._lock = threading.Lock()

    def take(self, subject: str, cost: int) -> None:
        cost = max(1, cost)  # charged in full (a batch's size is checked before, so it never exceeds the burst)
        with self._lock:
            now = self.clock()
            bucket = self._buckets.get(subject)
            if bucket is None:
                if len(self._buckets) >= self.PRUNE_ABOVE:
                    self._prune(now)
                bucket = self._buckets[subject] = TokenBucket(self.rate, self.burst, now)
            wait = bucket.take(cost, now)
        if wait > 0:
            raise ResourceExhausted(
                f"write rate exceeded: at most {self.rate:g} writes per second (bursts of {self.burst}); retry in {wait:.2f}s",
                reason="RATE_LIMITED",
                retry_after=wait,
            )

    def _prune(self, now: float) -> None:
        for subject in [s for s, b in self._buckets.items() if b.is_full(now)]:
            del self._buckets[subject]
