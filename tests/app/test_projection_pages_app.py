"""The projector's fast page path: events decoded without the mapper, view rows written in bulk, same results."""

from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone
from typing import Any

import pytest

from points.application.points import PointsApplication, WorkFields
from points.domain.work import WorkEvent
from points.projections.balances import TABLES
from points.projections.decoding import RECORDED_TOPIC, EventDecoder
from points.projections.ledger_rows import WorkFacts, line_facts, work_facts
from points.server import PointsService
from tests.app.ledger_reads import close_month, correct
from tests.app.work_requests import work

AWKWARD = 'back\\slash, "quotes", \\N, tab-less é ✓'  # COPY's escape character, JSON escapes, non-ASCII


def staff(app: PointsApplication) -> None:
    app.register_outlet(outlet_id="o1", outlet_class="A", region="north")
    app.register_employee(employee_id="e1", role="service_manager", outlet_id="o1", effective_from="2026-01-01")
    app.register_employee(employee_id="e2", role="operations_supervisor", outlet_id="o1", effective_from="2026-01-01")


def varied_work(app: PointsApplication) -> dict[str, str]:
    """Plain events, events with attributes, an instant, awkward text and capped lines; returns request id -> event id."""
    at = datetime(2026, 11, 2, 10, 15, 30, 123456, tzinfo=timezone(timedelta(hours=2)))
    requests = [
        work("plain-1"),
        work("plain-2", quantity="3.5", occurred_on="2026-10-30"),
        WorkFields("high", "e1", "counter_transaction", "2", "2026-11-03", attributes={"complexity": "high", "branch": "zoë"}),
        WorkFields("awkward", "e1", "counter_transaction", "1", "2026-11-03", recorded_by=AWKWARD, source="desk\\7",
                   attributes={"note": AWKWARD}),  # fmt: skip
        WorkFields("instant", "e1", "counter_transaction", "4", "2026-11-02", occurred_at=at),
        *(work(f"big-{n}", quantity="900", occurred_on="2026-11-04") for n in range(5)),  # past the period cap
        *(work(f"auth-{n}", employee_id="e2", kind="counter_authorisation", quantity="90") for n in range(3)),  # day cap
    ]
    results = app.record_work_events(requests)
    return {r.request_id: str(result.event_id) for r, result in zip(requests, results, strict=True)}  # type: ignore[union-attr]


def stored(app: PointsApplication) -> list[Any]:
    return list(app.recorder.select_notifications(start=1, limit=10_000))


def test_the_fast_decoder_gives_the_facts_of_the_very_events_the_mapper_builds(idle_service: PointsService) -> None:
    app = idle_service.app
    staff(app)
    ids = varied_work(app)
    decoder = EventDecoder(app.mapper)
    fast = 0
    for n in stored(app):
        expected = app.mapper.to_domain_event(n)
        for originator_id in (n.originator_id, str(n.originator_id)):  # the PostgreSQL reader hands over the id's text
            decoded = decoder.decode(n.topic, originator_id, n.originator_version, n.state)
            if type(decoded) is WorkFacts:
                assert type(expected) is WorkEvent.Recorded
                assert decoded == work_facts(expected)
                assert decoded.lines == tuple(line_facts(line) for line in expected.lines)
                fast += 1
                assert str(n.originator_id) != ids["awkward"]  # its text holds JSON escapes: the mapper decodes it
            else:
                assert type(decoded) is type(expected)
                assert vars(decoded) == vars(expected)
    assert fast == 2 * (len(ids) - 1)  # every other work event took the fast path


