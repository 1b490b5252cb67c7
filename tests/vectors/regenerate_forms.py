"""Write tests/vectors/forms.json: answer sets for the example specs and what the server's validation says.

The PWA's form engine (pwa/src/engine/form/) must agree with ``terrain.responses.validation`` exactly; its
tests run every case of this file (pwa/tests/engine/form/vectors.test.ts), and
tests/vectors/test_form_vectors.py checks that the file is what this script produces.

    .venv/bin/python tests/vectors/regenerate_forms.py           # rewrite the file
    .venv/bin/python tests/vectors/regenerate_forms.py --check   # exit 1 if the file is stale

Each case gives a spec (the compiled examples of survey_specs/, plus two small specs of this file: choice
filters, nested repeats and conditional ``required``; the functions local to the form), ``answers`` as a
device could hold them (hidden answers included), optionally ``lang`` (the engine's language, ``fr`` by
default), and:

- ``problems_raw``: the server's problems on ``answers`` as they are (``not_relevant`` for hidden answers);
- ``sent``: the answers a device sends: hidden answers (and unknown keys) left out until none is left, the
  server's calculations filled in, empty values removed;
- ``problems``: the server's problems on ``sent``.

Problems are ``[code, item, instance]`` sorted. The clock is fixed: today() is ``today`` (the PWA uses
``clock``, the same local date).
"""

from __future__ import annotations

import argparse
import copy
import json
import sys
from datetime import date
from pathlib import Path
from typing import Any

from terrain.responses.validation import computed_answers, validate_response
from terrain.speclang import compile_file, compile_text

ROOT = Path(__file__).resolve().parents[2]
VECTORS = Path(__file__).with_name("forms.json")
TODAY = date(2024, 3, 15)
CLOCK = {"instant": "2024-03-15T10:30:00Z", "timezone": "Europe/Paris"}
EXAMPLES = (
    "diagnostic_familles",
    "satisfaction_usagers",
    "journal_animations",
    "grille_progression",
    "guide_epn",
)
SHA_A = "a" * 64
SHA_B = "b" * 64

# What the examples do not show: choice filters, nested repeats, user-added blocks, conditional required,
# labels and messages with ${...}.
FORMES_TEST = """
spec: 1
kind: questionnaire
name: formes_test
title: {fr: "Formes de test", en: "Test forms"}
languages: [fr, en]
choice_lists:
  depts:
    - {value: "75", label: Paris}
    - {value: "69", label: Rhône}
  communes:
    - {value: paris, label: Paris, filter: {dept: "75"}}
    - {value: lyon, label: Lyon, filter: {dept: "69"}}
    - {value: villeurbanne, label: Villeurbanne, filter: {dept: "69"}}
items:
  - {name: dept, type: single_choice, label: {fr: "Département", en: "County"}, choice_list: depts}
  - name: commune
    type: single_choice
    label: {fr: "Commune (${dept})", en: "Town (${dept})"}
    choice_list: communes
    choice_filter: "dept = ${dept}"
  - name: communes_visitees
    type: multiple_choice
    label: {fr: "Communes visitées", en: "Towns visited"}
    choice_list: communes
    other: true
    choice_filter: "dept = ${dept} or value = ${commune}"
  - name: nb_foyers
    type: integer
    label: {fr: "Nombre de foyers", en: "Households"}
    constraint: ". >= 0 and . <= 5"
  - name: telephone
    type: text
    label: {fr: "Téléphone", en: "Phone"}
    required: "${nb_foyers} > 2"
    required_message:
      fr: "Un téléphone pour ${nb_foyers} foyers."
      en: "A phone for ${nb_foyers} households."
  - name: foyers
    type: repeat
    label: {fr: "Foyer", en: "Household"}
    count: "${nb_foyers}"
    items:
      - name: nom_foyer
        type: text
        label: {fr: "Nom du foyer ${position_foyer}", en: "Household name"}
        required: true
      - {name: position_foyer, type: calculate, calculation: "position(..)"}
      - {name: nb_enfants_foyer, type: integer, label: Enfants, constraint: ". >= 0"}
      - name: enfants
        type: repeat
        label: Enfant
        relevant: "${nb_enfants_foyer} > 0"
        min: 1
        max: 3
        items:
          - {name: age_enfant, type: integer, label: Âge, required: true, constraint: ". < 18"}
          - {name: age_double, type: calculate, calculation: "${age_enfant} * 2"}
      - {name: total_ages, type: calculate, calculation: "sum(${age_enfant})"}
  - {name: total_enfants, type: calculate, calculation: "sum(${nb_enfants_foyer})"}
  - {name: nb_blocs_enfants, type: calculate, calculation: "count(${age_enfant})"}
  - name: visites
    type: repeat
    label: Visite
    min: 1
    max: 2
    items:
      - {name: date_visite, type: date, label: Date, required: true, constraint: ". <= today()"}
      - {name: lieu_visite, type: geopoint, label: Lieu}
  - {name: photo_lieu, type: photo, label: Photo}
  - {name: bilan, type: long_text, label: Bilan, read_only: true}
"""

