"""`points periods ...`, `points recalculation ...` and `points statement export`: what payroll does, from a shell.

Every command but `periods repair` calls a running server over gRPC (with the caller's token,
so four eyes hold: the server names the proposer and the approver from the tokens). What a
person reads is printed in Simplified Chinese and English.
"""

from __future__ import annotations

import argparse
import csv
import getpass
import json
import sys
from collections.abc import Callable, Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any, TextIO

import grpc
from google.protobuf.json_format import MessageToDict

from points.api.convert import outlet_class_name, role_name
from points.cli_client import open_channel, print_error, server_options
from points.labels import both
from points.v1 import balances_pb2, balances_pb2_grpc, periods_pb2, periods_pb2_grpc, policies_pb2, policies_pb2_grpc


def proposal_state(value: int) -> str:
    """PROPOSAL_STATE_PENDING -> 'pending'."""
    return periods_pb2.ProposalState.Name(value)[len("PROPOSAL_STATE_") :].lower()


def add_payroll_commands(commands: argparse._SubParsersAction, database_option: Callable[[argparse.ArgumentParser], None]) -> None:  # type: ignore[type-arg]
    periods = commands.add_parser("periods", help="the pay calendar: list, propose and approve a month's close (four eyes), repair")
    period_commands = periods.add_subparsers(dest="periods_command", required=True)
    listing = period_commands.add_parser("list", help="every month from the first booking, open or closed, and the next to close")
    server_options(listing)
    propose = period_commands.add_parser("propose", help="propose closing the next month; another person approves it")
    propose.add_argument("period", help="YYYY-MM")
    propose.add_argument("--reason", required=True, help="why (audited)")
    propose.add_argument("--request-id", default="", help="idempotency key and proposal id (default: close-PERIOD)")
    propose.add_argument("--by", default="", help="who proposes, without authentication (default: the local user)")
    server_options(propose)
    approve = period_commands.add_parser("approve", help="approve a proposal (not your own): the month closes")
    approve.add_argument("proposal_id")
    approve.add_argument("--reason", default="", help="why (optional: the proposal's reason stands)")
    approve.add_argument("--by", default="", help="who approves, without authentication (default: the local user)")
    server_options(approve)
    withdraw = period_commands.add_parser("withdraw", help="withdraw a pending proposal")
    withdraw.add_argument("proposal_id")
    withdraw.add_argument("--reason", required=True)
    withdraw.add_argument("--by", default="")
    server_options(withdraw)
    close = period_commands.add_parser("close", help="close the next month in one step (only on a server run with --no-four-eyes)")
    close.add_argument("period")
    close.add_argument("--reason", required=True)
    close.add_argument("--by", default="")
    server_options(close)
    repair = period_commands.add_parser(
        "repair", help="close, in order, the months an older release let a calendar skip (on the store; moves no booked line)"
    )
    database_option(repair)
    repair.add_argument("--by", required=True, help="the operator (audited as the closes' closed_by)")
    repair.add_argument("--reason", required=True, help="why (audited)")
    repair.add_argument("--dry-run", action="store_true", help="only list the months it would close")

    recalculation = commands.add_parser("recalculation", help="rescore booked events under a policy version (four eyes)")
    recalculation_commands = recalculation.add_subparsers(dest="recalculation_command", required=True)
    propose_r = recalculation_commands.add_parser("propose", help="propose rescoring under VERSION; another person approves it")
    propose_r.add_argument("version")
    propose_r.add_argument("--reason", required=True)
    propose_r.add_argument("--request-id", required=True, help="idempotency key; names the proposal and the recalculation")
    propose_r.add_argument("--by", default="")
    server_options(propose_r)
    approve_r = recalculation_commands.add_parser("approve", help="approve a proposal (not your own) and run it; run again to continue")
    approve_r.add_argument("proposal_id")
    approve_r.add_argument("--reason", default="")
    approve_r.add_argument("--by", default="")
    server_options(approve_r)
    withdraw_r = recalculation_commands.add_parser("withdraw", help="withdraw a pending proposal")
    withdraw_r.add_argument("proposal_id")
    withdraw_r.add_argument("--reason", required=True)
    withdraw_r.add_argument("--by", default="")
    server_options(withdraw_r)
    list_r = recalculation_commands.add_parser("list", help="every proposed recalculation and its state")
    server_options(list_r)

    statement = commands.add_parser("statement", help="payroll statements")
    statement_commands = statement.add_subparsers(dest="statement_command", required=True)
    export = statement_commands.add_parser(
        "export", help="every employee's statement for a pay month: CSV (UTF-8 with BOM, opens in a spreadsheet) or JSON"
    )
    export.add_argument("period", help="YYYY-MM")
    export.add_argument("--format", choices=("csv", "json"), default="csv")
    export.add_argument("--output", type=Path, help="file to write (default: standard output)")
    export.add_argument(
        "--header", choices=("bilingual", "en"), default="bilingual",
        help="CSV header and row words: Chinese and English (default), or the English keys only (for programs)",
    )  # fmt: skip
    server_options(export)


