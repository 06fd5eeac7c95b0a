"""`points policy validate|publish|list` and `points explain` as real processes, against a real `points serve`.

Each server runs on a free port on a temporary SQLite file and is killed in a finally block
(tests/api/test_process.serving). The server uses the real clock, so work is dated 2026-11-02.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path

import pytest

from points.application.policy_file import example_policy_path
from tests.api.calls import balance, staff_outlet, work
from tests.api.test_process import Served, run_points, serving
from tests.support.policy_versions import NOVEMBER_VERSION, version_of


@pytest.fixture
def served(tmp_path: Path) -> Iterator[tuple[Served, str]]:
    """A `points serve` on a fresh SQLite file, and its address for --server."""
    with serving(f"sqlite:///{tmp_path}/points.db", tmp_path) as server:
        args = list(server.process.args)  # type: ignore[arg-type]
        yield server, f"127.0.0.1:{args[args.index('--port') + 1]}"


def policy_file(tmp_path: Path, text: str, name: str = "policy.toml") -> Path:
    file = tmp_path / name
    file.write_text(text, encoding="utf-8")
    return file


def line_of(text: str, fragment: str) -> int:
    return next(i + 1 for i, line in enumerate(text.splitlines()) if fragment in line)


# -- validate (no server) ---------------------------------------------------------------------


def test_validating_the_shipped_example_exits_0_and_summarises_it() -> None:
    result = run_points("policy", "validate", str(example_policy_path()))

    assert result.returncode == 0, result.stderr
    assert "policy 2026.1, effective 2026-01-01" in result.stdout
    assert "service_manager (8 rules)" in result.stdout and "operations_supervisor (7 rules)" in result.stdout


def test_validating_a_broken_file_exits_2_naming_the_file_place_and_line(tmp_path: Path) -> None:
    broken = NOVEMBER_VERSION.replace('dimension = "quality"', 'dimension = "qualty"', 1)
    file = policy_file(tmp_path, broken)

    result = run_points("policy", "validate", str(file))

    assert result.returncode == 2
    expected = f"{file}: roles.operations_supervisor.rules[2].dimension: line {line_of(broken, 'qualty')}: unknown dimension 'qualty'"
    assert expected in result.stderr
    assert "Traceback" not in result.stderr


def test_validating_a_file_with_a_toml_syntax_error_exits_2_naming_the_line(tmp_path: Path) -> None:
    unclosed = 'kind = "duty_day'
    broken = NOVEMBER_VERSION.replace(unclosed + '"', unclosed, 1)
    file = policy_file(tmp_path, broken)

    result = run_points("policy", "validate", str(file))

    assert result.returncode == 2
    assert str(file) in result.stderr
    assert f"line {line_of(broken, unclosed)}" in result.stderr


def test_validating_a_missing_file_exits_2(tmp_path: Path) -> None:
    result = run_points("policy", "validate", str(tmp_path / "missing.toml"))

    assert result.returncode == 2
    assert "missing.toml" in result.stderr and "Traceback" not in result.stderr


# -- against a server ----------------------------------------------------------------------------


def test_publishing_a_file_prints_the_version_and_list_shows_it(served: tuple[Served, str], tmp_path: Path) -> None:
    _, address = served
    file = policy_file(tmp_path, version_of("2027.1", "2026-12-01"))

    published = run_points(
        "policy", "publish", str(file), "--effective-from", "2027-01-01", "--reason", "r", "--by", "hq", "--server", address
    )
    listed = run_points("policy", "list", "--server", address)

    assert published.returncode == 0, published.stderr
    assert re.fullmatch(r"policy 2027\.1 effective 2027-01-01 published at position \d+\n", published.stdout)
    assert listed.returncode == 0, listed.stderr
    assert [line.split("\t")[:3] for line in listed.stdout.splitlines()] == [
        ["2026.1", "effective 2026-01-01", "by points serve (first start)"],
        ["2027.1", "effective 2027-01-01", "by hq"],
    ]


def test_publishing_the_same_file_again_says_it_is_a_replay(served: tuple[Served, str], tmp_path: Path) -> None:
    _, address = served
    file = policy_file(tmp_path, version_of("2027.1", "2027-01-01"))
    first = run_points("policy", "publish", str(file), "--reason", "r", "--server", address)

    again = run_points("policy", "publish", str(file), "--reason", "r", "--server", address)

    assert first.returncode == again.returncode == 0, (first.stderr, again.stderr)
    position = re.search(r"at position (\d+)", first.stdout)
    assert position is not None
    assert f"already published (replay) at position {position[1]}" in again.stdout


def test_publishing_an_invalid_file_exits_1_listing_each_problem_and_stores_nothing(
    served: tuple[Served, str], tmp_path: Path
) -> None:
    _, address = served
    broken = NOVEMBER_VERSION.replace('dimension = "quality"', 'dimension = "qualty"', 1)
    file = policy_file(tmp_path, broken)

    result = run_points("policy", "publish", str(file), "--reason", "r", "--server", address)

    assert result.returncode == 1
    assert "INVALID_ARGUMENT" in result.stderr
    assert f"roles.operations_supervisor.rules[2].dimension: line {line_of(broken, 'qualty')}: unknown dimension" in result.stderr
    assert [line.split("\t")[0] for line in run_points("policy", "list", "--server", address).stdout.splitlines()] == ["2026.1"]


def test_publishing_retroactively_prints_the_balances_it_would_change(served: tuple[Served, str], tmp_path: Path) -> None:
    server, address = served
    staff_outlet(server.directory)
    recorded = server.work.RecordWorkEvent(work("ct", "sm-1", "counter_transaction", "12"))  # 4.8000; 2026.2: 9.6000
    balance(server.balances, "sm-1", min_position=recorded.position)  # booked before the publication looks
    file = policy_file(tmp_path, NOVEMBER_VERSION)

    result = run_points("policy", "publish", str(file), "--reason", "november rates", "--server", address)

    assert result.returncode == 0, result.stderr
    assert "retroactive: 1 booked events dated on or after 2026-11-01" in result.stdout
    assert "  sm-1 2026-11: 4.8000 -> 9.6000" in result.stdout.splitlines()


def test_explain_prints_every_line_and_the_total_of_get_balance(served: tuple[Served, str]) -> None:
    server, address = served
    staff_outlet(server.directory)
    server.work.RecordWorkEvent(work("a", "sm-1", "counter_transaction", "12"))  # 4.8000
    server.work.RecordWorkEvent(work("b", "sm-1", "customer_served", "7"))  # 1.2250
    last = server.work.RecordWorkEvent(work("c", "sm-1", "justified_complaint", "1"))  # -10.5000
    total = balance(server.balances, "sm-1", min_position=last.position).balance.total

    result = run_points("explain", "sm-1", "2026-11", "--server", address)

    assert result.returncode == 0, result.stderr
    header, *lines, summary = result.stdout.splitlines()
    rows = [dict(zip(header.split("\t"), line.split("\t"), strict=True)) for line in lines]
    assert [(r["kind"], r["rule"], r["policy"], r["points"], r["weighted"]) for r in rows] == [
        ("counter_transaction", "sm-counter-transaction", "2026.1", "12.0000", "4.8000"),
        ("customer_served", "sm-customer-served", "2026.1", "3.5000", "1.2250"),
        ("justified_complaint", "sm-justified-complaint", "2026.1", "-30.0000", "-10.5000"),
    ]
    assert total == "-4.4750"  # 4.8 + 1.225 - 10.5
    assert summary.startswith(f"total {total} for sm-1 in 2026-11:")
    assert summary.endswith(f"sum of lines {total}")
    assert sum(Decimal(r["weighted"]) for r in rows) == Decimal(total)


def test_explain_of_an_unknown_employee_exits_1_with_not_found(served: tuple[Served, str]) -> None:
    _, address = served

    result = run_points("explain", "ghost", "2026-11", "--server", address)

    assert result.returncode == 1
    assert "NOT_FOUND" in result.stderr and "Traceback" not in result.stderr


def test_publishing_a_missing_file_fails_with_a_message_not_a_traceback(tmp_path: Path) -> None:
    result = run_points("policy", "publish", str(tmp_path / "missing.toml"), "--reason", "r", "--server", "127.0.0.1:1")

    assert result.returncode != 0
    assert "missing.toml" in result.stderr
    assert "Traceback" not in result.stderr


def test_validating_a_file_that_is_not_utf8_exits_2_with_a_message(tmp_path: Path) -> None:
    file = tmp_path / "latin1.toml"
    file.write_bytes(NOVEMBER_VERSION.replace("# The example", "# L\xe4ndern: the example").encode("latin-1"))

    result = run_points("policy", "validate", str(file))

    assert result.returncode == 2
    assert "latin1.toml" in result.stderr
    assert "Traceback" not in result.stderr
