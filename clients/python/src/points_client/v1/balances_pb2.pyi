import datetime

from google.protobuf import timestamp_pb2 as _timestamp_pb2
from points_client.v1 import directory_pb2 as _directory_pb2
from points_client.v1 import policies_pb2 as _policies_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class GetBalanceRequest(_message.Message):
    __slots__ = ("employee_id", "period", "min_position", "as_known_at")
    EMPLOYEE_ID_FIELD_NUMBER: _ClassVar[int]
    PERIOD_FIELD_NUMBER: _ClassVar[int]
    MIN_POSITION_FIELD_NUMBER: _ClassVar[int]
    AS_KNOWN_AT_FIELD_NUMBER: _ClassVar[int]
    employee_id: str
    period: str
    min_position: int
    as_known_at: _timestamp_pb2.Timestamp
    def __init__(self, employee_id: _Optional[str] = ..., period: _Optional[str] = ..., min_position: _Optional[int] = ..., as_known_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ...) -> None: ...

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

class ExplainBalanceRequest(_message.Message):
    __slots__ = ("employee_id", "period", "min_position", "page_size", "page_token")
    EMPLOYEE_ID_FIELD_NUMBER: _ClassVar[int]
    PERIOD_FIELD_NUMBER: _ClassVar[int]
    MIN_POSITION_FIELD_NUMBER: _ClassVar[int]
    PAGE_SIZE_FIELD_NUMBER: _ClassVar[int]
    PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    employee_id: str
    period: str
    min_position: int
    page_size: int
    page_token: str
    def __init__(self, employee_id: _Optional[str] = ..., period: _Optional[str] = ..., min_position: _Optional[int] = ..., page_size: _Optional[int] = ..., page_token: _Optional[str] = ...) -> None: ...

class ExplainedLine(_message.Message):
    __slots__ = ("event_id", "position", "occurred_on", "kind", "quantity", "rule_id", "policy_version", "dimension", "multiplier", "points_before_cap", "cap_applied", "points", "weighted_points", "entry", "booked_period", "employee_id", "outlet_id", "role", "outlet_class", "point_value", "period")
    EVENT_ID_FIELD_NUMBER: _ClassVar[int]
    POSITION_FIELD_NUMBER: _ClassVar[int]
    OCCURRED_ON_FIELD_NUMBER: _ClassVar[int]
    KIND_FIELD_NUMBER: _ClassVar[int]
    QUANTITY_FIELD_NUMBER: _ClassVar[int]
    RULE_ID_FIELD_NUMBER: _ClassVar[int]
    POLICY_VERSION_FIELD_NUMBER: _ClassVar[int]
    DIMENSION_FIELD_NUMBER: _ClassVar[int]
    MULTIPLIER_FIELD_NUMBER: _ClassVar[int]
    POINTS_BEFORE_CAP_FIELD_NUMBER: _ClassVar[int]
    CAP_APPLIED_FIELD_NUMBER: _ClassVar[int]
    POINTS_FIELD_NUMBER: _ClassVar[int]
    WEIGHTED_POINTS_FIELD_NUMBER: _ClassVar[int]
    ENTRY_FIELD_NUMBER: _ClassVar[int]
    BOOKED_PERIOD_FIELD_NUMBER: _ClassVar[int]
    EMPLOYEE_ID_FIELD_NUMBER: _ClassVar[int]
    OUTLET_ID_FIELD_NUMBER: _ClassVar[int]
    ROLE_FIELD_NUMBER: _ClassVar[int]
    OUTLET_CLASS_FIELD_NUMBER: _ClassVar[int]
    POINT_VALUE_FIELD_NUMBER: _ClassVar[int]
    PERIOD_FIELD_NUMBER: _ClassVar[int]
    event_id: str
    position: int
    occurred_on: str
    kind: str
    quantity: str
    rule_id: str
    policy_version: str
    dimension: str
    multiplier: str
    points_before_cap: str
    cap_applied: str
    points: str
    weighted_points: str
    entry: str
    booked_period: str
    employee_id: str
    outlet_id: str
    role: _directory_pb2.Role
    outlet_class: _directory_pb2.OutletClass
    point_value: str
    period: str
    def __init__(self, event_id: _Optional[str] = ..., position: _Optional[int] = ..., occurred_on: _Optional[str] = ..., kind: _Optional[str] = ..., quantity: _Optional[str] = ..., rule_id: _Optional[str] = ..., policy_version: _Optional[str] = ..., dimension: _Optional[str] = ..., multiplier: _Optional[str] = ..., points_before_cap: _Optional[str] = ..., cap_applied: _Optional[str] = ..., points: _Optional[str] = ..., weighted_points: _Optional[str] = ..., entry: _Optional[str] = ..., booked_period: _Optional[str] = ..., employee_id: _Optional[str] = ..., outlet_id: _Optional[str] = ..., role: _Optional[_Union[_directory_pb2.Role, str]] = ..., outlet_class: _Optional[_Union[_directory_pb2.OutletClass, str]] = ..., point_value: _Optional[str] = ..., period: _Optional[str] = ...) -> None: ...

