"""Fixtures of the browser tests: a prepared database, the real server serving the built app, and
headless Chromium (Debian's package, driven by Playwright). Skipped, with the reason shown, only when
Chromium or the built app is missing (make test builds the app; .ci/run installs Chromium)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.pwa.harness import CHROMIUM, CHROMIUM_ARGS, DIST, Live, World, missing_prerequisite, prepare

ARTEFACTS = Path(__file__).resolve().parents[2] / "var" / "test-artefacts" / "pwa"


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    reason = missing_prerequisite()
    if reason is None:
        return
    for item in items:
        if "tests/pwa/" in str(item.fspath).replace("\\", "/"):
            item.add_marker(pytest.mark.skip(reason=reason))


@pytest.fixture(scope="module")
def field(tmp_path_factory: pytest.TempPathFactory) -> World:
    root = tmp_path_factory.mktemp("pwa-db")
    return prepare(f"sqlite:///{root / 'terrain.db'}")


@pytest.fixture(scope="module")
def server(field: World, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    live = Live.start(field.url, tmp_path_factory.mktemp("pwa-server"), TERRAIN_APP_DIR=str(DIST))
    yield live
    live.stop()


@pytest.fixture(scope="session")
def playwright() -> Iterator[Any]:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as driver:
        yield driver


@pytest.fixture
def launch(playwright: Any, tmp_path: Path) -> Iterator[Any]:
    """``launch(name)`` opens (or re-opens) a persistent browser profile: IndexedDB, the service worker
    and its caches survive a close and a new launch with the same name, as on a phone."""
    opened: list[Any] = []

    def open_profile(name: str = "phone", **options: Any) -> Any:
        options.setdefault("viewport", {"width": 360, "height": 740})
        options.setdefault("locale", "fr-FR")
        context = playwright.chromium.launch_persistent_context(
            str(tmp_path / f"profile-{name}"),
            executable_path=str(CHROMIUM),
            headless=True,
            args=CHROMIUM_ARGS,
            **options,
        )
        opened.append(context)
        return context

    yield open_profile
    for context in opened:
        try:
            context.close()
        except Exception as error:  # noqa: BLE001 - already closed by the test is fine, anything else is shown
            if "closed" not in str(error).lower():
                raise


@pytest.fixture
def artefacts(request: pytest.FixtureRequest) -> Path:
    """Where a test keeps its screenshots (var/test-artefacts/pwa/<test>/), for a human to look at."""
    folder = ARTEFACTS / request.node.name.replace("[", "_").replace("]", "")
    folder.mkdir(parents=True, exist_ok=True)
    return folder
