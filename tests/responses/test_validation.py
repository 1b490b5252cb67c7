"""Validation of responses against compiled specs: valid examples, every problem code, hostile input."""

from __future__ import annotations

import copy
import datetime as dt
import json
import math
import re
import time
from pathlib import Path
from typing import Any

import pytest

from terrain.responses.validation import (
    MAX_PROBLEMS,
    MESSAGES,
    PROBLEM_CODES,
    Problem,
    check_response,
    computed_answers,
    validate_response,
)
from terrain.responses.values import MAX_BLOCKS, index_for

from . import (
    ATTACHMENTS,
    SAMPLES,
    SHA_PHOTO,
    SHA_RECORDING,
    TODAY,
    attachment,
    compiled_text,
    essai,
    essai_answers,
    example,
    example_index,
    guide_answers,
    guide_interview,
)


def problems(spec: Any, answers: Any, **kw: Any) -> list[Problem]:
    kw.setdefault("attachments", ATTACHMENTS)
    kw.setdefault("today", TODAY)
    return validate_response(spec, answers, **kw)


def codes(spec: Any, answers: Any, **kw: Any) -> list[tuple[str, str | None, str]]:
    return [(p.code, p.item, p.instance) for p in problems(spec, answers, **kw)]


@pytest.fixture(scope="module")
def spec() -> Any:
    return index_for(essai())


# --- valid responses ---------------------------------------------------------------------------------


@pytest.mark.parametrize("name", sorted(SAMPLES))
def test_realistic_responses_of_every_example_spec_are_valid(name: str) -> None:
    make, metadata = SAMPLES[name]
    interview = guide_interview() if name == "guide_epn" else None
    answers = make()
    assert problems(example_index(name), answers, metadata=metadata, interview=interview) == []
    # the device's calculations agree with the server's: nothing changes
    assert computed_answers(example_index(name), answers, today=TODAY, interview=interview) == answers


def test_essai_response_is_valid_with_the_compiled_spec_or_its_index(spec: Any) -> None:
    assert problems(spec, essai_answers()) == []
    assert problems(essai(), essai_answers()) == []


def test_validation_does_not_modify_the_answers(spec: Any) -> None:
    answers = essai_answers()
    answers["double_age"] = 1
    answers["membres"][0]["rang"] = 9
    before = copy.deepcopy(answers)
    check_response(spec, answers, attachments=ATTACHMENTS, today=TODAY)
    computed_answers(spec, answers, today=TODAY)
    assert answers == before


def test_diagnostic_response_is_about_two_kilobytes_with_five_blocks() -> None:
    answers = SAMPLES["diagnostic_familles"][0]()
    assert len(answers["membres"]) == 5
    assert 1500 <= len(json.dumps(answers, ensure_ascii=False).encode()) <= 4000


# --- every problem code -----------------------------------------------------------------------------


def test_type_problems_name_the_item_and_the_expected_shape(spec: Any) -> None:
    answers = essai_answers()
    answers.update(
        age="34",
        taille=True,
        satisfaction=2.5,
        aides="caf",
        lieu={"lat": 95, "lon": 2},
        heure="25:00:00",
        quand="2024-03-12T14:30:00",  # no offset
        jour="2024-02-30",
        photo="not-a-sha",
        recit=["a list"],
    )
    found = codes(spec, answers)
    for name in (
        "age",
        "taille",
        "satisfaction",
        "aides",
        "lieu",
        "heure",
        "quand",
        "jour",
        "photo",
        "recit",
    ):
        assert ("type", name, "") in found, name
    by_item = {p.item: p for p in problems(spec, answers)}
    assert by_item["age"].fr == "« Âge » (age) : un nombre entier est attendu"
    assert by_item["age"].en == '"Age" (age): a whole number is expected'
    assert by_item["jour"].fr.endswith("une date AAAA-MM-JJ est attendue")


def test_integral_floats_are_integers_and_huge_numbers_are_refused(spec: Any) -> None:
    answers = essai_answers()
    answers["age"] = 34.0
    answers["satisfaction"] = 3.0
    assert problems(spec, answers) == []
    answers["age"] = 10**30
    answers["taille"] = 10**400
    assert codes(spec, answers)[:2] == [("type", "age", ""), ("type", "taille", "")]


def test_text_limits_and_nul_characters(spec: Any) -> None:
    answers = essai_answers()
    answers["dept"] = "6" * 4001
    answers["recit"] = "a\x00b"
    found = codes(spec, answers)
    assert ("too_long", "dept", "") in found
    assert ("type", "recit", "") in found


