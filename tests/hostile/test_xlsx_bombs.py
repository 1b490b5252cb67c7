"""Workbook bombs against a real server (POST /api/v1/specs/import-xlsform): each is refused with
422 ``xlsform.invalid`` and the report entry naming the part or the sheet and the limit, in bounded time
and memory, and no draft is stored. The workbooks are generated here, streamed into the zip."""

from __future__ import annotations

from collections.abc import Callable, Iterator

import httpx
import pytest

from hostile.harness import (
    SHEET_END,
    SHEET_START,
    Server,
    assert_bounded,
    inline_row,
    patch_declared_size,
    shared_string_bomb,
    while_running,
    xlsx,
)
from terrain.xlsform.workbook import MAX_ROWS, MAX_XML_ELEMENTS

pytestmark = pytest.mark.hostile

XLSX_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
SHARED_STRINGS = "xl/sharedStrings.xml"
SHEET = "xl/worksheets/sheet1.xml"


def rows(count: int, *, dimension: bool) -> Iterator[bytes]:
    """A survey sheet: a header, then ``count`` rows of two numbers (about 14 bytes per row once
    deflated). ``dimension``: declare the sheet's extent as Excel does; without it openpyxl scans the
    whole sheet once before the first row is read (bounded by the element budget)."""
    start = SHEET_START
    if dimension:
        start = start.replace(b"<sheetData>", b'<dimension ref="A1:C%d"/><sheetData>' % (count + 1))
    yield start
    yield inline_row("type", "name", "label")
    for index in range(2, count + 2):
        yield b'<row r="%d"><c r="A%d"><v>%d</v></c><c r="B%d"><v>%d</v></c></row>' % (
            index,
            index,
            index,
            index,
            index * 7919 % 1_000_003,
        )
    yield SHEET_END


def billion_laughs() -> bytes:
    entities = b"".join(
        b'<!ENTITY lol%d "%s">' % (level, (b"&lol%d;" % (level - 1)) * 10) for level in range(1, 10)
    )
    return (
        b'<?xml version="1.0"?>\n<!DOCTYPE workbook [<!ENTITY lol0 "lol">' + entities + b"]>\n"
        b'<workbook xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main" '
        b'xmlns:r="http://schemas.openxmlformats.org/officeDocument/2006/relationships">'
        b'<sheets><sheet name="&lol9;" sheetId="1" r:id="rId1"/></sheets></workbook>'
    )


def spec_names(server: Server) -> list[str]:
    with server.client() as client:
        response = client.get("/api/v1/specs", headers=server.admin())
    assert response.status_code == 200
    return sorted(spec["name"] for spec in response.json())


def import_workbook(server: Server, data: bytes, filename: str) -> httpx.Response:
    with server.client(timeout=60) as client:
        return client.post(
            "/api/v1/specs/import-xlsform",
            files={"file": (filename, data, XLSX_TYPE)},
            headers=server.coordinator(),
        )


BOMBS: dict[str, tuple[Callable[[], bytes], str, list[str], float, float]] = {
    # name: (workbook, report code, texts of its message (part, sizes, limit), seconds, MiB of growth)
    "300-mb-shared-string": (
        lambda: xlsx({SHARED_STRINGS: shared_string_bomb(300_000_000)}),
        "xlsform.archive_member_too_large",
        [SHARED_STRINGS, "301 Mo une fois décompressée (limite 20 Mo)"],
        5,
        60,
    ),
    "300-mb-shared-string-declared-1-kb": (
        lambda: patch_declared_size(
            xlsx({SHARED_STRINGS: shared_string_bomb(300_000_000)}), SHARED_STRINGS, 1000
        ),
        "xlsform.archive_member_corrupt",
        [SHARED_STRINGS, "endommagée"],
        5,
        60,
    ),
    "billion-laughs": (
        lambda: xlsx({"xl/workbook.xml": [billion_laughs()]}),
        "xlsform.archive_dtd",
        ["xl/workbook.xml", "déclare une DTD"],
        5,
        60,
    ),
    "200000-rows": (
        lambda: xlsx({SHEET: rows(200_000, dimension=True)}),
        "xlsform.too_many_rows",
        [f"plus de {MAX_ROWS} lignes"],
        5,
        100,
    ),
    "200000-rows-without-dimension": (
        lambda: xlsx({SHEET: rows(200_000, dimension=False)}),
        "xlsform.archive_too_complex",
        [SHEET, f"plus de {MAX_XML_ELEMENTS} éléments XML"],
        30,
        250,
    ),
}


@pytest.mark.parametrize("bomb", list(BOMBS))
def test_workbook_bomb_is_refused_with_its_report_entry(server: Server, bomb: str) -> None:
    build, code, texts, seconds, growth_mb = BOMBS[bomb]
    data = build()
    assert len(data) < 4 * 1024 * 1024, f"{len(data)} bytes uploaded"
    filename = f"{bomb}.xlsx"
    before = spec_names(server)

    run = while_running(server, lambda: import_workbook(server, data, filename))
    assert_bounded(run, seconds=seconds, growth_mb=growth_mb)
    print(f"[hostile] {bomb}: {len(data) / 1024:.0f} KiB uploaded")
    response = run.value
    assert response.status_code == 422, response.text[:500]
    error = response.json()["error"]
    assert error["code"] == "xlsform.invalid"
    assert filename in error["message"]
    entries = [entry for entry in error["details"]["report"] if entry["code"] == code]
    assert entries, error["details"]["report"]
    entry = entries[0]
    assert entry["severity"] == "error"
    for text in texts:
        assert text in entry["message"], entry["message"]
    if code == "xlsform.too_many_rows":
        assert entry["sheet"] == "survey" and entry["row"] == MAX_ROWS + 2
    assert spec_names(server) == before, "a refused workbook left a draft"
