"""Every item type of the spec language, filled in the field app as a field worker would (keyboard, taps,
the camera's file, a drawn signature, the position), sent, and stored by the server with the values and
files it expects."""

from __future__ import annotations

import json
import struct
import wave
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from sqlmodel import Session

from pwa.app import TIMEOUT_MS, assert_accessible, choose, png, sign_in, wait_all_sent
from pwa.harness import SITE, World
from terrain.db import create_db_engine
from terrain.principals import SYSTEM
from terrain.specs import service as specs

ALL_TYPES = """spec: 1
kind: questionnaire
name: tous_les_types
title: {fr: "Tous les types de questions", en: "Every question type"}
languages: [fr, en]
choice_lists:
  echelle: [{value: 1, label: "Pas du tout"}, {value: 2, label: "Un peu"}, {value: 3, label: "Beaucoup"}]
  frequence:
    - {value: jamais, label: Jamais}
    - {value: parfois, label: Parfois}
    - {value: souvent, label: Souvent}
items:
  - {name: accord, type: consent, label: "La personne accepte de répondre."}
  - {name: texte, type: text, label: "Prénom d'usage"}
  - {name: long, type: long_text, label: "Observations"}
  - {name: entier, type: integer, label: "Nombre d'enfants", constraint: ". <= 12"}
  - {name: decimal, type: decimal, label: "Distance en km"}
  - name: choix
    type: single_choice
    label: "Mode de transport"
    choices: [{value: pied, label: "À pied"}, {value: bus, label: "Bus"}, {value: voiture, label: "Voiture"}]
  - name: multi
    type: multiple_choice
    label: "Besoins"
    other: true
    choices: [{value: sante, label: "Santé"}, {value: ecole, label: "École"}]
  - {name: oui_non, type: yes_no, label: "Suivi par un référent"}
  - {name: satisfaction, type: likert, label: "Satisfaction", choice_list: echelle}
  - name: grille
    type: matrix
    label: "À quelle fréquence ?"
    choice_list: frequence
    rows: [{name: grille_sport, label: "Sport"}, {name: grille_lecture, label: "Lecture"}]
  - name: classement
    type: ranking
    label: "Priorités"
    choices:
      - {value: logement, label: "Logement"}
      - {value: emploi, label: "Emploi"}
      - {value: sante_p, label: "Santé"}
  - {name: jour, type: date, label: "Date de la visite"}
  - {name: heure, type: time, label: "Heure d'arrivée"}
  - {name: moment, type: datetime, label: "Rendez-vous suivant"}
  - {name: lieu, type: geopoint, label: "Position"}
  - {name: photo, type: photo, label: "Photo du lieu"}
  - {name: son, type: audio, label: "Message vocal"}
  - {name: piece, type: file, label: "Justificatif"}
  - {name: signature, type: signature, label: "Signature"}
  - {name: info, type: note, label: "Merci de votre participation."}
  - {name: double, type: calculate, label: "Double du nombre d'enfants", calculation: "${entier} * 2"}
"""


def wav(path: Path) -> Path:
    with wave.open(str(path), "wb") as out:
        out.setnchannels(1)
        out.setsampwidth(2)
        out.setframerate(8000)
        out.writeframes(b"".join(struct.pack("<h", (i * 50) % 2000) for i in range(4000)))
    return path


def publish_all_types(url: str) -> None:
    engine = create_db_engine(url)
    try:
        with Session(engine) as session:
            specs.publish("tous_les_types", session=session, actor=SYSTEM, source=ALL_TYPES)
            specs.assign_sites("tous_les_types", [SITE], session=session, actor=SYSTEM)
            session.commit()
    finally:
        engine.dispose()


def stored(url: str) -> tuple[dict[str, Any], list[tuple[str, str]]]:
    engine = create_db_engine(url)
    try:
        with engine.connect() as conn:
            row = conn.execute(
                sa.text(
                    "SELECT id, answers, status, problems FROM responses r WHERE r.kind = 'questionnaire'"
                )
            ).one()
            files = conn.execute(
                sa.text("SELECT item, media_type FROM response_files WHERE response_id = :id ORDER BY item"),
                {"id": row[0]},
            ).all()
    finally:
        engine.dispose()
    answers = row[1] if isinstance(row[1], dict) else json.loads(row[1])
    assert row[2] == "accepted", row[3]
    return answers, [(item, media) for item, media in files]


