from __future__ import annotations

from fastapi.testclient import TestClient

from terrain.config import Settings


def test_health_reports_database_and_revision(client: TestClient, settings: Settings) -> None:
    response = client.get("/api/health")
    assert response.status_code == 200
    body = response.json()
    assert body["status"] == "ok"
    assert body["version"]
    assert body["database"] == {
        "status": "ok",
        "backend": settings.database_backend,
        "revision": "0003_responses_sync",
    }


def test_health_degraded_when_not_migrated(tmp_path: object) -> None:
    from pathlib import Path

    from terrain.main import create_app

    assert isinstance(tmp_path, Path)
    settings = Settings(environment="development", database_url=f"sqlite:///{tmp_path / 'empty.db'}")
    app = create_app(settings)
    with TestClient(app) as client:
        response = client.get("/api/health")
    app.state.engine.dispose()
    assert response.status_code == 503
    assert response.json()["status"] == "degraded"
    assert response.json()["database"]["revision"] is None


def test_openapi_documents_errors_and_tags(client: TestClient) -> None:
    schema = client.get("/api/openapi.json").json()
    assert {tag["name"] for tag in schema["tags"]} >= {"auth", "users", "sites", "specs", "audit", "health"}
    assert "ErrorResponse" in schema["components"]["schemas"]
    for path, operations in schema["paths"].items():
        for method, operation in operations.items():
            assert operation.get("summary"), (method, path)
            # Public: the login itself, and the JSON Schemas (they describe the format, hold no data).
            public = path == "/api/v1/auth/token" or path.startswith("/api/v1/schemas/")
            if path.startswith("/api/v1/") and not public:
                assert "401" in operation["responses"], (method, path)
    publish = schema["paths"]["/api/v1/specs/{name}/publish"]["post"]
    assert {"401", "403", "404", "409", "422"} <= set(publish["responses"])


def test_docs_served_at_docs(client: TestClient) -> None:
    docs = client.get("/docs")
    assert docs.status_code == 200 and "/api/openapi.json" in docs.text
