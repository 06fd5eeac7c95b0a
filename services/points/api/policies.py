"""The PolicyService servicer and its translations: proto -> application -> proto."""

from __future__ import annotations

import grpc
from google.protobuf.timestamp_pb2 import Timestamp

from points.api.auth import acting_caller
from points.api.convert import decimal_text, pay_rules_message, proposal_message, role_value
from points.application import pages
from points.application.policies import PolicyAdministration, RetroactiveImpact
from points.domain.errors import Violations
from points.domain.policy import Policy
from points.domain.policy_book import Publication
from points.v1 import policies_pb2, policies_pb2_grpc


def _text(value: object | None) -> str:
    return "" if value is None else decimal_text(value)  # type: ignore[arg-type]


def version_message(publication: Publication, policy: Policy | None, *, with_document: bool) -> policies_pb2.PolicyVersion:
    published = Timestamp()
    published.FromDatetime(publication.published_at)
    message = policies_pb2.PolicyVersion(
        version=publication.version,
        effective_from=publication.effective_from.isoformat(),
        digest=publication.digest,
        published_by=publication.published_by,
        reason=publication.reason,
        publish_time=published,
        document=publication.document if with_document else "",
    )
    if policy is not None and policy.pay is not None:
        message.pay.CopyFrom(pay_rules_message(policy.pay))
    if policy is not None:
        for role in sorted(policy.roles.values(), key=lambda r: r.role):
            message.roles.add(
                role=role_value(role.role),
                weights={d: decimal_text(w) for d, w in role.weights.items()},
                rules=[
                    policies_pb2.PolicyRule(
                        rule_id=rule.rule_id,
                        kind=rule.kind,
                        dimension=rule.dimension,
                        points_per_unit=decimal_text(rule.points_per_unit),
                        when=dict(rule.when),
                        multipliers={c: decimal_text(m) for c, m in rule.multipliers.items()},
                        cap_per_day=_text(rule.cap_per_day),
                        cap_per_period=_text(rule.cap_per_period),
                    )
                    for kind in sorted(role.rules)
                    for rule in role.rules[kind]
                ],
            )
    return message


def impact_message(impact: RetroactiveImpact) -> policies_pb2.RetroactiveImpact:
    return policies_pb2.RetroactiveImpact(
        events=impact.events,
        balances=[
            policies_pb2.RetroactiveImpact.AffectedBalance(
                employee_id=b.employee_id,
                period=b.period,
                booked_points=decimal_text(b.booked_points),
                rescored_points=decimal_text(b.rescored_points),
            )
            for b in impact.balances
        ],
        truncated=impact.truncated,
    )


class PolicyServicer(policies_pb2_grpc.PolicyServiceServicer):
    def __init__(self, administration: PolicyAdministration) -> None:
        self.administration = administration

    def PublishPolicy(self, request: policies_pb2.PublishPolicyRequest, context: grpc.ServicerContext) -> policies_pb2.PublishPolicyResponse:
        """Validates and publishes a policy version; reports what it would change retroactively."""
        published, impact = self.administration.publish(
            document=request.document,
            source=request.source_name,
            effective_from=request.effective_from,
            published_by=acting_caller(request.published_by, "published_by"),  # the authenticated caller, when there is one
            reason=request.reason,
        )
        policy = self.administration.app.get_policy(version=published.policy.version, in_force_on="")[1]
        return policies_pb2.PublishPolicyResponse(
            policy=version_message(published.policy, policy, with_document=True),
            position=published.position,
            replayed=published.replayed,
            impact=impact_message(impact),
        )

    def GetPolicy(self, request: policies_pb2.GetPolicyRequest, context: grpc.ServicerContext) -> policies_pb2.GetPolicyResponse:
        """Returns a version by name, or the one in force on a date."""
        publication, policy = self.administration.app.get_policy(version=request.version, in_force_on=request.in_force_on)
        return policies_pb2.GetPolicyResponse(policy=version_message(publication, policy, with_document=True))

    def ListPolicies(self, request: policies_pb2.ListPoliciesRequest, context: grpc.ServicerContext) -> policies_pb2.ListPoliciesResponse:
        """Lists published versions, oldest first, without their documents."""
        publications, token = self.administration.list_policies(page_size=request.page_size, page_token=request.page_token)
        return policies_pb2.ListPoliciesResponse(
            policies=[version_message(p, None, with_document=False) for p in publications], next_page_token=token
        )

    def RecalculatePoints(
        self, request: policies_pb2.RecalculatePointsRequest, context: grpc.ServicerContext
    ) -> policies_pb2.RecalculatePointsResponse:
        """Rescores the booked events in a version's reach (explicit and audited)."""
        result = self.administration.recalculate(
            recalculation_id=request.request_id,
            version=request.version,
            requested_by=acting_caller(request.requested_by, "requested_by"),
            reason=request.reason,
        )
        return policies_pb2.RecalculatePointsResponse(events=result.events, position=result.position, replayed=result.replayed)

    def ProposeRecalculation(
        self, request: policies_pb2.ProposeRecalculationRequest, context: grpc.ServicerContext
    ) -> policies_pb2.ProposeRecalculationResponse:
        """Proposes a recalculation under a version (four eyes: another person approves)."""
        proposal = self.administration.propose_recalculation(
            request_id=request.request_id,
            version=request.version,
            proposed_by=acting_caller(request.proposed_by, "proposed_by"),
            reason=request.reason,
        )
        return policies_pb2.ProposeRecalculationResponse(proposal=proposal_message(proposal))

    def ApproveRecalculation(
        self, request: policies_pb2.ApproveRecalculationRequest, context: grpc.ServicerContext
    ) -> policies_pb2.ApproveRecalculationResponse:
        """Approves a proposed recalculation and runs it."""
        proposal, result = self.administration.approve_recalculation(
            proposal_id=request.proposal_id, approved_by=acting_caller(request.approved_by, "approved_by"), reason=request.reason
        )
        return policies_pb2.ApproveRecalculationResponse(
            proposal=proposal_message(proposal), events=result.events, position=result.position, replayed=result.replayed
        )

    def WithdrawRecalculation(
        self, request: policies_pb2.WithdrawRecalculationRequest, context: grpc.ServicerContext
    ) -> policies_pb2.WithdrawRecalculationResponse:
        """Withdraws a pending recalculation proposal."""
        proposal = self.administration.withdraw_recalculation(
            proposal_id=request.proposal_id, withdrawn_by=acting_caller(request.withdrawn_by, "withdrawn_by"), reason=request.reason
        )
        return policies_pb2.WithdrawRecalculationResponse(proposal=proposal_message(proposal))

    def ListRecalculations(
        self, request: policies_pb2.ListRecalculationsRequest, context: grpc.ServicerContext
    ) -> policies_pb2.ListRecalculationsResponse:
        """Lists proposed recalculations, oldest first."""
        v = Violations()
        size = pages.page_size(v, request.page_size, default=20, maximum=100)
        state = self.administration.tokens.resume(v, request.page_token, {"list": "recalculations"}, {"after": int})
        v.raise_if_any()
        after = int(state.get("after", 0)) if state else 0
        remaining = [(p, events) for p, events in self.administration.recalculations() if p.position > after]
        token = self.administration.tokens.issue({"list": "recalculations"}, {"after": remaining[size - 1][0].position}) if len(remaining) > size else ""
        return policies_pb2.ListRecalculationsResponse(
            recalculations=[
                policies_pb2.ListRecalculationsResponse.Recalculation(
                    proposal=proposal_message(p), finished=events is not None, events=events or 0
                )
                for p, events in remaining[:size]
            ],
            next_page_token=token,
        )
