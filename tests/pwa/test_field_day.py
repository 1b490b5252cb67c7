"""A field worker's day, in headless Chromium against the real server: sign in once online, go offline,
close and reopen the browser, fill a questionnaire (skip logic, a repeat, a reload mid-form), conduct an
interview out of theme order, log three observations, come back online: the server holds each record
exactly once, on the version it was filled with."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from pwa.app import (
    TIMEOUT_MS,
    assert_accessible,
    choose,
    local_counts,
    next_page,
    sign_in,
    stored_records,
    today,
    unlock,
    wait_all_sent,
    wait_worker,
)
from pwa.harness import World


def fill_household(page: Any, artefacts: Path) -> None:
    page.get_by_role("button", name="Nouvelle fiche : Diagnostic des familles accueillies").click()
    page.get_by_label("J'ai présenté à la famille", exact=False).check()
    page.get_by_label("Date de l'entretien").fill(today())
    page.screenshot(path=artefacts / "questionnaire-360.png", full_page=True)
    assert_accessible(page, "questionnaire")
    next_page(page)

    # Skip logic: a person alone has no children to count; a couple with children has.
    choose(page, "Composition du ménage", "Personne seule")
    assert page.get_by_label("Dont enfants de moins de 18 ans").count() == 0
    choose(page, "Composition du ménage", "Couple avec enfant(s)")
    page.get_by_label("Dont enfants de moins de 18 ans").wait_for(timeout=TIMEOUT_MS)
    page.get_by_label("Nombre de personnes dans le ménage").fill("2")
    page.get_by_label("Dont enfants de moins de 18 ans").fill("1")
    next_page(page)

    choose(page, "Depuis combien de temps", "1 à 3 mois")
    choose(page, "Au cours des 12 derniers mois", "Non")
    assert page.get_by_text("Sur combien d'autres aires ?").count() == 0
    next_page(page)

    # The repeat follows the number of people: two blocks.
    blocks = page.locator("fieldset.card")
    blocks.nth(1).wait_for(timeout=TIMEOUT_MS)
    assert blocks.count() == 2
    first, second = blocks.nth(0), blocks.nth(1)
    first.get_by_label("Prénom ou initiales").fill("A. M.")
    choose(page, "Tranche d'âge", "25 à 59 ans", scope=first)
    second.get_by_label("Prénom ou initiales").fill("L.")
    choose(page, "Tranche d'âge", "6 à 10 ans", scope=second)
    choose(page, "Lien avec la personne", "Enfant", scope=second)
    choose(page, "Situation scolaire", "Inscrit dans un établissement scolaire", scope=second)

    # A reload mid-form (a crash, a closed tab) loses nothing: the PIN, and the same page again.
    page.wait_for_function("document.body.innerText.includes('Enregistré sur l')")
    page.reload()
    unlock(page)
    page.locator("fieldset.card").nth(1).wait_for(timeout=TIMEOUT_MS)
    assert page.locator("fieldset.card").nth(0).get_by_label("Prénom ou initiales").input_value() == "A. M."
    assert page.locator("fieldset.card").nth(1).get_by_label("Enfant", exact=True).is_checked()
    page.screenshot(path=artefacts / "repeat-360.png", full_page=True)
    assert_accessible(page, "questionnaire, bloc répété")
    next_page(page)

    page.get_by_label("Accompagnement social global").check()
    next_page(page)
    next_page(page)
    page.get_by_role("button", name="Terminer la fiche").click()
    page.get_by_text("Fiche terminée").wait_for(timeout=TIMEOUT_MS)


def conduct_interview(page: Any, artefacts: Path) -> None:
    page.get_by_role(
        "button", name="Nouvelle fiche : Qualité publique des espaces publics numériques : guide d'entretien"
    ).click()
    page.get_by_label("Responsables d'EPN").wait_for(timeout=TIMEOUT_MS)
    assert_accessible(page, "entretien : public et consentement")
    page.get_by_label("Responsables d'EPN").check()
    page.get_by_label("Refus de l'enregistrement : notes").check()
    page.get_by_role("button", name="Commencer l'entretien").click()
    themes = page.get_by_role("navigation", name="Thèmes")
    # Semi-directive: the missions first, then back to the structure.
    themes.get_by_role("button", name="Les missions de l'EPN").click()
    page.get_by_label("Notes : Les missions de l'EPN").fill("Accès aux droits, inclusion numérique.")
    choose(page, "Thème abordé : Les missions", "Oui")
    page.screenshot(path=artefacts / "interview-360.png", full_page=True)
    assert_accessible(page, "entretien : thème")
    themes.get_by_role("button", name="Identification de la structure").click()
    page.get_by_label("Notes : Identification de la structure").fill("Centre social, deux salariés.")
    page.get_by_role("button", name="Terminer l'entretien").click()
    page.get_by_text("Fiche terminée").wait_for(timeout=TIMEOUT_MS)


def log_observations(page: Any, artefacts: Path) -> None:
    page.get_by_role("button", name="Saisie rapide : Journal des animations").click()
    page.get_by_label("Date", exact=True).wait_for(timeout=TIMEOUT_MS)
    for number in range(3):
        if number == 0:
            page.get_by_label("Type d'activité").select_option(label="Atelier lecture, conte")
            page.get_by_label("Date", exact=True).fill(today())
            choose(page, "Lieu", "Salle d'activité de l'aire")
            choose(page, "L'activité a-t-elle eu lieu", "Oui")
        page.get_by_role("button", name="+ Femmes (18 ans et plus)").click()
        page.get_by_role("button", name="+ Femmes (18 ans et plus)").click()
        page.get_by_role("spinbutton", name="Nombre de familles touchées").fill("1")
        if number == 0:
            page.screenshot(path=artefacts / "log-360.png", full_page=True)
            assert_accessible(page, "journal : saisie rapide")
        page.get_by_role("button", name="Enregistrer l'entrée").click()
        page.get_by_role("heading", name="Entrées").locator("xpath=..").locator("li").nth(number).wait_for(
            timeout=TIMEOUT_MS
        )
        # A fresh entry at once: people are counted again; the activity, date and place are remembered.
        page.wait_for_function(
            "['f-femmes', 'f-familles_touchees'].every((id) => document.getElementById(id)?.value === '')"
        )
        assert page.get_by_label("Date", exact=True).input_value() == today()
        assert page.get_by_label("Type d'activité").input_value() == "lecture"


def test_a_week_offline_reaches_the_server_once(
    field: World, server: Any, launch: Any, artefacts: Path
) -> None:
    context = launch()
    page = context.pages[0] if context.pages else context.new_page()
    page.goto(server.base_url)
    page.locator("#email").wait_for()
    page.screenshot(path=artefacts / "sign-in-360.png", full_page=True)
    assert_accessible(page, "connexion")
    sign_in(page, server.base_url, field.fieldworker, field.password)
    wait_worker(page)
    page.get_by_role("button", name="Nouvelle fiche : Diagnostic des familles accueillies").wait_for()
    page.screenshot(path=artefacts / "home-360.png", full_page=True)
    assert_accessible(page, "accueil")
    context.close()

    # No network from here on; the browser is closed and opened again, as a phone overnight.
    context = launch()
    context.set_offline(True)
    page = context.pages[0] if context.pages else context.new_page()
    page.goto(server.base_url)
    page.locator("#unlock-pin").wait_for()
    assert_accessible(page, "déverrouillage")
    unlock(page)
    fill_household(page, artefacts)
    page.get_by_role("link", name="Accueil").click()
    conduct_interview(page, artefacts)
    log_observations(page, artefacts)
    page.get_by_role("link", name="Envois").click()
    page.screenshot(path=artefacts / "outbox-360.png", full_page=True)
    assert_accessible(page, "envois")
    page.get_by_role("link", name="Réglages").click()
    page.get_by_role("heading", name="Réglages").wait_for()
    page.screenshot(path=artefacts / "settings-360.png", full_page=True)
    assert_accessible(page, "réglages")
    page.get_by_role("link", name="Envois").click()
    assert local_counts(page).get("waiting") == 5, local_counts(page)
    assert stored_records(field.url) == []

    context.set_offline(False)
    wait_all_sent(page)
    stored = stored_records(field.url)
    assert sorted(r["spec"] for r in stored) == [
        "diagnostic_familles",
        "guide_epn",
        "journal_animations",
        "journal_animations",
        "journal_animations",
    ]
    assert len({r["id"] for r in stored}) == 5
    assert all(r["version"] == 1 and r["revision"] == 1 for r in stored)
    assert all(r["status"] == "accepted" for r in stored), stored
    counts = local_counts(page)
    assert counts.get("sent") == 5 and counts.get("waiting") is None, counts

    # Sending again sends nothing twice.
    page.get_by_role("button", name="Envoyer maintenant").click()
    wait_all_sent(page)
    assert len(stored_records(field.url)) == 5
