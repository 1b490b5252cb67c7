"""Lookups on the form's own choice lists, rewritten on import into Terrain's functions.

- ODK: ``instance('L')/root/item[name=${x}]/label`` -> ``choice-label(${x}, 'L')``, and
  ``instance('L')/root/item[name=${x}]/P`` for a column P of the choices sheet (a property of the choices of
  L) -> ``choice-property(${x}, 'L', 'P')``.
- SurveyCTO: ``choice-label(${field}, value)`` (field first, then the value) -> Terrain's
  ``choice-label(value, '<list of field>')``.

Any other shape is left as written: the importer then reports it as an unsupported expression.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from typing import Any

_INSTANCE_ITEM = re.compile(
    r"""instance\s*\(\s*(?P<q>['"])(?P<list>[^'"]*)(?P=q)\s*\)\s*/\s*root\s*/\s*item\s*"""
    r"""\[\s*name\s*=\s*(?P<value>\$\{[A-Za-z_][A-Za-z0-9_.-]*\}|'[^']*'|"[^"]*")\s*\]"""
    # the property, which must end the path (a longer path is not a lookup of a choice's column)
    r"""\s*/\s*(?P<prop>[A-Za-z_][A-Za-z0-9_]*)(?![\w.:-]|\s*[/\[])"""
)
_CHOICE_LABEL = re.compile(r"(?<![\w:.-])choice-label\s*\(")
_REF = re.compile(r"\s*\$\{([A-Za-z_][A-Za-z0-9_.-]*)\}\s*")
_STRING = re.compile(r"""\s*(['"])([^'"]*)\1\s*""")


def rewrite_lookups(
    text: str,
    list_of: Callable[[str], str | None],
    lists: Mapping[str, list[dict[str, Any]]],
    renames: Mapping[str, str],
) -> str:
    """``text`` with the lookups above rewritten. ``list_of`` gives the Terrain list of a select (None: not a
    select), ``lists`` the Terrain lists (name -> choices), ``renames`` the choices sheet's list names ->
    Terrain's."""
    if "choice-label" in text:
        text = _surveycto_choice_labels(text, list_of, lists)
    if "instance" in text:
        text = _INSTANCE_ITEM.sub(lambda m: _instance_item(m, lists, renames), text)
    return text


def _instance_item(
    m: re.Match[str], lists: Mapping[str, list[dict[str, Any]]], renames: Mapping[str, str]
) -> str:
    name = renames.get(m["list"], m["list"])
    choices = lists.get(name)
    if choices is None:  # an external file (select_one_from_file, CHT's contact-summary…): not the form's
        return m.group(0)
    value, prop = m["value"], m["prop"]
    if prop == "label":
        return f"choice-label({value}, '{name}')"
    if any(isinstance(c.get("filter"), dict) and prop in c["filter"] for c in choices):
        return f"choice-property({value}, '{name}', '{prop}')"
    return m.group(0)


def _call_args(text: str, start: int) -> tuple[int, list[tuple[int, int]]] | None:
    """The arguments (spans) of the call whose ``(`` ends at ``start``, and the index after its ``)``;
    None if the parenthesis is not closed."""
    depth, quote, begin, i = 1, "", start, start
    spans: list[tuple[int, int]] = []
    while i < len(text):
        c = text[i]
        if quote:
            quote = "" if c == quote else quote
        elif c in "'\"":
            quote = c
        elif c == "(":
            depth += 1
        elif c == ")":
            depth -= 1
            if depth == 0:
                spans.append((begin, i))
                return i + 1, spans
        elif c == "," and depth == 1:
            spans.append((begin, i))
            begin = i + 1
        i += 1
    return None


def _surveycto_choice_labels(
    text: str, list_of: Callable[[str], str | None], lists: Mapping[str, list[dict[str, Any]]]
) -> str:
    out: list[str] = []
    last = 0
    for m in _CHOICE_LABEL.finditer(text):
        if m.start() < last:
            continue
        found = _call_args(text, m.end())
        if found is None:
            continue
        end, spans = found
        if len(spans) != 2:
            continue
        field, value = (text[a:b] for a, b in spans)
        ref = _REF.fullmatch(field)
        list_name = list_of(ref.group(1)) if ref else None
        named = _STRING.fullmatch(value)
        if list_name is None or (named is not None and named.group(2) in lists):
            continue  # not SurveyCTO's shape, or already Terrain's choice-label(value, 'list')
        out.append(text[last : m.start()])
        inner = _surveycto_choice_labels(value, list_of, lists).strip()
        out.append(f"choice-label({inner}, '{list_name}')")
        last = end
    out.append(text[last:])
    return "".join(out)


_CHOICE_PROPERTY = re.compile(r"(?<![\w:.-])choice-property\s*\(")


def instance_paths(src: str) -> str:
    """Export: ``choice-property(x, 'L', 'P')`` as ODK's ``instance('L')/root/item[name=x]/P``."""
    out: list[str] = []
    last = 0
    for m in _CHOICE_PROPERTY.finditer(src):
        if m.start() < last:
            continue
        found = _call_args(src, m.end())
        if found is None or len(found[1]) != 3:
            continue
        end, spans = found
        value, list_name, prop = (src[a:b].strip() for a, b in spans)
        out.append(src[last : m.start()])
        out.append(f"instance({list_name})/root/item[name={instance_paths(value)}]/{prop[1:-1]}")
        last = end
    out.append(src[last:])
    return "".join(out)
