import datetime

from google.protobuf import timestamp_pb2 as _timestamp_pb2
from points_client.v1 import directory_pb2 as _directory_pb2
from points_client.v1 import periods_pb2 as _periods_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class PayRules(_message.Message):
    __slots__ = ("currency", "decimal_places", "rounding", "negative_months", "point_values")
    class PointValue(_message.Message):
        __slots__ = ("role", "outlet_class", "value")
        ROLE_FIELD_NUMBER: _ClassVar[int]
        OUTLET_CLASS_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        role: _directory_pb2.Role
        outlet_class: str
        value: str
        def __init__(self, role: _Optional[_Union[_directory_pb2.Role, str]] = ..., outlet_class: _Optional[str] = ..., value: _Optional[str] = ...) -> None: ...
    CURRENCY_FIELD_NUMBER: _ClassVar[int]
    DECIMAL_PLACES_FIELD_NUMBER: _ClassVar[int]
    ROUNDING_FIELD_NUMBER: _ClassVar[int]
    NEGATIVE_MONTHS_FIELD_NUMBER: _ClassVar[int]
    POINT_VALUES_FIELD_NUMBER: _ClassVar[int]
    currency: str
    decimal_places: int
    rounding: str
    negative_months: str
    point_values: _containers.RepeatedCompositeFieldContainer[PayRules.PointValue]
    def __init__(self, currency: _Optional[str] = ..., decimal_places: _Optional[int] = ..., rounding: _Optional[str] = ..., negative_months: _Optional[str] = ..., point_values: _Optional[_Iterable[_Union[PayRules.PointValue, _Mapping]]] = ...) -> None: ...

class PublishPolicyRequest(_message.Message):
    __slots__ = ("document", "effective_from", "reason", "published_by", "source_name")
    DOCUMENT_FIELD_NUMBER: _ClassVar[int]
    EFFECTIVE_FROM_FIELD_NUMBER: _ClassVar[int]
    REASON_FIELD_NUMBER: _ClassVar[int]
    PUBLISHED_BY_FIELD_NUMBER: _ClassVar[int]
    SOURCE_NAME_FIELD_NUMBER: _ClassVar[int]
    document: str
    effective_from: str
    reason: str
    published_by: str
    source_name: str
    def __init__(self, document: _Optional[str] = ..., effective_from: _Optional[str] = ..., reason: _Optional[str] = ..., published_by: _Optional[str] = ..., source_name: _Optional[str] = ...) -> None: ...

class PolicyRule(_message.Message):
    __slots__ = ("rule_id", "kind", "dimension", "points_per_unit", "when", "multipliers", "cap_per_day", "cap_per_period")
    class WhenEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: str
        def __init__(self, key: _Optional[str] = ..., value: _Optional[str] = ...) -> None: ...
    class MultipliersEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: str
        def __init__(self, key: _Optional[str] = ..., value: _Optional[str] = ...) -> None: ...
    RULE_ID_FIELD_NUMBER: _ClassVar[int]
    KIND_FIELD_NUMBER: _ClassVar[int]
    DIMENSION_FIELD_NUMBER: _ClassVar[int]
    POINTS_PER_UNIT_FIELD_NUMBER: _ClassVar[int]
    WHEN_FIELD_NUMBER: _ClassVar[int]
    MULTIPLIERS_FIELD_NUMBER: _ClassVar[int]
    CAP_PER_DAY_FIELD_NUMBER: _ClassVar[int]
    CAP_PER_PERIOD_FIELD_NUMBER: _ClassVar[int]
    rule_id: str
    kind: str
    dimension: str
    points_per_unit: str
    when: _containers.ScalarMap[str, str]
    multipliers: _containers.ScalarMap[str, str]
    cap_per_day: str
    cap_per_period: str
    def __init__(self, rule_id: _Optional[str] = ..., kind: _Optional[str] = ..., dimension: _Optional[str] = ..., points_per_unit: _Optional[str] = ..., when: _Optional[_Mapping[str, str]] = ..., multipliers: _Optional[_Mapping[str, str]] = ..., cap_per_day: _Optional[str] = ..., cap_per_period: _Optional[str] = ...) -> None: ...

