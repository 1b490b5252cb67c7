"""Flattening answers into rows of response_values."""

from __future__ import annotations

import dataclasses
import json
import math
import time
from typing import Any

import pytest

from terrain.responses.validation import computed_answers
from terrain.responses.values import (
    MAX_BLOCKS,
    SpecIndex,
    ValueRow,
    check_value,
    flatten_answers,
    index_for,
)

from . import (
    SAMPLES,
    SHA_PHOTO,
    TODAY,
    compiled_text,
    essai,
    essai_answers,
    example,
    example_index,
    guide_answers,
    guide_interview,
)


def row(
    item: str,
    value_type: str,
    text: str | None = None,
    num: float | None = None,
    long: str | None = None,
    *,
    repeat: str | None = None,
    instance: str = "",
    ordinal: int = 0,
) -> ValueRow:
    return ValueRow(item, repeat, instance, ordinal, value_type, text, num, long)


@pytest.fixture(scope="module")
def spec() -> SpecIndex:
    return index_for(essai())


def test_rows_of_a_small_spec_exactly(spec: SpecIndex) -> None:
    answers = essai_answers()
    recit = "Arrivée en janvier, hébergée chez sa sœur. " * 10
    dept = "Rhône " * 50  # a short text over 255 characters goes to value_long
    answers.update(recit=recit, dept=dept, commune=None)
    answers["membres"][0]["prenom"] = "Awa"
    rows = flatten_answers(spec, computed_answers(spec, answers, today=TODAY))
    assert rows == [
        row("consentement", "consent", "OK"),
        row("age", "integer", num=34.0),
        row("taille", "decimal", num=1.72),
        row("nb_membres", "integer", num=2.0),
        row("aides", "multiple_choice", "caf", ordinal=1),
        row("aides", "multiple_choice", "other", ordinal=2),
        row("aides_other", "text", "Chèque énergie"),
        row("priorites", "ranking", "emploi", ordinal=1),
        row("priorites", "ranking", "logement", ordinal=2),
        row("satisfaction", "likert", "3", 3.0),
        row("lieu", "geopoint", "48.8566,2.3522"),
        row("dept", "text", long=dept),
        row("recit", "long_text", long=recit),
        row("heure", "time", "14:30:00"),
        row("quand", "datetime", "2024-03-12T14:30:00+01:00"),
        row("jour", "date", "2024-03-12"),
        row("photo", "photo", SHA_PHOTO),
        row("avis_accueil", "single_choice", "oui"),
        row("avis_delais", "single_choice", "non"),
        row("type_logement", "single_choice", "appartement"),
        row("double_age", "number", num=68.0),
        row("rang", "number", num=1.0, repeat="membres", instance="membres.1"),
        row("prenom", "text", "Awa", repeat="membres", instance="membres.1"),
        row("nb_enfants_membre", "number", num=0.0, repeat="membres", instance="membres.1"),
        row("rang", "number", num=2.0, repeat="membres", instance="membres.2"),
        row("prenom", "text", "Malik", repeat="membres", instance="membres.2"),
        row("ecole", "yes_no", "yes", repeat="membres", instance="membres.2"),
        row("classe", "single_choice", "cp", repeat="enfants", instance="membres.2/enfants.1"),
        row("note_enfant", "integer", num=15.0, repeat="enfants", instance="membres.2/enfants.1"),
        row("classe", "single_choice", "ce1", repeat="enfants", instance="membres.2/enfants.2"),
        row("nb_enfants_membre", "number", num=2.0, repeat="membres", instance="membres.2"),
        row("nb_prenoms", "number", num=2.0),
    ]


def test_ranking_keeps_the_order_and_text_limits(spec: SpecIndex) -> None:
    answers = {"priorites": ["sante", "logement", "emploi"], "dept": "x" * 255, "recit": "court"}
    assert flatten_answers(spec, answers) == [
        row("priorites", "ranking", "sante", ordinal=1),
        row("priorites", "ranking", "logement", ordinal=2),
        row("priorites", "ranking", "emploi", ordinal=3),
        row("dept", "text", "x" * 255),
        row("recit", "long_text", long="court"),
    ]


def test_geopoint_text_never_uses_an_exponent(spec: SpecIndex) -> None:
    rows = flatten_answers(spec, {"lieu": {"lat": -0.0000001, "lon": 180, "alt": 35.5}})
    assert rows == [row("lieu", "geopoint", "-0.0000001,180")]


