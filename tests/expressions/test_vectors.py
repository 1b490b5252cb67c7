"""Runs the shared vectors (tests/vectors/expressions.json), also consumed by the PWA evaluator tests."""

from __future__ import annotations

import json
import math
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest

from terrain.expressions import (
    FUNCTIONS,
    MESSAGES,
    EvalContext,
    ExpressionError,
    evaluate,
    infer_type,
    parse,
    walk,
)
from terrain.expressions.parser import PRECEDENCE

VECTORS = json.loads((Path(__file__).parents[1] / "vectors" / "expressions.json").read_text("utf-8"))
NOW = datetime.fromisoformat(VECTORS["now"])
CASES: list[dict[str, Any]] = VECTORS["cases"]


def same(actual: Any, expected: Any) -> bool:
    if isinstance(expected, bool) or isinstance(actual, bool):
        return actual is expected
    if isinstance(expected, int | float) and isinstance(actual, int | float):
        return math.isclose(actual, expected, rel_tol=1e-9, abs_tol=1e-9)
    if isinstance(expected, list) and isinstance(actual, list):
        return len(actual) == len(expected) and all(same(a, b) for a, b in zip(actual, expected, strict=True))
    return bool(actual == expected) and type(actual) is type(expected)


def test_vectors_file_is_sane() -> None:
    assert VECTORS["version"] == 1
    ids = [case["id"] for case in CASES]
    assert len(ids) == len(set(ids))
    assert len(CASES) >= 170
    for case in CASES:
        assert ("expect" in case) != ("error" in case), case["id"]
        if "error" in case:
            assert case["error_stage"] in ("parse", "type"), case["id"]


@pytest.mark.parametrize("case", CASES, ids=[c["id"] for c in CASES])
def test_vector(case: dict[str, Any]) -> None:
    types = case.get("types")
    if case.get("error_stage") == "parse":
        with pytest.raises(ExpressionError) as info:
            parse(case["expr"])
        assert info.value.code == case["error"]
        return
    tree = parse(case["expr"])
    if types is not None or case.get("error_stage") == "type":
        current_type = types.get(".") if types else None
        if case.get("error_stage") == "type":
            with pytest.raises(ExpressionError) as info:
                infer_type(tree, types or {}, current_type)
            assert info.value.code == case["error"]
            return
        infer_type(tree, types or {}, current_type or "any")
    ctx = EvalContext(
        answers=case["answers"], current=case.get("current"), position=case.get("position"), now=NOW
    )
    result = evaluate(tree, ctx)
    assert same(result, case["expect"]), f"{case['expr']!r}: got {result!r}, expected {case['expect']!r}"


def test_vectors_cover_every_function_operator_and_error() -> None:
    functions: set[str] = set()
    operators: set[str] = set()
    errors = {case["error"] for case in CASES if "error" in case}
    for case in CASES:
        if case.get("error_stage") == "parse":
            continue
        for node in walk(parse(case["expr"])):
            if node["t"] == "call":
                functions.add(node["f"])
            elif node["t"] == "bin":
                operators.add(node["op"])
    assert functions == set(FUNCTIONS)
    assert operators == set(PRECEDENCE)
    assert errors == set(MESSAGES)