def test_required_and_conditional_required_inside_repeats(spec: Any) -> None:
    answers = essai_answers()
    del answers["age"]
    del answers["type_logement"]  # its group is not relevant without an age: not required
    del answers["double_age"]
    del answers["membres"][1]["prenom"]
    del answers["membres"][1]["ecole"]  # required from the second member on
    del answers["membres"][1]["enfants"]
    del answers["membres"][1]["nb_enfants_membre"]
    found = codes(spec, answers)
    assert found == [
        ("required", "age", ""),
        ("required", "prenom", "membres.2"),
        ("required", "ecole", "membres.2"),
    ]


def test_required_message_of_the_spec_is_used() -> None:
    compiled = compiled_text(
        "spec: 1\nkind: questionnaire\nname: essai\ntitle: Essai\nitems:\n"
        "  - {name: nom, type: text, label: Nom, required: true,"
        " required_message: {fr: 'Le nom est indispensable.', en: 'The name is needed.'}}\n"
    )
    [problem] = problems(compiled, {})
    assert problem.as_dict() == {
        "code": "required",
        "item": "nom",
        "instance": "",
        "message": {
            "fr": "« Nom » (nom) : Le nom est indispensable.",
            "en": '"Nom" (nom): The name is needed.',
        },
    }


def test_constraints_bind_the_value_and_use_the_spec_message(spec: Any) -> None:
    answers = essai_answers()
    answers["age"] = 130
    answers["double_age"] = 260
    answers["jour"] = "2024-03-16"  # after TODAY
    answers["membres"][1]["enfants"][1]["note_enfant"] = 21
    found = problems(spec, answers)
    assert [(p.code, p.item, p.instance) for p in found] == [
        ("constraint", "age", ""),
        ("constraint", "jour", ""),
        ("constraint", "note_enfant", "membres.2/enfants.2"),
    ]
    assert found[0].fr == "« Âge » (age) : Un âge entre 0 et 129 ans."
    assert found[0].en == '"Age" (age): An age between 0 and 129.'
    assert found[2].fr == (
        "« Note » (note_enfant) [bloc membres.2/enfants.2] : "
        "la réponse ne respecte pas la condition « . <= 20 »"
    )


def test_today_defaults_to_the_latest_date_on_earth(spec: Any) -> None:
    answers = essai_answers()
    answers["jour"] = (dt.datetime.now(dt.UTC) + dt.timedelta(hours=12)).date().isoformat()
    assert validate_response(spec, answers, attachments=ATTACHMENTS) == []
    answers["jour"] = (dt.datetime.now(dt.UTC) + dt.timedelta(days=3)).date().isoformat()
    assert [p.code for p in validate_response(spec, answers, attachments=ATTACHMENTS)] == ["constraint"]


def test_choice_problems(spec: Any) -> None:
    answers = essai_answers()
    answers["aides"] = ["caf", "caf"]
    del answers["aides_other"]
    answers["priorites"] = ["emploi", "loisirs"]
    answers["satisfaction"] = 7
    answers["avis_delais"] = "bof"
    answers["commune"] = "paris"  # filtered out: dept is 69
    answers["membres"][1]["enfants"][0]["classe"] = "cm2"
    found = problems(spec, answers)
    assert [(p.code, p.item, p.instance) for p in found] == [
        ("choice", "aides", ""),
        ("choice", "priorites", ""),
        ("choice", "satisfaction", ""),
        ("choice", "avis_delais", ""),
        ("choice", "classe", "membres.2/enfants.1"),
        ("choice", "commune", ""),
    ]
    messages = {p.item: p.fr for p in found}
    assert messages["priorites"].endswith("« loisirs » n'est pas un choix de la liste")
    assert messages["commune"].endswith(
        "le choix « paris » n'est pas proposé avec les réponses données (filtre des choix)"
    )


def test_choice_filter_sees_the_choice_properties_and_the_other_answers(spec: Any) -> None:
    answers = essai_answers()
    answers.update(dept="75", commune="paris")
    assert problems(spec, answers) == []
    del answers["dept"]
    assert codes(spec, answers) == [("choice", "commune", "")]


def test_a_sensitive_item_never_echoes_its_value(spec: Any) -> None:
    compiled = compiled_text(
        "spec: 1\nkind: questionnaire\nname: essai\ntitle: Essai\nitems:\n"
        "  - {name: sante, type: single_choice, label: Santé, sensitive: true,"
        " choices: [{value: a, label: A}]}\n"
    )
    [problem] = problems(compiled, {"sante": "diabete"})
    assert problem.code == "choice"
    assert "diabete" not in problem.fr and "diabete" not in problem.en


