"""The AuditService servicer: proto -> application -> proto."""

from __future__ import annotations

import json
from collections.abc import Sequence

import grpc

from points.api.convert import explained_line_message, role_value, text_of_timestamp, timestamp_of_text
from points.application.audit import AuditQueries
from points.projections.audit_reads import AuditRow
from points.v1 import audit_pb2, audit_pb2_grpc


def work_event_message(row: AuditRow) -> audit_pb2.AuditedWorkEvent:
    return audit_pb2.AuditedWorkEvent(
        event_id=row.event_id,
        position=row.position,
        employee_id=row.employee_id,
        outlet_id=row.outlet_id,
        role=role_value(row.role),
        kind=row.kind,
        quantity=row.quantity,
        occurred_on=row.occurred_on,
        occurred_time=timestamp_of_text(row.occurred_at),
        recorded_time=timestamp_of_text(row.recorded_at),
        recorded_by=row.recorded_by,
        source=row.source,
        request_id=row.request_id,
        attributes=json.loads(row.attributes),
        status=row.status,
        lines=[explained_line_message(line) for line in row.lines],
        corrections=[_correction(c) for c in row.corrections],
    )


def _correction(c: Sequence[object]) -> audit_pb2.Correction:
    position, _, action, request_id, reason, by, at, kind, quantity, occurred_on = c
    return audit_pb2.Correction(
        position=int(position),  # type: ignore[call-overload]
        action=str(action),
        request_id=str(request_id),
        reason=str(reason),
        corrected_by=str(by),
        recorded_time=timestamp_of_text(str(at)),
        kind=str(kind),
        quantity=str(quantity),
        occurred_on=str(occurred_on),
    )


class AuditServicer(audit_pb2_grpc.AuditServiceServicer):
    def __init__(self, queries: AuditQueries, remaining_time: object) -> None:
        self.queries = queries
        self.remaining_time = remaining_time

    def ListWorkEvents(self, request: audit_pb2.ListWorkEventsRequest, context: grpc.ServicerContext) -> audit_pb2.ListWorkEventsResponse:
        """Work events with their history, filtered and paginated."""
        filters = {name: getattr(request, name) for name in ("employee_id", "outlet_id", "recorded_by", "kind", "occurred_from", "occurred_to")}
        filters.update({name: text_of_timestamp(request, name) for name in ("recorded_from", "recorded_to")})
        rows, token = self.queries.list_work_events(
            filters=filters,
            newest_first=request.newest_first,
            page_size=request.page_size,
            page_token=request.page_token,
            min_position=request.min_position,
            timeout=self.remaining_time(context),  # type: ignore[operator]
        )
        return audit_pb2.ListWorkEventsResponse(work_events=[work_event_message(r) for r in rows], next_page_token=token)

    def GetWorkEvent(self, request: audit_pb2.GetWorkEventRequest, context: grpc.ServicerContext) -> audit_pb2.GetWorkEventResponse:
        """One work event with its history."""
        row = self.queries.get_work_event(
            event_id=request.event_id, min_position=request.min_position, timeout=self.remaining_time(context)  # type: ignore[operator]
        )
        return audit_pb2.GetWorkEventResponse(work_event=work_event_message(row))

    def VerifyLedger(self, request: audit_pb2.VerifyLedgerRequest, context: grpc.ServicerContext) -> audit_pb2.VerifyLedgerResponse:
        """Recomputes the hash chain over a range."""
        result = self.queries.verify_ledger(from_position=request.from_position, to_position=request.to_position)
        return audit_pb2.VerifyLedgerResponse(
            verified=result.verified,
            checked=result.checked,
            from_position=result.from_position,
            to_position=result.to_position,
            head_hash=result.head_hash.hex() if result.verified else "",
            first_bad_position=result.first_bad_position,
            problem=result.problem,
        )

    def GetLedgerHead(self, request: audit_pb2.GetLedgerHeadRequest, context: grpc.ServicerContext) -> audit_pb2.GetLedgerHeadResponse:
        """The chain's current position and hash."""
        head = self.queries.ledger_head()
        return audit_pb2.GetLedgerHeadResponse(position=head.position, hash=head.hash.hex())

    def ListAccessRecords(self, request: audit_pb2.ListAccessRecordsRequest, context: grpc.ServicerContext) -> audit_pb2.ListAccessRecordsResponse:
        """One record per call, allowed or denied."""
        records, token = self.queries.list_access_records(
            caller=request.caller,
            method=request.method,
            decision=request.decision,
            newest_first=request.newest_first,
            page_size=request.page_size,
            page_token=request.page_token,
        )
        return audit_pb2.ListAccessRecordsResponse(
            records=[
                audit_pb2.AccessRecord(
                    id=r.id, time=timestamp_of_text(r.at), caller=r.caller, method=r.method, employee_id=r.employee_id,
                    outlet_id=r.outlet_id, period=r.period, decision=r.decision, code=r.code,
                )  # fmt: skip
                for r in records
            ],
            next_page_token=token,
        )
