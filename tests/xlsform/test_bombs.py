"""Decompression bombs and oversized workbooks are refused quickly, in little memory, with a precise entry.

Every payload is generated here, streamed into the zip so the test itself stays light. The import runs in a
subprocess (capped at 2 GB of address space) that reports its CPU time and peak memory, so a regression fails
the test instead of exhausting the machine.
"""

from __future__ import annotations

import io
import json
import os
import struct
import subprocess
import sys
import zipfile
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

import openpyxl
import pytest

from terrain.xlsform import render_message
from terrain.xlsform import workbook as wbmod
from terrain.xlsform.messages import ImportMessage
from terrain.xlsform.workbook import WorkbookError, read_workbook

from .helpers import workbook

MAX_SECONDS = 5.0
MAX_PEAK_MB = 200.0
MB = 1 << 20
CORPUS = Path(__file__).resolve().parents[2].parent / "shared" / "corpus"
REAL_FORMS = sorted(CORPUS.glob("xlsforms*/*.xlsx")) if CORPUS.is_dir() else []
LIMIT_CODES = {
    "xlsform.archive_too_many_members",
    "xlsform.archive_compression",
    "xlsform.archive_member_too_large",
    "xlsform.archive_ratio",
    "xlsform.archive_too_large",
    "xlsform.archive_member_corrupt",
    "xlsform.archive_dtd",
    "xlsform.archive_part_too_complex",
    "xlsform.archive_too_complex",
    "xlsform.too_many_sheets",
    "xlsform.too_many_rows",
    "xlsform.too_many_columns",
    "xlsform.cell_too_long",
}

# -- Building workbooks by hand ------------------------------------------------------------------------------
MAIN = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"
REL = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
PKG_REL = "http://schemas.openxmlformats.org/package/2006/relationships"
CT = "application/vnd.openxmlformats-officedocument.spreadsheetml"
HEADER = b'<row r="1">' + b"".join(
    b'<c r="%s1" t="inlineStr"><is><t>%s</t></is></c>' % (col, text)
    for col, text in ((b"A", b"type"), (b"B", b"name"), (b"C", b"label"))
)
HEADER += b"</row>"
Chunks = bytes | Iterable[bytes]


def xlsx(
    sheet: Chunks,
    *,
    shared: Chunks | None = None,
    styles: Chunks | None = None,
    dimension: str | None = None,
    extra: dict[str, Chunks] | None = None,
    level: int = 6,
) -> bytes:
    """A minimal workbook with one sheet "survey"; every part may be given as chunks, written as they come."""
    overrides = [
        ("/xl/workbook.xml", f"{CT}.sheet.main+xml"),
        ("/xl/worksheets/sheet1.xml", f"{CT}.worksheet+xml"),
    ]
    rels = [("worksheet", "worksheets/sheet1.xml")]
    if shared is not None:
        overrides.append(("/xl/sharedStrings.xml", f"{CT}.sharedStrings+xml"))
        rels.append(("sharedStrings", "sharedStrings.xml"))
    content_types = (
        '<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">'
        '<Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/>'
        '<Default Extension="xml" ContentType="application/xml"/>'
        + "".join(f'<Override PartName="{name}" ContentType="{kind}"/>' for name, kind in overrides)
        + "</Types>"
    )
    parts: dict[str, Chunks] = {
        "[Content_Types].xml": content_types.encode(),
        "_rels/.rels": (
            f'<Relationships xmlns="{PKG_REL}"><Relationship Id="rId1" '
            f'Type="{REL}/officeDocument" Target="xl/workbook.xml"/></Relationships>'
        ).encode(),
        "xl/workbook.xml": (
            f'<workbook xmlns="{MAIN}" xmlns:r="{REL}"><sheets>'
            '<sheet name="survey" sheetId="1" r:id="rId1"/></sheets></workbook>'
        ).encode(),
        "xl/_rels/workbook.xml.rels": (
            f'<Relationships xmlns="{PKG_REL}">'
            + "".join(
                f'<Relationship Id="rId{i}" Type="{REL}/{kind}" Target="{target}"/>'
                for i, (kind, target) in enumerate(rels, start=1)
            )
            + "</Relationships>"
        ).encode(),
        "xl/worksheets/sheet1.xml": _wrap(
            f'<worksheet xmlns="{MAIN}">'
            + (f'<dimension ref="{dimension}"/>' if dimension else "")
            + "<sheetData>",
            sheet,
            "</sheetData></worksheet>",
        ),
    }
    if shared is not None:
        parts["xl/sharedStrings.xml"] = _wrap(f'<sst xmlns="{MAIN}">', shared, "</sst>")
    if styles is not None:
        parts["xl/styles.xml"] = styles
    parts.update(extra or {})
    return zip_parts(parts, level=level)


