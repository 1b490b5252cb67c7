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
    if isinstance(params.get("rows"), list):
        shown["rows"] = row_ranges(params["rows"])
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
    """`survey!12 (relevant): message` — the place as a spreadsheet user reads it, then the message; a
    grouped entry ends with how many rows repeat it and which."""
    place = msg.sheet or ""
    if msg.row is not None:
        place = f"{place}!{msg.row}"
    if msg.column:
        place = f"{place} ({msg.column})"
    text = message_text(msg.code, msg.params, lang)
    repeated = msg.params.get("repeated")
    if repeated:
        template = catalog(lang if lang in LANGS else "fr")["xlsform.repeated"]
        text += template.format(count=len(repeated), rows=row_ranges(repeated))
    return f"{place}: {text}" if place else text


# Entries of one kind past this count are folded into one line (warnings and infos; errors stay one by one).
GROUP_AT = 3


def group_report(report: list[ImportMessage]) -> list[ImportMessage]:
    """Repeated warnings and infos (same severity, sheet, column, code and compiler issue code) folded into
    their first entry, which gets ``repeated`` = the rows of all of them: a 700-row form gives a report a
    coordinator reads in a minute. Errors, and kinds seen fewer than GROUP_AT times, are kept as they are."""
    keys: dict[tuple[Any, ...], list[ImportMessage]] = {}
    for msg in report:
        if msg.severity != "error":
            keys.setdefault(_group_key(msg), []).append(msg)
    out: list[ImportMessage] = []
    for msg in report:
        if msg.severity == "error":
            out.append(msg)
            continue
        group = keys[_group_key(msg)]
        if len(group) < GROUP_AT:
            out.append(msg)
        elif group[0] is msg:
            rows = sorted({m.row for m in group if m.row is not None})
            out.append(ImportMessage(msg.severity, msg.sheet, msg.row, msg.column, msg.code,
                                     {**msg.params, "repeated": rows or [0] * len(group)}))  # fmt: skip
    return out


# Parameters that differ from row to row within one kind of entry (the first entry shows an example).
_VARYING = frozenset(
    {"expression", "detail", "offset", "old", "new", "value", "name", "first_row", "path", "message_fr",
     "message_en", "language"}
)  # fmt: skip


def _group_key(msg: ImportMessage) -> tuple[Any, ...]:
    fixed = tuple(sorted((k, str(v)) for k, v in msg.params.items() if k not in _VARYING))
    return (msg.severity, msg.sheet, msg.column, msg.code, fixed)


def row_ranges(rows: list[int], limit: int = 12) -> str:
    """`3, 5-9, 12` for the rows, the first ``limit`` runs only."""
    runs: list[str] = []
    start = prev = None
    for row in rows:
        if prev is not None and row == prev + 1:
            prev = row
            continue
        if start is not None:
            runs.append(str(start) if start == prev else f"{start}-{prev}")
        start = prev = row
    if start is not None:
        runs.append(str(start) if start == prev else f"{start}-{prev}")
    shown = ", ".join(runs[:limit])
    return shown + (", ..." if len(runs) > limit else "")