def test_consent_must_be_ok(spec: Any) -> None:
    answers = essai_answers()
    answers["consentement"] = "oui"
    assert codes(spec, answers) == [("consent", "consentement", "")]
    answers["consentement"] = True
    assert codes(spec, answers) == [("type", "consentement", "")]
    del answers["consentement"]
    assert codes(spec, answers) == [("required", "consentement", "")]


def test_unknown_and_misplaced_keys(spec: Any) -> None:
    answers = essai_answers()
    answers["inconnu"] = 1
    answers["prenom"] = "Awa"  # belongs to the repeat
    answers["fin"] = "lu"  # a note
    answers["logement"] = {}  # a group
    answers["enfants"] = []  # a nested repeat at the top
    answers["membres"][0]["age"] = 3  # a top-level item inside a block
    found = problems(spec, answers)
    # in the order of the keys (the block of "membres" comes before the keys added after it)
    assert [(p.code, p.item, p.instance) for p in found] == [
        ("unknown_item", "age", "membres.1"),
        ("unknown_item", "inconnu", ""),
        ("unknown_item", "prenom", ""),
        ("unknown_item", "fin", ""),
        ("unknown_item", "logement", ""),
        ("unknown_item", "enfants", ""),
    ]
    assert found[0].en.endswith(
        "this item is at the top level of the answers: its answer is not in the right place"
    )
    assert found[1].en == '"inconnu": no item of this name in the form'
    assert found[2].fr.endswith(
        "cette question se trouve dans la répétition « membres » : sa réponse n'est pas à cette place"
    )
    assert found[3].fr == "« fin » : c'est une note : il n'attend pas de réponse"


def test_hostile_keys_are_cut_in_problems(spec: Any) -> None:
    answers = essai_answers()
    answers["x" * 10_000] = 1
    [problem] = problems(spec, answers)
    assert problem.code == "unknown_item"
    assert problem.item is not None and len(problem.item) == 64
    assert len(problem.fr) < 300


def test_answers_to_items_that_do_not_apply(spec: Any) -> None:
    answers = essai_answers()
    answers["age"] = 12  # the housing group does not apply to a minor
    answers["double_age"] = 24
    answers["aides"] = ["caf"]  # aides_other does not apply any more
    answers["membres"][0]["ecole"] = "no"
    answers["membres"][0]["enfants"] = [{"classe": "cp"}]
    found = problems(spec, answers)
    assert [(p.code, p.item, p.instance) for p in found] == [
        ("not_relevant", "aides_other", ""),
        ("not_relevant", "type_logement", ""),
        ("not_relevant", "enfants", "membres.1"),
    ]
    assert found[1].fr == (
        "« Type de logement » (type_logement) : une réponse est donnée alors que la question "
        "ne s'applique pas (condition d'affichage fausse)"
    )


def test_repeat_min_max_and_count(spec: Any) -> None:
    answers = essai_answers()
    answers["nb_membres"] = 0
    answers["membres"] = []
    answers["nb_prenoms"] = 0
    assert codes(spec, answers) == [("repeat_min", "membres", "")]
    answers["nb_membres"] = 5
    answers["membres"] = [{"prenom": f"P{i}", "ecole": "no"} for i in range(5)]
    answers["nb_prenoms"] = 4  # only the first 4 blocks (the max) are read
    found = problems(spec, answers)
    assert [(p.code, p.item) for p in found] == [("repeat_max", "membres")]
    assert found[0].fr == "« Membres » (membres) : 5 blocs : 4 au plus"
    answers["nb_membres"] = 3
    answers["membres"] = answers["membres"][:2]
    answers["nb_prenoms"] = 2
    found = problems(spec, answers)
    assert [(p.code, p.item) for p in found] == [("repeat_count", "membres")]
    assert found[0].en == '"Membres" (membres): 2 block(s) where 3 are expected'


def test_nested_repeat_max_names_the_enclosing_block(spec: Any) -> None:
    answers = essai_answers()
    answers["membres"][1]["enfants"] = [{"classe": "cp"}] * 4
    answers["membres"][1]["nb_enfants_membre"] = 3  # only the first 3 blocks (its max) are read
    assert codes(spec, answers) == [("repeat_max", "enfants", "membres.2")]


