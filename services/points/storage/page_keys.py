"""The store's page key: one random 32-byte secret per store, kept in the store, that signs page tokens.

Every server of a store (processes and hosts behind one load balancer) reads the same key, so a
token issued by one is resumed by any other (application/pages.py). `points migrate` creates the
table; the first server to start creates the key (INSERT ... ON CONFLICT DO NOTHING, then read
back: servers starting together agree). A store migrated by an older release gets the table on
the first start, when the server's role may create it.
"""

from __future__ import annotations

import secrets
from typing import Any

from points.storage.settings import SettingsError

TABLE = "page_key"
KEY_BYTES = 32


def create_statement(table: str) -> str:
    return f"CREATE TABLE IF NOT EXISTS {table} (id INTEGER PRIMARY KEY CHECK (id = 1), page_key TEXT NOT NULL)"


def load_page_key(view: Any) -> bytes:
    """The store's page key, created if missing; `view` is the balance view (its connections and table names)."""
    table = view._t(TABLE)  # the view knows how to name its tables
    for attempt in range(3):
        if not _exists(view):
            try:
                with view._cursor(commit=True) as curs:
                    curs.execute(create_statement(table))
            except Exception as error:  # another server created it at the same moment, or this role may not
                if attempt == 2:
                    raise SettingsError(
                        f"the store has no {TABLE} table and this role cannot create it ({type(error).__name__}): "
                        "run `points migrate` once as the store's owner"
                    ) from error
                continue
        with view._cursor(commit=True) as curs:
            curs.execute(
                f"INSERT INTO {table} (id, page_key) VALUES (1, {view.P}) ON CONFLICT (id) DO NOTHING",
                (secrets.token_hex(KEY_BYTES),),
            )
            rows = view._all(curs, f"SELECT page_key FROM {table} WHERE id = 1")
        if rows:
            return bytes.fromhex(rows[0][0])
    raise SettingsError(f"could not read the store's page key from {TABLE}")


def _exists(view: Any) -> bool:
    with view._cursor(commit=False) as curs:
        if view.P == "%s":
            return view._all(curs, "SELECT to_regclass(%s)", (view._t(TABLE),))[0][0] is not None  # type: ignore[no-any-return]
        return bool(view._all(curs, "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?", (TABLE,)))
