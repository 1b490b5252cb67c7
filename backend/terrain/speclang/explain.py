"""Changes between two spec versions, said in a coordinator's words (French by default, English).

:func:`describe_change` turns one :class:`~terrain.speclang.diff.Change` (or its ``to_dict()``) into one
sentence: what changed, by name, and for a breaking change why it is refused and what to do instead. The
templates are the ``change.*`` keys of the speclang message catalogs (``messages/fr.json``, ``en.json``).
Pure: no database, no HTTP."""

from __future__ import annotations

import re
from typing import Any

from .diff import Change, SpecDiff
from .issues import catalog

_PLACEHOLDER = re.compile(r"\{([a-z_]+)\}")


def _word(messages: dict[str, str], prefix: str, value: Any) -> str | None:
    """``value`` translated with the ``prefix.value`` key, or as is (None stays None)."""
    if value is None:
        return None
    return messages.get(f"{prefix}.{value}", str(value))


def _present(value: Any) -> bool:
    return value is not None and value != "" and value != [] and value != ()


def _text(value: Any) -> str:
    if isinstance(value, list | tuple):
        return ", ".join(str(v) for v in value)
    return str(value)


def _fill(template: str, params: dict[str, Any]) -> str:
    return _PLACEHOLDER.sub(lambda m: _text(params[m.group(1)]), template)


def _usable(template: str, params: dict[str, Any]) -> bool:
    """Whether every placeholder of ``template`` has a value (a diff without ``detail`` falls back to a
    plainer template)."""
    return all(_present(params.get(key)) for key in _PLACEHOLDER.findall(template))


def _params(change: Change, messages: dict[str, str]) -> tuple[dict[str, Any], list[tuple[str, bool]]]:
    """Template parameters and the template variants to try, most specific first, each with whether it
    explains the change's breaking reason."""
    detail = change.detail
    params: dict[str, Any] = {
        "name": change.name,
        "fields": change.fields or messages.get("change.fields.none", "-"),
        "values": detail.get("values"),
        "items": detail.get("items"),
        "list": detail.get("list"),
        "theme": detail.get("theme"),
    }
    variants: list[tuple[str, bool]] = []
    if change.target == "choice":
        # "<list>.<value>": list names have no dot, values may.
        lname, _, value = change.name.partition(".")
        params.update(list=lname, value=value or lname)
    if change.target == "item" and change.reason == "type_changed":
        if detail.get("from_type") != detail.get("to_type"):
            params["from"] = _word(messages, "item_type", detail.get("from_type"))
            params["to"] = _word(messages, "item_type", detail.get("to_type"))
            variants.append(("type_changed", True))
        else:
            params["from"] = _word(messages, "type", detail.get("from_value_type"))
            params["to"] = _word(messages, "type", detail.get("to_value_type"))
            variants.append(("value_type_changed", True))
    elif change.target == "item" and change.reason == "repeat_changed":
        before, after = detail.get("from_repeat"), detail.get("to_repeat")
        params.update({"from": before, "to": after})
        if before and after:
            variants.append(("repeat_moved", True))
        elif after:
            variants.append(("repeat_entered", True))
        elif before:
            variants.append(("repeat_left", True))
    elif change.target == "item" and change.op == "removed" and detail.get("theme"):
        variants.append(("theme_field_removed", True))
    elif change.target == "spec" and change.reason == "kind_changed":
        params["from"] = _word(messages, "kind", detail.get("from"))
        params["to"] = _word(messages, "kind", detail.get("to"))
    elif change.target == "spec":
        params.update({"from": detail.get("from"), "to": detail.get("to")})
    if change.reason:
        variants.append((change.reason, True))
    if change.target == "spec":
        variants.append((change.name, False))
    if change.target == "choice_list" and change.fields == ["order"]:
        variants.append(("order", False))
    return params, variants


def describe_change(change: Change | dict[str, Any], lang: str = "fr") -> str:
    """One sentence saying ``change`` in ``lang`` (fr when unknown), naming the item, choice, list, theme
    or audience. A breaking change says why it is refused and what to do instead."""
    if isinstance(change, dict):
        change = Change.from_dict(change)
    messages = catalog(lang)
    params, variants = _params(change, messages)
    base = f"change.{change.target}.{change.op}"
    text = None
    explained = False  # the sentence already says why the change is breaking and what to do
    for variant, says_why in variants:
        template = messages.get(f"{base}+{variant}")
        if template is not None and _usable(template, params):
            text, explained = _fill(template, params), says_why
            break
    if text is None:
        template = messages.get(base)
        if template is not None and _usable(template, params):
            text = _fill(template, params)
        else:
            text = f"{change.op} {change.target} {change.name}"
    if change.breaking and not explained:
        reason = _word(messages, "reason", change.reason)
        key = "change.breaking+reason" if reason else "change.breaking"
        text += " " + _fill(messages[key], {"reason": reason})
    return text


def describe_diff(difference: SpecDiff | dict[str, Any], lang: str = "fr") -> list[tuple[Change, str]]:
    """Every change of ``difference`` (a :class:`SpecDiff` or its ``to_dict()``) with its sentence."""
    changes = (
        difference.changes
        if isinstance(difference, SpecDiff)
        else [Change.from_dict(c) for c in difference.get("changes") or []]
    )
    return [(change, describe_change(change, lang)) for change in changes]
