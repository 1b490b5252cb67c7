"""Parser: tree shapes, precedence, errors with offsets, printing back to source."""

from __future__ import annotations

from typing import Any

import pytest

from terrain.expressions import ExpressionError, parse, references, to_source, uses_current


def num(v: float) -> dict[str, Any]:
    return {"t": "num", "v": v}


def ref(n: str) -> dict[str, Any]:
    return {"t": "ref", "n": n}


def bin_(op: str, left: dict[str, Any], right: dict[str, Any]) -> dict[str, Any]:
    return {"t": "bin", "op": op, "l": left, "r": right}


def test_literals() -> None:
    assert parse("3.5") == num(3.5)
    assert parse("3") == num(3)
    assert parse(".5") == num(0.5)
    assert parse("2.0") == {"t": "num", "v": 2}
    assert isinstance(parse("2.0")["v"], int)
    assert parse("'oui'") == {"t": "str", "v": "oui"}
    assert parse('"l\'été"') == {"t": "str", "v": "l'été"}
    assert parse("${age}") == ref("age")
    assert parse(".") == {"t": "cur"}


def test_precedence() -> None:
    assert parse("1 + 2 * 3") == bin_("+", num(1), bin_("*", num(2), num(3)))
    assert parse("(1 + 2) * 3") == bin_("*", bin_("+", num(1), num(2)), num(3))
    assert parse("1 - 2 - 3") == bin_("-", bin_("-", num(1), num(2)), num(3))
    assert parse("${a} or ${b} and ${c}") == bin_("or", ref("a"), bin_("and", ref("b"), ref("c")))
    assert parse("1 < 2 = 3 > 4") == bin_("=", bin_("<", num(1), num(2)), bin_(">", num(3), num(4)))
    assert parse("-2 * 3") == bin_("*", {"t": "neg", "e": num(2)}, num(3))
    assert parse("6 div 2 mod 4") == bin_("mod", bin_("div", num(6), num(2)), num(4))
    assert parse("${a}-1") == bin_("-", ref("a"), num(1))
    assert parse("4 div-1") == bin_("div", num(4), {"t": "neg", "e": num(1)})


def test_calls() -> None:
    assert parse("count-selected(${x})") == {"t": "call", "f": "count-selected", "a": [ref("x")]}
    assert parse("position(..)") == {"t": "call", "f": "position", "a": []}
    assert parse("position()") == {"t": "call", "f": "position", "a": []}
    assert parse("today()") == {"t": "call", "f": "today", "a": []}
    tree = parse("if(${a} > 1, concat(${b}, ' ', ${a}), '')")
    assert references(tree) == ["a", "b"]
    assert not uses_current(tree)
    assert uses_current(parse("regex(., '^[0-9]{5}$')"))


@pytest.mark.parametrize(
    ("src", "code", "offset"),
    [
        ("", "empty_expression", 0),
        ("   ", "empty_expression", 0),
        ("1 +", "unexpected_end", 3),
        ("1 + * 2", "syntax_error", 4),
        ("(1 + 2", "unexpected_end", 6),
        ("1 2", "syntax_error", 2),
        ("'abc", "unterminated_string", 0),
        ('1 = "abc', "unterminated_string", 4),
        ("${age", "bad_reference", 0),
        ("$age", "bad_reference", 0),
        ("age > 3", "bare_name", 0),
        ("foo(1)", "unknown_function", 0),
        ("1 + jr:choice-name(${x}, '${x}')", "unknown_function", 4),
        ("not(1, 2)", "wrong_arity", 0),
        ("1 + round()", "wrong_arity", 4),
        ("today(1)", "wrong_arity", 0),
        ("concat()", "wrong_arity", 0),
        ("1 # 2", "unexpected_character", 2),
        ("regex(., '[0-9')", "bad_regex", 0),
        ("regex(., '(?<=a)b')", "bad_regex", 0),
        ("regex(., '(a)\\1')", "bad_regex", 0),
        ("(" * 100 + "1" + ")" * 100, "too_deep", 64),
        ("1" * 400, "bad_number", 0),
        ("${a} and", "unexpected_end", 8),
        ("f(", "unknown_function", 0),
        ("selected(${a}, 'x',)", "syntax_error", 19),
        ("..", "syntax_error", 0),
        ("position(.., 1)", "syntax_error", 11),
    ],
)
def test_errors(src: str, code: str, offset: int) -> None:
    with pytest.raises(ExpressionError) as info:
        parse(src)
    assert info.value.code == code
    assert info.value.offset == offset
    assert isinstance(info.value, ValueError)
    assert str(info.value)


def test_error_params() -> None:
    with pytest.raises(ExpressionError) as info:
        parse("selectd(${a}, 'x')")
    assert info.value.params == {"name": "selectd", "suggestion": "selected"}
    with pytest.raises(ExpressionError) as info:
        parse("round(1, 2, 3)")
    assert info.value.params["got"] == 3
    assert info.value.params["min"] == 1
    assert info.value.params["max"] == 2
    assert "round() takes 1 to 2 argument(s), 3 given" in str(info.value)


@pytest.mark.parametrize(
    "src",
    [
        "${a} + 2 * 3",
        "(${a} + 2) * 3",
        "1 - (2 - 3)",
        "-(1 + 2)",
        "--1",
        "- -${a}",
        "${a} div (${b} mod 3)",
        "not(. = '') or (${x} and ${y})",
        "concat('la', \"it's\")",
        "if(${a} >= 18, 'majeur', 'mineur')",
        "position(..)",
        "0.1 + 0.0000001",
        "${a} = ${b} = ${c}",
        "${a} = (${b} = ${c})",
    ],
)
def test_round_trip(src: str) -> None:
    tree = parse(src)
    assert parse(to_source(tree)) == tree


def test_to_source_quotes() -> None:
    tree = {"t": "str", "v": 'it\'s "x"'}
    assert parse(to_source(tree)) == {
        "t": "call",
        "f": "concat",
        "a": [{"t": "str", "v": "it"}, {"t": "str", "v": "'"}, {"t": "str", "v": 's "x"'}],
    }
    assert to_source(parse("1.50")) == "1.5"
    assert to_source(parse("${a} - -1")) == "${a} - -1"
