"""The field's real forms (../shared/corpus/xlsforms-real, 21 workbooks): each one imports with its ODK
meaning, or is refused for its own defect, named at its sheet and row. Outcomes are asserted form by form."""

from __future__ import annotations

import functools
from pathlib import Path

import pytest

from terrain.expressions import EvalContext, evaluate
from terrain.speclang import canonical_json, compile_text
from terrain.xlsform import ImportResult, import_xlsform, render_message

CORPUS = Path(__file__).resolve().parents[2].parent / "shared" / "corpus" / "xlsforms-real"
WORKBOOKS = sorted(CORPUS.glob("*.xlsx")) if CORPUS.is_dir() else []
pytestmark = pytest.mark.skipif(not WORKBOOKS, reason=f"real XLSForm corpus not found at {CORPUS}")

# Refused for the form's own defect: (code, compiler issue code or None, sheet, row, column) of the first
# error of the report. Every other form of the corpus imports.
REFUSED: dict[str, tuple[str, str | None, str, int | None, str | None]] = {
    # SurveyCTO-only logic: the repeat_count of `phonecall` names the repeat itself
    "PovertyAction__SurveyCTO-Templates__Advanced_Case_Management_Template.xlsx": (
        "xlsform.compile_issue",
        "unknown_reference",
        "survey",
        141,
        "repeat_count",
    ),
    # `select_one livestock_list_name`: the choices sheet has no such list (pyxform refuses the form too)
    "RHoMIS__rhomis-R-package__RHoMIS_Core_v1.6.xlsx": ("xlsform.unknown_list", None, "survey", 263, "type"),
    # the label of `instructions` shows ${form_category}, a field that does not exist (pyxform: same)
    "hotosm__fmtm__simple_building_survey_wildfires.xlsx": (
        "xlsform.compile_issue",
        "unknown_reference",
        "survey",
        10,
        None,
    ),
    # a number cell holds "NaN": openpyxl cannot read the sheet (pyxform fails on it too)
    "medic__cht-stock-monitoring-workflow__patient_assessment_under_5.xlsx": (
        "xlsform.not_a_workbook",
        None,
        "",
        None,
        None,
    ),
    # CHT: `geolocation` reads ../../inputs/meta/location/lat, a group the form does not declare (CHT's
    # runtime fills it in): a path to no field of the form
    "medic__cht-core__PLACE_TYPE-create.xlsx": (
        "xlsform.path_nowhere",
        None,
        "survey",
        67,
        "calculation",
    ),
    # position(..) in `personId`, outside any repeat (row 24); then indexed-repeat(${HH02}, ${S1}, 1), now
    # imported, names S1, which does not exist (row 64, where pyxform stops)
    "unhcr-americas__surveyDesigner__wt_xlsform_in_survey.xlsx": (
        "xlsform.compile_issue",
        "position_outside_repeat",
        "survey",
        24,
        "calculation",
    ),
}
# What pyxform (the reference converter, without ODK Validate) accepts: all of them must import.
PYXFORM_ACCEPTS = {
    "Cadasta__cadasta-platform__standard_cadasta_questionnaire.xlsx",
    "hotosm__field-tm__merged_xlsform.xlsx",
    "hotosm__fmtm__slum_assessment_survey.xlsx",
    "hotosm__osm-fieldwork__solidwaste.xlsx",
    "hotosm__osm-fieldwork__waste_collection.xlsx",
    "impact-initiatives__Idem__form.xlsx",
    "katilingban__mozambique-s3m-forms__sofala_s3m.xlsx",
    "medic__cht-core__large_cha.xlsx",
    "rapidsurveys__ramOPodk__ramOP.xlsx",
}


@functools.cache
def imported(name: str) -> ImportResult:
    return import_xlsform(CORPUS / name, name)


def _report(result: ImportResult) -> list[str]:
    return [f"{m.severity}: {render_message(m, 'en')}" for m in result.report if m.severity == "error"][:20]


def test_the_corpus_is_complete() -> None:
    names = {p.name for p in WORKBOOKS}
    assert len(names) == 21
    assert set(REFUSED) <= names
    assert names >= PYXFORM_ACCEPTS
    assert not PYXFORM_ACCEPTS & set(REFUSED)
    assert len(names) - len(REFUSED) >= 15


