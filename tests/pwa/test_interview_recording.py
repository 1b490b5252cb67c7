"""A recorded interview: consent to the recording, themes visited out of order while the microphone runs
(Chromium's fake audio device), each visit timestamped from the interview's start and from the recording's
start, the audio uploaded with its record."""

from __future__ import annotations

import itertools
import json
from pathlib import Path
from typing import Any

import sqlalchemy as sa

from pwa.app import TIMEOUT_MS, assert_accessible, choose, sign_in, wait_all_sent
from pwa.harness import World
from terrain.db import create_db_engine

FAKE_MICROPHONE = ["--use-fake-device-for-media-stream", "--use-fake-ui-for-media-stream"]


def interview_row(url: str) -> tuple[Any, list[Any]]:
    engine = create_db_engine(url)
    try:
        with engine.connect() as conn:
            row = conn.execute(
                sa.text(
                    "SELECT id, interview, answers, status, problems FROM responses "
                    "WHERE kind = 'interview_guide'"
                )
            ).one()
            files = conn.execute(
                sa.text(
                    "SELECT f.sha256, f.media_type, a.completed_at FROM response_files f "
                    "JOIN attachments a ON a.sha256 = f.sha256 WHERE f.response_id = :id"
                ),
                {"id": row[0]},
            ).all()
    finally:
        engine.dispose()
    interview = row[1] if isinstance(row[1], dict) else json.loads(row[1])
    answers = row[2] if isinstance(row[2], dict) else json.loads(row[2])
    return (interview, answers, row[3], row[4]), list(files)


def test_recorded_interview_timeline(field: World, server: Any, launch: Any, artefacts: Path) -> None:
    context = launch("recorder", args_extra=FAKE_MICROPHONE)
    context.grant_permissions(["microphone"], origin=server.base_url)
    page = context.pages[0]
    sign_in(page, server.base_url, field.fieldworker, field.password)
    page.get_by_role(
        "button", name="Nouvelle fiche : Qualité publique des espaces publics numériques : guide d'entretien"
    ).click()
    page.get_by_label("Animateurs").check()
    page.get_by_label("Enregistrement audio accepté").check()
    page.get_by_role("button", name="Commencer l'entretien").click()
    themes = page.get_by_role("navigation", name="Thèmes")
    themes.get_by_role("button", name="Les missions de l'EPN").click()
    page.get_by_role("button", name="Démarrer l'enregistrement").click()
    page.get_by_role("button", name="Arrêter l'enregistrement").wait_for(timeout=TIMEOUT_MS)
    page.get_by_label("Notes : Les missions de l'EPN").fill("Médiation numérique, accès aux droits.")
    page.wait_for_timeout(1200)
    themes.get_by_role("button", name="Identification de l'animateur").click()
    choose(page, "A suivi une formation", "Oui")
    page.wait_for_timeout(1200)
    themes.get_by_role("button", name="Les missions de l'EPN").click()
    page.screenshot(path=artefacts / "interview-recording-360.png", full_page=True)
    assert_accessible(page, "entretien enregistré")
    page.get_by_role("button", name="Terminer l'entretien").click()
    page.get_by_text("Fiche terminée").wait_for(timeout=TIMEOUT_MS)
    wait_all_sent(page)

    (interview, answers, status, problems), files = interview_row(field.url)
    assert status == "accepted", problems
    assert interview["audience"] == "animateurs" and interview["consent"]["mode"] == "recording"
    timeline = interview["timeline"]
    assert [visit["theme"] for visit in timeline] == ["missions", "animateur_profil", "missions"]
    for earlier, later in itertools.pairwise(timeline):
        assert earlier["end"] <= later["start"] + 0.01
    # The recording started during the first visit: its offsets are from the recording's own start.
    assert all(visit["recording_start"] is not None for visit in timeline)
    assert timeline[1]["recording_start"] > 0 and timeline[1]["recording_start"] < timeline[1]["start"]
    assert answers["missions__notes"].startswith("Médiation numérique")
    assert answers["formation_animation"] == "yes"
    recording = interview["recording"]
    assert [(sha, media, done is not None) for sha, media, done in files] == [
        (recording["sha256"], "audio/webm", True)
    ]
