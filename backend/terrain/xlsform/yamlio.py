"""Readable YAML for imported documents: block style, unicode, keys in the order the importer built them,
French texts first.

Written directly (not with ruamel's emitter, which took 59 % of a 2,000-question import): the documents
hold only mappings, lists, strings, numbers, booleans and None. A string is written plain when YAML reads
it back as the same string, else double-quoted with JSON's escapes (valid in YAML) plus those of the
characters YAML does not allow or reads as line breaks. Any other value falls back to ruamel."""

from __future__ import annotations

import io
import json
import math
import re
from typing import Any

from ruamel.yaml import YAML

# Plain only when unambiguous: starts with a letter, `$`, `_` or `(`; one line, no tab, no ": " or " #",
# no trailing space or colon (flow indicators inside a plain scalar are text in block context).
_PLAIN = re.compile(r"[A-Za-zÀ-ɏ_$(][^\n\r\t]*")
_PLAIN_END = re.compile(r"[^\s:]")
# Words YAML 1.1 or 1.2 may read as booleans or null.
_RESERVED = frozenset({"true", "false", "yes", "no", "on", "off", "y", "n", "null", "~"})
# Not printable in YAML, or a line break inside a quoted scalar: escaped.
_UNSAFE = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\u2028\u2029\ufeff\ufffe\uffff\ud800-\udfff]")


class _Fallback(Exception):
    pass


def _string(text: str) -> str:
    if (
        _PLAIN.fullmatch(text)
        and _PLAIN_END.match(text[-1])
        and ": " not in text
        and " #" not in text
        and text.lower() not in _RESERVED
        and not _UNSAFE.search(text)
    ):
        return text
    quoted = json.dumps(text, ensure_ascii=False)
    return _UNSAFE.sub(lambda m: f"\\u{ord(m.group()):04x}", quoted)


def _scalar(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        if math.isnan(value):
            return ".nan"
        if math.isinf(value):
            return ".inf" if value > 0 else "-.inf"
        text = repr(value)
        return text if "." in text or "e" in text else f"{text}.0"
    if isinstance(value, str):
        return _string(value)
    raise _Fallback


def _ordered_keys(mapping: dict[Any, Any]) -> list[Any]:
    keys = list(mapping)
    if "fr" in mapping and keys[0] != "fr":  # texts: French first, as in hand-written specs
        keys.remove("fr")
        keys.insert(0, "fr")
    return keys


def _emit(value: Any, indent: int, out: list[str]) -> None:
    """Lines of a block mapping or sequence (non-empty) at ``indent`` spaces."""
    pad = " " * indent
    if isinstance(value, dict):
        for key in _ordered_keys(value):
            if not isinstance(key, str):
                raise _Fallback
            child = value[key]
            head = f"{pad}{_string(key)}:"
            if isinstance(child, dict | list) and child:
                out.append(head)
                # A nested mapping 2 spaces in; a list's dashes 2 spaces in, its entries 4 (as ruamel
                # writes with indent(mapping=2, sequence=4, offset=2)).
                _emit(child, indent + 2 if isinstance(child, dict) else indent, out)
            else:
                out.append(f"{head} {_empty(child) if isinstance(child, dict | list) else _scalar(child)}")
        return
    for child in value:
        if isinstance(child, dict | list) and child:
            # `- key: value` with the rest of the mapping (or the nested list) under it.
            inner: list[str] = []
            _emit(child, indent + 4, inner)
            out.append(f"{pad}  - {inner[0][indent + 4 :]}")
            out.extend(inner[1:])
        else:
            out.append(f"{pad}  - {_empty(child) if isinstance(child, dict | list) else _scalar(child)}")


def _empty(value: dict[Any, Any] | list[Any]) -> str:
    return "{}" if isinstance(value, dict) else "[]"


def yaml_dump(document: Any) -> str:
    try:
        if isinstance(document, dict | list) and document:
            lines: list[str] = []
            _emit(document, 0, lines)
            return "\n".join(lines) + "\n"
    except _Fallback:
        pass
    return _ruamel_dump(document)


def _ruamel_ordered(value: Any) -> Any:
    from ruamel.yaml.comments import CommentedMap, CommentedSeq

    if isinstance(value, dict):
        out = CommentedMap()
        for key in _ordered_keys(value) if value else []:
            out[key] = _ruamel_ordered(value[key])
        return out
    if isinstance(value, list | tuple):
        return CommentedSeq(_ruamel_ordered(v) for v in value)
    return value


def _ruamel_dump(document: Any) -> str:
    yaml = YAML()
    yaml.default_flow_style = False
    yaml.allow_unicode = True
    yaml.width = 110
    yaml.indent(mapping=2, sequence=4, offset=2)
    buf = io.StringIO()
    yaml.dump(_ruamel_ordered(document), buf)
    return buf.getvalue()
