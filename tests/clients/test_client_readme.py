"""The example in clients/python/README.md runs, as written, against a real server on both stores."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

from tests.clients.conftest import RestartableServer

REPO = Path(__file__).resolve().parents[2]
README = REPO / "clients" / "python" / "README.md"


NO_SERVER_PACKAGE = """
import sys as _sys
assert not [m for m in _sys.modules if m.split(".")[0] in ("points", "eventsourcing", "psycopg")], "the client imported the server's packages"
"""


def readme_example() -> str:
    """The first ```python block after the "## Example" heading."""
    text = README.read_text(encoding="utf-8")
    example = text[text.index("## Example") :]
    match = re.search(r"```python\n(.*?)```", example, re.DOTALL)
    assert match, "clients/python/README.md has no python block under ## Example"
    return match.group(1)


def run_example(address: str) -> str:
    # A process of its own, with the client's source on its path; the server's package is installed in
    # this venv too, so the check appended to the example makes sure nothing imported it.
    env = {**os.environ, "POINTS_ADDRESS": address, "PYTHONPATH": str(REPO / "clients" / "python" / "src")}
    code = readme_example() + NO_SERVER_PACKAGE
    result = subprocess.run([sys.executable, "-c", code], env=env, cwd="/", capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stdout + result.stderr
    return result.stdout


def test_the_readme_example_runs_and_says_what_it_did(points_server: RestartableServer) -> None:
    out = run_example(points_server.address)
    assert re.search(r"^recorded \S+ 4\.8000 at position \d+$", out, re.MULTILINE), out
    assert "total 4.8000 {'workload': '12.0000'}" in out, out
    assert "counter_transaction 12 " in out, out
    assert "refused: NEGATIVE_QUANTITY [('quantity', 'NEGATIVE_QUANTITY')]" in out, out
    assert re.search(r"^ledger \d+ \[\('E1001', '4\.8000'\)\]$", out, re.MULTILINE), out


def test_the_readme_example_run_again_replays(points_server: RestartableServer) -> None:
    first, again = run_example(points_server.address), run_example(points_server.address)
    assert first == again, "the same request_id again is a replay: same event, same position, same total"
