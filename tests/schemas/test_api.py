"""``GET /api/v1/schemas/{compiled-spec,expression}``: public, the package files as written, revalidated by
ETag. (Who may call them, with every role and anonymously: tests/auth/test_matrix.py.)"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from conftest import TEST_SECRET
from terrain.config import Settings
from terrain.main import create_app

SCHEMAS = Path(__file__).resolve().parents[2] / "backend" / "terrain" / "speclang" / "schemas"
ROUTES = {
    "/api/v1/schemas/compiled-spec": SCHEMAS / "compiled-spec.schema.json",
    "/api/v1/schemas/expression": SCHEMAS / "expression.schema.json",
}


@pytest.fixture(scope="module")
def client(tmp_path_factory: pytest.TempPathFactory) -> Iterator[TestClient]:
    # The routes read package files only: an unmigrated database is never touched.
    tmp = tmp_path_factory.mktemp("schemas")
    settings = Settings(
        environment="test",
        database_url=f"sqlite:///{tmp / 'unused.db'}",
        data_dir=tmp,
        secret_key=TEST_SECRET,  # type: ignore[arg-type]
    )
    with TestClient(create_app(settings), raise_server_exceptions=False) as test_client:
        yield test_client


@pytest.mark.parametrize("route", ROUTES)
def test_schema_is_served_as_written_without_authentication(client: TestClient, route: str) -> None:
    response = client.get(route)
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/schema+json"
    content = ROUTES[route].read_bytes()
    assert response.content == content
    assert response.headers["etag"] == '"' + hashlib.sha256(content).hexdigest() + '"'
    assert response.headers["cache-control"] == "public, no-cache"
    assert response.json()["$schema"] == "https://json-schema.org/draft/2020-12/schema"


@pytest.mark.parametrize("route", ROUTES)
def test_if_none_match_gives_304(client: TestClient, route: str) -> None:
    etag = client.get(route).headers["etag"]
    for header in (etag, f"W/{etag}", f'"other", {etag}', "*"):
        response = client.get(route, headers={"If-None-Match": header})
        assert response.status_code == 304, header
        assert response.content == b""
        assert response.headers["etag"] == etag
    stale = client.get(route, headers={"If-None-Match": '"' + "0" * 64 + '"'})
    assert stale.status_code == 200
    assert stale.content == ROUTES[route].read_bytes()


def test_the_two_schemas_have_different_etags(client: TestClient) -> None:
    etags = {client.get(route).headers["etag"] for route in ROUTES}
    assert len(etags) == len(ROUTES)


def test_an_invalid_token_does_not_matter(client: TestClient) -> None:
    response = client.get("/api/v1/schemas/expression", headers={"Authorization": "Bearer not-a-token"})
    assert response.status_code == 200


def test_compiled_spec_refers_to_the_served_expression_schema(client: TestClient) -> None:
    expression_id = client.get("/api/v1/schemas/expression").json()["$id"]
    compiled_spec = client.get("/api/v1/schemas/compiled-spec").text
    assert json.dumps(expression_id) in compiled_spec
    refs = {ref.split('"')[0] for ref in compiled_spec.split('"$ref": "')[1:] if not ref.startswith("#")}
    assert refs == {expression_id}


def test_openapi_documents_the_routes(client: TestClient) -> None:
    paths = client.get("/api/openapi.json").json()["paths"]
    for route in ROUTES:
        operation = paths[route]["get"]
        assert "security" not in operation
        assert set(operation["responses"]["200"]["content"]) == {"application/schema+json"}
        assert "ETag" in operation["responses"]["200"]["headers"]
        assert "304" in operation["responses"]
