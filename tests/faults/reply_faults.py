"""Lost replies, test-only: a gRPC hop in front of a real server whose interceptor loses answers after the write.

The real server is `create_server` unchanged. In front of it runs a second gRPC server that
forwards every call byte for byte (`Forwarder`); its `ReplyFaultInterceptor` lets the call
reach the real server and commit, then, as decided for that attempt, answers UNAVAILABLE
instead of the real answer (the reply was lost), or holds the real answer until the caller's
deadline has passed (the reply came too late). A client sees exactly what a lost reply looks
like on a network, and the service under test knows nothing of it.
"""

from __future__ import annotations

import random
import threading
import time
from collections import Counter
from collections.abc import Callable
from concurrent import futures
from typing import Any

import grpc

DELIVER, LOSE, STALL = "deliver", "lose", "stall"


class ReplyFaults:
    """Decides, per attempt, whether its reply is delivered, lost or late; thread-safe and seeded."""

    def __init__(self, seed: int, *, lose: float, stall: float) -> None:
        self._rng = random.Random(seed)
        self._lock = threading.Lock()
        self.lose, self.stall = lose, stall
        self.enabled = True
        self.counts: Counter[str] = Counter()  # (fault, real code) -> attempts
        self.after_ok: Counter[str] = Counter()  # faults applied to answers that were OK: committed writes

    def decide(self) -> str:
        with self._lock:
            if not self.enabled:
                return DELIVER
            roll = self._rng.random()
        return LOSE if roll < self.lose else STALL if roll < self.lose + self.stall else DELIVER

    def note(self, fault: str, ok: bool) -> None:
        with self._lock:
            self.counts[fault] += 1
            if ok and fault != DELIVER:
                self.after_ok[fault] += 1


class ReplyFaultInterceptor(grpc.ServerInterceptor):
    """Runs the call to the end (the write commits), then loses or delays the answer as `faults` decides."""

    def __init__(self, faults: ReplyFaults, methods: frozenset[str]) -> None:
        self.faults = faults
        self.methods = methods

    def intercept_service(self, continuation: Callable[[Any], Any], handler_call_details: grpc.HandlerCallDetails) -> Any:
        handler = continuation(handler_call_details)
        if handler is None or handler.unary_unary is None or handler_call_details.method not in self.methods:
            return handler
        behaviour = handler.unary_unary

        def faulty(request: bytes, context: grpc.ServicerContext) -> bytes:
            fault = self.faults.decide()
            try:
                response = behaviour(request, context)
            except Exception:  # the real answer was an error (the forwarder aborted with it)
                self.faults.note(fault, ok=False)
                if fault == LOSE:
                    context.set_trailing_metadata(())  # drop the real error's rich status with it
                    context.abort(grpc.StatusCode.UNAVAILABLE, "injected: the reply was lost")
                if fault == STALL:
                    time.sleep((context.time_remaining() or 0.0) + 0.05)
                raise
            self.faults.note(fault, ok=True)
            if fault == LOSE:
                context.abort(grpc.StatusCode.UNAVAILABLE, "injected: the reply was lost")
            if fault == STALL:
                remaining = context.time_remaining()
                time.sleep((remaining or 0.0) + 0.05)  # past the caller's deadline: the answer arrives too late
            return response  # type: ignore[no-any-return]

        return grpc.unary_unary_rpc_method_handler(faulty)


class Forwarder(grpc.GenericRpcHandler):
    """Forwards every unary call, as bytes, to `target`, with the caller's deadline and metadata; errors pass through whole."""

    def __init__(self, target: grpc.Channel) -> None:
        self.target = target

    def service(self, handler_call_details: grpc.HandlerCallDetails) -> grpc.RpcMethodHandler:
        method = handler_call_details.method
        forward = self.target.unary_unary(method)  # no (de)serializers: bytes in, bytes out

        def behaviour(request: bytes, context: grpc.ServicerContext) -> bytes:
            try:
                response: bytes = forward(request, timeout=context.time_remaining(), metadata=context.invocation_metadata())
            except grpc.RpcError as error:
                context.set_trailing_metadata(error.trailing_metadata())  # type: ignore[attr-defined]
                context.abort(error.code(), error.details())  # type: ignore[attr-defined]
            return response

        return grpc.unary_unary_rpc_method_handler(behaviour)


def start_faulty_hop(target_address: str, faults: ReplyFaults, methods: frozenset[str]) -> tuple[grpc.Server, str, grpc.Channel]:
    """A forwarding server on a free port in front of `target_address`; returns it, its address and its upstream channel."""
    upstream = grpc.insecure_channel(target_address)
    server = grpc.server(futures.ThreadPoolExecutor(max_workers=32), interceptors=[ReplyFaultInterceptor(faults, methods)])
    server.add_generic_rpc_handlers((Forwarder(upstream),))
    port = server.add_insecure_port("127.0.0.1:0")
    server.start()
    return server, f"127.0.0.1:{port}", upstream
