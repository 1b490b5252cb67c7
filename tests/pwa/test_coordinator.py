"""The coordinator's screens (issue #10), in headless Chromium against the real server: a spec uploaded
with an error seen at its line, fixed, previewed (a skip and a repeat), published, then a breaking change
refused with the item named; an XLSForm imported with its report; a site and a field worker created; two
pushed records found in the review queue and the failing one rejected with a comment, which the field
worker's device reads on its next pull; field workers and viewers kept out."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from pwa.app import TIMEOUT_MS, assert_accessible, choose, sign_in
from pwa.coord_world import People, device_token, prepare_coordinator, pulled_reviews, push, record
from pwa.harness import ROOT, World

CORPUS = ROOT.parent / "shared" / "corpus" / "xlsforms-real"
WIDE = {"width": 1280, "height": 900}

SPEC_V1 = """spec: 1
kind: questionnaire
name: essai_coord
title: {fr: "Essai coordination", en: "Coordination trial"}
languages: [fr, en]
items:
  - name: a_enfants
    type: yes_no
    label: "Le ménage a-t-il des enfants ?"
  - name: nb_enfants
    type: integer
    label: "Nombre d'enfants"
    relevant: "${a_enfants} = 'yes'"
    constraint: ". >= 1 and . <= 12"
    constraint_message: "Entre 1 et 12 enfants."
  - name: enfants
    type: repeat
    label: "Enfants"
    count: "${nb_enfants}"
    relevant: "${a_enfants} = 'yes'"
    items:
      - {name: prenom, type: text, label: "Prénom de l'enfant"}
