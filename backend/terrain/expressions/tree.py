"""Walking trees: referenced names, use of the current value."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

Node = dict[str, Any]


def walk(tree: Node) -> Iterator[Node]:
    """Every node, depth first, left to right (the order of the source text)."""
    stack = [tree]
    while stack:
        node = stack.pop()
        yield node
        t = node["t"]
        if t == "bin":
            stack.append(node["r"])
            stack.append(node["l"])
        elif t == "neg":
            stack.append(node["e"])
        elif t == "call":
            stack.extend(reversed(node["a"]))


def references(tree: Node) -> list[str]:
    """Referenced names in order of first appearance, without duplicates."""
    seen: dict[str, None] = {}
    for node in walk(tree):
        if node["t"] == "ref":
            seen.setdefault(node["n"], None)
    return list(seen)


def uses_current(tree: Node) -> bool:
    return any(node["t"] == "cur" for node in walk(tree))


def uses_function(tree: Node, name: str) -> bool:
    return any(node["t"] == "call" and node["f"] == name for node in walk(tree))
