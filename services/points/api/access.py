"""Who may call what: one table from every RPC to the roles allowed, and outlet scoping for recorders and supervisors.

An RPC missing from the table is denied to everyone. A scoped caller (recorder or supervisor
without an unscoped role that also allows the call) may touch only employees whose outlet,
looked up here from the directory, is one they act for; an employee out of scope and one that
does not exist get the same answer, so existence is not revealed.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable, Iterable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import date
from typing import Any

import grpc

from points.api.auth import ADMIN, AUDITOR, CALLER, COMMITTEE, OUTLET_SCOPE, PAYROLL, RECORDER, ROLES, SCOPED_ROLES, SUPERVISOR, Authenticator, Caller
from points.api.access_log import note_caller
from points.api.errors import PermissionDenied, Unauthenticated
from points.api.handlers import Behaviour, wrapped
from points.api.limits import WriteRateLimiter
from points.application.points import check_batch_size

log = logging.getLogger(__name__)

EVERYONE = frozenset(ROLES)
ISO_DAY = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")


@dataclass(frozen=True)
class Targets:
    """What a request touches: employees (their outlets today are looked up), outlets named directly,
    and work: (employee, business date as sent), whose outlet on that date is looked up: where the
    work is booked, which a backdated event must not move out of the caller's outlets."""

    employees: tuple[str, ...] = ()
    outlets: tuple[str, ...] = ()
    work: tuple[tuple[str, str], ...] = ()


@dataclass(frozen=True)
class Rule:
    """The roles that may call an RPC; `scoped` of them only within their outlets, found by `targets`."""

    roles: frozenset[str]
    scoped: frozenset[str] = frozenset()
    targets: Callable[[Any], Targets] | None = None
    writes: Callable[[Any], int] | None = None  # the cost in the write rate limit; None for reads
    precheck: Callable[[Any], None] | None = None  # cheap checks of the request before the rate and any lookup
    public: bool = False  # answered without credentials (health checks only)

    def __post_init__(self) -> None:
        if not self.scoped <= self.roles or (self.scoped and self.targets is None):
            raise ValueError("scoped roles must be allowed roles, with targets to scope by")


def _one(request: Any) -> int:
    return 1


def _employee(request: Any) -> Targets:
    return Targets(employees=(getattr(request, "employee_id", ""),))


def _outlet(request: Any) -> Targets:
    return Targets(outlets=(request.outlet_id,))


def _work(request: Any) -> Targets:
    """The employee's outlet on the work's business date, and the outlet the work names (it can change
    points by outlet class)."""
    return Targets(work=((request.employee_id, request.occurred_on),), outlets=(request.outlet_id,) if request.outlet_id else ())


def _batch(request: Any) -> Targets:
    items = [_work(r) for r in request.requests]
    return Targets(work=tuple(w for t in items for w in t.work), outlets=tuple(o for t in items for o in t.outlets))


def _batch_size(request: Any) -> int:
    return len(request.requests)


def _batch_limit(request: Any) -> None:
    """An oversized batch is refused before its employees are looked up (or the write rate charged)."""
    check_batch_size(len(request.requests))


RECORDING = Rule(roles=frozenset({RECORDER, SUPERVISOR}), scoped=frozenset({RECORDER, SUPERVISOR}), targets=_work, writes=_one)
DIRECTORY_WRITE = Rule(roles=frozenset({ADMIN}), writes=_one)
DIRECTORY_READ = frozenset({RECORDER, SUPERVISOR, PAYROLL, AUDITOR, ADMIN})
PAYROLL_DECISION = Rule(roles=frozenset({PAYROLL, ADMIN}), writes=_one)