class ExplainBalanceResponse(_message.Message):
    __slots__ = ("balance", "lines", "next_page_token", "position")
    BALANCE_FIELD_NUMBER: _ClassVar[int]
    LINES_FIELD_NUMBER: _ClassVar[int]
    NEXT_PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    POSITION_FIELD_NUMBER: _ClassVar[int]
    balance: Balance
    lines: _containers.RepeatedCompositeFieldContainer[ExplainedLine]
    next_page_token: str
    position: int
    def __init__(self, balance: _Optional[_Union[Balance, _Mapping]] = ..., lines: _Optional[_Iterable[_Union[ExplainedLine, _Mapping]]] = ..., next_page_token: _Optional[str] = ..., position: _Optional[int] = ...) -> None: ...

class ListStatementsRequest(_message.Message):
    __slots__ = ("period", "page_size", "page_token", "min_position")
    PERIOD_FIELD_NUMBER: _ClassVar[int]
    PAGE_SIZE_FIELD_NUMBER: _ClassVar[int]
    PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    MIN_POSITION_FIELD_NUMBER: _ClassVar[int]
    period: str
    page_size: int
    page_token: str
    min_position: int
    def __init__(self, period: _Optional[str] = ..., page_size: _Optional[int] = ..., page_token: _Optional[str] = ..., min_position: _Optional[int] = ...) -> None: ...

class Adjustment(_message.Message):
    __slots__ = ("from_period", "dimension", "points", "weighted_points")
    FROM_PERIOD_FIELD_NUMBER: _ClassVar[int]
    DIMENSION_FIELD_NUMBER: _ClassVar[int]
    POINTS_FIELD_NUMBER: _ClassVar[int]
    WEIGHTED_POINTS_FIELD_NUMBER: _ClassVar[int]
    from_period: str
    dimension: str
    points: str
    weighted_points: str
    def __init__(self, from_period: _Optional[str] = ..., dimension: _Optional[str] = ..., points: _Optional[str] = ..., weighted_points: _Optional[str] = ...) -> None: ...

class StatementEmployee(_message.Message):
    __slots__ = ("name", "outlet_id", "outlet_class", "role")
    NAME_FIELD_NUMBER: _ClassVar[int]
    OUTLET_ID_FIELD_NUMBER: _ClassVar[int]
    OUTLET_CLASS_FIELD_NUMBER: _ClassVar[int]
    ROLE_FIELD_NUMBER: _ClassVar[int]
    name: str
    outlet_id: str
    outlet_class: _directory_pb2.OutletClass
    role: _directory_pb2.Role
    def __init__(self, name: _Optional[str] = ..., outlet_id: _Optional[str] = ..., outlet_class: _Optional[_Union[_directory_pb2.OutletClass, str]] = ..., role: _Optional[_Union[_directory_pb2.Role, str]] = ...) -> None: ...

class StatementPay(_message.Message):
    __slots__ = ("currency", "exact_amount", "gross_amount", "carried_in", "amount", "carried_forward", "unvalued_points", "decimal_places", "rounding", "negative_months")
    CURRENCY_FIELD_NUMBER: _ClassVar[int]
    EXACT_AMOUNT_FIELD_NUMBER: _ClassVar[int]
    GROSS_AMOUNT_FIELD_NUMBER: _ClassVar[int]
    CARRIED_IN_FIELD_NUMBER: _ClassVar[int]
    AMOUNT_FIELD_NUMBER: _ClassVar[int]
    CARRIED_FORWARD_FIELD_NUMBER: _ClassVar[int]
    UNVALUED_POINTS_FIELD_NUMBER: _ClassVar[int]
    DECIMAL_PLACES_FIELD_NUMBER: _ClassVar[int]
    ROUNDING_FIELD_NUMBER: _ClassVar[int]
    NEGATIVE_MONTHS_FIELD_NUMBER: _ClassVar[int]
    currency: str
    exact_amount: str
    gross_amount: str
    carried_in: str
    amount: str
    carried_forward: str
    unvalued_points: str
    decimal_places: int
    rounding: str
    negative_months: str
    def __init__(self, currency: _Optional[str] = ..., exact_amount: _Optional[str] = ..., gross_amount: _Optional[str] = ..., carried_in: _Optional[str] = ..., amount: _Optional[str] = ..., carried_forward: _Optional[str] = ..., unvalued_points: _Optional[str] = ..., decimal_places: _Optional[int] = ..., rounding: _Optional[str] = ..., negative_months: _Optional[str] = ...) -> None: ...

