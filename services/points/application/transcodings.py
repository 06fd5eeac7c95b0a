"""How domain values are stored inside events. The names are stored with the data: never change them."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Any

from eventsourcing.persistence import JSONTranscoder, Transcoding

from points.domain.policy import PointsLine


class DateAsISO(Transcoding):
    type = date
    name = "date_iso"

    def encode(self, obj: date) -> str:
        return obj.isoformat()

    def decode(self, data: str) -> date:
        return date.fromisoformat(data)


class PointsLineAsList(Transcoding):
    """[rule_id, policy_version, dimension, points, weighted_points, multiplier, weight, cap_per_day, cap_per_period]."""

    type = PointsLine
    name = "points_line"

    def encode(self, obj: PointsLine) -> list[str | None]:
        return [
            obj.rule_id,
            obj.policy_version,
            obj.dimension,
            str(obj.points),
            str(obj.weighted_points),
            str(obj.multiplier),
            str(obj.weight),
            _text(obj.cap_per_day),
            _text(obj.cap_per_period),
        ]

    def decode(self, data: list[Any]) -> PointsLine:
        rule_id, policy_version, dimension, points, weighted, multiplier, weight, cap_day, cap_period = data
        return PointsLine(
            rule_id=rule_id,
            policy_version=policy_version,
            dimension=dimension,
            points=Decimal(points),
            weighted_points=Decimal(weighted),
            multiplier=Decimal(multiplier),
            weight=Decimal(weight),
            cap_per_day=_decimal(cap_day),
            cap_per_period=_decimal(cap_period),
        )


def _text(value: Decimal | None) -> str | None:
    return None if value is None else str(value)


def _decimal(value: str | None) -> Decimal | None:
    return None if value is None else Decimal(value)


def register_domain_transcodings(transcoder: JSONTranscoder) -> None:
    transcoder.register(DateAsISO())
    transcoder.register(PointsLineAsList())
