"""The API contract: protos pass buf lint and buf breaking, and the committed generated code and descriptor set match the protos."""

from __future__ import annotations

import importlib
import re
import shutil
import subprocess
import sys
from collections.abc import Iterable
from pathlib import Path

from google.protobuf import descriptor_pb2

from points import protogen

REPO = Path(__file__).resolve().parents[1]
GENERATED = REPO / "services" / "points" / "v1"
BASELINE = REPO / "protos" / "baseline" / "points-v1.binpb"  # the last release's protos: `make proto-baseline`


def test_generated_code_matches_protos(tmp_path: Path) -> None:
    protogen.generate(tmp_path)
    fresh = tmp_path / "points" / "v1"
    fresh_files = sorted(p.name for p in fresh.iterdir())
    committed_files = sorted(p.name for p in GENERATED.iterdir() if p.is_file())
    assert fresh_files == committed_files, "run `make proto` and commit services/points/v1"
    for name in fresh_files:
        assert (fresh / name).read_bytes() == (GENERATED / name).read_bytes(), f"{name} is stale: run `make proto`"


def committed_descriptor_set() -> dict[str, descriptor_pb2.FileDescriptorProto]:
    data = (GENERATED / protogen.DESCRIPTOR_SET).read_bytes()
    return {f.name: f for f in descriptor_pb2.FileDescriptorSet.FromString(data).file}


def leading_comment(file: descriptor_pb2.FileDescriptorProto, path: list[int]) -> str:
    return next((loc.leading_comments for loc in file.source_code_info.location if list(loc.path) == path), "")


def test_the_descriptor_set_has_every_proto_with_its_imports_and_comments() -> None:
    files = committed_descriptor_set()
    ours = {f"points/v1/{p.name}" for p in protogen.proto_files()} | {protogen.REFLECTION_V1.as_posix()}

    assert ours <= set(files)
    assert {name: sorted(set(f.dependency) - set(files)) for name, f in files.items()} == {name: [] for name in files}
    assert [name for name in files if not files[name].source_code_info.location] == []
    work_events = files["points/v1/work_events.proto"]
    service = [s.name for s in work_events.service].index("WorkEventService")
    method = [m.name for m in work_events.service[service].method].index("RecordWorkEvent")
    assert "Records one work event." in leading_comment(work_events, [6, service, 2, method])


def clear_json_names(messages: Iterable[descriptor_pb2.DescriptorProto]) -> None:
    for message in messages:
        for message_field in message.field:
            message_field.ClearField("json_name")
        clear_json_names(message.nested_type)


def test_the_descriptor_set_describes_what_the_generated_code_speaks() -> None:
    """Each points/v1 file in the set is the descriptor its generated module was built from, plus the
    comments and the JSON names protoc derives from field names (the Python generator leaves both out)."""
    files = committed_descriptor_set()
    for proto in protogen.proto_files():
        module = importlib.import_module(f"points.v1.{proto.stem}_pb2")
        from_set = descriptor_pb2.FileDescriptorProto()
        from_set.CopyFrom(files[f"points/v1/{proto.name}"])
        from_set.ClearField("source_code_info")
        clear_json_names(from_set.message_type)
        assert from_set == descriptor_pb2.FileDescriptorProto.FromString(module.DESCRIPTOR.serialized_pb), proto.name


def buf(*args: str) -> subprocess.CompletedProcess[str]:
    found = shutil.which("buf", path=str(Path(sys.executable).parent)) or shutil.which("buf")
    assert found, "buf is a test dependency (buf-bin); reinstall with `make install`"
    return subprocess.run([found, *args], cwd=REPO, capture_output=True, text=True, timeout=120)


def test_protos_pass_buf_lint() -> None:
    result = buf("lint", "protos")
    assert result.returncode == 0, result.stdout + result.stderr


def test_protos_keep_compatibility_with_the_baseline() -> None:
    result = buf("breaking", "protos", "--against", str(BASELINE))
    assert result.returncode == 0, (
        "a breaking change against the last release's protos (docs/api.md, Compatibility): make it compatible, "
        "or, at a release only, run `make proto-baseline`\n" + result.stdout + result.stderr
    )


def test_buf_breaking_refuses_a_removed_field(tmp_path: Path) -> None:
    """The guard above can fail: the baseline holds the points.v1 protos, and buf compares them."""
    protos = tmp_path / "protos"
    shutil.copytree(REPO / "protos", protos, ignore=shutil.ignore_patterns("baseline"))
    work_events = protos / "points" / "v1" / "work_events.proto"
    text, removed = re.subn(r"^\s*string quantity = 4;\n", "", work_events.read_text(), count=1, flags=re.MULTILINE)
    assert removed == 1, "RecordWorkEventRequest.quantity moved: pick another field to remove here"
    work_events.write_text(text)

    result = buf("breaking", str(protos), "--against", str(BASELINE))

    assert result.returncode != 0
    assert 'Previously present field "4" with name "quantity" on message "RecordWorkEventRequest" was deleted.' in result.stdout, result.stdout


def test_every_service_declares_one_request_and_response_per_rpc() -> None:
    from points.v1 import balances_pb2, directory_pb2, work_events_pb2

    for module in (balances_pb2, directory_pb2, work_events_pb2):
        for service in module.DESCRIPTOR.services_by_name.values():
            for method in service.methods:
                assert method.input_type.name == f"{method.name}Request"
                assert method.output_type.name == f"{method.name}Response"