def test_repeat_and_block_shapes(spec: Any) -> None:
    answers = essai_answers()
    answers["membres"] = {"prenom": "Awa"}
    answers["nb_prenoms"] = 0
    assert codes(spec, answers) == [("type", "membres", "")]  # no count to check
    answers = essai_answers()
    answers["membres"][1] = ["Malik"]
    answers["nb_prenoms"] = 2  # the broken block counts in count()
    found = codes(spec, answers)
    # the broken block counts as a block but its content is not checked
    assert found == [("type", "membres", "membres.2")]


def test_attachment_references(spec: Any) -> None:
    answers = essai_answers()
    assert codes(spec, answers, attachments=[]) == [("attachment_missing_ref", "photo", "")]
    other = attachment("d" * 64, "photo")
    assert codes(spec, answers, attachments=[other]) == [("attachment_missing_ref", "photo", "")]
    assert codes(spec, answers, attachments=[attachment(SHA_PHOTO, "photo")]) == []


def test_malformed_attachment_lists(spec: Any) -> None:
    answers = essai_answers()
    bad = [
        attachment(SHA_PHOTO, "photo"),
        {"sha256": "A" * 64, "media_type": "image/png", "size": 1, "item": "photo"},
        {"sha256": "e" * 64, "media_type": "", "size": -1},
        "f" * 64,
    ]
    found = codes(spec, answers, attachments=bad)
    assert found == [
        ("attachment_invalid", None, "attachments.2"),
        ("attachment_invalid", None, "attachments.3"),
        ("attachment_invalid", None, "attachments.4"),
    ]
    assert codes(spec, answers, attachments={"sha256": SHA_PHOTO}) == [
        ("attachment_invalid", None, ""),
        ("attachment_missing_ref", "photo", ""),
    ]


def test_calculations_are_recomputed_and_device_differences_reported(spec: Any) -> None:
    answers = essai_answers()
    answers["double_age"] = 70
    answers["membres"][1]["rang"] = 1
    answers["membres"][1]["nb_enfants_membre"] = "2"  # the same number written as text
    answers["nb_prenoms"] = 2.0000000001  # within 1e-9 relative
    found = problems(spec, answers)
    assert [(p.code, p.item, p.instance) for p in found] == [
        ("calculation", "double_age", ""),
        ("calculation", "rang", "membres.2"),
    ]
    assert found[0].fr.endswith("la valeur du serveur est retenue")
    computed = computed_answers(spec, answers, today=TODAY)
    assert computed["double_age"] == 68
    assert computed["membres"][1]["rang"] == 2
    assert computed["membres"][1]["nb_enfants_membre"] == 2
    assert computed["nb_prenoms"] == 2


def test_missing_calculations_are_filled_in_and_not_reported(spec: Any) -> None:
    answers = essai_answers()
    for key in ("double_age", "nb_prenoms"):
        del answers[key]
    for block in answers["membres"]:
        del block["rang"], block["nb_enfants_membre"]
    assert problems(spec, answers) == []
    assert computed_answers(spec, answers, today=TODAY) == essai_answers()


def test_calculations_that_do_not_apply_are_emptied() -> None:
    compiled = compiled_text(
        "spec: 1\nkind: questionnaire\nname: essai\ntitle: Essai\nitems:\n"
        "  - {name: age, type: integer, label: Âge}\n"
        "  - name: adulte\n    type: group\n    label: Adulte\n    relevant: '${age} >= 18'\n    items:\n"
        "      - {name: age_mois, type: calculate, calculation: '${age} * 12'}\n"
        "  - {name: total, type: calculate, calculation: 'coalesce(${age_mois}, 0) + 1'}\n"
    )
    assert computed_answers(compiled, {"age": 20}) == {"age": 20, "age_mois": 240, "total": 241}
    assert computed_answers(compiled, {"age": 10}) == {"age": 10, "total": 1}
    assert codes(compiled, {"age": 10, "age_mois": 120, "total": 121}) == [
        ("calculation", "age_mois", ""),
        ("calculation", "total", ""),
    ]


