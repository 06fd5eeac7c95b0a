import datetime

from google.protobuf import timestamp_pb2 as _timestamp_pb2
from google.rpc import status_pb2 as _status_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class RecordWorkEventRequest(_message.Message):
    __slots__ = ("request_id", "employee_id", "kind", "quantity", "occurred_on", "occurred_at", "outlet_id", "recorded_by", "source", "attributes")
    class AttributesEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: str
        def __init__(self, key: _Optional[str] = ..., value: _Optional[str] = ...) -> None: ...
    REQUEST_ID_FIELD_NUMBER: _ClassVar[int]
    EMPLOYEE_ID_FIELD_NUMBER: _ClassVar[int]
    KIND_FIELD_NUMBER: _ClassVar[int]
    QUANTITY_FIELD_NUMBER: _ClassVar[int]
    OCCURRED_ON_FIELD_NUMBER: _ClassVar[int]
    OCCURRED_AT_FIELD_NUMBER: _ClassVar[int]
    OUTLET_ID_FIELD_NUMBER: _ClassVar[int]
    RECORDED_BY_FIELD_NUMBER: _ClassVar[int]
    SOURCE_FIELD_NUMBER: _ClassVar[int]
    ATTRIBUTES_FIELD_NUMBER: _ClassVar[int]
    request_id: str
    employee_id: str
    kind: str
    quantity: str
    occurred_on: str
    occurred_at: _timestamp_pb2.Timestamp
    outlet_id: str
    recorded_by: str
    source: str
    attributes: _containers.ScalarMap[str, str]
    def __init__(self, request_id: _Optional[str] = ..., employee_id: _Optional[str] = ..., kind: _Optional[str] = ..., quantity: _Optional[str] = ..., occurred_on: _Optional[str] = ..., occurred_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., outlet_id: _Optional[str] = ..., recorded_by: _Optional[str] = ..., source: _Optional[str] = ..., attributes: _Optional[_Mapping[str, str]] = ...) -> None: ...

class PointsLine(_message.Message):
    __slots__ = ("rule_id", "policy_version", "dimension", "points", "weighted_points")
    RULE_ID_FIELD_NUMBER: _ClassVar[int]
    POLICY_VERSION_FIELD_NUMBER: _ClassVar[int]
    DIMENSION_FIELD_NUMBER: _ClassVar[int]
    POINTS_FIELD_NUMBER: _ClassVar[int]
    WEIGHTED_POINTS_FIELD_NUMBER: _ClassVar[int]
    rule_id: str
    policy_version: str
    dimension: str
    points: str
    weighted_points: str
    def __init__(self, rule_id: _Optional[str] = ..., policy_version: _Optional[str] = ..., dimension: _Optional[str] = ..., points: _Optional[str] = ..., weighted_points: _Optional[str] = ...) -> None: ...

class RecordWorkEventResponse(_message.Message):
    __slots__ = ("event_id", "points", "lines", "position", "replayed", "period", "booked_period")
    EVENT_ID_FIELD_NUMBER: _ClassVar[int]
    POINTS_FIELD_NUMBER: _ClassVar[int]
    LINES_FIELD_NUMBER: _ClassVar[int]
    POSITION_FIELD_NUMBER: _ClassVar[int]
    REPLAYED_FIELD_NUMBER: _ClassVar[int]
    PERIOD_FIELD_NUMBER: _ClassVar[int]
    BOOKED_PERIOD_FIELD_NUMBER: _ClassVar[int]
    event_id: str
    points: str
    lines: _containers.RepeatedCompositeFieldContainer[PointsLine]
    position: int
    replayed: bool
    period: str
    booked_period: str
    def __init__(self, event_id: _Optional[str] = ..., points: _Optional[str] = ..., lines: _Optional[_Iterable[_Union[PointsLine, _Mapping]]] = ..., position: _Optional[int] = ..., replayed: _Optional[bool] = ..., period: _Optional[str] = ..., booked_period: _Optional[str] = ...) -> None: ...

class RecordWorkEventsRequest(_message.Message):
    __slots__ = ("requests",)
    REQUESTS_FIELD_NUMBER: _ClassVar[int]
    requests: _containers.RepeatedCompositeFieldContainer[RecordWorkEventRequest]
    def __init__(self, requests: _Optional[_Iterable[_Union[RecordWorkEventRequest, _Mapping]]] = ...) -> None: ...

