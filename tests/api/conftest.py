"""State fixtures for the API tests: each names the state it sets up through the real server."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from points.server import PointsService, Settings, build_service
from tests.api.calls import Staffed, staff_outlet
from tests.api.secured import SigningKeys, signing_keys

if TYPE_CHECKING:
    from tests.conftest import Client, Clock


@pytest.fixture
def staffed_outlet(client: Client) -> Staffed:
    """Outlet north-01 (class A) with supervisor os-1 and service manager sm-1, both from 2026-01-01."""
    return staff_outlet(client.directory)


@pytest.fixture
def keys(tmp_path: Path) -> SigningKeys:
    """A development signing key pair (Ed25519); servers are given `keys.public_path` as --jwt-keys."""
    return signing_keys(tmp_path)


@pytest.fixture
def sqlite_service(tmp_path: Path, clock: Clock) -> Iterator[PointsService]:
    """A service on a SQLite file, for tests where the store does not matter (authentication, transport)."""
    built = build_service(Settings(database_url=f"sqlite:///{tmp_path}/points.db", clock=clock))
    yield built
    built.close()