# The functions that read the form itself: choice-label(), choice-property(), once(), indexed-repeat(),
# selected-at().
FONCTIONS_TEST = """
spec: 1
kind: questionnaire
name: fonctions_test
title: {fr: "Fonctions du formulaire", en: "Form functions"}
languages: [fr, en]
choice_lists:
  couleurs:
    - {value: rouge, label: {fr: Rouge, en: Red}, filter: {famille: chaude}}
    - {value: vert, label: {fr: Vert, en: Green}, filter: {famille: froide}}
    - {value: bleu, label: {fr: Bleu, en: Blue}, filter: {famille: froide}}
items:
  - {name: couleur, type: single_choice, label: {fr: Couleur, en: Colour}, choice_list: couleurs}
  - {name: libelle_couleur, type: calculate, calculation: "choice-label(${couleur}, 'couleurs')"}
  - name: famille_couleur
    type: calculate
    calculation: "choice-property(${couleur}, 'couleurs', 'famille')"
  - name: couleurs_aimees
    type: multiple_choice
    label: {fr: "Couleurs aimées", en: "Colours liked"}
    choice_list: couleurs
  - {name: deuxieme_couleur, type: calculate, calculation: "selected-at(${couleurs_aimees}, 1)"}
  - name: libelle_deuxieme
    type: calculate
    calculation: "choice-label(selected-at(${couleurs_aimees}, 1), 'couleurs')"
  - {name: nb_personnes, type: integer, label: {fr: "Personnes", en: "People"}}
  - {name: nb_initial, type: calculate, calculation: "once(${nb_personnes})"}
  - name: personnes
    type: repeat
    label: {fr: Personne, en: Person}
    items:
      - {name: prenom, type: text, label: {fr: Prénom, en: First name}}
      - {name: age, type: integer, label: {fr: Âge, en: Age}}
      - name: age_precedent
        type: calculate
        calculation: "if(position(..) > 1, indexed-repeat(${age}, ${personnes}, position(..) - 1), '')"
  - {name: premier_prenom, type: calculate, calculation: "indexed-repeat(${prenom}, ${personnes}, 1)"}
"""


def compiled_specs() -> dict[str, dict[str, Any]]:
    specs: dict[str, dict[str, Any]] = {}
    for name in EXAMPLES:
        result = compile_file(ROOT / "survey_specs" / f"{name}.yaml")
        assert result.ok and result.compiled is not None, name
        specs[name] = result.compiled
    result = compile_text(FORMES_TEST, "formes_test.yaml")
    assert result.ok and result.compiled is not None, result.issues
    specs["formes_test"] = result.compiled
    result = compile_text(FONCTIONS_TEST, "fonctions_test.yaml")
    assert result.ok and result.compiled is not None, result.issues
    specs["fonctions_test"] = result.compiled
    return specs


