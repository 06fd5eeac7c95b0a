"""One setting chooses the store: `sqlite:///path/points.db` (embedded default) or `postgresql://...`."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Literal
from urllib.parse import parse_qs, unquote, urlsplit

DEFAULT_DATABASE_URL = "sqlite:///points.db"

# The library's aggregate cache, fast-forwarded from the store on every read (so writes by
# other processes are seen): employees and the policy book are read on every write.
CACHE = {"AGGREGATE_CACHE_MAXSIZE": "10000", "AGGREGATE_CACHE_FASTFORWARD": "y"}


class SettingsError(ValueError):
    """A setting is malformed; the message says which and how to fix it."""


@dataclass(frozen=True)
class StoreSettings:
    """The eventsourcing environment for one database URL."""

    url: str
    backend: Literal["sqlite", "postgresql"]
    base_env: dict[str, str]
    schema: str = ""  # PostgreSQL only
    sqlite_path: str = ""  # SQLite only

    def env(self, *, create_table: bool) -> dict[str, str]:
        """Everything the library reads, set explicitly so stray environment variables can't leak in."""
        env = dict(self.base_env)
        env["CREATE_TABLE"] = "y" if create_table else "n"
        return env

    @property
    def redacted_url(self) -> str:
        return _redact(self.url)


def parse_database_url(url: str) -> StoreSettings:
    parts = urlsplit(url)
    if parts.scheme == "sqlite":
        return _sqlite(url, parts.path)
    if parts.scheme in ("postgresql", "postgres"):
        return _postgres(url)
    raise SettingsError(
        f"unsupported database URL {url!r}: use sqlite:///path/points.db or postgresql://user@host:port/dbname"
    )


def _sqlite(url: str, path: str) -> StoreSettings:
    # sqlite:///points.db is relative, sqlite:////var/lib/points.db absolute (as in SQLAlchemy).
    if not path.startswith("/") or len(path) < 2:
        raise SettingsError(f"{url!r} names no file: use sqlite:///points.db or sqlite:////abs/path/points.db")
    file = unquote(path[1:])
    if ":memory:" in file or "mode=memory" in file:
        raise SettingsError("an in-memory SQLite store is not supported: the projection reads the same file")
    Path(file).parent.mkdir(parents=True, exist_ok=True)
    env = {
        "PERSISTENCE_MODULE": "eventsourcing.sqlite",
        "SQLITE_DBNAME": file,
        "SQLITE_LOCK_TIMEOUT": "10",
        "SINGLE_ROW_TRACKING": "y",
        "APPLICATION_RECORDER_TOPIC": "points.storage.chain:ChainedSQLiteApplicationRecorder",
        **CACHE,
    }
    return StoreSettings(url=url, backend="sqlite", base_env=env, sqlite_path=file)


def _postgres(url: str) -> StoreSettings:
    parts = urlsplit(url)
    dbname = unquote(parts.path.lstrip("/"))
    if not dbname:
        raise SettingsError(f"{_redact(url)!r} names no database: postgresql://user@host:port/dbname")
    query = {k: v[-1] for k, v in parse_qs(parts.query).items()}
    unknown = set(query) - {"schema", "pool_size", "max_overflow", "connect_timeout"}
    if unknown:
        raise SettingsError(f"unknown database URL options {sorted(unknown)}: known are schema, pool_size, max_overflow, connect_timeout")
    schema = query.get("schema", "public")
    if not schema.replace("_", "").isalnum() or schema[0].isdigit():
        raise SettingsError(f"schema {schema!r} must be letters, digits and '_'")
    try:
        port = parts.port or 5432
    except ValueError as e:
        raise SettingsError(f"bad port in database URL: {e}") from None
    env = {
        "PERSISTENCE_MODULE": "points.storage.postgres_factory:PointsPostgresFactory",
        "POSTGRES_DBNAME": dbname,
        "POSTGRES_HOST": parts.hostname or "localhost",
        "POSTGRES_PORT": str(port),
        "POSTGRES_USER": unquote(parts.username or "postgres"),
        "POSTGRES_PASSWORD": unquote(parts.password or ""),
        "POSTGRES_SCHEMA": schema,
        "POSTGRES_POOL_SIZE": query.get("pool_size", "4"),
        "POSTGRES_MAX_OVERFLOW": query.get("max_overflow", "4"),
        "POSTGRES_CONNECT_TIMEOUT": query.get("connect_timeout", "10"),
        "POSTGRES_PRE_PING": "y",
        "POSTGRES_LOCK_TIMEOUT": "5",
        # Never write through the stored function: it skips the table lock, and a
        # tailing reader can then pass over an event that commits late.
        "POSTGRES_ENABLE_DB_FUNCTIONS": "n",
        "SINGLE_ROW_TRACKING": "y",
        "APPLICATION_RECORDER_TOPIC": "points.storage.copy_recorder:CopyPostgresApplicationRecorder",
        **CACHE,
    }
    return StoreSettings(url=url, backend="postgresql", base_env=env, schema=schema)


def _redact(url: str) -> str:
    parts = urlsplit(url)
    return url.replace(f":{parts.password}@", ":***@") if parts.password else url
