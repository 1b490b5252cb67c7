"""Valid specs of each kind compile to the contract of docs/architecture.md."""

from __future__ import annotations

import json
from typing import Any

import pytest

from terrain.expressions import EvalContext, evaluate
from terrain.speclang import canonical_json, compile_text, content_hash, render

QUESTIONNAIRE = """\
spec: 1
kind: questionnaire
name: essai
title: {fr: "Essai", en: "Trial"}
languages: [fr, en]
choice_lists:
  communes:
    - {value: paris, label: Paris, filter: {dept: "75"}}
    - {value: lyon, label: Lyon, filter: {dept: "69"}}
items:
  - name: age
    type: integer
    label: {fr: Âge, en: Age}
    required: true
    constraint: ". >= 0 and . < 130"
  - {name: taille, type: decimal, label: Taille}
  - {name: poids, type: decimal, label: Poids}
  - {name: score, type: calculate, calculation: "${imc} * 2"}
  - {name: imc, type: calculate, calculation: "${poids} div (${taille} * ${taille})"}
  - {name: adulte, type: calculate, calculation: "${age} >= 18"}
  - name: aides
    type: multiple_choice
    label: Aides
    other: true
    choices:
      - {value: caf, label: CAF}
      - {value: rsa, label: RSA}
  - {name: dept, type: text, label: Département}
  - name: commune
    type: single_choice
    label: Commune
    choice_list: communes
    choice_filter: "dept = ${dept}"
  - name: membres
    type: repeat
    label: Membres
    count: "${age} div 10"
    min: 0
    max: 20
    items:
      - {name: rang, type: calculate, calculation: "position(..)"}
      - {name: prenom, type: text, label: "Prénom de la personne ${rang}", sensitive: true}
      - {name: ecole, type: yes_no, label: École, relevant: "${age} > 3", required: "${rang} = 1"}
  - {name: nb_ecole, type: calculate, calculation: "count(${ecole})"}
  - {name: fin, type: note, label: "Merci (${nb_ecole})"}
"""

GUIDE = """\
spec: 1
kind: interview_guide
name: guide
title: Guide
audiences:
  - {name: usagers, label: Usagers}
  - {name: animateurs, label: Animateurs}
introduction: Bonjour
consent: {mode: notes_only, text: "Accord ?"}
themes:
  - name: accueil
    title: Accueil
    question: Comment êtes-vous accueilli ?
    wording: {animateurs: Comment accueillez-vous ?}
    prompts: [Horaires, {fr: Lieux}]
    key: true
    duration: 10
    audiences: [usagers]
    items:
      - name: note_accueil
        type: likert
        label: Note
        choices: [{value: 1, label: Mal}, {value: 2, label: Bien}]
  - name: fin
    title: Fin
    question: Autre chose ?
    covered: false
"""

LOG = """\
spec: 1
kind: observation_log
name: journal
title: Journal
entry_title: "${activite} — ${date_activite}"
items:
  - {name: activite, type: text, label: Activité}
  - {name: date_activite, type: date, label: Date, default: 2024-01-02}
"""

ITEM_KEYS = {
    "name", "type", "value_type", "label", "hint", "required", "required_if", "required_message", "relevant",
    "constraint", "constraint_message", "default", "read_only", "sensitive", "appearance", "choice_list",
    "choice_filter", "other", "calculation", "items", "min", "max", "count", "rows",
}  # fmt: skip


def ok(text: str) -> dict[str, Any]:
    result = compile_text(text, "t.yaml")
    assert result.ok, [render(i, "en") for i in result.issues]
    assert result.compiled is not None and result.hash == content_hash(result.compiled)
    return result.compiled


def walk(items: list[dict[str, Any]] | None) -> Any:
    for item in items or []:
        yield item
        yield from walk(item["items"])


def find(spec: dict[str, Any], name: str) -> dict[str, Any]:
    return next(i for i in walk(spec["items"]) if i["name"] == name)


def test_questionnaire_compiles_to_contract() -> None:
    spec = ok(QUESTIONNAIRE)
    assert spec["format"] == 1 and spec["kind"] == "questionnaire" and spec["languages"] == ["fr", "en"]
    assert spec["description"] is None
    for item in walk(spec["items"]):
        assert set(item) == ITEM_KEYS, item["name"]
    age = find(spec, "age")
    assert age["required"] is True and age["constraint"]["src"] == ". >= 0 and . < 130"
    assert age["constraint"]["ast"]["t"] == "bin"
    assert spec["fields"]["age"] == {
        "type": "integer", "value_type": "number", "path": "age", "repeat": None, "sensitive": False
    }  # fmt: skip
    assert (
        spec["fields"]["prenom"]["repeat"] == "membres"
        and spec["fields"]["prenom"]["path"] == "membres.prenom"
    )
    assert spec["fields"]["prenom"]["sensitive"] is True
    assert "membres" not in spec["fields"] and "fin" not in spec["fields"]
    assert find(spec, "ecole")["required_if"]["src"] == "${rang} = 1"
    assert find(spec, "ecole")["choice_list"] == "yes_no"
    assert [c["value"] for c in spec["choice_lists"]["yes_no"]] == ["yes", "no"]


