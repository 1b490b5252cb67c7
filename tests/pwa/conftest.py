"""Fixtures of the browser tests: a prepared database, the real server serving the built app, and
headless Chromium (Debian's package, driven by Playwright). Skipped, with the reason shown, only when
Chromium or the built app is missing (make test builds the app; .ci/run installs Chromium)."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from pwa.harness import CHROMIUM, CHROMIUM_ARGS, Live, World, copy_dist, missing_prerequisite, prepare

ARTEFACTS = Path(__file__).resolve().parents[2] / "var" / "test-artefacts" / "pwa"


# `.ci/run` sets it: there a missing Chromium or app is an error, never a skip.
REQUIRED = os.environ.get("TERRAIN_TEST_BROWSER") == "required"


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    reason = missing_prerequisite()
    if reason is not None and REQUIRED:
        raise pytest.UsageError(f"browser tests required (TERRAIN_TEST_BROWSER=required) but {reason}")
    for item in items:
        if "tests/pwa/" in str(item.fspath).replace("\\", "/"):
            # Only on a machine without Chromium or the built app, with the reason shown.
            item.add_marker(pytest.mark.skipif(reason is not None, reason=reason or ""))


@pytest.fixture(scope="module")
def field(tmp_path_factory: pytest.TempPathFactory) -> World:
    root = tmp_path_factory.mktemp("pwa-db")
    return prepare(f"sqlite:///{root / 'terrain.db'}")


@pytest.fixture(scope="session")
def app_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A copy of the built app: a rebuild of pwa/dist while the tests run cannot change what they serve."""
    return copy_dist(tmp_path_factory.mktemp("pwa-app") / "dist")


@pytest.fixture(scope="module")
def server(field: World, app_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    live = Live.start(field.url, tmp_path_factory.mktemp("pwa-server"), TERRAIN_APP_DIR=str(app_dir))
    yield live
    live.stop()


@pytest.fixture(scope="session")
def playwright() -> Iterator[Any]:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as driver:
        yield driver


@pytest.hookimpl(wrapper=True, tryfirst=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Iterator[Any]:
    report = yield
    if report.when == "call":
        item.stash[FAILED] = report.failed
    return report


FAILED = pytest.StashKey[bool]()


@pytest.fixture
def launch(playwright: Any, tmp_path: Path, request: pytest.FixtureRequest) -> Iterator[Any]:
    """``launch(name)`` opens (or re-opens) a persistent browser profile: IndexedDB, the service worker
    and its caches survive a close and a new launch with the same name, as on a phone."""
    opened: list[Any] = []
    console: list[str] = []

    def open_profile(
        name: str = "phone", args_extra: tuple[str, ...] | list[str] = (), **options: Any
    ) -> Any:
        options.setdefault("viewport", {"width": 360, "height": 740})
        options.setdefault("locale", "fr-FR")
        context = playwright.chromium.launch_persistent_context(
            str(tmp_path / f"profile-{name}"),
            executable_path=str(CHROMIUM),
            headless=True,
            args=[*CHROMIUM_ARGS, *args_extra],
            **options,
        )
        opened.append(context)
        context.on("console", lambda message: console.append(f"{message.type}: {message.text}"))
        context.on("weberror", lambda error: console.append(f"error: {error.error}"))
        return context

    yield open_profile
    failed = request.node.stash.get(FAILED, False)
    for number, context in enumerate(opened):
        if failed:  # what the screen showed when the test failed, beside the other screenshots
            folder = ARTEFACTS / request.node.name
            folder.mkdir(parents=True, exist_ok=True)
            for index, page in enumerate(context.pages):
                page.screenshot(path=folder / f"failure-{number}-{index}.png", full_page=True)
            (folder / "console.txt").write_text("\n".join(console))
        context.close()  # a no-op for a profile the test closed itself


@pytest.fixture
def artefacts(request: pytest.FixtureRequest) -> Path:
    """Where a test keeps its screenshots (var/test-artefacts/pwa/<test>/), for a human to look at."""
    folder = ARTEFACTS / request.node.name.replace("[", "_").replace("]", "")
    folder.mkdir(parents=True, exist_ok=True)
    return folder
