"""Realistic synthetic records of survey_specs/diagnostic_familles.yaml, for the sync benchmarks and the
sync fault tests (tests/sync_faults load this file by path).

A record is what the PWA sends: the household (composition, sizes consistent with the members), one
repeat block per member (age band, sex, relationship, schooling for the 3-17, work for adults), the
multiple choices of support, rights and needs (with an occasional "other" text), some free text, and the
device's calculated values. About 2 KB of JSON. Generated answers are valid; ``invalid_every`` makes one
record in N break a constraint (the server keeps it as ``needs_review``), as field data does.
"""

from __future__ import annotations

import json
import random
import uuid
from datetime import date, datetime, timedelta, timezone
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
SPEC_PATH = ROOT / "survey_specs" / "diagnostic_familles.yaml"
SPEC_NAME = "diagnostic_familles"

CHILD_AGES = ["moins_3", "de_3_5", "de_6_10", "de_11_15", "de_16_17"]
ADULT_AGES = ["de_18_24", "de_25_59", "de_25_59", "de_25_59", "plus_60"]
SCHOOL_AGES = {"de_3_5", "de_6_10", "de_11_15", "de_16_17"}
LEVEL_BY_AGE = {
    "de_3_5": ["maternelle"],
    "de_6_10": ["elementaire"],
    "de_11_15": ["college", "segpa_ulis"],
    "de_16_17": ["lycee", "college"],
}
_NAMES = (
    "Léa Tom Jade Louis Emma Hugo Manon Jules Chloé Nathan Sarah Enzo Inès Lucas Rose Théo Zoé Noah Lina Adam"
)
FIRST_NAMES = [*_NAMES.split(), "M.D.", "J.-P.", "A.L."]
OBSERVATIONS = [
    "Famille rencontrée sur l'emplacement, entretien dans la caravane.",
    "La mère souhaite un rendez-vous avec l'assistante sociale pour le renouvellement des droits.",
    "Les enfants fréquentent l'accompagnement scolaire du mercredi.",
    "Demande d'aide pour l'inscription au collège à la rentrée ; documents à rassembler.",
    "Le ménage envisage de quitter l'aire à la fin du mois.",
    "Orientation vers la PMI pour le suivi du plus jeune.",
    "Besoin d'un accès à internet pour les démarches en ligne.",
    "Domiciliation au CCAS à renouveler avant la fin de l'année.",
]
OTHER_TEXTS = ["Rapprochement d'un proche hospitalisé", "Travaux saisonniers", "Fête familiale", "Mariage"]
TZ = timezone(timedelta(hours=1))


def spec_source() -> str:
    return SPEC_PATH.read_text(encoding="utf-8")


def _some(rng: random.Random, choices: list[str], low: int, high: int) -> list[str]:
    return rng.sample(choices, rng.randint(low, min(high, len(choices))))


def _member(rng: random.Random, position: int, age: str) -> dict[str, Any]:
    school = age in SCHOOL_AGES
    member: dict[str, Any] = {
        "numero_membre": position,
        "prenom_initiales": rng.choice(FIRST_NAMES),
        "tranche_age": age,
        "sexe": rng.choice(["feminin", "masculin"]),
        "age_scolaire": 1 if school else 0,
    }
    if position > 1:
        member["lien_parente"] = (
            "enfant"
            if age in CHILD_AGES
            else rng.choice(["conjoint", "conjoint", "ascendant", "frere_soeur"])
        )
    status = None
    if school:
        status = rng.choices(
            ["etablissement", "cned", "instruction_famille", "inscription_en_cours", "non_scolarise"],
            weights=[70, 12, 4, 6, 8],
        )[0]
        member["scolarisation"] = status
        if status in ("etablissement", "cned"):
            member["niveau_scolaire"] = rng.choice(LEVEL_BY_AGE[age])
        if status == "etablissement":
            member["assiduite"] = rng.choices(["reguliere", "irreguliere", "occasionnelle"], [70, 20, 10])[0]
        if status in ("non_scolarise", "inscription_en_cours"):
            member["freins_scolarisation"] = _some(
                rng, ["delai_inscription", "depart_prevu", "transport", "fournitures", "apprehension"], 1, 3
            )
        member["soutien_scolaire"] = rng.choice(["yes", "no"])
    member["non_scolarise"] = 1 if status == "non_scolarise" else 0
    if age in ("de_18_24", "de_25_59", "plus_60"):
        member["situation_activite"] = (
            "retraite"
            if age == "plus_60"
            else rng.choice(["independant", "independant", "salarie", "recherche_emploi", "sans_activite"])
        )
    return member


