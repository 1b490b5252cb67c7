"""Benchmark: the field app (PWA), 5,000 records queued offline, in headless Chromium against a real server.

Run: .venv/bin/python bench/pwa_outbox.py [--n 5000] [--ui-saves 100] [--starts 3] [--app-dir DIR] [--profile]
(build the app first: ``cd pwa && npx vite build``; needs Debian's /usr/bin/chromium.)

1. Built sizes of pwa/dist, gzip-compressed (level 9, as Vite reports): the shell (the entry script of
   index.html and the chunks it preloads) and the chunks loaded on demand.
2. A prepared database (tests/pwa/harness.py: sites, a field worker, the example specs published) served by
   ``terrain serve`` with the built app; the field worker signs in through the UI, then the browser goes
   offline and the app's bench hook (pwa/src/ui/bench.ts, enabled by localStorage "terrain.bench") creates
   and finalises N realistic households of diagnostic_familles (bench/_synthetic.py answers, checked by the
   app's engine, encrypted and queued as the form screen does).
3. Saving an answer: RecordStore.saveAnswers timed inside the page, and through the UI (a date typed into
   the questionnaire until the "Enregistré sur l'appareil" indicator comes back), p50 / p95.
4. App start with the N records, offline, after a browser restart: page.goto -> the PIN screen, then the
   PIN -> the home screen's first "Nouvelle fiche" button (median of ``--starts``).
5. Full sync: from the ``online`` event to the sync bar's "Tout est envoyé" with the server holding the N
   responses (SQL count). Targets: start < 2 s, sync < 60 s, a save < 50 ms at p95, shell <= 150 KB gzip.
"""

from __future__ import annotations

import argparse
import gzip
import importlib.util
import json
import os
import platform
import random
import re
import shutil
import statistics
import sys
import tempfile
import time
from datetime import date
from pathlib import Path
from typing import Any

import _live

ROOT = Path(__file__).resolve().parents[1]
synthetic = _live.synthetic


def _load(name: str, path: Path) -> Any:
    spec = importlib.util.spec_from_file_location(name, path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module


# The browser tests' instruments: the same prepared world, sign-in steps and Chromium flags.
harness = _load("_pwa_harness", ROOT / "tests" / "pwa" / "harness.py")
app = _load("_pwa_app", ROOT / "tests" / "pwa" / "app.py")

SPEC = "diagnostic_familles"
HOME_BUTTON = re.compile(r"^Nouvelle fiche")
QUEUE_CHUNK = 250
STEP_TIMEOUT_MS = 120_000
SYNC_TIMEOUT_S = 300.0
ACCEPTED = "SELECT count(*) FROM responses WHERE status = 'accepted'"
TARGETS = {"start_s": 2.0, "sync_s": 60.0, "save_p95_ms": 50.0, "shell_gzip_kb": 150.0}

# Runs a bench hook call with a deadline: page.evaluate itself has none.
_CALL = """async ([method, args, ms]) => {
    const deadline = new Promise((_, ko) => setTimeout(() => ko(new Error(`${method}: timeout`)), ms));
    return Promise.race([window.terrainBench[method](...args), deadline]);
}"""

# Types into an input `n` times and times each change until the form's save indicator, which shows "…"
# while the answer is being written to IndexedDB, says "Enregistré sur l'appareil" again.
_UI_SAVES = """async ([input, n, ms]) => {
    const indicator = () => input.closest('form').querySelector('.row [aria-live=polite]');
    const setValue = Object.getOwnPropertyDescriptor(HTMLInputElement.prototype, 'value').set;
    const durations = [];
    for (let i = 0; i < n; i++) {
        const day = new Date(Date.now() - (1 + (i % 300)) * 86400000).toISOString().slice(0, 10);
        const done = new Promise((ok, ko) => {
            let pending = false;
            const fail = () => { observer.disconnect(); ko(new Error('no save indicator')); };
            const timer = setTimeout(fail, ms);
            const observer = new MutationObserver(() => {
                const text = indicator()?.textContent ?? '';
                if (text === '…') pending = true;
                else if (pending && text.startsWith('Enregistré')) {
                    observer.disconnect();
                    clearTimeout(timer);
                    ok(performance.now());
                }
            });
            observer.observe(input.closest('form'), {subtree: true, childList: true, characterData: true});
        });
        const begin = performance.now();
        setValue.call(input, day);
        input.dispatchEvent(new Event('input', {bubbles: true}));
        durations.push((await done) - begin);
    }
    return durations;
}"""


def built_sizes(dist: Path) -> dict[str, Any]:
    """Every JS file of dist/assets with its raw and gzip sizes; shell = index.html's entry + preloads."""
    html = (dist / "index.html").read_text()
    shell_names = {
        Path(src).name
        for src in re.findall(r'<script type="module"[^>]*src="([^"]+)"', html)
        + re.findall(r'<link rel="modulepreload"[^>]*href="([^"]+)"', html)
    }
    files = []
    for path in [*sorted((dist / "assets").glob("*.js")), dist / "sw.js"]:
        raw = path.read_bytes()
        kind = "shell" if path.name in shell_names else "service worker" if path.name == "sw.js" else "lazy"
        files.append(
            {"name": path.name, "kind": kind, "bytes": len(raw), "gzip": len(gzip.compress(raw, 9, mtime=0))}
        )
    css = sum(len(gzip.compress(p.read_bytes(), 9, mtime=0)) for p in (dist / "assets").glob("*.css"))
    shell = sum(f["gzip"] for f in files if f["kind"] == "shell")
    lazy = sum(f["gzip"] for f in files if f["kind"] == "lazy")
    return {"files": files, "shell_gzip": shell, "lazy_gzip": lazy, "css_gzip": css}


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(q / 100 * len(ordered)) - 1))]


