"""PolicyService through a real server: publish, get, list, and every refusal with its rich error.

The store starts with the example 2026.1 (from 2026-01-01); NOVEMBER_VERSION is 2026.2 from
2026-11-01, where a plain counter transaction earns 2 points instead of 1. Today is 2026-11-28.
"""

from __future__ import annotations

import hashlib
from typing import TYPE_CHECKING

import grpc
import pytest
from google.rpc import error_details_pb2
from grpc_status import rpc_status

from points.v1 import directory_pb2, policies_pb2, policies_pb2_grpc
from tests.api.calls import Staffed, balance, work
from tests.api.rich_status import assert_rejected
from tests.support.policy_versions import EXAMPLE_VERSION, NOVEMBER_VERSION, version_of

if TYPE_CHECKING:
    from tests.conftest import Client


@pytest.fixture
def policies(client: Client) -> policies_pb2_grpc.PolicyServiceStub:
    return policies_pb2_grpc.PolicyServiceStub(client.channel)


def publish_request(document: str, *, effective_from: str = "", reason: str = "rate review", by: str = "hq") -> policies_pb2.PublishPolicyRequest:
    return policies_pb2.PublishPolicyRequest(
        document=document, effective_from=effective_from, reason=reason, published_by=by, source_name="2026.2.toml"
    )


def versions(policies: policies_pb2_grpc.PolicyServiceStub) -> list[tuple[str, str]]:
    listed = policies.ListPolicies(policies_pb2.ListPoliciesRequest(page_size=100))
    return [(p.version, p.effective_from) for p in listed.policies]


@pytest.fixture
def november_published(policies: policies_pb2_grpc.PolicyServiceStub) -> policies_pb2.PublishPolicyResponse:
    """2026.2 published (effective 2026-11-01)."""
    return policies.PublishPolicy(publish_request(NOVEMBER_VERSION))


# -- publish --------------------------------------------------------------------------


def test_publishing_answers_with_the_version_its_audit_and_position(
    november_published: policies_pb2.PublishPolicyResponse,
) -> None:
    published = november_published.policy

    assert (published.version, published.effective_from, published.published_by, published.reason) == (
        "2026.2", "2026-11-01", "hq", "rate review",
    )  # fmt: skip
    assert published.digest == hashlib.sha256(NOVEMBER_VERSION.encode()).hexdigest()
    assert published.document == NOVEMBER_VERSION
    assert published.publish_time.ToDatetime().isoformat() == "2026-11-28T09:30:00"  # the test clock, UTC
    assert (november_published.position, november_published.replayed) == (3, False)  # after the first start's 1 and 2


def test_publishing_the_same_version_again_is_a_replay(
    policies: policies_pb2_grpc.PolicyServiceStub, november_published: policies_pb2.PublishPolicyResponse
) -> None:
    again = policies.PublishPolicy(publish_request(NOVEMBER_VERSION, reason="retry"))

    assert (again.replayed, again.position, again.policy.reason) == (True, november_published.position, "rate review")
    assert versions(policies) == [("2026.1", "2026-01-01"), ("2026.2", "2026-11-01")]


@pytest.mark.usefixtures("november_published")
def test_the_same_version_with_other_content_is_already_exists(policies: policies_pb2_grpc.PolicyServiceStub) -> None:
    with pytest.raises(grpc.RpcError) as refused:
        policies.PublishPolicy(publish_request(version_of("2026.2", "2026-11-01", plain_counter_rate="3")))

    assert_rejected(refused.value, grpc.StatusCode.ALREADY_EXISTS, "POLICY_VERSION_EXISTS")


