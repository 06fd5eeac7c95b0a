"""Value objects and the parsing rules of request fields: ids, dates, quantities, periods."""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache
from datetime import date, datetime, timedelta, timezone
from decimal import Decimal

from points.domain.errors import Violations

IDENTIFIER = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.\-]{0,63}$")
REQUEST_ID = re.compile(r"^[\x21-\x7e]{1,128}$")  # printable ASCII, no spaces
NAME = re.compile(r"^[a-z][a-z0-9_]{0,63}$")  # policy names: kinds, roles, dimensions
# The roles an employee can hold (the API's Role enum, lower case): a policy rule for any
# other role could never score anything.
ROLES = ("operations_supervisor", "service_manager", "outlet_head", "customer_manager")
ISO_DATE = re.compile(r"^[0-9]{4}-[0-9]{2}-[0-9]{2}$")  # ASCII digits only: \d also matches ١٢ and １２
CONTROL_CHARACTER = re.compile("[\x00-\x1f\x7f-\x9f]")  # exactly Unicode's category Cc
OUTLET_CLASSES = ("A", "B", "C")
# The one grammar of a decimal string in the API and in policy documents: ASCII digits, an
# optional leading '-', an optional '.' followed by digits. No exponent ("1e3"), no
# underscores ("1_000"), no '+', no spaces, no other scripts' digits, no "NaN"/"Infinity":
# Decimal() accepts all of those, so it only ever sees strings that passed this.
DECIMAL_TEXT = re.compile(r"^-?[0-9]+(?:\.[0-9]+)?$")

YEAR_MIN, YEAR_MAX = 1900, 9998  # dates and periods: a year past 9998 has no next month or year in Python's calendar
QUANTITY_MAX = Decimal("1000000000")
QUANTITY_LENGTH_MAX = 32  # characters; a valid quantity has at most 16 digits
QUANTITY_PLACES = 6
TEXT_MAX = 256
ATTRIBUTES_MAX = 32


def check_identifier(v: Violations, field: str, value: str, what: str) -> None:
    if not value:
        v.add(field, f"MISSING_{what.upper()}_ID", f"{what} id is required")
    elif not IDENTIFIER.fullmatch(value):
        v.add(
            field,
            f"MALFORMED_{what.upper()}_ID",
            f"{what} id must be 1-64 letters, digits, '-', '_' or '.', starting with a letter or digit",
        )


def check_request_id(v: Violations, field: str, value: str) -> None:
    if not value:
        v.add(field, "MISSING_REQUEST_ID", "request_id is required: choose a unique key per write and reuse it on retry")
    elif not REQUEST_ID.fullmatch(value):
        v.add(field, "MALFORMED_REQUEST_ID", "request_id must be 1-128 printable ASCII characters without spaces")


def check_text(v: Violations, field: str, value: str, *, limit: int = TEXT_MAX) -> None:
    if len(value) > limit:
        v.add(field, "TEXT_TOO_LONG", f"at most {limit} characters")
    elif CONTROL_CHARACTER.search(value):
        v.add(field, "CONTROL_CHARACTERS", "control characters are not allowed")


def parse_date(v: Violations, field: str, value: str, *, required: bool = True) -> date | None:
    """An ISO calendar date (YYYY-MM-DD) or None after recording a violation."""
    if not value:
        if required:
            v.add(field, "MISSING_DATE", "a date (YYYY-MM-DD) is required")
        return None
    day = _calendar_date(value) if len(value) == len("YYYY-MM-DD") else None  # only short strings reach the cache
    if day is None:
        v.add(field, "MALFORMED_DATE", f"{value[:40]!r} is not a calendar date (YYYY-MM-DD) in years {YEAR_MIN} to {YEAR_MAX}")
    return day


@lru_cache(maxsize=1024)
def _calendar_date(value: str) -> date | None:
    """The date `value` names, or None. A pure function of the string (and dates are immutable),
    so the cache can never answer wrongly; a batch's items mostly repeat a few dates. Only
    10-character strings are asked, so the cache holds at most ~200 KB."""
    if ISO_DATE.fullmatch(value) and YEAR_MIN <= int(value[:4]) <= YEAR_MAX:
        try:
            return date.fromisoformat(value)
        except ValueError:
            pass
    return None


# google.protobuf.Timestamp's valid range: 0001-01-01T00:00:00Z to 9999-12-31T23:59:59.999999999Z.
INSTANT_MIN_SECONDS = -62_135_596_800
INSTANT_MAX_SECONDS = 253_402_300_799


