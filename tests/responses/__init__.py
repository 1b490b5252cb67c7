"""Shared material of the responses tests: compiled specs and realistic answers (valid ones)."""

from __future__ import annotations

import copy
import datetime as dt
from functools import cache
from pathlib import Path
from typing import Any

from terrain.responses.values import SpecIndex, index_for
from terrain.speclang import compile_file, compile_text, render

SPECS_DIR = Path(__file__).resolve().parents[2] / "survey_specs"
TODAY = dt.date(2024, 3, 15)
SHA_PHOTO = "a" * 64
SHA_SIGNATURE = "b" * 64
SHA_RECORDING = "c" * 64


def attachment(sha: str, item: str | None, media_type: str = "image/jpeg") -> dict[str, Any]:
    return {"sha256": sha, "media_type": media_type, "size": 123_456, "item": item}


def compiled_text(text: str) -> dict[str, Any]:
    result = compile_text(text)
    assert result.ok, [render(i, "fr") for i in result.issues]
    assert result.compiled is not None
    return result.compiled


@cache
def example(name: str) -> dict[str, Any]:
    result = compile_file(SPECS_DIR / f"{name}.yaml")
    assert result.ok, [render(i, "fr") for i in result.issues]
    assert result.compiled is not None
    return result.compiled


@cache
def example_index(name: str) -> SpecIndex:
    return index_for(example(name))


# --- a small spec that uses every kind of item ----------------------------------------------------------

ESSAI = """\
spec: 1
kind: questionnaire
name: essai_reponses
title: {fr: "Essai des réponses", en: "Answers trial"}
languages: [fr, en]
metadata: [start, end, deviceid]
choice_lists:
  communes:
    - {value: paris, label: Paris, filter: {dept: "75"}}
    - {value: lyon, label: Lyon, filter: {dept: "69"}}
  note_5:
    - {value: 1, label: Mal}
    - {value: 2, label: Moyen}
    - {value: 3, label: Bien}
  accord:
    - {value: oui, label: Oui}
    - {value: non, label: Non}
items:
  - {name: consentement, type: consent, label: {fr: "La personne accepte", en: "The person agrees"}}
  - name: age
    type: integer
    label: {fr: Âge, en: Age}
    required: true
    constraint: ". >= 0 and . < 130"
    constraint_message: {fr: "Un âge entre 0 et 129 ans.", en: "An age between 0 and 129."}
  - {name: taille, type: decimal, label: Taille}
  - {name: nb_membres, type: integer, label: Membres, required: true}
  - name: aides
    type: multiple_choice
    label: Aides
    other: true
    choices: [{value: caf, label: CAF}, {value: rsa, label: RSA}, {value: apl, label: APL}]
  - name: priorites
    type: ranking
    label: Priorités
    choices:
      - {value: logement, label: Logement}
      - {value: emploi, label: Emploi}
      - {value: sante, label: Santé}
  - {name: satisfaction, type: likert, label: Satisfaction, choice_list: note_5}
  - {name: lieu, type: geopoint, label: Lieu}
  - {name: dept, type: text, label: Département}
  - name: commune
    type: single_choice
    label: Commune
    choice_list: communes
    choice_filter: "dept = ${dept}"
  - {name: recit, type: long_text, label: Récit}
  - {name: heure, type: time, label: Heure}
  - {name: quand, type: datetime, label: Quand}
  - {name: jour, type: date, label: Jour, constraint: ". <= today()"}
  - {name: photo, type: photo, label: Photo}
  - name: avis
    type: matrix
    label: Avis
    choice_list: accord
    rows: [{name: avis_accueil, label: Accueil}, {name: avis_delais, label: Délais}]
  - name: logement
    type: group
    label: Logement
    relevant: "${age} >= 18"
    items:
      - name: type_logement
        type: single_choice
        label: Type de logement
        required: true
        choices: [{value: maison, label: Maison}, {value: appartement, label: Appartement}]
  - {name: double_age, type: calculate, calculation: "${age} * 2"}
  - name: membres
    type: repeat
    label: Membres
    count: "${nb_membres}"
    min: 1
    max: 4
    items:
      - {name: rang, type: calculate, calculation: "position(..)"}
      - {name: prenom, type: text, label: Prénom, required: true, sensitive: true}
      - {name: ecole, type: yes_no, label: École, required: "${rang} > 1"}
      - name: enfants
        type: repeat
        label: Enfants
        max: 3
        relevant: "${ecole} = 'yes'"
        items:
          - name: classe
            type: single_choice
            label: Classe
            choices: [{value: cp, label: CP}, {value: ce1, label: CE1}]
          - {name: note_enfant, type: integer, label: Note, constraint: ". <= 20"}
      - {name: nb_enfants_membre, type: calculate, calculation: "count(${classe})"}
  - {name: nb_prenoms, type: calculate, calculation: "count(${prenom})"}
  - {name: fin, type: note, label: "Merci"}
"""


def essai() -> dict[str, Any]:
    return compiled_text(ESSAI)