class RolePolicy(_message.Message):
    __slots__ = ("role", "weights", "rules")
    class WeightsEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: str
        def __init__(self, key: _Optional[str] = ..., value: _Optional[str] = ...) -> None: ...
    ROLE_FIELD_NUMBER: _ClassVar[int]
    WEIGHTS_FIELD_NUMBER: _ClassVar[int]
    RULES_FIELD_NUMBER: _ClassVar[int]
    role: _directory_pb2.Role
    weights: _containers.ScalarMap[str, str]
    rules: _containers.RepeatedCompositeFieldContainer[PolicyRule]
    def __init__(self, role: _Optional[_Union[_directory_pb2.Role, str]] = ..., weights: _Optional[_Mapping[str, str]] = ..., rules: _Optional[_Iterable[_Union[PolicyRule, _Mapping]]] = ...) -> None: ...

class PolicyVersion(_message.Message):
    __slots__ = ("version", "effective_from", "digest", "published_by", "reason", "publish_time", "document", "roles", "pay")
    VERSION_FIELD_NUMBER: _ClassVar[int]
    EFFECTIVE_FROM_FIELD_NUMBER: _ClassVar[int]
    DIGEST_FIELD_NUMBER: _ClassVar[int]
    PUBLISHED_BY_FIELD_NUMBER: _ClassVar[int]
    REASON_FIELD_NUMBER: _ClassVar[int]
    PUBLISH_TIME_FIELD_NUMBER: _ClassVar[int]
    DOCUMENT_FIELD_NUMBER: _ClassVar[int]
    ROLES_FIELD_NUMBER: _ClassVar[int]
    PAY_FIELD_NUMBER: _ClassVar[int]
    version: str
    effective_from: str
    digest: str
    published_by: str
    reason: str
    publish_time: _timestamp_pb2.Timestamp
    document: str
    roles: _containers.RepeatedCompositeFieldContainer[RolePolicy]
    pay: PayRules
    def __init__(self, version: _Optional[str] = ..., effective_from: _Optional[str] = ..., digest: _Optional[str] = ..., published_by: _Optional[str] = ..., reason: _Optional[str] = ..., publish_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., document: _Optional[str] = ..., roles: _Optional[_Iterable[_Union[RolePolicy, _Mapping]]] = ..., pay: _Optional[_Union[PayRules, _Mapping]] = ...) -> None: ...

class RetroactiveImpact(_message.Message):
    __slots__ = ("events", "balances", "truncated")
    class AffectedBalance(_message.Message):
        __slots__ = ("employee_id", "period", "booked_points", "rescored_points")
        EMPLOYEE_ID_FIELD_NUMBER: _ClassVar[int]
        PERIOD_FIELD_NUMBER: _ClassVar[int]
        BOOKED_POINTS_FIELD_NUMBER: _ClassVar[int]
        RESCORED_POINTS_FIELD_NUMBER: _ClassVar[int]
        employee_id: str
        period: str
        booked_points: str
        rescored_points: str
        def __init__(self, employee_id: _Optional[str] = ..., period: _Optional[str] = ..., booked_points: _Optional[str] = ..., rescored_points: _Optional[str] = ...) -> None: ...
    EVENTS_FIELD_NUMBER: _ClassVar[int]
    BALANCES_FIELD_NUMBER: _ClassVar[int]
    TRUNCATED_FIELD_NUMBER: _ClassVar[int]
    events: int
    balances: _containers.RepeatedCompositeFieldContainer[RetroactiveImpact.AffectedBalance]
    truncated: bool
    def __init__(self, events: _Optional[int] = ..., balances: _Optional[_Iterable[_Union[RetroactiveImpact.AffectedBalance, _Mapping]]] = ..., truncated: _Optional[bool] = ...) -> None: ...