class Statement(_message.Message):
    __slots__ = ("employee_id", "period", "total", "work", "adjustments", "event_count", "closed", "statement_digest", "employee", "pay")
    EMPLOYEE_ID_FIELD_NUMBER: _ClassVar[int]
    PERIOD_FIELD_NUMBER: _ClassVar[int]
    TOTAL_FIELD_NUMBER: _ClassVar[int]
    WORK_FIELD_NUMBER: _ClassVar[int]
    ADJUSTMENTS_FIELD_NUMBER: _ClassVar[int]
    EVENT_COUNT_FIELD_NUMBER: _ClassVar[int]
    CLOSED_FIELD_NUMBER: _ClassVar[int]
    STATEMENT_DIGEST_FIELD_NUMBER: _ClassVar[int]
    EMPLOYEE_FIELD_NUMBER: _ClassVar[int]
    PAY_FIELD_NUMBER: _ClassVar[int]
    employee_id: str
    period: str
    total: str
    work: _containers.RepeatedCompositeFieldContainer[DimensionPoints]
    adjustments: _containers.RepeatedCompositeFieldContainer[Adjustment]
    event_count: int
    closed: bool
    statement_digest: str
    employee: StatementEmployee
    pay: StatementPay
    def __init__(self, employee_id: _Optional[str] = ..., period: _Optional[str] = ..., total: _Optional[str] = ..., work: _Optional[_Iterable[_Union[DimensionPoints, _Mapping]]] = ..., adjustments: _Optional[_Iterable[_Union[Adjustment, _Mapping]]] = ..., event_count: _Optional[int] = ..., closed: _Optional[bool] = ..., statement_digest: _Optional[str] = ..., employee: _Optional[_Union[StatementEmployee, _Mapping]] = ..., pay: _Optional[_Union[StatementPay, _Mapping]] = ...) -> None: ...

class ListStatementsResponse(_message.Message):
    __slots__ = ("statements", "next_page_token", "position")
    STATEMENTS_FIELD_NUMBER: _ClassVar[int]
    NEXT_PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    POSITION_FIELD_NUMBER: _ClassVar[int]
    statements: _containers.RepeatedCompositeFieldContainer[Statement]
    next_page_token: str
    position: int
    def __init__(self, statements: _Optional[_Iterable[_Union[Statement, _Mapping]]] = ..., next_page_token: _Optional[str] = ..., position: _Optional[int] = ...) -> None: ...

class WatchLedgerRequest(_message.Message):
    __slots__ = ("from_position",)
    FROM_POSITION_FIELD_NUMBER: _ClassVar[int]
    from_position: int
    def __init__(self, from_position: _Optional[int] = ...) -> None: ...

class PeriodClosed(_message.Message):
    __slots__ = ("period", "closed_by", "close_time", "proposed_by", "reason")
    PERIOD_FIELD_NUMBER: _ClassVar[int]
    CLOSED_BY_FIELD_NUMBER: _ClassVar[int]
    CLOSE_TIME_FIELD_NUMBER: _ClassVar[int]
    PROPOSED_BY_FIELD_NUMBER: _ClassVar[int]
    REASON_FIELD_NUMBER: _ClassVar[int]
    period: str
    closed_by: str
    close_time: _timestamp_pb2.Timestamp
    proposed_by: str
    reason: str
    def __init__(self, period: _Optional[str] = ..., closed_by: _Optional[str] = ..., close_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., proposed_by: _Optional[str] = ..., reason: _Optional[str] = ...) -> None: ...

class PayRulesPublished(_message.Message):
    __slots__ = ("policy_version", "effective_from", "rules")
    POLICY_VERSION_FIELD_NUMBER: _ClassVar[int]
    EFFECTIVE_FROM_FIELD_NUMBER: _ClassVar[int]
    RULES_FIELD_NUMBER: _ClassVar[int]
    policy_version: str
    effective_from: str
    rules: _policies_pb2.PayRules
    def __init__(self, policy_version: _Optional[str] = ..., effective_from: _Optional[str] = ..., rules: _Optional[_Union[_policies_pb2.PayRules, _Mapping]] = ...) -> None: ...

class WatchLedgerResponse(_message.Message):
    __slots__ = ("position", "lines", "period_closed", "pay_rules_published")
    POSITION_FIELD_NUMBER: _ClassVar[int]
    LINES_FIELD_NUMBER: _ClassVar[int]
    PERIOD_CLOSED_FIELD_NUMBER: _ClassVar[int]
    PAY_RULES_PUBLISHED_FIELD_NUMBER: _ClassVar[int]
    position: int
    lines: _containers.RepeatedCompositeFieldContainer[ExplainedLine]
    period_closed: PeriodClosed
    pay_rules_published: PayRulesPublished
    def __init__(self, position: _Optional[int] = ..., lines: _Optional[_Iterable[_Union[ExplainedLine, _Mapping]]] = ..., period_closed: _Optional[_Union[PeriodClosed, _Mapping]] = ..., pay_rules_published: _Optional[_Union[PayRulesPublished, _Mapping]] = ...) -> None: ...