def _interview(audience: str | None) -> dict[str, Any] | None:
    if audience is None:
        return None
    consent = {"mode": "notes_only", "given_at": "2024-03-15T10:00:00+01:00", "collected_by": "Animatrice"}
    return {"audience": audience, "consent": consent, "recording": None, "timeline": []}


def _problems(spec: dict[str, Any], answers: Any, case: dict[str, Any]) -> list[list[Any]]:
    found = validate_response(
        spec,
        answers,
        attachments=case.get("attachments", []),
        interview=_interview(case.get("audience")),
        today=TODAY,
    )
    return sorted([p.code, p.item, p.instance] for p in found)


def _block(answers: dict[str, Any], instance: str) -> dict[str, Any] | None:
    """The object of the block ``membres.2/enfants.1`` ("" is the top level)."""
    block: Any = answers
    for part in instance.split("/") if instance else ():
        name, _, pos = part.rpartition(".")
        blocks = block.get(name) if isinstance(block, dict) else None
        if not isinstance(blocks, list) or not 0 < int(pos) <= len(blocks):
            return None
        block = blocks[int(pos) - 1]
    return block if isinstance(block, dict) else None


def _strip(value: Any) -> Any:
    """Empty values (null, "", []) removed, in blocks too."""
    if isinstance(value, dict):
        return {k: _strip(v) for k, v in value.items() if v is not None and v != "" and v != []}
    if isinstance(value, list):
        return [_strip(v) for v in value]
    return value


def sent_answers(spec: dict[str, Any], case: dict[str, Any]) -> dict[str, Any]:
    """What a device sends: hidden answers and unknown keys left out (repeatedly: leaving one out may hide
    another), device calculations replaced by the server's."""
    answers = copy.deepcopy(case["answers"])
    for _ in range(20):
        dropped = [p for p in _problems(spec, answers, case) if p[0] in ("not_relevant", "unknown_item")]
        if not dropped:
            break
        for _code, item, instance in dropped:
            block = _block(answers, instance)
            if block is not None:
                block.pop(item, None)
    interview = _interview(case.get("audience"))
    return dict(_strip(computed_answers(spec, answers, today=TODAY, interview=interview)))


# --- the cases ----------------------------------------------------------------------------------------

MEMBRE_1 = {
    "prenom_initiales": "A.M.",
    "tranche_age": "de_25_59",
    "sexe": "feminin",
    "situation_activite": "salarie",
}


def _membre(prenom: str, age: str, **more: Any) -> dict[str, Any]:
    return {"prenom_initiales": prenom, "tranche_age": age, "lien_parente": "enfant", **more}


DIAG_BASE: dict[str, Any] = {
    "consentement": "OK",
    "date_diagnostic": "2024-03-12",
    "composition": "couple_avec_enfants",
    "nb_personnes": 3,
    "nb_enfants": 1,
    "duree_sejour": "de_1_3_mois",
    "prolongation_demandee": "no",
    "aires_precedentes": "yes",
    "nb_aires_precedentes": "deux_trois",
    "membres": [
        MEMBRE_1,
        {**_membre("B.M.", "de_25_59"), "lien_parente": "conjoint"},
        _membre("C.M.", "de_6_10", scolarisation="etablissement", niveau_scolaire="elementaire"),
    ],
    "accompagnement_recu": ["demarches"],
    "referent_identifie": "yes",
    "structure_referente": "ccas",
}

SATIS_BASE: dict[str, Any] = {
    "consentement": "OK",
    "service": "acces_droits",
    "anciennete": "moins_6_mois",
    "sat_accueil": "tres_satisfait",
    "sat_ecoute": "satisfait",
    "satisfaction_globale": 4,
}

JOURNAL_BASE: dict[str, Any] = {
    "type_activite": "lecture",
    "date_activite": "2024-03-14",
    "heure_debut": "14:30:00",
    "duree_minutes": 90,
    "lieu": "salle_activite",
    "activite_realisee": "yes",
    "filles_0_5": 2,
    "garcons_6_11": 3,
    "femmes": 2,
    "familles_touchees": 3,
}

