"""ODK's lookups on the form's own choice lists (``instance('L')/root/item[name=${x}]/label`` or ``/P``) and
SurveyCTO's ``choice-label(${field}, value)`` are imported as Terrain's choice-label() / choice-property(),
evaluated as ODK does, and exported back as ODK writes them."""

from __future__ import annotations

from typing import Any

from terrain.expressions import EvalContext, evaluate
from terrain.responses.validation import computed_answers
from terrain.xlsform import export_xlsform, import_xlsform

from .helpers import find, form
from .test_export import _convert

CHOICES = [
    ["list_name", "name", "label", "region", "code_insee"],
    ["communes", "paris", "Paris", "idf", "75056"],
    ["communes", "lyon", "Lyon", "ara", "69123"],
    ["communes", "brest", "Brest", "", "29019"],
]


def _calcs(result: Any) -> dict[str, str]:
    assert result.compiled is not None, [m.code for m in result.report]
    out: dict[str, str] = {}

    def walk(items: list[dict[str, Any]]) -> None:
        for item in items:
            if item.get("calculation"):
                out[item["name"]] = item["calculation"]["src"]
            walk(item.get("items") or [])

    walk(result.compiled["items"])
    return out


def _workbook(*calcs: tuple[str, str]) -> bytes:
    rows = [["type", "name", "label", "calculation"], ["select_one communes", "commune", "Commune", ""]]
    rows += [["calculate", name, "", calc] for name, calc in calcs]
    return form(rows, CHOICES)


def test_label_and_property_lookups_become_terrain_functions() -> None:
    result = import_xlsform(
        _workbook(
            ("nom", "instance('communes')/root/item[name=${commune}]/label"),
            (
                "region",
                'if(${commune} != "", instance("communes")/root/item[ name = ${commune} ]/region, "")',
            ),
            ("insee", "concat('C', instance('communes')/root/item[name='lyon']/code_insee)"),
        ),
        "lookups.xlsx",
    )
    assert result.ok, [(m.code, m.params) for m in result.report if m.severity == "error"]
    assert not find(result, "xlsform.unsupported_expression")
    assert _calcs(result) == {
        "nom": "choice-label(${commune}, 'communes')",
        "region": "if(${commune} != \"\", choice-property(${commune}, 'communes', 'region'), \"\")",
        "insee": "concat('C', choice-property('lyon', 'communes', 'code_insee'))",
    }
    # the server computes the properties from the spec's lists (a label stays the device's)
    assert result.compiled is not None
    out = computed_answers(result.compiled, {"commune": "paris"})
    assert (out["region"], out["insee"]) == ("idf", "C69123")
    assert "region" not in computed_answers(result.compiled, {"commune": "brest"})  # no region: empty
    labels = {"paris": "Paris"}
    ctx = EvalContext(answers={"commune": "paris"}, choice_label=lambda _l, v: labels.get(v))
    items = {i["name"]: i for i in result.compiled["items"]}
    assert evaluate(items["nom"]["calculation"]["ast"], ctx) == "Paris"


def test_lookups_that_are_not_the_forms_lists_stay_unsupported() -> None:
    result = import_xlsform(
        _workbook(
            ("ext", "instance('features')/root/item[name=${commune}]/osm_id"),  # an external file
            ("inconnue", "instance('communes')/root/item[name=${commune}]/population"),  # no such column
            ("chemin", "instance('communes')/root/item[name=${commune}]/region/x"),  # a longer path
            ("cht", "instance('contact-summary')/context/age_years"),
        ),
        "externes.xlsx",
    )
    unsupported = {m.row for m in find(result, "xlsform.unsupported_expression")}
    assert unsupported == {3, 4, 5, 6}
    assert _calcs(result) == {}


def test_surveycto_choice_label_takes_the_field_first() -> None:
    result = import_xlsform(
        _workbook(
            ("nom", "choice-label(${commune}, ${commune})"),
            ("nom_lyon", "concat('à ', choice-label(${commune}, 'lyon'))"),
            ("deja_terrain", "choice-label(${commune}, 'communes')"),
        ),
        "surveycto.xlsx",
    )
    assert result.ok, [(m.code, m.params) for m in result.report if m.severity == "error"]
    assert _calcs(result) == {
        "nom": "choice-label(${commune}, 'communes')",
        "nom_lyon": "concat('à ', choice-label('lyon', 'communes'))",
        "deja_terrain": "choice-label(${commune}, 'communes')",
    }


def test_surveycto_choice_label_of_a_field_that_is_not_a_select_is_reported() -> None:
    data = form(
        [
            ["type", "name", "label", "calculation"],
            ["text", "t", "Texte", ""],
            ["calculate", "c", "", "choice-label(${t}, ${t})"],
        ],
        CHOICES,
    )
    result = import_xlsform(data, "pas_un_choix.xlsx")
    assert {m.row for m in find(result, "xlsform.unsupported_expression")} == {3}


def test_choice_property_is_exported_as_an_instance_path_that_pyxform_converts() -> None:
    result = import_xlsform(
        _workbook(("region", "instance('communes')/root/item[name=${commune}]/region")), "aller_retour.xlsx"
    )
    assert result.ok and result.compiled is not None
    exported = export_xlsform(result.compiled)
    back = import_xlsform(exported, "retour.xlsx")
    assert back.ok and back.compiled is not None
    assert _calcs(back) == {"region": "choice-property(${commune}, 'communes', 'region')"}
    xform = _convert(exported).xform
    assert "instance('communes')/root/item[name= /" in xform, xform
