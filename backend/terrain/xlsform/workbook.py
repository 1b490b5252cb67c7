"""Reading an .xlsx workbook into plain sheets of strings, with the positions needed by the report.

An .xlsx is a zip of XML parts, so a small upload can inflate to gigabytes or to millions of rows: the zip's
directory is checked before openpyxl sees the file, every part openpyxl reads goes through `_GuardedPart`
(bounded decompression, real size, no DTD, element budget), and the sheets are read with bounds on rows,
columns and cell length. Every refusal is a report entry naming the part or the cell and the limit.
"""

from __future__ import annotations

import datetime as dt
import io
import math
import warnings
import zipfile
import zlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any, Literal, cast
from xml.parsers import expat

from .messages import ImportMessage

if TYPE_CHECKING:
    from openpyxl.reader.excel import ExcelReader

# -- Limits ------------------------------------------------------------------------------------------------
# Calibrated on ../shared/corpus (21 real field forms, 24 pyxform workbooks): the largest real value is in
# parentheses. openpyxl spends 5-25 µs per XML element, so the element budgets bound the time (a file crafted
# to reach them takes ~6 s and ~120 MB); the byte bounds bound memory and decompression.
MAX_ARCHIVE_MEMBERS = (
    1_000  # parts in the zip (33): a sheet brings 2-4 parts, so this is not what limits sheets
)
MAX_MEMBER_BYTES = 20_000_000  # one part once decompressed (2.4 MB, a heavily formatted survey sheet)
MAX_ARCHIVE_BYTES = 50_000_000  # all parts once decompressed (4.1 MB)
MAX_COMPRESSION_RATIO = 100  # decompressed / compressed for a part of RATIO_MIN_BYTES or more (15)
RATIO_MIN_BYTES = 1_000_000  # tiny parts compress up to 30x and cannot hurt: MAX_ARCHIVE_BYTES bounds them
MAX_XML_ELEMENTS = 1_000_000  # elements openpyxl parses in the whole file, re-reads included (210,000)
MAX_TREE_ELEMENTS = 50_000  # elements of a part loaded as one tree: styles, workbook, rels (805; ~25 µs each)
MAX_SHEETS = 50  # sheets in the workbook (8)
MAX_ROWS = 20_000  # rows with content in one sheet (3,540 choices; real forms have < 2,000 questions)
MAX_COLUMNS = 500  # column of the last header, i.e. up to SF (74)
MAX_CELL_CHARS = 10_000  # characters in one cell read (3,685: a long note)
EXCEL_MAX_ROWS = 1_048_576  # Excel's grid: a row past it was not written by a spreadsheet
READ_CHUNK = 64 * 1024  # a part is decompressed this much at a time, never in one piece
CENTRAL_DIRECTORY_SIGNATURE = b"PK\x01\x02"  # starts every entry of the zip's directory
XLSFORM_SHEETS = ("survey", "choices", "settings")  # the only sheets whose cells are used

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
    """Every sheet by lower-cased title; only the survey, choices and settings sheets have their cells read.
    Raises WorkbookError for files that are not .xlsx workbooks or that exceed a limit."""
    if filename.lower().endswith(".xls") or data.startswith(OLE_MAGIC):
        raise _fatal("xlsform.xls_not_supported", filename=filename)
    if not data.startswith(ZIP_MAGIC) or not zipfile.is_zipfile(io.BytesIO(data)):
        raise _fatal("xlsform.not_a_workbook", filename=filename)
    try:
        _check_archive(data, filename)
        with warnings.catch_warnings():
            # openpyxl warns about unsupported Excel extensions (data validation, ...): irrelevant here.
            warnings.simplefilter("ignore")
            reader = _reader(data, filename)
            try:
                reader.read()
                return _read_sheets(reader.wb, filename, report)
            finally:
                reader.archive.close()
    except WorkbookError:
        raise
    except Exception as exc:  # openpyxl raises many types on corrupt files; never show a traceback
        raise _fatal("xlsform.not_a_workbook", filename=filename, reason=type(exc).__name__) from None


