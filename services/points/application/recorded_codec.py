"""The stored form of a new work event, written without building the aggregate.

A batch of new work events used to go the library's way: `WorkEvent._create` builds the
event and the aggregate, then the mapper copies the event's attributes and the JSON
transcoder walks them, calling back into Python for every date, decimal and points line.
That was a third of the server's CPU per event. Here the same bytes are written directly
from the scored request: the same keys in the same order, the same transcoding names, the
same escaping (the json module's own string encoder), then the mapper's compressor and
cipher if it has them.

The bytes must be exactly the library's: stored events are read back by the library's
mapper, hashed into the audit chain and compared on replay. So the codec checks itself when
it is made, by encoding a sample with unusual values both ways, and refuses to be used if
the two differ (a different library version, transcoder or event class); the application
then stays on the library's path. `tests/unit/test_recorded_codec.py` compares the two
over many generated events.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, datetime, timedelta, timezone
from decimal import Decimal
from json.encoder import encode_basestring as _s  # what json.dumps(ensure_ascii=False) writes for a str
from typing import Any

from eventsourcing.persistence import Mapper, StoredEvent
from eventsourcing.utils import get_topic

from points.application.transcodings import DateAsISO, PointsLineAsList
from points.domain.policy import PointsLine
from points.domain.work import WorkEvent
from points.domain.scoring import ScoredWork
from points.domain.work_request import WorkRequest

# The library's transcoding names for the standard types (eventsourcing.persistence): part of the stored format.
_DATETIME = "datetime_iso"
_DECIMAL = "decimal_str"


class CodecMismatch(RuntimeError):
    """The direct encoding differs from the library's: it must not be used."""


class RecordedCodec:
    """Encodes `WorkEvent.Recorded` (version 1 of a work event) as the mapper would store it."""

    topic = get_topic(WorkEvent.Recorded)
    originator_topic = get_topic(WorkEvent)

    def __init__(self, mapper: Mapper[Any]) -> None:
        self.mapper = mapper
        self._head = '{"timestamp":'
        self._after_timestamp = ',"originator_topic":' + _s(self.originator_topic) + ',"request_id":'
        self._tail = ',"class_version":' + str(WorkEvent.Recorded.class_version) + "}"
        self.check()

    def stored_events(self, batch: Sequence[ScoredWork], timestamp: datetime) -> list[StoredEvent]:
        """The stored events of new work events, recorded at `timestamp`, in the batch's order."""
        stamp = _datetime(timestamp)
        lines_memo: dict[int, str] = {}  # id(PointsLine) -> its JSON; a batch's memo shares line objects
        dates_memo: dict[date, str] = {}  # equal dates have equal text
        compress = self.mapper.compressor.compress if self.mapper.compressor else None
        encrypt = self.mapper.cipher.encrypt if self.mapper.cipher else None
        stored = []
        for scored in batch:
            state = self._state(scored, stamp, lines_memo, dates_memo)
            if compress is not None:
                state = compress(state)
            if encrypt is not None:
                state = encrypt(state)
            stored.append(StoredEvent(originator_id=scored.request.event_id, originator_version=1, topic=self.topic, state=state))
        return stored

    def _state(self, scored: ScoredWork, stamp: str, lines_memo: dict[int, str], dates_memo: dict[date, str]) -> bytes:
        r: WorkRequest = scored.request
        day = dates_memo.get(r.occurred_on)
        if day is None:
            day = dates_memo[r.occurred_on] = _date(r.occurred_on)
        lines = []
        for line in scored.lines:
            text = lines_memo.get(id(line))
            if text is None:
                text = lines_memo[id(line)] = _line(line)
            lines.append(text)
        attributes = ",".join(f"{_s(k)}:{_s(v)}" for k, v in r.attributes.items())
        return "".join(
            (
                self._head,
                stamp,
                self._after_timestamp,
                _s(r.request_id),
                ',"fingerprint":',
                _s(r.fingerprint),
                ',"employee_id":',
                _s(r.employee_id),
                ',"role":',
                _s(scored.role),
                ',"outlet_id":',
                _s(scored.outlet_id),
                ',"outlet_requested":',
                "true" if r.outlet_id else "false",
                ',"outlet_class":',
                _s(scored.outlet_class),
                ',"kind":',
                _s(r.kind),
                ',"quantity":',
                _decimal(r.quantity),
                ',"occurred_on":',
                day,
                ',"occurred_at":',
                "null" if r.occurred_at is None else _datetime(r.occurred_at),
                ',"recorded_by":',
                _s(r.recorded_by),
                ',"source":',
                _s(r.source),
                ',"attributes":{',
                attributes,
                '},"lines":[',
                ",".join(lines),
                "]",
                self._tail,
            )
        ).encode("utf8")

    def library_state(self, scored: ScoredWork, timestamp: datetime) -> bytes:
        """The state as the library stores it (before compression and encryption): the reference."""
        event = WorkEvent.record(scored, timestamp=timestamp)
        (domain_event,) = event.collect_events()
        state = dict(vars(domain_event))
        del state["originator_id"], state["originator_version"]
        state["class_version"] = type(domain_event).class_version
        return self.mapper.transcoder.encode(state)

    def check(self) -> None:
        """Raises CodecMismatch unless a sample with unusual values encodes exactly as the library does."""
        for scored, timestamp in _samples():
            mine = self._state(scored, _datetime(timestamp), {}, {})
            theirs = self.library_state(scored, timestamp)
            if mine != theirs:
                raise CodecMismatch(f"the direct encoding of WorkEvent.Recorded differs from the library's:\n{mine!r}\n{theirs!r}")