RPC_TABLE: Mapping[str, Rule] = {
    "/points.v1.DirectoryService/RegisterOutlet": DIRECTORY_WRITE,
    "/points.v1.DirectoryService/RegisterEmployee": DIRECTORY_WRITE,
    "/points.v1.DirectoryService/TransferEmployee": DIRECTORY_WRITE,
    "/points.v1.DirectoryService/RenameEmployee": DIRECTORY_WRITE,
    "/points.v1.DirectoryService/GetOutlet": Rule(roles=DIRECTORY_READ, scoped=SCOPED_ROLES, targets=_outlet),
    "/points.v1.DirectoryService/GetEmployee": Rule(roles=DIRECTORY_READ, scoped=SCOPED_ROLES, targets=_employee),
    "/points.v1.WorkEventService/RecordWorkEvent": RECORDING,
    "/points.v1.WorkEventService/RecordWorkEvents": Rule(
        roles=RECORDING.roles, scoped=RECORDING.scoped, targets=_batch, writes=_batch_size, precheck=_batch_limit
    ),
    "/points.v1.BalanceService/GetBalance": Rule(
        roles=frozenset({SUPERVISOR, PAYROLL, AUDITOR, ADMIN}), scoped=frozenset({SUPERVISOR}), targets=_employee
    ),
    "/points.v1.BalanceService/ExplainBalance": Rule(
        roles=frozenset({SUPERVISOR, PAYROLL, AUDITOR, ADMIN}), scoped=frozenset({SUPERVISOR}), targets=_employee
    ),
    "/points.v1.PolicyService/PublishPolicy": Rule(roles=frozenset({ADMIN}), writes=_one),
    # Four eyes: payroll (or an admin) proposes a recalculation or a close, another payroll user (or admin) approves it.
    "/points.v1.PolicyService/RecalculatePoints": Rule(roles=frozenset({ADMIN}), writes=_one),  # one step: four eyes off only
    "/points.v1.PolicyService/ProposeRecalculation": PAYROLL_DECISION,
    "/points.v1.PolicyService/ApproveRecalculation": PAYROLL_DECISION,
    "/points.v1.PolicyService/WithdrawRecalculation": PAYROLL_DECISION,
    "/points.v1.PolicyService/ListRecalculations": Rule(roles=frozenset({PAYROLL, AUDITOR, ADMIN})),
    "/points.v1.PolicyService/GetPolicy": Rule(roles=EVERYONE),
    "/points.v1.PolicyService/ListPolicies": Rule(roles=EVERYONE),
    "/points.v1.WorkEventService/CorrectWorkEvent": Rule(
        roles=frozenset({SUPERVISOR, ADMIN}), scoped=frozenset({SUPERVISOR}), targets=_employee, writes=_one
    ),
    "/points.v1.BalanceService/ListStatements": Rule(roles=frozenset({PAYROLL, AUDITOR, ADMIN})),
    "/points.v1.BalanceService/WatchLedger": Rule(roles=frozenset({PAYROLL, AUDITOR, ADMIN})),
    "/points.v1.PeriodService/ClosePeriod": Rule(roles=frozenset({PAYROLL, ADMIN}), writes=_one),  # one step: four eyes off only
    "/points.v1.PeriodService/ProposePeriodClose": PAYROLL_DECISION,
    "/points.v1.PeriodService/ApprovePeriodClose": PAYROLL_DECISION,
    "/points.v1.PeriodService/WithdrawPeriodClose": PAYROLL_DECISION,
    "/points.v1.PeriodService/GetPeriod": Rule(roles=frozenset({SUPERVISOR, PAYROLL, AUDITOR, ADMIN})),
    "/points.v1.PeriodService/ListPeriods": Rule(roles=frozenset({SUPERVISOR, PAYROLL, AUDITOR, ADMIN})),
    # Rankings: the committee reads and simulates; only an admin freezes a publication (at the committee's request);
    # auditors read what was published.
    "/points.v1.RankingService/GetRanking": Rule(roles=frozenset({COMMITTEE, ADMIN})),
    "/points.v1.RankingService/SimulateRanking": Rule(roles=frozenset({COMMITTEE, ADMIN})),
    "/points.v1.RankingService/PublishRanking": Rule(roles=frozenset({ADMIN}), writes=_one),
    "/points.v1.RankingService/GetPublishedRanking": Rule(roles=frozenset({COMMITTEE, AUDITOR, ADMIN})),
    "/points.v1.AuditService/ListWorkEvents": Rule(
        roles=frozenset({SUPERVISOR, AUDITOR, ADMIN}), scoped=frozenset({SUPERVISOR}), targets=_employee
    ),
    "/points.v1.AuditService/GetWorkEvent": Rule(roles=frozenset({AUDITOR, ADMIN})),
    "/points.v1.AuditService/VerifyLedger": Rule(roles=frozenset({AUDITOR, ADMIN})),
    "/points.v1.AuditService/GetLedgerHead": Rule(roles=frozenset({AUDITOR, ADMIN})),
    "/points.v1.AuditService/ListAccessRecords": Rule(roles=frozenset({AUDITOR, ADMIN})),
    "/grpc.health.v1.Health/Check": Rule(roles=frozenset(), public=True),
    "/grpc.health.v1.Health/Watch": Rule(roles=frozenset(), public=True),
    "/grpc.health.v1.Health/List": Rule(roles=EVERYONE),  # lists every service: for callers only
    "/grpc.reflection.v1.ServerReflection/ServerReflectionInfo": Rule(roles=EVERYONE),
    "/grpc.reflection.v1alpha.ServerReflection/ServerReflectionInfo": Rule(roles=EVERYONE),
}

# The employees' outlets on a business date (None: today); unknown employees are left out.
EmployeeOutlets = Callable[[Iterable[str], date | None], Mapping[str, str]]


@contextmanager
def acting_as(caller: Caller) -> Iterator[None]:
    """The caller in auth.CALLER for the length of a call (its servicer and the interceptors after this one)."""
    token = CALLER.set(caller)
    try:
        yield
    finally:
        try:
            CALLER.reset(token)
        except ValueError:  # a stream closed from another context: leave no caller behind there
            CALLER.set(None)


