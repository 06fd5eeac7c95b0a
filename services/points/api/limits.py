"""Limits on what one call or one caller may take: a default deadline, concurrent calls (in all and per caller),
and a per-caller write rate.

Message size is limited by gRPC itself (a server option in create_server): that refusal is
RESOURCE_EXHAUSTED from the gRPC core, without an ErrorInfo. gRPC's own limit on concurrent
calls is only a last-resort ceiling, above the calls admitted here (see grpc_ceiling).
"""

from __future__ import annotations

import math
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import grpc

from points.api.auth import current_caller
from points.api.errors import ResourceExhausted
from points.api.handlers import Behaviour, wrapped
from points.application.points import MAX_BATCH
from points.storage.settings import SettingsError

NO_DEADLINE = 10 * 365 * 24 * 3600.0  # gRPC reports "no deadline" as centuries remaining
HEADROOM = 16  # calls gRPC lets in beyond the admitted ones (at least): health checks, refusals (LimitSettings.grpc_ceiling)
WATCHES = 4  # health Watch streams at once, all callers together (they are unauthenticated and long)
HEALTH = "/grpc.health.v1.Health/"
HEALTH_CHECK = HEALTH + "Check"
HEALTH_WATCH = HEALTH + "Watch"
DEVELOPMENT_CALLER = "development (no authentication)"  # every caller of a server without authentication


@dataclass(frozen=True)
class LimitSettings:
    """Defaults fit one server process with 16 workers; every field is a CLI option and an env variable."""

    max_message_bytes: int = 4 * 1024 * 1024  # largest request accepted (gRPC's own default)
    max_concurrent_rpcs: int = 64  # calls admitted at once, all callers together (health checks aside); more are refused at once
    max_calls_per_caller: int | None = None  # calls one caller may have admitted at once; None: a quarter of the total
    default_deadline: float = 10.0  # seconds, for calls that set no deadline
    max_read_wait: float = 5.0  # seconds a read may wait for its min_position, whatever its deadline
    write_rate: float = 500.0  # writes (work events, directory changes) per second, per caller
    write_burst: int = 5000  # writes a caller may make at once after a quiet spell (at least one full batch)

    def __post_init__(self) -> None:
        if self.max_message_bytes < 1024:
            raise SettingsError("max message size must be at least 1024 bytes")
        if self.max_concurrent_rpcs < 1:
            raise SettingsError("max concurrent RPCs must be at least 1")
        if self.max_calls_per_caller is not None and not (1 <= self.max_calls_per_caller <= self.max_concurrent_rpcs):
            raise SettingsError(f"max calls per caller must be between 1 and max concurrent RPCs ({self.max_concurrent_rpcs})")
        if not (0 < self.max_read_wait < NO_DEADLINE):
            raise SettingsError("the max read wait must be a positive number of seconds")
        if not (0 < self.default_deadline < NO_DEADLINE):
            raise SettingsError("the default deadline must be a positive number of seconds")
        if not (self.write_rate > 0 and math.isfinite(self.write_rate)):
            raise SettingsError("the write rate must be a positive number per second")
        if self.write_burst < MAX_BATCH:
            raise SettingsError(f"the write burst must be at least {MAX_BATCH}, one full RecordWorkEvents batch")

    @property
    def per_caller(self) -> int:
        """The calls one caller may have admitted at once."""
        if self.max_calls_per_caller is not None:
            return self.max_calls_per_caller
        return max(1, self.max_concurrent_rpcs // 4)

    @property
    def grpc_ceiling(self) -> int:
        """gRPC's own maximum_concurrent_rpcs, and the server's threads: the admitted calls plus headroom.

        The headroom is for what is answered without being admitted (health checks, refusals) and
        the few health Watch streams (WATCHES): every call gRPC lets in has a thread at once, so a
        health Check never queues behind calls that wait.
        """
        return self.max_concurrent_rpcs + max(HEADROOM, self.max_concurrent_rpcs // 4)


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


# -- concurrent calls ----------------------------------------------------------------------


class ConcurrencyLimiter:
    """At most `total` calls admitted at once, and at most `per_caller` of them by any one caller.

    A refused call raises RESOURCE_EXHAUSTED with reason TOO_MANY_CONCURRENT_CALLS at once; it
    never waits for a slot. There is no RetryInfo: when a slot frees depends on the calls that
    hold them (a read waits for its min_position at most LimitSettings.max_read_wait).
    """

    def __init__(self, total: int, per_caller: int) -> None:
        self.total = total
        self.per_caller = per_caller
        self._admitted = 0
        self._by_caller: dict[str, int] = {}
        self._lock = threading.Lock()

    @contextmanager
    def slot(self, caller: str) -> Iterator[None]:
        with self._lock:
            held = self._by_caller.get(caller, 0)
            if held >= self.per_caller:
                raise ResourceExhausted(
                    f"too many concurrent calls: at most {self.per_caller} of yours at once; retry when one ends",
                    reason="TOO_MANY_CONCURRENT_CALLS",
                )
            if self._admitted >= self.total:
                raise ResourceExhausted(
                    f"too many concurrent calls: the server admits {self.total} at once; retry shortly",
                    reason="TOO_MANY_CONCURRENT_CALLS",
                )
            self._admitted += 1
            self._by_caller[caller] = held + 1
        try:
            yield
        finally:
            with self._lock:
                self._admitted -= 1
                left = self._by_caller[caller] - 1
                if left:
                    self._by_caller[caller] = left
                else:
                    del self._by_caller[caller]  # idle callers are not remembered

    def admitted(self, caller: str | None = None) -> int:
        with self._lock:
            return self._admitted if caller is None else self._by_caller.get(caller, 0)


class ConcurrencyInterceptor(grpc.ServerInterceptor):
    """Holds a slot of `limiter` for each call while it runs, keyed by the authenticated caller.

    It sits after the access check (the caller is known, auth.CALLER); without authentication
    every call is DEVELOPMENT_CALLER's. Health `Check` takes no slot and is never refused here;
    health `Watch` streams, long and unauthenticated, take one of `watches` shared slots instead.
    """

    def __init__(self, limiter: ConcurrencyLimiter, watches: ConcurrencyLimiter | None = None) -> None:
        self.limiter = limiter
        self.watches = watches or ConcurrencyLimiter(WATCHES, WATCHES)

    def intercept_service(self, continuation: Any, handler_call_details: grpc.HandlerCallDetails) -> Any:
        method = handler_call_details.method
        handler = continuation(handler_call_details)
        if method == HEALTH_CHECK:
            return handler
        if method == HEALTH_WATCH:
            return wrapped(handler, lambda behaviour: behaviour, lambda context: self.watches.slot(HEALTH_WATCH))
        return wrapped(handler, self._held, lambda context: self._slot())

    def _slot(self) -> Any:
        caller = current_caller()
        return self.limiter.slot(DEVELOPMENT_CALLER if caller is None else caller.subject)

    def _held(self, behaviour: Behaviour) -> Behaviour:
        def handler(request: Any, context: grpc.ServicerContext) -> Any:
            with self._slot():
                return behaviour(request, context)

        return handler