def summary(values: list[float]) -> str:
    return (
        f"p50 {statistics.median(values):.1f} ms, p95 {percentile(values, 95):.1f} ms, "
        f"max {max(values):.1f} ms (n={len(values)})"
    )


def call(page: Any, method: str, *args: Any, timeout_ms: int = STEP_TIMEOUT_MS) -> Any:
    return page.evaluate(_CALL, [method, list(args), timeout_ms])


def open_page(context: Any) -> Any:
    page = context.pages[0] if context.pages else context.new_page()
    page.set_default_timeout(STEP_TIMEOUT_MS)
    return page


def queue_records(page: Any, n: int, seed: int) -> float:
    """N households finalised offline through the hook, in chunks (bounded calls, progress shown)."""
    rng = random.Random(seed)
    today = date.today()
    page.wait_for_function("window.terrainBench !== undefined", timeout=app.TIMEOUT_MS)
    started = time.monotonic()
    done = 0
    while done < n:
        size = min(QUEUE_CHUNK, n - done)
        answers = [synthetic.answers(rng, today) for _ in range(size)]
        call(page, "queue", size, SPEC, answers)
        done += size
        print(f"  queued {done}/{n} ({time.monotonic() - started:.0f} s)", flush=True)
    return time.monotonic() - started


def ui_saves(page: Any, count: int) -> list[float]:
    """A new questionnaire; its date typed ``count`` times, each until the save indicator is back."""
    page.get_by_role("button", name="Nouvelle fiche : Diagnostic des familles accueillies").click()
    field = page.get_by_label("Date de l'entretien")
    field.wait_for()
    durations: list[float] = page.evaluate(_UI_SAVES, [field.element_handle(), count, 10_000])
    page.get_by_role("link", name="Accueil").click()
    return durations


def start_once(page: Any, *, reload: bool, base_url: str) -> tuple[float, float]:
    """(page.goto -> PIN screen, PIN submitted -> home with its "Nouvelle fiche" buttons), in seconds."""
    begin = time.monotonic()
    if reload:
        page.reload()
    else:
        page.goto(base_url)
    page.locator("#unlock-pin").wait_for()
    to_pin = time.monotonic() - begin
    page.fill("#unlock-pin", app.PIN)
    begin = time.monotonic()
    page.get_by_role("button", name="Déverrouiller").click()
    page.get_by_role("button", name=HOME_BUTTON).first.wait_for()
    return to_pin, time.monotonic() - begin


def top_functions(profile: dict[str, Any], limit: int = 15) -> list[tuple[str, float]]:
    """Self time per function of a CDP CPU profile (ms), largest first."""
    deltas = dict.fromkeys((node["id"] for node in profile["nodes"]), 0.0)
    for sample, delta in zip(profile["samples"], profile["timeDeltas"], strict=True):
        deltas[sample] += delta / 1000
    totals: dict[str, float] = {}
    for node in profile["nodes"]:
        frame = node["callFrame"]
        where = f"{Path(frame['url']).name}:{frame['lineNumber'] + 1}" if frame["url"] else ""
        name = f"{frame['functionName'] or '(anonymous)'} {where}".strip()
        totals[name] = totals.get(name, 0.0) + deltas[node["id"]]
    return sorted(totals.items(), key=lambda item: -item[1])[:limit]