def test_every_item_type(field: World, server: Any, launch: Any, tmp_path: Path, artefacts: Path) -> None:
    publish_all_types(field.url)
    context = launch("types", viewport={"width": 360, "height": 800})
    context.grant_permissions(["geolocation"], origin=server.base_url)
    context.set_geolocation({"latitude": 45.7578, "longitude": 4.832, "accuracy": 12})
    page = context.pages[0]
    sign_in(page, server.base_url, field.fieldworker, field.password)
    page.get_by_role("button", name="Nouvelle fiche : Tous les types de questions").click()

    page.get_by_label("La personne accepte de répondre.").check()
    page.get_by_label("Prénom d'usage").fill("Nadia")
    page.get_by_label("Observations").fill("Famille arrivée la veille.\nDeux caravanes.")
    page.get_by_label("Nombre d'enfants").fill("3")
    page.get_by_label("Distance en km").fill("12.5")
    choose(page, "Mode de transport", "Bus")
    choose(page, "Besoins", "Santé")
    choose(page, "Besoins", "Autre")
    page.get_by_label("Précisez").fill("Domiciliation")
    choose(page, "Suivi par un référent", "Oui")
    choose(page, "Satisfaction", "Beaucoup")
    page.get_by_role("radio", name="Sport : Souvent").check()
    page.get_by_role("radio", name="Lecture : Parfois").check()
    page.get_by_role("button", name="Monter : Emploi").click()
    page.get_by_label("Date de la visite").fill("2026-11-20")
    page.get_by_label("Heure d'arrivée").fill("09:30:15")
    page.get_by_label("Rendez-vous suivant").fill("2026-12-01T14:00")
    page.get_by_role("button", name="Relever la position").click()
    page.get_by_text("45.75780, 4.83200").wait_for(timeout=TIMEOUT_MS)
    page.get_by_label("Photo du lieu").set_input_files(str(png(tmp_path / "lieu.png")))
    page.get_by_role("img", name="Photo du lieu").wait_for(timeout=TIMEOUT_MS)
    page.get_by_label("Message vocal").set_input_files(str(wav(tmp_path / "message.wav")))
    page.get_by_label("Justificatif").set_input_files(str(png(tmp_path / "justificatif.png")))
    canvas = page.locator("canvas.signature")
    canvas.scroll_into_view_if_needed()
    box = canvas.bounding_box()
    assert box is not None
    page.mouse.move(box["x"] + 20, box["y"] + 40)
    page.mouse.down()
    for step in range(1, 12):
        page.mouse.move(box["x"] + 20 + step * 25, box["y"] + 40 + (step % 3) * 30)
    page.mouse.up()
    page.get_by_role("img", name="Signature").wait_for(timeout=TIMEOUT_MS)
    assert page.get_by_text("Merci de votre participation.").count() == 1
    assert page.locator("output").filter(has_text="6").count() == 1  # the calculation, shown
    page.screenshot(path=artefacts / "all-types-360.png", full_page=True)
    assert_accessible(page, "tous les types de questions")

    page.get_by_role("button", name="Terminer la fiche").click()
    page.get_by_text("Fiche terminée").wait_for(timeout=TIMEOUT_MS)
    wait_all_sent(page)

    answers, files = stored(field.url)
    assert answers["accord"] == "OK" and answers["texte"] == "Nadia"
    assert answers["long"] == "Famille arrivée la veille.\nDeux caravanes."
    assert answers["entier"] == 3 and answers["decimal"] == 12.5 and answers["double"] == 6
    assert answers["choix"] == "bus" and answers["oui_non"] == "yes" and answers["satisfaction"] == 3
    assert sorted(answers["multi"]) == ["other", "sante"] and answers["multi_other"] == "Domiciliation"
    assert answers["grille_sport"] == "souvent" and answers["grille_lecture"] == "parfois"
    assert answers["classement"] == ["emploi", "logement", "sante_p"]
    assert answers["jour"] == "2026-11-20" and answers["heure"] == "09:30:15"
    assert answers["moment"].startswith("2026-12-01T14:00:00")
    assert round(answers["lieu"]["lat"], 4) == 45.7578 and round(answers["lieu"]["lon"], 3) == 4.832
    assert files == [
        ("photo", "image/jpeg"),
        ("piece", "image/png"),
        ("signature", "image/png"),
        ("son", "audio/wav"),
    ]
