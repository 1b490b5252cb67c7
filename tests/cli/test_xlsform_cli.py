"""`terrain specs import-xlsform` / `export-xlsform`: files in, files out, report printed, exit codes."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from terrain.cli import app
from terrain.speclang import compile_file

runner = CliRunner()
ROOT = Path(__file__).resolve().parents[2]
CORPUS = ROOT.parent / "shared" / "corpus" / "xlsforms"


@pytest.fixture(autouse=True)
def french(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("TERRAIN_LANG", raising=False)


def test_export_then_import_gives_the_same_spec(tmp_path: Path) -> None:
    source = ROOT / "survey_specs" / "satisfaction_usagers.yaml"
    xlsx = tmp_path / "satisfaction.xlsx"
    exported = runner.invoke(app, ["specs", "export-xlsform", str(source), "-o", str(xlsx)])
    assert exported.exit_code == 0, exported.output
    assert "XLSForm écrit" in exported.output and xlsx.stat().st_size > 0

    imported = runner.invoke(app, ["specs", "import-xlsform", str(xlsx)])
    assert imported.exit_code == 0, imported.output
    written = xlsx.with_suffix(".yaml")
    assert f"Spécification écrite : {written}" in imported.output
    assert compile_file(written).hash == compile_file(source).hash

    again = runner.invoke(app, ["specs", "import-xlsform", str(xlsx)])
    assert again.exit_code == 1 and "--force" in again.output


def test_refused_workbook_exits_non_zero_with_the_place(tmp_path: Path) -> None:
    if not CORPUS.is_dir():
        pytest.skip(f"corpus not found at {CORPUS}")
    out = tmp_path / "dup.yaml"
    result = runner.invoke(
        app, ["specs", "import-xlsform", str(CORPUS / "pyxform__duplicate_columns.xlsx"), "-o", str(out)]
    )
    assert result.exit_code == 1
    assert "Import refusé" in result.output and not out.exists()


def test_old_xls_is_refused(tmp_path: Path) -> None:
    old = tmp_path / "ancien.xls"
    old.write_bytes(bytes.fromhex("D0CF11E0A1B11AE1") + b"\0" * 512)
    result = runner.invoke(app, ["specs", "import-xlsform", str(old)], env={"TERRAIN_LANG": "en"})
    assert result.exit_code == 1 and ".xlsx" in result.output


def test_interview_guide_is_not_exportable(tmp_path: Path) -> None:
    result = runner.invoke(
        app,
        [
            "specs",
            "export-xlsform",
            str(ROOT / "survey_specs" / "guide_epn.yaml"),
            "-o",
            str(tmp_path / "g.xlsx"),
        ],
    )
    assert result.exit_code == 1 and "interview_guide" in result.output