GRILLE_BASE: dict[str, Any] = {
    "consentement": "OK",
    "code_suivi": "AB12",
    "dispositif": "chantier_nature",
    "type_bilan": "intermediaire",
    "date_entree": "2023-10-01",
    "date_entretien": "2024-03-01",
    "modalites_evaluation": ["autoevaluation"],
    "prendre_soin_de_soi": "acquis",
    "entree_comportemental": 2,
    "actuel_comportemental": 3,
    "entree_social": 1,
    "actuel_social": 3,
    "entree_psychologique": 2,
    "actuel_psychologique": 2,
    "entree_professionnel": 1,
    "actuel_professionnel": 2,
    "priorites": ["projet", "logement", "sante"],
    "date_prochain_bilan": "2024-06-01",
    "bilan_relu": "yes",
    "signature_personne": SHA_A,
}

FORMES_BASE: dict[str, Any] = {
    "dept": "69",
    "commune": "lyon",
    "communes_visitees": ["lyon", "villeurbanne"],
    "nb_foyers": 2,
    "foyers": [
        {"nom_foyer": "Martin", "nb_enfants_foyer": 2, "enfants": [{"age_enfant": 4}, {"age_enfant": 9}]},
        {"nom_foyer": "Durand", "nb_enfants_foyer": 0},
    ],
    "visites": [{"date_visite": "2024-03-10", "lieu_visite": {"lat": 45.76, "lon": 4.84}}],
}


# What a device in French holds: choice-label() calculations in its language, once() its first value (2, while
# nb_personnes is now 3).
FONCTIONS_BASE: dict[str, Any] = {
    "couleur": "vert",
    "libelle_couleur": "Vert",
    "couleurs_aimees": ["rouge", "bleu"],
    "libelle_deuxieme": "Bleu",
    "nb_personnes": 3,
    "nb_initial": 2,
    "personnes": [{"prenom": "Ana", "age": 30}, {"prenom": "Bo", "age": 5}, {"prenom": "Cy", "age": 41}],
}


def _with(base: dict[str, Any], **changes: Any) -> dict[str, Any]:
    out = copy.deepcopy(base)
    for key, value in changes.items():
        if value is None:
            out.pop(key, None)
        else:
            out[key] = value
    return out


