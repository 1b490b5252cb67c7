"""YAML loading with positions (the marks of ruamel.yaml's parser events) and position look-ups, 0-based."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from typing import Any

from ruamel.yaml import YAML
from ruamel.yaml.events import (
    AliasEvent,
    DocumentStartEvent,
    MappingEndEvent,
    MappingStartEvent,
    ScalarEvent,
    SequenceEndEvent,
    SequenceStartEvent,
)
from ruamel.yaml.nodes import ScalarNode

from .limits import MAX_DEPTH, MAX_NODES

Pos = tuple[int, int]  # 0-based line, column


class YamlProblem(Exception):
    """Malformed or oversized YAML, ``pos`` 0-based. ``code`` is yaml_syntax, duplicate_key,
    nesting_too_deep, expansion_too_large or recursive_alias."""

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


def _mark(event: Any) -> Pos:
    return (event.start_mark.line, event.start_mark.column)


_STR_TAG = "tag:yaml.org,2002:str"
_NO_KEY = object()  # a mapping frame waiting for its next key


class _Frame:
    """An open mapping or sequence: its value, the expanded size counted when it opened, its anchor, and
    for a mapping the key waiting for its value."""

    __slots__ = ("anchor", "container", "key", "key_pos", "opened_at")

    def __init__(self, container: PosMap | PosSeq, anchor: Any, opened_at: int) -> None:
        self.container = container
        self.anchor = anchor
        self.opened_at = opened_at
        self.key: Any = _NO_KEY
        self.key_pos: Pos = (0, 0)


class _Builder:
    """Parser events -> PosMap/PosSeq/plain scalars with positions: the composer's work, without its
    recursion (libyaml's composer overflows the C stack on deep nesting, the pure one raises
    RecursionError). Nesting depth and the size with aliases expanded are checked at each event, so an
    oversized document is refused before it is built further. Aliases share objects, as with ruamel's
    own constructor: memory stays bounded by the text."""

    def __init__(self, constructor: Any, resolver: Any) -> None:
        self.constructor = constructor
        self.resolver = resolver
        # anchor -> (value, position, expanded size); size -1 while the anchored collection is open
        self.anchors: dict[Any, tuple[Any, Pos, int]] = {}
        self.plain_tags: dict[str, Any] = {}  # plain scalar text -> resolved tag (most texts repeat)
        self.count = 0  # values read so far, aliases expanded
        self.duplicate: YamlProblem | None = None

    def build(self, events: Iterator[Any]) -> Any:
        stack: list[_Frame] = []
        root: Any = None
        documents = 0
        for event in events:
            if isinstance(event, ScalarEvent):
                self.grow(event)
                value = self.scalar(event)
                pos = _mark(event)
                if event.anchor is not None:
                    self.anchors[event.anchor] = (value, pos, 1)
            elif isinstance(event, MappingStartEvent | SequenceStartEvent):
                if len(stack) >= MAX_DEPTH:
                    raise YamlProblem("nesting_too_deep", {"max": MAX_DEPTH}, _mark(event))
                opened_at = self.count
                self.grow(event)
                line, col = _mark(event)
                container: PosMap | PosSeq = PosMap() if isinstance(event, MappingStartEvent) else PosSeq()
                container.lc = _Lines(line, col)
                if event.anchor is not None:
                    self.anchors[event.anchor] = (container, (line, col), -1)
                stack.append(_Frame(container, event.anchor, opened_at))
                continue
            elif isinstance(event, MappingEndEvent | SequenceEndEvent):
                frame = stack.pop()
                value, pos = frame.container, (frame.container.lc.line, frame.container.lc.col)
                if frame.anchor is not None and self.anchors.get(frame.anchor, (None,))[0] is value:
                    self.anchors[frame.anchor] = (value, pos, self.count - frame.opened_at)
            elif isinstance(event, AliasEvent):
                value, pos = self.alias(event)
            elif isinstance(event, DocumentStartEvent):
                documents += 1
                if documents > 1:  # as ruamel's compose(): one document only
                    raise YamlProblem("yaml_syntax", {"problem": "but found another document"}, _mark(event))
                self.anchors = {}
                continue
            else:  # stream start and end, document end
                continue
            if stack:
                self.attach(stack[-1], value, pos)
            else:
                root = value
        if self.duplicate is not None:  # reported once the text is known to parse, as before
            raise self.duplicate
        return root

    def grow(self, event: Any, size: int = 1) -> None:
        self.count += size
        if self.count > MAX_NODES:
            raise YamlProblem("expansion_too_large", {"max": MAX_NODES}, _mark(event))

    def alias(self, event: Any) -> tuple[Any, Pos]:
        name = event.anchor
        if name not in self.anchors:
            raise YamlProblem("yaml_syntax", {"problem": f"found undefined alias {name!r}"}, _mark(event))
        value, pos, size = self.anchors[name]
        if size < 0:  # inside its own anchor: an endless document
            raise YamlProblem("recursive_alias", {"anchor": str(name)}, _mark(event))
        self.grow(event, size)
        return value, pos  # positions of the anchored value, as with ruamel's composed nodes

    def scalar(self, event: Any) -> Any:
        tag = event.ctag
        if tag is None or str(tag) == "!":
            if not event.implicit[0]:  # quoted or block scalar without a tag: a string
                return event.value
            tag = self.plain_tags.get(event.value)
            if tag is None:
                tag = self.plain_tags[event.value] = self.resolver.resolve(
                    ScalarNode, event.value, event.implicit
                )
        if tag == _STR_TAG:
            return event.value
        node = ScalarNode(tag, event.value, event.start_mark, event.end_mark, style=event.style)
        try:
            value = self.constructor.construct_object(node, deep=True)
        except Exception:  # unknown tags (!!python/...) and bad timestamps: keep the text
            value = str(node.value)
        if isinstance(value, bytes | set | tuple) or not isinstance(
            value, str | int | float | bool | dt.date | type(None)
        ):
            value = str(node.value)
        return value

    def attach(self, frame: _Frame, value: Any, pos: Pos) -> None:
        container = frame.container
        if isinstance(container, PosSeq):
            container.lc.items.append(pos)
            container.append(value)
            return
        key = frame.key
        if key is _NO_KEY:
            if isinstance(value, list | dict):
                value = f"<{type(value).__name__}>"
            if value in container and self.duplicate is None:
                self.duplicate = YamlProblem("duplicate_key", {"key": str(value)}, pos)
            frame.key, frame.key_pos = value, pos
            return
        frame.key = _NO_KEY
        if key in container:  # a duplicate key, already recorded: the first value stays
            return
        container.lc.keys[key] = frame.key_pos
        container.lc.values[key] = pos
        container[key] = value


def _read(text: str, pure: bool) -> Any:
    yaml = YAML(typ="safe", pure=pure)
    return _Builder(yaml.constructor, yaml.resolver).build(yaml.parse(text))


def load(text: str) -> Any:
    """The document (PosMap, PosSeq or scalar); raises YamlProblem only.

    The safe parser's events are built with their marks; comments are skipped, which makes it much faster
    than the round-trip loader (see docs/performance.md). Both parsers keep an explicit state stack, so
    neither recurses on nesting; the limits of limits.py are checked while reading."""
    try:
        try:
            # libyaml (ruamel.yaml.clib) parses about 3x faster. Its scanner is stricter on a few valid
            # documents (e.g. French "Comment ?" inside a flow mapping), so a syntax error is retried with
            # the pure-Python parser, whose verdict and messages are the reference.
            return _read(text, pure=False)
        except YamlProblem:
            raise
        except Exception:
            return _read(text, pure=True)
    except YamlProblem:
        raise
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