@pytest.mark.parametrize("path", WORKBOOKS, ids=[p.name for p in WORKBOOKS])
def test_each_form_imports_or_is_refused_for_its_own_defect(path: Path) -> None:
    result = imported(path.name)
    assert not [m for m in result.report if m.code in ("xlsform.internal_error",)], _report(result)
    assert not [m for m in result.report if m.params.get("code") == "internal_error"], _report(result)
    expected = REFUSED.get(path.name)
    if expected is None:
        assert result.ok, _report(result)
        assert result.compiled is not None and result.yaml_text
        # The YAML written for the coordinator compiles with the strict checker to the same spec.
        again = compile_text(result.yaml_text, path.name)
        assert again.ok, [i.code for i in again.errors][:5]
        assert canonical_json(again.compiled) == canonical_json(result.compiled)
        return
    assert not result.ok
    first = next(m for m in result.report if m.severity == "error")
    code, issue, sheet, row, column = expected
    assert (first.code, first.params.get("code"), first.sheet, first.row, first.column) == (
        code,
        issue,
        sheet,
        row,
        column,
    ), _report(result)


@pytest.mark.parametrize("name", sorted(PYXFORM_ACCEPTS))
def test_loose_odk_typing_is_reported_once_per_form(name: str) -> None:
    result = imported(name)
    found = [m for m in result.report if m.code == "xlsform.odk_typing"]
    assert len(found) <= 1
    if found:
        assert found[0].params["count"] >= len(found[0].params["rows"]) >= 1


def test_ramop_compares_choice_codes_as_numbers() -> None:
    """ramOP: the `consent` group ("If consent is not given then stop the interview") is shown when
    "Consent given?" (ad4, select_one yes_no with codes 1/2) is answered 2, `${ad4}=2` in the form."""
    result = imported("rapidsurveys__ramOPodk__ramOP.xlsx")
    assert result.compiled is not None
    consent = next(i for i in result.compiled["items"] if i["name"] == "consent")
    relevant = consent["relevant"]
    assert relevant["src"] == "number(${ad4}) = 2"
    assert evaluate(relevant["ast"], EvalContext(answers={"ad4": "2"})) is True
    assert evaluate(relevant["ast"], EvalContext(answers={"ad4": "1"})) is False
    assert evaluate(relevant["ast"], EvalContext(answers={})) is False


def test_slum_survey_names_reused_in_another_group_are_renamed_and_resolved() -> None:
    result = imported("hotosm__fmtm__slum_assessment_survey.xlsx")
    renamed = [m for m in result.report if m.code == "xlsform.duplicate_name_renamed"]
    assert {(m.row, m.params["name"], m.params["first_row"]) for m in renamed} >= {(70, "b4_age", 58)}
    assert result.name_rows["b4_age"] == 58
    assert result.name_rows[renamed[0].params["new"]] == 70


def test_single_choice_values_keep_their_spaces() -> None:
    """solidwaste and the slum survey: values such as `Mo-Sa 08:00-18:00` or `better_access to
    health_services` are single choices: kept as the data value, as Kobo does."""
    solid = imported("hotosm__osm-fieldwork__solidwaste.xlsx")
    slum = imported("hotosm__fmtm__slum_assessment_survey.xlsx")
    for result, value in ((solid, "Mo-Sa 08:00-18:00"), (slum, "better_access to health_services")):
        assert result.compiled is not None
        values = {c["value"] for lst in result.compiled["choice_lists"].values() for c in lst}
        assert value in values
        assert not [m for m in result.report if m.code == "xlsform.choice_values_mapped"]


def test_cht_self_calculations_become_empty_and_are_reported_once() -> None:
    result = imported("medic__cht-core__large_cha.xlsx")
    found = [m for m in result.report if m.code == "xlsform.self_calculation"]
    assert len(found) == 1 and len(found[0].params["rows"]) == 336
    assert found[0].row == 16


def test_the_report_of_a_700_row_form_folds_repeated_entries() -> None:
    """The MSNA tool (710 survey rows): every entry is in ``details``; ``report`` gives one line per kind
    of repeated warning or info, with its count and rows, and keeps every error."""
    result = imported("impact-initiatives__Idem__form.xlsx")
    assert len(result.details) > 3 * len(result.report)
    folded = [m for m in result.report if m.params.get("repeated")]
    assert folded
    for msg in folded:
        same = [
            m
            for m in result.details
            if (m.severity, m.sheet, m.column, m.code) == (msg.severity, msg.sheet, msg.column, msg.code)
        ]
        assert set(msg.params["repeated"]) <= {m.row for m in same}
        text = render_message(msg, "en")
        assert f"({len(msg.params['repeated'])} times in all, rows " in text
        assert "fois en tout, lignes " in render_message(msg, "fr")
    errors = [m for m in result.details if m.severity == "error"]
    assert errors == [m for m in result.report if m.severity == "error"]
