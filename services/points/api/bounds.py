"""Bounds on a request, checked before anything else reads it: its size in bytes and the length of every string in it.

They run just inside the read audit (which records the refusal) and the error mapping, before the
access check, the servicer, any log line or cache: a request over a bound costs a walk over its
fields and one bounded access record, nothing more. The lengths are a table here, documented in
docs/api.md; the domain's own checks (formats, TEXT_MAX, ...) still apply to what passes.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import grpc
from google.protobuf.descriptor import FieldDescriptor
from google.protobuf.message import Message

from points.api.errors import ResourceExhausted
from points.application.policy_versions import MAX_POLICY_BYTES
from points.domain.errors import FieldViolation, InvalidRequest

FIELD_MAX_DEFAULT = 256  # characters (bytes for bytes fields), for every string field not named below
FIELD_MAX: dict[str, int] = {
    # free text that is audited (who and why): the domain allows 1000 characters
    "reason": 1000,
    "published_by": 1000,
    "proposed_by": 1000,
    "approved_by": 1000,
    "withdrawn_by": 1000,
    "closed_by": 1000,
    "requested_by": 1000,
    "corrected_by": 1000,
    # policy documents (TOML): the domain refuses more than MAX_POLICY_BYTES bytes of UTF-8
    "document": MAX_POLICY_BYTES,
    "candidate_policy": MAX_POLICY_BYTES,
    # opaque page tokens, room for a signature
    "page_token": 1024,
}
SHORTEST = min(FIELD_MAX_DEFAULT, *FIELD_MAX.values())
TEXT_TYPES = (FieldDescriptor.TYPE_STRING, FieldDescriptor.TYPE_BYTES)


def field_max(name: str) -> int:
    return FIELD_MAX.get(name, FIELD_MAX_DEFAULT)


def too_long(request: Message) -> list[FieldViolation]:
    """A violation per string or bytes field (repeated, nested and map entries too) longer than its maximum."""
    if request.ByteSize() <= SHORTEST:  # no string in it can be longer (most reads): skip the walk
        return []
    found: list[FieldViolation] = []
    _walk(request, "", found)
    return found


def _walk(message: Message, prefix: str, found: list[FieldViolation]) -> None:
    for descriptor, value in message.ListFields():
        path = prefix + descriptor.name
        if descriptor.type == FieldDescriptor.TYPE_MESSAGE:
            if descriptor.message_type.GetOptions().map_entry:
                _walk_map(descriptor, value, path, found)
            elif _repeated(descriptor):
                for i, item in enumerate(value):
                    if item.ByteSize() > SHORTEST:  # a batch's items are short: skip them in C, not in a Python walk
                        _walk(item, f"{path}[{i}].", found)
            elif value.ByteSize() > SHORTEST:
                _walk(value, path + ".", found)
        elif descriptor.type in TEXT_TYPES:
            limit = field_max(descriptor.name)
            for i, text in enumerate(value) if _repeated(descriptor) else ((None, value),):
                if len(text) > limit:
                    found.append(_violation(path if i is None else f"{path}[{i}]", limit))


def _walk_map(descriptor: FieldDescriptor, entries: Any, path: str, found: list[FieldViolation]) -> None:
    value_field = descriptor.message_type.fields_by_name["value"]
    limit = FIELD_MAX_DEFAULT
    for key in entries:
        shown = key if isinstance(key, str) and len(key) <= 64 else None
        if isinstance(key, (str, bytes)) and len(key) > limit:
            found.append(_violation(f"{path} (a key)", limit))
        if value_field.type in TEXT_TYPES and len(entries[key]) > field_max(descriptor.name):
            found.append(_violation(f"{path}[{shown!r}]" if shown is not None else f"{path} (a value)", field_max(descriptor.name)))
        elif value_field.type == FieldDescriptor.TYPE_MESSAGE:
            _walk(entries[key], f"{path}[{shown!r}].", found)


def _repeated(descriptor: FieldDescriptor) -> bool:
    return bool(descriptor.is_repeated) if hasattr(descriptor, "is_repeated") else descriptor.label == FieldDescriptor.LABEL_REPEATED


def _violation(path: str, limit: int) -> FieldViolation:
    return FieldViolation(path, "FIELD_TOO_LONG", f"at most {limit} characters")


@dataclass(frozen=True)
class Oversized:
    """Stands for a request larger than the server's message limit: refused without parsing it."""

    size: int


def check_bounds(request: Any, max_message_bytes: int) -> None:
    """RESOURCE_EXHAUSTED (MESSAGE_TOO_LARGE) for an oversized request; INVALID_ARGUMENT (FIELD_TOO_LONG) for long fields."""
    if isinstance(request, Oversized):
        raise ResourceExhausted(
            f"the request is {request.size} bytes; this server accepts at most {max_message_bytes}", reason="MESSAGE_TOO_LARGE"
        )
    if isinstance(request, Message):
        violations = too_long(request)
        if violations:
            raise InvalidRequest(violations)


class RequestBoundsInterceptor(grpc.ServerInterceptor):
    """Refuses requests over `max_message_bytes` or with a field over its maximum, before the calls inside it run.

    gRPC's own receive limit is set above `max_message_bytes` (create_server), so that a request
    between the two is refused here, where the read audit records it, rather than by the gRPC core.
    """

    def __init__(self, max_message_bytes: int) -> None:
        self.max_message_bytes = max_message_bytes

    def intercept_service(self, continuation: Any, handler_call_details: grpc.HandlerCallDetails) -> Any:
        handler = continuation(handler_call_details)
        if handler is None:
            return None
        if handler.unary_unary is not None:
            return grpc.unary_unary_rpc_method_handler(
                self._unary(handler.unary_unary),
                request_deserializer=self._sized(handler.request_deserializer),
                response_serializer=handler.response_serializer,
            )
        if handler.unary_stream is not None:
            return grpc.unary_stream_rpc_method_handler(
                self._stream(handler.unary_stream),
                request_deserializer=self._sized(handler.request_deserializer),
                response_serializer=handler.response_serializer,
            )
        return handler  # request streams (reflection only): gRPC's own receive limit applies

    def _sized(self, deserializer: Callable[[bytes], Any] | None) -> Callable[[bytes], Any] | None:
        if deserializer is None:
            return None
        limit = self.max_message_bytes

        def parse(data: bytes) -> Any:
            return Oversized(len(data)) if len(data) > limit else deserializer(data)

        return parse

    def _unary(self, behaviour: Callable[[Any, grpc.ServicerContext], Any]) -> Callable[[Any, grpc.ServicerContext], Any]:
        def handler(request: Any, context: grpc.ServicerContext) -> Any:
            check_bounds(request, self.max_message_bytes)
            return behaviour(request, context)

        return handler

    def _stream(self, behaviour: Callable[[Any, grpc.ServicerContext], Iterator[Any]]) -> Callable[[Any, grpc.ServicerContext], Iterator[Any]]:
        def handler(request: Any, context: grpc.ServicerContext) -> Iterator[Any]:
            check_bounds(request, self.max_message_bytes)
            yield from behaviour(request, context)

        return handler
