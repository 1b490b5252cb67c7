"""YAML loading with positions (ruamel.yaml nodes and their marks) and position look-ups, 0-based."""

from __future__ import annotations

import datetime as dt
from typing import Any

from ruamel.yaml import YAML
from ruamel.yaml.nodes import MappingNode, ScalarNode, SequenceNode

Pos = tuple[int, int]  # 0-based line, column


class YamlProblem(Exception):
    """Malformed YAML: ``code`` is yaml_syntax or duplicate_key, ``pos`` 0-based."""

    def __init__(self, code: str, params: dict[str, Any], pos: Pos) -> None:
        super().__init__(code)
        self.code = code
        self.params = params
        self.pos = pos


class _Lines:
    """Positions of a loaded mapping or sequence, with the look-ups of ruamel's ``.lc``."""

    __slots__ = ("col", "items", "keys", "line", "values")

    def __init__(self, line: int, col: int) -> None:
        self.line = line
        self.col = col
        self.keys: dict[Any, Pos] = {}
        self.values: dict[Any, Pos] = {}
        self.items: list[Pos] = []

    def key(self, k: Any) -> Pos:
        return self.keys[k]

    def value(self, k: Any) -> Pos:
        return self.values[k]

    def item(self, i: int) -> Pos:
        return self.items[i]


class PosMap(dict[Any, Any]):
    lc: _Lines


class PosSeq(list[Any]):
    lc: _Lines


def _mark(node: Any) -> Pos:
    return (node.start_mark.line, node.start_mark.column)


class _Builder:
    """Nodes composed by the (faster) safe parser -> PosMap/PosSeq/plain scalars with positions. Aliases
    share objects, as with ruamel's own constructor, so recursive documents stay finite."""

    def __init__(self, constructor: Any) -> None:
        self.constructor = constructor
        self.memo: dict[int, Any] = {}

    def build(self, node: Any) -> Any:
        done = self.memo.get(id(node))
        if done is not None:
            return done
        if isinstance(node, ScalarNode):
            try:
                value = self.constructor.construct_object(node, deep=True)
            except Exception:  # unknown tags (!!python/...) and bad timestamps: keep the text
                value = str(node.value)
            if isinstance(value, bytes | set | tuple) or not isinstance(
                value, str | int | float | bool | dt.date | type(None)
            ):
                value = str(node.value)
            return value
        line, col = _mark(node)
        if isinstance(node, SequenceNode):
            seq = PosSeq()
            seq.lc = _Lines(line, col)
            self.memo[id(node)] = seq
            for child in node.value:
                seq.lc.items.append(_mark(child))
                seq.append(self.build(child))
            return seq
        if isinstance(node, MappingNode):
            mapping = PosMap()
            mapping.lc = _Lines(line, col)
            self.memo[id(node)] = mapping
            for key_node, value_node in node.value:
                key = self.build(key_node)
                if isinstance(key, list | dict):
                    key = (
                        str(key_node.value) if isinstance(key_node, ScalarNode) else f"<{type(key).__name__}>"
                    )
                if key in mapping:
                    raise YamlProblem("duplicate_key", {"key": str(key)}, _mark(key_node))
                mapping.lc.keys[key] = _mark(key_node)
                mapping.lc.values[key] = _mark(value_node)
                mapping[key] = self.build(value_node)
            return mapping
        return None


def load(text: str) -> Any:
    """The document (PosMap, PosSeq or scalar); raises YamlProblem only.

    The safe parser composes nodes with their marks; comments are skipped, which makes it much faster than
    the round-trip loader (see docs/performance.md)."""
    try:
        # libyaml (ruamel.yaml.clib) composes about 3x faster. Its scanner is stricter on a few valid
        # documents (e.g. French "Comment ?" inside a flow mapping), so any failure is retried with the
        # pure-Python parser, whose verdict and messages are the reference.
        fast = YAML(typ="safe", pure=False)
        node = fast.compose(text)
        constructor = fast.constructor
    except Exception:
        node, constructor = None, None
    yaml = YAML(typ="safe", pure=True)
    try:
        if constructor is None:
            node = yaml.compose(text)
            constructor = yaml.constructor
        if node is None:
            return None
        return _Builder(constructor).build(node)
    except YamlProblem:
        raise
    except RecursionError:
        raise YamlProblem("yaml_syntax", {"problem": "nesting too deep"}, (0, 0)) from None
    except Exception as exc:  # ruamel raises many classes; all are reported the same way
        mark = getattr(exc, "problem_mark", None) or getattr(exc, "context_mark", None)
        pos = (int(getattr(mark, "line", 0)), int(getattr(mark, "column", 0))) if mark else (0, 0)
        raw = str(exc)
        problem = str(getattr(exc, "problem", "") or "").strip()
        if not problem:
            problem = raw.splitlines()[0] if raw else type(exc).__name__
        raise YamlProblem("yaml_syntax", {"problem": problem}, pos) from None


def node_pos(node: Any, default: Pos) -> Pos:
    lc = getattr(node, "lc", None)
    if lc is None or not isinstance(node, PosMap | PosSeq):
        return default
    try:
        return (int(lc.line), int(lc.col))
    except (TypeError, AttributeError):
        return default


def key_pos(mapping: Any, key: Any, default: Pos) -> Pos:
    try:
        line, col = mapping.lc.key(key)
        return (int(line), int(col))
    except Exception:  # plain dicts, missing keys, aliases: fall back
        return node_pos(mapping, default)


def value_pos(mapping: Any, key: Any, default: Pos) -> Pos:
    try:
        line, col = mapping.lc.value(key)
        return (int(line), int(col))
    except Exception:
        return key_pos(mapping, key, default)


def item_pos(seq: Any, index: int, default: Pos) -> Pos:
    try:
        line, col = seq.lc.item(index)
        return (int(line), int(col))
    except Exception:
        return node_pos(seq, default)


def scalar_offset_pos(lines: list[str], pos: Pos, src: str, offset: int) -> Pos:
    """Position of character ``offset`` of the scalar ``src`` whose value starts at ``pos``: exact when the
    scalar is written plain or quoted on one line, else the scalar's own position."""
    line, col = pos
    if line >= len(lines):
        return pos
    text = lines[line]
    start = col
    if start < len(text) and text[start] in "'\"":
        start += 1
    if text[start : start + len(src)] == src or text[start : start + offset] == src[:offset]:
        return (line, start + offset)
    return pos