@pytest.mark.usefixtures("november_published")
def test_an_effective_date_not_after_the_latest_is_a_failed_precondition(policies: policies_pb2_grpc.PolicyServiceStub) -> None:
    with pytest.raises(grpc.RpcError) as refused:
        policies.PublishPolicy(publish_request(version_of("2026.3", "2026-10-01")))

    assert_rejected(refused.value, grpc.StatusCode.FAILED_PRECONDITION, "EFFECTIVE_DATE_NOT_AFTER_LATEST")
    assert [v for v, _ in versions(policies)] == ["2026.1", "2026.2"]


def test_the_effective_from_field_overrides_the_documents(policies: policies_pb2_grpc.PolicyServiceStub) -> None:
    published = policies.PublishPolicy(publish_request(NOVEMBER_VERSION, effective_from="2027-01-01"))

    assert published.policy.effective_from == "2027-01-01"
    assert versions(policies)[-1] == ("2026.2", "2027-01-01")


@pytest.mark.parametrize(
    ("reason", "by", "violation"),
    [("", "hq", "reason"), ("rate review", "", "published_by")],
)
def test_publishing_without_who_or_why_is_invalid_argument(
    policies: policies_pb2_grpc.PolicyServiceStub, reason: str, by: str, violation: str
) -> None:
    with pytest.raises(grpc.RpcError) as refused:
        policies.PublishPolicy(publish_request(NOVEMBER_VERSION, reason=reason, by=by))

    assert_rejected(refused.value, grpc.StatusCode.INVALID_ARGUMENT, f"MISSING_{violation.upper()}", field=violation)


BROKEN = (
    NOVEMBER_VERSION.replace('dimension = "quality"', 'dimension = "qualty"', 1)  # os-counter-review's
    .replace("A = 1.0, B = 1.1, C = 1.2", "A = 1.0, B = 1.1, D = 1.2")  # sm-customer-served's
    .replace('id = "sm-online-migration"', 'id = "sm-customer-served"')  # a duplicate rule id
)


def line_of(text: str, fragment: str) -> int:
    """The 1-based number of the first line of `text` containing `fragment`."""
    return next(i + 1 for i, line in enumerate(text.splitlines()) if fragment in line)


def test_an_invalid_policy_is_invalid_argument_with_one_violation_per_problem_and_nothing_is_stored(
    policies: policies_pb2_grpc.PolicyServiceStub,
) -> None:
    listed_before = policies.ListPolicies(policies_pb2.ListPoliciesRequest())

    with pytest.raises(grpc.RpcError) as refused:
        policies.PublishPolicy(publish_request(BROKEN))

    rich = assert_rejected(refused.value, grpc.StatusCode.INVALID_ARGUMENT, "INVALID_POLICY")
    assert rich.violations == (
        ("roles.operations_supervisor.rules[2].dimension", "INVALID_POLICY"),
        ("roles.service_manager.rules[3].multiplier.D", "INVALID_POLICY"),
        ("roles.service_manager.rules[4].id", "INVALID_POLICY"),
    )
    duplicate_id = line_of(BROKEN, 'kind = "online_migration"') - 1  # the id line just above it
    for line in (line_of(BROKEN, "qualty"), line_of(BROKEN, "D = 1.2"), duplicate_id):
        assert f"line {line}:" in rich.message
    assert policies.ListPolicies(policies_pb2.ListPoliciesRequest()) == listed_before


def test_each_violation_describes_its_problem_with_the_line(policies: policies_pb2_grpc.PolicyServiceStub) -> None:
    with pytest.raises(grpc.RpcError) as refused:
        policies.PublishPolicy(publish_request(NOVEMBER_VERSION.replace('dimension = "quality"', 'dimension = "qualty"', 1)))

    status = rpc_status.from_call(refused.value)  # type: ignore[arg-type]
    assert status is not None
    bad = error_details_pb2.BadRequest()
    next(d for d in status.details if d.Is(error_details_pb2.BadRequest.DESCRIPTOR)).Unpack(bad)
    [violation] = bad.field_violations
    qualty = line_of(NOVEMBER_VERSION.replace('dimension = "quality"', 'dimension = "qualty"', 1), "qualty")
    assert violation.description.startswith(f"line {qualty}: unknown dimension 'qualty'")