def test_calculations_are_stored_after_their_value() -> None:
    compiled = compiled_text(
        "spec: 1\nkind: questionnaire\nname: essai\ntitle: Essai\nitems:\n"
        "  - {name: age, type: integer, label: Âge}\n"
        "  - {name: adulte, type: calculate, calculation: '${age} >= 18'}\n"
        "  - {name: tranche, type: calculate, calculation: \"if(${age} >= 18, 'adulte', 'mineur')\"}\n"
        "  - {name: jour, type: calculate, calculation: 'today()'}\n"
        "  - {name: demi, type: calculate, calculation: '${age} div 2'}\n"
        "  - {name: vide, type: calculate, calculation: \"''\"}\n"
    )
    rows = flatten_answers(compiled, computed_answers(compiled, {"age": 21}, today=TODAY))
    assert rows == [
        row("age", "integer", num=21.0),
        row("adulte", "boolean", "true", 1.0),
        row("tranche", "string", "adulte"),
        row("jour", "date", "2024-03-15"),
        row("demi", "number", num=10.5),
    ]


def test_guide_rows_include_theme_notes_and_covered_marks() -> None:
    index = example_index("guide_epn")
    answers = computed_answers(index, guide_answers(), interview=guide_interview())
    rows = flatten_answers(index, answers)
    by_item = {(r.item, r.ordinal): r for r in rows}
    assert by_item[("usager_profil__notes", 0)] == row(
        "usager_profil__notes", "long_text", long=guide_answers()["usager_profil__notes"]
    )
    assert by_item[("missions__covered", 0)] == row("missions__covered", "yes_no", "yes")
    assert by_item[("qualite_accompagnement", 0)] == row("qualite_accompagnement", "likert", "4", 4.0)
    assert by_item[("motif_actuel", 2)] == row("motif_actuel", "multiple_choice", "emploi", ordinal=2)


@pytest.mark.parametrize("name", sorted(SAMPLES))
def test_every_answer_of_the_examples_becomes_rows(name: str) -> None:
    index = example_index(name)
    answers = computed_answers(index, SAMPLES[name][0](), today=TODAY)
    rows = flatten_answers(index, answers)
    fields = example(name)["fields"]
    for r in rows:
        assert r.item in fields
        assert fields[r.item]["repeat"] == r.repeat
        assert r.value_text is None or len(r.value_text) <= 255
        assert (r.value_text, r.value_num, r.value_long) != (None, None, None)
        if fields[r.item]["type"] != "calculate":
            assert r.value_type == fields[r.item]["type"]
    top_level = {k for k, v in answers.items() if not isinstance(v, list) or k not in index.repeats}
    assert top_level <= {r.item for r in rows}


def test_diagnostic_rows_per_member() -> None:
    index = example_index("diagnostic_familles")
    rows = flatten_answers(index, SAMPLES["diagnostic_familles"][0]())
    tranche = [(r.instance, r.value_text) for r in rows if r.item == "tranche_age"]
    assert tranche == [
        ("membres.1", "de_25_59"),
        ("membres.2", "de_25_59"),
        ("membres.3", "de_6_10"),
        ("membres.4", "de_11_15"),
        ("membres.5", "moins_3"),
    ]
    freins = [r for r in rows if r.item == "freins_scolarisation"]
    assert [(r.instance, r.ordinal, r.value_text) for r in freins] == [
        ("membres.4", 1, "depart_prevu"),
        ("membres.4", 2, "other"),
    ]


def test_unknown_keys_and_wrong_shapes_are_skipped(spec: SpecIndex) -> None:
    answers: dict[str, Any] = {
        "inconnu": "x",
        "age": "34",
        "taille": math.inf,
        "aides": ["caf", "caf"],
        "priorites": ["emploi", 3],
        "satisfaction": 9,
        "lieu": {"lat": 91, "lon": 0},
        "commune": "marseille",  # not in the list
        "heure": "14h30",
        "quand": "2024-03-12",
        "jour": "12/03/2024",
        "photo": "A" * 64,
        "consentement": "oui",
        "recit": "a\x00b",
        "dept": "x" * 5000,
        "avis_accueil": ["oui"],
        "prenom": "Awa",  # belongs to the repeat
        "fin": "lu",  # a note
        "membres": [["Awa"], {"prenom": 3, "ecole": "yes", "enfants": {"classe": "cp"}}, {"prenom": "Bob"}],
        "double_age": {"a": 1},
        "nb_prenoms": [{"x": 1}, math.nan, "", "ok"],
    }
    assert flatten_answers(spec, answers) == [
        row("ecole", "yes_no", "yes", repeat="membres", instance="membres.2"),
        row("prenom", "text", "Bob", repeat="membres", instance="membres.3"),
        row("nb_prenoms", "number", "ok", ordinal=4),
    ]


