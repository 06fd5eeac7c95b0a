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

class ProposalState(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    PROPOSAL_STATE_UNSPECIFIED: _ClassVar[ProposalState]
    PROPOSAL_STATE_PENDING: _ClassVar[ProposalState]
    PROPOSAL_STATE_APPROVED: _ClassVar[ProposalState]
    PROPOSAL_STATE_WITHDRAWN: _ClassVar[ProposalState]
PERIOD_STATE_UNSPECIFIED: PeriodState
PERIOD_STATE_OPEN: PeriodState
PERIOD_STATE_CLOSED: PeriodState
PROPOSAL_STATE_UNSPECIFIED: ProposalState
PROPOSAL_STATE_PENDING: ProposalState
PROPOSAL_STATE_APPROVED: ProposalState
PROPOSAL_STATE_WITHDRAWN: ProposalState

class Proposal(_message.Message):
    __slots__ = ("proposal_id", "subject", "state", "proposed_by", "propose_time", "reason", "decided_by", "decide_time", "decision_reason", "position", "decision_position")
    PROPOSAL_ID_FIELD_NUMBER: _ClassVar[int]
    SUBJECT_FIELD_NUMBER: _ClassVar[int]
    STATE_FIELD_NUMBER: _ClassVar[int]
    PROPOSED_BY_FIELD_NUMBER: _ClassVar[int]
    PROPOSE_TIME_FIELD_NUMBER: _ClassVar[int]
    REASON_FIELD_NUMBER: _ClassVar[int]
    DECIDED_BY_FIELD_NUMBER: _ClassVar[int]
    DECIDE_TIME_FIELD_NUMBER: _ClassVar[int]
    DECISION_REASON_FIELD_NUMBER: _ClassVar[int]
    POSITION_FIELD_NUMBER: _ClassVar[int]
    DECISION_POSITION_FIELD_NUMBER: _ClassVar[int]
    proposal_id: str
    subject: str
    state: ProposalState
    proposed_by: str
    propose_time: _timestamp_pb2.Timestamp
    reason: str
    decided_by: str
    decide_time: _timestamp_pb2.Timestamp
    decision_reason: str
    position: int
    decision_position: int
    def __init__(self, proposal_id: _Optional[str] = ..., subject: _Optional[str] = ..., state: _Optional[_Union[ProposalState, str]] = ..., proposed_by: _Optional[str] = ..., propose_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., reason: _Optional[str] = ..., decided_by: _Optional[str] = ..., decide_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., decision_reason: _Optional[str] = ..., position: _Optional[int] = ..., decision_position: _Optional[int] = ...) -> None: ...

class PayPeriod(_message.Message):
    __slots__ = ("period", "state", "close_time", "closed_by", "reason", "close_position", "proposed_by", "pending_close")
    PERIOD_FIELD_NUMBER: _ClassVar[int]
    STATE_FIELD_NUMBER: _ClassVar[int]
    CLOSE_TIME_FIELD_NUMBER: _ClassVar[int]
    CLOSED_BY_FIELD_NUMBER: _ClassVar[int]
    REASON_FIELD_NUMBER: _ClassVar[int]
    CLOSE_POSITION_FIELD_NUMBER: _ClassVar[int]
    PROPOSED_BY_FIELD_NUMBER: _ClassVar[int]
    PENDING_CLOSE_FIELD_NUMBER: _ClassVar[int]
    period: str
    state: PeriodState
    close_time: _timestamp_pb2.Timestamp
    closed_by: str
    reason: str
    close_position: int
    proposed_by: str
    pending_close: Proposal
    def __init__(self, period: _Optional[str] = ..., state: _Optional[_Union[PeriodState, str]] = ..., close_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., closed_by: _Optional[str] = ..., reason: _Optional[str] = ..., close_position: _Optional[int] = ..., proposed_by: _Optional[str] = ..., pending_close: _Optional[_Union[Proposal, _Mapping]] = ...) -> None: ...

class ProposePeriodCloseRequest(_message.Message):
    __slots__ = ("request_id", "period", "proposed_by", "reason")
    REQUEST_ID_FIELD_NUMBER: _ClassVar[int]
    PERIOD_FIELD_NUMBER: _ClassVar[int]
    PROPOSED_BY_FIELD_NUMBER: _ClassVar[int]
    REASON_FIELD_NUMBER: _ClassVar[int]
    request_id: str
    period: str
    proposed_by: str
    reason: str
    def __init__(self, request_id: _Optional[str] = ..., period: _Optional[str] = ..., proposed_by: _Optional[str] = ..., reason: _Optional[str] = ...) -> None: ...

class ProposePeriodCloseResponse(_message.Message):
    __slots__ = ("proposal",)
    PROPOSAL_FIELD_NUMBER: _ClassVar[int]
    proposal: Proposal
    def __init__(self, proposal: _Optional[_Union[Proposal, _Mapping]] = ...) -> None: ...

class ApprovePeriodCloseRequest(_message.Message):
    __slots__ = ("proposal_id", "approved_by", "reason")
    PROPOSAL_ID_FIELD_NUMBER: _ClassVar[int]
    APPROVED_BY_FIELD_NUMBER: _ClassVar[int]
    REASON_FIELD_NUMBER: _ClassVar[int]
    proposal_id: str
    approved_by: str
    reason: str
    def __init__(self, proposal_id: _Optional[str] = ..., approved_by: _Optional[str] = ..., reason: _Optional[str] = ...) -> None: ...

class ApprovePeriodCloseResponse(_message.Message):
    __slots__ = ("period",)
    PERIOD_FIELD_NUMBER: _ClassVar[int]
    period: PayPeriod
    def __init__(self, period: _Optional[_Union[PayPeriod, _Mapping]] = ...) -> None: ...

class WithdrawPeriodCloseRequest(_message.Message):
    __slots__ = ("proposal_id", "withdrawn_by", "reason")
    PROPOSAL_ID_FIELD_NUMBER: _ClassVar[int]
    WITHDRAWN_BY_FIELD_NUMBER: _ClassVar[int]
    REASON_FIELD_NUMBER: _ClassVar[int]
    proposal_id: str
    withdrawn_by: str
    reason: str
    def __init__(self, proposal_id: _Optional[str] = ..., withdrawn_by: _Optional[str] = ..., reason: _Optional[str] = ...) -> None: ...

class WithdrawPeriodCloseResponse(_message.Message):
    __slots__ = ("proposal",)
    PROPOSAL_FIELD_NUMBER: _ClassVar[int]
    proposal: Proposal
    def __init__(self, proposal: _Optional[_Union[Proposal, _Mapping]] = ...) -> None: ...

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
    __slots__ = ("periods", "next_page_token", "next_to_close", "skipped_periods")
    PERIODS_FIELD_NUMBER: _ClassVar[int]
    NEXT_PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    NEXT_TO_CLOSE_FIELD_NUMBER: _ClassVar[int]
    SKIPPED_PERIODS_FIELD_NUMBER: _ClassVar[int]
    periods: _containers.RepeatedCompositeFieldContainer[PayPeriod]
    next_page_token: str
    next_to_close: str
    skipped_periods: _containers.RepeatedScalarFieldContainer[str]
    def __init__(self, periods: _Optional[_Iterable[_Union[PayPeriod, _Mapping]]] = ..., next_page_token: _Optional[str] = ..., next_to_close: _Optional[str] = ..., skipped_periods: _Optional[_Iterable[str]] = ...) -> None: ...
