"""Policy documents for tests: the shipped example, and a later version that changes one rate.

NOVEMBER_VERSION (2026.2, effective 2026-11-01) is the example with one change: a plain
counter transaction (rule sm-counter-transaction) earns 2 points per unit instead of 1.
Everything else, the complex counter rule (1.5) included, is as in 2026.1.
"""

from __future__ import annotations

from points.application.policy_file import example_policy_path

EXAMPLE_VERSION = example_policy_path().read_text(encoding="utf-8")
PLAIN_COUNTER_RATE = "points_per_unit = 1\ncap_per_period = 3000"  # sm-counter-transaction's lines in example.toml


def version_of(version: str, effective_from: str, *, plain_counter_rate: str = "1", text: str = EXAMPLE_VERSION) -> str:
    """The example document renamed `version`, effective `effective_from`, with the plain counter rate given."""
    assert text.count(PLAIN_COUNTER_RATE) == 1, "example.toml changed: update PLAIN_COUNTER_RATE"
    return (
        text.replace('version = "2026.1"', f'version = "{version}"', 1)
        .replace('effective_from = "2026-01-01"', f'effective_from = "{effective_from}"', 1)
        .replace(PLAIN_COUNTER_RATE, f"points_per_unit = {plain_counter_rate}\ncap_per_period = 3000", 1)
    )


NOVEMBER_VERSION = version_of("2026.2", "2026-11-01", plain_counter_rate="2")


def without_rule(text: str, rule_id: str) -> str:
    """`text` without the [[...rules]] table whose id is `rule_id` (tables are separated by blank lines)."""
    tables = text.split("\n\n")
    kept = [t for t in tables if f'id = "{rule_id}"' not in t]
    assert len(kept) == len(tables) - 1, f"no single rule {rule_id!r}"
    return "\n\n".join(kept)
