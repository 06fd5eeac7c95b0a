"""Generates the Python protobuf and gRPC code under services/points/v1 from protos/, and the descriptor set.

Run by `make proto`; the test suite regenerates into a temporary folder and
checks that the committed files are identical. Needs grpcio-tools (a test extra).

Besides the code, `v1/descriptors.binpb` is a FileDescriptorSet of the points.v1 protos and
the vendored grpc.reflection.v1 proto, with their imports and source info: the reflection
service (api/reflection.py) answers from it, because descriptors rebuilt from the generated
code carry no comments and the Python runtime has no grpc.reflection.v1 descriptors.
"""

from __future__ import annotations

import sys
from importlib import resources
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
PROTO_ROOT = REPO / "protos"
PACKAGE_DIR = Path("points") / "v1"
DESCRIPTOR_SET = "descriptors.binpb"
REFLECTION_V1 = Path("grpc") / "reflection" / "v1" / "reflection.proto"  # vendored: no Python code is generated for it


def proto_files() -> list[Path]:
    return sorted((PROTO_ROOT / PACKAGE_DIR).glob("*.proto"))


def _protoc(*args: str) -> None:
    from grpc_tools import protoc

    wkt = resources.files("grpc_tools") / "_proto"
    if protoc.main(["protoc", f"-I{PROTO_ROOT}", f"-I{wkt}", *args]) != 0:
        raise SystemExit("protoc failed")


def generate(out_dir: Path) -> None:
    """Writes *_pb2.py, *_pb2.pyi, *_pb2_grpc.py and the descriptor set for points/v1 into out_dir."""
    sources = [str(p.relative_to(PROTO_ROOT)) for p in proto_files()]
    _protoc(f"--python_out={out_dir}", f"--pyi_out={out_dir}", f"--grpc_python_out={out_dir}", *sources)
    _protoc(
        f"--descriptor_set_out={out_dir / PACKAGE_DIR / DESCRIPTOR_SET}",
        "--include_imports",
        "--include_source_info",
        *sources,
        str(REFLECTION_V1),
    )
    init = out_dir / PACKAGE_DIR / "__init__.py"
    init.write_text('"""Generated from protos/points/v1 by `make proto`; never edit by hand."""\n')


def main() -> None:
    generate(REPO / "services")
    print(f"generated {len(proto_files())} files and {DESCRIPTOR_SET} into services/{PACKAGE_DIR}", file=sys.stderr)


if __name__ == "__main__":
    main()
