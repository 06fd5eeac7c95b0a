"""The gRPC servicers: proto -> application call -> proto, nothing else. Errors are raised, not handled, here."""

from __future__ import annotations

from collections.abc import Iterator

import grpc

from points.api import convert
from points.api.auth import acting_caller, current_caller, outlet_scope, recorded_by
from points.application.balances import BalanceQueries
from points.application.group_commit import GroupCommitter
from points.application.points import PointsApplication, WorkFields
from points.application.statements import Statements
from points.api.errors import status_of
from points.application.results import WorkRecorded
from points.v1 import (
    balances_pb2,
    balances_pb2_grpc,
    directory_pb2,
    directory_pb2_grpc,
    work_events_pb2,
    work_events_pb2_grpc,
)

DEADLINE_MARGIN = 0.05  # seconds kept back to answer before the caller's deadline


def remaining_time(context: grpc.ServicerContext) -> float | None:
    remaining = context.time_remaining()
    return None if remaining is None else max(0.0, remaining - DEADLINE_MARGIN)


class DirectoryServicer(directory_pb2_grpc.DirectoryServiceServicer):
    def __init__(self, app: PointsApplication) -> None:
        self.app = app

    def RegisterOutlet(self, request: directory_pb2.RegisterOutletRequest, context: grpc.ServicerContext) -> directory_pb2.RegisterOutletResponse:
        """Registers an outlet (idempotent on its id and content)."""
        result = self.app.register_outlet(
            outlet_id=request.outlet_id, outlet_class=convert.outlet_class_name(request.outlet_class), region=request.region
        )
        return directory_pb2.RegisterOutletResponse(
            outlet=convert.outlet_message(result.outlet), position=result.position, replayed=result.replayed
        )

    def GetOutlet(self, request: directory_pb2.GetOutletRequest, context: grpc.ServicerContext) -> directory_pb2.GetOutletResponse:
        """Returns an outlet (read from the event store itself, so always current)."""
        return directory_pb2.GetOutletResponse(outlet=convert.outlet_message(self.app.get_outlet(request.outlet_id)))

    def RegisterEmployee(self, request: directory_pb2.RegisterEmployeeRequest, context: grpc.ServicerContext) -> directory_pb2.RegisterEmployeeResponse:
        """Registers an employee with a first assignment (idempotent on id and content)."""
        result = self.app.register_employee(
            employee_id=request.employee_id,
            role=convert.role_name(request.role),
            outlet_id=request.outlet_id,
            effective_from=request.effective_from,
            name=request.name,
        )
        return directory_pb2.RegisterEmployeeResponse(
            employee=convert.employee_message(result.employee), position=result.position, replayed=result.replayed
        )

    def TransferEmployee(self, request: directory_pb2.TransferEmployeeRequest, context: grpc.ServicerContext) -> directory_pb2.TransferEmployeeResponse:
        """Moves an employee to a new role and/or outlet from a date (idempotent on request_id)."""
        result = self.app.transfer_employee(
            request_id=request.request_id,
            employee_id=request.employee_id,
            role=convert.role_name(request.role),
            outlet_id=request.outlet_id,
            effective_from=request.effective_from,
        )
        return directory_pb2.TransferEmployeeResponse(
            employee=convert.employee_message(result.employee), position=result.position, replayed=result.replayed
        )

    def GetEmployee(self, request: directory_pb2.GetEmployeeRequest, context: grpc.ServicerContext) -> directory_pb2.GetEmployeeResponse:
        """Returns an employee's current assignment and history (always current)."""
        return directory_pb2.GetEmployeeResponse(employee=convert.employee_message(self.app.get_employee(request.employee_id)))

    def RenameEmployee(self, request: directory_pb2.RenameEmployeeRequest, context: grpc.ServicerContext) -> directory_pb2.RenameEmployeeResponse:
        """Gives an employee the name people read (idempotent on the name)."""
        result = self.app.rename_employee(employee_id=request.employee_id, name=request.name)
        return directory_pb2.RenameEmployeeResponse(
            employee=convert.employee_message(result.employee), position=result.position, replayed=result.replayed
        )


def work_fields(request: work_events_pb2.RecordWorkEventRequest) -> WorkFields:
    attributes = request.attributes
    return WorkFields(  # positional, in WorkFields' field order (cheaper per item of a batch)
        request.request_id,
        request.employee_id,
        request.kind,
        request.quantity,
        request.occurred_on,
        (request.occurred_at.seconds, request.occurred_at.nanos) if request.HasField("occurred_at") else None,
        request.outlet_id,
        recorded_by(request.recorded_by),  # the authenticated caller, when there is one
        request.source,
        dict(attributes) if attributes else {},  # copying an empty map costs more than testing it
        caller.subject if (caller := current_caller()) is not None else "",  # request_ids are the caller's own
    )


