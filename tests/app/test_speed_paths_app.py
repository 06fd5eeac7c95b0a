"""The speed paths written against one Python's internals hold on the Python running the tests (CI runs this tier on
every supported version): the direct encoding of new work events is in use, and the application's save() shortcut stores
what the library's own save() stores."""

from __future__ import annotations

import json
import sys
from datetime import datetime, timezone
from typing import Any

from eventsourcing.application import Application

from points.application.points import PointsApplication
from points.domain.directory import Outlet

AT = datetime(2026, 11, 28, 9, 30, tzinfo=timezone.utc)


def test_new_work_events_are_encoded_directly_on_this_python(app: PointsApplication) -> None:
    assert app.recorded_codec is not None, f"the direct encoding fell back to the library's on Python {sys.version}"
    app.recorded_codec.check()  # the sample of unusual values encodes exactly as the library does


def stored_state(app: PointsApplication, outlet: Outlet) -> dict[str, Any]:
    (stored,) = app.recorder.select_events(outlet.id)
    state = json.loads(stored.state)
    return {"topic": stored.topic, "version": stored.originator_version, **{k: v for k, v in state.items() if k != "originator_topic"}}


def test_the_save_shortcut_stores_and_reports_what_the_librarys_save_does(app: PointsApplication) -> None:
    appended: list[dict[str, int]] = []
    app._appended = appended.append  # type: ignore[method-assign]
    mine = Outlet.register(outlet_id="short", outlet_class="B", region="east", timestamp=AT)
    theirs = Outlet.register(outlet_id="library", outlet_class="B", region="east", timestamp=AT)

    by_shortcut = app.save(mine)
    by_library = Application.save(app, theirs)

    assert [type(r.domain_event) for r in by_shortcut] == [type(r.domain_event) for r in by_library] == [Outlet.Registered]
    assert by_library[0].notification.id == by_shortcut[0].notification.id + 1
    assert {**stored_state(app, mine), "outlet_id": "x"} == {**stored_state(app, theirs), "outlet_id": "x"}
    assert appended == [{"Outlet.Registered": 1}] * 2  # each path reports what it appended (the metrics count it)
    assert app.repository.get(mine.id).region == app.repository.get(theirs.id).region == "east"
    assert mine.collect_events() == [] and theirs.collect_events() == []  # both took the pending events
