"""clients/python builds into the wheel `pip install ./clients/python` installs: typed, complete, without the server.

The wheel is built offline with the test venv's setuptools (grpcio-tools brings it), so the
test needs no package index; installed with --no-deps into a folder of its own, it runs
against a real server with only the client's own dependencies doing the work.
"""

from __future__ import annotations

import os
import subprocess
import sys
import zipfile
from email.parser import Parser
from pathlib import Path

import pytest

from tests.clients.conftest import RestartableServer

REPO = Path(__file__).resolve().parents[2]
CLIENT = REPO / "clients" / "python"
SERVER_ONLY = ("points", "eventsourcing", "psycopg", "psycopg-pool", "pyjwt", "prometheus-client")


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("wheel")
    work = tmp_path_factory.mktemp("source")
    # setuptools writes build/ and *.egg-info next to the sources: build from a copy, keep the tree clean
    source = work / "python"
    subprocess.run(["cp", "-r", str(CLIENT), str(source)], check=True)
    result = subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "--no-index", "-w", str(out), str(source)],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    (built,) = out.glob("points_client-*.whl")
    return built


def test_the_wheel_is_typed_and_complete_and_has_no_server_inside(wheel: Path) -> None:
    names = zipfile.ZipFile(wheel).namelist()
    assert "points_client/py.typed" in names
    for proto in sorted((REPO / "protos" / "points" / "v1").glob("*.proto")):
        for suffix in ("_pb2.py", "_pb2.pyi", "_pb2_grpc.py"):
            assert f"points_client/v1/{proto.stem}{suffix}" in names
    top_level = {n.split("/")[0] for n in names if not n.split("/")[0].endswith((".dist-info", ".data"))}
    assert top_level == {"points_client"}, top_level


def test_the_wheel_depends_on_grpc_and_protobuf_only(wheel: Path) -> None:
    with zipfile.ZipFile(wheel) as archive:
        metadata_name = next(n for n in archive.namelist() if n.endswith(".dist-info/METADATA"))
        metadata = Parser().parsestr(archive.read(metadata_name).decode())
    assert metadata["Name"] == "points-client"
    required = {r.split(">")[0].split("<")[0].split("=")[0].split(";")[0].strip().lower() for r in metadata.get_all("Requires-Dist")}
    assert required == {"grpcio", "grpcio-status", "grpcio-health-checking", "protobuf", "googleapis-common-protos"}, required
    assert not required & set(SERVER_ONLY)


CHECK = """
import sys
import points_client
from points_client import PointsClient, connect
assert points_client.__file__.startswith(sys.argv[2]), points_client.__file__
client = PointsClient(connect(sys.argv[1], plaintext=True))
assert client.health_check() == "SERVING"
client.register_outlet("west-01", "OUTLET_CLASS_C", "west")
client.register_employee("cm-1", "ROLE_SERVICE_MANAGER", "west-01", "2026-01-01")
print(client.get_employee("cm-1").employee.current.outlet_id)
loaded = sorted({m.split(".")[0] for m in sys.modules} & {"points", "eventsourcing", "psycopg", "jwt", "prometheus_client"})
assert not loaded, loaded
"""


def test_the_installed_wheel_works_without_the_server_package(wheel: Path, tmp_path: Path, points_server: RestartableServer) -> None:
    target = tmp_path / "site"
    installed = subprocess.run(
        [sys.executable, "-m", "pip", "install", "--no-deps", "--no-index", "--target", str(target), str(wheel)],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert installed.returncode == 0, installed.stdout + installed.stderr
    env = {**os.environ, "PYTHONPATH": str(target)}
    result = subprocess.run(
        [sys.executable, "-c", CHECK, points_server.address, str(target)], env=env, cwd="/", capture_output=True, text=True, timeout=120
    )
    assert result.returncode == 0 and result.stdout == "west-01\n", result.stdout + result.stderr
