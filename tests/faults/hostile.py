"""Hostile requests for every RPC, generated from the protobuf descriptors of the generated modules.

`rpc_methods()` finds every service method in `points.v1.*_pb2`; `requests(descriptor)` is a
Hypothesis strategy for its request message: any subset of fields set, strings that are
huge, empty, control characters, look-alike ids and dates, numbers at the edges of their
types, enum numbers no one defined, timestamps outside the calendar, nested messages, maps
and repeated fields. `with_invalid_utf8(...)` makes a serialized request whose string field
holds bytes that are not UTF-8, which no generated stub can send.
"""

from __future__ import annotations

import importlib
import re
import pkgutil
from dataclasses import dataclass
from typing import Any

from google.protobuf import message_factory, text_format
from google.protobuf.descriptor import Descriptor, FieldDescriptor, MethodDescriptor
from hypothesis import strategies as st

import points.v1

MAX_DEPTH = 3

# Values that reach deeper than random text: ids that exist, dates and periods at and past the edges,
# numbers that are not numbers, text that means something to SQL or a format string.
SPECIAL_TEXT = [
    "", " ", "0", "-1", "-0", "1e309", "NaN", "Infinity", "0.0000001", "9" * 40, "1" * 400, "１２",
    "2026-11-02", "2026-02-30", "0001-01-01", "9999-12-31", "10000-01-01", "-2026-11-02", "2026-11", "2026-13",
    "2026-Q4", "2026-Q5", "2026", "0000", "2026-11-02T10:00:00Z", "9999-12-31T23:59:59.999999999Z",
    "os-1", "sm-1", "north-01", "counter_transaction", "duty_day", "2026.1", "ROLE_SERVICE_MANAGER",
    "\x00", "a\x00b", "\x7f", "\u0085", "\u202e", "\ufeff", "😀", "\r\n", "\t", " os-1", "os-1 ",
    "'; DROP TABLE points_events; --", "%s", "%(x)s", "{}", "{0}", "?", "$1", "\\", "'", '"', "../../etc/passwd",
    "[roles.x]\nweights_total = 1", 'version = "x"\n', "a" * 129, "é" * 65,
]
HUGE_TEXT = st.builds(lambda unit, n: unit * n, st.sampled_from(["a", "9", "é", "😀", "'", "\x01"]), st.sampled_from([1_000, 70_000, 1_100_000]))
EDGE_INTS = {
    32: [0, 1, -1, 2**31 - 1, -(2**31), 1000, 1001],
    64: [0, 1, -1, 2**63 - 1, -(2**63), 2**53 + 1, 10**12],
}


@dataclass(frozen=True)
class Rpc:
    path: str  # /package.Service/Method
    method: MethodDescriptor

    @property
    def streams(self) -> bool:
        return bool(self.method.server_streaming)

    @property
    def request_class(self) -> Any:
        return message_factory.GetMessageClass(self.method.input_type)

    def __str__(self) -> str:
        return f"{self.method.containing_service.name}.{self.method.name}"


def rpc_methods() -> list[Rpc]:
    """Every method of every service in the generated points.v1 modules."""
    found = []
    for module in sorted(m.name for m in pkgutil.iter_modules(points.v1.__path__) if m.name.endswith("_pb2")):
        descriptor = importlib.import_module(f"points.v1.{module}").DESCRIPTOR
        for service in descriptor.services_by_name.values():
            for method in service.methods:
                found.append(Rpc(f"/{service.full_name}/{method.name}", method))
    return found


def text() -> st.SearchStrategy[str]:
    """Mostly the special values and short random text; one string in twenty is huge (up to past the 4 MiB limit)."""
    ordinary = st.one_of(st.sampled_from(SPECIAL_TEXT), st.text(max_size=40))
    return st.integers(0, 19).flatmap(lambda n: HUGE_TEXT if n == 0 else ordinary)


def _integers(field: FieldDescriptor) -> st.SearchStrategy[int]:
    bits = 64 if field.type in (FieldDescriptor.TYPE_INT64, FieldDescriptor.TYPE_SINT64, FieldDescriptor.TYPE_SFIXED64,
                                FieldDescriptor.TYPE_UINT64, FieldDescriptor.TYPE_FIXED64) else 32  # fmt: skip
    unsigned = field.type in (FieldDescriptor.TYPE_UINT32, FieldDescriptor.TYPE_UINT64, FieldDescriptor.TYPE_FIXED32, FieldDescriptor.TYPE_FIXED64)
    low, high = (0, 2**bits - 1) if unsigned else (-(2 ** (bits - 1)), 2 ** (bits - 1) - 1)
    edges = [v for v in EDGE_INTS[bits] if low <= v <= high]
    return st.one_of(st.integers(-3, 50).filter(lambda v: low <= v <= high), st.sampled_from(edges), st.integers(low, high))


def _scalar(field: FieldDescriptor, depth: int) -> st.SearchStrategy[Any]:
    t = field.type
    if t == FieldDescriptor.TYPE_STRING:
        return text()
    if t == FieldDescriptor.TYPE_BYTES:
        return st.binary(max_size=64)
    if t == FieldDescriptor.TYPE_BOOL:
        return st.booleans()
    if t in (FieldDescriptor.TYPE_DOUBLE, FieldDescriptor.TYPE_FLOAT):
        return st.floats(width=64 if t == FieldDescriptor.TYPE_DOUBLE else 32)
    if t == FieldDescriptor.TYPE_ENUM:
        known = [v.number for v in field.enum_type.values]
        return st.one_of(st.sampled_from(known), st.integers(-(2**31), 2**31 - 1))  # proto3 enums are open
    if t == FieldDescriptor.TYPE_MESSAGE:
        return messages(field.message_type, depth + 1)
    return _integers(field)