def test_empty_answers_give_no_rows(spec: SpecIndex) -> None:
    answers = {"age": None, "dept": "", "aides": [], "membres": [], "nb_prenoms": None}
    assert flatten_answers(spec, answers) == []
    assert flatten_answers(spec, {"membres": [{}]}) == []


HOSTILE: list[Any] = [
    None,
    [],
    "x",
    3,
    {"membres": [[[[[[]]]]]] * 10},
    {"membres": {"0": {"prenom": "a"}}},
    {"age": 10**400, "taille": -(10**400), "satisfaction": 10**20},
    {"lieu": {"lat": 10**400, "lon": 1}},
    {"aides": ["caf"] * 100_000},
    {"nb_prenoms": 10**400, "double_age": ["x" * 300, True, None, [1]]},
]


@pytest.mark.parametrize("answers", HOSTILE, ids=lambda a: repr(a)[:40])
def test_hostile_answers_never_raise(spec: SpecIndex, answers: Any) -> None:
    rows = flatten_answers(spec, answers)
    for r in rows:
        assert r.value_text is None or len(r.value_text) <= 255
        assert r.value_num is None or math.isfinite(r.value_num)


def test_rows_are_bounded_by_repeat_limits(spec: SpecIndex) -> None:
    block = {"prenom": "A", "enfants": [{"classe": "cp"}] * 100}
    rows = flatten_answers(spec, {"membres": [block] * 1000})
    # membres: max 4 blocks; enfants: max 3 blocks
    assert len(rows) == 4 * (1 + 3)
    compiled = compiled_text(
        "spec: 1\nkind: questionnaire\nname: essai\ntitle: Essai\nitems:\n"
        "  - name: a\n    type: repeat\n    label: A\n    items:\n"
        "      - name: b\n        type: repeat\n        label: B\n        items:\n"
        "          - {name: x, type: integer, label: X}\n"
    )
    rows = flatten_answers(compiled, {"a": [{"b": [{"x": 1}] * 500}] * 500})
    assert len(rows) < MAX_BLOCKS


def test_rows_are_immutable_dataclasses(spec: SpecIndex) -> None:
    [first] = flatten_answers(spec, {"age": 3})
    with pytest.raises(dataclasses.FrozenInstanceError):
        first.value_num = 4.0  # type: ignore[misc]
    assert first == row("age", "integer", num=3.0)
    assert hash(first) == hash(row("age", "integer", num=3.0))
    assert dataclasses.asdict(first)["item"] == "age"


def test_a_compiled_spec_or_its_index(spec: SpecIndex) -> None:
    answers = essai_answers()
    assert flatten_answers(essai(), answers) == flatten_answers(spec, answers)
    assert index_for(spec) is spec


def test_value_shapes_are_shared_with_validation(spec: SpecIndex) -> None:
    age = spec.fields["age"]
    assert check_value(age, 3.0) == (3, None)
    assert check_value(age, True)[1] is not None
    assert check_value(spec.fields["quand"], "2024-03-12T14:30:00Z") == ("2024-03-12T14:30:00Z", None)
    assert check_value(spec.fields["quand"], "2024-02-30T14:30:00Z")[1] is not None
    assert check_value(spec.fields["heure"], "23:59:59.250") == ("23:59:59.250", None)


def test_flattening_is_fast() -> None:
    """Thousands of diagnostics per second are the target (docs/responses.md); this only catches gross
    regressions on a loaded test machine."""
    index = example_index("diagnostic_familles")
    answers = SAMPLES["diagnostic_familles"][0]()
    assert len(json.dumps(answers)) > 1500
    started = time.process_time()
    for _ in range(200):
        flatten_answers(index, answers)
    assert (time.process_time() - started) / 200 < 0.005