class WorkEventServicer(work_events_pb2_grpc.WorkEventServiceServicer):
    def __init__(self, app: PointsApplication, committer: GroupCommitter | None = None) -> None:
        self.app = app
        self.committer = committer

    def RecordWorkEvent(self, request: work_events_pb2.RecordWorkEventRequest, context: grpc.ServicerContext) -> work_events_pb2.RecordWorkEventResponse:
        """Records and scores one work event (committed together with others arriving at the same time)."""
        fields = work_fields(request)
        if self.committer is None:
            return convert.recorded_message(self.app.record_work_event(fields))
        return convert.recorded_message(self.committer.record(fields, remaining_time(context)))

    def RecordWorkEvents(self, request: work_events_pb2.RecordWorkEventsRequest, context: grpc.ServicerContext) -> work_events_pb2.RecordWorkEventsResponse:
        """Records many work events, each with its own result."""
        outcomes = self.app.record_work_events([work_fields(r) for r in request.requests])
        response = work_events_pb2.RecordWorkEventsResponse()
        add = response.results.add
        line_messages: dict[int, work_events_pb2.PointsLine] = {}  # see convert.fill_recorded
        position = 0
        for outcome in outcomes:
            if isinstance(outcome, WorkRecorded):
                convert.fill_recorded(add().recorded, outcome, line_messages)  # in place: no message built, then copied
                if outcome.position > position:
                    position = outcome.position
            else:
                add(error=status_of(outcome))
        response.position = position
        return response

    def CorrectWorkEvent(self, request: work_events_pb2.CorrectWorkEventRequest, context: grpc.ServicerContext) -> work_events_pb2.CorrectWorkEventResponse:
        """Reverses or amends a recorded work event; the original stays."""
        corrected = self.app.correct_work_event(
            request_id=request.request_id,
            event_id=request.event_id,
            employee_id=request.employee_id,
            reason=request.reason,
            corrected_by=acting_caller(request.corrected_by, "corrected_by"),
            reverse=request.reverse,
            kind=request.amend.kind,
            quantity=request.amend.quantity,
            occurred_on=request.amend.occurred_on,
            outlets=outlet_scope(),
        )
        return work_events_pb2.CorrectWorkEventResponse(
            event_id=corrected.event_id,
            position=corrected.position,
            replayed=corrected.replayed,
            reversed=corrected.reversed,
            lines=[convert.points_line_message(line) for line in corrected.lines],
            period=corrected.period,
            booked_period=corrected.booked_period,
            reversal_booked_period=corrected.reversal_booked_period,
        )


class BalanceServicer(balances_pb2_grpc.BalanceServiceServicer):
    def __init__(self, queries: BalanceQueries, statements: Statements) -> None:
        self.queries = queries
        self.statements = statements

    def GetBalance(self, request: balances_pb2.GetBalanceRequest, context: grpc.ServicerContext) -> balances_pb2.GetBalanceResponse:
        """Returns an employee's points for a period, once the view has reached min_position."""
        balance = self.queries.get_balance(
            employee_id=request.employee_id,
            period=request.period,
            min_position=request.min_position,
            timeout=remaining_time(context),
            as_known_at=convert.instant_or_none(request, "as_known_at"),
        )
        return balances_pb2.GetBalanceResponse(balance=convert.balance_message(balance), position=balance.position)

    def ListStatements(self, request: balances_pb2.ListStatementsRequest, context: grpc.ServicerContext) -> balances_pb2.ListStatementsResponse:
        """Lists a pay month's payroll statements, a page at a time."""
        statements, token, position = self.statements.list_statements(
            period=request.period,
            page_size=request.page_size,
            page_token=request.page_token,
            min_position=request.min_position,
            timeout=remaining_time(context),
        )
        return balances_pb2.ListStatementsResponse(
            statements=[convert.statement_message(s) for s in statements], next_page_token=token, position=position
        )

    def WatchLedger(self, request: balances_pb2.WatchLedgerRequest, context: grpc.ServicerContext) -> Iterator[balances_pb2.WatchLedgerResponse]:
        """Streams ledger entries from a position, then as they are booked."""
        entries = self.queries.watch(request.from_position, context.is_active)
        return (convert.ledger_entry_message(entry) for entry in entries)

    def ExplainBalance(self, request: balances_pb2.ExplainBalanceRequest, context: grpc.ServicerContext) -> balances_pb2.ExplainBalanceResponse:
        """Lists the booked lines behind a balance, a page at a time."""
        explained = self.queries.explain_balance(
            employee_id=request.employee_id,
            period=request.period,
            min_position=request.min_position,
            page_size=request.page_size,
            page_token=request.page_token,
            timeout=remaining_time(context),
        )
        return balances_pb2.ExplainBalanceResponse(
            balance=convert.balance_message(explained.balance),
            lines=[convert.explained_line_message(line) for line in explained.lines],
            next_page_token=explained.next_page_token,
            position=explained.balance.position,
        )
