"""The Node example client (clients/node) against a real `points serve` process.

Starts the server on a free port with SQLite, installs the client's pinned packages with
`npm ci` when node_modules is missing or older than package-lock.json, then runs the client's
`node --test` suite with POINTS_ADDRESS set; its output is the failure message. Without `node`
or `npm` the test is skipped, except under CI=true, where it fails (.ci/run installs them).
"""

from __future__ import annotations

import os
import re
import shutil
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import grpc
import pytest
from grpc_health.v1 import health_pb2, health_pb2_grpc

REPO = Path(__file__).resolve().parents[2]
CLIENT = REPO / "clients" / "node"
POINTS = Path(sys.executable).parent / "points"  # the venv running the tests has the command
START_WITHIN = 15.0  # seconds until health says SERVING
NPM_WITHIN = 300.0
NODE_WITHIN = 120.0
OLDEST_NODE = 18  # node --test with --test-reporter


def skip_or_fail(message: str) -> None:
    """Skips the test, or fails it under CI=true (nothing is skipped in CI)."""
    if os.environ.get("CI", "").lower() in ("1", "true", "yes"):
        pytest.fail(message, pytrace=False)
    pytest.skip(message)


def node_tools() -> tuple[str, str]:
    """The paths of node and npm."""
    node, npm = shutil.which("node"), shutil.which("npm")
    if node is None or npm is None:
        skip_or_fail("the Node client test needs node and npm (apt-get install nodejs npm; .ci/run installs them)")
    version = subprocess.run([node, "--version"], capture_output=True, text=True, timeout=30, check=False).stdout.strip()
    major = re.match(r"v(\d+)\.", version)
    if major is None or int(major.group(1)) < OLDEST_NODE:
        skip_or_fail(f"the Node client test needs Node {OLDEST_NODE} or later, found {version or 'none'} at {node}")
    return node, npm  # type: ignore[return-value]


def install_packages(npm: str) -> None:
    """`npm ci` when node_modules is missing or older than package.json or package-lock.json."""
    installed = CLIENT / "node_modules" / ".package-lock.json"  # npm ci writes it last
    newest = max((CLIENT / name).stat().st_mtime for name in ("package.json", "package-lock.json"))
    if installed.exists() and installed.stat().st_mtime >= newest:
        return
    result = subprocess.run(
        [npm, "ci", "--no-audit", "--no-fund", "--ignore-scripts", "--prefer-offline", "--loglevel=error"],
        cwd=CLIENT, capture_output=True, text=True, timeout=NPM_WITHIN, check=False,
    )  # fmt: skip
    assert result.returncode == 0, f"npm ci in {CLIENT} failed:\n{result.stdout}{result.stderr}"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextmanager
def served(tmp_path: Path) -> Iterator[str]:
    """A development-mode `points serve` on SQLite; yields its address once health says SERVING."""
    port = free_port()
    log = tmp_path / "serve.log"
    env = {k: v for k, v in os.environ.items() if not k.startswith("POINTS_")}
    env["POINTS_LOG_LEVEL"] = "WARNING"
    with log.open("wb") as out:
        process = subprocess.Popen(
            [str(POINTS), "serve", "--port", str(port), "--database", f"sqlite:///{tmp_path}/points.db"],
            env=env, stdout=out, stderr=subprocess.STDOUT,
        )  # fmt: skip
    address = f"127.0.0.1:{port}"
    try:
        with grpc.insecure_channel(address) as channel:
            health = health_pb2_grpc.HealthStub(channel)
            deadline = time.monotonic() + START_WITHIN
            while True:
                if process.poll() is not None:
                    pytest.fail(f"points serve exited with {process.returncode}:\n{log.read_text()}")
                try:
                    answer = health.Check(health_pb2.HealthCheckRequest(), timeout=0.5, wait_for_ready=True)
                    if answer.status == health_pb2.HealthCheckResponse.SERVING:
                        break
                except grpc.RpcError:
                    pass  # not listening yet
                if time.monotonic() > deadline:
                    pytest.fail(f"points serve not SERVING within {START_WITHIN}s:\n{log.read_text()}")
        yield address
    finally:
        if process.poll() is None:
            process.kill()
        process.wait(timeout=15)


def test_the_node_client_keeps_the_integrators_contract(tmp_path: Path) -> None:
    node, npm = node_tools()
    install_packages(npm)

    with served(tmp_path) as address:
        result = subprocess.run(
            [node, "--test", "--test-reporter=tap"],
            cwd=CLIENT, env={**os.environ, "POINTS_ADDRESS": address}, capture_output=True, text=True,
            timeout=NODE_WITHIN, check=False,
        )  # fmt: skip

    output = result.stdout + result.stderr
    assert result.returncode == 0, f"node --test failed ({result.returncode}):\n{output}"
    counts = {name: int(n) for name, n in re.findall(r"^# (tests|pass|fail) (\d+)$", result.stdout, re.MULTILINE)}
    assert counts.get("tests", 0) > 0 and counts.get("pass") == counts["tests"] and counts.get("fail") == 0, output
