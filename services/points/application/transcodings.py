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
    type = PointsLine
    name = "points_line"

    def encode(self, obj: PointsLine) -> list[str]:
        return [obj.rule_id, obj.policy_version, obj.dimension, str(obj.points), str(obj.weighted_points)]

    def decode(self, data: list[Any]) -> PointsLine:
        rule_id, policy_version, dimension, points, weighted = data
        return PointsLine(rule_id, policy_version, dimension, Decimal(points), Decimal(weighted))


def register_domain_transcodings(transcoder: JSONTranscoder) -> None:
    transcoder.register(DateAsISO())
    transcoder.register(PointsLineAsList())