def test_the_fast_decoder_leaves_unusual_states_to_the_mapper(idle_service: PointsService) -> None:
    app = idle_service.app
    staff(app)
    varied_work(app)
    decoder = EventDecoder(app.mapper)
    plain = next(n for n in stored(app) if n.topic == RECORDED_TOPIC)
    assert decoder.recorded(plain.originator_id, plain.state) is not None
    document = json.loads(plain.state)
    for changed in (
        {**document, "class_version": 1},  # an older version: the mapper upcasts it
        {key: value for key, value in document.items() if key != "outlet_requested"},
        {**document, "quantity": {"_type_": "decimal_text", "_data_": "1"}},  # a transcoding we do not know
        {**document, "attributes": {"_type_": "x", "_data_": "y"}},
    ):
        state = json.dumps(changed, separators=(",", ":"), ensure_ascii=False).encode()
        assert decoder.recorded(plain.originator_id, state) is None
    assert decoder.recorded(plain.originator_id, plain.state.replace(b"{", b" {", 1)) is None


def view_contents(service: PointsService) -> tuple[Any, ...]:
    view: Any = service.projector.view
    lines, closes, rules = view.entries_after(0, 100_000)
    audit = view.work_events([], newest_first=False, after=0, limit=1000)
    balances = {(e, m): view.read(e, [m]) for e in ("e1", "e2") for m in ("2026-10", "2026-11", "2026-12")}
    statements = {m: view.statements(m, upto=10**9, after_employee="", limit=100) for m in ("2026-10", "2026-11", "2026-12")}
    return lines, closes, rules, audit, balances, statements


def test_a_rebuild_in_large_pages_reproduces_the_view_built_event_by_event(idle_service: PointsService, database_url: str) -> None:
    app = idle_service.app
    staff(app)
    ids = varied_work(app)
    correct(app, ids["plain-2"], "c-1", reverse=True)
    correct(app, ids["big-0"], "c-2", quantity="1")
    close_month(idle_service, "2026-10", reason="October payroll run")
    correct(app, ids["high"], "c-3", quantity="5", occurred_on="2026-10-29")  # booked in November: October is closed
    app.record_work_events([work("late", quantity="2", occurred_on="2026-10-31"), work("after", quantity="3")])
    correct(app, ids["auth-0"], "c-4", employee_id="e2", reverse=True)

    idle_service.projector.page_size = 1
    idle_service.projector.decoder.enabled = False  # every event through the library's mapper, as domain events
    idle_service.projector.catch_up()
    one_by_one, tables = view_contents(idle_service), table_rows(idle_service)
    assert len(one_by_one[0]) > 20 and len(one_by_one[1]) == 1 and len(one_by_one[2]) == 1 and len(one_by_one[3]) == 15
    assert len(tables["balance_caps"]) > 0 and len(tables["audit_corrections"]) == 4

    idle_service.projector.decoder.enabled = True
    for page_size in (5000, 3):  # pages of 3 are full: on PostgreSQL the next is read ahead while one is written
        idle_service.projector.page_size = page_size
        idle_service.projector.rebuild()
        assert view_contents(idle_service) == one_by_one
        assert table_rows(idle_service) == tables
    assert (idle_service.projector._ahead_pool is not None) == (database_url.startswith("postgresql"))


def table_rows(service: PointsService) -> dict[str, list[tuple[Any, ...]]]:
    """Every row of every view table, in one order."""
    view: Any = service.projector.view
    with view._cursor(commit=False) as curs:
        return {table: sorted(view._all(curs, f"SELECT * FROM {view._t(table)}")) for table in TABLES}


def test_awkward_text_reaches_the_audit_trail_unchanged(idle_service: PointsService) -> None:
    app = idle_service.app
    staff(app)
    ids = varied_work(app)
    correct(app, ids["awkward"], "c-1", reason=AWKWARD, corrected_by="s\\7", reverse=True)
    idle_service.projector.catch_up()
    view: Any = idle_service.projector.view
    (row,) = view.work_events([("event_id", "=", ids["awkward"])], newest_first=False, after=0, limit=10)
    assert (row.recorded_by, row.source, json.loads(row.attributes), row.status) == (AWKWARD, "desk\\7", {"note": AWKWARD}, "reversed")
    assert [(c[2], c[4], c[5]) for c in row.corrections] == [("reverse", AWKWARD, "s\\7")]
    (high,) = view.work_events([("event_id", "=", ids["high"])], newest_first=False, after=0, limit=10)
    assert high.attributes == '{"branch": "zoë", "complexity": "high"}'
    (instant,) = view.work_events([("event_id", "=", ids["instant"])], newest_first=False, after=0, limit=10)
    assert instant.occurred_at == "2026-11-02T08:15:30.123456+00:00"