def zip_parts(parts: dict[str, Chunks], *, level: int = 6, method: int = zipfile.ZIP_DEFLATED) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", method, compresslevel=level) as archive:
        for name, chunks in parts.items():
            with archive.open(name, "w") as out:
                for chunk in [chunks] if isinstance(chunks, bytes) else chunks:
                    out.write(chunk)
    return buf.getvalue()


def _wrap(head: str, body: Chunks, tail: str) -> Iterator[bytes]:
    yield head.encode()
    yield from [body] if isinstance(body, bytes) else body
    yield tail.encode()


def repeated(piece: bytes, size: int) -> Iterator[bytes]:
    """`piece` repeated to about `size` bytes, one megabyte at a time."""
    block = piece * max(1, MB // len(piece))
    for _ in range(size // len(block)):
        yield block
    yield piece * ((size % len(block)) // len(piece))


def generated_rows(template: bytes, start: int, stop: int) -> Iterator[bytes]:
    """`template` for rows start..stop-1, {i} replaced by the row number, 10,000 rows at a time."""
    pieces = template.split(b"{i}")
    for first in range(start, stop, 10_000):
        yield b"".join(str(i).encode().join(pieces) for i in range(first, min(first + 10_000, stop)))


def set_declared_size(data: bytes, member: str, size: int) -> bytes:
    """Make the zip lie: the uncompressed size of `member` in its local header and directory entry."""
    out = bytearray(data)
    name = member.encode()
    for signature, size_at, name_len_at, name_at in (
        (b"PK\x03\x04", 22, 26, 30),
        (b"PK\x01\x02", 24, 28, 46),
    ):
        pos = out.find(signature)
        while pos >= 0:
            (length,) = struct.unpack_from("<H", out, pos + name_len_at)
            if out[pos + name_at : pos + name_at + length] == name:
                struct.pack_into("<I", out, pos + size_at, size)
            pos = out.find(signature, pos + 4)
    return bytes(out)


# -- Running an import in isolation --------------------------------------------------------------------------
CHILD = """
import json, resource, sys, time
resource.setrlimit(resource.RLIMIT_AS, (2 << 30, 2 << 30))  # a regression fails here, not the machine
from terrain.xlsform import import_xlsform
data = open(sys.argv[1], "rb").read()
start = time.process_time()  # CPU time: other test workers on the machine do not count
result = import_xlsform(data, "bomb.xlsx")
seconds = time.process_time() - start
try:  # VmHWM: this process's peak; ru_maxrss would include the pytest worker it was forked from
    status = open("/proc/self/status").read()
    peak = int(status.split("VmHWM:")[1].split()[0]) / 1024
except (OSError, IndexError):
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
report = [[m.severity, m.sheet, m.row, m.column, m.code, m.params] for m in result.report]
print(json.dumps({"seconds": seconds, "peak_mb": peak, "document": result.document is not None,
                  "report": report}, default=str))
"""


def imported(
    data: bytes, tmp_path: Path, max_seconds: float = MAX_SECONDS
) -> tuple[ImportMessage, dict[str, Any]]:
    """Import in a subprocess; check it refused the file in time and memory; its first report entry."""
    path = tmp_path / "bomb.xlsx"
    path.write_bytes(data)
    backend = str(Path(__file__).resolve().parents[2] / "backend")
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [backend, os.environ.get("PYTHONPATH")]))}
    done = subprocess.run(
        [sys.executable, "-c", CHILD, str(path)], capture_output=True, text=True, timeout=120, env=env
    )
    assert done.returncode == 0, done.stderr[-3000:]
    out = json.loads(done.stdout)
    assert out["seconds"] < max_seconds, out
    assert out["peak_mb"] < MAX_PEAK_MB, out
    assert not out["document"], out["report"]
    severity, sheet, row, column, code, params = out["report"][0]
    return ImportMessage(severity, sheet, row, column, code, params), out