def run_payroll(args: argparse.Namespace) -> int | None:
    """Runs a payroll command; None when `args` is not one."""
    if args.command == "periods" and args.periods_command == "repair":
        return _repair(args)
    if args.command not in ("periods", "recalculation", "statement"):
        return None
    channel = open_channel(args)
    metadata = (("authorization", f"Bearer {args.token}"),) if args.token else ()
    try:
        if args.command == "statement":
            return export_statements(balances_pb2_grpc.BalanceServiceStub(channel), args, metadata)
        if args.command == "recalculation":
            return _recalculation(policies_pb2_grpc.PolicyServiceStub(channel), args, metadata)
        return _periods(periods_pb2_grpc.PeriodServiceStub(channel), args, metadata)
    except grpc.RpcError as error:
        print_error(error)
        return 1
    finally:
        channel.close()


def _who(args: argparse.Namespace) -> str:
    """Without a token the request names the person (development mode); with one, the server takes it from the token."""
    return "" if args.token else (args.by or getpass.getuser())


# -- periods ---------------------------------------------------------------------------------


def _periods(stub: periods_pb2_grpc.PeriodServiceStub, args: argparse.Namespace, metadata: tuple) -> int:  # type: ignore[type-arg]
    command = args.periods_command
    if command == "list":
        return _list_periods(stub, metadata)
    if command == "propose":
        proposal = stub.ProposePeriodClose(
            periods_pb2.ProposePeriodCloseRequest(
                request_id=args.request_id or f"close-{args.period}", period=args.period, proposed_by=_who(args), reason=args.reason
            ),
            metadata=metadata, timeout=60,
        ).proposal  # fmt: skip
        print(f"已提议关闭 {proposal.subject}，等待他人批准 / close of {proposal.subject} proposed by {proposal.proposed_by}: "
              f"proposal {proposal.proposal_id}, waiting for another person's approval")  # fmt: skip
        return 0
    if command == "approve":
        period = stub.ApprovePeriodClose(
            periods_pb2.ApprovePeriodCloseRequest(proposal_id=args.proposal_id, approved_by=_who(args), reason=args.reason),
            metadata=metadata, timeout=60,
        ).period  # fmt: skip
        print(f"{period.period} 已关闭 / closed: proposed by {period.proposed_by}, approved by {period.closed_by}, "
              f"log position {period.close_position}")  # fmt: skip
        return 0
    if command == "withdraw":
        proposal = stub.WithdrawPeriodClose(
            periods_pb2.WithdrawPeriodCloseRequest(proposal_id=args.proposal_id, withdrawn_by=_who(args), reason=args.reason),
            metadata=metadata, timeout=60,
        ).proposal  # fmt: skip
        print(f"已撤回 / withdrawn: proposal {proposal.proposal_id} to close {proposal.subject}")
        return 0
    period = stub.ClosePeriod(
        periods_pb2.ClosePeriodRequest(period=args.period, closed_by=_who(args), reason=args.reason), metadata=metadata, timeout=60
    ).period
    print(f"{period.period} 已关闭 / closed by {period.closed_by} (four eyes off), log position {period.close_position}")
    return 0


def _list_periods(stub: periods_pb2_grpc.PeriodServiceStub, metadata: tuple) -> int:  # type: ignore[type-arg]
    token, answer = "", None
    print("月份 period\t状态 state\t提议 proposed by\t批准 closed by\t原因 reason")
    while True:
        answer = stub.ListPeriods(periods_pb2.ListPeriodsRequest(page_size=100, page_token=token), metadata=metadata, timeout=30)
        for p in answer.periods:
            if p.state == periods_pb2.PERIOD_STATE_CLOSED:
                print(f"{p.period}\t{both('closed')}\t{p.proposed_by or '-'}\t{p.closed_by}\t{p.reason}")
            elif p.pending_close.proposal_id:
                pending = p.pending_close
                print(f"{p.period}\t{both('pending')}\t{pending.proposed_by}\t-\t{pending.reason} (proposal {pending.proposal_id})")
            else:
                print(f"{p.period}\t{both('open')}\t-\t-\t")
        token = answer.next_page_token
        if not token:
            break
    print(f"下一个应关闭的月份 / next to close: {answer.next_to_close or '-（尚无记账 / nothing booked yet）'}")
    if answer.skipped_periods:
        print(f"被跳过的月份 / skipped months: {', '.join(answer.skipped_periods)} (run `points periods repair`)")
    return 0


