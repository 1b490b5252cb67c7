"""A new build of the app reaches a device with a non-empty outbox and an open form: the update waits for
the user, the open form keeps its answers, the outbox is intact and leaves afterwards."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path
from typing import Any

from pwa.app import TIMEOUT_MS, choose, sign_in, stored_records, today, unlock, wait_all_sent, wait_worker
from pwa.harness import ROOT, Live, World, prepare

PUSH = "**/api/v1/sync/push"


def build(out: Path, label: str) -> Path:
    """A real second build of the app (another JS bundle, another service worker)."""
    env = {**os.environ, "TERRAIN_APP_BUILD": label}
    done = subprocess.run(
        ["npx", "vite", "build", "--outDir", str(out), "--emptyOutDir"],
        cwd=ROOT / "pwa",
        env=env,
        capture_output=True,
        text=True,
        timeout=180,
    )
    assert done.returncode == 0, f"the second build failed:\n{done.stdout[-3000:]}\n{done.stderr[-3000:]}"
    return out


def log_one_entry(page: Any) -> None:
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


def test_update_keeps_the_open_form_and_the_outbox(
    tmp_path: Path, app_dir: Path, launch: Any, artefacts: Path
) -> None:
    world: World = prepare(f"sqlite:///{tmp_path / 'terrain.db'}")
    served = tmp_path / "app"
    shutil.copytree(app_dir, served)
    second = build(tmp_path / "build-2", "build-2")
    server = Live.start(world.url, tmp_path / "server", TERRAIN_APP_DIR=str(served))
    try:
        context = launch()
        page = context.pages[0]
        sign_in(page, server.base_url, world.fieldworker, world.password)
        wait_worker(page)
        # The server cannot be reached for sync: what is finished stays in the outbox.
        page.route(PUSH, lambda route: route.abort("connectionrefused"))
        log_one_entry(page)
        page.get_by_role("link", name="Accueil").click()
        page.get_by_role("button", name="Nouvelle fiche : Diagnostic des familles accueillies").click()
        page.get_by_label("J'ai présenté à la famille", exact=False).check()
        page.get_by_label("Date de l'entretien").fill(today())
        form_url = page.url

        # The new build is deployed; the device notices it and asks, without interrupting.
        shutil.rmtree(served)
        shutil.copytree(second, served)
        page.evaluate("navigator.serviceWorker.getRegistration().then((r) => r.update())")
        page.get_by_text("Une nouvelle version de Terrain est prête.").wait_for(timeout=TIMEOUT_MS)
        assert page.get_by_label("Date de l'entretien").input_value() == today()
        page.screenshot(path=artefacts / "update-prompt-360.png", full_page=True)
        page.get_by_role("button", name="Mettre à jour").click()

        # The page reloads on the new version, on the same form, with its answers.
        unlock(page)
        assert page.url == form_url
        assert page.get_by_label("Date de l'entretien").input_value() == today()
        assert page.get_by_label("J'ai présenté à la famille", exact=False).is_checked()
        page.get_by_role("link", name="Réglages").click()
        assert "build-2" in page.get_by_test_id("app-build").inner_text()
        assert stored_records(world.url) == []

        page.unroute(PUSH)
        page.get_by_role("button", name="Envoyer maintenant").click()
        wait_all_sent(page)
        stored = stored_records(world.url)
        assert [r["spec"] for r in stored] == ["journal_animations"]
    finally:
        server.stop()