def place(msg: ImportMessage) -> tuple[str, str, int | None, str | None, str]:
    return (msg.severity, msg.sheet, msg.row, msg.column, msg.code)


def rendered_both(msg: ImportMessage) -> tuple[str, str]:
    fr, en = render_message(msg, "fr"), render_message(msg, "en")
    assert "{" not in fr + en and fr != en
    return fr, en


# -- The zip's directory -------------------------------------------------------------------------------------
def test_one_huge_shared_string_is_refused_from_the_directory(tmp_path: Path) -> None:
    # The security review's file: ~300 KB holding a 300 MB shared string.
    data = xlsx(HEADER, shared=_wrap("<si><t>", repeated(b"x", 300 * MB), "</t></si>"), level=9)
    assert len(data) < 400_000
    msg, _ = imported(data, tmp_path)
    assert place(msg) == ("error", "", None, None, "xlsform.archive_member_too_large")
    assert msg.params == {
        "filename": "bomb.xlsx",
        "member": "xl/sharedStrings.xml",
        "size_mb": 315,
        "limit_mb": 20,
    }
    fr, en = rendered_both(msg)
    assert en == (
        "the part xl/sharedStrings.xml of bomb.xlsx takes 315 MB once decompressed (limit 20 MB): "
        "file refused"
    )
    assert "xl/sharedStrings.xml" in fr and "20 Mo" in fr


def test_one_huge_cell_is_refused_from_the_directory(tmp_path: Path) -> None:
    cell = _wrap(
        '<row r="2"><c r="C2" t="inlineStr"><is><t>', repeated(b"y", 300 * MB), "</t></is></c></row>"
    )
    msg, _ = imported(xlsx(_chain(HEADER, cell), level=9), tmp_path)
    assert place(msg) == ("error", "", None, None, "xlsform.archive_member_too_large")
    assert msg.params["member"] == "xl/worksheets/sheet1.xml"


def test_thousands_of_members(tmp_path: Path) -> None:
    parts: dict[str, Chunks] = {f"xl/media/image{i}.png": b"" for i in range(5_000)}
    msg, _ = imported(xlsx(HEADER, extra=parts), tmp_path)
    assert place(msg) == ("error", "", None, None, "xlsform.archive_too_many_members")
    assert msg.params == {"filename": "bomb.xlsx", "limit": 1_000}
    rendered_both(msg)


def test_high_compression_ratio(tmp_path: Path) -> None:
    # 5 MB is under the size limit, but no XML part of a real workbook compresses 1000 times.
    msg, _ = imported(xlsx(HEADER, styles=repeated(b" ", 5 * MB), level=9), tmp_path)
    assert place(msg) == ("error", "", None, None, "xlsform.archive_ratio")
    assert msg.params["member"] == "xl/styles.xml"
    assert msg.params["ratio"] > 900 and msg.params["limit"] == 100
    rendered_both(msg)