"""
# Line 11, column 11: an unknown type (the compiler suggests `integer`).
SPEC_WITH_ERROR = SPEC_V1.replace("type: integer", "type: integr")
# The repeat's item renamed: records of version 1 would lose `prenom`, a breaking change.
SPEC_BREAKING = SPEC_V1.replace("name: prenom,", "name: prenom_enfant,")


@pytest.fixture(scope="module")
def people(field: World) -> People:
    return prepare_coordinator(field)


def shoot(page: Any, artefacts: Path, name: str) -> None:
    """The screen at 1280 px and at 768 px (a tablet), then back to the laptop width."""
    page.screenshot(path=artefacts / f"{name}-1280.png", full_page=True)
    page.set_viewport_size({"width": 768, "height": 1024})
    page.screenshot(path=artefacts / f"{name}-768.png", full_page=True)
    page.set_viewport_size(WIDE)


def open_coordination(page: Any, base_url: str, email: str, password: str) -> None:
    sign_in(page, base_url, email, password, device="Portable bureau")
    page.get_by_role("link", name="Coordination").click()
    page.get_by_role("heading", name="Spécifications").wait_for(timeout=TIMEOUT_MS)


def tab_to(page: Any, condition: str, presses: int = 200) -> None:
    """Press Tab until the focused element ``el`` meets ``condition`` (JavaScript), as a keyboard user."""
    for _ in range(presses):
        page.keyboard.press("Tab")
        if page.evaluate(f"(() => {{ const el = document.activeElement; return !!el && ({condition}); }})()"):
            return
    raise AssertionError(f"never reached with Tab: {condition}")


def check_text(page: Any, text: str) -> None:
    page.get_by_text(text, exact=False).first.wait_for(timeout=TIMEOUT_MS)


def test_spec_from_upload_to_review(
    field: World, server: Any, people: People, launch: Any, artefacts: Path, tmp_path: Path
) -> None:
    page = launch("coordinator", viewport=WIDE).pages[0]
    open_coordination(page, server.base_url, people.coordinator, people.password)
    check_text(page, "Diagnostic des familles")
    assert_accessible(page, "liste des spécifications")
    shoot(page, artefacts, "specs")

    # Upload with an error: shown at its line and column, the line marked in the editor's margin.
    page.get_by_role("link", name="Nouvelle spécification").click()
    source = tmp_path / "essai_coord.yaml"
    source.write_text(SPEC_WITH_ERROR)
    page.get_by_label("Fichier YAML").set_input_files(str(source))
    page.get_by_role("button", name="Ligne 11, colonne 11").wait_for(timeout=TIMEOUT_MS)
    assert "integr" in page.locator("ul.issues").inner_text()
    assert page.locator(".gutter div.err").first.inner_text() == "11"
    assert_accessible(page, "éditeur avec erreur")
    shoot(page, artefacts, "editor-error")
    page.get_by_role("button", name="Ligne 11, colonne 11").click()
    caret = page.evaluate("document.getElementById('spec-source').selectionStart")
    assert SPEC_WITH_ERROR[caret : caret + 6] == "integr"

    # Fixed as typed: valid (nothing saved yet), previewed with the real engine, then saved as a draft.
    page.fill("#spec-source", SPEC_V1)
    check_text(page, "Spécification valide (essai_coord)")
    assert page.locator("ul.issues").count() == 0
    preview = page.get_by_role("form", name="Aperçu")
    assert preview.get_by_label("Nombre d'enfants").count() == 0
    choose(page, "Le ménage a-t-il des enfants", "Oui", scope=preview)
    preview.get_by_label("Nombre d'enfants").fill("2")
    preview.get_by_label("Prénom de l'enfant").nth(1).wait_for(timeout=TIMEOUT_MS)
    assert preview.get_by_label("Prénom de l'enfant").count() == 2
    choose(page, "Le ménage a-t-il des enfants", "Non", scope=preview)
    preview.get_by_label("Nombre d'enfants").wait_for(state="detached", timeout=TIMEOUT_MS)
    assert_accessible(page, "aperçu")
    shoot(page, artefacts, "preview")

    page.get_by_role("button", name="Enregistrer le brouillon").click()
    check_text(page, "brouillon « essai_coord » créé")
    page.get_by_role("button", name="Comparer avec la dernière version").click()
    check_text(page, "Première version : rien à comparer.")
    page.get_by_role("button", name="Publier cette version").click()
    check_text(page, "Version 1 publiée.")

    # Its page: assign the site, then a breaking change is refused with the item named.
    page.get_by_role("link", name="Ouvrir la page de « essai_coord »").click()
    page.get_by_role("heading", name="Essai coordination").wait_for(timeout=TIMEOUT_MS)
    page.get_by_role("checkbox", name="Aire d'accueil nord").check()
    page.get_by_role("button", name="Enregistrer les sites").click()
    check_text(page, "Sites enregistrés : aire-nord.")
    page.locator("#spec-source").wait_for(timeout=TIMEOUT_MS)
    page.wait_for_function("document.getElementById('spec-source').value.includes('essai_coord')")
    page.fill("#spec-source", SPEC_BREAKING)
    check_text(page, "Spécification valide (essai_coord)")
    page.get_by_role("button", name="Enregistrer le brouillon").click()
    check_text(page, "brouillon de « essai_coord » enregistré")
    page.get_by_role("button", name="Comparer avec la dernière version").click()
    check_text(page, "Changements par rapport à la version 1")
    assert "prenom" in page.locator("ul.changes").inner_text()
    page.get_by_role("button", name="Publier cette version").click()
    refusal = page.locator(".banner.err[role=alert]")
    refusal.wait_for(timeout=TIMEOUT_MS)
    assert "prenom" in refusal.inner_text()
    assert_accessible(page, "publication refusée")
    shoot(page, artefacts, "publish-refused")

    # A field worker's device pushes two records, one failing the constraint.
    token = device_token(server.base_url, field.fieldworker, field.password)
    good = record("essai_coord", 1, {"a_enfants": "yes", "nb_enfants": 1, "enfants": [{"prenom": "Léa"}]})
    bad = record("essai_coord", 1, {"a_enfants": "yes", "nb_enfants": 20, "enfants": [{"prenom": "X"}] * 20})
    results = push(server.base_url, token, [good, bad])
    assert [r["status"] for r in results] == ["accepted", "needs_review"], [
        r.get("problems") for r in results
    ]

    page.get_by_role("link", name="Relecture").click()
    page.get_by_role("heading", name="Relecture des fiches").wait_for(timeout=TIMEOUT_MS)
    page.get_by_label("Spécification", exact=True).select_option(label="Essai coordination")
    page.get_by_role("button", name="Filtrer").click()
    rows = page.locator("tbody tr")
    page.wait_for_function("document.querySelectorAll('tbody tr').length === 2", timeout=TIMEOUT_MS)
    assert rows.filter(has_text="À vérifier").count() == 1
    assert_accessible(page, "file de relecture")
    shoot(page, artefacts, "queue")
    rows.filter(has_text="À vérifier").get_by_role("link").click()
    page.get_by_role("heading", name="Problèmes de validation (1)").wait_for(timeout=TIMEOUT_MS)
    check_text(page, "Entre 1 et 12 enfants.")
    check_text(page, "Le ménage a-t-il des enfants ?")
    # The decision with the keyboard only: Tab to the choices, arrows to "Refusée", Tab to the comment,
    # Enter on the button.
    tab_to(page, "el.type === 'radio' && el.name === 'decision'")
    for _ in range(4):
        if page.get_by_role("radio", name="Refusée").is_checked():
            break
        page.keyboard.press("ArrowDown")
    assert page.get_by_role("radio", name="Refusée").is_checked()
    tab_to(page, "el.tagName === 'TEXTAREA'")
    page.keyboard.type("Vingt enfants : à recompter avec la famille.")
    tab_to(page, "el.tagName === 'BUTTON' && el.textContent.includes('Enregistrer la décision')")
    page.keyboard.press("Enter")
    check_text(page, "Décision enregistrée : Refusée.")
    assert_accessible(page, "fiche relue")
    shoot(page, artefacts, "response")

    # The field worker's device reads the decision on its next pull.
    reviews = pulled_reviews(server.base_url, token)
    assert reviews[bad["id"]]["decision"] == "rejected"
    assert reviews[bad["id"]]["comment"] == "Vingt enfants : à recompter avec la famille."
    assert reviews[good["id"]] is None

    # The spec's page counts the records of each version.
    page.goto(f"{server.base_url}/#/coord/specs/essai_coord")
    page.get_by_role("button", name="Fiches de la version 1 (2)").wait_for(timeout=TIMEOUT_MS)


def test_xlsform_import_report(server: Any, people: People, launch: Any, artefacts: Path) -> None:
    workbooks = sorted(CORPUS.glob("*.xlsx")) if CORPUS.is_dir() else []
    if not workbooks:
        pytest.skip(f"no XLSForm in {CORPUS}: the shared corpus of real workbooks is not on this machine")
    page = launch("coordinator-xls", viewport=WIDE).pages[0]
    open_coordination(page, server.base_url, people.coordinator, people.password)
    page.get_by_role("link", name="Import XLSForm").click()
    page.get_by_label("Classeur XLSForm (.xlsx)").set_input_files(str(workbooks[0]))
    page.get_by_role("button", name="Importer").click()
    page.get_by_role("heading", name="Rapport d'import").wait_for(timeout=60_000)
    report = page.locator("main").inner_text()
    # Either the draft is made (a link to it) or refused; both come with the report, grouped by sheet.
    assert "Brouillon" in report or page.get_by_role("alert").count() > 0
    assert "Feuille" in report or "rien à signaler" in report
    assert_accessible(page, "import XLSForm")
    shoot(page, artefacts, "xlsform")


def test_admin_creates_site_and_field_worker(
    server: Any, people: People, launch: Any, artefacts: Path
) -> None:
    page = launch("admin", viewport=WIDE).pages[0]
    open_coordination(page, server.base_url, people.admin, people.password)
    page.get_by_role("link", name="Sites").click()
    page.get_by_label("Code").fill("aire-est")
    page.get_by_label("Nom", exact=True).fill("Aire d'accueil est")
    page.get_by_role("button", name="Créer le site").click()
    check_text(page, "Site « Aire d'accueil est » créé.")
    page.locator("tbody tr", has_text="aire-est").wait_for(timeout=TIMEOUT_MS)
    assert_accessible(page, "sites")
    shoot(page, artefacts, "sites")
    # Renamed; its code stays.
    page.get_by_role("button", name="Modifier : Aire d'accueil est").click()
    page.locator("tbody tr", has_text="aire-est").get_by_label("Nom").fill("Aire d'accueil de l'est")
    page.get_by_role("button", name="Enregistrer", exact=True).click()
    check_text(page, "Site enregistré : Aire d'accueil de l'est.")
    assert "aire-est" in page.locator("tbody tr", has_text="Aire d'accueil de l'est").inner_text()

    page.get_by_role("link", name="Comptes et appareils").click()
    page.get_by_label("Adresse e-mail").fill("dominique.terrain@terrain.example.org")
    page.get_by_label("Nom affiché").fill("Dominique")
    page.get_by_label("Mot de passe initial").fill("un-mot-de-passe-solide-1")
    page.get_by_label("Rôle", exact=True).select_option("fieldworker")
    page.get_by_role("checkbox", name="Aire d'accueil de l'est").check()
    page.get_by_role("button", name="Créer le compte").click()
    check_text(page, "Compte dominique.terrain@terrain.example.org créé.")
    row = page.locator("tbody tr", has_text="dominique.terrain@terrain.example.org")
    row.wait_for(timeout=TIMEOUT_MS)
    assert "aire-est" in row.inner_text()
    assert_accessible(page, "comptes")
    shoot(page, artefacts, "users")

    # Devices of the field worker of the other tests, with a confirmed revocation.
    page.locator("tbody tr", has_text="camille.enqueteuse").get_by_role("link").click()
    page.get_by_role("heading", name="Appareils").wait_for(timeout=TIMEOUT_MS)
    revoke = page.get_by_role("button", name="Déconnecter « Tablette aire nord »")
    if revoke.count() > 0:  # present when the review test ran first (its device token)
        revoke.click()
        page.get_by_role("dialog").get_by_role("button", name="Annuler").click()
        assert page.get_by_role("dialog").count() == 0
        assert revoke.count() == 1
    shoot(page, artefacts, "devices")

    page.get_by_role("link", name="Journal d'audit").click()
    page.get_by_role("heading", name="Journal d'audit").wait_for(timeout=TIMEOUT_MS)
    page.get_by_label("Action", exact=True).fill("site.created")
    page.get_by_role("button", name="Filtrer").click()
    page.wait_for_function(
        """() => {
            const rows = [...document.querySelectorAll('tbody tr')].map((r) => r.innerText);
            return rows.length > 0 && rows.every((r) => r.includes('site.created'))
                && rows.some((r) => r.includes('Alix'));
        }""",
        timeout=TIMEOUT_MS,
    )
    assert_accessible(page, "journal d'audit")
    shoot(page, artefacts, "audit")


@pytest.mark.parametrize("who", ["fieldworker", "viewer"])
def test_field_worker_and_viewer_kept_out(
    field: World, server: Any, people: People, launch: Any, who: str
) -> None:
    email = field.fieldworker if who == "fieldworker" else people.viewer
    page = launch(f"out-{who}", viewport=WIDE).pages[0]
    sign_in(page, server.base_url, email, people.password)
    assert page.get_by_role("link", name="Coordination").count() == 0
    for path in ("specs", "relecture", "utilisateurs", "audit"):
        page.goto(f"{server.base_url}/#/coord/{path}")
        check_text(page, "réservés aux coordinateurs")
        assert page.locator("textarea, table").count() == 0


def test_guide_preview_in_interview_mode(server: Any, people: People, launch: Any, artefacts: Path) -> None:
    """A guide is previewed as the evaluator will conduct it: per audience, themes in any order, the
    question in the audience's wording with its prompts; nothing is saved."""
    page = launch("guide-preview", viewport={"width": 768, "height": 1000}).pages[0]
    open_coordination(page, server.base_url, people.coordinator, people.password)
    page.get_by_role("link", name="Nouvelle spécification").click()
    page.get_by_label("Fichier YAML").set_input_files(str(ROOT / "survey_specs" / "guide_epn.yaml"))
    check_text(page, "Spécification valide (guide_epn)")
    preview = page.get_by_role("form", name="Aperçu")
    page.get_by_label("Personne interrogée").select_option(label="Usagers")
    themes = preview.get_by_role("navigation", name="Thèmes de l'entretien")
    themes.get_by_role("button", name="Les missions de l'EPN").click()
    check_text(page, "Selon vous, à quoi sert cet espace ?")
    themes.get_by_role("button", name="Ce que vous changeriez").click()
    preview.get_by_label("Notes : Ce que vous changeriez").wait_for(timeout=TIMEOUT_MS)
    assert themes.get_by_role("button", name="Identification de la structure").count() == 0  # managers only
    assert_accessible(page, "aperçu d'un guide")
    shoot(page, artefacts, "guide-preview")