def _repair(args: argparse.Namespace) -> int:
    from points.server import Settings, build_service, start_projection

    service = build_service(Settings(database_url=args.database, migrate=False), start_projector=False)
    try:
        start_projection(service)  # the view must have booked the whole log (elected on PostgreSQL: waits for the leader's)
        months = service.periods.repair(closed_by=args.by, reason=args.reason, dry_run=args.dry_run)
    finally:
        service.close()
    if not months:
        print("没有被跳过的月份 / no skipped month: the calendar needs no repair")
    elif args.dry_run:
        print(f"将按顺序关闭 / would close, in order: {', '.join(months)} (their booked lines stay where they are)")
    else:
        print(f"已按顺序关闭 / closed, in order: {', '.join(months)}; no booked line moved")
    return 0


# -- recalculations --------------------------------------------------------------------------


def _recalculation(stub: policies_pb2_grpc.PolicyServiceStub, args: argparse.Namespace, metadata: tuple) -> int:  # type: ignore[type-arg]
    command = args.recalculation_command
    if command == "propose":
        proposal = stub.ProposeRecalculation(
            policies_pb2.ProposeRecalculationRequest(
                request_id=args.request_id, version=args.version, proposed_by=_who(args), reason=args.reason
            ),
            metadata=metadata, timeout=60,
        ).proposal  # fmt: skip
        print(f"已提议按 {proposal.subject} 重算，等待他人批准 / recalculation under {proposal.subject} proposed by "
              f"{proposal.proposed_by}: proposal {proposal.proposal_id}, waiting for another person's approval")  # fmt: skip
        return 0
    if command == "approve":
        done = stub.ApproveRecalculation(
            policies_pb2.ApproveRecalculationRequest(proposal_id=args.proposal_id, approved_by=_who(args), reason=args.reason),
            metadata=metadata, timeout=3600,
        )  # fmt: skip
        state = "already done (replay) / 已完成" if done.replayed else "done / 已完成"
        print(f"recalculation {args.proposal_id} under {done.proposal.subject} {state}: {done.events} events rescored, "
              f"approved by {done.proposal.decided_by}, position {done.position}")  # fmt: skip
        return 0
    if command == "withdraw":
        proposal = stub.WithdrawRecalculation(
            policies_pb2.WithdrawRecalculationRequest(proposal_id=args.proposal_id, withdrawn_by=_who(args), reason=args.reason),
            metadata=metadata, timeout=60,
        ).proposal  # fmt: skip
        print(f"已撤回 / withdrawn: recalculation {proposal.proposal_id} under {proposal.subject}")
        return 0
    token = ""
    print("提议 proposal\t版本 version\t状态 state\t提议人 proposed by\t决定人 decided by\t事件 events\t原因 reason")
    while True:
        page = stub.ListRecalculations(policies_pb2.ListRecalculationsRequest(page_token=token), metadata=metadata, timeout=30)
        for r in page.recalculations:
            p = r.proposal
            events = str(r.events) if r.finished else "-"
            print(f"{p.proposal_id}\t{p.subject}\t{both(proposal_state(p.state))}\t{p.proposed_by}\t"
                  f"{p.decided_by or '-'}\t{events}\t{p.reason}")  # fmt: skip
        token = page.next_page_token
        if not token:
            return 0


# -- statements ------------------------------------------------------------------------------

# (key, Chinese): the CSV's columns. A work or adjustment row fills the points columns, the total row the
# statement's: so summing any numeric column counts every booked line, and every statement, once.
STATEMENT_COLUMNS = (
    ("pay_period", "发薪月份"), ("employee_id", "员工编号"), ("employee_name", "姓名"), ("outlet_id", "网点"),
    ("outlet_class", "网点类别"), ("role", "岗位"), ("line", "行类型"), ("work_period", "业务月份"), ("dimension", "维度"),
    ("points", "积分"), ("weighted_points", "加权积分"), ("total_points", "综合积分合计"), ("event_count", "事件数"),
    ("currency", "币种"), ("gross_amount", "本月金额"), ("carried_in", "上月结转"), ("amount", "应发金额"),
    ("carried_forward", "结转下月"), ("unvalued_points", "未定价积分"), ("closed", "已关闭"), ("statement_digest", "结算单摘要"),
)  # fmt: skip


