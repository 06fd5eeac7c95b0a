"""Turning stored events back into what the ledger books, quickly.

The library's mapper decodes every stored event with a Python object hook on each JSON
object, then resolves the topic and runs upcasters: about as costly as the rest of a
rebuild together. Almost every event in the log is a WorkEvent.Recorded whose state the
library's JSON transcoder wrote in one shape (fixed key order, no spaces). This decoder
reads that shape with one anchored regular expression and builds, without the domain event,
the WorkFacts that ledger.work_facts() makes of the mapper's event (a test compares them),
each text converted once per distinct value (a day, a quantity, a batch's timestamp, a
set of points lines) rather than once per event.

Anything else (another topic, an older class version, a string holding an escape, a
compressed or enciphered store, a transcoding name we do not know) does not match and goes
through the mapper unchanged, so the fast path can only be faster, never different.
"""

from __future__ import annotations

import json
import re
from datetime import date, datetime
from decimal import Decimal
from typing import Any, TypeVar
from uuid import UUID

from eventsourcing.persistence import Mapper, StoredEvent
from eventsourcing.utils import get_topic

from points.domain.policy import PointsLine
from points.domain.work import WorkEvent
from points.projections.ledger_rows import LineFacts, WorkFacts, instant_text, line_facts, month_of_day
from points.projections.ledger_rows import attributes_text as ledger_attributes_text

RECORDED_TOPIC = get_topic(WorkEvent.Recorded)

_S = r'"([^"\\\x00-\x1f]*)"'  # a JSON string without escapes: its text is its value
_N = _S.replace("(", "").replace(")", "")  # the same, not captured (a value the ledger does not need)
_OPT_S = r'(null|"[^"\\\x00-\x1f]*")'
_LINE = (
    r'\{"_type_":"points_line","_data_":\[' + ",".join([_S] * 7) + "," + _OPT_S + "," + _OPT_S + r"\]\}"
)  # fmt: skip
_LINE_NC = _LINE.replace("(", "(?:").replace("(?:?:", "(?:")
_RECORDED = re.compile(
    r'\{"timestamp":\{"_type_":"datetime_iso","_data_":' + _S + r"\},"
    r'"originator_topic":' + _N + ","
    r'"request_id":' + _S + ","
    r'"fingerprint":' + _N + ","
    r'"employee_id":' + _S + ","
    r'"role":' + _S + ","
    r'"outlet_id":' + _S + ","
    r'"outlet_requested":(?:true|false),'
    r'"outlet_class":' + _S + ","
    r'"kind":' + _S + ","
    r'"quantity":\{"_type_":"decimal_str","_data_":' + _S + r"\},"
    r'"occurred_on":\{"_type_":"date_iso","_data_":' + _S + r"\},"
    r'"occurred_at":(?:null|\{"_type_":"datetime_iso","_data_":' + _S + r"\}),"
    r'"recorded_by":' + _S + ","
    r'"source":' + _S + ","
    r'"attributes":(\{(?:' + _N + ":" + _N + "(?:," + _N + ":" + _N + r")*)?\}),"
    r'"lines":\[((?:' + _LINE_NC + "(?:," + _LINE_NC + r")*)?)\],"
    r'"class_version":2\}'
)
_LINE_RE = re.compile(_LINE)
_CACHE_LIMIT = 4096


def _optional(text: str) -> Decimal | None:
    return None if text == "null" else Decimal(text[1:-1])


class EventDecoder:
    """Decodes stored events as the mapper does; a WorkEvent.Recorded in its usual shape straight to its WorkFacts."""

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
        # Text as stored -> text as the view stores it (each a pure function of its key).
        self._lines: dict[str, tuple[LineFacts, ...]] = {}
        self._instants: dict[str, str] = {}
        self._days: dict[str, tuple[str, str, date]] = {}
        self._quantities: dict[str, str] = {}
        self._attributes: dict[str, str] = {}

    def decode(self, topic: str, originator_id: Any, originator_version: int, state: bytes) -> Any:
        """The domain event, or for a WorkEvent.Recorded in the usual shape its WorkFacts.

        `originator_id` may be a UUID or its text (the PostgreSQL reader selects the text).
        """
        if self.enabled and topic == RECORDED_TOPIC:
            facts = self.recorded(originator_id, state)
            if facts is not None:
                return facts
        if isinstance(originator_id, str):
            originator_id = UUID(originator_id)
        return self.mapper.to_domain_event(
            StoredEvent(originator_id=originator_id, originator_version=originator_version, topic=topic, state=state)
        )

    def recorded(self, originator_id: Any, state: bytes) -> WorkFacts | None:
        """The event's facts, equal to work_facts() of the mapper's event; None when the state is not in the usual shape."""
        try:
            text = state.decode("utf8")
        except UnicodeDecodeError:
            return None
        m = _RECORDED.fullmatch(text)
        if m is None:
            return None
        if type(originator_id) is str:
            event_id = originator_id
        elif isinstance(originator_id, UUID):
            event_id = str(originator_id)
        else:
            return None
        (timestamp, request_id, employee_id, role, outlet_id, outlet_class, kind, quantity, occurred_on, occurred_at, recorded_by,
         source, attributes, lines) = m.groups()  # fmt: skip
        attributes_text = self._attributes.get(attributes)
        if attributes_text is None:
            if '"_type_"' in attributes or '"_data_"' in attributes:
                return None  # the object hook would look at such a table: leave it to the mapper
            attributes_text = _remember(self._attributes, attributes, ledger_attributes_text(json.loads(attributes)))
        day = self._days.get(occurred_on)
        if day is None:
            on = date.fromisoformat(occurred_on)
            day = _remember(self._days, occurred_on, (on.isoformat(), month_of_day(on), on))
        quantity_text = self._quantities.get(quantity)
        if quantity_text is None:
            quantity_text = _remember(self._quantities, quantity, str(Decimal(quantity)))
        recorded_at = self._instants.get(timestamp)
        if recorded_at is None:
            recorded_at = _remember(self._instants, timestamp, instant_text(datetime.fromisoformat(timestamp)))
        line_facts_ = self._lines.get(lines)
        if line_facts_ is None:
            line_facts_ = _remember(self._lines, lines, tuple(line_facts(_points_line(g)) for g in (x.groups() for x in _LINE_RE.finditer(lines))))
        return tuple.__new__(
            WorkFacts,
            (
                event_id, employee_id, outlet_id, role, kind, quantity_text, day[0],
                "" if occurred_at is None else instant_text(datetime.fromisoformat(occurred_at)), recorded_at,
                recorded_by, source, request_id, attributes_text, day[1], day[2], line_facts_, outlet_class,
            ),
        )  # fmt: skip


def _points_line(g: tuple[str, ...]) -> PointsLine:
    return PointsLine(
        rule_id=g[0], policy_version=g[1], dimension=g[2], points=Decimal(g[3]), weighted_points=Decimal(g[4]),
        multiplier=Decimal(g[5]), weight=Decimal(g[6]), cap_per_day=_optional(g[7]), cap_per_period=_optional(g[8]),
    )  # fmt: skip


_T = TypeVar("_T")


def _remember(cache: dict[str, _T], key: str, value: _T) -> _T:
    if len(cache) >= _CACHE_LIMIT:
        cache.clear()
    cache[key] = value
    return value
