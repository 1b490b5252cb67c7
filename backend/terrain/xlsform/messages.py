"""Import report entries and their rendering in French or English."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any, Literal

Severity = Literal["error", "warning", "info"]
LANGS = ("fr", "en")
_DIR = Path(__file__).with_name("messages")


@dataclass(frozen=True)
class ImportMessage:
    severity: Severity
    sheet: str
    row: int | None
    column: str | None
    code: str
    params: dict[str, Any] = field(default_factory=dict)


@cache
def catalog(lang: str) -> dict[str, str]:
    data: dict[str, str] = json.loads((_DIR / f"{lang}.json").read_text(encoding="utf-8"))
    return data


class _Default(dict[str, Any]):
    def __missing__(self, key: str) -> str:
        return "{" + key + "}"


def message_text(code: str, params: dict[str, Any], lang: str = "fr") -> str:
    lang = lang if lang in LANGS else "fr"
    cat = catalog(lang)
    template = cat.get(code)
    if template is None:
        return f"{code} {params}" if params else code
    shown = {k: _show(v) for k, v in params.items()}
    if f"message_{lang}" in params:  # compiler issues arrive already rendered in both languages
        shown["message"] = str(params[f"message_{lang}"])
    if "reason" in params:  # reasons are codes with their own translated text
        shown["reason"] = cat.get(f"xlsform.reason.{params['reason']}", shown["reason"])
    return template.format_map(_Default(shown))


def _show(value: Any) -> str:
    if isinstance(value, list | tuple):
        return ", ".join(str(v) for v in value)
    return str(value)


def render_message(msg: ImportMessage, lang: str = "fr") -> str:
    """`survey!12 (relevant): message` — the place as a spreadsheet user reads it, then the message."""
    place = msg.sheet or ""
    if msg.row is not None:
        place = f"{place}!{msg.row}"
    if msg.column:
        place = f"{place} ({msg.column})"
    text = message_text(msg.code, msg.params, lang)
    return f"{place}: {text}" if place else text
