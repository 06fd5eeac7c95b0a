"""New work events are stored by RecordedCodec, without their aggregates: the bytes must be the library's.

Three ways of checking it: generated events encoded both ways; a batch recorded through the
application on each backend, whose stored events the library's mapper reads back and writes
again byte for byte; and a codec that disagrees with its mapper refusing to be used, the
application then staying on the library's path with the same results.
"""

from __future__ import annotations

import random
from datetime import date, datetime, timedelta, timezone
from decimal import Decimal

import pytest
from eventsourcing.persistence import DatetimeAsISO, DecimalAsStr, JSONTranscoder, Mapper, Transcoding, UUIDAsHex

from points.application.points import PointsApplication, WorkFields
from points.application.recorded_codec import CodecMismatch, RecordedCodec
from points.application.results import WorkRecorded
from points.application.transcodings import PointsLineAsList
from points.domain.policy import PointsLine
from points.domain.work import WorkEvent
from points.domain.scoring import ScoredWork
from points.domain.work_request import WorkRequest

from tests.app.work_requests import log_size

ALPHABET = 'aZ09 _-"\\/\b\f\n\r\t\x00\x1f\x7f\u00e9\u00fc\u2028\u2029\u6771\U0001f600\ufeff'


def text(rng: random.Random, limit: int = 12) -> str:
    return "".join(rng.choice(ALPHABET) for _ in range(rng.randint(0, limit)))


def decimal(rng: random.Random) -> Decimal:
    return rng.choice([Decimal("0"), Decimal("-0.00"), Decimal("1E+2"), Decimal("12.3400"), Decimal(rng.randint(-10**6, 10**6)).scaleb(-rng.randint(0, 6))])


def instant(rng: random.Random) -> datetime:
    zone = rng.choice([timezone.utc, timezone(timedelta(hours=-3)), timezone(timedelta(hours=5, minutes=45))])
    return datetime(2026, rng.randint(1, 12), rng.randint(1, 28), rng.randint(0, 23), rng.randint(0, 59), rng.randint(0, 59),
                    rng.choice([0, 1, 999_999, rng.randint(0, 999_999)]), tzinfo=zone)  # fmt: skip


def generated(rng: random.Random) -> ScoredWork:
    request = WorkRequest(
        request_id=text(rng, 40) or "r",
        employee_id=text(rng),
        kind=text(rng),
        quantity=decimal(rng),
        occurred_on=date(2026, rng.randint(1, 12), rng.randint(1, 28)),
        occurred_at=rng.choice([None, instant(rng)]),
        outlet_id=rng.choice(["", text(rng)]),
        recorded_by=text(rng),
        source=text(rng),
        attributes={text(rng, 6): text(rng) for _ in range(rng.randint(0, 4))},
    )
    lines = tuple(
        PointsLine(text(rng), text(rng, 6), text(rng), decimal(rng), decimal(rng), decimal(rng), decimal(rng),
                   rng.choice([None, decimal(rng)]), rng.choice([None, decimal(rng)]))  # fmt: skip
        for _ in range(rng.randint(0, 3))
    )
    return ScoredWork(request, role=text(rng), outlet_id=text(rng), outlet_class=rng.choice("ABC"), lines=lines)


def test_generated_events_encode_exactly_as_the_library_does(app: PointsApplication) -> None:
    codec = app.recorded_codec
    assert codec is not None, "the codec's own check failed on this application's mapper"
    rng = random.Random(20261128)
    for n in range(3000):
        scored, timestamp = generated(rng), instant(rng)
        (mine,) = codec.stored_events([scored], timestamp)
        assert mine.state == codec.library_state(scored, timestamp), f"event {n}: {scored!r}"
        assert (mine.originator_id, mine.originator_version, mine.topic) == (scored.request.event_id, 1, "points.domain.work:WorkEvent.Recorded")


