"""Runtime values and conversions (XPath 1.0 rules, documented in docs/expressions.md).

Values are JSON values: None (empty), bool, number (float internally), str, list of str, geopoint dict.
Dates, times and datetimes are ISO strings, recognised by their shape.
"""

from __future__ import annotations

import math
import re
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any

NAN = math.nan
EPOCH_ORDINAL = date(1970, 1, 1).toordinal()
DAY_MS = 86_400_000

NUMBER_RX = re.compile(r"\s*(-?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+))\s*")
DATE_RX = re.compile(r"([0-9]{4})-([0-9]{2})-([0-9]{2})")
DATETIME_RX = re.compile(
    r"([0-9]{4})-([0-9]{2})-([0-9]{2})[T ]([0-9]{2}):([0-9]{2})(?::([0-9]{2})(?:\.([0-9]+))?)?"
    r"(Z|[+-][0-9]{2}:?[0-9]{2})?"
)
TIME_RX = re.compile(r"([0-9]{2}):([0-9]{2})(?::([0-9]{2})(?:\.([0-9]+))?)?(Z|[+-][0-9]{2}:?[0-9]{2})?")


def is_empty(v: Any) -> bool:
    return v is None or (isinstance(v, str | list) and not v)


def is_number(v: Any) -> bool:
    return isinstance(v, int | float) and not isinstance(v, bool)


def to_bool(v: Any) -> bool:
    if v is None:
        return False
    if isinstance(v, bool):
        return v
    if isinstance(v, int | float):
        return v != 0 and v == v
    if isinstance(v, str | list | dict):
        return len(v) > 0
    return True


def format_number(x: float) -> str:
    if x != x or x in (math.inf, -math.inf):
        return ""
    if isinstance(x, int):
        return str(x)
    if x.is_integer():
        return str(int(x))
    return format(Decimal(repr(x)), "f")


def to_string(v: Any) -> str:
    if v is None:
        return ""
    if isinstance(v, str):
        return v
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, int | float):
        return format_number(v)
    if isinstance(v, list):
        return " ".join(to_string(i) for i in v)
    if isinstance(v, dict):
        # geopoint, as ODK writes it: "lat lon alt accuracy"
        return " ".join(to_string(v.get(k) or 0) for k in ("lat", "lon", "alt", "accuracy"))
    return str(v)


def _offset_minutes(tz: str | None) -> int:
    if not tz or tz == "Z":
        return 0
    sign = -1 if tz[0] == "-" else 1
    digits = tz[1:].replace(":", "")
    return sign * (int(digits[:2]) * 60 + int(digits[2:]))


def _frac_ms(frac: str | None) -> int:
    return int((frac or "0")[:3].ljust(3, "0"))


def date_days(s: str) -> int | None:
    """Days since 1970-01-01 of a valid "YYYY-MM-DD", else None."""
    m = DATE_RX.fullmatch(s)
    if m is None:
        return None
    try:
        return date(int(m[1]), int(m[2]), int(m[3])).toordinal() - EPOCH_ORDINAL
    except ValueError:
        return None


def datetime_ms(s: str) -> int | None:
    """Milliseconds since the epoch (UTC) of an ISO datetime; no offset means UTC."""
    m = DATETIME_RX.fullmatch(s)
    if m is None:
        return None
    try:
        days = date(int(m[1]), int(m[2]), int(m[3])).toordinal() - EPOCH_ORDINAL
    except ValueError:
        return None
    h, mi, sec = int(m[4]), int(m[5]), int(m[6] or 0)
    if h > 23 or mi > 59 or sec > 59:
        return None
    local = ((days * 24 + h) * 60 + mi) * 60_000 + sec * 1000 + _frac_ms(m[7])
    return local - _offset_minutes(m[8]) * 60_000


def time_ms(s: str) -> int | None:
    """Milliseconds since midnight of "HH:MM[:SS[.sss]]" (an offset is ignored)."""
    m = TIME_RX.fullmatch(s)
    if m is None:
        return None
    h, mi, sec = int(m[1]), int(m[2]), int(m[3] or 0)
    if h > 23 or mi > 59 or sec > 59:
        return None
    return ((h * 60 + mi) * 60 + sec) * 1000 + _frac_ms(m[4])


def temporal_kind(v: Any) -> str | None:
    """'date' or 'datetime' for a valid ISO string of that shape, else None."""
    if not isinstance(v, str):
        return None
    if date_days(v) is not None:
        return "date"
    if datetime_ms(v) is not None:
        return "datetime"
    return None


def str_to_number(s: str) -> float:
    m = NUMBER_RX.fullmatch(s)
    if m is not None:
        x = float(m[1])
        return x if x not in (math.inf, -math.inf) else NAN
    days = date_days(s)
    if days is not None:
        return float(days)
    ms = datetime_ms(s)
    if ms is not None:
        return ms / DAY_MS
    ms = time_ms(s)
    if ms is not None:
        return ms / DAY_MS
    return NAN


def to_number(v: Any) -> float:
    if isinstance(v, bool):
        return 1.0 if v else 0.0
    if isinstance(v, int | float):
        x = float(v)
        return x if x not in (math.inf, -math.inf) else NAN
    if isinstance(v, str):
        return str_to_number(v)
    return NAN


def days_to_date(days: float) -> str | None:
    try:
        return date.fromordinal(EPOCH_ORDINAL + math.floor(days)).isoformat()
    except (ValueError, OverflowError):
        return None


def ms_to_datetime(ms: int) -> str | None:
    """UTC ISO datetime, seconds precision unless there are milliseconds."""
    try:
        dt = datetime(1970, 1, 1, tzinfo=UTC) + timedelta(milliseconds=ms)
    except (ValueError, OverflowError):
        return None
    text = dt.strftime("%Y-%m-%dT%H:%M:%S")
    if ms % 1000:
        text += f".{ms % 1000:03d}"
    return text + "+00:00"


def date_arith(op: str, a: Any, ka: str | None, b: Any, kb: str | None) -> Any:
    """+ and - when at least one operand is an ISO date or datetime string."""
    if ka is not None and kb is not None:
        x, y = to_number(a), to_number(b)
        return x - y if op == "-" else x + y
    if ka is None:
        if op == "-":
            return to_number(a) - to_number(b)
        a, ka, b = b, kb, a  # number + date == date + number
    n = to_number(b)
    if n != n:
        return None
    if op == "-":
        n = -n
    if ka == "date":
        days = date_days(a)
        assert days is not None
        return days_to_date(days + n)
    ms = datetime_ms(a)
    assert ms is not None
    total = ms + n * DAY_MS
    if not math.isfinite(total):
        return None
    return ms_to_datetime(math.floor(total + 0.5))  # JavaScript's Math.round


def output(v: Any) -> Any:
    """Normalise a result to JSON: NaN/infinite -> None, integral floats -> int (as JavaScript prints)."""
    if isinstance(v, float):
        if not math.isfinite(v):
            return None
        if v.is_integer() and abs(v) < 2**53:
            return int(v)
    return v