def test_many_small_parts_add_up(tmp_path: Path) -> None:
    # Each part is under RATIO_MIN_BYTES, so only the total stops them.
    parts: dict[str, Chunks] = {f"customXml/item{i}.xml": repeated(b" ", MB - MB // 16) for i in range(60)}
    msg, _ = imported(xlsx(HEADER, extra=parts), tmp_path)
    assert place(msg) == ("error", "", None, None, "xlsform.archive_too_large")
    assert msg.params["limit_mb"] == 50 and msg.params["size_mb"] > 50
    rendered_both(msg)


def test_compression_that_excel_never_uses(tmp_path: Path) -> None:
    # zipfile inflates bzip2 chunks without any output bound: refused before any is read.
    data = zip_parts({"xl/workbook.xml": b"<workbook/>"}, method=zipfile.ZIP_BZIP2)
    msg, _ = imported(data, tmp_path)
    assert place(msg) == ("error", "", None, None, "xlsform.archive_compression")
    assert msg.params["member"] == "xl/workbook.xml"
    rendered_both(msg)


# -- Parts that lie about their size -------------------------------------------------------------------------
def test_zipfile_never_returns_more_than_the_declared_size() -> None:
    """What the guard relies on (CPython's ZipExtFile): reads stop at the declared size and the CRC fails."""
    data = set_declared_size(zip_parts({"part.xml": repeated(b" ", 50 * MB)}), "part.xml", 1_000)
    with zipfile.ZipFile(io.BytesIO(data)) as archive, archive.open("part.xml") as part:
        assert archive.getinfo("part.xml").file_size == 1_000
        with pytest.raises(zipfile.BadZipFile, match="CRC"):
            part.read(64 * 1024)


@pytest.mark.parametrize("member", ["xl/styles.xml", "xl/worksheets/sheet1.xml"])
def test_part_larger_than_declared(member: str, tmp_path: Path) -> None:
    # 200 MB declared as 1 KB: the directory checks pass. openpyxl reads styles.xml with ZipFile.read(), which
    # would inflate all 200 MB in one call; the guard reads 64 KB at a time and stops at the failed CRC.
    styles = repeated(b" ", 200 * MB) if member == "xl/styles.xml" else None
    sheet: Chunks = repeated(b" ", 200 * MB) if member != "xl/styles.xml" else HEADER
    data = set_declared_size(xlsx(sheet, styles=styles, level=9), member, 1_000)
    msg, _ = imported(data, tmp_path)
    assert place(msg) == ("error", "", None, None, "xlsform.archive_member_corrupt")
    assert msg.params["member"] == member
    assert "damaged" in rendered_both(msg)[1]


def test_xml_entity_expansion(tmp_path: Path) -> None:
    # "Billion laughs" in a few hundred bytes: refused at the DTD, before openpyxl's parser expands it.
    dtd = '<?xml version="1.0"?><!DOCTYPE sst [<!ENTITY a "aaaaaaaaaa">'
    dtd += "".join(
        f'<!ENTITY {n} "{("&" + p + ";") * 10}">' for p, n in zip("abcdefgh", "bcdefghi", strict=True)
    )
    shared = (dtd + f']><sst xmlns="{MAIN}"><si><t>&i;</t></si></sst>').encode()
    cells = b'<row r="2"><c r="C2" t="s"><v>0</v></c></row>'
    data = xlsx(_chain(HEADER, cells), shared=b"", extra={"xl/sharedStrings.xml": shared})
    msg, _ = imported(data, tmp_path)
    assert place(msg) == ("error", "", None, None, "xlsform.archive_dtd")
    assert msg.params["member"] == "xl/sharedStrings.xml"
    rendered_both(msg)


# -- Reading the sheets --------------------------------------------------------------------------------------
def survey_rows(start: int, stop: int) -> Iterator[bytes]:
    """Compact rows like Excel writes them: a shared string for the type, a number for the name."""
    return generated_rows(
        b'<row r="{i}"><c r="A{i}" t="s"><v>0</v></c><c r="B{i}"><v>{i}</v></c></row>', start, stop
    )


def test_200000_rows_stop_at_the_row_limit(tmp_path: Path) -> None:
    # ~3 MB compressed; with its <dimension> (as Excel writes), openpyxl only reads what we ask for.
    data = xlsx(
        _chain(HEADER, survey_rows(2, 200_002)), shared=b"<si><t>text</t></si>", dimension="A1:C200001"
    )
    assert len(data) < 4 * MB
    msg, _ = imported(data, tmp_path)
    assert place(msg) == ("error", "survey", 20_002, None, "xlsform.too_many_rows")
    assert msg.params == {"limit": 20_000}
    assert rendered_both(msg)[1].startswith("survey!20002: more than 20000 rows with content")


def test_200000_rows_without_dimension_hit_the_element_budget(tmp_path: Path) -> None:
    # Without <dimension>, openpyxl scans the whole sheet when it opens the workbook: the budget stops it
    # once openpyxl has parsed a million elements, which is what the budget allows (~4 s here).
    data = xlsx(_chain(HEADER, survey_rows(2, 200_002)), shared=b"<si><t>text</t></si>")
    msg, _ = imported(data, tmp_path, max_seconds=2 * MAX_SECONDS)
    assert place(msg) == ("error", "", None, None, "xlsform.archive_too_complex")
    assert msg.params["member"] == "xl/worksheets/sheet1.xml" and msg.params["limit"] == 1_000_000
    rendered_both(msg)


def test_bloated_styles_part(tmp_path: Path) -> None:
    styles = _wrap(
        f'<styleSheet xmlns="{MAIN}"><cellXfs>', repeated(b"<xf/>", 400_000), "</cellXfs></styleSheet>"
    )
    msg, _ = imported(xlsx(HEADER, styles=styles), tmp_path)
    assert place(msg) == ("error", "", None, None, "xlsform.archive_part_too_complex")
    assert msg.params["member"] == "xl/styles.xml" and msg.params["limit"] == 50_000
    rendered_both(msg)


def test_row_limit_counts_rows_with_content_only() -> None:
    # 20,000 rows with content (the limit) among 400,000 empty rows present in the XML, then a gap to the last
    # row of Excel's grid: all read, empty rows do not count.
    empty = generated_rows(b'<row r="{i}"/>', 20_002, 420_002)
    last = b'<row r="1048576"><c r="A1048576" s="1"/></row>'
    content = _chain(HEADER, survey_rows(2, 20_002), empty, last)
    data = xlsx(content, shared=b"<si><t>text</t></si>", dimension="A1:C1048576")
    sheets = read_workbook(data, "f.xlsx", [])
    rows = sheets["survey"].rows
    assert (
        len(rows) == 20_000
        and rows[-1].number == 20_001
        and rows[-1].values == {"type": "text", "name": "20001"}
    )


def test_rows_past_excel_grid(tmp_path: Path) -> None:
    # Without max_row, openpyxl would yield a billion empty rows to reach this one.
    data = xlsx(
        _chain(HEADER, b'<row r="1000000000"><c r="A1000000000" t="s"><v>0</v></c></row>'),
        shared=b"<si><t>text</t></si>",
    )
    msg, _ = imported(data, tmp_path)
    assert place(msg) == ("error", "survey", None, None, "xlsform.not_a_workbook")


def test_declared_dimension_does_not_pad_rows(tmp_path: Path) -> None:
    # A1:XFD1048576 and a cell far right on every row: rows are only as wide as the headers.
    far = generated_rows(b'<row r="{i}"><c r="XFD{i}" s="1"/></row>', 5, 50_000)
    first = b'<row r="2"><c r="A2" t="s"><v>0</v></c></row>'
    data = xlsx(_chain(HEADER, first, far), shared=b"<si><t>text</t></si>", dimension="A1:XFD1048576")
    sheets = read_workbook(data, "f.xlsx", [])
    assert [(r.number, r.values) for r in sheets["survey"].rows] == [(2, {"type": "text"})]


def test_too_many_columns(tmp_path: Path) -> None:
    header = HEADER.replace(b"</row>", b'<c r="SG1" t="inlineStr"><is><t>extra</t></is></c></row>')
    msg, _ = imported(xlsx(header), tmp_path)
    assert place(msg) == ("error", "survey", 1, "SG", "xlsform.too_many_columns")
    assert msg.params == {"cell": "SG1", "limit": 500}
    assert rendered_both(msg)[1] == (
        "survey!1 (SG): header in cell SG1: a sheet may use at most 500 columns; the workbook is refused"
    )
    # Column 500 (SF) is the last one allowed.
    sheets = read_workbook(xlsx(header.replace(b"SG1", b"SF1")), "f.xlsx", [])
    assert sheets["survey"].columns[-1] == "extra"


def test_cell_too_long(tmp_path: Path) -> None:
    data = workbook(
        {"survey": [["type", "name", "label"], ["note", "n", "x" * 10_000], ["note", "m", "y" * 10_001]]}
    )
    msg, _ = imported(data, tmp_path)
    assert place(msg) == ("error", "survey", 3, "label", "xlsform.cell_too_long")
    assert msg.params == {"cell": "C3", "length": 10_001, "limit": 10_000}
    assert rendered_both(msg)[1] == (
        "survey!3 (label): cell C3 holds 10001 characters (limit 10000): the workbook is refused"
    )


def test_header_too_long() -> None:
    with pytest.raises(WorkbookError) as caught:
        read_workbook(workbook({"survey": [["type", "name", "l" * 20_000]]}), "f.xlsx", [])
    assert place(caught.value.message) == ("error", "survey", 1, "C", "xlsform.cell_too_long")


def test_too_many_sheets(tmp_path: Path) -> None:
    wb = openpyxl.Workbook()
    for i in range(50):
        wb.create_sheet(f"extra{i}")
    buf = io.BytesIO()
    wb.save(buf)
    msg, _ = imported(buf.getvalue(), tmp_path)
    assert place(msg) == ("error", "", None, None, "xlsform.too_many_sheets")
    assert msg.params == {"count": 51, "limit": 50}
    rendered_both(msg)


def test_other_sheets_are_not_read() -> None:
    # Only survey, choices and settings are read: a help sheet's cells cost nothing and block nothing.
    data = workbook({"survey": [["type", "name"], ["text", "a"]], "help": [["x", "x"], ["y" * 50_000]]})
    report: list[ImportMessage] = []
    sheets = read_workbook(data, "f.xlsx", report)
    assert not report  # not even the duplicate header "x" of the help sheet
    assert sheets["help"].title == "help" and not sheets["help"].rows and not sheets["help"].columns
    assert sheets["survey"].rows[0].values == {"type": "text", "name": "a"}


# -- Real forms ----------------------------------------------------------------------------------------------
@pytest.mark.skipif(not REAL_FORMS, reason=f"corpus not found at {CORPUS}")
@pytest.mark.parametrize("path", REAL_FORMS, ids=[p.name for p in REAL_FORMS])
def test_real_forms_are_within_the_limits(path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Every real form reads without hitting a limit, using at most half of the element budget."""
    used: list[int] = []

    class Counting(wbmod._GuardedArchive):
        def close(self) -> None:
            used.append(self.elements)
            super().close()

    monkeypatch.setattr(wbmod, "_GuardedArchive", Counting)
    report: list[ImportMessage] = []
    try:
        read_workbook(path.read_bytes(), path.name, report)
    except WorkbookError as exc:  # one real form is unreadable for another reason (a "NaN" number cell)
        assert exc.message.code not in LIMIT_CODES, render_message(exc.message, "en")
    assert not [m for m in report if m.code in LIMIT_CODES]
    assert used and max(used) <= wbmod.MAX_XML_ELEMENTS // 2


def _chain(*parts: Chunks) -> Iterator[bytes]:
    for part in parts:
        yield from [part] if isinstance(part, bytes) else part