def _reader(data: bytes, filename: str) -> ExcelReader:
    """openpyxl's load_workbook(read_only=True), reading through _GuardedArchive, with the sheet count
    checked once the workbook part is parsed: openpyxl scans each sheet's part before any is read."""
    from openpyxl.reader.excel import ExcelReader  # deferred: openpyxl is slow to import and only needed here

    class Reader(ExcelReader):
        def read_worksheets(self) -> None:
            count = len(self.parser.sheets)
            if count > MAX_SHEETS:
                raise _fatal("xlsform.too_many_sheets", count=count, limit=MAX_SHEETS)
            super().read_worksheets()

    # keep_links=False: links to other workbooks are parts we have no use for.
    reader = Reader(io.BytesIO(data), read_only=True, data_only=True, keep_links=False)
    reader.archive.close()
    reader.archive = _GuardedArchive(data, filename)
    return reader


# -- The zip ----------------------------------------------------------------------------------------------
def _check_archive(data: bytes, filename: str) -> None:
    """Refuse from the zip's directory alone, before anything is decompressed."""
    # zipfile builds an object per directory entry (120,000 entries fit in 10 MB: 1 s, 100 MB): count first.
    # Each entry starts with the signature, so this over-counts at worst (the bytes may occur by chance).
    if data.count(CENTRAL_DIRECTORY_SIGNATURE) > MAX_ARCHIVE_MEMBERS:
        raise _fatal("xlsform.archive_too_many_members", filename=filename, limit=MAX_ARCHIVE_MEMBERS)
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        infos = archive.infolist()
    if len(infos) > MAX_ARCHIVE_MEMBERS:
        raise _fatal("xlsform.archive_too_many_members", filename=filename, limit=MAX_ARCHIVE_MEMBERS)
    total = 0
    for info in infos:
        member = info.filename
        if info.compress_type not in (zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED):
            # Excel only deflates; zipfile inflates bzip2/lzma chunks without an output bound.
            raise _fatal("xlsform.archive_compression", filename=filename, member=member)
        if info.file_size > MAX_MEMBER_BYTES:
            raise _fatal(
                "xlsform.archive_member_too_large",
                filename=filename,
                member=member,
                size_mb=_mb(info.file_size),
                limit_mb=_mb(MAX_MEMBER_BYTES),
            )
        if info.file_size >= RATIO_MIN_BYTES and info.file_size > MAX_COMPRESSION_RATIO * info.compress_size:
            raise _fatal(
                "xlsform.archive_ratio",
                filename=filename,
                member=member,
                ratio=info.file_size // max(info.compress_size, 1),
                limit=MAX_COMPRESSION_RATIO,
            )
        total += info.file_size
    if total > MAX_ARCHIVE_BYTES:
        raise _fatal(
            "xlsform.archive_too_large",
            filename=filename,
            size_mb=_mb(total),
            limit_mb=_mb(MAX_ARCHIVE_BYTES),
        )


def _mb(size: int) -> int:
    return math.ceil(size / 1_000_000)


class _GuardedArchive(zipfile.ZipFile):
    """The zip as openpyxl sees it: every part it opens (or reads whole) comes wrapped in a _GuardedPart."""

    def __init__(self, data: bytes, filename: str) -> None:
        super().__init__(io.BytesIO(data))
        self.report_name = filename
        self.elements = 0  # XML elements handed to openpyxl so far, over all parts

    def open(
        self,
        name: str | zipfile.ZipInfo,
        mode: Literal["r", "w"] = "r",
        pwd: bytes | None = None,
        *,
        force_zip64: bool = False,
    ) -> IO[bytes]:
        stream = super().open(name, mode, pwd, force_zip64=force_zip64)
        if mode != "r":
            return stream
        info = name if isinstance(name, zipfile.ZipInfo) else self.getinfo(name)
        return cast(IO[bytes], _GuardedPart(stream, info, self))