def test_a_toml_syntax_error_is_invalid_argument_naming_the_line(policies: policies_pb2_grpc.PolicyServiceStub) -> None:
    broken = NOVEMBER_VERSION.replace("[roles.service_manager.dimensions]", "[roles.service_manager.dimensions")

    with pytest.raises(grpc.RpcError) as refused:
        policies.PublishPolicy(publish_request(broken))

    rich = assert_rejected(refused.value, grpc.StatusCode.INVALID_ARGUMENT, "INVALID_POLICY", field="syntax")
    assert f"line {line_of(broken, '[roles.service_manager.dimensions')}" in rich.message
    assert [v for v, _ in versions(policies)] == ["2026.1"]


# -- get and list ----------------------------------------------------------------------------


@pytest.mark.usefixtures("november_published")
@pytest.mark.parametrize(
    ("request_fields", "version"),
    [
        ({"version": "2026.1"}, "2026.1"),
        ({"version": "2026.2"}, "2026.2"),
        ({"in_force_on": "2026-10-31"}, "2026.1"),
        ({"in_force_on": "2026-11-01"}, "2026.2"),
    ],
)
def test_get_policy_by_version_or_by_the_day_in_force(
    policies: policies_pb2_grpc.PolicyServiceStub, request_fields: dict[str, str], version: str
) -> None:
    found = policies.GetPolicy(policies_pb2.GetPolicyRequest(**request_fields)).policy

    assert found.version == version
    assert found.document == (EXAMPLE_VERSION if version == "2026.1" else NOVEMBER_VERSION)


def test_get_policy_shows_each_rule_with_its_when_multipliers_and_caps(policies: policies_pb2_grpc.PolicyServiceStub) -> None:
    found = policies.GetPolicy(policies_pb2.GetPolicyRequest(version="2026.1")).policy

    roles = {directory_pb2.Role.Name(r.role).removeprefix("ROLE_").lower(): r for r in found.roles}
    manager = roles["service_manager"]
    rules = {r.rule_id: r for r in manager.rules}
    assert sorted(roles) == ["operations_supervisor", "service_manager"]
    assert dict(manager.weights) == {"workload": "0.40", "quality": "0.15", "service": "0.35", "development": "0.10"}
    complex_rule = rules["sm-counter-transaction-complex"]
    assert (complex_rule.kind, complex_rule.points_per_unit, dict(complex_rule.when)) == (
        "counter_transaction", "1.5", {"complexity": "high"},
    )  # fmt: skip
    assert (complex_rule.cap_per_day, complex_rule.cap_per_period) == ("", "3000")
    assert dict(rules["sm-customer-served"].multipliers) == {"A": "1.0", "B": "1.1", "C": "1.2"}
    authorisation = {r.rule_id: r for r in roles["operations_supervisor"].rules}["os-counter-authorisation"]
    assert (authorisation.cap_per_day, authorisation.cap_per_period) == ("150", "")


@pytest.mark.parametrize(
    ("request_fields", "code", "reason"),
    [
        ({"version": "2099.1"}, grpc.StatusCode.NOT_FOUND, "POLICY_NOT_FOUND"),
        ({"in_force_on": "2025-12-31"}, grpc.StatusCode.NOT_FOUND, "POLICY_NOT_FOUND"),
        ({}, grpc.StatusCode.INVALID_ARGUMENT, "ONE_SELECTOR_REQUIRED"),
        ({"version": "2026.1", "in_force_on": "2026-01-01"}, grpc.StatusCode.INVALID_ARGUMENT, "ONE_SELECTOR_REQUIRED"),
        ({"in_force_on": "2026-02-30"}, grpc.StatusCode.INVALID_ARGUMENT, "MALFORMED_DATE"),
    ],
)
def test_get_policy_refusals(
    policies: policies_pb2_grpc.PolicyServiceStub, request_fields: dict[str, str], code: grpc.StatusCode, reason: str
) -> None:
    with pytest.raises(grpc.RpcError) as refused:
        policies.GetPolicy(policies_pb2.GetPolicyRequest(**request_fields))

    assert_rejected(refused.value, code, reason)