def test_repeat_fields_are_lists_outside_the_repeat_and_values_inside() -> None:
    compiled = compiled_text(
        "spec: 1\nkind: questionnaire\nname: essai\ntitle: Essai\nitems:\n"
        "  - {name: seuil, type: integer, label: Seuil}\n"
        "  - name: m\n    type: repeat\n    label: M\n    items:\n"
        "      - {name: n, type: integer, label: N, constraint: '. >= ${seuil}'}\n"
        "      - {name: rang, type: calculate, calculation: 'position(..) * 10 + ${n}'}\n"
        "      - name: e\n        type: repeat\n        label: E\n        items:\n"
        "          - {name: x, type: integer, label: X}\n"
        "      - {name: somme_x, type: calculate, calculation: 'sum(${x})'}\n"
        "  - {name: total, type: calculate, calculation: 'sum(${n})'}\n"
        "  - {name: tous_x, type: calculate, calculation: 'sum(${x})'}\n"
        "  - {name: nb, type: calculate, calculation: 'count(${rang})'}\n"
    )
    answers = {"seuil": 2, "m": [{"n": 3, "e": [{"x": 1}, {"x": 2}]}, {"n": 1, "e": [{"x": 5}]}]}
    assert computed_answers(compiled, answers) == {
        "seuil": 2,
        "m": [
            {"n": 3, "e": [{"x": 1}, {"x": 2}], "rang": 13, "somme_x": 3},
            {"n": 1, "e": [{"x": 5}], "rang": 21, "somme_x": 5},
        ],
        "total": 4,
        "tous_x": 8,
        "nb": 2,
    }
    assert codes(compiled, answers) == [("constraint", "n", "m.2")]


def test_time_dependent_calculations_keep_the_device_value() -> None:
    compiled = compiled_text(
        "spec: 1\nkind: questionnaire\nname: essai\ntitle: Essai\nitems:\n"
        "  - {name: jour, type: calculate, calculation: 'today()'}\n"
        "  - {name: lendemain, type: calculate, calculation: '${jour} + 1'}\n"
    )
    answers = {"jour": "2024-03-02", "lendemain": "2024-03-03"}
    assert problems(compiled, answers) == []
    assert computed_answers(compiled, answers) == answers
    assert computed_answers(compiled, {}, today=TODAY) == {"jour": "2024-03-15", "lendemain": "2024-03-16"}
    assert computed_answers(compiled, {"jour": ["2024-03-02"]}, today=TODAY)["jour"] == "2024-03-15"


def test_metadata_keys_and_values(spec: Any) -> None:
    answers = essai_answers()
    ok = {"start": "2024-03-12T10:00:00+01:00", "end": "2024-03-12T10:20:00Z", "deviceid": "pwa-1"}
    assert problems(spec, answers, metadata=ok) == []
    found = problems(spec, answers, metadata={"start": "hier", "username": "awa", "deviceid": 3})
    assert [(p.code, p.item) for p in found] == [
        ("metadata.invalid", None),
        ("metadata.unknown", None),
        ("metadata.invalid", None),
    ]
    assert found[1].fr == (
        "Métadonnée « username » non demandée par le questionnaire (demandées : deviceid, end, start)."
    )
    assert codes(spec, answers, metadata=["start"]) == [("metadata.invalid", None, "")]


def test_interview_data_only_for_guides(spec: Any) -> None:
    assert codes(spec, essai_answers(), interview={"audience": "usagers"}) == [
        ("interview.not_expected", None, "")
    ]
    guide = example_index("guide_epn")
    assert codes(guide, guide_answers(), interview=None) == [("interview.missing", None, "")]


def test_guide_themes_not_offered_to_the_audience_do_not_apply() -> None:
    guide = example_index("guide_epn")
    answers = guide_answers()
    answers["structure__notes"] = "Association de quartier"  # a managers' theme
    answers["type_porteur"] = "association"
    assert codes(guide, answers, interview=guide_interview()) == [
        ("not_relevant", "structure__notes", ""),
        ("not_relevant", "type_porteur", ""),
    ]
    # without a valid audience every theme applies (the audience itself is reported)
    assert codes(guide, answers, interview=guide_interview(audience="elus")) == [
        ("interview.audience", None, "")
    ]