class PublishPolicyResponse(_message.Message):
    __slots__ = ("policy", "position", "replayed", "impact")
    POLICY_FIELD_NUMBER: _ClassVar[int]
    POSITION_FIELD_NUMBER: _ClassVar[int]
    REPLAYED_FIELD_NUMBER: _ClassVar[int]
    IMPACT_FIELD_NUMBER: _ClassVar[int]
    policy: PolicyVersion
    position: int
    replayed: bool
    impact: RetroactiveImpact
    def __init__(self, policy: _Optional[_Union[PolicyVersion, _Mapping]] = ..., position: _Optional[int] = ..., replayed: _Optional[bool] = ..., impact: _Optional[_Union[RetroactiveImpact, _Mapping]] = ...) -> None: ...

class GetPolicyRequest(_message.Message):
    __slots__ = ("version", "in_force_on")
    VERSION_FIELD_NUMBER: _ClassVar[int]
    IN_FORCE_ON_FIELD_NUMBER: _ClassVar[int]
    version: str
    in_force_on: str
    def __init__(self, version: _Optional[str] = ..., in_force_on: _Optional[str] = ...) -> None: ...

class GetPolicyResponse(_message.Message):
    __slots__ = ("policy",)
    POLICY_FIELD_NUMBER: _ClassVar[int]
    policy: PolicyVersion
    def __init__(self, policy: _Optional[_Union[PolicyVersion, _Mapping]] = ...) -> None: ...

class ListPoliciesRequest(_message.Message):
    __slots__ = ("page_size", "page_token")
    PAGE_SIZE_FIELD_NUMBER: _ClassVar[int]
    PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    page_size: int
    page_token: str
    def __init__(self, page_size: _Optional[int] = ..., page_token: _Optional[str] = ...) -> None: ...

class ListPoliciesResponse(_message.Message):
    __slots__ = ("policies", "next_page_token")
    POLICIES_FIELD_NUMBER: _ClassVar[int]
    NEXT_PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    policies: _containers.RepeatedCompositeFieldContainer[PolicyVersion]
    next_page_token: str
    def __init__(self, policies: _Optional[_Iterable[_Union[PolicyVersion, _Mapping]]] = ..., next_page_token: _Optional[str] = ...) -> None: ...

class RecalculatePointsRequest(_message.Message):
    __slots__ = ("request_id", "version", "reason", "requested_by")
    REQUEST_ID_FIELD_NUMBER: _ClassVar[int]
    VERSION_FIELD_NUMBER: _ClassVar[int]
    REASON_FIELD_NUMBER: _ClassVar[int]
    REQUESTED_BY_FIELD_NUMBER: _ClassVar[int]
    request_id: str
    version: str
    reason: str
    requested_by: str
    def __init__(self, request_id: _Optional[str] = ..., version: _Optional[str] = ..., reason: _Optional[str] = ..., requested_by: _Optional[str] = ...) -> None: ...

class RecalculatePointsResponse(_message.Message):
    __slots__ = ("events", "position", "replayed")
    EVENTS_FIELD_NUMBER: _ClassVar[int]
    POSITION_FIELD_NUMBER: _ClassVar[int]
    REPLAYED_FIELD_NUMBER: _ClassVar[int]
    events: int
    position: int
    replayed: bool
    def __init__(self, events: _Optional[int] = ..., position: _Optional[int] = ..., replayed: _Optional[bool] = ...) -> None: ...

class ProposeRecalculationRequest(_message.Message):
    __slots__ = ("request_id", "version", "reason", "proposed_by")
    REQUEST_ID_FIELD_NUMBER: _ClassVar[int]
    VERSION_FIELD_NUMBER: _ClassVar[int]
    REASON_FIELD_NUMBER: _ClassVar[int]
    PROPOSED_BY_FIELD_NUMBER: _ClassVar[int]
    request_id: str
    version: str
    reason: str
    proposed_by: str
    def __init__(self, request_id: _Optional[str] = ..., version: _Optional[str] = ..., reason: _Optional[str] = ..., proposed_by: _Optional[str] = ...) -> None: ...

