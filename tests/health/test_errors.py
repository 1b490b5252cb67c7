"""The one error handler: stable codes, French by default, English on request, no stack traces."""

from __future__ import annotations

from fastapi.testclient import TestClient

from terrain.errors import CATALOG, TerrainError, error_responses


def test_catalog_messages_exist_in_both_languages() -> None:
    for code, definition in CATALOG.items():
        assert "." in code
        assert definition.fr and definition.en
        assert 400 <= definition.status < 600


def test_unknown_code_is_a_programming_error() -> None:
    import pytest

    with pytest.raises(KeyError):
        TerrainError("nope.nope")


def test_message_params_and_language() -> None:
    error = TerrainError("spec.not_found", name="essai")
    assert error.message() == "Spécification introuvable : essai."
    assert error.message("en") == "Spec not found: essai."
    assert error.status == 404
    assert set(error_responses(401, 404)) == {401, 404}


def test_route_not_found_and_validation_in_the_same_format(client: TestClient) -> None:
    missing = client.get("/api/v1/nothing-here")
    assert missing.status_code == 404
    assert missing.json() == {
        "error": {"code": "http.not_found", "status": 404, "message": "Ressource introuvable.", "details": {}}
    }
    english = client.get("/api/v1/nothing-here", headers={"Accept-Language": "en-GB,en;q=0.9,fr;q=0.5"})
    assert english.json()["error"]["message"] == "Resource not found."
    french = client.get("/api/v1/nothing-here", headers={"Accept-Language": "fr-FR,en;q=0.8"})
    assert french.json()["error"]["message"] == "Ressource introuvable."
    invalid = client.post("/api/v1/auth/token", data={})
    assert invalid.status_code == 422
    assert invalid.json()["error"]["code"] == "request.invalid"
    assert invalid.json()["error"]["details"]["errors"]


def test_unexpected_exception_hides_details(client: TestClient) -> None:
    app = client.app

    @app.get("/api/v1/boom")  # type: ignore[attr-defined, untyped-decorator]
    def boom() -> None:
        raise RuntimeError("secret internal detail")

    response = client.get("/api/v1/boom")
    assert response.status_code == 500
    assert response.json()["error"]["code"] == "internal.error"
    assert "secret" not in response.text and "Traceback" not in response.text