def full_sync(page: Any, context: Any, url: str, n: int, *, profile: bool = False) -> dict[str, Any]:
    """From `online` to the status bar's "Tout est envoyé" with the server holding the N responses; each
    push request's time (request sent -> answer received: the server's share) from the browser's timings."""
    pushes: list[tuple[float, float]] = []  # (start, duration) in ms, epoch

    def finished(request: Any) -> None:
        if request.method == "POST" and request.url.endswith(_live.PUSH_PATH):
            timing = request.timing
            if timing["responseEnd"] >= 0 and timing["requestStart"] >= 0:
                start = timing["startTime"] + timing["requestStart"]
                pushes.append((start, timing["responseEnd"] - timing["requestStart"]))

    page.on("requestfinished", finished)
    cdp = context.new_cdp_session(page) if profile else None
    if cdp is not None:  # the page's main thread only (IndexedDB and WebCrypto run elsewhere)
        cdp.send("Profiler.enable")
        cdp.send("Profiler.setSamplingInterval", {"interval": 500})
        cdp.send("Profiler.start")
    begin = time.monotonic()
    context.set_offline(False)
    first = stored_at = None
    deadline = begin + SYNC_TIMEOUT_S
    while True:
        stored = _live.count(url, "SELECT count(*) FROM responses")
        now = time.monotonic() - begin
        if stored and first is None:
            first = now
        if stored >= n and stored_at is None:
            stored_at = now
        if stored_at is not None and "Tout est envoyé" in app.sync_status(page):
            break
        if time.monotonic() > deadline:
            raise RuntimeError(f"sync not finished after {SYNC_TIMEOUT_S:.0f} s: server holds {stored}/{n}")
        time.sleep(0.25)
    total = time.monotonic() - begin
    page.remove_listener("requestfinished", finished)
    hot = top_functions(cdp.send("Profiler.stop")["profile"]) if cdp is not None else []
    window = (max(s + d for s, d in pushes) - min(s for s, _ in pushes)) / 1000 if pushes else 0.0
    return {
        "first_record_s": first or 0.0,
        "server_all_s": stored_at,
        "all_sent_s": total,
        "push_ms": [d for _, d in pushes],
        "push_window_s": window,
        "profile": hot,
    }


def run(args: argparse.Namespace, workdir: Path) -> dict[str, Any]:
    from playwright.sync_api import sync_playwright

    world = harness.prepare(_live.sqlite_url(workdir / "terrain.db"))
    live = _live.Live.start(world.url, workdir / "server", TERRAIN_APP_DIR=str(args.app_dir))
    figures: dict[str, Any] = {"n": args.n}
    try:
        with sync_playwright() as driver:

            def launch() -> Any:
                context = driver.chromium.launch_persistent_context(
                    str(workdir / "profile"),
                    executable_path=str(harness.CHROMIUM),
                    headless=True,
                    args=harness.CHROMIUM_ARGS,
                    viewport={"width": 360, "height": 740},
                    locale="fr-FR",
                )
                context.add_init_script("localStorage.setItem('terrain.bench', '1')")
                return context

            context = launch()
            page = open_page(context)
            app.sign_in(page, live.base_url, world.fieldworker, world.password)
            app.wait_worker(page)
            page.get_by_role("button", name=HOME_BUTTON).first.wait_for()

            print(f"Queueing {args.n} records offline …", flush=True)
            context.set_offline(True)
            figures["queue_s"] = queue_records(page, args.n, args.seed)
            counts = app.local_counts(page)
            assert counts.get("waiting") == args.n, counts
            figures["hook_saves_ms"] = call(page, "timeSave", args.hook_saves)
            page.reload()
            app.unlock(page)
            figures["ui_saves_ms"] = ui_saves(page, args.ui_saves)
            context.close()

            print("App start (browser restarted, offline) …", flush=True)
            context = launch()
            context.set_offline(True)
            page = open_page(context)
            figures["starts"] = [
                start_once(page, reload=index > 0, base_url=live.base_url) for index in range(args.starts)
            ]

            print("Full sync …", flush=True)
            figures["sync"] = full_sync(page, context, world.url, args.n, profile=args.profile)
            counts = app.local_counts(page)
            assert counts.get("sent") == args.n and not counts.get("waiting"), counts
            figures["server"] = {
                "responses": _live.count(world.url, "SELECT count(*) FROM responses"),
                "accepted": _live.count(world.url, ACCEPTED),
                "batches": _live.count(world.url, "SELECT count(*) FROM sync_batches"),
            }
            context.close()
    finally:
        live.stop()
    return figures


