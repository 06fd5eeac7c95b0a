"""The API contract: protos pass buf lint, and the committed generated code matches the protos."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

from points import protogen

REPO = Path(__file__).resolve().parents[1]
GENERATED = REPO / "services" / "points" / "v1"


def test_generated_code_matches_protos(tmp_path: Path) -> None:
    protogen.generate(tmp_path)
    fresh = tmp_path / "points" / "v1"
    fresh_files = sorted(p.name for p in fresh.iterdir())
    committed_files = sorted(p.name for p in GENERATED.iterdir() if p.is_file())
    assert fresh_files == committed_files, "run `make proto` and commit services/points/v1"
    for name in fresh_files:
        assert (fresh / name).read_bytes() == (GENERATED / name).read_bytes(), f"{name} is stale: run `make proto`"


def test_protos_pass_buf_lint() -> None:
    buf = shutil.which("buf", path=str(Path(sys.executable).parent)) or shutil.which("buf")
    assert buf, "buf is a test dependency (buf-bin); reinstall with `make install`"
    result = subprocess.run([buf, "lint", "protos"], cwd=REPO, capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stdout + result.stderr


def test_every_service_declares_one_request_and_response_per_rpc() -> None:
    from points.v1 import balances_pb2, directory_pb2, work_events_pb2

    for module in (balances_pb2, directory_pb2, work_events_pb2):
        for service in module.DESCRIPTOR.services_by_name.values():
            for method in service.methods:
                assert method.input_type.name == f"{method.name}Request"
                assert method.output_type.name == f"{method.name}Response"

