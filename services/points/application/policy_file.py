"""Reads a points policy from a TOML file (decimals parsed exactly, never as binary floats)."""

from __future__ import annotations

import tomllib
from decimal import Decimal
from importlib import resources
from pathlib import Path

from points.domain.policy import Policy, PolicyError


def example_policy_path() -> Path:
    return Path(str(resources.files("points") / "policies" / "example.toml"))


def load_policy(path: Path | str | None = None) -> Policy:
    """The policy in `path`, or the shipped example; raises PolicyError naming the file and place."""
    file = Path(path) if path else example_policy_path()
    try:
        text = file.read_text(encoding="utf-8")
    except OSError as e:
        raise PolicyError(str(file), [("file", f"cannot be read: {e.strerror}")]) from None
    try:
        document = tomllib.loads(text, parse_float=Decimal)
    except tomllib.TOMLDecodeError as e:
        raise PolicyError(str(file), [("syntax", str(e))]) from None
    return Policy.from_document(document, source=str(file))