def test_calculations_are_ordered_and_typed() -> None:
    spec = ok(QUESTIONNAIRE)
    order = spec["calculation_order"]
    assert order.index("imc") < order.index("score")
    assert set(order) == {"score", "imc", "adulte", "rang", "nb_ecole"}
    assert spec["fields"]["adulte"]["value_type"] == "boolean"
    assert find(spec, "imc")["value_type"] == "number"


def test_other_adds_choice_and_companion_field() -> None:
    spec = ok(QUESTIONNAIRE)
    aides = find(spec, "aides")
    assert aides["other"] is True and aides["choice_list"] == "aides"
    other = spec["choice_lists"]["aides"][-1]
    assert other == {"value": "other", "label": {"fr": "Autre", "en": "Other"}, "filter": {}}
    companion = find(spec, "aides_other")
    assert companion["type"] == "text" and spec["fields"]["aides_other"]["type"] == "text"
    ctx = EvalContext(answers={"aides": ["caf", "other"]})
    assert evaluate(companion["relevant"]["ast"], ctx) is True


def test_choice_filter_bare_property_names() -> None:
    spec = ok(QUESTIONNAIRE)
    cf = find(spec, "commune")["choice_filter"]
    assert cf["src"] == "dept = ${dept}"
    assert cf["ast"]["l"] == {"t": "ref", "n": "choice.dept"}
    choice = spec["choice_lists"]["communes"][0]
    answers = {"dept": "75", **{f"choice.{k}": v for k, v in choice["filter"].items()}}
    assert evaluate(cf["ast"], EvalContext(answers=answers)) is True


def test_guide_compiles_with_generated_fields() -> None:
    spec = ok(GUIDE)
    assert [a["name"] for a in spec["audiences"]] == ["usagers", "animateurs"]
    assert spec["consent"] == {"mode": "notes_only", "text": {"fr": "Accord ?"}}
    accueil, fin = spec["themes"]
    assert accueil["prompts"] == [{"fr": "Horaires"}, {"fr": "Lieux"}]
    assert accueil["wording"] == {"animateurs": {"fr": "Comment accueillez-vous ?"}}
    assert accueil["key"] is True and accueil["duration"] == 10 and accueil["audiences"] == ["usagers"]
    assert fin["audiences"] == ["usagers", "animateurs"] and fin["covered"] is False
    assert spec["fields"]["accueil__notes"]["type"] == "long_text"
    assert spec["fields"]["accueil__covered"]["type"] == "yes_no"
    assert "fin__covered" not in spec["fields"] and "fin__notes" in spec["fields"]
    assert spec["fields"]["note_accueil"]["value_type"] == "number"
    assert [c["value"] for c in spec["choice_lists"]["note_accueil"]] == ["1", "2"]


def test_observation_log_compiles() -> None:
    spec = ok(LOG)
    assert spec["entry_title"] == {"fr": "${activite} — ${date_activite}"}
    assert spec["items"][1]["default"] == "2024-01-02"


def test_hash_ignores_comments_and_key_order() -> None:
    reordered = """\
# a comment
name: journal   # same spec
title: Journal
kind: observation_log
items:
  - {type: text, name: activite, label: Activité}
  - {label: Date, name: date_activite, default: 2024-01-02, type: date}
entry_title: "${activite} — ${date_activite}"
spec: 1
"""
    a, b = compile_text(LOG), compile_text(reordered)
    assert a.hash == b.hash and a.hash is not None
    assert a.hash == compile_text(LOG).hash
    assert json.loads(canonical_json(a.compiled)) == a.compiled


def test_all_errors_reported_at_once() -> None:
    text = QUESTIONNAIRE.replace("${imc} * 2", "${imcc} * 2").replace(
        "type: decimal, label: Poids", "type: decimall"
    )
    result = compile_text(text)
    codes = {i.code for i in result.issues}
    assert {"unknown_reference", "unknown_type"} <= codes


def test_sum_over_repeat_from_outside_is_allowed() -> None:
    text = QUESTIONNAIRE.replace("count(${ecole})", "sum(${rang})")
    assert compile_text(text).ok


def test_expression_column_points_into_yaml_line() -> None:
    text = (
        "spec: 1\nkind: questionnaire\nname: essai\ntitle: T\nitems:\n"
        '  - {name: a, type: integer, label: A, relevant: "1 + ${b}"}\n'
    )
    (issue,) = compile_text(text, "x.yaml").issues
    line = text.splitlines()[issue.line - 1]
    assert line[issue.col - 1 :].startswith("${b}")
    assert render(issue, "en") == f"x.yaml:6:{issue.col}: items.a.relevant: unknown reference ${{b}}"


