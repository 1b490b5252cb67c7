"""Property tests: the parser never crashes, printing round-trips, evaluation and typing never crash."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from terrain.expressions import (
    FUNCTIONS,
    TYPES,
    EvalContext,
    ExpressionError,
    evaluate,
    infer_type,
    parse,
    to_source,
)

Node = dict[str, Any]
NAMES = ["a", "b", "c_1", "age", "date_naissance"]
SAFE_PATTERNS = ["^[0-9]{5}$", "a|b", "^(?:x|y)+$", "\\d", ""]

names = st.sampled_from(NAMES)
texts = st.text(max_size=8).filter(lambda s: not ("'" in s and '"' in s))
numbers = st.one_of(
    st.integers(min_value=0, max_value=10**12),
    st.floats(min_value=0, max_value=1e15, allow_nan=False, allow_infinity=False).filter(
        lambda x: not x.is_integer()
    ),
)
leaves: st.SearchStrategy[Node] = st.one_of(
    numbers.map(lambda v: {"t": "num", "v": v}),
    texts.map(lambda v: {"t": "str", "v": v}),
    names.map(lambda n: {"t": "ref", "n": n}),
    st.just({"t": "cur"}),
)
OPS = ["+", "-", "*", "div", "mod", "=", "!=", "<", "<=", ">", ">=", "and", "or"]


def _calls(children: st.SearchStrategy[Node]) -> st.SearchStrategy[Node]:
    @st.composite
    def call(draw: st.DrawFn) -> Node:
        name = draw(st.sampled_from(sorted(FUNCTIONS)))
        spec = FUNCTIONS[name]
        top = spec.max_args if spec.max_args is not None else spec.min_args + 2
        count = draw(st.integers(spec.min_args, top))
        args = [draw(children) for _ in range(count)]
        if name == "regex":
            args[1] = {"t": "str", "v": draw(st.sampled_from(SAFE_PATTERNS))}
        elif name == "choice-label":  # the list's name is written as text
            args[1] = {"t": "str", "v": draw(st.sampled_from(["communes", ""]))}
        elif name == "choice-property":  # the list's and the property's names are written as text
            args[1] = {"t": "str", "v": draw(st.sampled_from(["communes", ""]))}
            args[2] = {"t": "str", "v": draw(st.sampled_from(["dept", ""]))}
        elif name == "indexed-repeat":  # a field and its repeat are written as references
            args[0] = {"t": "ref", "n": draw(st.sampled_from(["a", "b"]))}
            args[1] = {"t": "ref", "n": "r"}
        return {"t": "call", "f": name, "a": args}

    return call()


def _extend(children: st.SearchStrategy[Node]) -> st.SearchStrategy[Node]:
    return st.one_of(
        st.builds(
            lambda op, left, right: {"t": "bin", "op": op, "l": left, "r": right},
            st.sampled_from(OPS),
            children,
            children,
        ),
        children.map(lambda e: {"t": "neg", "e": e}),
        _calls(children),
    )


trees = st.recursive(leaves, _extend, max_leaves=12)

json_values = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(10**20), max_value=10**20),
    st.floats(allow_nan=False, allow_infinity=False),
    st.text(max_size=10),
    st.sampled_from(["2026-03-15", "2026-02-30", "2026-03-15T10:00:00+02:00", "10:30", "12", " 3.5 ", "a b"]),
    st.lists(st.text(max_size=4), max_size=3),
    st.just({"lat": 1.5, "lon": 2}),
)


@settings(max_examples=500, suppress_health_check=[HealthCheck.too_slow])
@given(st.text(max_size=40))
def test_parse_never_crashes(src: str) -> None:
    try:
        tree = parse(src)
    except ExpressionError as exc:
        assert exc.code
        assert 0 <= exc.offset <= len(src)
        return
    assert isinstance(tree, dict)
    assert parse(to_source(tree)) == tree


ALPHABET = "${}()'\". ,-+*=<>!abcdivmorn0123456789_"


@settings(max_examples=500)
@given(st.text(alphabet=ALPHABET, max_size=30))
def test_parse_never_crashes_on_expression_like_text(src: str) -> None:
    try:
        tree = parse(src)
    except ExpressionError:
        return
    assert parse(to_source(tree)) == tree


@settings(max_examples=400, suppress_health_check=[HealthCheck.too_slow])
@given(trees)
def test_round_trip(tree: Node) -> None:
    src = to_source(tree)
    assert parse(src) == tree, src


@settings(max_examples=400, suppress_health_check=[HealthCheck.too_slow])
@given(trees, st.dictionaries(names, json_values), json_values, st.none() | st.integers(1, 5))
def test_evaluate_never_crashes(
    tree: Node, answers: dict[str, Any], current: Any, position: int | None
) -> None:
    ctx = EvalContext(
        answers=answers,
        current=current,
        position=position,
        now=datetime(2026, 3, 15, tzinfo=UTC),
        choice_label=lambda name, value: value.upper() if name else None,
        choice_property=lambda name, value, prop: value + prop if name else None,
    )
    result = evaluate(tree, ctx)
    json.dumps(result, allow_nan=False)
    # integral results below 2**53 are ints, as JavaScript prints them
    assert not isinstance(result, float) or not result.is_integer() or abs(result) >= 2**53


@settings(max_examples=300, suppress_health_check=[HealthCheck.too_slow])
@given(
    trees, st.dictionaries(names, st.sampled_from(sorted(TYPES)), min_size=len(NAMES), max_size=len(NAMES))
)
def test_infer_type_never_crashes(tree: Node, types: dict[str, str]) -> None:
    try:
        result = infer_type(tree, types, "any")
    except ExpressionError as exc:
        assert exc.code in ("type_mismatch", "bad_operand", "argument_type")
        return
    assert result in TYPES
