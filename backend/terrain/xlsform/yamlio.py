"""Readable YAML for imported documents: block style, unicode, keys in the order the importer built them."""

from __future__ import annotations

import io
from typing import Any

from ruamel.yaml import YAML
from ruamel.yaml.comments import CommentedMap, CommentedSeq


def _ordered(value: Any) -> Any:
    if isinstance(value, dict):
        keys = list(value)
        if "fr" in keys:  # texts: French first, as in hand-written specs
            keys.remove("fr")
            keys.insert(0, "fr")
        out = CommentedMap()
        for key in keys:
            out[key] = _ordered(value[key])
        return out
    if isinstance(value, list | tuple):
        return CommentedSeq(_ordered(v) for v in value)
    return value


def yaml_dump(document: Any) -> str:
    yaml = YAML()
    yaml.default_flow_style = False
    yaml.allow_unicode = True
    yaml.width = 110
    yaml.indent(mapping=2, sequence=4, offset=2)
    buf = io.StringIO()
    yaml.dump(_ordered(document), buf)
    return buf.getvalue()
