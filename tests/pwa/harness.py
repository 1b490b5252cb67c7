"""Instruments of the browser tests: the built app served by a real ``terrain serve`` process (the
launcher of bench/_live.py) on a prepared database, and Debian's Chromium driven by Playwright.

The database holds two sites, a field worker and the example specs of ``survey_specs/`` published on
the first site. Nothing is mocked: the app logs in, pulls, pushes and uploads against that server.
"""

from __future__ import annotations

import importlib.util
import os
import shutil
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlmodel import Session

from terrain.db import create_db_engine, migrate
from terrain.principals import SYSTEM
from terrain.sites.service import create_site
from terrain.specs import service as specs
from terrain.users.service import create_user

ROOT = Path(__file__).resolve().parents[2]
DIST = ROOT / "pwa" / "dist"
SPECS = ROOT / "survey_specs"
CHROMIUM = Path(os.environ.get("TERRAIN_TEST_CHROMIUM", "/usr/bin/chromium"))
# The flags this machine kind needs (its network is closed: no background connections).
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-quic",
    "--no-first-run",
]
PASSWORD = "mot-de-passe-terrain-1"
FIELDWORKER = "camille.enqueteuse@terrain.example.org"
SITE = "aire-nord"
OTHER_SITE = "aire-sud"
PUBLISHED = ("diagnostic_familles", "guide_epn", "journal_animations")


def _load_live() -> Any:
    name = "_live"
    if name in sys.modules:
        return sys.modules[name]
    spec = importlib.util.spec_from_file_location(name, ROOT / "bench" / "_live.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module


Live = _load_live().Live


def missing_prerequisite() -> str | None:
    """Why the browser tests cannot run here, or None."""
    if not CHROMIUM.exists():
        return f"{CHROMIUM} is missing: install Debian's chromium (.ci/run does) to run the browser tests"
    if not (DIST / "index.html").is_file():
        return "pwa/dist is not built: run `make pwa-build` (make test does it first)"
    return None


@dataclass
class World:
    url: str
    fieldworker: str
    password: str


def prepare(url: str) -> World:
    """Migrate ``url`` and fill it as a coordinator would have before the field worker's first day."""
    migrate(url)
    engine = create_db_engine(url)
    try:
        with Session(engine, expire_on_commit=False) as session:
            create_site(SITE, "Aire d'accueil nord", session=session, actor=SYSTEM)
            create_site(OTHER_SITE, "Aire d'accueil sud", session=session, actor=SYSTEM)
            create_user(
                FIELDWORKER,
                PASSWORD,
                "fieldworker",
                session=session,
                actor=SYSTEM,
                display_name="Camille",
                site_codes=[SITE],
            )
            for name in PUBLISHED:
                specs.publish(
                    name, session=session, actor=SYSTEM, source=(SPECS / f"{name}.yaml").read_text()
                )
                specs.assign_sites(name, [SITE], session=session, actor=SYSTEM)
            session.commit()
    finally:
        engine.dispose()
    return World(url=url, fieldworker=FIELDWORKER, password=PASSWORD)


def copy_dist(target: Path) -> Path:
    """A copy of the built app (the update test swaps builds without touching pwa/dist)."""
    shutil.copytree(DIST, target)
    return target
