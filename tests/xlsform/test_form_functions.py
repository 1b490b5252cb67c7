"""ODK functions whose meaning is local to the form (once, indexed-repeat, jr:choice-name, selected-at) are
imported with their meaning, compiled, evaluated, and exported back as ODK writes them."""

from __future__ import annotations

import io
from typing import Any

import openpyxl

from terrain.expressions import EvalContext, evaluate
from terrain.speclang import canonical_json
from terrain.xlsform import export_xlsform, import_xlsform

from .helpers import find, form
from .test_export import _convert

WORKBOOK = form(
    [
        ["type", "name", "label", "calculation", "relevant"],
        ["select_one communes", "commune", "Commune", "", ""],
        ["select_multiple aides", "aides", "Aides", "", ""],
        ["calculate", "nom_commune", "", "jr:choice-name(${commune}, '${commune}')", ""],
        ["calculate", "premiere_aide", "", "jr:choice-name(selected-at(${aides}, 0), '${aides}')", ""],
        ["calculate", "debut", "", "once(now())", ""],
        ["begin repeat", "membres", "Membres", "", ""],
        ["text", "prenom", "Prénom", "", ""],
        ["calculate", "precedent", "", "indexed-repeat(${prenom}, ${membres}, position(..) - 1)", ""],
        ["end repeat", "", "", "", ""],
        ["calculate", "premier", "", "indexed-repeat(${prenom}, ${membres}, 1)", ""],
        ["note", "n", "Chez ${nom_commune}", "", "selected(${aides}, ' caf ')"],
    ],
    [
        ["list_name", "name", "label"],
        ["communes", "75056", "Paris"],
        ["communes", "69123", "Lyon"],
        ["aides", "caf", "CAF"],
        ["aides", "apl", "APL"],
    ],
)


def _items(items: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    out: dict[str, dict[str, Any]] = {}
    for item in items:
        out[item["name"]] = item
        out.update(_items(item.get("items") or []))
    return out


def test_form_functions_are_imported_not_dropped() -> None:
    result = import_xlsform(WORKBOOK, "essai.xlsx")
    assert result.ok and result.compiled is not None
    assert not find(result, "xlsform.unsupported_expression")
    items = _items(result.compiled["items"])
    src = {name: item["calculation"]["src"] for name, item in items.items() if item.get("calculation")}
    assert src == {
        "nom_commune": "choice-label(${commune}, 'communes')",
        "premiere_aide": "choice-label(selected-at(${aides}, 0), 'aides')",
        "debut": "once(now())",
        "precedent": "indexed-repeat(${prenom}, ${membres}, position(..) - 1)",
        "premier": "indexed-repeat(${prenom}, ${membres}, 1)",
    }
    labels = {"communes": {"75056": "Paris"}, "aides": {"caf": "CAF", "apl": "APL"}}
    ctx = EvalContext(
        answers={"commune": "75056", "aides": ["apl", "caf"], "prenom": ["Ana", "Bo"]},
        choice_label=lambda name, value: labels.get(name, {}).get(value),
    )
    assert evaluate(items["nom_commune"]["calculation"]["ast"], ctx) == "Paris"
    assert evaluate(items["premiere_aide"]["calculation"]["ast"], ctx) == "APL"
    assert evaluate(items["premier"]["calculation"]["ast"], ctx) == "Ana"
    assert evaluate(items["n"]["relevant"]["ast"], ctx) is True  # the value is trimmed, as in ODK


def test_choice_name_of_a_field_that_is_not_a_select_is_reported_and_dropped() -> None:
    data = form(
        [
            ["type", "name", "label", "calculation"],
            ["text", "t", "Texte", ""],
            ["calculate", "c", "", "jr:choice-name(${t}, '${t}')"],
        ]
    )
    result = import_xlsform(data, "essai.xlsx")
    assert [m.row for m in find(result, "xlsform.unsupported_expression")] == [3]
    assert result.compiled is not None and _items(result.compiled["items"])["c"].get("calculation") is None


def test_export_writes_jr_choice_name_for_odk_and_reads_back() -> None:
    spec = import_xlsform(WORKBOOK, "essai.xlsx").compiled
    assert spec is not None
    data = export_xlsform(spec)
    rows = [[c.value for c in row] for row in openpyxl.load_workbook(io.BytesIO(data))["survey"].iter_rows()]
    head = rows[0]
    survey = {str(r[1]): dict(zip(head, r, strict=True)) for r in rows[1:]}
    assert survey["nom_commune"]["calculation"] == "jr:choice-name(${commune}, '${commune}')"
    assert survey["premiere_aide"]["calculation"] == "jr:choice-name(selected-at(${aides}, 0), '${aides}')"
    assert survey["debut"]["calculation"] == "once(now())"
    back = import_xlsform(data, "essai.xlsx")
    assert back.ok and back.compiled is not None
    assert canonical_json(back.compiled) == canonical_json(spec)
    _convert(data)  # pyxform accepts the ODK functions


def test_server_validation_keeps_once_and_reads_indexed_repeat_from_inside_the_repeat() -> None:
    from terrain.responses.validation import check_response

    spec = import_xlsform(WORKBOOK, "essai.xlsx").compiled
    assert spec is not None
    answers = {
        "commune": "75056",
        "aides": ["caf"],
        "debut": "2026-01-02T08:00:00+01:00",
        "nom_commune": "Paris",
        "premier": "Ana",
        "membres": [{"prenom": "Ana"}, {"prenom": "Bo", "precedent": "Ana"}],
    }
    result = check_response(spec, answers)
    assert [(p.code, p.item) for p in result.problems] == []
    # the server computes the same: a wrong device value is reported
    wrong = {**answers, "membres": [{"prenom": "Ana"}, {"prenom": "Bo", "precedent": "Bo"}]}
    assert [(p.code, p.item) for p in check_response(spec, wrong).problems] == [("calculation", "precedent")]
    # once() keeps the stored instant: never a calculation problem, whatever the server's clock
    assert result.answers["debut"] == "2026-01-02T08:00:00+01:00"
