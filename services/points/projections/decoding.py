"""Turning stored events back into domain events for the projector, quickly.

The library's mapper decodes every stored event with a Python object hook on each JSON
object, then resolves the topic and runs upcasters: about as costly as the rest of a
rebuild together. Almost every event in the log is a WorkEvent.Recorded whose state the
library's JSON transcoder wrote in one shape (fixed key order, no spaces). This decoder
reads that shape with one anchored regular expression and builds the very event object the
mapper would build (same class, same attribute values: a test compares them field by field).

Anything else (another topic, an older class version, a string holding an escape, a
compressed or enciphered store, a transcoding name we do not know) does not match and goes
through the mapper unchanged, so the fast path can only be faster, never different.
"""

from __future__ import annotations

import json
import re
from datetime import date, datetime
from decimal import Decimal
from typing import Any
from uuid import UUID

from eventsourcing.persistence import Mapper, StoredEvent
from eventsourcing.utils import get_topic

from points.domain.policy import PointsLine
from points.domain.work import WorkEvent

RECORDED_TOPIC = get_topic(WorkEvent.Recorded)

_S = r'"([^"\\\x00-\x1f]*)"'  # a JSON string without escapes: its text is its value
_OPT_S = r'(null|"[^"\\\x00-\x1f]*")'
_LINE = (
    r'\{"_type_":"points_line","_data_":\[' + ",".join([_S] * 7) + "," + _OPT_S + "," + _OPT_S + r"\]\}"
)  # fmt: skip
_LINE_NC = _LINE.replace("(", "(?:").replace("(?:?:", "(?:")
_RECORDED = re.compile(
    r'\{"timestamp":\{"_type_":"datetime_iso","_data_":' + _S + r"\},"
    r'"originator_topic":' + _S + ","
    r'"request_id":' + _S + ","
    r'"fingerprint":' + _S + ","
    r'"employee_id":' + _S + ","
    r'"role":' + _S + ","
    r'"outlet_id":' + _S + ","
    r'"outlet_requested":(true|false),'
    r'"outlet_class":' + _S + ","
    r'"kind":' + _S + ","
    r'"quantity":\{"_type_":"decimal_str","_data_":' + _S + r"\},"
    r'"occurred_on":\{"_type_":"date_iso","_data_":' + _S + r"\},"
    r'"occurred_at":(?:null|\{"_type_":"datetime_iso","_data_":' + _S + r"\}),"
    r'"recorded_by":' + _S + ","
    r'"source":' + _S + ","
    r'"attributes":(\{(?:' + _S + ":" + _S + "(?:," + _S + ":" + _S + r")*)?\}),"
    r'"lines":\[((?:' + _LINE_NC + "(?:," + _LINE_NC + r")*)?)\],"
    r'"class_version":2\}'
)
_LINE_RE = re.compile(_LINE)
_CACHE_LIMIT = 4096


def _optional(text: str) -> Decimal | None:
    return None if text == "null" else Decimal(text[1:-1])


class EventDecoder:
    """Decodes stored events as the mapper does, WorkEvent.Recorded in its usual shape without it."""

    def __init__(self, mapper: Mapper) -> None:
        self.mapper = mapper
        transcoder = getattr(mapper, "transcoder", None)
        names = getattr(transcoder, "names", {})
        # The fast path reads the shape the stock transcodings write; anything else keeps the mapper.
        self.enabled = (
            getattr(mapper, "cipher", None) is None
            and getattr(mapper, "compressor", None) is None
            and {"datetime_iso", "decimal_str", "date_iso", "points_line"} <= set(names)
            and WorkEvent.Recorded.class_version == 2
        )
        self._lines: dict[str, tuple[PointsLine, ...]] = {}

    def decode(self, topic: str, originator_id: Any, originator_version: int, state: bytes) -> Any:
        if self.enabled and topic == RECORDED_TOPIC:
            event = self.recorded(originator_id, originator_version, state)
            if event is not None:
                return event
        return self.mapper.to_domain_event(
            StoredEvent(originator_id=originator_id, originator_version=originator_version, topic=topic, state=state)
        )

    def recorded(self, originator_id: Any, originator_version: int, state: bytes) -> WorkEvent.Recorded | None:
        """The event, or None when the state is not in the usual shape (then use the mapper)."""
        try:
            text = state.decode("utf8")
        except UnicodeDecodeError:
            return None
        m = _RECORDED.fullmatch(text)
        if m is None or not isinstance(originator_id, UUID):
            return None
        (timestamp, originator_topic, request_id, fingerprint, employee_id, role, outlet_id, outlet_requested,
         outlet_class, kind, quantity, occurred_on, occurred_at, recorded_by, source, attributes, *_, lines) = m.groups()  # fmt: skip
        if attributes == "{}":
            attribute_map: dict[str, str] = {}
        elif '"_type_"' in attributes or '"_data_"' in attributes:
            return None  # the object hook would look at such a table: leave it to the mapper
        else:
            attribute_map = json.loads(attributes)
        points_lines = self._lines.get(lines)
        if points_lines is None:
            points_lines = tuple(
                PointsLine(
                    rule_id=g[0], policy_version=g[1], dimension=g[2], points=Decimal(g[3]),
                    weighted_points=Decimal(g[4]), multiplier=Decimal(g[5]), weight=Decimal(g[6]),
                    cap_per_day=_optional(g[7]), cap_per_period=_optional(g[8]),
                )  # fmt: skip
                for g in (match.groups() for match in _LINE_RE.finditer(lines))
            )
            if len(self._lines) >= _CACHE_LIMIT:
                self._lines.clear()
            self._lines[lines] = points_lines  # PointsLine is frozen: events may share them
        event = object.__new__(WorkEvent.Recorded)
        object.__setattr__(
            event,
            "__dict__",
            {
                "timestamp": datetime.fromisoformat(timestamp),
                "originator_topic": originator_topic,
                "request_id": request_id,
                "fingerprint": fingerprint,
                "employee_id": employee_id,
                "role": role,
                "outlet_id": outlet_id,
                "outlet_requested": outlet_requested == "true",
                "outlet_class": outlet_class,
                "kind": kind,
                "quantity": Decimal(quantity),
                "occurred_on": date.fromisoformat(occurred_on),
                "occurred_at": None if occurred_at is None else datetime.fromisoformat(occurred_at),
                "recorded_by": recorded_by,
                "source": source,
                "attributes": attribute_map,
                "lines": list(points_lines),
                "originator_id": originator_id,
                "originator_version": originator_version,
            },
        )
        return event
