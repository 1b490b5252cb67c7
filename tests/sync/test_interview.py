"""An interview record (guide_epn, from survey_specs/) pushed with its consent, recording and timeline:
stored whole, its notes aggregatable, its problems listed when the timeline does not fit the guide."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from sqlmodel import select

from sync.conftest import SyncWorld, publish, record
from terrain.responses.models import Response, ResponseValue

GUIDE = (Path(__file__).resolve().parents[2] / "survey_specs" / "guide_epn.yaml").read_text(encoding="utf-8")
RECORDING = "cd" * 32
FREQUENCY = "mensuelle"


def _interview(**changes: Any) -> dict[str, Any]:
    interview: dict[str, Any] = {
        "audience": "usagers",
        "consent": {
            "mode": "recording",
            "given_at": "2026-11-20T14:02:00+01:00",
            "collected_by": "Évaluatrice EPN",
        },
        "recording": {"sha256": RECORDING, "started_at": "2026-11-20T14:03:10+01:00"},
        "timeline": [
            {
                "theme": "usager_profil",
                "start": 75.0,
                "end": 610.5,
                "recording_start": 5.0,
                "recording_end": 540.5,
            },
            {
                "theme": "connaissance_epn",
                "start": 610.5,
                "end": 1322.0,
                "recording_start": 540.5,
                "recording_end": 1252.0,
            },
        ],
    }
    interview.update(changes)
    return interview


def _guide_record(**changes: Any) -> dict[str, Any]:
    return record(
        spec="guide_epn",
        answers={
            "usager_profil__notes": "Vient deux fois par semaine pour les démarches en ligne.",
            "usager_profil__covered": "yes",
            "frequence_venue": FREQUENCY,
            "qualite_accompagnement": 4,
        },
        interview=_interview(**changes),
        attachments=[
            {"sha256": RECORDING, "media_type": "audio/webm", "size": 4_000_000, "item": "enregistrement"}
        ],
        metadata={},
    )


def test_interview_record_is_stored_whole(sync_world: SyncWorld) -> None:
    publish(sync_world.world.session, GUIDE, sync_world.north)
    sent = _guide_record()
    result = sync_world.push(sync_world.worker, [sent]).json()["results"][0]
    assert result["result"] == "created", result["problems"]
    assert result["missing_attachments"] == [RECORDING]
    session = sync_world.world.session
    row = session.exec(select(Response).where(Response.uuid == sent["id"])).one()
    assert row.kind == "interview_guide"
    assert row.interview is not None
    assert row.interview["timeline"][1]["recording_start"] == 540.5
    assert row.interview["consent"]["collected_by"] == "Évaluatrice EPN"
    notes = session.exec(select(ResponseValue).where(ResponseValue.item == "usager_profil__notes")).one()
    assert notes.value_long == "Vient deux fois par semaine pour les démarches en ligne."  # long text


def test_interview_that_does_not_fit_its_guide_is_kept_for_review(sync_world: SyncWorld) -> None:
    publish(sync_world.world.session, GUIDE, sync_world.north)
    sent = _guide_record(
        audience="inconnus",
        timeline=[
            {
                "theme": "pas_un_theme",
                "start": 10.0,
                "end": 5.0,
                "recording_start": None,
                "recording_end": None,
            }
        ],
    )
    result = sync_world.push(sync_world.worker, [sent]).json()["results"][0]
    assert result["result"] == "needs_review"
    codes = {problem["code"] for problem in result["problems"]}
    assert any(code.startswith("interview.") for code in codes), codes
    assert sync_world.world.session.exec(select(Response).where(Response.uuid == sent["id"])).one()
