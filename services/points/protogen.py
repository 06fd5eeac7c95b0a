"""Generates the Python protobuf and gRPC code under services/points/v1 from protos/.

Run by `make proto`; the test suite regenerates into a temporary folder and
checks that the committed code is identical. Needs grpcio-tools (a test extra).
"""

from __future__ import annotations

import sys
from importlib import resources
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
PROTO_ROOT = REPO / "protos"
PACKAGE_DIR = Path("points") / "v1"


def proto_files() -> list[Path]:
    return sorted((PROTO_ROOT / PACKAGE_DIR).glob("*.proto"))


def generate(out_dir: Path) -> None:
    """Writes *_pb2.py, *_pb2.pyi and *_pb2_grpc.py for points/v1 into out_dir."""
    from grpc_tools import protoc

    wkt = resources.files("grpc_tools") / "_proto"
    args = [
        "protoc",
        f"-I{PROTO_ROOT}",
        f"-I{wkt}",
        f"--python_out={out_dir}",
        f"--pyi_out={out_dir}",
        f"--grpc_python_out={out_dir}",
        *(str(p.relative_to(PROTO_ROOT)) for p in proto_files()),
    ]
    if protoc.main(args) != 0:
        raise SystemExit("protoc failed")
    init = out_dir / PACKAGE_DIR / "__init__.py"
    init.write_text('"""Generated from protos/points/v1 by `make proto`; never edit by hand."""\n')


def main() -> None:
    generate(REPO / "services")
    print(f"generated {len(proto_files())} files into services/{PACKAGE_DIR}", file=sys.stderr)


if __name__ == "__main__":
    main()