def test_list_policies_a_page_at_a_time(policies: policies_pb2_grpc.PolicyServiceStub) -> None:
    policies.PublishPolicy(publish_request(NOVEMBER_VERSION))
    policies.PublishPolicy(publish_request(version_of("2027.1", "2027-01-01")))

    seen, token, calls = [], "", 0
    while True:
        page = policies.ListPolicies(policies_pb2.ListPoliciesRequest(page_size=1, page_token=token))
        calls += 1
        assert len(page.policies) == 1
        seen.append(page.policies[0].version)
        token = page.next_page_token
        if not token:
            break

    assert (seen, calls) == (["2026.1", "2026.2", "2027.1"], 3)


def test_listed_versions_carry_no_document(policies: policies_pb2_grpc.PolicyServiceStub) -> None:
    [listed] = policies.ListPolicies(policies_pb2.ListPoliciesRequest()).policies

    assert (listed.version, listed.document, len(listed.digest)) == ("2026.1", "", 64)


def test_a_damaged_list_token_is_invalid_argument(policies: policies_pb2_grpc.PolicyServiceStub) -> None:
    with pytest.raises(grpc.RpcError) as refused:
        policies.ListPolicies(policies_pb2.ListPoliciesRequest(page_token="garbage"))

    assert_rejected(refused.value, grpc.StatusCode.INVALID_ARGUMENT, "INVALID_PAGE_TOKEN", field="page_token")


# -- scoring and retroactive impact ------------------------------------------------------------


def test_work_is_scored_by_the_version_in_force_on_its_date(
    client: Client, staffed_outlet: Staffed, november_published: policies_pb2.PublishPolicyResponse
) -> None:
    october = client.work.RecordWorkEvent(work("oct", "sm-1", "counter_transaction", "12", occurred_on="2026-10-31"))
    november = client.work.RecordWorkEvent(work("nov", "sm-1", "counter_transaction", "12", occurred_on="2026-11-01"))

    # 12 x 1 x .40 = 4.8 under 2026.1; 12 x 2 x .40 = 9.6 under 2026.2
    assert [(x.rule_id, x.policy_version, x.points, x.weighted_points) for x in october.lines] == [
        ("sm-counter-transaction", "2026.1", "12.0000", "4.8000")
    ]
    assert [(x.rule_id, x.policy_version, x.points, x.weighted_points) for x in november.lines] == [
        ("sm-counter-transaction", "2026.2", "24.0000", "9.6000")
    ]


def test_a_retroactive_publication_reports_its_impact_and_changes_no_balance(
    client: Client, staffed_outlet: Staffed, policies: policies_pb2_grpc.PolicyServiceStub
) -> None:
    client.work.RecordWorkEvent(work("ct", "sm-1", "counter_transaction", "12"))  # 4.8000; 2026.2: 9.6000
    last = client.work.RecordWorkEvent(work("cs", "sm-1", "customer_served", "7"))  # 1.2250 either way
    before = balance(client.balances, "sm-1", min_position=last.position)  # the view has booked both

    published = policies.PublishPolicy(publish_request(NOVEMBER_VERSION))

    impact = published.impact
    assert (impact.events, impact.truncated) == (2, False)
    assert [(b.employee_id, b.period, b.booked_points, b.rescored_points) for b in impact.balances] == [
        ("sm-1", "2026-11", "6.0250", "10.8250")  # 4.8 + 1.225 -> 9.6 + 1.225
    ]
    after = balance(client.balances, "sm-1", min_position=published.position)
    assert after.balance == before.balance
    assert after.balance.total == "6.0250"
