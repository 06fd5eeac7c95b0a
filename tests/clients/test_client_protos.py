"""The Python client's generated code: in sync with protos/, and at peace with the server's copy in one process."""

from __future__ import annotations

import importlib.util
import re
import subprocess
import sys
from pathlib import Path
from types import ModuleType

REPO = Path(__file__).resolve().parents[2]
CLIENT = REPO / "clients" / "python"
COMMITTED = CLIENT / "src" / "points_client" / "v1"


def client_protogen() -> ModuleType:
    """clients/python/tools/protogen.py, loaded from its file (a script, not a package of either side)."""
    spec = importlib.util.spec_from_file_location("client_protogen", CLIENT / "tools" / "protogen.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_generated_client_code_matches_protos(tmp_path: Path) -> None:
    client_protogen().generate(tmp_path)
    fresh_files = sorted(p.name for p in tmp_path.iterdir())
    committed_files = sorted(p.name for p in COMMITTED.iterdir() if p.is_file())
    assert fresh_files == committed_files, "run `make client-proto` and commit clients/python/src/points_client/v1"
    for name in fresh_files:
        assert (tmp_path / name).read_bytes() == (COMMITTED / name).read_bytes(), f"{name} is stale: run `make client-proto`"


def test_generated_client_code_never_imports_the_server_package() -> None:
    for path in COMMITTED.iterdir():
        if path.suffix in (".py", ".pyi"):
            text = path.read_text(encoding="utf-8")
            assert "from points.v1 import" not in text and "import points." not in text, path.name
            # the builder's module names are the client's too; service names ('points.v1.AuditService') stay
            assert not re.search(r"'points\.v1\.\w+_pb2'", text), path.name


def test_every_proto_has_its_client_modules() -> None:
    for proto in sorted((REPO / "protos" / "points" / "v1").glob("*.proto")):
        for suffix in ("_pb2.py", "_pb2.pyi", "_pb2_grpc.py"):
            assert (COMMITTED / f"{proto.stem}{suffix}").is_file(), f"{proto.stem}{suffix}: run `make client-proto`"


# Both copies register the same proto file names (points/v1/*.proto) in protobuf's default
# descriptor pool. The pool accepts a file added again with identical bytes and returns the
# descriptor it has; different bytes under the same name fail at import ("duplicate file
# name"). So the server's and the client's code live in one process exactly when both were
# generated from the same protos, which the sync tests above and tests/test_protos.py keep.
BOTH_ORDERS = """
import sys
from google.protobuf import descriptor_pool
order = sys.argv[1].split(",")
modules = {}
for side in order:
    package = "points.v1" if side == "server" else "points_client.v1"
    for name in ("directory_pb2", "policies_pb2", "balances_pb2", "work_events_pb2", "audit_pb2", "periods_pb2", "rankings_pb2"):
        modules[side, name] = __import__(f"{package}.{name}", fromlist=[name])
for name in ("directory_pb2", "balances_pb2", "work_events_pb2", "audit_pb2"):
    server, client = modules["server", name], modules["client", name]
    assert server.DESCRIPTOR is client.DESCRIPTOR, name
    assert server.DESCRIPTOR.serialized_pb == client.DESCRIPTOR.serialized_pb, name
    assert descriptor_pool.Default().FindFileByName(server.DESCRIPTOR.name) is server.DESCRIPTOR
request = modules["client", "work_events_pb2"].RecordWorkEventRequest(request_id="r-1", quantity="1.5")
parsed = modules["server", "work_events_pb2"].RecordWorkEventRequest.FromString(request.SerializeToString())
assert (parsed.request_id, parsed.quantity) == ("r-1", "1.5")
print("ok")
"""


def test_server_and_client_code_share_the_descriptor_pool_in_either_import_order() -> None:
    # A fresh interpreter per order: in this one, whichever copy pytest imported first is fixed.
    for order in ("server,client", "client,server"):
        result = subprocess.run(
            [sys.executable, "-c", BOTH_ORDERS, order],
            cwd=REPO,
            capture_output=True,
            text=True,
            timeout=60,
            env={"PYTHONPATH": f"{REPO}:{CLIENT / 'src'}", "PATH": ""},
        )
        assert result.returncode == 0 and result.stdout.strip() == "ok", (order, result.stdout, result.stderr)
