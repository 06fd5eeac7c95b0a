"""State fixtures for the API tests: each names the state it sets up through the real server."""

from __future__ import annotations

from typing import TYPE_CHECKING

import pytest

from tests.api.calls import Staffed, staff_outlet

if TYPE_CHECKING:
    from tests.conftest import Client


@pytest.fixture
def staffed_outlet(client: Client) -> Staffed:
    """Outlet north-01 (class A) with supervisor os-1 and service manager sm-1, both from 2026-01-01."""
    return staff_outlet(client.directory)