def verdict(value: float, target: float) -> str:
    return "met" if value < target else "MISSED"


def report(sizes: dict[str, Any], figures: dict[str, Any] | None) -> None:
    print(f"\nMachine: {platform.machine()}, {os.cpu_count()} cores, load {os.getloadavg()[0]:.1f}")
    print("Built app (pwa/dist), gzip -9:")
    for item in sizes["files"]:
        size = f"{item['bytes'] / 1024:7.1f} KiB  gzip {item['gzip'] / 1024:6.1f} KiB"
        print(f"  {item['kind']:<15} {item['name']:<32} {size}")
    shell_kb = sizes["shell_gzip"] / 1024
    print(
        f"  shell JS {shell_kb:.1f} KiB gzip (target <= {TARGETS['shell_gzip_kb']:.0f}: "
        f"{'met' if shell_kb <= TARGETS['shell_gzip_kb'] else 'MISSED'}); lazy chunks "
        f"{sizes['lazy_gzip'] / 1024:.1f} KiB; CSS {sizes['css_gzip'] / 1024:.1f} KiB"
    )
    if figures is None:
        return
    n = figures["n"]
    print(f"Queueing {n} records offline (engine check, encryption, IndexedDB): {figures['queue_s']:.1f} s")
    hook, ui = figures["hook_saves_ms"], figures["ui_saves_ms"]
    print(f"Saving an answer, RecordStore.saveAnswers: {summary(hook)}")
    print(
        f"Saving an answer, through the UI (typed -> 'Enregistré sur l'appareil'): {summary(ui)} "
        f"— target p95 < {TARGETS['save_p95_ms']:.0f} ms: "
        f"{verdict(percentile(ui, 95), TARGETS['save_p95_ms'])}"
    )
    starts = figures["starts"]
    pins, homes = [s[0] for s in starts], [s[1] for s in starts]
    totals = [a + b for a, b in starts]
    print(
        f"App start with {n} records (offline): to the PIN screen {', '.join(f'{v:.2f}' for v in pins)} s; "
        f"PIN -> home {', '.join(f'{v:.2f}' for v in homes)} s"
    )
    print(
        f"  median: to the PIN screen {statistics.median(pins):.2f} s + unlock to home "
        f"{statistics.median(homes):.2f} s = {statistics.median(totals):.2f} s "
        f"(target < {TARGETS['start_s']:.0f} s: {verdict(statistics.median(totals), TARGETS['start_s'])})"
    )
    sync, server = figures["sync"], figures["server"]
    print(
        f"Full sync of {n} records: first on the server after {sync['first_record_s']:.1f} s, "
        f"all on the server after {sync['server_all_s']:.1f} s, "
        f"'Tout est envoyé' after {sync['all_sent_s']:.1f} s ({n / sync['all_sent_s']:.0f} records/s; "
        f"target < {TARGETS['sync_s']:.0f} s: {verdict(sync['all_sent_s'], TARGETS['sync_s'])})"
    )
    pushes = sync["push_ms"]
    if pushes:
        waiting = sum(pushes) / 1000
        print(
            f"  {len(pushes)} pushes, each request -> answer {summary(pushes)}; "
            f"{waiting:.1f} s waiting for the server of the {sync['push_window_s']:.1f} s between the first "
            f"push and the last answer ({sync['push_window_s'] - waiting:.1f} s in the app between pushes)"
        )
    print(f"  server: {json.dumps(server)}")
    if sync["profile"]:
        print("  the page's main thread during the sync, self time:")
        for name, ms in sync["profile"]:
            print(f"    {ms / 1000:6.2f} s  {name}")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--n", type=int, default=5000, help="records queued offline")
    parser.add_argument("--ui-saves", type=int, default=100, help="answers typed in the form")
    parser.add_argument("--hook-saves", type=int, default=200, help="saveAnswers timed inside the page")
    parser.add_argument("--starts", type=int, default=3, help="app starts measured (median reported)")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--app-dir", type=Path, default=harness.DIST, help="the built app to serve")
    parser.add_argument("--profile", action="store_true", help="CPU profile of the page during the sync")
    args = parser.parse_args()
    missing = harness.missing_prerequisite()
    if missing:
        print(missing, file=sys.stderr)
        return 2
    sizes = built_sizes(args.app_dir)
    workdir = Path(tempfile.mkdtemp(prefix="terrain-pwa-bench-"))
    try:
        figures = run(args, workdir)
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
    report(sizes, figures)
    return 0


if __name__ == "__main__":
    sys.exit(main())
