"""Model-based: random histories of the application against a simple in-memory model, on SQLite and PostgreSQL.

A Hypothesis state machine records work, replays a request, reuses a key with another
payload, reverses or amends an event (and replays a correction), closes pay periods (in
order, or not), runs the projector a few small pages, restarts the service (the projector
resumes from its tracked position) and rebuilds the view. After every step the log's end
must be where the model says, and the balance view must equal the model's balances as of
the position the projector has reached: each fact counted once, reversals and amendments
taking back exactly what was booked, late facts booked in the first open month.

The application runs in this process with a fixed clock (2026-11-28); each example gets a
fresh store. CI: a few examples per backend (POINTS_FAULTS_SCALE multiplies them); the seed
is printed.
"""

from __future__ import annotations

import itertools
from collections import Counter
import uuid
from collections.abc import Callable
from datetime import date, timedelta
from decimal import Decimal
from pathlib import Path

import pytest
from hypothesis import HealthCheck, settings
from hypothesis import seed as hypothesis_seed
from hypothesis import strategies as st
from hypothesis.stateful import (
    Bundle,
    MultipleResults,
    RuleBasedStateMachine,
    get_state_machine_test,
    initialize,
    invariant,
    multiple,
    rule,
)

from points.application.points import WorkFields
from points.application.results import WorkRecorded
from points.domain.errors import AlreadyExists, FailedPrecondition, InvalidRequest, PointsError
from points.server import PointsService, Settings, build_service
from tests.conftest import Clock, drop_schema, new_postgres_schema_url
from tests.faults.budget import scaled, seed
from tests.faults.ledger_model import KINDS, ROLES, Fact, LedgerModel, month_of
from tests.support.pgserver import PostgresServer

TODAY = date(2026, 11, 28)  # the fixed clock's business date (tests.conftest.TODAY)
FIRST_DAY, LAST_DAY = date(2026, 8, 1), date(2026, 11, 27)
MONTHS = ("2026-07", "2026-08", "2026-09", "2026-10", "2026-11", "2026-12")
PAGE = 2  # events per projector page: "a few steps" leave it part way

days = st.integers(0, (LAST_DAY - FIRST_DAY).days).map(lambda n: FIRST_DAY + timedelta(days=n))
work_kinds = st.sampled_from([(e, k) for e, role in ROLES.items() for k in KINDS[role]])
quantities = st.integers(1, 20)
NewWork = tuple[tuple[str, str], int, date]  # ((employee, kind), quantity, day)
new_work = st.tuples(work_kinds, quantities, days)


