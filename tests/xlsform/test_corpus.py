"""The external corpus (pyxform's own test workbooks): every workbook imports and compiles, or is refused
with a precise message when it is malformed on purpose; imported skip logic behaves as in ODK."""

from __future__ import annotations

import datetime as dt
import functools
from pathlib import Path
from typing import Any

import pytest

from terrain.expressions import EvalContext, evaluate
from terrain.xlsform import ImportResult, import_xlsform, render_message

CORPUS = Path(__file__).resolve().parents[2].parent / "shared" / "corpus" / "xlsforms"
WORKBOOKS = sorted(CORPUS.glob("*.xlsx")) if CORPUS.is_dir() else []
pytestmark = pytest.mark.skipif(not WORKBOOKS, reason=f"XLSForm corpus not found at {CORPUS}")

# Malformed on purpose: (code, severity, sheet, row, column) of the entry that explains the refusal.
REFUSED: dict[str, tuple[str, str, str, int | None, str | None]] = {
    # calculation "because pyxform doesn't know what to do" is not an expression
    "pyxform__bad_calc.xlsx": ("xlsform.bad_expression", "error", "survey", 2, "calculation"),
    # two "label" headers on the survey sheet
    "pyxform__duplicate_columns.xlsx": ("xlsform.duplicate_column", "error", "survey", 1, "label"),
    # the only sheet is "Sheet1"
    "pyxform__survey_no_name.xlsx": ("xlsform.no_survey_sheet", "error", "survey", None, None),
}
NOW = dt.datetime(2024, 3, 15, 10, 30, tzinfo=dt.UTC)


@functools.cache
def imported(name: str) -> ImportResult:
    return import_xlsform(CORPUS / name, name)


def _report(result: ImportResult) -> list[str]:
    return [f"{m.severity}: {render_message(m, 'en')}" for m in result.report]


@pytest.mark.parametrize("path", WORKBOOKS, ids=[p.name for p in WORKBOOKS])
def test_imports_and_compiles_or_is_refused_precisely(path: Path) -> None:
    result = imported(path.name)
    expected = REFUSED.get(path.name)
    if expected is None:
        assert result.ok, _report(result)
        assert result.compiled is not None and result.yaml_text
        assert not [m for m in result.report if m.severity == "error"]
        return
    assert not result.ok
    code, severity, sheet, row, column = expected
    found = [m for m in result.report if m.code == code]
    assert found, _report(result)
    msg = found[0]
    assert (msg.severity, msg.sheet, msg.row, msg.column) == (severity, sheet, row, column)
    for lang in ("fr", "en"):
        assert render_message(msg, lang).startswith(sheet)


def test_bad_calc_message() -> None:
    msg = next(m for m in imported("pyxform__bad_calc.xlsx").report if m.code == "xlsform.bad_expression")
    assert msg.params["expression"] == "because pyxform doesn't know what to do"
    assert render_message(msg, "en").startswith(
        'survey!2 (calculation): expression refused "because pyxform doesn\'t know what to do"'
    )


def test_survey_no_name_lists_the_sheets() -> None:
    result = imported("pyxform__survey_no_name.xlsx")
    assert result.document is None
    msg = result.report[0]
    assert render_message(msg, "fr") == (
        "survey: le classeur n'a pas de feuille « survey » (feuilles trouvées : Sheet1)"
    )


def test_extra_sheet_names_warns_about_the_misspelled_settings_sheet() -> None:
    result = imported("pyxform__extra_sheet_names.xlsx")
    assert result.ok
    msg = next(m for m in result.report if m.code == "xlsform.misspelled_sheet")
    assert (msg.severity, msg.sheet, msg.params) == ("warning", "stettings", {"expected": "settings"})
    ignored = {m.sheet for m in result.report if m.code == "xlsform.sheet_ignored"}
    assert ignored == {"my_sheet"}


def test_duplicate_columns_reports_the_column_position() -> None:
    msg = next(
        m for m in imported("pyxform__duplicate_columns.xlsx").report if m.code == "xlsform.duplicate_column"
    )
    assert msg.params == {"column": "label", "index": 5}


# --- mapping details --------------------------------------------------------------------------------------


def _find(items: list[dict[str, Any]], name: str) -> dict[str, Any]:
    for item in items:
        if item["name"] == name:
            return item
        if item.get("items"):
            try:
                return _find(item["items"], name)
            except KeyError:
                pass
    raise KeyError(name)


def item(form: str, name: str) -> dict[str, Any]:
    compiled = imported(form).compiled
    assert compiled is not None
    return _find(compiled["items"], name)


def ev(expr: dict[str, Any], answers: dict[str, Any], current: Any = None) -> Any:
    return evaluate(expr["ast"], EvalContext(answers=answers, current=current, now=NOW))


def test_case_insensitive_workbook() -> None:
    result = imported("pyxform__case_insensitivity.xlsx")
    assert result.document is not None
    assert result.document["name"] == "yesno"
    assert result.document["title"] == "Yes or no"
    assert [i["name"] for i in result.document["items"]] == ["q1", "q2", "q3"]
    assert {m.sheet for m in result.report if m.code == "xlsform.sheet_unsupported"} == {
        "EXTERNAL_CHOICES",
        "ENTITIES",
        "OSM",
    }
    external = next(m for m in result.report if m.code == "xlsform.unsupported_type" and m.row == 3)
    assert external.params["reason"] == "no_external"


