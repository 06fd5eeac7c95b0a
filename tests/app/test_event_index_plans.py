"""The batch lookups probe the event table's primary key, even before PostgreSQL has statistics for it.

Every write batch asks which of its requests are stored already and what changed in the
aggregates it scores against (PostgresEventIndex). On a table PostgreSQL has not analyzed yet
(a new deployment or schema, until autovacuum gets to it) the planner turned those lookups into a
hash join over a sequential scan of the whole log: each batch read every event (13 ms at 51,000
events, growing with the log), which the benchmark's fresh schemas paid on every write.
"""

from __future__ import annotations

import json
from typing import Any

import pytest
from psycopg.sql import SQL, Identifier

from points.application.points import PointsApplication
from points.storage.event_index import PostgresEventIndex, _key_params

EVENTS = 60_000
STATE_BYTES = 700  # a stored work event's state is about this long; the planner's blind guess of the row count depends on it


def plan_nodes(plan: dict[str, Any]) -> list[dict[str, Any]]:
    nodes = [plan]
    for child in plan.get("Plans", []):
        nodes += plan_nodes(child)
    return nodes


@pytest.mark.parametrize("database_url", ["postgresql"], indirect=True)
def test_the_batch_lookups_probe_the_key_on_a_log_without_statistics(app: PointsApplication) -> None:
    index = app.index
    assert isinstance(index, PostgresEventIndex)
    datastore = app.recorder.datastore
    schema, table_name = datastore.schema, app.recorder.events_table_name  # type: ignore[attr-defined]
    table = SQL("{}.{}").format(Identifier(schema), Identifier(table_name))
    with datastore.transaction(commit=True) as curs:
        curs.execute(SQL("ALTER TABLE {} SET (autovacuum_enabled = false)").format(table))  # no ANALYZE behind the test's back
        curs.execute(
            SQL(
                "INSERT INTO {} (originator_id, originator_version, topic, state) "
                "SELECT md5(a::text)::uuid, v, 'test:Event', convert_to(repeat('x', %s), 'UTF8') FROM generate_series(1, %s) a, generate_series(1, 2) v"
            ).format(table),
            (STATE_BYTES, EVENTS // 2),
        )
        curs.execute("SELECT count(*) AS n FROM pg_stats WHERE schemaname = %s AND tablename = %s", (schema, table_name))
        assert curs.fetchone()["n"] == 0, "the table has statistics already: this test would not test the planner's blind case"

    # Ten aggregates of two events each: the positions of their first events, and what follows version 1.
    with datastore.transaction(commit=False) as curs:
        curs.execute(
            SQL("SELECT originator_id, notification_id FROM {} WHERE originator_version = 1 ORDER BY notification_id LIMIT 10").format(table)
        )
        firsts = {row["originator_id"]: row["notification_id"] for row in curs.fetchall()}
    keys = [(aggregate_id, 1) for aggregate_id in firsts]

    for statement in (index.statement, index.newer_statement):
        with datastore.transaction(commit=False) as curs:
            curs.execute(SQL("EXPLAIN (FORMAT JSON) ") + statement, _key_params(keys))
            row = curs.fetchone()
            plan = row["QUERY PLAN"] if isinstance(row["QUERY PLAN"], list) else json.loads(row["QUERY PLAN"])
        scans = [n for n in plan_nodes(plan[0]["Plan"]) if n.get("Relation Name") == table_name]
        assert scans, plan
        assert all(n["Node Type"] != "Seq Scan" for n in scans), f"a sequential scan of the log:\n{json.dumps(plan, indent=1)}"

    positions, newer = index.lookup(keys, keys)
    assert positions == {(aggregate_id, 1): position for aggregate_id, position in firsts.items()}
    assert [(e.originator_id, e.originator_version) for e in newer] == sorted((aggregate_id, 2) for aggregate_id in firsts)
