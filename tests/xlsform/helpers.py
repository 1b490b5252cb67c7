"""Small workbook builders and report lookups shared by the XLSForm tests."""

from __future__ import annotations

import io
from typing import Any

import openpyxl

from terrain.xlsform import ImportMessage, ImportResult, render_message

Rows = list[list[Any]]


def workbook(sheets: dict[str, Rows]) -> bytes:
    """An .xlsx with the given sheets (first row = headers)."""
    wb = openpyxl.Workbook()
    first = True
    for title, rows in sheets.items():
        if first:
            ws = wb.active
            assert ws is not None
            ws.title = title
            first = False
        else:
            ws = wb.create_sheet(title)
        for row in rows:
            ws.append(row)
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()


def form(survey: Rows, choices: Rows | None = None, settings: dict[str, Any] | None = None) -> bytes:
    sheets: dict[str, Rows] = {"survey": survey}
    if choices is not None:
        sheets["choices"] = choices
    settings = {"form_id": "essai", "form_title": "Essai", **(settings or {})}
    sheets["settings"] = [list(settings), list(settings.values())]
    return workbook(sheets)


def find(result: ImportResult, code: str) -> list[ImportMessage]:
    """Entries one by one (``details``); ``report`` folds repeated ones."""
    return [m for m in result.details if m.code == code]


def one(result: ImportResult, code: str) -> ImportMessage:
    found = find(result, code)
    assert len(found) == 1, (code, [render_message(m, "en") for m in result.report])
    return found[0]


def rendered(result: ImportResult, lang: str = "en") -> list[str]:
    return [f"{m.severity}: {render_message(m, lang)}" for m in result.report]
