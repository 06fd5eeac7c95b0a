import datetime

from google.protobuf import timestamp_pb2 as _timestamp_pb2
from points_client.v1 import balances_pb2 as _balances_pb2
from points_client.v1 import directory_pb2 as _directory_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf.internal import enum_type_wrapper as _enum_type_wrapper
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class PeerGrouping(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    PEER_GROUPING_UNSPECIFIED: _ClassVar[PeerGrouping]
    PEER_GROUPING_CLASS: _ClassVar[PeerGrouping]
    PEER_GROUPING_CLASS_REGION: _ClassVar[PeerGrouping]

class RankingFlag(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    RANKING_FLAG_UNSPECIFIED: _ClassVar[RankingFlag]
    RANKING_FLAG_NONE: _ClassVar[RankingFlag]
    RANKING_FLAG_TOP: _ClassVar[RankingFlag]
    RANKING_FLAG_BOTTOM: _ClassVar[RankingFlag]

class LineCrossing(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    LINE_CROSSING_UNSPECIFIED: _ClassVar[LineCrossing]
    LINE_CROSSING_ENTERS_TOP: _ClassVar[LineCrossing]
    LINE_CROSSING_LEAVES_TOP: _ClassVar[LineCrossing]
    LINE_CROSSING_ENTERS_BOTTOM: _ClassVar[LineCrossing]
    LINE_CROSSING_LEAVES_BOTTOM: _ClassVar[LineCrossing]
PEER_GROUPING_UNSPECIFIED: PeerGrouping
PEER_GROUPING_CLASS: PeerGrouping
PEER_GROUPING_CLASS_REGION: PeerGrouping
RANKING_FLAG_UNSPECIFIED: RankingFlag
RANKING_FLAG_NONE: RankingFlag
RANKING_FLAG_TOP: RankingFlag
RANKING_FLAG_BOTTOM: RankingFlag
LINE_CROSSING_UNSPECIFIED: LineCrossing
LINE_CROSSING_ENTERS_TOP: LineCrossing
LINE_CROSSING_LEAVES_TOP: LineCrossing
LINE_CROSSING_ENTERS_BOTTOM: LineCrossing
LINE_CROSSING_LEAVES_BOTTOM: LineCrossing

class PeerGroup(_message.Message):
    __slots__ = ("key", "role", "outlet_class", "region")
    KEY_FIELD_NUMBER: _ClassVar[int]
    ROLE_FIELD_NUMBER: _ClassVar[int]
    OUTLET_CLASS_FIELD_NUMBER: _ClassVar[int]
    REGION_FIELD_NUMBER: _ClassVar[int]
    key: str
    role: _directory_pb2.Role
    outlet_class: _directory_pb2.OutletClass
    region: str
    def __init__(self, key: _Optional[str] = ..., role: _Optional[_Union[_directory_pb2.Role, str]] = ..., outlet_class: _Optional[_Union[_directory_pb2.OutletClass, str]] = ..., region: _Optional[str] = ...) -> None: ...

class RankingRules(_message.Message):
    __slots__ = ("top_share", "bottom_share", "rounding", "min_group_size", "small_groups", "tie_break", "unresolved_ties", "business_days", "declared", "policy_version", "in_force_on", "statements")
    TOP_SHARE_FIELD_NUMBER: _ClassVar[int]
    BOTTOM_SHARE_FIELD_NUMBER: _ClassVar[int]
    ROUNDING_FIELD_NUMBER: _ClassVar[int]
    MIN_GROUP_SIZE_FIELD_NUMBER: _ClassVar[int]
    SMALL_GROUPS_FIELD_NUMBER: _ClassVar[int]
    TIE_BREAK_FIELD_NUMBER: _ClassVar[int]
    UNRESOLVED_TIES_FIELD_NUMBER: _ClassVar[int]
    BUSINESS_DAYS_FIELD_NUMBER: _ClassVar[int]
    DECLARED_FIELD_NUMBER: _ClassVar[int]
    POLICY_VERSION_FIELD_NUMBER: _ClassVar[int]
    IN_FORCE_ON_FIELD_NUMBER: _ClassVar[int]
    STATEMENTS_FIELD_NUMBER: _ClassVar[int]
    top_share: str
    bottom_share: str
    rounding: str
    min_group_size: int
    small_groups: str
    tie_break: _containers.RepeatedScalarFieldContainer[str]
    unresolved_ties: str
    business_days: str
    declared: bool
    policy_version: str
    in_force_on: str
    statements: _containers.RepeatedScalarFieldContainer[str]
    def __init__(self, top_share: _Optional[str] = ..., bottom_share: _Optional[str] = ..., rounding: _Optional[str] = ..., min_group_size: _Optional[int] = ..., small_groups: _Optional[str] = ..., tie_break: _Optional[_Iterable[str]] = ..., unresolved_ties: _Optional[str] = ..., business_days: _Optional[str] = ..., declared: _Optional[bool] = ..., policy_version: _Optional[str] = ..., in_force_on: _Optional[str] = ..., statements: _Optional[_Iterable[str]] = ...) -> None: ...

class RankingGroup(_message.Message):
    __slots__ = ("group", "size", "ranked_within", "ranked_within_size", "flags_applied", "top_quota", "bottom_quota", "top_line", "bottom_line", "note")
    GROUP_FIELD_NUMBER: _ClassVar[int]
    SIZE_FIELD_NUMBER: _ClassVar[int]
    RANKED_WITHIN_FIELD_NUMBER: _ClassVar[int]
    RANKED_WITHIN_SIZE_FIELD_NUMBER: _ClassVar[int]
    FLAGS_APPLIED_FIELD_NUMBER: _ClassVar[int]
    TOP_QUOTA_FIELD_NUMBER: _ClassVar[int]
    BOTTOM_QUOTA_FIELD_NUMBER: _ClassVar[int]
    TOP_LINE_FIELD_NUMBER: _ClassVar[int]
    BOTTOM_LINE_FIELD_NUMBER: _ClassVar[int]
    NOTE_FIELD_NUMBER: _ClassVar[int]
    group: PeerGroup
    size: int
    ranked_within: PeerGroup
    ranked_within_size: int
    flags_applied: bool
    top_quota: int
    bottom_quota: int
    top_line: str
    bottom_line: str
    note: str
    def __init__(self, group: _Optional[_Union[PeerGroup, _Mapping]] = ..., size: _Optional[int] = ..., ranked_within: _Optional[_Union[PeerGroup, _Mapping]] = ..., ranked_within_size: _Optional[int] = ..., flags_applied: _Optional[bool] = ..., top_quota: _Optional[int] = ..., bottom_quota: _Optional[int] = ..., top_line: _Optional[str] = ..., bottom_line: _Optional[str] = ..., note: _Optional[str] = ...) -> None: ...

class RankingRow(_message.Message):
    __slots__ = ("employee_id", "peer_group", "ranked_within", "group_size", "rank", "percentile", "total", "dimensions", "flag", "unresolved_tie", "negative_events", "membership")
    EMPLOYEE_ID_FIELD_NUMBER: _ClassVar[int]
    PEER_GROUP_FIELD_NUMBER: _ClassVar[int]
    RANKED_WITHIN_FIELD_NUMBER: _ClassVar[int]
    GROUP_SIZE_FIELD_NUMBER: _ClassVar[int]
    RANK_FIELD_NUMBER: _ClassVar[int]
    PERCENTILE_FIELD_NUMBER: _ClassVar[int]
    TOTAL_FIELD_NUMBER: _ClassVar[int]
    DIMENSIONS_FIELD_NUMBER: _ClassVar[int]
    FLAG_FIELD_NUMBER: _ClassVar[int]
    UNRESOLVED_TIE_FIELD_NUMBER: _ClassVar[int]
    NEGATIVE_EVENTS_FIELD_NUMBER: _ClassVar[int]
    MEMBERSHIP_FIELD_NUMBER: _ClassVar[int]
    employee_id: str
    peer_group: PeerGroup
    ranked_within: PeerGroup
    group_size: int
    rank: int
    percentile: str
    total: str
    dimensions: _containers.RepeatedCompositeFieldContainer[_balances_pb2.DimensionPoints]
    flag: RankingFlag
    unresolved_tie: bool
    negative_events: int
    membership: str
    def __init__(self, employee_id: _Optional[str] = ..., peer_group: _Optional[_Union[PeerGroup, _Mapping]] = ..., ranked_within: _Optional[_Union[PeerGroup, _Mapping]] = ..., group_size: _Optional[int] = ..., rank: _Optional[int] = ..., percentile: _Optional[str] = ..., total: _Optional[str] = ..., dimensions: _Optional[_Iterable[_Union[_balances_pb2.DimensionPoints, _Mapping]]] = ..., flag: _Optional[_Union[RankingFlag, str]] = ..., unresolved_tie: _Optional[bool] = ..., negative_events: _Optional[int] = ..., membership: _Optional[str] = ...) -> None: ...

class GetRankingRequest(_message.Message):
    __slots__ = ("period", "role", "peer_group", "group", "page_size", "page_token", "min_position")
    PERIOD_FIELD_NUMBER: _ClassVar[int]
    ROLE_FIELD_NUMBER: _ClassVar[int]
    PEER_GROUP_FIELD_NUMBER: _ClassVar[int]
    GROUP_FIELD_NUMBER: _ClassVar[int]
    PAGE_SIZE_FIELD_NUMBER: _ClassVar[int]
    PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    MIN_POSITION_FIELD_NUMBER: _ClassVar[int]
    period: str
    role: _directory_pb2.Role
    peer_group: PeerGrouping
    group: str
    page_size: int
    page_token: str
    min_position: int
    def __init__(self, period: _Optional[str] = ..., role: _Optional[_Union[_directory_pb2.Role, str]] = ..., peer_group: _Optional[_Union[PeerGrouping, str]] = ..., group: _Optional[str] = ..., page_size: _Optional[int] = ..., page_token: _Optional[str] = ..., min_position: _Optional[int] = ...) -> None: ...

class GetRankingResponse(_message.Message):
    __slots__ = ("period", "role", "peer_group", "rules", "groups", "rows", "total_size", "next_page_token", "position")
    PERIOD_FIELD_NUMBER: _ClassVar[int]
    ROLE_FIELD_NUMBER: _ClassVar[int]
    PEER_GROUP_FIELD_NUMBER: _ClassVar[int]
    RULES_FIELD_NUMBER: _ClassVar[int]
    GROUPS_FIELD_NUMBER: _ClassVar[int]
    ROWS_FIELD_NUMBER: _ClassVar[int]
    TOTAL_SIZE_FIELD_NUMBER: _ClassVar[int]
    NEXT_PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    POSITION_FIELD_NUMBER: _ClassVar[int]
    period: str
    role: _directory_pb2.Role
    peer_group: PeerGrouping
    rules: RankingRules
    groups: _containers.RepeatedCompositeFieldContainer[RankingGroup]
    rows: _containers.RepeatedCompositeFieldContainer[RankingRow]
    total_size: int
    next_page_token: str
    position: int
    def __init__(self, period: _Optional[str] = ..., role: _Optional[_Union[_directory_pb2.Role, str]] = ..., peer_group: _Optional[_Union[PeerGrouping, str]] = ..., rules: _Optional[_Union[RankingRules, _Mapping]] = ..., groups: _Optional[_Iterable[_Union[RankingGroup, _Mapping]]] = ..., rows: _Optional[_Iterable[_Union[RankingRow, _Mapping]]] = ..., total_size: _Optional[int] = ..., next_page_token: _Optional[str] = ..., position: _Optional[int] = ...) -> None: ...

class PublishRankingRequest(_message.Message):
    __slots__ = ("request_id", "period", "role", "peer_group", "supersede", "reason", "published_by")
    REQUEST_ID_FIELD_NUMBER: _ClassVar[int]
    PERIOD_FIELD_NUMBER: _ClassVar[int]
    ROLE_FIELD_NUMBER: _ClassVar[int]
    PEER_GROUP_FIELD_NUMBER: _ClassVar[int]
    SUPERSEDE_FIELD_NUMBER: _ClassVar[int]
    REASON_FIELD_NUMBER: _ClassVar[int]
    PUBLISHED_BY_FIELD_NUMBER: _ClassVar[int]
    request_id: str
    period: str
    role: _directory_pb2.Role
    peer_group: PeerGrouping
    supersede: bool
    reason: str
    published_by: str
    def __init__(self, request_id: _Optional[str] = ..., period: _Optional[str] = ..., role: _Optional[_Union[_directory_pb2.Role, str]] = ..., peer_group: _Optional[_Union[PeerGrouping, str]] = ..., supersede: _Optional[bool] = ..., reason: _Optional[str] = ..., published_by: _Optional[str] = ...) -> None: ...

class PublishedRanking(_message.Message):
    __slots__ = ("ranking_id", "sequence", "period", "role", "peer_group", "rules", "groups", "members", "digest", "input_position", "published_by", "reason", "supersedes", "publish_time")
    RANKING_ID_FIELD_NUMBER: _ClassVar[int]
    SEQUENCE_FIELD_NUMBER: _ClassVar[int]
    PERIOD_FIELD_NUMBER: _ClassVar[int]
    ROLE_FIELD_NUMBER: _ClassVar[int]
    PEER_GROUP_FIELD_NUMBER: _ClassVar[int]
    RULES_FIELD_NUMBER: _ClassVar[int]
    GROUPS_FIELD_NUMBER: _ClassVar[int]
    MEMBERS_FIELD_NUMBER: _ClassVar[int]
    DIGEST_FIELD_NUMBER: _ClassVar[int]
    INPUT_POSITION_FIELD_NUMBER: _ClassVar[int]
    PUBLISHED_BY_FIELD_NUMBER: _ClassVar[int]
    REASON_FIELD_NUMBER: _ClassVar[int]
    SUPERSEDES_FIELD_NUMBER: _ClassVar[int]
    PUBLISH_TIME_FIELD_NUMBER: _ClassVar[int]
    ranking_id: str
    sequence: int
    period: str
    role: _directory_pb2.Role
    peer_group: PeerGrouping
    rules: RankingRules
    groups: _containers.RepeatedCompositeFieldContainer[RankingGroup]
    members: int
    digest: str
    input_position: int
    published_by: str
    reason: str
    supersedes: int
    publish_time: _timestamp_pb2.Timestamp
    def __init__(self, ranking_id: _Optional[str] = ..., sequence: _Optional[int] = ..., period: _Optional[str] = ..., role: _Optional[_Union[_directory_pb2.Role, str]] = ..., peer_group: _Optional[_Union[PeerGrouping, str]] = ..., rules: _Optional[_Union[RankingRules, _Mapping]] = ..., groups: _Optional[_Iterable[_Union[RankingGroup, _Mapping]]] = ..., members: _Optional[int] = ..., digest: _Optional[str] = ..., input_position: _Optional[int] = ..., published_by: _Optional[str] = ..., reason: _Optional[str] = ..., supersedes: _Optional[int] = ..., publish_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ...) -> None: ...

class PublishRankingResponse(_message.Message):
    __slots__ = ("ranking", "position", "replayed")
    RANKING_FIELD_NUMBER: _ClassVar[int]
    POSITION_FIELD_NUMBER: _ClassVar[int]
    REPLAYED_FIELD_NUMBER: _ClassVar[int]
    ranking: PublishedRanking
    position: int
    replayed: bool
    def __init__(self, ranking: _Optional[_Union[PublishedRanking, _Mapping]] = ..., position: _Optional[int] = ..., replayed: _Optional[bool] = ...) -> None: ...

class GetPublishedRankingRequest(_message.Message):
    __slots__ = ("period", "role", "peer_group", "sequence", "page_size", "page_token")
    PERIOD_FIELD_NUMBER: _ClassVar[int]
    ROLE_FIELD_NUMBER: _ClassVar[int]
    PEER_GROUP_FIELD_NUMBER: _ClassVar[int]
    SEQUENCE_FIELD_NUMBER: _ClassVar[int]
    PAGE_SIZE_FIELD_NUMBER: _ClassVar[int]
    PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    period: str
    role: _directory_pb2.Role
    peer_group: PeerGrouping
    sequence: int
    page_size: int
    page_token: str
    def __init__(self, period: _Optional[str] = ..., role: _Optional[_Union[_directory_pb2.Role, str]] = ..., peer_group: _Optional[_Union[PeerGrouping, str]] = ..., sequence: _Optional[int] = ..., page_size: _Optional[int] = ..., page_token: _Optional[str] = ...) -> None: ...

class GetPublishedRankingResponse(_message.Message):
    __slots__ = ("ranking", "rows", "next_page_token", "superseded_by")
    RANKING_FIELD_NUMBER: _ClassVar[int]
    ROWS_FIELD_NUMBER: _ClassVar[int]
    NEXT_PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    SUPERSEDED_BY_FIELD_NUMBER: _ClassVar[int]
    ranking: PublishedRanking
    rows: _containers.RepeatedCompositeFieldContainer[RankingRow]
    next_page_token: str
    superseded_by: int
    def __init__(self, ranking: _Optional[_Union[PublishedRanking, _Mapping]] = ..., rows: _Optional[_Iterable[_Union[RankingRow, _Mapping]]] = ..., next_page_token: _Optional[str] = ..., superseded_by: _Optional[int] = ...) -> None: ...

class SimulateRankingRequest(_message.Message):
    __slots__ = ("period", "role", "peer_group", "candidate_policy", "source_name", "page_size", "page_token", "min_position")
    PERIOD_FIELD_NUMBER: _ClassVar[int]
    ROLE_FIELD_NUMBER: _ClassVar[int]
    PEER_GROUP_FIELD_NUMBER: _ClassVar[int]
    CANDIDATE_POLICY_FIELD_NUMBER: _ClassVar[int]
    SOURCE_NAME_FIELD_NUMBER: _ClassVar[int]
    PAGE_SIZE_FIELD_NUMBER: _ClassVar[int]
    PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    MIN_POSITION_FIELD_NUMBER: _ClassVar[int]
    period: str
    role: _directory_pb2.Role
    peer_group: PeerGrouping
    candidate_policy: str
    source_name: str
    page_size: int
    page_token: str
    min_position: int
    def __init__(self, period: _Optional[str] = ..., role: _Optional[_Union[_directory_pb2.Role, str]] = ..., peer_group: _Optional[_Union[PeerGrouping, str]] = ..., candidate_policy: _Optional[str] = ..., source_name: _Optional[str] = ..., page_size: _Optional[int] = ..., page_token: _Optional[str] = ..., min_position: _Optional[int] = ...) -> None: ...

class RankingMove(_message.Message):
    __slots__ = ("employee_id", "peer_group", "crossings", "flag_before", "flag_after", "total_before", "total_after", "rank_before", "rank_after")
    EMPLOYEE_ID_FIELD_NUMBER: _ClassVar[int]
    PEER_GROUP_FIELD_NUMBER: _ClassVar[int]
    CROSSINGS_FIELD_NUMBER: _ClassVar[int]
    FLAG_BEFORE_FIELD_NUMBER: _ClassVar[int]
    FLAG_AFTER_FIELD_NUMBER: _ClassVar[int]
    TOTAL_BEFORE_FIELD_NUMBER: _ClassVar[int]
    TOTAL_AFTER_FIELD_NUMBER: _ClassVar[int]
    RANK_BEFORE_FIELD_NUMBER: _ClassVar[int]
    RANK_AFTER_FIELD_NUMBER: _ClassVar[int]
    employee_id: str
    peer_group: PeerGroup
    crossings: _containers.RepeatedScalarFieldContainer[LineCrossing]
    flag_before: RankingFlag
    flag_after: RankingFlag
    total_before: str
    total_after: str
    rank_before: int
    rank_after: int
    def __init__(self, employee_id: _Optional[str] = ..., peer_group: _Optional[_Union[PeerGroup, _Mapping]] = ..., crossings: _Optional[_Iterable[_Union[LineCrossing, str]]] = ..., flag_before: _Optional[_Union[RankingFlag, str]] = ..., flag_after: _Optional[_Union[RankingFlag, str]] = ..., total_before: _Optional[str] = ..., total_after: _Optional[str] = ..., rank_before: _Optional[int] = ..., rank_after: _Optional[int] = ...) -> None: ...

class SimulateRankingResponse(_message.Message):
    __slots__ = ("period", "role", "peer_group", "current_rules", "candidate_rules", "events", "members", "moves", "total_moves", "notes", "next_page_token", "position")
    PERIOD_FIELD_NUMBER: _ClassVar[int]
    ROLE_FIELD_NUMBER: _ClassVar[int]
    PEER_GROUP_FIELD_NUMBER: _ClassVar[int]
    CURRENT_RULES_FIELD_NUMBER: _ClassVar[int]
    CANDIDATE_RULES_FIELD_NUMBER: _ClassVar[int]
    EVENTS_FIELD_NUMBER: _ClassVar[int]
    MEMBERS_FIELD_NUMBER: _ClassVar[int]
    MOVES_FIELD_NUMBER: _ClassVar[int]
    TOTAL_MOVES_FIELD_NUMBER: _ClassVar[int]
    NOTES_FIELD_NUMBER: _ClassVar[int]
    NEXT_PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    POSITION_FIELD_NUMBER: _ClassVar[int]
    period: str
    role: _directory_pb2.Role
    peer_group: PeerGrouping
    current_rules: RankingRules
    candidate_rules: RankingRules
    events: int
    members: int
    moves: _containers.RepeatedCompositeFieldContainer[RankingMove]
    total_moves: int
    notes: _containers.RepeatedScalarFieldContainer[str]
    next_page_token: str
    position: int
    def __init__(self, period: _Optional[str] = ..., role: _Optional[_Union[_directory_pb2.Role, str]] = ..., peer_group: _Optional[_Union[PeerGrouping, str]] = ..., current_rules: _Optional[_Union[RankingRules, _Mapping]] = ..., candidate_rules: _Optional[_Union[RankingRules, _Mapping]] = ..., events: _Optional[int] = ..., members: _Optional[int] = ..., moves: _Optional[_Iterable[_Union[RankingMove, _Mapping]]] = ..., total_moves: _Optional[int] = ..., notes: _Optional[_Iterable[str]] = ..., next_page_token: _Optional[str] = ..., position: _Optional[int] = ...) -> None: ...