def test_issues_come_in_file_order() -> None:
    text = (
        "spec: 1\nkind: questionnaire\nname: essai\ntitle: Essai\nitems:\n"
        "  - {name: a, type: integer, label: A, relevant: '${inconnu} > 1'}\n"
        "  - {name: b, type: integr, label: B}\n"
        "  - {name: c, type: integer, label: C, constraint: '${autre} > 1'}\n"
    )
    result = compile_text(text, "ordre.yaml")
    assert [(i.line, i.code) for i in result.errors] == [
        (6, "unknown_reference"),
        (7, "unknown_type"),
        (8, "unknown_reference"),
    ]


def test_a_type_checker_crash_is_an_internal_error_not_a_silent_pass(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    from terrain.speclang import compiler as compiler_module

    def crash(*args: object, **kwargs: object) -> str:
        raise KeyError("bug")

    monkeypatch.setattr(compiler_module.ex, "infer_type", crash)
    text = (
        "spec: 1\nkind: questionnaire\nname: crash\ntitle: C\nitems:\n"
        "  - {name: a, type: integer, label: A, relevant: '1 = 1'}\n"
    )
    result = compile_text(text, "c.yaml")
    assert not result.ok
    assert [i.code for i in result.issues] == ["internal_error"]
    assert "internal compiler error" in caplog.text


def test_a_parser_crash_is_an_internal_error_not_a_syntax_error(monkeypatch: pytest.MonkeyPatch) -> None:
    from terrain.speclang import compiler as compiler_module

    def crash(*args: object, **kwargs: object) -> dict[str, object]:
        raise IndexError("bug")

    monkeypatch.setattr(compiler_module.ex, "parse", crash)
    text = (
        "spec: 1\nkind: questionnaire\nname: crash\ntitle: C\nitems:\n"
        "  - {name: a, type: integer, label: A, relevant: '1 = 1'}\n"
    )
    result = compile_text(text, "c.yaml")
    assert [i.code for i in result.issues] == ["internal_error"]
    assert result.issues[0].params == {"error": "IndexError"}


SPACED = """\
spec: 1
kind: questionnaire
name: spaced
title: S
choice_lists:
  place: [{value: camp pitch, label: Camp}, {value: hotel, label: Hotel}]
items:
  - {name: a, type: single_choice, label: A, choice_list: place}
"""


def test_values_with_inner_spaces_only_for_single_choices() -> None:
    ok = compile_text(SPACED, "s.yaml")
    assert ok.ok and ok.compiled is not None
    assert ok.compiled["choice_lists"]["place"][0]["value"] == "camp pitch"
    multi = compile_text(
        SPACED + "  - {name: b, type: multiple_choice, label: B, choice_list: place}\n", "s.yaml"
    )
    assert [(i.code, i.line) for i in multi.errors] == [("invalid_choice_value", 6)]
    edge = compile_text(SPACED.replace("camp pitch", "' camp'"), "s.yaml")
    assert [i.code for i in edge.errors] == ["invalid_choice_value"]


def test_odk_typing_is_for_xlsform_imports_only() -> None:
    text = (
        "spec: 1\nkind: questionnaire\nname: loose\ntitle: L\nchoice_lists:\n  l: [{value: '1', label: Un}]\n"
        "items:\n  - {name: q, type: single_choice, label: Q, choice_list: l}\n"
        "  - {name: n, type: integer, label: N, relevant: '${q} = 1'}\n"
    )
    strict = compile_text(text, "l.yaml")
    assert [i.code for i in strict.errors] == ["type_mismatch"]
    loose = compile_text(text, "l.yaml", odk_typing=True)
    assert loose.ok and loose.compiled is not None
    assert loose.conversions == [("items.n.relevant", "${q} = 1", "number(${q}) = 1")]
    assert loose.compiled["items"][1]["relevant"]["src"] == "number(${q}) = 1"


INDEXED = """spec: 1
kind: questionnaire
name: essai
title: T
items:
  - name: membres
    type: repeat
    label: Membres
    items:
      - {name: prenom, type: text, label: Prénom}
  - {name: nom_hors, type: text, label: Nom}
  - {name: premier, type: calculate, calculation: "indexed-repeat(${prenom}, ${membres}, 1)"}
"""


def test_indexed_repeat_reads_a_field_of_that_repeat() -> None:
    spec = ok(INDEXED)
    assert find(spec, "premier")["calculation"]["ast"]["f"] == "indexed-repeat"
    wrong = INDEXED.replace("indexed-repeat(${prenom}", "indexed-repeat(${nom_hors}")
    result = compile_text(wrong, "x.yaml")
    assert [issue.code for issue in result.issues] == ["indexed_repeat_outside"]
    assert "indexed-repeat() reads a field of that repeat" in render(result.issues[0], "en")
