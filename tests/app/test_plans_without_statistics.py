"""Lookups by key stay probes of an index, even before PostgreSQL has statistics for the table.

A table PostgreSQL has not analyzed yet (a new deployment or schema, until autovacuum gets to
it) leaves the planner guessing, and it guessed a sequential scan of the whole table for:
- every write batch's lookups (PostgresEventIndex): which requests are stored already, and
  what changed in the aggregates the batch scores against. 13 ms at 51,000 events, growing
  with the log; the benchmark's fresh schemas paid it on every write;
- a projected page's booked lines for the events it corrects or rescores (50 ids or more), and
  the cap usage its capped lines draw on.
"""

from __future__ import annotations

import json
from typing import Any

import pytest
from psycopg.sql import SQL, Identifier

from points.application.points import PointsApplication
from points.projections.postgres_view import PostgresBalanceView
from points.server import PointsService
from points.storage.event_index import PostgresEventIndex, _key_params
from points.storage.literals import array_text

EVENTS = 60_000
STATE_BYTES = 700  # a stored work event's state is about this long; the planner's blind guess of the row count depends on it


def plan_nodes(plan: dict[str, Any]) -> list[dict[str, Any]]:
    nodes = [plan]
    for child in plan.get("Plans", []):
        nodes += plan_nodes(child)
    return nodes


def scans_of(curs: Any, table_name: str, statement: Any, params: Any) -> list[dict[str, Any]]:
    """The plan's nodes that read `table_name` (asserted: there is one)."""
    curs.execute(SQL("EXPLAIN (FORMAT JSON) ") + statement, params)
    row = curs.fetchone()
    plan = row["QUERY PLAN"] if isinstance(row["QUERY PLAN"], list) else json.loads(row["QUERY PLAN"])
    scans = [n for n in plan_nodes(plan[0]["Plan"]) if n.get("Relation Name") == table_name]
    assert scans, json.dumps(plan, indent=1)
    assert all(n["Node Type"] != "Seq Scan" for n in scans), f"a sequential scan of {table_name}:\n{json.dumps(plan, indent=1)}"
    return scans


def fill_unanalyzed(datastore: Any, table_name: str, insert: str, params: Any = ()) -> None:
    """Runs `insert` ("INSERT INTO {} ...", the table's name going in {}) with autovacuum off for the
    table, so that PostgreSQL has no statistics for it when the test asks for plans."""
    table = SQL("{}.{}").format(Identifier(datastore.schema), Identifier(table_name))
    with datastore.transaction(commit=True) as curs:
        curs.execute(SQL("ALTER TABLE {} SET (autovacuum_enabled = false)").format(table))  # no ANALYZE behind the test's back
        curs.execute(SQL(insert).format(table), params)  # type: ignore[arg-type]
        curs.execute("SELECT count(*) AS n FROM pg_stats WHERE schemaname = %s AND tablename = %s", (datastore.schema, table_name))
        assert curs.fetchone()["n"] == 0, f"{table_name} has statistics already: the planner's blind case is not tested"


