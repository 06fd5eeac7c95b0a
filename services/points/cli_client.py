"""`points policy ...`, `points explain ...` and `points audit ...`: commands that call a running server over gRPC."""

from __future__ import annotations

import argparse
import getpass
import os
import sys
import time
from decimal import Decimal
from pathlib import Path

import grpc
from grpc_status import rpc_status

from points.application.policy_file import parse_policy, read_policy_file
from points.domain.policy import PolicyError
from points.v1 import audit_pb2, audit_pb2_grpc, balances_pb2, balances_pb2_grpc, policies_pb2, policies_pb2_grpc


def server_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--server", default=os.environ.get("POINTS_SERVER", "127.0.0.1:50051"), help="host:port; env POINTS_SERVER")
    parser.add_argument("--token", default=os.environ.get("POINTS_TOKEN", ""), help="bearer token; env POINTS_TOKEN")
    parser.add_argument("--ca", type=Path, help="CA certificate (PEM) to reach a TLS server")


def add_client_commands(commands: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    policy = commands.add_parser("policy", help="validate, publish and list points policies")
    policy_commands = policy.add_subparsers(dest="policy_command", required=True)
    validate = policy_commands.add_parser("validate", help="check a policy file locally, naming each problem's line")
    validate.add_argument("file", type=Path)
    validate.add_argument("--effective-from", default="")
    publish = policy_commands.add_parser("publish", help="publish a policy file (an audited, immutable version)")
    publish.add_argument("file", type=Path)
    publish.add_argument("--effective-from", default="", help="YYYY-MM-DD; overrides the file's effective_from")
    publish.add_argument("--reason", required=True, help="why this version is published (audited)")
    publish.add_argument("--by", default="", help="who publishes it (default: the local user)")
    server_options(publish)
    recalculate = policy_commands.add_parser(
        "recalculate",
        help="rescore booked events under a version in one step (only on a server run with --no-four-eyes; "
        "else `points recalculation propose`, then another person approves)",
    )
    recalculate.add_argument("version")
    recalculate.add_argument("--reason", required=True, help="why (audited)")
    recalculate.add_argument("--request-id", required=True, help="idempotency key: rerun with the same one to continue")
    recalculate.add_argument("--by", default="", help="who (default: the local user)")
    server_options(recalculate)
    listing = policy_commands.add_parser("list", help="list published versions")
    server_options(listing)

    audit = commands.add_parser("audit", help="prove the event log was not rewritten")
    audit_commands = audit.add_subparsers(dest="audit_command", required=True)
    verify = audit_commands.add_parser("verify", help="recompute the hash chain; name the first position that does not match")
    verify.add_argument("--from", dest="from_position", type=int, default=0)
    verify.add_argument("--to", dest="to_position", type=int, default=0, help="default: the current head")
    verify.add_argument("--expect-head", default="", help="POSITION:HASH kept from an earlier `points audit head`")
    server_options(verify)
    head = audit_commands.add_parser("head", help="print the current position and head hash (keep it outside the database)")
    server_options(head)

    explain = commands.add_parser("explain", help="every points line behind an employee's balance for a period")
    explain.add_argument("employee_id")
    explain.add_argument("period", help="YYYY-MM, YYYY-Qn or YYYY")
    server_options(explain)


def run_client(args: argparse.Namespace) -> int | None:
    """Runs a client command; None when `args` is not one."""
    if args.command == "policy" and args.policy_command == "validate":
        return _validate(args)
    if args.command not in ("policy", "explain", "audit"):
        return None
    channel = open_channel(args)
    metadata = (("authorization", f"Bearer {args.token}"),) if args.token else ()
    try:
        if args.command == "explain":
            return _explain(balances_pb2_grpc.BalanceServiceStub(channel), args, metadata)
        if args.command == "audit":
            return _audit(audit_pb2_grpc.AuditServiceStub(channel), args, metadata)
        stub = policies_pb2_grpc.PolicyServiceStub(channel)
        if args.policy_command == "recalculate":
            return _recalculate(stub, args, metadata)
        return _publish(stub, args, metadata) if args.policy_command == "publish" else _list(stub, metadata)
    except grpc.RpcError as error:
        print_error(error)
        return 1
    finally:
        channel.close()


def open_channel(args: argparse.Namespace) -> grpc.Channel:
    if args.ca:
        return grpc.secure_channel(args.server, grpc.ssl_channel_credentials(args.ca.read_bytes()))
    return grpc.insecure_channel(args.server)


def _validate(args: argparse.Namespace) -> int:
    try:
        text, source = read_policy_file(args.file)
        policy = parse_policy(text, source, effective_from=args.effective_from or None)
    except PolicyError as e:
        print(f"points: {e}", file=sys.stderr)
        return 2
    roles = ", ".join(f"{r.role} ({sum(len(x) for x in r.rules.values())} rules)" for r in policy.roles.values())
    print(f"{args.file}: policy {policy.version}, effective {policy.effective_from.isoformat()}: {roles}")
    return 0


def _publish(stub: policies_pb2_grpc.PolicyServiceStub, args: argparse.Namespace, metadata: tuple) -> int:  # type: ignore[type-arg]
    try:
        document, _ = read_policy_file(args.file)
    except PolicyError as e:
        print(f"points: {e}", file=sys.stderr)
        return 2
    response = stub.PublishPolicy(
        policies_pb2.PublishPolicyRequest(
            document=document,
            effective_from=args.effective_from,
            reason=args.reason,
            published_by=args.by or getpass.getuser(),
            source_name=args.file.name,
        ),
        metadata=metadata,
        timeout=60,
    )
    policy = response.policy
    state = "already published (replay)" if response.replayed else "published"
    print(f"policy {policy.version} effective {policy.effective_from} {state} at position {response.position}")
    impact = response.impact
    if impact.events:
        more = " (first events only)" if impact.truncated else ""
        print(f"retroactive: {impact.events} booked events dated on or after {policy.effective_from}{more}; "
              f"{len(impact.balances)} balances would change if recalculated (booked lines are not rewritten):")
        for balance in impact.balances:
            print(f"  {balance.employee_id} {balance.period}: {balance.booked_points} -> {balance.rescored_points}")
    return 0


def _recalculate(stub: policies_pb2_grpc.PolicyServiceStub, args: argparse.Namespace, metadata: tuple) -> int:  # type: ignore[type-arg]
    response = stub.RecalculatePoints(
        policies_pb2.RecalculatePointsRequest(
            request_id=args.request_id, version=args.version, reason=args.reason, requested_by=args.by or getpass.getuser()
        ),
        metadata=metadata,
        timeout=600,
    )
    state = "already done (replay)" if response.replayed else "done"
    print(f"recalculation {args.request_id} under {args.version} {state}: {response.events} events rescored, position {response.position}")
    return 0


def _audit(stub: audit_pb2_grpc.AuditServiceStub, args: argparse.Namespace, metadata: tuple) -> int:  # type: ignore[type-arg]
    if args.audit_command == "head":
        head = stub.GetLedgerHead(audit_pb2.GetLedgerHeadRequest(), metadata=metadata, timeout=30)
        print(f"{head.position}:{head.hash}")
        return 0
    to_position = args.to_position
    expected = ""
    if args.expect_head:
        position, _, expected = args.expect_head.partition(":")
        to_position = int(position)
    started = time.perf_counter()
    result = stub.VerifyLedger(
        audit_pb2.VerifyLedgerRequest(from_position=args.from_position, to_position=to_position), metadata=metadata, timeout=3600
    )
    elapsed = time.perf_counter() - started
    if not result.verified:
        print(f"NOT VERIFIED at position {result.first_bad_position}: {result.problem} ({result.checked} events matched before it)")
        return 1
    if expected and result.head_hash != expected:
        print(f"NOT VERIFIED: the chain verifies, but its hash at {result.to_position} is {result.head_hash}, not the kept {expected}")
        return 1
    rate = result.checked / elapsed if elapsed > 0 else 0.0
    print(f"verified {result.checked} events, positions {result.from_position}..{result.to_position}, head {result.head_hash} "
          f"({elapsed:.2f}s, {rate:,.0f} events/s)")
    return 0


def _list(stub: policies_pb2_grpc.PolicyServiceStub, metadata: tuple) -> int:  # type: ignore[type-arg]
    token = ""
    while True:
        page = stub.ListPolicies(policies_pb2.ListPoliciesRequest(page_token=token), metadata=metadata, timeout=30)
        for p in page.policies:
            print(f"{p.version}\teffective {p.effective_from}\tby {p.published_by}\t{p.reason}\tsha256 {p.digest[:12]}")
        token = page.next_page_token
        if not token:
            return 0


def _explain(stub: balances_pb2_grpc.BalanceServiceStub, args: argparse.Namespace, metadata: tuple) -> int:  # type: ignore[type-arg]
    token, total, balance = "", Decimal(0), None
    print("position\tentry\tdate\tkind\tquantity\trule\tpolicy\tdimension\tmultiplier\tbefore cap\tcap\tpoints\tweighted")
    while True:
        page = stub.ExplainBalance(
            balances_pb2.ExplainBalanceRequest(employee_id=args.employee_id, period=args.period, page_size=1000, page_token=token),
            metadata=metadata,
            timeout=60,
        )
        balance = page.balance
        for line in page.lines:
            total += Decimal(line.weighted_points)
            print(
                f"{line.position}\t{line.entry}\t{line.occurred_on}\t{line.kind}\t{line.quantity}\t{line.rule_id}\t{line.policy_version}\t"
                f"{line.dimension}\t{line.multiplier}\t{line.points_before_cap}\t{line.cap_applied or '-'}\t{line.points}\t{line.weighted_points}"
            )
        token = page.next_page_token
        if not token:
            break
    assert balance is not None
    dims = ", ".join(f"{d.dimension} {d.points} (weighted {d.weighted_points})" for d in balance.dimensions)
    print(f"total {balance.total} for {balance.employee_id} in {balance.period}: {dims}; sum of lines {total:.4f}")
    return 0


def print_error(error: grpc.RpcError) -> None:
    print(f"points: {error.code().name}: {error.details()}", file=sys.stderr)  # type: ignore[attr-defined]
    status = rpc_status.from_call(error)  # type: ignore[arg-type]
    if status is None:
        return
    from google.rpc import error_details_pb2

    for detail in status.details:
        if detail.Is(error_details_pb2.BadRequest.DESCRIPTOR):
            bad = error_details_pb2.BadRequest()
            detail.Unpack(bad)
            for violation in bad.field_violations:
                print(f"  {violation.field}: {violation.description}", file=sys.stderr)
