"""The built field app is served at `/` beside the API, without hiding the API's own errors."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from terrain.config import Settings
from terrain.main import create_app

SECRET = "test-secret-key-0123456789-abcdefghijklmnopqrstuvwxyz"


def _client(tmp_path: Path, app_dir: Path) -> TestClient:
    settings = Settings(
        environment="test",
        database_url=f"sqlite:///{tmp_path / 'unused.db'}",
        data_dir=tmp_path,
        secret_key=SECRET,  # type: ignore[arg-type]
        app_dir=app_dir,
    )
    return TestClient(create_app(settings), raise_server_exceptions=False)


@pytest.fixture
def built(tmp_path: Path) -> Iterator[TestClient]:
    dist = tmp_path / "dist"
    (dist / "assets").mkdir(parents=True)
    (dist / "index.html").write_text("<!doctype html><title>Terrain</title><div id=app></div>")
    (dist / "assets" / "index-abc123.js").write_text("console.log('app')")
    (dist / "sw.js").write_text("self.addEventListener('install', () => {})")
    (tmp_path / "secret.txt").write_text("outside the app")
    with _client(tmp_path, dist) as client:
        yield client


def test_front_page_is_the_app_and_revalidated(built: TestClient) -> None:
    page = built.get("/")
    assert page.status_code == 200 and "<div id=app>" in page.text
    assert page.headers["cache-control"] == "no-cache"


def test_client_routes_get_the_app(built: TestClient) -> None:
    page = built.get("/fiches/123/remplir")
    assert page.status_code == 200 and "<div id=app>" in page.text


def test_hashed_assets_are_cached_for_good_and_the_worker_is_not(built: TestClient) -> None:
    asset = built.get("/assets/index-abc123.js")
    assert asset.status_code == 200 and "immutable" in asset.headers["cache-control"]
    worker = built.get("/sw.js")
    assert worker.headers["cache-control"] == "no-cache"
    assert worker.headers["service-worker-allowed"] == "/"


def test_no_file_outside_the_app_dir(built: TestClient) -> None:
    for path in ("/../secret.txt", "/%2e%2e/secret.txt", "/assets/../../secret.txt"):
        response = built.get(path)
        assert "outside the app" not in response.text


def test_api_paths_keep_their_json_errors(built: TestClient) -> None:
    unknown = built.get("/api/v1/nothing-here")
    assert unknown.status_code == 404 and unknown.json()["error"]["code"] == "http.not_found"
    wrong_method = built.delete("/api/health")
    assert wrong_method.status_code == 405
    assert built.get("/docs").status_code == 200


def test_app_not_built_says_how_to_build_it(tmp_path: Path) -> None:
    with _client(tmp_path, tmp_path / "missing") as client:
        page = client.get("/")
        assert page.status_code == 503 and "make run" in page.text
        assert client.get("/fiches", follow_redirects=False).headers["location"] == "/"
