"""The ledger view's reads for payroll: statements (work, adjustments, counts, valued points), a month's earlier
months for the pay carried in, closes, pay rules, the first booked month, and the ledger feed.

A mixin of the view (LedgerQueries), written once for both databases with its connection helpers.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from points.projections.ledger_rows import (
    LINE_SELECT,
    LineRow,
    PayRulesRow,
    PeriodCloseRow,
    from_units,
)

CLOSE_COLUMNS = "period, position, closed_at, closed_by, reason, proposed_by"
PAY_RULES_COLUMNS = "position, version, effective_from, rules"


@dataclass(frozen=True)
class StatementRows:
    """One employee's booked lines in one pay month, summed: work of the month and adjustments apart."""

    employee_id: str
    work: tuple[tuple[str, Decimal, Decimal], ...]  # (dimension, points, weighted) of work done in the month
    adjustments: tuple[tuple[str, str, Decimal, Decimal], ...]  # (business month, dimension, points, weighted) of earlier work
    event_count: int  # work events with lines booked in the month
    valued: tuple[tuple[str, Decimal], ...]  # (point value, weighted points) of every line booked in the month


def units(rows: Sequence[Sequence[Any]]) -> tuple[tuple[str, Decimal, Decimal], ...]:
    return tuple((r[0], from_units(int(r[1])), from_units(int(r[2]))) for r in rows)


class PayrollReads:
    """Payroll's reads of the view (mixed into LedgerQueries: uses its _cursor, _all, _t, _in, P and _pay_rules)."""

    def statements(self, month: str, *, upto: int, after_employee: str, limit: int) -> list[StatementRows]:
        """Per employee (in id order, after `after_employee`), the lines booked in pay month `month` up to `upto`, summed."""
        p, lines = self.P, self._t("balance_lines")
        with self._cursor(commit=False) as curs:
            employees = [
                r[0]
                for r in self._all(
                    curs,
                    f"SELECT DISTINCT employee_id FROM {lines} WHERE booked_month = {p} AND position <= {p} "
                    f"AND employee_id > {p} ORDER BY employee_id LIMIT {p}",
                    [month, upto, after_employee, limit],
                )
            ]
            if not employees:
                return []
            scope = f"booked_month = {p} AND position <= {p} AND employee_id IN {self._in(employees)}"
            params = [month, upto, *employees]
            sums = self._all(
                curs,
                f"SELECT employee_id, month, dimension, sum(points), sum(weighted_points) FROM {lines} WHERE {scope} "
                "GROUP BY employee_id, month, dimension ORDER BY employee_id, month, dimension",
                params,
            )
            counts = dict(
                (r[0], int(r[1]))
                for r in self._all(
                    curs, f"SELECT employee_id, count(DISTINCT event_id) FROM {lines} WHERE {scope} GROUP BY employee_id", params
                )
            )
            values = self._all(
                curs,
                f"SELECT employee_id, point_value, sum(weighted_points) FROM {lines} WHERE {scope} "
                "GROUP BY employee_id, point_value ORDER BY employee_id, point_value",
                params,
            )
        return [
            StatementRows(
                employee_id=e,
                work=units([(r[2], r[3], r[4]) for r in sums if r[0] == e and r[1] == month]),
                adjustments=tuple((r[1], r[2], from_units(int(r[3])), from_units(int(r[4]))) for r in sums if r[0] == e and r[1] != month),
                event_count=counts.get(e, 0),
                valued=tuple((r[1], from_units(int(r[2]))) for r in values if r[0] == e),
            )
            for e in employees
        ]

    def valued_months(self, employee_ids: Sequence[str], before: str) -> dict[str, dict[str, list[tuple[str, Decimal]]]]:
        """Per employee and pay month before `before`: (point value, weighted points) as booked now."""
        return self._valued(employee_ids, "balance_dimensions", f"booked_month < {self.P}", [before])

    def valued_lines(self, employee_ids: Sequence[str], months: Sequence[str], upto: int) -> dict[str, dict[str, list[tuple[str, Decimal]]]]:
        """Per employee and pay month in `months`: (point value, weighted points) of the lines booked up to position `upto`."""
        return self._valued(employee_ids, "balance_lines", f"booked_month IN {self._in(months)} AND position <= {self.P}", [*months, upto])

    def _valued(
        self, employee_ids: Sequence[str], table: str, condition: str, params: list[Any]
    ) -> dict[str, dict[str, list[tuple[str, Decimal]]]]:
        found: dict[str, dict[str, list[tuple[str, Decimal]]]] = {}
        with self._cursor(commit=False) as curs:
            for start in range(0, len(employee_ids), 400):
                chunk = list(employee_ids[start : start + 400])
                for employee_id, month, value, weighted in self._all(
                    curs,
                    f"SELECT employee_id, booked_month, point_value, sum(weighted_points) FROM {self._t(table)} "  # noqa: S608
                    f"WHERE employee_id IN {self._in(chunk)} AND {condition} GROUP BY employee_id, booked_month, point_value",
                    [*chunk, *params],
                ):
                    found.setdefault(employee_id, {}).setdefault(month, []).append((value, from_units(int(weighted))))
        return found

    def closes(self) -> list[PeriodCloseRow]:
        with self._cursor(commit=False) as curs:
            rows = self._all(curs, f"SELECT {CLOSE_COLUMNS} FROM {self._t('pay_periods')} ORDER BY period")
        return [PeriodCloseRow(*r) for r in rows]

    def pay_rules(self) -> list[PayRulesRow]:
        """Every published version's [pay] table, in publication order, with its position."""
        with self._cursor(commit=False) as curs:
            return self._pay_rules(curs)

    def first_booked_month(self) -> str:
        """The earliest pay month with any line booked in it ("" when nothing is booked)."""
        with self._cursor(commit=False) as curs:
            return str(self._all(curs, f"SELECT min(booked_month) FROM {self._t('balance_lines')}")[0][0] or "")

    def entries_after(self, position: int, limit: int) -> tuple[list[LineRow], list[PeriodCloseRow], list[PayRulesRow]]:
        """Booked lines, period closes and published pay rules after `position`, in log order, whole positions only."""
        p = self.P
        with self._cursor(commit=False) as curs:
            lines = [
                LineRow(*r)
                for r in self._all(
                    curs,
                    f"SELECT {LINE_SELECT} FROM {self._t('balance_lines')} WHERE position > {p} AND position IN "
                    f"(SELECT DISTINCT position FROM {self._t('balance_lines')} WHERE position > {p} ORDER BY position LIMIT {p}) "
                    "ORDER BY position, line_no",
                    [position, position, limit],
                )
            ]
            last = lines[-1].position if lines else None
            closes_sql = f"SELECT {CLOSE_COLUMNS} FROM {self._t('pay_periods')} WHERE position > {p} ORDER BY position"
            closes = [PeriodCloseRow(*r) for r in self._all(curs, closes_sql, [position])]
            rules_sql = f"SELECT {PAY_RULES_COLUMNS} FROM {self._t('pay_rules')} WHERE position > {p} ORDER BY position"
            rules = [PayRulesRow(*r) for r in self._all(curs, rules_sql, [position])]
        if last is not None:
            closes = [c for c in closes if c.position < last]
            rules = [r for r in rules if r.position < last]
        return lines, closes, rules