def cases() -> list[dict[str, Any]]:
    diag_members = copy.deepcopy(DIAG_BASE["membres"])
    diag_members[2].update(scolarisation="non_scolarise", freins_scolarisation=["other"])
    diag_members[2]["freins_scolarisation_other"] = "Déménagement"
    diag_members[2]["niveau_scolaire"] = "elementaire"  # hidden once non scolarisé
    guide_base = {"frequence_venue": "hebdomadaire", "qualite_accompagnement": 4, "missions__notes": "Notes."}
    return [
        # diagnostic_familles
        {"id": "diag_valid", "spec": "diagnostic_familles", "answers": DIAG_BASE},
        {"id": "diag_empty", "spec": "diagnostic_familles", "answers": {}},
        {
            "id": "diag_constraints",
            "spec": "diagnostic_familles",
            "answers": _with(
                DIAG_BASE,
                date_diagnostic="2024-03-20",
                nb_enfants=5,
                accompagnement_recu=["aucun", "sante"],
                besoins_exprimes=["aucun", "habitat"],
            ),
        },
        {
            "id": "diag_skip_logic",
            "spec": "diagnostic_familles",
            "answers": _with(
                DIAG_BASE,
                composition="personne_seule",
                nb_personnes=1,
                membres=[MEMBRE_1],
                aires_precedentes="no",
            ),
        },
        {
            "id": "diag_repeat_count",
            "spec": "diagnostic_familles",
            "answers": _with(DIAG_BASE, nb_personnes=4, membres=[MEMBRE_1, _membre("", "moins_3")]),
        },
        {
            "id": "diag_schooling",
            "spec": "diagnostic_familles",
            "answers": _with(DIAG_BASE, membres=diag_members),
        },
        {
            "id": "diag_types",
            "spec": "diagnostic_familles",
            "answers": _with(
                DIAG_BASE,
                nb_personnes="trois",
                duree_sejour="jamais",
                consentement="oui",
                inconnu=1,
                nb_adultes=7,
            ),
        },
        # satisfaction_usagers
        {"id": "satis_valid", "spec": "satisfaction_usagers", "answers": SATIS_BASE},
        {
            "id": "satis_other_matrix",
            "spec": "satisfaction_usagers",
            "answers": _with(
                SATIS_BASE,
                service="other",
                service_other="Atelier",
                sat_delais="pas_satisfait",
                sat_equite="peu_satisfait",
                ameliorations="Plus de créneaux",
                satisfaction_globale=2,
                raisons_insatisfaction=["delais", "other"],
                entretien_collectif="yes",
                contact="pas un contact",
            ),
        },
        {
            "id": "satis_hidden",
            "spec": "satisfaction_usagers",
            "answers": _with(
                SATIS_BASE, service_other="Atelier", ameliorations="Rien", lieu_aide_alimentaire="x"
            ),
        },
        # journal_animations
        {"id": "journal_valid", "spec": "journal_animations", "answers": JOURNAL_BASE},
        {
            "id": "journal_cancelled",
            "spec": "journal_animations",
            "answers": _with(JOURNAL_BASE, activite_realisee="no", motif_annulation="other"),
        },
        {
            "id": "journal_constraints",
            "spec": "journal_animations",
            "answers": _with(JOURNAL_BASE, duree_minutes=0, garcons_6_11=-1, familles_touchees=12),
        },
        # grille_progression
        {
            "id": "grille_valid",
            "spec": "grille_progression",
            "answers": GRILLE_BASE,
            "attachments": [
                {"sha256": SHA_A, "media_type": "image/png", "size": 1200, "item": "signature_personne"}
            ],
        },
        {
            "id": "grille_entry",
            "spec": "grille_progression",
            "answers": _with(
                GRILLE_BASE,
                type_bilan="entree",
                entree_social=None,
                entree_comportemental=None,
                entree_psychologique=None,
                entree_professionnel=None,
                modalites_evaluation=["accompagnateur"],
                priorites=["projet"],
            ),
        },
        {
            "id": "grille_exit_missing_attachment",
            "spec": "grille_progression",
            "answers": _with(GRILLE_BASE, type_bilan="sortie", date_entretien="2023-09-01"),
        },
        # guide_epn
        {
            "id": "guide_usagers",
            "spec": "guide_epn",
            "audience": "usagers",
            "answers": {**guide_base, "motif_actuel": ["other"], "qualite_accueil": 9},
        },
        {
            "id": "guide_usagers_other_audience_answers",
            "spec": "guide_epn",
            "audience": "usagers",
            "answers": {**guide_base, "comite_pilotage": "yes", "structure__notes": "Hors public."},
        },
        {
            "id": "guide_gestionnaires",
            "spec": "guide_epn",
            "audience": "gestionnaires",
            "answers": {
                "structure__covered": "yes",
                "etp_animation": 25.5,
                "nb_postes": 12,
                "outils_en_place": [],
            },
        },
        # formes_test
        {"id": "formes_valid", "spec": "formes_test", "answers": FORMES_BASE},
        {
            "id": "formes_filter",
            "spec": "formes_test",
            "answers": _with(
                FORMES_BASE, dept="75", commune="lyon", communes_visitees=["lyon", "paris", "other"]
            ),
        },
        {
            "id": "formes_repeats",
            "spec": "formes_test",
            "answers": _with(
                FORMES_BASE,
                nb_foyers=3,
                foyers=[
                    {"nom_foyer": "Martin", "nb_enfants_foyer": 1, "enfants": []},
                    {"nb_enfants_foyer": 0, "enfants": [{"age_enfant": 3}]},
                    {
                        "nom_foyer": "Petit",
                        "nb_enfants_foyer": 5,
                        "enfants": [{"age_enfant": a} for a in (1, 19, 7, 8)],
                    },
                ],
                visites=[],
                photo_lieu=SHA_B,
            ),
            "attachments": [{"sha256": SHA_B, "media_type": "image/jpeg", "size": 5, "item": "photo_lieu"}],
        },
        {
            "id": "formes_required_if",
            "spec": "formes_test",
            "answers": _with(
                FORMES_BASE,
                dept=None,
                commune=None,
                communes_visitees=None,
                nb_foyers=9,
                foyers=None,
                visites=[{"date_visite": "2024-04-01", "lieu_visite": {"lat": 95, "lon": 0}}, {}, {}],
            ),
        },
        # fonctions_test: the server has no language, so it keeps the device's value of a choice-label()
        # calculation (without one it computes ''); the engine computes it in the session's language, the
        # case's "lang": the answers hold what a device in that language computed.
        {"id": "fonctions_fr", "spec": "fonctions_test", "lang": "fr", "answers": FONCTIONS_BASE},
        {
            "id": "fonctions_en",
            "spec": "fonctions_test",
            "lang": "en",
            "answers": _with(
                FONCTIONS_BASE,
                libelle_couleur="Green",
                libelle_deuxieme="Blue",
                nb_initial=None,
                personnes=[{"prenom": "Ana", "age": 30}],
            ),
        },
        {
            "id": "fonctions_out_of_range",
            "spec": "fonctions_test",
            "lang": "fr",
            "answers": _with(
                FONCTIONS_BASE,
                couleur="violet",  # not a choice: no label
                libelle_couleur=None,
                couleurs_aimees=["vert"],
                libelle_deuxieme=None,
            ),
        },
    ]