class LedgerMachine(RuleBasedStateMachine):
    """Drives one PointsService (projector by hand) and a LedgerModel side by side."""

    open_store: Callable[[], tuple[str, Callable[[], None]]]  # set per backend: a fresh store's URL and its cleanup

    requests = Bundle("requests")
    corrections = Bundle("corrections")
    steps: Counter[str]  # set per backend: how often each step ran, over all examples

    def __init__(self) -> None:
        super().__init__()
        self.url, self.cleanup = type(self).open_store()
        self.settings = Settings(database_url=self.url, clock=Clock())
        self.service = self.open()
        self.model = LedgerModel()
        self.serial = itertools.count()
        self.steps["(examples)"] += 1
        app = self.service.app
        app.register_outlet(outlet_id="o1", outlet_class="A", region="north")
        for employee_id, role in ROLES.items():
            written = app.register_employee(employee_id=employee_id, role=role, outlet_id="o1", effective_from="2026-01-01")
        self.model.wrote(written.position)

    def open(self) -> PointsService:
        service = build_service(self.settings, start_projector=False)
        service.projector.page_size = PAGE
        return service

    def teardown(self) -> None:
        self.service.close()
        self.cleanup()

    # -- the steps ---------------------------------------------------------------------

    @initialize(target=requests, work=st.lists(new_work, min_size=1, max_size=3))
    def some_work_to_begin_with(self, work: list[NewWork]) -> MultipleResults[Fact]:
        self.steps["some_work_to_begin_with"] += 1
        return multiple(*self.record_batch(work))

    @rule(target=requests, work=new_work)
    def record(self, work: NewWork) -> Fact:
        self.steps["record"] += 1
        (employee_id, kind), quantity, day = work
        request_id = f"r{next(self.serial)}"
        answer = self.service.app.record_work_event(WorkFields(request_id, employee_id, kind, str(quantity), day.isoformat()))
        assert (answer.replayed, answer.period) == (False, month_of(day))
        fact = Fact(request_id, answer.event_id, answer.position, employee_id, kind, quantity, day)
        self.model.record(fact)
        return fact

    @rule(target=requests, work=st.lists(new_work, min_size=1, max_size=4))
    def record_batch(self, work: list[NewWork]) -> MultipleResults[Fact]:
        """Several new requests in one call (one transaction), plus a repeat of the first inside it."""
        self.steps["record_batch"] += 1
        fields = [WorkFields(f"r{next(self.serial)}", e, k, str(q), d.isoformat()) for (e, k), q, d in work]
        answers = self.service.app.record_work_events([*fields, fields[0]])
        assert all(isinstance(a, WorkRecorded) for a in answers), answers
        facts = []
        for f, a in zip(fields, answers, strict=False):
            assert isinstance(a, WorkRecorded) and not a.replayed
            facts.append(Fact(f.request_id, a.event_id, a.position, f.employee_id, f.kind, int(f.quantity), date.fromisoformat(f.occurred_on)))
        repeat = answers[-1]
        assert isinstance(repeat, WorkRecorded) and (repeat.replayed, repeat.event_id) == (True, facts[0].event_id)
        for fact in sorted(facts, key=lambda fact: fact.position):
            self.model.record(fact)
        return multiple(*facts)

    @rule(fact=requests)
    def replay(self, fact: Fact) -> None:
        self.steps["replay"] += 1
        answer = self.service.app.record_work_event(self.original_fields(fact))
        assert (answer.replayed, answer.event_id, answer.position) == (True, fact.event_id, fact.position)

    @rule(fact=requests, more=st.integers(1, 5))
    def reuse_key_with_another_payload(self, fact: Fact, more: int) -> None:
        self.steps["reuse_key_with_another_payload"] += 1
        changed = self.original_fields(fact)
        changed = WorkFields(changed.request_id, changed.employee_id, changed.kind, str(int(changed.quantity) + more), changed.occurred_on)
        with pytest.raises(AlreadyExists) as refused:
            self.service.app.record_work_event(changed)
        assert refused.value.reason == "REQUEST_ID_REUSED"

    @rule(target=corrections, fact=requests)
    def reverse(self, fact: Fact) -> tuple[object, ...]:
        self.steps["reverse"] += 1
        return self.correct("reverse", fact, f"c{next(self.serial)}", "", 0, None)

    @rule(target=corrections, fact=requests, quantity=st.one_of(st.none(), quantities), day=st.one_of(st.none(), days))
    def amend(self, fact: Fact, quantity: int | None, day: date | None) -> tuple[object, ...]:
        self.steps["amend"] += 1
        return self.correct("amend", fact, f"c{next(self.serial)}", "", quantity or 0, day)

    def correct(self, action: str, fact: Fact, correction_id: str, kind: str, quantity: int, day: date | None) -> tuple[object, ...]:
        call = dict(
            request_id=correction_id, event_id=fact.event_id, employee_id=fact.employee_id, reason="model says so",
            corrected_by="auditor-1", reverse=action == "reverse", quantity=str(quantity) if quantity else "",
            occurred_on=day.isoformat() if day else "",
        )  # fmt: skip
        refusal, reason = self.correction_refusal(action, fact, quantity, day)
        if refusal is not None:
            with pytest.raises(refusal) as refused:
                self.service.app.correct_work_event(**call)  # type: ignore[arg-type]
            assert refused.value.reason == reason
            return ()
        corrected = self.service.app.correct_work_event(**call)  # type: ignore[arg-type]
        assert (corrected.replayed, corrected.reversed) == (False, action == "reverse")
        if action == "reverse":
            self.model.reverse(fact, corrected.position)
        else:
            self.model.amend(fact, corrected.position, kind=fact.kind, quantity=quantity or fact.quantity, day=day or fact.day)
        return (call, corrected.position)

    def correction_refusal(self, action: str, fact: Fact, quantity: int, day: date | None) -> tuple[type[PointsError] | None, str]:
        """What the model expects the correction to be refused with (None: it is applied)."""
        if action == "reverse":
            return (FailedPrecondition, "ALREADY_REVERSED") if fact.reversed else (None, "")
        if not quantity and day is None:
            return InvalidRequest, "MISSING_AMENDMENT"
        if fact.reversed:
            return FailedPrecondition, "EVENT_REVERSED"
        if (quantity or fact.quantity, day or fact.day) == (fact.quantity, fact.day):
            return FailedPrecondition, "AMENDMENT_CHANGES_NOTHING"
        return None, ""

    @rule(correction=corrections)
    def replay_correction(self, correction: tuple[object, ...]) -> None:
        self.steps["replay_correction"] += 1
        if not correction:
            return  # that correction was refused: nothing to replay
        call, position = correction
        answer = self.service.app.correct_work_event(**call)  # type: ignore[arg-type]
        assert (answer.replayed, answer.position) == (True, position)

    @rule(month=st.sampled_from(MONTHS))
    def close_period(self, month: str) -> None:
        """Proposed by one person, approved by another; each waits for the view to book the log first."""
        self.steps["close_period"] += 1
        self.service.projector.catch_up()
        expected = self.model.close_refusal(month, TODAY)
        periods, request_id = self.service.periods, f"close-{month}-{next(self.serial)}"
        if expected:
            with pytest.raises(FailedPrecondition) as refused:
                periods.propose_close(request_id=request_id, period=month, proposed_by="payroll-1", reason="month end")
            assert refused.value.reason == expected
            return
        proposal = periods.propose_close(request_id=request_id, period=month, proposed_by="payroll-1", reason="month end")
        self.model.wrote(proposal.position)
        self.service.projector.catch_up()
        closed = periods.approve_close(proposal_id=proposal.proposal_id, approved_by="payroll-2", reason="")
        assert closed.closed and closed.position is not None
        self.model.close(month, closed.position)

    @rule(pages=st.integers(1, 3))
    def run_projector(self, pages: int) -> None:
        self.steps["run_projector"] += 1
        for _ in range(pages):
            self.service.projector.run_once()

    @rule(rebuild=st.booleans())
    def restart(self, rebuild: bool) -> None:
        """A new process on the same store; its projector resumes where the last one stopped (or rebuilds the view)."""
        self.steps["restart and rebuild" if rebuild else "restart"] += 1
        before = self.service.projector.position
        self.service.close()
        self.service = self.open()
        assert self.service.projector.position == before, "a restarted projector must resume where it stopped"
        if rebuild:
            self.service.projector.rebuild()
            assert self.service.projector.position == self.model.log_end

    # -- after every step --------------------------------------------------------------

    @invariant()
    def the_log_ends_where_the_model_says(self) -> None:
        assert (self.service.app.recorder.max_notification_id() or 0) == self.model.log_end

    @invariant()
    def the_view_equals_the_model_as_of_the_projected_position(self) -> None:
        position = self.service.projector.position
        assert position <= self.model.log_end
        expected = self.model.balances_upto(position)
        view = self.service.projector.view
        for employee_id in ROLES:
            for month in MONTHS:
                rows = view.read(employee_id, [month])
                dimensions = {d: (units(p), units(w)) for d, p, w in rows.dimensions if (p, w) != (0, 0)}
                want = {d: v for (e, m, d), v in expected.dimensions.items() if (e, m) == (employee_id, month)}
                assert (dimensions, rows.event_count) == (want, expected.events.get((employee_id, month), 0)), (
                    f"{employee_id} {month} as of position {position}"
                )

    def original_fields(self, fact: Fact) -> WorkFields:
        """The request as first sent (the fact may have been amended since)."""
        kind, quantity, day = fact.first
        return WorkFields(fact.request_id, fact.employee_id, kind, str(quantity), day.isoformat())


