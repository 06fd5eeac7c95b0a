"""Generates the client's protobuf and gRPC code under src/points_client/v1 from protos/.

Run by `make client-proto` (and `make proto`); tests/clients/test_client_protos.py
regenerates into a temporary folder and checks the committed code is identical.
Needs grpcio-tools (the server's test extra has it); it does not import the server.

protoc names the generated modules after the proto package, `points.v1`, so they import
each other as `from points.v1 import ...`: the server's package. The client cannot ship a
top-level `points` package without colliding with the server (both installed in one
environment, or in the server's own tests), so the imports and the module names given to
protobuf's builder are rewritten to `points_client.v1` after protoc. The serialized file
descriptors are left alone: the proto package stays `points.v1`, which is what the wire
method names (`/points.v1.BalanceService/GetBalance`) and the descriptor pool use.
"""

from __future__ import annotations

import re
import sys
import tempfile
from importlib import resources
from pathlib import Path

CLIENT = Path(__file__).resolve().parents[1]
REPO = CLIENT.parents[1]
PROTO_ROOT = REPO / "protos"
PROTO_DIR = Path("points") / "v1"
TARGET = CLIENT / "src" / "points_client" / "v1"

# `from points.v1 import balances_pb2 as ...` in .py, _grpc.py and .pyi files
_IMPORT = re.compile(r"^from points\.v1 import ", re.MULTILINE)
# `_builder.BuildTopDescriptorsAndMessages(DESCRIPTOR, 'points.v1.balances_pb2', _globals)`: the classes' __module__
_MODULE_NAME = re.compile(r"'points\.v1\.(\w+_pb2)'")
INIT = '"""Generated from protos/points/v1 by `make client-proto`; never edit by hand."""\n'


def proto_files() -> list[Path]:
    return sorted((PROTO_ROOT / PROTO_DIR).glob("*.proto"))


def rewrite(text: str) -> str:
    """The generated code with its `points.v1` module references moved to `points_client.v1`."""
    return _MODULE_NAME.sub(r"'points_client.v1.\1'", _IMPORT.sub("from points_client.v1 import ", text))


def generate(out_dir: Path) -> list[Path]:
    """Writes __init__.py, *_pb2.py, *_pb2.pyi and *_pb2_grpc.py into out_dir (the v1 package folder)."""
    from grpc_tools import protoc

    wkt = resources.files("grpc_tools") / "_proto"  # google/protobuf/*.proto; google/rpc comes from googleapis-common-protos
    with tempfile.TemporaryDirectory() as raw:
        args = [
            "protoc",
            f"-I{PROTO_ROOT}",
            f"-I{wkt}",
            f"--python_out={raw}",
            f"--pyi_out={raw}",
            f"--grpc_python_out={raw}",
            *(str(p.relative_to(PROTO_ROOT)) for p in proto_files()),
        ]
        if protoc.main(args) != 0:
            raise SystemExit("protoc failed")
        out_dir.mkdir(parents=True, exist_ok=True)
        written = []
        for source in sorted((Path(raw) / PROTO_DIR).iterdir()):
            target = out_dir / source.name
            target.write_text(rewrite(source.read_text(encoding="utf-8")), encoding="utf-8")
            written.append(target)
    init = out_dir / "__init__.py"
    init.write_text(INIT, encoding="utf-8")
    return [init, *written]


def main() -> None:
    for stale in TARGET.glob("*_pb2*.py*"):  # a proto file removed from protos/ leaves no module behind
        stale.unlink()
    written = generate(TARGET)
    print(f"generated {len(written)} files into {TARGET.relative_to(REPO)}", file=sys.stderr)


if __name__ == "__main__":
    main()