def test_pages_are_larger_on_postgresql_only(idle_service: PointsService, database_url: str) -> None:
    expected = 5000 if database_url.startswith("postgresql") else 1000
    assert idle_service.projector.page_size == expected


@pytest.mark.parametrize("page_size", [2, 5000])
def test_a_page_applied_by_a_rival_first_is_refused_whole(open_service: Any, page_size: int) -> None:
    first, second = open_service(), open_service()
    staff(first.app)
    varied_work(first.app)
    first.projector.page_size = second.projector.page_size = page_size
    assert second.projector.run_once() > 0
    from points.projections.balances import ProjectionConflict

    with pytest.raises(ProjectionConflict):
        first.projector.run_once()  # still at position 0: the compare-and-set fails, nothing is written
    first.projector.catch_up()  # from where the rival left the tracking position
    assert len(view_contents(first)[3]) == 13
    assert [len(r.lines) for r in view_contents(first)[3]] == [1] * 13  # each event booked once


@pytest.mark.parametrize("database_url", [pytest.param("postgresql", marks=pytest.mark.postgres)], indirect=True)
def test_array_and_copy_literals_reach_postgresql_unchanged(idle_service: PointsService) -> None:
    """The literals are PostgreSQL's: no SQLite variant (rather than one that skips)."""
    from points.projections.postgres_view import copy_text
    from points.storage.literals import array_text, int_array_text

    values = ["plain", "", AWKWARD, '"', "\\", 'a","b', "NULL", "{x}", "tab\there", "é ✓"]
    view: Any = idle_service.projector.view
    with view._cursor(commit=False) as curs:
        for chunk in ([], [values[0]], [values[2]], ['"'], values, list(reversed(values))):
            assert view._all(curs, "SELECT %s::text[]", (array_text(chunk),))[0][0] == chunk
        assert view._all(curs, "SELECT %s::bigint[]", (int_array_text([0, -5, 10**15]),))[0][0] == [0, -5, 10**15]
        curs.execute("CREATE TEMPORARY TABLE copied (n BIGINT, t TEXT) ON COMMIT DROP")
        rows = [(n, v) for n, v in enumerate([*values, "line\nbreak", "cr\rhere", "\\."])]
        with curs.copy("COPY copied (n, t) FROM STDIN") as copy:
            copy.write(copy_text(rows, 2))
        assert view._all(curs, "SELECT n, t FROM copied ORDER BY n") == rows
        assert copy_text([(1, "a"), (2, "b")], 2) == b"1\ta\n2\tb\n"


def test_a_page_read_ahead_for_a_position_a_rival_passed_is_dropped(open_service: Any) -> None:
    first, second = open_service(), open_service()
    staff(first.app)
    varied_work(first.app)
    first.projector.page_size = second.projector.page_size = 2
    assert second.projector.run_once() == 2  # on PostgreSQL the page after position 2 is now read ahead
    from points.projections.balances import ProjectionConflict

    with pytest.raises(ProjectionConflict):
        first.projector.run_once()  # the rival, still at position 0, learns where the tracking is
    first.projector.catch_up()  # and books everything from there
    with pytest.raises(ProjectionConflict):
        second.projector.run_once()  # the page read ahead: refused whole, the tracking position has moved on
    assert second.projector.run_once() == 0  # caught up at the rival's position; nothing read ahead is applied
    assert [len(r.lines) for r in view_contents(second)[3]] == [1] * 13  # each event booked once
