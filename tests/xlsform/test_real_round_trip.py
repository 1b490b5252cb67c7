"""Round trip of the field's real forms: each form that imports is exported again; the export converts with
pyxform, passes ODK Validate (one run per form, bounded by pyxform's own timeout), and imports back to the
same compiled spec. Also the rewrites this needs: names pyxform reserves, functions JavaRosa lacks, groups
of calculations only."""

from __future__ import annotations

import io
import math
from typing import Any

import openpyxl
import pytest

from terrain.expressions import EvalContext, evaluate, parse
from terrain.speclang import canonical_json, compile_text
from terrain.xlsform import export_xlsform, import_xlsform, render_message

from .test_export import _convert, _odk_validate_available
from .test_real_corpus import REFUSED, WORKBOOKS, imported

IMPORTED = [p.name for p in WORKBOOKS if p.name not in REFUSED]
ODK_VALIDATE_MISSING = _odk_validate_available()


def _export(name: str) -> bytes:
    result = imported(name)
    assert result.compiled is not None
    return export_xlsform(result.compiled)


def test_every_imported_form_is_checked() -> None:
    if WORKBOOKS:
        assert len(IMPORTED) >= 15


@pytest.mark.parametrize("name", IMPORTED)
def test_the_export_imports_back_to_the_same_spec(name: str) -> None:
    spec = imported(name).compiled
    assert spec is not None
    back = import_xlsform(_export(name), name)
    problems = [render_message(m, "en") for m in back.report if m.severity != "info"]
    assert back.ok and problems == []
    assert back.compiled is not None
    assert canonical_json(back.compiled) == canonical_json(spec)


@pytest.mark.parametrize("name", IMPORTED)
def test_pyxform_converts_the_export(name: str) -> None:
    spec = imported(name).compiled
    assert spec is not None
    xform = _convert(_export(name)).xform
    assert f'id="{spec["name"]}"' in xform


@pytest.mark.skipif(ODK_VALIDATE_MISSING is not None, reason=str(ODK_VALIDATE_MISSING))
@pytest.mark.parametrize("name", IMPORTED)
def test_odk_validate_accepts_the_export(name: str) -> None:
    # Raises ODKValidateError with ODK's message when the XForm is invalid (pyxform bounds the run).
    _convert(_export(name), validate=True)


# -- the rewrites, on small specs ------------------------------------------------------------------------

SPEC = """spec: 1
kind: questionnaire
name: essai
title: Essai
items:
  - name: x
    type: decimal
    label: X
  - name: meta
    type: group
    label: Méta
    items:
      - name: bas
        type: calculate
        calculation: "floor(${x})"
      - name: haut
        type: calculate
        calculation: "ceiling(-${x} div 2)"
  - name: suite
    type: text
    label: Suite
    relevant: "floor(${x}) > 1 and ${bas} != ''"
"""


def _compiled(text: str) -> dict[str, Any]:
    result = compile_text(text, "essai.yaml")
    assert result.ok and result.compiled is not None, [i.code for i in result.issues]
    return result.compiled


def _survey(data: bytes) -> dict[str, dict[str, Any]]:
    rows = [[c.value for c in row] for row in openpyxl.load_workbook(io.BytesIO(data))["survey"].iter_rows()]
    head = rows[0]
    return {str(r[1]): dict(zip(head, r, strict=True)) for r in rows[1:] if not str(r[0]).startswith("end")}


def test_reserved_name_floor_and_calculation_group_are_written_for_odk_and_read_back() -> None:
    spec = _compiled(SPEC)
    data = export_xlsform(spec)
    rows = _survey(data)
    # pyxform reserves `meta`; the workbook names it meta_1 and keeps the Terrain name.
    assert "meta" not in rows
    assert (rows["meta_1"]["terrain::name"], rows["meta_1"]["body::bodyless"]) == ("meta", "yes")
    assert rows["bas"]["calculation"] == "int(${x}) - number(${x} < int(${x}))"
    assert rows["bas"]["terrain::calculation"] == "floor(${x})"
    assert rows["suite"]["terrain::relevant"] == "floor(${x}) > 1 and ${bas} != ''"
    assert rows["x"]["terrain::name"] is None and rows["x"]["relevant"] is None
    back = import_xlsform(data, "essai.xlsx")
    assert back.ok and back.compiled is not None
    assert canonical_json(back.compiled) == canonical_json(spec)
    _convert(data)
    if ODK_VALIDATE_MISSING is None:
        _convert(data, validate=True)


def test_references_to_a_renamed_item_follow_it() -> None:
    spec = _compiled(
        "spec: 1\nkind: questionnaire\nname: essai\ntitle: Essai\nitems:\n"
        "  - {name: meta, type: text, label: M}\n"
        "  - {name: meta_1, type: text, label: M1}\n"
        "  - {name: suite, type: text, label: S, relevant: \"${meta} = 'a' and ${meta_1} = 'b'\"}\n"
    )
    data = export_xlsform(spec)
    rows = _survey(data)
    assert rows["meta_2"]["terrain::name"] == "meta"
    assert rows["suite"]["relevant"] == "${meta_2} = 'a' and ${meta_1} = 'b'"
    back = import_xlsform(data, "essai.xlsx")
    assert back.compiled is not None
    assert canonical_json(back.compiled) == canonical_json(spec)
    xform = _convert(data).xform
    assert "/data/meta_2  = 'a'" in xform or "/data/meta_2 = 'a'" in xform


@pytest.mark.parametrize("value", [-3.5, -3.0, -0.2, 0.0, 0.7, 2.0, 2.5, 1e9 + 0.5])
@pytest.mark.parametrize("function", ["floor", "ceiling"])
def test_the_odk_rewrite_of_floor_and_ceiling_has_the_same_value(function: str, value: float) -> None:
    spec = _compiled(
        "spec: 1\nkind: questionnaire\nname: essai\ntitle: Essai\nitems:\n"
        "  - {name: x, type: decimal, label: X}\n"
        f'  - {{name: c, type: calculate, calculation: "{function}(${{x}})"}}\n'
    )
    written = _survey(export_xlsform(spec))["c"]["calculation"]
    assert function not in written
    context = EvalContext(answers={"x": value})
    expected = math.floor(value) if function == "floor" else math.ceil(value)
    assert evaluate(parse(written), context) == expected
    assert evaluate(spec["items"][1]["calculation"]["ast"], context) == expected


def test_a_form_without_rewrites_has_no_extra_columns() -> None:
    spec = _compiled(SPEC.replace("floor", "int").replace("ceiling", "int").replace("name: meta", "name: m"))
    header = next(iter(openpyxl.load_workbook(io.BytesIO(export_xlsform(spec)))["survey"].values))
    assert not [h for h in header if str(h).startswith(("terrain::name", "terrain::calc", "terrain::rel"))]
    assert "body::bodyless" in header  # the group `m` still holds calculations only