def test_languages_and_french_fallback() -> None:
    result = imported("pyxform__UCL_Biomass_Plot_Form.xlsx")
    assert result.document is not None
    # default_language is Swahili: its labels go under fr (to translate), English stays en.
    assert result.document["languages"] == ["fr", "en"]
    warn = next(m for m in result.report if m.code == "xlsform.labels_not_french")
    assert warn.params["language"] == "label::Swahili (sw)"
    assert item("pyxform__UCL_Biomass_Plot_Form.xlsx", "leader_name")["label"] == {
        "fr": "Jina Lako",
        "en": "Your Name",
    }
    assert "Version XLSForm : 2022-04-11T16:26:28.971000" in result.document["description"]


def test_metadata_and_unsupported_types() -> None:
    result = imported("pyxform__xlsform_spec_test.xlsx")
    codes = {m.code for m in result.report}
    assert {"xlsform.metadata", "xlsform.unsupported_type", "xlsform.media_ignored"} <= codes
    assert item("pyxform__xlsform_spec_test.xlsx", "barcode_test")["type"] == "note"
    assert item("pyxform__xlsform_spec_test.xlsx", "acknowledge_test")["type"] == "consent"
    assert item("pyxform__xlsform_spec_test.xlsx", "image_test")["type"] == "photo"
    # `${start}` is not a field in Terrain: the note keeps the word, reported.
    assert (
        item("pyxform__xlsform_spec_test.xlsx", "start_test_output")["label"]["fr"]
        == "start test output: start"
    )
    renamed = [m for m in result.details if m.code == "xlsform.name_changed"]
    assert {m.params["old"] for m in renamed} >= {"label-test", "compact-test"}


def test_or_other_and_specify_other() -> None:
    assert item("pyxform__or_other.xlsx", "fav_color")["other"] is True
    assert item("pyxform__specify_other.xlsx", "sex")["other"] is True
    assert item("pyxform__loop.xlsx", "available_toilet_types")["type"] == "multiple_choice"
    # `pastel=yes` compares with a column "yes" that does not exist: reported, filter dropped.
    result = imported("pyxform__or_other.xlsx")
    msg = next(m for m in result.report if m.code == "xlsform.filter_unknown_column")
    assert (msg.row, msg.column, msg.params["property"]) == (3, "choice_filter", "yes")


def test_unsupported_expressions_are_reported_not_dropped_silently() -> None:
    result = imported("pyxform__pull_data.xlsx")
    msg = next(m for m in result.report if m.code == "xlsform.unsupported_expression")
    assert (msg.severity, msg.sheet, msg.row, msg.column) == ("warning", "survey", 2, "calculation")
    assert "pulldata" in render_message(msg, "en")
    assert item("pyxform__pull_data.xlsx", "fruit")["type"] == "text"


# --- skip logic evaluated on sample answers -----------------------------------------------------------


def test_skip_logic_xlsform_spec_test() -> None:
    form = "pyxform__xlsform_spec_test.xlsx"
    group = item(form, "everything")
    assert ev(group["relevant"], {"skip_to_end": "yes"}) is False
    assert ev(group["relevant"], {"skip_to_end": "no"}) is True
    note = item(form, "email_note")
    assert ev(note["relevant"], {"address": "ana@example.org"}) is True
    assert ev(note["relevant"], {"address": "12 rue de la Paix"}) is False
    multi = item(form, "select_multiple_test")
    assert ev(multi["constraint"], {}, current=["yes"]) is True
    assert ev(multi["constraint"], {}, current=["yes", "no"]) is False
    decimal = item(form, "a_decimal")
    assert ev(decimal["constraint"], {"a_integer": 3}, current=2.5) is True
    assert ev(decimal["constraint"], {"a_integer": 3}, current=3.5) is False


def test_skip_logic_ucl_biomass() -> None:
    form = "pyxform__UCL_Biomass_Plot_Form.xlsx"
    # Curly quotes (‘yes’) were straightened so the comparison works.
    trees = item(form, "trees")
    assert trees["type"] == "repeat"
    assert ev(trees["relevant"], {"any_trees": "yes"}) is True
    assert ev(trees["relevant"], {"any_trees": "no"}) is False
    stems = item(form, "stems")
    assert stems["count"]["src"] == "${stem_count}"
    decay = item(form, "decay_class")
    assert ev(decay["relevant"], {"health_id": "dead"}) is True
    assert ev(decay["relevant"], {"health_id": "alive"}) is False
    distance = item(form, "tree_distance")
    assert ev(distance["constraint"], {"slope_radius": 15.2}, current=10) is True
    assert ev(distance["constraint"], {"slope_radius": 15.2}, current=16) is False
    photo = item(form, "tree_photo")
    assert ev(photo["relevant"], {"cbh": 250}) is True
    assert ev(photo["relevant"], {"cbh": 120}) is False


def test_choice_filter_cascading_selects() -> None:
    form = "pyxform__choice_filter_test.xlsx"
    compiled = imported(form).compiled
    assert compiled is not None
    county = item(form, "county")
    assert county["choice_filter"]["src"] == "${state}=cf"
    counties = compiled["choice_lists"][county["choice_list"]]

    def offered(state: str) -> list[str]:
        out = []
        for choice in counties:
            answers = {"state": state, **{f"choice.{k}": v for k, v in choice["filter"].items()}}
            answers["choice.value"] = choice["value"]
            if ev(county["choice_filter"], answers):
                out.append(choice["value"])
        return out

    # The second "king" (texas) is a duplicate value in the list: reported and dropped.
    assert offered("washington") == ["king", "pierce"]
    assert offered("texas") == ["cameron"]


def test_phone_number_alias() -> None:
    form = "pyxform__ODKValidateWarnings.xlsx"
    phone = item(form, "phone_number")
    assert phone["type"] == "text"
    assert ev(phone["constraint"], {}, current="0612345678") is True
    assert ev(phone["constraint"], {}, current="06 12") is False
