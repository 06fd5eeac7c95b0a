"""Audit fields name the authenticated caller: a policy's `published_by` (like a work event's `recorded_by`)."""

from __future__ import annotations

from collections.abc import Iterator

import grpc
import pytest

from points.application.policy_file import example_policy_path
from points.server import PointsService
from points.v1 import policies_pb2, policies_pb2_grpc
from tests.api.rich_status import assert_rejected
from tests.api.secured import SigningKeys, plaintext_client, with_jwt


def example_as(version: str, effective_from: str) -> str:
    """The shipped example policy under another version and effective date."""
    text = example_policy_path().read_text(encoding="utf-8")
    return text.replace('version = "2026.1"', f'version = "{version}"', 1).replace(
        'effective_from = "2026-01-01"', f'effective_from = "{effective_from}"', 1
    )


@pytest.fixture
def policies(sqlite_service: PointsService, keys: SigningKeys) -> Iterator[policies_pb2_grpc.PolicyServiceStub]:
    with plaintext_client(sqlite_service, with_jwt(keys)) as client:
        yield policies_pb2_grpc.PolicyServiceStub(client.channel)


def publish(version: str, published_by: str, effective_from: str = "2026-11-01") -> policies_pb2.PublishPolicyRequest:
    return policies_pb2.PublishPolicyRequest(
        document=example_as(version, effective_from), reason="rate review", published_by=published_by, source_name=f"{version}.toml"
    )


def test_published_by_is_the_admin_who_published(policies: policies_pb2_grpc.PolicyServiceStub, keys: SigningKeys) -> None:
    admin = keys.bearer("admin-hq", ["admin"])

    left_empty = policies.PublishPolicy(publish("2026.2", ""), metadata=admin, timeout=10)
    repeated = policies.PublishPolicy(publish("2026.3", "admin-hq", "2026-12-01"), metadata=admin, timeout=10)

    assert [p.policy.published_by for p in (left_empty, repeated)] == ["admin-hq", "admin-hq"]


def test_publishing_in_someone_elses_name_is_denied(policies: policies_pb2_grpc.PolicyServiceStub, keys: SigningKeys) -> None:
    admin = keys.bearer("admin-hq", ["admin"])

    with pytest.raises(grpc.RpcError) as caught:
        policies.PublishPolicy(publish("2026.2", "the-board"), metadata=admin, timeout=10)

    assert_rejected(caught.value, grpc.StatusCode.PERMISSION_DENIED, "PUBLISHED_BY_NOT_CALLER")
    listed = policies.ListPolicies(policies_pb2.ListPoliciesRequest(page_size=10), metadata=keys.bearer("auditor-1", ["auditor"]), timeout=10)
    assert [p.version for p in listed.policies] == ["2026.1"]
