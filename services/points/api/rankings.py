"""The RankingService servicer and its translations: proto -> application -> proto."""

from __future__ import annotations

import grpc
from google.protobuf.timestamp_pb2 import Timestamp

from points.api import convert
from points.api.auth import acting_caller
from points.api.servicers import remaining_time
from points.application.rankings import Rankings
from points.application.ranking_publications import PublishedView
from points.application.ranking_simulation import Move
from points.application.ranking_requests import RankingRow, RulesInForce
from points.domain.ranking import BOTTOM, TOP, GroupKey, GroupOutcome, rules_in_words
from points.v1 import balances_pb2, directory_pb2, rankings_pb2, rankings_pb2_grpc

GROUPINGS = {
    rankings_pb2.PEER_GROUPING_UNSPECIFIED: "",
    rankings_pb2.PEER_GROUPING_CLASS: "class",
    rankings_pb2.PEER_GROUPING_CLASS_REGION: "class_region",
}
GROUPING_VALUES = {"class": rankings_pb2.PEER_GROUPING_CLASS, "class_region": rankings_pb2.PEER_GROUPING_CLASS_REGION}
FLAGS = {TOP: rankings_pb2.RANKING_FLAG_TOP, BOTTOM: rankings_pb2.RANKING_FLAG_BOTTOM}


def grouping_name(value: int) -> str:
    return GROUPINGS.get(value, f"grouping_{value}")


def peer_group_message(key: GroupKey) -> rankings_pb2.PeerGroup:
    return rankings_pb2.PeerGroup(
        key=key.text,
        role=convert.role_value(key.role),
        outlet_class=convert.outlet_class_value(key.outlet_class) if key.outlet_class else directory_pb2.OUTLET_CLASS_UNSPECIFIED,
        region=key.region,
    )


def rules_message(rules: RulesInForce, grouping: str) -> rankings_pb2.RankingRules:
    r = rules.rules
    return rankings_pb2.RankingRules(
        top_share=convert.decimal_text(r.top_share),
        bottom_share=convert.decimal_text(r.bottom_share),
        rounding=r.rounding,
        min_group_size=r.min_group_size,
        small_groups=r.small_groups,
        tie_break=list(r.tie_break),
        unresolved_ties=r.unresolved_ties,
        business_days=r.business_days,
        declared=r.declared,
        policy_version=rules.policy_version,
        in_force_on=rules.in_force_on.isoformat(),
        statements=rules_in_words(r, grouping),
    )


def group_message(group: GroupOutcome) -> rankings_pb2.RankingGroup:
    return rankings_pb2.RankingGroup(
        group=peer_group_message(group.key),
        size=group.size,
        ranked_within=peer_group_message(group.ranked_within),
        ranked_within_size=group.ranked_within_size,
        flags_applied=group.flags_applied,
        top_quota=group.top_quota,
        bottom_quota=group.bottom_quota,
        top_line="" if group.top_line is None else convert.decimal_text(group.top_line),
        bottom_line="" if group.bottom_line is None else convert.decimal_text(group.bottom_line),
        note=group.note,
    )


def flag_value(flag: str) -> int:
    return FLAGS.get(flag, rankings_pb2.RANKING_FLAG_NONE)


def row_message(row: RankingRow) -> rankings_pb2.RankingRow:
    p, c = row.placing, row.placing.candidate
    message = rankings_pb2.RankingRow(
        employee_id=c.employee_id,
        peer_group=peer_group_message(c.membership.group),
        ranked_within=peer_group_message(p.ranked_within),
        group_size=p.group_size,
        rank=p.rank,
        percentile=convert.decimal_text(p.percentile),
        total=convert.decimal_text(c.total),
        dimensions=[
            balances_pb2.DimensionPoints(
                dimension=d, points=convert.decimal_text(points), weighted_points=convert.decimal_text(weighted)
            )
            for d, points, weighted in row.dimensions
        ],
        flag=flag_value(p.flag),
        unresolved_tie=p.unresolved_tie,
        membership=c.membership.explain(),
    )
    if p.negative_events is not None:
        message.negative_events = p.negative_events
    return message


def published_message(view: PublishedView) -> rankings_pb2.PublishedRanking:
    published = Timestamp()
    published.FromDatetime(view.published_at)
    return rankings_pb2.PublishedRanking(
        ranking_id=view.ranking_id,
        sequence=view.sequence,
        period=view.period,
        role=convert.role_value(view.role),
        peer_group=GROUPING_VALUES[view.grouping],
        rules=rules_message(view.rules, view.grouping),
        groups=[group_message(g) for g in view.groups],
        members=view.members,
        digest=view.digest,
        input_position=view.input_position,
        published_by=view.published_by,
        reason=view.reason,
        supersedes=view.supersedes,
        publish_time=published,
    )


