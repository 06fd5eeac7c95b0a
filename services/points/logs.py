"""Logs as text (development) or JSON lines (production), each stamped with the id of the gRPC call it belongs to."""

from __future__ import annotations

import json
import logging
import uuid
from collections.abc import Iterable
from contextvars import ContextVar
from datetime import datetime, timezone
from typing import Any

REQUEST_ID: ContextVar[str] = ContextVar("points_request_id", default="")
REQUEST_ID_HEADER = "x-request-id"


class RequestIdFilter(logging.Filter):
    """Stamps every record with the id of the gRPC call it was logged in ('' outside calls)."""

    def filter(self, record: logging.LogRecord) -> bool:
        record.request_id = REQUEST_ID.get()
        return True


class JsonFormatter(logging.Formatter):
    """One JSON object per line: time (UTC), level, logger, message, request_id, and the exception if any."""

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "time": datetime.fromtimestamp(record.created, timezone.utc).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        request_id = getattr(record, "request_id", "")
        if request_id:
            entry["request_id"] = request_id
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        return json.dumps(entry, ensure_ascii=False)


class TextFormatter(logging.Formatter):
    """The development format, with the request id after the logger name when there is one."""

    def __init__(self) -> None:
        super().__init__("%(asctime)s %(levelname)s %(name)s: %(message)s")

    def format(self, record: logging.LogRecord) -> str:
        request_id = getattr(record, "request_id", "")
        text = super().format(record)
        return text.replace(f" {record.name}: ", f" {record.name} [{request_id}]: ", 1) if request_id else text


def configure_logging(log_format: str, level: str) -> None:
    """Logs to stderr, as text (development) or JSON lines (production)."""
    handler = logging.StreamHandler()
    handler.addFilter(RequestIdFilter())
    handler.setFormatter(JsonFormatter() if log_format == "json" else TextFormatter())
    logging.basicConfig(level=level, handlers=[handler], force=True)


def request_id_from(metadata: Iterable[tuple[str, Any]] | None) -> str:
    """The caller's x-request-id when it is a sane token, else a new one."""
    for key, value in metadata or ():
        if key == REQUEST_ID_HEADER and isinstance(value, str) and 0 < len(value) <= 128 and value.isprintable() and " " not in value:
            return value
    return uuid.uuid4().hex