class _GuardedPart(io.BufferedIOBase):
    """A zip part, checked as openpyxl reads it.

    * Decompression goes READ_CHUNK at a time: zipfile's read() of a whole part inflates the entire compressed
      stream in one call, however much it holds, before cutting it to the declared size.
    * zipfile never returns more than the declared size (it cuts there and the CRC then fails): a part that
      lies is refused as damaged; the byte count below checks it again in case a zipfile version differs.
    * The bytes are fed to our own expat parser before openpyxl gets them: a DTD (entity expansion, the XML
      bomb) is refused, and elements are counted against MAX_XML_ELEMENTS, and MAX_TREE_ELEMENTS when the part
      is read whole (openpyxl then builds a tree and objects for every element, ~25 µs each).
    """

    def __init__(self, raw: IO[bytes], info: zipfile.ZipInfo, archive: _GuardedArchive) -> None:
        super().__init__()
        self._raw = raw
        self._info = info
        self._archive = archive
        self._delivered = 0
        self._elements = 0
        self._whole = False  # read to the end in one call: openpyxl builds a tree of it
        self._done = False
        self._parser: Any = expat.ParserCreate()  # no namespaces: never stricter than openpyxl's parser
        if hasattr(self._parser, "SetReparseDeferralEnabled"):  # expat >= 2.6: never lag behind openpyxl
            self._parser.SetReparseDeferralEnabled(False)
        self._parser.StartDoctypeDeclHandler = self._doctype
        self._parser.StartElementHandler = self._element
        self.xml_error: expat.ExpatError | None = None

    def readable(self) -> bool:
        return True

    def read(self, size: int | None = -1) -> bytes:
        whole = size is None or size < 0
        self._whole = self._whole or whole
        left = -1 if size is None or size < 0 else size
        chunks: list[bytes] = []
        while left != 0:
            chunk = self._pull(READ_CHUNK if left < 0 else min(left, READ_CHUNK))
            if not chunk:
                self._feed(b"", final=True)
                break
            chunks.append(chunk)
            if left > 0:
                left -= len(chunk)
        return b"".join(chunks)

    def read1(self, size: int | None = -1) -> bytes:
        return self.read(READ_CHUNK if size is None or size < 0 else min(size, READ_CHUNK))

    def close(self) -> None:
        self._raw.close()
        self._parser = None  # its handlers refer back to self
        super().close()

    def _pull(self, size: int) -> bytes:
        try:
            chunk = self._raw.read(size)
        except (zipfile.BadZipFile, zlib.error, EOFError) as exc:  # CRC or size mismatch, broken stream
            raise self._error("xlsform.archive_member_corrupt", reason=type(exc).__name__) from exc
        self._delivered += len(chunk)
        if self._delivered > self._info.file_size:
            raise self._error("xlsform.archive_member_corrupt", reason="size")
        if chunk:
            self._feed(chunk, final=False)
        return chunk

    def _feed(self, chunk: bytes, *, final: bool) -> None:
        if self._parser is None or self._done or self.xml_error is not None:
            return
        self._done = final
        try:
            self._parser.Parse(chunk, final)
        except expat.ExpatError as exc:
            # Not well-formed (or not XML: the theme, an image). openpyxl's parser is expat too and stops
            # at the same byte with its own error, so nothing past here gets parsed: stop checking, keep
            # the cause.
            self.xml_error = exc

    def _doctype(self, *_: Any) -> None:
        raise self._error("xlsform.archive_dtd")

    def _element(self, *_: Any) -> None:
        self._elements += 1
        self._archive.elements += 1
        if self._whole and self._elements > MAX_TREE_ELEMENTS:
            raise self._error("xlsform.archive_part_too_complex", limit=MAX_TREE_ELEMENTS)
        if self._archive.elements > MAX_XML_ELEMENTS:
            raise self._error("xlsform.archive_too_complex", limit=MAX_XML_ELEMENTS)

    def _error(self, code: str, **params: Any) -> WorkbookError:
        return _fatal(code, filename=self._archive.report_name, member=self._info.filename, **params)


