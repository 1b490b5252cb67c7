"""Export: every questionnaire and observation log goes to XLSForm and comes back identical; pyxform (and
ODK Validate when Java is here) accept every exported workbook."""

from __future__ import annotations

import functools
import io
import shutil
from pathlib import Path
from typing import Any

import pytest

from terrain.speclang import canonical_json, compile_file, render
from terrain.xlsform import ExportError, export_xlsform, import_xlsform, render_message

ROOT = Path(__file__).resolve().parents[2]
SPEC_FILES = sorted((ROOT / "survey_specs").glob("*.yaml")) + sorted(
    (Path(__file__).parent / "specs").glob("*.yaml")
)


@functools.cache
def compiled(path: Path) -> dict[str, Any]:
    result = compile_file(path)
    assert result.ok, [render(i, "en") for i in result.issues]
    assert result.compiled is not None
    return result.compiled


def _exportable(path: Path) -> bool:
    result = compile_file(path)
    return result.ok and result.compiled is not None and result.compiled["kind"] != "interview_guide"


EXPORTABLE = [p for p in SPEC_FILES if _exportable(p)]
GUIDES = [p for p in SPEC_FILES if compile_file(p).ok and not _exportable(p)]


def _ids(paths: list[Path]) -> list[str]:
    return [p.stem for p in paths]


@pytest.mark.parametrize("path", EXPORTABLE, ids=_ids(EXPORTABLE))
def test_round_trip_is_exact(path: Path) -> None:
    spec = compiled(path)
    data = export_xlsform(spec)
    result = import_xlsform(data, f"{spec['name']}.xlsx")
    problems = [render_message(m, "en") for m in result.report if m.severity != "info"]
    assert result.ok, problems
    assert problems == []
    assert result.compiled is not None
    assert canonical_json(result.compiled) == canonical_json(spec)


def test_every_item_type_is_covered() -> None:
    types = set()
    for path in EXPORTABLE:
        stack = list(compiled(path)["items"])
        while stack:
            item = stack.pop()
            types.add(item["type"])
            stack.extend(item.get("items") or [])
    from terrain.speclang import ITEM_TYPES

    assert set(ITEM_TYPES) <= types


def _convert(data: bytes, validate: bool = False) -> Any:
    from pyxform.xls2xform import convert

    warnings: list[str] = []
    return convert(xlsform=io.BytesIO(data), warnings=warnings, validate=validate, file_type=".xlsx")


@pytest.mark.parametrize("path", EXPORTABLE, ids=_ids(EXPORTABLE))
def test_pyxform_converts_the_export(path: Path) -> None:
    result = _convert(export_xlsform(compiled(path)))
    assert "<h:html" in result.xform
    assert f'id="{compiled(path)["name"]}"' in result.xform


def _odk_validate_available() -> str | None:
    if shutil.which("java") is None:
        return "java is not installed"
    from pyxform.validators import odk_validate

    if not odk_validate.install_exists():
        return "ODK Validate jar is not bundled with this pyxform"
    return None


@pytest.mark.skipif(_odk_validate_available() is not None, reason=str(_odk_validate_available()))
@pytest.mark.parametrize("path", EXPORTABLE, ids=_ids(EXPORTABLE))
def test_odk_validate_accepts_the_export(path: Path) -> None:
    # Raises ODKValidateError with ODK's message when the XForm is invalid.
    _convert(export_xlsform(compiled(path)), validate=True)


def test_export_content() -> None:
    import openpyxl

    spec = compiled(Path(__file__).parent / "specs" / "tous_types.yaml")
    wb = openpyxl.load_workbook(io.BytesIO(export_xlsform(spec, version="3")))
    assert wb.sheetnames == ["survey", "choices", "settings"]
    survey = [[c.value for c in row] for row in wb["survey"].iter_rows()]
    head = survey[0]
    assert head[:4] == ["type", "name", "label::Français (fr)", "label::English (en)"]
    rows = {r[1]: dict(zip(head, r, strict=True)) for r in survey[1:] if not str(r[0]).startswith("end")}
    assert rows["consentement"]["type"] == "acknowledge"
    assert rows["photo"]["type"] == "image"
    assert (rows["signature"]["type"], rows["signature"]["appearance"]) == ("image", "signature")
    assert (rows["remarques"]["type"], rows["remarques"]["appearance"]) == ("text", "multiline w3")
    assert (rows["satisfaction"]["type"], rows["satisfaction"]["appearance"]) == (
        "select_one accord",
        "likert horizontal",
    )
    assert rows["scolarise"]["type"] == "select_one yes_no"
    # pyxform refuses or_other with a choice filter: the list with `other` and the companion are explicit.
    assert rows["commune"]["type"] == "select_one communes__other"
    assert rows["commune"]["choice_filter"] == "dep = ${departement}"
    assert (rows["commune"]["terrain::other"], rows["commune_other"]["terrain::other"]) == (
        "yes",
        "companion",
    )
    assert rows["transport"]["type"] == "select_multiple transport or_other"
    assert "transport_other" not in rows  # pyxform's or_other makes it
    assert rows["transport"]["required"] == "${age} >= 18"
    assert rows["priorites"]["type"] == "rank priorites"
    assert rows["horodatage"]["type"] == "dateTime"
    assert (rows["frequences"]["type"], rows["frequences"]["appearance"]) == ("begin_group", "table-list")
    assert rows["frequences"]["terrain::type"] == "matrix"
    assert rows["freq_sport"]["type"] == "select_one frequence"
    assert (rows["membres"]["repeat_count"], rows["membres"]["terrain::min"]) == ("${nb_personnes}", "1")
    assert rows["nom"]["terrain::sensitive"] == "yes"
    settings = [[c.value for c in row] for row in wb["settings"].iter_rows()]
    values = dict(zip(settings[0], settings[1], strict=True))
    assert values["form_id"] == "tous_types"
    assert values["form_title"] == "Tous les types"
    assert values["version"] == "3"
    assert values["default_language"] == "Français (fr)"
    assert values["terrain_title_en"] == "Every type"
    choices = [[c.value for c in row] for row in wb["choices"].iter_rows()]
    assert choices[0] == ["list_name", "name", "label::Français (fr)", "label::English (en)", "dep"]
    assert ["communes", "c1", "Commune 1", "Town 1", "01"] in choices
    assert not any(r[0] == "transport" and r[1] == "other" for r in choices)


@pytest.mark.parametrize("path", GUIDES, ids=_ids(GUIDES))
def test_interview_guides_are_refused(path: Path) -> None:
    with pytest.raises(ExportError) as info:
        export_xlsform(compiled(path))
    assert info.value.code == "xlsform.unsupported_kind"
    assert info.value.params == {"kind": "interview_guide"}


def test_unknown_kind_is_refused() -> None:
    with pytest.raises(ExportError):
        export_xlsform({"kind": "interview_guide", "name": "x", "items": []})
