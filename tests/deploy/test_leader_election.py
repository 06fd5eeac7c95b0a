"""Leader election on a real PostgreSQL, in one process: one leader, handover on stop, and on a lost session."""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import psycopg
import pytest

from points.projections.leader import ProjectorElection, projection_lock_key
from points.storage.migrate import postgres_conninfo
from points.storage.settings import parse_database_url
from tests.deploy.fleet import wait_until
from tests.support.pgserver import PostgresServer

pytestmark = pytest.mark.postgres


class CountingProjector:
    """Stands in for BalanceProjector: remembers whether it runs and how often it was started."""

    def __init__(self) -> None:
        self.running = False
        self.starts = 0
        self.position = 0

    def start(self) -> None:
        self.running, self.starts = True, self.starts + 1

    def stop(self, timeout: float = 10.0) -> None:
        self.running = False

    def wake(self) -> None:
        pass


@pytest.fixture
def conninfo(postgres_server: PostgresServer) -> dict[str, str]:
    return postgres_conninfo(parse_database_url(postgres_server.url))


@pytest.fixture
def two_candidates(conninfo: dict[str, str]) -> Iterator[list[tuple[ProjectorElection, CountingProjector]]]:
    projection = f"test_{uuid.uuid4().hex[:8]}"  # a lock of its own
    candidates = []
    for _ in range(2):
        projector = CountingProjector()
        election = ProjectorElection(
            projector, conninfo=conninfo, lock_key=projection_lock_key("public", projection), projection=projection,
            check_interval=0.2, retry_interval=0.1,
        )  # fmt: skip
        candidates.append((election, projector))
    for election, _ in candidates:
        election.start()
    yield candidates
    for election, _ in candidates:
        election.stop()


def leaders(candidates: list[tuple[ProjectorElection, CountingProjector]]) -> list[int]:
    return [i for i, (election, projector) in enumerate(candidates) if election.leading and projector.running]


def test_exactly_one_candidate_leads_and_stopping_it_hands_over(two_candidates: list[tuple[ProjectorElection, CountingProjector]]) -> None:
    assert wait_until(lambda: len(leaders(two_candidates)) == 1, 5) is not None
    assert wait_until(lambda: len(leaders(two_candidates)) != 1, 0.5) is None  # and stays one
    first = leaders(two_candidates)[0]

    two_candidates[first][0].stop()

    assert not two_candidates[first][1].running
    assert wait_until(lambda: leaders(two_candidates) == [1 - first], 2) is not None


def test_a_leader_whose_session_is_killed_stops_projecting_and_the_other_takes_over(
    two_candidates: list[tuple[ProjectorElection, CountingProjector]], postgres_server: PostgresServer
) -> None:
    assert wait_until(lambda: len(leaders(two_candidates)) == 1, 5) is not None
    first = leaders(two_candidates)[0]
    key = two_candidates[first][0].lock_key & 0xFFFFFFFFFFFFFFFF

    with psycopg.connect(postgres_server.url, autocommit=True) as admin:
        holders = admin.execute(
            "SELECT pid FROM pg_locks WHERE locktype = 'advisory' AND granted AND classid::bigint = %s AND objid::bigint = %s",
            (key >> 32, key & 0xFFFFFFFF),
        ).fetchall()
        assert len(holders) == 1
        admin.execute("SELECT pg_terminate_backend(%s)", (holders[0][0],))

    assert wait_until(lambda: leaders(two_candidates) == [1 - first], 3) is not None
    assert not two_candidates[first][1].running