def test_interview_consent_and_recording() -> None:
    guide = example_index("guide_epn")
    answers = guide_answers()

    def found(interview: Any, attachments: Any = ATTACHMENTS) -> list[tuple[str, str | None, str]]:
        return codes(guide, answers, interview=interview, attachments=attachments)

    assert found(guide_interview()) == []
    notes_only = guide_interview(recording=None)
    notes_only["consent"].update(mode="notes_only", refusal_notes="Ne souhaite pas être enregistré.")
    for entry in notes_only["timeline"]:
        entry["recording_start"] = entry["recording_end"] = None
    assert found(notes_only) == []
    # a recording without recording consent
    no_consent = copy.deepcopy(notes_only)
    no_consent["recording"] = {"sha256": SHA_RECORDING, "started_at": "2024-03-12T10:01:00+01:00"}
    assert ("interview.recording", None, "") in found(no_consent)
    # the recording must be one of the record's attachments
    assert found(guide_interview(), attachments=ATTACHMENTS[:2]) == [("attachment_missing_ref", None, "")]
    # refusal notes only with notes_only; consent details required
    bad = guide_interview()
    bad["consent"].update(refusal_notes="?", given_at="hier", collected_by="")
    assert found(bad) == [("interview.consent", None, "")] * 3
    # an unknown mode is not "recording": the recording is reported too
    assert found(guide_interview(consent={"mode": "video"})) == [
        *[("interview.consent", None, "")] * 3,
        ("interview.recording", None, ""),
    ]
    assert found(guide_interview(consent=None)) == [
        ("interview.consent", None, ""),
        ("interview.recording", None, ""),
    ]
    assert found(guide_interview(recording={"sha256": "x", "started_at": 3})) == [
        ("interview.recording", None, ""),
        ("interview.recording", None, ""),
    ]


def test_recording_not_allowed_by_a_notes_only_guide() -> None:
    guide = compiled_text(
        "spec: 1\nkind: interview_guide\nname: guide\ntitle: Guide\n"
        "audiences: [{name: usagers, label: Usagers}]\n"
        "consent: {mode: notes_only, text: 'Accord ?'}\n"
        "themes:\n  - {name: accueil, title: Accueil, question: 'Comment ?'}\n"
    )
    interview = {
        "audience": "usagers",
        "consent": {"mode": "recording", "given_at": "2024-03-12T10:00:00Z", "collected_by": "Moi"},
        "recording": None,
        "timeline": [{"theme": "accueil", "start": 0, "end": 10}],
    }
    assert codes(guide, {"accueil__covered": "yes"}, interview=interview) == [
        ("interview.recording_not_allowed", None, "")
    ]


def test_interview_timeline() -> None:
    guide = example_index("guide_epn")
    answers = guide_answers()
    interview = guide_interview()
    interview["timeline"] += [
        {"theme": "inconnu", "start": 0, "end": 1, "recording_start": 0, "recording_end": 1},
        {"theme": "structure", "start": 0, "end": 1, "recording_start": 0, "recording_end": 1},
        {"theme": "missions", "start": -1, "end": 1, "recording_start": 0, "recording_end": 1},
        {"theme": "missions", "start": 5, "end": 4, "recording_start": 0, "recording_end": 1},
        {"theme": "missions", "start": 5, "end": True, "recording_start": 0, "recording_end": 1},
        {"theme": "missions", "start": 0, "end": 1},
        {"theme": "missions", "start": 0, "end": 1, "recording_start": 0, "recording_end": 1, "x": 1},
        "missions",
    ]
    found = problems(guide, answers, interview=interview)
    assert [(p.code, p.item, p.instance) for p in found] == [
        ("interview.theme", None, "timeline.4"),
        ("interview.theme", "structure", "timeline.5"),
        ("interview.offsets", "missions", "timeline.6"),
        ("interview.offsets", "missions", "timeline.7"),
        ("interview.offsets", "missions", "timeline.8"),
        ("interview.recording_offsets", "missions", "timeline.9"),
        ("interview.invalid", None, "timeline.10"),
        ("interview.invalid", None, "timeline.11"),
    ]
    assert found[1].fr == "Déroulé : le thème « structure » n'est pas proposé au public « usagers »."
    unrecorded = guide_interview(recording=None)
    assert [p.code for p in problems(guide, answers, interview=unrecorded)] == [
        "interview.recording_offsets"
    ] * 3


def test_interview_shapes() -> None:
    guide = example_index("guide_epn")
    answers = guide_answers()
    assert codes(guide, answers, interview=["usagers"]) == [("interview.invalid", None, "")]
    assert codes(guide, answers, interview=guide_interview(extra=1)) == [("interview.invalid", None, "")]
    assert codes(guide, answers, interview=guide_interview(timeline={"a": 1})) == [
        ("interview.invalid", None, "")
    ]
    assert codes(guide, answers, interview=guide_interview(timeline=[])) == []
    entry = {"theme": "missions", "start": 0, "end": 1, "recording_start": 0, "recording_end": 1}
    assert codes(guide, answers, interview=guide_interview(timeline=[entry] * 600)) == [
        ("interview.invalid", None, "")
    ]
    # entries past the bound are not read
    past = guide_interview(timeline=[entry] * 500 + [{"theme": "inconnu"}])
    assert codes(guide, answers, interview=past) == [("interview.invalid", None, "")]