def parse_instant(v: Violations, field: str, seconds: int, nanos: int) -> datetime | None:
    """An instant given as seconds and nanoseconds since the Unix epoch (UTC)."""
    if not (INSTANT_MIN_SECONDS <= seconds <= INSTANT_MAX_SECONDS and 0 <= nanos < 1_000_000_000):
        v.add(field, "MALFORMED_TIMESTAMP", "a timestamp between years 1 and 9999 with 0 <= nanos < 10^9 is required")
        return None
    epoch = datetime(1970, 1, 1, tzinfo=timezone.utc)
    return epoch + timedelta(seconds=seconds, microseconds=nanos // 1000)


def parse_quantity(v: Violations, field: str, value: str) -> Decimal | None:
    """A non-negative decimal with at most six places, below one billion."""
    quantity = _valid_quantity(value) if len(value) <= QUANTITY_LENGTH_MAX else None  # only short strings reach the cache
    if quantity is not None:
        return quantity
    return _parse_quantity(v, field, value)  # adds the violation


@lru_cache(maxsize=1024)
def _valid_quantity(value: str) -> Decimal | None:
    """parse_quantity's value when `value` is valid, else None. A pure function of the string:
    Decimal(str) is exact, and a valid quantity has at most 16 digits, so quantize and normalize
    are exact under any context precision >= 16 (the default is 28); Decimals are immutable. So the
    cache can never answer wrongly; a batch's items mostly repeat a few quantities. Only strings of
    at most QUANTITY_LENGTH_MAX characters are asked, so the cache holds at most ~300 KB."""
    scratch = Violations()
    quantity = _parse_quantity(scratch, "quantity", value)
    return None if scratch else quantity


def _parse_quantity(v: Violations, field: str, value: str) -> Decimal | None:
    if not value:
        v.add(field, "MISSING_QUANTITY", "quantity is required (a decimal string such as \"3\" or \"1.5\")")
        return None
    if len(value) > QUANTITY_LENGTH_MAX or not DECIMAL_TEXT.fullmatch(value):
        v.add(field, "MALFORMED_QUANTITY", f"{value[:40]!r} is not a decimal number (ASCII digits with an optional '.' and places, e.g. \"3\" or \"1.5\")")
        return None
    quantity = Decimal(value)
    if value.startswith("-"):  # "-0" too: a quantity has no sign
        v.add(field, "NEGATIVE_QUANTITY", "quantity must not be negative; negative points come from the policy's rules")
        return None
    if quantity >= QUANTITY_MAX:
        v.add(field, "QUANTITY_TOO_LARGE", f"quantity must be below {QUANTITY_MAX}")
        return None
    exponent = quantity.as_tuple().exponent
    if isinstance(exponent, int) and exponent < -QUANTITY_PLACES:
        v.add(field, "QUANTITY_TOO_PRECISE", f"at most {QUANTITY_PLACES} decimal places")
        return None
    # Normalise so "3", "3.0", "3.00" (and "-0") are the same fact, with the same fingerprint.
    if quantity == 0:
        return Decimal(0)
    return quantity.quantize(Decimal(1)) if quantity == quantity.to_integral() else quantity.normalize()


def month_of(day: date) -> str:
    return f"{day.year:04d}-{day.month:02d}"


@dataclass(frozen=True)
class Period:
    """A month (2026-11), a quarter (2026-Q4) or a year (2026), as a set of months."""

    text: str
    months: tuple[str, ...]

    PATTERN = re.compile(r"^([0-9]{4})(?:-(?:([0-9]{2})|Q([1-4])))?$")  # ASCII digits only

    @classmethod
    def parse(cls, v: Violations, field: str, value: str) -> Period | None:
        match = cls.PATTERN.fullmatch(value or "")
        if match is None:
            v.add(field, "MALFORMED_PERIOD", f"{value[:40]!r} is not a period: use YYYY-MM, YYYY-Qn or YYYY")
            return None
        year, month, quarter = int(match[1]), match[2], match[3]
        if not YEAR_MIN <= year <= YEAR_MAX:
            v.add(field, "MALFORMED_PERIOD", f"the year must be {YEAR_MIN} to {YEAR_MAX}")
            return None
        if month is not None:
            if not 1 <= int(month) <= 12:
                v.add(field, "MALFORMED_PERIOD", f"month {month} does not exist")
                return None
            firsts = [int(month)]
        elif quarter is not None:
            q = int(quarter)
            firsts = [3 * q - 2, 3 * q - 1, 3 * q]
        else:
            firsts = list(range(1, 13))
        return cls(value, tuple(f"{year:04d}-{m:02d}" for m in firsts))
