"""Array literals for PostgreSQL parameters: a whole list sent as one text value that PostgreSQL
parses in C (cast with ::text[] or ::bigint[]), where psycopg would dump a Python list item by item."""

from __future__ import annotations

from collections.abc import Sequence

_ARRAY_ESCAPES = str.maketrans({"\\": "\\\\", '"': '\\"'})


def array_text(values: Sequence[str]) -> str:
    """A text[] literal of `values`, each quoted (so none reads as NULL) with backslashes and quotes escaped."""
    if not values:
        return "{}"
    text = '","'.join(values)
    if "\\" in text or text.count('"') != 2 * (len(values) - 1):  # a value holds a backslash or a quote
        text = '","'.join([v.translate(_ARRAY_ESCAPES) for v in values])
    return '{"' + text + '"}'


def int_array_text(values: Sequence[int]) -> str:
    """An integer array literal (for ::int[] or ::bigint[])."""
    return "{" + ",".join(map(str, values)) + "}"