@pytest.mark.parametrize("database_url", ["postgresql"], indirect=True)
def test_the_batch_lookups_probe_the_key_on_a_log_without_statistics(app: PointsApplication) -> None:
    index = app.index
    assert isinstance(index, PostgresEventIndex)
    datastore = app.recorder.datastore
    schema, table_name = datastore.schema, app.recorder.events_table_name  # type: ignore[attr-defined]
    table = SQL("{}.{}").format(Identifier(schema), Identifier(table_name))
    fill_unanalyzed(
        datastore, table_name,
        "INSERT INTO {} (originator_id, originator_version, topic, state) "
        "SELECT md5(a::text)::uuid, v, 'test:Event', convert_to(repeat('x', %s), 'UTF8') FROM generate_series(1, %s) a, generate_series(1, 2) v",
        (STATE_BYTES, EVENTS // 2),
    )  # fmt: skip

    # Ten aggregates of two events each: the positions of their first events, and what follows version 1.
    with datastore.transaction(commit=False) as curs:
        curs.execute(
            SQL("SELECT originator_id, notification_id FROM {} WHERE originator_version = 1 ORDER BY notification_id LIMIT 10").format(table)
        )
        firsts = {row["originator_id"]: row["notification_id"] for row in curs.fetchall()}
    keys = [(aggregate_id, 1) for aggregate_id in firsts]

    for statement in (index.statement, index.newer_statement):
        with datastore.transaction(commit=False) as curs:
            scans_of(curs, table_name, statement, _key_params(keys))

    positions, newer = index.lookup(keys, keys)
    assert positions == {(aggregate_id, 1): position for aggregate_id, position in firsts.items()}
    assert [(e.originator_id, e.originator_version) for e in newer] == sorted((aggregate_id, 2) for aggregate_id in firsts)


@pytest.mark.parametrize("database_url", ["postgresql"], indirect=True)
def test_a_page_reads_the_lines_it_rebooks_by_event_on_a_view_without_statistics(idle_service: PointsService) -> None:
    view = idle_service.projector.view
    assert isinstance(view, PostgresBalanceView)
    datastore = view.datastore
    fill_unanalyzed(
        datastore, "balance_lines",
        "INSERT INTO {} (position, line_no, event_id, employee_id, month, occurred_on, kind, quantity, rule_id, policy_version, "
        "dimension, multiplier, points_before_cap, points, weighted_points, cap_applied, entry, booked_month, recorded_at, event_delta, "
        "outlet_id, role, outlet_class, point_value) "
        "SELECT p, 0, 'event-' || p, 'e' || (p %% 200), '2026-01', '2026-01-02', 'customer_served', '2', 'sm-customer-served', "
        "'2026.1', 'service', '1.0', 2500 + p %% 3, 2500 + p %% 3, 875, '', 'recorded', '2026-01', '2026-11-29T00:00:00+00:00', 1, "
        "'o1', 'service_manager', 'A', '1.00' "
        "FROM generate_series(1, %s) p",
        (EVENTS,),
    )  # fmt: skip

    ids = [f"event-{p}" for p in range(1, EVENTS, EVENTS // 400)]  # a page rebooking 400 events
    with datastore.transaction(commit=False) as curs:
        scans_of(curs, "balance_lines", SQL(view.booked_statement()), (array_text(ids),))  # type: ignore[arg-type]
        booked = view._booked(curs, set(ids))
    assert sorted(booked) == sorted(ids)
    assert all(len(net) == 1 and net[0].points == 2500 + int(i.split("-")[1]) % 3 for i, net in booked.items())


@pytest.mark.parametrize("database_url", ["postgresql"], indirect=True)
def test_a_page_reads_the_cap_usage_it_draws_on_by_key_on_a_view_without_statistics(idle_service: PointsService) -> None:
    view = idle_service.projector.view
    assert isinstance(view, PostgresBalanceView)
    datastore = view.datastore
    fill_unanalyzed(  # 300 employees x 2 rules x 100 days: usage = employee number * 1,000 + day number
        datastore, "balance_caps",
        "INSERT INTO {} (employee_id, rule_id, scope, used) SELECT 'e' || e, 'rule-' || r, 'day:2026-' || to_char(date '2026-01-01' + d, 'MM-DD'), "
        "e * 1000 + d FROM generate_series(1, 300) e, generate_series(1, 2) r, generate_series(0, 99) d",
    )  # fmt: skip

    keys = {(f"e{e}", "rule-1", f"day:2026-01-{1 + e % 28:02d}") for e in range(1, 301)}  # a page of 300 employees' capped lines
    keys.add(("e1", "rule-1", "day:2027-01-01"))  # never used: absent from the answer
    employees, rules, scopes = zip(*sorted(keys))
    with datastore.transaction(commit=False) as curs:
        scans_of(curs, "balance_caps", SQL(view.usage_statement()), (array_text(employees), array_text(rules), array_text(scopes)))  # type: ignore[arg-type]
        usage = view._usage(curs, keys)
    assert usage == {(e, r, s): int(e[1:]) * 1000 + int(s[-2:]) - 1 for e, r, s in keys if s.startswith("day:2026")}
