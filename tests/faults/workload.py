"""The work the fault tests send: one outlet, four employees, uncapped kinds of work, dates in the recent past.

Dates count back from today (UTC), because the servers under test run on the real clock.
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable
from datetime import date, datetime, timedelta, timezone
from typing import Any, TypeVar

import grpc

from points.v1 import directory_pb2, work_events_pb2
from tests.faults.ledger_check import UNCAPPED_KINDS

OUTLET = "fault-01"
EMPLOYEES = {
    "os-1": "operations_supervisor",
    "os-2": "operations_supervisor",
    "sm-1": "service_manager",
    "sm-2": "service_manager",
}
ROLE_ENUMS = {"operations_supervisor": directory_pb2.ROLE_OPERATIONS_SUPERVISOR, "service_manager": directory_pb2.ROLE_SERVICE_MANAGER}

# Codes a client may retry with the same request_id; anything else is an answer.
RETRYABLE = frozenset({grpc.StatusCode.UNAVAILABLE, grpc.StatusCode.DEADLINE_EXCEEDED, grpc.StatusCode.ABORTED})

T = TypeVar("T")


def today() -> date:
    return datetime.now(timezone.utc).date()


def first_day() -> str:
    return (today() - timedelta(days=400)).isoformat()


def random_work(rng: random.Random, request_id: str) -> work_events_pb2.RecordWorkEventRequest:
    """One work event of an uncapped kind by one of EMPLOYEES, 1 to 40 days ago."""
    employee_id = rng.choice(sorted(EMPLOYEES))
    return work_events_pb2.RecordWorkEventRequest(
        request_id=request_id,
        employee_id=employee_id,
        kind=rng.choice(UNCAPPED_KINDS[EMPLOYEES[employee_id]]),
        quantity=str(rng.randint(1, 9)),
        occurred_on=(today() - timedelta(days=rng.randint(1, 40))).isoformat(),
        source="fault-suite",
    )


def retrying(call: Callable[[], T], *, within: float = 60.0, also: frozenset[grpc.StatusCode] = frozenset()) -> T:
    """call() until it answers (or a non-retryable error), retrying RETRYABLE (and `also`) codes for `within` seconds."""
    deadline = time.monotonic() + within
    delay = 0.05
    while True:
        try:
            return call()
        except grpc.RpcError as error:
            code = error.code()  # type: ignore[attr-defined]
            if code not in RETRYABLE | also or time.monotonic() > deadline:
                raise
        time.sleep(delay)
        delay = min(delay * 2, 1.0)


def staff(directory: Any, *, within: float = 60.0) -> None:
    """Registers OUTLET (class A) and EMPLOYEES through a DirectoryService stub (idempotent, retried)."""
    retrying(
        lambda: directory.RegisterOutlet(
            directory_pb2.RegisterOutletRequest(outlet_id=OUTLET, outlet_class=directory_pb2.OUTLET_CLASS_A, region="fault"),
            timeout=5,
        ),
        within=within,
    )
    for employee_id, role in EMPLOYEES.items():
        retrying(
            lambda: directory.RegisterEmployee(
                directory_pb2.RegisterEmployeeRequest(
                    employee_id=employee_id, role=ROLE_ENUMS[role], outlet_id=OUTLET, effective_from=first_day()
                ),
                timeout=5,
            ),
            within=within,
        )