def statement_rows(statement: balances_pb2.Statement, *, words: Callable[[str], str] = str) -> Iterator[dict[str, str]]:
    """The work rows, then the adjustment rows, then the total row of one statement (`words` labels words people read)."""
    employee = statement.employee
    common = {
        "pay_period": statement.period, "employee_id": statement.employee_id, "employee_name": employee.name,
        "outlet_id": employee.outlet_id, "outlet_class": outlet_class_name(employee.outlet_class), "role": words(role_name(employee.role)),
    }  # fmt: skip
    for d in statement.work:
        yield {**common, "line": words("work"), "work_period": statement.period, "dimension": words(d.dimension),
               "points": d.points, "weighted_points": d.weighted_points}  # fmt: skip
    for a in statement.adjustments:
        yield {**common, "line": words("adjustment"), "work_period": a.from_period, "dimension": words(a.dimension),
               "points": a.points, "weighted_points": a.weighted_points}  # fmt: skip
    pay = statement.pay if statement.HasField("pay") else None
    yield {
        **common, "line": words("total"), "total_points": statement.total, "event_count": str(statement.event_count),
        "currency": pay.currency if pay else "", "gross_amount": pay.gross_amount if pay else "",
        "carried_in": pay.carried_in if pay else "", "amount": pay.amount if pay else "",
        "carried_forward": pay.carried_forward if pay else "", "unvalued_points": pay.unvalued_points if pay else "",
        "closed": "true" if statement.closed else "false", "statement_digest": statement.statement_digest,
    }  # fmt: skip


def every_statement(stub: balances_pb2_grpc.BalanceServiceStub, period: str, metadata: tuple) -> list[balances_pb2.Statement]:  # type: ignore[type-arg]
    """All pages of a month's listing (one position for all of them)."""
    token, statements = "", []
    while True:
        page = stub.ListStatements(balances_pb2.ListStatementsRequest(period=period, page_size=1000, page_token=token), metadata=metadata, timeout=120)
        statements.extend(page.statements)
        token = page.next_page_token
        if not token:
            return statements


def write_csv(out: TextIO, statements: list[balances_pb2.Statement], *, bilingual: bool) -> None:
    writer = csv.DictWriter(out, fieldnames=[key for key, _ in STATEMENT_COLUMNS], restval="")
    if bilingual:
        writer.writerow({key: f"{chinese} {key}" for key, chinese in STATEMENT_COLUMNS})
    else:
        writer.writeheader()
    for statement in statements:
        writer.writerows(statement_rows(statement, words=both if bilingual else str))


def export_statements(stub: balances_pb2_grpc.BalanceServiceStub, args: argparse.Namespace, metadata: tuple) -> int:  # type: ignore[type-arg]
    statements = every_statement(stub, args.period, metadata)
    # CSV as UTF-8 with a byte-order mark: spreadsheets then read Chinese names right; JSON as plain UTF-8
    encoding = "utf-8-sig" if args.format == "csv" else "utf-8"
    out: Any = args.output.open("w", newline="", encoding=encoding) if args.output else _stdout(encoding)
    try:
        if args.format == "json":
            json.dump([MessageToDict(s, preserving_proto_field_name=True) for s in statements], out, indent=2, ensure_ascii=False)
            out.write("\n")
        else:
            write_csv(out, statements, bilingual=args.header == "bilingual")
    finally:
        out.flush()
        if args.output:
            out.close()
    points = sum((Decimal(s.total) for s in statements), Decimal("0.0000"))
    amounts: dict[str, Decimal] = {}
    for s in statements:
        if s.HasField("pay"):
            amounts[s.pay.currency] = amounts.get(s.pay.currency, Decimal(0)) + Decimal(s.pay.amount)
    paid = ", ".join(f"{amount} {currency}" for currency, amount in sorted(amounts.items())) or "-"
    print(f"points: {args.period}: {len(statements)} 份结算单 statements, 综合积分 points {points}, 应发 to pay {paid}", file=sys.stderr)
    return 0


def _stdout(encoding: str) -> TextIO:
    sys.stdout.reconfigure(encoding=encoding, newline="")  # type: ignore[union-attr]
    return sys.stdout
