"""Evaluator details not covered by the shared vectors: context, caching, conversions, performance."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta, timezone

import pytest

from terrain.expressions import EvalContext, ExpressionError, compile_tree, evaluate, format_date, parse
from terrain.expressions.evaluator import round_half_away
from terrain.expressions.values import format_number, to_bool, to_number, to_string

NOW = datetime(2026, 3, 15, 10, 30, tzinfo=UTC)


def ev(src: str, **answers: object) -> object:
    return evaluate(parse(src), EvalContext(answers=answers, now=NOW))


def test_today_uses_the_offset_of_now() -> None:
    paris_late = datetime(2026, 3, 15, 23, 30, tzinfo=timezone(timedelta(hours=1)))
    assert evaluate(parse("today()"), EvalContext(now=paris_late)) == "2026-03-15"
    assert evaluate(parse("now()"), EvalContext(now=paris_late)) == "2026-03-15T23:30:00+01:00"
    naive = datetime(2026, 3, 15, 8, 0, 0, 123456)
    assert evaluate(parse("now()"), EvalContext(now=naive)) == "2026-03-15T08:00:00+00:00"


def test_default_context() -> None:
    ctx = EvalContext()
    assert ctx.now.tzinfo is not None
    assert evaluate(parse("position(..)"), ctx) is None
    assert evaluate(parse("${a}"), ctx) is None


def test_numbers_are_ints_when_integral() -> None:
    assert ev("1.5 + 1.5") == 3
    assert isinstance(ev("1.5 + 1.5"), int)
    assert isinstance(ev("1 div 4"), float)
    assert ev("${a}", a=7) == 7


def test_cache_is_by_identity() -> None:
    tree = parse("${a} + 1")
    assert evaluate(tree, EvalContext(answers={"a": 1})) == 2
    assert evaluate(tree, EvalContext(answers={"a": 2})) == 3
    other = parse("${a} * 10")
    assert evaluate(other, EvalContext(answers={"a": 2})) == 20
    fn = compile_tree(parse("concat(${a}, '!')"))
    assert fn(EvalContext(answers={"a": 3})) == "3!"


def test_malformed_tree() -> None:
    with pytest.raises(ExpressionError):
        compile_tree({"t": "zzz"})
    with pytest.raises(ExpressionError):
        compile_tree({"t": "call", "f": "nope", "a": []})


@pytest.mark.parametrize(
    ("x", "digits", "expected"),
    [
        (2.5, 0, 3),
        (-2.5, 0, -3),
        (0.5, 0, 1),
        (1.005, 2, 1.0),
        (1.235, 2, 1.24),
        (-1234.5, -1, -1230),
        (1e300, 400, 1e300),
        (5, -400, 0),
    ],
)
def test_round(x: float, digits: int, expected: float) -> None:
    assert round_half_away(x, digits) == pytest.approx(expected)


def test_conversions() -> None:
    assert to_number("  7 ") == 7
    assert to_number("-.5") == -0.5
    assert to_number("1e5") != to_number("1e5")  # NaN
    assert to_number("1" * 400) != to_number("1" * 400)  # too large: NaN
    assert to_number("1970-01-01T06:00:00+00:00") == 0.25
    assert to_number("06:00") == 0.25
    assert to_number([1]) != to_number([1])
    assert to_bool({"lat": 1}) is True
    assert to_bool(0.0) is False
    assert to_string(None) == ""
    assert to_string(1e21) == "1000000000000000000000"
    assert to_string(-0.0) == "0"
    assert format_number(1.5e-7) == "0.00000015"
    assert to_string(["a", 1]) == "a 1"


def test_format_date_direct() -> None:
    assert format_date("2026-03-15T08:05:09.250+02:00", "%H:%M:%S.%3 %h") == "08:05:09.250 8"
    assert format_date("2026-12-01", "%b %a") == "Dec Tue"
    assert format_date(1e300, "%Y") == ""
    assert format_date("2026-03-15", "%") == "%"


def test_invalid_dates_are_not_dates() -> None:
    assert ev("${d} + 1", d="2026-13-01") is None  # not a date, not a number
    assert ev("${d} + 1", d="2026-03-15T25:00:00Z") is None


def test_huge_date_arithmetic_is_empty() -> None:
    assert ev("${d} + 1000000000", d="2026-03-15") is None
    assert ev("${d} + 1000000000", d="2026-03-15T00:00:00Z") is None
    assert ev("date(1000000000)") is None


def test_speed() -> None:
    tree = parse(
        "if(${age} >= 18 and selected(${aides}, 'caf'), ${revenu} div 12, 0) + count-selected(${aides})"
    )
    ctx = EvalContext(answers={"age": 30, "aides": ["apl", "caf"], "revenu": 24000}, now=NOW)
    assert evaluate(tree, ctx) == 2002
    n = 20000
    start = time.perf_counter()
    for _ in range(n):
        evaluate(tree, ctx)
    rate = n / (time.perf_counter() - start)
    assert rate > 20000, f"{rate:.0f} evaluations/s"
