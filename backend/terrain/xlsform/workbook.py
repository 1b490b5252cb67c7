"""Reading an .xlsx workbook into plain sheets of strings, with the positions needed by the report."""

from __future__ import annotations

import datetime as dt
import io
import zipfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .messages import ImportMessage

OLE_MAGIC = b"\xd0\xcf\x11\xe0"
ZIP_MAGIC = b"PK\x03\x04"

# Column aliases accepted by pyxform (lower-case, after stripping) -> canonical name.
COLUMN_ALIASES: dict[str, str] = {
    "list name": "list_name",
    "requiredmsg": "required_message",
    "required message": "required_message",
    "relevance": "relevant",
    "calculate": "calculation",
    "readonly": "read_only",
    "caption": "label",
    "count": "repeat_count",
    "jr:count": "repeat_count",
    "constraining_message": "constraint_message",
    "media::image": "image",
    "media::audio": "audio",
    "media::video": "video",
    "media::big-image": "big-image",
    "choice filter": "choice_filter",
}
TRANSLATABLE = (
    "label",
    "hint",
    "guidance_hint",
    "constraint_message",
    "required_message",
    "image",
    "audio",
    "video",
    "big-image",
)


class WorkbookError(Exception):
    """A workbook that cannot be read at all; carries the report entry."""

    def __init__(self, message: ImportMessage) -> None:
        super().__init__(message.code)
        self.message = message


@dataclass
class Row:
    number: int  # 1-based row number in the sheet, as Excel shows it
    values: dict[str, str]  # canonical column key -> non-empty cell text

    def get(self, key: str) -> str:
        return self.values.get(key, "")


@dataclass
class Sheet:
    title: str  # as written in the workbook
    columns: list[str] = field(default_factory=list)  # canonical keys, in order, without duplicates
    headers: dict[str, str] = field(default_factory=dict)  # canonical key -> header as written
    rows: list[Row] = field(default_factory=list)


def canonical_column(header: str) -> str:
    """`LABEL::English (en)` -> `label::English (en)`; `label:English` -> `label::English`; aliases."""
    h = " ".join(header.strip().split())
    if "::" in h:
        base, _, rest = h.partition("::")
    elif ":" in h and h.split(":", 1)[0].strip().lower() in TRANSLATABLE:
        base, _, rest = h.partition(":")
    else:
        base, rest = h, ""
    base = base.strip().lower()
    rest = rest.strip()
    if rest and f"{base}::{rest.lower()}" in COLUMN_ALIASES:
        return COLUMN_ALIASES[f"{base}::{rest.lower()}"]
    if rest.lower().startswith(("image", "audio", "video", "big-image")) and base == "media":
        media, _, lang = rest.partition("::")
        return f"{media.lower()}::{lang}" if lang else media.lower()
    base = COLUMN_ALIASES.get(base, base)
    return f"{base}::{rest}" if rest else base


def cell_text(value: Any) -> str:
    """Cell value -> text as a form author would read it (1.0 -> "1", dates ISO, booleans TRUE/FALSE)."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "TRUE" if value else "FALSE"
    if isinstance(value, float):
        return str(int(value)) if value.is_integer() else repr(value)
    if isinstance(value, dt.datetime):
        if value.time() == dt.time(0, 0):
            return value.date().isoformat()
        return value.isoformat()
    if isinstance(value, dt.date | dt.time):
        return value.isoformat()
    return str(value).strip()


def _fatal(code: str, sheet: str = "", **params: Any) -> WorkbookError:
    return WorkbookError(ImportMessage("error", sheet, None, None, code, dict(params)))


def load_bytes(source: Path | bytes, filename: str) -> bytes:
    if isinstance(source, bytes):
        return source
    try:
        return Path(source).read_bytes()
    except OSError as exc:
        raise _fatal("xlsform.unreadable_file", filename=filename, reason=exc.strerror or str(exc)) from None


def read_workbook(data: bytes, filename: str, report: list[ImportMessage]) -> dict[str, Sheet]:
    """Every sheet by lower-cased title. Raises WorkbookError for files that are not .xlsx workbooks."""
    if filename.lower().endswith(".xls") or data.startswith(OLE_MAGIC):
        raise _fatal("xlsform.xls_not_supported", filename=filename)
    if not data.startswith(ZIP_MAGIC) or not zipfile.is_zipfile(io.BytesIO(data)):
        raise _fatal("xlsform.not_a_workbook", filename=filename)
    import openpyxl  # deferred: openpyxl is slow to import and only needed here

    try:
        import warnings

        with warnings.catch_warnings():
            # openpyxl warns about unsupported Excel extensions (data validation, ...): irrelevant here.
            warnings.simplefilter("ignore")
            wb = openpyxl.load_workbook(io.BytesIO(data), read_only=True, data_only=True)
            sheets: dict[str, Sheet] = {}
            for ws in wb.worksheets:
                sheet = _read_sheet(ws, report)
                key = ws.title.strip().lower()
                if key in sheets:
                    report.append(
                        ImportMessage("warning", ws.title, None, None, "xlsform.duplicate_sheet", {})
                    )
                    continue
                sheets[key] = sheet
            wb.close()
    except WorkbookError:
        raise
    except Exception as exc:  # openpyxl raises many types on corrupt files; never show a traceback
        raise _fatal("xlsform.not_a_workbook", filename=filename, reason=type(exc).__name__) from None
    return sheets


def _read_sheet(ws: Any, report: list[ImportMessage]) -> Sheet:
    sheet = Sheet(title=ws.title)
    keys: list[str | None] = []
    for number, raw in enumerate(ws.iter_rows(values_only=True), start=1):
        if not keys and number == 1:
            for col_index, value in enumerate(raw):
                header = cell_text(value)
                if not header:
                    keys.append(None)
                    continue
                key = canonical_column(header)
                if key in sheet.headers:
                    report.append(
                        ImportMessage(
                            "error",
                            ws.title,
                            1,
                            header,
                            "xlsform.duplicate_column",
                            {"column": header, "index": col_index + 1},
                        )
                    )
                    keys.append(None)
                    continue
                sheet.headers[key] = header
                sheet.columns.append(key)
                keys.append(key)
            continue
        if raw.count(None) == len(raw):  # fast path: sheets often declare a million empty rows
            continue
        values: dict[str, str] = {}
        for maybe_key, value in zip(keys, raw, strict=False):
            if maybe_key is None:
                continue
            text = cell_text(value)
            if text:
                values[maybe_key] = text
        if values:
            sheet.rows.append(Row(number, values))
    return sheet
