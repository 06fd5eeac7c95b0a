"""The integrators' contract, read from the protos' own descriptors (with their comments):

- every instant is a google.protobuf.Timestamp: no string field is named like a time;
- every role is the Role enum: no string field is named like a role;
- every decimal string field says it is one, in its own comment or its message's, and how
  many places it carries;
- every business-date string field documents its one form, YYYY-MM-DD;
- the roles a policy may name are exactly the Role enum's.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from importlib import resources
from pathlib import Path

import pytest
from google.protobuf import descriptor_pb2

REPO = Path(__file__).resolve().parents[1]
PROTO_ROOT = REPO / "protos"

TIME_LIKE = re.compile(r"(^|_)(time|at|timestamp|instant)$")
ROLE_LIKE = re.compile(r"(^|_)role$")
# String fields that carry decimal numbers, by name: amounts, points, quantities, shares, weights...
DECIMAL_LIKE = re.compile(
    r"(^|_)(amount|points|quantity|share|multipliers?|weights|value|total|total_before|total_after|percentile|"
    r"cap_per_day|cap_per_period|carried_in|carried_forward|points_per_unit|point_value|top_line|bottom_line)$"
)
DATE_LIKE = re.compile(r"(_on|^effective_from|^effective_until|^occurred_from|^occurred_to)$")

FIELD, NESTED, MESSAGE = 2, 3, 4  # DescriptorProto.field, .nested_type; FileDescriptorProto.message_type
STRING = descriptor_pb2.FieldDescriptorProto.TYPE_STRING


@pytest.fixture(scope="module")
def files(tmp_path_factory: pytest.TempPathFactory) -> list[descriptor_pb2.FileDescriptorProto]:
    """points/v1 as protoc reads it, comments included."""
    from grpc_tools import protoc

    out = tmp_path_factory.mktemp("descriptors") / "set.binpb"
    names = sorted(str(p.relative_to(PROTO_ROOT)) for p in (PROTO_ROOT / "points" / "v1").glob("*.proto"))
    wkt = resources.files("grpc_tools") / "_proto"
    assert protoc.main(["protoc", f"-I{PROTO_ROOT}", f"-I{wkt}", "--include_source_info", f"--descriptor_set_out={out}", *names]) == 0
    return list(descriptor_pb2.FileDescriptorSet.FromString(out.read_bytes()).file)


def comments(file: descriptor_pb2.FileDescriptorProto) -> dict[tuple[int, ...], str]:
    return {tuple(loc.path): loc.leading_comments + loc.trailing_comments for loc in file.source_code_info.location}


def string_fields(file: descriptor_pb2.FileDescriptorProto) -> Iterator[tuple[str, str, str, str]]:
    """(message, field, the field's comment, the message's comment) of every string field and
    every map with string values."""
    said = comments(file)
    maps = set()

    def walk(message: descriptor_pb2.DescriptorProto, path: tuple[int, ...], name: str) -> Iterator[tuple[str, str, str, str]]:
        entries = {f"{name}.{n.name}": n for n in message.nested_type if n.options.map_entry}
        for i, field in enumerate(message.field):
            entry = entries.get(f"{name}.{field.type_name.rsplit('.', 1)[-1]}")
            is_string = field.type == STRING or (entry is not None and entry.field[1].type == STRING)
            if entry is not None:
                maps.add(field.name)
            if is_string:
                yield name, field.name, said.get((*path, FIELD, i), ""), said.get(path, "")
        for j, nested in enumerate(message.nested_type):
            if not nested.options.map_entry:
                yield from walk(nested, (*path, NESTED, j), f"{name}.{nested.name}")

    for i, message in enumerate(file.message_type):
        yield from walk(message, (MESSAGE, i), f"{file.package}.{message.name}")


def every_string_field(files: list[descriptor_pb2.FileDescriptorProto]) -> list[tuple[str, str, str, str]]:
    found = [f for file in files for f in string_fields(file)]
    assert len(found) > 100, "the walk found too few fields to mean anything"
    return found


def test_no_string_field_is_named_like_a_time(files: list[descriptor_pb2.FileDescriptorProto]) -> None:
    assert [f"{m}.{f}" for m, f, _, _ in every_string_field(files) if TIME_LIKE.search(f)] == []


def test_no_string_field_is_named_like_a_role(files: list[descriptor_pb2.FileDescriptorProto]) -> None:
    assert [f"{m}.{f}" for m, f, _, _ in every_string_field(files) if ROLE_LIKE.search(f)] == []


def test_every_decimal_field_says_it_is_a_decimal_and_its_places(files: list[descriptor_pb2.FileDescriptorProto]) -> None:
    undocumented = [
        f"{m}.{f}"
        for m, f, own, enclosing in every_string_field(files)
        if DECIMAL_LIKE.search(f) and not re.search(r"decimal", own + enclosing, re.I)
        or DECIMAL_LIKE.search(f) and not re.search(r"places|precision", own + enclosing, re.I)
    ]

    assert undocumented == []


def test_every_business_date_field_documents_its_form(files: list[descriptor_pb2.FileDescriptorProto]) -> None:
    undocumented = [f"{m}.{f}" for m, f, own, enclosing in every_string_field(files) if DATE_LIKE.search(f) and "YYYY-MM-DD" not in own + enclosing]

    assert undocumented == []


def test_the_checks_see_what_they_look_for(files: list[descriptor_pb2.FileDescriptorProto]) -> None:
    """The walk reaches the fields the rules are about (a walk that found nothing would pass them all)."""
    names = {f for _, f, _, _ in every_string_field(files)}

    assert {"quantity", "points", "weighted_points", "amount", "occurred_on", "effective_from", "multipliers", "weights"} <= names


def test_every_rpc_says_what_it_does(files: list[descriptor_pb2.FileDescriptorProto]) -> None:
    """Reflection carries these comments to clients (`describe`): an RPC without one is undocumented there."""
    SERVICE, METHOD = 6, 2  # FileDescriptorProto.service, ServiceDescriptorProto.method
    silent = [
        f"{service.name}.{method.name}"
        for file in files
        for i, service in enumerate(file.service)
        for j, method in enumerate(service.method)
        if not comments(file).get((SERVICE, i, METHOD, j), "").strip()
    ]

    assert silent == []


def test_the_policy_roles_are_the_api_roles() -> None:
    """A policy names roles in lower case; they must be exactly the Role enum's values, in order."""
    from points.domain.values import ROLES
    from points.v1 import directory_pb2

    names = [n.removeprefix("ROLE_").lower() for n in directory_pb2.Role.keys() if n != "ROLE_UNSPECIFIED"]

    assert tuple(names) == ROLES
