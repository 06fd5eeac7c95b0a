import datetime

from google.protobuf import timestamp_pb2 as _timestamp_pb2
from points_client.v1 import balances_pb2 as _balances_pb2
from points_client.v1 import directory_pb2 as _directory_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class ListWorkEventsRequest(_message.Message):
    __slots__ = ("employee_id", "outlet_id", "recorded_by", "kind", "occurred_from", "occurred_to", "recorded_from", "recorded_to", "newest_first", "page_size", "page_token", "min_position")
    EMPLOYEE_ID_FIELD_NUMBER: _ClassVar[int]
    OUTLET_ID_FIELD_NUMBER: _ClassVar[int]
    RECORDED_BY_FIELD_NUMBER: _ClassVar[int]
    KIND_FIELD_NUMBER: _ClassVar[int]
    OCCURRED_FROM_FIELD_NUMBER: _ClassVar[int]
    OCCURRED_TO_FIELD_NUMBER: _ClassVar[int]
    RECORDED_FROM_FIELD_NUMBER: _ClassVar[int]
    RECORDED_TO_FIELD_NUMBER: _ClassVar[int]
    NEWEST_FIRST_FIELD_NUMBER: _ClassVar[int]
    PAGE_SIZE_FIELD_NUMBER: _ClassVar[int]
    PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    MIN_POSITION_FIELD_NUMBER: _ClassVar[int]
    employee_id: str
    outlet_id: str
    recorded_by: str
    kind: str
    occurred_from: str
    occurred_to: str
    recorded_from: _timestamp_pb2.Timestamp
    recorded_to: _timestamp_pb2.Timestamp
    newest_first: bool
    page_size: int
    page_token: str
    min_position: int
    def __init__(self, employee_id: _Optional[str] = ..., outlet_id: _Optional[str] = ..., recorded_by: _Optional[str] = ..., kind: _Optional[str] = ..., occurred_from: _Optional[str] = ..., occurred_to: _Optional[str] = ..., recorded_from: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., recorded_to: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., newest_first: _Optional[bool] = ..., page_size: _Optional[int] = ..., page_token: _Optional[str] = ..., min_position: _Optional[int] = ...) -> None: ...

class Correction(_message.Message):
    __slots__ = ("position", "action", "request_id", "reason", "corrected_by", "recorded_time", "kind", "quantity", "occurred_on")
    POSITION_FIELD_NUMBER: _ClassVar[int]
    ACTION_FIELD_NUMBER: _ClassVar[int]
    REQUEST_ID_FIELD_NUMBER: _ClassVar[int]
    REASON_FIELD_NUMBER: _ClassVar[int]
    CORRECTED_BY_FIELD_NUMBER: _ClassVar[int]
    RECORDED_TIME_FIELD_NUMBER: _ClassVar[int]
    KIND_FIELD_NUMBER: _ClassVar[int]
    QUANTITY_FIELD_NUMBER: _ClassVar[int]
    OCCURRED_ON_FIELD_NUMBER: _ClassVar[int]
    position: int
    action: str
    request_id: str
    reason: str
    corrected_by: str
    recorded_time: _timestamp_pb2.Timestamp
    kind: str
    quantity: str
    occurred_on: str
    def __init__(self, position: _Optional[int] = ..., action: _Optional[str] = ..., request_id: _Optional[str] = ..., reason: _Optional[str] = ..., corrected_by: _Optional[str] = ..., recorded_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., kind: _Optional[str] = ..., quantity: _Optional[str] = ..., occurred_on: _Optional[str] = ...) -> None: ...

