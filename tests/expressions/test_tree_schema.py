"""Property tests: the tree of any valid expression is valid against expression.schema.json (the PWA's
contract), and any node made wrong anywhere in such a tree is refused."""

from __future__ import annotations

import copy
from typing import Any

import jsonschema_rs
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from terrain.expressions import ExpressionError, parse, to_source, walk
from terrain.schemas import service

from .test_properties import ALPHABET, trees

Node = dict[str, Any]


@pytest.fixture(scope="module")
def schema() -> Any:
    return jsonschema_rs.validator_for(service.schema("expression"))


@settings(max_examples=400, suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])
@given(trees)
def test_tree_of_a_valid_expression_validates(schema: Any, tree: Node) -> None:
    parsed = parse(to_source(tree))  # the tree the compiler stores for this source
    assert schema.is_valid(parsed), to_source(tree)


@settings(max_examples=400, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.text(alphabet=ALPHABET, max_size=30))
def test_whatever_parses_validates(schema: Any, src: str) -> None:
    try:
        tree = parse(src)
    except ExpressionError:
        return
    assert schema.is_valid(tree), src


BREAKAGES = ("extra key", "unknown kind", "drop a key")


@settings(max_examples=300, suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])
@given(trees, st.data())
def test_a_node_made_wrong_anywhere_is_refused(schema: Any, tree: Node, data: st.DataObject) -> None:
    broken = copy.deepcopy(parse(to_source(tree)))
    nodes = list(walk(broken))
    node = nodes[data.draw(st.integers(0, len(nodes) - 1), label="node")]
    how = data.draw(st.sampled_from(BREAKAGES), label="how")
    if how == "extra key":
        node["offset"] = 0
    elif how == "unknown kind":
        node["t"] = "var"
    else:
        keys = [k for k in node if k != "t"] or ["t"]
        del node[data.draw(st.sampled_from(keys), label="key")]
    assert not schema.is_valid(broken), (how, node)