def check_role(method: str, rule: Rule | None, caller: Caller) -> frozenset[str]:
    """The caller's roles that allow the call; PERMISSION_DENIED if there are none."""
    if rule is None:
        log.warning("denied %s to %s: the RPC is not in the access table", method, caller.subject)
        raise PermissionDenied(f"{method.lstrip('/')} is not open to any role", reason="ROLE_NOT_ALLOWED")
    allowing = caller.roles & rule.roles
    if not allowing:
        raise PermissionDenied(
            f"roles {', '.join(sorted(caller.roles))} may not call {method.lstrip('/')}", reason="ROLE_NOT_ALLOWED"
        )
    return allowing


def check_scope(caller: Caller, targets: Targets, employee_outlets: EmployeeOutlets) -> None:
    """Every named outlet, and every employee's outlet (looked up: today's, or on the work's business
    date), must be one the caller acts for."""
    for outlet_id in targets.outlets:
        if outlet_id not in caller.outlets:
            raise PermissionDenied(f"outlet {outlet_id!r} is not one you act for", reason="OUTLET_NOT_IN_SCOPE")
    by_date: dict[date | None, list[str]] = {}
    for employee_id in targets.employees:
        by_date.setdefault(None, []).append(employee_id)
    for employee_id, occurred_on in targets.work:
        # A malformed date is refused by validation later; scope is then checked on today's outlet.
        by_date.setdefault(_business_date(occurred_on), []).append(employee_id)
    for day, employee_ids in by_date.items():
        found = employee_outlets(employee_ids, day)
        for employee_id in employee_ids:
            if found.get(employee_id) not in caller.outlets:  # unknown and out of scope look the same
                where = "is not at an outlet you act for" if day is None else f"was not at an outlet you act for on {day.isoformat()}"
                raise PermissionDenied(f"employee {employee_id!r} {where}", reason="OUTLET_NOT_IN_SCOPE")


def _business_date(value: str) -> date | None:
    """The date an ISO YYYY-MM-DD string names (ASCII digits only), or None."""
    if not ISO_DAY.fullmatch(value):
        return None
    try:
        return date.fromisoformat(value)
    except ValueError:
        return None


@dataclass
class AccessInterceptor(grpc.ServerInterceptor):
    """Per call: authenticate, check the role, the request's size, the write rate, the outlet scope; then the servicer.

    The caller is in `auth.CALLER` while the servicer runs. Streams (reflection) are checked
    for caller and role only; the table keeps scoped roles and writes to unary RPCs.
    """

    authenticator: Authenticator
    employee_outlets: EmployeeOutlets
    limiter: WriteRateLimiter
    table: Mapping[str, Rule] = field(default_factory=lambda: RPC_TABLE)

    def intercept_service(self, continuation: Any, handler_call_details: grpc.HandlerCallDetails) -> Any:
        method = handler_call_details.method
        rule = self.table.get(method)
        handler = continuation(handler_call_details)
        if rule is not None and rule.public:
            return handler

        def check_stream(context: grpc.ServicerContext) -> Any:
            caller = self.authenticator.authenticate(context)
            note_caller(caller.subject)
            check_role(method, rule, caller)
            return acting_as(caller)  # held while the stream runs

        return wrapped(handler, lambda behaviour: self._guarded(method, rule, behaviour), check_stream)

    def _guarded(self, method: str, rule: Rule | None, behaviour: Behaviour) -> Behaviour:
        def handler(request: Any, context: grpc.ServicerContext) -> Any:
            caller, scoped = self._admit(method, rule, request, context)
            scope_token = OUTLET_SCOPE.set(caller.outlets if scoped else None)
            try:
                with acting_as(caller):
                    return behaviour(request, context)
            finally:
                OUTLET_SCOPE.reset(scope_token)

        return handler

    def _admit(self, method: str, rule: Rule | None, request: Any, context: grpc.ServicerContext) -> tuple[Caller, bool]:
        """The caller, once authenticated, allowed by role, within the write rate and within scope;
        and whether the call is scoped (only a scoped role allows it: the servicer then limits
        what the request reaches beyond its named targets, such as a corrected event's outlet)."""
        try:
            caller = self.authenticator.authenticate(context)
            note_caller(caller.subject)
        except Unauthenticated as refused:
            log.info("refused %s to an unauthenticated caller at %s: %s", method, context.peer(), refused.reason)
            raise
        try:
            allowing = check_role(method, rule, caller)
            assert rule is not None
            if rule.precheck is not None:
                rule.precheck(request)
            if rule.writes is not None:
                self.limiter.take(caller.subject, rule.writes(request))
            scoped = rule.targets is not None and allowing <= rule.scoped
            if scoped:
                assert rule.targets is not None
                check_scope(caller, rule.targets(request), self.employee_outlets)
        except PermissionDenied as refused:
            log.info("refused %s to %s: %s", method, caller.subject, refused.reason)
            raise
        return caller, scoped
