"""Runs the shared vectors (tests/vectors/expressions.json), also consumed by the PWA evaluator tests.

The PWA evaluates the stored trees, never the sources: each case's ``tree`` must be exactly what the parser
produces for ``expr`` (``tests/vectors/regenerate.py`` rewrites them, deliberately), and the expected result
is checked by evaluating the stored tree.
"""

from __future__ import annotations

import difflib
import json
import math
from datetime import datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

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
TIMEZONE: str = VECTORS["timezone"]
CASES: list[dict[str, Any]] = VECTORS["cases"]
TREE_CASES = [case for case in CASES if case.get("error_stage") != "parse"]
REGENERATE = "tests/vectors/regenerate.py"


def canonical(tree: Any) -> str:
    # Sorted keys, and 2 differs from 2.0 (the PWA reads the JSON as written).
    return json.dumps(tree, sort_keys=True, ensure_ascii=False)


def pretty(tree: Any) -> list[str]:
    return json.dumps(tree, sort_keys=True, indent=1, ensure_ascii=False).splitlines()


def context(case: dict[str, Any]) -> EvalContext:
    """The case's clock: its instant (else the file's), read in its time zone (else the file's); its choice
    labels (``choice_labels``: list -> value -> label) behind the ``choice_label`` hook, its choice properties
    (``choice_properties``: list -> value -> property -> text) behind ``choice_property``."""
    now = datetime.fromisoformat(case["now"]) if "now" in case else NOW
    labels: dict[str, dict[str, str]] | None = case.get("choice_labels")
    props: dict[str, dict[str, dict[str, str]]] | None = case.get("choice_properties")
    return EvalContext(
        choice_label=None if labels is None else lambda name, value: labels.get(name, {}).get(value),
        choice_property=None
        if props is None
        else lambda name, value, prop: props.get(name, {}).get(value, {}).get(prop),
        answers=case["answers"],
        current=case.get("current"),
        position=case.get("position"),
        now=now,
        tz=ZoneInfo(case.get("timezone", TIMEZONE)),
    )


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
    ZoneInfo(TIMEZONE)
    ids = [case["id"] for case in CASES]
    assert len(ids) == len(set(ids))
    assert len(CASES) >= 170
    for case in CASES:
        assert ("expect" in case) != ("error" in case), case["id"]
        if "error" in case:
            assert case["error_stage"] in ("parse", "type"), case["id"]
        # a tree for every source that parses, none for the others
        assert ("tree" in case) == (case.get("error_stage") != "parse"), (case["id"], REGENERATE)
        if "now" in case:
            assert datetime.fromisoformat(case["now"]).tzinfo is not None, case["id"]


def test_time_zone_cases_cross_midnight_and_summer_time() -> None:
    zoned = [case for case in CASES if "timezone" in case]
    assert len(zoned) >= 30
    crossing = [
        case
        for case in zoned
        if case["expr"] == "today()"
        and case["expect"] != datetime.fromisoformat(case["now"]).date().isoformat()
    ]
    assert len(crossing) >= 8
    # Paris both in winter time (+01:00) and in summer time (+02:00)
    offsets = {
        case["expect"][-6:] for case in zoned if case["expr"] == "now()" and "Paris" in case["timezone"]
    }
    assert {"+01:00", "+02:00"} <= offsets


@pytest.mark.parametrize("case", TREE_CASES, ids=[c["id"] for c in TREE_CASES])
def test_stored_tree_is_the_parsers(case: dict[str, Any]) -> None:
    tree = parse(case["expr"])
    if canonical(tree) != canonical(case["tree"]):
        diff = "\n".join(
            difflib.unified_diff(pretty(case["tree"]), pretty(tree), "stored tree", "parser", lineterm="")
        )
        pytest.fail(
            f"{case['id']} {case['expr']!r}: the parser no longer produces the stored tree (the PWA "
            f"evaluates stored trees). If the change is deliberate, run {REGENERATE}.\n{diff}"
        )


@pytest.mark.parametrize("case", CASES, ids=[c["id"] for c in CASES])
def test_vector(case: dict[str, Any]) -> None:
    types = case.get("types")
    if case.get("error_stage") == "parse":
        with pytest.raises(ExpressionError) as info:
            parse(case["expr"])
        assert info.value.code == case["error"]
        return
    tree = case["tree"]  # what the PWA evaluates; test_stored_tree_is_the_parsers ties it to the source
    if types is not None or case.get("error_stage") == "type":
        current_type = types.get(".") if types else None
        if case.get("error_stage") == "type":
            with pytest.raises(ExpressionError) as info:
                infer_type(tree, types or {}, current_type)
            assert info.value.code == case["error"]
            return
        infer_type(tree, types or {}, current_type or "any")
    result = evaluate(tree, context(case))
    assert same(result, case["expect"]), f"{case['expr']!r}: got {result!r}, expected {case['expect']!r}"


def test_vectors_cover_every_function_operator_and_error() -> None:
    functions: set[str] = set()
    operators: set[str] = set()
    errors = {case["error"] for case in CASES if "error" in case}
    for case in TREE_CASES:
        for node in walk(case["tree"]):
            if node["t"] == "call":
                functions.add(node["f"])
            elif node["t"] == "bin":
                operators.add(node["op"])
    assert functions == set(FUNCTIONS)
    assert operators == set(PRECEDENCE)
    assert errors == set(MESSAGES)
