"""`points periods ...`, `points recalculation ...` and `points statement export` against a real server (the CLI in this process).

The exported CSV opens in a spreadsheet (UTF-8 with a byte-order mark, Chinese names intact), and summing any of its
numeric columns counts every booked line and every statement once: it agrees with ListStatements and with the lines.
"""

from __future__ import annotations

import csv
import io
import json
from decimal import Decimal
from pathlib import Path
from typing import TYPE_CHECKING

import pytest
from google.protobuf.json_format import MessageToDict

from points.cli import main
from points.v1 import directory_pb2, policies_pb2, policies_pb2_grpc
from tests.api.calls import Staffed, work
from tests.api.ledger_calls import every_statement, reversal
from tests.support.policy_versions import NOVEMBER_VERSION

if TYPE_CHECKING:
    from tests.conftest import Client, Clock


def points(client: Client, capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    code = main([*args, "--server", client.address])
    captured = capsys.readouterr()
    return code, captured.out, captured.err


@pytest.fixture
def autumn(client: Client, staffed_outlet: Staffed) -> int:
    """sm-1 (named 张伟) and os-1 work in October and November; returns the last position."""
    client.directory.RenameEmployee(directory_pb2.RenameEmployeeRequest(employee_id="sm-1", name="张伟"), timeout=10)
    w = client.work
    october = w.RecordWorkEvent(work("sm-oct", "sm-1", "counter_transaction", "12", "2026-10-05"))
    w.RecordWorkEvent(work("os-oct", "os-1", "duty_day", "2", "2026-10-06"))
    w.RecordWorkEvent(work("sm-nov", "sm-1", "customer_served", "20", "2026-11-02"))
    w.RecordWorkEvent(work("os-nov", "os-1", "compliance_finding", "1", "2026-11-03"))  # negative: -20 x .30
    return october.position


def test_payroll_closes_october_from_the_shell_with_four_eyes(client: Client, autumn: int, clock: Clock, capsys: pytest.CaptureFixture[str]) -> None:
    clock.advance(days=4)  # 2026-12-02
    code, _, err = points(client, capsys, "periods", "propose", "2026-11", "--reason", "paid", "--by", "alice")
    assert (code, "PERIODS_CLOSE_IN_ORDER" in err or "close 2026-10 first" in err) == (1, True)

    code, out, _ = points(client, capsys, "periods", "propose", "2026-10", "--reason", "October paid", "--by", "alice")
    assert code == 0 and "close-2026-10" in out and "等待他人批准" in out

    code, _, err = points(client, capsys, "periods", "approve", "close-2026-10", "--by", "alice")
    assert code == 1 and "PERMISSION_DENIED" in err

    code, out, _ = points(client, capsys, "periods", "approve", "close-2026-10", "--by", "bob")
    assert code == 0 and "2026-10 已关闭 / closed: proposed by alice, approved by bob" in out

    code, out, _ = points(client, capsys, "periods", "list")
    assert code == 0
    assert "2026-10\t已关闭 closed\talice\tbob\tOctober paid" in out
    assert "next to close: 2026-11" in out


def test_a_recalculation_from_the_shell_needs_a_second_person(client: Client, autumn: int, capsys: pytest.CaptureFixture[str]) -> None:
    policies_pb2_grpc.PolicyServiceStub(client.channel).PublishPolicy(
        policies_pb2.PublishPolicyRequest(document=NOVEMBER_VERSION, reason="rates", published_by="hq"), timeout=30
    )
    code, out, _ = points(client, capsys, "recalculation", "propose", "2026.2", "--reason", "November rates", "--request-id", "rc-1", "--by", "alice")
    assert code == 0 and "rc-1" in out
    assert points(client, capsys, "recalculation", "approve", "rc-1", "--by", "alice")[0] == 1

    code, out, _ = points(client, capsys, "recalculation", "approve", "rc-1", "--by", "bob")
    assert code == 0 and "approved by bob" in out

    code, out, _ = points(client, capsys, "recalculation", "list")
    assert "rc-1\t2026.2\t已批准 approved\talice\tbob" in out


def read_csv(path: Path) -> list[dict[str, str]]:
    raw = path.read_bytes()
    assert raw.startswith(b"\xef\xbb\xbf"), "a spreadsheet needs the byte-order mark to read UTF-8"
    rows = list(csv.reader(io.StringIO(raw.decode("utf-8-sig"), newline="")))
    keys = [cell.split(" ")[-1] for cell in rows[0]]  # bilingual header cells: "中文 key"
    return [dict(zip(keys, row, strict=True)) for row in rows[1:]]


def test_the_exported_csv_and_json_reconcile_with_the_statements(
    client: Client, autumn: int, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from tests.api.ledger_calls import close_period

    close_period(client, "2026-10")
    w = client.work
    w.RecordWorkEvent(work("sm-late", "sm-1", "customer_served", "6", "2026-10-31"))  # November, as an October adjustment
    last = w.CorrectWorkEvent(reversal("c-rev", w.RecordWorkEvent(work("os-x", "os-1", "duty_day", "1", "2026-10-09")).event_id, "os-1")).position
    listed = every_statement(client, "2026-11", min_position=last)

    assert points(client, capsys, "statement", "export", "2026-11", "--output", str(tmp_path / "nov.csv"))[0] == 0
    assert points(client, capsys, "statement", "export", "2026-11", "--format", "json", "--output", str(tmp_path / "nov.json"))[0] == 0
    code, _, err = points(client, capsys, "statement", "export", "2026-11", "--header", "en", "--output", str(tmp_path / "en.csv"))

    rows = read_csv(tmp_path / "nov.csv")
    assert code == 0 and "2 份结算单 statements" in err
    assert {r["employee_name"] for r in rows if r["employee_id"] == "sm-1"} == {"张伟"}
    for statement in listed:
        own = [r for r in rows if r["employee_id"] == statement.employee_id]
        assert [r["line"].split(" ")[-1] for r in own][-1] == "total"
        weighted = sum((Decimal(r["weighted_points"]) for r in own if r["weighted_points"]), Decimal(0))
        assert weighted == Decimal(statement.total) == sum((Decimal(r["total_points"]) for r in own if r["total_points"]), Decimal(0))
        assert sum((Decimal(r["amount"]) for r in own if r["amount"]), Decimal(0)) == Decimal(statement.pay.amount)
        assert [int(r["event_count"]) for r in own if r["event_count"]] == [statement.event_count]
    adjustments = [r for r in rows if r["line"].endswith("adjustment")]
    assert [(r["employee_id"], r["work_period"], r["weighted_points"]) for r in adjustments] == [
        ("os-1", "2026-10", "0.0000"), ("sm-1", "2026-10", "1.0500")
    ]  # os-1: the late duty day and its reversal, both booked in November
    assert json.loads((tmp_path / "nov.json").read_text(encoding="utf-8")) == [MessageToDict(s, preserving_proto_field_name=True) for s in listed]
    plain = (tmp_path / "en.csv").read_text(encoding="utf-8-sig").splitlines()
    assert plain[0].startswith("pay_period,employee_id,employee_name,") and ",total," in plain[-1]
