"""Spec issues (errors and warnings with a position) and their rendering from the fr/en catalogs."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from functools import cache
from importlib import resources
from typing import Any, Literal

Severity = Literal["error", "warning"]
LANGUAGES = ("fr", "en")
# Parameters holding a static type name ("number", "list|string") are translated with the "type.*" keys.
_TYPE_PARAMS = frozenset(
    {"left", "right", "type", "actual", "expected", "expected_type", "found", "value_type"}
)
# Parameters whose value is itself a catalog word ("reason.type_changed").
_WORD_PARAMS = frozenset({"reason", "target"})
_PLACEHOLDER = re.compile(r"\{([a-z_]+)\}")


@dataclass
class SpecIssue:
    """One problem in a spec. ``line`` and ``col`` are 1-based; ``path`` names the place in the document
    with item names (``items.membres.items.age.constraint``)."""

    file: str
    line: int
    col: int
    path: str
    code: str
    params: dict[str, Any] = field(default_factory=dict)
    severity: Severity = "error"

    def to_dict(self, lang: str = "fr") -> dict[str, Any]:
        return {
            "file": self.file,
            "line": self.line,
            "col": self.col,
            "path": self.path,
            "code": self.code,
            "params": dict(self.params),
            "severity": self.severity,
            "message": message(self, lang),
        }


@cache
def catalog(lang: str) -> dict[str, str]:
    """Message templates of ``lang`` (fr when unknown). Placeholders are ``{param}``."""
    if lang not in LANGUAGES:
        lang = "fr"
    text = resources.files("terrain.speclang").joinpath("messages", f"{lang}.json").read_text("utf-8")
    data: dict[str, str] = json.loads(text)
    return data


def _fill(template: str, params: dict[str, Any], messages: dict[str, str]) -> str:
    def replace(match: re.Match[str]) -> str:
        key = match.group(1)
        if key not in params:
            return match.group(0)
        value = params[key]
        if key in _TYPE_PARAMS and isinstance(value, str):
            words = [messages.get(f"type.{part}", part) for part in value.split("|")]
            return messages.get("type.or", " | ").join(words)
        if key in _WORD_PARAMS and isinstance(value, str):
            return messages.get(f"{key}.{value}", value)
        if isinstance(value, list | tuple):
            return ", ".join(str(v) for v in value)
        return str(value)

    return _PLACEHOLDER.sub(replace, template)


def message(issue: SpecIssue, lang: str = "fr") -> str:
    """The message alone, in ``lang``. A ``variant`` or ``suggestion`` parameter selects the
    ``<code>+<variant>`` or ``<code>+suggestion`` template."""
    messages = catalog(lang)
    template = None
    variant = issue.params.get("variant")
    if variant:
        template = messages.get(f"{issue.code}+{variant}")
    if template is None and issue.params.get("suggestion"):
        template = messages.get(issue.code + "+suggestion")
    if template is None:
        template = messages.get(issue.code)
    if template is None:
        return issue.code
    return _fill(template, issue.params, messages)


def render(issue: SpecIssue, lang: str = "fr") -> str:
    """``file:line:col: path: message`` (1-based line and column)."""
    where = f"{issue.path}: " if issue.path else ""
    prefix = "" if issue.severity == "error" else catalog(lang).get("severity.warning", "warning") + ": "
    return f"{issue.file}:{issue.line}:{issue.col}: {where}{prefix}{message(issue, lang)}"