def test_a_recorded_batch_reads_back_and_writes_again_byte_for_byte(app: PointsApplication, staffed_outlet: None) -> None:
    """On each backend: what the batch path stored is what the library's mapper writes for the event it reads."""
    app.register_outlet(outlet_id="o3", outlet_class="C", region="south")
    before = log_size(app)
    batch = [
        WorkFields("c-1", "e1", "counter_transaction", "2", "2026-11-02"),
        WorkFields("c-2\"\\x", "e1", "customer_served", "1.50", "2026-11-03", occurred_at=datetime(2026, 11, 3, 9, 30, 1, 5, tzinfo=timezone(timedelta(hours=3))),
                   outlet_id="o3", recorded_by="teller 東京", source="feed\\1", attributes={"channel": "branch", "note": "ñ\u2028"}),  # fmt: skip
        WorkFields("c-3", "e1", "counter_transaction", "7", "2026-10-31", occurred_at=(1_793_448_000, 123_000)),
    ]
    results = app.record_work_events(batch)
    assert all(isinstance(r, WorkRecorded) and not r.replayed for r in results), results
    notifications = app.recorder.select_notifications(start=before + 1, limit=10)
    assert [n.id for n in notifications] == [r.position for r in results]  # type: ignore[union-attr]
    for notification, result in zip(notifications, results, strict=True):
        event = app.mapper.to_domain_event(notification)
        again = app.mapper.to_stored_event(event)
        assert (again.originator_id, again.originator_version, again.topic, again.state) == (
            notification.originator_id, notification.originator_version, notification.topic, notification.state
        )  # fmt: skip
        aggregate = app.repository.get(notification.originator_id)
        assert isinstance(aggregate, WorkEvent) and aggregate.version == 1
        assert (str(aggregate.id), aggregate.period, aggregate.points, tuple(aggregate.lines)) == (
            result.event_id, result.period, result.points, result.lines  # type: ignore[union-attr]
        )  # fmt: skip
    second = app.record_work_events(batch)  # the retries answer from the stored aggregates
    assert [(r.position, r.points, r.lines, r.replayed) for r in second] == [(r.position, r.points, r.lines, True) for r in results]  # type: ignore[union-attr]


class DateAsOrdinal(Transcoding):
    type = date
    name = "date_iso"  # the same name, another form: only the bytes can tell

    def encode(self, obj: date) -> int:
        return obj.toordinal()

    def decode(self, data: int) -> date:
        return date.fromordinal(data)


def test_a_codec_that_disagrees_with_its_mapper_refuses_to_be_used() -> None:
    transcoder = JSONTranscoder()
    transcoder.register(DateAsOrdinal())
    for transcoding in (PointsLineAsList(), UUIDAsHex(), DecimalAsStr(), DatetimeAsISO()):
        transcoder.register(transcoding)
    with pytest.raises(CodecMismatch, match="differs from the library's"):
        RecordedCodec(Mapper(transcoder=transcoder))


def test_without_the_codec_the_batch_path_stores_the_same_bytes(app: PointsApplication, staffed_outlet: None) -> None:
    fixed = datetime(2026, 11, 20, 8, 0, tzinfo=timezone.utc)
    app.clock = lambda: fixed
    codec = app.recorded_codec
    assert codec is not None
    first = app.record_work_events([WorkFields("d-1", "e1", "counter_transaction", "3", "2026-11-02", source="x")])
    app.recorded_codec = None  # as when the codec's check fails: the library's aggregates and save()
    second = app.record_work_events([WorkFields("d-2", "e1", "counter_transaction", "3", "2026-11-02", source="x")])
    a, b = (app.recorder.select_notifications(start=r[0].position, limit=1)[0] for r in (first, second))  # type: ignore[union-attr]
    assert a.state.replace(b'"d-1"', b'"d-2"') == b.state
    assert (first[0].points, first[0].lines, first[0].period) == (second[0].points, second[0].lines, second[0].period)  # type: ignore[union-attr]