class RecordWorkEventsResponse(_message.Message):
    __slots__ = ("results", "position")
    class Result(_message.Message):
        __slots__ = ("recorded", "error")
        RECORDED_FIELD_NUMBER: _ClassVar[int]
        ERROR_FIELD_NUMBER: _ClassVar[int]
        recorded: RecordWorkEventResponse
        error: _status_pb2.Status
        def __init__(self, recorded: _Optional[_Union[RecordWorkEventResponse, _Mapping]] = ..., error: _Optional[_Union[_status_pb2.Status, _Mapping]] = ...) -> None: ...
    RESULTS_FIELD_NUMBER: _ClassVar[int]
    POSITION_FIELD_NUMBER: _ClassVar[int]
    results: _containers.RepeatedCompositeFieldContainer[RecordWorkEventsResponse.Result]
    position: int
    def __init__(self, results: _Optional[_Iterable[_Union[RecordWorkEventsResponse.Result, _Mapping]]] = ..., position: _Optional[int] = ...) -> None: ...

class Amendment(_message.Message):
    __slots__ = ("kind", "quantity", "occurred_on")
    KIND_FIELD_NUMBER: _ClassVar[int]
    QUANTITY_FIELD_NUMBER: _ClassVar[int]
    OCCURRED_ON_FIELD_NUMBER: _ClassVar[int]
    kind: str
    quantity: str
    occurred_on: str
    def __init__(self, kind: _Optional[str] = ..., quantity: _Optional[str] = ..., occurred_on: _Optional[str] = ...) -> None: ...

class CorrectWorkEventRequest(_message.Message):
    __slots__ = ("request_id", "event_id", "reason", "corrected_by", "reverse", "amend", "employee_id")
    REQUEST_ID_FIELD_NUMBER: _ClassVar[int]
    EVENT_ID_FIELD_NUMBER: _ClassVar[int]
    REASON_FIELD_NUMBER: _ClassVar[int]
    CORRECTED_BY_FIELD_NUMBER: _ClassVar[int]
    REVERSE_FIELD_NUMBER: _ClassVar[int]
    AMEND_FIELD_NUMBER: _ClassVar[int]
    EMPLOYEE_ID_FIELD_NUMBER: _ClassVar[int]
    request_id: str
    event_id: str
    reason: str
    corrected_by: str
    reverse: bool
    amend: Amendment
    employee_id: str
    def __init__(self, request_id: _Optional[str] = ..., event_id: _Optional[str] = ..., reason: _Optional[str] = ..., corrected_by: _Optional[str] = ..., reverse: _Optional[bool] = ..., amend: _Optional[_Union[Amendment, _Mapping]] = ..., employee_id: _Optional[str] = ...) -> None: ...

class CorrectWorkEventResponse(_message.Message):
    __slots__ = ("event_id", "position", "replayed", "reversed", "lines", "period", "booked_period", "reversal_booked_period")
    EVENT_ID_FIELD_NUMBER: _ClassVar[int]
    POSITION_FIELD_NUMBER: _ClassVar[int]
    REPLAYED_FIELD_NUMBER: _ClassVar[int]
    REVERSED_FIELD_NUMBER: _ClassVar[int]
    LINES_FIELD_NUMBER: _ClassVar[int]
    PERIOD_FIELD_NUMBER: _ClassVar[int]
    BOOKED_PERIOD_FIELD_NUMBER: _ClassVar[int]
    REVERSAL_BOOKED_PERIOD_FIELD_NUMBER: _ClassVar[int]
    event_id: str
    position: int
    replayed: bool
    reversed: bool
    lines: _containers.RepeatedCompositeFieldContainer[PointsLine]
    period: str
    booked_period: str
    reversal_booked_period: str
    def __init__(self, event_id: _Optional[str] = ..., position: _Optional[int] = ..., replayed: _Optional[bool] = ..., reversed: _Optional[bool] = ..., lines: _Optional[_Iterable[_Union[PointsLine, _Mapping]]] = ..., period: _Optional[str] = ..., booked_period: _Optional[str] = ..., reversal_booked_period: _Optional[str] = ...) -> None: ...
