"""Reads a points policy from TOML text: decimals parsed exactly, every mistake named with its line."""

from __future__ import annotations

import re
import tomllib
from decimal import Decimal
from importlib import resources
from pathlib import Path

from points.domain.policy import Policy, PolicyError


def example_policy_path() -> Path:
    return Path(str(resources.files("points") / "policies" / "example.toml"))


def read_policy_file(path: Path | str | None = None) -> tuple[str, str]:
    """(text, source name) of `path`, or of the shipped example policy."""
    file = Path(path) if path else example_policy_path()
    try:
        return file.read_text(encoding="utf-8"), str(file)
    except (OSError, UnicodeDecodeError) as e:
        raise PolicyError(str(file), [("file", f"cannot be read: {e}")]) from None


MAX_NESTING = 32  # arrays, inline tables and table headers inside one another; a policy needs two or three
# What can hold a bracket without nesting: strings of the four kinds, and comments.
_NESTING_TOKENS = re.compile(r'"""(?:[^\\]|\\.)*?"""|\'\'\'.*?\'\'\'|"(?:[^"\\\n]|\\.)*"|\'[^\'\n]*\'|#[^\n]*|[\[\]{}]', re.DOTALL)


def nesting_depth(text: str) -> int:
    """How deep arrays, inline tables and table headers nest in a TOML text, brackets in strings and comments aside.

    A cheap scan before the parser: tomllib recurses once per level and a document nested some
    900 deep ends in RecursionError, with a traceback as long as the document is deep."""
    depth = deepest = 0
    for token in _NESTING_TOKENS.finditer(text):
        mark = token[0]
        if mark in "[{":
            depth += 1
            deepest = max(deepest, depth)
        elif mark in "]}":
            depth = max(depth - 1, 0)
    return deepest


def parse_policy(text: str, source: str = "<policy>", *, effective_from: str | None = None) -> Policy:
    """The policy in `text`; `effective_from` (YYYY-MM-DD), if given, overrides the document's."""
    if nesting_depth(text) > MAX_NESTING:
        raise PolicyError(source, [("syntax", f"arrays and tables are nested more than {MAX_NESTING} deep")])
    try:
        document = tomllib.loads(text, parse_float=Decimal)
    except tomllib.TOMLDecodeError as e:
        raise PolicyError(source, [("syntax", str(e))]) from None
    except RecursionError:  # the scan above should make this unreachable
        raise PolicyError(source, [("syntax", f"arrays and tables are nested more than {MAX_NESTING} deep")]) from None
    if effective_from:
        document["effective_from"] = effective_from
    try:
        return Policy.from_document(document, source=source)
    except PolicyError as e:
        located = []
        for where, what in e.problems:
            overridden = effective_from and where == "effective_from"  # the mistake is in the override, not the text
            line = None if overridden else locate(text, where)
            located.append((where, f"line {line}: {what}" if line else what))
        raise PolicyError(source, located) from None


def load_policy(path: Path | str | None = None) -> Policy:
    """The policy in a file (default: the shipped example)."""
    text, source = read_policy_file(path)
    return parse_policy(text, source)


HEADER = re.compile(r"^\s*\[\[?\s*([^\]]+?)\s*\]\]?\s*(#.*)?$")
RULE_PATH = re.compile(r"^roles\.([^.\[]+)\.rules\[(\d+)\](?:\.([A-Za-z0-9_]+))?")
DIMENSION_PATH = re.compile(r"^roles\.([^.\[]+)\.dimensions(?:\.([A-Za-z0-9_]+))?")


def locate(text: str, where: str) -> int | None:
    """The 1-based line of a problem's place in a policy written with table headers, if found."""
    lines = text.splitlines()
    headers = [(i, _dotted(m[1])) for i, line in enumerate(lines) if (m := HEADER.match(line))]
    if m := RULE_PATH.match(where):
        role, index, key = m[1], int(m[2]), m[3]
        starts = [i for i, name in headers if name == f"roles.{role}.rules"]
        return _key_line(lines, headers, starts[index], key) if index < len(starts) else None
    if m := DIMENSION_PATH.match(where):
        role, key = m[1], m[2]
        start = next((i for i, name in headers if name == f"roles.{role}.dimensions"), None)
        return None if start is None else _key_line(lines, headers, start, key)
    if where.startswith("roles."):
        parts = where.split(".")
        role = parts[1]
        own = next((i for i, name in headers if name == f"roles.{role}"), None)
        if own is not None and len(parts) > 2:
            return _key_line(lines, headers, own, parts[2])
        start = own if own is not None else next((i for i, name in headers if name.startswith(f"roles.{role}.")), None)
        return None if start is None else start + 1
    parts = where.split(".")
    for depth in range(len(parts) - 1, 0, -1):  # the deepest table header the place is in, e.g. [pay.point_values]
        start = next((i for i, name in headers if name == ".".join(parts[:depth])), None)
        if start is not None:
            return _key_line(lines, headers, start, parts[depth])
    first_header = headers[0][0] if headers else len(lines)
    key = parts[0]
    return next((i + 1 for i in range(first_header) if re.match(rf"^\s*{re.escape(key)}\s*=", lines[i])), None)


def _dotted(header: str) -> str:
    """A table header's key as a plain dotted path: `roles."a b" . rules` -> `roles.a b.rules`."""
    return ".".join(part.strip("\"'") for part in re.findall(r'"[^"]*"|\'[^\']*\'|[^.\s]+', header))


def _key_line(lines: list[str], headers: list[tuple[int, str]], start: int, key: str | None) -> int:
    if key is None:
        return start + 1
    end = next((i for i, _ in headers if i > start), len(lines))
    return next((i + 1 for i in range(start + 1, end) if re.match(rf"^\s*{re.escape(key)}\s*=", lines[i])), start + 1)
