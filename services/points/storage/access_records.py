"""The read audit: one record per call to the service, allowed or denied, appended in small batches.

Records go to their own table beside the views (not a view: a rebuild must never drop them),
append-only (triggers: storage/migrate.py), each field bounded (`bounded`): whatever a caller sends,
a record costs the database a few hundred bytes at most, and a page of them fits a client.
A background writer takes them from a queue and appends what arrives within `interval` of
the first in one transaction (at most `batch`), so auditing adds no database round trip to a
call and a steady flow of calls costs one commit per interval, not one per call; `flush()`
waits until every record so far is stored (tests, shutdown).
"""

from __future__ import annotations

import hashlib
import logging
import queue
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

log = logging.getLogger(__name__)

FIELD_KEEP = 64  # characters of a request's field that a record keeps (an id, a period); longer ones are cut and hashed
CALLER_KEEP = 256  # characters of a caller's name (an authenticated subject) that a record keeps
EMPLOYEES_KEEP = 1024  # characters of a batch's list of employees (employee_id): 10 ids of at most 64, then "+N more"
COLUMNS = ("at", "caller", "method", "employee_id", "outlet_id", "period", "decision", "code")
# Characters of each column as stored and as read; FIELD_KEEP for the others. A record is under 2 KB whatever was
# sent, so a page of 1,000 (the most) is under 2 MB: it fits a default client's 4 MiB.
COLUMN_KEEP = {"caller": CALLER_KEEP, "method": CALLER_KEEP, "employee_id": EMPLOYEES_KEEP}


@dataclass(frozen=True)
class AccessRecord:
    at: str
    caller: str
    method: str
    employee_id: str
    outlet_id: str
    period: str
    decision: str  # "allowed" or "denied"
    code: str  # the gRPC status code's name
    id: int = 0


def storable(text: str) -> str:
    """The text as a record keeps it: PostgreSQL's text cannot hold NUL, so a NUL sent in a request (an
    employee id, say) is kept as U+FFFD, on both backends. Refused, it would fail its whole batch of records."""
    return text.replace("\x00", "\ufffd") if "\x00" in text else text


def bounded(text: str, limit: int = FIELD_KEEP) -> str:
    """The text if at most `limit` characters; else its start, a mark and a SHA-256 prefix of the whole, `limit` characters in all.

    The same text always gives the same result, so a filter bounded alike finds its records.
    """
    if len(text) <= limit:
        return text
    mark = "…sha256:" + hashlib.sha256(text.encode("utf-8", "surrogatepass")).hexdigest()[:16]
    return text[: max(0, limit - len(mark))] + mark


def kept(column: str, value: str) -> str:
    """A column's value as a record keeps it: bounded, and NUL-free."""
    return storable(bounded(value, COLUMN_KEEP.get(column, FIELD_KEEP)))


class AccessRecordStore:
    """The access_records table, on the ledger view's database and connections."""

    def __init__(self, view: Any) -> None:
        self.view = view
        self.table = view._t("access_records")  # noqa: SLF001 - the view knows how to name its tables
        self.p = view.P
        self.postgres = self.p == "%s"

    @staticmethod
    def create_statement(table: str, postgres: bool) -> str:
        key = "id BIGSERIAL PRIMARY KEY" if postgres else "id INTEGER PRIMARY KEY"  # append-only: rowids only grow
        return (
            f"CREATE TABLE IF NOT EXISTS {table} ({key}, at TEXT NOT NULL, caller TEXT NOT NULL, method TEXT NOT NULL, "
            "employee_id TEXT NOT NULL, outlet_id TEXT NOT NULL, period TEXT NOT NULL, decision TEXT NOT NULL, code TEXT NOT NULL)"
        )

    def append(self, records: Sequence[AccessRecord]) -> None:
        """One transaction; on PostgreSQL by COPY (executemany cost ~250 us of the server's CPU per record)."""
        rows = [tuple(kept(c, getattr(r, c)) for c in COLUMNS) for r in records]
        with self.view._cursor(commit=True) as curs:  # noqa: SLF001
            if self.postgres:
                with curs.copy(f"COPY {self.table} ({', '.join(COLUMNS)}) FROM STDIN") as copy:
                    for row in rows:
                        copy.write_row(row)
            else:
                marks = ", ".join(self.p for _ in COLUMNS)
                curs.executemany(f"INSERT INTO {self.table} ({', '.join(COLUMNS)}) VALUES ({marks})", rows)  # noqa: S608

    def list(self, where: Sequence[tuple[str, Any]], *, newest_first: bool, after: int, limit: int) -> list[AccessRecord]:
        clauses = [f"{column} = {self.p}" for column, _ in where]
        params: list[Any] = [kept(column, value) for column, value in where]  # as the records keep it
        if after:
            clauses.append(f"id {'<' if newest_first else '>'} {self.p}")
            params.append(after)
        condition = " AND ".join(clauses) or "1 = 1"
        with self.view._cursor(commit=False) as curs:  # noqa: SLF001
            rows = self.view._all(  # noqa: SLF001
                curs,
                f"SELECT {', '.join(COLUMNS)}, id FROM {self.table} WHERE {condition} "  # noqa: S608
                f"ORDER BY id {'DESC' if newest_first else 'ASC'} LIMIT {self.p}",
                [*params, limit],
            )
        # bounded again: a record stored by an older release may hold a request's field whole (megabytes)
        return [AccessRecord(*(bounded(value, COLUMN_KEEP.get(c, FIELD_KEEP)) for c, value in zip(COLUMNS, row)), id=row[-1]) for row in rows]


class AccessLog:
    """Queues access records and appends them in batches from one background thread."""

    def __init__(self, store: AccessRecordStore, *, batch: int = 500, interval: float = 0.05) -> None:
        self.store = store
        self.batch = batch
        self.interval = interval
        self._queue: queue.Queue[AccessRecord] = queue.Queue()
        self._idle = threading.Condition()
        self._pending = 0
        self._stopping = threading.Event()
        self._thread = threading.Thread(target=self._run, name="access-log", daemon=True)
        self._thread.start()

    def record(self, record: AccessRecord) -> None:
        with self._idle:
            self._pending += 1
        self._queue.put(record)

    def flush(self, timeout: float = 10.0) -> bool:
        """Waits until every record so far is stored; False on timeout."""
        with self._idle:
            return self._idle.wait_for(lambda: self._pending == 0, timeout)

    def close(self) -> None:
        self.flush()
        self._stopping.set()
        self._thread.join(5)

    def _run(self) -> None:
        while not self._stopping.is_set():
            try:
                first = self._queue.get(timeout=self.interval)
            except queue.Empty:
                continue
            # Gather for up to `interval` after the first record: without the wait, a steady trickle
            # of calls (each leaves one record) made one transaction, one commit, per record.
            records = [first]
            gathered_by = time.monotonic() + self.interval
            while len(records) < self.batch:
                remaining = gathered_by - time.monotonic()
                if remaining <= 0 or self._stopping.is_set():
                    break
                try:
                    records.append(self._queue.get(timeout=remaining))
                except queue.Empty:
                    break
            for attempt in range(5):
                try:
                    self.store.append(records)
                    break
                except Exception:  # the database may be restarting: keep the records and retry
                    log.exception("could not store %d access records (attempt %d)", len(records), attempt + 1)
                    self._stopping.wait(0.2 * 2**attempt)
            with self._idle:
                self._pending -= len(records)
                self._idle.notify_all()
