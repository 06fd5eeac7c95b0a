"""Fixtures of the fault tests: a seeded random source, and a PostgreSQL cluster of their own to crash."""

from __future__ import annotations

import random
from collections.abc import Iterator

import pytest

from tests.faults.budget import seed
from tests.faults.cluster import CrashableCluster


@pytest.fixture
def rng() -> random.Random:
    """This test's random source; its seed is printed (POINTS_FAULTS_SEED replays it)."""
    return random.Random(seed())


@pytest.fixture(scope="session")
def crash_cluster() -> Iterator[CrashableCluster]:
    """A throwaway cluster (its own data directory and port) that tests may stop hard and terminate backends on."""
    try:
        cluster = CrashableCluster.start_new()
    except RuntimeError as e:
        pytest.fail(f"the fault tests need a PostgreSQL cluster of their own and none could be started:\n{e}", pytrace=False)
    try:
        yield cluster
    finally:
        cluster.close()
