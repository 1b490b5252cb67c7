"""YAML loading with positions (ruamel.yaml round-trip) and position look-ups, 0-based internally."""

from __future__ import annotations

import re
from typing import Any

from ruamel.yaml import YAML
from ruamel.yaml.comments import CommentedMap, CommentedSeq

Pos = tuple[int, int]  # 0-based line, column

_DUPLICATE = re.compile(r'found duplicate key "([^"]*)"')


class YamlProblem(Exception):
    """Malformed YAML: ``code`` is yaml_syntax or duplicate_key, ``pos`` 0-based."""

    def __init__(self, code: str, params: dict[str, Any], pos: Pos) -> None:
        super().__init__(code)
        self.code = code
        self.params = params
        self.pos = pos


def load(text: str) -> Any:
    """The document (CommentedMap, CommentedSeq or scalar); raises YamlProblem only."""
    yaml = YAML(typ="rt")
    yaml.allow_duplicate_keys = False
    try:
        return yaml.load(text)
    except RecursionError:
        raise YamlProblem("yaml_syntax", {"problem": "nesting too deep"}, (0, 0)) from None
    except Exception as exc:  # ruamel raises many classes; all are reported the same way
        mark = getattr(exc, "problem_mark", None) or getattr(exc, "context_mark", None)
        pos = (int(getattr(mark, "line", 0)), int(getattr(mark, "column", 0))) if mark else (0, 0)
        raw = str(exc)
        found = _DUPLICATE.search(raw)
        if found:
            return_pos = pos
            raise YamlProblem("duplicate_key", {"key": found.group(1)}, return_pos) from None
        problem = str(getattr(exc, "problem", "") or "").strip() or raw.splitlines()[0] if raw else ""
        raise YamlProblem("yaml_syntax", {"problem": problem}, pos) from None


def node_pos(node: Any, default: Pos) -> Pos:
    lc = getattr(node, "lc", None)
    if lc is None or not isinstance(node, CommentedMap | CommentedSeq):
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
