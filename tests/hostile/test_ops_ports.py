"""Attack surface: the metrics and health ports (plaintext, no authentication) on a non-loopback address.

Before, `--ops-host` was never checked: `points serve` in development mode refused to listen
on 0.0.0.0, yet happily put its metrics (every method's call counts) and health ports there.
Now they follow the main port's rule: loopback only, unless `--ops-public` allows another
address, which is then said on stderr.
"""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from points.api.security import check_ops_host
from points.storage.settings import SettingsError
from tests.api.test_process import POINTS, free_port, points_env

START_WITHIN = 60  # seconds: a refusal is immediate; a server that starts instead would run until killed


def points(*args: str) -> subprocess.CompletedProcess[str]:
    try:
        return subprocess.run([str(POINTS), *args], env=points_env(), capture_output=True, text=True, timeout=START_WITHIN, check=False)
    except subprocess.TimeoutExpired:
        pytest.fail(f"`points {' '.join(args)}` kept running: the ops host was not refused")


@pytest.mark.parametrize("command", [["serve", "--port"], ["project", "--health-port"]], ids=["serve", "project"])
def test_a_non_loopback_ops_host_is_refused_at_start(tmp_path: Path, command: list[str]) -> None:
    database = f"sqlite:///{tmp_path}/points.db"
    assert points("migrate", "--database", database).returncode == 0  # `project` needs the tables
    finished = points(*command, str(free_port()), "--database", database, "--ops-host", "0.0.0.0", "--metrics-port", str(free_port()))

    assert finished.returncode == 2, finished.stderr
    assert "--ops-public" in finished.stderr and "0.0.0.0" in finished.stderr
    assert "Traceback" not in finished.stderr


@pytest.mark.parametrize("host", ["0.0.0.0", "::", "10.1.2.3", "ops.example"])
def test_the_rule_allows_loopback_and_needs_ops_public_elsewhere(host: str) -> None:
    assert check_ops_host("127.0.0.1", public=False) == []
    assert check_ops_host("localhost", public=False) == []
    with pytest.raises(SettingsError):
        check_ops_host(host, public=False)
    assert any(host in warning for warning in check_ops_host(host, public=True))