def _datetime(value: datetime) -> str:
    return f'{{"_type_":"{_DATETIME}","_data_":{_s(value.isoformat())}}}'


def _date(value: date) -> str:
    return f'{{"_type_":"{DateAsISO.name}","_data_":{_s(value.isoformat())}}}'


def _decimal(value: Decimal) -> str:
    return f'{{"_type_":"{_DECIMAL}","_data_":{_s(str(value))}}}'


def _line(line: PointsLine) -> str:
    fields = ",".join("null" if x is None else _s(x) for x in PointsLineAsList().encode(line))
    return f'{{"_type_":"{PointsLineAsList.name}","_data_":[{fields}]}}'


def _samples() -> list[tuple[ScoredWork, datetime]]:
    """Events that exercise every branch: escapes, non-ASCII, attributes, occurred_at, caps and none."""
    east = timezone(timedelta(hours=5, minutes=30))
    request = WorkRequest(
        request_id='r-"1"\\é\u2028',
        employee_id="e-ü",
        kind="customer_served",
        quantity=Decimal("1.50"),
        occurred_on=date(2026, 2, 28),
        occurred_at=datetime(2026, 2, 28, 9, 5, 7, 120, tzinfo=east),
        outlet_id="o-1",
        recorded_by="teller \t/ 東京",
        source="feed\u0000x",
        attributes={"channel": "branch\n", "z_last": "ñ", "a_first": ""},
    )
    lines = (
        PointsLine("rule-1", "2026.1", "service", Decimal("3.0000"), Decimal("1.0500"), Decimal("1.0"), Decimal("0.35"), Decimal("10"), None),
        PointsLine("rule-2", "2026.1", "quality", Decimal("-2"), Decimal("-0.3"), Decimal("1"), Decimal("0.15"), None, Decimal("1E+2")),
    )
    plain = WorkRequest(
        request_id="r-2", employee_id="e-2", kind="k", quantity=Decimal("7"), occurred_on=date(2026, 12, 1)
    )
    return [
        (ScoredWork(request, role="service_manager", outlet_id="o-1", outlet_class="A", lines=lines), datetime(2026, 3, 1, 0, 0, tzinfo=timezone.utc)),
        (ScoredWork(plain, role="operations_supervisor", outlet_id="o-2", outlet_class="C", lines=()), datetime(2026, 12, 1, 23, 59, 59, 999999, tzinfo=east)),
    ]
