"""Wrapping gRPC method handlers of every kind, so an interceptor can run code around the servicer."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, nullcontext
from typing import Any

import grpc

from points.api.errors import abort_with
from points.domain.errors import PointsError

Behaviour = Callable[[Any, grpc.ServicerContext], Any]
# Given the original behaviour, the behaviour to run instead (for unary-unary handlers).
UnaryWrap = Callable[[Behaviour], Behaviour]
# Runs before a streaming handler; raises a PointsError to refuse the call. It may return a
# context manager, held while the call runs (a concurrency slot, the caller in auth.CALLER).
StreamCheck = Callable[[grpc.ServicerContext], AbstractContextManager[Any] | None]


def wrapped(handler: grpc.RpcMethodHandler | None, unary: UnaryWrap, stream_check: StreamCheck | None = None) -> Any:
    """The handler with its unary-unary behaviour wrapped; streaming behaviours get `stream_check` first.

    A unary wrap raises PointsError and leaves the status to the ErrorInterceptor (outermost); the
    ErrorInterceptor does not wrap streams, so a refused stream is aborted here with the same mapping.
    """
    if handler is None:
        return None
    if handler.unary_unary is not None:
        return grpc.unary_unary_rpc_method_handler(
            unary(handler.unary_unary),
            request_deserializer=handler.request_deserializer,
            response_serializer=handler.response_serializer,
        )
    if stream_check is None:
        return handler
    if handler.unary_stream is not None:
        return grpc.unary_stream_rpc_method_handler(
            _checked_stream(handler.unary_stream, stream_check),
            request_deserializer=handler.request_deserializer,
            response_serializer=handler.response_serializer,
        )
    if handler.stream_unary is not None:
        return grpc.stream_unary_rpc_method_handler(
            _checked(handler.stream_unary, stream_check),
            request_deserializer=handler.request_deserializer,
            response_serializer=handler.response_serializer,
        )
    return grpc.stream_stream_rpc_method_handler(
        _checked_stream(handler.stream_stream, stream_check),
        request_deserializer=handler.request_deserializer,
        response_serializer=handler.response_serializer,
    )


def _refuse_unless(check: StreamCheck, context: grpc.ServicerContext) -> AbstractContextManager[Any]:
    """What the check holds for the call (entered by the caller); aborts the call if the check refuses it."""
    try:
        held = check(context)
        if held is None:
            return nullcontext()
        held.__enter__()  # a slot is taken here, so a refusal is a PointsError like the check's own
    except PointsError as error:
        abort_with(context, error)
    return _Entered(held)


class _Entered(AbstractContextManager[Any]):
    """A context manager already entered: `with` only exits it."""

    def __init__(self, held: AbstractContextManager[Any]) -> None:
        self.held = held

    def __exit__(self, *exc_info: object) -> Any:
        return self.held.__exit__(*exc_info)


def _checked(behaviour: Behaviour, check: StreamCheck) -> Behaviour:
    def handler(request: Any, context: grpc.ServicerContext) -> Any:
        with _refuse_unless(check, context):
            return behaviour(request, context)

    return handler


def _checked_stream(behaviour: Behaviour, check: StreamCheck) -> Callable[[Any, grpc.ServicerContext], Iterator[Any]]:
    def handler(request: Any, context: grpc.ServicerContext) -> Iterator[Any]:
        with _refuse_unless(check, context):
            yield from behaviour(request, context)

    return handler
