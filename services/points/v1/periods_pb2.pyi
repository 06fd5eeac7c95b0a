import datetime

from google.protobuf import timestamp_pb2 as _timestamp_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf.internal import enum_type_wrapper as _enum_type_wrapper
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class PeriodState(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    PERIOD_STATE_UNSPECIFIED: _ClassVar[PeriodState]
    PERIOD_STATE_OPEN: _ClassVar[PeriodState]
    PERIOD_STATE_CLOSED: _ClassVar[PeriodState]
PERIOD_STATE_UNSPECIFIED: PeriodState
PERIOD_STATE_OPEN: PeriodState
PERIOD_STATE_CLOSED: PeriodState

class PayPeriod(_message.Message):
    __slots__ = ("period", "state", "close_time", "closed_by", "reason", "close_position")
    PERIOD_FIELD_NUMBER: _ClassVar[int]
    STATE_FIELD_NUMBER: _ClassVar[int]
    CLOSE_TIME_FIELD_NUMBER: _ClassVar[int]
    CLOSED_BY_FIELD_NUMBER: _ClassVar[int]
    REASON_FIELD_NUMBER: _ClassVar[int]
    CLOSE_POSITION_FIELD_NUMBER: _ClassVar[int]
    period: str
    state: PeriodState
    close_time: _timestamp_pb2.Timestamp
    closed_by: str
    reason: str
    close_position: int
    def __init__(self, period: _Optional[str] = ..., state: _Optional[_Union[PeriodState, str]] = ..., close_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., closed_by: _Optional[str] = ..., reason: _Optional[str] = ..., close_position: _Optional[int] = ...) -> None: ...

class ClosePeriodRequest(_message.Message):
    __slots__ = ("period", "closed_by", "reason")
    PERIOD_FIELD_NUMBER: _ClassVar[int]
    CLOSED_BY_FIELD_NUMBER: _ClassVar[int]
    REASON_FIELD_NUMBER: _ClassVar[int]
    period: str
    closed_by: str
    reason: str
    def __init__(self, period: _Optional[str] = ..., closed_by: _Optional[str] = ..., reason: _Optional[str] = ...) -> None: ...

class ClosePeriodResponse(_message.Message):
    __slots__ = ("period",)
    PERIOD_FIELD_NUMBER: _ClassVar[int]
    period: PayPeriod
    def __init__(self, period: _Optional[_Union[PayPeriod, _Mapping]] = ...) -> None: ...

class GetPeriodRequest(_message.Message):
    __slots__ = ("period",)
    PERIOD_FIELD_NUMBER: _ClassVar[int]
    period: str
    def __init__(self, period: _Optional[str] = ...) -> None: ...

class GetPeriodResponse(_message.Message):
    __slots__ = ("period",)
    PERIOD_FIELD_NUMBER: _ClassVar[int]
    period: PayPeriod
    def __init__(self, period: _Optional[_Union[PayPeriod, _Mapping]] = ...) -> None: ...

class ListPeriodsRequest(_message.Message):
    __slots__ = ("page_size", "page_token")
    PAGE_SIZE_FIELD_NUMBER: _ClassVar[int]
    PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    page_size: int
    page_token: str
    def __init__(self, page_size: _Optional[int] = ..., page_token: _Optional[str] = ...) -> None: ...

class ListPeriodsResponse(_message.Message):
    __slots__ = ("periods", "next_page_token")
    PERIODS_FIELD_NUMBER: _ClassVar[int]
    NEXT_PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    periods: _containers.RepeatedCompositeFieldContainer[PayPeriod]
    next_page_token: str
    def __init__(self, periods: _Optional[_Iterable[_Union[PayPeriod, _Mapping]]] = ..., next_page_token: _Optional[str] = ...) -> None: ...