def build() -> dict[str, Any]:
    specs = compiled_specs()
    out_cases = []
    for case in cases():
        spec = specs[case["spec"]]
        sent = sent_answers(spec, case)
        out = dict(case)
        out["problems_raw"] = _problems(spec, case["answers"], case)
        out["sent"] = sent
        out["problems"] = _problems(spec, sent, case)
        out_cases.append(out)
    return {
        "version": 1,
        "today": TODAY.isoformat(),
        "clock": CLOCK,
        "specs": specs,
        "cases": out_cases,
    }


def render(vectors: dict[str, Any]) -> str:
    """One spec per line, one case per line: diffs stay readable."""
    lines = ["{"]
    for key in ("version", "today", "clock"):
        lines.append(f" {json.dumps(key)}: {json.dumps(vectors[key], ensure_ascii=False)},")
    lines.append(' "specs": {')
    specs = vectors["specs"]
    lines.append(
        ",\n".join(
            f"  {json.dumps(name)}: {json.dumps(spec, ensure_ascii=False, separators=(',', ':'))}"
            for name, spec in specs.items()
        )
    )
    lines.append(" },")
    lines.append(' "cases": [')
    lines.append(",\n".join("  " + json.dumps(case, ensure_ascii=False) for case in vectors["cases"]))
    lines.append(" ]")
    lines.append("}")
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--check", action="store_true", help="only report whether the file is up to date")
    args = parser.parse_args(argv)
    new = render(build())
    old = VECTORS.read_text("utf-8") if VECTORS.exists() else ""
    if new == old:
        print(f"{VECTORS.name}: up to date")
        return 0
    if args.check:
        print(f"{VECTORS.name}: stale; run {Path(__file__).name} and review the diff")
        return 1
    VECTORS.write_text(new, "utf-8")
    print(f"{VECTORS.name}: rewritten; review the diff before committing")
    return 0


if __name__ == "__main__":
    sys.exit(main())
