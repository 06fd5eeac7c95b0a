"""The policy book: publications are immutable, effective dates only move forward, and the catalog finds the version in force."""

from __future__ import annotations

from datetime import date, datetime, timezone

import pytest

from points.application.policy_file import example_policy_path, parse_policy
from points.domain.errors import AlreadyExists, FailedPrecondition
from points.domain.policy import Policy
from points.domain.policy_book import PolicyBook, PolicyCatalog, document_digest

NOW = datetime(2026, 11, 28, 9, 30, tzinfo=timezone.utc)
EXAMPLE = example_policy_path().read_text(encoding="utf-8")


def version_of(version: str, effective_from: str) -> tuple[Policy, str]:
    """The example policy renamed `version`, effective `effective_from`, and its document."""
    document = EXAMPLE.replace('version = "2026.1"', f'version = "{version}"').replace(
        'effective_from = "2026-01-01"', f'effective_from = "{effective_from}"'
    )
    return parse_policy(document, version), document


@pytest.fixture
def book() -> PolicyBook:
    """A book with 2026.1 (from 2026-01-01) and 2026.2 (from 2026-11-01) published."""
    opened = PolicyBook.open(timestamp=NOW)
    for version, effective_from in (("2026.1", "2026-01-01"), ("2026.2", "2026-11-01")):
        policy, document = version_of(version, effective_from)
        opened.publish(policy=policy, document=document, published_by="hq", reason="test", timestamp=NOW)
    return opened


def test_a_publication_keeps_who_when_why_and_the_digest_of_the_document(book: PolicyBook) -> None:
    _, document = version_of("2026.2", "2026-11-01")

    published = book.find("2026.2")

    assert published is not None
    assert (published.version, published.effective_from) == ("2026.2", date(2026, 11, 1))
    assert (published.published_by, published.reason, published.published_at) == ("hq", "test", NOW)
    assert (published.document, published.digest) == (document, document_digest(document))
    assert published.book_version == 3  # Opened is 1, 2026.1's publication 2


@pytest.mark.parametrize("effective_from", ["2026-10-31", "2026-11-01", "2025-12-31"])
def test_a_new_version_must_take_effect_after_the_latest(book: PolicyBook, effective_from: str) -> None:
    policy, document = version_of("2026.3", effective_from)

    with pytest.raises(FailedPrecondition) as refused:
        book.publish(policy=policy, document=document, published_by="hq", reason="test", timestamp=NOW)

    assert refused.value.reason == "EFFECTIVE_DATE_NOT_AFTER_LATEST"
    assert [p.version for p in book.publications] == ["2026.1", "2026.2"]


def test_a_new_version_the_day_after_the_latest_is_published(book: PolicyBook) -> None:
    policy, document = version_of("2026.3", "2026-11-02")

    book.publish(policy=policy, document=document, published_by="hq", reason="test", timestamp=NOW)

    assert [p.version for p in book.publications] == ["2026.1", "2026.2", "2026.3"]


def test_the_same_publication_again_is_found_as_a_replay(book: PolicyBook) -> None:
    _, document = version_of("2026.1", "2026-01-01")

    replayed = book.replayed("2026.1", date(2026, 1, 1), document_digest(document))

    assert replayed is book.publications[0]


def test_an_unpublished_version_is_no_replay(book: PolicyBook) -> None:
    assert book.replayed("2026.3", date(2027, 1, 1), "0" * 64) is None


@pytest.mark.parametrize(
    ("effective_from", "document"),
    [
        (date(2026, 11, 1), version_of("2026.2", "2026-11-01")[1] + "# changed\n"),
        (date(2026, 11, 2), version_of("2026.2", "2026-11-01")[1]),
    ],
    ids=["other-document", "other-date"],
)
def test_a_published_version_cannot_change(book: PolicyBook, effective_from: date, document: str) -> None:
    with pytest.raises(AlreadyExists) as refused:
        book.replayed("2026.2", effective_from, document_digest(document))

    assert refused.value.reason == "POLICY_VERSION_EXISTS"


# -- the catalog ------------------------------------------------------------------------


@pytest.fixture(scope="module")
def catalog() -> PolicyCatalog:
    """2026.1 from 2026-01-01, 2026.2 from 2026-11-01, 2027.1 from 2027-01-01."""
    return PolicyCatalog.of(
        version_of("2026.1", "2026-01-01")[0], version_of("2026.2", "2026-11-01")[0], version_of("2027.1", "2027-01-01")[0]
    )


@pytest.mark.parametrize(
    ("day", "version"),
    [
        (date(2025, 12, 31), None),
        (date(2026, 1, 1), "2026.1"),
        (date(2026, 10, 31), "2026.1"),
        (date(2026, 11, 1), "2026.2"),
        (date(2026, 12, 31), "2026.2"),
        (date(2027, 1, 1), "2027.1"),
        (date(2099, 1, 1), "2027.1"),
    ],
)
def test_the_version_in_force_is_the_latest_effective_on_or_before_the_day(
    catalog: PolicyCatalog, day: date, version: str | None
) -> None:
    in_force = catalog.in_force(day)

    assert (in_force.version if in_force else None) == version


def test_the_catalog_knows_its_latest_version_and_roles(catalog: PolicyCatalog) -> None:
    latest = catalog.latest()

    assert latest is not None and latest.version == "2027.1"
    assert catalog.roles() == ["operations_supervisor", "service_manager"]
    assert catalog.knows_role("service_manager") and not catalog.knows_role("outlet_head")
    assert [p.book_version for p in catalog.publications] == [2, 3, 4]


def test_an_empty_catalog_has_nothing_in_force() -> None:
    empty = PolicyCatalog.of()

    assert empty.empty
    assert (empty.in_force(date(2026, 11, 1)), empty.latest(), empty.roles()) == (None, None, [])
