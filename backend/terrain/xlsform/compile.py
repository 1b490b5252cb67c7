"""Run the spec compiler on an imported document and carry its issues into the import report."""

from __future__ import annotations

import re
from typing import Any

from .messages import ImportMessage
from .workbook import Sheet

# Spec keys -> the XLSForm column they came from.
COLUMNS = {
    "label": "label",
    "hint": "hint",
    "required": "required",
    "required_message": "required_message",
    "relevant": "relevant",
    "constraint": "constraint",
    "constraint_message": "constraint_message",
    "calculation": "calculation",
    "default": "default",
    "read_only": "read_only",
    "appearance": "appearance",
    "choice_filter": "choice_filter",
    "count": "repeat_count",
    "choice_list": "type",
    "type": "type",
    "name": "name",
    "other": "type",
}


def locate(path: str, name_rows: dict[str, int]) -> tuple[int | None, str | None]:
    """The survey row and column of a compiler issue path (`items.membres.items.age.constraint`)."""
    parts = [p for p in re.split(r"[.\[\]/]+", path) if p]
    row: int | None = None
    for i, part in enumerate(parts):
        if i and parts[i - 1] in ("items", "rows") and part in name_rows:
            row = name_rows[part]
    column = COLUMNS.get(parts[-1]) if parts else None
    return row, column


def compile_document(
    yaml_text: str,
    filename: str,
    document: dict[str, Any],
    report: list[ImportMessage],
    name_rows: dict[str, int],
    sheets: dict[str, Sheet],
) -> dict[str, Any] | None:
    """The compiled spec, or None when the compiler refuses the document (its issues are in the report)."""
    try:
        from terrain.speclang import compile_text, render
    except ImportError:  # the compiler is optional at import time only while it is being written
        report.append(ImportMessage("warning", "", None, None, "xlsform.compiler_unavailable", {}))
        return None
    result = compile_text(yaml_text, filename)
    survey = sheets.get("survey")
    survey_title = survey.title if survey else "survey"
    for issue in result.issues:
        path = str(getattr(issue, "path", "") or "")
        row, column = locate(path, name_rows)
        sheet = survey_title if row is not None else ""
        if path.startswith("choice_lists"):
            choices = sheets.get("choices")
            sheet = choices.title if choices else "choices"
        severity = getattr(issue, "severity", "error")
        report.append(
            ImportMessage(
                "error" if severity == "error" else "warning" if severity == "warning" else "info",
                sheet,
                row,
                column,
                "xlsform.compile_issue",
                {
                    "code": issue.code,
                    "path": path,
                    "message_fr": render(issue, "fr"),
                    "message_en": render(issue, "en"),
                },
            )
        )
    compiled: dict[str, Any] | None = result.compiled if result.ok else None
    return compiled