# --- bounds and hostile input ------------------------------------------------------------------------------


def test_problem_list_is_bounded(spec: Any) -> None:
    answers = {f"inconnu_{i}": i for i in range(1000)}
    found = problems(spec, answers)
    assert len(found) == MAX_PROBLEMS + 1
    assert found[-1].code == "too_many_problems"
    assert found[-1].fr == f"Plus de {MAX_PROBLEMS} problèmes : les suivants ne sont pas listés."
    # the calculations are still computed when the list is full
    answers["age"] = 21
    checked = check_response(spec, answers, attachments=ATTACHMENTS, today=TODAY)
    assert checked.problems[-1].code == "too_many_problems"
    assert checked.answers["double_age"] == 42


def test_repeat_blocks_are_bounded_in_all() -> None:
    compiled = compiled_text(
        "spec: 1\nkind: questionnaire\nname: essai\ntitle: Essai\nitems:\n"
        "  - name: a\n    type: repeat\n    label: A\n    items:\n"
        "      - name: b\n        type: repeat\n        label: B\n        items:\n"
        "          - {name: x, type: integer, label: X}\n"
    )
    answers = {"a": [{"b": [{"x": 1}] * 500}] * 500}
    started = time.perf_counter()
    found = problems(compiled, answers)
    assert time.perf_counter() - started < 10
    assert found == [p for p in found if p.code == "too_large"]
    assert (
        found[0].fr
        == f"La réponse compte plus de {MAX_BLOCKS} blocs répétés : les suivants ne sont pas vérifiés."
    )
    assert computed_answers(compiled, answers)["a"][0]["b"][0] == {"x": 1}


def test_a_huge_repeat_list_is_read_up_to_its_max(spec: Any) -> None:
    answers = essai_answers()
    answers["membres"] = [{"prenom": "A", "ecole": "no"}] * 100_000
    found = codes(spec, answers)
    assert ("repeat_max", "membres", "") in found
    assert ("repeat_count", "membres", "") in found


HOSTILE_VALUES: list[Any] = [
    None,
    True,
    0,
    -1,
    10**300,
    1e308,
    -1e308,
    math.nan,
    math.inf,
    "",
    "NaN",
    "Infinity",
    "-0",
    "1e3",
    "x" * 5000,
    "\x00",
    [],
    [None],
    [[[[[[[[]]]]]]]],
    [1, 2, 3],
    ["caf"] * 50,
    {},
    {"lat": "48", "lon": "2"},
    {"lat": 10**400, "lon": 0},
    {"lat": math.nan, "lon": 0},
    {"a": {"b": {"c": {"d": {}}}}},
]


def nested(depth: int) -> Any:
    value: Any = "x"
    for _ in range(depth):
        value = {"membres": [value]}
    return value


@pytest.mark.parametrize("value", HOSTILE_VALUES, ids=repr)
def test_hostile_values_for_every_item_never_raise(spec: Any, value: Any) -> None:
    index = spec
    answers: dict[str, Any] = {name: value for name in index.fields}
    answers["membres"] = [dict(answers), value, [value]]
    answers["membres"][0]["enfants"] = [dict(answers), value]
    for found in (
        validate_response(index, answers, attachments=[value], metadata=value, interview=value),
        check_response(index, answers, attachments=value, metadata={"start": value}, today=TODAY).problems,
    ):
        assert all(isinstance(p, Problem) and p.fr and p.en for p in found)
        json.dumps([p.as_dict() for p in found])
    assert isinstance(computed_answers(index, answers, interview=value), dict)


@pytest.mark.parametrize("value", HOSTILE_VALUES, ids=repr)
def test_hostile_interview_parts_never_raise(value: Any) -> None:
    guide = example_index("guide_epn")
    variants = [
        value,
        {"audience": value, "consent": value, "recording": value, "timeline": value},
        guide_interview(timeline=[value, {"theme": value, "start": value, "end": value}]),
        guide_interview(consent={k: value for k in ("mode", "given_at", "collected_by", "refusal_notes")}),
        guide_interview(recording={"sha256": value, "started_at": value}),
    ]
    for interview in variants:
        found = validate_response(guide, {"missions__notes": value}, interview=interview, attachments=value)
        json.dumps([p.as_dict() for p in found])


