"""Parsing rules of request fields: dates, quantities, periods, ids; and how violations are collected."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest

from points.domain.errors import FieldViolation, InvalidRequest, Violations
from points.domain.values import Period, check_identifier, check_request_id, check_text, parse_date, parse_quantity


def reasons(v: Violations) -> list[tuple[str, str]]:
    return [(item.field, item.reason) for item in v.items]


# -- violations ---------------------------------------------------------------------


def test_violations_collect_every_mistake_and_the_error_reason_is_the_first_one() -> None:
    v = Violations()
    check_request_id(v, "request_id", "")
    parse_date(v, "occurred_on", "2026-13-01")
    parse_quantity(v, "quantity", "-1")

    with pytest.raises(InvalidRequest) as caught:
        v.raise_if_any()

    assert [(f.field, f.reason) for f in caught.value.violations] == [
        ("request_id", "MISSING_REQUEST_ID"),
        ("occurred_on", "MALFORMED_DATE"),
        ("quantity", "NEGATIVE_QUANTITY"),
    ]
    assert caught.value.reason == "MISSING_REQUEST_ID"


def test_no_violations_raise_nothing() -> None:
    v = Violations()
    assert not v
    v.raise_if_any()


def test_invalid_request_needs_at_least_one_violation() -> None:
    with pytest.raises(ValueError):
        InvalidRequest([])


def test_invalid_request_message_names_every_field() -> None:
    error = InvalidRequest([FieldViolation("a", "R1", "first"), FieldViolation("b", "R2", "second")])
    assert "a: first" in error.message and "b: second" in error.message


# -- dates --------------------------------------------------------------------------


def test_parse_date_reads_an_iso_calendar_date() -> None:
    v = Violations()
    assert parse_date(v, "occurred_on", "2026-11-28") == date(2026, 11, 28)
    assert not v


def test_parse_date_reads_a_leap_day() -> None:
    v = Violations()
    assert parse_date(v, "occurred_on", "2028-02-29") == date(2028, 2, 29)
    assert not v


def test_missing_date_is_reported_when_required() -> None:
    v = Violations()
    assert parse_date(v, "occurred_on", "") is None
    assert reasons(v) == [("occurred_on", "MISSING_DATE")]


def test_missing_date_is_accepted_when_optional() -> None:
    v = Violations()
    assert parse_date(v, "until", "", required=False) is None
    assert not v


@pytest.mark.parametrize(
    "text",
    ["2026-13-01", "2027-02-29", "2026-2-1", "20261101", "2026-11-28T10:00", "28/11/2026", "2026-11-28\n", "today"],
)
def test_malformed_date_is_reported(text: str) -> None:
    v = Violations()
    assert parse_date(v, "occurred_on", text) is None
    assert reasons(v) == [("occurred_on", "MALFORMED_DATE")]


# -- quantities ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("3", "3"),
        ("1.5", "1.5"),
        ("3.00", "3"),
        ("3.0", "3"),
        ("1.50", "1.5"),
        ("0", "0"),
        ("0.000001", "0.000001"),
        ("999999999.999999", "999999999.999999"),
        ("0012", "12"),
    ],
)
def test_parse_quantity_normalises_equal_numbers_to_one_spelling(text: str, expected: str) -> None:
    v = Violations()
    quantity = parse_quantity(v, "quantity", text)
    assert not v
    # str() compares the spelling too: "3.00" must become "3", not merely equal 3.
    assert str(quantity) == expected


def test_missing_quantity_is_reported() -> None:
    v = Violations()
    assert parse_quantity(v, "quantity", "") is None
    assert reasons(v) == [("quantity", "MISSING_QUANTITY")]


@pytest.mark.parametrize("text", ["-1", "-0.5", "-1000000000", "-0"])
def test_negative_quantity_is_refused(text: str) -> None:
    v = Violations()
    assert parse_quantity(v, "quantity", text) is None
    assert reasons(v) == [("quantity", "NEGATIVE_QUANTITY")]


@pytest.mark.parametrize(
    "text",
    [
        "abc", "NaN", "sNaN", "Infinity", "-Infinity", "1,5", "3 units", "1" * 33,
        # One grammar: ASCII digits, one optional '.', places after it; Decimal() would take each of these.
        "1e3", "1E-2", "1E+2", "1_000", " 12 ", "12 ", "+5", "\u0663", "\uff11\uff12", ".5", "5.", "1.2.3", "--1", "0x10",
    ],
)  # fmt: skip
def test_malformed_quantity_is_refused(text: str) -> None:
    v = Violations()
    assert parse_quantity(v, "quantity", text) is None
    assert reasons(v) == [("quantity", "MALFORMED_QUANTITY")]


@pytest.mark.parametrize("text", ["0.0000001", "1.1234567", "2.0000000"])
def test_quantity_with_more_than_six_places_is_refused(text: str) -> None:
    v = Violations()
    assert parse_quantity(v, "quantity", text) is None
    assert reasons(v) == [("quantity", "QUANTITY_TOO_PRECISE")]


@pytest.mark.parametrize("text", ["1000000000", "1000000000.5", "999999999999"])
def test_quantity_of_a_billion_or_more_is_refused(text: str) -> None:
    v = Violations()
    assert parse_quantity(v, "quantity", text) is None
    assert reasons(v) == [("quantity", "QUANTITY_TOO_LARGE")]


# -- periods ------------------------------------------------------------------------


def test_month_period_is_one_month() -> None:
    v = Violations()
    period = Period.parse(v, "period", "2026-11")
    assert period is not None and not v
    assert period.months == ("2026-11",)
    assert period.text == "2026-11"


@pytest.mark.parametrize(
    ("text", "months"),
    [
        ("2026-Q1", ("2026-01", "2026-02", "2026-03")),
        ("2026-Q2", ("2026-04", "2026-05", "2026-06")),
        ("2026-Q3", ("2026-07", "2026-08", "2026-09")),
        ("2026-Q4", ("2026-10", "2026-11", "2026-12")),
    ],
)
def test_quarter_period_is_its_three_months(text: str, months: tuple[str, ...]) -> None:
    v = Violations()
    period = Period.parse(v, "period", text)
    assert period is not None and not v
    assert period.months == months


def test_year_period_is_its_twelve_months() -> None:
    v = Violations()
    period = Period.parse(v, "period", "2026")
    assert period is not None and not v
    assert period.months == (
        "2026-01", "2026-02", "2026-03", "2026-04", "2026-05", "2026-06",
        "2026-07", "2026-08", "2026-09", "2026-10", "2026-11", "2026-12",
    )  # fmt: skip


@pytest.mark.parametrize(
    "text", ["2026-13", "2026-00", "2026-Q5", "2026-Q0", "26-11", "", "2026-1", "2026/11", "1899", "2026-q4"]
)
def test_malformed_period_is_refused(text: str) -> None:
    v = Violations()
    assert Period.parse(v, "period", text) is None
    assert reasons(v) == [("period", "MALFORMED_PERIOD")]


def test_period_with_trailing_newline_is_refused() -> None:
    v = Violations()
    assert Period.parse(v, "period", "2026-11\n") is None
    assert reasons(v) == [("period", "MALFORMED_PERIOD")]


# -- identifiers and request ids ----------------------------------------------------


@pytest.mark.parametrize("value", ["E1001", "o-001", "a", "x.y_z-1", "A" * 64])
def test_well_formed_identifier_is_accepted(value: str) -> None:
    v = Violations()
    check_identifier(v, "employee_id", value, "employee")
    assert not v


def test_missing_identifier_names_what_is_missing() -> None:
    v = Violations()
    check_identifier(v, "employee_id", "", "employee")
    check_identifier(v, "outlet_id", "", "outlet")
    assert reasons(v) == [("employee_id", "MISSING_EMPLOYEE_ID"), ("outlet_id", "MISSING_OUTLET_ID")]


@pytest.mark.parametrize("value", ["-E1", ".E1", "E 1", "E/1", "E1!", "员工1", "A" * 65])
def test_malformed_identifier_names_what_is_malformed(value: str) -> None:
    v = Violations()
    check_identifier(v, "outlet_id", value, "outlet")
    assert reasons(v) == [("outlet_id", "MALFORMED_OUTLET_ID")]


def test_identifier_with_trailing_newline_is_malformed() -> None:
    v = Violations()
    check_identifier(v, "employee_id", "E1\n", "employee")
    assert reasons(v) == [("employee_id", "MALFORMED_EMPLOYEE_ID")]


@pytest.mark.parametrize("value", ["req-1", "a", "2026-11-28/E1001/duty#1", "!" * 128, "~{}"])
def test_printable_request_id_is_accepted(value: str) -> None:
    v = Violations()
    check_request_id(v, "request_id", value)
    assert not v


def test_missing_request_id_is_reported() -> None:
    v = Violations()
    check_request_id(v, "request_id", "")
    assert reasons(v) == [("request_id", "MISSING_REQUEST_ID")]


@pytest.mark.parametrize("value", ["req 1", "req\t1", "zé", "x" * 129, "\x7f"])
def test_request_id_with_spaces_or_non_ascii_is_malformed(value: str) -> None:
    v = Violations()
    check_request_id(v, "request_id", value)
    assert reasons(v) == [("request_id", "MALFORMED_REQUEST_ID")]


def test_request_id_with_trailing_newline_is_malformed() -> None:
    v = Violations()
    check_request_id(v, "request_id", "req-1\n")
    assert reasons(v) == [("request_id", "MALFORMED_REQUEST_ID")]


# -- free text ----------------------------------------------------------------------


def test_text_up_to_the_limit_is_accepted() -> None:
    v = Violations()
    check_text(v, "source", "s" * 256)
    check_text(v, "recorded_by", "王主管 (counter 3)")
    assert not v


def test_text_over_the_limit_is_too_long() -> None:
    v = Violations()
    check_text(v, "source", "s" * 257)
    assert reasons(v) == [("source", "TEXT_TOO_LONG")]


@pytest.mark.parametrize("value", ["a\nb", "\x00", "tab\there", "\x1b[31m"])
def test_text_with_control_characters_is_refused(value: str) -> None:
    v = Violations()
    check_text(v, "recorded_by", value)
    assert reasons(v) == [("recorded_by", "CONTROL_CHARACTERS")]


@pytest.mark.parametrize("value", ["a\x7fb", "a\x85b", "a\x9bb"])
def test_text_with_del_or_c1_control_characters_is_refused(value: str) -> None:
    v = Violations()
    check_text(v, "recorded_by", value)
    assert reasons(v) == [("recorded_by", "CONTROL_CHARACTERS")]


def test_control_characters_are_exactly_unicode_category_cc() -> None:
    import unicodedata

    refused = []
    for code_point in range(0x110000):
        v = Violations()
        check_text(v, "source", chr(code_point))
        if v:
            refused.append(code_point)
    assert refused == [c for c in range(0x110000) if unicodedata.category(chr(c)) == "Cc"]