class AuditedWorkEvent(_message.Message):
    __slots__ = ("event_id", "position", "employee_id", "outlet_id", "role", "kind", "quantity", "occurred_on", "occurred_time", "recorded_time", "recorded_by", "source", "request_id", "attributes", "status", "lines", "corrections")
    class AttributesEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: str
        def __init__(self, key: _Optional[str] = ..., value: _Optional[str] = ...) -> None: ...
    EVENT_ID_FIELD_NUMBER: _ClassVar[int]
    POSITION_FIELD_NUMBER: _ClassVar[int]
    EMPLOYEE_ID_FIELD_NUMBER: _ClassVar[int]
    OUTLET_ID_FIELD_NUMBER: _ClassVar[int]
    ROLE_FIELD_NUMBER: _ClassVar[int]
    KIND_FIELD_NUMBER: _ClassVar[int]
    QUANTITY_FIELD_NUMBER: _ClassVar[int]
    OCCURRED_ON_FIELD_NUMBER: _ClassVar[int]
    OCCURRED_TIME_FIELD_NUMBER: _ClassVar[int]
    RECORDED_TIME_FIELD_NUMBER: _ClassVar[int]
    RECORDED_BY_FIELD_NUMBER: _ClassVar[int]
    SOURCE_FIELD_NUMBER: _ClassVar[int]
    REQUEST_ID_FIELD_NUMBER: _ClassVar[int]
    ATTRIBUTES_FIELD_NUMBER: _ClassVar[int]
    STATUS_FIELD_NUMBER: _ClassVar[int]
    LINES_FIELD_NUMBER: _ClassVar[int]
    CORRECTIONS_FIELD_NUMBER: _ClassVar[int]
    event_id: str
    position: int
    employee_id: str
    outlet_id: str
    role: _directory_pb2.Role
    kind: str
    quantity: str
    occurred_on: str
    occurred_time: _timestamp_pb2.Timestamp
    recorded_time: _timestamp_pb2.Timestamp
    recorded_by: str
    source: str
    request_id: str
    attributes: _containers.ScalarMap[str, str]
    status: str
    lines: _containers.RepeatedCompositeFieldContainer[_balances_pb2.ExplainedLine]
    corrections: _containers.RepeatedCompositeFieldContainer[Correction]
    def __init__(self, event_id: _Optional[str] = ..., position: _Optional[int] = ..., employee_id: _Optional[str] = ..., outlet_id: _Optional[str] = ..., role: _Optional[_Union[_directory_pb2.Role, str]] = ..., kind: _Optional[str] = ..., quantity: _Optional[str] = ..., occurred_on: _Optional[str] = ..., occurred_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., recorded_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., recorded_by: _Optional[str] = ..., source: _Optional[str] = ..., request_id: _Optional[str] = ..., attributes: _Optional[_Mapping[str, str]] = ..., status: _Optional[str] = ..., lines: _Optional[_Iterable[_Union[_balances_pb2.ExplainedLine, _Mapping]]] = ..., corrections: _Optional[_Iterable[_Union[Correction, _Mapping]]] = ...) -> None: ...

class ListWorkEventsResponse(_message.Message):
    __slots__ = ("work_events", "next_page_token")
    WORK_EVENTS_FIELD_NUMBER: _ClassVar[int]
    NEXT_PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    work_events: _containers.RepeatedCompositeFieldContainer[AuditedWorkEvent]
    next_page_token: str
    def __init__(self, work_events: _Optional[_Iterable[_Union[AuditedWorkEvent, _Mapping]]] = ..., next_page_token: _Optional[str] = ...) -> None: ...

class GetWorkEventRequest(_message.Message):
    __slots__ = ("event_id", "min_position")
    EVENT_ID_FIELD_NUMBER: _ClassVar[int]
    MIN_POSITION_FIELD_NUMBER: _ClassVar[int]
    event_id: str
    min_position: int
    def __init__(self, event_id: _Optional[str] = ..., min_position: _Optional[int] = ...) -> None: ...

class GetWorkEventResponse(_message.Message):
    __slots__ = ("work_event",)
    WORK_EVENT_FIELD_NUMBER: _ClassVar[int]
    work_event: AuditedWorkEvent
    def __init__(self, work_event: _Optional[_Union[AuditedWorkEvent, _Mapping]] = ...) -> None: ...

class VerifyLedgerRequest(_message.Message):
    __slots__ = ("from_position", "to_position")
    FROM_POSITION_FIELD_NUMBER: _ClassVar[int]
    TO_POSITION_FIELD_NUMBER: _ClassVar[int]
    from_position: int
    to_position: int
    def __init__(self, from_position: _Optional[int] = ..., to_position: _Optional[int] = ...) -> None: ...

