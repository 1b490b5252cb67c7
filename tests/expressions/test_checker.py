"""Static types."""

from __future__ import annotations

import pytest

from terrain.expressions import ExpressionError, infer_type, parse

TYPES = {
    "age": "number",
    "nom": "string",
    "aides": "list",
    "naissance": "date",
    "arrivee": "datetime",
    "heure": "time",
    "ok": "boolean",
    "gps": "geopoint",
    "photo": "binary",
    "x": "any",
}


def typ(src: str, current: str | None = None) -> str:
    return infer_type(parse(src), TYPES, current)


@pytest.mark.parametrize(
    ("src", "expected"),
    [
        ("1", "number"),
        ("'a'", "string"),
        ("${age} + 1", "number"),
        ("${age} div 2 mod 3", "number"),
        ("-${age}", "number"),
        ("${age} > 3", "boolean"),
        ("${age} != ''", "boolean"),
        ("${gps} = ''", "boolean"),
        ("${naissance} + 1", "date"),
        ("1 + ${naissance}", "date"),
        ("${naissance} - 1", "date"),
        ("today() - ${naissance}", "number"),
        ("now() - ${arrivee}", "number"),
        ("${arrivee} - ${naissance}", "number"),
        ("${arrivee} + 0.5", "datetime"),
        ("${naissance} < today()", "boolean"),
        ("${naissance} < now()", "boolean"),
        ("${naissance} > '2000-01-01'", "boolean"),
        ("'2000-01-01' = ${naissance}", "boolean"),
        ("${heure} < '12:00'", "boolean"),
        ("${aides} = 'a b'", "boolean"),
        ("${x} + 1", "any"),
        ("${x} * 2", "number"),
        ("${x} = 'a'", "boolean"),
        ("${x} < 'a'", "boolean"),
        ("${nom} and ${age} or ${aides}", "boolean"),
        ("not(${gps})", "boolean"),
        ("selected(${aides}, 'caf')", "boolean"),
        ("selected(${nom}, 'caf')", "boolean"),
        ("count-selected(${aides})", "number"),
        ("if(${ok}, 1, 2)", "number"),
        ("if(${ok}, 1, '')", "number"),
        ("if(${ok}, '', ${naissance})", "date"),
        ("if(${ok}, '2026-01-01', ${naissance})", "date"),
        ("if(${ok}, 1, 'a')", "any"),
        ("coalesce(${nom}, 'inconnu')", "string"),
        ("concat(${age}, ${aides})", "string"),
        ("string-length(${age})", "number"),
        ("regex(${age}, '^[0-9]+$')", "boolean"),
        ("int(${nom})", "number"),
        ("number(${nom}) + 1", "number"),
        ("round(${age} div 3, 1)", "number"),
        ("today()", "date"),
        ("now()", "datetime"),
        ("date('2026-01-01')", "date"),
        ("decimal-date-time(${naissance})", "number"),
        ("format-date(${naissance}, '%d/%m/%Y')", "string"),
        ("position(..)", "number"),
        ("true()", "boolean"),
        ("string(${age})", "string"),
        ("boolean(${nom})", "boolean"),
        ("count(${aides})", "number"),
        ("sum(${age})", "number"),
    ],
)
def test_types(src: str, expected: str) -> None:
    assert typ(src) == expected


def test_current() -> None:
    assert typ(". >= 0 and . <= 120", "number") == "boolean"
    assert typ("regex(., '^[0-9]{5}$')", "string") == "boolean"
    assert typ(".", "date") == "date"
    with pytest.raises(ExpressionError) as info:
        typ(". > 1")
    assert info.value.code == "current_not_allowed"