def _field(field: FieldDescriptor, depth: int) -> st.SearchStrategy[Any]:
    if field.message_type is not None and field.message_type.GetOptions().map_entry:
        key, value = field.message_type.fields_by_name["key"], field.message_type.fields_by_name["value"]
        return st.dictionaries(_scalar(key, depth), _scalar(value, depth), max_size=4)
    if field.is_repeated:
        return st.lists(_scalar(field, depth), max_size=3 if field.message_type is None else 2)
    return _scalar(field, depth)


def _build(descriptor: Descriptor, values: dict[str, Any]) -> Any:
    message = message_factory.GetMessageClass(descriptor)()
    for name, value in values.items():
        field = descriptor.fields_by_name[name]
        target = getattr(message, name)
        if field.message_type is not None and field.message_type.GetOptions().map_entry:
            for k, v in value.items():
                if field.message_type.fields_by_name["value"].message_type is not None:
                    target[k].CopyFrom(v)
                else:
                    target[k] = v
        elif field.is_repeated:
            if field.message_type is not None:
                for item in value:
                    target.add().CopyFrom(item)
            else:
                target.extend(value)
        elif field.message_type is not None:
            target.CopyFrom(value)
        else:
            setattr(message, name, value)
    return message


def messages(descriptor: Descriptor, depth: int = 0) -> st.SearchStrategy[Any]:
    """Any subset of the message's fields, each hostile; nested messages to MAX_DEPTH."""
    fields = [f for f in descriptor.fields if depth < MAX_DEPTH or f.message_type is None]
    if descriptor.full_name == "google.protobuf.Timestamp":  # seconds and nanos far outside what a date can hold
        return st.builds(
            lambda s, n: _build(descriptor, {"seconds": s, "nanos": n}),
            st.one_of(st.integers(-62_135_596_800, 253_402_300_799), st.sampled_from([-(2**63), 2**63 - 1, -1, 0])),
            st.one_of(st.integers(0, 999_999_999), st.sampled_from([-1, 10**9, 2**31 - 1, -(2**31)])),
        )
    return st.fixed_dictionaries({}, optional={f.name: _field(f, depth) for f in fields}).map(lambda values: _build(descriptor, values))


@dataclass(frozen=True)
class Generated:
    """A generated request whose repr stays readable: long strings are cut (Hypothesis prints failing examples)."""

    message: Any

    def __repr__(self) -> str:
        return shorten(f"{type(self.message).__name__}({text_format.MessageToString(self.message, as_one_line=True)})")


def shorten(text: str, keep: int = 60) -> str:
    return re.sub(r"(.)\1{%d,}" % keep, lambda m: f"{m.group(1)}...x{len(m.group(0))}", text)[:3000]


def requests(rpc: Rpc) -> st.SearchStrategy[Generated]:
    return messages(rpc.method.input_type).map(Generated)


def string_field_numbers(descriptor: Descriptor) -> list[int]:
    return [f.number for f in descriptor.fields if f.type == FieldDescriptor.TYPE_STRING and not f.is_repeated]


def with_invalid_utf8(valid: bytes, field_number: int, payload: bytes) -> bytes:
    """`valid` followed by string field `field_number` holding `payload` (bytes that are not UTF-8)."""
    return valid + _varint(field_number << 3 | 2) + _varint(len(payload)) + payload


def _varint(value: int) -> bytes:
    out = bytearray()
    while True:
        low, value = value & 0x7F, value >> 7
        out.append(low | (0x80 if value else 0))
        if not value:
            return bytes(out)


# Requests every run sends first, whatever the seed: each sets every top-level field to one extreme.
FIXED = (
    ("a\x00b", 0, 0),  # a NUL inside text (PostgreSQL refuses NUL in text), numbers left alone
    ("\x00", 1, 1),
    ("9" * 400, 2**31 - 1, 2**63 - 1),  # a long number; the largest numbers
    ("é" * 65 + "'", -1, -1),  # non-ASCII past the length limits, a quote; negative counts, positions and page sizes
)


def fixed_requests(rpc: Rpc) -> list[Generated]:
    """One request per FIXED row: every string, number and enum field of the request set to the row's value."""
    made = []
    for text_value, int32_value, int64_value in FIXED:
        message = rpc.request_class()
        for f in rpc.method.input_type.fields:
            if f.message_type is not None and f.message_type.GetOptions().map_entry:
                if f.message_type.fields_by_name["value"].type == FieldDescriptor.TYPE_STRING:
                    getattr(message, f.name)[text_value] = text_value
            elif f.message_type is not None or f.is_repeated:
                continue
            elif f.type == FieldDescriptor.TYPE_STRING:
                setattr(message, f.name, text_value)
            elif f.type == FieldDescriptor.TYPE_ENUM:
                setattr(message, f.name, int32_value)
            elif f.type == FieldDescriptor.TYPE_BOOL:
                setattr(message, f.name, True)
            elif f.type in (FieldDescriptor.TYPE_INT64, FieldDescriptor.TYPE_SINT64, FieldDescriptor.TYPE_SFIXED64):
                setattr(message, f.name, int64_value)
            elif f.type in (FieldDescriptor.TYPE_INT32, FieldDescriptor.TYPE_SINT32, FieldDescriptor.TYPE_SFIXED32):
                setattr(message, f.name, int32_value)
        made.append(Generated(message))
    return made
