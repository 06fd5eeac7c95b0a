"""Attack: send string fields of any length (a 1 MB employee id, a 2,000-character request id in item 3 of a batch,
an oversized attribute) to a server that checks tokens, with or without a token (SQLite and PostgreSQL).

What must hold: every string field has a maximum (api/bounds.py, documented in docs/api.md), checked before anything
else reads the request: too long is INVALID_ARGUMENT, reason FIELD_TOO_LONG, one field violation per field (its
path), before authentication, before any log line, and without reaching the servicer.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterator
from pathlib import Path

import grpc
import pytest
from points.api.bounds import FIELD_MAX, FIELD_MAX_DEFAULT
from points.server import PointsService
from points.v1 import directory_pb2, policies_pb2, policies_pb2_grpc, work_events_pb2

from tests.api.calls import work
from tests.api.rich_status import assert_rejected, rich_error
from tests.api.secured import Metadata, SigningKeys, plaintext_client, with_jwt
from tests.conftest import Client

INVALID = grpc.StatusCode.INVALID_ARGUMENT
MEGABYTE = 1024 * 1024
DOCS = Path(__file__).resolve().parents[2] / "docs" / "api.md"


@pytest.fixture
def secured(service: PointsService, keys: SigningKeys) -> Iterator[Client]:
    with plaintext_client(service, with_jwt(keys)) as client:
        yield client


@pytest.fixture
def admin(keys: SigningKeys) -> Metadata:
    return keys.bearer("hq-admin", ["admin"])


def refusal(call: object) -> grpc.RpcError:
    with pytest.raises(grpc.RpcError) as caught:
        call()  # type: ignore[operator]
    return caught.value


def test_a_megabyte_employee_id_without_a_token_is_field_too_long_before_authentication(
    secured: Client, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    long_id = "e" * MEGABYTE

    error = refusal(lambda: secured.directory.GetEmployee(directory_pb2.GetEmployeeRequest(employee_id=long_id), timeout=30))

    rich = assert_rejected(error, INVALID, "FIELD_TOO_LONG", "employee_id")
    assert rich.violations == (("employee_id", "FIELD_TOO_LONG"),)
    assert len(rich.message) < 200  # the value is not echoed
    assert not [r for r in caplog.records if r.name.startswith("points.api.access")]  # the access check never ran
    assert all(len(r.getMessage()) < 10_000 for r in caplog.records)  # nothing logged the value


def test_every_long_field_of_a_batch_is_named_by_its_path(secured: Client, admin: Metadata) -> None:
    items = [work(f"ok-{i}", "sm-1", "counter_transaction", "1") for i in range(5)]
    items[3].request_id = "r" * 2000
    items[3].attributes["note"] = "n" * (FIELD_MAX_DEFAULT + 1)
    items[4].attributes["k" * 300] = "v"
    batch = work_events_pb2.RecordWorkEventsRequest(requests=items)

    error = refusal(lambda: secured.work.RecordWorkEvents(batch, metadata=admin, timeout=30))

    rich = assert_rejected(error, INVALID, "FIELD_TOO_LONG")
    assert set(rich.violations) == {
        ("requests[3].request_id", "FIELD_TOO_LONG"),
        ("requests[3].attributes['note']", "FIELD_TOO_LONG"),
        ("requests[4].attributes (a key)", "FIELD_TOO_LONG"),
    }


def test_a_nested_message_field_is_checked(secured: Client, admin: Metadata) -> None:
    correction = work_events_pb2.CorrectWorkEventRequest(
        request_id="fix-1", event_id="ev-1", reason="typo", amend=work_events_pb2.Amendment(kind="k" * (FIELD_MAX_DEFAULT + 1))
    )

    error = refusal(lambda: secured.work.CorrectWorkEvent(correction, metadata=admin, timeout=10))

    assert_rejected(error, INVALID, "FIELD_TOO_LONG", "amend.kind")


@pytest.mark.parametrize(("field", "limit"), [("reason", FIELD_MAX["reason"]), ("published_by", FIELD_MAX["published_by"])])
def test_free_text_has_its_documented_larger_maximum(secured: Client, admin: Metadata, field: str, limit: int) -> None:
    policies = policies_pb2_grpc.PolicyServiceStub(secured.channel)

    def publish(length: int) -> grpc.RpcError:
        request = policies_pb2.PublishPolicyRequest(document="not toml [", reason="why", published_by="me")
        setattr(request, field, "x" * length)
        return refusal(lambda: policies.PublishPolicy(request, metadata=admin, timeout=10))

    at_limit, over = rich_error(publish(limit)), rich_error(publish(limit + 1))

    assert (field, "FIELD_TOO_LONG") not in at_limit.violations and at_limit.reason != "FIELD_TOO_LONG"  # passed on: a bad policy
    assert over.violations == ((field, "FIELD_TOO_LONG"),)


def test_a_policy_document_may_be_as_long_as_the_domain_allows_but_no_longer(secured: Client, admin: Metadata) -> None:
    policies = policies_pb2_grpc.PolicyServiceStub(secured.channel)
    limit = FIELD_MAX["document"]

    over = refusal(
        lambda: policies.PublishPolicy(
            policies_pb2.PublishPolicyRequest(document="#" * (limit + 1), reason="why", published_by="me"), metadata=admin, timeout=30
        )
    )
    at_limit = refusal(
        lambda: policies.PublishPolicy(
            policies_pb2.PublishPolicyRequest(document="#" * limit, reason="why", published_by="me"), metadata=admin, timeout=30
        )
    )

    assert_rejected(over, INVALID, "FIELD_TOO_LONG", "document")
    assert rich_error(at_limit).reason != "FIELD_TOO_LONG"


def test_a_field_at_the_default_maximum_passes_the_bound(secured: Client) -> None:
    error = refusal(lambda: secured.directory.GetEmployee(directory_pb2.GetEmployeeRequest(employee_id="e" * FIELD_MAX_DEFAULT), timeout=10))

    assert error.code() == grpc.StatusCode.UNAUTHENTICATED  # reached the access check: no token


def test_the_documented_table_is_the_enforced_one() -> None:
    rows = re.findall(r"^ *\| `([\w()]+)` \| ([\d,]+) \|", DOCS.read_text(encoding="utf-8"), re.MULTILINE)

    assert {name: int(limit.replace(",", "")) for name, limit in rows} == {"(default)": FIELD_MAX_DEFAULT, **FIELD_MAX}