@pytest.mark.parametrize("answers", [None, [], "réponses", 3, [{"age": 3}], nested(60)], ids=repr)
def test_answers_that_are_not_an_object(spec: Any, answers: Any) -> None:
    found = codes(spec, answers)
    if isinstance(answers, dict):
        assert ("unknown_item", "membres", "") not in found
    else:
        assert found == [("type", None, "")]
        assert computed_answers(spec, answers) == {}


def test_problem_messages_are_bilingual_and_json_ready(spec: Any) -> None:
    for template_fr, template_en in MESSAGES.values():
        assert template_fr and template_en
    answers = essai_answers()
    answers["nb_membres"] = -1
    [problem] = problems(spec, answers)
    assert json.loads(json.dumps(problem.as_dict())) == problem.as_dict()
    with pytest.raises(AttributeError):
        problem.code = "x"  # type: ignore[misc]


def test_validation_of_a_diagnostic_is_fast() -> None:
    """The target is well under 1 ms per response (docs/responses.md); this only catches gross regressions
    on a loaded test machine."""
    index = example_index("diagnostic_familles")
    answers = SAMPLES["diagnostic_familles"][0]()
    assert validate_response(index, answers, today=TODAY) == []
    started = time.process_time()
    for _ in range(200):
        validate_response(index, answers, today=TODAY)
    assert (time.process_time() - started) / 200 < 0.01


def test_the_compiled_example_is_not_modified_by_indexing() -> None:
    compiled = example("diagnostic_familles")
    before = json.dumps(compiled, sort_keys=True)
    index_for(compiled)
    assert json.dumps(compiled, sort_keys=True) == before


# --- the catalogue of codes ---------------------------------------------------------------------------


def test_every_problem_code_is_produced_and_documented(spec: Any) -> None:
    guide = example_index("guide_epn")
    seen: set[str] = set()

    def run(index: Any, answers: Any, **kw: Any) -> None:
        seen.update(p.code for p in problems(index, answers, **kw))

    broken = essai_answers()
    broken.update(
        age="34",  # type
        dept="x" * 4001,  # too_long
        priorites=["x"],  # choice
        consentement="non",  # consent
        nb_membres=1,  # repeat_count (2 blocks)
        aides=["caf"],  # not_relevant (aides_other)
        inconnu=1,  # unknown_item
        double_age=1,  # calculation
        photo="e" * 64,  # attachment_missing_ref
        jour="2099-01-01",  # constraint
    )
    del broken["membres"][0]["prenom"]  # required
    run(spec, broken, attachments=[{"sha256": 1}], metadata={"x": 1, "start": 2})
    run(spec, dict(essai_answers(), nb_membres=0, membres=[]))  # repeat_min
    run(spec, dict(essai_answers(), membres=[{}] * 6))  # repeat_max
    run(spec, essai_answers(), interview={})  # interview.not_expected
    run(guide, guide_answers())  # interview.missing
    bad = guide_interview(audience="x", extra=1, recording={"sha256": "x"})
    bad["consent"] = {"mode": "notes_only"}
    bad["timeline"] = [{"theme": "inconnu", "start": 2, "end": 1, "recording_start": None}]
    run(guide, guide_answers(), interview=bad)
    notes_only = compiled_text(
        "spec: 1\nkind: interview_guide\nname: guide\ntitle: Guide\n"
        "audiences: [{name: usagers, label: Usagers}]\n"
        "themes:\n  - {name: accueil, title: Accueil, question: 'Comment ?'}\n"
    )
    run(notes_only, {}, interview={"audience": "usagers", "consent": {"mode": "recording"}})
    nested_repeats = compiled_text(
        "spec: 1\nkind: questionnaire\nname: essai\ntitle: Essai\nitems:\n"
        "  - name: a\n    type: repeat\n    label: A\n    items:\n"
        "      - name: b\n        type: repeat\n        label: B\n        items:\n"
        "          - {name: x, type: integer, label: X}\n"
    )
    run(nested_repeats, {"a": [{"b": [{}] * 500}] * 11})  # too_large
    run(spec, {f"k{i}": i for i in range(300)})  # too_many_problems
    assert seen == set(PROBLEM_CODES)

    doc = (Path(__file__).resolve().parents[2] / "docs" / "responses.md").read_text(encoding="utf-8")
    documented = re.findall(r"^\| `([a-z_.]+)` \| (?:yes|null|repeat|theme)", doc, flags=re.M)
    assert sorted(documented) == sorted(PROBLEM_CODES)