# -- The sheets -------------------------------------------------------------------------------------------
def _read_sheets(wb: Any, filename: str, report: list[ImportMessage]) -> dict[str, Sheet]:
    sheets: dict[str, Sheet] = {}
    for ws in wb.worksheets:
        key = ws.title.strip().lower()
        if key in sheets:
            report.append(ImportMessage("warning", ws.title, None, None, "xlsform.duplicate_sheet", {}))
            continue
        # Other sheets (help, lists for humans, ...) are only named in the report: their cells are not read.
        sheets[key] = _read_sheet(ws, filename, report) if key in XLSFORM_SHEETS else Sheet(title=ws.title)
    return sheets


def _read_sheet(ws: Any, filename: str, report: list[ImportMessage]) -> Sheet:
    sheet = Sheet(title=ws.title)
    # The <dimension> a sheet declares (often A1:XFD1048576) would pad every row to it: use the real cells.
    ws.reset_dimensions()
    header: tuple[Any, ...] = ()
    for raw in ws.iter_rows(min_row=1, max_row=1, values_only=True):  # stops at the next row present
        header = raw
    keys = _read_header(sheet, header, report)
    if not keys:  # no header: no cell of this sheet can be used
        return sheet
    # Rows are padded to the last header only; max_row stops the filling of gaps before an absurd row number.
    rows = ws.iter_rows(min_row=2, max_row=EXCEL_MAX_ROWS + 1, max_col=len(keys), values_only=True)
    for number, raw in enumerate(rows, start=2):
        if number > EXCEL_MAX_ROWS:
            raise _fatal("xlsform.not_a_workbook", sheet.title, filename=filename, reason="row_out_of_range")
        # Fast path: empty rows, present or gaps that openpyxl fills, cost nothing and are not counted.
        if raw.count(None) == len(raw):
            continue
        values: dict[str, str] = {}
        for index, (maybe_key, value) in enumerate(zip(keys, raw, strict=False), start=1):
            if maybe_key is None or value is None:
                continue
            _check_length(sheet, number, index, sheet.headers[maybe_key], value)
            text = cell_text(value)
            if text:
                values[maybe_key] = text
        if not values:
            continue
        if len(sheet.rows) >= MAX_ROWS:  # stop here: never parse the rest of a huge sheet to count it
            raise _sheet_error(sheet, number, None, "xlsform.too_many_rows", limit=MAX_ROWS)
        sheet.rows.append(Row(number, values))
    return sheet


def _read_header(sheet: Sheet, header: tuple[Any, ...], report: list[ImportMessage]) -> list[str | None]:
    """Fill the sheet's columns; the key of each column (None: no header, or a duplicate) to the last."""
    from openpyxl.utils import get_column_letter

    keys: list[str | None] = []
    for index, value in enumerate(header, start=1):
        if value is None:
            keys.append(None)
            continue
        _check_length(sheet, 1, index, None, value)
        text = cell_text(value)
        if not text:
            keys.append(None)
            continue
        if index > MAX_COLUMNS:
            letter = get_column_letter(index)
            raise _sheet_error(
                sheet, 1, letter, "xlsform.too_many_columns", cell=f"{letter}1", limit=MAX_COLUMNS
            )
        key = canonical_column(text)
        if key in sheet.headers:
            report.append(
                ImportMessage(
                    "error",
                    sheet.title,
                    1,
                    text,
                    "xlsform.duplicate_column",
                    {"column": text, "index": index},
                )
            )
            keys.append(None)
            continue
        sheet.headers[key] = text
        sheet.columns.append(key)
        keys.append(key)
    while keys and keys[-1] is None:
        keys.pop()
    return keys


def _check_length(sheet: Sheet, row: int, index: int, column: str | None, value: Any) -> None:
    if isinstance(value, str) and len(value) > MAX_CELL_CHARS:
        from openpyxl.utils import get_column_letter

        letter = get_column_letter(index)
        cell = f"{letter}{row}"
        raise _sheet_error(
            sheet,
            row,
            column or letter,
            "xlsform.cell_too_long",
            cell=cell,
            length=len(value),
            limit=MAX_CELL_CHARS,
        )


def _sheet_error(sheet: Sheet, row: int, column: str | None, code: str, **params: Any) -> WorkbookError:
    return WorkbookError(ImportMessage("error", sheet.title, row, column, code, params))
