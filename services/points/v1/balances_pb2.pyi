from google.protobuf.internal import containers as _containers
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class GetBalanceRequest(_message.Message):
    __slots__ = ("employee_id", "period", "min_position")
    EMPLOYEE_ID_FIELD_NUMBER: _ClassVar[int]
    PERIOD_FIELD_NUMBER: _ClassVar[int]
    MIN_POSITION_FIELD_NUMBER: _ClassVar[int]
    employee_id: str
    period: str
    min_position: int
    def __init__(self, employee_id: _Optional[str] = ..., period: _Optional[str] = ..., min_position: _Optional[int] = ...) -> None: ...

class DimensionPoints(_message.Message):
    __slots__ = ("dimension", "points", "weighted_points")
    DIMENSION_FIELD_NUMBER: _ClassVar[int]
    POINTS_FIELD_NUMBER: _ClassVar[int]
    WEIGHTED_POINTS_FIELD_NUMBER: _ClassVar[int]
    dimension: str
    points: str
    weighted_points: str
    def __init__(self, dimension: _Optional[str] = ..., points: _Optional[str] = ..., weighted_points: _Optional[str] = ...) -> None: ...

class Balance(_message.Message):
    __slots__ = ("employee_id", "period", "total", "dimensions", "event_count")
    EMPLOYEE_ID_FIELD_NUMBER: _ClassVar[int]
    PERIOD_FIELD_NUMBER: _ClassVar[int]
    TOTAL_FIELD_NUMBER: _ClassVar[int]
    DIMENSIONS_FIELD_NUMBER: _ClassVar[int]
    EVENT_COUNT_FIELD_NUMBER: _ClassVar[int]
    employee_id: str
    period: str
    total: str
    dimensions: _containers.RepeatedCompositeFieldContainer[DimensionPoints]
    event_count: int
    def __init__(self, employee_id: _Optional[str] = ..., period: _Optional[str] = ..., total: _Optional[str] = ..., dimensions: _Optional[_Iterable[_Union[DimensionPoints, _Mapping]]] = ..., event_count: _Optional[int] = ...) -> None: ...

class GetBalanceResponse(_message.Message):
    __slots__ = ("balance", "position")
    BALANCE_FIELD_NUMBER: _ClassVar[int]
    POSITION_FIELD_NUMBER: _ClassVar[int]
    balance: Balance
    position: int
    def __init__(self, balance: _Optional[_Union[Balance, _Mapping]] = ..., position: _Optional[int] = ...) -> None: ...