def answers(rng: random.Random, today: date) -> dict[str, Any]:
    """One household's answers, consistent with every relevance, requirement and constraint of the spec,
    calculations included (as the PWA computes them)."""
    composition = rng.choices(
        ["personne_seule", "couple_sans_enfant", "couple_avec_enfants", "monoparentale", "elargie"],
        weights=[10, 12, 45, 18, 15],
    )[0]
    if composition == "personne_seule":
        adults, children = 1, 0
    elif composition == "couple_sans_enfant":
        adults, children = 2, 0
    elif composition == "couple_avec_enfants":
        adults, children = 2, rng.randint(1, 6)
    elif composition == "monoparentale":
        adults, children = 1, rng.randint(1, 5)
    else:
        adults, children = rng.randint(3, 5), rng.randint(1, 6)
    ages = [rng.choice(ADULT_AGES) for _ in range(adults)] + [rng.choice(CHILD_AGES) for _ in range(children)]
    members = [_member(rng, position, age) for position, age in enumerate(ages, 1)]
    size = adults + children
    out: dict[str, Any] = {
        "consentement": "OK",
        "date_diagnostic": (today - timedelta(days=rng.randint(0, 60))).isoformat(),
        "composition": composition,
        "nb_personnes": size,
    }
    if composition not in ("personne_seule", "couple_sans_enfant"):
        out["nb_enfants"] = children
    out["nb_adultes"] = size - children
    stay = rng.choice(["moins_1_mois", "de_1_3_mois", "de_3_6_mois", "de_6_12_mois", "plus_1_an"])
    out["duree_sejour"] = stay
    reasons = _some(rng, ["scolarisation", "sante", "activite_pro", "famille", "halte", "other"], 1, 3)
    out["motif_installation"] = reasons
    if "other" in reasons:
        out["motif_installation_other"] = rng.choice(OTHER_TEXTS)
    if stay != "moins_1_mois":
        out["prolongation_demandee"] = rng.choice(["yes", "no"])
    out["aires_precedentes"] = rng.choice(["yes", "no"])
    if out["aires_precedentes"] == "yes":
        out["nb_aires_precedentes"] = rng.choice(["une", "deux_trois", "quatre_plus"])
    out["membres"] = members
    out["nb_enfants_age_scolaire"] = sum(member["age_scolaire"] for member in members)
    out["nb_enfants_non_scolarises"] = sum(member["non_scolarise"] for member in members)
    if rng.random() < 0.1:
        support = ["aucun"]
    else:
        support = _some(
            rng,
            ["accompagnement_global", "referent_rsa", "demarches", "scolarite", "sante", "emploi", "budget"],
            1,
            4,
        )
    out["accompagnement_recu"] = support
    if support != ["aucun"]:
        out["referent_identifie"] = rng.choice(["yes", "yes", "no"])
        if out["referent_identifie"] == "yes":
            out["structure_referente"] = rng.choice(["ccas", "departement", "centre_social", "association"])
    out["domiciliation"] = rng.choice(["ccas", "ccas", "organisme_agree", "en_cours", "aucune"])
    out["couverture_maladie"] = rng.choice(["tous", "tous", "tous", "partielle", "aucune", "ne_sait_pas"])
    if out["couverture_maladie"] in ("tous", "partielle"):
        out["complementaire_sante"] = rng.choice(["css", "css", "mutuelle", "en_cours", "aucune"])
    out["prestations_caf"] = _some(
        rng, ["allocations_familiales", "ars", "rsa", "prime_activite", "aah"], 1, 3
    )
    out["droits_a_ouvrir"] = rng.choice(["yes", "no", "no"])
    if out["droits_a_ouvrir"] == "yes":
        out["droits_a_ouvrir_detail"] = rng.choice(
            ["Renouvellement CSS", "Carte vitale du dernier enfant", "AAH"]
        )
    needs = _some(
        rng, ["scolarisation", "sante", "droits", "demarches", "emploi", "habitat", "numerique"], 1, 4
    )
    out["besoins_exprimes"] = needs
    out["observations"] = " ".join(rng.sample(OBSERVATIONS, rng.randint(1, 3)))
    return out


def record(
    rng: random.Random, *, site: str, version: int = 1, today: date | None = None, invalid: bool = False
) -> dict[str, Any]:
    """One record as pushed (random UUID from ``rng``: reproducible with a seeded generator)."""
    today = today or date.today()
    body = answers(rng, today)
    if invalid:  # a household bigger than the spec allows: kept, flagged needs_review
        body["nb_personnes"] = 31
    day = datetime.fromisoformat(body["date_diagnostic"]).replace(hour=9, tzinfo=TZ)
    start = day + timedelta(minutes=rng.randint(0, 480))
    end = start + timedelta(minutes=rng.randint(15, 70))
    return {
        "id": str(uuid.UUID(int=rng.getrandbits(128), version=4)),
        "spec": SPEC_NAME,
        "version": version,
        "site": site,
        "revision": 1,
        "started_at": start.isoformat(),
        "finished_at": end.isoformat(),
        "metadata": {"start": start.isoformat(), "end": end.isoformat()},
        "answers": body,
    }


def records(
    n: int, *, sites: list[str], seed: int = 1, version: int = 1, invalid_every: int = 0
) -> list[dict[str, Any]]:
    rng = random.Random(seed)
    today = date.today()
    return [
        record(
            rng,
            site=sites[index % len(sites)],
            version=version,
            today=today,
            invalid=bool(invalid_every) and index % invalid_every == invalid_every - 1,
        )
        for index in range(n)
    ]


def json_size(items: list[dict[str, Any]]) -> float:
    """Mean size of a record's JSON, in bytes."""
    return sum(len(json.dumps(item, ensure_ascii=False).encode()) for item in items) / max(1, len(items))
