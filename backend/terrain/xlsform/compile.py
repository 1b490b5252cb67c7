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
    filename: str,
    document: dict[str, Any],
    report: list[ImportMessage],
    name_rows: dict[str, int],
    sheets: dict[str, Sheet],
    odk_typing: bool = False,
) -> dict[str, Any] | None:
    """The compiled spec (None when the compiler refuses the document: its issues are in the report). The
    document is compiled as it is in memory: its YAML is written once, only when asked for
    (``ImportResult.yaml_text``), and compiles to the same spec (tested). With ``odk_typing`` (forms
    written for ODK), the conversions ODK makes implicitly are written into the expressions of the
    document, and reported once for the form."""
    from terrain.speclang import compile_document as compile_spec
    from terrain.speclang import render

    result = compile_spec(document, filename, odk_typing=odk_typing)
    survey = sheets.get("survey")
    survey_title = survey.title if survey else "survey"
    if result.conversions:
        rows: list[int] = []
        for path, _, converted in result.conversions:
            _patch(document, path, converted)
            row, _ = locate(path, name_rows)
            if row is not None and row not in rows:
                rows.append(row)
        report.append(
            ImportMessage(
                "info",
                survey_title,
                None,
                None,
                "xlsform.odk_typing",
                {"count": len(result.conversions), "rows": sorted(rows), "example": result.conversions[0][2]},
            )
        )
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


def _patch(document: dict[str, Any], path: str, source: str) -> None:
    """Put ``source`` at ``path`` (``items.g.items.q.relevant``) of the document."""
    parts = path.split(".")
    node: Any = document
    i = 0
    while i < len(parts) - 1:
        key = parts[i]
        if key in ("items", "rows") and isinstance(node.get(key), list):
            node = next((n for n in node[key] if n.get("name") == parts[i + 1]), None)
            if node is None:
                raise KeyError(path)  # a compiler path always names an item of the document
            i += 2
        else:
            node = node[key]
            i += 1
    node[parts[-1]] = source