def essai_answers() -> dict[str, Any]:
    """A valid response to ESSAI."""
    return {
        "consentement": "OK",
        "age": 34,
        "taille": 1.72,
        "nb_membres": 2,
        "aides": ["caf", "other"],
        "aides_other": "Chèque énergie",
        "priorites": ["emploi", "logement"],
        "satisfaction": 3,
        "lieu": {"lat": 48.8566, "lon": 2.3522, "accuracy": 12.5},
        "dept": "69",
        "commune": "lyon",
        "recit": "Arrivée en janvier.",
        "heure": "14:30:00",
        "quand": "2024-03-12T14:30:00+01:00",
        "jour": "2024-03-12",
        "photo": SHA_PHOTO,
        "avis_accueil": "oui",
        "avis_delais": "non",
        "type_logement": "appartement",
        "double_age": 68,
        "membres": [
            {"rang": 1, "prenom": "Awa", "nb_enfants_membre": 0},
            {
                "rang": 2,
                "prenom": "Malik",
                "ecole": "yes",
                "enfants": [{"classe": "cp", "note_enfant": 15}, {"classe": "ce1"}],
                "nb_enfants_membre": 2,
            },
        ],
        "nb_prenoms": 2,
    }


# --- realistic answers of the example specs ---------------------------------------------------------------


def diagnostic_answers() -> dict[str, Any]:
    """A household of five (five repeat blocks), about 2 KB of JSON."""
    membres = [
        {
            "numero_membre": 1,
            "prenom_initiales": "M. D.",
            "tranche_age": "de_25_59",
            "sexe": "feminin",
            "age_scolaire": 0,
            "non_scolarise": 0,
            "situation_activite": "sans_activite",
        },
        {
            "numero_membre": 2,
            "prenom_initiales": "J. D.",
            "tranche_age": "de_25_59",
            "sexe": "masculin",
            "lien_parente": "conjoint",
            "age_scolaire": 0,
            "non_scolarise": 0,
            "situation_activite": "independant",
        },
        {
            "numero_membre": 3,
            "prenom_initiales": "Léa",
            "tranche_age": "de_6_10",
            "sexe": "feminin",
            "lien_parente": "enfant",
            "age_scolaire": 1,
            "scolarisation": "etablissement",
            "niveau_scolaire": "elementaire",
            "assiduite": "reguliere",
            "soutien_scolaire": "yes",
            "non_scolarise": 0,
        },
        {
            "numero_membre": 4,
            "prenom_initiales": "Tom",
            "tranche_age": "de_11_15",
            "sexe": "masculin",
            "lien_parente": "enfant",
            "age_scolaire": 1,
            "scolarisation": "non_scolarise",
            "freins_scolarisation": ["depart_prevu", "other"],
            "freins_scolarisation_other": "En attente d'une place",
            "non_scolarise": 1,
        },
        {
            "numero_membre": 5,
            "prenom_initiales": "Sam",
            "tranche_age": "moins_3",
            "lien_parente": "enfant",
            "age_scolaire": 0,
            "non_scolarise": 0,
        },
    ]
    return {
        "consentement": "OK",
        "date_diagnostic": "2024-03-12",
        "composition": "couple_avec_enfants",
        "nb_personnes": 5,
        "nb_enfants": 3,
        "nb_adultes": 2,
        "duree_sejour": "de_3_6_mois",
        "motif_installation": ["scolarisation", "sante"],
        "prolongation_demandee": "yes",
        "aires_precedentes": "yes",
        "nb_aires_precedentes": "deux_trois",
        "membres": membres,
        "nb_enfants_age_scolaire": 2,
        "nb_enfants_non_scolarises": 1,
        "accompagnement_recu": ["demarches", "scolarite", "other"],
        "accompagnement_recu_other": "Médiation scolaire",
        "referent_identifie": "yes",
        "structure_referente": "ccas",
        "domiciliation": "ccas",
        "couverture_maladie": "partielle",
        "complementaire_sante": "css",
        "prestations_caf": ["allocations_familiales", "ars"],
        "droits_a_ouvrir": "yes",
        "droits_a_ouvrir_detail": "Renouvellement de la complémentaire santé solidaire",
        "besoins_exprimes": ["scolarisation", "habitat", "numerique"],
        "observations": "Famille installée depuis quatre mois ; l'aîné attend une place au collège. " * 4,
    }


def satisfaction_answers() -> dict[str, Any]:
    return {
        "consentement": "OK",
        "service": "aide_alimentaire",
        "lieu_aide_alimentaire": "epicerie_sociale",
        "anciennete": "moins_6_mois",
        "orientation": "other",
        "orientation_other": "Une voisine",
        "sat_accueil": "tres_satisfait",
        "sat_ecoute": "satisfait",
        "sat_disponibilite": "peu_satisfait",
        "sat_delais": "pas_satisfait",
        "sat_information": "satisfait",
        "sat_confidentialite": "tres_satisfait",
        "sat_equite": "sans_avis",
        "nb_insatisfactions": 2,
        "ameliorations": "Les délais pour un rendez-vous.",
        "engagements_expliques": "yes",
        "secret_explique": "no",
        "copie_documents": "pas_concerne",
        "satisfaction_globale": 2,
        "raisons_insatisfaction": ["attente", "horaires"],
        "recommanderait": "yes",
        "entretien_collectif": "yes",
        "contact": "06 12 34 56 78",
        "commentaires": "Merci à l'équipe.",
    }


