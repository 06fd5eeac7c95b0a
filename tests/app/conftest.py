"""Application-tier fixtures: services with a hand-driven projector, and the directory states tests start from."""

from __future__ import annotations

from collections.abc import Callable, Iterator

import pytest

from points.application.points import PointsApplication
from points.application.results import EmployeeWritten
from points.server import PointsService, Settings, build_service


@pytest.fixture
def open_service(settings: Settings) -> Iterator[Callable[[], PointsService]]:
    """Opens services on the test's store, as separate processes would; each projector runs only when called."""
    opened: list[PointsService] = []

    def open_one() -> PointsService:
        service = build_service(settings, start_projector=False)
        opened.append(service)
        return service

    yield open_one
    for service in opened:
        service.close()  # idempotent: a test may have closed it already (a restart)


@pytest.fixture
def idle_service(open_service: Callable[[], PointsService]) -> PointsService:
    """A service whose projector runs only when the test calls run_once()/catch_up()/rebuild()."""
    return open_service()


@pytest.fixture
def app(idle_service: PointsService) -> PointsApplication:
    return idle_service.app


@pytest.fixture
def staffed_outlet(app: PointsApplication) -> None:
    """Outlet o1 (class A, north) with service manager e1 assigned from 2026-01-01."""
    app.register_outlet(outlet_id="o1", outlet_class="A", region="north")
    app.register_employee(employee_id="e1", role="service_manager", outlet_id="o1", effective_from="2026-01-01")


@pytest.fixture
def transferred_employee(app: PointsApplication, staffed_outlet: None) -> EmployeeWritten:
    """e1 moved (request t-1) from service manager at o1 to operations supervisor at o2 (class B) from 2026-06-01."""
    app.register_outlet(outlet_id="o2", outlet_class="B", region="south")
    return app.transfer_employee(
        request_id="t-1", employee_id="e1", role="operations_supervisor", outlet_id="o2", effective_from="2026-06-01"
    )
