"""What comes back to the device: a photo leaves with its record, the coordinator's decision appears on
the next sync, a new spec version arrives while a draft stays on the version it was started with (and the
closed version is announced). Also: the app in English, and sign-out once the unsent records are exported."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from sqlmodel import Session

from pwa.app import TIMEOUT_MS, choose, png, sign_in, stored_records, today, wait_all_sent
from pwa.harness import SITE, SPECS, World
from terrain.db import create_db_engine
from terrain.principals import SYSTEM
from terrain.responses import review
from terrain.specs import service as specs


def with_session(url: str, work: Any) -> Any:
    engine = create_db_engine(url)
    try:
        with Session(engine, expire_on_commit=False) as session:
            result = work(session)
            session.commit()
            return result
    finally:
        engine.dispose()


def test_photo_decision_and_new_version(
    field: World, server: Any, launch: Any, tmp_path: Path, artefacts: Path
) -> None:
    context = launch()
    # What headless Chromium refuses unless granted: then the app's persist() request is accepted.
    cdp = context.new_cdp_session(context.pages[0])
    cdp.send("Browser.grantPermissions", {"origin": server.base_url, "permissions": ["durableStorage"]})
    page = context.pages[0]
    sign_in(page, server.base_url, field.fieldworker, field.password)

    # A draft started on version 1 of the questionnaire.
    page.get_by_role("button", name="Nouvelle fiche : Diagnostic des familles accueillies").click()
    page.get_by_label("J'ai présenté à la famille", exact=False).check()
    page.get_by_label("Date de l'entretien").fill(today())
    page.get_by_role("link", name="Accueil").click()

    # An activity with its photo.
    page.get_by_role("button", name="Saisie rapide : Journal des animations").click()
    page.get_by_label("Type d'activité").select_option(label="Atelier lecture, conte")
    page.get_by_label("Date", exact=True).fill(today())
    choose(page, "Lieu", "Salle d'activité de l'aire")
    choose(page, "L'activité a-t-elle eu lieu", "Oui")
    page.get_by_role("button", name="+ Femmes (18 ans et plus)").click()
    page.get_by_role("spinbutton", name="Nombre de familles touchées").fill("1")
    page.get_by_label("Photo (facultative)").set_input_files(str(png(tmp_path / "atelier.png")))
    page.get_by_role("img", name="Photo (facultative)").wait_for(timeout=TIMEOUT_MS)
    page.get_by_role("button", name="Enregistrer l'entrée").click()
    page.get_by_role("heading", name="Entrées").locator("xpath=..").locator("li").first.wait_for(
        timeout=TIMEOUT_MS
    )
    wait_all_sent(page)
    entry = next(r for r in stored_records(field.url) if r["spec"] == "journal_animations")
    files = with_session(
        field.url,
        lambda s: s.execute(
            sa.text(
                "SELECT f.media_type, a.size FROM response_files f JOIN responses r ON r.id = f.response_id "
                "JOIN attachments a ON a.sha256 = f.sha256 WHERE r.uuid = :id AND a.completed_at IS NOT NULL"
            ),
            {"id": entry["id"]},
        ).all(),
    )
    assert [row[0] for row in files] == ["image/jpeg"], files  # resized on the device: a JPEG

    # The coordinator rejects it; version 2 of the questionnaire is published and version 1 closed.
    with_session(
        field.url,
        lambda s: review.review(entry["id"], "rejected", "Photo floue, à refaire.", session=s, actor=SYSTEM),
    )
    source = (SPECS / "diagnostic_familles.yaml").read_text()
    changed = source.replace(
        'title: {fr: "Diagnostic des familles accueillies"',
        'title: {fr: "Diagnostic des familles (2e édition)"',
        1,
    )
    assert changed != source

    def new_version(session: Session) -> None:
        specs.publish("diagnostic_familles", session=session, actor=SYSTEM, source=changed)
        specs.assign_sites("diagnostic_familles", [SITE], session=session, actor=SYSTEM)
        specs.close_version("diagnostic_familles", 1, session=session, actor=SYSTEM)

    with_session(field.url, new_version)
    page.get_by_role("button", name="Envoyer maintenant").click()
    wait_all_sent(page)

    page.get_by_role("link", name="Envois").click()
    page.get_by_text("Décision du coordinateur : refusée").wait_for(timeout=TIMEOUT_MS)
    assert page.get_by_text("Photo floue, à refaire.", exact=False).count() == 1
    page.screenshot(path=artefacts / "outbox-decision-360.png", full_page=True)

    page.get_by_role("link", name="Accueil").click()
    page.get_by_text("version 2").first.wait_for(timeout=TIMEOUT_MS)
    assert page.get_by_text(re.compile("Version close")).count() == 1
    # The draft goes on with version 1, the version it was started with.
    page.get_by_role("button", name="Reprendre : Diagnostic des familles accueillies").click()
    assert page.get_by_label("Date de l'entretien").input_value() == today()
    assert page.get_by_role("heading", name="Diagnostic des familles accueillies", exact=True).count() == 1

    # The storage the browser will not evict, and the app in English.
    page.get_by_role("link", name="Réglages").click()
    page.get_by_text("Stockage persistant accordé").wait_for(timeout=TIMEOUT_MS)
    page.get_by_role("button", name="English").first.click()
    page.get_by_role("heading", name="Settings").wait_for(timeout=TIMEOUT_MS)
    page.get_by_role("link", name="Home").click()
    page.get_by_role("heading", name="My forms").wait_for(timeout=TIMEOUT_MS)
    page.get_by_text("Diagnostic of the families hosted", exact=False).first.wait_for(timeout=TIMEOUT_MS)
    page.get_by_role("button", name="Français").click()

    # Sign-out: refused with an unsent draft, allowed once it is exported (a file the user keeps).
    page.get_by_role("link", name="Réglages").click()
    page.get_by_role("button", name="Se déconnecter").click()
    page.get_by_text("Déconnexion impossible").wait_for(timeout=TIMEOUT_MS)
    page.get_by_label("Phrase secrète du fichier (à retenir)").first.fill("une phrase secrète longue")
    with page.expect_download() as download:
        page.get_by_role("button", name="Exporter les fiches non envoyées").click()
    saved = tmp_path / download.value.suggested_filename
    download.value.save_as(saved)
    assert saved.stat().st_size > 0 and b"fiche" not in saved.read_bytes()
    page.get_by_role("button", name="Se déconnecter").click()
    page.locator("#email").wait_for(timeout=TIMEOUT_MS)
