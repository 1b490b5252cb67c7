"""The network between the device and the server fails in the two ways the field knows: the server is
unreachable while the phone is online, and a connection drops after the server stored a batch but before
its answer arrived. Nothing is lost, nothing is stored twice, and the app retries on its own."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from pwa.app import (
    TIMEOUT_MS,
    choose,
    local_counts,
    sign_in,
    stored_records,
    sync_status,
    today,
    wait_all_sent,
)
from pwa.harness import Live, World, prepare

PUSH = "**/api/v1/sync/push"


def open_log(page: Any) -> None:
    page.get_by_role("button", name="Saisie rapide : Journal des animations").click()
    page.get_by_label("Type d'activité").wait_for(timeout=TIMEOUT_MS)


def save_entry(page: Any, number: int) -> None:
    """One cancelled activity (the shortest valid entry)."""
    if number == 0:
        page.get_by_label("Type d'activité").select_option(label="Atelier lecture, conte")
        page.get_by_label("Date", exact=True).fill(today())
        choose(page, "Lieu", "Salle d'activité de l'aire")
        choose(page, "L'activité a-t-elle eu lieu", "Non")
    page.locator("fieldset", has_text="Motif de l'annulation").last.get_by_role("radio").first.check()
    page.get_by_role("button", name="Enregistrer l'entrée").click()
    page.get_by_role("heading", name="Entrées").locator("xpath=..").locator("li").nth(number).wait_for(
        timeout=TIMEOUT_MS
    )


def test_server_down_then_up(tmp_path: Path, app_dir: Path, launch: Any, artefacts: Path) -> None:
    world: World = prepare(f"sqlite:///{tmp_path / 'terrain.db'}")
    server = Live.start(world.url, tmp_path / "server", TERRAIN_APP_DIR=str(app_dir))
    try:
        page = launch().pages[0]
        sign_in(page, server.base_url, world.fieldworker, world.password)
        open_log(page)
        server.stop()  # online, but the server is unreachable

        save_entry(page, 0)
        page.get_by_test_id("sync-status").filter(has_text="La synchronisation a échoué").wait_for(
            timeout=TIMEOUT_MS
        )
        page.screenshot(path=artefacts / "server-down-360.png", full_page=True)
        assert "Pas de connexion au serveur" in sync_status(page)
        assert local_counts(page).get("waiting") == 1

        # Back on the same address: the app retries by itself (backoff), no button pressed.
        server = Live.start(world.url, tmp_path / "server", port=server.port, TERRAIN_APP_DIR=str(app_dir))
        wait_all_sent(page, timeout_ms=90_000)
        assert [r["spec"] for r in stored_records(world.url)] == ["journal_animations"]
    finally:
        server.stop()


def test_connection_cut_after_the_server_stored_the_batch(field: World, server: Any, launch: Any) -> None:
    context = launch()
    page = context.pages[0]
    sign_in(page, server.base_url, field.fieldworker, field.password)
    open_log(page)
    before = {r["id"] for r in stored_records(field.url)}
    context.set_offline(True)
    for number in range(3):
        save_entry(page, number)
    assert local_counts(page).get("waiting") == 3

    pushes: list[int] = []

    def cut_first(route: Any) -> None:
        pushes.append(1)
        if len(pushes) == 1:
            answer = route.fetch()  # the server receives and stores the batch...
            assert answer.status == 200
            route.abort("connectionreset")  # ...and the answer never reaches the phone
        else:
            route.continue_()

    page.route(PUSH, cut_first)
    context.set_offline(False)
    wait_all_sent(page, timeout_ms=90_000)
    assert len(pushes) >= 2
    new = [r for r in stored_records(field.url) if r["id"] not in before]
    assert len(new) == 3 and len({r["id"] for r in new}) == 3
    assert all(r["revision"] == 1 for r in new)
    counts = local_counts(page)
    assert counts.get("sent") == 3 and counts.get("waiting") is None, counts