def units(value: Decimal) -> int:
    return int(value.scaleb(4))


def sqlite_stores(tmp_path: Path) -> Callable[[], tuple[str, Callable[[], None]]]:
    def open_store() -> tuple[str, Callable[[], None]]:
        path = tmp_path / f"{uuid.uuid4().hex[:12]}.db"
        return f"sqlite:///{path}", lambda: [p.unlink(missing_ok=True) for p in path.parent.glob(path.name + "*")]

    return open_store


def postgres_stores(server: PostgresServer) -> Callable[[], tuple[str, Callable[[], None]]]:
    def open_store() -> tuple[str, Callable[[], None]]:
        url, schema = new_postgres_schema_url(server)
        return url, lambda: drop_schema(server, schema)

    return open_store


@pytest.mark.parametrize("backend", ["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def test_the_ledger_agrees_with_a_simple_model_after_every_step(backend: str, request: pytest.FixtureRequest, tmp_path: Path) -> None:
    stores = sqlite_stores(tmp_path) if backend == "sqlite" else postgres_stores(request.getfixturevalue("postgres_server"))
    steps: Counter[str] = Counter()
    machine = type(f"LedgerMachineOn{backend.title()}", (LedgerMachine,), {"open_store": staticmethod(stores), "steps": steps})
    chosen = seed()
    test = get_state_machine_test(
        machine,
        settings=settings(
            max_examples=scaled(6), stateful_step_count=30, deadline=None, database=None,
            suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much], print_blob=True,
        ),
    )  # fmt: skip
    hypothesis_seed(chosen)(test)()
    print(f"{backend}: {sum(steps.values())} steps {dict(steps)}")
