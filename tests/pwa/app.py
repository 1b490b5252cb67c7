"""What a field worker does in the app, as steps the browser tests compose (French labels, as users see
them). Each step waits for what the user would wait for; none sleeps blindly."""

from __future__ import annotations

import datetime as dt
import json
import re
import time
import zlib
from pathlib import Path
from struct import pack
from typing import Any

import sqlalchemy as sa

from terrain.db import create_db_engine

AXE = Path(__file__).resolve().parents[2] / "pwa" / "node_modules" / "axe-core" / "axe.min.js"
PIN = "2468"
TIMEOUT_MS = 20_000


def sign_in(
    page: Any,
    base_url: str | None,
    email: str,
    password: str,
    *,
    pin: str = PIN,
    device: str = "Tablette",
) -> None:
    """The sign-in form (``base_url`` None: it is already on screen)."""
    if base_url is not None:
        page.goto(base_url)
    page.fill("#email", email, timeout=TIMEOUT_MS)
    page.fill("#password", password)
    page.fill("#device", device)
    page.fill("#pin", pin)
    page.fill("#pin2", pin)
    page.get_by_role("button", name="Se connecter").click()
    # Signed in: the app's navigation shows (on the screen the address names, the home by default).
    page.get_by_role("link", name="Accueil").wait_for(timeout=TIMEOUT_MS)


def unlock(page: Any, pin: str = PIN) -> None:
    page.fill("#unlock-pin", pin, timeout=TIMEOUT_MS)
    page.get_by_role("button", name="Déverrouiller").click()
    page.locator("#unlock-pin").wait_for(state="detached", timeout=TIMEOUT_MS)


def wait_worker(page: Any) -> None:
    """The service worker controls the page: the shell is cached and the app opens offline."""
    page.evaluate("navigator.serviceWorker.ready.then(() => true)")
    page.wait_for_function("navigator.serviceWorker.controller !== null", timeout=3 * TIMEOUT_MS)


def choose(page: Any, legend: str, label: str, *, scope: Any = None) -> None:
    """Ticks the choice ``label`` of the question whose legend starts with ``legend``."""
    root = scope if scope is not None else page
    starts = re.compile(r"^\s*" + re.escape(legend))
    question = root.locator("fieldset", has=page.locator("legend", has_text=starts)).last
    question.get_by_label(label, exact=True).check()


def next_page(page: Any) -> None:
    page.get_by_role("button", name="Suivant").click()


def sync_status(page: Any) -> str:
    return str(page.get_by_test_id("sync-status").inner_text())


def wait_all_sent(page: Any, timeout_ms: int = 60_000) -> None:
    """Every finished record acknowledged by the server (read from IndexedDB, not only the status bar,
    which says "all sent" too before a sync has even started)."""
    deadline = time.monotonic() + timeout_ms / 1000
    while True:
        counts = local_counts(page)
        if not counts.get("waiting") and not counts.get("sending") and "Tout est envoyé" in sync_status(page):
            return
        if time.monotonic() > deadline:
            raise AssertionError(f"not all sent after {timeout_ms} ms: {counts}, status: {sync_status(page)}")
        page.wait_for_timeout(200)


def today() -> str:
    return dt.date.today().isoformat()


def stored_records(url: str) -> list[dict[str, Any]]:
    """What the server holds: one row per record (its UUID, spec, version, status, revision)."""
    engine = create_db_engine(url)
    try:
        with engine.connect() as conn:
            rows = conn.execute(
                sa.text(
                    "SELECT r.uuid, s.name, r.version, r.status, r.revision, r.kind FROM responses r "
                    "JOIN specs s ON s.id = r.spec_id ORDER BY r.id"
                )
            ).all()
    finally:
        engine.dispose()
    return [
        {
            "id": row[0],
            "spec": row[1],
            "version": row[2],
            "status": row[3],
            "revision": row[4],
            "kind": row[5],
        }
        for row in rows
    ]


# Reads every record's status straight from IndexedDB (the app's own databases, one per account).
_COUNT_STATUSES = """async () => {
    const request = (r) => new Promise((ok, ko) => {
        r.onsuccess = () => ok(r.result);
        r.onerror = () => ko(r.error);
    });
    const names = (await indexedDB.databases()).map((d) => d.name)
        .filter((n) => n.startsWith('terrain-') && n !== 'terrain-accounts');
    const out = {};
    for (const name of names) {
        const db = await request(indexedDB.open(name));
        const rows = await request(db.transaction('records').objectStore('records').getAll());
        for (const row of rows) out[row.status] = (out[row.status] || 0) + 1;
        db.close();
    }
    return JSON.stringify(out);
}"""


def local_counts(page: Any) -> dict[str, Any]:
    """The app's own counts per local status."""
    counts: dict[str, Any] = json.loads(page.evaluate(_COUNT_STATUSES))
    return counts


def assert_accessible(page: Any, screen: str) -> None:
    """axe-core (WCAG 2.1 A and AA rules) on the screen as it is: no serious or critical violation."""
    if not page.evaluate("typeof window.axe !== 'undefined'"):
        page.add_script_tag(path=str(AXE))
    result = page.evaluate(
        """async () => {
            const tags = ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa'];
            const r = await axe.run(document, {runOnly: {type: 'tag', values: tags}});
            return r.violations.filter((v) => v.impact === 'serious' || v.impact === 'critical')
                .map((v) => ({id: v.id, impact: v.impact, help: v.help,
                              nodes: v.nodes.slice(0, 3).map((n) => n.html)}));
        }"""
    )
    assert result == [], f"{screen}: {json.dumps(result, ensure_ascii=False, indent=1)}"


def png(path: Path, size: int = 64) -> Path:
    """A small real PNG (a photo stand-in)."""
    row = b"\x00" + bytes([200, 80, 40]) * size
    raw = row * size

    def chunk(kind: bytes, data: bytes) -> bytes:
        return pack(">I", len(data)) + kind + data + pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)

    header = pack(">IIBBBBB", size, size, 8, 2, 0, 0, 0)
    path.write_bytes(
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(raw))
        + chunk(b"IEND", b"")
    )
    return path