@pytest.mark.parametrize(
    ("src", "code", "params"),
    [
        ("${age} = 'abc'", "type_mismatch", {"op": "=", "left": "number", "right": "string"}),
        ("'abc' != ${age}", "type_mismatch", {"op": "!=", "left": "string", "right": "number"}),
        ("${age} > 'abc'", "type_mismatch", {"op": ">", "left": "number", "right": "string"}),
        ("${age} = ${nom}", "type_mismatch", {"op": "=", "left": "number", "right": "string"}),
        ("${nom} < ${nom}", "type_mismatch", {"op": "<", "left": "string", "right": "string"}),
        ("${ok} < 1", "type_mismatch", {"op": "<", "left": "boolean", "right": "number"}),
        ("${nom} + 1", "type_mismatch", {"op": "+", "left": "string", "right": "number"}),
        ("'1' + 1", "type_mismatch", {"op": "+", "left": "string", "right": "number"}),
        ("${ok} + 1", "type_mismatch", {"op": "+", "left": "boolean", "right": "number"}),
        ("${naissance} * 2", "type_mismatch", {"op": "*", "left": "date", "right": "number"}),
        ("${naissance} + ${naissance}", "type_mismatch", {"op": "+", "left": "date", "right": "date"}),
        ("1 - ${naissance}", "type_mismatch", {"op": "-", "left": "number", "right": "date"}),
        ("${heure} + 1", "type_mismatch", {"op": "+", "left": "time", "right": "number"}),
        ("${x} + ${nom}", "type_mismatch", {"op": "+", "left": "any", "right": "string"}),
        ("${naissance} = ${heure}", "type_mismatch", {"op": "=", "left": "date", "right": "time"}),
        ("${gps} = 1", "type_mismatch", {"op": "=", "left": "geopoint", "right": "number"}),
        ("-${nom}", "bad_operand", {"op": "-", "type": "string"}),
        (
            "selected(${age}, 'a')",
            "argument_type",
            {"name": "selected", "index": 1, "expected": "list|string|any", "actual": "number"},
        ),
        (
            "count-selected(${naissance})",
            "argument_type",
            {"name": "count-selected", "index": 1, "expected": "list|string|any", "actual": "date"},
        ),
        (
            "round(${aides})",
            "argument_type",
            {
                "name": "round",
                "index": 1,
                "expected": "number|string|boolean|date|datetime|time|any",
                "actual": "list",
            },
        ),
        (
            "format-date(${gps}, '%Y')",
            "argument_type",
            {
                "name": "format-date",
                "index": 1,
                "expected": "date|datetime|string|number|any",
                "actual": "geopoint",
            },
        ),
        ("${inconnu} + 1", "unknown_reference", {"name": "inconnu"}),
        ("if(${ok}, ${age} + ${nom}, 1)", "type_mismatch", {"op": "+", "left": "number", "right": "string"}),
    ],
)
def test_errors(src: str, code: str, params: dict[str, object]) -> None:
    with pytest.raises(ExpressionError) as info:
        typ(src)
    assert info.value.code == code
    assert info.value.params == params
    assert info.value.offset == 0
    assert str(info.value)


def test_references_in_dead_branches_are_checked() -> None:
    with pytest.raises(ExpressionError):
        typ("false() and ${nope} = 1")


def test_coerce_odk_makes_odk_conversions_explicit() -> None:
    from terrain.expressions import coerce_odk, infer_type, parse, to_source

    types = {"q": "string", "n": "number", "d": "date", "t": "string", "m": "list", "b": "boolean"}
    cases = {
        "${q} = 1": "number(${q}) = 1",
        "${n} > ${t}": "${n} > number(${t})",
        "${t} < ${q}": "number(${t}) < number(${q})",
        "${q} + ${n} * 2": "number(${q}) + ${n} * 2",
        "-${q}": "-number(${q})",
        "${d} >= ${t}": "${d} >= date(${t})",
        "${n} = '3'": "${n} = 3",
        "selected(${n}, '1')": "selected(string(${n}), '1')",
        "${b} = ${q}": "${b} = boolean(${q})",
    }
    for src, expected in cases.items():
        tree, count = coerce_odk(parse(src), types)
        assert to_source(tree) == expected, src
        assert count >= 1
        infer_type(tree, types)  # the strict checker accepts the result
    same = parse("${n} + 1")
    assert coerce_odk(same, types) == (same, 0)
    with pytest.raises(ExpressionError):
        coerce_odk(parse("${m} * ${d}"), types)  # nothing ODK would convert either