def progression_answers() -> dict[str, Any]:
    answers: dict[str, Any] = {
        "consentement": "OK",
        "code_suivi": "AB-2024-17",
        "dispositif": "chantier_nature",
        "type_bilan": "intermediaire",
        "date_entree": "2023-09-04",
        "date_entretien": "2024-03-01",
        "modalites_evaluation": ["autoevaluation", "encadrant_technique"],
        "periode_entreprise": "yes",
        "retour_employeur": 3,
        "priorites": ["projet", "mobilite", "sante"],
        "date_prochain_bilan": "2024-06-01",
        "observations": "Progrès nets sur la ponctualité.",
        "bilan_relu": "yes",
        "signature_personne": SHA_SIGNATURE,
    }
    for row in ("prendre_soin_de_soi", "rythmes_travail", "savoir_etre", "accepter_autorite"):
        answers[row] = "en_cours"
    for row in ("integration_equipe", "communication", "demarches_administratives"):
        answers[row] = "acquis"
    levels = {"comportemental": (1, 3), "social": (2, 3), "psychologique": (2, 2), "professionnel": (2, 4)}
    for axis, (entry, now) in levels.items():
        answers[f"entree_{axis}"] = entry
        answers[f"actuel_{axis}"] = now
    answers.update(score_actuel=12, score_entree=7, progression=5)
    return answers


def journal_answers() -> dict[str, Any]:
    return {
        "type_activite": "lecture",
        "date_activite": "2024-03-13",
        "heure_debut": "14:00:00",
        "duree_minutes": 90,
        "lieu": "salle_activite",
        "partenaires": ["mediatheque"],
        "activite_realisee": "yes",
        "filles_0_5": 0,
        "garcons_0_5": 0,
        "filles_6_11": 4,
        "garcons_6_11": 3,
        "filles_12_17": 0,
        "garcons_12_17": 2,
        "femmes": 2,
        "hommes": 0,
        "nb_enfants": 9,
        "nb_participants": 11,
        "familles_touchees": 5,
        "observation": "Lecture d'albums, bonne participation des plus jeunes.",
        "photo": SHA_PHOTO,
    }


def guide_answers() -> dict[str, Any]:
    return {
        "usager_profil__notes": "Vient surtout pour ses démarches.",
        "usager_profil__covered": "yes",
        "frequence_venue": "hebdomadaire",
        "maturite_technique": "avec_aide",
        "equipe_domicile": "no",
        "connaissance_epn__notes": "Par l'assistante sociale.",
        "connaissance_epn__covered": "yes",
        "canal_connaissance": ["orientation"],
        "accompagnement__notes": "Se sent bien accompagné.",
        "accompagnement__covered": "yes",
        "qualite_accueil": 5,
        "qualite_accompagnement": 4,
        "usage_actuel__covered": "yes",
        "motif_actuel": ["demarches", "emploi"],
        "missions__notes": "L'EPN aide à faire les démarches.",
        "missions__covered": "yes",
        "changements__covered": "no",
    }


def guide_interview(**changes: Any) -> dict[str, Any]:
    interview: dict[str, Any] = {
        "audience": "usagers",
        "consent": {
            "mode": "recording",
            "given_at": "2024-03-12T10:00:00+01:00",
            "collected_by": "Animatrice de l'EPN",
        },
        "recording": {"sha256": SHA_RECORDING, "started_at": "2024-03-12T10:01:00+01:00"},
        "timeline": [
            {
                "theme": "usager_profil",
                "start": 60.0,
                "end": 300.5,
                "recording_start": 0.0,
                "recording_end": 240.5,
            },
            {
                "theme": "accompagnement",
                "start": 300.5,
                "end": 900,
                "recording_start": 240.5,
                "recording_end": 840,
            },
            {"theme": "missions", "start": 900, "end": 1500, "recording_start": 840, "recording_end": 1440},
        ],
    }
    interview.update(changes)
    return copy.deepcopy(interview)


SAMPLES = {
    "diagnostic_familles": (diagnostic_answers, {"start": "2024-03-12T10:00:00+01:00", "end": None}),
    "satisfaction_usagers": (satisfaction_answers, None),
    "grille_progression": (progression_answers, None),
    "journal_animations": (journal_answers, {"start": "2024-03-13T14:00:00+01:00", "deviceid": "pwa-7f3a"}),
    "guide_epn": (guide_answers, None),
}
ATTACHMENTS = [
    attachment(SHA_PHOTO, "photo"),
    attachment(SHA_SIGNATURE, "signature_personne", "image/png"),
    attachment(SHA_RECORDING, None, "audio/webm"),
]
