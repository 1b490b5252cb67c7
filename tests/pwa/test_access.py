"""Who may open what on a shared device: the PIN lock, a forgotten PIN (the records stay, an online sign-in
recovers them), sign-out refused while records are unsent, and a second person on the same browser who
never sees the first one's records."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from sqlmodel import Session

from pwa.app import TIMEOUT_MS, assert_accessible, choose, local_counts, sign_in, today, unlock
from pwa.harness import SITE, World
from terrain.db import create_db_engine
from terrain.principals import SYSTEM
from terrain.users.service import create_user

SECOND = "sam.animateur@terrain.example.org"


def add_second_fieldworker(world: World) -> None:
    engine = create_db_engine(world.url)
    try:
        with Session(engine) as session:
            create_user(
                SECOND, world.password, "fieldworker", session=session, actor=SYSTEM, site_codes=[SITE]
            )
            session.commit()
    finally:
        engine.dispose()


def queue_one_entry(page: Any) -> None:
    page.get_by_role("button", name="Saisie rapide : Journal des animations").click()
    page.get_by_label("Type d'activité").select_option(label="Atelier lecture, conte")
    page.get_by_label("Date", exact=True).fill(today())
    choose(page, "Lieu", "Salle d'activité de l'aire")
    choose(page, "L'activité a-t-elle eu lieu", "Non")
    page.locator("fieldset", has_text="Motif de l'annulation").last.get_by_role("radio").first.check()
    page.get_by_role("button", name="Enregistrer l'entrée").click()
    page.get_by_role("heading", name="Entrées").locator("xpath=..").locator("li").first.wait_for(
        timeout=TIMEOUT_MS
    )


def lock(page: Any) -> None:
    page.get_by_role("link", name="Réglages").click()
    page.get_by_role("button", name="Verrouiller").click()
    page.locator("#unlock-pin").wait_for(timeout=TIMEOUT_MS)


def test_pin_lock_forgotten_pin_and_a_second_person(
    field: World, server: Any, launch: Any, artefacts: Path
) -> None:
    add_second_fieldworker(field)
    context = launch()
    page = context.pages[0]
    sign_in(page, server.base_url, field.fieldworker, field.password)
    context.set_offline(True)
    queue_one_entry(page)
    assert local_counts(page).get("waiting") == 1

    # Sign-out would destroy the unsent record: refused, with what to do.
    page.get_by_role("link", name="Réglages").click()
    page.get_by_role("button", name="Se déconnecter").click()
    # (the entry sent to the outbox, and the next entry the quick-entry screen opened as a draft)
    page.get_by_text("Déconnexion impossible : 2 fiche(s) non envoyée(s)").wait_for(timeout=TIMEOUT_MS)

    # The lock: a wrong PIN is refused, the right one opens.
    lock(page)
    page.fill("#unlock-pin", "0000")
    page.get_by_role("button", name="Déverrouiller").click()
    page.get_by_text("Code incorrect").wait_for(timeout=TIMEOUT_MS)
    page.screenshot(path=artefacts / "unlock-wrong-pin-360.png", full_page=True)
    assert_accessible(page, "déverrouillage, code incorrect")
    unlock(page)
    # Back where the user was when the app locked.
    page.get_by_role("heading", name="Réglages").wait_for(timeout=TIMEOUT_MS)
    assert page.get_by_text("1 fiche(s) à envoyer").count() == 1

    # A forgotten PIN: the password (online) sets a new one; the unsent record is still there.
    lock(page)
    context.set_offline(False)
    page.get_by_role("button", name="Code oublié ?").click()
    page.route("**/api/v1/sync/push", lambda route: route.abort("connectionrefused"))  # keep it unsent
    sign_in(page, None, field.fieldworker, field.password, pin="1357")
    counts = local_counts(page)
    assert counts.get("waiting") == 1, counts
    lock(page)
    unlock(page, "1357")

    # Another person on this browser: their own space, none of the first one's records.
    lock(page)
    page.get_by_role("button", name="Autre compte sur cet appareil").click()
    sign_in(page, None, SECOND, field.password, pin="9753", device="Tablette partagée")
    page.get_by_role("link", name="Accueil").click()
    page.get_by_role("button", name="Saisie rapide : Journal des animations").wait_for(timeout=TIMEOUT_MS)
    assert page.get_by_text("Aucun brouillon.").count() == 1
    page.get_by_role("link", name="Envois").click()
    page.get_by_text("Aucune fiche pour l'instant.").wait_for(timeout=TIMEOUT_MS)
    assert page.get_by_text("Journal des animations").count() == 0
    # The first person's record is still on the device, in their own (locked) database.
    assert local_counts(page).get("waiting") == 1
