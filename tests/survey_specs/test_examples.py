"""The example specs of ``survey_specs/`` compile cleanly and their logic does what the field expects.

Logic is checked on the compiled trees with the shared evaluator, as the PWA will run it: relevance
(skip logic), constraints (``.`` is the item's value) and calculations on sample answers.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

import pytest

from terrain.expressions import EvalContext, evaluate
from terrain.speclang import compile_file, render

SPECS_DIR = Path(__file__).resolve().parents[2] / "survey_specs"
EXAMPLES = (
    "diagnostic_familles",
    "guide_epn",
    "journal_animations",
    "satisfaction_usagers",
    "grille_progression",
)
NOW = dt.datetime(2024, 3, 15, 10, 30, tzinfo=dt.UTC)
# Never asked in social work (CNIL): these words must not name an item.
FORBIDDEN_WORDS = ("origine", "nationalite", "religion", "ethni", "date_naissance", "provenance")


def _compile(name: str) -> Any:
    return compile_file(SPECS_DIR / f"{name}.yaml")


class _Compiled(dict):
    """Compiled examples by name, compiled on first use (a broken spec fails only its own tests)."""

    def __missing__(self, name: str) -> dict[str, Any]:
        result = _compile(name)
        assert result.ok, [render(i, "fr") for i in result.issues]
        self[name] = result.compiled
        return result.compiled


@pytest.fixture(scope="module")
def compiled() -> dict[str, dict[str, Any]]:
    return _Compiled()


def _walk(items: list[dict[str, Any]] | None):
    for item in items or []:
        yield item
        yield from _walk(item.get("items"))


def _all_items(spec: dict[str, Any]):
    yield from _walk(spec.get("items"))
    for theme in spec.get("themes") or []:
        yield from _walk(theme.get("items"))


def find(spec: dict[str, Any], name: str) -> dict[str, Any]:
    """The compiled item called ``name`` anywhere in the spec (groups, repeats, guide themes)."""
    for item in _all_items(spec):
        if item["name"] == name:
            return item
    raise KeyError(name)


def ev(expr: dict[str, Any], answers: dict[str, Any] | None = None, current: Any = None, **kw: Any) -> Any:
    ctx = EvalContext(answers=answers or {}, current=current, now=NOW, **kw)
    return evaluate(expr["ast"], ctx)


def relevant(spec, name, answers) -> bool:
    return bool(ev(find(spec, name)["relevant"], answers))


def accepts(spec, name, value, answers=None) -> bool:
    return bool(ev(find(spec, name)["constraint"], answers, current=value))


def calc(spec, name, answers) -> Any:
    return ev(find(spec, name)["calculation"], answers)


# --- every example ----------------------------------------------------------------------------------


@pytest.mark.parametrize("name", EXAMPLES)
def test_example_compiles_without_errors_or_warnings(name: str) -> None:
    result = _compile(name)
    assert result.ok, [render(i, "fr") for i in result.issues]
    assert [render(i, "fr") for i in result.issues] == []
    assert result.compiled["name"] == name
    assert result.compiled["languages"] == ["fr", "en"]


@pytest.mark.parametrize("name", EXAMPLES)
def test_example_labels_are_translated(compiled, name: str) -> None:
    spec = compiled[name]
    for item in _all_items(spec):
        if item.get("label") is not None:
            assert item["label"].get("en"), item["name"]
        for row in item.get("rows") or []:
            assert row["label"].get("en"), row["name"]
    for values in spec["choice_lists"].values():
        for choice in values:
            assert choice["label"].get("en"), choice["value"]


@pytest.mark.parametrize("name", EXAMPLES)
def test_example_never_asks_origin_nationality_or_religion(compiled, name: str) -> None:
    for field in compiled[name]["fields"]:
        assert not any(word in field for word in FORBIDDEN_WORDS), field


@pytest.mark.parametrize(
    ("name", "field"),
    [
        ("diagnostic_familles", "observations"),
        ("journal_animations", "observation"),
        ("grille_progression", "observations"),
    ],
)
def test_professional_notes_remind_to_stay_factual(compiled, name: str, field: str) -> None:
    item = find(compiled[name], field)
    assert item["type"] == "long_text"
    assert "factuel" in item["hint"]["fr"]
    assert "factual" in item["hint"]["en"]


# --- diagnostic_familles ------------------------------------------------------------------------------


def test_diagnostic_members_repeat_once_per_household_member(compiled) -> None:
    spec = compiled["diagnostic_familles"]
    membres = find(spec, "membres")
    assert membres["type"] == "repeat"
    assert membres["count"]["src"] == "${nb_personnes}"
    assert ev(membres["count"], {"nb_personnes": 5}) == 5
    fields = spec["fields"]
    assert fields["prenom_initiales"]["repeat"] == "membres"
    assert fields["prenom_initiales"]["sensitive"] is True
    assert fields["tranche_age"]["type"] == "single_choice"  # an age band, never a birth date


def test_diagnostic_schooling_asked_only_for_school_age_children(compiled) -> None:
    spec = compiled["diagnostic_familles"]
    for band, expected in [("moins_3", 0), ("de_3_5", 1), ("de_11_15", 1), ("de_16_17", 1), ("de_25_59", 0)]:
        assert calc(spec, "age_scolaire", {"tranche_age": band}) == expected, band
    assert relevant(spec, "scolarite", {"age_scolaire": 1})
    assert not relevant(spec, "scolarite", {"age_scolaire": 0})
    assert relevant(spec, "assiduite", {"scolarisation": "etablissement"})
    assert not relevant(spec, "assiduite", {"scolarisation": "non_scolarise"})
    assert relevant(spec, "freins_scolarisation", {"scolarisation": "non_scolarise"})
    assert not relevant(spec, "freins_scolarisation", {"scolarisation": "cned"})
    assert relevant(spec, "situation_activite", {"tranche_age": "de_25_59"})
    assert not relevant(spec, "situation_activite", {"tranche_age": "de_6_10"})


def test_diagnostic_non_schooled_child_is_counted(compiled) -> None:
    spec = compiled["diagnostic_familles"]
    assert calc(spec, "non_scolarise", {"age_scolaire": 1, "scolarisation": "non_scolarise"}) == 1
    assert calc(spec, "non_scolarise", {"age_scolaire": 1, "scolarisation": "etablissement"}) == 0
    assert calc(spec, "non_scolarise", {"age_scolaire": 0, "scolarisation": None}) == 0


def test_diagnostic_household_totals_over_members(compiled) -> None:
    spec = compiled["diagnostic_familles"]
    members = {"age_scolaire": [0, 0, 1, 1, 1], "non_scolarise": [0, 0, 1, 0, 1]}
    assert calc(spec, "nb_enfants_age_scolaire", members) == 3
    assert calc(spec, "nb_enfants_non_scolarises", members) == 2
    assert calc(spec, "nb_enfants_non_scolarises", {"non_scolarise": []}) == 0
    order = spec["calculation_order"]
    assert order.index("non_scolarise") < order.index("nb_enfants_non_scolarises")


def test_diagnostic_household_counts(compiled) -> None:
    spec = compiled["diagnostic_familles"]
    assert calc(spec, "nb_adultes", {"nb_personnes": 6, "nb_enfants": 4}) == 2
    assert calc(spec, "nb_adultes", {"nb_personnes": 2, "nb_enfants": None}) == 2
    assert accepts(spec, "nb_enfants", 4, {"nb_personnes": 6})
    assert accepts(spec, "nb_enfants", 0, {"nb_personnes": 6})
    assert not accepts(spec, "nb_enfants", 6, {"nb_personnes": 6})  # at least one adult
    assert not accepts(spec, "nb_enfants", -1, {"nb_personnes": 6})
    assert not accepts(spec, "nb_personnes", 3, {"composition": "personne_seule"})
    assert accepts(spec, "nb_personnes", 1, {"composition": "personne_seule"})
    assert not accepts(spec, "nb_personnes", 0, {"composition": "couple_avec_enfants"})
    assert not relevant(spec, "nb_enfants", {"composition": "couple_sans_enfant"})
    assert relevant(spec, "nb_enfants", {"composition": "monoparentale"})


def test_diagnostic_reference_person_and_relationship(compiled) -> None:
    spec = compiled["diagnostic_familles"]
    assert ev(find(spec, "numero_membre")["calculation"], position=1) == 1
    assert ev(find(spec, "numero_membre")["calculation"], position=3) == 3
    assert not relevant(spec, "lien_parente", {"numero_membre": 1})
    assert relevant(spec, "lien_parente", {"numero_membre": 2})
    assert not accepts(spec, "tranche_age", "de_6_10", {"numero_membre": 1})
    assert accepts(spec, "tranche_age", "de_25_59", {"numero_membre": 1})
    assert accepts(spec, "tranche_age", "de_6_10", {"numero_membre": 3})


def test_diagnostic_previous_areas_and_exclusive_none(compiled) -> None:
    spec = compiled["diagnostic_familles"]
    assert relevant(spec, "nb_aires_precedentes", {"aires_precedentes": "yes"})
    assert not relevant(spec, "nb_aires_precedentes", {"aires_precedentes": "no"})
    assert accepts(spec, "accompagnement_recu", ["demarches", "sante"])
    assert accepts(spec, "accompagnement_recu", ["aucun"])
    assert not accepts(spec, "accompagnement_recu", ["aucun", "sante"])
    assert not relevant(spec, "referent_identifie", {"accompagnement_recu": ["aucun"]})
    assert relevant(spec, "structure_referente", {"referent_identifie": "yes"})
    assert find(spec, "accompagnement_recu")["other"] is True
    assert "accompagnement_recu_other" in spec["fields"]


def test_diagnostic_date_not_in_future(compiled) -> None:
    spec = compiled["diagnostic_familles"]
    assert accepts(spec, "date_diagnostic", "2024-03-15")
    assert not accepts(spec, "date_diagnostic", "2024-03-16")


# --- guide_epn -----------------------------------------------------------------------------------------


def _themes(spec):
    return {t["name"]: t for t in spec["themes"]}


def test_guide_three_audiences_and_their_themes(compiled) -> None:
    spec = compiled["guide_epn"]
    assert [a["name"] for a in spec["audiences"]] == ["gestionnaires", "animateurs", "usagers"]
    per_audience = {
        a: [t["name"] for t in spec["themes"] if a in t["audiences"]]
        for a in ("gestionnaires", "animateurs", "usagers")
    }
    assert per_audience["gestionnaires"] == [
        "structure",
        "missions",
        "moyens",
        "outils_evaluation",
        "publics_eloignes",
    ]
    assert per_audience["animateurs"] == [
        "animateur_profil",
        "missions",
        "connaissance_publics",
        "outils_evaluation",
        "fonctionnement_espace",
        "publics_eloignes",
        "perspectives",
    ]
    assert per_audience["usagers"] == [
        "usager_profil",
        "connaissance_epn",
        "premiere_venue",
        "accompagnement",
        "usage_actuel",
        "missions",
        "publics_eloignes",
        "changements",
    ]
    for audience, names in per_audience.items():
        total = sum(_themes(spec)[n]["duration"] for n in names)
        assert 40 <= total <= 75, (audience, total)


def test_guide_consent_wording_prompts_and_fields(compiled) -> None:
    spec = compiled["guide_epn"]
    assert spec["consent"]["mode"] == "recording_allowed"
    themes = _themes(spec)
    assert set(themes["missions"]["wording"]) == {"animateurs", "usagers"}
    prompts = [p["fr"] for p in themes["changements"]["prompts"]]
    assert prompts == [
        "Si vous travailliez dans l'EPN",
        "Si l'EPN venait à fermer",
        "Si Internet n'existait plus",
    ]
    assert {n for n, t in themes.items() if t["key"]} == {
        "missions",
        "outils_evaluation",
        "accompagnement",
        "changements",
    }
    for name in themes:
        assert f"{name}__notes" in spec["fields"]
        assert f"{name}__covered" in spec["fields"]


def test_guide_structured_items_logic(compiled) -> None:
    spec = compiled["guide_epn"]
    assert find(spec, "qualite_accompagnement")["type"] == "likert"
    assert relevant(spec, "accompagnement_a_ameliorer", {"qualite_accompagnement": 2})
    assert not relevant(spec, "accompagnement_a_ameliorer", {"qualite_accompagnement": 4})
    assert not relevant(spec, "motif_actuel", {"frequence_venue": "premiere_visite"})
    assert relevant(spec, "motif_actuel", {"frequence_venue": "hebdomadaire"})
    assert relevant(spec, "comite_frequence", {"comite_pilotage": "yes"})
    assert not accepts(spec, "etp_animation", -0.5)
    assert accepts(spec, "etp_animation", 1.5)
    assert not accepts(spec, "outils_en_place", ["aucun", "charte"])


# --- journal_animations --------------------------------------------------------------------------------


COUNTS = (
    "filles_0_5",
    "garcons_0_5",
    "filles_6_11",
    "garcons_6_11",
    "filles_12_17",
    "garcons_12_17",
    "femmes",
    "hommes",
)


def test_journal_entry_title_and_kind(compiled) -> None:
    spec = compiled["journal_animations"]
    assert spec["kind"] == "observation_log"
    assert spec["entry_title"] is not None
    assert "type_activite" in str(spec["entry_title"])
    assert "site" not in spec["fields"]  # the reception area comes from the response metadata


@pytest.mark.parametrize("name", COUNTS)
def test_journal_counts_reject_negative(compiled, name: str) -> None:
    spec = compiled["journal_animations"]
    assert accepts(spec, name, 0)
    assert accepts(spec, name, 12)
    assert not accepts(spec, name, -1)


def test_journal_totals_and_families(compiled) -> None:
    spec = compiled["journal_animations"]
    answers = {"filles_6_11": 4, "garcons_6_11": 3, "garcons_12_17": 2, "femmes": 2, "filles_0_5": None}
    answers["nb_enfants"] = calc(spec, "nb_enfants", answers)
    assert answers["nb_enfants"] == 9
    answers["nb_participants"] = calc(spec, "nb_participants", answers)
    assert answers["nb_participants"] == 11
    assert accepts(spec, "familles_touchees", 5, answers)
    assert not accepts(spec, "familles_touchees", 12, answers)
    assert not accepts(spec, "familles_touchees", 0, answers)
    assert not accepts(spec, "familles_touchees", -1, answers)
    assert accepts(spec, "familles_touchees", 0, {"nb_participants": 0})


def test_journal_cancelled_activity_skips_counts(compiled) -> None:
    spec = compiled["journal_animations"]
    assert relevant(spec, "motif_annulation", {"activite_realisee": "no"})
    assert not relevant(spec, "participants", {"activite_realisee": "no"})
    assert relevant(spec, "participants", {"activite_realisee": "yes"})
    assert not accepts(spec, "duree_minutes", 0)
    assert not accepts(spec, "date_activite", "2024-04-01")


# --- satisfaction_usagers ------------------------------------------------------------------------------


def test_satisfaction_matrix_rows_are_fields(compiled) -> None:
    spec = compiled["satisfaction_usagers"]
    matrix = find(spec, "qualite_service")
    rows = [r["name"] for r in matrix["rows"]]
    assert {"sat_accueil", "sat_ecoute", "sat_delais", "sat_confidentialite"} <= set(rows)
    for row in rows:
        assert spec["fields"][row]["value_type"] == "string"


def test_satisfaction_dissatisfaction_count_drives_improvements(compiled) -> None:
    spec = compiled["satisfaction_usagers"]
    answers = {"sat_accueil": "tres_satisfait", "sat_ecoute": "peu_satisfait", "sat_delais": "pas_satisfait"}
    assert calc(spec, "nb_insatisfactions", answers) == 2
    assert calc(spec, "nb_insatisfactions", {"sat_accueil": "satisfait"}) == 0
    assert relevant(spec, "ameliorations", {"nb_insatisfactions": 2})
    assert not relevant(spec, "ameliorations", {"nb_insatisfactions": 0})


def test_satisfaction_skip_logic(compiled) -> None:
    spec = compiled["satisfaction_usagers"]
    assert relevant(spec, "raisons_insatisfaction", {"satisfaction_globale": 1})
    assert not relevant(spec, "raisons_insatisfaction", {"satisfaction_globale": 4})
    assert relevant(spec, "lieu_aide_alimentaire", {"service": "aide_alimentaire"})
    assert not relevant(spec, "lieu_aide_alimentaire", {"service": "insertion"})
    assert relevant(spec, "contact", {"entretien_collectif": "yes"})
    assert not relevant(spec, "contact", {"entretien_collectif": "no"})
    assert spec["fields"]["contact"]["sensitive"] is True
    assert accepts(spec, "contact", "06 12 34 56 78")
    assert accepts(spec, "contact", "prenom@exemple.fr")
    assert not accepts(spec, "contact", "demain")


# --- grille_progression --------------------------------------------------------------------------------


def test_progression_scores(compiled) -> None:
    spec = compiled["grille_progression"]
    answers: dict[str, Any] = {
        "type_bilan": "intermediaire",
        "actuel_comportemental": 3,
        "actuel_social": 3,
        "actuel_psychologique": 2,
        "actuel_professionnel": 4,
        "entree_comportemental": 1,
        "entree_social": 2,
        "entree_psychologique": 2,
        "entree_professionnel": 2,
    }
    answers["score_actuel"] = calc(spec, "score_actuel", answers)
    answers["score_entree"] = calc(spec, "score_entree", answers)
    assert (answers["score_actuel"], answers["score_entree"]) == (12, 7)
    assert calc(spec, "progression", answers) == 5
    entry = {"type_bilan": "entree", "score_actuel": 9}
    assert calc(spec, "score_entree", entry) == 9


def test_progression_entry_levels_only_after_entry(compiled) -> None:
    spec = compiled["grille_progression"]
    for name in ("entree_comportemental", "entree_social", "entree_psychologique", "entree_professionnel"):
        assert not relevant(spec, name, {"type_bilan": "entree"})
        assert relevant(spec, name, {"type_bilan": "sortie"})
    assert relevant(spec, "situation_sortie", {"type_bilan": "sortie"})
    assert not relevant(spec, "priorites", {"type_bilan": "sortie"})
    assert relevant(
        spec, "retour_employeur", {"periode_entreprise": "no", "dispositif": "mise_a_disposition"}
    )
    assert not relevant(
        spec, "retour_employeur", {"periode_entreprise": "no", "dispositif": "chantier_nature"}
    )


def test_progression_constraints(compiled) -> None:
    spec = compiled["grille_progression"]
    assert accepts(spec, "date_entretien", "2024-03-01", {"date_entree": "2023-09-04"})
    assert not accepts(spec, "date_entretien", "2023-08-01", {"date_entree": "2023-09-04"})
    assert not accepts(spec, "date_entretien", "2024-04-01", {"date_entree": "2023-09-04"})
    assert not accepts(spec, "modalites_evaluation", ["encadrant_technique"])
    assert accepts(spec, "modalites_evaluation", ["autoevaluation", "utilisateur"])
    assert not accepts(spec, "priorites", ["sante", "logement"])
    assert accepts(spec, "priorites", ["projet", "mobilite", "sante"])
    assert find(spec, "priorites")["type"] == "ranking"
    assert spec["fields"]["code_suivi"]["sensitive"] is True