class ProposeRecalculationResponse(_message.Message):
    __slots__ = ("proposal",)
    PROPOSAL_FIELD_NUMBER: _ClassVar[int]
    proposal: _periods_pb2.Proposal
    def __init__(self, proposal: _Optional[_Union[_periods_pb2.Proposal, _Mapping]] = ...) -> None: ...

class ApproveRecalculationRequest(_message.Message):
    __slots__ = ("proposal_id", "approved_by", "reason")
    PROPOSAL_ID_FIELD_NUMBER: _ClassVar[int]
    APPROVED_BY_FIELD_NUMBER: _ClassVar[int]
    REASON_FIELD_NUMBER: _ClassVar[int]
    proposal_id: str
    approved_by: str
    reason: str
    def __init__(self, proposal_id: _Optional[str] = ..., approved_by: _Optional[str] = ..., reason: _Optional[str] = ...) -> None: ...

class ApproveRecalculationResponse(_message.Message):
    __slots__ = ("proposal", "events", "position", "replayed")
    PROPOSAL_FIELD_NUMBER: _ClassVar[int]
    EVENTS_FIELD_NUMBER: _ClassVar[int]
    POSITION_FIELD_NUMBER: _ClassVar[int]
    REPLAYED_FIELD_NUMBER: _ClassVar[int]
    proposal: _periods_pb2.Proposal
    events: int
    position: int
    replayed: bool
    def __init__(self, proposal: _Optional[_Union[_periods_pb2.Proposal, _Mapping]] = ..., events: _Optional[int] = ..., position: _Optional[int] = ..., replayed: _Optional[bool] = ...) -> None: ...

class WithdrawRecalculationRequest(_message.Message):
    __slots__ = ("proposal_id", "withdrawn_by", "reason")
    PROPOSAL_ID_FIELD_NUMBER: _ClassVar[int]
    WITHDRAWN_BY_FIELD_NUMBER: _ClassVar[int]
    REASON_FIELD_NUMBER: _ClassVar[int]
    proposal_id: str
    withdrawn_by: str
    reason: str
    def __init__(self, proposal_id: _Optional[str] = ..., withdrawn_by: _Optional[str] = ..., reason: _Optional[str] = ...) -> None: ...

class WithdrawRecalculationResponse(_message.Message):
    __slots__ = ("proposal",)
    PROPOSAL_FIELD_NUMBER: _ClassVar[int]
    proposal: _periods_pb2.Proposal
    def __init__(self, proposal: _Optional[_Union[_periods_pb2.Proposal, _Mapping]] = ...) -> None: ...

class ListRecalculationsRequest(_message.Message):
    __slots__ = ("page_size", "page_token")
    PAGE_SIZE_FIELD_NUMBER: _ClassVar[int]
    PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    page_size: int
    page_token: str
    def __init__(self, page_size: _Optional[int] = ..., page_token: _Optional[str] = ...) -> None: ...

class ListRecalculationsResponse(_message.Message):
    __slots__ = ("recalculations", "next_page_token")
    class Recalculation(_message.Message):
        __slots__ = ("proposal", "finished", "events")
        PROPOSAL_FIELD_NUMBER: _ClassVar[int]
        FINISHED_FIELD_NUMBER: _ClassVar[int]
        EVENTS_FIELD_NUMBER: _ClassVar[int]
        proposal: _periods_pb2.Proposal
        finished: bool
        events: int
        def __init__(self, proposal: _Optional[_Union[_periods_pb2.Proposal, _Mapping]] = ..., finished: _Optional[bool] = ..., events: _Optional[int] = ...) -> None: ...
    RECALCULATIONS_FIELD_NUMBER: _ClassVar[int]
    NEXT_PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    recalculations: _containers.RepeatedCompositeFieldContainer[ListRecalculationsResponse.Recalculation]
    next_page_token: str
    def __init__(self, recalculations: _Optional[_Iterable[_Union[ListRecalculationsResponse.Recalculation, _Mapping]]] = ..., next_page_token: _Optional[str] = ...) -> None: ...