class VerifyLedgerResponse(_message.Message):
    __slots__ = ("verified", "checked", "from_position", "to_position", "head_hash", "first_bad_position", "problem")
    VERIFIED_FIELD_NUMBER: _ClassVar[int]
    CHECKED_FIELD_NUMBER: _ClassVar[int]
    FROM_POSITION_FIELD_NUMBER: _ClassVar[int]
    TO_POSITION_FIELD_NUMBER: _ClassVar[int]
    HEAD_HASH_FIELD_NUMBER: _ClassVar[int]
    FIRST_BAD_POSITION_FIELD_NUMBER: _ClassVar[int]
    PROBLEM_FIELD_NUMBER: _ClassVar[int]
    verified: bool
    checked: int
    from_position: int
    to_position: int
    head_hash: str
    first_bad_position: int
    problem: str
    def __init__(self, verified: _Optional[bool] = ..., checked: _Optional[int] = ..., from_position: _Optional[int] = ..., to_position: _Optional[int] = ..., head_hash: _Optional[str] = ..., first_bad_position: _Optional[int] = ..., problem: _Optional[str] = ...) -> None: ...

class GetLedgerHeadRequest(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class GetLedgerHeadResponse(_message.Message):
    __slots__ = ("position", "hash")
    POSITION_FIELD_NUMBER: _ClassVar[int]
    HASH_FIELD_NUMBER: _ClassVar[int]
    position: int
    hash: str
    def __init__(self, position: _Optional[int] = ..., hash: _Optional[str] = ...) -> None: ...

class ListAccessRecordsRequest(_message.Message):
    __slots__ = ("caller", "method", "decision", "newest_first", "page_size", "page_token")
    CALLER_FIELD_NUMBER: _ClassVar[int]
    METHOD_FIELD_NUMBER: _ClassVar[int]
    DECISION_FIELD_NUMBER: _ClassVar[int]
    NEWEST_FIRST_FIELD_NUMBER: _ClassVar[int]
    PAGE_SIZE_FIELD_NUMBER: _ClassVar[int]
    PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    caller: str
    method: str
    decision: str
    newest_first: bool
    page_size: int
    page_token: str
    def __init__(self, caller: _Optional[str] = ..., method: _Optional[str] = ..., decision: _Optional[str] = ..., newest_first: _Optional[bool] = ..., page_size: _Optional[int] = ..., page_token: _Optional[str] = ...) -> None: ...

class AccessRecord(_message.Message):
    __slots__ = ("id", "time", "caller", "method", "employee_id", "outlet_id", "period", "decision", "code")
    ID_FIELD_NUMBER: _ClassVar[int]
    TIME_FIELD_NUMBER: _ClassVar[int]
    CALLER_FIELD_NUMBER: _ClassVar[int]
    METHOD_FIELD_NUMBER: _ClassVar[int]
    EMPLOYEE_ID_FIELD_NUMBER: _ClassVar[int]
    OUTLET_ID_FIELD_NUMBER: _ClassVar[int]
    PERIOD_FIELD_NUMBER: _ClassVar[int]
    DECISION_FIELD_NUMBER: _ClassVar[int]
    CODE_FIELD_NUMBER: _ClassVar[int]
    id: int
    time: _timestamp_pb2.Timestamp
    caller: str
    method: str
    employee_id: str
    outlet_id: str
    period: str
    decision: str
    code: str
    def __init__(self, id: _Optional[int] = ..., time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., caller: _Optional[str] = ..., method: _Optional[str] = ..., employee_id: _Optional[str] = ..., outlet_id: _Optional[str] = ..., period: _Optional[str] = ..., decision: _Optional[str] = ..., code: _Optional[str] = ...) -> None: ...

class ListAccessRecordsResponse(_message.Message):
    __slots__ = ("records", "next_page_token")
    RECORDS_FIELD_NUMBER: _ClassVar[int]
    NEXT_PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    records: _containers.RepeatedCompositeFieldContainer[AccessRecord]
    next_page_token: str
    def __init__(self, records: _Optional[_Iterable[_Union[AccessRecord, _Mapping]]] = ..., next_page_token: _Optional[str] = ...) -> None: ...