CROSSINGS = {
    "ENTERS_TOP": rankings_pb2.LINE_CROSSING_ENTERS_TOP,
    "LEAVES_TOP": rankings_pb2.LINE_CROSSING_LEAVES_TOP,
    "ENTERS_BOTTOM": rankings_pb2.LINE_CROSSING_ENTERS_BOTTOM,
    "LEAVES_BOTTOM": rankings_pb2.LINE_CROSSING_LEAVES_BOTTOM,
}


def move_message(move: Move) -> rankings_pb2.RankingMove:
    return rankings_pb2.RankingMove(
        employee_id=move.employee_id,
        peer_group=peer_group_message(move.group),
        crossings=[CROSSINGS[c] for c in move.crossings],
        flag_before=flag_value(move.before.flag),
        flag_after=flag_value(move.after.flag),
        total_before=convert.decimal_text(move.before.candidate.total),
        total_after=convert.decimal_text(move.after.candidate.total),
        rank_before=move.before.rank,
        rank_after=move.after.rank,
    )


class RankingServicer(rankings_pb2_grpc.RankingServiceServicer):
    def __init__(self, rankings: Rankings) -> None:
        self.rankings = rankings

    def GetRanking(self, request: rankings_pb2.GetRankingRequest, context: grpc.ServicerContext) -> rankings_pb2.GetRankingResponse:
        """Returns a page of a role's live ranking by peer group, with the rules and each group's lines."""
        page = self.rankings.get_ranking(
            period=request.period,
            role=convert.role_name(request.role),
            grouping=grouping_name(request.peer_group),
            group=request.group,
            page_size=request.page_size,
            page_token=request.page_token,
            min_position=request.min_position,
            timeout=remaining_time(context),
        )
        return rankings_pb2.GetRankingResponse(
            period=page.period,
            role=request.role,
            peer_group=GROUPING_VALUES[page.grouping],
            rules=rules_message(page.rules, page.grouping),
            groups=[group_message(g) for g in page.groups],
            rows=[row_message(r) for r in page.rows],
            total_size=page.total_size,
            next_page_token=page.next_page_token,
            position=page.position,
        )

    def PublishRanking(self, request: rankings_pb2.PublishRankingRequest, context: grpc.ServicerContext) -> rankings_pb2.PublishRankingResponse:
        """Freezes an ended period's ranking (idempotent on request_id; a second publication must supersede)."""
        published = self.rankings.publish(
            request_id=request.request_id,
            period=request.period,
            role=convert.role_name(request.role),
            grouping=grouping_name(request.peer_group),
            supersede=request.supersede,
            reason=request.reason,
            published_by=acting_caller(request.published_by, "published_by"),
        )
        return rankings_pb2.PublishRankingResponse(
            ranking=published_message(published.ranking), position=published.position, replayed=published.replayed
        )

    def GetPublishedRanking(
        self, request: rankings_pb2.GetPublishedRankingRequest, context: grpc.ServicerContext
    ) -> rankings_pb2.GetPublishedRankingResponse:
        """Returns a publication exactly as frozen, a page of members at a time."""
        page = self.rankings.get_published(
            period=request.period,
            role=convert.role_name(request.role),
            grouping=grouping_name(request.peer_group),
            sequence=request.sequence,
            page_size=request.page_size,
            page_token=request.page_token,
        )
        return rankings_pb2.GetPublishedRankingResponse(
            ranking=published_message(page.ranking),
            rows=[row_message(r) for r in page.rows],
            next_page_token=page.next_page_token,
            superseded_by=page.superseded_by,
        )

    def SimulateRanking(
        self, request: rankings_pb2.SimulateRankingRequest, context: grpc.ServicerContext
    ) -> rankings_pb2.SimulateRankingResponse:
        """Lists who would cross a line under a candidate policy (nothing is published)."""
        page = self.rankings.simulate(
            period=request.period,
            role=convert.role_name(request.role),
            grouping=grouping_name(request.peer_group),
            candidate_policy=request.candidate_policy,
            source=request.source_name,
            page_size=request.page_size,
            page_token=request.page_token,
            min_position=request.min_position,
            timeout=remaining_time(context),
        )
        return rankings_pb2.SimulateRankingResponse(
            period=page.period,
            role=request.role,
            peer_group=GROUPING_VALUES[page.grouping],
            current_rules=rules_message(page.current, page.grouping),
            candidate_rules=rules_message(page.candidate, page.grouping),
            events=page.events,
            members=page.members,
            moves=[move_message(m) for m in page.moves],
            total_moves=page.total_moves,
            notes=list(page.notes),
            next_page_token=page.next_page_token,
            position=page.position,
        )
